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

/* Rows [r0, r0 + 4) of the tile, both 8-column halves. */
FV_TARGET_AVX2 static void rows4_avx2(const int8_t *pa, const uint8_t *pb, int k4, int r0,
                                      int32_t *tile)
{
    __m256i acc[4][2], ones = _mm256_set1_epi16(1), top = _mm256_set1_epi8((char)0x80);
    for (int i = 0; i < 4; i++)
        acc[i][0] = acc[i][1] = _mm256_setzero_si256();
    for (int q = 0; q < k4; q += 4) {
        const __m256i *b = (const __m256i *)(const void *)(pb + (size_t)q * FV_QG_NR);
        __m256i b0 = _mm256_loadu_si256(b), b1 = _mm256_loadu_si256(b + 1);
        __m256i h0 = _mm256_and_si256(b0, top), h1 = _mm256_and_si256(b1, top);
        __m256i l0 = _mm256_andnot_si256(top, b0), l1 = _mm256_andnot_si256(top, b1);
        for (int i = 0; i < 4; i++) {
            __m256i w = _mm256_set1_epi32(A4(pa, q, r0 + i));
            acc[i][0] = _mm256_add_epi32(acc[i][0], dot_avx2(l0, h0, w, ones));
            acc[i][1] = _mm256_add_epi32(acc[i][1], dot_avx2(l1, h1, w, ones));
        }
    }
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_si256((__m256i *)(void *)(tile + (r0 + i) * FV_QG_NR), acc[i][0]);
        _mm256_storeu_si256((__m256i *)(void *)(tile + (r0 + i) * FV_QG_NR + 8), acc[i][1]);
    }
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

FV_TARGET_AVX512_VNNI static void tile_avx512_vnni(const int8_t *pa, const uint8_t *pb, int k4,
                                                   int32_t *tile)
{
    __m512i acc[FV_QG_MR];
    for (int i = 0; i < FV_QG_MR; i++)
        acc[i] = _mm512_setzero_si512();
    for (int q = 0; q < k4; q += 4) {
        __m512i b = _mm512_loadu_si512((const void *)(pb + (size_t)q * FV_QG_NR));
        for (int i = 0; i < FV_QG_MR; i++)
            acc[i] = _mm512_dpbusd_epi32(acc[i], b, _mm512_set1_epi32(A4(pa, q, i)));
    }
    for (int i = 0; i < FV_QG_MR; i++)
        _mm512_storeu_si512((void *)(tile + i * FV_QG_NR), acc[i]);
}

const fv_qg_tile_fn fv_qg_tile_avx2 = tile_avx2, fv_qg_tile_avx_vnni = tile_avx_vnni,
                    fv_qg_tile_avx512_vnni = tile_avx512_vnni;
#else
const fv_qg_tile_fn fv_qg_tile_avx2 = 0, fv_qg_tile_avx_vnni = 0, fv_qg_tile_avx512_vnni = 0;
#endif
