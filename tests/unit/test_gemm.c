/* test_gemm.c - fv_sgemm against the scalar reference GEMM in every configuration this CPU has
 * (each instruction-set variant, each of its micro-kernel tiles and inner-product tiles, operands
 * packed, in place or chosen by shape) on odd shapes, shapes straddling the tile and block sizes,
 * convolution shapes, all transpose combinations, alpha/beta cases, leading dimensions and edge
 * cases (beta 0 over NaN, alpha 0, K 0, padding of C never written); the reference itself on
 * known values; and a GFLOP/s printout at 256/512/1024 (informational, no thresholds). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/gemm_ref.h"
#include "test.h"

#include <time.h>

#define EACH_LEVEL(l) for (int l = t_isa_first(FV_KF_GEMM); l >= 0; l = t_isa_next(FV_KF_GEMM, l))
static const fv_gemm_operands modes[] = {FV_GEMM_OPERANDS_AUTO, FV_GEMM_OPERANDS_PACKED,
                                         FV_GEMM_OPERANDS_IN_PLACE};
static const char *const mode_names[] = {"auto", "packed", "in-place"};

static void fill(float *v, long n, unsigned *seed)
{
    for (long i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = (float)(((*seed >> 8) & 0xFFFF) / 32768.0 - 1.0);
    }
}

/* Configuration number `cfg` of the current variant: tile cfg / 3 - 1 (-1: by shape), operand
 * mode cfg % 3. Returns 0 past the last. */
static int force_config(int cfg)
{
    int tile = cfg / 3 - 1;
    if (tile >= 0 && !fv_sgemm_tile_name(tile))
        return 0;
    fv_sgemm_force_tile(tile);
    fv_sgemm_force_operands(modes[cfg % 3]);
    return 1;
}

static void restore_auto(void)
{
    fv_sgemm_force_tile(-1);
    fv_sgemm_force_operands(FV_GEMM_OPERANDS_AUTO);
}

static void describe(int cfg, char *buf, size_t size)
{
    const char *tile = cfg / 3 ? fv_sgemm_tile_name(cfg / 3 - 1) : "by shape";
    snprintf(buf, size, "%s tile %s operands %s", t_isa_name(), tile, mode_names[cfg % 3]);
}

/* op(A) (m x k) with transA, op(B) (k x n) with transB, with row strides padded by `pad`; every
 * configuration must match the reference and leave the padding of C untouched. */
static void check_case(int ta, int tb, int m, int n, int k, float alpha, float beta, int pad,
                       unsigned *seed)
{
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    long na = (long)(ta ? k : m) * lda, nb = (long)(tb ? n : k) * ldb, nc = (long)m * ldc;
    float *a = malloc(sizeof(float) * (size_t)na), *b = malloc(sizeof(float) * (size_t)nb);
    float *c0 = malloc(sizeof(float) * (size_t)nc), *want = malloc(sizeof(float) * (size_t)nc);
    float *c = malloc(sizeof(float) * (size_t)nc);
    fill(a, na, seed), fill(b, nb, seed), fill(c0, nc, seed);
    if (beta == 0)
        for (long i = 0; i < nc; i++)
            c0[i] = (i % ldc) < n ? NAN : c0[i]; /* never read when beta is 0 */
    memcpy(want, c0, sizeof(float) * (size_t)nc);
    fv_ref_gemm_f32(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc);
    double tol = 2e-6 * (k + 4);
    EACH_LEVEL(l) {
        for (int cfg = 0; force_config(cfg); cfg++) {
            char what[96];
            describe(cfg, what, sizeof what);
            memcpy(c, c0, sizeof(float) * (size_t)nc);
            fv_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            long w = 0;
            double viol = t_max_violation(c, want, nc, tol, tol, &w);
            if (viol > 1) {
                fprintf(stderr, "  %s ta=%d tb=%d m=%d n=%d k=%d alpha=%g beta=%g pad=%d: [%ld] "
                        "%g vs %g\n", what, ta, tb, m, n, k, alpha, beta, pad, w, c[w], want[w]);
                t_cur_failed = 1;
            }
            for (long i = 0; i < nc; i++) /* padding: bit-identical */
                if ((i % ldc) >= n && memcmp(&c[i], &c0[i], sizeof(float)) != 0) {
                    fprintf(stderr, "  %s wrote C padding at %ld\n", what, i);
                    t_cur_failed = 1;
                    break;
                }
        }
    }
    restore_auto();
    free(a), free(b), free(c0), free(want), free(c);
}

TEST(test_ref_known_values)
{
    /* [1 2 3; 4 5 6] x [1 0; 0 1; 1 1] = [4 5; 10 11] */
    float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4] = {1, 1, 1, 1};
    fv_ref_gemm_f32(0, 0, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
    CHECK(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11);
    /* A^T: a read as 3 x 2 ([1 4; 2 5; 3 6]) times B^T ([1 0 1; 0 1 1] as 3 x 2 = b^T) */
    double ad[6] = {1, 2, 3, 4, 5, 6}, bd[6] = {1, 0, 1, 0, 1, 1}, cd[9];
    for (int i = 0; i < 9; i++)
        cd[i] = 1;
    /* C (3x3) = 2 * A^T(3x2) * B(2x3) + 0.5 * C */
    fv_ref_gemm_f64(1, 0, 3, 3, 2, 2, ad, 3, bd, 3, 0.5, cd, 3);
    /* A^T = [1 4; 2 5; 3 6], B = [1 0 1; 0 1 1] -> [1 4 5; 2 5 7; 3 6 9] */
    const double want[9] = {1, 4, 5, 2, 5, 7, 3, 6, 9};
    for (int i = 0; i < 9; i++)
        CHECK_NEAR(cd[i], 2 * want[i] + 0.5, 0, 0);
}

TEST(test_odd_shapes)
{
    static const int dims[] = {1, 7, 13, 33, 100};
    const int nd = (int)(sizeof dims / sizeof dims[0]);
    unsigned seed = 5;
    for (int t = 0; t < 4; t++)
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < nd; j++) {
                int k = dims[(i + j + t) % nd];
                check_case(t & 1, t >> 1, dims[i], dims[j], k, 1, 0, 0, &seed);
                check_case(t & 1, t >> 1, dims[i], dims[j], k, 1, 1, (i + j) % 3, &seed);
            }
}

/* Shapes straddling the tiles' rows (6, 8, 12) and columns (16 per vector, 32, 48, 64), the
 * blocks (K 512, N 336, M 96 for A packed up front, 192 for B in place; inner products: K 1024,
 * then N by K; edge columns by inner products: N % 16 in 1..8, K 2048), each way of reading the
 * operands (B in place, packed by the first strip or up
 * front; A in place, packed by its first tile or up front, block by block or whole), and general
 * alpha / beta. */
TEST(test_blocks_and_scalars)
{
    static const int shapes[][3] = {
        {5, 15, 9},     {11, 17, 31},   {13, 31, 64},   {23, 33, 65},    {25, 47, 511},
        {47, 49, 513},  {49, 63, 70},   {95, 65, 1025}, {97, 40, 20},    {191, 40, 20},
        {193, 100, 300}, {385, 7, 40},  {7, 337, 30},   {20, 530, 129},  {9, 35, 1030},
        {30, 250, 1100}, {3, 5, 2100},  {150, 500, 200}, {200, 150, 70}, {97, 385, 513},
        {21, 52, 2100}, {70, 196, 300}, {40, 24, 64},   {13, 1100, 520}, {24, 80, 50},
        {200, 176, 70},
    };
    unsigned seed = 9;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 4; t++) {
            const int *d = shapes[s];
            float alpha = s % 3 == 0 ? 1 : s % 3 == 1 ? -2 : 0.25f;
            float beta = s % 4 == 0 ? 0 : s % 4 == 1 ? 1 : s % 4 == 2 ? 0.5f : -1;
            check_case(t & 1, t >> 1, d[0], d[1], d[2], alpha, beta, (int)(s % 3), &seed);
        }
}

/* Convolution shapes (filters M, rows C R S = K of the columns, positions N): forward C = W col
 * (NN), data gradient dcol = W^T dY (TN), weight gradient dW += dY col^T (NT); LeNet-5's and
 * the dense layers over a batch of 32. */
TEST(test_conv_shapes)
{
    static const int convs[][3] = {
        {6, 25, 784}, {16, 150, 100}, {32, 27, 900}, {64, 288, 144}, {64, 576, 100}, {32, 288, 200},
    };
    unsigned seed = 13;
    for (size_t s = 0; s < sizeof convs / sizeof convs[0]; s++) {
        int m = convs[s][0], k = convs[s][1], n = convs[s][2];
        check_case(0, 0, m, n, k, 1, 0, 0, &seed);
        check_case(1, 0, k, n, m, 1, 0, 0, &seed);
        check_case(0, 1, m, k, n, 1, 1, 0, &seed);
    }
    check_case(0, 1, 32, 120, 400, 1, 0, 0, &seed);
    check_case(1, 0, 120, 400, 32, 1, 1, 0, &seed);
    check_case(0, 0, 32, 400, 120, 1, 1, 0, &seed);
}

/* A^T op(B) whose width fills its last vector badly is computed transposed (C^T = op(B)^T A,
 * then stored transposed, alpha and beta applied there): 7 x 7 and 14 x 14 maps' data
 * gradients, in one block of C^T and, with 4200 rows of 65 columns, in two. */
TEST(test_transposed_output)
{
    static const int shapes[][3] = {
        {512, 49, 300}, {100, 49, 64}, {300, 196, 260}, {4200, 65, 70}};
    unsigned seed = 17;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int tb = 0; tb < 2; tb++) {
            const int *d = shapes[s];
            check_case(1, tb, d[0], d[1], d[2], 1, 0, 0, &seed);
            check_case(1, tb, d[0], d[1], d[2], -0.5f, 0.75f, 3, &seed);
        }
}

TEST(test_edge_cases)
{
    float a[6] = {NAN, 1, 2, 3, 4, 5}, b[6] = {1, 2, 3, 4, 5, 6};
    EACH_LEVEL(l)
    for (int cfg = 0; force_config(cfg); cfg++) {
        /* alpha 0: C = beta C, A and B unread (A holds a NaN) */
        float c[4] = {1, 2, 3, 4};
        fv_sgemm(0, 0, 2, 2, 3, 0, a, 3, b, 2, 2, c, 2);
        CHECK(c[0] == 2 && c[1] == 4 && c[2] == 6 && c[3] == 8);
        /* alpha 0, beta 0 over NaN: zeros */
        float cn[4] = {NAN, NAN, NAN, NAN};
        fv_sgemm(0, 0, 2, 2, 3, 0, a, 3, b, 2, 0, cn, 2);
        CHECK(cn[0] == 0 && cn[1] == 0 && cn[2] == 0 && cn[3] == 0);
        /* K 0: C = beta C */
        float ck[2] = {3, NAN};
        fv_sgemm(0, 0, 1, 1, 0, 1, a, 1, b, 1, 0.5f, ck, 2);
        CHECK(ck[0] == 1.5f && isnan(ck[1]));
        /* M or N 0: nothing happens */
        fv_sgemm(0, 0, 0, 2, 3, 1, a, 3, b, 2, 0, cn, 2);
        fv_sgemm(1, 1, 2, 0, 3, 1, a, 3, b, 2, 0, cn, 2);
        CHECK(cn[0] == 0 && cn[3] == 0);
        /* 1x1x1 */
        float one = NAN;
        fv_sgemm(0, 0, 1, 1, 1, 2, b + 1, 1, b + 2, 1, 0, &one, 1);
        CHECK(one == 12);
        fv_sgemm(0, 1, 1, 1, 1, 2, b + 1, 1, b + 2, 1, 0, &one, 1);
        CHECK(one == 12);
    }
    restore_auto();
}

/* The tile hooks at the generic level and at AVX-512's. */
TEST(test_force)
{
    fv_isa was = fv_isa_active();
    CHECK(fv_isa_force(FV_ISA_GENERIC) == 1);
    CHECK(fv_sgemm_tile_name(0) && strcmp(fv_sgemm_tile_name(0), "4x8") == 0);
    CHECK(fv_sgemm_tile_name(1) == NULL && fv_sgemm_tile_name(-1) == NULL);
    CHECK(fv_sgemm_force_tile(1) == 0 && fv_sgemm_force_tile(0) == 1);
    if (fv_isa_force(FV_ISA_AVX512)) {
        int n = 0;
        while (fv_sgemm_tile_name(n))
            printf("avx512 tile %d: %s\n", n, fv_sgemm_tile_name(n)), n++;
        CHECK(n >= 4 && strncmp(fv_sgemm_tile_name(n - 1), "dot", 3) == 0);
        CHECK(fv_sgemm_force_tile(n - 1) == 1 && fv_sgemm_force_tile(n) == 0);
    }
    restore_auto();
    fv_isa_force(was);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Informational: GFLOP/s of square products per variant (the best of up to 3 runs). A size whose
 * predicted time exceeds a second (sanitizer builds) is skipped. */
TEST(test_speed_printout)
{
    static const int sizes[] = {256, 512, 1024};
    int nmax = 1024;
    float *a = malloc(sizeof(float) * (size_t)nmax * nmax);
    float *b = malloc(sizeof(float) * (size_t)nmax * nmax);
    float *c = malloc(sizeof(float) * (size_t)nmax * nmax);
    unsigned seed = 1;
    fill(a, (long)nmax * nmax, &seed), fill(b, (long)nmax * nmax, &seed);
    EACH_LEVEL(l) {
        printf("sgemm %-9s", t_isa_name());
        double last = 0;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int n = sizes[s];
            if (8 * last > 1.0) {
                printf("  %4d: skipped (slow build)", n);
                continue;
            }
            double best = 1e30;
            for (int r = 0; r < 3 && (r == 0 || best < 0.05); r++) {
                double t0 = now_s();
                fv_sgemm(0, 0, n, n, n, 1, a, n, b, n, 0, c, n);
                double dt = now_s() - t0;
                best = dt < best ? dt : best;
            }
            last = best;
            printf("  %4d: %6.1f GFLOP/s", n, 2.0 * n * n * n / best * 1e-9);
        }
        printf("\n");
    }
    CHECK(isfinite(c[0]));
    free(a), free(b), free(c);
}

int main(void)
{
    RUN(test_ref_known_values);
    RUN(test_odd_shapes);
    RUN(test_blocks_and_scalars);
    RUN(test_conv_shapes);
    RUN(test_transposed_output);
    RUN(test_edge_cases);
    RUN(test_force);
    RUN(test_speed_printout);
    TEST_MAIN_END();
}
