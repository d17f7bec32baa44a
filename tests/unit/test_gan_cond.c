/* test_gan_cond.c - class-conditional GANs and GAN resume (nn/gan.c, nn/gan_ckpt.c): the
 * conditional step's G gradient (through D's image input, the label planes' part dropped) against
 * central differences of a double-precision copy of a tiny G and D; a conditional G step leaves
 * D's parameters bit-identical; the label inputs are what the step and fv_gan_generate feed;
 * two epochs equal one epoch, a checkpoint, fresh models loading it and one more epoch, bit for
 * bit (unconditional and conditional DCGAN); checkpoint misuse and mismatches are one-line
 * errors. */
#include "core/internal.h"
#include "test.h"
#include "testfs.h"
#include "gan_test.h"

#include <sys/stat.h>

/* ---------------------------------------------------------------- the conditional gradient */

/* G: (z (2), one-hot (2)) -> dense 3, tanh; an "image" of 3 values as (1, 1, 3). D: (1 + 2
 * planes) x 1 x 3 -> flatten -> dense 2, tanh -> dense 1. SGD: G lr 1, D lr 0.1. */
static fv_model *tiny_g(void)
{
    fv_model *m = fv_model_new("tiny_cg");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    x = fv_dense(m, x, .units = 3, .activation = FV_ACT_TANH, .name = "g1");
    fv_reshape(m, x, .ndim = 3, .dims = {1, 1, 3});
    CHECK_STATUS(fv_model_compile(m, .optimizer = fv_sgd(.lr = 1.0f), .seed = 11), FV_OK);
    return m;
}

static fv_model *tiny_d(void)
{
    fv_model *m = fv_model_new("tiny_cd");
    int x = fv_input(m, .ndim = 3, .dims = {3, 1, 3});
    x = fv_dense(m, fv_flatten(m, x), .units = 2, .activation = FV_ACT_TANH, .name = "d1");
    fv_dense(m, x, .units = 1, .name = "d2");
    CHECK_STATUS(fv_model_compile(m, .optimizer = fv_sgd(.lr = 0.1f), .seed = 12), FV_OK);
    return m;
}

#define NB 4
/* The G loss in double: gp = G's weight (3x4) and bias (3); dp = D's d1 (2x9, 2), d2 (1x2, 1). */
static double g_loss_double(const double *gp, const double *dp, const float *z, const int *lab)
{
    double l = 0;
    for (int b = 0; b < NB; b++) {
        double in[4] = {z[b * 2], z[b * 2 + 1], lab[b] == 0, lab[b] == 1}, x[9] = {0}, h[2];
        for (int u = 0; u < 3; u++) {
            double a = gp[12 + u];
            for (int j = 0; j < 4; j++)
                a += gp[u * 4 + j] * in[j];
            x[u] = tanh(a);
        }
        for (int j = 0; j < 3; j++) /* the label planes */
            x[3 + lab[b] * 3 + j] = 1;
        for (int u = 0; u < 2; u++) {
            double a = dp[18 + u];
            for (int j = 0; j < 9; j++)
                a += dp[u * 9 + j] * x[j];
            h[u] = tanh(a);
        }
        double s = dp[22] + dp[20] * h[0] + dp[21] * h[1];
        l += s > 0 ? log1p(exp(-s)) : -s + log1p(exp(s)); /* non-saturating */
    }
    return l / NB;
}

/* The G loss with D, the noise and the labels fixed, for t_gan_check_step. */
typedef struct g_ctx {
    const double *dp;
    const float *z;
    const int *lab;
} g_ctx;

static double g_loss_at(const double *gp, const void *ctx)
{
    const g_ctx *c = ctx;
    return g_loss_double(gp, c->dp, c->z, c->lab);
}

TEST(conditional_g_gradient_matches_finite_differences)
{
    fv_model *g = tiny_g(), *d = tiny_d();
    CHECK(g->trainable_total == 15 && d->trainable_total == 23);
    float z[NB * 2], real[NB * 3];
    int lab[NB] = {0, 1, 1, 0};
    t_gan_fill(z, NB * 2, 21), t_gan_fill(real, NB * 3, 22);
    double before[15], after[15], dp[23];
    t_gan_params(g, before);
    fv_gan_stats st;
    CHECK_STATUS(fv_gan_step_cond(g, d, FV_GAN_NS, real, lab, 2, z, NB, &st), FV_OK);
    t_gan_params(g, after), t_gan_params(d, dp);
    CHECK_NEAR(st.loss_g, g_loss_double(before, dp, z, lab), 1e-6, 1e-5);
    t_gan_check_step(before, after, 15, g_loss_at, &(g_ctx){dp, z, lab});
    fv_model_free(g), fv_model_free(d);
}

/* fv_gan_generate feeds z and the one-hot label: G's first layer on a label alone. */
TEST(generate_feeds_the_one_hot_label)
{
    fv_model *g = tiny_g();
    float z[4] = {0, 0, 0, 0}, out[6];
    CHECK_STATUS(fv_gan_generate(g, z, (int[]){0, 1}, 2, 2, out), FV_OK);
    const float *w = g->data_slab, *b = w + 12;
    for (int u = 0; u < 3; u++) {
        CHECK_NEAR(out[u], tanh((double)w[u * 4 + 2] + b[u]), 1e-6, 1e-5);
        CHECK_NEAR(out[3 + u], tanh((double)w[u * 4 + 3] + b[u]), 1e-6, 1e-5);
    }
    CHECK_STATUS(fv_gan_generate(g, z, (int[]){0, 2}, 2, 2, out), FV_ERR_INVALID);
    CHECK_ERR_HAS("label 2 of sample 1 is not a class");
    CHECK_STATUS(fv_gan_generate(g, z, NULL, 4, 1, out), FV_ERR_SHAPE);
    fv_model_free(g);
}

static float *snapshot(const fv_model *m)
{
    float *p = malloc(sizeof(float) * (size_t)m->param_total);
    memcpy(p, m->data_slab, sizeof(float) * (size_t)m->param_total);
    return p;
}

/* The conditional DCGAN: shapes, a step moves G and D but D's G-step gradients are dropped;
 * misuse of the labels is an error naming them. */
TEST(conditional_dcgan_steps)
{
    fv_model *g = fv_cdcgan_generator(8, 10, 1), *d = fv_cdcgan_discriminator(10, 2);
    CHECK(g && d);
    if (!g || !d)
        return;
    CHECK(g->nodes[g->input_node].size == 18 && d->nodes[d->input_node].size == 11 * 784);
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    enum { B = 3 };
    float z[B * 8], real[B * 784];
    int lab[B] = {9, 0, 4};
    t_gan_fill(z, B * 8, 5), t_gan_fill(real, B * 784, 6);
    float *g0 = snapshot(g), *d0 = snapshot(d);
    CHECK_STATUS(fv_gan_step_cond(g, d, FV_GAN_HINGE, real, lab, 10, z, B, NULL), FV_OK);
    CHECK(memcmp(g0, g->data_slab, sizeof(float) * (size_t)g->trainable_total) != 0);
    CHECK(memcmp(d0, d->data_slab, sizeof(float) * (size_t)d->trainable_total) != 0);
    for (int64_t i = 0; i < d->trainable_total; i++)
        CHECK(d->grad_slab[i] == 0.0f);
    lab[1] = 10;
    CHECK_STATUS(fv_gan_step_cond(g, d, FV_GAN_NS, real, lab, 10, z, B, NULL), FV_ERR_INVALID);
    CHECK_ERR_HAS("label 10 of sample 1");
    CHECK_STATUS(fv_gan_step_cond(g, d, FV_GAN_NS, real, NULL, 10, z, B, NULL), FV_ERR_INVALID);
    fv_model *plain = fv_dcgan_discriminator(3);
    CHECK_STATUS(fv_gan_step_cond(g, plain, FV_GAN_NS, real, lab, 10, z, B, NULL), FV_ERR_SHAPE);
    CHECK(fv_cdcgan_generator(8, -1, 1) == NULL);
    CHECK_ERR_HAS("-1 classes");
    free(g0), free(d0);
    fv_model_free(g), fv_model_free(d), fv_model_free(plain);
}

/* ---------------------------------------------------------------- resume */

enum { STEPS = 2, B = 3, L = 8 };

/* Epochs [from, to) of STEPS seeded steps each, real batches and noise from rng. */
static void epochs(fv_model *g, fv_model *d, int classes, fv_rng *rng, int from, int to,
                   fv_gan_epoch *h)
{
    float z[B * L], real[B * 784];
    int lab[B];
    for (int e = from; e < to; e++) {
        h[e] = (fv_gan_epoch){0};
        for (int s = 0; s < STEPS; s++) {
            for (int i = 0; i < B * 784; i++)
                real[i] = (float)fv_rng_uniform(rng) * 2 - 1;
            for (int i = 0; i < B * L; i++)
                z[i] = (float)fv_rng_normal(rng);
            for (int i = 0; i < B; i++)
                lab[i] = (int)(fv_rng_next(rng) % 10);
            fv_gan_stats st;
            CHECK_STATUS(fv_gan_step_cond(g, d, FV_GAN_NS, real, classes ? lab : NULL, classes,
                                          z, B, &st), FV_OK);
            h[e].loss_d += st.loss_d, h[e].loss_g += st.loss_g;
            h[e].d_real += st.d_real, h[e].d_fake += st.d_fake;
        }
        h[e].seconds = 0.25 * (e + 1);
    }
}

static void pair(int classes, fv_model **g, fv_model **d)
{
    *g = classes ? fv_cdcgan_generator(L, classes, 7) : fv_dcgan_generator(L, 7);
    *d = classes ? fv_cdcgan_discriminator(classes, 8) : fv_dcgan_discriminator(8);
    fv_model_set_training(*g, 1), fv_model_set_training(*d, 1);
}

static int same_params(const fv_model *a, const fv_model *b)
{
    return a->param_total == b->param_total &&
           memcmp(a->data_slab, b->data_slab, sizeof(float) * (size_t)a->param_total) == 0;
}

static void check_resume(int classes, const char *sub)
{
    fv_model *g1, *d1, *g2, *d2;
    fv_gan_epoch h1[2], h2[2] = {{0}};
    fv_rng r1, r2;
    pair(classes, &g1, &d1);
    fv_rng_seed(&r1, 42);
    epochs(g1, d1, classes, &r1, 0, 2, h1);

    pair(classes, &g2, &d2); /* one epoch, a checkpoint, the models and stream dropped */
    fv_rng_seed(&r2, 42);
    epochs(g2, d2, classes, &r2, 0, 1, h2);
    const char *dir = t_join(t_dir, sub);
    mkdir(dir, 0700);
    CHECK_STATUS(fv_gan_checkpoint_save(g2, d2, dir, 1, &r2, h2), FV_OK);
    fv_model_free(g2), fv_model_free(d2);
    memset(&r2, 0, sizeof r2), memset(h2, 0, sizeof h2);

    pair(classes, &g2, &d2);
    int done = -1;
    CHECK_STATUS(fv_gan_checkpoint_load(g2, d2, dir, 2, &done, &r2, h2), FV_OK);
    CHECK(done == 1);
    CHECK(h2[0].loss_d == h1[0].loss_d && h2[0].d_fake == h1[0].d_fake &&
          h2[0].seconds == 0.25);
    epochs(g2, d2, classes, &r2, 1, 2, h2);
    CHECK(same_params(g1, g2));
    CHECK(same_params(d1, d2));
    CHECK(h2[1].loss_g == h1[1].loss_g);
    fv_model_free(g1), fv_model_free(d1), fv_model_free(g2), fv_model_free(d2);
}

TEST(two_epochs_equal_one_plus_resume_plus_one)
{
    check_resume(0, "plain");
    check_resume(10, "cond");
}

TEST(checkpoint_mismatch_is_an_error)
{
    fv_model *g, *d, *cg, *cd;
    pair(0, &g, &d), pair(10, &cg, &cd);
    fv_rng r;
    fv_rng_seed(&r, 1);
    fv_gan_epoch h[3] = {{0}};
    int done;
    const char *dir = t_join(t_dir, "mismatch");
    mkdir(dir, 0700);
    CHECK_STATUS(fv_gan_checkpoint_load(g, d, dir, 3, &done, &r, h), FV_ERR_IO);
    CHECK_STATUS(fv_gan_checkpoint_save(g, d, dir, 3, &r, h), FV_OK);
    CHECK_STATUS(fv_gan_checkpoint_load(g, d, dir, 2, &done, &r, h), FV_ERR_FORMAT);
    CHECK_ERR_HAS("after epoch 3, but this run has 2 epochs");
    CHECK(fv_gan_checkpoint_load(cg, cd, dir, 3, &done, &r, h) != FV_OK);
    /* D's file from another epoch than G's: a run stopped between the two writes */
    fv_model *g2, *d2;
    pair(0, &g2, &d2);
    char pd[1100], keep[1100];
    snprintf(pd, sizeof pd, "%s/D.ckpt.safetensors", dir);
    snprintf(keep, sizeof keep, "%s/D.keep", dir);
    CHECK(rename(pd, keep) == 0);
    CHECK_STATUS(fv_gan_checkpoint_save(g, d, dir, 2, &r, h), FV_OK);
    CHECK(rename(keep, pd) == 0);
    CHECK_STATUS(fv_gan_checkpoint_load(g2, d2, dir, 3, &done, &r, h), FV_ERR_FORMAT);
    CHECK_ERR_HAS("G's checkpoint is after epoch 2, D's after 3");
    CHECK_STATUS(fv_gan_checkpoint_save(g, d, NULL, 1, &r, h), FV_ERR_INVALID);
    fv_model_free(g), fv_model_free(d), fv_model_free(cg), fv_model_free(cd);
    fv_model_free(g2), fv_model_free(d2);
}

T_MAIN_SCRATCH("/tmp/fovea_gancond_XXXXXX", T_TEST(conditional_g_gradient_matches_finite_differences),
               T_TEST(generate_feeds_the_one_hot_label), T_TEST(conditional_dcgan_steps),
               T_TEST(two_epochs_equal_one_plus_resume_plus_one),
               T_TEST(checkpoint_mismatch_is_an_error))
