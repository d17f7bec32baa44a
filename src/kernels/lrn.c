/* lrn.c - the float LRN forward (see lrn.h). The reference computes every output's window sum and
 * pow in double, one pixel at a time: 30-100 ns per output, a third of the original AlexNet's
 * inference time. Here a plane's pixels go in blocks, channel by channel of the window, so the
 * inner loops run along contiguous pixels. */
#include "kernels/lrn.h"

#include <math.h>

enum { BLOCK = 512 }; /* pixels per block: the sums stay in L1 */

/* d[i] = x^-0.75 for x > 0 (the LRN's base is at least k > 0): 1 / (sqrt(x) sqrt(sqrt(x))). */
static void pow_m075(const float *restrict x, float *restrict d, int n)
{
    for (int i = 0; i < n; i++) {
        float r = sqrtf(x[i]);
        d[i] = 1.0f / (r * sqrtf(r));
    }
}

/* One plane's pixels [i0, i0 + n) of sample s, channel ch. */
static void block(const fv_lrn_geom *g, const float *xs, float *ys, float *ss, int ch,
                  int64_t i0, int n)
{
    int lo = ch - g->size / 2, hi = ch + (g->size - 1) / 2; /* as the reference's window */
    lo = lo < 0 ? 0 : lo;
    hi = hi >= g->c ? g->c - 1 : hi;
    float acc[BLOCK], f[BLOCK];
    for (int i = 0; i < n; i++)
        acc[i] = 0.0f;
    for (int q = lo; q <= hi; q++) {
        const float *restrict xq = xs + q * g->hw + i0;
        for (int i = 0; i < n; i++)
            acc[i] += xq[i] * xq[i];
    }
    float k = (float)g->k, a = (float)(g->alpha / g->size), beta = (float)g->beta;
    float *restrict sc = ss + ch * g->hw + i0;
    for (int i = 0; i < n; i++)
        sc[i] = k + a * acc[i];
    if (g->beta == 0.75)
        pow_m075(sc, f, n);
    else
        for (int i = 0; i < n; i++)
            f[i] = powf(sc[i], -beta);
    const float *restrict x = xs + ch * g->hw + i0;
    float *restrict y = ys + ch * g->hw + i0;
    for (int i = 0; i < n; i++)
        y[i] = x[i] * f[i];
}

void fv_lrn_fwd_planes_f32(const fv_lrn_geom *g, const float *x, float *y, float *scale,
                           int64_t p0, int64_t p1)
{
    for (int64_t p = p0; p < p1; p++) {
        int64_t s = p / g->c, off = s * g->c * g->hw;
        for (int64_t i0 = 0; i0 < g->hw; i0 += BLOCK) {
            int n = g->hw - i0 < BLOCK ? (int)(g->hw - i0) : BLOCK;
            block(g, x + off, y + off, scale + off, (int)(p % g->c), i0, n);
        }
    }
}
