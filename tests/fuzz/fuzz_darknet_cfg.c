/* fuzz_darknet_cfg.c - libFuzzer target for Darknet .cfg networks: any bytes through
 * fv_model_parse_darknet must give a model or NULL with one line "fuzz.cfg:LINE: ...", never a
 * crash, a leak or undefined behaviour. A model is walked (shapes, names) and its Darknet table
 * printed. Built with -DFV_FUZZ=ON (clang); seeds: corpus/fuzz_darknet_cfg. */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_model *m = fv_model_parse_darknet((const char *)data, size, "fuzz.cfg");
    if (!m) {
        if (strncmp(fv_last_error(), "fuzz.cfg", 8) != 0 || strchr(fv_last_error(), '\n'))
            abort();
        return 0;
    }
    int64_t dims[4];
    if (!fv_model_is_darknet(m) || fv_model_num_nodes(m) < 1) /* [cost] alone adds no node */
        abort();
    for (int i = 0; i < fv_model_num_nodes(m); i++) {
        int nd = fv_node_shape(m, i, dims);
        if (nd < 1 || nd > 4 || fv_model_find_node(m, fv_node_name(m, i)) != i)
            abort();
    }
    FILE *f = fopen("/dev/null", "w");
    if (f && fv_model_darknet_table(m, f) != FV_OK)
        abort();
    if (f)
        fclose(f);
    fv_model_free(m);
    return 0;
}
