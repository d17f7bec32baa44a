/* conv_ref.c - the convolution geometry helpers, and conv_ref.inc instantiated for float (_f32,
 * lowered onto fv_sgemm) and double (_f64, lowered onto the reference GEMM). */
#include "kernels/ref/conv_ref.h"

#include "kernels/kernels.h"
#include "kernels/ref/gemm_ref.h"

#include <string.h>

int fv_conv_geom_init(fv_conv_geom *g)
{
    g->oh = g->sh >= 1 ? (g->h + 2 * g->ph - g->dh * (g->kh - 1) - 1) / g->sh + 1 : 0;
    g->ow = g->sw >= 1 ? (g->w + 2 * g->pw - g->dw * (g->kw - 1) - 1) / g->sw + 1 : 0;
    /* C division truncates toward zero: a negative numerator above -sh would still give 1 */
    if (g->h + 2 * g->ph - g->dh * (g->kh - 1) - 1 < 0)
        g->oh = 0;
    if (g->w + 2 * g->pw - g->dw * (g->kw - 1) - 1 < 0)
        g->ow = 0;
    if (g->c < 1 || g->h < 1 || g->w < 1 || g->f < 1 || g->kh < 1 || g->kw < 1 || g->sh < 1 ||
        g->sw < 1 || g->ph < 0 || g->pw < 0 || g->dh < 1 || g->dw < 1 || g->groups < 1)
        return 0;
    if (g->c % g->groups || g->f % g->groups)
        return 0;
    return g->oh >= 1 && g->ow >= 1;
}

int64_t fv_conv_col_rows(const fv_conv_geom *g)
{
    return (int64_t)(g->c / g->groups) * g->kh * g->kw;
}

int fv_conv_is_pointwise(const fv_conv_geom *g)
{
    return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
}

int64_t fv_conv_scratch_size(const fv_conv_geom *g)
{
    return fv_conv_is_pointwise(g) ? 0 : fv_conv_col_rows(g) * g->oh * g->ow;
}

/* The output positions o in [lo, hi) whose input index o * stride + off lies in [0, in). */
static void conv_span(int off, int stride, int in, int out, int *lo, int *hi)
{
    int a = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int b = in - 1 - off < 0 ? 0 : (in - 1 - off) / stride + 1;
    *lo = a < out ? a : out;
    *hi = b < out ? b : out;
    if (*hi < *lo)
        *hi = *lo;
}

#define FV_REF_TEMPLATE "kernels/ref/conv_ref.inc"
#include "kernels/ref/instantiate.h"
