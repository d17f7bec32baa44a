/* fuzz_safetensors.c - libFuzzer target for the safetensors reader (header JSON, offsets, dtypes)
 * and the weights metadata on top of it (class names, input shape, normalization, data set, and
 * the model built from the architecture text): any bytes give a result or NULL with a one-line
 * error naming "fuzz.safetensors", never a crash, a leak or undefined behaviour. Built with
 * -DFV_FUZZ=ON (clang): ./fuzz_safetensors -max_total_time=60 CORPUS_DIR. */
#include "formats/weightsmeta.h"
#include "io/io.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_st_file *f = fv_st_open_mem("fuzz.safetensors", data, size);
    int ok = f != NULL;
    for (int i = 0; f && i < fv_st_count(f); i++)
        fv_tensor_free(fv_st_get(f, fv_st_name(f, i)));
    const char *e = fv_last_error();
    if (!ok && (strncmp(e, "fuzz.safetensors", strlen("fuzz.safetensors")) != 0 || strchr(e, '\n')))
        abort();
    fv_weights_info *w = f ? fv_weights_info_of(f) : NULL;
    e = fv_last_error();
    if (f && !w && (strncmp(e, "fuzz.safetensors", strlen("fuzz.safetensors")) != 0 ||
                    strchr(e, '\n')))
        abort();
    if (w && w->architecture && strlen(w->architecture) < 4096) { /* small models only */
        fv_clear_error();
        fv_model *m = fv_model_from_st(f, (fv_compile_args){._ = 0});
        e = fv_last_error();
        if (!m && (strncmp(e, "fuzz.safetensors", strlen("fuzz.safetensors")) != 0 ||
                   strchr(e, '\n')))
            abort();
        fv_model_free(m);
    }
    fv_weights_info_free(w);
    fv_st_close(f);
    return 0;
}
