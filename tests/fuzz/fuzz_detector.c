/* fuzz_detector.c - libFuzzer target for a saved detector's settings (DIR/detector.json, read by
 * fv_detector_load and `fovea detect eval|predict`): the input is written as detector.json into
 * a private folder that also holds a small SSD's model text and weights (16 x 16 input, one
 * class, saved once). Each input gives a detector (whose settings must be in range, then freed)
 * or NULL with one line of error; never a crash, a leak or undefined behaviour. Seeds:
 * corpus/fuzz_detector (the saved settings, other sizes, wrong types, another architecture). */
#include "fuzz.h"

static int prepared;

static void prepare(void)
{
    const char *json = fuzz_tmp_file("detector.json");
    fuzz_tmp_file("ssd.fv"), fuzz_tmp_file("ssd.safetensors");
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 1, .height = 16);
    if (!d || fv_detector_save(d, fuzz_dir) != FV_OK) {
        fprintf(stderr, "fuzz_detector: %s\n", fv_last_error());
        abort();
    }
    fv_detector_free(d);
    (void)json;
    prepared = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!prepared)
        prepare();
    fuzz_write(fuzz_tmp_file("detector.json"), data, size);
    fv_clear_error();
    fv_detector *d = fv_detector_load(fuzz_dir);
    if (!d) {
        const char *e = fv_last_error();
        if (!*e || strchr(e, '\n')) {
            fprintf(stderr, "fuzz: bad error message: '%s'\n", e);
            abort();
        }
        return 0;
    }
    const fv_detector_args *a = fv_detector_settings(d);
    if (a->num_classes != 1 || a->height != 16 || a->width != 16 || a->channels != 1 ||
        !(a->nms_iou > 0 && a->nms_iou <= 1) || a->max_dets < 1)
        abort(); /* only the saved model's settings can load its model text */
    fv_detector_free(d);
    return 0;
}
