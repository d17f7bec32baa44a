/* gemv.h - the few-sample fully connected kernel (gemv.c). */
#ifndef FV_GEMV_H
#define FV_GEMV_H

/* The most samples fv_dense_rows takes in one call. */
#define FV_GEMV_MAX_N 4

/* y[i * ldy + u] = sum_j w[u * k + j] x[i * k + j] for samples i < n (1..FV_GEMV_MAX_N) and
 * units u in [u0, u1); w is (units, k) row-major. Single-threaded; split units across threads. */
void fv_dense_rows(const float *w, const float *x, int n, int k, int u0, int u1, float *y,
                   int ldy);
/* The variant follows the gemv family's level (kernels/isa.h). */

#endif
