/* winograd.h - Winograd F(4x4, 3x3) convolution for 3x3, stride-1, undilated, ungrouped layers
 * (NCHW, weights (f, c, 3, 3)): the forward pass and the input gradient (a stride-1 correlation
 * of dy with the rotated, channel-transposed weights, run through the same machinery). Tiles of
 * all samples are transformed in chunks and multiplied per transform position with fv_sgemm, so
 * the scratch is bounded whatever the batch. The weight gradient goes through the same transforms
 * (dU = sum over tiles of V (A dY A^T)^T, dw = G^T dU G). Defined in winograd.c. */
#ifndef FV_WINOGRAD_H
#define FV_WINOGRAD_H

#include <stddef.h>

#include "kernels.h"
#include "ref/conv_ref.h"

/* 1 when the kernels apply: 3x3, stride 1, dilation 1, groups 1, any padding, a non-empty
 * output (g initialized by fv_conv_geom_init). */
int fv_winograd_applies(const fv_conv_geom *g);
/* 1 when Winograd is measured to beat the lowered convolution (im2col + fv_sgemm) on one call of
 * n samples (a worker's share of the batch, not the batch): pass 0 the forward pass, 1 the input
 * gradient, 2 the weight gradient; for passes 0 and 1 with the weights transformed in the call
 * (weights_cached = 0: fv_winograd_fwd_f32, fv_winograd_bwd_data_f32) or beforehand (1: the
 * *_u_f32 functions). Implies fv_winograd_applies. The rule and its measurements are in
 * winograd.c. */
int fv_winograd_wins(const fv_conv_geom *g, int n, int pass, int weights_cached);

/* Floats of transformed weights: 36 c f (and a little padding). */
size_t fv_winograd_weight_floats(const fv_conv_geom *g);
/* u = the transformed weights (an internal layout) for the forward pass (backward = 0) or for the
 * input gradient (backward = 1); a caller may keep them while w is unchanged and share them
 * between threads. Computed in double, rounded once; costs 10 ns per (f, c) pair in cache, up to
 * 35 ns when u (4x the weights) spills to memory: 0.1 ms for 64 x 64, 9 ms for 512 x 512. */
void fv_winograd_weights_f32(const float *w, const fv_conv_geom *g, int backward, float *u);
/* The input channels of the correlation that pass runs: c forward, f backward (u's rows). */
int fv_winograd_in_channels(const fv_conv_geom *g, int backward);
/* Rows [ci0, ci1) of each of u's planes, the rest of u untouched: fv_winograd_weights_f32's work
 * split among threads. */
void fv_winograd_weights_part_f32(const float *w, const fv_conv_geom *g, int backward, int ci0,
                                  int ci1, float *u);
/* Floats of work space the *_u functions need for any call of at most n samples, either
 * direction; bounded: tiles are processed in chunks of at most 256 (fewer when c + f > 455), so
 * it stops growing once a call has that many: at most 4.8 MB for 64 -> 64, 9.5 MB from 128 up. */
size_t fv_winograd_work_floats(const fv_conv_geom *g, int n);
/* Floats of scratch the one-call functions need: the transformed weights plus the work space. */
size_t fv_winograd_scratch_floats(const fv_conv_geom *g, int n);

/* y (n, f, oh, ow) = conv(x (n, c, h, w), w) + b (b may be NULL); y is overwritten. Transforms
 * the weights into the scratch first. Error: within 1e-5 (measured 3e-6) of the largest
 * sum |w| |x| + |b| over the output's 4x4 tile. */
void fv_winograd_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                         const fv_conv_geom *g, float *scratch);
/* dx (n, c, h, w) += the input gradient of the convolution for dy (n, f, oh, ow); any padding
 * (the correlation is padded by 2 - p, cropped when p > 2). Error as the forward's. */
void fv_winograd_bwd_data_f32(const float *w, const float *dy, float *dx, int n,
                              const fv_conv_geom *g, float *scratch);
/* dw (f, c, 3, 3) += the weight gradient and db (f) += the bias gradient (db may be NULL) for x
 * (n, c, h, w) and dy (n, f, oh, ow); scratch as the one-call functions'. */
void fv_winograd_bwd_weights_f32(const float *x, const float *dy, float *dw, float *db, int n,
                                 const fv_conv_geom *g, float *scratch);
/* The same with weights transformed beforehand by fv_winograd_weights_f32 (backward 0, resp. 1)
 * and a work space of fv_winograd_work_floats(g, n) floats. */
void fv_winograd_fwd_u_f32(const float *x, const float *u, const float *b, float *y, int n,
                           const fv_conv_geom *g, float *work);
/* (the input gradient: dx += it, or dx = it when acc is 0) */
void fv_winograd_bwd_data_u_f32(const float *u, const float *dy, float *dx, int n,
                                const fv_conv_geom *g, int acc, float *work);
/* The rows of 4x4 output tiles of one sample: (oh + 3) / 4. */
int fv_winograd_tile_rows(const fv_conv_geom *g);
/* fv_winograd_fwd_u_f32 for one sample, only the output rows [4 r0, min(4 r1, oh)) (tile rows
 * [r0, r1)): one sample's forward pass split among threads. Work space as the whole call's. */
void fv_winograd_fwd_rows_u_f32(const float *x, const float *u, const float *b, float *y,
                                const fv_conv_geom *g, int r0, int r1, float *work);

/* The tile transforms' instruction-set variant is the winograd family's level (kernels/isa.h). */

#endif
