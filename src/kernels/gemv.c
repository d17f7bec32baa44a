/* gemv.c - fv_dense_rows: y[i][u] = dot(W row u, x row i) for a few samples, reading each weight
 * row once. A fully connected layer at batch 1-4 is bound by reading its weights (AlexNet's fc6
 * holds 151 MB); the packed GEMM would first copy them, tripling the memory traffic. Variants:
 * AVX-512 and AVX2+FMA with intrinsics, picked per call by the gemv family's level (kernels/isa.h),
 * and plain C (16 running sums per sample, which compilers vectorize). Every variant sums in a
 * fixed order, so results do not depend on threads; they differ from the GEMM's order by rounding
 * only. */
#include "kernels/gemv.h"
#include "kernels/isa.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Lanes 0..15 of acc summed pairwise, plus the scalar tail. */
static float sum16(const float *acc, float tail)
{
    float s8[8];
    for (int l = 0; l < 8; l++)
        s8[l] = acc[l] + acc[l + 8];
    float s4[4] = {s8[0] + s8[4], s8[1] + s8[5], s8[2] + s8[6], s8[3] + s8[7]};
    return (s4[0] + s4[2]) + (s4[1] + s4[3]) + tail;
}

static void rows_generic(const float *w, const float *x, int n, int k, int u0, int u1,
                         float *y, int ldy)
{
    for (int u = u0; u < u1; u++) {
        const float *wr = w + (long)u * k;
        for (int i = 0; i < n; i++) {
            const float *xr = x + (long)i * k;
            float acc[16] = {0}, tail = 0;
            int j = 0;
            for (; j + 16 <= k; j += 16)
                for (int l = 0; l < 16; l++)
                    acc[l] += wr[j + l] * xr[j + l];
            for (; j < k; j++)
                tail += wr[j] * xr[j];
            y[(long)i * ldy + u] = sum16(acc, tail);
        }
    }
}

#ifdef FV_ISA_X86
/* Up to 4 samples: per sample two zmm sums (even and odd 16-float steps), folded at the end. */
FV_TARGET_AVX512 static void
rows_avx512(const float *w, const float *x, int n, int k, int u0, int u1, float *y, int ldy)
{
    for (int u = u0; u < u1; u++) {
        const float *wr = w + (long)u * k;
        __m512 a0[FV_GEMV_MAX_N], a1[FV_GEMV_MAX_N];
        for (int i = 0; i < n; i++)
            a0[i] = a1[i] = _mm512_setzero_ps();
        int j = 0;
        for (; j + 32 <= k; j += 32) {
            __m512 w0 = _mm512_loadu_ps(wr + j), w1 = _mm512_loadu_ps(wr + j + 16);
            for (int i = 0; i < n; i++) {
                const float *xr = x + (long)i * k + j;
                a0[i] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xr), a0[i]);
                a1[i] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xr + 16), a1[i]);
            }
        }
        for (int i = 0; i < n; i++) {
            const float *xr = x + (long)i * k;
            float acc[16], tail = 0;
            _mm512_storeu_ps(acc, _mm512_add_ps(a0[i], a1[i]));
            for (int jj = j; jj < k; jj++)
                tail += wr[jj] * xr[jj];
            y[(long)i * ldy + u] = sum16(acc, tail);
        }
    }
}

FV_TARGET_AVX2 static void
rows_avx2(const float *w, const float *x, int n, int k, int u0, int u1, float *y, int ldy)
{
    for (int u = u0; u < u1; u++) {
        const float *wr = w + (long)u * k;
        __m256 a0[FV_GEMV_MAX_N], a1[FV_GEMV_MAX_N];
        for (int i = 0; i < n; i++)
            a0[i] = a1[i] = _mm256_setzero_ps();
        int j = 0;
        for (; j + 16 <= k; j += 16) {
            __m256 w0 = _mm256_loadu_ps(wr + j), w1 = _mm256_loadu_ps(wr + j + 8);
            for (int i = 0; i < n; i++) {
                const float *xr = x + (long)i * k + j;
                a0[i] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr), a0[i]);
                a1[i] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + 8), a1[i]);
            }
        }
        for (int i = 0; i < n; i++) {
            const float *xr = x + (long)i * k;
            float acc[16], tail = 0;
            _mm256_storeu_ps(acc, a0[i]);
            _mm256_storeu_ps(acc + 8, a1[i]);
            for (int jj = j; jj < k; jj++)
                tail += wr[jj] * xr[jj];
            y[(long)i * ldy + u] = sum16(acc, tail);
        }
    }
}
#endif

void fv_dense_rows(const float *w, const float *x, int n, int k, int u0, int u1, float *y,
                   int ldy)
{
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_GEMV);
    if (isa == FV_ISA_AVX512) {
        rows_avx512(w, x, n, k, u0, u1, y, ldy);
        return;
    }
    if (isa == FV_ISA_AVX2) {
        rows_avx2(w, x, n, k, u0, u1, y, ldy);
        return;
    }
#endif
    rows_generic(w, x, n, k, u0, u1, y, ldy);
}
