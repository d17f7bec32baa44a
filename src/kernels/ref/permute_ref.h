/* permute_ref.h - scalar reference kernels of the axis permutation of each sample (Keras'
 * Permute, PyTorch's permute with the batch axis fixed): axis k of y is axis perm[k] of x. */
#ifndef FV_KERNELS_REF_PERMUTE_REF_H
#define FV_KERNELS_REF_PERMUTE_REF_H

#include <stdint.h>

typedef struct fv_permute_geom {
    int ndim;        /* axes of one sample, 1..4 */
    int64_t dims[4]; /* x's sample shape */
    int perm[4];     /* y's axis k is x's axis perm[k] (0-based) */
} fv_permute_geom;

/* y's sample shape padded to 4 axes (od) and the step in x along each of them (step): y's value
 * (a, b, c, d) is x's at a step[0] + b step[1] + c step[2] + d step[3]. */
static inline void fv_permute_walk(const fv_permute_geom *g, int64_t od[4], int64_t step[4])
{
    int64_t stride[4], s = 1;
    for (int k = g->ndim - 1; k >= 0; k--)
        stride[k] = s, s *= g->dims[k];
    for (int k = 0; k < 4; k++) {
        od[k] = k < g->ndim ? g->dims[g->perm[k]] : 1;
        step[k] = k < g->ndim ? stride[g->perm[k]] : 0;
    }
}

void fv_ref_permute_fwd_f32(const fv_permute_geom *g, int64_t batch, const float *x, float *y);
void fv_ref_permute_fwd_f64(const fv_permute_geom *g, int64_t batch, const double *x, double *y);
/* dx += dy moved back (dx = ..., every value, when overwrite: its stale values are not read). */
void fv_ref_permute_bwd_f32(const fv_permute_geom *g, int64_t batch, const float *dy, float *dx,
                            int overwrite);
void fv_ref_permute_bwd_f64(const fv_permute_geom *g, int64_t batch, const double *dy,
                            double *dx, int overwrite);

#endif
