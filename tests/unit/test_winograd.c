/* test_winograd.c - the Winograd F(4x4, 3x3) convolution against the double reference convolution:
 * forward, input gradient (added into dx) and weight and bias gradients (added into dw, db), for
 * every instruction-set level this CPU has (the transforms' and fv_sgemm's): odd extents (not
 * multiples of the tile), 1x1 and 2x2 inputs with padding, batch 1, 1, 3 and 17 channels,
 * padding 0 to 3 (3: the gradient's correlation crops), unequal padding, a chunk spanning
 * samples, chunks that end inside a tile row, channels enough to halve the chunk. Each output's
 * error is held to TOL times the largest sum |w| |x| + |b| (dx: sum |w| |dy| + |dx before|) over
 * its 4x4 output tile: Winograd's rounding spreads over the tile, so an output whose own window
 * is small (zeros, padding) next to large ones only meets the tile's bound; dw's to TOL times the
 * largest sum |dy| |x| + |dw before| over its 3x3 kernel. Nothing is written past the outputs or
 * past the scratch the size functions give; the cached-weights entry points give the same bits;
 * the work space never shrinks as the batch grows; the rules' logic. */
#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/conv_ref.h"
#include "kernels/winograd.h"
#include "test.h"

#include <stdint.h>

/* Relative bound (to the tile's largest sum |w| |x|): F(4x4, 3x3) amplifies rounding by its
 * transform constants (up to 8 in A, 5 in B); the worst seen over these cases is printed. */
#define TOL 1e-5
#define GUARD 64 /* floats after every output and scratch buffer, checked untouched */
#define GUARD_VAL 12345.0f

typedef struct wcase {
    int n, c, f, h, w, ph, pw;
} wcase;

static const wcase cases[] = {
    {1, 1, 1, 1, 1, 1, 1},    /* 1x1 input, padding 1: one output */
    {2, 3, 1, 2, 2, 1, 1},    /* 2x2 input, padding 1 */
    {1, 1, 3, 2, 2, 2, 2},    /* padding 2: 4x4 output, gradient unpadded */
    {1, 17, 3, 5, 7, 0, 0},   /* 3x5 output: partial tiles */
    {3, 3, 17, 9, 6, 1, 1},
    {2, 17, 17, 11, 13, 2, 2},
    {1, 4, 5, 3, 3, 0, 0},    /* 1x1 output */
    {2, 5, 3, 6, 10, 1, 0},   /* unequal padding */
    {1, 2, 3, 4, 5, 0, 2},
    {2, 3, 2, 7, 3, 3, 3},    /* padding 3: the gradient crops */
    {1, 3, 17, 32, 32, 0, 0}, /* the Keras CNN's first layer shape, batch 1 */
    {3, 50, 50, 26, 26, 0, 0}, /* 108 tiles, one chunk padded to 112 */
    {7, 40, 30, 5, 9, 1, 1},  /* a chunk spanning samples */
    {6, 3, 5, 30, 30, 0, 0},  /* 294 tiles in two chunks: the first ends inside a tile row */
    {140, 240, 240, 3, 3, 0, 0}, /* 480 channels: chunks of at most 128 tiles */
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static void fill(float *p, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static double *to_f64(const float *s, int64_t n, int absolute)
{
    double *d = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++)
        d[i] = absolute ? fabs((double)s[i]) : (double)s[i];
    return d;
}

static float *alloc_guarded(int64_t n)
{
    float *p = malloc(sizeof(float) * (size_t)(n + GUARD));
    for (int i = 0; i < GUARD; i++)
        p[n + i] = GUARD_VAL;
    return p;
}

static int guard_intact(const float *p, int64_t n)
{
    for (int i = 0; i < GUARD; i++)
        if (p[n + i] != GUARD_VAL)
            return 0;
    return 1;
}

/* Largest |got - want| / scale over n values (scale > 0 everywhere). */
static double worst_ratio(const float *got, const double *want, const double *scale, int64_t n)
{
    double worst = 0;
    for (int64_t i = 0; i < n; i++) {
        double r = fabs((double)got[i] - want[i]) / scale[i];
        if (!(r <= worst))
            worst = isnan(r) ? INFINITY : r;
    }
    return worst;
}

static double g_worst_fwd, g_worst_bwd, g_worst_dw;

/* s (planes of h x w) = the maximum of s over each 4x4 tile (from the origin) of its plane. */
static void tile_max(double *s, int64_t planes, int h, int w)
{
    for (int64_t p = 0; p < planes; p++, s += (int64_t)h * w)
        for (int i0 = 0; i0 < h; i0 += 4)
            for (int j0 = 0; j0 < w; j0 += 4) {
                double m = 0;
                for (int i = i0; i < h && i < i0 + 4; i++)
                    for (int j = j0; j < w && j < j0 + 4; j++)
                        m = fmax(m, s[i * w + j]);
                for (int i = i0; i < h && i < i0 + 4; i++)
                    for (int j = j0; j < w && j < j0 + 4; j++)
                        s[i * w + j] = m;
            }
}

/* s[i] = the maximum of s over its group of 9 (one 3x3 kernel). */
static void kernel_max(double *s, int64_t kernels)
{
    for (int64_t k = 0; k < kernels; k++, s += 9) {
        double m = 0;
        for (int i = 0; i < 9; i++)
            m = fmax(m, s[i]);
        for (int i = 0; i < 9; i++)
            s[i] = m;
    }
}

/* The references of one case: y, its scale (sum |w| |x| + |b|, maximum over the output's tile);
 * dx = dx0 + the gradient, its scale (sum |w| |dy| + |dx0|, maximum over the tile); dw = dw0 +
 * the gradient, its scale (sum |dy| |x| + |dw0|, maximum over the kernel); db alike. */
typedef struct refs {
    double *y, *ys, *dx, *dxs, *dw, *dws, *db, *dbs;
} refs;

static refs make_refs(const wcase *k, const fv_conv_geom *g, const float *x, const float *w,
                      const float *b, const float *dy, const float *dx0, const float *dw0,
                      const float *db0)
{
    int64_t nx = (int64_t)k->n * k->c * k->h * k->w, ny = (int64_t)k->n * k->f * g->oh * g->ow;
    int64_t nw = (int64_t)k->f * k->c * 9;
    double *xd = to_f64(x, nx, 0), *wd = to_f64(w, nw, 0), *bd = to_f64(b, k->f, 0);
    double *dyd = to_f64(dy, ny, 0), *xa = to_f64(x, nx, 1), *wa = to_f64(w, nw, 1);
    double *ba = to_f64(b, k->f, 1), *dya = to_f64(dy, ny, 1);
    refs r = {malloc(sizeof(double) * ny), malloc(sizeof(double) * ny), to_f64(dx0, nx, 0),
              to_f64(dx0, nx, 1), to_f64(dw0, nw, 0), to_f64(dw0, nw, 1), to_f64(db0, k->f, 0),
              to_f64(db0, k->f, 1)};
    fv_ref_conv2d_fwd_f64(xd, wd, bd, r.y, k->n, g);
    fv_ref_conv2d_fwd_f64(xa, wa, ba, r.ys, k->n, g);
    fv_ref_conv2d_bwd_f64(xd, wd, dyd, r.dx, r.dw, r.db, k->n, g);
    fv_ref_conv2d_bwd_f64(xa, wa, dya, r.dxs, r.dws, r.dbs, k->n, g);
    kernel_max(r.dws, nw / 9);
    tile_max(r.ys, (int64_t)k->n * k->f, g->oh, g->ow);
    tile_max(r.dxs, (int64_t)k->n * k->c, k->h, k->w);
    free(xd), free(wd), free(bd), free(dyd), free(xa), free(wa), free(ba), free(dya);
    return r;
}

/* One case under the current variants: forward and input gradient within TOL, guards intact. */
typedef struct inputs {
    const float *x, *w, *b, *dy, *dx0, *dw0, *db0;
} inputs;

/* One case under the current variants: forward, input and weight gradients within TOL, guards
 * intact. */
static void run_case(const wcase *k, const fv_conv_geom *g, const inputs *in, const refs *r)
{
    int64_t nx = (int64_t)k->n * k->c * k->h * k->w, ny = (int64_t)k->n * k->f * g->oh * g->ow;
    int64_t nw = (int64_t)k->f * k->c * 9, ns = (int64_t)fv_winograd_scratch_floats(g, k->n);
    float *y = alloc_guarded(ny), *dx = alloc_guarded(nx), *scratch = alloc_guarded(ns);
    float *dw = alloc_guarded(nw), *db = alloc_guarded(k->f);
    for (int64_t i = 0; i < ny; i++)
        y[i] = NAN; /* overwritten, never read */
    fv_winograd_fwd_f32(in->x, in->w, in->b, y, k->n, g, scratch);
    memcpy(dx, in->dx0, sizeof(float) * (size_t)nx);
    fv_winograd_bwd_data_f32(in->w, in->dy, dx, k->n, g, scratch);
    memcpy(dw, in->dw0, sizeof(float) * (size_t)nw);
    memcpy(db, in->db0, sizeof(float) * (size_t)k->f);
    fv_winograd_bwd_weights_f32(in->x, in->dy, dw, db, k->n, g, scratch);
    double ef = worst_ratio(y, r->y, r->ys, ny), eb = worst_ratio(dx, r->dx, r->dxs, nx);
    double ew = fmax(worst_ratio(dw, r->dw, r->dws, nw), worst_ratio(db, r->db, r->dbs, k->f));
    g_worst_fwd = fmax(g_worst_fwd, ef), g_worst_bwd = fmax(g_worst_bwd, eb);
    g_worst_dw = fmax(g_worst_dw, ew);
    int guards = guard_intact(y, ny) && guard_intact(dx, nx) && guard_intact(scratch, ns) &&
                 guard_intact(dw, nw) && guard_intact(db, k->f);
    if (!(ef <= TOL && eb <= TOL && ew <= TOL) || !guards) {
        fprintf(stderr, "  %s n=%d c=%d f=%d %dx%d p=%d,%d: fwd %.3g dx %.3g dw %.3g%s\n",
                t_isa_name(), k->n, k->c, k->f, k->h, k->w, k->ph, k->pw, ef, eb, ew,
                guards ? "" : " (wrote past a buffer)");
        t_cur_failed = 1;
    }
    free(y), free(dx), free(scratch), free(dw), free(db);
}

static void check_case(const wcase *k)
{
    fv_conv_geom g = {.c = k->c, .h = k->h, .w = k->w, .f = k->f, .kh = 3, .kw = 3, .sh = 1,
                      .sw = 1, .ph = k->ph, .pw = k->pw, .dh = 1, .dw = 1, .groups = 1};
    CHECK(fv_conv_geom_init(&g) && fv_winograd_applies(&g));
    int64_t nx = (int64_t)k->n * k->c * k->h * k->w, ny = (int64_t)k->n * k->f * g.oh * g.ow;
    int64_t nw = (int64_t)k->f * k->c * 9;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw);
    float *b = malloc(sizeof(float) * k->f), *dy = malloc(sizeof(float) * ny);
    float *dx0 = malloc(sizeof(float) * nx), *dw0 = malloc(sizeof(float) * nw);
    float *db0 = malloc(sizeof(float) * k->f);
    unsigned seed = (unsigned)(k->n * 7 + k->c * 131 + k->f * 17 + k->h * 3 + k->w + k->ph);
    fill(x, nx, &seed), fill(w, nw, &seed), fill(b, k->f, &seed), fill(dy, ny, &seed);
    fill(dx0, nx, &seed), fill(dw0, nw, &seed), fill(db0, k->f, &seed);
    refs r = make_refs(k, &g, x, w, b, dy, dx0, dw0, db0);
    inputs in = {x, w, b, dy, dx0, dw0, db0};
    for (int l = t_isa_first(FV_KF_WINOGRAD); l >= 0; l = t_isa_next(FV_KF_WINOGRAD, l))
        run_case(k, &g, &in, &r);
    free(x), free(w), free(b), free(dy), free(dx0), free(dw0), free(db0);
    free(r.y), free(r.ys), free(r.dx), free(r.dxs), free(r.dw), free(r.dws), free(r.db);
    free(r.dbs);
}

TEST(matches_reference)
{
    for (int i = 0; i < NCASES; i++)
        check_case(&cases[i]);
    printf("worst error / scale: forward %.3g, input gradient %.3g, weight gradient %.3g (bound "
           "%g)\n", g_worst_fwd, g_worst_bwd, g_worst_dw, TOL);
}

/* The entry points with weights transformed beforehand give the same bits as the one-call ones,
 * in a work space of fv_winograd_work_floats. */
TEST(cached_weights_same_bits)
{
    wcase k = {3, 5, 7, 10, 9, 1, 1};
    fv_conv_geom g = {.c = k.c, .h = k.h, .w = k.w, .f = k.f, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
    CHECK(fv_conv_geom_init(&g));
    int64_t nx = (int64_t)k.n * k.c * k.h * k.w, ny = (int64_t)k.n * k.f * g.oh * g.ow;
    int64_t nw = (int64_t)k.f * k.c * 9, nu = (int64_t)fv_winograd_weight_floats(&g);
    int64_t nwork = (int64_t)fv_winograd_work_floats(&g, k.n);
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw);
    float *b = malloc(sizeof(float) * k.f), *dy = malloc(sizeof(float) * ny);
    float *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
    float *dx1 = calloc(nx, sizeof(float)), *dx2 = calloc(nx, sizeof(float));
    float *scratch = malloc(sizeof(float) * fv_winograd_scratch_floats(&g, k.n));
    float *u = malloc(sizeof(float) * nu), *work = alloc_guarded(nwork);
    unsigned seed = 99;
    fill(x, nx, &seed), fill(w, nw, &seed), fill(b, k.f, &seed), fill(dy, ny, &seed);
    fv_winograd_fwd_f32(x, w, b, y1, k.n, &g, scratch);
    fv_winograd_weights_f32(w, &g, 0, u);
    fv_winograd_fwd_u_f32(x, u, b, y2, k.n, &g, work);
    CHECK(memcmp(y1, y2, sizeof(float) * ny) == 0);
    fv_winograd_bwd_data_f32(w, dy, dx1, k.n, &g, scratch);
    fv_winograd_weights_f32(w, &g, 1, u);
    fv_winograd_bwd_data_u_f32(u, dy, dx2, k.n, &g, 1, work);
    CHECK(memcmp(dx1, dx2, sizeof(float) * nx) == 0);
    for (int64_t i = 0; i < nx; i++) /* acc 0: written over stale values, the same bits (0 + v) */
        dx2[i] = NAN;
    fv_winograd_bwd_data_u_f32(u, dy, dx2, k.n, &g, 0, work);
    CHECK(memcmp(dx1, dx2, sizeof(float) * nx) == 0);
    CHECK(guard_intact(work, nwork));
    /* the work space covers every smaller batch and stops growing once a chunk is full */
    for (int n = 2; n <= 300; n++)
        CHECK(fv_winograd_work_floats(&g, n) >= fv_winograd_work_floats(&g, n - 1));
    CHECK(fv_winograd_work_floats(&g, 1000) == fv_winograd_work_floats(&g, 100000));
    free(x), free(w), free(b), free(dy), free(y1), free(y2), free(dx1), free(dx2);
    free(scratch), free(u), free(work);
}

TEST(applies)
{
    fv_conv_geom g = {.c = 4, .h = 8, .w = 8, .f = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
    fv_conv_geom_init(&g);
    CHECK(fv_winograd_applies(&g));
    fv_conv_geom s = g;
    s.sh = 2, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_applies(&s));
    s = g, s.dw = 2, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_applies(&s));
    s = g, s.groups = 2, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_applies(&s));
    s = g, s.kh = 5, s.kw = 5, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_applies(&s));
    s = g, s.kw = 1, s.pw = 0, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_applies(&s));
    s = g, s.h = 1, s.ph = 0, fv_conv_geom_init(&s); /* empty output */
    CHECK(!fv_winograd_applies(&s));
    s = g, s.h = 1, s.w = 1, fv_conv_geom_init(&s); /* 1x1 with padding 1 */
    CHECK(fv_winograd_applies(&s));
}

/* The speed rule's logic (not its measurements): it implies applies, refuses few channels and
 * few tiles, takes the ResNet and Keras layers the benchmark shows winning. */
TEST(wins_rule)
{
    fv_conv_geom g = {.c = 64, .h = 56, .w = 56, .f = 64, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
    fv_conv_geom_init(&g);
    CHECK(fv_winograd_wins(&g, 1, 0, 0) && fv_winograd_wins(&g, 1, 1, 0));
    CHECK(!fv_winograd_wins(&g, 0, 0, 1));
    fv_conv_geom s = g;
    s.sh = s.sw = 2, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_wins(&s, 16, 0, 1));
    s = g, s.c = 3, fv_conv_geom_init(&s); /* the first layer */
    CHECK(!fv_winograd_wins(&s, 32, 0, 1));
    s = g, s.c = s.f = 512, s.h = s.w = 7, fv_conv_geom_init(&s); /* 4 tiles a sample */
    CHECK(!fv_winograd_wins(&s, 1, 0, 1) && fv_winograd_wins(&s, 16, 0, 0));
    CHECK(!fv_winograd_wins(&s, 4, 1, 0) && fv_winograd_wins(&s, 4, 1, 1));
    /* Keras 32 -> 64 on 14x14, unpadded: forward yes; the gradient's 14x14 tiles cover poorly */
    s = g, s.c = 32, s.h = s.w = 14, s.ph = s.pw = 0, fv_conv_geom_init(&s);
    CHECK(fv_winograd_wins(&s, 32, 0, 0) && !fv_winograd_wins(&s, 32, 1, 1));
    CHECK(fv_winograd_wins(&s, 32, 2, 0));
    /* weight gradient of 14x14 maps (4x4 tiles cover 77 %): 64 tiles no, 256 yes */
    s = g, s.c = s.f = 256, s.h = s.w = 14, fv_conv_geom_init(&s);
    CHECK(!fv_winograd_wins(&s, 4, 2, 0) && fv_winograd_wins(&s, 16, 2, 0));
}

int main(void)
{
    RUN(matches_reference);
    RUN(cached_weights_same_bits);
    RUN(applies);
    RUN(wins_rule);
    TEST_MAIN_END();
}
