/* act_ref.h - reference activation kernels (ReLU, sigmoid, tanh, softmax) in float and double; the
 * double versions serve the gradient checks. Defined by act_ref.inc via act_ref.c. Backward
 * kernels accumulate (dx +=) and, except ReLU, use the forward output y. */
#ifndef FV_ACT_REF_H
#define FV_ACT_REF_H

#include <stdint.h>

void fv_ref_relu_fwd_f32(const float *x, float *y, int64_t n);
void fv_ref_relu_fwd_f64(const double *x, double *y, int64_t n);
/* dx += dy where x > 0 (the gradient at 0 is 0, as in PyTorch). */
void fv_ref_relu_bwd_f32(const float *x, const float *dy, float *dx, int64_t n);
void fv_ref_relu_bwd_f64(const double *x, const double *dy, double *dx, int64_t n);

void fv_ref_sigmoid_fwd_f32(const float *x, float *y, int64_t n);
void fv_ref_sigmoid_fwd_f64(const double *x, double *y, int64_t n);
void fv_ref_sigmoid_bwd_f32(const float *y, const float *dy, float *dx, int64_t n);
void fv_ref_sigmoid_bwd_f64(const double *y, const double *dy, double *dx, int64_t n);

void fv_ref_tanh_fwd_f32(const float *x, float *y, int64_t n);
void fv_ref_tanh_fwd_f64(const double *x, double *y, int64_t n);
void fv_ref_tanh_bwd_f32(const float *y, const float *dy, float *dx, int64_t n);
void fv_ref_tanh_bwd_f64(const double *y, const double *dy, double *dx, int64_t n);

/* Softmax over the last axis: rows of k values, with `inner` = 1. For a general axis, the rows
 * are strided: `outer` blocks of k x inner values, softmax taken along k for each inner index. */
void fv_ref_softmax_fwd_f32(const float *x, float *y, int64_t outer, int64_t k, int64_t inner);
void fv_ref_softmax_fwd_f64(const double *x, double *y, int64_t outer, int64_t k, int64_t inner);
/* dx += y * (dy - sum_k(dy * y)). */
void fv_ref_softmax_bwd_f32(const float *y, const float *dy, float *dx, int64_t outer, int64_t k,
                            int64_t inner);
void fv_ref_softmax_bwd_f64(const double *y, const double *dy, double *dx, int64_t outer,
                            int64_t k, int64_t inner);

/* The other activations (fv_act kinds LEAKY_RELU .. RELU6 and CLIP, see fovea.h) element-wise,
 * and log-softmax over rows of k values. alpha, beta: the kind's parameters (fv_layer_args);
 * selu's and hard_sigmoid's defaults (as floats) run with the exact constants. Backward
 * accumulates and may read x and y. */
void fv_ref_eltwise_fwd_f32(int act, float alpha, float beta, const float *x, float *y,
                            int64_t n);
void fv_ref_eltwise_fwd_f64(int act, double alpha, double beta, const double *x, double *y,
                            int64_t n);
void fv_ref_eltwise_bwd_f32(int act, float alpha, float beta, const float *x, const float *y,
                            const float *dy, float *dx, int64_t n);
void fv_ref_eltwise_bwd_f64(int act, double alpha, double beta, const double *x, const double *y,
                            const double *dy, double *dx, int64_t n);
void fv_ref_log_softmax_fwd_f32(const float *x, float *y, int64_t rows, int64_t k);
void fv_ref_log_softmax_fwd_f64(const double *x, double *y, int64_t rows, int64_t k);
/* dx += dy - exp(y) sum(dy) per row. */
void fv_ref_log_softmax_bwd_f32(const float *y, const float *dy, float *dx, int64_t rows,
                                int64_t k);
void fv_ref_log_softmax_bwd_f64(const double *y, const double *dy, double *dx, int64_t rows,
                                int64_t k);

/* PReLU over n samples of c channels of s values: y = x > 0 ? x : a[ch] x (a has c values, or
 * one when shared). Backward accumulates dx and da. */
void fv_ref_prelu_fwd_f32(const float *x, const float *a, int shared, int n, int c, int64_t s,
                          float *y);
void fv_ref_prelu_fwd_f64(const double *x, const double *a, int shared, int n, int c, int64_t s,
                          double *y);
void fv_ref_prelu_bwd_f32(const float *x, const float *a, int shared, int n, int c, int64_t s,
                          const float *dy, float *dx, float *da);
void fv_ref_prelu_bwd_f64(const double *x, const double *a, int shared, int n, int c, int64_t s,
                          const double *dy, double *dx, double *da);
/* Maxout: output channel j of c / k is the maximum of input channels [j k, j k + k) at each
 * position; arg keeps the winning piece (first on ties). */
void fv_ref_maxout_fwd_f32(const float *x, int n, int c, int k, int64_t s, float *y, int32_t *arg);
void fv_ref_maxout_fwd_f64(const double *x, int n, int c, int k, int64_t s, double *y,
                           int32_t *arg);
void fv_ref_maxout_bwd_f32(const float *dy, const int32_t *arg, int n, int c, int k, int64_t s,
                           float *dx);
void fv_ref_maxout_bwd_f64(const double *dy, const int32_t *arg, int n, int c, int k, int64_t s,
                           double *dx);

#endif
