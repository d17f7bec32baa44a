/* gemm_tile.h - what fv_sgemm's driver (gemm.c) and its per-ISA micro-kernel files
 * (gemm_generic.c, gemm_avx2.c, gemm_avx512.c) share: the micro-kernel call, tile and variant
 * descriptions, and the packed-panel layout. Internal to kernels/. */
#ifndef FV_KERNELS_GEMM_TILE_H
#define FV_KERNELS_GEMM_TILE_H

#include <stddef.h>

/* Packed panels w rows wide lie w kc + PAD floats apart: panels a multiple of 4 KiB apart would
 * put the stores of a step, one per panel, in the same L1 set. */
enum { PAD = 16 };
static inline ptrdiff_t panel_stride(int w, int kc) { return (ptrdiff_t)w * kc + PAD; }


/* One micro-kernel call: acc = sum_p a(:, p) (outer) b(p, :) over kc steps, a(i, p) at
 * a[i ars + p aps] (packed: ars 1, aps MR), b(p, 0..NR) at b + p ldb; then C = alpha * acc +
 * beta * C on its mr x nr part (beta == 0: C is not read). Rows of a past mr may be read by a
 * whole-panel kernel (packed panels are zero-padded), never by a tail kernel. pack_to (AVX-512,
 * a with ars 1): the kernel also copies a(0..mr, p) to pack_to + p MR, packing the panel as it
 * reads it. A call computes a strip of n such tiles (one A panel against several B panels or the
 * converse), so that the per-call work is paid once. */
typedef struct kargs {
    const float *a, *b;
    float *c, *pack_to;
    ptrdiff_t ars, aps, ldb, ldc;
    int kc, mr, nr;
    float alpha, beta;
    int n;                      /* tiles in the strip: a, b, c then advance by ... */
    ptrdiff_t anext, bnext, cnext; /* ... (pack_to: from the second tile on, a is pack_to) */
    float *bpack_to;            /* AVX-512, whole panels: tile q copies its B panel (NR wide) */
    ptrdiff_t bpnext;           /* to bpack_to + q bpnext as it reads it */
} kargs;
typedef void (*kernel_fn)(const kargs *k);
/* Packs rows [0, n) x kc steps of a matrix whose element (r, p) is s[r * rs + p] (steps
 * contiguous) into one panel w rows wide: for each p, w values (rows n..w zero). */
typedef void (*pack_cols_fn)(const float *s, ptrdiff_t rs, int n, int kc, int w, float *dst);
/* Packs the rows x kc block of a matrix whose element (r, p) is s[r + p * ps] (rows contiguous)
 * into panels w rows wide (as pack's), reading it step by step. */
typedef void (*pack_rows_fn)(const float *s, ptrdiff_t ps, int rows, int kc, int w, int step,
                             float *dst);

/* A tile: MR x NR; fn[i] computes up to (i + 1) * step columns (the last panel of B), tail[i]
 * likewise for the last panel of A (fewer than MR rows) or, AVX-512, a last panel of B read in
 * place whose width is not whole vectors (2048 columns end in a panel of 32: whole vectors, for
 * the full kernels, which ran it twice as fast as the tail kernels). */
typedef struct tile {
    const char *name;
    int mr, nr, step;
    kernel_fn fn[4], tail[4];
} tile;

/* C = alpha A B^T + beta C on an mr x nr tile (at most MR x NR), A's rows at a + i lda and B's
 * at b + j ldb, both contiguous along the kc steps. */
typedef void (*dot_fn)(int kc, const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                       float *c, ptrdiff_t ldc, int mr, int nr, float alpha, float beta);
typedef struct dot_tile {
    const char *name;
    int mr, nr;
    dot_fn fn;
} dot_tile;

/* C(i, j) = alpha T(j, i) + beta C(i, j) for i < m, j < n (beta == 0: C not read); T is n x m,
 * its rows ldt apart. */
typedef void (*store_t_fn)(const float *t, ptrdiff_t ldt, int n, int m, float alpha, float beta,
                           float *c, ptrdiff_t ldc);

typedef struct variant {
    const tile *tiles;
    int ntiles;
    pack_rows_fn pack_rows;
    pack_cols_fn pack_cols;
    int a_modes; /* A_IN_PLACE: the kernels take any ars, aps (else A is packed);
                  * EDGES_IN_PLACE: the tail kernels read only mr rows of A and nr columns of
                  * B;
                  * FUSED_PACK: they take pack_to and bpack_to */
    const dot_tile *dots;
    int ndots;
    store_t_fn store_t; /* non-NULL: products may be computed transposed (gemm_transposed) */
} variant;

enum { A_IN_PLACE = 1, EDGES_IN_PLACE = 2, FUSED_PACK = 4 };

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }


/* The width of the last panel of a block of `rows` rows in panels w wide: what it holds, rounded
 * up to `step`. */
static inline int last_width(int rows, int w, int step)
{
    int n = rows - (rows - 1) / w * w;
    return min_int(w, (n + step - 1) / step * step);
}

/* The variants, one per ISA level (the AVX ones only on x86); pack_rows of the generic one is
 * the AVX2 variant's too. */
extern const variant fv_gemm_generic;
extern const variant fv_gemm_avx2;
extern const variant fv_gemm_avx512;
void fv_gemm_pack_rows_c(const float *s, ptrdiff_t ps, int rows, int kc, int w, int step,
                         float *dst);

#endif
