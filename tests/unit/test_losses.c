/* test_losses.c - the loss catalogue: PyTorch goldens of loss and gradient for every kind
 * (tests/golden/gen_losses.py), finite-difference gradient checks of the double kernels, the
 * compile path (targets, class weights, accuracy) and its errors. */
#include "core/internal.h"
#include "kernels/ref/losses_ref.h"
#include "losscheck.h"

static const float W[4] = {0.5f, 2.0f, 1.0f, 1.5f};

static const struct {
    const char *name;
    fv_loss kind;
    float smoothing, delta;
    int weighted;
} cases[] = {
    {"losses_ce_smooth_weights", FV_LOSS_SOFTMAX_CE, 0.1f, 0, 1},
    {"losses_sparse_ce_probs", FV_LOSS_SPARSE_CE_PROBS, 0, 0, 1},
    {"losses_categorical_ce", FV_LOSS_CATEGORICAL_CE, 0.05f, 0, 0},
    {"losses_categorical_ce_probs", FV_LOSS_CATEGORICAL_CE_PROBS, 0, 0, 0},
    {"losses_bce", FV_LOSS_BCE, 0, 0, 0},
    {"losses_bce_logits", FV_LOSS_BCE_LOGITS, 0, 0, 0},
    {"losses_mae", FV_LOSS_MAE, 0, 0, 0},
    {"losses_huber", FV_LOSS_HUBER, 0, 0.7f, 0},
    {"losses_hinge", FV_LOSS_HINGE, 0, 0, 0},
    {"losses_kl_div", FV_LOSS_KL_DIV, 0, 0, 0},
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static fv_loss_geom geom_of(int i)
{
    return (fv_loss_geom){.kind = cases[i].kind, .n = 5, .k = 4, .smoothing = cases[i].smoothing,
                          .delta = cases[i].delta, .weights = cases[i].weighted ? W : NULL};
}

LC_KERNELS(fv_loss_geom, geom_of, fv_ref_loss_fwd_f32, fv_ref_loss_bwd_f32,
           fv_ref_loss_fwd_f64, fv_ref_loss_bwd_f64)

TEST(losses_match_pytorch)
{
    for (int i = 0; i < NCASES; i++)
        lc_match_golden(cases[i].name, i, lc_eval, 20);
}

TEST(losses_gradcheck)
{
    unsigned seed = 4;
    for (int i = 0; i < NCASES; i++) {
        fv_loss_geom g = geom_of(i);
        double x[20], t[20];
        int probs = g.kind == FV_LOSS_SPARSE_CE_PROBS || g.kind == FV_LOSS_CATEGORICAL_CE_PROBS ||
                    g.kind == FV_LOSS_BCE || g.kind == FV_LOSS_KL_DIV;
        gc_fill(x, 20, probs ? 0.05 : -3, probs ? 0.95 : 3, &seed);
        gc_fill(t, 20, 0, 1, &seed);
        if (fv_loss_is_sparse(g.kind))
            for (int s = 0; s < 5; s++)
                t[s] = (double)((s * 3) % 4);
        for (int j = 0; g.kind == FV_LOSS_MAE && j < 20; j++) /* off the kink at x == t */
            x[j] = fabs(x[j] - t[j]) < 0.05 ? t[j] + 0.1 : x[j];
        lc_gradcheck(cases[i].name, i, lc_fwd, lc_bwd, x, t, 20);
    }
}

/* Through compile: a hinge model and a weighted, smoothed softmax-CE model train; accuracy is
 * reported for categorical targets; settings are validated. */
TEST(losses_through_compile)
{
    float x[8] = {1, 0, 0, 1, 1, 1, 0, 0}, ys[4] = {0, 1, 1, 0}, onehot[8] = {1, 0, 0, 1, 0, 1, 1, 0};
    for (int k = 0; k < 3; k++) {
        fv_model *m = fv_model_new("l");
        fv_input(m, .ndim = 1, .dims = {2});
        fv_dense(m, FV_LAST, .units = 2);
        fv_status st = k == 0 ? fv_model_compile(m, .loss = FV_LOSS_HINGE, .optimizer = fv_sgd())
                       : k == 1 ? fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE,
                                                   .optimizer = fv_sgd(), .class_weights = W,
                                                   .label_smoothing = 0.1f)
                                : fv_model_compile(m, .loss = FV_LOSS_CATEGORICAL_CE,
                                                   .optimizer = fv_sgd());
        CHECK_STATUS(st, FV_OK);
        double loss = 0;
        int correct = -1;
        CHECK_STATUS(fv_model_train_batch(m, x, k == 2 ? onehot : ys, 4, &loss, &correct), FV_OK);
        CHECK(isfinite(loss) && correct >= 0 && correct <= 4);
        CHECK(m->nodes[m->loss_node].op == FV_OP_LOSS); /* not the plain softmax-CE op */
        fv_model_free(m);
    }
    fv_model *m = fv_model_new("bad");
    fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, FV_LAST, .units = 2);
    CHECK(fv_model_compile(m, .loss = FV_LOSS_MSE, .class_weights = W) == FV_ERR_INVALID);
    CHECK_ERR_HAS("class weights apply to the sparse cross-entropy losses");
    CHECK(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .label_smoothing = 1.0f) ==
          FV_ERR_INVALID);
    CHECK_ERR_HAS("label_smoothing=1");
    const float neg[2] = {1, -1};
    CHECK(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .class_weights = neg) == FV_ERR_INVALID);
    CHECK_ERR_HAS("class weight 1 is -1");
    fv_model_free(m);
}

int main(void)
{
    RUN(losses_match_pytorch);
    RUN(losses_gradcheck);
    RUN(losses_through_compile);
    TEST_MAIN_END();
}
