/* onnx_arith.c - ONNX's element-wise arithmetic onto fovea's binary layers: Add, Sub, Mul, Div,
 * Pow, Max, Min of two layer outputs (fv_binary) or of a layer output and a constant
 * (fv_binary_const), PRelu with a slope that is neither shared nor per channel (as
 * relu(x) + slope min(x, 0)), and AveragePool that excludes padding the pool cannot take (the
 * zero-padded average rescaled by a constant map of window sizes). ONNX broadcasting aligns
 * shapes at their last axes counting the batch; fovea's constants are one sample's, so a
 * constant whose axes reach the batch axis must be 1 there, and two layer outputs must have
 * one rank. */
#include "formats/onnx_internal.h"

#include <string.h>

/* The sample shape (ndim, dims) a constant t takes against a layer output of rank xr (the batch
 * counted): its own shape when shorter, less a leading 1 over the batch axis when as long. */
static fv_status const_shape(ox_ctx *c, const ox_node *n, const ox_tensor *t, int xr, int *ndim,
                             int64_t *dims)
{
    int r = t->ndim, skip = 0;
    if (r >= xr) {
        for (; skip < r - xr + 1; skip++)
            if (t->dims[skip] != 1)
                return fv_ox_err(c, n, FV_ERR_INVALID, "a constant operand of shape spanning "
                                 "the batch axis (fovea's constants are the same for every "
                                 "sample)");
    }
    if (r - skip > 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "a constant operand of %d axes (at most 4)",
                         r - skip);
    *ndim = r - skip;
    memcpy(dims, t->dims + skip, sizeof(int64_t) * (size_t)*ndim);
    return FV_OK;
}

/* t's values as floats (integer constants converted). */
static const float *const_values(ox_ctx *c, const ox_tensor *t)
{
    if (!t->isint)
        return t->f;
    float *v = fv_ox_alloc(c, sizeof(float) * (size_t)(t->numel ? t->numel : 1));
    for (int64_t k = 0; v && k < t->numel; k++)
        v[k] = (float)t->i[k];
    return v;
}

/* x OP t (t OP x when first) for layer output x and constant t: the node id. */
static fv_status with_const(ox_ctx *c, const ox_node *n, int x, const ox_tensor *t,
                            fv_binary_op op, bool first, const char *name, int *id)
{
    int64_t xd[OX_MAXR + 1], dims[OX_MAXR];
    int nd = 0, xr = fv_ox_node_shape(c, x, xd);
    FV_TRY(const_shape(c, n, t, xr, &nd, dims));
    const float *v = const_values(c, t);
    if (!v)
        return FV_ERR_NOMEM;
    bool commutes = op == FV_BINARY_ADD || op == FV_BINARY_MUL || op == FV_BINARY_MAX ||
                    op == FV_BINARY_MIN;
    fv_layer_args a = {.name = name};
    *id = fv_binary_const_(c->m, x, op, nd, dims, v, first && !commutes, a);
    return *id < 0 ? fv_ox_layer_err(c, n) : FV_OK;
}

/* a OP b for inputs ia, ib of n (a layer output at least one of them). */
static fv_status pair(ox_ctx *c, const ox_node *n, int ia, int ib, int a_node, fv_binary_op op,
                      const char *name, int *id)
{
    ox_val *va = a_node >= 0 ? NULL : fv_ox_in(c, n, ia), *vb = fv_ox_in(c, n, ib);
    if (!vb || (!va && a_node < 0))
        return fv_ox_err(c, n, FV_ERR_INVALID, "an operand is missing");
    if (a_node < 0 && va->kind == OX_CONST && vb->kind == OX_CONST)
        return fv_ox_err(c, n, FV_ERR_INVALID, "both operands are constants of a kind fovea "
                         "does not fold");
    int x;
    if (a_node < 0 && va->kind == OX_CONST) {
        FV_TRY(fv_ox_in_node(c, n, ib, &x));
        return with_const(c, n, x, &va->t, op, true, name, id);
    }
    if (a_node >= 0)
        x = a_node;
    else
        FV_TRY(fv_ox_in_node(c, n, ia, &x));
    if (vb->kind == OX_CONST)
        return with_const(c, n, x, &vb->t, op, false, name, id);
    int y;
    FV_TRY(fv_ox_in_node(c, n, ib, &y));
    int64_t d[OX_MAXR + 1], e[OX_MAXR + 1];
    int r = fv_ox_node_shape(c, x, d);
    if (r != fv_ox_node_shape(c, y, e))
        return fv_ox_err(c, n, FV_ERR_INVALID, "operands of different ranks (broadcasting would "
                         "align the batch axis with a sample axis)");
    fv_layer_args a = {.name = name};
    /* A sum of two outputs of one shape (a residual shortcut) is the add layer, which inference
     * fuses into the convolution before it (ops/fuse.c); the binary layer broadcasts. */
    if (op == FV_BINARY_ADD && memcmp(d, e, sizeof(int64_t) * (size_t)r) == 0)
        *id = fv_add_(c->m, 2, (int[]){x, y}, a);
    else
        *id = fv_binary_(c->m, x, y, op, a);
    return *id < 0 ? fv_ox_layer_err(c, n) : FV_OK;
}

/* Add, Sub, Mul, Div, Pow (two inputs) and Max, Min (one or more, left to right). */
static fv_status op_binary(ox_ctx *c, const ox_node *n)
{
    static const char *const names[] = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min"};
    int op = 0;
    while (strcmp(names[op], n->op))
        op++;
    bool variadic = op >= FV_BINARY_MAX;
    if (variadic ? n->nin < 1 : n->nin != 2)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%d inputs", n->nin);
    int id = -1;
    if (n->nin == 1) {
        FV_TRY(fv_ox_in_node(c, n, 0, &id));
        return fv_ox_set_node(c, n, 0, id);
    }
    for (int k = 1; k < n->nin; k++)
        FV_TRY(pair(c, n, 0, k, k == 1 ? -1 : id, (fv_binary_op)op,
                    k == n->nin - 1 ? fv_ox_layer_name(c, n, NULL) : NULL, &id));
    return fv_ox_set_node(c, n, 0, id);
}

fv_status fv_ox_prelu_general(ox_ctx *c, const ox_node *n, int x, const ox_tensor *slope)
{
    int neg, pos, id;
    float zero = 0;
    fv_layer_args a = {0};
    if ((neg = fv_binary_const_(c->m, x, FV_BINARY_MIN, 0, NULL, &zero, 0, a)) < 0 ||
        (pos = fv_activation_(c->m, x, FV_ACT_RELU, a)) < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(with_const(c, n, neg, slope, FV_BINARY_MUL, false, NULL, &neg));
    a.name = fv_ox_layer_name(c, n, NULL);
    if ((id = fv_binary_(c->m, pos, neg, FV_BINARY_ADD, a)) < 0)
        return fv_ox_layer_err(c, n);
    return fv_ox_set_node(c, n, 0, id);
}

fv_status fv_ox_avgpool_exclude(ox_ctx *c, const ox_node *n, int in, const int64_t *pads,
                                fv_pool2d_args a, int *out)
{
    int64_t d[4];
    fv_node_shape(c->m, in, d);
    int64_t h = d[1], w = d[2];
    fv_pad_args pa = {.top = (int)pads[0], .left = (int)pads[1], .bottom = (int)pads[2],
                      .right = (int)pads[3], .name = fv_ox_layer_name(c, n, "_pad")};
    int id = fv_pad2d_(c->m, in, pa);
    a.padding = 0, a.exclude_pad = 0;
    if (id < 0 || (id = fv_avgpool2d_(c->m, id, a)) < 0)
        return fv_ox_layer_err(c, n);
    fv_node_shape(c->m, id, d);
    int64_t oh = d[1], ow = d[2], s = a.stride, kh = a.size_h, kw = a.size_w;
    float *scale = fv_ox_alloc(c, sizeof(float) * (size_t)(oh * ow));
    if (!scale)
        return FV_ERR_NOMEM;
    for (int64_t i = 0; i < oh; i++)
        for (int64_t j = 0; j < ow; j++) { /* the window's cells inside the input */
            int64_t r0 = i * s - pads[0], c0 = j * s - pads[1];
            int64_t r = (r0 + kh < h ? r0 + kh : h) - (r0 > 0 ? r0 : 0);
            int64_t q = (c0 + kw < w ? c0 + kw : w) - (c0 > 0 ? c0 : 0);
            if (r < 1 || q < 1)
                return fv_ox_err(c, n, FV_ERR_INVALID, "a window wholly in the padding");
            scale[i * ow + j] = (float)((double)(kh * kw) / (double)(r * q));
        }
    int64_t sd[3] = {1, oh, ow};
    fv_layer_args la = {.name = a.name};
    *out = fv_binary_const_(c->m, id, FV_BINARY_MUL, 3, sd, scale, 0, la);
    return *out < 0 ? fv_ox_layer_err(c, n) : FV_OK;
}

const fv_ox_op fv_ox_ops_arith[] = {
    {"Add", op_binary}, {"Sub", op_binary}, {"Mul", op_binary}, {"Div", op_binary},
    {"Pow", op_binary}, {"Max", op_binary}, {"Min", op_binary}, {NULL, NULL},
};
