/* fuzz_png.c - libFuzzer target for the PNG decoder: any bytes give a result or NULL with
 * a one-line error naming "fuzz.png", never a crash, a leak or undefined behaviour. Built with
 * -DFV_FUZZ=ON (clang): ./fuzz_png -max_total_time=60 CORPUS_DIR. */
#include "data/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    /* pixel limit 0: the CLI's default */
    fuzz_expect_tensor(fv_png_decode("fuzz.png", data, size, 0), "fuzz.png");
    return 0;
}
