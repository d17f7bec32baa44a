/* depthwise.c - direct depthwise convolution (groups = channels = filters: one kxk kernel per
 * channel, MobileNet's 3x3 layers), forward and backward. The lowered convolution would run one
 * GEMM of a single output row per channel, mostly packing; here each (kernel tap, output row)
 * is one contiguous multiply-add over the valid output columns, which the compiler vectorizes
 * for stride 1. The forward of 3x3 kernels at stride 1 or 2 (MobileNet's) instead sums the 9
 * taps of a vector of outputs in registers from a zero-padded copy of the plane laid out in flat
 * rows (split by row and column parity for stride 2), so that every load is contiguous and one
 * loop covers the whole plane however narrow its rows (7x7 maps fill vectors too), compiled for
 * AVX-512, AVX2 and baseline, picked by the depthwise family's level (kernels/isa.h). Tested
 * against the scalar reference convolution. */
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

/* The largest zero-padded plane the 3x3 path copies, and its flat output (on the stack: 128 KB
 * each). */
enum { DW_MAX_PLANE = 32768 };

/* The 3x3 path works on flat rows: the zero-padded plane is copied into planes of row length
 * rl (stride 1: the one padded plane, ow + 2 wide; stride 2: four planes by the parity of the
 * padded row and column, ow + 1 wide, even rows then odd ones for each column parity), so that
 * the output at flat index k = i rl + j reads every tap at k plus a constant offset. One
 * vectorized loop then runs over all oh rl outputs at once (rl - ow of each row computed and
 * dropped): 7x7 and 14x14 maps, whose rows are shorter than a vector, fill whole vectors. */
static int flat_row(const fv_dw_geom *g) { return g->sw == 1 ? g->ow + 2 : g->ow + 1; }

/* Padded rows of the stride-1 plane, or of the even (sh 2) parity planes; the odd ones have one
 * less. */
static int flat_rows(const fv_dw_geom *g) { return g->sw == 1 ? g->oh + 2 : g->oh + 1; }

/* Floats of the padded copy. */
static int64_t flat_floats(const fv_dw_geom *g)
{
    int64_t rl = flat_row(g), r = flat_rows(g);
    return g->sw == 1 ? r * rl : 2 * (2 * r - 1) * rl;
}

/* The start of parity plane (row parity pr, column parity pc) of a stride-2 copy pp. */
static int64_t parity_plane(const fv_dw_geom *g, int pr, int pc)
{
    int64_t rl = flat_row(g), r = flat_rows(g);
    return pc * (2 * r - 1) * rl + pr * r * rl;
}

/* pp = the zero-padded plane (padded row r, column t: input row r - ph, column t - pw) in the
 * flat layout above. */
FV_INLINE void pad_plane(const float *x, const fv_dw_geom *g, float *pp)
{
    int64_t rl = flat_row(g), n = flat_floats(g);
    for (int64_t i = 0; i < n; i++)
        pp[i] = 0.0f;
    int s = g->sw, rows = (g->oh - 1) * s + 3, cols = (g->ow - 1) * s + 3;
    for (int r = 0; r < rows; r++) {
        int ir = r - g->ph;
        if (ir < 0 || ir >= g->h)
            continue;
        const float *xr = x + (int64_t)ir * g->w;
        int t0 = g->pw, t1 = g->pw + g->w < cols ? g->pw + g->w : cols; /* columns of input */
        if (s == 1) {
            float *d = pp + r * rl;
            for (int t = t0; t < t1; t++)
                d[t] = xr[t - g->pw];
            continue;
        }
        for (int pc = 0; pc < 2; pc++) { /* padded columns t = 2 c + pc */
            float *d = pp + parity_plane(g, r & 1, pc) + (int64_t)(r >> 1) * rl;
            for (int c = (t0 - pc + 1) >> 1; 2 * c + pc < t1; c++)
                d[c] = xr[2 * c + pc - g->pw];
        }
    }
}

/* One plane: every output is bias + its 9 taps in (ki, kj) order, like plane_fwd, computed
 * over the flat rows (out, rl = flat_row apart), then copied into y's rows of ow. */
FV_INLINE void plane3_body(const float *x, const float *wk, float bias, float *y, const fv_dw_geom *g)
{
    float pp[DW_MAX_PLANE], out[DW_MAX_PLANE];
    pad_plane(x, g, pp);
    int64_t rl = flat_row(g), n = (int64_t)(g->oh - 1) * rl + g->ow;
    float w0 = wk[0], w1 = wk[1], w2 = wk[2], w3 = wk[3], w4 = wk[4], w5 = wk[5], w6 = wk[6],
          w7 = wk[7], w8 = wk[8];
    if (g->sw == 1) {
        const float *r0 = pp, *r1 = pp + rl, *r2 = pp + 2 * rl;
        for (int64_t k = 0; k < n; k++)
            out[k] = bias + w0 * r0[k] + w1 * r0[k + 1] + w2 * r0[k + 2] + w3 * r1[k] +
                     w4 * r1[k + 1] + w5 * r1[k + 2] + w6 * r2[k] + w7 * r2[k + 1] +
                     w8 * r2[k + 2];
    } else { /* ee: even rows and columns, eo: even rows, odd columns, ... */
        const float *ee = pp + parity_plane(g, 0, 0), *eo = pp + parity_plane(g, 0, 1);
        const float *oe = pp + parity_plane(g, 1, 0), *oo = pp + parity_plane(g, 1, 1);
        for (int64_t k = 0; k < n; k++)
            out[k] = bias + w0 * ee[k] + w1 * eo[k] + w2 * ee[k + 1] + w3 * oe[k] + w4 * oo[k] +
                     w5 * oe[k + 1] + w6 * ee[k + rl] + w7 * eo[k + rl] + w8 * ee[k + rl + 1];
    }
    for (int i = 0; i < g->oh; i++)
        for (int j = 0; j < g->ow; j++)
            y[(int64_t)i * g->ow + j] = out[i * rl + j];
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
        flat_floats(g) > DW_MAX_PLANE)
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
