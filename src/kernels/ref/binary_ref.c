/* binary_ref.c - the broadcasting arithmetic's shapes and geometry, and the kernel template
 * binary_ref.inc instantiated for float (_f32) and double (_f64). */
#include "kernels/ref/binary_ref.h"

#include "fovea.h"

#include <math.h>

int fv_binary_broadcast(int na, const int64_t *a, int nb, const int64_t *b, int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int k = 1; k <= n; k++) { /* from the last axis */
        int64_t x = k <= na ? a[na - k] : 1, y = k <= nb ? b[nb - k] : 1;
        if (x != y && x != 1 && y != 1)
            return -1;
        out[n - k] = x == 1 ? y : x;
    }
    return n;
}

/* The strides of an operand of sample shape d[0..nd) aligned into ndim axes after the batch
 * axis (s[0]), 0 along its axes of extent 1 and along the batch when it has none. */
static void operand_strides(int ndim, int nd, const int64_t *d, int batched, int64_t *s)
{
    int64_t step = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        int j = k - (ndim - nd); /* the operand's own axis, or < 0: none */
        int64_t e = j >= 0 ? d[j] : 1;
        s[1 + k] = e == 1 ? 0 : step;
        step *= e;
    }
    s[0] = batched ? step : 0;
}

void fv_binary_geom_init(fv_binary_geom *g, int op, int64_t batch, int ndim, const int64_t *ydims,
                         int na, const int64_t *adims, int a_batched, int nb, const int64_t *bdims,
                         int b_batched)
{
    int64_t d[FV_BINARY_AXES], sa[FV_BINARY_AXES], sb[FV_BINARY_AXES];
    d[0] = batch;
    for (int k = 0; k < ndim; k++)
        d[1 + k] = ydims[k];
    operand_strides(ndim, na, adims, a_batched, sa);
    operand_strides(ndim, nb, bdims, b_batched, sb);
    g->op = op;
    g->ndim = 0;
    for (int k = 0; k <= ndim; k++) {
        if (d[k] == 1)
            continue; /* no step along it */
        int last = g->ndim - 1;
        if (last >= 0 && g->sa[last] == sa[k] * d[k] && g->sb[last] == sb[k] * d[k]) {
            g->dims[last] *= d[k]; /* the outer axis steps as one more run of this one */
            g->sa[last] = sa[k], g->sb[last] = sb[k];
            continue;
        }
        g->dims[g->ndim] = d[k], g->sa[g->ndim] = sa[k], g->sb[g->ndim] = sb[k];
        g->ndim++;
    }
    if (g->ndim == 0) /* one value of each */
        g->ndim = 1, g->dims[0] = 1, g->sa[0] = g->sb[0] = 1;
}

int64_t fv_binary_values(const fv_binary_geom *g, int which)
{
    const int64_t *s = which ? g->sb : g->sa;
    int64_t n = 1;
    for (int k = 0; k < g->ndim; k++)
        n *= s[k] ? g->dims[k] : 1;
    return n;
}

/* d y / d operand `which` at a = u, b = v with y = w, in double (PyTorch's derivatives). */
static double bin_grad(int op, int which, double u, double v, double w)
{
    double mine = which ? v : u, other = which ? u : v;
    switch (op) {
    case FV_BINARY_ADD: return 1;
    case FV_BINARY_SUB: return which ? -1 : 1;
    case FV_BINARY_MUL: return other;
    case FV_BINARY_DIV: return which ? -u / (v * v) : 1 / v;
    case FV_BINARY_POW:
        if (!which)
            return v == 0 ? 0 : v * pow(u, v - 1);
        return u == 0 && v >= 0 ? 0 : w * log(u);
    case FV_BINARY_MAX: return mine < other ? 0 : mine == other ? 0.5 : 1; /* NaN: 1 */
    case FV_BINARY_MIN: return mine > other ? 0 : mine == other ? 0.5 : 1;
    default: return 0;
    }
}

#define FV_REF_TEMPLATE "kernels/ref/binary_ref.inc"
#include "kernels/ref/instantiate.h"
