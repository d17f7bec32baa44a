/* adaptive_ref.h - scalar reference kernels of adaptive average pooling (PyTorch's
 * AdaptiveAvgPool2d): output cell (i, j) of an oh x ow grid averages input rows
 * [floor(i h / oh), ceil((i + 1) h / oh)) and the columns likewise. */
#ifndef FV_KERNELS_REF_ADAPTIVE_REF_H
#define FV_KERNELS_REF_ADAPTIVE_REF_H

#include <stdint.h>

void fv_ref_adaptive_avg_fwd_f32(const float *x, float *y, int64_t planes, int h, int w, int oh,
                                 int ow);
void fv_ref_adaptive_avg_fwd_f64(const double *x, double *y, int64_t planes, int h, int w,
                                 int oh, int ow);
/* dx += the spread of dy (dx accumulates, as every backward kernel). */
void fv_ref_adaptive_avg_bwd_f32(const float *dy, float *dx, int64_t planes, int h, int w, int oh,
                                 int ow);
void fv_ref_adaptive_avg_bwd_f64(const double *dy, double *dx, int64_t planes, int h, int w,
                                 int oh, int ow);

#endif
