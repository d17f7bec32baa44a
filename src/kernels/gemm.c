/* gemm.c - fv_sgemm: a cache-blocked single-precision GEMM. Blocks of op(B) (KC x NC) and op(A)
 * (MC x KC) are packed into panels NR (resp. MR) wide, zero-padded at the edges (an untransposed
 * B is read in place when A has few rows), and a register-tiled MR x NR micro-kernel multiplies
 * one A panel by one B panel: generic plain C (4 x 8, auto-vectorized), AVX2+FMA (6 x 16) and
 * AVX-512 (12 x 32) with intrinsics behind target attributes; each call picks the best the CPU
 * supports with __builtin_cpu_supports (a cheap read of cached CPU flags). */
#include "kernels/kernels.h"

#include <math.h>
#include <stddef.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Blocking: KC steps per pass, MC rows of A and NC columns of B per packed block. MC and NC are
 * multiples of every variant's MR and NR, so packed panels never exceed the buffers. */
enum { KC = 320, MC = 120, NC = 480 };

/* Per-thread packing buffers (static storage: no allocation on the compute path). */
static _Thread_local _Alignas(64) float pack_a[MC * KC];
static _Thread_local _Alignas(64) float pack_b[KC * NC];

typedef void (*kernel_fn)(int kc, const float *a, const float *b, ptrdiff_t ldb, float *c,
                          ptrdiff_t ldc, int mr, int nr, float alpha, float beta);

typedef struct variant {
    const char *name;
    int mr, nr;
    kernel_fn kernel;
} variant;

#define MUL_ADD(a, b, c) ((a) * (b) + (c))

/* Defines NAME: the MR x NR tile acc = sum_p a[p][0..MR) (outer) b[p][0..NR) over kc steps (a
 * packed, step p of b at b + p ldb), then C = alpha * acc + beta * C on its mr x nr valid part
 * (beta == 0: C is not read). The accumulator stays in registers: the row loop is unrolled and
 * the NR loop is vectorized. */
#define FV_GEMM_KERNEL(NAME, ATTR, MR, NR, MADD)                                              \
    ATTR static void NAME(int kc, const float *restrict a, const float *restrict b,            \
                          ptrdiff_t ldb, float *restrict c, ptrdiff_t ldc, int mr, int nr,     \
                          float alpha, float beta)                                             \
    {                                                                                          \
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
    }

/* Baseline: 8 vector accumulators fit the 16 SSE registers of x86-64. */
FV_GEMM_KERNEL(kernel_generic, , 4, 8, MUL_ADD)
static const variant v_generic = {"generic", 4, 8, kernel_generic};

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FV_GEMM_X86 1
/* 12 accumulators of 8 (ymm) or 16 (zmm) floats, two B vectors and a broadcast of A. */
/* AVX2+FMA: a 6 x 16 tile in 12 ymm accumulators (intrinsics: the auto-vectorized C version
 * spills at -O3). */
#define K256_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

__attribute__((target("avx2,fma"))) static void
kernel_avx2(int kc, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
            float *restrict c, ptrdiff_t ldc, int mr, int nr, float alpha, float beta)
{
#define K256_DECL(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
    K256_ROWS(K256_DECL)
    for (int p = 0; p < kc; p++, a += 6, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#define K256_FMA(i)                                                                            \
    {                                                                                          \
        __m256 ai = _mm256_broadcast_ss(a + (i));                                              \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                            \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                            \
    }
        K256_ROWS(K256_FMA)
    }
    _Alignas(32) float t[6][16];
#define K256_SPILL(i) _mm256_store_ps(t[i], c##i##0), _mm256_store_ps(t[i] + 8, c##i##1);
    K256_ROWS(K256_SPILL)
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = beta == 0.0f ? alpha * t[i][j]
                                          : fmaf(beta, c[i * ldc + j], alpha * t[i][j]);
}
static const variant v_avx2 = {"avx2+fma", 6, 16, kernel_avx2};

/* AVX-512: a 12 x 32 tile in 24 zmm accumulators, written with intrinsics so that nothing spills.
 * Each k step loads two B vectors and broadcasts 12 A values: 24 FMAs for 14 loads, enough to
 * keep both FMA pipes busy. Edge tiles go through a stack tile. */
#define K512_MR 12
#define K512_NR 32
#define K512_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f,fma"))) static void
kernel_avx512(int kc, const float *restrict a, const float *restrict b, ptrdiff_t ldb,
              float *restrict c, ptrdiff_t ldc, int mr, int nr, float alpha, float beta)
{
#define K512_DECL(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
    K512_ROWS(K512_DECL)
    for (int p = 0; p < kc; p++, a += K512_MR, b += ldb) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#define K512_FMA(i)                                                                            \
    {                                                                                          \
        __m512 ai = _mm512_set1_ps(a[i]);                                                      \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                            \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                                            \
    }
        K512_ROWS(K512_FMA)
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    if (mr == K512_MR && nr == K512_NR) {
#define K512_STORE(i)                                                                          \
    {                                                                                          \
        float *ci = c + (ptrdiff_t)(i) * ldc;                                                  \
        __m512 r0 = _mm512_mul_ps(va, c##i##0), r1 = _mm512_mul_ps(va, c##i##1);               \
        if (beta != 0.0f) {                                                                    \
            r0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci), r0);                                 \
            r1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(ci + 16), r1);                            \
        }                                                                                      \
        _mm512_storeu_ps(ci, r0);                                                              \
        _mm512_storeu_ps(ci + 16, r1);                                                         \
    }
        K512_ROWS(K512_STORE)
        return;
    }
    _Alignas(64) float t[K512_MR][K512_NR];
#define K512_SPILL(i) _mm512_store_ps(t[i], c##i##0), _mm512_store_ps(t[i] + 16, c##i##1);
    K512_ROWS(K512_SPILL)
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++)
            c[i * ldc + j] = beta == 0.0f ? alpha * t[i][j]
                                          : fmaf(beta, c[i * ldc + j], alpha * t[i][j]);
}
static const variant v_avx512 = {"avx512f", K512_MR, K512_NR, kernel_avx512};

static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
static int have_avx512(void) { return __builtin_cpu_supports("avx512f") && have_avx2(); }
#endif

static fv_gemm_isa g_forced = FV_GEMM_AUTO;

static const variant *isa_variant(fv_gemm_isa isa)
{
#ifdef FV_GEMM_X86
    if ((isa == FV_GEMM_AUTO || isa == FV_GEMM_AVX512) && have_avx512())
        return &v_avx512;
    if ((isa == FV_GEMM_AUTO || isa == FV_GEMM_AVX2) && have_avx2())
        return &v_avx2;
#endif
    return isa == FV_GEMM_AUTO || isa == FV_GEMM_GENERIC ? &v_generic : NULL;
}

int fv_sgemm_force(fv_gemm_isa isa)
{
    if (!isa_variant(isa))
        return 0;
    g_forced = isa;
    return 1;
}

const char *fv_sgemm_isa_name(void) { return isa_variant(g_forced)->name; }

static int min_int(int a, int b) { return a < b ? a : b; }

/* d[0..n) = s[0..n); the fixed 8-wide inner loop is vectorized at -O2. */
static void copy_floats(float *restrict d, const float *restrict s, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            d[i + j] = s[i + j];
    for (; i < n; i++)
        d[i] = s[i];
}

/* Panels whose rows are strided and steps contiguous: a transpose, 8 rows at a time so that the
 * stores are contiguous. */
static void pack_strided(const float *restrict s, ptrdiff_t rs, ptrdiff_t ps, int n, int kc, int w,
                         float *restrict dst)
{
    int r = 0;
    for (; r + 8 <= n; r += 8)
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < 8; j++)
                dst[(ptrdiff_t)p * w + r + j] = s[(r + j) * rs + p * ps];
    for (; r < n; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = s[r * rs + p * ps];
    for (r = n; r < w; r++)
        for (int p = 0; p < kc; p++)
            dst[(ptrdiff_t)p * w + r] = 0.0f;
}

/* Packs the rows x kc block of a matrix whose element (r, p) is src[r * rs + p * ps] into panels
 * of w rows: panel k holds, for each p, rows [k w, k w + w) contiguously; missing rows are 0. */
static void pack(const float *src, ptrdiff_t rs, ptrdiff_t ps, int rows, int kc, int w,
                 float *dst)
{
    for (int r0 = 0; r0 < rows; r0 += w, dst += (ptrdiff_t)w * kc) {
        int n = min_int(w, rows - r0);
        const float *s = src + r0 * rs;
        if (rs != 1) {
            pack_strided(s, rs, ps, n, kc, w, dst);
            continue;
        }
        for (int p = 0; p < kc; p++) { /* rows contiguous in memory: copy w at a time */
            float *d = dst + (ptrdiff_t)p * w;
            copy_floats(d, s + p * ps, n);
            for (int r = n; r < w; r++)
                d[r] = 0.0f;
        }
    }
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

/* The KC x NC block of op(B): NR-wide panels at b + jr * bstep with k-step ldb. Packed: every
 * panel in pack_b (bstep kc, ldb NR). Direct (op(B) = B, one block of A): the full panels read B
 * in place (bstep 1, ldb = B's), only a partial last panel is packed (zero-padded). */
typedef struct b_block {
    const float *b;
    ptrdiff_t bstep, ldb;
    int full; /* columns served in place; the rest come from pack_b */
} b_block;

static b_block prepare_b(const variant *v, const float *B, ptrdiff_t rs_b, ptrdiff_t ps_b,
                         int direct, int nc, int kc)
{
    b_block bb = {pack_b, kc, v->nr, 0};
    if (direct) {
        bb = (b_block){B, 1, ps_b, nc / v->nr * v->nr};
        if (bb.full < nc)
            pack(B + bb.full, rs_b, ps_b, nc - bb.full, kc, v->nr, pack_b);
        return bb;
    }
    pack(B, rs_b, ps_b, nc, kc, v->nr, pack_b);
    return bb;
}

/* One KC x NC block of op(B) times every MC block of op(A). */
static void gemm_block(const variant *v, int M, int nc, int kc, float alpha, const float *A,
                       ptrdiff_t rs_a, ptrdiff_t ps_a, const b_block *bb, float beta, float *C,
                       int ldc)
{
    for (int ic = 0; ic < M; ic += MC) {
        int mc = min_int(MC, M - ic);
        pack(A + ic * rs_a, rs_a, ps_a, mc, kc, v->mr, pack_a);
        /* one B panel stays in L1 while the A panels stream from L2 (BLIS's loop order) */
        for (int jr = 0; jr < nc; jr += v->nr) {
            int nr = min_int(v->nr, nc - jr);
            for (int ir = 0; ir < mc; ir += v->mr) {
                const float *ap = pack_a + (ptrdiff_t)ir * kc;
                float *c = C + (ptrdiff_t)(ic + ir) * ldc;
                int mr = min_int(v->mr, mc - ir);
                if (jr < bb->full)
                    v->kernel(kc, ap, bb->b + jr * bb->bstep, bb->ldb, c + jr, ldc, mr, nr, alpha,
                              beta);
                else
                    v->kernel(kc, ap, pack_b + (ptrdiff_t)(jr - bb->full) * kc, v->nr, c + jr,
                              ldc, mr, nr, alpha, beta);
            }
        }
    }
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
    const variant *v = isa_variant(g_forced);
    /* op(A)(i, p) = A[i * rs_a + p * ps_a], op(B)(p, j) = B[j * rs_b + p * ps_b] */
    ptrdiff_t rs_a = transA ? 1 : lda, ps_a = transA ? lda : 1;
    ptrdiff_t rs_b = transB ? ldb : 1, ps_b = transB ? 1 : ldb;
    /* with few rows of A each B panel is used a few times only: packing it costs more than it
     * saves, so rows of B are read in place */
    int direct = !transB && M <= MC;
    for (int jc = 0; jc < N; jc += NC) {
        int nc = min_int(NC, N - jc);
        for (int pc = 0; pc < K; pc += KC) {
            int kc = min_int(KC, K - pc);
            b_block bb = prepare_b(v, B + jc * rs_b + pc * ps_b, rs_b, ps_b, direct, nc, kc);
            gemm_block(v, M, nc, kc, alpha, A + pc * ps_a, rs_a, ps_a, &bb, pc == 0 ? beta : 1.0f,
                       C + jc, ldc);
        }
    }
}
