/* test_interop.c - LeNet-5 from models/lenet5.fv, trained a few steps, saves its weights; where
 * PyTorch is installed, tests/golden/check_interop.py loads them with strict names and shapes and
 * must reproduce fovea's logits within 1e-4 relative. Without PyTorch that half is skipped. */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"

#include <unistd.h>

TEST(pytorch_reads_our_weights)
{
    fv_model *m = fv_model_load_file(t_src_path("../models/lenet5.fv"));
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(), .seed = 3),
                 FV_OK);
    fv_tensor *x = fv_tensor_new4(8, 1, 28, 28), *out = NULL;
    float y[8];
    fv_rng r;
    fv_rng_seed(&r, 11);
    for (int64_t i = 0; i < fv_tensor_numel(x); i++)
        x->data[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < 8; i++)
        y[i] = (float)(i % 10);
    for (int s = 0; s < 3; s++) /* move away from the initial weights */
        CHECK_STATUS(fv_model_train_batch(m, x->data, y, 8, NULL, NULL), FV_OK);
    CHECK_STATUS(fv_model_predict(m, x, &out), FV_OK);
    CHECK_STATUS(fv_model_save_weights(m, "interop_weights.safetensors"), FV_OK);
    const char *names[2] = {"x", "logits"};
    const fv_tensor *ts[2] = {x, out};
    CHECK_STATUS(fv_st_save("interop_io.safetensors", 2, names, ts), FV_OK);
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("skipped: PyTorch is not installed, the logits check did not run\n");
    } else {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 %s interop_weights.safetensors interop_io.safetensors",
                 t_src_path("golden/check_interop.py"));
        CHECK(system(cmd) == 0);
    }
    fv_tensor_free(x), fv_tensor_free(out);
    fv_model_free(m);
}

int main(void)
{
    RUN(pytorch_reads_our_weights);
    TEST_MAIN_END();
}
