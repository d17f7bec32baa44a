/* segsoftmax_ref.h - scalar reference kernels of the segment softmax: each sample's `size` values
 * are cut into consecutive segments of the given lengths (summing to size) and each segment gets
 * a softmax of its own (Darknet's word-tree softmax: one per group of sibling classes). */
#ifndef FV_KERNELS_REF_SEGSOFTMAX_REF_H
#define FV_KERNELS_REF_SEGSOFTMAX_REF_H

#include <stdint.h>

/* y = softmax of each segment of x, for `batch` samples of `size` values (the maximum of a
 * segment subtracted first). */
void fv_ref_segsoftmax_fwd_f32(const int *seg, int nseg, int64_t size, int64_t batch,
                               const float *x, float *y);
void fv_ref_segsoftmax_fwd_f64(const int *seg, int nseg, int64_t size, int64_t batch,
                               const double *x, double *y);
/* dx += y (dy - sum over the segment of y dy), from the forward's y (dx = ..., every value, when
 * overwrite: its stale values are not read). */
void fv_ref_segsoftmax_bwd_f32(const int *seg, int nseg, int64_t size, int64_t batch,
                               const float *y, const float *dy, float *dx, int overwrite);
void fv_ref_segsoftmax_bwd_f64(const int *seg, int nseg, int64_t size, int64_t batch,
                               const double *y, const double *dy, double *dx, int overwrite);

#endif
