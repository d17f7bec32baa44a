/* interp_ref.h - reference kernels of resizing by interpolation with ONNX Resize's semantics
 * (nearest, linear, cubic; the coordinate transforms of ops/interp.c) on (planes, h, w) data, in
 * float and double (the double versions serve the gradient checks). The interpolation is
 * separable: each output row and column reads up to FV_INTERP_TAPS input rows and columns with
 * weights, computed once per axis by fv_interp_taps; forward sums the taps, backward (its adjoint)
 * accumulates into dx. Defined by interp_ref.inc via interp_ref.c. */
#ifndef FV_INTERP_REF_H
#define FV_INTERP_REF_H

#include <stdint.h>

#define FV_INTERP_TAPS 4

/* How output coordinates become input cells and weights (values of fovea.h's enums). */
typedef struct fv_interp_spec {
    int mode;        /* fv_resize_mode */
    int coord;       /* fv_resize_coord */
    int nearest;     /* fv_nearest_mode */
    int exclude;     /* taps outside the input weigh 0, the others renormalised */
    double cubic_a;
} fv_interp_spec;

/* Taps per output cell of mode: 1 (nearest), 2 (linear) or 4 (cubic). */
int fv_interp_ntaps(int mode);
/* The input coordinate of output cell o of an axis of `in` cells resized to `len` (ONNX's
 * length_resized: in * scale where scales are given, before the floor, else the output size) at
 * this scale (out / in where the output size is given). */
double fv_interp_coord(int coord, int o, int in, double len, double scale);
/* Fills the taps of an axis in -> out at scale (0: the output size was given, scale out / in):
 * for each output cell o, ntaps input cells idx[o * ntaps + t] (in 0..in-1, edge cells where the
 * taps fall outside) and their weights w[...]. */
void fv_interp_taps(const fv_interp_spec *s, int in, int out, double scale, int32_t *idx,
                    double *w);

typedef struct fv_interp_geom {
    int h, w, oh, ow;
    int th, tw;              /* taps per output row and column */
    const int32_t *iy, *ix;  /* the taps (fv_interp_taps) of the rows and the columns */
    const double *wy, *wx;
} fv_interp_geom;

/* Planes [p0, p1) of x (h x w each) -> y (oh x ow each). */
void fv_ref_interp_fwd_f32(const fv_interp_geom *g, int64_t p0, int64_t p1, const float *x,
                           float *y);
void fv_ref_interp_fwd_f64(const fv_interp_geom *g, int64_t p0, int64_t p1, const double *x,
                           double *y);
/* Planes [p0, p1): dx += the adjoint applied to dy. */
void fv_ref_interp_bwd_f32(const fv_interp_geom *g, int64_t p0, int64_t p1, const float *dy,
                           float *dx);
void fv_ref_interp_bwd_f64(const fv_interp_geom *g, int64_t p0, int64_t p1, const double *dy,
                           double *dx);

#endif
