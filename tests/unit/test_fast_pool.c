/* test_fast_pool.c - the vectorized max pooling forwards (kernels/pool.c) against the scalar
 * reference (kernels/ref/pool_ref.inc), at every instruction-set level this CPU has: values and
 * switches bit-identical on odd shapes (every row length from 1 to 35 outputs, odd heights and
 * widths, 1x1 planes, batch 1), with ties, signed zeros, infinities and NaNs with distinct
 * payloads; the 2x2 kernel and the general one over windows, strides, padding (windows wholly in
 * the padding too) and ceil mode's partial windows. */
#include "isa_levels.h"
#include "kernels/eltwise.h"
#include "kernels/ref/pool_ref.h"
#include "test.h"

#include <stdint.h>

/* Each instruction-set level this CPU has (isa_levels.h); the level in force is restored after. */
#define FOR_EACH_ISA(v) for (int v = t_isa_first(FV_KF_POOL); v >= 0; v = t_isa_next(FV_KF_POOL, v))

static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

/* A NaN whose payload tells which one it is (the reference keeps the winner's bits). */
static float nan_with(unsigned payload)
{
    uint32_t u = 0x7FC00000u | (payload & 0x3FFFFFu);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Few distinct values (ties), signed zeros, infinities and, with probability nan_pct %, NaNs. */
static void fill_special(float *v, int64_t n, int nan_pct, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        unsigned r = next(seed) % 100;
        if ((int)r < nan_pct)
            v[i] = (next(seed) & 1 ? 1 : -1) * nan_with(next(seed));
        else if (r < 10)
            v[i] = r & 1 ? 0.0f : -0.0f;
        else if (r < 13)
            v[i] = r & 1 ? INFINITY : -INFINITY;
        else
            v[i] = (float)((int)(next(seed) % 7) - 3) * 0.5f;
    }
}

static fv_pool_geom geometry(int c, int h, int w, int k, int s, int p, int ceil_mode)
{
    int span_h = h + 2 * p - k, span_w = w + 2 * p - k;
    int oh = (ceil_mode ? (span_h + s - 1) / s : span_h / s) + 1;
    int ow = (ceil_mode ? (span_w + s - 1) / s : span_w / s) + 1;
    if (ceil_mode && (oh - 1) * s >= h + p) /* as the op: the last window starts inside */
        oh--;
    if (ceil_mode && (ow - 1) * s >= w + p)
        ow--;
    return (fv_pool_geom){.c = c, .h = h, .w = w, .oh = oh, .ow = ow, .kh = k, .kw = k, .sh = s,
                          .sw = s, .ph = p, .pw = p};
}

/* Bitwise equality of n 32-bit values; reports the first difference. */
static int same_bits(const void *a, const void *b, int64_t n, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (memcmp((const char *)a + 4 * i, (const char *)b + 4 * i, 4) != 0) {
            uint32_t x, y;
            memcpy(&x, (const char *)a + 4 * i, 4), memcpy(&y, (const char *)b + 4 * i, 4);
            fprintf(stderr, "  [%s] %s differs at %ld: %08x vs %08x\n", t_isa_name(), what,
                    (long)i, x, y);
            return 0;
        }
    return 1;
}

/* The 2x2 kernel (and the general one on the same geometry) against both reference forwards. */
static int check_2x2(int n, int c, int h, int w, int nan_pct, unsigned *seed)
{
    fv_pool_geom g = geometry(c, h, w, 2, 2, 0, 0);
    int64_t nx = (int64_t)n * c * h * w, ny = (int64_t)n * c * g.oh * g.ow;
    float *x = malloc(sizeof(float) * nx), *y0 = malloc(sizeof(float) * ny);
    float *y1 = malloc(sizeof(float) * ny), *y2 = malloc(sizeof(float) * ny);
    int32_t *a0 = malloc(sizeof(int32_t) * ny), *a1 = malloc(sizeof(int32_t) * ny);
    int32_t *a2 = malloc(sizeof(int32_t) * ny);
    fill_special(x, nx, nan_pct, seed);
    fv_ref_maxpool_fwd_2x2_f32(&g, n, x, y0, a0);
    fv_ref_maxpool_fwd_f32(&g, n, x, y2, a2);
    int ok = same_bits(y0, y2, ny, "reference 2x2 vs general y") &&
             same_bits(a0, a2, ny, "reference 2x2 vs general arg");
    FOR_EACH_ISA(v) {
        memset(y1, 0x55, sizeof(float) * ny);
        fv_maxpool_fwd_2x2_f32(&g, n, x, y1, a1);
        ok &= same_bits(y1, y0, ny, "2x2 y") && same_bits(a1, a0, ny, "2x2 arg");
        fv_maxpool_fwd_f32(&g, n, x, y1, a1);
        ok &= same_bits(y1, y0, ny, "general y") && same_bits(a1, a0, ny, "general arg");
    }
    if (!ok)
        fprintf(stderr, "  2x2 n=%d c=%d %dx%d nan=%d%%\n", n, c, h, w, nan_pct);
    free(x), free(y0), free(y1), free(y2), free(a0), free(a1), free(a2);
    return ok;
}

TEST(maxpool_2x2_matches_reference)
{
    unsigned seed = 11;
    int ok = 1;
    for (int ow = 1; ow <= 35; ow++) /* every tail length of the 8- and 16-wide paths */
        for (int odd = 0; odd <= 1; odd++)
            ok &= check_2x2(1 + ow % 3, 2, 2 * (1 + ow % 4) + odd, 2 * ow + odd, 8, &seed);
    ok &= check_2x2(1, 1, 2, 2, 0, &seed);
    ok &= check_2x2(2, 6, 28, 28, 0, &seed);   /* LeNet's first pool */
    ok &= check_2x2(3, 16, 10, 10, 3, &seed);  /* and its second */
    ok &= check_2x2(1, 3, 3, 3, 50, &seed);    /* mostly NaN: the last one wins */
    ok &= check_2x2(2, 5, 7, 64, 30, &seed);
    CHECK(ok);
}

/* Whole windows of one value: ties go to the first cell; of NaNs: to the last. */
TEST(maxpool_2x2_ties_and_nans)
{
    enum { W = 40, H = 4, OW = W / 2, OH = H / 2 };
    float x[H * W], y[OH * OW], yr[OH * OW];
    int32_t a[OH * OW], ar[OH * OW];
    fv_pool_geom g = geometry(1, H, W, 2, 2, 0, 0);
    for (int i = 0; i < H * W; i++)
        x[i] = 1.5f;
    for (int i = 0; i < W; i += 4) /* some windows: NaN in two cells, different payloads */
        x[i + 1] = nan_with(1u + (unsigned)i), x[W + i] = nan_with(1000u + (unsigned)i);
    x[2 * W + 6] = -0.0f, x[2 * W + 7] = 0.0f, x[3 * W + 6] = -0.0f, x[3 * W + 7] = 0.0f;
    FOR_EACH_ISA(v) {
        fv_maxpool_fwd_2x2_f32(&g, 1, x, y, a);
        fv_ref_maxpool_fwd_f32(&g, 1, x, yr, ar);
        CHECK(same_bits(y, yr, OH * OW, "y") && same_bits(a, ar, OH * OW, "arg"));
        CHECK(a[1] == 2 && y[1] == 1.5f);       /* a tie: the first cell */
        CHECK(a[0] == W && isnan(y[0]));        /* NaNs at 1 and W: the last one */
        CHECK(a[OW + 3] == 2 * W + 6 && signbit(y[OW + 3])); /* -0 first, then +0: -0 */
    }
}

/* The general forward on one geometry, every path, against the reference. */
static int check_general(int n, int c, int h, int w, int k, int s, int p, int ceil_mode,
                         unsigned *seed)
{
    fv_pool_geom g = geometry(c, h, w, k, s, p, ceil_mode);
    if (g.oh < 1 || g.ow < 1)
        return 1;
    int64_t nx = (int64_t)n * c * h * w, ny = (int64_t)n * c * g.oh * g.ow;
    float *x = malloc(sizeof(float) * nx), *y0 = malloc(sizeof(float) * ny);
    float *y1 = malloc(sizeof(float) * ny);
    int32_t *a0 = malloc(sizeof(int32_t) * ny), *a1 = malloc(sizeof(int32_t) * ny);
    fill_special(x, nx, 4, seed);
    fv_ref_maxpool_fwd_f32(&g, n, x, y0, a0);
    int ok = 1;
    FOR_EACH_ISA(v) {
        memset(y1, 0x55, sizeof(float) * ny);
        fv_maxpool_fwd_f32(&g, n, x, y1, a1);
        ok &= same_bits(y1, y0, ny, "y") && same_bits(a1, a0, ny, "arg");
        if (fv_maxpool_flat_ok(&g)) { /* inference's values-only stride-1 kernel */
            memset(y1, 0x55, sizeof(float) * ny);
            fv_maxpool_fwd_flat_f32(&g, n, x, y1);
            ok &= same_bits(y1, y0, ny, "flat y");
        }
    }
    if (!ok)
        fprintf(stderr, "  general n=%d c=%d %dx%d k=%d s=%d p=%d ceil=%d\n", n, c, h, w, k, s,
                p, ceil_mode);
    free(x), free(y0), free(y1), free(a0), free(a1);
    return ok;
}

/* The values-only kernel takes exactly the stride-1 geometries whose windows all hold an input
 * cell and whose padded plane fits. */
TEST(maxpool_flat_geometries)
{
    fv_pool_geom g = geometry(1, 28, 28, 3, 1, 1, 0);
    CHECK(fv_maxpool_flat_ok(&g));
    g = geometry(1, 28, 28, 3, 2, 1, 0);
    CHECK(!fv_maxpool_flat_ok(&g)); /* stride 2 */
    g = geometry(1, 9, 9, 2, 1, 2, 0);
    CHECK(!fv_maxpool_flat_ok(&g)); /* pad = kernel: windows wholly in the padding */
    g = geometry(1, 200, 200, 3, 1, 1, 0);
    CHECK(!fv_maxpool_flat_ok(&g)); /* too large a plane for the stack copy */
}

TEST(maxpool_general_matches_reference)
{
    unsigned seed = 5;
    int ok = 1;
    for (int k = 1; k <= 4; k++)
        for (int s = 1; s <= 3; s++)
            for (int p = 0; p <= k; p++) /* p = k: whole windows in the padding */
                for (int cm = 0; cm <= 1; cm++) {
                    ok &= check_general(2, 3, 9, 23, k, s, p, cm, &seed);
                    ok &= check_general(1, 2, 13, 6, k, s, p, cm, &seed);
                    ok &= check_general(1, 1, 1, 1, k, s, p, cm, &seed);
                }
    ok &= check_general(1, 4, 112, 112, 3, 2, 1, 0, &seed); /* ResNet's stem pool */
    ok &= check_general(2, 3, 55, 55, 3, 2, 0, 0, &seed);   /* AlexNet's */
    ok &= check_general(1, 2, 40, 70, 2, 2, 0, 1, &seed);   /* ceil mode, odd remainder */
    for (int hw = 7; hw <= 28; hw *= 2) /* GoogLeNet's branch pools (3x3, stride 1, pad 1) */
        ok &= check_general(2, 3, hw, hw, 3, 1, 1, 1, &seed);
    CHECK(ok);
}

int main(void)
{
    RUN(maxpool_2x2_matches_reference);
    RUN(maxpool_2x2_ties_and_nans);
    RUN(maxpool_flat_geometries);
    RUN(maxpool_general_matches_reference);
    TEST_MAIN_END();
}
