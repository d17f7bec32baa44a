/* test_train_golden.c - 10 training steps of a small CNN (conv, batch norm, ReLU, max pool, conv,
 * tanh, average pool, dense, sigmoid, dense; softmax cross-entropy) from PyTorch's initial weights:
 * every step's loss must equal PyTorch's within 1e-4 relative (tests/golden/gen_train.py). */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"

static fv_model *build(void)
{
    fv_model *m = fv_model_new("small");
    int x = fv_input(m, .ndim = 3, .dims = {1, 12, 12});
    x = fv_conv2d(m, x, .filters = 4, .kernel = 3, .padding = 1, .name = "conv1");
    x = fv_batchnorm(m, x, .name = "bn1");
    x = fv_relu(m, x);
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_conv2d(m, x, .filters = 8, .kernel = 3, .activation = FV_ACT_TANH, .name = "conv2");
    x = fv_avgpool2d(m, x, .size = 2);
    x = fv_flatten(m, x);
    x = fv_dense(m, x, .units = 16, .activation = FV_ACT_SIGMOID, .name = "fc1");
    x = fv_dense(m, x, .units = 5, .name = "fc2");
    return x < 0 ? (fprintf(stderr, "%s\n", fv_last_error()), fv_model_free(m), NULL) : m;
}

/* Copies "<prefix><param name>" tensors from f into the model's parameters. */
static int set_params(fv_model *m, const fv_st_file *f, const char *prefix)
{
    for (int i = 0; i < m->nparams; i++) {
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, m->params[i].name);
        fv_tensor *t = fv_st_get(f, name);
        if (!t || fv_tensor_numel(t) != m->params[i].numel)
            return fprintf(stderr, "bad golden tensor %s\n", name), fv_tensor_free(t), -1;
        memcpy(m->data_slab + m->params[i].offset, t->data,
               sizeof(float) * (size_t)m->params[i].numel);
        fv_tensor_free(t);
    }
    return 0;
}

static void run_case(const char *file, fv_optimizer opt)
{
    fv_st_file *f = fv_st_open(t_src_path(file));
    CHECK(f != NULL);
    fv_model *m = build();
    CHECK(m != NULL);
    if (!f || !m)
        goto out;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = opt), FV_OK);
    CHECK(set_params(m, f, "init.") == 0);
    fv_tensor *x = fv_st_get(f, "x"), *y = fv_st_get(f, "y"), *losses = fv_st_get(f, "losses");
    fv_tensor *logits = fv_st_get(f, "eval_logits");
    CHECK(x && y && losses && logits);
    if (x && y && losses && logits) {
        for (int step = 0; step < 10; step++) {
            int s = 8 * (step % 3);
            double loss;
            CHECK_STATUS(fv_model_train_batch(m, x->data + s * 144, y->data + s, 8, &loss, NULL),
                         FV_OK);
            CHECK_NEAR(loss, losses->data[step], 0, 1e-4);
        }
        /* after training: eval-mode logits (running statistics) agree too */
        fv_tensor *out = NULL;
        CHECK_STATUS(fv_model_predict(m, x, &out), FV_OK);
        if (out)
            CHECK_ARRAY_NEAR(out->data, logits->data, fv_tensor_numel(logits), 1e-4, 1e-3);
        fv_tensor_free(out);
    }
    fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(losses), fv_tensor_free(logits);
out:
    fv_model_free(m);
    fv_st_close(f);
}

TEST(sgd_nesterov_matches_pytorch)
{
    run_case("data/golden/train_sgd.safetensors",
             fv_sgd(.lr = 0.05f, .momentum = 0.9f, .nesterov = 1, .weight_decay = 1e-3f));
}

TEST(adam_matches_pytorch)
{
    run_case("data/golden/train_adam.safetensors", fv_adam(.lr = 0.01f, .weight_decay = 1e-4f));
}

int main(void)
{
    RUN(sgd_nesterov_matches_pytorch);
    RUN(adam_matches_pytorch);
    TEST_MAIN_END();
}
