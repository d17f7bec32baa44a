/* lrn.h - the float local response normalization forward (lrn.c): what the LRN op runs; the
 * scalar double-precision reference (kernels/ref/norm_ref.h) stays its specification. */
#ifndef FV_LRN_H
#define FV_LRN_H

#include "kernels/ref/norm_ref.h"

#include <stdint.h>

/* Planes [p0, p1) (plane p: sample p / c, channel p % c) of fv_ref_lrn_fwd_f32's y and scale, in
 * float: the window's sum of squares over whole rows of pixels at a time (vectorized by the
 * compiler), x scale^-beta by two square roots and a division when beta is 0.75 (AlexNet's,
 * ZFNet's and VGG's value), else powf. Within a few float roundings of the reference (scale:
 * 4 ulps; y: 8). Safe to call from several threads on disjoint planes. */
void fv_lrn_fwd_planes_f32(const fv_lrn_geom *g, const float *x, float *y, float *scale,
                           int64_t p0, int64_t p1);

#endif
