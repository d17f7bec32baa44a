/* test_fast_eltwise.c - the vectorized element-wise kernels (kernels/eltwise.c) against the
 * scalar references, at every instruction-set level this CPU has, on lengths around the vector
 * widths: ReLU, ReLU6, leaky ReLU and clip forward and backward bit-identical to
 * kernels/ref/act_ref.inc, in place too, NaN, infinities and the kinks included; dropout's
 * scaling, and its mask (the splitmix64 stream of a key drawn from the RNG, compared in integers
 * as the uniforms in double; the same bits on every path and however the range is split); sums
 * in double (the same bits on every path, within rounding of a sequential sum);
 * batch norm bit-identical in evaluation and within a few float ulps in training (1e-6 + 1e-6
 * relative; the same bits on every path); Adam and SGD bit-identical to the scalar updates; and
 * a network of these ops training to the same bits on 1 and 2 threads. */
#include "core/internal.h"
#include "isa_levels.h"
#include "kernels/eltwise.h"
#include "kernels/ref/act_ref.h"
#include "kernels/ref/bn_ref.h"
#include "ops/ops.h"
#include "test.h"

#include <math.h>

/* Each instruction-set level this CPU has (isa_levels.h); the level in force is restored after. */
#define FOR_EACH_ISA(v) \
    for (int v = t_isa_first(FV_KF_ELTWISE); v >= 0; v = t_isa_next(FV_KF_ELTWISE, v))

/* Lengths: empty, every one up to 40 (all tails of 4-, 8- and 16-wide vectors), a few longer. */
static const int64_t lens[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
                               15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
                               30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 63, 1000, 1027};
#define NLEN (sizeof lens / sizeof lens[0])
enum { MAXLEN = 1027 };

static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static float uniform(unsigned *seed, float lo, float hi)
{
    return lo + (hi - lo) * (float)(next(seed) & 0xFFFF) / 65536.0f;
}

/* Values on every kink (0, +-3, 6), signed zeros, infinities, NaN, and spread values. */
static void fill_special(float *v, int64_t n, unsigned *seed)
{
    static const float kinks[] = {0.0f, -0.0f, 3.0f, -3.0f, 6.0f, -6.0f, 1e-30f, -1e-30f};
    for (int64_t i = 0; i < n; i++) {
        unsigned r = next(seed) % 100;
        if (r < 16)
            v[i] = kinks[r % 8];
        else if (r < 18)
            v[i] = r & 1 ? INFINITY : -INFINITY;
        else if (r < 20)
            v[i] = NAN;
        else
            v[i] = uniform(seed, -8, 8);
    }
}

static int same_bits(const float *a, const float *b, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof(float)) != 0) {
            fprintf(stderr, "  [%s] %s n=%ld: differs at %ld: %.9g vs %.9g\n",
                    t_isa_name(), what, (long)n, (long)i, (double)a[i], (double)b[i]);
            return 0;
        }
    return 1;
}

/* ---------------------------------------------------------------- activations */

static float xs[MAXLEN], dys[MAXLEN], dx0[MAXLEN], want[MAXLEN], got[MAXLEN];

TEST(relu_matches_reference)
{
    unsigned seed = 1;
    fill_special(xs, MAXLEN, &seed), fill_special(dys, MAXLEN, &seed);
    fill_special(dx0, MAXLEN, &seed);
    FOR_EACH_ISA(v)
    {
        for (size_t l = 0; l < NLEN; l++) {
            int64_t n = lens[l];
            fv_ref_relu_fwd_f32(xs, want, n);
            fv_relu_fwd_f32(xs, got, n);
            CHECK(same_bits(got, want, n, "relu fwd"));
            memcpy(got, xs, sizeof xs); /* in place */
            fv_relu_fwd_f32(got, got, n);
            CHECK(same_bits(got, want, n, "relu fwd in place"));
            memcpy(want, dx0, sizeof dx0), memcpy(got, dx0, sizeof dx0);
            fv_ref_relu_bwd_f32(xs, dys, want, n);
            fv_relu_bwd_f32(xs, dys, got, n);
            CHECK(same_bits(got, want, MAXLEN, "relu bwd"));
        }
    }
}

TEST(piecewise_activations_match_reference)
{
    static const struct {
        int act;
        float alpha, beta;
    } k[] = {
        {FV_ACT_RELU6, 0, 0},         {FV_ACT_LEAKY_RELU, 0.01f, 0}, {FV_ACT_LEAKY_RELU, 0.3f, 0},
        {FV_ACT_LEAKY_RELU, 1.7f, 0}, {FV_ACT_CLIP, -1.5f, 2},       {FV_ACT_CLIP, 0, 6},
        {FV_ACT_CLIP, 1, -1},         {FV_ACT_CLIP, -0.0f, 0},
    };
    unsigned seed = 2;
    fill_special(xs, MAXLEN, &seed), fill_special(dys, MAXLEN, &seed);
    fill_special(dx0, MAXLEN, &seed);
    float ys[MAXLEN];
    FOR_EACH_ISA(v)
    {
        for (size_t a = 0; a < sizeof k / sizeof k[0]; a++)
            for (size_t l = 0; l < NLEN; l++) {
                int64_t n = lens[l];
                float al = k[a].alpha, be = k[a].beta;
                fv_ref_eltwise_fwd_f32(k[a].act, al, be, xs, want, n);
                CHECK(fv_eltwise_fwd_f32(k[a].act, al, be, xs, got, n) == 1);
                CHECK(same_bits(got, want, n, "eltwise fwd"));
                memcpy(ys, want, sizeof ys);
                memcpy(want, dx0, sizeof dx0), memcpy(got, dx0, sizeof dx0);
                fv_ref_eltwise_bwd_f32(k[a].act, al, be, xs, ys, dys, want, n);
                CHECK(fv_eltwise_bwd_f32(k[a].act, al, be, xs, dys, got, n) == 1);
                CHECK(same_bits(got, want, MAXLEN, "eltwise bwd"));
            }
    }
    /* the kinds it does not cover: nothing done, nothing touched */
    got[0] = 7;
    CHECK(fv_eltwise_fwd_f32(FV_ACT_GELU, 0, 0, xs, got, 1) == 0 && got[0] == 7);
    CHECK(fv_eltwise_bwd_f32(FV_ACT_ELU, 1, 0, xs, dys, got, 1) == 0 && got[0] == 7);
    CHECK(fv_eltwise_fwd_f32(FV_ACT_HARD_SWISH, 0, 0, xs, got, 1) == 0 && got[0] == 7);
    CHECK(fv_eltwise_fwd_f32(FV_ACT_HARD_SIGMOID, 0.2f, 0.5f, xs, got, 1) == 0 && got[0] == 7);
}

/* ---------------------------------------------------------------- dropout */

TEST(dropout_scaling_and_mask)
{
    unsigned seed = 3;
    float s[MAXLEN];
    fill_special(xs, MAXLEN, &seed), fill_special(dx0, MAXLEN, &seed);
    for (int i = 0; i < MAXLEN; i++)
        s[i] = i % 3 ? 2.0f : 0.0f;
    FOR_EACH_ISA(v)
    {
        for (size_t l = 0; l < NLEN; l++) {
            int64_t n = lens[l];
            for (int64_t i = 0; i < n; i++)
                want[i] = xs[i] * s[i];
            fv_mul_f32(xs, s, got, n);
            CHECK(same_bits(got, want, n, "mul"));
            memcpy(want, dx0, sizeof dx0), memcpy(got, dx0, sizeof dx0);
            for (int64_t i = 0; i < n; i++)
                want[i] += xs[i] * s[i];
            fv_mul_acc_f32(xs, s, got, n);
            CHECK(same_bits(got, want, MAXLEN, "mul_acc"));
        }
    }
    /* mask i: value i of the splitmix64 stream from the key drawn from the RNG, as a uniform in
     * [0, 1) compared with the rate in double (the kernel compares in integers); every
     * instruction set and any split of the range give the same bits */
    static const float rates[] = {0.5f, 0.25f, 0.1f, 0.999f, 1e-9f, 0.3f};
    for (size_t k = 0; k < sizeof rates / sizeof rates[0]; k++) {
        fv_rng a, b;
        fv_rng_seed(&a, 7 + k), fv_rng_seed(&b, 7 + k);
        float keep = 1.0f / (1.0f - rates[k]);
        uint64_t state = fv_rng_next(&b);
        for (int i = 0; i < MAXLEN; i++) {
            uint64_t z = (state += 0x9E3779B97F4A7C15ull);
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
            z ^= z >> 31;
            want[i] = (double)(z >> 11) * 0x1.0p-53 < (double)rates[k] ? 0.0f : keep;
        }
        fv_dropout_mask(&a, rates[k], got, MAXLEN);
        CHECK(same_bits(got, want, MAXLEN, "dropout mask"));
        fv_rng_seed(&a, 7 + k);
        uint64_t key = fv_rng_next(&a), limit = (uint64_t)ceil((double)rates[k] * 0x1.0p53);
        FOR_EACH_ISA(v)
        {
            for (int64_t cut = 0; cut <= MAXLEN; cut += 37) {
                memset(got, 0, sizeof(float) * MAXLEN);
                fv_dropout_mask_f32(key, limit, keep, 0, got, cut);
                fv_dropout_mask_f32(key, limit, keep, cut, got + cut, MAXLEN - cut);
                CHECK(same_bits(got, want, MAXLEN, "dropout mask split"));
            }
        }
    }
}

/* ---------------------------------------------------------------- sums */

/* fv_sum_f64: the same bits on every path, within double rounding of a sequential sum. */
TEST(double_sums)
{
    unsigned seed = 5;
    fill_special(xs, MAXLEN, &seed);
    for (int i = 0; i < MAXLEN; i++) /* finite values of mixed magnitude */
        xs[i] = isfinite(xs[i]) ? xs[i] : (float)(i % 9) - 4.0f;
    for (size_t l = 0; l < NLEN; l++) {
        int64_t n = lens[l];
        double seq = 0, mag = 0, first = 0;
        for (int64_t i = 0; i < n; i++)
            seq += (double)xs[i], mag += fabs((double)xs[i]);
        int ok = 1, v0 = 1;
        FOR_EACH_ISA(v)
        {
            double got_sum = fv_sum_f64(xs, n);
            ok &= fabs(got_sum - seq) <= 1e-13 * mag;
            ok &= v0 || memcmp(&got_sum, &first, sizeof first) == 0;
            first = v0 ? got_sum : first, v0 = 0;
        }
        CHECK(ok);
    }
}

/* ---------------------------------------------------------------- batch norm */

typedef struct bn_case {
    int n, c;
    int64_t s;
} bn_case;

static const bn_case bn_cases[] = {{1, 1, 1},  {3, 5, 1},  {1, 2, 49}, {2, 3, 17},
                                   {4, 7, 33}, {2, 4, 16}, {1, 3, 1}, {5, 2, 200}};

/* Evaluation: bit-identical; training forward and backward: within 1e-6 + 1e-6 relative of the
 * reference (16 partial sums instead of one), and bit-identical across paths. */
static void check_bn(bn_case k, unsigned *seed)
{
    int64_t nv = (int64_t)k.n * k.c * k.s;
    float *x = malloc(sizeof(float) * nv), *dy = malloc(sizeof(float) * nv);
    float *y0 = malloc(sizeof(float) * nv), *y1 = malloc(sizeof(float) * nv);
    float *yfirst = malloc(sizeof(float) * nv), *dxa = malloc(sizeof(float) * nv);
    float *dxb = malloc(sizeof(float) * nv), *dxfirst = malloc(sizeof(float) * nv);
    float gamma[8], beta[8], rm[8], rv[8], st0[3][8], st1[3][8], dg[2][8], db[2][8];
    for (int64_t i = 0; i < nv; i++)
        x[i] = uniform(seed, -2, 3), dy[i] = uniform(seed, -1, 1);
    for (int ch = 0; ch < k.c; ch++)
        gamma[ch] = uniform(seed, 0.5f, 2), beta[ch] = uniform(seed, -1, 1),
        rm[ch] = uniform(seed, -1, 1), rv[ch] = uniform(seed, 0.1f, 3);
    int first = 1;
    FOR_EACH_ISA(v)
    {
        fv_ref_bn_fwd_eval_f32(x, k.n, k.c, k.s, gamma, beta, rm, rv, 1e-5f, y0);
        memset(y1, 0, sizeof(float) * nv);
        fv_bn_fwd_eval_f32(x, k.n, k.c, k.s, 0, k.c, gamma, beta, rm, rv, 1e-5f, y1);
        CHECK(same_bits(y1, y0, nv, "bn eval"));

        fv_ref_bn_fwd_train_f32(x, k.n, k.c, k.s, gamma, beta, 1e-5f, y0, st0[0], st0[1],
                                st0[2]);
        /* two channel ranges, as two workers would */
        int mid = k.c / 2;
        fv_bn_fwd_train_f32(x, k.n, k.c, k.s, 0, mid, gamma, beta, 1e-5f, y1, st1[0], st1[1],
                            st1[2]);
        fv_bn_fwd_train_f32(x, k.n, k.c, k.s, mid, k.c, gamma, beta, 1e-5f, y1, st1[0], st1[1],
                            st1[2]);
        for (int q = 0; q < 3; q++)
            CHECK_ARRAY_NEAR(st1[q], st0[q], k.c, 1e-6, 1e-6);
        CHECK_ARRAY_NEAR(y1, y0, nv, 1e-6, 1e-6);

        for (int train = 0; train <= 1; train++) {
            for (int64_t i = 0; i < nv; i++)
                dxa[i] = dxb[i] = (float)(i % 5) * 0.25f;
            for (int ch = 0; ch < k.c; ch++)
                dg[0][ch] = dg[1][ch] = 0.5f, db[0][ch] = db[1][ch] = -0.5f;
            fv_ref_bn_bwd_f32(x, dy, k.n, k.c, k.s, gamma, st0[0], st0[2], train, dxa, dg[0],
                              db[0]);
            fv_bn_bwd_f32(x, dy, k.n, k.c, k.s, 0, mid, gamma, st0[0], st0[2], train, dxb, dg[1],
                          db[1]);
            fv_bn_bwd_f32(x, dy, k.n, k.c, k.s, mid, k.c, gamma, st0[0], st0[2], train, dxb,
                          dg[1], db[1]);
            CHECK_ARRAY_NEAR(dxb, dxa, nv, 1e-6, 1e-6);
            CHECK_ARRAY_NEAR(dg[1], dg[0], k.c, 1e-6, 1e-6);
            CHECK_ARRAY_NEAR(db[1], db[0], k.c, 1e-6, 1e-6);
        }
        fv_bn_bwd_f32(x, dy, k.n, k.c, k.s, 0, k.c, gamma, st0[0], st0[2], 1, NULL, NULL, NULL);
        if (first) /* every path: the same bits */
            memcpy(yfirst, y1, sizeof(float) * nv), memcpy(dxfirst, dxb, sizeof(float) * nv);
        else
            CHECK(same_bits(y1, yfirst, nv, "bn train across paths") &&
                  same_bits(dxb, dxfirst, nv, "bn bwd across paths"));
        first = 0;
    }
    free(x), free(dy), free(y0), free(y1), free(yfirst), free(dxa), free(dxb), free(dxfirst);
}

TEST(batchnorm_matches_reference)
{
    unsigned seed = 4;
    for (size_t i = 0; i < sizeof bn_cases / sizeof bn_cases[0]; i++)
        check_bn(bn_cases[i], &seed);
}

/* With s = 1 (features) each channel adds in sequence, as the reference: the same bits. */
TEST(batchnorm_vectors_exact)
{
    enum { N = 9, C = 6 };
    unsigned seed = 8;
    float x[N * C], y0[N * C], y1[N * C], g[C], b[C], s0[3][C], s1[3][C];
    for (int i = 0; i < N * C; i++)
        x[i] = uniform(&seed, -3, 3);
    for (int ch = 0; ch < C; ch++)
        g[ch] = uniform(&seed, 0.5f, 1.5f), b[ch] = uniform(&seed, -1, 1);
    fv_ref_bn_fwd_train_f32(x, N, C, 1, g, b, 1e-3f, y0, s0[0], s0[1], s0[2]);
    FOR_EACH_ISA(v)
    {
        fv_bn_fwd_train_f32(x, N, C, 1, 0, C, g, b, 1e-3f, y1, s1[0], s1[1], s1[2]);
        CHECK(same_bits(y1, y0, N * C, "bn vectors") && same_bits(s1[0], s0[0], 3 * C, "stats"));
    }
}

/* ---------------------------------------------------------------- optimizers */

/* The scalar updates the kernels must reproduce (optim.c's loops before vectorization). */
static void adam_scalar(const fv_adam_coef *k, float *p, const float *g, float *m, float *v,
                        int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        if (k->wd != 0)
            gi += k->wd * p[i];
        m[i] = k->b1 * m[i] + k->c1 * gi;
        v[i] = k->b2 * v[i] + k->c2 * gi * gi;
        float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
        p[i] -= k->step * (m[i] / denom);
    }
}

static void sgd_scalar(float lr, float wd, float mu, int nesterov, float *p, const float *g,
                       float *buf, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0)
            d += wd * p[i];
        if (mu != 0) {
            buf[i] = mu * buf[i] + d;
            d = nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

static float p0[MAXLEN], g0[MAXLEN], m0[MAXLEN], v0[MAXLEN];
static float p1[MAXLEN], m1[MAXLEN], v1[MAXLEN], p2[MAXLEN], m2[MAXLEN], v2[MAXLEN];

static void optim_inputs(unsigned *seed)
{
    for (int i = 0; i < MAXLEN; i++)
        p0[i] = uniform(seed, -1, 1), g0[i] = uniform(seed, -0.1f, 0.1f),
        m0[i] = uniform(seed, -0.01f, 0.01f), v0[i] = uniform(seed, 0, 1e-4f);
    g0[5] = 0, g0[6] = -0.0f, p0[7] = -0.0f, v0[8] = 0; /* zeros: sqrt(0), -0 updates */
}

TEST(adam_matches_scalar)
{
    unsigned seed = 6;
    optim_inputs(&seed);
    for (int wd = 0; wd <= 1; wd++) {
        fv_adam_coef k = {.b1 = 0.9f, .b2 = 0.999f, .c1 = 1 - 0.9f, .c2 = 1 - 0.999f,
                          .wd = wd ? 0.01f : 0, .eps = 1e-8f, .step = 0.0123f,
                          .bc2_sqrt = 0.0447f};
        FOR_EACH_ISA(v)
        {
            for (size_t l = 0; l < NLEN; l++) {
                int64_t n = lens[l];
                memcpy(p1, p0, sizeof p0), memcpy(m1, m0, sizeof m0), memcpy(v1, v0, sizeof v0);
                memcpy(p2, p0, sizeof p0), memcpy(m2, m0, sizeof m0), memcpy(v2, v0, sizeof v0);
                adam_scalar(&k, p1, g0, m1, v1, n);
                fv_adam_f32(&k, p2, g0, m2, v2, n);
                CHECK(same_bits(p2, p1, MAXLEN, "adam p") && same_bits(m2, m1, MAXLEN, "adam m") &&
                      same_bits(v2, v1, MAXLEN, "adam v"));
            }
        }
    }
}

TEST(sgd_matches_scalar)
{
    static const float mus[] = {0, 0.9f};
    unsigned seed = 7;
    optim_inputs(&seed);
    for (int wd = 0; wd <= 1; wd++)
        for (int mi = 0; mi < 2; mi++)
            for (int nest = 0; nest <= (mus[mi] != 0); nest++)
                FOR_EACH_ISA(v)
                {
                    for (size_t l = 0; l < NLEN; l++) {
                        int64_t n = lens[l];
                        memcpy(p1, p0, sizeof p0), memcpy(m1, m0, sizeof m0);
                        memcpy(p2, p0, sizeof p0), memcpy(m2, m0, sizeof m0);
                        float w = wd ? 1e-3f : 0;
                        sgd_scalar(0.05f, w, mus[mi], nest, p1, g0, m1, n);
                        fv_sgd_f32(0.05f, w, mus[mi], nest, p2, g0, m2, n);
                        CHECK(same_bits(p2, p1, MAXLEN, "sgd p") &&
                              same_bits(m2, m1, MAXLEN, "sgd buf"));
                    }
                }
}

/* ---------------------------------------------------------------- through the ops */

/* Batch norm, ReLU6, both max pools, ReLU, dropout and dense, trained 3 steps with Adam. */
static fv_model *train_net(int threads)
{
    fv_set_num_threads(threads);
    fv_model *m = fv_model_new("fast");
    int x = fv_input(m, .ndim = 3, .dims = {16, 21, 23});
    x = fv_batchnorm(m, x);
    x = fv_activation(m, x, FV_ACT_RELU6);
    x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .padding = 1);
    x = fv_batchnorm(m, x);
    x = fv_relu(m, x);
    x = fv_maxpool2d(m, x);
    x = fv_dropout(m, x, .rate = 0.3f);
    x = fv_dense(m, fv_flatten(m, x), .units = 5);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f),
                         .seed = 9) != FV_OK)
        return m;
    enum { N = 9, PER = 16 * 21 * 23 };
    float *xs_ = malloc(sizeof(float) * N * PER), ys_[N];
    fv_rng r;
    fv_rng_seed(&r, 4);
    for (int i = 0; i < N * PER; i++)
        xs_[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < N; i++)
        ys_[i] = (float)(i % 5);
    for (int step = 0; step < 3; step++)
        CHECK_STATUS(fv_model_train_batch(m, xs_, ys_, N, NULL, NULL), FV_OK);
    free(xs_);
    return m;
}

TEST(same_bits_on_any_thread_count)
{
    fv_model *a = train_net(1), *b = train_net(2);
    CHECK(a->data_slab && b->data_slab && a->param_total == b->param_total);
    if (a->data_slab && b->data_slab)
        CHECK(same_bits(a->data_slab, b->data_slab, a->param_total, "parameters"));
    fv_model_free(a), fv_model_free(b);
    fv_set_num_threads(0);
}

int main(void)
{
    RUN(relu_matches_reference);
    RUN(piecewise_activations_match_reference);
    RUN(dropout_scaling_and_mask);
    RUN(double_sums);
    RUN(batchnorm_matches_reference);
    RUN(batchnorm_vectors_exact);
    RUN(adam_matches_scalar);
    RUN(sgd_matches_scalar);
    RUN(same_bits_on_any_thread_count);
    TEST_MAIN_END();
}
