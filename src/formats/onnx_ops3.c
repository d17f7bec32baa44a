/* onnx_ops3.c - ONNX ops onto fovea's layers, part three: resampling and padding (Resize of
 * opsets 10-17, Upsample 7-9, Pad before and after 11) and Clip (ReLU6 and ReLU where the bounds
 * are theirs, else fovea's clip). Resize-10 and Upsample map
 * each output cell x to x / scale (asymmetric) and take the cell below (floor), as ONNX
 * Runtime and PyTorch's exports at those opsets do; from opset 11 the node's attributes say. */
#include "formats/onnx_internal.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- resize */

static fv_status resize_mode(ox_ctx *c, const ox_node *n, fv_resize_args *a)
{
    const char *mode = fv_ox_attr_s(n, "mode", "nearest");
    if (strcmp(mode, "nearest") == 0)
        a->mode = FV_RESIZE_NEAREST;
    else if (strcmp(mode, "linear") == 0 || (n->opset < 9 && strcmp(mode, "bilinear") == 0))
        a->mode = FV_RESIZE_LINEAR;
    else if (strcmp(mode, "cubic") == 0 && n->opset >= 11 && strcmp(n->op, "Resize") == 0)
        a->mode = FV_RESIZE_CUBIC;
    else
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'mode' = '%s'", mode);
    if (n->opset < 11 || strcmp(n->op, "Upsample") == 0) {
        a->coord = FV_COORD_ASYMMETRIC;
        a->nearest_mode = FV_NEAREST_FLOOR;
        return FV_OK;
    }
    static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                         "asymmetric", "tf_half_pixel_for_nn"};
    static const char *const rounds[] = {"round_prefer_floor", "round_prefer_ceil", "floor",
                                         "ceil"};
    const char *ct = fv_ox_attr_s(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = fv_ox_attr_s(n, "nearest_mode", "round_prefer_floor");
    int k;
    for (k = 0; k < 5 && strcmp(ct, coords[k]); k++)
        ;
    if (k == 5 || (k == 4 && n->opset > 11))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'coordinate_transformation_mode' = "
                         "'%s'%s", ct, strcmp(ct, "tf_crop_and_resize") == 0 ?
                         " (a crop by a region of interest is not supported)" : "");
    a->coord = (fv_resize_coord)k;
    for (k = 0; k < 4 && strcmp(nm, rounds[k]); k++)
        ;
    if (k == 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'nearest_mode' = '%s'", nm);
    a->nearest_mode = (fv_nearest_mode)k;
    a->cubic_a = fv_ox_attr_f(n, "cubic_coeff_a", -0.75f);
    if (!isfinite(a->cubic_a) || a->cubic_a == 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'cubic_coeff_a' = %g",
                         (double)a->cubic_a);
    a->exclude_outside = fv_ox_attr_i(n, "exclude_outside", 0) != 0;
    return FV_OK;
}

/* Scales (4 floats: 1, 1, height, width) into a; 0 when t is empty (the sizes say). */
static fv_status resize_scales(ox_ctx *c, const ox_node *n, const float *s, int64_t ns,
                               fv_resize_args *a)
{
    if (ns == 0)
        return FV_OK;
    if (ns != 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%lld scales for a rank-4 input",
                         (long long)ns);
    if (s[0] != 1 || s[1] != 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "scales %g, %g on the batch and channel axes "
                         "(fovea resizes the height and width)", (double)s[0], (double)s[1]);
    for (int k = 2; k < 4; k++)
        if (!(s[k] > 0) || !isfinite(s[k]) || s[k] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "scale %g", (double)s[k]);
    a->scale_h = (double)s[2], a->scale_w = (double)s[3];
    return FV_OK;
}

static fv_status resize_sizes(ox_ctx *c, const ox_node *n, const ox_tensor *t, int64_t ch,
                              fv_resize_args *a)
{
    if (!t->isint || t->numel != 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "'sizes' must be 4 integers for a rank-4 input");
    int64_t b = t->i[0];
    if ((b != OX_BATCH && b != c->batch_decl) || t->i[1] != ch)
        return fv_ox_err(c, n, FV_ERR_INVALID, "'sizes' changes the batch or channel axis "
                         "(fovea resizes the height and width)");
    for (int k = 2; k < 4; k++)
        if (t->i[k] < 1 || t->i[k] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "size %lld", (long long)t->i[k]);
    a->out_h = (int)t->i[2], a->out_w = (int)t->i[3];
    return FV_OK;
}

/* Resize (10: X, scales; 11-17: X, roi, scales, sizes) and Upsample (7: scales attribute; 9:
 * X, scales). */
static fv_status op_resize(ox_ctx *c, const ox_node *n)
{
    int in;
    int64_t dims[OX_MAXR + 1];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    if (fv_ox_node_shape(c, in, dims) != 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "an input of rank %d: fovea resizes (N, C, H, W)",
                         fv_ox_node_shape(c, in, dims));
    fv_resize_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    FV_TRY(resize_mode(c, n, &a));
    bool upsample = strcmp(n->op, "Upsample") == 0;
    if (upsample && n->opset < 9) {
        const FvOnnx__AttributeProto *s = fv_ox_attr(n, "scales");
        if (!s)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'scales' is missing");
        FV_TRY(resize_scales(c, n, s->floats, (int64_t)s->n_floats, &a));
        if (!s->n_floats)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'scales' is empty");
    } else {
        int si = upsample || n->opset < 11 ? 1 : 2;
        ox_val *sv = fv_ox_in(c, n, si), *zv = si == 2 ? fv_ox_in(c, n, 3) : NULL;
        ox_tensor *st = NULL, *zt = NULL;
        if (sv)
            FV_TRY(fv_ox_in_const(c, n, si, "scales", &st));
        if (zv)
            FV_TRY(fv_ox_in_const(c, n, 3, "sizes", &zt));
        if (st && st->isint)
            return fv_ox_err(c, n, FV_ERR_INVALID, "'scales' must be floats");
        if (zt && zt->numel && st && st->numel)
            return fv_ox_err(c, n, FV_ERR_INVALID, "both 'scales' and 'sizes' are given");
        if (zt && zt->numel)
            FV_TRY(resize_sizes(c, n, zt, dims[1], &a));
        else if (st && st->numel)
            FV_TRY(resize_scales(c, n, st->f, st->numel, &a));
        else
            return fv_ox_err(c, n, FV_ERR_INVALID, "neither 'scales' nor 'sizes' is given");
    }
    return fv_ox_set_node(c, n, 0, fv_resize_(c->m, in, a));
}

/* ---------------------------------------------------------------- pad */

/* Pad: the last two axes of a sample by fv_pad2d (a sample of one or two axes reshaped to
 * (1, H, W) around it); the pads of other axes must be 0. */
static fv_status op_pad(ox_ctx *c, const ox_node *n)
{
    int in, id;
    int64_t dims[OX_MAXR + 1], pads[2 * OX_MAXR];
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    int r = fv_ox_node_shape(c, in, dims), np;
    float value = 0;
    if (n->opset < 11) {
        np = fv_ox_attr_ints(c, n, "pads", pads, 2 * OX_MAXR);
        if (np < 0)
            return fv_last_status();
        value = fv_ox_attr_f(n, "value", 0);
    } else {
        ox_tensor *p, *v;
        FV_TRY(fv_ox_in_const(c, n, 1, "pads", &p));
        if (!p->isint || p->numel > 2 * OX_MAXR)
            return fv_ox_err(c, n, FV_ERR_INVALID, "'pads' must be integers, two per axis");
        np = (int)p->numel;
        memcpy(pads, p->i, sizeof *pads * (size_t)np);
        if (fv_ox_in(c, n, 2)) {
            FV_TRY(fv_ox_in_const(c, n, 2, "constant_value", &v));
            if (v->numel != 1 || v->isint)
                return fv_ox_err(c, n, FV_ERR_INVALID, "'constant_value' must be one float");
            value = v->f[0];
        }
        if (fv_ox_in(c, n, 3))
            return fv_ox_err(c, n, FV_ERR_INVALID, "input 'axes' is not supported");
    }
    if (np != 2 * r)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%d pads for a rank-%d input", np, r);
    if (!isfinite(value))
        return fv_ox_err(c, n, FV_ERR_INVALID, "the padding value %g is not finite",
                         (double)value);
    for (int k = 0; k < 2 * r; k++) {
        int axis = k % r;
        if (pads[k] && axis == 0)
            return fv_ox_err(c, n, FV_ERR_INVALID, "padding the batch axis (fovea's layers work "
                             "on each sample)");
        if (pads[k] && axis < r - 2)
            return fv_ox_err(c, n, FV_ERR_INVALID, "pads on axis %d: fovea pads the last two "
                             "axes", axis);
        if (pads[k] < -(1 << 20) || pads[k] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "pad %lld", (long long)pads[k]);
    }
    const char *mode = fv_ox_attr_s(n, "mode", "constant");
    fv_pad_args a = {.value = value, .name = fv_ox_layer_name(c, n, NULL)};
    if (strcmp(mode, "constant") == 0)
        a.mode = FV_PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        a.mode = FV_PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        a.mode = FV_PAD_EDGE;
    else
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'mode' = '%s'", mode);
    int s = r - 1; /* axes per sample */
    if (s < 3) {
        int64_t chw[3] = {1, s == 2 ? dims[1] : 1, dims[r - 1]};
        FV_TRY(fv_ox_reshape(c, n, in, 3, chw, &in));
        a.name = fv_ox_layer_name(c, n, "_pad"); /* the reshape may have taken the node's */
    }
    a.top = s >= 2 ? (int)pads[r - 2] : 0, a.bottom = s >= 2 ? (int)pads[2 * r - 2] : 0;
    a.left = (int)pads[r - 1], a.right = (int)pads[2 * r - 1];
    if ((id = fv_pad2d_(c->m, in, a)) < 0)
        return fv_ox_layer_err(c, n);
    if (s < 3) {
        int64_t out[3];
        fv_node_shape(c->m, id, out);
        FV_TRY(fv_ox_reshape(c, n, id, s, out + 3 - s, &id));
    }
    return fv_ox_set_node(c, n, 0, id);
}

/* ---------------------------------------------------------------- clip */

/* A bound of Clip: attribute (before 11) or optional input k; def when absent. */
static fv_status clip_bound(ox_ctx *c, const ox_node *n, const char *name, int k, float def,
                            float *out)
{
    *out = def;
    if (n->opset < 11) {
        *out = fv_ox_attr_f(n, name, def);
        return FV_OK;
    }
    if (!fv_ox_in(c, n, k))
        return FV_OK;
    ox_tensor *t;
    FV_TRY(fv_ox_in_const(c, n, k, name, &t));
    if (t->numel != 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "'%s' must be one value", name);
    *out = t->isint ? (float)fv_ox_int_at(t, 0) : t->f[0];
    return FV_OK;
}

static fv_status op_clip(ox_ctx *c, const ox_node *n)
{
    int in;
    float lo, hi;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    FV_TRY(clip_bound(c, n, "min", 1, -INFINITY, &lo));
    FV_TRY(clip_bound(c, n, "max", 2, INFINITY, &hi));
    if (isnan(lo) || isnan(hi))
        return fv_ox_err(c, n, FV_ERR_INVALID, "a bound is NaN");
    fv_layer_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    if (lo == 0 && hi == 6)
        return fv_ox_set_node(c, n, 0, fv_activation_(c->m, in, FV_ACT_RELU6, a));
    if (lo == 0 && hi >= FLT_MAX)
        return fv_ox_set_node(c, n, 0, fv_activation_(c->m, in, FV_ACT_RELU, a));
    /* open sides as the largest floats: the same clamp on finite values */
    lo = lo < -FLT_MAX ? -FLT_MAX : lo > FLT_MAX ? FLT_MAX : lo;
    hi = hi > FLT_MAX ? FLT_MAX : hi < -FLT_MAX ? -FLT_MAX : hi;
    return fv_ox_set_node(c, n, 0, fv_clip_(c->m, in, lo, hi, a));
}

/* ---------------------------------------------------------------- dispatch */

const fv_ox_op fv_ox_ops3[] = {
    {"Resize", op_resize}, {"Upsample", op_resize}, {"Pad", op_pad}, {"Clip", op_clip},
    {NULL, NULL},
};
