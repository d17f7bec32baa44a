/* test_fit_control.c - training controls: gradient clipping by value and by global norm (PyTorch's
 * clip_grad_value_ / clip_grad_norm_), early stopping with patience and restoring the best
 * weights, and their validation. */
#include "core/internal.h"
#include "optim/optim.h"
#include "test.h"

static fv_model *tiny(fv_optimizer opt)
{
    fv_model *m = fv_model_new("t");
    fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, FV_LAST, .units = 2, .no_bias = 1);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = opt) != FV_OK)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

TEST(clipping)
{
    fv_model *m = tiny(fv_sgd(.lr = 1.0f, .clip_value = 0.5f));
    const float g[4] = {2, -3, 0.25f, -0.5f}, clipped[4] = {-0.5f, 0.5f, -0.25f, 0.5f};
    memset(m->data_slab, 0, 4 * sizeof(float));
    memcpy(m->grad_slab, g, sizeof g);
    fv_optim_step(m);
    CHECK_ARRAY_NEAR(m->data_slab, clipped, 4, 1e-7, 0);
    fv_model_free(m);

    m = tiny(fv_sgd(.lr = 1.0f, .clip_norm = 1.0f));
    const float g2[4] = {3, 0, 0, 4}; /* norm 5: scaled by 1 / (5 + 1e-6) */
    memset(m->data_slab, 0, 4 * sizeof(float));
    memcpy(m->grad_slab, g2, sizeof g2);
    fv_optim_step(m);
    const float want[4] = {(float)(-3 / (5 + 1e-6)), 0, 0, (float)(-4 / (5 + 1e-6))};
    CHECK_ARRAY_NEAR(m->data_slab, want, 4, 1e-7, 1e-6);
    /* below the threshold nothing changes */
    const float g3[4] = {0.3f, 0, 0, 0.4f};
    memset(m->data_slab, 0, 4 * sizeof(float));
    memcpy(m->grad_slab, g3, sizeof g3);
    fv_optim_step(m);
    const float want3[4] = {-0.3f, 0, 0, -0.4f};
    CHECK_ARRAY_NEAR(m->data_slab, want3, 4, 1e-7, 0);
    fv_model_free(m);

    m = fv_model_new("bad");
    fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, FV_LAST, .units = 2);
    CHECK(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_adam(.clip_norm = -1)) ==
          FV_ERR_INVALID);
    CHECK_ERR_HAS("clip_norm=-1");
    fv_model_free(m);
}

/* Validation labels are the opposite of the training labels: the better the model learns, the
 * worse the validation loss, so early stopping triggers after `patience` epochs and restoring
 * the best weights brings back the first epoch's. */
TEST(early_stopping)
{
    fv_model *m = tiny(fv_sgd(.lr = 0.5f));
    fv_dataset tr = {.x = fv_tensor_new4(8, 2, 1, 1), .y = fv_tensor_new4(8, 1, 1, 1),
                     .num_classes = 2, .name = "train"};
    fv_dataset va = {.x = fv_tensor_new4(8, 2, 1, 1), .y = fv_tensor_new4(8, 1, 1, 1),
                     .num_classes = 2, .name = "val"};
    for (int i = 0; i < 8; i++) {
        int c = i % 2;
        tr.x->data[2 * i + c] = va.x->data[2 * i + c] = 1.0f;
        tr.y->data[i] = (float)c;
        va.y->data[i] = (float)(1 - c);
    }
    fv_epoch_metrics h[20];
    int ran = 0;
    CHECK_STATUS(fv_model_fit(m, &tr, .epochs = 20, .batch_size = 8, .validation = &va,
                              .history = h, .early_stopping = 2, .restore_best = 1,
                              .epochs_run = &ran),
                 FV_OK);
    CHECK(ran == 3);
    CHECK(h[1].val_loss > h[0].val_loss && h[2].val_loss > h[0].val_loss);
    double loss, acc;
    CHECK_STATUS(fv_model_evaluate(m, &va, 0, &loss, &acc), FV_OK);
    CHECK_NEAR(loss, h[0].val_loss, 1e-6, 1e-6);
    CHECK(fv_model_fit(m, &tr, .epochs = 1, .early_stopping = -1) == FV_ERR_INVALID);
    CHECK_ERR_HAS("early_stopping=-1");
    fv_tensor_free(tr.x), fv_tensor_free(tr.y), fv_tensor_free(va.x), fv_tensor_free(va.y);
    fv_model_free(m);
}

int main(void)
{
    RUN(clipping);
    RUN(early_stopping);
    TEST_MAIN_END();
}
