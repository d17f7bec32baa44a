/* fuzz_voc.c - libFuzzer target for the Pascal VOC annotation reader (fv_voc_parse, libxml2):
 * the input is one annotation read with the class list cat, dog, person, 0 .. 9. A result must
 * have an image size of sides 1..65536, a file name, and boxes of non-negative size inside the
 * image with classes of the list; else a one-line error naming "fuzz.xml". Seeds: corpus/fuzz_voc
 * (the fixtures of tests/data/det, labelme's and the scene generator's styles, DOCTYPEs). */
#include "data/det.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *names[] = {"cat", "dog", "person", "0", "1", "2", "3", "4", "5", "6", "7",
                            "8", "9"};
    const int n = (int)(sizeof names / sizeof names[0]);
    fv_det_annotation img;
    char *fn = NULL;
    fv_clear_error();
    if (fv_voc_parse("fuzz.xml", data, size, names, n, &img, &fn) != FV_OK) {
        fuzz_expect_error("fuzz.xml");
        if (fn || img.objects || img.nobjects)
            abort();
        return 0;
    }
    if (!fn || !fn[0] || img.width < 1 || img.height < 1 || img.width > 65536 ||
        img.height > 65536 || img.nobjects < 0)
        abort();
    for (int k = 0; k < img.nobjects; k++) {
        fv_det_object *o = &img.objects[k];
        if (!(o->box.x1 >= 0 && o->box.y1 >= 0 && o->box.x2 >= o->box.x1 &&
              o->box.y2 >= o->box.y1 && o->box.x2 <= img.width && o->box.y2 <= img.height) ||
            o->cls < 0 || o->cls >= n || (o->difficult != 0 && o->difficult != 1))
            abort();
    }
    fv_det_annotation_clear(&img);
    fv_free(fn);
    return 0;
}
