/* gemm_avx2.c - fv_sgemm's AVX2+FMA variant: a 6 x 16 tile in 12 ymm accumulators and packing
 * by 8 x 8 in-register transposes (intrinsics behind target attributes; x86 only). */
#include "kernels/gemm_tile.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include <math.h>
#include <string.h>

#ifdef FV_ISA_X86
#include <immintrin.h>
#define AVX2 FV_TARGET_AVX2

/* A 6 x 16 tile in 12 ymm accumulators (intrinsics: the auto-vectorized C version spills at
 * -O3). */
#define K256_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

AVX2 static void avx2_tile(const kargs *k, const float *restrict a, const float *restrict b,
                           float *restrict c)
{
    const ptrdiff_t ars = k->ars, aps = k->aps, ldb = k->ldb, ldc = k->ldc;
#define K256_DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
    K256_ROWS(K256_DECL)
    for (int p = 0; p < k->kc; p++, a += aps, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define K256_FMA(i)                                                                            \
    {                                                                                          \
        __m256 ai = _mm256_broadcast_ss(a + (i) * ars);                                        \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                            \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                            \
    }
        K256_ROWS(K256_FMA)
    }
    const __m256 va = _mm256_set1_ps(k->alpha), vb = _mm256_set1_ps(k->beta);
    if (k->mr == 6 && k->nr == 16) { /* C = alpha acc + beta C in place */
#define K256_STORE(i)                                                                          \
    {                                                                                          \
        float *ci = c + (i) * ldc;                                                             \
        __m256 r0 = _mm256_mul_ps(va, c##i##0), r1 = _mm256_mul_ps(va, c##i##1);               \
        if (k->beta != 0.0f)                                                                   \
            r0 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci), r0),                                 \
            r1 = _mm256_fmadd_ps(vb, _mm256_loadu_ps(ci + 8), r1);                             \
        _mm256_storeu_ps(ci, r0), _mm256_storeu_ps(ci + 8, r1);                                \
    }
        K256_ROWS(K256_STORE)
        return;
    }
    _Alignas(32) float t[6][16]; /* edge tiles: through a stack tile */
#define K256_SPILL(i) _mm256_store_ps(t[i], c##i##0), _mm256_store_ps(t[i] + 8, c##i##1);
    K256_ROWS(K256_SPILL)
    for (int i = 0; i < k->mr; i++)
        for (int j = 0; j < k->nr; j++)
            c[i * ldc + j] = k->beta == 0.0f ? k->alpha * t[i][j]
                                             : fmaf(k->beta, c[i * ldc + j], k->alpha * t[i][j]);
}

AVX2 static void kernel_avx2(const kargs *k)
{
    for (int q = 0; q < k->n; q++)
        avx2_tile(k, k->a + q * k->anext, k->b + q * k->bnext, k->c + q * k->cnext);
}

/* Transposes the 8 x 8 block r[0..8) in place (r[j] becomes column j). */
AVX2 FV_INLINE void transpose8(__m256 r[8])
{
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        __m256 *q = t + 4 * i;
        u[4 * i + 0] = _mm256_shuffle_ps(q[0], q[2], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 1] = _mm256_shuffle_ps(q[0], q[2], _MM_SHUFFLE(3, 2, 3, 2));
        u[4 * i + 2] = _mm256_shuffle_ps(q[1], q[3], _MM_SHUFFLE(1, 0, 1, 0));
        u[4 * i + 3] = _mm256_shuffle_ps(q[1], q[3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int j = 0; j < 4; j++) {
        r[j] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
        r[j + 4] = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
    }
}

/* pack_cols with 8 x 8 in-register transposes; the last kc % 8 steps and rows past 8-row groups
 * that are not full are scalar. */
AVX2 static void pack_cols_avx2(const float *restrict s, ptrdiff_t rs, int n, int kc, int w,
                                float *restrict dst)
{
    int kv = kc & ~7;
    for (int r0 = 0; r0 < w; r0 += 8) {
        int rows = min_int(max_int(n - r0, 0), 8), lanes = min_int(w - r0, 8);
        for (int p0 = 0; p0 < kv; p0 += 8) {
            __m256 r[8];
            for (int i = 0; i < 8; i++)
                r[i] = i < rows ? _mm256_loadu_ps(s + (r0 + i) * rs + p0) : _mm256_setzero_ps();
            transpose8(r);
            for (int j = 0; j < 8; j++) {
                float *d = dst + (ptrdiff_t)(p0 + j) * w + r0;
                if (lanes == 8) {
                    _mm256_storeu_ps(d, r[j]);
                } else {
                    _Alignas(32) float t[8];
                    _mm256_store_ps(t, r[j]);
                    memcpy(d, t, sizeof(float) * (size_t)lanes);
                }
            }
        }
        for (int p = kv; p < kc; p++)
            for (int i = 0; i < lanes; i++)
                dst[(ptrdiff_t)p * w + r0 + i] = i < rows ? s[(r0 + i) * rs + p] : 0.0f;
    }
}

static const tile tiles_avx2[] = {{"6x16", 6, 16, 16, {kernel_avx2}, {kernel_avx2}}};
const variant fv_gemm_avx2 = {tiles_avx2, 1, fv_gemm_pack_rows_c, pack_cols_avx2, A_IN_PLACE, NULL,
                              0, NULL};
#endif
