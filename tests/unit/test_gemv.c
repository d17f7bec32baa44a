/* test_gemv.c - fv_dense_rows (at every instruction-set level this CPU has) against a
 * double-precision dot product on lengths around the vector widths, 1 to 4 samples, unit
 * sub-ranges and a row stride wider than the units; entries outside the range are not written. */
#include "isa_levels.h"
#include "kernels/gemv.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* One shape on one variant: units [u0, u1) of `units`, y rows ldy = units + 3. */
static int check_shape(int n, int k, int units, int u0, int u1, unsigned *seed)
{
    int ldy = units + 3, ok = 1;
    float *w = malloc(sizeof(float) * (size_t)(units * k)), *x = malloc(sizeof(float) * (size_t)(n * k));
    float *y = malloc(sizeof(float) * (size_t)(n * ldy));
    for (int i = 0; i < units * k; i++)
        w[i] = frand(seed);
    for (int i = 0; i < n * k; i++)
        x[i] = frand(seed);
    for (int i = 0; i < n * ldy; i++)
        y[i] = 12345.0f;
    fv_dense_rows(w, x, n, k, u0, u1, y, ldy);
    for (int i = 0; i < n; i++)
        for (int u = 0; u < ldy; u++) {
            float got = y[i * ldy + u];
            if (u < u0 || u >= u1) {
                ok &= got == 12345.0f;
                continue;
            }
            double want = 0, mag = 0;
            for (int j = 0; j < k; j++) {
                want += (double)w[u * k + j] * x[i * k + j];
                mag += fabs((double)w[u * k + j] * x[i * k + j]);
            }
            if (!(fabs(got - want) <= 1e-6 * mag + 1e-30)) {
                fprintf(stderr, "  n=%d k=%d u=%d: %.9g want %.9g\n", n, k, u, got, want);
                ok = 0;
            }
        }
    free(w), free(x), free(y);
    return ok;
}

TEST(rows_match_double_dot_products)
{
    static const int ks[] = {1, 7, 15, 16, 17, 31, 32, 33, 100, 1000};
    unsigned seed = 5;
    for (int l = t_isa_first(FV_KF_GEMV); l >= 0; l = t_isa_next(FV_KF_GEMV, l)) {
        for (int n = 1; n <= FV_GEMV_MAX_N; n++)
            for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
                CHECK(check_shape(n, ks[i], 21, 0, 21, &seed));
                CHECK(check_shape(n, ks[i], 21, 5, 18, &seed));
            }
    }
}

int main(void)
{
    RUN(rows_match_double_dot_products);
    TEST_MAIN_END();
}
