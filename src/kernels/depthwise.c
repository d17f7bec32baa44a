/* depthwise.c - direct depthwise convolution (groups = channels = filters: one kxk kernel per
 * channel, MobileNet's 3x3 layers), forward and backward. The lowered convolution would run one
 * GEMM of a single output row per channel, mostly packing; here each (kernel tap, output row)
 * is one contiguous multiply-add over the valid output columns, which the compiler vectorizes
 * for stride 1. Tested against the scalar reference convolution. */
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

void fv_depthwise_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                          const fv_dw_geom *g)
{
    int64_t in = (int64_t)g->h * g->w, on = (int64_t)g->oh * g->ow, taps = g->kh * g->kw;
    for (int s = 0; s < n; s++)
        for (int c = 0; c < g->c; c++) {
            int64_t p = (int64_t)s * g->c + c;
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
