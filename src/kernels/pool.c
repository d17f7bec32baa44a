/* pool.c - fast max pooling forwards (NCHW, float): the 2x2 stride-2 window and the general window,
 * each bit-identical to its reference in kernels/ref/pool_ref.inc (values and switches, ties to the
 * first cell in row-major window order, the last NaN winning). Both vectorize across an output
 * row's columns: AVX-512 and AVX2 with intrinsics (stride-2 columns gathered by permutes), chosen
 * at run time (the pool family, kernels/isa.h); a portable branch-free version otherwise. The
 * general kernel runs the vector loop over the interior columns (windows wholly inside the row) and
 * the reference's scalar loop over the border columns. The backward (a scatter through the
 * switches) stays the reference's: it is bound by memory, and a vector version with masked loads
 * and stores measured twice as slow. Inference, which needs no switches, takes a values-only kernel
 * for stride 1 (GoogLeNet's 3x3 branch pools) that runs over flat padded rows (as depthwise.c). */
#include "kernels/eltwise.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include <stddef.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif


/* ---------------------------------------------------------------- 2x2 forward */

/* All output rows of `planes` planes; each variant walks them in order. */
typedef void (*fwd2x2_fn)(const fv_pool_geom *g, int64_t planes, const float *x, float *y,
                          int32_t *arg);

/* One output row of ow windows over rows r0, r1 (column 2 ox + {0, 1}); base: the flat position
 * of r0[0] in its plane. The first maximum, or the last NaN, by selects instead of branches. */
static void row2x2_generic(const float *r0, const float *r1, float *restrict y,
                           int32_t *restrict arg, int ow, int32_t base, int w)
{
    for (int ox = 0; ox < ow; ox++) {
        float a = r0[2 * ox], b = r0[2 * ox + 1], c = r1[2 * ox], d = r1[2 * ox + 1];
        float mx = b > a ? b : a;
        mx = c > mx ? c : mx;
        mx = d > mx ? d : mx;
        int ka = a == mx, kb = b == mx, kc = c == mx;
        int k = (1 - ka) * (1 + (1 - kb) * (1 + (1 - kc))); /* the first cell equal to mx */
        int nb = b != b, nc = c != c, nd = d != d, any = (a != a) | nb | nc | nd;
        k = any ? (nd ? 3 : nc ? 2 : nb ? 1 : 0) : k;
        float v01 = k & 1 ? b : a, v23 = k & 1 ? d : c;
        y[ox] = k & 2 ? v23 : v01;
        arg[ox] = base + 2 * ox + (k >> 1) * w + (k & 1);
    }
}

/* Runs the body for each output row in order, with its input rows r0, r1, output rows yr, ar
 * and base, the plane position of r0[0]. */
#define FOR_ROWS_2X2(g, planes, x, y, arg, ...)                                         \
    do {                                                                                \
        int64_t in_sz_ = (int64_t)(g)->h * (g)->w, out_sz_ = (int64_t)(g)->oh * (g)->ow; \
        for (int64_t p_ = 0; p_ < (planes); p_++)                                       \
            for (int oy_ = 0; oy_ < (g)->oh; oy_++) {                                   \
                const float *r0 = (x) + p_ * in_sz_ + (int64_t)2 * oy_ * (g)->w;        \
                const float *r1 = r0 + (g)->w;                                          \
                float *yr = (y) + p_ * out_sz_ + (int64_t)oy_ * (g)->ow;                \
                int32_t *ar = (arg) + p_ * out_sz_ + (int64_t)oy_ * (g)->ow;            \
                int32_t base = 2 * oy_ * (g)->w;                                        \
                __VA_ARGS__                                                             \
            }                                                                           \
    } while (0)

static void fwd2x2_generic(const fv_pool_geom *g, int64_t planes, const float *x, float *y,
                           int32_t *arg)
{
    FOR_ROWS_2X2(g, planes, x, y, arg, row2x2_generic(r0, r1, yr, ar, g->ow, base, g->w););
}

#ifdef FV_ISA_X86
#define AVX512 FV_TARGET_AVX512
#define AVX2 FV_TARGET_AVX2

/* Rows are short (14 or 5 outputs in LeNet), so most blocks are a row's partial tail. Masked
 * stores are slow (on this AMD EPYC a 2x2 forward with a masked store per row measured 1.5-2x
 * the time of this one), so a block writes all its lanes when the arrays go on past them: the
 * lanes beyond the row land on the next row's outputs, which are written again, correctly, when
 * that row's turn comes (one thread walks its rows in order). Loads likewise read on into the
 * next rows. Only the blocks at the very end of the arrays use masks. */

/* The winning cell k in 0..3 of each lane as two masks (bit 1: bottom row, bit 0: right
 * column), from the "equal to the maximum" masks ka, kb, kc and the NaN masks na..nd: the rule
 * of row2x2_generic. */
#define WINNER_BITS(ka, kb, kc, na, nb, nc, nd, bit1, bit0)                       \
    do {                                                                          \
        unsigned any_ = na | nb | nc | nd;                                        \
        bit1 = (any_ & (nd | nc)) | (~any_ & ~ka & ~kb);                          \
        bit0 = (any_ & (nd | (~nc & nb))) | (~any_ & ~ka & (kb | ~kc));           \
    } while (0)

AVX512 static void fwd2x2_avx512(const fv_pool_geom *g, int64_t planes, const float *x, float *y,
                                 int32_t *arg)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                           30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i one = _mm512_set1_epi32(1), wv = _mm512_set1_epi32(g->w);
    const float *xend = x + planes * g->h * g->w;
    const float *yend = y + planes * g->oh * g->ow;
    FOR_ROWS_2X2(g, planes, x, y, arg, {
        for (int ox = 0; ox < g->ow; ox += 16) {
            __m512 l0, h0, l1, h1;
            if (r1 + 2 * ox + 32 <= xend) {
                l0 = _mm512_loadu_ps(r0 + 2 * ox), h0 = _mm512_loadu_ps(r0 + 2 * ox + 16);
                l1 = _mm512_loadu_ps(r1 + 2 * ox), h1 = _mm512_loadu_ps(r1 + 2 * ox + 16);
            } else { /* the row's 2 m inputs only */
                int m = g->ow - ox < 16 ? g->ow - ox : 16;
                __mmask16 ml = (__mmask16)(m >= 8 ? 0xFFFFu : (1u << 2 * m) - 1);
                __mmask16 mh = (__mmask16)(m > 8 ? (1u << (2 * m - 16)) - 1 : 0);
                l0 = _mm512_maskz_loadu_ps(ml, r0 + 2 * ox);
                h0 = _mm512_maskz_loadu_ps(mh, r0 + 2 * ox + 16);
                l1 = _mm512_maskz_loadu_ps(ml, r1 + 2 * ox);
                h1 = _mm512_maskz_loadu_ps(mh, r1 + 2 * ox + 16);
            }
            __m512 a = _mm512_permutex2var_ps(l0, even, h0);
            __m512 b = _mm512_permutex2var_ps(l0, odd, h0);
            __m512 c = _mm512_permutex2var_ps(l1, even, h1);
            __m512 d = _mm512_permutex2var_ps(l1, odd, h1);
            __m512 mx = _mm512_max_ps(b, a); /* b > a ? b : a, the reference's chain */
            mx = _mm512_max_ps(c, mx);
            mx = _mm512_max_ps(d, mx);
            unsigned ka = _mm512_cmp_ps_mask(a, mx, _CMP_EQ_OQ);
            unsigned kb = _mm512_cmp_ps_mask(b, mx, _CMP_EQ_OQ);
            unsigned kc = _mm512_cmp_ps_mask(c, mx, _CMP_EQ_OQ);
            unsigned na = _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q);
            unsigned nb = _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
            unsigned nc = _mm512_cmp_ps_mask(c, c, _CMP_UNORD_Q);
            unsigned nd = _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q);
            unsigned bit1, bit0;
            WINNER_BITS(ka, kb, kc, na, nb, nc, nd, bit1, bit0);
            __mmask16 k1 = (__mmask16)bit1, k0 = (__mmask16)bit0;
            __m512 v = _mm512_mask_blend_ps(k1, _mm512_mask_blend_ps(k0, a, b),
                                            _mm512_mask_blend_ps(k0, c, d));
            __m512i at = _mm512_add_epi32(_mm512_set1_epi32(base + 2 * ox), even);
            at = _mm512_mask_add_epi32(at, k1, at, wv);
            at = _mm512_mask_add_epi32(at, k0, at, one);
            if (yr + ox + 16 <= yend) {
                _mm512_storeu_ps(yr + ox, v);
                _mm512_storeu_si512(ar + ox, at);
            } else {
                int m = g->ow - ox < 16 ? g->ow - ox : 16;
                __mmask16 mo = (__mmask16)((1u << m) - 1);
                _mm512_mask_storeu_ps(yr + ox, mo, v);
                _mm512_mask_storeu_epi32(ar + ox, mo, at);
            }
        }
    });
}

/* Even and odd elements of the 16 floats lo:hi, in order. */
AVX2 static inline void split_even_odd8(__m256 lo, __m256 hi, __m256 *ev, __m256 *od)
{
    __m256 e = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(2, 0, 2, 0)); /* l0 l2 h0 h2 | l4 l6 h4 h6 */
    __m256 o = _mm256_shuffle_ps(lo, hi, _MM_SHUFFLE(3, 1, 3, 1));
    *ev = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), _MM_SHUFFLE(3, 1, 2, 0)));
    *od = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(o), _MM_SHUFFLE(3, 1, 2, 0)));
}

/* Lanes [0, k) set. */
AVX2 static inline __m256i lanes_below8(int k)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2 static void fwd2x2_avx2(const fv_pool_geom *g, int64_t planes, const float *x, float *y,
                             int32_t *arg)
{
    const __m256i iota2 = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
    const __m256i wv = _mm256_set1_epi32(g->w);
    const __m256 ones = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
    const float *xend = x + planes * g->h * g->w;
    const float *yend = y + planes * g->oh * g->ow;
    FOR_ROWS_2X2(g, planes, x, y, arg, {
        for (int ox = 0; ox < g->ow; ox += 8) {
            int m = g->ow - ox < 8 ? g->ow - ox : 8;
            __m256 l0, h0, l1, h1, a, b, c, d;
            if (r1 + 2 * ox + 16 <= xend) {
                l0 = _mm256_loadu_ps(r0 + 2 * ox), h0 = _mm256_loadu_ps(r0 + 2 * ox + 8);
                l1 = _mm256_loadu_ps(r1 + 2 * ox), h1 = _mm256_loadu_ps(r1 + 2 * ox + 8);
            } else {
                __m256i ml = lanes_below8(2 * m), mh = lanes_below8(2 * m - 8);
                l0 = _mm256_maskload_ps(r0 + 2 * ox, ml);
                h0 = _mm256_maskload_ps(r0 + 2 * ox + 8, mh);
                l1 = _mm256_maskload_ps(r1 + 2 * ox, ml);
                h1 = _mm256_maskload_ps(r1 + 2 * ox + 8, mh);
            }
            split_even_odd8(l0, h0, &a, &b);
            split_even_odd8(l1, h1, &c, &d);
            __m256 mx = _mm256_max_ps(b, a);
            mx = _mm256_max_ps(c, mx);
            mx = _mm256_max_ps(d, mx);
            __m256 ka = _mm256_cmp_ps(a, mx, _CMP_EQ_OQ), kb = _mm256_cmp_ps(b, mx, _CMP_EQ_OQ);
            __m256 kc = _mm256_cmp_ps(c, mx, _CMP_EQ_OQ);
            __m256 na = _mm256_cmp_ps(a, a, _CMP_UNORD_Q), nb = _mm256_cmp_ps(b, b, _CMP_UNORD_Q);
            __m256 nc = _mm256_cmp_ps(c, c, _CMP_UNORD_Q), nd = _mm256_cmp_ps(d, d, _CMP_UNORD_Q);
            __m256 any = _mm256_or_ps(_mm256_or_ps(na, nb), _mm256_or_ps(nc, nd));
            __m256 b1 = _mm256_blendv_ps(_mm256_andnot_ps(_mm256_or_ps(ka, kb), ones),
                                         _mm256_or_ps(nd, nc), any);
            __m256 b0 = _mm256_blendv_ps(
                _mm256_andnot_ps(ka, _mm256_or_ps(kb, _mm256_andnot_ps(kc, ones))),
                _mm256_or_ps(nd, _mm256_andnot_ps(nc, nb)), any);
            __m256 v = _mm256_blendv_ps(_mm256_blendv_ps(a, b, b0), _mm256_blendv_ps(c, d, b0),
                                        b1);
            __m256i at = _mm256_add_epi32(_mm256_set1_epi32(base + 2 * ox), iota2);
            at = _mm256_add_epi32(at, _mm256_and_si256(_mm256_castps_si256(b1), wv));
            at = _mm256_sub_epi32(at, _mm256_castps_si256(b0)); /* b0 lanes are -1 */
            if (yr + ox + 8 <= yend) {
                _mm256_storeu_ps(yr + ox, v);
                _mm256_storeu_si256((__m256i *)(ar + ox), at);
            } else {
                __m256i mo = lanes_below8(m);
                _mm256_maskstore_ps(yr + ox, mo, v);
                _mm256_maskstore_epi32(ar + ox, mo, at);
            }
        }
    });
}
#endif

void fv_maxpool_fwd_2x2_f32(const fv_pool_geom *g, int n, const float *x, float *y, int32_t *arg)
{
    fwd2x2_fn f = fwd2x2_generic;
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_POOL);
    f = isa == FV_ISA_AVX512 ? fwd2x2_avx512 : isa == FV_ISA_AVX2 ? fwd2x2_avx2 : f;
#endif
    f(g, (int64_t)n * g->c, x, y, arg);
}

/* ---------------------------------------------------------------- general forward */

/* The interior columns [lo, hi) of one output row (windows wholly inside the row), window rows
 * [i0, i1) (clipped to the input). xend, yend: the ends of the input and output arrays of the
 * call, for the vector versions' reads and writes past the row (see the 2x2 kernels). */
typedef struct interior_args {
    const float *xp, *xend; /* the plane; the end of the input */
    const fv_pool_geom *g;
    int i0, i1, lo, hi;
    float *y; /* the output row */
    int32_t *a;
    const float *yend;
} interior_args;

typedef void (*interior_fn)(const interior_args *r);

/* Portable: the running maximum and switch of every column live in y and a; each window cell,
 * in row-major order, folds into all columns with the reference's rule (a later cell wins if
 * greater or NaN). sw is a constant in the stride-1 and -2 clones. */
FV_INLINE void interior_portable(const interior_args *r, int sw)
{
    const fv_pool_geom *g = r->g;
    const float *xp = r->xp;
    float *restrict y = r->y;
    int32_t *restrict a = r->a;
    const int lo = r->lo, hi = r->hi, i0 = r->i0, i1 = r->i1, w = g->w, kw = g->kw, pw = g->pw;
    for (int i = i0; i < i1; i++)
        for (int j = 0; j < kw; j++) {
            int32_t off = i * w + j - pw;
            if (i == i0 && j == 0) {
                for (int ox = lo; ox < hi; ox++)
                    y[ox] = xp[off + ox * sw], a[ox] = off + ox * sw;
                continue;
            }
            for (int ox = lo; ox < hi; ox++) {
                float v = xp[off + ox * sw], m = y[ox];
                int upd = (v > m) | (v != v);
                y[ox] = upd ? v : m;
                a[ox] = upd ? off + ox * sw : a[ox];
            }
        }
}

static void interior_s1(const interior_args *r) { interior_portable(r, 1); }
static void interior_s2(const interior_args *r) { interior_portable(r, 2); }
static void interior_sn(const interior_args *r) { interior_portable(r, r->g->sw); }

#ifdef FV_ISA_X86
/* Vector versions for strides 1 and 2 (s): a block of 16 (8) columns keeps its maximum and switch
 * in registers over the whole window, folding each cell in with the reference's rule; a stride-2
 * row of cells is two loads and a permute. Loads and stores run past the row as in the 2x2
 * kernels (the lanes past hi land on border columns or later rows, written after). */
/* The cells of m columns from p, stride s: plain loads while the input goes on past them. */
AVX512 FV_INLINE __m512 cells512(const float *p, const float *xend, int m, int s)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28,
                                           30);
    if (s == 1)
        return p + 16 <= xend ? _mm512_loadu_ps(p)
                              : _mm512_maskz_loadu_ps((__mmask16)((1u << m) - 1), p);
    if (p + 32 <= xend)
        return _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
    int k = 2 * m - 1; /* cells 0 .. 2 (m - 1) */
    __mmask16 ml = (__mmask16)(k >= 16 ? 0xFFFFu : (1u << k) - 1);
    __mmask16 mh = (__mmask16)(k > 16 ? (1u << (k - 16)) - 1 : 0);
    return _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(ml, p), even,
                                  _mm512_maskz_loadu_ps(mh, p + 16));
}

AVX512 FV_INLINE void interior512(const interior_args *r, int s)
{
    const fv_pool_geom *g = r->g;
    const __m512i lane_s = _mm512_mullo_epi32(
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_set1_epi32(s));
    for (int ox = r->lo; ox < r->hi; ox += 16) {
        int m = r->hi - ox < 16 ? r->hi - ox : 16;
        int32_t off = r->i0 * g->w - g->pw + ox * s; /* the window's first cell */
        __m512 mx = cells512(r->xp + off, r->xend, m, s);
        __m512i best = _mm512_add_epi32(_mm512_set1_epi32(off), lane_s);
        for (int i = r->i0; i < r->i1; i++)
            for (int j = i == r->i0; j < g->kw; j++) {
                off = i * g->w + j - g->pw + ox * s;
                __m512 v = cells512(r->xp + off, r->xend, m, s);
                __mmask16 u = (__mmask16)(_mm512_cmp_ps_mask(v, mx, _CMP_GT_OQ) |
                                          _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q));
                mx = _mm512_mask_mov_ps(mx, u, v);
                best = _mm512_mask_mov_epi32(best, u,
                                             _mm512_add_epi32(_mm512_set1_epi32(off), lane_s));
            }
        if (r->y + ox + 16 <= r->yend) {
            _mm512_storeu_ps(r->y + ox, mx);
            _mm512_storeu_si512(r->a + ox, best);
        } else {
            _mm512_mask_storeu_ps(r->y + ox, (__mmask16)((1u << m) - 1), mx);
            _mm512_mask_storeu_epi32(r->a + ox, (__mmask16)((1u << m) - 1), best);
        }
    }
}

AVX512 static void interior_s1_avx512(const interior_args *r) { interior512(r, 1); }
AVX512 static void interior_s2_avx512(const interior_args *r) { interior512(r, 2); }

AVX2 FV_INLINE __m256 cells256(const float *p, const float *xend, int m, int s)
{
    if (s == 1)
        return p + 8 <= xend ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes_below8(m));
    __m256 lo, hi, ev, od;
    if (p + 16 <= xend) {
        lo = _mm256_loadu_ps(p), hi = _mm256_loadu_ps(p + 8);
    } else {
        int k = 2 * m - 1;
        lo = _mm256_maskload_ps(p, lanes_below8(k));
        hi = _mm256_maskload_ps(p + 8, lanes_below8(k - 8));
    }
    split_even_odd8(lo, hi, &ev, &od);
    return ev;
}

AVX2 FV_INLINE void interior256(const interior_args *r, int s)
{
    const fv_pool_geom *g = r->g;
    const __m256i lane_s =
        _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(s));
    for (int ox = r->lo; ox < r->hi; ox += 8) {
        int m = r->hi - ox < 8 ? r->hi - ox : 8;
        int32_t off = r->i0 * g->w - g->pw + ox * s;
        __m256 mx = cells256(r->xp + off, r->xend, m, s);
        __m256 best = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_set1_epi32(off), lane_s));
        for (int i = r->i0; i < r->i1; i++)
            for (int j = i == r->i0; j < g->kw; j++) {
                off = i * g->w + j - g->pw + ox * s;
                __m256 v = cells256(r->xp + off, r->xend, m, s);
                __m256 u = _mm256_or_ps(_mm256_cmp_ps(v, mx, _CMP_GT_OQ),
                                        _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
                __m256i at = _mm256_add_epi32(_mm256_set1_epi32(off), lane_s);
                mx = _mm256_blendv_ps(mx, v, u);
                best = _mm256_blendv_ps(best, _mm256_castsi256_ps(at), u);
            }
        if (r->y + ox + 8 <= r->yend) {
            _mm256_storeu_ps(r->y + ox, mx);
            _mm256_storeu_ps((float *)(r->a + ox), best);
        } else {
            _mm256_maskstore_ps(r->y + ox, lanes_below8(m), mx);
            _mm256_maskstore_ps((float *)(r->a + ox), lanes_below8(m), best);
        }
    }
}

AVX2 static void interior_s1_avx2(const interior_args *r) { interior256(r, 1); }
AVX2 static void interior_s2_avx2(const interior_args *r) { interior256(r, 2); }
#endif

/* Strides other than 1 and 2 take the portable loop on every path. */
static interior_fn pick_interior(int sw)
{
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_POOL);
    if (isa == FV_ISA_AVX512 && sw <= 2)
        return sw == 1 ? interior_s1_avx512 : interior_s2_avx512;
    if (isa == FV_ISA_AVX2 && sw <= 2)
        return sw == 1 ? interior_s1_avx2 : interior_s2_avx2;
#endif
    return sw == 1 ? interior_s1 : sw == 2 ? interior_s2 : interior_sn;
}

/* One output of a border column: the reference's loop over the clipped window. */
static void border_cell(const float *xp, const fv_pool_geom *g, int oy, int ox, float *y,
                        int32_t *a)
{
    int y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw, best = -1;
    float mx = 0;
    for (int i = y0 < 0 ? 0 : y0; i < y0 + g->kh && i < g->h; i++)
        for (int j = x0 < 0 ? 0 : x0; j < x0 + g->kw && j < g->w; j++) {
            float v = xp[i * g->w + j];
            if (best < 0 || v > mx || v != v) {
                mx = v;
                best = i * g->w + j;
            }
        }
    *y = mx;
    *a = best;
}

/* Row by row: the left border columns, the interior (which may write past it: the right border
 * and the next rows are written after), the right border. */
void fv_maxpool_fwd_f32(const fv_pool_geom *g, int n, const float *x, float *y, int32_t *arg)
{
    interior_fn interior = pick_interior(g->sw);
    int64_t planes = (int64_t)n * g->c, in_sz = (int64_t)g->h * g->w;
    int64_t out_sz = (int64_t)g->oh * g->ow;
    /* interior columns: the window's columns [ox sw - pw, + kw) all inside [0, w) */
    int lo = (g->pw + g->sw - 1) / g->sw;
    int hi = g->w - g->kw + g->pw < 0 ? 0 : (g->w - g->kw + g->pw) / g->sw + 1;
    hi = hi < g->ow ? hi : g->ow;
    lo = lo < hi ? lo : hi;
    interior_args r = {.xend = x + planes * in_sz, .g = g, .yend = y + planes * out_sz};
    for (int64_t p = 0; p < planes; p++) {
        r.xp = x + p * in_sz;
        for (int oy = 0; oy < g->oh; oy++) {
            float *yr = y + p * out_sz + (int64_t)oy * g->ow;
            int32_t *ar = arg + p * out_sz + (int64_t)oy * g->ow;
            int y0 = oy * g->sh - g->ph;
            r.i0 = y0 < 0 ? 0 : y0, r.i1 = y0 + g->kh < g->h ? y0 + g->kh : g->h;
            r.lo = r.i0 < r.i1 ? lo : 0; /* no rows: all by the border loop */
            r.hi = r.i0 < r.i1 ? hi : 0;
            r.y = yr, r.a = ar;
            for (int ox = 0; ox < r.lo; ox++)
                border_cell(r.xp, g, oy, ox, &yr[ox], &ar[ox]);
            if (r.lo < r.hi)
                interior(&r);
            for (int ox = r.hi > r.lo ? r.hi : r.lo; ox < g->ow; ox++)
                border_cell(r.xp, g, oy, ox, &yr[ox], &ar[ox]);
        }
    }
}

/* ---------------------------------------------------------------- stride 1, values only */

/* The largest padded plane (and flat output) the stride-1 kernel copies (on the stack). */
enum { FLAT_MAX = 16384 };

int fv_maxpool_flat_ok(const fv_pool_geom *g)
{
    int64_t rl = g->ow + g->kw - 1, rows = g->oh + g->kh - 1;
    return g->sh == 1 && g->sw == 1 && g->ph < g->kh && g->pw < g->kw && rows * rl <= FLAT_MAX;
}

/* One plane: padded with -inf into flat rows of rl = ow + kw - 1 (output k = i rl + j reads cell
 * (a, b) at k + a rl + b), one vector loop per window cell over all outputs, then the valid
 * columns copied out. A padded cell never wins (every window holds an input cell, as
 * fv_maxpool_flat_ok checks, and -inf is greater than nothing), so with the reference's rule and
 * order (a later cell wins if greater or NaN) the values equal the reference's bit for bit. */
FV_INLINE void flat_plane(const fv_pool_geom *g, const float *x, float *y)
{
    float pp[FLAT_MAX], out[FLAT_MAX];
    int rl = g->ow + g->kw - 1, rows = g->oh + g->kh - 1;
    for (int64_t i = 0; i < (int64_t)rows * rl; i++)
        pp[i] = -__builtin_inff();
    for (int r = 0; r < rows; r++) {
        int ir = r - g->ph;
        if (ir < 0 || ir >= g->h)
            continue;
        int t1 = g->pw + g->w < rl ? g->pw + g->w : rl;
        for (int t = g->pw; t < t1; t++)
            pp[r * rl + t] = x[(int64_t)ir * g->w + t - g->pw];
    }
    int64_t n = (int64_t)(g->oh - 1) * rl + g->ow;
    for (int64_t k = 0; k < n; k++)
        out[k] = pp[k];
    for (int a = 0; a < g->kh; a++)
        for (int b = a == 0; b < g->kw; b++) {
            const float *c = pp + a * rl + b;
            for (int64_t k = 0; k < n; k++) {
                float v = c[k], m = out[k];
                out[k] = ((v > m) | (v != v)) ? v : m;
            }
        }
    for (int i = 0; i < g->oh; i++)
        for (int j = 0; j < g->ow; j++)
            y[(int64_t)i * g->ow + j] = out[i * rl + j];
}

static void flat_generic(const fv_pool_geom *g, const float *x, float *y) { flat_plane(g, x, y); }
#ifdef FV_ISA_X86
AVX2 static void flat_avx2(const fv_pool_geom *g, const float *x, float *y) { flat_plane(g, x, y); }
AVX512 static void flat_avx512(const fv_pool_geom *g, const float *x, float *y)
{
    flat_plane(g, x, y);
}
#endif

void fv_maxpool_fwd_flat_f32(const fv_pool_geom *g, int n, const float *x, float *y)
{
    void (*plane)(const fv_pool_geom *, const float *, float *) = flat_generic;
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_POOL);
    plane = isa == FV_ISA_AVX512 ? flat_avx512 : isa == FV_ISA_AVX2 ? flat_avx2 : flat_generic;
#endif
    int64_t in_sz = (int64_t)g->h * g->w, out_sz = (int64_t)g->oh * g->ow;
    for (int64_t p = 0; p < (int64_t)n * g->c; p++)
        plane(g, x + p * in_sz, y + p * out_sz);
}
