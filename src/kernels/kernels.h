/* kernels.h - the optimized compute kernels the ops call: single-precision GEMM (gemm.c) and
 * direct depthwise convolution (depthwise.c). The scalar references they are tested against live
 * in kernels/ref/. */
#ifndef FV_KERNELS_H
#define FV_KERNELS_H

/* C = alpha * op(A) * op(B) + beta * C, all row-major. op(A) is M x K (A is stored K x M when
 * transA), op(B) is K x N (stored N x K when transB); lda, ldb, ldc are row strides in elements.
 * beta == 0 writes C without reading it (it may hold NaN); alpha == 0 or K == 0 reads neither A
 * nor B. Single-threaded; safe to call from several threads at once. */
void fv_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);

/* fv_sgemm's instruction-set variant (generic, AVX2 + FMA, AVX-512) is the gemm family's level
 * (kernels/isa.h; tests put a level in force with fv_isa_force).
 * Testing hooks (not thread-safe). The current variant's micro-kernel tiles by index ("8x48",
 * ..., then the inner-product tiles of A B^T, "dot4x6", ...); NULL past the last. Calls pick a
 * tile (and with it the algorithm) by shape unless one is forced: a blocked tile forces the
 * blocked product, an inner-product tile the inner products for A B^T calls (others pick by
 * shape), while the variant it was forced for stays in use; -1 restores the choice by shape.
 * Returns 0 and changes nothing for an index the variant lacks. */
const char *fv_sgemm_tile_name(int index);
int fv_sgemm_force_tile(int index);
/* How the blocked product reads its operands: chosen by shape (in place, packed up front, or
 * packed by the kernels as they first read them), always packed up front, or in place wherever
 * the variant's kernels can. Persists across changes of level. */
typedef enum fv_gemm_operands {
    FV_GEMM_OPERANDS_AUTO = 0,
    FV_GEMM_OPERANDS_PACKED,
    FV_GEMM_OPERANDS_IN_PLACE,
} fv_gemm_operands;
void fv_sgemm_force_operands(fv_gemm_operands mode);

/* Depthwise convolution geometry: c channels of h x w, one kh x kw kernel each, stride, padding,
 * dilation; oh, ow the output extents (as the convolution's). */
typedef struct fv_dw_geom {
    int c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow;
} fv_dw_geom;
/* y (n, c, oh, ow) = the depthwise convolution of x (n, c, h, w) with w (c, 1, kh, kw) + b (may
 * be NULL). Backward accumulates (+=) into dx, dw, db; any may be NULL. */
void fv_depthwise_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                          const fv_dw_geom *g);
void fv_depthwise_bwd_f32(const float *x, const float *w, const float *dy, float *dx, float *dw,
                          float *db, int n, const fv_dw_geom *g);

#endif
