/* grid_ref.h - scalar reference kernels of grid sampling (PyTorch's F.affine_grid and
 * F.grid_sample, 2-D) and of the thin-plate-spline grid: the affine grid of a 2x3 theta, the
 * sampling of a (C, H, W) sample at a (OH, OW, 2) grid of normalized (x, y) points, and their
 * adjoints (to the input, the grid and theta). Float (_f32) and double (_f64, the gradient
 * checks' oracle) instances of grid_ref.inc. */
#ifndef FV_KERNELS_REF_GRID_REF_H
#define FV_KERNELS_REF_GRID_REF_H

#include <stdint.h>

enum { FV_GRID_MODE_BILINEAR = 0, FV_GRID_MODE_NEAREST = 1 };
enum { FV_GRID_PAD_ZEROS = 0, FV_GRID_PAD_BORDER = 1, FV_GRID_PAD_REFLECTION = 2 };

typedef struct fv_grid_geom {
    int c, h, w;  /* one input sample */
    int oh, ow;   /* the grid (and the output's spatial size) */
    int mode;     /* FV_GRID_MODE_* */
    int padding;  /* FV_GRID_PAD_* */
    int align;    /* align_corners: -1 and 1 are the corner cells' centres (else their edges) */
} fv_grid_geom;

/* The normalized coordinate of cell i of n along an axis of the base grid: -1 + (2i + 1) / n
 * (align_corners false), -1 + 2i / (n - 1) (true); 0 where n is 1 (PyTorch's). */
double fv_grid_base(int i, int n, int align);

/* The TPS grid's matrix M (oh*ow rows of k = n*n values): a grid point is sum_j M[p][j] t_j
 * over the targets t_j of the n x n control points placed evenly on [-1, 1]^2 (row-major, x
 * fastest), the spline with kernel U(r) = r^2 log r^2 that maps each control point onto its
 * target, solved by Gaussian elimination with partial pivoting in work ((k + 3) * (2k + 3)
 * doubles). Returns 0, or -1 for a singular system (n < 2). */
int fv_tps_matrix(int n, int oh, int ow, int align, double *m, double *work);
/* The control point j of an n x n lattice: (x, y). */
void fv_tps_control(int n, int j, double *x, double *y);

void fv_ref_affine_grid_fwd_f32(int oh, int ow, int align, const float *theta, float *grid);
void fv_ref_affine_grid_fwd_f64(int oh, int ow, int align, const double *theta, double *grid);
/* dtheta += the adjoint of the grid's gradient. */
void fv_ref_affine_grid_bwd_f32(int oh, int ow, int align, const float *dgrid, float *dtheta);
void fv_ref_affine_grid_bwd_f64(int oh, int ow, int align, const double *dgrid, double *dtheta);

/* grid = M (control + d): d the k displacements (dx, dy) of the control points. */
void fv_ref_tps_grid_fwd_f32(int n, int64_t npix, const double *m, const float *d, float *grid);
void fv_ref_tps_grid_fwd_f64(int n, int64_t npix, const double *m, const double *d,
                             double *grid);
/* dd += M^T dgrid. */
void fv_ref_tps_grid_bwd_f32(int n, int64_t npix, const double *m, const float *dgrid, float *dd);
void fv_ref_tps_grid_bwd_f64(int n, int64_t npix, const double *m, const double *dgrid,
                             double *dd);

/* One sample: y (C, OH, OW) = x (C, H, W) read at grid (OH, OW, 2). */
void fv_ref_grid_sample_fwd_f32(const fv_grid_geom *g, const float *x, const float *grid,
                                float *y);
void fv_ref_grid_sample_fwd_f64(const fv_grid_geom *g, const double *x, const double *grid,
                                double *y);
/* One sample's adjoint: dx += (NULL: skipped) and dgrid += (NULL: skipped) from dy. */
void fv_ref_grid_sample_bwd_f32(const fv_grid_geom *g, const float *x, const float *grid,
                                const float *dy, float *dx, float *dgrid);
void fv_ref_grid_sample_bwd_f64(const fv_grid_geom *g, const double *x, const double *grid,
                                const double *dy, double *dx, double *dgrid);

#endif
