/* fuzz_mask.c - libFuzzer target for the segmentation mask reader (indexed PNG): any bytes give
 * an (H, W) mask of palette indices 0..255 or NULL with a one-line error naming "fuzz.png", never
 * a crash, a leak or undefined behaviour; a mask that reads back is checked against its own size
 * with 256 classes (must pass) and 2 classes (may refuse, with one line). Built with -DFV_FUZZ=ON
 * (clang): ./fuzz_mask -max_total_time=60 CORPUS_DIR. */
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_tensor *m = fv_mask_decode("fuzz.png", data, size);
    if (!m) {
        fuzz_expect_error("fuzz.png");
        return 0;
    }
    if (m->ndim != 2 || m->dims[0] < 1 || m->dims[1] < 1)
        abort();
    for (int64_t i = 0; i < m->dims[0] * m->dims[1]; i++)
        if (!(m->data[i] >= 0 && m->data[i] <= 255 && m->data[i] == floorf(m->data[i])))
            abort();
    if (fv_mask_check("fuzz.png", m, m->dims[0], m->dims[1], 256, 0, 0) != FV_OK)
        abort();
    if (fv_mask_check("fuzz.png", m, m->dims[0], m->dims[1], 2, 1, 255) != FV_OK)
        fuzz_expect_error("fuzz.png");
    fv_tensor_free(m);
    return 0;
}
