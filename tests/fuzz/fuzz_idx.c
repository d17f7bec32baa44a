/* fuzz_idx.c - libFuzzer target for the IDX decoder (plain and gzip): any bytes give a result or NULL with
 * a one-line error naming "fuzz.idx", never a crash, a leak or undefined behaviour. Built with
 * -DFV_FUZZ=ON (clang): ./fuzz_idx -max_total_time=60 CORPUS_DIR. */
#include "data/data.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fuzz_expect_tensor(fv_idx_decode("fuzz.idx", data, size), "fuzz.idx");
    return 0;
}
