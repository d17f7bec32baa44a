/* test_ops_pool.c - max and average pooling: finite-difference gradient checks of the double
 * kernels (square and non-square windows, strides, padding, odd sizes, batches), PyTorch goldens
 * through a graph (tests/golden/gen_pool_act_bn.py) and through the float kernels for geometries
 * the layer API cannot build (tests/golden/gen_pool.py), max-pool ties and shape errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "io/io.h"
#include "kernels/ref/pool_ref.h"
#include "optest.h"
#include "test.h"

typedef struct pool_ctx {
    fv_pool_geom g;
    int n, is_max;
    double *x;
    int32_t *arg;
} pool_ctx;

static void pool_fwd(void *ctx, double *y)
{
    pool_ctx *c = ctx;
    if (c->is_max)
        fv_ref_maxpool_fwd_f64(&c->g, c->n, c->x, y, c->arg);
    else
        fv_ref_avgpool_fwd_f64(&c->g, c->n, c->x, y);
}

static fv_pool_geom geometry(int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw)
{
    return (fv_pool_geom){.c = c, .h = h, .w = w, .kh = kh, .kw = kw, .sh = sh, .sw = sw,
                          .ph = ph, .pw = pw, .oh = (h + 2 * ph - kh) / sh + 1,
                          .ow = (w + 2 * pw - kw) / sw + 1};
}

/* Distinct inputs (a shuffled ramp), so max pooling has no ties and no kinks nearby. */
static double pool_gradcheck(fv_pool_geom g, int n, int is_max, unsigned *seed)
{
    long nx = (long)n * g.c * g.h * g.w, ny = (long)n * g.c * g.oh * g.ow;
    double *x = malloc(sizeof(double) * (size_t)nx), *dx = calloc((size_t)nx, sizeof(double));
    double *r = malloc(sizeof(double) * (size_t)ny), *y = malloc(sizeof(double) * (size_t)ny);
    int32_t *arg = malloc(sizeof(int32_t) * (size_t)ny);
    for (long i = 0; i < nx; i++)
        x[i] = (double)i / (double)nx;
    for (long i = nx - 1; i > 0; i--) { /* shuffle */
        *seed = *seed * 1103515245u + 12345u;
        long j = (long)((*seed >> 8) % (unsigned)(i + 1));
        double t = x[i];
        x[i] = x[j], x[j] = t;
    }
    gc_fill(r, ny, -1, 1, seed);
    pool_ctx c = {g, n, is_max, x, arg};
    pool_fwd(&c, y);
    if (is_max)
        fv_ref_maxpool_bwd_f64(&g, n, r, arg, dx);
    else
        fv_ref_avgpool_bwd_f64(&g, n, r, dx);
    /* h small against the 1/nx spacing of the ramp: the argmax never changes */
    double err = gc_compare(&c, pool_fwd, x, nx, ny, r, dx, 1e-3 / (double)nx);
    free(x), free(dx), free(r), free(y), free(arg);
    return err;
}

TEST(pool_gradchecks)
{
    const fv_pool_geom geoms[] = {
        geometry(3, 6, 6, 2, 2, 2, 2, 0, 0), geometry(2, 7, 5, 3, 3, 2, 2, 1, 1),
        geometry(2, 5, 6, 3, 3, 1, 1, 0, 0), geometry(1, 7, 5, 2, 3, 1, 2, 1, 1),
        geometry(2, 1, 1, 1, 1, 1, 1, 0, 0), geometry(1, 8, 9, 4, 2, 3, 2, 2, 1),
    };
    unsigned seed = 3;
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++)
        for (int is_max = 0; is_max < 2; is_max++)
            for (int n = 1; n <= 3; n += 2) {
                double err = pool_gradcheck(geoms[i], n, is_max, &seed);
                if (err > GC_TOL)
                    fprintf(stderr, "  geometry %zu max=%d n=%d: %g\n", i, is_max, n, err);
                CHECK(err <= GC_TOL);
            }
}

/* name, max?, kernel, stride, padding: tests/golden/gen_pool_act_bn.py has the same table. */
static const struct {
    const char *name;
    int is_max, k, s, p;
} cases[] = {
    {"pool_max_2x2", 1, 2, 2, 0},     {"pool_max_3x3s2p1", 1, 3, 2, 1},
    {"pool_max_3x3s1", 1, 3, 1, 0},   {"pool_avg_2x2", 0, 2, 2, 0},
    {"pool_avg_3x3s2p1", 0, 3, 2, 1}, {"pool_avg_odd", 0, 2, 2, 0},
    {"pool_max_ties", 1, 2, 2, 0},
};

TEST(pool_matches_pytorch)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/golden/%s.safetensors", cases[i].name);
        fv_st_file *f = fv_st_open(t_src_path(rel));
        fv_tensor *x = f ? fv_st_get(f, "x") : NULL;
        CHECK(x != NULL);
        if (x) {
            fv_model *m = fv_model_new("pooltest");
            int in = fv_input(m, .ndim = 3, .dims = {x->dims[1], x->dims[2], x->dims[3]});
            int out = cases[i].is_max
                          ? fv_maxpool2d(m, in, .size = cases[i].k, .stride = cases[i].s,
                                         .padding = cases[i].p, .name = "pool")
                          : fv_avgpool2d(m, in, .size = cases[i].k, .stride = cases[i].s,
                                         .padding = cases[i].p, .name = "pool");
            ot_golden_layer(m, in, out, cases[i].name, 1e-6, 1e-5);
        }
        fv_tensor_free(x);
        fv_st_close(f);
    }
}

/* Kernel-level goldens (gen_pool.py has the same names); each file carries its geometry. */
static const char *const kcases[] = {
    "pool_k_max_rect", "pool_k_avg_rect", "pool_k_max_tall", "pool_k_avg_tall",
    "pool_k_max_ties", "pool_k_max_2x3",  "pool_k_avg_3x2",
};

/* Runs one case through the float kernels: y, and dx accumulated onto ones (backward is +=). */
static void kernel_golden(const char *name, fv_tensor *x, fv_tensor *y, fv_tensor *dy,
                          fv_tensor *dx, const float *k)
{
    int n = (int)x->dims[0];
    fv_pool_geom g = geometry((int)x->dims[1], (int)x->dims[2], (int)x->dims[3], (int)k[0],
                              (int)k[1], (int)k[2], (int)k[3], (int)k[4], (int)k[5]);
    long ny = (long)n * g.c * g.oh * g.ow, nx = (long)fv_tensor_numel(x);
    CHECK(ny == fv_tensor_numel(y));
    if (ny != fv_tensor_numel(y))
        return;
    float *out = malloc(sizeof(float) * (size_t)ny), *gx = malloc(sizeof(float) * (size_t)nx);
    float *want = malloc(sizeof(float) * (size_t)nx);
    int32_t *arg = malloc(sizeof(int32_t) * (size_t)ny);
    for (long i = 0; i < nx; i++)
        gx[i] = 1, want[i] = dx->data[i] + 1;
    if (strstr(name, "_max_")) {
        fv_ref_maxpool_fwd_f32(&g, n, x->data, out, arg);
        fv_ref_maxpool_bwd_f32(&g, n, dy->data, arg, gx);
    } else {
        fv_ref_avgpool_fwd_f32(&g, n, x->data, out);
        fv_ref_avgpool_bwd_f32(&g, n, dy->data, gx);
    }
    CHECK_ARRAY_NEAR(out, y->data, ny, 1e-6, 1e-5);
    CHECK_ARRAY_NEAR(gx, want, nx, 1e-6, 1e-5);
    free(out), free(gx), free(want), free(arg);
}

/* The same case through a graph when the layer API can express it: one padding, and one stride
 * or the window's own size per axis. */
static void graph_golden(const char *name, const fv_tensor *x, const float *k)
{
    int kh = (int)k[0], kw = (int)k[1], sh = (int)k[2], sw = (int)k[3], p = (int)k[4];
    if ((int)k[5] != p || (sh != sw && (sh != kh || sw != kw)))
        return;
    fv_model *m = fv_model_new("pooltest");
    int in = fv_input(m, .ndim = 3, .dims = {x->dims[1], x->dims[2], x->dims[3]});
    int stride = sh == sw ? sh : 0;
    int out = strstr(name, "_max_") ? fv_maxpool2d(m, in, .size_h = kh, .size_w = kw,
                                                   .stride = stride, .padding = p)
                                    : fv_avgpool2d(m, in, .size_h = kh, .size_w = kw,
                                                   .stride = stride, .padding = p);
    ot_golden_layer(m, in, out, name, 1e-6, 1e-5);
}

TEST(pool_geometries_match_pytorch)
{
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/golden/%s.safetensors", kcases[i]);
        fv_st_file *f = fv_st_open(t_src_path(rel));
        CHECK(f != NULL);
        if (!f)
            continue;
        fv_tensor *x = fv_st_get(f, "x"), *y = fv_st_get(f, "y"), *dy = fv_st_get(f, "dy");
        fv_tensor *dx = fv_st_get(f, "dx"), *k = fv_st_get(f, "geom");
        CHECK(x && y && dy && dx && k && x->ndim == 4 && fv_tensor_numel(k) == 6);
        if (x && y && dy && dx && k && x->ndim == 4 && fv_tensor_numel(k) == 6) {
            kernel_golden(kcases[i], x, y, dy, dx, k->data);
            graph_golden(kcases[i], x, k->data);
        }
        fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(dy), fv_tensor_free(dx);
        fv_tensor_free(k);
        fv_st_close(f);
    }
}

TEST(pool_shapes_and_errors)
{
    fv_model *m = fv_model_new("p");
    int x = fv_input(m, .ndim = 3, .dims = {3, 7, 5});
    int p = fv_maxpool2d(m, x, .size = 3, .stride = 2, .padding = 1);
    int64_t d[4];
    CHECK(p > 0 && fv_node_shape(m, p, d) == 3 && d[0] == 3 && d[1] == 4 && d[2] == 3);
    CHECK(fv_avgpool2d(m, x, .size = 8, .name = "big") < 0);
    CHECK_ERR_HAS("layer 'big': a 8x8 window does not fit input 'input1' (None, 3, 7, 5)");
    int v = fv_input(m, .ndim = 1, .dims = {10}, .name = "vec");
    CHECK(fv_maxpool2d(m, v, .name = "flatpool") < 0);
    CHECK_ERR_HAS("layer 'flatpool': pooling needs a (channels, height, width) input");
    CHECK(fv_maxpool2d(m, x, .size = 2, .padding = 2) < 0);
    CHECK_ERR_HAS("padding=2 must be between 0 and half the window");
    fv_model_free(m);
}

/* The 2x2 stride-2 straight path gives the general kernel's values and switches bit for bit:
 * inputs drawn from a few values (ties everywhere), signed zeros, infinities and NaN, even and odd
 * sizes (the last row and column dropped). */
TEST(maxpool_2x2_path_matches_general)
{
    const float pick[] = {0.0f, -0.0f, 1.0f, -1.0f, 2.5f, INFINITY, -INFINITY, NAN, 0.25f, 3.0f};
    const int sizes[][2] = {{2, 2}, {4, 6}, {7, 5}, {28, 28}, {3, 9}, {10, 10}};
    unsigned seed = 9;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int rare = 0; rare < 2; rare++) { /* rare: NaN and infinities only now and then */
            fv_pool_geom g = geometry(3, sizes[s][0], sizes[s][1], 2, 2, 2, 2, 0, 0);
            int n = 2, nx = n * g.c * g.h * g.w, ny = n * g.c * g.oh * g.ow;
            float *x = malloc(sizeof(float) * (size_t)nx), *y[2];
            double *xd = malloc(sizeof(double) * (size_t)nx), *yd[2];
            int32_t *arg[2], *argd[2];
            for (int k = 0; k < 2; k++) {
                y[k] = malloc(sizeof(float) * (size_t)ny);
                yd[k] = malloc(sizeof(double) * (size_t)ny);
                arg[k] = malloc(sizeof(int32_t) * (size_t)ny);
                argd[k] = malloc(sizeof(int32_t) * (size_t)ny);
            }
            for (int i = 0; i < nx; i++) {
                seed = seed * 1103515245u + 12345u;
                unsigned r = (seed >> 8) % (rare ? 100u : 10u);
                x[i] = r < 5 || r >= 10 ? pick[r % 5] : pick[r]; /* 5..9: the specials */
                xd[i] = x[i];
            }
            fv_ref_maxpool_fwd_f32(&g, n, x, y[0], arg[0]);
            fv_ref_maxpool_fwd_2x2_f32(&g, n, x, y[1], arg[1]);
            fv_ref_maxpool_fwd_f64(&g, n, xd, yd[0], argd[0]);
            fv_ref_maxpool_fwd_2x2_f64(&g, n, xd, yd[1], argd[1]);
            CHECK(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
            CHECK(memcmp(arg[0], arg[1], sizeof(int32_t) * (size_t)ny) == 0);
            CHECK(memcmp(yd[0], yd[1], sizeof(double) * (size_t)ny) == 0);
            CHECK(memcmp(argd[0], argd[1], sizeof(int32_t) * (size_t)ny) == 0);
            free(x), free(xd);
            for (int k = 0; k < 2; k++)
                free(y[k]), free(yd[k]), free(arg[k]), free(argd[k]);
        }
}

/* NaN wins a max-pool window, as in PyTorch, rather than being silently skipped; among several
 * NaNs the last one wins (PyTorch 1.13's CPU kernel routes the gradient there). */
TEST(maxpool_propagates_nan)
{
    fv_pool_geom g = geometry(1, 2, 2, 2, 2, 2, 2, 0, 0);
    float x[4] = {1, NAN, 3, 2}, x2[4] = {NAN, 1, NAN, 2}, y;
    int32_t arg;
    fv_ref_maxpool_fwd_f32(&g, 1, x, &y, &arg);
    CHECK(isnan(y) && arg == 1);
    fv_ref_maxpool_fwd_2x2_f32(&g, 1, x, &y, &arg);
    CHECK(isnan(y) && arg == 1);
    fv_ref_maxpool_fwd_f32(&g, 1, x2, &y, &arg);
    CHECK(isnan(y) && arg == 2);
    fv_ref_maxpool_fwd_2x2_f32(&g, 1, x2, &y, &arg);
    CHECK(isnan(y) && arg == 2);
}

int main(void)
{
    RUN(pool_gradchecks);
    RUN(pool_matches_pytorch);
    RUN(pool_geometries_match_pytorch);
    RUN(pool_shapes_and_errors);
    RUN(maxpool_2x2_path_matches_general);
    RUN(maxpool_propagates_nan);
    TEST_MAIN_END();
}
