/* fuzz_idx.c - libFuzzer target for the IDX decoder (plain and gzip): any bytes give a result or NULL with
 * a one-line error naming "fuzz.idx", never a crash, a leak or undefined behaviour. Built with
 * -DFV_FUZZ=ON (clang): ./fuzz_idx -max_total_time=60 CORPUS_DIR. */
#include "data/data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ok;
    fv_clear_error();
    fv_tensor *t = fv_idx_decode("fuzz.idx", data, size);
    ok = t != NULL;
    fv_tensor_free(t);
    const char *e = fv_last_error();
    if (!ok && (strncmp(e, "fuzz.idx", strlen("fuzz.idx")) != 0 || strchr(e, '\n')))
        abort();
    return 0;
}
