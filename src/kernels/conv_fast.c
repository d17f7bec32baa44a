/* conv_fast.c - the float convolution of the conv2d op (groups 1; other groups per sample with
 * the template path of kernels/ref): im2col + fv_sgemm with
 * - samples batched: for small maps, a chunk of samples is lowered side by side into one column
 *   matrix (rows at stride S oh ow), so that one wide GEMM replaces S narrow ones whose last
 *   register tiles would be mostly padding (a 4x4 map is 16 columns of a 32-wide tile);
 * - an epilogue y = act(scale y + shift) per filter applied while the output is hot (bias, a
 *   folded batch norm, ReLU / ReLU6);
 * - im2col / col2im row copies as plain loops (a memcpy call per 30-pixel row costs more than
 *   the copy).
 * - 3x3 stride-1 layers through Winograd F(4x4, 3x3) (kernels/winograd.c) for each pass where its
 *   measured rule (fv_winograd_wins, on the call's sample count) says it wins.
 * Results equal the per-sample lowered convolution up to the GEMM's summation order (Winograd:
 * within 1e-5 of the sum of |w x| over the output's tile). */
#include "kernels/conv_fast.h"
#include "kernels/eltwise.h"
#include "kernels/inline.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"
#include "kernels/winograd.h"

#include <string.h>

/* The epilogue's AVX clones target FMA; clang would fuse its sc * r + sh there and no longer
 * match the generic path (gcc does not contract in ISO C mode). */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Columns a chunk aims at, and the most floats its column matrix may take beyond one sample's. */
enum { CHUNK_COLS = 512, CHUNK_COL_FLOATS = 1 << 20 };

/* The output positions o in [lo, hi) whose input index o * stride + off lies in [0, in). */
static void span(int off, int stride, int in, int out, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int b = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo)
        *hi = *lo;
}

static void zero(float *d, int n)
{
    for (int i = 0; i < n; i++)
        d[i] = 0.0f;
}

/* One column row (tap ki, kj of plane xc), written as oh rows of ow at d. */
static void im2col_row(const float *restrict xc, const fv_conv_geom *g, int ki, int kj,
                       float *restrict d)
{
    int lo, hi, off = kj * g->dw - g->pw;
    span(off, g->sw, g->w, g->ow, &lo, &hi);
    for (int oh = 0; oh < g->oh; oh++, d += g->ow) {
        int ih = oh * g->sh - g->ph + ki * g->dh;
        if (ih < 0 || ih >= g->h) {
            zero(d, g->ow);
            continue;
        }
        const float *s = xc + (int64_t)ih * g->w + off;
        zero(d, lo);
        if (g->sw == 1)
            for (int o = lo; o < hi; o++)
                d[o] = s[o];
        else
            for (int o = lo; o < hi; o++)
                d[o] = s[o * g->sw];
        zero(d + hi, g->ow - hi);
    }
}

void fv_im2col_ld_f32(const float *x, const fv_conv_geom *g, int channels, float *col,
                      int64_t ld)
{
    int64_t plane = (int64_t)g->h * g->w;
    for (int c = 0; c < channels; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++, col += ld)
                im2col_row(x + c * plane, g, ki, kj, col);
}

/* The adjoint of im2col_row: xc += the row's values at the taps inside the plane. */
static void col2im_row(const float *restrict r, const fv_conv_geom *g, int ki, int kj,
                       float *restrict xc)
{
    int lo, hi, off = kj * g->dw - g->pw;
    span(off, g->sw, g->w, g->ow, &lo, &hi);
    for (int oh = 0; oh < g->oh; oh++, r += g->ow) {
        int ih = oh * g->sh - g->ph + ki * g->dh;
        if (ih < 0 || ih >= g->h)
            continue;
        float *d = xc + (int64_t)ih * g->w + off;
        if (g->sw == 1)
            for (int o = lo; o < hi; o++)
                d[o] += r[o];
        else
            for (int o = lo; o < hi; o++)
                d[o * g->sw] += r[o];
    }
}

void fv_col2im_ld_f32(const float *col, const fv_conv_geom *g, int channels, int64_t ld,
                      float *x)
{
    int64_t plane = (int64_t)g->h * g->w;
    for (int c = 0; c < channels; c++)
        for (int ki = 0; ki < g->kh; ki++)
            for (int kj = 0; kj < g->kw; kj++, col += ld)
                col2im_row(col, g, ki, kj, x + c * plane);
}

/* ---------------------------------------------------------------- epilogue */

/* act(v): NaN stays NaN, -0 becomes 0, as the activation ops. Written as a clamp, then the NaN
 * put back, so that it vectorizes to compares and blends (the nested conditions compiled to
 * about twenty instructions a vector, half of them moves between mask and integer registers). */
FV_INLINE float act_of(float v, int act)
{
    if (act == FV_CONV_ACT_NONE)
        return v;
    float c = v > 0 ? v : 0.0f;
    if (act == FV_CONV_ACT_RELU6)
        c = c < 6.0f ? c : 6.0f;
    return v != v ? v : c;
}

/* r[j] = act(sc r[j] + sh (+ q[j])) for j in [j0, j1); inlined with constant act and res, so
 * that each combination is one vectorized loop. */
FV_INLINE void epilogue_row(float *restrict r, const float *restrict q, int64_t j0,
                                   int64_t j1, float sc, float sh, int act, int res)
{
    for (int64_t j = j0; j < j1; j++)
        r[j] = act_of(res ? (sc * r[j] + sh) + q[j] : sc * r[j] + sh, act);
}

/* epilogue_row with act made a constant for each branch (res is one already). */
FV_INLINE void epilogue_row_res(float *restrict r, const float *restrict q, int64_t j0,
                                       int64_t j1, float sc, float sh, int act, int res)
{
    if (act == FV_CONV_ACT_RELU)
        epilogue_row(r, q, j0, j1, sc, sh, FV_CONV_ACT_RELU, res);
    else if (act == FV_CONV_ACT_RELU6)
        epilogue_row(r, q, j0, j1, sc, sh, FV_CONV_ACT_RELU6, res);
    else
        epilogue_row(r, q, j0, j1, sc, sh, FV_CONV_ACT_NONE, res);
}

/* Rows [f0, f1) of the epilogue, each combination of act and residual one inlined loop. */
FV_INLINE void epilogue_body(const fv_conv_epilogue *e, float *y, int64_t ohw, int f0,
                                    int f1, int64_t j0, int64_t j1)
{
    for (int f = f0; f < f1; f++) {
        float sc = e->scale ? e->scale[f] : 1.0f, sh = e->shift ? e->shift[f] : 0.0f;
        float *r = y + f * ohw;
        if (e->has_res)
            epilogue_row_res(r, r + e->res_delta, j0, j1, sc, sh, e->act, 1);
        else
            epilogue_row_res(r, NULL, j0, j1, sc, sh, e->act, 0);
    }
}

/* Compiled for the baseline, AVX2 and AVX-512 (the eltwise family's level, kernels/isa.h): the
 * epilogue streams whole activation maps (a quarter of MobileNet v2's time at 4-wide vectors).
 * The same operations in the same order (no contraction into FMA, see the top): identical
 * results on every path. */
#ifdef FV_ISA_X86
FV_TARGET_AVX2 static void epilogue_avx2(const fv_conv_epilogue *e, float *y, int64_t ohw, int f0,
                                         int f1, int64_t j0, int64_t j1)
{
    epilogue_body(e, y, ohw, f0, f1, j0, j1);
}
FV_TARGET_AVX512 static void epilogue_avx512(const fv_conv_epilogue *e, float *y, int64_t ohw,
                                             int f0, int f1, int64_t j0, int64_t j1)
{
    epilogue_body(e, y, ohw, f0, f1, j0, j1);
}
#endif

void fv_conv_epilogue_apply(const fv_conv_epilogue *e, float *y, int64_t ohw, int f0, int f1,
                            int64_t j0, int64_t j1)
{
    if (!e || (!e->scale && !e->shift && e->act == FV_CONV_ACT_NONE && !e->has_res))
        return;
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_ELTWISE);
    if (isa == FV_ISA_AVX512) {
        epilogue_avx512(e, y, ohw, f0, f1, j0, j1);
        return;
    }
    if (isa == FV_ISA_AVX2) {
        epilogue_avx2(e, y, ohw, f0, f1, j0, j1);
        return;
    }
#endif
    epilogue_body(e, y, ohw, f0, f1, j0, j1);
}

/* ---------------------------------------------------------------- chunked convolution */

int fv_conv_chunk(const fv_conv_geom *g, int n)
{
    int64_t ohw = (int64_t)g->oh * g->ow, rows = fv_conv_col_rows(g);
    if (g->groups != 1 || ohw >= CHUNK_COLS / 2 || n <= 1)
        return 1;
    int64_t s = (CHUNK_COLS + ohw - 1) / ohw, cap = CHUNK_COL_FLOATS / (rows * ohw);
    s = s < cap ? s : cap;
    s = s < n ? s : n;
    return s < 1 ? 1 : (int)s;
}

int64_t fv_conv_fast_scratch(const fv_conv_geom *g, int n)
{
    int s = fv_conv_chunk(g, n);
    int64_t ohw = (int64_t)g->oh * g->ow, col = fv_conv_col_rows(g) * ohw * s;
    int64_t tmp = s > 1 ? (int64_t)g->f * ohw * s : 0;
    int64_t lowered = ((fv_conv_scratch_size(g) > col ? fv_conv_scratch_size(g) : col) + 15) / 16 * 16 + tmp;
    int64_t wino = 0;
    for (int pass = 0; pass < 3; pass++) /* the rule only grows more willing with n */
        if (fv_winograd_wins(g, n, pass, 0))
            wino = (int64_t)fv_winograd_scratch_floats(g, n);
    return lowered > wino ? lowered : wino;
}

void fv_conv_gemm_cols(const float *w, const float *col, const fv_conv_epilogue *e, float *y,
                       const fv_conv_geom *g, int f0, int f1, int64_t j0, int64_t j1)
{
    int64_t ohw = (int64_t)g->oh * g->ow, rows = fv_conv_col_rows(g);
    if (f1 <= f0 || j1 <= j0)
        return;
    fv_sgemm(0, 0, f1 - f0, (int)(j1 - j0), (int)rows, 1, w + f0 * rows, (int)rows, col + j0,
             (int)ohw, 0, y + f0 * ohw + j0, (int)ohw);
    fv_conv_epilogue_apply(e, y, ohw, f0, f1, j0, j1);
}

void fv_conv_fast_fwd(const float *x, const float *w, const float *u, const fv_conv_epilogue *e,
                      float *y, int n, const fv_conv_geom *g, float *scratch)
{
    int64_t ohw = (int64_t)g->oh * g->ow, in_sz = (int64_t)g->c * g->h * g->w;
    int64_t out_sz = g->f * ohw, rows = fv_conv_col_rows(g);
    int chunk = fv_conv_chunk(g, n);
    float *col = scratch, *tmp = scratch + (fv_conv_fast_scratch(g, n) - g->f * ohw * chunk);
    if (u || fv_winograd_wins(g, n, 0, 0)) {
        if (u)
            fv_winograd_fwd_u_f32(x, u, NULL, y, n, g, scratch);
        else
            fv_winograd_fwd_f32(x, w, NULL, y, n, g, scratch);
        for (int s = 0; s < n; s++)
            fv_conv_epilogue_apply(e, y + s * out_sz, ohw, 0, g->f, 0, ohw);
        return;
    }
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int sc = n - s0 < chunk ? n - s0 : chunk;
        const float *xs = x + s0 * in_sz;
        float *ys = y + s0 * out_sz;
        if (g->groups != 1) { /* per sample and group, the template's path */
            fv_conv2d_fwd_f32(xs, w, NULL, ys, 1, g, scratch);
            fv_conv_epilogue_apply(e, ys, ohw, 0, g->f, 0, ohw);
            continue;
        }
        if (sc == 1) { /* one sample: the GEMM writes y in place */
            const float *src = xs;
            if (!fv_conv_is_pointwise(g))
                fv_im2col_ld_f32(xs, g, g->c, col, ohw), src = col;
            fv_conv_gemm_cols(w, src, e, ys, g, 0, g->f, 0, ohw);
            continue;
        }
        int64_t ld = ohw * sc;
        for (int s = 0; s < sc; s++)
            fv_im2col_ld_f32(xs + s * in_sz, g, g->c, col + s * ohw, ld);
        fv_sgemm(0, 0, g->f, (int)ld, (int)rows, 1, w, (int)rows, col, (int)ld, 0, tmp, (int)ld);
        for (int s = 0; s < sc; s++) { /* (f, s, p) -> (s, f, p), then the epilogue */
            float *yo = ys + s * out_sz;
            for (int f = 0; f < g->f; f++)
                memcpy(yo + f * ohw, tmp + f * ld + s * ohw, sizeof(float) * (size_t)ohw);
            fv_conv_epilogue_apply(e, yo, ohw, 0, g->f, 0, ohw);
        }
    }
}

/* db[f] += the sum of row f of d (ohw_total long). */
static void add_row_sums(const float *d, int f, int64_t len, int64_t ld, float *db)
{
    for (int k = 0; k < f; k++) {
        db[k] += (float)fv_sum_f64(d + k * ld, len);
    }
}

/* One chunk of sc samples (groups 1): the output gradient as (f, sc ohw) (gathered into tmp
 * when sc > 1), then db, dw and dx (dx_set: dx written, not added to). One pointwise sample is
 * its own column matrix, and its dx is the GEMM's output. */
static void bwd_chunk(const float *x, const float *w, const float *dy, float *dx, int dx_set,
                      float *dw, float *db, int sc, const fv_conv_geom *g, float *col, float *tmp)
{
    int64_t ohw = (int64_t)g->oh * g->ow, in_sz = (int64_t)g->c * g->h * g->w;
    int64_t out_sz = g->f * ohw, rows = fv_conv_col_rows(g), ld = ohw * sc;
    int direct = sc == 1 && fv_conv_is_pointwise(g);
    const float *d = dy;
    if (sc > 1) {
        for (int s = 0; s < sc; s++)
            for (int f = 0; f < g->f; f++)
                memcpy(tmp + f * ld + s * ohw, dy + s * out_sz + f * ohw,
                       sizeof(float) * (size_t)ohw);
        d = tmp;
    }
    if (db)
        add_row_sums(d, g->f, ld, ld, db);
    if (dw) {
        const float *src = x;
        if (!direct) {
            for (int s = 0; s < sc; s++)
                fv_im2col_ld_f32(x + s * in_sz, g, g->c, col + s * ohw, ld);
            src = col;
        }
        fv_sgemm(0, 1, g->f, (int)rows, (int)ld, 1, d, (int)ld, src, (int)ld, 1, dw, (int)rows);
    }
    if (dx && direct) {
        fv_sgemm(1, 0, (int)rows, (int)ld, g->f, 1, w, (int)rows, d, (int)ld, dx_set ? 0 : 1, dx,
                 (int)ld);
    } else if (dx) {
        fv_sgemm(1, 0, (int)rows, (int)ld, g->f, 1, w, (int)rows, d, (int)ld, 0, col, (int)ld);
        if (dx_set) /* col2im adds overlapping windows */
            memset(dx, 0, sizeof(float) * (size_t)(sc * in_sz));
        for (int s = 0; s < sc; s++)
            fv_col2im_ld_f32(col + s * ohw, g, g->c, ld, dx + s * in_sz);
    }
}

void fv_conv_fast_bwd(const float *x, const float *w, const float *u, const float *dy, float *dx,
                      int dx_set, float *dw, float *db, int n, const fv_conv_geom *g,
                      float *scratch)
{
    int64_t ohw = (int64_t)g->oh * g->ow, in_sz = (int64_t)g->c * g->h * g->w;
    int64_t out_sz = g->f * ohw;
    int chunk = fv_conv_chunk(g, n);
    float *tmp = scratch + (fv_conv_fast_scratch(g, n) - g->f * ohw * chunk);
    if (dx && u) {
        fv_winograd_bwd_data_u_f32(u, dy, dx, n, g, !dx_set, scratch);
        dx = NULL;
    } else if (dx && fv_winograd_wins(g, n, 1, 0)) {
        if (dx_set)
            memset(dx, 0, sizeof(float) * (size_t)(n * in_sz));
        fv_winograd_bwd_data_f32(w, dy, dx, n, g, scratch);
        dx = NULL;
    }
    if (dw && fv_winograd_wins(g, n, 2, 0)) {
        fv_winograd_bwd_weights_f32(x, dy, dw, db, n, g, scratch);
        dw = db = NULL;
    }
    if (!dx && !dw && !db)
        return;
    for (int s0 = 0; s0 < n; s0 += chunk) {
        int sc = n - s0 < chunk ? n - s0 : chunk;
        const float *xs = x + s0 * in_sz, *dys = dy + s0 * out_sz;
        float *dxs = dx ? dx + s0 * in_sz : NULL;
        if (g->groups != 1) {
            if (dxs && dx_set)
                memset(dxs, 0, sizeof(float) * (size_t)(sc * in_sz));
            fv_conv2d_bwd_f32(xs, w, dys, dxs, dw, db, sc, g, scratch);
        } else {
            bwd_chunk(xs, w, dys, dxs, dx_set, dw, db, sc, g, scratch, tmp);
        }
    }
}
