/* qgemm.h - the int8 GEMM of quantized inference (qgemm.c, qgemm_x86.c): C (int32) = A B with A
 * signed 8-bit (weights, m x k) and B unsigned 8-bit (activations, k x n), products summed in
 * int32 (wrapping, as vpdpbusd does; |sum| < 2^31 whenever k < 66052). Both operands are packed
 * once into the layout every level reads: k rounded up to a multiple of 4 (zeros), A in panels of
 * FV_QG_MR rows, B in panels of FV_QG_NR columns, 4 consecutive k of one row (column) side by
 * side, so one 32-bit lane holds the 4 bytes vpdpbusd / vpmaddubsw+vpmaddwd sum. A kernel computes
 * one FV_QG_MR x FV_QG_NR tile; the caller's epilogue turns the tile into its output. */
#ifndef FV_KERNELS_QGEMM_H
#define FV_KERNELS_QGEMM_H

#include <stddef.h>
#include <stdint.h>

#include "core/cpu.h"

#define FV_QG_MR 8
#define FV_QG_NR 16

/* k rounded up to a multiple of 4. */
static inline int fv_qg_k4(int k) { return (k + 3) & ~3; }
/* Bytes of packed A (m rows) and of packed B (n columns). */
static inline size_t fv_qg_a_bytes(int m, int k)
{
    return (size_t)((m + FV_QG_MR - 1) / FV_QG_MR) * FV_QG_MR * (size_t)fv_qg_k4(k);
}
static inline size_t fv_qg_b_bytes(int k, int n)
{
    return (size_t)((n + FV_QG_NR - 1) / FV_QG_NR) * FV_QG_NR * (size_t)fv_qg_k4(k);
}
/* The byte of packed B holding (row r, column j) of a k-row matrix. */
static inline size_t fv_qg_b_at(int k, int r, int j)
{
    return ((size_t)(j / FV_QG_NR) * (size_t)fv_qg_k4(k) + (size_t)(r & ~3)) * FV_QG_NR +
           (size_t)(j % FV_QG_NR) * 4 + (size_t)(r & 3);
}

/* Packs A (a[i lda + r], m x k) into pa (fv_qg_a_bytes): padding rows and k are zero. */
void fv_qg_pack_a(const int8_t *a, int m, int k, int lda, int8_t *pa);
/* Packs B (element (r, j) at b[r sr + j sj], k x n) into pb (fv_qg_b_bytes); the padding is 0. */
void fv_qg_pack_b(const uint8_t *b, int k, int n, ptrdiff_t sr, ptrdiff_t sj, uint8_t *pb);

/* One tile: tile[i FV_QG_NR + j] = sum over k4 of pa panel row i times pb panel column j. */
typedef void (*fv_qg_tile_fn)(const int8_t *pa, const uint8_t *pb, int k4, int32_t *tile);
/* The tile kernel for a level (walked down to the best one this build has code for; the level
 * must be one the CPU runs), and the one for the level the qgemm family runs at now. */
fv_qg_tile_fn fv_qg_kernel_at(fv_isa level);
fv_qg_tile_fn fv_qg_kernel(void);

/* Whole C (m x n, row i at c + i ldc) from packed operands with kernel fn. */
void fv_qgemm_s32(fv_qg_tile_fn fn, int m, int n, int k, const int8_t *pa, const uint8_t *pb,
                  int32_t *c, int ldc);
/* The reference: plain loops over unpacked A (m x k, lda) and B (k x n, ldb). */
void fv_qgemm_ref(int m, int n, int k, const int8_t *a, int lda, const uint8_t *b, int ldb,
                  int32_t *c, int ldc);

/* The x86 kernels (qgemm_x86.c); NULL where the build has none. */
extern const fv_qg_tile_fn fv_qg_tile_avx2, fv_qg_tile_avx_vnni, fv_qg_tile_avx512_vnni;

#endif
