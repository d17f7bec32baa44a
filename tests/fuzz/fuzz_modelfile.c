/* fuzz_modelfile.c - libFuzzer target for the model text format: any bytes through
 * fv_model_parse must give a model or NULL with a "fuzz.fv:LINE: ..." message, never a crash,
 * a leak or undefined behaviour. Built with -DFV_FUZZ=ON (clang); seeds: corpus/fuzz_modelfile. */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fv_clear_error();
    fv_model *m = fv_model_parse(text, "fuzz.fv");
    if (m) {
        /* walk what was built: shapes and parameter totals must be consistent */
        int64_t total = 0, trainable = 0, frozen = 0, dims[4];
        fv_model_count_params(m, &total, &trainable, &frozen);
        if (total != trainable + frozen || fv_model_num_nodes(m) < 1)
            abort();
        for (int i = 0; i < fv_model_num_nodes(m); i++) {
            int nd = fv_node_shape(m, i, dims);
            if (nd < 1 || nd > 4 || fv_model_find_node(m, fv_node_name(m, i)) < 0)
                abort();
        }
        fv_model_free(m);
    } else if (strncmp(fv_last_error(), "fuzz.fv:", 8) != 0 || strchr(fv_last_error(), '\n')) {
        abort();
    }
    free(text);
    return 0;
}
