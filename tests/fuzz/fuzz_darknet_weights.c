/* fuzz_darknet_weights.c - libFuzzer target for Darknet .weights files: any bytes through
 * fv_model_load_darknet_weights_mem into a small compiled network (batch-normalized convolution,
 * max pooling, batch-normalized and plain connected layers: 140 floats) either load or fail with
 * one line "fuzz.weights: ..." and leave every parameter as it was; never a crash or undefined
 * behaviour. Built with -DFV_FUZZ=ON (clang); seeds: corpus/fuzz_darknet_weights. */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char cfg[] = "[net]\nwidth=4\nheight=4\nchannels=2\n"
                          "[convolutional]\nfilters=3\nsize=3\npad=1\nbatch_normalize=1\n"
                          "activation=leaky\n[maxpool]\nsize=2\nstride=2\n"
                          "[connected]\noutput=4\nbatch_normalize=1\nactivation=linear\n"
                          "[connected]\noutput=2\nactivation=linear\n[softmax]\n";

static fv_model *model(void)
{
    static fv_model *m;
    if (!m) {
        m = fv_model_parse_darknet(cfg, sizeof cfg - 1, "fuzz.cfg");
        if (!m || fv_model_compile(m) != FV_OK)
            abort();
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_model *m = model();
    size_t bytes = sizeof(float) * (size_t)m->param_total;
    float *before = malloc(bytes);
    if (!before)
        return 0;
    memcpy(before, m->data_slab, bytes);
    fv_clear_error();
    if (fv_model_load_darknet_weights_mem(m, data, size, "fuzz.weights") != FV_OK) {
        if (strncmp(fv_last_error(), "fuzz.weights: ", 14) != 0 || strchr(fv_last_error(), '\n'))
            abort();
        if (memcmp(before, m->data_slab, bytes) != 0) /* a refused file changes nothing */
            abort();
    }
    free(before);
    return 0;
}
