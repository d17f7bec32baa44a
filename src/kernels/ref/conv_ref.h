/* conv_ref.h - 2-D convolution kernels (NCHW, OIHW weights, groups, stride, padding, dilation) in
 * float and double: im2col / col2im, a direct reference convolution (plain loops), and the
 * lowered convolution (im2col + GEMM per sample and group) that the conv2d op runs - with fv_sgemm
 * for float and the reference GEMM for double, so the gradient checks test the op's algorithm.
 * Defined by conv_ref.inc via conv_ref.c. */
#ifndef FV_CONV_REF_H
#define FV_CONV_REF_H

#include <stdint.h>

/* One sample's geometry: input (c, h, w), output (f, oh, ow), weights (f, c / groups, kh, kw). */
typedef struct fv_conv_geom {
    int c, h, w, f;
    int kh, kw, sh, sw, ph, pw, dh, dw, groups;
    int oh, ow; /* set by fv_conv_geom_init */
} fv_conv_geom;

/* Sets oh = (h + 2 ph - dh (kh - 1) - 1) / sh + 1 and ow alike. Returns 0 when an argument is out
 * of range (sizes, kernel, stride, dilation < 1, padding < 0, c or f not divisible by groups) or
 * the output is empty; then oh/ow are still set (possibly <= 0). */
int fv_conv_geom_init(fv_conv_geom *g);
/* Rows of one group's column matrix: (c / groups) kh kw. */
int64_t fv_conv_col_rows(const fv_conv_geom *g);
/* A 1x1, stride-1, unpadded convolution: the input is its own column matrix. */
int fv_conv_is_pointwise(const fv_conv_geom *g);
/* Scratch floats (or doubles) the lowered convolution needs: one group's column matrix,
 * col_rows x oh ow (0 when pointwise). */
int64_t fv_conv_scratch_size(const fv_conv_geom *g);

/* col (channels kh kw, oh ow) = the patches of x (channels, h, w), zero where padded. */
void fv_im2col_f32(const float *x, const fv_conv_geom *g, int channels, float *col);
void fv_im2col_f64(const double *x, const fv_conv_geom *g, int channels, double *col);
/* The adjoint of im2col: x (channels, h, w) += the patches of col. */
void fv_col2im_f32(const float *col, const fv_conv_geom *g, int channels, float *x);
void fv_col2im_f64(const double *col, const fv_conv_geom *g, int channels, double *x);

/* Direct convolution of n samples: y (n, f, oh, ow) = conv(x (n, c, h, w), w) + b (b may be
 * NULL). Backward accumulates (+=) into dx, dw, db; any of them may be NULL (not wanted). */
void fv_ref_conv2d_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                           const fv_conv_geom *g);
void fv_ref_conv2d_fwd_f64(const double *x, const double *w, const double *b, double *y, int n,
                           const fv_conv_geom *g);
void fv_ref_conv2d_bwd_f32(const float *x, const float *w, const float *dy, float *dx, float *dw,
                           float *db, int n, const fv_conv_geom *g);
void fv_ref_conv2d_bwd_f64(const double *x, const double *w, const double *dy, double *dx,
                           double *dw, double *db, int n, const fv_conv_geom *g);

/* Lowered convolution, same contract as the direct one; scratch holds fv_conv_scratch_size(g)
 * values. Backward recomputes the column matrix per sample and group for dw, then reuses the
 * scratch for the column gradient w^T dy that col2im adds into dx. */
void fv_conv2d_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                       const fv_conv_geom *g, float *scratch);
void fv_conv2d_fwd_f64(const double *x, const double *w, const double *b, double *y, int n,
                       const fv_conv_geom *g, double *scratch);
void fv_conv2d_bwd_f32(const float *x, const float *w, const float *dy, float *dx, float *dw,
                       float *db, int n, const fv_conv_geom *g, float *scratch);
void fv_conv2d_bwd_f64(const double *x, const double *w, const double *dy, double *dx, double *dw,
                       double *db, int n, const fv_conv_geom *g, double *scratch);

#endif
