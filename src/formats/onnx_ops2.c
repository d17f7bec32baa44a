/* onnx_ops2.c - ONNX ops onto fovea's layers, part two: pooling (max, average, global, Lp),
 * normalization (batch, instance, LRN), PReLU, and the ops that move data without computing
 * (Flatten, Reshape, Transpose, Concat, Squeeze, Unsqueeze, Identity, Dropout, Cast). The batch
 * axis is fovea's own: an op that would move, merge or split it is an error saying so. */
#include "formats/onnx_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

static fv_status gone(ox_ctx *c, const ox_node *n, int from, const char *why)
{
    ox_val v = {.kind = OX_GONE, .why = why};
    for (int k = from; k < n->nout; k++)
        FV_TRY(fv_ox_set_val(c, n, k, &v));
    return FV_OK;
}

static fv_status batch_err(ox_ctx *c, const ox_node *n, const char *what)
{
    return fv_ox_err(c, n, FV_ERR_INVALID, "%s changes the batch axis (fovea's layers work on "
                     "each sample)", what);
}

static fv_status alias(ox_ctx *c, const ox_node *n)
{
    int in;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    return fv_ox_set_node(c, n, 0, in);
}

/* ---------------------------------------------------------------- pooling */

/* What MaxPool, AveragePool and LpPool share: the input (as an image), the window, the stride,
 * the pads (top, left, bottom, right) and whether the op is 1-D. */
typedef struct pool_geom {
    int in;
    bool one_d;
    fv_pool2d_args a;
    int64_t pads[4];
} pool_geom;

static fv_status pool_geometry(ox_ctx *c, const ox_node *n, pool_geom *g)
{
    int64_t *pads = g->pads;
    g->a = (fv_pool2d_args){0};
    int64_t hw[2], k[2], s[2], d[2];
    FV_TRY(fv_ox_image_in(c, n, &g->in, hw, NULL, &g->one_d));
    if (!fv_ox_attr(n, "kernel_shape"))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'kernel_shape' is missing");
    if (fv_ox_attr_hw(c, n, "kernel_shape", g->one_d, 1, 1, k) < 0 ||
        fv_ox_attr_hw(c, n, "strides", g->one_d, 1, 1, s) < 0 ||
        fv_ox_attr_hw(c, n, "dilations", g->one_d, 1, 1, d) < 0)
        return fv_last_status();
    for (int j = 0; j < 2; j++) {
        if (k[j] < 1 || k[j] > 1 << 20 || s[j] < 1 || s[j] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attributes 'kernel_shape' and 'strides' "
                             "must be positive");
        if (d[j] != 1)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'dilations': fovea's pooling has "
                             "no dilation");
    }
    /* fovea's stride is one value; a 1-D op's height (extent 1, window 1) takes any */
    if (s[0] != s[1] && !g->one_d)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'strides' (%lld, %lld): fovea's "
                         "pooling takes equal values", (long long)s[0], (long long)s[1]);
    g->a.size_h = (int)k[0], g->a.size_w = (int)k[1], g->a.stride = (int)s[1];
    g->a.ceil_mode = fv_ox_attr_i(n, "ceil_mode", 0) != 0;
    g->a.name = fv_ox_layer_name(c, n, NULL);
    const char *ap = fv_ox_attr_s(n, "auto_pad", "NOTSET");
    memset(pads, 0, 4 * sizeof *pads);
    if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        bool upper = ap[5] == 'U';
        for (int j = 0; j < 2; j++) {
            int64_t total = ((hw[j] + s[j] - 1) / s[j] - 1) * s[j] + k[j] - hw[j];
            total = total > 0 ? total : 0;
            pads[j] = upper ? total / 2 : total - total / 2;
            pads[j + 2] = total - pads[j];
        }
    } else if (strcmp(ap, "VALID") != 0 && strcmp(ap, "NOTSET") != 0 && *ap) {
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'auto_pad' = '%s'", ap);
    } else if (strcmp(ap, "VALID") != 0) {
        if (fv_ox_attr_hw(c, n, "pads", g->one_d, 0, 0, pads) < 0)
            return fv_last_status();
    }
    for (int j = 0; j < 4; j++)
        if (pads[j] < 0 || pads[j] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'pads': %lld", (long long)pads[j]);
    return FV_OK;
}

static bool symmetric(const int64_t *p)
{
    return p[0] == p[1] && p[0] == p[2] && p[0] == p[3];
}

/* MaxPool and AveragePool: the pool's own padding where it is one value within half the window
 * (PyTorch's limit); otherwise an explicit pad layer before it: -FLT_MAX for max pooling (no
 * window lies wholly in the padding), zeros for average pooling that counts them, and for one
 * that does not, zeros with the average rescaled (onnx_arith.c). ceil_mode has no exact form
 * then. */
static fv_status op_pool(ox_ctx *c, const ox_node *n)
{
    pool_geom g;
    FV_TRY(pool_geometry(c, n, &g));
    int in = g.in;
    fv_pool2d_args a = g.a;
    int64_t *pads = g.pads;
    bool one_d = g.one_d;
    bool avg = n->op[0] == 'A';
    bool include = avg && fv_ox_attr_i(n, "count_include_pad", 0) != 0;
    bool wide = 2 * pads[0] > a.size_h || 2 * pads[0] > a.size_w;
    bool any = pads[0] || pads[1] || pads[2] || pads[3];
    if (any && (!symmetric(pads) || wide || (include && a.ceil_mode))) {
        if (a.ceil_mode)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'ceil_mode' = 1 with these pads "
                             "(an explicit padding changes which windows ceil_mode keeps)");
        if (avg && !include) { /* the zero-padded average rescaled to the cells inside */
            int id;
            FV_TRY(fv_ox_avgpool_exclude(c, n, in, pads, a, &id));
            FV_TRY(fv_ox_image_out(c, n, id, one_d, &id));
            return fv_ox_set_node(c, n, 0, id);
        }
        fv_pad_args pa = {.top = (int)pads[0], .left = (int)pads[1], .bottom = (int)pads[2],
                          .right = (int)pads[3], .mode = FV_PAD_CONSTANT,
                          .value = avg ? 0 : -FLT_MAX, .name = fv_ox_layer_name(c, n, "_pad")};
        if ((in = fv_pad2d_(c->m, in, pa)) < 0)
            return fv_ox_layer_err(c, n);
        memset(pads, 0, 4 * sizeof *pads);
    }
    a.padding = (int)pads[0];
    a.exclude_pad = avg && !include && a.padding > 0;
    int id = avg ? fv_avgpool2d_(c->m, in, a) : fv_maxpool2d_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_image_out(c, n, id, one_d, &id));
    FV_TRY(fv_ox_set_node(c, n, 0, id));
    return gone(c, n, 1, "MaxPool's indices (fovea does not give them)");
}

static fv_status op_lppool(ox_ctx *c, const ox_node *n)
{
    pool_geom g;
    FV_TRY(pool_geometry(c, n, &g));
    if (g.pads[0] || !symmetric(g.pads))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'pads': fovea's Lp pooling has no "
                         "padding");
    int64_t p = fv_ox_attr_i(n, "p", 2);
    if (p < 2 || p > 64 || p % 2) /* fovea raises x to p, ONNX |x|: equal for even p */
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'p' = %lld: fovea takes even p",
                         (long long)p);
    int id = fv_lppool2d_(c->m, g.in, (float)p, g.a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_image_out(c, n, id, g.one_d, &id));
    return fv_ox_set_node(c, n, 0, id);
}

static fv_status op_global_pool(ox_ctx *c, const ox_node *n)
{
    int in, id;
    int64_t dims[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    if (fv_ox_node_shape(c, in, dims) != 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "fovea's global pooling is 2-D (rank 4)");
    fv_layer_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    id = strstr(n->op, "Max") ? fv_global_maxpool2d_(c->m, in, a)
                              : fv_global_avgpool2d_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    int64_t keep[3] = {dims[1], 1, 1}; /* ONNX keeps the spatial axes as 1 x 1 */
    FV_TRY(fv_ox_reshape(c, n, id, 3, keep, &id));
    return fv_ox_set_node(c, n, 0, id);
}

/* ---------------------------------------------------------------- normalization */

/* Input k: a float constant of `count` values. */
static fv_status vec_in(ox_ctx *c, const ox_node *n, int k, const char *what, int64_t count,
                        const float **v)
{
    *v = NULL;
    ox_tensor *t;
    FV_TRY(fv_ox_in_const(c, n, k, what, &t));
    if (t->isint || t->numel != count)
        return fv_ox_err(c, n, FV_ERR_SHAPE, "the %s has %lld values for %lld channels", what,
                         (long long)t->numel, (long long)count);
    *v = t->f;
    return FV_OK;
}

/* The normalizations' attribute 'epsilon' (default 1e-5): positive and finite. */
static fv_status epsilon(ox_ctx *c, const ox_node *n, float *eps)
{
    *eps = fv_ox_attr_f(n, "epsilon", 1e-5f);
    if (!(*eps > 0) || !isfinite(*eps))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'epsilon' = %g", (double)*eps);
    return FV_OK;
}

static fv_status op_batchnorm(ox_ctx *c, const ox_node *n)
{
    int in;
    int64_t dims[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    fv_ox_node_shape(c, in, dims);
    if (fv_ox_attr_i(n, "training_mode", 0))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'training_mode' = 1 (fovea imports "
                         "the inference form)");
    if (n->opset < 9 && fv_ox_attr_i(n, "spatial", 1) != 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'spatial' = 0 is not supported");
    const float *v[4];
    static const char *const what[4] = {"scale", "bias", "mean", "variance"};
    for (int k = 0; k < 4; k++)
        FV_TRY(vec_in(c, n, k + 1, what[k], dims[1], &v[k]));
    fv_batchnorm_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    FV_TRY(epsilon(c, n, &a.eps));
    int id = fv_batchnorm_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    for (int k = 0; k < 4; k++)
        FV_TRY(fv_ox_preset(c, n, id, k, v[k], dims[1]));
    FV_TRY(fv_ox_set_node(c, n, 0, id));
    return gone(c, n, 1, "BatchNormalization's training outputs (fovea imports inference)");
}

static fv_status op_instance_norm(ox_ctx *c, const ox_node *n)
{
    int in;
    int64_t dims[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    fv_ox_node_shape(c, in, dims);
    const float *s, *b;
    FV_TRY(vec_in(c, n, 1, "scale", dims[1], &s));
    FV_TRY(vec_in(c, n, 2, "bias", dims[1], &b));
    fv_norm_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    FV_TRY(epsilon(c, n, &a.eps));
    int id = fv_instance_norm_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_preset(c, n, id, 0, s, dims[1]));
    FV_TRY(fv_ox_preset(c, n, id, 1, b, dims[1]));
    return fv_ox_set_node(c, n, 0, id);
}

static fv_status op_lrn(ox_ctx *c, const ox_node *n)
{
    int in;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int64_t size = fv_ox_attr_i(n, "size", 0);
    if (size < 1 || size % 2 == 0 || size > 1 << 16)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'size' = %lld: fovea takes an odd "
                         "size (an even one centres its window differently)", (long long)size);
    fv_lrn_args a = {.size = (int)size, .alpha = fv_ox_attr_f(n, "alpha", 1e-4f),
                     .beta = fv_ox_attr_f(n, "beta", 0.75f), .k = fv_ox_attr_f(n, "bias", 1),
                     .name = fv_ox_layer_name(c, n, NULL)};
    if (a.alpha == 0 || a.beta == 0 || a.k == 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attributes alpha, beta and bias of 0 are not "
                         "supported");
    return fv_ox_set_node(c, n, 0, fv_lrn_(c->m, in, a));
}

/* PReLU with one slope or one per channel (axis 1), as fovea's layer has it. */
static fv_status op_prelu(ox_ctx *c, const ox_node *n)
{
    int in;
    int64_t dims[OX_MAXR + 1];
    ox_tensor *s;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims);
    FV_TRY(fv_ox_in_const(c, n, 1, "slope", &s));
    bool shared = s->numel == 1, per_channel = r >= 2 && s->ndim <= r - 1;
    for (int k = 0; per_channel && k < s->ndim; k++) { /* right-aligned: C at axis 1 */
        int axis = r - s->ndim + k;
        per_channel = s->dims[k] == (axis == 1 ? dims[1] : 1);
    }
    if (!shared && !per_channel) /* any other slope by broadcasting */
        return fv_ox_prelu_general(c, n, in, s);
    if (s->isint)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the slope must be float");
    fv_prelu_args a = {.shared = shared, .name = fv_ox_layer_name(c, n, NULL)};
    int id = fv_prelu_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_preset(c, n, id, 0, s->f, s->numel));
    return fv_ox_set_node(c, n, 0, id);
}

/* ---------------------------------------------------------------- moving data */

static fv_status op_flatten(ox_ctx *c, const ox_node *n)
{
    int in, id;
    int64_t dims[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims);
    int64_t ax = fv_ox_attr_i(n, "axis", 1);
    if (ax < -r || ax > r)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'axis' = %lld for rank %d",
                         (long long)ax, r);
    ax = ax < 0 ? ax + r : ax;
    int64_t merged = 1, rest = 1;
    for (int k = 1; k < r; k++)
        *(k < ax ? &merged : &rest) *= dims[k];
    if (ax == 0 || merged != 1)
        return batch_err(c, n, "flattening at this axis");
    FV_TRY(fv_ox_reshape(c, n, in, 1, &rest, &id));
    return fv_ox_set_node(c, n, 0, id);
}

static fv_status op_reshape(ox_ctx *c, const ox_node *n)
{
    int in, id;
    int64_t dims[OX_MAXR + 1], out[OX_MAXR];
    ox_tensor *s;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims);
    FV_TRY(fv_ox_in_const(c, n, 1, "shape", &s));
    if (!s->isint || s->ndim != 1 || s->numel < 1 || s->numel > OX_MAXR)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the shape must be 1 to %d integers", OX_MAXR);
    bool allowzero = fv_ox_attr_i(n, "allowzero", 0) != 0;
    int64_t numel = 1, known = 1, infer = -1, q = s->numel;
    for (int k = 1; k < r; k++)
        numel *= dims[k];
    for (int k = 1; k < q; k++) {
        int64_t v = s->i[k];
        if (v == 0 && !allowzero && k < r)
            v = dims[k];
        if (v == OX_BATCH || v < -1 || (v == -1 && infer >= 0) || v == 0)
            return fv_ox_err(c, n, FV_ERR_INVALID, "shape entry %d: %s", k, v == OX_BATCH ?
                             "the batch size away from the batch axis" : "not a usable size");
        if (v == -1)
            infer = k;
        else
            known *= v;
        out[k - 1] = v;
    }
    int64_t t0 = s->i[0];
    bool batch = t0 == OX_BATCH || (t0 == 0 && !allowzero) ||
                 (t0 > 0 && t0 == c->batch_decl) || (t0 == -1 && infer < 0 && known == numel);
    if (!batch)
        return batch_err(c, n, "this reshape");
    if (infer >= 0) {
        if (numel % known)
            return fv_ox_err(c, n, FV_ERR_SHAPE, "%lld values per sample do not fill the shape",
                             (long long)numel);
        out[infer - 1] = numel / known;
    }
    if (q == 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "a result with the batch axis alone (fovea's "
                         "layers keep at least one axis per sample)");
    FV_TRY(fv_ox_reshape(c, n, in, (int)q - 1, out, &id));
    return fv_ox_set_node(c, n, 0, id);
}

static fv_status op_transpose(ox_ctx *c, const ox_node *n)
{
    int in, id, perm[OX_MAXR];
    int64_t dims[OX_MAXR + 1], p[OX_MAXR];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims);
    int np = fv_ox_attr_ints(c, n, "perm", p, OX_MAXR);
    if (np < 0)
        return fv_last_status();
    for (int k = 0; !np && k < r; k++)
        p[k] = r - 1 - k;
    if (np && np != r)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'perm' has %d axes for rank %d", np, r);
    if (p[0] != 0)
        return batch_err(c, n, "this transpose");
    unsigned seen = 1;
    for (int k = 1; k < r; k++) {
        if (p[k] < 1 || p[k] >= r || (seen >> p[k] & 1))
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'perm' is not a permutation");
        seen |= 1u << p[k];
        perm[k - 1] = (int)p[k] - 1;
    }
    FV_TRY(fv_ox_permute(c, n, in, r - 1, perm, &id));
    return fv_ox_set_node(c, n, 0, id);
}

static fv_status op_concat(ox_ctx *c, const ox_node *n)
{
    int ins[FV_MAX_IN];
    int64_t dims[OX_MAXR + 1];
    if (n->nin < 1 || n->nin > FV_MAX_IN)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%d inputs (fovea's concat takes 1 to %d)",
                         n->nin, FV_MAX_IN);
    for (int k = 0; k < n->nin; k++) {
        ox_val *v = fv_ox_in(c, n, k);
        if (v && v->kind == OX_CONST && v->t.ndim >= 2)
            return fv_ox_err(c, n, FV_ERR_INVALID, "input %d is a constant spanning the batch "
                             "axis (fovea's constants are the same for every sample)", k);
        FV_TRY(fv_ox_in_node(c, n, k, &ins[k]));
    }
    int r = fv_ox_node_shape(c, ins[0], dims);
    int64_t ax = fv_ox_attr_i(n, "axis", n->opset < 11 ? 1 : 0);
    if (ax < -r || ax >= r)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'axis' = %lld for rank %d",
                         (long long)ax, r);
    ax = ax < 0 ? ax + r : ax;
    if (ax == 0)
        return batch_err(c, n, "concatenating along axis 0");
    if (n->nin == 1)
        return fv_ox_set_node(c, n, 0, ins[0]);
    fv_concat_args a = {.axis = (int)ax - 1, .name = fv_ox_layer_name(c, n, NULL)};
    return fv_ox_set_node(c, n, 0, fv_concat_(c->m, n->nin, ins, a));
}

static fv_status op_squeeze(ox_ctx *c, const ox_node *n)
{
    int in, id, r2;
    int64_t dims[OX_MAXR + 1], out[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims);
    FV_TRY(fv_ox_squeeze_dims(c, n, r, dims, &r2, out));
    if (r2 < 1 || out[0] != OX_BATCH)
        return batch_err(c, n, n->op);
    FV_TRY(fv_ox_reshape(c, n, in, r2 - 1, out + 1, &id));
    return fv_ox_set_node(c, n, 0, id);
}

/* Dropout at inference is the identity; in training mode only with ratio 0 (the identity
 * too): other ratios draw random masks no import can reproduce. */
static fv_status op_dropout(ox_ctx *c, const ox_node *n)
{
    ox_val *t = fv_ox_in(c, n, 2), *r = fv_ox_in(c, n, 1);
    if (t && (t->kind != OX_CONST || t->t.numel != 1))
        return fv_ox_err(c, n, FV_ERR_INVALID, "training_mode is not one constant");
    if (t && fv_ox_int_at(&t->t, 0)) {
        if (!r || r->kind != OX_CONST || r->t.numel != 1 || r->t.isint || r->t.f[0] != 0)
            return fv_ox_err(c, n, FV_ERR_INVALID, "training_mode = 1 with a ratio other than "
                             "0 (random masks; fovea imports inference)");
    }
    FV_TRY(alias(c, n));
    return gone(c, n, 1, "Dropout's mask (fovea imports inference)");
}

static fv_status op_cast(ox_ctx *c, const ox_node *n)
{
    int64_t to = fv_ox_attr_i(n, "to", 0);
    if (to != FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'to' = %lld: fovea's layers compute "
                         "in float", (long long)to);
    return alias(c, n);
}

const fv_ox_op fv_ox_ops2[] = {
    {"MaxPool", op_pool}, {"AveragePool", op_pool}, {"LpPool", op_lppool},
    {"GlobalAveragePool", op_global_pool}, {"GlobalMaxPool", op_global_pool},
    {"BatchNormalization", op_batchnorm}, {"InstanceNormalization", op_instance_norm},
    {"LRN", op_lrn}, {"PRelu", op_prelu}, {"Flatten", op_flatten}, {"Reshape", op_reshape},
    {"Transpose", op_transpose}, {"Concat", op_concat}, {"Squeeze", op_squeeze},
    {"Unsqueeze", op_squeeze}, {"Identity", alias}, {"Dropout", op_dropout}, {"Cast", op_cast},
    {NULL, NULL},
};
