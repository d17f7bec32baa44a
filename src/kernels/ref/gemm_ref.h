/* gemm_ref.h - the scalar reference GEMM (float and double) that fv_sgemm is tested against, and
 * the dense (fully connected) layer computed with a GEMM: with fv_sgemm for float (the op's path,
 * src/ops/dense.c) and with the reference GEMM for double (gradient checks). Defined by
 * gemm_ref.inc via gemm_ref.c. */
#ifndef FV_GEMM_REF_H
#define FV_GEMM_REF_H

/* C = alpha * op(A) * op(B) + beta * C with fv_sgemm's conventions (kernels/kernels.h): row-major,
 * beta == 0 does not read C, alpha == 0 does not read A or B. Sums are accumulated in double. */
void fv_ref_gemm_f32(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc);
void fv_ref_gemm_f64(int transA, int transB, int M, int N, int K, double alpha, const double *A,
                     int lda, const double *B, int ldb, double beta, double *C, int ldc);

/* Dense layer over n samples: x (n, k), weight w (units, k) as PyTorch stores it, bias b (units)
 * or NULL. Forward: y (n, units) = x w^T + b. */
void fv_dense_fwd_f32(const float *x, const float *w, const float *b, float *y, int n, int k,
                      int units);
void fv_dense_fwd_f64(const double *x, const double *w, const double *b, double *y, int n, int k,
                      int units);
/* Backward from dy (n, units), accumulating (+=): dx (n, k) += dy w, dw += dy^T x, db += the sum
 * of dy over samples. Any of dx, dw, db may be NULL (not wanted). */
void fv_dense_bwd_f32(const float *x, const float *w, const float *dy, float *dx, float *dw,
                      float *db, int n, int k, int units);
void fv_dense_bwd_f64(const double *x, const double *w, const double *dy, double *dx, double *dw,
                      double *db, int n, int k, int units);

#endif
