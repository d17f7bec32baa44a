/* test_conv_fast.c - the conv2d op's float convolution (kernels/conv_fast.c) against the direct
 * reference: forward with a bias epilogue and backward (dx, dw, db accumulated onto nonzero
 * values; dx also written over stale values) over strides, padding, dilation, 1x1 kernels, 1x1 and 2x2 maps and channel counts
 * that are not multiples of the vector width; batches of 1, 5 and 37 samples, so that samples
 * are lowered together in full and partial chunks, and a 3x3 layer large enough to take the
 * Winograd path in every pass, also with the weights transformed beforehand in parts (as the
 * conv2d op shares them between workers), at every instruction-set level this CPU has; im2col /
 * col2im with a row stride against the reference's. */
#include "isa_levels.h"
#include "kernels/conv_fast.h"
#include "kernels/winograd.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct geo {
    int c, h, w, f, k, s, p, d;
} geo;

static const geo geos[] = {
    {3, 8, 7, 5, 3, 1, 1, 1},  {17, 5, 5, 33, 3, 1, 0, 1}, {4, 9, 10, 6, 3, 2, 1, 1},
    {5, 7, 7, 3, 3, 1, 2, 2},  {7, 4, 4, 9, 1, 1, 0, 1},   {6, 1, 1, 13, 3, 1, 1, 1},
    {2, 2, 2, 3, 3, 1, 1, 1},  {1, 12, 12, 6, 5, 1, 2, 1}, {16, 6, 6, 20, 1, 2, 0, 1},
    {16, 12, 12, 24, 3, 1, 1, 1}, /* Winograd in every pass at 37 samples */
};

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static float *rnd(int64_t n, unsigned *seed)
{
    float *a = malloc(sizeof(float) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        a[i] = frand(seed);
    return a;
}

/* |a - b| <= tol (1 + |b|) everywhere */
static int near(const float *a, const float *b, int64_t n, double tol, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs((double)a[i] - b[i]) <= tol * (1 + fabs((double)b[i])))) {
            fprintf(stderr, "  %s[%lld]: %.8g want %.8g\n", what, (long long)i, a[i], b[i]);
            return 0;
        }
    return 1;
}

static fv_conv_geom make(const geo *q)
{
    fv_conv_geom g = {.c = q->c, .h = q->h, .w = q->w, .f = q->f, .kh = q->k, .kw = q->k,
                      .sh = q->s, .sw = q->s, .ph = q->p, .pw = q->p, .dh = q->d, .dw = q->d,
                      .groups = 1};
    fv_conv_geom_init(&g);
    return g;
}

/* u = w transformed for the forward pass (backward 0) or the input gradient (1), in three parts
 * of the input channels. */
static float *transformed(const float *w, const fv_conv_geom *g, int backward)
{
    float *u = malloc(sizeof(float) * fv_winograd_weight_floats(g));
    int cin = fv_winograd_in_channels(g, backward);
    for (int part = 0; part < 3; part++)
        fv_winograd_weights_part_f32(w, g, backward, cin * part / 3, cin * (part + 1) / 3, u);
    return u;
}

/* shared: the weights transformed beforehand (Winograd layers only); dx_set: dx written over
 * NaN (stale values) instead of accumulated onto. */
static int check(const geo *q, int n, int shared, int dx_set, unsigned *seed)
{
    fv_conv_geom g = make(q);
    int64_t nx = (int64_t)n * g.c * g.h * g.w, nw = (int64_t)g.f * g.c * g.kh * g.kw;
    int64_t ny = (int64_t)n * g.f * g.oh * g.ow;
    float *x = rnd(nx, seed), *w = rnd(nw, seed), *b = rnd(g.f, seed), *dy = rnd(ny, seed);
    float *y = rnd(ny, seed), *yr = rnd(ny, seed), *dx = rnd(nx, seed), *dxr = malloc(sizeof(float) * (size_t)nx);
    float *dw = rnd(nw, seed), *dwr = malloc(sizeof(float) * (size_t)nw);
    float *db = rnd(g.f, seed), *dbr = malloc(sizeof(float) * (size_t)g.f);
    int64_t ns = fv_conv_fast_scratch(&g, n), nwork = (int64_t)fv_winograd_work_floats(&g, n);
    float *scratch = malloc(sizeof(float) * (size_t)(shared && nwork > ns ? nwork : ns));
    memcpy(dxr, dx, sizeof(float) * (size_t)nx), memcpy(dwr, dw, sizeof(float) * (size_t)nw);
    memcpy(dbr, db, sizeof(float) * (size_t)g.f);
    for (int64_t i = 0; dx_set && i < nx; i++)
        dx[i] = NAN, dxr[i] = 0.0f;
    fv_conv_epilogue e = {.shift = b};
    float *uf = shared ? transformed(w, &g, 0) : NULL, *ub = shared ? transformed(w, &g, 1) : NULL;
    fv_conv_fast_fwd(x, w, uf, &e, y, n, &g, scratch);
    fv_ref_conv2d_fwd_f32(x, w, b, yr, n, &g);
    fv_conv_fast_bwd(x, w, ub, dy, dx, dx_set, dw, db, n, &g, scratch);
    fv_ref_conv2d_bwd_f32(x, w, dy, dxr, dwr, dbr, n, &g);
    /* sums of up to c k k (forward), f k k (dx) or n oh ow (dw) products of values in [-1, 1];
     * Winograd's error scales with the sum of |w x| over a tile (about c k k / 4 here) */
    int wino = shared || fv_winograd_wins(&g, n, 0, 0);
    double t = wino ? 1e-4 : 1e-5, tw = wino ? 1e-3 : 1e-4; /* dw: 5328 products here */
    int ok = near(y, yr, ny, t, "y") && near(dx, dxr, nx, t, "dx") &&
             near(dw, dwr, nw, tw, "dw") && near(db, dbr, g.f, tw, "db"); /* db: as many terms */
    if (!ok)
        fprintf(stderr, "  %s: c%d %dx%d f%d k%d s%d p%d d%d, n=%d (chunk %d)%s%s\n", t_isa_name(),
                q->c, q->h, q->w, q->f, q->k, q->s, q->p, q->d, n, fv_conv_chunk(&g, n),
                shared ? ", weights transformed beforehand" : "", dx_set ? ", dx set" : "");
    free(x), free(w), free(b), free(dy), free(y), free(yr), free(dx), free(dxr), free(dw);
    free(dwr), free(db), free(dbr), free(scratch), free(uf), free(ub);
    return ok;
}

/* At one instruction-set level. */
static void fast_convolution_at_level(void)
{
    static const int batches[] = {1, 5, 37};
    unsigned seed = 11;
    int chunked = 0, wino = 0, shared = 0;
    for (size_t i = 0; i < sizeof geos / sizeof geos[0]; i++)
        for (int b = 0; b < 3; b++) {
            fv_conv_geom g = make(&geos[i]);
            chunked += fv_conv_chunk(&g, batches[b]) > 1;
            for (int pass = 0; pass < 3; pass++)
                wino += fv_winograd_wins(&g, batches[b], pass, 0);
            for (int set = 0; set < 2; set++) {
                CHECK(check(&geos[i], batches[b], 0, set, &seed));
                if (fv_winograd_wins(&g, batches[b], 0, 1)) {
                    CHECK(check(&geos[i], batches[b], 1, set, &seed));
                    shared++;
                }
            }
        }
    CHECK(chunked > 5); /* the batched lowering was exercised */
    if (wino != 3)
        fprintf(stderr, "  winograd passes: %d\n", wino);
    CHECK(wino == 3);  /* and Winograd in each pass */
    CHECK(shared > 0); /* and with the weights transformed beforehand */
}

/* At every level this CPU has (the GEMM's, the transforms' and the epilogue's). */
TEST(fast_convolution_matches_reference)
{
    for (int l = t_isa_first(FV_KF_GEMM); l >= 0; l = t_isa_next(FV_KF_GEMM, l))
        fast_convolution_at_level();
}

TEST(strided_im2col_matches_reference)
{
    unsigned seed = 3;
    for (size_t i = 0; i < sizeof geos / sizeof geos[0]; i++) {
        fv_conv_geom g = make(&geos[i]);
        int64_t ohw = (int64_t)g.oh * g.ow, rows = fv_conv_col_rows(&g), ld = ohw + 5;
        int64_t nx = (int64_t)g.c * g.h * g.w;
        float *x = rnd(nx, &seed), *col = rnd(rows * ld, &seed), *ref = rnd(rows * ohw, &seed);
        fv_im2col_ld_f32(x, &g, g.c, col, ld);
        fv_im2col_f32(x, &g, g.c, ref);
        int ok = 1;
        for (int64_t r = 0; r < rows; r++)
            ok &= memcmp(col + r * ld, ref + r * ohw, sizeof(float) * (size_t)ohw) == 0;
        float *a = rnd(nx, &seed), *bref = malloc(sizeof(float) * (size_t)nx);
        memcpy(bref, a, sizeof(float) * (size_t)nx);
        fv_col2im_ld_f32(col, &g, g.c, ld, a);
        fv_col2im_f32(ref, &g, g.c, bref);
        ok &= memcmp(a, bref, sizeof(float) * (size_t)nx) == 0;
        CHECK(ok);
        free(x), free(col), free(ref), free(a), free(bref);
    }
}

int main(void)
{
    RUN(fast_convolution_matches_reference);
    RUN(strided_im2col_matches_reference);
    TEST_MAIN_END();
}
