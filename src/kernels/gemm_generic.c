/* gemm_generic.c - fv_sgemm's plain-C variant: a 4 x 8 register tile (auto-vectorized) and the
 * scalar packing routines (the AVX2 variant packs rows with them too). */
#include "kernels/gemm_tile.h"

#define MUL_ADD(a, b, c) ((a) * (b) + (c))

/* Defines NAME for an MR x NR tile in plain C; the accumulator stays in registers: the row loop
 * is unrolled and the NR loop vectorized. A must be packed (ars 1, aps MR): with a run-time
 * stride GCC vectorizes the wrong loop. */
#define FV_GEMM_KERNEL(NAME, ATTR, MR, NR, MADD)                                              \
    ATTR static void NAME##_tile(const kargs *k, const float *restrict a,                      \
                                 const float *restrict b, float *restrict c)                   \
    {                                                                                          \
        const ptrdiff_t ldb = k->ldb, ldc = k->ldc;                                            \
        const int kc = k->kc, mr = k->mr, nr = k->nr;                                          \
        const float alpha = k->alpha, beta = k->beta;                                          \
        float acc[MR][NR];                                                                     \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                  \
            for (int j = 0; j < NR; j++)                                                       \
                acc[i][j] = 0.0f;                                                              \
        for (int p = 0; p < kc; p++, a += MR, b += ldb) {                                      \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    acc[i][j] = MADD(a[i], b[j], acc[i][j]);                                   \
        }                                                                                      \
        if (mr == MR && nr == NR && beta == 0.0f) {                                            \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    c[i * ldc + j] = alpha * acc[i][j];                                        \
        } else if (mr == MR && nr == NR) {                                                     \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    c[i * ldc + j] = MADD(beta, c[i * ldc + j], alpha * acc[i][j]);            \
        } else {                                                                               \
            for (int i = 0; i < mr; i++)                                                       \
                for (int j = 0; j < nr; j++)                                                   \
                    c[i * ldc + j] = beta == 0.0f ? alpha * acc[i][j]                          \
                                                  : beta * c[i * ldc + j] + alpha * acc[i][j]; \
        }                                                                                      \
    }                                                                                          \
    ATTR static void NAME(const kargs *k)                                                      \
    {                                                                                          \
        for (int q = 0; q < k->n; q++)                                                         \
            NAME##_tile(k, k->a + q * k->anext, k->b + q * k->bnext, k->c + q * k->cnext);     \
    }

/* Baseline: 8 vector accumulators fit the 16 SSE registers of x86-64. */
FV_GEMM_KERNEL(kernel_generic, , 4, 8, MUL_ADD)

/* d[0..n) = s[0..n), d[n..w) = 0; the fixed 8-wide inner loop is vectorized at -O2. */
static void copy_pad(float *restrict d, const float *restrict s, int n, int w)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            d[i + j] = s[i + j];
    for (; i < n; i++)
        d[i] = s[i];
    for (; i < w; i++)
        d[i] = 0.0f;
}

void fv_gemm_pack_rows_c(const float *s, ptrdiff_t ps, int rows, int kc, int w, int step,
                         float *dst)
{
    int np = (rows + w - 1) / w, wl = last_width(rows, w, step);
    for (int p = 0; p < kc; p++)
        for (int k = 0; k < np; k++) {
            int wk = k < np - 1 ? w : wl;
            copy_pad(dst + k * panel_stride(w, kc) + (ptrdiff_t)p * wk, s + p * ps + k * w,
                     min_int(w, rows - k * w), wk);
        }
}

/* Rows strided, steps contiguous: a transpose, 8 rows at a time so that the stores are
 * contiguous. */
static void pack_cols_c(const float *restrict s, ptrdiff_t rs, int n, int kc, int w,
                        float *restrict dst)
{
    int r = 0;
    for (; r + 8 <= n; r += 8)
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < 8; j++)
                dst[(ptrdiff_t)p * w + r + j] = s[(r + j) * rs + p];
    for (; r < n; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = s[r * rs + p];
    for (r = n; r < w; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = 0.0f;
}

static const tile tiles_generic[] = {{"4x8", 4, 8, 8, {kernel_generic}, {kernel_generic}}};
const variant fv_gemm_generic = {tiles_generic, 1, fv_gemm_pack_rows_c, pack_cols_c, 0, NULL, 0,
                                 NULL};
