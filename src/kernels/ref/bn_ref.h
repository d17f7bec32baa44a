/* bn_ref.h - reference batch-normalization kernels over (n, c, s) data (s = spatial size, 1 for
 * vectors) in float and double; the double versions serve the gradient checks. Defined by
 * bn_ref.inc via bn_ref.c. Statistics are accumulated in double for both types. */
#ifndef FV_BN_REF_H
#define FV_BN_REF_H

#include <stdint.h>

/* Training: per-channel batch mean and biased variance over n * s values; y = gamma * xhat + beta
 * with xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps). Writes mean, var and rstd (c each). */
void fv_ref_bn_fwd_train_f32(const float *x, int n, int c, int64_t s, const float *gamma,
                             const float *beta, float eps, float *y, float *mean, float *var,
                             float *rstd);
void fv_ref_bn_fwd_train_f64(const double *x, int n, int c, int64_t s, const double *gamma,
                             const double *beta, double eps, double *y, double *mean, double *var,
                             double *rstd);
/* Evaluation: the running statistics normalize. */
void fv_ref_bn_fwd_eval_f32(const float *x, int n, int c, int64_t s, const float *gamma,
                            const float *beta, const float *rmean, const float *rvar, float eps,
                            float *y);
void fv_ref_bn_fwd_eval_f64(const double *x, int n, int c, int64_t s, const double *gamma,
                            const double *beta, const double *rmean, const double *rvar,
                            double eps, double *y);
/* Backward through the batch statistics (training) or constants (eval: pass the running mean and
 * 1 / sqrt(running_var + eps) as mean and rstd, and train = 0). Accumulates into dx (if not
 * NULL), dgamma and dbeta (if not NULL). */
void fv_ref_bn_bwd_f32(const float *x, const float *dy, int n, int c, int64_t s,
                       const float *gamma, const float *mean, const float *rstd, int train,
                       float *dx, float *dgamma, float *dbeta);
void fv_ref_bn_bwd_f64(const double *x, const double *dy, int n, int c, int64_t s,
                       const double *gamma, const double *mean, const double *rstd, int train,
                       double *dx, double *dgamma, double *dbeta);

#endif
