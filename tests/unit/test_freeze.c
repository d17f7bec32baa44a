/* test_freeze.c - freezing layers and per-layer learning-rate multipliers: frozen parameters and
 * their optimizer state stay put, a frozen batch norm keeps its running statistics, the summary
 * counts frozen parameters as non-trainable, and a layer at lr_mult 0.5 moves exactly as a run
 * at half the learning rate (SGD: the update is linear in lr). */
#include "core/internal.h"
#include "test.h"

static fv_model *build(float lr)
{
    fv_model *m = fv_model_new("fz");
    int x = fv_input(m, .ndim = 3, .dims = {1, 5, 5});
    x = fv_conv2d(m, x, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU, .name = "conv");
    x = fv_batchnorm(m, x, .name = "bn");
    fv_dense(m, fv_flatten(m, x), .units = 3, .name = "fc");
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = lr),
                         .seed = 2) != FV_OK)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

static void train(fv_model *m, int steps)
{
    float x[4 * 25], y[4] = {0, 1, 2, 1};
    for (int i = 0; i < 100; i++)
        x[i] = (float)((i * 13) % 7) - 3.0f;
    for (int s = 0; s < steps; s++)
        fv_model_train_batch(m, x, y, 4, NULL, NULL);
}

static const fv_param *param(const fv_model *m, const char *name)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0)
            return &m->params[i];
    return NULL;
}

TEST(frozen_layers_do_not_move)
{
    fv_model *m = build(0.01f);
    CHECK_STATUS(fv_model_set_trainable(m, "conv", 0), FV_OK);
    CHECK_STATUS(fv_model_set_trainable(m, "bn", 0), FV_OK);
    int64_t total, tr, nt;
    fv_model_count_params(m, &total, &tr, &nt);
    CHECK(tr == 57 && nt == 20 + 8); /* fc (18 x 3 + 3) trains; conv (20) and bn (8) do not */
    const fv_param *cw = param(m, "conv.weight"), *rm = param(m, "bn.running_mean");
    const fv_param *fw = param(m, "fc.weight");
    CHECK(cw && rm && fw);
    float *before = malloc(sizeof(float) * (size_t)m->param_total);
    memcpy(before, m->data_slab, sizeof(float) * (size_t)m->param_total);
    train(m, 3);
    CHECK(memcmp(before + cw->offset, m->data_slab + cw->offset, sizeof(float) * 18) == 0);
    CHECK(memcmp(before + rm->offset, m->data_slab + rm->offset, sizeof(float) * 2) == 0);
    CHECK(memcmp(before + fw->offset, m->data_slab + fw->offset, sizeof(float) * 4) != 0);
    float zero[18] = {0};
    CHECK(memcmp(m->opt_state + cw->offset, zero, sizeof zero) == 0); /* Adam state untouched */
    CHECK(fv_model_set_trainable(m, "nope", 0) == FV_ERR_INVALID);
    CHECK_ERR_HAS("no layer 'nope'");
    free(before);
    fv_model_free(m);
}

TEST(lr_multiplier)
{
    /* SGD without momentum: one step at lr * 0.5 on fc equals one step of a model at lr 0.5 */
    fv_model *a = build(0.01f), *b = build(0.01f);
    fv_model_set_optimizer(a, fv_sgd(.lr = 0.2f));
    fv_model_set_optimizer(b, fv_sgd(.lr = 0.1f));
    CHECK_STATUS(fv_model_set_lr_mult(a, "fc", 0.5f), FV_OK);
    CHECK_STATUS(fv_model_set_lr_mult(a, "conv", 0.5f), FV_OK);
    CHECK_STATUS(fv_model_set_lr_mult(a, "bn", 0.5f), FV_OK);
    train(a, 1), train(b, 1);
    CHECK_ARRAY_NEAR(a->data_slab, b->data_slab, a->param_total, 1e-7, 1e-6);
    CHECK(fv_model_set_lr_mult(a, "fc", -1) == FV_ERR_INVALID);
    CHECK_ERR_HAS("lr_mult=-1");
    fv_model_free(a), fv_model_free(b);
}

int main(void)
{
    RUN(frozen_layers_do_not_move);
    RUN(lr_multiplier);
    TEST_MAIN_END();
}
