/* eltwise.c - the vectorized element-wise kernels (ReLU, ReLU6, leaky ReLU, clip, dropout's
 * scaling), batch norm and the SGD and Adam steps. Most are plain C written so that the compiler
 * vectorizes them (no branches in the loop bodies, float compares feeding selects), compiled three
 * times: for the baseline target, AVX2 and AVX-512 (target attributes), and chosen per call by
 * the eltwise family's level (kernels/isa.h). Each clone runs the same operations in the same
 * order, so all give the same bits; contraction into FMA is off (clang would fuse a * b + c
 * inside the AVX clones and differ from the reference). Adam needs a vector square root, which
 * the compiler will not make of sqrtf (errno), so it is written with intrinsics. */
#include "kernels/eltwise.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include "fovea.h"

#include <math.h>
#include <stddef.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* The element-wise loops below may run in place (y == x, dx == dy; no other overlap): no
 * iteration depends on another, which this tells the compiler instead of restrict (which would
 * forbid it). clang's hint also demands vectorization and warns where that fails, as it must
 * under UBSan (its null, alignment and pointer-overflow checks branch in every loop body), so
 * UBSan builds go without it. */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(undefined_behavior_sanitizer)
#define FV_UBSAN 1
#endif
#endif
#if defined(__clang__) && !defined(FV_UBSAN)
#define IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__clang__)
#define IVDEP
#elif defined(__GNUC__)
#define IVDEP _Pragma("GCC ivdep")
#else
#define IVDEP
#endif

#ifdef FV_ISA_X86
#define AVX2 FV_TARGET_AVX2
#define AVX512 FV_TARGET_AVX512
#endif

/* Defines NAME(PARAMS) calling NAME_body(ARGS) from the clone for the current instruction set.
 * The body is always inlined, so each clone is vectorized for its own target. */
#ifdef FV_ISA_X86
#define CLONES(NAME, PARAMS, ARGS)                                                  \
    static void NAME##_generic PARAMS { NAME##_body ARGS; }                         \
    AVX2 static void NAME##_avx2 PARAMS { NAME##_body ARGS; }                       \
    AVX512 static void NAME##_avx512 PARAMS { NAME##_body ARGS; }                   \
    static void NAME PARAMS                                                         \
    {                                                                               \
        switch (fv_kernel_isa(FV_KF_ELTWISE)) {                                     \
        case FV_ISA_AVX512: NAME##_avx512 ARGS; break;                              \
        case FV_ISA_AVX2: NAME##_avx2 ARGS; break;                                  \
        default: NAME##_generic ARGS; break;                                        \
        }                                                                           \
    }
#else
#define CLONES(NAME, PARAMS, ARGS) \
    static void NAME PARAMS { NAME##_body ARGS; }
#endif

/* ---------------------------------------------------------------- activations */

FV_INLINE void relu_fwd_body(const float *x, float *y, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v > 0 || v != v ? v : 0.0f; /* NaN stays NaN */
    }
}
CLONES(relu_fwd, (const float *x, float *y, int64_t n), (x, y, n))

void fv_relu_fwd_f32(const float *x, float *y, int64_t n)
{
    relu_fwd(x, y, n);
}

FV_INLINE void relu_bwd_body(const float *x, const float *dy, float *dx, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float d = dy[i], v = x[i];
        dx[i] += v > 0 ? d : 0.0f;
    }
}
CLONES(relu_bwd, (const float *x, const float *dy, float *dx, int64_t n), (x, dy, dx, n))

void fv_relu_bwd_f32(const float *x, const float *dy, float *dx, int64_t n)
{
    relu_bwd(x, dy, dx, n);
}

FV_INLINE void relu_bwd_set_body(const float *x, const float *dy, float *dx, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float d = dy[i], v = x[i];
        dx[i] = v > 0 ? d : 0.0f;
    }
}
CLONES(relu_bwd_set, (const float *x, const float *dy, float *dx, int64_t n), (x, dy, dx, n))

void fv_relu_bwd_set_f32(const float *x, const float *dy, float *dx, int64_t n)
{
    relu_bwd_set(x, dy, dx, n);
}

/* ReLU6 and leaky ReLU, as fv_ref_eltwise_fwd_f32 computes them in double: exact in float (a
 * product of two floats rounds once either way). */
FV_INLINE void relu6_fwd_body(const float *x, float *y, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float v = x[i];
        float t = v >= 6.0f ? 6.0f : v;
        y[i] = v <= 0.0f ? (v != v ? v : 0.0f) : t;
    }
}
CLONES(relu6_fwd, (const float *x, float *y, int64_t n), (x, y, n))

FV_INLINE void leaky_fwd_body(float a, const float *x, float *y, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        /* v > 0 ? v : a v as a select of bits: the compiler sinks a product needed by one arm
         * of a plain select into a branch, which stops vectorization at AVX2 and below */
        float v = x[i], t = a * v;
        uint32_t vb, tb, keep = (uint32_t)0 - (uint32_t)(v > 0);
        memcpy(&vb, &v, sizeof vb), memcpy(&tb, &t, sizeof tb);
        vb = (vb & keep) | (tb & ~keep);
        memcpy(&y[i], &vb, sizeof vb);
    }
}
CLONES(leaky_fwd, (float a, const float *x, float *y, int64_t n), (a, x, y, n))

/* clip to [lo, hi] as the reference: lo where x < lo, then hi where that is > hi (min > max
 * gives hi), NaN passing through. */
FV_INLINE void clip_fwd_body(float lo, float hi, const float *x, float *y, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], t = v < lo ? lo : v;
        t = t > hi ? hi : t;
        y[i] = v != v ? v : t;
    }
}
CLONES(clip_fwd, (float lo, float hi, const float *x, float *y, int64_t n), (lo, hi, x, y, n))

int fv_eltwise_fwd_f32(int act, float alpha, float beta, const float *x, float *y, int64_t n)
{
    switch (act) {
    case FV_ACT_RELU6: relu6_fwd(x, y, n); return 1;
    case FV_ACT_LEAKY_RELU: leaky_fwd(alpha, x, y, n); return 1;
    case FV_ACT_CLIP: clip_fwd(alpha, beta, x, y, n); return 1;
    default: return 0;
    }
}

/* Backward: dx += (float)(dy * grad) with grad in {0, 1, alpha}: a product by 0 or 1 is exact in
 * float (NaN or inf dy gives NaN where the gradient is 0, as in the reference), leaky ReLU's
 * alpha product rounds once, as the reference's. */
FV_INLINE void relu6_bwd_body(const float *x, const float *dy, float *dx, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], gr = v > 0 && v < 6 ? 1.0f : 0.0f;
        dx[i] += dy[i] * gr;
    }
}
CLONES(relu6_bwd, (const float *x, const float *dy, float *dx, int64_t n), (x, dy, dx, n))

FV_INLINE void leaky_bwd_body(float a, const float *x, const float *dy, float *dx, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float gr = x[i] > 0 ? 1.0f : a;
        dx[i] += dy[i] * gr;
    }
}
CLONES(leaky_bwd, (float a, const float *x, const float *dy, float *dx, int64_t n),
       (a, x, dy, dx, n))

/* clip's gradient passes where lo <= x <= hi (torch.clamp's). */
FV_INLINE void clip_bwd_body(float lo, float hi, const float *x, const float *dy, float *dx,
                             int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++) {
        float v = x[i], gr = v >= lo && v <= hi ? 1.0f : 0.0f;
        dx[i] += dy[i] * gr;
    }
}
CLONES(clip_bwd, (float lo, float hi, const float *x, const float *dy, float *dx, int64_t n),
       (lo, hi, x, dy, dx, n))

int fv_eltwise_bwd_f32(int act, float alpha, float beta, const float *x, const float *dy,
                       float *dx, int64_t n)
{
    switch (act) {
    case FV_ACT_RELU6: relu6_bwd(x, dy, dx, n); return 1;
    case FV_ACT_LEAKY_RELU: leaky_bwd(alpha, x, dy, dx, n); return 1;
    case FV_ACT_CLIP: clip_bwd(alpha, beta, x, dy, dx, n); return 1;
    default: return 0;
    }
}

/* ---------------------------------------------------------------- dropout's masks */

/* Value i of the splitmix64 stream from key: its state after i + 1 steps, mixed. Each value
 * depends on (key, i) alone, so the loop vectorizes and any split of it gives the same masks. */
FV_INLINE uint64_t splitmix_at(uint64_t key, uint64_t i)
{
    uint64_t z = key + (i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

FV_INLINE void dropout_mask_body(uint64_t key, uint64_t limit, float keep, int64_t i0,
                                 float *restrict mask, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        mask[i] = (splitmix_at(key, (uint64_t)(i0 + i)) >> 11) < limit ? 0.0f : keep;
}
CLONES(dropout_mask,
       (uint64_t key, uint64_t limit, float keep, int64_t i0, float *restrict mask, int64_t n),
       (key, limit, keep, i0, mask, n))

void fv_dropout_mask_f32(uint64_t key, uint64_t limit, float keep, int64_t i0, float *mask,
                         int64_t n)
{
    dropout_mask(key, limit, keep, i0, mask, n);
}

/* ---------------------------------------------------------------- dropout's scaling */

FV_INLINE void mul_body(const float *x, const float *s, float *y, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * s[i];
}
CLONES(mul, (const float *x, const float *s, float *y, int64_t n), (x, s, y, n))

void fv_mul_f32(const float *x, const float *s, float *y, int64_t n)
{
    mul(x, s, y, n);
}

FV_INLINE void mul_acc_body(const float *dy, const float *s, float *dx, int64_t n)
{
    IVDEP
    for (int64_t i = 0; i < n; i++)
        dx[i] += dy[i] * s[i];
}
CLONES(mul_acc, (const float *dy, const float *s, float *dx, int64_t n), (dy, s, dx, n))

void fv_mul_acc_f32(const float *dy, const float *s, float *dx, int64_t n)
{
    mul_acc(dy, s, dx, n);
}

/* ---------------------------------------------------------------- sums */

/* Value j goes to partial j % 16 (a vector loop whatever the target: the same bits on every
 * path), the partials are added pairwise. */
FV_INLINE void sum_body(const float *x, int64_t n, double *out)
{
    double acc[16] = {0};
    int64_t j0 = 0;
    for (; j0 + 16 <= n; j0 += 16)
        for (int l = 0; l < 16; l++)
            acc[l] += (double)x[j0 + l];
    for (int l = 0; j0 + l < n; l++)
        acc[l] += (double)x[j0 + l];
    for (int w = 8; w >= 1; w /= 2)
        for (int l = 0; l < w; l++)
            acc[l] += acc[l + w];
    *out = acc[0];
}
CLONES(sum, (const float *x, int64_t n, double *out), (x, n, out))

double fv_sum_f64(const float *x, int64_t n)
{
    double s;
    sum(x, n, &s);
    return s;
}

/* ---------------------------------------------------------------- batch norm */

/* Channel ch of sample i: the s values at (i c + ch) s. */
#define CHAN(p, i, ch) ((p) + ((int64_t)(i) * c + (ch)) * s)

/* Sums over channel ch, in double: kind 0, of x (into sum[0]); kind 1, of (x - mu)^2; kind 2, of
 * dy and of dy (x - mu) r (into sum[0] and sum[1]). Value j of each sample's block goes to
 * partial j % 16 (a vector loop whatever the target), the partials are added pairwise. */
FV_INLINE void chan_sums(const float *x, const float *dy, int n, int c, int64_t s, int ch, double mu,
                      double r, int kind, double *sum)
{
    double acc[2][16] = {{0}};
    for (int i = 0; i < n; i++) {
        const float *xp = CHAN(x, i, ch), *dp = dy ? CHAN(dy, i, ch) : NULL;
        for (int64_t j0 = 0; j0 < s; j0 += 16) {
            int len = s - j0 < 16 ? (int)(s - j0) : 16;
            if (kind == 0) {
                for (int l = 0; l < len; l++)
                    acc[0][l] += (double)xp[j0 + l];
            } else if (kind == 1) {
                for (int l = 0; l < len; l++)
                    acc[0][l] += ((double)xp[j0 + l] - mu) * ((double)xp[j0 + l] - mu);
            } else {
                for (int l = 0; l < len; l++) {
                    acc[0][l] += (double)dp[j0 + l];
                    acc[1][l] += (double)dp[j0 + l] * ((double)xp[j0 + l] - mu) * r;
                }
            }
        }
    }
    for (int k = 0; k < 2; k++) {
        for (int w = 8; w >= 1; w /= 2)
            for (int l = 0; l < w; l++)
                acc[k][l] += acc[k][l + w];
        sum[k] = acc[k][0];
    }
}

FV_INLINE void bn_eval_body(const float *x, int n, int c, int64_t s, int ch, double scale,
                         double shift, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xp = CHAN(x, i, ch);
        float *yp = CHAN(y, i, ch);
        IVDEP
        for (int64_t j = 0; j < s; j++)
            yp[j] = (float)(scale * (double)xp[j] + shift);
    }
}
CLONES(bn_eval, (const float *x, int n, int c, int64_t s, int ch, double scale,
                 double shift, float *y), (x, n, c, s, ch, scale, shift, y))

void fv_bn_fwd_eval_f32(const float *x, int n, int c, int64_t s, int c0, int c1,
                        const float *gamma, const float *beta, const float *rmean,
                        const float *rvar, float eps, float *y)
{
    for (int ch = c0; ch < c1; ch++) { /* the reference's per-channel constants */
        double r = 1.0 / sqrt((double)rvar[ch] + (double)eps);
        double scale = (double)gamma[ch] * r, shift = (double)beta[ch] - scale * (double)rmean[ch];
        bn_eval(x, n, c, s, ch, scale, shift, y);
    }
}

/* One channel normalized with mean mu and reciprocal deviation r: y = g (x - mu) r + b. */
FV_INLINE void bn_norm_body(const float *x, int n, int c, int64_t s, int ch, double g, double b,
                         double mu, double r, float *y)
{
    for (int i = 0; i < n; i++) {
        const float *xp = CHAN(x, i, ch);
        float *yp = CHAN(y, i, ch);
        IVDEP
        for (int64_t j = 0; j < s; j++)
            yp[j] = (float)(g * (((double)xp[j] - mu) * r) + b);
    }
}
CLONES(bn_norm, (const float *x, int n, int c, int64_t s, int ch, double g, double b, double mu,
                 double r, float *y), (x, n, c, s, ch, g, b, mu, r, y))

/* One channel of the training forward: mean, biased variance (two passes), y. */
FV_INLINE void bn_train_body(const float *x, int n, int c, int64_t s, int ch, double g,
                          double b, double eps, float *y, double *stats)
{
    double cnt = (double)n * (double)s, sum[2];
    chan_sums(x, NULL, n, c, s, ch, 0, 0, 0, sum);
    double mu = sum[0] / cnt;
    chan_sums(x, NULL, n, c, s, ch, mu, 0, 1, sum);
    double v = sum[0] / cnt, r = 1.0 / sqrt(v + eps);
    stats[0] = mu, stats[1] = v, stats[2] = r;
    bn_norm_body(x, n, c, s, ch, g, b, mu, r, y);
}
CLONES(bn_train, (const float *x, int n, int c, int64_t s, int ch, double g, double b,
                  double eps, float *y, double *stats),
       (x, n, c, s, ch, g, b, eps, y, stats))

void fv_bn_fwd_train_f32(const float *x, int n, int c, int64_t s, int c0, int c1,
                         const float *gamma, const float *beta, float eps, float *y, float *mean,
                         float *var, float *rstd)
{
    for (int ch = c0; ch < c1; ch++) {
        double st[3];
        bn_train(x, n, c, s, ch, (double)gamma[ch], (double)beta[ch], (double)eps, y, st);
        mean[ch] = (float)st[0], var[ch] = (float)st[1], rstd[ch] = (float)st[2];
    }
}

/* One channel's dx from the sums sdy, sdyx of dy and dy xhat over cnt values (when wanted). */
FV_INLINE void bn_dx_body(const float *x, const float *dy, int n, int c, int64_t s, int ch,
                       double mu, double r, double gr, int train, double cnt, double sdy,
                       double sdyx, float *dx)
{
    for (int i = 0; dx && i < n; i++) {
        const float *xp = CHAN(x, i, ch), *dp = CHAN(dy, i, ch);
        float *dxp = CHAN(dx, i, ch);
        if (train) { /* through the batch mean and variance */
            IVDEP
            for (int64_t j = 0; j < s; j++) {
                double d = (double)dp[j] - (sdy + ((double)xp[j] - mu) * r * sdyx) / cnt;
                dxp[j] += (float)(gr * d);
            }
        } else {
            IVDEP
            for (int64_t j = 0; j < s; j++)
                dxp[j] += (float)(gr * (double)dp[j]);
        }
    }
}
CLONES(bn_dx, (const float *x, const float *dy, int n, int c, int64_t s, int ch, double mu,
               double r, double gr, int train, double cnt, double sdy, double sdyx, float *dx),
       (x, dy, n, c, s, ch, mu, r, gr, train, cnt, sdy, sdyx, dx))

/* One channel of the backward: the sums of dy and dy xhat, then dx (when wanted). */
FV_INLINE void bn_bwd_body(const float *x, const float *dy, int n, int c, int64_t s, int ch,
                        double mu, double r, double gr, int train, float *dx, double *sums)
{
    chan_sums(x, dy, n, c, s, ch, mu, r, 2, sums);
    bn_dx_body(x, dy, n, c, s, ch, mu, r, gr, train, (double)n * (double)s, sums[0], sums[1],
               dx);
}
CLONES(bn_bwd, (const float *x, const float *dy, int n, int c, int64_t s, int ch, double mu,
                double r, double gr, int train, float *dx, double *sums),
       (x, dy, n, c, s, ch, mu, r, gr, train, dx, sums))

void fv_bn_bwd_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                   const float *gamma, const float *mean, const float *rstd, int train, float *dx,
                   float *dgamma, float *dbeta)
{
    for (int ch = c0; ch < c1; ch++) {
        double r = (double)rstd[ch], sums[2];
        bn_bwd(x, dy, n, c, s, ch, (double)mean[ch], r, (double)gamma[ch] * r, train, dx, sums);
        if (dgamma)
            dgamma[ch] += (float)sums[1];
        if (dbeta)
            dbeta[ch] += (float)sums[0];
    }
}

/* ---------------------------------------------------------------- SGD */

FV_INLINE void sgd_body(float lr, float wd, float mu, int nesterov, float *restrict p,
                     const float *restrict g, float *restrict buf, int64_t n)
{
    const int decay = wd != 0;
    if (mu == 0) {
        for (int64_t i = 0; i < n; i++) {
            float d = g[i], dw = d + wd * p[i];
            p[i] -= lr * (decay ? dw : d);
        }
    } else if (!nesterov) {
        for (int64_t i = 0; i < n; i++) {
            float d = g[i], dw = d + wd * p[i];
            buf[i] = mu * buf[i] + (decay ? dw : d);
            p[i] -= lr * buf[i];
        }
    } else {
        for (int64_t i = 0; i < n; i++) {
            float d = g[i], dw = d + wd * p[i];
            d = decay ? dw : d;
            buf[i] = mu * buf[i] + d;
            p[i] -= lr * (d + mu * buf[i]);
        }
    }
}
CLONES(sgd, (float lr, float wd, float mu, int nesterov, float *restrict p,
             const float *restrict g, float *restrict buf, int64_t n),
       (lr, wd, mu, nesterov, p, g, buf, n))

void fv_sgd_f32(float lr, float wd, float mu, int nesterov, float *p, const float *g, float *buf,
                int64_t n)
{
    sgd(lr, wd, mu, nesterov, p, g, buf, n);
}

/* ---------------------------------------------------------------- Adam */

/* Values [i, n) one at a time: the scalar loop every vector path ends with. */
static void adam_tail(const fv_adam_coef *k, float *p, const float *g, float *m, float *v,
                      int64_t i, int64_t n)
{
    for (; i < n; i++) {
        float gi = g[i];
        if (k->wd != 0)
            gi += k->wd * p[i];
        m[i] = k->b1 * m[i] + k->c1 * gi;
        v[i] = k->b2 * v[i] + k->c2 * gi * gi;
        float denom = sqrtf(v[i]) / k->bc2_sqrt + k->eps;
        p[i] -= k->step * (m[i] / denom);
    }
}

/* The vector body for one width: VEC the type, P the intrinsic prefix, W the lanes. The same
 * operations, in the same order, as adam_tail. */
#define ADAM_VECTOR(VEC, P, W)                                                                  \
    {                                                                                           \
        const VEC b1 = P##_set1_ps(k->b1), b2 = P##_set1_ps(k->b2), c1 = P##_set1_ps(k->c1);    \
        const VEC c2 = P##_set1_ps(k->c2), wd = P##_set1_ps(k->wd), eps = P##_set1_ps(k->eps);  \
        const VEC step = P##_set1_ps(k->step), bc2 = P##_set1_ps(k->bc2_sqrt);                 \
        const int decay = k->wd != 0;                                                           \
        int64_t i = 0;                                                                          \
        for (; i + W <= n; i += W) {                                                            \
            VEC pi = P##_loadu_ps(p + i), gi = P##_loadu_ps(g + i);                             \
            if (decay)                                                                          \
                gi = P##_add_ps(gi, P##_mul_ps(wd, pi));                                        \
            VEC mi = P##_add_ps(P##_mul_ps(b1, P##_loadu_ps(m + i)), P##_mul_ps(c1, gi));       \
            VEC vi = P##_add_ps(P##_mul_ps(b2, P##_loadu_ps(v + i)),                            \
                                P##_mul_ps(P##_mul_ps(c2, gi), gi));                            \
            VEC den = P##_add_ps(P##_div_ps(P##_sqrt_ps(vi), bc2), eps);                        \
            P##_storeu_ps(m + i, mi);                                                           \
            P##_storeu_ps(v + i, vi);                                                           \
            P##_storeu_ps(p + i, P##_sub_ps(pi, P##_mul_ps(step, P##_div_ps(mi, den))));        \
        }                                                                                       \
        adam_tail(k, p, g, m, v, i, n);                                                         \
    }

#ifdef FV_ISA_X86
/* SSE is the x86-64 baseline: the "generic" path here. */
static void adam_sse(const fv_adam_coef *k, float *p, const float *g, float *m, float *v,
                     int64_t n) ADAM_VECTOR(__m128, _mm, 4)
AVX2 static void adam_avx2(const fv_adam_coef *k, float *p, const float *g, float *m, float *v,
                           int64_t n) ADAM_VECTOR(__m256, _mm256, 8)
AVX512 static void adam_avx512(const fv_adam_coef *k, float *p, const float *g, float *m,
                               float *v, int64_t n) ADAM_VECTOR(__m512, _mm512, 16)
#endif

void fv_adam_f32(const fv_adam_coef *k, float *p, const float *g, float *m, float *v, int64_t n)
{
#ifdef FV_ISA_X86
    switch (fv_kernel_isa(FV_KF_ELTWISE)) {
    case FV_ISA_AVX512: adam_avx512(k, p, g, m, v, n); return;
    case FV_ISA_AVX2: adam_avx2(k, p, g, m, v, n); return;
    default: adam_sse(k, p, g, m, v, n); return;
    }
#else
    adam_tail(k, p, g, m, v, 0, n);
#endif
}

/* ---------------------------------------------------------------- batch norm over several ranks */

void fv_bn_sums_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                    const double *mu, const double *r, int kind, double *out)
{
    for (int ch = c0; ch < c1; ch++) {
        double sum[2];
        chan_sums(x, dy, n, c, s, ch, mu ? mu[ch] : 0, r ? r[ch] : 0, kind, sum);
        out[ch] = sum[0];
        if (kind == 2)
            out[c + ch] = sum[1];
    }
}

void fv_bn_norm_f32(const float *x, int n, int c, int64_t s, int c0, int c1, const float *gamma,
                    const float *beta, const double *mu, const double *r, float *y)
{
    for (int ch = c0; ch < c1; ch++)
        bn_norm(x, n, c, s, ch, (double)gamma[ch], (double)beta[ch], mu[ch], r[ch], y);
}

void fv_bn_dx_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                  const float *gamma, const float *mean, const float *rstd, const double *sums,
                  double cnt, float *dx)
{
    for (int ch = c0; ch < c1; ch++) {
        double r = (double)rstd[ch];
        bn_dx(x, dy, n, c, s, ch, (double)mean[ch], r, (double)gamma[ch] * r, 1, cnt, sums[ch],
              sums[c + ch], dx);
    }
}
