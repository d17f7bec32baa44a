/* test_fast_lrn.c - the float LRN forward (kernels/lrn.c) against the double-precision reference
 * (kernels/ref/norm_ref.inc): scale and y within a few float roundings on odd shapes (1x1 planes,
 * pixel counts around the kernel's 512-pixel block, windows wider than the channels, even window
 * sizes), AlexNet's beta 0.75 (the square-root path) and others (powf), planes computed in
 * several calls as the op's threads do. */
#include "kernels/lrn.h"
#include "test.h"

#include <math.h>

typedef struct lrn_case {
    int n, c;
    int64_t hw;
    int size;
    double alpha, beta, k, amp; /* amp: the inputs' range */
} lrn_case;

static const lrn_case cases[] = {
    {1, 1, 1, 5, 1e-4, 0.75, 2, 1},      {2, 7, 35, 5, 1e-4, 0.75, 2, 30},
    {3, 4, 600, 4, 0.5, 0.6, 1.5, 2},    {1, 3, 17, 7, 2.0, 0.75, 1, 3},
    {2, 9, 1025, 5, 1e-3, 0.75, 1, 10},  {1, 6, 512, 3, 0.1, 1.0, 0.5, 1},
};

/* |got - want| <= ulps float roundings of want (and a tiny absolute floor near zero). */
static int close_ulps(const float *got, const double *want, int64_t n, double ulps, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= ulps * 0x1p-24 * fabs(want[i]) + 1e-30)) {
            fprintf(stderr, "  %s[%lld]: %.9g want %.9g\n", what, (long long)i, got[i], want[i]);
            return 0;
        }
    return 1;
}

TEST(fast_lrn_matches_reference)
{
    unsigned seed = 17;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const lrn_case *k = &cases[t];
        fv_lrn_geom g = {.n = k->n, .c = k->c, .size = k->size, .hw = k->hw, .alpha = k->alpha,
                         .beta = k->beta, .k = k->k};
        int64_t total = k->n * k->c * k->hw, planes = (int64_t)k->n * k->c;
        float *x = malloc(sizeof(float) * (size_t)total), *y = malloc(sizeof(float) * (size_t)total);
        float *s = malloc(sizeof(float) * (size_t)total);
        double *xd = malloc(sizeof(double) * (size_t)total), *yd = malloc(sizeof(double) * (size_t)total);
        double *sd = malloc(sizeof(double) * (size_t)total);
        for (int64_t i = 0; i < total; i++) {
            seed = seed * 1103515245u + 12345u;
            x[i] = (float)(k->amp * (((seed >> 8) & 0xFFFF) / 32768.0 - 1.0));
            xd[i] = x[i];
        }
        fv_ref_lrn_fwd_f64(&g, xd, yd, sd);
        int64_t cut1 = planes / 3, cut2 = 2 * planes / 3; /* three calls, as three workers */
        fv_lrn_fwd_planes_f32(&g, x, y, s, 0, cut1);
        fv_lrn_fwd_planes_f32(&g, x, y, s, cut1, cut2);
        fv_lrn_fwd_planes_f32(&g, x, y, s, cut2, planes);
        int ok = close_ulps(s, sd, total, 8, "scale") && close_ulps(y, yd, total, 16, "y");
        if (!ok)
            fprintf(stderr, "  case %zu: n %d c %d hw %lld size %d beta %g\n", t, k->n, k->c,
                    (long long)k->hw, k->size, k->beta);
        CHECK(ok);
        free(x), free(y), free(s), free(xd), free(yd), free(sd);
    }
}

int main(void)
{
    RUN(fast_lrn_matches_reference);
    TEST_MAIN_END();
}
