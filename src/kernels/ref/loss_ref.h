/* loss_ref.h - reference loss kernels (softmax cross-entropy, mean squared error) in float and
 * double; the double versions serve the gradient checks. Defined by loss_ref.inc via loss_ref.c. */
#ifndef FV_LOSS_REF_H
#define FV_LOSS_REF_H

#include <stdint.h>

/* Softmax cross-entropy from logits x (n, k) and class indices t (n, stored as reals). Writes the
 * softmax probabilities p (n, k) and returns the batch-mean loss mean_i(-log p[i][t_i]), computed
 * with log-sum-exp. A target that is not an integer in [0, k) is never used as an index: its
 * sample's loss is NaN, so the batch mean is NaN (callers validate targets first, see below). */
double fv_ref_softmax_ce_fwd_f32(const float *x, const float *t, float *p, int n, int64_t k);
double fv_ref_softmax_ce_fwd_f64(const double *x, const double *t, double *p, int n, int64_t k);
/* dx (n, k) += seed * (p - onehot(t)) / n; an invalid target contributes seed * p / n. */
void fv_ref_softmax_ce_bwd_f32(const float *p, const float *t, float seed, float *dx, int n,
                               int64_t k);
void fv_ref_softmax_ce_bwd_f64(const double *p, const double *t, double seed, double *dx, int n,
                               int64_t k);
/* The first i whose t[i] is not an integer in [0, k) (NaN included), or -1 if all are valid. */
int fv_ref_softmax_ce_check_targets_f32(const float *t, int n, int k);
int fv_ref_softmax_ce_check_targets_f64(const double *t, int n, int k);

/* Mean squared error over count values: mean((p - t)^2) (PyTorch reduction "mean"). */
double fv_ref_mse_fwd_f32(const float *p, const float *t, int64_t count);
double fv_ref_mse_fwd_f64(const double *p, const double *t, int64_t count);
/* dx += seed * 2 (p - t) / count, count = batch * sample size. */
void fv_ref_mse_bwd_f32(const float *p, const float *t, float seed, float *dx, int64_t count);
void fv_ref_mse_bwd_f64(const double *p, const double *t, double seed, double *dx,
                        int64_t count);

#endif
