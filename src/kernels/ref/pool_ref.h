/* pool_ref.h - reference 2-D max and average pooling kernels (NCHW) in float and double; the
 * double versions serve the gradient checks. Defined by pool_ref.inc via pool_ref.c. */
#ifndef FV_POOL_REF_H
#define FV_POOL_REF_H

#include <stdint.h>

/* One pooling's geometry: input (c, h, w) per sample, window kh x kw, strides, zero/-inf padding,
 * output (c, oh, ow) with oh = (h + 2 ph - kh) / sh + 1 (floor, PyTorch's ceil_mode=False). */
typedef struct fv_pool_geom {
    int c, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
    int exclude_pad; /* average pooling: divide by the cells inside the input only */
} fv_pool_geom;

/* Max pooling of n samples. Padding never wins (it is -inf). arg (n, c, oh, ow) receives the
 * winning input position h * w + x within its channel plane; ties go to the first position in
 * row-major window order and NaN wins (the last NaN among several), as in PyTorch. */
void fv_ref_maxpool_fwd_f32(const fv_pool_geom *g, int n, const float *x, float *y, int32_t *arg);
void fv_ref_maxpool_fwd_f64(const fv_pool_geom *g, int n, const double *x, double *y,
                            int32_t *arg);
/* The same for the common 2x2 window, stride 2, no padding (any h, w): a straight path with
 * results identical to fv_ref_maxpool_fwd's, values and switches. */
void fv_ref_maxpool_fwd_2x2_f32(const fv_pool_geom *g, int n, const float *x, float *y,
                                int32_t *arg);
void fv_ref_maxpool_fwd_2x2_f64(const fv_pool_geom *g, int n, const double *x, double *y,
                                int32_t *arg);
/* dx[arg] += dy. */
void fv_ref_maxpool_bwd_f32(const fv_pool_geom *g, int n, const float *dy, const int32_t *arg,
                            float *dx);
void fv_ref_maxpool_bwd_f64(const fv_pool_geom *g, int n, const double *dy, const int32_t *arg,
                            double *dx);

/* Average pooling, padding counted in the divisor (PyTorch's count_include_pad=True): every
 * output is the window sum over kh * kw. */
void fv_ref_avgpool_fwd_f32(const fv_pool_geom *g, int n, const float *x, float *y);
void fv_ref_avgpool_fwd_f64(const fv_pool_geom *g, int n, const double *x, double *y);
/* dx += dy / (kh * kw) over each window's in-bounds cells. */
void fv_ref_avgpool_bwd_f32(const fv_pool_geom *g, int n, const float *dy, float *dx);
void fv_ref_avgpool_bwd_f64(const fv_pool_geom *g, int n, const double *dy, double *dx);

/* Power-average (LP) pooling without padding: y = (sum x^p)^(1/p) over each window (PyTorch's
 * LPPool2d, which is sign-agnostic only for even p: x^p of a negative x with odd p is negative). */
void fv_ref_lppool_fwd_f32(const fv_pool_geom *g, int n, double p, const float *x, float *y);
void fv_ref_lppool_fwd_f64(const fv_pool_geom *g, int n, double p, const double *x, double *y);
/* dx += dy * (y^(1-p)) x^(p-1) over each window (y > 0). */
void fv_ref_lppool_bwd_f32(const fv_pool_geom *g, int n, double p, const float *x, const float *y,
                           const float *dy, float *dx);
void fv_ref_lppool_bwd_f64(const fv_pool_geom *g, int n, double p, const double *x,
                           const double *y, const double *dy, double *dx);

/* Fractional max pooling (Graham 2014) of n samples: output (i, j) of plane p (sample x channel)
 * is the maximum over rows [r_i, r_i + kh) x cols [c_j, c_j + kw), or, with kh = kw = 0, over the
 * disjoint region [r_i, r_{i+1}) x [c_j, c_{j+1}), where r = seq + p (oh + ow + 2) holds oh + 1
 * row starts and c = r + oh + 1 the ow + 1 column starts. Switches and ties as
 * fv_ref_maxpool_fwd; backward is fv_ref_maxpool_bwd. */
void fv_ref_fracpool_fwd_f32(const fv_pool_geom *g, int n, const int32_t *seq, const float *x,
                             float *y, int32_t *arg);
void fv_ref_fracpool_fwd_f64(const fv_pool_geom *g, int n, const int32_t *seq, const double *x,
                             double *y, int32_t *arg);

#endif
