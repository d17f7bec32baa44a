/* conv_fast.h - the float convolution the conv2d op runs (conv_fast.c): lowering with strided
 * column rows, samples batched for small maps, a fused epilogue. */
#ifndef FV_CONV_FAST_H
#define FV_CONV_FAST_H

#include "kernels/ref/conv_ref.h"

#include <stddef.h>
#include <stdint.h>

enum { FV_CONV_ACT_NONE = 0, FV_CONV_ACT_RELU = 1, FV_CONV_ACT_RELU6 = 2 };

/* What a convolution applies to its output: y = act(scale * y + shift + residual) per filter
 * (scale NULL: 1; shift NULL: 0; shift includes the bias when there is one). The residual (a
 * shortcut added before the activation, as in ResNet's blocks) of the output at y[k] is
 * y[k + res_delta], a tensor of y's layout in the same allocation (the model's arena), so that
 * the one offset serves every sample and worker; has_res 0: none. */
typedef struct fv_conv_epilogue {
    const float *scale, *shift;
    int act; /* FV_CONV_ACT_* */
    int has_res;
    ptrdiff_t res_delta;
} fv_conv_epilogue;

/* The epilogue on rows [f0, f1) and columns [j0, j1) of one sample's (f, ohw) output (e may be
 * NULL: nothing). */
void fv_conv_epilogue_apply(const fv_conv_epilogue *e, float *y, int64_t ohw, int f0, int f1,
                            int64_t j0, int64_t j1);

/* Rows [f0, f1) and columns [j0, j1) of one sample's output y (f, oh ow) = epilogue(w col),
 * col the (rows, oh ow) lowered input (the input itself for a 1x1 convolution), w (f, rows).
 * (Running it in steps of columns, to apply each step's epilogue while it is in the cache, was
 * measured slower on MobileNet v2: the narrower GEMMs lost more than the epilogue gained.) */
void fv_conv_gemm_cols(const float *w, const float *col, const fv_conv_epilogue *e, float *y,
                       const fv_conv_geom *g, int f0, int f1, int64_t j0, int64_t j1);

/* col (channels kh kw rows of oh ow, row r at col + r ld) = the patches of x (channels, h, w),
 * zero where padded; ld >= oh ow. */
void fv_im2col_ld_f32(const float *x, const fv_conv_geom *g, int channels, float *col,
                      int64_t ld);
/* The adjoint: x (channels, h, w) += the patches of col (rows at stride ld). */
void fv_col2im_ld_f32(const float *col, const fv_conv_geom *g, int channels, int64_t ld,
                      float *x);

/* Samples lowered together for n samples (1: one at a time; always 1 unless groups is 1). */
int fv_conv_chunk(const fv_conv_geom *g, int n);
/* Scratch floats fv_conv_fast_fwd / _bwd need for up to n samples. */
int64_t fv_conv_fast_scratch(const fv_conv_geom *g, int n);
/* y (n, f, oh, ow) = epilogue(conv(x, w)) (no bias here: put it in the epilogue's shift). u: NULL,
 * or w transformed for Winograd's forward pass (fv_winograd_weights_f32, backward 0) by a caller
 * that shares them between workers: then Winograd runs, with them, and the scratch must also
 * hold fv_winograd_work_floats(g, n). */
void fv_conv_fast_fwd(const float *x, const float *w, const float *u, const fv_conv_epilogue *e,
                      float *y, int n, const fv_conv_geom *g, float *scratch);
/* Accumulates (+=) into dx, dw, db (any may be NULL), as fv_conv2d_bwd_f32; dx_set: dx is
 * written (=) instead, its old values never read. u as the forward's, transformed for the input
 * gradient (backward 1), used for dx. */
void fv_conv_fast_bwd(const float *x, const float *w, const float *u, const float *dy, float *dx,
                      int dx_set, float *dw, float *db, int n, const fv_conv_geom *g,
                      float *scratch);

#endif
