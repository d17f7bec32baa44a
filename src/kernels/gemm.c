/* gemm.c - fv_sgemm: single-precision GEMM, cache-blocked around register-tiled micro-kernels.
 * Variants: generic plain C (4 x 8 tile, auto-vectorized), AVX2+FMA (6 x 16) and AVX-512 (8 x 48,
 * 12 x 32 and 6 x 64 tiles of zmm accumulators, chosen per call so that MR divides M when it can;
 * narrower kernels for the last columns, tail kernels for the last rows), intrinsics behind
 * target attributes, picked per call by the gemm family's level (kernels/isa.h).
 * Blocking: a KC x NC block of op(B) stays in L2 while each A panel (MR x KC, in L1) meets its
 * panels, one kernel call per strip of tiles. Operands are packed into panels only where that
 * pays: A is read in place when its rows are contiguous along K; a transposed A, and B when A has
 * many panels, are packed by the kernels themselves as they first read them (AVX-512), or up
 * front (transposing 16 x 16 / 8 x 8 blocks in registers when the operand is transposed). Small
 * products read B in place. A B^T with a short side and a long K goes to inner-product kernels
 * instead (AVX-512), which need no packing at all, and so do the last columns of a product whose
 * width leaves a vector at most half used (N % 16 in 1..8: 14 x 14 and 7 x 7 maps). A^T op(B)
 * of such a width is computed transposed instead, C's rows along the vectors (AVX-512). */
#include "kernels/kernels.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Blocking (Zen 5: 48 KiB L1d, 1 MiB L2 per core): at most KC steps per pass and NC columns of
 * B per block (rounded down to a multiple of the tile's NR): a KC x NC block of B stays in L2
 * while an A panel (MR x KC) in L1 meets each of its panels. A packed up front goes in blocks of
 * MC rows. Products of at most SMALL_M rows read B in place; B_IN_L2 floats of it in place
 * stay in L2. */
enum { KC = 512, MC = 96, NC = 336, SMALL_M = 192, B_IN_L2 = 64 * 1024 };

/* Packed panels w rows wide lie w kc + PAD floats apart: panels a multiple of 4 KiB apart would
 * put the stores of a step, one per panel, in the same L1 set. */
enum { PAD = 16 };
static ptrdiff_t panel_stride(int w, int kc) { return (ptrdiff_t)w * kc + PAD; }

/* Per-thread packing buffers (static storage: no allocation on the compute path); the panels'
 * padding needs at most PAD floats per row. */
static _Thread_local _Alignas(64) float pack_a[MC * (KC + PAD)];
static _Thread_local _Alignas(64) float pack_b[NC * (KC + PAD)];

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

static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }

/* ---- generic C ---------------------------------------------------------------------------- */

#define MUL_ADD(a, b, c) ((a) * (b) + (c))

/* Defines NAME for an MR x NR tile in plain C; the accumulator stays in registers: the row loop
 * is unrolled and the NR loop vectorized. A must be packed (ars 1, aps MR): with a run-time
 * stride GCC vectorizes the wrong loop. */
#define FV_GEMM_KERNEL(NAME, ATTR, MR, NR, MADD)                                              \
    ATTR static void NAME##_tile(const kargs *k, const float *restrict a,                      \
                                 const float *restrict b, float *restrict c)                   \
    {                                                                                          \
        const ptrdiff_t ldb = k->ldb, ldc = k->ldc;                                            \
        const int kc = k->kc, mr = k->mr, nr = k->nr;                                          \
        const float alpha = k->alpha, beta = k->beta;                                          \
        float acc[MR][NR];                                                                     \
        _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                                  \
            for (int j = 0; j < NR; j++)                                                       \
                acc[i][j] = 0.0f;                                                              \
        for (int p = 0; p < kc; p++, a += MR, b += ldb) {                                      \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    acc[i][j] = MADD(a[i], b[j], acc[i][j]);                                   \
        }                                                                                      \
        if (mr == MR && nr == NR && beta == 0.0f) {                                            \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    c[i * ldc + j] = alpha * acc[i][j];                                        \
        } else if (mr == MR && nr == NR) {                                                     \
            _Pragma("GCC unroll 16") for (int i = 0; i < MR; i++)                              \
                for (int j = 0; j < NR; j++)                                                   \
                    c[i * ldc + j] = MADD(beta, c[i * ldc + j], alpha * acc[i][j]);            \
        } else {                                                                               \
            for (int i = 0; i < mr; i++)                                                       \
                for (int j = 0; j < nr; j++)                                                   \
                    c[i * ldc + j] = beta == 0.0f ? alpha * acc[i][j]                          \
                                                  : beta * c[i * ldc + j] + alpha * acc[i][j]; \
        }                                                                                      \
    }                                                                                          \
    ATTR static void NAME(const kargs *k)                                                      \
    {                                                                                          \
        for (int q = 0; q < k->n; q++)                                                         \
            NAME##_tile(k, k->a + q * k->anext, k->b + q * k->bnext, k->c + q * k->cnext);     \
    }

/* Baseline: 8 vector accumulators fit the 16 SSE registers of x86-64. */
FV_GEMM_KERNEL(kernel_generic, , 4, 8, MUL_ADD)

/* d[0..n) = s[0..n), d[n..w) = 0; the fixed 8-wide inner loop is vectorized at -O2. */
static void copy_pad(float *restrict d, const float *restrict s, int n, int w)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            d[i + j] = s[i + j];
    for (; i < n; i++)
        d[i] = s[i];
    for (; i < w; i++)
        d[i] = 0.0f;
}

/* The width of the last panel of a block of `rows` rows in panels w wide: what it holds, rounded
 * up to `step`. */
static int last_width(int rows, int w, int step)
{
    int n = rows - (rows - 1) / w * w;
    return min_int(w, (n + step - 1) / step * step);
}

static void pack_rows_c(const float *s, ptrdiff_t ps, int rows, int kc, int w, int step,
                        float *dst)
{
    int np = (rows + w - 1) / w, wl = last_width(rows, w, step);
    for (int p = 0; p < kc; p++)
        for (int k = 0; k < np; k++) {
            int wk = k < np - 1 ? w : wl;
            copy_pad(dst + k * panel_stride(w, kc) + (ptrdiff_t)p * wk, s + p * ps + k * w,
                     min_int(w, rows - k * w), wk);
        }
}

/* Rows strided, steps contiguous: a transpose, 8 rows at a time so that the stores are
 * contiguous. */
static void pack_cols_c(const float *restrict s, ptrdiff_t rs, int n, int kc, int w,
                        float *restrict dst)
{
    int r = 0;
    for (; r + 8 <= n; r += 8)
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < 8; j++)
                dst[(ptrdiff_t)p * w + r + j] = s[(r + j) * rs + p];
    for (; r < n; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = s[r * rs + p];
    for (r = n; r < w; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = 0.0f;
}

static const tile tiles_generic[] = {{"4x8", 4, 8, 8, {kernel_generic}, {kernel_generic}}};
static const variant v_generic = {tiles_generic, 1, pack_rows_c, pack_cols_c, 0, NULL, 0, NULL};

#ifdef FV_ISA_X86
#define AVX2 FV_TARGET_AVX2
#define AVX512 FV_TARGET_AVX512

/* ---- AVX2 + FMA ----------------------------------------------------------------------------- */

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
static const variant v_avx2 = {tiles_avx2, 1, pack_rows_c, pack_cols_avx2, A_IN_PLACE, NULL, 0,
                                NULL};

/* ---- AVX-512 -------------------------------------------------------------------------------- */

/* An MR x (16 NV) tile in MR * NV zmm accumulators c<i>_<v>, written once for every shape with
 * X-macros over rows and vectors; the constant MR and NV fold the unused ones away. Each k step
 * loads NV vectors of B and broadcasts MR values of A. */
#define R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define V4(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3)

/* Steps ahead that fused packing prefetches A (each step's values are a new line). */
enum { PACK_AHEAD = 32 };

/* Lanes [0, n) of 16 (n clamped to [0, 16]). */
static __mmask16 lane_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/* d[0..MR) = s[0..MR) (TAIL: the lanes of mp). Whole panels go by loads of exactly MR floats:
 * a 16-lane masked load whose dropped lanes reach into the next line waits for that line too
 * (a transposed A's packing tiles ran 20 % slower for it). */
AVX512 FV_INLINE void copy_step(const int MR, const int TAIL, float *restrict d,
                                const float *restrict s, __mmask16 mp)
{
    if (!TAIL && (MR == 8 || MR == 12))
        _mm256_storeu_ps(d, _mm256_loadu_ps(s));
    if (!TAIL && MR == 12)
        _mm_storeu_ps(d + 8, _mm_loadu_ps(s + 8));
    if (!TAIL && MR == 6) {
        _mm_storeu_ps(d, _mm_loadu_ps(s));
        _mm_storel_epi64((__m128i *)(d + 4), _mm_loadl_epi64((const __m128i *)(s + 4)));
    }
    if (TAIL || (MR != 6 && MR != 8 && MR != 12))
        _mm512_mask_storeu_ps(d, mp, _mm512_maskz_loadu_ps(mp, s));
}

/* One MR x 16 NV tile (TAIL: rows [0, mr) only) of a strip. */
AVX512 FV_INLINE void k512_tile(const int MR, const int NV, const int TAIL, const float *restrict a,
                             ptrdiff_t ars, ptrdiff_t aps, const float *restrict b, ptrdiff_t ldb,
                             float *restrict c, ptrdiff_t ldc, float *restrict pk,
                             float *restrict bpk, int kc, int mr, __mmask16 mp,
                             __mmask16 ml, float alpha, float beta)
{
#define K_DECL(i, v) __m512 c##i##_##v = _mm512_setzero_ps();
#define K_DECL_ROW(i) V4(K_DECL, i)
    R12(K_DECL_ROW)
    if (kc >= 64) /* C's lines, read or written after the loop, fetched while it runs */
        for (int i = 0; i < (TAIL ? mr : MR); i++)
            for (int v = 0; v <= NV; v++)
                _mm_prefetch((const char *)(c + i * ldc + 16 * v), _MM_HINT_T0);
    /* rows 4 apart from three bases, so that the offsets 0..3 ars fit in registers */
    const float *restrict a4 = MR > 4 ? a + 4 * ars : a, *restrict a8 = MR > 8 ? a + 8 * ars : a;
    /* one step of the k-loop; the first (FIRST) sets the accumulators with a multiply, so they
     * need no zeroing (24 vector moves a tile: products with K of 6-16 ran 2-5 % faster) */
#define K_STEP(FIRST)                                                                          \
    {                                                                                          \
        if (pk) { /* fused packing: this step's MR values of A, and a prefetch ahead */        \
            _mm_prefetch((const char *)(a + PACK_AHEAD * aps), _MM_HINT_T0);                   \
            copy_step(MR, TAIL, pk + p * MR, a, mp);                                           \
        }                                                                                      \
        __m512 b0 = K_LOADB(0);                                                                \
        __m512 b1 = NV > 1 ? K_LOADB(1) : b0;                                                  \
        __m512 b2 = NV > 2 ? K_LOADB(2) : b0;                                                  \
        __m512 b3 = NV > 3 ? K_LOADB(3) : b0;                                                  \
        if (bpk) { /* fused packing of B: this step's NR values, and a prefetch ahead */       \
            K_PACKB(0) K_PACKB(1) K_PACKB(2) K_PACKB(3)                                        \
        }                                                                                      \
        R12(K_ROW_##FIRST)                                                                     \
    }
/* edge kernels: the last vector masked to nr, so a partial B panel is read in place */
#define K_LOADB(v)                                                                             \
    (TAIL && v == NV - 1 ? _mm512_maskz_loadu_ps(ml, b + 16 * v) : _mm512_loadu_ps(b + 16 * v))
#define K_PACKB(v)                                                                             \
    if (NV > v) {                                                                              \
        _mm_prefetch((const char *)(b + PACK_AHEAD * ldb + 16 * v), _MM_HINT_T0);              \
        _mm512_storeu_ps(bpk + (p * NV + v) * 16, b##v);                                       \
    }
#define K_FMA(i, v)                                                                            \
    if (NV > v)                                                                                \
        c##i##_##v = _mm512_fmadd_ps(ai, b##v, c##i##_##v);
#define K_MUL(i, v)                                                                            \
    if (NV > v)                                                                                \
        c##i##_##v = _mm512_mul_ps(ai, b##v);
#define K_ROW_OP(i, OP)                                                                        \
    if (MR > i && (!TAIL || i < mr)) {                                                         \
        __m512 ai = _mm512_set1_ps((i < 4 ? a : i < 8 ? a4 : a8)[((i) & 3) * ars]);            \
        V4(OP, i)                                                                              \
    }
#define K_ROW_1(i) K_ROW_OP(i, K_MUL)
#define K_ROW_0(i) K_ROW_OP(i, K_FMA)
    int p = 0;
    K_STEP(1)
    for (p = 1, a += aps, a4 += aps, a8 += aps, b += ldb; p < kc;
         p++, a += aps, a4 += aps, a8 += aps, b += ldb)
        K_STEP(0)
    if (alpha != 1.0f) {
        const __m512 va = _mm512_set1_ps(alpha);
#define K_SCALE(i, v)                                                                          \
    if (MR > i && NV > v)                                                                      \
        c##i##_##v = _mm512_mul_ps(va, c##i##_##v);
#define K_SCALE_ROW(i) V4(K_SCALE, i)
        R12(K_SCALE_ROW)
    }
    /* C = acc + beta C on rows [0, mr), the last vector masked to nr */
    const __m512 vb = _mm512_set1_ps(beta);
#define K_STORE(i, v)                                                                          \
    if (NV > v) {                                                                              \
        float *cv = cr + 16 * (v);                                                             \
        __mmask16 m = v == NV - 1 ? ml : (__mmask16)0xFFFF;                                    \
        __m512 r = c##i##_##v;                                                                 \
        if (beta != 0.0f)                                                                      \
            r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, cv), r);                          \
        _mm512_mask_storeu_ps(cv, m, r);                                                       \
    }
#define K_STORE_ROW(i)                                                                         \
    if (MR > i && (!TAIL || i < mr)) {                                                         \
        V4(K_STORE, i)                                                                         \
        cr += ldc;                                                                             \
    }
    /* rows by a running pointer: GCC hoisted the rows' addresses out of the strip's loop and
     * spilled them, two dozen reloads a tile (25 x 784 x 6 ran 16 % faster without them) */
    float *cr = c;
    __asm__("" : "+r"(cr));
    R12(K_STORE_ROW)
}

AVX512 FV_INLINE void k512_body(const int MR, const int NV, const int TAIL, const kargs *k)
{
    const float *a0 = k->a, *b0 = k->b;
    float *c0 = k->c, *restrict pk = k->pack_to;
    ptrdiff_t ars = k->ars, aps = k->aps;
    const ptrdiff_t ldb = k->ldb, ldc = k->ldc;
    const int kc = k->kc, mr = k->mr, nr = k->nr;
    const float alpha = k->alpha, beta = k->beta;
    const __mmask16 mp = lane_mask(TAIL ? mr : MR), ml = lane_mask(nr - 16 * (NV - 1));
    float *bpk = k->bpack_to;
    for (int q = 0; q < k->n; q++, a0 += k->anext, b0 += k->bnext, c0 += k->cnext) {
        if (q == 1 && pk) /* the first tile packed the A panel: read it from there */
            a0 = pk, ars = 1, aps = MR, pk = NULL;
        if (pk || bpk) /* (its own copy: the packing branches stay out of the plain loop) */
            k512_tile(MR, NV, TAIL, a0, ars, aps, b0, ldb, c0, ldc, pk, bpk, kc, mr, mp, ml,
                      alpha, beta);
        else
            k512_tile(MR, NV, TAIL, a0, ars, aps, b0, ldb, c0, ldc, NULL, NULL, kc, mr, mp, ml,
                      alpha, beta);
        bpk = bpk ? bpk + k->bpnext : NULL;
    }
}
/* k512_<MR>x<NV> for whole panels, k512t_<MR>x<NV> for the edges: the last panel of A (mr <=
 * MR rows, computed and read only) or of B (nr columns read, the last vector masked). */
#define K512(MR, NV)                                                                           \
    AVX512 static void k512_##MR##x##NV(const kargs *k) { k512_body(MR, NV, 0, k); }           \
    AVX512 static void k512t_##MR##x##NV(const kargs *k) { k512_body(MR, NV, 1, k); }
K512(12, 1)
K512(12, 2)
K512(8, 1)
K512(8, 2)
K512(8, 3)
K512(6, 1)
K512(6, 2)
K512(6, 3)
K512(6, 4)

/* Transposes the 16 x 16 block r[0..16) in place (r[j] becomes column j): pairs of rows
 * interleaved by singles, then by pairs, then 128-bit lanes gathered twice. */
AVX512 FV_INLINE void transpose16(__m512 r[16])
{
    __m512 t[16], u[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* u[4i + j]: rows 4i..4i+3 of column j of each 128-bit lane */
        __m512d q0 = _mm512_castps_pd(t[4 * i]), q1 = _mm512_castps_pd(t[4 * i + 1]);
        __m512d q2 = _mm512_castps_pd(t[4 * i + 2]), q3 = _mm512_castps_pd(t[4 * i + 3]);
        u[4 * i + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(q0, q2));
        u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(q0, q2));
        u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(q1, q3));
        u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(q1, q3));
    }
    for (int j = 0; j < 4; j++) {
        __m512 e0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
        __m512 e1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
        __m512 e2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
        __m512 e3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
        r[j] = _mm512_shuffle_f32x4(e0, e2, 0x88);
        r[j + 8] = _mm512_shuffle_f32x4(e0, e2, 0xdd);
        r[j + 4] = _mm512_shuffle_f32x4(e1, e3, 0x88);
        r[j + 12] = _mm512_shuffle_f32x4(e1, e3, 0xdd);
    }
}

/* r[0..16) = the transpose of the rows x 16 block at s (rows `stride` apart, the lanes of m;
 * rows past `rows` and lanes past m zero). */
AVX512 FV_INLINE void load_transposed16(__m512 r[16], const float *s, ptrdiff_t stride, int rows,
                                        __mmask16 m)
{
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(m, s + i * stride) : _mm512_setzero_ps();
    transpose16(r);
}

/* pack_cols with 16 x 16 in-register transposes (masked at the edges); panels 8 wide or less
 * use the AVX2 8 x 8 one (a 16 x 16 block would be half empty). */
AVX512 static void pack_cols_avx512(const float *restrict s, ptrdiff_t rs, int n, int kc, int w,
                                    float *restrict dst)
{
    if (w <= 8) {
        pack_cols_avx2(s, rs, n, kc, w, dst);
        return;
    }
    for (int r0 = 0; r0 < w; r0 += 16) { /* 16 rows at a time along K: 16 sequential streams */
        int rows = min_int(max_int(n - r0, 0), 16);
        __mmask16 st = lane_mask(w - r0);
        for (int p0 = 0; p0 < kc; p0 += 16) {
            int q = min_int(kc - p0, 16);
            __m512 r[16];
            load_transposed16(r, s + r0 * rs + p0, rs, rows, lane_mask(q));
            for (int j = 0; j < q; j++)
                _mm512_mask_storeu_ps(dst + (ptrdiff_t)(p0 + j) * w + r0, st, r[j]);
        }
    }
}

/* store_t_fn through 16 x 16 in-register transposes (masked at the edges), C row by row. */
AVX512 static void store_t_avx512(const float *restrict t, ptrdiff_t ldt, int n, int m, float alpha,
                                  float beta, float *restrict c, ptrdiff_t ldc)
{
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i0 = 0; i0 < m; i0 += 16) {
        int ni = min_int(m - i0, 16);
        for (int j0 = 0; j0 < n; j0 += 16) {
            __mmask16 mj = lane_mask(n - j0);
            __m512 r[16];
            load_transposed16(r, t + j0 * ldt + i0, ldt, n - j0, lane_mask(ni));
            for (int i = 0; i < ni; i++) {
                float *ci = c + (ptrdiff_t)(i0 + i) * ldc + j0;
                __m512 x = alpha == 1.0f ? r[i] : _mm512_mul_ps(va, r[i]);
                if (beta != 0.0f)
                    x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mj, ci), x);
                _mm512_mask_storeu_ps(ci, mj, x);
            }
        }
    }
}

/* pack_rows with vector copies (the last panel's masked), the rows a few steps ahead
 * prefetched: every step starts a new run of the source. */
AVX512 static void pack_rows_avx512(const float *restrict s, ptrdiff_t ps, int rows, int kc,
                                    int w, int step, float *restrict dst)
{
    enum { AHEAD = 8 };
    int np = (rows + w - 1) / w, wl = last_width(rows, w, step), nl = rows - (np - 1) * w;
    for (int p = 0; p < kc; p++, s += ps) {
        if (p + AHEAD < kc)
            for (int r = 0; r < rows; r += 16)
                _mm_prefetch((const char *)(s + AHEAD * ps + r), _MM_HINT_T0);
        float *d = dst + (ptrdiff_t)p * w;
        for (int k = 0; k < np - 1; k++, d += panel_stride(w, kc))
            for (int r = 0; r < w; r += 16) {
                __mmask16 m = lane_mask(w - r);
                _mm512_mask_storeu_ps(d + r, m, _mm512_maskz_loadu_ps(m, s + k * w + r));
            }
        d += (ptrdiff_t)p * (wl - w); /* the last panel's steps are wl apart */
        for (int r = 0; r < wl; r += 16)
            _mm512_mask_storeu_ps(d + r, lane_mask(wl - r),
                                  _mm512_maskz_loadu_ps(lane_mask(nl - r), s + (np - 1) * w + r));
    }
}

/* ---- AVX-512 inner products (A times B^T, both contiguous along K) ------------------------- */

/* The sums of a, b, c, d (each over its 16 lanes). */
AVX512 FV_INLINE __m128 reduce4(__m512 a, __m512 b, __m512 c, __m512 d)
{
    /* per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3], then [a, b, c, d] partial sums */
    __m512d ab = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b)));
    __m512d cd = _mm512_castps_pd(_mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d)));
    __m512 s = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)),
                             _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)));
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(s), _mm512_extractf32x8_ps(s, 1));
    return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

/* C(i, j) = alpha sum_p a[i lda + p] b[j ldb + p] + beta C(i, j) for an mr x nr tile (at most MR x
 * NR): MR * NR zmm accumulators d<i>_<j> along p, 16 steps at a time (the last ones masked),
 * reduced at the end. Rows past mr (columns past nr) repeat the last one, so every load is valid;
 * their sums are dropped. */
#define D6(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define D6J(X, i) X(i, 0) X(i, 1) X(i, 2) X(i, 3) X(i, 4) X(i, 5)
#define D6I(X, j) X(0, j) X(1, j) X(2, j) X(3, j) X(4, j) X(5, j)

AVX512 FV_INLINE void dot_body(const int MR, const int NR, int kc, const float *a, ptrdiff_t lda,
                            const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc, int mr,
                            int nr, float alpha, float beta)
{
#define D_PTR(i)                                                                               \
    const float *a##i = a + min_int(i, mr - 1) * lda, *b##i = b + min_int(i, nr - 1) * ldb;
    D6(D_PTR)
#define D_DECL(i, j) __m512 d##i##_##j = _mm512_setzero_ps();
#define D_DECL_ROW(i) D6J(D_DECL, i)
    D6(D_DECL_ROW)
    /* 16 steps at a time, then the last ones masked */
#define D_STEP(LOAD)                                                                           \
    {                                                                                          \
        D6(D_LOADA_##LOAD)                                                                     \
        D6(D_COL_##LOAD)                                                                       \
    }
#define D_LOADA_FULL(i) __m512 va##i = MR > i ? _mm512_loadu_ps(a##i + p) : _mm512_setzero_ps();
#define D_LOADA_MASK(i)                                                                        \
    __m512 va##i = MR > i ? _mm512_maskz_loadu_ps(m, a##i + p) : _mm512_setzero_ps();
#define D_FMA(i, j)                                                                            \
    if (MR > i)                                                                                \
        d##i##_##j = _mm512_fmadd_ps(va##i, vb, d##i##_##j);
#define D_COL_FULL(j)                                                                          \
    if (NR > j) {                                                                              \
        __m512 vb = _mm512_loadu_ps(b##j + p);                                                 \
        D6I(D_FMA, j)                                                                          \
    }
#define D_COL_MASK(j)                                                                          \
    if (NR > j) {                                                                              \
        __m512 vb = _mm512_maskz_loadu_ps(m, b##j + p);                                        \
        D6I(D_FMA, j)                                                                          \
    }
    int p = 0;
    for (; p + 16 <= kc; p += 16)
        D_STEP(FULL)
    if (p < kc) {
        __mmask16 m = lane_mask(kc - p);
        D_STEP(MASK)
    }
    const __m128 z = _mm_setzero_ps();
    const __mmask8 cm = (__mmask8)((1u << nr) - 1);
#define D_STORE(i)                                                                             \
    if (MR > i && i < mr) {                                                                    \
        _Alignas(32) float s[8];                                                               \
        _mm_store_ps(s, reduce4(d##i##_0, d##i##_1, d##i##_2, d##i##_3));                      \
        _mm_store_ps(s + 4, NR > 4 ? reduce4(d##i##_4, d##i##_5, d##i##_5, d##i##_5) : z);     \
        float *ci = c + (ptrdiff_t)(i) * ldc;                                                  \
        __m256 r = _mm256_mul_ps(_mm256_set1_ps(alpha), _mm256_load_ps(s));                    \
        if (beta != 0.0f)                                                                      \
            r = _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_maskz_loadu_ps(cm, ci), r);       \
        _mm256_mask_storeu_ps(ci, cm, r);                                                      \
    }
    D6(D_STORE)
    (void)b4, (void)b5, (void)a4, (void)a5;
}

#define KDOT(MR, NR)                                                                           \
    AVX512 static void kdot_##MR##x##NR(int kc, const float *a, ptrdiff_t lda, const float *b, \
                                        ptrdiff_t ldb, float *c, ptrdiff_t ldc, int mr,        \
                                        int nr, float alpha, float beta)                       \
    {                                                                                          \
        dot_body(MR, NR, kc, a, lda, b, ldb, c, ldc, mr, nr, alpha, beta);                     \
    }
KDOT(4, 6)
KDOT(6, 4)
KDOT(6, 2)
KDOT(6, 1)

static const tile tiles_avx512[] = {
    {"8x48", 8, 48, 16, {k512_8x1, k512_8x2, k512_8x3}, {k512t_8x1, k512t_8x2, k512t_8x3}},
    {"12x32", 12, 32, 16, {k512_12x1, k512_12x2}, {k512t_12x1, k512t_12x2}},
    {"6x64", 6, 64, 16, {k512_6x1, k512_6x2, k512_6x3, k512_6x4},
     {k512t_6x1, k512t_6x2, k512t_6x3, k512t_6x4}},
};
static const dot_tile dots_avx512[] = {{"dot4x6", 4, 6, kdot_4x6},
                                       {"dot6x4", 6, 4, kdot_6x4},
                                       {"dot6x2", 6, 2, kdot_6x2},
                                       {"dot6x1", 6, 1, kdot_6x1}};
static const variant v_avx512 = {tiles_avx512,     3,
                                  pack_rows_avx512, pack_cols_avx512,
                                  A_IN_PLACE | EDGES_IN_PLACE | FUSED_PACK,
                                  dots_avx512,      4,
                                  store_t_avx512};
#endif

/* ---- variant selection ---------------------------------------------------------------------- */

/* A forced tile: its index (blocked tiles, then inner-product ones) in the variant g_tile_v, the
 * one in use when it was forced; -1: none. */
static int g_tile = -1;
static const variant *g_tile_v;
static fv_gemm_operands g_operands = FV_GEMM_OPERANDS_AUTO;

/* The variant of the gemm family's level (kernels/isa.h). */
static const variant *current_variant(void)
{
    return FV_ISA_PICK(FV_KF_GEMM, &v_generic, &v_avx2, &v_avx512);
}

/* The tile forced for v, -1 when none is (or it was forced for another variant). */
static int forced_tile(const variant *v) { return v == g_tile_v ? g_tile : -1; }

const char *fv_sgemm_tile_name(int index)
{
    const variant *v = current_variant();
    if (index >= 0 && index < v->ntiles)
        return v->tiles[index].name;
    index -= v->ntiles;
    return index >= 0 && index < v->ndots ? v->dots[index].name : NULL;
}

int fv_sgemm_force_tile(int index)
{
    if (index != -1 && !fv_sgemm_tile_name(index))
        return 0;
    g_tile = index;
    g_tile_v = current_variant();
    return 1;
}

void fv_sgemm_force_operands(fv_gemm_operands mode) { g_operands = mode; }

/* The blocked tile whose MR divides M best (the fewest rows left to a tail kernel, which is
 * less efficient); ties go to the earlier tile. */
static const tile *pick_tile(const variant *v, int M)
{
    int t = forced_tile(v);
    if (t >= 0 && t < v->ntiles)
        return &v->tiles[t];
    const tile *best = &v->tiles[0];
    int waste = (M + best->mr - 1) / best->mr * best->mr - M;
    for (int i = 1; i < v->ntiles; i++) {
        const tile *t = &v->tiles[i];
        int w = (M + t->mr - 1) / t->mr * t->mr - M;
        if (w < waste)
            best = t, waste = w;
    }
    return best;
}

/* The inner-product tile with the least estimated time (ties: the earlier one): its tiles (a
 * partial one costs a whole one) times the larger of its loads per step (mr + nr vectors) and
 * its FMA cycles (mr nr / 2). Measured, the loads rank the tiles where the padded area did not
 * (6 x 25 by 6 x 1 tiles ran at 0.45x of 6 x 4 ones). */
static const dot_tile *cheapest_dot(const variant *v, int M, int N)
{
    const dot_tile *best = NULL;
    long cost = 0;
    for (int i = 0; i < v->ndots; i++) {
        const dot_tile *t = &v->dots[i];
        long c = (long)((M + t->mr - 1) / t->mr) * ((N + t->nr - 1) / t->nr) *
                 max_int(t->mr + t->nr, t->mr * t->nr / 2);
        if (!best || c < cost)
            best = t, cost = c;
    }
    return best;
}

/* A B^T (both contiguous along K) by inner products when packing B^T would cost about as much as
 * it saves: few rows of A or columns of B to reuse a packed element for, and K long enough for
 * the sums; cheapest_dot's tile. NULL: the blocked product. */
static const dot_tile *pick_dot(const variant *v, int transA, int transB, int M, int N, int K)
{
    if (transA || !transB || !v->ndots)
        return NULL;
    int t = forced_tile(v);
    if (t >= 0)
        return t >= v->ntiles ? &v->dots[t - v->ntiles] : NULL;
    int mn = min_int(M, N);
    if (K < 64 || mn > 32 || (mn > 8 && K < 256))
        return NULL;
    return cheapest_dot(v, M, N);
}

/* ---- blocked product ------------------------------------------------------------------------ */

/* Packs the rows x kc block of a matrix whose element (r, p) is src[r * rs + p * ps] into panels
 * of w rows (panel k: rows [k w, k w + w) for each p; missing rows are 0); the last panel is only
 * as wide as it needs to be, rounded up to `step`. */
static void pack(const variant *v, const float *src, ptrdiff_t rs, ptrdiff_t ps, int rows,
                 int kc, int w, int step, float *dst)
{
    if (rs == 1) {
        v->pack_rows(src, ps, rows, kc, w, step, dst);
        return;
    }
    for (int r0 = 0; r0 < rows; r0 += w, dst += panel_stride(w, kc)) /* ps == 1 */
        v->pack_cols(src + r0 * rs, rs, min_int(w, rows - r0), kc,
                     r0 + w < rows ? w : last_width(rows, w, step), dst);
}

/* C = beta * C (beta == 0: zeros, C not read). */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (ptrdiff_t)i * ldc;
        for (int j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
    }
}

/* How a block of an operand reaches the kernels: packed up front; read in place (a partial last
 * panel still packed unless the edge kernels read only its rows or columns); or (rows contiguous along K, AVX-512)
 * read in place by the first kernel call that meets each panel, which packs it for the others:
 * A's panel in the first tile of its strip, all of B's in the first strip. */
enum { PACKED, IN_PLACE, FUSED };

/* One block of op(A) (rows: M, panels MR wide) or op(B) (rows: N, panels NR wide), kc steps, as
 * the kernels read it. Panels [0, nfull) are read in place (element (r, p) at src[r rs + p ps]);
 * the rest come packed from buf, pstride apart: w rows wide, the partial last one only last_w
 * wide. */
typedef struct operand {
    const float *src;
    float *buf;
    ptrdiff_t rs, ps, pstride;
    int rows, kc, w, nfull, last_w, fused;
    int whole; /* fused A: each panel packed at its own place in buf (else all at buf) */
} operand;

/* Packed panel q lies at buf + (q - pbase(o)) pstride: fused, the first strip packs panel q at
 * its own place. */
static int pbase(const operand *o) { return o->fused ? 0 : o->nfull; }

static void prepare(operand *o, const variant *v, const float *src, ptrdiff_t rs, ptrdiff_t ps,
                    int rows, int kc, int w, int step, int mode, int tail_in_place, float *buf)
{
    int tail = rows % w, np = (rows + w - 1) / w;
    int nfull = mode == PACKED ? 0 : tail_in_place || !tail ? np : np - 1;
    *o = (operand){src, buf, rs, ps, panel_stride(w, kc), rows, kc, w, nfull,
                   tail ? min_int(w, (tail + step - 1) / step * step) : w, mode == FUSED, 0};
    if (nfull < np)
        pack(v, src + (ptrdiff_t)nfull * w * rs, rs, ps, rows - nfull * w, kc, w, step,
             buf + (nfull - pbase(o)) * o->pstride);
}

/* Panel q (rows [q w, q w + w)) of o as the kernels read it: its start, rs and ss. */
static const float *panel(const operand *o, int q, ptrdiff_t *rs, ptrdiff_t *ss)
{
    if (q < o->nfull) {
        *rs = o->rs, *ss = o->ps;
        return o->src + (ptrdiff_t)q * o->w * o->rs;
    }
    *rs = 1, *ss = o->rows - q * o->w >= o->w ? o->w : o->last_w;
    return o->buf + (q - pbase(o)) * o->pstride;
}

/* The mc x kc block of op(A) times the kc x nc block of op(B) into C, in strips. With B packed
 * (its block in L2), each A panel (in L1) meets every B panel in turn; with B read in place,
 * each B panel meets every A panel right away (read from memory once). A partial last panel of B
 * goes to the tile's narrowest kernel that covers it (an edge kernel when read in place and not
 * whole vectors), that of A to a tail (edge) kernel. */
static void macro_kernel(const tile *t, const operand *a, const operand *b, float alpha,
                         float beta, float *C, ptrdiff_t ldc)
{
    int na = (a->rows + t->mr - 1) / t->mr, nb = (b->rows + t->nr - 1) / t->nr;
    int naf = a->rows / t->mr, nbf = b->rows / t->nr;
    /* B in place small enough to stay in L2: either order, whichever makes fewer calls */
    int calls_a = na * ((nbf > 0) + (nbf < nb)), calls_b = nb * ((naf > 0) + (naf < na));
    int a_outer = b->nfull == 0 || b->fused || /* (fused A implies B packed or fused) */
                  ((long)b->rows * b->kc <= B_IN_L2 && calls_a <= calls_b);
    kargs k = {.kc = a->kc, .ldc = ldc, .alpha = alpha, .beta = beta};
    ptrdiff_t rs;
    for (int o = 0; o < (a_outer ? na : nb); o++) {
        if (a_outer) { /* strip: A panel o against the whole B panels, then the partial one */
            k.a = panel(a, o, &k.ars, &k.aps), k.mr = min_int(t->mr, a->rows - o * t->mr);
            const kernel_fn *fns = k.mr == t->mr ? t->fn : t->tail;
            float *a_to = a->buf + (a->whole ? o * a->pstride : 0);
            k.c = C + (ptrdiff_t)o * t->mr * ldc, k.pack_to = a->fused ? a_to : NULL;
            if (nbf > 0) {
                k.b = panel(b, 0, &rs, &k.ldb), k.nr = t->nr, k.n = nbf;
                k.anext = 0, k.cnext = t->nr;
                k.bnext = b->nfull > 0 ? t->nr * b->rs : b->pstride;
                k.bpack_to = NULL, k.bpnext = b->pstride;
                if (b->fused && o == 0 && na > 1) /* the first strip packs B for the others */
                    k.bpack_to = b->buf;
                else if (b->fused && o > 0)
                    k.b = b->buf, k.ldb = t->nr, k.bnext = b->pstride;
                fns[(t->nr - 1) / t->step](&k);
                k.bpack_to = NULL;
                if (a->fused) /* packed now */
                    k.a = a_to, k.ars = 1, k.aps = t->mr, k.pack_to = NULL;
            }
            if (nbf < nb) {
                k.b = panel(b, nbf, &rs, &k.ldb), k.nr = b->rows - nbf * t->nr, k.n = 1;
                k.c += nbf * t->nr, k.pack_to = NULL;
                (nbf < b->nfull && k.nr % t->step ? t->tail : fns)[(k.nr - 1) / t->step](&k);
            }
        } else { /* strip: B panel o against the whole A panels, then the partial one */
            k.b = panel(b, o, &rs, &k.ldb), k.nr = min_int(t->nr, b->rows - o * t->nr);
            int nv = (k.nr - 1) / t->step;
            k.c = C + (ptrdiff_t)o * t->nr, k.pack_to = NULL;
            if (naf > 0) {
                k.a = panel(a, 0, &k.ars, &k.aps), k.mr = t->mr, k.n = naf;
                k.anext = a->nfull > 0 ? t->mr * a->rs : a->pstride, k.bnext = 0;
                k.cnext = t->mr * ldc;
                (k.nr < t->nr && o < b->nfull && k.nr % t->step ? t->tail : t->fn)[nv](&k);
            }
            if (naf < na) {
                k.a = panel(a, naf, &k.ars, &k.aps), k.mr = a->rows - naf * t->mr, k.n = 1;
                k.c += (ptrdiff_t)naf * t->mr * ldc;
                t->tail[nv](&k);
            }
        }
    }
}

/* The first of the fewest blocks of at most max that n splits into, in units of `mult` (the
 * last may be partial), as even as possible: a short last block would waste a pass. Called again
 * on what is left, it gives the next. */
static int even_block(int n, int max, int mult)
{
    int units = (n + mult - 1) / mult, most = max_int(1, max / mult);
    int parts = (units + most - 1) / most;
    return min_int(n, (units + parts - 1) / parts * mult);
}

/* How the blocked product reads op(B) (forced modes aside): in place when A has one panel (no
 * reuse), or when A is small and B stays in cache; else packed by the first strip (B's rows
 * contiguous, AVX-512) or up front. */
static int b_mode(const variant *v, const tile *t, int transB, int M, int N, int kcb)
{
    int fuse = (v->a_modes & FUSED_PACK) != 0;
    if (transB || g_operands == FV_GEMM_OPERANDS_PACKED)
        return PACKED;
    if (g_operands == FV_GEMM_OPERANDS_IN_PLACE)
        return IN_PLACE;
    if (M <= t->mr || (M <= SMALL_M && (!fuse || (long)kcb * N <= B_IN_L2)))
        return IN_PLACE;
    return fuse ? FUSED : PACKED;
}

/* How it reads op(A): in place when its rows are contiguous along K (a panel then stays in L1
 * across the B panels), when there are few B panels, or when all of it fits in L1 (A_IN_L1
 * floats: LeNet-5's 25 x 6 data gradient spent 5 % of its time packing); a transposed A (each
 * step of a panel a new line, lda apart: a power of two would put them all in one L1 set)
 * packed, by the kernels as they first read it when B is packed (its strips run along B). */
enum { A_IN_L1 = 8 * 1024 };
static int a_mode(const variant *v, const tile *t, int transA, int N, int K, int lda, int mode_b)
{
    int in_place = v->a_modes & A_IN_PLACE ? IN_PLACE : PACKED;
    if (g_operands != FV_GEMM_OPERANDS_AUTO)
        return g_operands == FV_GEMM_OPERANDS_IN_PLACE ? in_place : PACKED;
    if (!transA || N <= 2 * t->nr || (long)K * lda <= A_IN_L1)
        return in_place;
    return mode_b != IN_PLACE && (v->a_modes & FUSED_PACK) ? FUSED : PACKED;
}

/* Per-thread buffers grown on demand and freed when their thread ends: the whole of a packed
 * op(A) (M x KC, at most WHOLE_A floats: 16 MiB) and a transposed product's output (T_FLOATS).
 * NULL when one cannot grow: the caller then takes a path that needs none. */
enum { BUF_WHOLE_A, BUF_T, NBUFS };
enum { WHOLE_A = 4 << 20, T_FLOATS = 256 * 1024 };
static const size_t buf_max[NBUFS] = {WHOLE_A, T_FLOATS};
/* Whole only for more than this many blocks of B: with two (4608 x 392 x 512 products), writing
 * the packed A out to memory and reading it back cost more than packing it again. */
enum { WHOLE_A_BLOCKS = 3 };
static pthread_key_t buf_key[NBUFS];
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static _Thread_local float *buf_ptr[NBUFS];
static _Thread_local size_t buf_cap[NBUFS];
static int buf_keys_ok;

static void buf_keys_init(void)
{
    buf_keys_ok = 1;
    for (int i = 0; i < NBUFS; i++)
        buf_keys_ok = buf_keys_ok && pthread_key_create(&buf_key[i], free) == 0;
}

static float *thread_buf(int which, size_t floats)
{
    if (floats > buf_max[which])
        return NULL;
    if (floats <= buf_cap[which])
        return buf_ptr[which];
    pthread_once(&buf_once, buf_keys_init);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    float *p = buf_keys_ok ? aligned_alloc(64, bytes) : NULL;
    if (!p || pthread_setspecific(buf_key[which], p) != 0) {
        free(p);
        return NULL;
    }
    free(buf_ptr[which]);
    buf_ptr[which] = p, buf_cap[which] = bytes / sizeof(float);
    return p;
}

/* One KC x NC block of op(B) (at B0) against every block of op(A) (at A0: MC rows at a time when
 * packed up front), the macro-kernel on each pair. */
static void gemm_block(const variant *v, const tile *t, int mode_a, int mode_b, int mcmax, int M,
                       int nc, int kc, float alpha, const float *A0, ptrdiff_t rs_a,
                       ptrdiff_t ps_a, const float *B0, ptrdiff_t rs_b, ptrdiff_t ps_b,
                       float beta, float *C, int ldc)
{
    int edges = (v->a_modes & EDGES_IN_PLACE) != 0;
    operand a, b;
    prepare(&b, v, B0, rs_b, ps_b, nc, kc, t->nr, t->step, mode_b, edges, pack_b);
    for (int ic = 0, mc; ic < M; ic += mc) {
        mc = even_block(M - ic, mcmax, t->mr);
        prepare(&a, v, A0 + ic * rs_a, rs_a, ps_a, mc, kc, t->mr, t->mr, mode_a, edges, pack_a);
        macro_kernel(t, &a, &b, alpha, beta, C + (ptrdiff_t)ic * ldc, ldc);
    }
}

/* The product with op(A) packed whole once per K block into wbuf (the K blocks outermost): by the
 * kernels of the first block of B when it is fused, else up front; every later block of B reads
 * each panel from there. */
static void gemm_whole_a(const variant *v, const tile *t, int mode_a, int mode_b, int ncmax,
                         int M, int N, int K, float alpha, const float *A, ptrdiff_t rs_a,
                         ptrdiff_t ps_a, const float *B, ptrdiff_t rs_b, ptrdiff_t ps_b,
                         float beta, float *C, int ldc, float *wbuf)
{
    int edges = (v->a_modes & EDGES_IN_PLACE) != 0;
    for (int pc = 0, kc; pc < K; pc += kc) {
        kc = even_block(K - pc, KC, 4);
        operand a, b;
        prepare(&a, v, A + pc * ps_a, rs_a, ps_a, M, kc, t->mr, t->mr, mode_a, 0, wbuf);
        a.whole = 1;
        for (int jc = 0, nc; jc < N; jc += nc) {
            nc = even_block(N - jc, ncmax, t->nr);
            prepare(&b, v, B + jc * rs_b + pc * ps_b, rs_b, ps_b, nc, kc, t->nr, t->step, mode_b,
                    edges, pack_b);
            macro_kernel(t, &a, &b, alpha, pc == 0 ? beta : 1.0f, C + jc, ldc);
            a.fused = 0, a.nfull = 0; /* packed now: every panel from the buffer */
        }
    }
}

/* The blocked product: KC x NC blocks of op(B) against blocks of op(A). A packed op(A) that
 * meets several blocks of B is packed once per K block, whole (OpenBLAS packs it once too);
 * else the N blocks go outermost, so that a block of C stays in cache across the K blocks. */
static void gemm_blocked(const variant *v, const tile *t, int transA, int transB, int M, int N,
                         int K, float alpha, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    /* op(A)(i, p) = A[i * rs_a + p * ps_a], op(B)(p, j) = B[j * rs_b + p * ps_b] */
    ptrdiff_t rs_a = transA ? 1 : lda, ps_a = transA ? lda : 1;
    ptrdiff_t rs_b = transB ? ldb : 1, ps_b = transB ? 1 : ldb;
    int kcb = even_block(K, KC, 4);
    int mode_b = b_mode(v, t, transB, M, N, kcb), mode_a = a_mode(v, t, transA, N, K, lda, mode_b);
    /* blocks of A matter only to its buffer */
    int mcmax = mode_a == PACKED ? MC / t->mr * t->mr : M;
    int ncmax = mode_b == IN_PLACE ? N : NC / t->nr * t->nr;
    float *wbuf = NULL;
    if (mode_a != IN_PLACE && N > WHOLE_A_BLOCKS * ncmax)
        wbuf = thread_buf(BUF_WHOLE_A,
                          (size_t)((M + t->mr - 1) / t->mr) * panel_stride(t->mr, kcb));
    if (wbuf) {
        gemm_whole_a(v, t, mode_a, mode_b, ncmax, M, N, K, alpha, A, rs_a, ps_a, B, rs_b, ps_b,
                     beta, C, ldc, wbuf);
        return;
    }
    for (int jc = 0, nc; jc < N; jc += nc) {
        nc = even_block(N - jc, ncmax, t->nr);
        for (int pc = 0, kc; pc < K; pc += kc) {
            kc = even_block(K - pc, KC, 4);
            gemm_block(v, t, mode_a, mode_b, mcmax, M, nc, kc, alpha, A + pc * ps_a, rs_a, ps_a,
                       B + jc * rs_b + pc * ps_b, rs_b, ps_b, pc == 0 ? beta : 1.0f, C + jc,
                       ldc);
        }
    }
}

/* A B^T by inner products: K blocks short enough for an A tile's rows to stay in L1, N blocks for
 * a K block of B's rows to stay in L2; every B tile against one A tile in turn. */
static void gemm_dot(const dot_tile *t, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    enum { L1_STEPS = 1024, L2_FLOATS = 128 * 1024 };
    int kcb = even_block(K, L1_STEPS, 16);
    int ncb = max_int(t->nr, L2_FLOATS / kcb / t->nr * t->nr);
    for (int jc = 0; jc < N; jc += ncb) {
        int nc = min_int(ncb, N - jc);
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = min_int(kcb, K - pc);
            float bt = pc == 0 ? beta : 1.0f;
            for (int i = 0; i < M; i += t->mr)
                for (int j = jc; j < jc + nc; j += t->nr)
                    t->fn(kc, A + (ptrdiff_t)i * lda + pc, lda, B + (ptrdiff_t)j * ldb + pc, ldb,
                          C + (ptrdiff_t)i * ldc + j, ldc, min_int(t->mr, M - i),
                          min_int(t->nr, jc + nc - j), alpha, bt);
        }
    }
}

/* The columns of C past the last full vector that the blocked product would compute in a vector
 * at most half used (N % 16 in 1..8: a 14 x 14 map has 196 = 12 x 16 + 4 positions, 7 x 7 has
 * 49 = 3 x 16 + 1), when A's rows are contiguous along K: inner products compute them instead,
 * every lane useful. 0: none. */
static int edge_columns(const variant *v, int transA, int N, int K)
{
    int step = v->tiles[0].step, r = N % step;
    if (transA || !v->ndots || forced_tile(v) >= 0 || N < step || K < 64 || step != 16)
        return 0;
    return r <= step / 2 ? r : 0;
}

/* C(:, 0..e) = alpha A op(B)(:, 0..e) + beta C by inner products, B pointing at op(B)'s first edge
 * column: rows of B when transposed, else its e columns gathered into rows, K_EDGE steps at a
 * time. */
static void gemm_edge(const variant *v, int transB, int M, int e, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    enum { K_EDGE = 2048 };
    static _Thread_local _Alignas(64) float rows[8 * K_EDGE];
    const dot_tile *d = cheapest_dot(v, M, e);
    if (transB) {
        gemm_dot(d, M, e, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    for (int pc = 0; pc < K; pc += K_EDGE) {
        int kc = min_int(K_EDGE, K - pc);
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < e; j++)
                rows[j * K_EDGE + p] = B[(ptrdiff_t)(pc + p) * ldb + j];
        gemm_dot(d, M, e, kc, alpha, A + pc, lda, rows, K_EDGE, pc == 0 ? beta : 1.0f, C, ldc);
    }
}

/* Whether C = A^T op(B) runs faster as its transpose C^T = op(B)^T A when B's width fills its
 * last vector badly (N = 49, a 7 x 7 map: four vectors for 49 columns): C's rows then lie along
 * the vectors, every lane useful, for the price of transposing the result, about T_COST / K of
 * the product (measured: 576 x 100 x 64 gained, 150 x 100 x 16 lost 40 %). The vectors' padding
 * is ceil16(N) / N - 1 computed as is, ceil16(M) / M - 1 + T_COST / K transposed. */
enum { T_COST = 4 };
static int transposed_pays(const variant *v, int transA, int M, int N, int K)
{
    if (!transA || !v->store_t || forced_tile(v) >= 0 || g_operands != FV_GEMM_OPERANDS_AUTO ||
        N % 16 == 0 || M < 64 || K < 16 * T_COST)
        return 0;
    double now = (double)((N + 15) / 16 * 16) / N, tr = (double)((M + 15) / 16 * 16) / M;
    return tr + (double)T_COST / K < now - 0.01;
}

/* C = alpha A^T op(B) + beta C as its transpose, a block of C's rows [i0, i0 + mb) at a time:
 * T = op(B)^T A(:, i0..) by the blocked product (op(B)^T is B read transposed), then stored
 * into C transposed, alpha and beta applied there. 0: no buffer for T (nothing done). */
static int gemm_transposed(const variant *v, int transB, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc)
{
    int mbmax = max_int(64, T_FLOATS / N / 64 * 64);
    float *t = thread_buf(BUF_T, (size_t)N * min_int(M, mbmax));
    if (!t)
        return 0;
    const tile *tt = pick_tile(v, N);
    for (int i0 = 0, mb; i0 < M; i0 += mb) {
        mb = even_block(M - i0, mbmax, 16);
        gemm_blocked(v, tt, !transB, 0, N, mb, K, 1.0f, B, ldb, A + i0, lda, 0.0f, t, mb);
        v->store_t(t, mb, N, mb, alpha, beta, C + (ptrdiff_t)i0 * ldc, ldc);
    }
    return 1;
}

void fv_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const variant *v = current_variant();
    const dot_tile *d = pick_dot(v, transA, transB, M, N, K);
    if (d) {
        gemm_dot(d, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (transposed_pays(v, transA, M, N, K) &&
        gemm_transposed(v, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        return;
    int e = edge_columns(v, transA, N, K), n = N - e;
    gemm_blocked(v, pick_tile(v, M), transA, transB, M, n, K, alpha, A, lda, B, ldb, beta, C,
                 ldc);
    if (e)
        gemm_edge(v, transB, M, e, K, alpha, A, lda, B + (ptrdiff_t)n * (transB ? ldb : 1), ldb,
                  beta, C + n, ldc);
}
