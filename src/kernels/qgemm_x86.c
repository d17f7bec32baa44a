/* qgemm_x86.c - the int8 GEMM tile kernels for x86 (kernels/qgemm.h's packed layout): AVX2 with
 * vpmaddubsw, AVX-VNNI and AVX-512 VNNI with vpdpbusd. vpmaddubsw adds two u8 x s8 products in a
 * saturating int16 (255 * -128 * 2 = -65280 does not fit), so the AVX2 kernel splits each
 * activation byte into its low 7 bits and its top bit (0 or 128): each half's pair sum stays in
 * [-32768, 32512] exactly, and vpmaddwd with ones widens both to int32 before they are added. The
 * result equals the exact sum for every input, the saturating worst case included. */
#include "kernels/qgemm.h"

#include "kernels/isa.h"

#ifdef FV_ISA_X86
#include <immintrin.h>
#include <string.h>

#define FV_TARGET_AVX_VNNI __attribute__((target("avxvnni,avx2,fma")))
#define FV_TARGET_AVX512_VNNI \
    __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma")))

/* The 4 weight bytes of row i at step q, as one 32-bit lane (to be broadcast). */
static inline int a4(const int8_t *pa, int q, int i)
{
    int v;
    memcpy(&v, pa + (size_t)q * FV_QG_MR + (size_t)i * 4, 4);
    return v;
}
#define A4(pa, q, i) a4((pa), (q), (i))

FV_TARGET_AVX2 static inline __m256i dot_avx2(__m256i lo, __m256i hi, __m256i w, __m256i ones)
{
    __m256i pl = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, w), ones);
    __m256i ph = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, w), ones);
    return _mm256_add_epi32(pl, ph);
}

/* Row r0 + i of the tile, both 8-column halves, += the panel times its 4 weight bytes. */
#define DP2(i)                                                        \
    do {                                                              \
        __m256i w = _mm256_set1_epi32(A4(pa, q, r0 + (i)));           \
        c##i##a = _mm256_add_epi32(c##i##a, dot_avx2(l0, h0, w, ones)); \
        c##i##b = _mm256_add_epi32(c##i##b, dot_avx2(l1, h1, w, ones)); \
    } while (0)
#define ST2(i)                                                                     \
    do {                                                                           \
        _mm256_storeu_si256((__m256i *)(void *)(tile + (r0 + (i)) * FV_QG_NR), c##i##a); \
        _mm256_storeu_si256((__m256i *)(void *)(tile + (r0 + (i)) * FV_QG_NR + 8), c##i##b); \
    } while (0)

/* Rows [r0, r0 + 4) of the tile (named accumulators: gcc keeps an array of them in memory). */
FV_TARGET_AVX2 static void rows4_avx2(const int8_t *pa, const uint8_t *pb, int k4, int r0,
                                      int32_t *tile)
{
    __m256i ones = _mm256_set1_epi16(1), top = _mm256_set1_epi8((char)0x80);
    __m256i c0a = _mm256_setzero_si256(), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a,
            c3a = c0a, c3b = c0a;
    for (int q = 0; q < k4; q += 4) {
        const __m256i *b = (const __m256i *)(const void *)(pb + (size_t)q * FV_QG_NR);
        __m256i b0 = _mm256_loadu_si256(b), b1 = _mm256_loadu_si256(b + 1);
        __m256i h0 = _mm256_and_si256(b0, top), h1 = _mm256_and_si256(b1, top);
        __m256i l0 = _mm256_andnot_si256(top, b0), l1 = _mm256_andnot_si256(top, b1);
        DP2(0);
        DP2(1);
        DP2(2);
        DP2(3);
    }
    ST2(0);
    ST2(1);
    ST2(2);
    ST2(3);
}

FV_TARGET_AVX2 static void tile_avx2(const int8_t *pa, const uint8_t *pb, int k4, int32_t *tile)
{
    rows4_avx2(pa, pb, k4, 0, tile);
    rows4_avx2(pa, pb, k4, 4, tile);
}

FV_TARGET_AVX_VNNI static void tile_avx_vnni(const int8_t *pa, const uint8_t *pb, int k4,
                                             int32_t *tile)
{
    __m256i acc[FV_QG_MR][2];
    for (int i = 0; i < FV_QG_MR; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    for (int q = 0; q < k4; q += 4) {
        const __m256i *b = (const __m256i *)(const void *)(pb + (size_t)q * FV_QG_NR);
        __m256i b0 = _mm256_loadu_si256(b), b1 = _mm256_loadu_si256(b + 1);
        for (int i = 0; i < FV_QG_MR; i++) {
            __m256i w = _mm256_set1_epi32(A4(pa, q, i));
            acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], b0, w);
            acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], b1, w);
        }
    }
    for (int i = 0; i < FV_QG_MR; i++) {
        _mm256_storeu_si256((__m256i *)(void *)(tile + i * FV_QG_NR), acc[i][0]);
        _mm256_storeu_si256((__m256i *)(void *)(tile + i * FV_QG_NR + 8), acc[i][1]);
    }
}

/* Named accumulators (an array of them is kept in memory by gcc): row i of the tile += the
 * panel's 16 columns times row i's 4 weight bytes. */
#define DP512(i) c##i = _mm512_dpbusd_epi32(c##i, b, _mm512_set1_epi32(A4(pa, q, i)))
#define ST512(i) _mm512_storeu_si512((void *)(tile + (i) * FV_QG_NR), c##i)

FV_TARGET_AVX512_VNNI static void tile_avx512_vnni(const int8_t *pa, const uint8_t *pb, int k4,
                                                   int32_t *tile)
{
    __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0,
            c7 = c0;
    for (int q = 0; q < k4; q += 4) {
        __m512i b = _mm512_loadu_si512((const void *)(pb + (size_t)q * FV_QG_NR));
        DP512(0), DP512(1), DP512(2), DP512(3), DP512(4), DP512(5), DP512(6), DP512(7);
    }
    ST512(0), ST512(1), ST512(2), ST512(3), ST512(4), ST512(5), ST512(6), ST512(7);
}

const fv_qg_tile_fn fv_qg_tile_avx2 = tile_avx2, fv_qg_tile_avx_vnni = tile_avx_vnni,
                    fv_qg_tile_avx512_vnni = tile_avx512_vnni;
#else
const fv_qg_tile_fn fv_qg_tile_avx2 = 0, fv_qg_tile_avx_vnni = 0, fv_qg_tile_avx512_vnni = 0;
#endif
