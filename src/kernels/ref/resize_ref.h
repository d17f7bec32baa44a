/* resize_ref.h - reference kernels for upsampling (nearest, bilinear with half-pixel centres) and
 * padding (constant, reflect, edge) / cropping of (planes, h, w) data, in float and double (the
 * double versions serve the gradient checks). Defined by resize_ref.inc via resize_ref.c.
 * Backward accumulates. */
#ifndef FV_RESIZE_REF_H
#define FV_RESIZE_REF_H

#include <stdint.h>

typedef struct fv_resize_geom {
    int64_t planes;
    int h, w, oh, ow;
    int bilinear;                 /* upsample */
    int top, bottom, left, right; /* pad (> 0) or crop (< 0) */
    int pad_mode;                 /* an fv_pad_mode: 0 constant, 1 reflect, 2 edge */
    double pad_value;             /* constant's value */
} fv_resize_geom;

/* The input cell of output cell o on an axis of n cells padded by `before` and `after` (a
 * negative count crops that side first) in pad mode `mode`; -1 for constant padding. Reflect
 * needs each pad below the cropped extent, edge a cropped extent of 1 or more. */
int fv_pad_source(int o, int n, int before, int after, int mode);

void fv_ref_upsample_fwd_f32(const fv_resize_geom *g, const float *x, float *y);
void fv_ref_upsample_fwd_f64(const fv_resize_geom *g, const double *x, double *y);
void fv_ref_upsample_bwd_f32(const fv_resize_geom *g, const float *dy, float *dx);
void fv_ref_upsample_bwd_f64(const fv_resize_geom *g, const double *dy, double *dx);
void fv_ref_pad_crop_fwd_f32(const fv_resize_geom *g, const float *x, float *y);
void fv_ref_pad_crop_fwd_f64(const fv_resize_geom *g, const double *x, double *y);
void fv_ref_pad_crop_bwd_f32(const fv_resize_geom *g, const float *dy, float *dx);
void fv_ref_pad_crop_bwd_f64(const fv_resize_geom *g, const double *dy, double *dx);

#endif
