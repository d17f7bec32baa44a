/* fuzz_coco.c - libFuzzer target for the COCO instances reader (fv_coco_parse, cJSON; no image
 * files looked up): the input is read with the file's own categories, with a fixed class list
 * (cat, dog, person), and only its first image. A result must hold images of sides 1..65536
 * with file names and boxes of non-negative size inside them, classes below the set's count
 * and named; else a one-line error naming "fuzz.json". Seeds: corpus/fuzz_coco. */
#include "data/det.h"
#include "fuzz.h"

static void read_as(const uint8_t *data, size_t size, const fv_det_args *a)
{
    fv_clear_error();
    fv_detset *d = fv_coco_parse("fuzz.json", (const char *)data, size, a, NULL);
    if (!d) {
        fuzz_expect_error("fuzz.json");
        return;
    }
    if (d->num_classes < 1 || (a->limit > 0 && d->nimages > a->limit) || d->nimages < 0)
        abort();
    for (int k = 0; k < d->num_classes; k++)
        if (!d->class_names[k])
            abort();
    for (int64_t i = 0; i < d->nimages; i++) {
        const fv_det_annotation *m = &d->images[i];
        if (!m->file || m->width < 1 || m->height < 1 || m->width > 65536 || m->height > 65536)
            abort();
        for (int k = 0; k < m->nobjects; k++) {
            const fv_det_object *o = &m->objects[k];
            if (!(o->box.x1 >= 0 && o->box.y1 >= 0 && o->box.x2 >= o->box.x1 &&
                  o->box.y2 >= o->box.y1 && o->box.x2 <= m->width && o->box.y2 <= m->height) ||
                o->cls < 0 || o->cls >= d->num_classes || !(o->area >= 0))
                abort();
        }
    }
    fv_detset_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const cls[] = {"cat", "dog", "person"};
    fv_det_args own = {0}, listed = {.classes = cls, .num_classes = 3}, first = {.limit = 1};
    read_as(data, size, &own);
    read_as(data, size, &listed);
    read_as(data, size, &first);
    return 0;
}
