/* binary_ref.h - scalar reference kernels of element-wise arithmetic with NumPy broadcasting (add,
 * sub, mul, div, pow, max, min: fv_binary_op), in float and double (the gradient checks), over a
 * geometry of up to five axes (the batch and a sample's four) in which each operand steps by its
 * own strides, 0 along the axes it is broadcast along. */
#ifndef FV_KERNELS_REF_BINARY_REF_H
#define FV_KERNELS_REF_BINARY_REF_H

#include <stdint.h>

#define FV_BINARY_AXES 5

typedef struct fv_binary_geom {
    int op;                                   /* an fv_binary_op */
    int ndim;                                 /* 1..FV_BINARY_AXES, after merging */
    int64_t dims[FV_BINARY_AXES];             /* y's extents (y is contiguous) */
    int64_t sa[FV_BINARY_AXES], sb[FV_BINARY_AXES]; /* a's and b's strides, 0: broadcast */
} fv_binary_geom;

/* The broadcast of shapes a[0..na) and b[0..nb) (aligned at their last axes: each pair equal or
 * one of them 1) into out; returns its number of axes, max(na, nb), or -1 when they do not
 * broadcast. */
int fv_binary_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out);
/* The geometry of y (batch, ydims[0..ndim)) = a OP b: a's sample shape adims[0..na) (na <=
 * ndim, aligned at the last axis), with a batch axis of its own when a_batched (else shared by
 * every sample: a constant); b likewise. Axes of extent 1 are dropped and neighbours that both
 * operands step through alike are merged. */
void fv_binary_geom_init(fv_binary_geom *g, int op, int64_t batch, int ndim, const int64_t *ydims,
                         int na, const int64_t *adims, int a_batched, int nb, const int64_t *bdims,
                         int b_batched);
/* The number of values of operand `which` (0: a, 1: b) that g reads. */
int64_t fv_binary_values(const fv_binary_geom *g, int which);

/* y[i] = a OP b for y's values [i0, i1) (flat indices; max and min propagate NaN). */
void fv_ref_binary_fwd_f32(const fv_binary_geom *g, const float *a, const float *b, float *y,
                           int64_t i0, int64_t i1);
void fv_ref_binary_fwd_f64(const fv_binary_geom *g, const double *a, const double *b, double *y,
                           int64_t i0, int64_t i1);
/* The gradient of operand `which` (0: a, 1: b) for its values [j0, j1): dx[j] += the sum (in
 * double) over the outputs that read value j of dy times d y / d operand, PyTorch's derivatives
 * (max / min: 0 for the losing operand, half each on a tie; pow: b a^(b-1), 0 where b = 0, and
 * y ln a, 0 where a = 0 and b >= 0). Reads y for pow. */
void fv_ref_binary_bwd_f32(const fv_binary_geom *g, int which, const float *a, const float *b,
                           const float *y, const float *dy, float *dx, int64_t j0, int64_t j1);
void fv_ref_binary_bwd_f64(const fv_binary_geom *g, int which, const double *a, const double *b,
                           const double *y, const double *dy, double *dx, int64_t j0, int64_t j1);

#endif
