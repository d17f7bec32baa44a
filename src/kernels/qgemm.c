/* qgemm.c - the int8 GEMM's packing, its portable tile kernel, the whole-matrix driver, the plain
 * reference the SIMD kernels are tested against, and the choice of kernel by the qgemm family's
 * level (kernels/isa.h). Sums wrap in uint32 arithmetic, as the SIMD lanes do, so every level
 * gives the same bits also where a sum would overflow. */
#include "kernels/qgemm.h"

#include "kernels/isa.h"

#include <string.h>

void fv_qg_pack_a(const int8_t *a, int m, int k, int lda, int8_t *pa)
{
    int k4 = fv_qg_k4(k), mp = (m + FV_QG_MR - 1) / FV_QG_MR * FV_QG_MR;
    memset(pa, 0, fv_qg_a_bytes(m, k));
    for (int i = 0; i < mp && i < m; i++) {
        int8_t *panel = pa + (size_t)(i / FV_QG_MR) * FV_QG_MR * (size_t)k4;
        for (int r = 0; r < k; r++)
            panel[(size_t)(r & ~3) * FV_QG_MR + (size_t)(i % FV_QG_MR) * 4 + (size_t)(r & 3)] =
                a[(size_t)i * (size_t)lda + (size_t)r];
    }
}

void fv_qg_pack_b(const uint8_t *b, int k, int n, ptrdiff_t sr, ptrdiff_t sj, uint8_t *pb)
{
    memset(pb, 0, fv_qg_b_bytes(k, n));
    for (int r = 0; r < k; r++)
        for (int j = 0; j < n; j++)
            pb[fv_qg_b_at(k, r, j)] = b[r * sr + j * sj];
}

/* The portable tile kernel: the packed layout read lane by lane. */
static void tile_generic(const int8_t *pa, const uint8_t *pb, int k4, int32_t *tile)
{
    uint32_t acc[FV_QG_MR * FV_QG_NR] = {0};
    for (int q = 0; q < k4; q += 4) {
        const int8_t *a = pa + (size_t)q * FV_QG_MR;
        const uint8_t *b = pb + (size_t)q * FV_QG_NR;
        for (int i = 0; i < FV_QG_MR; i++)
            for (int j = 0; j < FV_QG_NR; j++) {
                uint32_t s = 0;
                for (int t = 0; t < 4; t++)
                    s += (uint32_t)((int32_t)a[i * 4 + t] * (int32_t)b[j * 4 + t]);
                acc[i * FV_QG_NR + j] += s;
            }
    }
    for (int i = 0; i < FV_QG_MR * FV_QG_NR; i++)
        tile[i] = (int32_t)acc[i];
}

fv_qg_tile_fn fv_qg_kernel_at(fv_isa level)
{
#ifdef FV_ISA_X86
    switch (fv_isa_resolve(level, fv_kernel_levels(FV_KF_QGEMM))) {
    case FV_ISA_AVX512_VNNI: return fv_qg_tile_avx512_vnni;
    case FV_ISA_AVX_VNNI: return fv_qg_tile_avx_vnni;
    case FV_ISA_AVX2: return fv_qg_tile_avx2;
    default: break;
    }
#else
    (void)level;
#endif
    return tile_generic;
}

fv_qg_tile_fn fv_qg_kernel(void) { return fv_qg_kernel_at(fv_kernel_isa(FV_KF_QGEMM)); }

void fv_qgemm_s32(fv_qg_tile_fn fn, int m, int n, int k, const int8_t *pa, const uint8_t *pb,
                  int32_t *c, int ldc)
{
    int k4 = fv_qg_k4(k);
    int32_t tile[FV_QG_MR * FV_QG_NR];
    for (int i0 = 0; i0 < m; i0 += FV_QG_MR)
        for (int j0 = 0; j0 < n; j0 += FV_QG_NR) {
            fn(pa + (size_t)i0 * (size_t)k4, pb + (size_t)j0 * (size_t)k4, k4, tile);
            for (int i = i0; i < m && i < i0 + FV_QG_MR; i++)
                for (int j = j0; j < n && j < j0 + FV_QG_NR; j++)
                    c[(size_t)i * (size_t)ldc + (size_t)j] = tile[(i - i0) * FV_QG_NR + j - j0];
        }
}

void fv_qgemm_ref(int m, int n, int k, const int8_t *a, int lda, const uint8_t *b, int ldb,
                  int32_t *c, int ldc)
{
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            uint32_t s = 0;
            for (int r = 0; r < k; r++)
                s += (uint32_t)((int32_t)a[(size_t)i * (size_t)lda + (size_t)r] *
                                (int32_t)b[(size_t)r * (size_t)ldb + (size_t)j]);
            c[(size_t)i * (size_t)ldc + (size_t)j] = (int32_t)s;
        }
}
