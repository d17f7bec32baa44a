/* gemm_avx512.c - fv_sgemm's AVX-512 variant: 8 x 48, 12 x 32 and 6 x 64 tiles of zmm
 * accumulators (whole-panel, tail and edge kernels, fused packing of A and B), inner-product
 * kernels for A B^T, in-register transposes for packing and for storing a transposed product
 * (intrinsics behind target attributes; x86 only). */
#include "kernels/gemm_tile.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include <math.h>
#include <string.h>

#ifdef FV_ISA_X86
#include <immintrin.h>
#define AVX512 FV_TARGET_AVX512

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
        fv_gemm_avx2.pack_cols(s, rs, n, kc, w, dst);
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
const variant fv_gemm_avx512 = {tiles_avx512,     3,
                                  pack_rows_avx512, pack_cols_avx512,
                                  A_IN_PLACE | EDGES_IN_PLACE | FUSED_PACK,
                                  dots_avx512,      4,
                                  store_t_avx512};
#endif
