/* fuzz_jpeg.c - libFuzzer target for the JPEG decoder: any bytes give a result or NULL with
 * a one-line error naming "fuzz.jpg", never a crash, an exit, a leak or undefined behaviour.
 * Built with -DFV_FUZZ=ON (clang): ./fuzz_jpeg -max_total_time=60 CORPUS_DIR
 * (tests/data/fashion_bag.jpg is a seed). */
#include "data/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    /* pixel limit 0: the CLI's default */
    fuzz_expect_tensor(fv_jpeg_decode("fuzz.jpg", data, size, 0), "fuzz.jpg");
    return 0;
}
