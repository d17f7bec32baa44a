/* eltwise.h - the vectorized kernels of the light ops: the 2x2 and general max pooling forwards
 * (pool.c); ReLU, ReLU6, leaky ReLU, batch norm, dropout's scaling and the SGD and Adam updates
 * (eltwise.c). Each has a portable path and AVX2 / AVX-512 paths chosen at run time (the eltwise
 * and pool families of kernels/isa.h); every path gives the same bits (where it says so, those of
 * the scalar reference in kernels/ref/, which the tests hold them to). Single-threaded, safe to
 * call from several threads at once; the ops split the work. */
#ifndef FV_ELTWISE_H
#define FV_ELTWISE_H

#include "kernels/ref/pool_ref.h"

#include <stdint.h>

/* ---------------------------------------------------------------- pooling (pool.c) */

/* 2x2 window, stride 2, no padding, 2 oh <= h, 2 ow <= w: values and switches bit-identical to
 * fv_ref_maxpool_fwd_2x2_f32 (the first maximum in row-major window order; a window holding NaN
 * gives its last NaN). */
void fv_maxpool_fwd_2x2_f32(const fv_pool_geom *g, int n, const float *x, float *y, int32_t *arg);
/* Any window, stride and padding: bit-identical to fv_ref_maxpool_fwd_f32. */
void fv_maxpool_fwd_f32(const fv_pool_geom *g, int n, const float *x, float *y, int32_t *arg);
/* Stride 1, values only (no switches: inference), when fv_maxpool_flat_ok(g) (stride 1, padding
 * under the window, a plane of at most 16384 padded floats): bit-identical values. */
int fv_maxpool_flat_ok(const fv_pool_geom *g);
void fv_maxpool_fwd_flat_f32(const fv_pool_geom *g, int n, const float *x, float *y);

/* ---------------------------------------------------------------- activations (eltwise.c) */

/* Bit-identical to fv_ref_relu_fwd_f32 / fv_ref_relu_bwd_f32 (NaN passes forward; dx += dy
 * where x > 0). */
void fv_relu_fwd_f32(const float *x, float *y, int64_t n);
void fv_relu_bwd_f32(const float *x, const float *dy, float *dx, int64_t n);
/* dx = (x > 0 ? dy : 0): the backward writing a stale dx (0 + dy, but for the sign of a zero). */
void fv_relu_bwd_set_f32(const float *x, const float *dy, float *dx, int64_t n);
/* ReLU6, leaky ReLU and clip of fv_ref_eltwise_{fwd,bwd}_f32, bit-identical to it; returns 0
 * without touching anything for the other kinds. */
int fv_eltwise_fwd_f32(int act, float alpha, float beta, const float *x, float *y, int64_t n);
int fv_eltwise_bwd_f32(int act, float alpha, float beta, const float *x, const float *dy,
                       float *dx, int64_t n);

/* Dropout's factors for values [i0, i0 + n) of a mask: factor i is 0 when value i of the
 * splitmix64 stream from key, shifted right by 11 (a uniform k 2^-53 in [0, 1) as k), is below
 * limit, else keep. Value i depends on (key, i) alone: any split of a mask across workers, and
 * every instruction set, gives the same bits. */
void fv_dropout_mask_f32(uint64_t key, uint64_t limit, float keep, int64_t i0, float *mask,
                         int64_t n);
/* y = x * s and dx += dy * s, element-wise (dropout with its saved factors). */
void fv_mul_f32(const float *x, const float *s, float *y, int64_t n);
void fv_mul_acc_f32(const float *dy, const float *s, float *dx, int64_t n);

/* ---------------------------------------------------------------- sums (eltwise.c) */

/* The sum of x[0..n) in double, in 16 interleaved partial sums (a bias gradient's: a sequential
 * double sum waits on each add's latency); the same bits on every path. */
double fv_sum_f64(const float *x, int64_t n);

/* ---------------------------------------------------------------- batch norm (eltwise.c) */

/* The kernels of kernels/ref/bn_ref.h restricted to channels [c0, c1) of the (n, c, s) data, so
 * that workers can split the channels. Evaluation: bit-identical to fv_ref_bn_fwd_eval_f32.
 * Training forward and backward: the per-channel sums are taken in double in 16 interleaved
 * partial sums (the reference adds in sequence; for s = 1 both add in sequence), so they agree
 * with the reference within a few double ulps, which may move a float result by one ulp. */
void fv_bn_fwd_eval_f32(const float *x, int n, int c, int64_t s, int c0, int c1,
                        const float *gamma, const float *beta, const float *rmean,
                        const float *rvar, float eps, float *y);
void fv_bn_fwd_train_f32(const float *x, int n, int c, int64_t s, int c0, int c1,
                         const float *gamma, const float *beta, float eps, float *y, float *mean,
                         float *var, float *rstd);
void fv_bn_bwd_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                   const float *gamma, const float *mean, const float *rstd, int train, float *dx,
                   float *dgamma, float *dbeta);
/* The same in pieces, for batch norm over several ranks (ops/batchnorm.c adds the sums of all
 * ranks between them). Per channel of [c0, c1): kind 0, the sum of x (out[ch]); kind 1, of
 * (x - mu[ch])^2; kind 2, of dy (out[ch]) and of dy (x - mu) r (out[c + ch]). */
void fv_bn_sums_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                    const double *mu, const double *r, int kind, double *out);
/* y = gamma (x - mu) r + beta, as the training forward. */
void fv_bn_norm_f32(const float *x, int n, int c, int64_t s, int c0, int c1, const float *gamma,
                    const float *beta, const double *mu, const double *r, float *y);
/* dx += training backward's dx given the sums (kind 2's layout) over cnt values of all ranks. */
void fv_bn_dx_f32(const float *x, const float *dy, int n, int c, int64_t s, int c0, int c1,
                  const float *gamma, const float *mean, const float *rstd, const double *sums,
                  double cnt, float *dx);

/* ---------------------------------------------------------------- optimizer steps (eltwise.c) */

/* torch.optim.Adam on n values (float arithmetic, the order of optim.c's scalar loop, so every
 * path gives the same bits): g' = g + wd p (wd != 0); m = b1 m + c1 g'; v = b2 v + c2 g' g';
 * p -= step (m / (sqrt(v) / bc2_sqrt + eps)). */
typedef struct fv_adam_coef {
    float b1, b2, c1, c2, wd, eps, step, bc2_sqrt;
} fv_adam_coef;
void fv_adam_f32(const fv_adam_coef *k, float *p, const float *g, float *m, float *v, int64_t n);

/* torch.optim.SGD on n values: d = g + wd p (wd != 0); with momentum mu != 0:
 * buf = mu buf + d, d = nesterov ? d + mu buf : buf; p -= lr d. */
void fv_sgd_f32(float lr, float wd, float mu, int nesterov, float *p, const float *g, float *buf,
                int64_t n);

#endif
