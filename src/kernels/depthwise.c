/* depthwise.c - direct depthwise convolution (groups = channels = filters: one kxk kernel per
 * channel, MobileNet's 3x3 layers), forward and backward. The lowered convolution would run one
 * GEMM of a single output row per channel, mostly packing; here each (kernel tap, output row)
 * is one contiguous multiply-add over the valid output columns, which the compiler vectorizes
 * for stride 1. The forward of 3x3 kernels at stride 1 or 2 (MobileNet's) instead sums the 9
 * taps of a vector of output columns in registers from a zero-padded copy of the plane (rows
 * split by parity for stride 2, so every load is contiguous), compiled for AVX-512, AVX2 and
 * baseline, picked by the depthwise family's level (kernels/isa.h). Tested against the scalar
 * reference convolution. */
#include "kernels/inline.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

#include <stddef.h>
#include <stdint.h>


/* The output columns [*j0, *j1) whose input column j sw + off lies in [0, w). */
static void valid_cols(int off, int sw, int w, int ow, int *j0, int *j1)
{
    *j0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
    *j1 = w - 1 - off < 0 ? 0 : (w - 1 - off) / sw + 1;
    *j1 = *j1 < ow ? *j1 : ow;
}

/* Runs the body for every (output row i, kernel tap ki, kj) whose input row r lies in the input,
 * with the tap's valid output columns [j0, j1) and column offset off. The passes share this walk. */
#define FOR_TAPS(g, ...)                                                                      \
    for (int i = 0; i < (g)->oh; i++)                                                         \
        for (int ki = 0; ki < (g)->kh; ki++) {                                                \
            int r = i * (g)->sh - (g)->ph + ki * (g)->dh;                                     \
            if (r < 0 || r >= (g)->h)                                                         \
                continue;                                                                     \
            for (int kj = 0; kj < (g)->kw; kj++) {                                            \
                int off = kj * (g)->dw - (g)->pw, j0, j1;                                     \
                valid_cols(off, (g)->sw, (g)->w, (g)->ow, &j0, &j1);                          \
                __VA_ARGS__                                                                   \
            }                                                                                 \
        }

static void plane_fwd(const float *x, const float *wk, float bias, float *y,
                      const fv_dw_geom *g)
{
    int64_t on = (int64_t)g->oh * g->ow;
    for (int64_t i = 0; i < on; i++)
        y[i] = bias;
    FOR_TAPS(g, {
        float wv = wk[ki * g->kw + kj], *yr = y + (int64_t)i * g->ow;
        const float *xr = x + (int64_t)r * g->w + off;
        if (g->sw == 1)
            for (int j = j0; j < j1; j++)
                yr[j] += wv * xr[j];
        else
            for (int j = j0; j < j1; j++)
                yr[j] += wv * xr[(int64_t)j * g->sw];
    })
}

static void plane_bwd(const float *x, const float *wk, const float *dy, float *dx, float *dwk,
                      const fv_dw_geom *g)
{
    FOR_TAPS(g, {
        const float *dyr = dy + (int64_t)i * g->ow, *xr = x + (int64_t)r * g->w + off;
        int64_t s = g->sw;
        if (dx) {
            float wv = wk[ki * g->kw + kj], *dxr = dx + (int64_t)r * g->w + off;
            for (int j = j0; j < j1; j++)
                dxr[j * s] += wv * dyr[j];
        }
        if (dwk) {
            float acc = 0;
            for (int j = j0; j < j1; j++)
                acc += dyr[j] * xr[j * s];
            dwk[ki * g->kw + kj] += acc;
        }
    })
}

/* ---------------------------------------------------------------- 3x3, stride 1 or 2 */

/* The largest zero-padded plane the 3x3 path copies (on the stack: 128 KB). */
enum { DW_MAX_PLANE = 32768 };

/* Row length of the padded copy: the columns the taps of ow outputs read. */
static int padded_width(const fv_dw_geom *g)
{
    return (g->ow - 1) * g->sw + 3;
}

/* pp = the plane zero-padded, rows oh' = (oh - 1) sh + 3 starting at input row -ph, each of
 * padded_width columns starting at -pw; for stride 2 each row is split by parity (the even
 * columns, then the odd ones), so that every tap reads contiguous values. */
FV_INLINE void pad_plane(const float *x, const fv_dw_geom *g, float *pp)
{
    int wp = padded_width(g), rows = (g->oh - 1) * g->sh + 3, half = (wp + 1) / 2;
    int c0 = g->pw, c1 = g->pw + g->w < wp ? g->pw + g->w : wp; /* columns holding input */
    for (int r = 0; r < rows; r++, pp += wp) {
        int ir = r - g->ph;
        for (int t = 0; t < wp; t++)
            pp[t] = 0.0f;
        if (ir < 0 || ir >= g->h)
            continue;
        const float *xr = x + (int64_t)ir * g->w; /* padded column t is input column t - pw */
        if (g->sw == 1)
            for (int t = c0; t < c1; t++)
                pp[t] = xr[t - c0];
        else
            for (int t = c0; t < c1; t++)
                pp[(t & 1) * half + (t >> 1)] = xr[t - c0];
    }
}

/* One plane: every output is bias + its 9 taps in (ki, kj) order, like plane_fwd, summed in
 * registers over vectors of output columns instead of 9 passes over the row. */
FV_INLINE void plane3_body(const float *x, const float *wk, float bias, float *y, const fv_dw_geom *g)
{
    float pp[DW_MAX_PLANE];
    pad_plane(x, g, pp);
    int wp = padded_width(g), half = (wp + 1) / 2, ow = g->ow;
    float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6],
          w7 = wk[7], w8 = wk[8];
    for (int i = 0; i < g->oh; i++) {
        const float *r0 = pp + (int64_t)i * g->sh * wp, *r1 = r0 + wp, *r2 = r1 + wp;
        float *restrict yr = y + (int64_t)i * ow;
        if (g->sw == 1) {
            for (int j = 0; j < ow; j++)
                yr[j] = bias + w0 * r0[j] + w1 * r0[j + 1] + w2 * r0[j + 2] + w3 * r1[j] +
                        w4 * r1[j + 1] + w5 * r1[j + 2] + w6 * r2[j] + w7 * r2[j + 1] +
                        w8 * r2[j + 2];
        } else { /* even columns at r[j], odd at r[half + j] */
            for (int j = 0; j < ow; j++)
                yr[j] = bias + w0 * r0[j] + w1 * r0[half + j] + w2 * r0[j + 1] + w3 * r1[j] +
                        w4 * r1[half + j] + w5 * r1[j + 1] + w6 * r2[j] + w7 * r2[half + j] +
                        w8 * r2[j + 1];
        }
    }
}

static void plane3_generic(const float *x, const float *wk, float bias, float *y,
                           const fv_dw_geom *g)
{
    plane3_body(x, wk, bias, y, g);
}

#ifdef FV_ISA_X86
FV_TARGET_AVX2 static void
plane3_avx2(const float *x, const float *wk, float bias, float *y, const fv_dw_geom *g)
{
    plane3_body(x, wk, bias, y, g);
}
FV_TARGET_AVX512 static void
plane3_avx512(const float *x, const float *wk, float bias, float *y, const fv_dw_geom *g)
{
    plane3_body(x, wk, bias, y, g);
}
#endif

typedef void (*plane_fn)(const float *, const float *, float, float *, const fv_dw_geom *);

/* The 3x3 path's variant for this CPU, or NULL when the layer is not 3x3 with equal strides 1
 * or 2, undilated, and a padded plane of at most DW_MAX_PLANE. */
static plane_fn plane3_for(const fv_dw_geom *g)
{
    if (g->kh != 3 || g->kw != 3 || g->dh != 1 || g->dw != 1 || g->sw > 2 || g->sh != g->sw ||
        (int64_t)((g->oh - 1) * g->sh + 3) * padded_width(g) > DW_MAX_PLANE)
        return NULL;
#ifdef FV_ISA_X86
    fv_isa isa = fv_kernel_isa(FV_KF_DEPTHWISE);
    if (isa == FV_ISA_AVX512)
        return plane3_avx512;
    if (isa == FV_ISA_AVX2)
        return plane3_avx2;
#endif
    return plane3_generic;
}

void fv_depthwise_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                          const fv_dw_geom *g)
{
    int64_t in = (int64_t)g->h * g->w, on = (int64_t)g->oh * g->ow, taps = g->kh * g->kw;
    plane_fn p3 = plane3_for(g);
    for (int s = 0; s < n; s++)
        for (int c = 0; c < g->c; c++) {
            int64_t p = (int64_t)s * g->c + c;
            if (p3)
                p3(x + p * in, w + c * taps, b ? b[c] : 0.0f, y + p * on, g);
            else
                plane_fwd(x + p * in, w + c * taps, b ? b[c] : 0.0f, y + p * on, g);
        }
}

void fv_depthwise_bwd_f32(const float *x, const float *w, const float *dy, float *dx, float *dw,
                          float *db, int n, const fv_dw_geom *g)
{
    int64_t in = (int64_t)g->h * g->w, on = (int64_t)g->oh * g->ow, taps = g->kh * g->kw;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < g->c; c++) {
            int64_t p = (int64_t)s * g->c + c;
            plane_bwd(x + p * in, w + c * taps, dy + p * on, dx ? dx + p * in : NULL,
                      dw ? dw + c * taps : NULL, g);
            if (db) {
                float acc = 0;
                for (int64_t i = 0; i < on; i++)
                    acc += dy[p * on + i];
                db[c] += acc;
            }
        }
}
