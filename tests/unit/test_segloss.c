/* test_segloss.c - the per-pixel losses (FV_OP_PIXEL_LOSS; its per-step CE of sequences: a
 * gradient check here, the golden in test_ops_rnn.c): PyTorch goldens of loss and gradient
 * (tests/golden/gen_segloss.py: F.cross_entropy with weight= and ignore_index=, the stated Dice, BCE with ignored values), finite-difference gradient checks of the double
 * kernels, and the compile path: targets (H, W), class weights, the ignore label, training
 * through a small convolutional net, and the errors (an output that is not a map, a mask label
 * outside the classes). */
#include "core/internal.h"
#include "data/data.h"
#include "io/io.h"
#include "kernels/ref/segloss_ref.h"
#include "losscheck.h"

static const float W[4] = {0.5f, 2.0f, 1.0f, 1.5f};

static const struct {
    const char *name;
    fv_loss kind;
    int weighted;
} cases[] = {
    {"segloss_ce_weights_ignore", FV_LOSS_PIXEL_CE, 1},
    {"segloss_ce_plain", FV_LOSS_PIXEL_CE, 0},
    {"segloss_dice", FV_LOSS_DICE, 0},
    {"segloss_bce_ignore", FV_LOSS_PIXEL_BCE, 0},
};
enum { NCASES = sizeof cases / sizeof cases[0], NX = 2 * 4 * 15 };

static fv_segloss_geom geom_of(int i)
{
    return (fv_segloss_geom){.kind = cases[i].kind, .n = 2, .c = 4, .hw = 15, .use_ignore = 1,
                             .ignore = 255, .weights = cases[i].weighted ? W : NULL};
}

LC_KERNELS(fv_segloss_geom, geom_of, fv_ref_segloss_fwd_f32, fv_ref_segloss_bwd_f32,
           fv_ref_segloss_fwd_f64, fv_ref_segloss_bwd_f64)

TEST(segloss_match_pytorch)
{
    for (int i = 0; i < NCASES; i++)
        lc_match_golden(cases[i].name, i, lc_eval, NX);
}

TEST(segloss_gradcheck)
{
    unsigned seed = 21;
    for (int i = 0; i < NCASES; i++) {
        fv_segloss_geom g = geom_of(i);
        double x[NX], t[NX];
        gc_fill(x, NX, -3, 3, &seed);
        if (g.kind == FV_LOSS_PIXEL_BCE) {
            gc_fill(t, NX, 0, 1, &seed);
            t[3] = t[50] = 255;
        } else {
            for (int p = 0; p < 30; p++)
                t[p] = p % 7 == 3 ? 255 : (double)((p * 5) % 4);
        }
        lc_gradcheck(cases[i].name, i, lc_fwd, lc_bwd, x, t, NX);
    }
}

/* The per-step CE of sequences (logits (n, steps, classes)), as the double kernels of a case of
 * its own (the index is not used). PyTorch's golden is tests/unit/test_ops_rnn.c's. */
static const fv_segloss_geom seq_geom = {.kind = FV_LOSS_SEQUENCE_CE, .n = 2, .c = 4, .hw = 15,
                                         .use_ignore = 1, .ignore = 255};

static double seq_fwd(int i, const double *x, const double *t)
{
    (void)i;
    return fv_ref_segloss_fwd_f64(&seq_geom, x, t);
}

static void seq_bwd(int i, const double *x, const double *t, double r, double *dx)
{
    (void)i;
    fv_ref_segloss_bwd_f64(&seq_geom, x, t, r, dx);
}

/* Padding (255) takes no gradient. */
TEST(sequence_ce_gradcheck)
{
    unsigned seed = 5;
    double x[NX], t[30], dx[NX] = {0};
    gc_fill(x, NX, -3, 3, &seed);
    for (int p = 0; p < 30; p++)
        t[p] = p % 15 >= 11 ? 255 : (double)((p * 5) % 4);
    lc_gradcheck("sequence_ce", 0, seq_fwd, seq_bwd, x, t, NX);
    seq_bwd(0, x, t, 1.0, dx);
    for (int k = 11 * 4; k < 15 * 4; k++)
        CHECK(dx[k] == 0);
}

/* Everything ignored: loss 0 and no gradient (PyTorch gives NaN for CE). */
TEST(segloss_all_ignored)
{
    float x[NX], t[NX], dx[NX] = {0};
    for (int j = 0; j < NX; j++)
        x[j] = (float)(j % 5) - 2, t[j] = 255;
    for (int i = 0; i < NCASES; i++) {
        fv_segloss_geom g = geom_of(i);
        CHECK(fv_ref_segloss_fwd_f32(&g, x, t) == 0.0); /* Dice: every class (0 + 1) / (0 + 1) */
        fv_ref_segloss_bwd_f32(&g, x, t, 1.0f, dx);
    }
    for (int j = 0; j < NX; j++)
        CHECK(dx[j] == 0);
}

/* A 1 -> 3 channel 3x3 convolution on 4x5 maps. */
static fv_model *tiny(void)
{
    fv_model *m = fv_model_new("seg");
    fv_input(m, .ndim = 3, .dims = {1, 4, 5});
    fv_conv2d(m, FV_LAST, .filters = 3, .kernel = 3, .padding = 1);
    return m;
}

/* Pixels left of column 2 are class 0, the rest class 1 or 2 by brightness; one pixel 255. */
static void toy_data(fv_dataset **out)
{
    fv_tensor *x = fv_tensor_new4(8, 1, 4, 5), *y = fv_tensor_new(3, (int64_t[]){8, 4, 5});
    for (int i = 0; i < 8 * 20; i++) {
        int col = i % 5;
        x->data[i] = col < 2 ? 0.0f : (i / 20) % 2 ? 1.0f : 0.5f;
        y->data[i] = col < 2 ? 0.0f : (i / 20) % 2 ? 2.0f : 1.0f;
    }
    y->data[7] = 255;
    *out = fv_dataset_new(x, y, 3, "toy");
}

TEST(segloss_through_compile)
{
    fv_dataset *d;
    toy_data(&d);
    for (int k = 0; k < 3; k++) {
        fv_model *m = tiny();
        fv_loss kinds[3] = {FV_LOSS_PIXEL_CE, FV_LOSS_DICE, FV_LOSS_PIXEL_CE};
        CHECK_STATUS(fv_model_compile(m, .loss = kinds[k], .optimizer = fv_adam(.lr = 0.05f),
                                      .class_weights = k == 2 ? W : NULL,
                                      .use_ignore_label = 1, .ignore_label = 255, .seed = 3),
                     FV_OK);
        CHECK(m->nodes[m->loss_node].op == FV_OP_PIXEL_LOSS);
        int64_t td[4];
        CHECK(fv_node_shape(m, m->target_node, td) == 2 && td[0] == 4 && td[1] == 5);
        double first = 0, last = 0;
        CHECK_STATUS(fv_model_evaluate(m, d, 8, &first, NULL), FV_OK);
        for (int s = 0; s < 60; s++)
            CHECK_STATUS(fv_model_train_batch(m, d->x->data, d->y->data, 8, &last, NULL), FV_OK);
        CHECK_STATUS(fv_model_evaluate(m, d, 8, &last, NULL), FV_OK);
        CHECK(isfinite(first) && last < first * 0.7);
        fv_model_free(m);
    }
    /* a label outside the classes is an error naming the sample and pixel */
    fv_model *m = tiny();
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_PIXEL_CE, .optimizer = fv_sgd()), FV_OK);
    double l;
    CHECK(fv_model_evaluate(m, d, 8, &l, NULL) == FV_ERR_INVALID); /* 255 without ignore */
    CHECK_ERR_HAS("sample 0's mask has label 255 at pixel 7, not a class in [0, 3)");
    fv_model_free(m);
    fv_dataset_free(d);
}

TEST(segloss_errors)
{
    fv_model *m = fv_model_new("flat");
    fv_input(m, .ndim = 1, .dims = {4});
    fv_dense(m, FV_LAST, .units = 3);
    CHECK(fv_model_compile(m, .loss = FV_LOSS_PIXEL_CE) == FV_ERR_SHAPE);
    CHECK_ERR_HAS("a per-pixel loss needs logits (classes, H, W)");
    fv_model_free(m);
    m = tiny();
    CHECK(fv_model_compile(m, .loss = FV_LOSS_DICE, .class_weights = W) == FV_ERR_INVALID);
    CHECK_ERR_HAS("class weights apply to the sparse cross-entropy losses");
    const float neg[3] = {1, -1, 1};
    CHECK(fv_model_compile(m, .loss = FV_LOSS_PIXEL_CE, .class_weights = neg) == FV_ERR_INVALID);
    CHECK_ERR_HAS("class weight 1 is -1");
    fv_model_free(m);
    m = fv_model_new("one");
    fv_input(m, .ndim = 3, .dims = {1, 4, 5});
    fv_conv2d(m, FV_LAST, .filters = 1, .kernel = 1);
    CHECK(fv_model_compile(m, .loss = FV_LOSS_PIXEL_CE) == FV_ERR_SHAPE); /* 1 class */
    fv_model_free(m);
    m = fv_model_new("bce");
    fv_input(m, .ndim = 3, .dims = {1, 4, 5});
    fv_conv2d(m, FV_LAST, .filters = 1, .kernel = 1);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_PIXEL_BCE, .optimizer = fv_sgd()), FV_OK);
    int64_t td[4];
    CHECK(fv_node_shape(m, m->target_node, td) == 3 && td[0] == 1 && td[2] == 5);
    fv_model_free(m);
}

int main(void)
{
    RUN(segloss_match_pytorch);
    RUN(segloss_gradcheck);
    RUN(sequence_ce_gradcheck);
    RUN(segloss_all_ignored);
    RUN(segloss_through_compile);
    RUN(segloss_errors);
    TEST_MAIN_END();
}
