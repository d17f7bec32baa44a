/* fuzz_safetensors.c - libFuzzer target for the safetensors reader (header JSON, offsets, dtypes): any bytes give a result or NULL with
 * a one-line error naming "fuzz.safetensors", never a crash, a leak or undefined behaviour. Built with
 * -DFV_FUZZ=ON (clang): ./fuzz_safetensors -max_total_time=60 CORPUS_DIR. */
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ok;
    fv_clear_error();
    fv_st_file *f = fv_st_open_mem("fuzz.safetensors", data, size);
    ok = f != NULL;
    for (int i = 0; f && i < fv_st_count(f); i++)
        fv_tensor_free(fv_st_get(f, fv_st_name(f, i)));
    fv_st_close(f);
    const char *e = fv_last_error();
    if (!ok && (strncmp(e, "fuzz.safetensors", strlen("fuzz.safetensors")) != 0 || strchr(e, '\n')))
        abort();
    return 0;
}
