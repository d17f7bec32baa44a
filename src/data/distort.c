/* distort.c - the distorted MNIST sets of the spatial transformer paper (Jaderberg et al. 2015,
 * section 4.1 and its appendix), made from real digits: rotated (R), rotated, scaled and
 * translated onto a 42x42 canvas (RTS), projective (P) and elastic (E). Each is an inverse map
 * of the output image onto the digit, built as a sampling grid and read bilinearly with zeros
 * outside by the grid sampler (kernels/ref/grid_ref); sample i is drawn from its own stream
 * (the seed and i), so a set is the same on every machine and any sample can be made alone.
 * The parameters (docs/DESIGN.md, "Spatial transformers"):
 *   R    rotation by an angle uniform in [-90, 90] degrees, 28x28;
 *   RTS  rotation uniform in [-45, 45] degrees, scale uniform in [0.7, 1.2], the digit's box
 *        placed uniformly at random inside a 42x42 canvas;
 *   P    scale uniform in [0.75, 1], then each corner moved by N(0, 0.1^2) per axis (in
 *        normalized coordinates, the side being 2): the projective map of the corners, 28x28;
 *   E    a thin-plate spline through 4x4 control points evenly over the image, each moved by
 *        U(-0.15, 0.15) per axis (normalized: 7.5% of the side), 28x28. */
#include "core/internal.h"
#include "data/data.h"
#include "kernels/ref/grid_ref.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RTS_SIDE 42
#define ELASTIC_POINTS 4

static const char *const names[FV_DISTORT__COUNT] = {"r", "rts", "p", "e"};

const char *fv_distortion_name(fv_distortion k)
{
    return (int)k >= 0 && k < FV_DISTORT__COUNT ? names[k] : NULL;
}

int fv_distortion_from_name(const char *name)
{
    if (!name)
        return -1;
    if (strncmp(name, "mnist-", 6) == 0)
        name += 6;
    for (int k = 0; k < FV_DISTORT__COUNT; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

int fv_distortion_side(fv_distortion k, int side)
{
    return k == FV_DISTORT_RTS ? RTS_SIDE : side;
}

/* Per sample: the grid (oh x ow x 2, normalized input coordinates) of one distortion. */
typedef struct warp {
    int h, w, oh, ow;
    const double *tps; /* E's TPS matrix */
} warp;

/* The output cell (r, c)'s centre in pixels from the output's centre. */
static void out_centre(const warp *wp, int r, int c, double *x, double *y)
{
    *x = c + 0.5 - wp->ow / 2.0, *y = r + 0.5 - wp->oh / 2.0;
}

/* R and RTS: output = s Rot(a) input + t (pixels about the centres), inverted per cell. */
static void grid_similar(const warp *wp, double a, double s, double tx, double ty, double *g)
{
    double ca = cos(a), sa = sin(a);
    for (int r = 0; r < wp->oh; r++)
        for (int c = 0; c < wp->ow; c++) {
            double x, y;
            out_centre(wp, r, c, &x, &y);
            x = (x - tx) / s, y = (y - ty) / s;
            double ix = ca * x + sa * y, iy = -sa * x + ca * y; /* Rot(-a) */
            *g++ = 2 * ix / wp->w, *g++ = 2 * iy / wp->h;
        }
}

/* The homography h (3x3, h[8] = 1) with h(src[k]) = dst[k] for four point pairs; -1 when the
 * points are degenerate. */
static int homography(const double src[8], const double dst[8], double h[9])
{
    double a[8][9];
    for (int k = 0; k < 4; k++) {
        double x = src[2 * k], y = src[2 * k + 1], u = dst[2 * k], v = dst[2 * k + 1];
        double r0[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
        double r1[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
        memcpy(a[2 * k], r0, sizeof r0), memcpy(a[2 * k + 1], r1, sizeof r1);
    }
    for (int c = 0; c < 8; c++) {
        int p = c;
        for (int r = c + 1; r < 8; r++)
            if (fabs(a[r][c]) > fabs(a[p][c]))
                p = r;
        if (!(fabs(a[p][c]) > 1e-12))
            return -1;
        for (int k = 0; k < 9; k++) {
            double t = a[c][k];
            a[c][k] = a[p][k], a[p][k] = t;
        }
        for (int r = 0; r < 8; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; r != c && k < 9; k++)
                a[r][k] -= f * a[c][k];
        }
    }
    for (int k = 0; k < 8; k++)
        h[k] = a[k][8] / a[k][k];
    h[8] = 1;
    return 0;
}

/* P: the corners (+-1, +-1) scaled by s and moved by normal noise; the grid maps each output
 * point back through the inverse homography (from the moved corners onto the corners). A draw
 * whose map is degenerate or folds the image (a corner's w <= 0) is redrawn. */
static void grid_projective(const warp *wp, fv_rng *r, double *g)
{
    static const double corner[8] = {-1, -1, 1, -1, 1, 1, -1, 1};
    double h[9], moved[8];
    for (int tries = 0;; tries++) {
        double s = 0.75 + 0.25 * fv_rng_uniform(r);
        for (int k = 0; k < 8; k++)
            moved[k] = s * corner[k] + 0.1 * fv_rng_normal(r);
        if (homography(moved, corner, h) != 0)
            continue;
        bool folds = false;
        for (int k = 0; k < 4; k++)
            folds |= !(h[6] * moved[2 * k] + h[7] * moved[2 * k + 1] + 1 > 0.05);
        if (!folds || tries > 100)
            break;
    }
    for (int row = 0; row < wp->oh; row++)
        for (int c = 0; c < wp->ow; c++) {
            double x = fv_grid_base(c, wp->ow, 0), y = fv_grid_base(row, wp->oh, 0);
            double w = h[6] * x + h[7] * y + 1;
            w = fabs(w) > 1e-9 ? w : 1e-9; /* a point at infinity reads nothing */
            *g++ = (h[0] * x + h[1] * y + h[2]) / w, *g++ = (h[3] * x + h[4] * y + h[5]) / w;
        }
}

static void grid_elastic(const warp *wp, fv_rng *r, double *g)
{
    double d[2 * ELASTIC_POINTS * ELASTIC_POINTS];
    for (int k = 0; k < 2 * ELASTIC_POINTS * ELASTIC_POINTS; k++)
        d[k] = 0.15 * (2 * fv_rng_uniform(r) - 1);
    fv_ref_tps_grid_fwd_f64(ELASTIC_POINTS, (int64_t)wp->oh * wp->ow, wp->tps, d, g);
}

static void make_grid(fv_distortion kind, const warp *wp, fv_rng *r, double *g)
{
    const double deg = 3.14159265358979323846 / 180;
    switch (kind) {
    case FV_DISTORT_R:
        grid_similar(wp, deg * (180 * fv_rng_uniform(r) - 90), 1, 0, 0, g);
        return;
    case FV_DISTORT_RTS: {
        double a = deg * (90 * fv_rng_uniform(r) - 45), s = 0.7 + 0.5 * fv_rng_uniform(r);
        double room = (wp->ow - s * wp->w) / 2; /* the scaled box stays inside the canvas */
        double tx = room * (2 * fv_rng_uniform(r) - 1), ty = room * (2 * fv_rng_uniform(r) - 1);
        grid_similar(wp, a, s, tx, ty, g);
        return;
    }
    case FV_DISTORT_P:
        grid_projective(wp, r, g);
        return;
    default:
        grid_elastic(wp, r, g);
        return;
    }
}

fv_status fv_distort_sample(fv_distortion kind, uint64_t seed, int64_t index, const float *in,
                            int h, int w, float *out, double *scratch)
{
    if ((int)kind < 0 || kind >= FV_DISTORT__COUNT || h < 2 || w < 2 || h > 1024 || w > 1024)
        return fv_err(FV_ERR_INVALID, "distort: kind %d of a %dx%d digit (expected r, rts, p or "
                      "e of 2..1024 pixels a side)", (int)kind, h, w);
    int side = fv_distortion_side(kind, h > w ? h : w);
    warp wp = {.h = h, .w = w, .oh = kind == FV_DISTORT_RTS ? side : h,
               .ow = kind == FV_DISTORT_RTS ? side : w};
    int64_t npix = (int64_t)wp.oh * wp.ow;
    double *g = scratch, *tps = g + 2 * npix;
    if (kind == FV_DISTORT_E) {
        fv_tps_matrix(ELASTIC_POINTS, wp.oh, wp.ow, 0, tps, tps + npix * 16);
        wp.tps = tps;
    }
    fv_rng r;
    fv_rng_seed(&r, seed);
    fv_rng_seed(&r, fv_rng_next(&r) + (uint64_t)index * 0x9E3779B97F4A7C15ull);
    make_grid(kind, &wp, &r, g);
    float *gf = (float *)(tps + (kind == FV_DISTORT_E ? npix * 16 + 19 * 35 : 0));
    for (int64_t i = 0; i < 2 * npix; i++)
        gf[i] = (float)g[i];
    fv_grid_geom geom = {.c = 1, .h = h, .w = w, .oh = wp.oh, .ow = wp.ow,
                         .mode = FV_GRID_MODE_BILINEAR, .padding = FV_GRID_PAD_ZEROS};
    fv_ref_grid_sample_fwd_f32(&geom, in, gf, out);
    return FV_OK;
}

size_t fv_distort_scratch_bytes(int h, int w)
{
    int side = h > w ? h : w;
    side = side > RTS_SIDE ? side : RTS_SIDE;
    size_t npix = (size_t)side * (size_t)side;
    /* the grid (double, then float), E's TPS matrix and its solver's work */
    return sizeof(double) * (2 * npix + 16 * npix + 19 * 35) + sizeof(float) * 2 * npix;
}

fv_dataset *fv_dataset_distort(const fv_dataset *digits, fv_distortion kind, uint64_t seed)
{
    const fv_tensor *x = digits ? digits->x : NULL;
    if (!x || x->ndim != 4 || x->dims[1] != 1 || !digits->y || digits->y->dims[0] != x->dims[0]) {
        fv_err(FV_ERR_SHAPE, "distort: the digits must be (N, 1, H, W) images with labels");
        return NULL;
    }
    int h = (int)x->dims[2], w = (int)x->dims[3];
    if ((int)kind < 0 || kind >= FV_DISTORT__COUNT || h < 2 || w < 2 || h > 1024 || w > 1024) {
        fv_err(FV_ERR_INVALID, "distort: kind %d of %dx%d digits (expected r, rts, p or e of "
               "2..1024 pixels a side)", (int)kind, h, w);
        return NULL;
    }
    int oh = kind == FV_DISTORT_RTS ? RTS_SIDE : h, ow = kind == FV_DISTORT_RTS ? RTS_SIDE : w;
    int64_t n = x->dims[0];
    uint64_t bytes = (uint64_t)n * (uint64_t)oh * (uint64_t)ow * sizeof(float);
    if (fv_data_check("distorted digits", bytes) != FV_OK)
        return NULL;
    fv_tensor *out = fv_tensor_new(4, (int64_t[]){n, 1, oh, ow});
    fv_tensor *y = fv_tensor_clone(digits->y);
    double *scratch = fv_malloc(fv_distort_scratch_bytes(h, w), "distortion scratch");
    for (int64_t i = 0; out && y && scratch && i < n; i++)
        fv_distort_sample(kind, seed, i, x->data + i * h * w, h, w, out->data + i * oh * ow,
                          scratch);
    fv_free(scratch);
    char name[64];
    snprintf(name, sizeof name, "mnist-%s", names[kind]);
    fv_dataset *d = out && y && scratch ? fv_dataset_adopt(out, y, digits->num_classes, name)
                                        : NULL;
    if (!d) {
        fv_tensor_free(out), fv_tensor_free(y);
        return NULL;
    }
    d->class_names = fv_class_names(digits, digits->num_classes);
    return d;
}
