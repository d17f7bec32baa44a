/* test_gan.c - GANs on the custom loop (nn/gan.c): the three losses' values by hand, against
 * PyTorch (tests/golden/gen_gan_losses.py), and their score gradients against central
 * differences; the G step's gradient through D's input against central differences of a
 * double-precision copy of a tiny G and D; a G step leaves D's parameters bit-identical and a D
 * step G's; seeded DCGAN steps are bit-identical; a short DCGAN run on Fashion-MNIST moves D(x)
 * up and D(G(z)) down; models/dcgan_{g,d}28.fv are the builders' networks; misuse is an error. */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"
#include "gan_test.h"

#include <sys/stat.h>

/* ---------------------------------------------------------------- losses */

TEST(loss_values_by_hand)
{
    double l;
    float dr[2], df[2];
    /* ns at s = 0: each term ln 2; gradients (sigmoid - t) / n */
    CHECK_STATUS(fv_gan_loss_d(FV_GAN_NS, (float[]){0, 0}, (float[]){0, 0}, 2, &l, dr, df), FV_OK);
    CHECK_NEAR(l, 2 * log(2.0), 1e-12, 0);
    CHECK_NEAR(dr[0], -0.25, 1e-7, 0);
    CHECK_NEAR(df[1], 0.25, 1e-7, 0);
    CHECK_STATUS(fv_gan_loss_g(FV_GAN_NS, (float[]){0, 0}, 2, &l, df), FV_OK);
    CHECK_NEAR(l, log(2.0), 1e-12, 0);
    CHECK_NEAR(df[0], -0.25, 1e-7, 0);
    /* ns far out: stable (softplus(-40) ~ 4e-18, softplus(40) = 40) */
    CHECK_STATUS(fv_gan_loss_d(FV_GAN_NS, (float[]){40}, (float[]){40}, 1, &l, NULL, NULL), FV_OK);
    CHECK_NEAR(l, 40.0, 1e-9, 0);
    /* lsgan: real (2, 1), fake (1, 0): (0.5 + 0) / 2 + (0.5 + 0) / 2 = 0.5 */
    CHECK_STATUS(fv_gan_loss_d(FV_GAN_LSGAN, (float[]){2, 1}, (float[]){1, 0}, 2, &l, dr, df),
                 FV_OK);
    CHECK_NEAR(l, 0.5, 1e-12, 0);
    CHECK_NEAR(dr[0], 0.5, 1e-7, 0);
    CHECK_NEAR(df[0], 0.5, 1e-7, 0);
    CHECK_STATUS(fv_gan_loss_g(FV_GAN_LSGAN, (float[]){1, 3}, 2, &l, df), FV_OK);
    CHECK_NEAR(l, 1.0, 1e-12, 0); /* (0 + 2) / 2 */
    CHECK_NEAR(df[1], 1.0, 1e-7, 0);
    /* hinge: real (0.5, 2), fake (-0.5, -3): (0.5 + 0) / 2 + (0.5 + 0) / 2 = 0.5 */
    CHECK_STATUS(fv_gan_loss_d(FV_GAN_HINGE, (float[]){0.5f, 2}, (float[]){-0.5f, -3}, 2, &l, dr,
                               df), FV_OK);
    CHECK_NEAR(l, 0.5, 1e-12, 0);
    CHECK(dr[0] == -0.5f && dr[1] == 0.0f && df[0] == 0.5f && df[1] == 0.0f);
    CHECK_STATUS(fv_gan_loss_g(FV_GAN_HINGE, (float[]){0.5f, -1.5f}, 2, &l, df), FV_OK);
    CHECK_NEAR(l, 0.5, 1e-12, 0);
    CHECK(df[0] == -0.5f && df[1] == -0.5f);
    CHECK(fv_gan_loss_from_name("lsgan") == FV_GAN_LSGAN && fv_gan_loss_from_name("x") == -1);
}

/* Against PyTorch (tests/golden/gen_gan_losses.py): losses and gradients of 8 logits each. */
TEST(losses_match_pytorch)
{
    static const char *names[FV_GAN_LOSS__COUNT] = {"ns", "lsgan", "hinge"};
    for (int k = 0; k < FV_GAN_LOSS__COUNT; k++) {
        char rel[96];
        snprintf(rel, sizeof rel, "data/golden/gan_losses_%s.safetensors", names[k]);
        fv_st_file *f = fv_st_open(t_src_path(rel));
        static const char *keys[7] = {"real", "fake", "loss_d", "loss_g", "dreal", "dfake", "dg"};
        fv_tensor *t[7] = {0};
        int ok = f != NULL;
        for (int i = 0; i < 7 && ok; i++)
            ok = (t[i] = fv_st_get(f, keys[i])) != NULL;
        CHECK(ok);
        if (ok) {
            float dr[8], df[8], dg[8];
            double ld, lg;
            CHECK_STATUS(fv_gan_loss_d(k, t[0]->data, t[1]->data, 8, &ld, dr, df), FV_OK);
            CHECK_STATUS(fv_gan_loss_g(k, t[1]->data, 8, &lg, dg), FV_OK);
            CHECK_NEAR(ld, t[2]->data[0], 1e-6, 1e-6);
            CHECK_NEAR(lg, t[3]->data[0], 1e-6, 1e-6);
            CHECK_ARRAY_NEAR(dr, t[4]->data, 8, 1e-7, 1e-6);
            CHECK_ARRAY_NEAR(df, t[5]->data, 8, 1e-7, 1e-6);
            CHECK_ARRAY_NEAR(dg, t[6]->data, 8, 1e-7, 1e-6);
        }
        for (int i = 0; i < 7; i++)
            fv_tensor_free(t[i]);
        fv_st_close(f);
    }
}

/* Central differences of each loss in each score (away from the hinge's kinks). */
TEST(loss_gradients_match_finite_differences)
{
    enum { N = 5 };
    float r[N], f[N], dr[N], df[N], dg[N];
    t_gan_fill(r, N, 3), t_gan_fill(f, N, 4);
    for (int k = 0; k < FV_GAN_LOSS__COUNT; k++) {
        CHECK_STATUS(fv_gan_loss_d(k, r, f, N, NULL, dr, df), FV_OK);
        CHECK_STATUS(fv_gan_loss_g(k, f, N, NULL, dg), FV_OK);
        for (int i = 0; i < 2 * N; i++) {
            float *v = i < N ? r : f, keep = v[i % N];
            const float h = 1e-2f;
            double lp, lm, gp = 0, gm = 0;
            v[i % N] = keep + h;
            float up = v[i % N];
            fv_gan_loss_d(k, r, f, N, &lp, NULL, NULL);
            fv_gan_loss_g(k, f, N, &gp, NULL);
            v[i % N] = keep - h;
            float down = v[i % N];
            fv_gan_loss_d(k, r, f, N, &lm, NULL, NULL);
            fv_gan_loss_g(k, f, N, &gm, NULL);
            v[i % N] = keep;
            double step = (double)up - (double)down;
            CHECK_NEAR((lp - lm) / step, i < N ? dr[i] : df[i - N], 1e-5, 1e-3);
            if (i >= N)
                CHECK_NEAR((gp - gm) / step, dg[i - N], 1e-5, 1e-3);
        }
    }
}

/* ---------------------------------------------------------------- through G into D */

/* G: z (2) -> dense 3, tanh; D: x (3) -> dense 2, tanh -> dense 1. SGD: G lr 1, D lr 0.1. */
static fv_model *tiny_g(void)
{
    fv_model *m = fv_model_new("tiny_g");
    int x = fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, x, .units = 3, .activation = FV_ACT_TANH, .name = "g1");
    CHECK_STATUS(fv_model_compile(m, .optimizer = fv_sgd(.lr = 1.0f), .seed = 11), FV_OK);
    return m;
}

static fv_model *tiny_d(void)
{
    fv_model *m = fv_model_new("tiny_d");
    int x = fv_input(m, .ndim = 1, .dims = {3});
    x = fv_dense(m, x, .units = 2, .activation = FV_ACT_TANH, .name = "d1");
    fv_dense(m, x, .units = 1, .name = "d2");
    CHECK_STATUS(fv_model_compile(m, .optimizer = fv_sgd(.lr = 0.1f), .seed = 12), FV_OK);
    return m;
}

/* The double copy: G's weight (3x2) and bias (3) in gp, D's d1 (2x3, 2) and d2 (1x2, 1) in dp;
 * the G loss over NB noise vectors. */
#define NB 3
static double g_loss_double(int kind, const double *gp, const double *dp, const float *z)
{
    double sd[NB];
    for (int b = 0; b < NB; b++) {
        double x[3], h[2];
        for (int u = 0; u < 3; u++)
            x[u] = tanh(gp[6 + u] + gp[u * 2] * z[b * 2] + gp[u * 2 + 1] * z[b * 2 + 1]);
        for (int u = 0; u < 2; u++)
            h[u] = tanh(dp[6 + u] + dp[u * 3] * x[0] + dp[u * 3 + 1] * x[1] + dp[u * 3 + 2] * x[2]);
        sd[b] = dp[10] + dp[8] * h[0] + dp[9] * h[1];
    }
    double l = 0; /* the G loss in double (the library's reads float scores) */
    for (int b = 0; b < NB; b++) {
        double v = sd[b];
        l += kind == FV_GAN_NS ? (v > 0 ? log1p(exp(-v)) : -v + log1p(exp(v)))
             : kind == FV_GAN_LSGAN ? 0.5 * (v - 1) * (v - 1) : -v;
    }
    return l / NB;
}

/* The G loss with D and the noise fixed, for t_gan_check_step. */
typedef struct g_ctx {
    int kind;
    const double *dp;
    const float *z;
} g_ctx;

static double g_loss_at(const double *gp, const void *ctx)
{
    const g_ctx *c = ctx;
    return g_loss_double(c->kind, gp, c->dp, c->z);
}

/* One whole GAN step with G on SGD lr 1: G's parameter change is minus its gradient, taken
 * through D (as D is after its own step: D does not move in the G step) into G's output. */
static void check_g_gradient(fv_gan_loss kind)
{
    fv_model *g = tiny_g(), *d = tiny_d();
    CHECK(g->trainable_total == 9 && d->trainable_total == 11);
    float z[NB * 2], real[NB * 3];
    t_gan_fill(z, NB * 2, 21), t_gan_fill(real, NB * 3, 22);
    double before[9], after[9], dp[11];
    t_gan_params(g, before);
    fv_gan_stats st;
    CHECK_STATUS(fv_gan_step(g, d, kind, real, z, NB, &st), FV_OK);
    t_gan_params(g, after);
    t_gan_params(d, dp);
    CHECK_NEAR(st.loss_g, g_loss_double(kind, before, dp, z), 1e-6, 1e-5);
    t_gan_check_step(before, after, 9, g_loss_at, &(g_ctx){kind, dp, z});
    fv_model_free(g), fv_model_free(d);
}

TEST(g_gradient_through_d_matches_finite_differences)
{
    check_g_gradient(FV_GAN_NS);
    check_g_gradient(FV_GAN_LSGAN);
    check_g_gradient(FV_GAN_HINGE);
}

/* ---------------------------------------------------------------- who moves */

static float *snapshot(const fv_model *m)
{
    float *p = malloc(sizeof(float) * (size_t)m->trainable_total);
    memcpy(p, m->data_slab, sizeof(float) * (size_t)m->trainable_total);
    return p;
}

static int same(const fv_model *m, const float *p)
{
    return memcmp(p, m->data_slab, sizeof(float) * (size_t)m->trainable_total) == 0;
}

/* On the DCGAN pair in training mode (batch norm in both): the G step moves G only, the D step
 * D only; a whole step both. */
TEST(g_step_leaves_d_and_d_step_leaves_g)
{
    fv_model *g = fv_dcgan_generator(16, 1), *d = fv_dcgan_discriminator(2);
    CHECK(g && d);
    if (!g || !d)
        return;
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    enum { B = 4 };
    float *z = malloc(sizeof(float) * B * 16), *real = malloc(sizeof(float) * B * 784);
    t_gan_fill(z, B * 16, 5), t_gan_fill(real, B * 784, 6);
    float *g0 = snapshot(g), *d0 = snapshot(d);
    fv_gan_stats st;
    CHECK_STATUS(fv_gan_step_g(g, d, FV_GAN_NS, z, B, &st), FV_OK);
    CHECK(same(d, d0));
    CHECK(!same(g, g0));
    CHECK(st.loss_g > 0 && st.loss_d == 0);
    free(g0), g0 = snapshot(g);
    CHECK_STATUS(fv_gan_step_d(g, d, FV_GAN_NS, real, z, B, &st), FV_OK);
    CHECK(same(g, g0));
    CHECK(!same(d, d0));
    CHECK(st.loss_d > 0 && st.loss_g == 0);
    free(d0), d0 = snapshot(d);
    CHECK_STATUS(fv_gan_step(g, d, FV_GAN_HINGE, real, z, B, &st), FV_OK);
    CHECK(!same(g, g0) && !same(d, d0));
    for (int64_t i = 0; i < d->trainable_total; i++) /* D's G-step gradients were dropped */
        CHECK(d->grad_slab[i] == 0.0f);
    free(g0), free(d0), free(z), free(real);
    fv_model_free(g), fv_model_free(d);
}

/* ---------------------------------------------------------------- seeded runs */

static void seeded_run(float **gw, float **dw, int64_t *ng, int64_t *nd)
{
    fv_model *g = fv_dcgan_generator(8, 7), *d = fv_dcgan_discriminator(8);
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    enum { B = 3 };
    float z[B * 8], real[B * 784];
    for (int s = 0; s < 3; s++) {
        t_gan_fill(z, B * 8, 30u + (unsigned)s), t_gan_fill(real, B * 784, 40u + (unsigned)s);
        CHECK_STATUS(fv_gan_step(g, d, FV_GAN_LSGAN, real, z, B, NULL), FV_OK);
    }
    *ng = g->param_total, *nd = d->param_total;
    *gw = malloc(sizeof(float) * (size_t)*ng), *dw = malloc(sizeof(float) * (size_t)*nd);
    memcpy(*gw, g->data_slab, sizeof(float) * (size_t)*ng);
    memcpy(*dw, d->data_slab, sizeof(float) * (size_t)*nd);
    fv_model_free(g), fv_model_free(d);
}

TEST(seeded_runs_are_bit_identical)
{
    float *ga, *da, *gb, *db;
    int64_t nga, nda, ngb, ndb;
    seeded_run(&ga, &da, &nga, &nda);
    seeded_run(&gb, &db, &ngb, &ndb);
    CHECK(nga == ngb && nda == ndb);
    CHECK(memcmp(ga, gb, sizeof(float) * (size_t)nga) == 0);
    CHECK(memcmp(da, db, sizeof(float) * (size_t)nda) == 0);
    free(ga), free(da), free(gb), free(db);
}

/* ---------------------------------------------------------------- a short run */

/* 30 steps of 32 on 320 Fashion-MNIST images: D learns to tell them apart first, so the mean
 * D(x) of the last steps is above that of the first step and D(G(z)) below it. */
TEST(short_dcgan_run_separates_real_and_fake)
{
    struct stat sb;
    if (stat(fv_default_data_dir(), &sb) != 0) {
        printf("skipped: Fashion-MNIST is not installed\n");
        return;
    }
    fv_dataset *ds = fv_dataset_load_dir_n(fv_default_data_dir(), 1, 320);
    CHECK(ds != NULL);
    if (!ds)
        return;
    enum { B = 32, L = 32, STEPS = 30 };
    float *x = ds->x->data;
    for (int64_t i = 0; i < 320 * 784; i++)
        x[i] = x[i] * 2 - 1;
    fv_model *g = fv_dcgan_generator(L, 3), *d = fv_dcgan_discriminator(4);
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    fv_rng rng;
    fv_rng_seed(&rng, 9);
    float z[B * L];
    double first_real = 0, first_fake = 0, last_real = 0, last_fake = 0;
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < B * L; i++)
            z[i] = (float)fv_rng_normal(&rng);
        fv_gan_stats st;
        CHECK_STATUS(fv_gan_step(g, d, FV_GAN_NS, x + (size_t)(s % 10) * B * 784, z, B, &st),
                     FV_OK);
        if (s == 0)
            first_real = st.d_real, first_fake = st.d_fake;
        if (s >= STEPS - 5)
            last_real += st.d_real / 5, last_fake += st.d_fake / 5;
    }
    printf("D(x) %.3f -> %.3f, D(G(z)) %.3f -> %.3f\n", first_real, last_real, first_fake,
           last_fake);
    CHECK(last_real > first_real);
    CHECK(last_fake < first_fake);
    CHECK(last_real > last_fake);
    fv_model_free(g), fv_model_free(d);
    fv_dataset_free(ds);
}

/* ---------------------------------------------------------------- model files */

/* models/dcgan_{g,d}28.fv are the builders' networks: the same parameters from the same seed. */
static void same_as_file(fv_model *built, const char *file)
{
    fv_model *m = fv_model_load_file(t_join(FV_SOURCE_DIR "/models", file));
    CHECK(m != NULL && built != NULL);
    if (!m || !built) {
        fv_model_free(m), fv_model_free(built);
        return;
    }
    CHECK_STATUS(fv_model_compile(m, .optimizer = fv_adam(.lr = 2e-4f, .beta1 = 0.5f),
                                  .seed = 5), FV_OK);
    CHECK(m->param_total == built->param_total && m->nnodes == built->nnodes);
    if (m->param_total == built->param_total)
        CHECK(memcmp(m->data_slab, built->data_slab,
                     sizeof(float) * (size_t)m->param_total) == 0);
    fv_model_free(m), fv_model_free(built);
}

TEST(model_files_are_the_builders_networks)
{
    same_as_file(fv_dcgan_generator(100, 5), "dcgan_g28.fv");
    same_as_file(fv_dcgan_discriminator(5), "dcgan_d28.fv");
}

/* ---------------------------------------------------------------- misuse */

TEST(misuse_is_an_error)
{
    fv_model *g = tiny_g(), *d = tiny_d(), *g2 = fv_dcgan_generator(4, 1);
    float z[4] = {0}, real[6] = {0};
    CHECK_STATUS(fv_gan_step(g, g2, FV_GAN_NS, real, z, 2, NULL), FV_ERR_SHAPE);
    CHECK_ERR_HAS("gives 3 values a sample");
    CHECK_STATUS(fv_gan_step(g, g, FV_GAN_NS, real, z, 2, NULL), FV_ERR_INVALID);
    CHECK_STATUS(fv_gan_step(g, d, (fv_gan_loss)7, real, z, 2, NULL), FV_ERR_INVALID);
    CHECK_STATUS(fv_gan_step(g, d, FV_GAN_NS, NULL, z, 2, NULL), FV_ERR_INVALID);
    CHECK_STATUS(fv_gan_step(g, d, FV_GAN_NS, real, z, 0, NULL), FV_ERR_INVALID);
    CHECK_STATUS(fv_gan_loss_g(FV_GAN_NS, (float[]){NAN}, 1, NULL, NULL), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("score 0 is not finite");
    CHECK(fv_dcgan_generator(0, 1) == NULL);
    CHECK_ERR_HAS("latent size 0");
    fv_model *raw = fv_model_new("raw");
    fv_input(raw, .ndim = 1, .dims = {3});
    CHECK_STATUS(fv_gan_step(g, raw, FV_GAN_NS, real, z, 2, NULL), FV_ERR_STATE);
    fv_model_free(raw), fv_model_free(g), fv_model_free(d), fv_model_free(g2);
}

int main(void)
{
    RUN(loss_values_by_hand);
    RUN(losses_match_pytorch);
    RUN(loss_gradients_match_finite_differences);
    RUN(g_gradient_through_d_matches_finite_differences);
    RUN(g_step_leaves_d_and_d_step_leaves_g);
    RUN(seeded_runs_are_bit_identical);
    RUN(short_dcgan_run_separates_real_and_fake);
    RUN(model_files_are_the_builders_networks);
    RUN(misuse_is_an_error);
    TEST_MAIN_END();
}
