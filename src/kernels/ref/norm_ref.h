/* norm_ref.h - reference kernels for global pooling and local response normalization (NCHW) in
 * float and double; the double versions serve the gradient checks. Defined by norm_ref.inc via
 * norm_ref.c. */
#ifndef FV_NORM_REF_H
#define FV_NORM_REF_H

#include <stdint.h>

/* Global average over each of `planes` planes of hw values: y[p] = mean. */
void fv_ref_global_avg_fwd_f32(const float *x, float *y, int64_t planes, int64_t hw);
void fv_ref_global_avg_fwd_f64(const double *x, double *y, int64_t planes, int64_t hw);
void fv_ref_global_avg_bwd_f32(const float *dy, float *dx, int64_t planes, int64_t hw);
void fv_ref_global_avg_bwd_f64(const double *dy, double *dx, int64_t planes, int64_t hw);
/* Global max: arg[p] = the first position of the maximum (NaN wins). */
void fv_ref_global_max_fwd_f32(const float *x, float *y, int32_t *arg, int64_t planes, int64_t hw);
void fv_ref_global_max_fwd_f64(const double *x, double *y, int32_t *arg, int64_t planes,
                               int64_t hw);
void fv_ref_global_max_bwd_f32(const float *dy, const int32_t *arg, float *dx, int64_t planes,
                               int64_t hw);
void fv_ref_global_max_bwd_f64(const double *dy, const int32_t *arg, double *dx, int64_t planes,
                               int64_t hw);

/* LRN over n samples of c channels of hw values: scale = k + alpha / size * (sum of x^2 over
 * channels [ch - size/2, ch + (size-1)/2]), y = x scale^-beta; scale is kept for backward. */
typedef struct fv_lrn_geom {
    int n, c, size;
    int64_t hw;
    double alpha, beta, k;
} fv_lrn_geom;
void fv_ref_lrn_fwd_f32(const fv_lrn_geom *g, const float *x, float *y, float *scale);
void fv_ref_lrn_fwd_f64(const fv_lrn_geom *g, const double *x, double *y, double *scale);
void fv_ref_lrn_bwd_f32(const fv_lrn_geom *g, const float *x, const float *scale,
                        const float *dy, float *dx);
void fv_ref_lrn_bwd_f64(const fv_lrn_geom *g, const double *x, const double *scale,
                        const double *dy, double *dx);

/* Group-wise normalization: each sample's `size` values form `groups` contiguous groups; a value
 * at position e of the sample is normalized with its group's mean and biased variance, then
 * y = xhat gamma[e / ablock] + beta[e / ablock] (ablock: values per affine parameter). mean and
 * rstd (n groups each) are kept for backward. */
typedef struct fv_gnorm_geom {
    int n, groups;
    int64_t size, ablock;
    double eps;
} fv_gnorm_geom;
void fv_ref_gnorm_fwd_f32(const fv_gnorm_geom *g, const float *x, const float *gamma,
                          const float *beta, float *y, float *mean, float *rstd);
void fv_ref_gnorm_fwd_f64(const fv_gnorm_geom *g, const double *x, const double *gamma,
                          const double *beta, double *y, double *mean, double *rstd);
/* dx += ..., dgamma += ..., dbeta += ... (dx, dgamma or dbeta may be NULL). */
void fv_ref_gnorm_bwd_f32(const fv_gnorm_geom *g, const float *x, const float *gamma,
                          const float *mean, const float *rstd, const float *dy, float *dx,
                          float *dgamma, float *dbeta);
void fv_ref_gnorm_bwd_f64(const fv_gnorm_geom *g, const double *x, const double *gamma,
                          const double *mean, const double *rstd, const double *dy, double *dx,
                          double *dgamma, double *dbeta);

#endif
