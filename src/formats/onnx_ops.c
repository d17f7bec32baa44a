/* onnx_ops.c - ONNX ops onto fovea's layers, part one: the table of ops the importer claims
 * (fv_onnx_supported_op reads it: the one list), the dispatch, the helpers every mapping uses
 * (operands, outputs, names, presets), activations, softmax, convolutions and the dense
 * family (Gemm, MatMul with a fused bias, Add of two nodes). The rest is onnx_ops2.c. Whatever
 * fovea cannot compute exactly is an error naming the node, the op, its opset and the reason. */
#include "formats/onnx_internal.h"
#include "io/io.h"
#include "ops/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The ops mapped onto layers, each with what its claim leaves out (constant folding also takes
 * the shape glue, onnx_fold.c). Every claim holds for float32 tensors of a batch axis and 1 to
 * 4 axes per sample, with one graph input (docs/onnx.md); the rules are FV_ONNX_* (fovea.h). */
typedef struct ox_claim {
    const char *op;
    unsigned rules;
    const char *limits;
} ox_claim;

#define BATCH FV_ONNX_NO_BATCH_AXIS
#define ARITH "layer outputs of one rank, or a layer output and a constant the same for every " \
              "sample (broadcast)"
#define UP_2D FV_ONNX_UP_TO_2D
static const ox_claim claimed[] = {
    {"Conv", UP_2D, "1-D and 2-D; equal strides and dilations; 3-D not supported"},
    {"ConvTranspose", UP_2D, "1-D and 2-D; equal dilations; 3-D not supported"},
    {"Gemm", BATCH, "A not transposed (transA moves the batch axis); C one bias row"},
    {"MatMul", BATCH, "a constant right operand of rank 2 (a batched one spans the batch axis)"},
    {"Add", BATCH, ARITH}, {"Sub", BATCH, ARITH}, {"Mul", BATCH, ARITH},
    {"Div", BATCH, ARITH}, {"Pow", BATCH, ARITH}, {"Max", BATCH, ARITH}, {"Min", BATCH, ARITH},
    {"Relu", 0, NULL}, {"LeakyRelu", 0, NULL},
    {"PRelu", BATCH, "a slope the same for every sample (broadcast)"},
    {"Elu", 0, NULL},
    {"Selu", 0, "alpha and gamma other than 0"},
    {"Sigmoid", 0, NULL}, {"Tanh", 0, NULL},
    {"HardSigmoid", 0, "alpha and beta other than 0"},
    {"HardSwish", 0, NULL},
    {"Clip", 0, "constant bounds"},
    {"Softmax", BATCH, "any axis but the batch axis"},
    {"LogSoftmax", BATCH, "any axis but the batch axis"},
    {"MaxPool", UP_2D, "1-D and 2-D; no dilations; no indices output; 3-D not supported"},
    {"AveragePool", UP_2D, "1-D and 2-D; no ceil_mode with pads the pool cannot take; 3-D not "
                           "supported"},
    {"GlobalAveragePool", UP_2D, "2-D"}, {"GlobalMaxPool", UP_2D, "2-D"},
    {"LpPool", UP_2D, "1-D and 2-D, even p, no padding"},
    {"BatchNormalization", 0, "inference (training_mode = 0)"},
    {"InstanceNormalization", 0, NULL},
    {"LRN", 0, "odd size"},
    {"Dropout", 0, "inference, or training with ratio 0 (the mask output not given)"},
    {"Flatten", BATCH, "at axis 1 or where the leading sample axes are 1"},
    {"Reshape", BATCH, "shapes that keep the batch axis"},
    {"Transpose", BATCH, "permutations that keep the batch axis first"},
    {"Concat", BATCH, "of layer outputs, along a sample axis"},
    {"Identity", 0, "of tensors"},
    {"Constant", 0, "as an operand (a graph needs its input)"},
    {"Resize", 0, "(N, C, H, W) by scales or sizes of H and W; tf_crop_and_resize not supported"},
    {"Upsample", 0, "(N, C, H, W)"},
    {"Pad", BATCH, "constant, reflect and edge on the last two axes"},
    {"RNN", BATCH, "batch-first (layout 1), forward or bidirectional, Tanh or Relu, no clip "
                   "or sequence_lens"},
    {"LSTM", BATCH, "batch-first (layout 1), forward or bidirectional, default activations, "
                    "no peepholes, clip, input_forget, sequence_lens or Y_c"},
    {"GRU", BATCH, "batch-first (layout 1), forward or bidirectional, linear_before_reset 1 "
                   "(PyTorch's), default activations, no clip or sequence_lens"},
};
#undef BATCH
#undef UP_2D
#undef ARITH

const char *fv_onnx_supported_op(int i)
{
    return i >= 0 && i < (int)(sizeof claimed / sizeof *claimed) ? claimed[i].op : NULL;
}

const char *fv_onnx_claim_limits(int i, unsigned *rules)
{
    bool in = i >= 0 && i < (int)(sizeof claimed / sizeof *claimed);
    if (rules)
        *rules = in ? claimed[i].rules : 0;
    return in ? claimed[i].limits : NULL;
}

/* ---------------------------------------------------------------- helpers */

ox_val *fv_ox_in(ox_ctx *c, const ox_node *n, int i)
{
    if (i >= n->nin || !*n->in[i])
        return NULL;
    return fv_ox_val(c, n->in[i], false);
}

fv_status fv_ox_in_const(ox_ctx *c, const ox_node *n, int i, const char *what, ox_tensor **t)
{
    *t = NULL;
    ox_val *v = fv_ox_in(c, n, i);
    if (!v || v->kind != OX_CONST)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the %s (input %d) %s", what, i,
                         v ? "is computed by the graph: fovea needs a constant (an initializer)"
                           : "is missing");
    *t = &v->t;
    return FV_OK;
}

fv_status fv_ox_in_node(ox_ctx *c, const ox_node *n, int i, int *node)
{
    *node = -1;
    ox_val *v = fv_ox_in(c, n, i);
    if (!v)
        return fv_ox_err(c, n, FV_ERR_INVALID, "input %d is missing", i);
    if (v->kind == OX_GONE)
        return fv_ox_err(c, n, FV_ERR_INVALID, "input %d: %s", i, v->why);
    if (v->kind != OX_NODE)
        return fv_ox_err(c, n, FV_ERR_INVALID, "input %d is a constant where fovea needs the "
                         "output of a layer (a computation on constants only, or an op fovea "
                         "lacks)", i);
    *node = v->node;
    return FV_OK;
}

fv_status fv_ox_set_val(ox_ctx *c, const ox_node *n, int i, const ox_val *v)
{
    if (i >= n->nout || !*n->out[i])
        return FV_OK;
    ox_val *o = fv_ox_val(c, n->out[i], false);
    FV_CHECK(o);
    o->kind = v->kind, o->t = v->t, o->node = v->node, o->why = v->why;
    return FV_OK;
}

fv_status fv_ox_set_node(ox_ctx *c, const ox_node *n, int i, int id)
{
    if (id < 0)
        return fv_ox_layer_err(c, n);
    ox_val v = {.kind = OX_NODE, .node = id};
    return fv_ox_set_val(c, n, i, &v);
}

fv_status fv_ox_layer_err(ox_ctx *c, const ox_node *n)
{
    char why[400];
    snprintf(why, sizeof why, "%s", fv_last_error());
    return fv_ox_err(c, n, fv_last_status() ? fv_last_status() : FV_ERR_INVALID, "%s", why);
}

int fv_ox_node_shape(const ox_ctx *c, int id, int64_t *dims)
{
    int r = fv_node_shape(c->m, id, dims + 1);
    dims[0] = OX_BATCH;
    return r + 1;
}

fv_status fv_ox_preset(ox_ctx *c, const ox_node *n, int id, int k, const float *v, int64_t numel)
{
    const fv_node *node = &c->m->nodes[id];
    FV_CHECK(k < node->nparam);
    const fv_param *p = &c->m->params[node->param[k]];
    if (p->numel != numel)
        return fv_ox_err(c, n, FV_ERR_SHAPE, "parameter '%s' needs %lld values, the model gives "
                         "%lld", p->name, (long long)p->numel, (long long)numel);
    return fv_param_preset(c->m, node->param[k], v);
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '.' || ch == '/' || ch == '-' || ch == ':';
}

const char *fv_ox_layer_name(ox_ctx *c, const ox_node *n, const char *suffix)
{
    const char *s = n->name;
    size_t len = strlen(s), sl = suffix ? strlen(suffix) : 0;
    if (!len || len + sl >= FV_NAME_LEN - 1)
        return NULL;
    for (size_t k = 0; k < len; k++)
        if (!name_char(s[k]))
            return NULL;
    while (*s == '/') /* PyTorch's "/conv1/Conv": a leading '/' would look like a path */
        s++, len--;
    char *r = fv_ox_alloc(c, len + sl + 1);
    if (!r || !len)
        return NULL;
    snprintf(r, len + sl + 1, "%s%s", s, suffix ? suffix : "");
    return fv_model_find_node(c->m, r) >= 0 ? NULL : r;
}

fv_status fv_ox_reshape(ox_ctx *c, const ox_node *n, int in, int ndim, const int64_t *dims,
                        int *out)
{
    int64_t cur[OX_MAXR];
    int r = fv_node_shape(c->m, in, cur);
    if (r == ndim && memcmp(cur, dims, sizeof(int64_t) * (size_t)r) == 0) {
        *out = in;
        return FV_OK;
    }
    if (ndim < 1 || ndim > 4)
        return fv_ox_err(c, n, FV_ERR_INVALID, "a result of %d axes per sample (fovea's "
                         "layers have 1 to 4 besides the batch)", ndim);
    fv_reshape_args a = {.ndim = ndim, .name = fv_ox_layer_name(c, n, NULL)};
    memcpy(a.dims, dims, sizeof(int64_t) * (size_t)ndim);
    *out = fv_reshape_(c->m, in, a);
    return *out < 0 ? fv_ox_layer_err(c, n) : FV_OK;
}

fv_status fv_ox_permute(ox_ctx *c, const ox_node *n, int in, int ndim, const int *perm, int *out)
{
    bool same = true;
    for (int k = 0; k < ndim; k++)
        same &= perm[k] == k;
    *out = in;
    if (same)
        return FV_OK;
    int form;
    const fv_schema *sc = fv_schema_find("permute", &form);
    FV_CHECK(sc);
    fv_spec s;
    memset(&s, 0, sizeof s);
    s.form = sc->forms[form].value;
    s.name = fv_ox_layer_name(c, n, "_permute");
    s.a.reshape.ndim = ndim;
    for (int k = 0; k < ndim; k++)
        s.a.reshape.dims[k] = perm[k] + 1; /* Keras counts from 1 */
    *out = fv_layer_add(c->m, sc, &in, 1, &s);
    return *out < 0 ? fv_ox_layer_err(c, n) : FV_OK;
}

/* ---------------------------------------------------------------- activations */

static fv_status op_act(ox_ctx *c, const ox_node *n)
{
    const char *op = n->op;
    int in;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    fv_layer_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    fv_act act;
    if (strcmp(op, "Relu") == 0) {
        act = FV_ACT_RELU;
    } else if (strcmp(op, "Sigmoid") == 0) {
        act = FV_ACT_SIGMOID;
    } else if (strcmp(op, "Tanh") == 0) {
        act = FV_ACT_TANH;
    } else if (strcmp(op, "LeakyRelu") == 0 || strcmp(op, "Elu") == 0) {
        bool leaky = op[0] == 'L';
        a.alpha = fv_ox_attr_f(n, "alpha", leaky ? 0.01f : 1.0f);
        act = leaky ? FV_ACT_LEAKY_RELU : FV_ACT_ELU;
        if (a.alpha == 0) /* 0 is the layer's "default": both are ReLU then */
            act = FV_ACT_RELU;
        if (!isfinite(a.alpha))
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'alpha' is not finite");
    } else if (strcmp(op, "Selu") == 0 || strcmp(op, "HardSigmoid") == 0) {
        bool selu = op[0] == 'S';
        a.alpha = fv_ox_attr_f(n, "alpha", selu ? 1.67326319217681884765625f : 0.2f);
        a.beta = fv_ox_attr_f(n, selu ? "gamma" : "beta", selu ? 1.05070102214813232421875f
                                                               : 0.5f);
        if (a.alpha == 0 || a.beta == 0 || !isfinite(a.alpha) || !isfinite(a.beta))
            return fv_ox_err(c, n, FV_ERR_INVALID, "attributes alpha=%g %s=%g: fovea takes "
                             "finite values other than 0", (double)a.alpha,
                             selu ? "gamma" : "beta", (double)a.beta);
        act = selu ? FV_ACT_SELU : FV_ACT_HARD_SIGMOID;
    } else {
        act = FV_ACT_HARD_SWISH;
    }
    return fv_ox_set_node(c, n, 0, fv_activation_(c->m, in, act, a));
}

/* Softmax and LogSoftmax: over the last axis of a sample as fovea computes them, the axis moved
 * there (opset 13) or the trailing axes flattened into it (before 13) and back. */
static fv_status op_softmax(ox_ctx *c, const ox_node *n)
{
    int in, id;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    fv_act act = n->op[0] == 'L' ? FV_ACT_LOG_SOFTMAX : FV_ACT_SOFTMAX;
    int64_t dims[OX_MAXR + 1];
    int r = fv_ox_node_shape(c, in, dims);
    int64_t axis = fv_ox_attr_i(n, "axis", n->opset >= 13 ? -1 : 1);
    if (axis < -r || axis >= r)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'axis' = %lld for rank %d",
                         (long long)axis, r);
    int ax = (int)(axis < 0 ? axis + r : axis);
    if (ax == 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'axis' = %lld: a softmax over the "
                         "batch axis (fovea's layers work on each sample)", (long long)axis);
    fv_layer_args a = {.name = fv_ox_layer_name(c, n, NULL)};
    if (ax == r - 1)
        return fv_ox_set_node(c, n, 0, fv_activation_(c->m, in, act, a));
    if (n->opset < 13) { /* over the flattened axes ax.. of each sample */
        int64_t two[2] = {1, 1};
        for (int k = 1; k < r; k++)
            two[k >= ax] *= dims[k];
        int flat;
        FV_TRY(fv_ox_reshape(c, n, in, 2, two, &flat));
        a.name = NULL;
        id = fv_activation_(c->m, flat, act, a);
        if (id < 0)
            return fv_ox_layer_err(c, n);
        FV_TRY(fv_ox_reshape(c, n, id, r - 1, dims + 1, &id));
        return fv_ox_set_node(c, n, 0, id);
    }
    int perm[4], back[4], s = r - 1; /* sample axes; ax - 1 moves last */
    for (int k = 0, j = 0; k < s; k++)
        if (k != ax - 1)
            perm[j++] = k;
    perm[s - 1] = ax - 1;
    for (int k = 0; k < s; k++)
        back[perm[k]] = k;
    FV_TRY(fv_ox_permute(c, n, in, s, perm, &id));
    a.name = NULL;
    id = fv_activation_(c->m, id, act, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_permute(c, n, id, s, back, &id));
    return fv_ox_set_node(c, n, 0, id);
}

/* ---------------------------------------------------------------- convolutions */

/* Strides or dilations per axis (1 when absent), positive. */
static fv_status pair_attr(ox_ctx *c, const ox_node *n, const char *name, bool one_d, int *out)
{
    int64_t v[2];
    if (fv_ox_attr_hw(c, n, name, one_d, 1, 1, v) < 0)
        return fv_last_status();
    for (int a = 0; a < 2; a++) {
        if (v[a] < 1 || v[a] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute '%s': %lld", name,
                             (long long)v[a]);
        out[a] = (int)v[a];
    }
    return FV_OK;
}

/* Strides and dilations of a convolution: fovea's are one value for both axes (a 1-D op's
 * height takes any). */
static fv_status square_attr(ox_ctx *c, const ox_node *n, const char *name, bool one_d,
                             int *out)
{
    int v[2] = {1, 1};
    FV_TRY(pair_attr(c, n, name, one_d, v));
    if (v[0] != v[1] && !one_d)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute '%s' (%d, %d): fovea's convolution "
                         "takes equal values", name, v[0], v[1]);
    *out = v[1];
    return FV_OK;
}

/* pads (top, left, bottom, right) from the attributes: pads, or auto_pad's SAME_UPPER /
 * SAME_LOWER for input extent in, kernel k, stride s, dilation d (transposed: the output's). */
static fv_status conv_pads(ox_ctx *c, const ox_node *n, const int64_t *in, const int64_t *k,
                           const int *st, const int *dl, bool one_d, bool transposed,
                           int64_t *pads)
{
    const char *ap = fv_ox_attr_s(n, "auto_pad", "NOTSET");
    memset(pads, 0, 4 * sizeof *pads);
    if (strcmp(ap, "NOTSET") == 0 || !*ap) {
        if (fv_ox_attr_hw(c, n, "pads", one_d, 0, 0, pads) < 0)
            return fv_last_status();
    } else if (strcmp(ap, "SAME_UPPER") == 0 || strcmp(ap, "SAME_LOWER") == 0) {
        for (int a = 0; a < 2; a++) {
            int64_t s = st[a], d = dl[a], span = (k[a] - 1) * d + 1, total;
            if (transposed)
                total = s * (in[a] - 1) + span - in[a] * s;
            else
                total = ((in[a] + s - 1) / s - 1) * s + span - in[a];
            total = total > 0 ? total : 0;
            int64_t small = total / 2, big = total - small;
            bool upper = ap[5] == 'U';
            pads[a] = transposed ? (upper ? small : big) : (upper ? small : big);
            pads[a + 2] = total - pads[a];
        }
    } else if (strcmp(ap, "VALID") != 0) {
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'auto_pad' = '%s'", ap);
    }
    for (int a = 0; a < 4; a++)
        if (pads[a] < 0 || pads[a] > 1 << 20)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'pads': %lld", (long long)pads[a]);
    return FV_OK;
}

/* The (C, H, W) operand of a 2-D op, its spatial extent in hw; a 1-D operand (N, C, L) is
 * reshaped to (C, 1, L) (*one_d set; the op's 1-D attributes read as a height of 1). */
static fv_status image_in(ox_ctx *c, const ox_node *n, int *in, int64_t *hw, int64_t *ch,
                          bool *one_d)
{
    hw[0] = hw[1] = 0;
    *one_d = false;
    if (ch)
        *ch = 0;
    FV_TRY(fv_ox_in_node(c, n, 0, in));
    int64_t dims[OX_MAXR + 1];
    int r = fv_ox_node_shape(c, *in, dims);
    if (r != 4 && r != 3)
        return fv_ox_err(c, n, FV_ERR_INVALID, "an input of rank %d: fovea's %s is 1-D or 2-D "
                         "(rank 3 or 4)", r, n->op);
    if (r == 3) {
        int64_t chw[3] = {dims[1], 1, dims[2]};
        FV_TRY(fv_ox_reshape(c, n, *in, 3, chw, in));
        dims[3] = dims[2], dims[2] = 1;
        *one_d = true;
    }
    hw[0] = dims[2], hw[1] = dims[3];
    if (ch)
        *ch = dims[1];
    return FV_OK;
}

fv_status fv_ox_image_in(ox_ctx *c, const ox_node *n, int *in, int64_t *hw, int64_t *ch,
                         bool *one_d)
{
    return image_in(c, n, in, hw, ch, one_d);
}

/* An INTS attribute of a 2-D op into v[2] (v[2..4) too for pads: 4 values), a 1-D op's values
 * widened with `unit` for the height; def when absent. The count read (2 or 4), or -1. */
int fv_ox_attr_hw(ox_ctx *c, const ox_node *n, const char *name, bool one_d, int64_t unit,
                  int64_t def, int64_t *v)
{
    int64_t raw[OX_MAXR];
    int want = strcmp(name, "pads") == 0 ? 4 : 2;
    int k = fv_ox_attr_ints(c, n, name, raw, OX_MAXR);
    if (k < 0)
        return -1;
    for (int j = 0; j < want; j++)
        v[j] = def;
    if (!k)
        return 0;
    if (k != (one_d ? want / 2 : want)) {
        fv_ox_err(c, n, FV_ERR_INVALID, "attribute '%s' has %d values (%d for a %d-D op)", name,
                  k, one_d ? want / 2 : want, one_d ? 1 : 2);
        return -1;
    }
    for (int j = 0; j < want; j++)
        v[j] = !one_d ? raw[j] : j % 2 == 0 ? unit : raw[j / 2];
    return want;
}

/* Back to (F, L) after a 1-D op ran as 2-D on (C, 1, L). */
fv_status fv_ox_image_out(ox_ctx *c, const ox_node *n, int id, bool one_d, int *out)
{
    *out = id;
    if (!one_d || id < 0)
        return FV_OK;
    int64_t d[3];
    fv_node_shape(c->m, id, d);
    int64_t fl[2] = {d[0], d[2]};
    return fv_ox_reshape(c, n, id, 2, fl, out);
}

/* A bias input (k) of `units` values, or none. */
static fv_status bias_in(ox_ctx *c, const ox_node *n, int k, int64_t units, const float **b)
{
    *b = NULL;
    if (!fv_ox_in(c, n, k))
        return FV_OK;
    ox_tensor *t;
    FV_TRY(fv_ox_in_const(c, n, k, "bias", &t));
    if (t->isint || t->numel != units)
        return fv_ox_err(c, n, FV_ERR_SHAPE, "the bias has %lld values for %lld outputs",
                         (long long)t->numel, (long long)units);
    *b = t->f;
    return FV_OK;
}

/* The weight, of rank 4 (rank 3 for a 1-D op: its kernel dims[2..4) read as (1, k)). */
static fv_status weight_in(ox_ctx *c, const ox_node *n, bool one_d, ox_tensor **w, int64_t *k)
{
    *w = NULL;
    FV_TRY(fv_ox_in_const(c, n, 1, "weight", w));
    int want = one_d ? 3 : 4;
    if ((*w)->isint || (*w)->ndim != want)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the weight must be a float tensor of rank %d "
                         "(a %d-D op), got rank %d", want, want - 2, (*w)->ndim);
    k[0] = one_d ? 1 : (*w)->dims[2], k[1] = (*w)->dims[want - 1];
    int64_t ks[OX_MAXR];
    int nk = fv_ox_attr_ints(c, n, "kernel_shape", ks, OX_MAXR);
    if (nk < 0)
        return fv_last_status();
    for (int j = 0; j < nk; j++)
        if (nk != want - 2 || ks[j] != (*w)->dims[2 + j])
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'kernel_shape' differs from the "
                             "weight's");
    return FV_OK;
}

static fv_status op_conv(ox_ctx *c, const ox_node *n)
{
    int in, s, d, id;
    int64_t hw[2], ch, pads[4], k[2];
    ox_tensor *w;
    bool one_d;
    FV_TRY(image_in(c, n, &in, hw, &ch, &one_d));
    FV_TRY(weight_in(c, n, one_d, &w, k));
    FV_TRY(square_attr(c, n, "strides", one_d, &s));
    FV_TRY(square_attr(c, n, "dilations", one_d, &d));
    int ss[2] = {s, s}, dd[2] = {d, d};
    FV_TRY(conv_pads(c, n, hw, k, ss, dd, one_d, false, pads));
    int64_t g = fv_ox_attr_i(n, "group", 1);
    if (g < 1 || g > ch || w->dims[0] > 1 << 24)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'group' = %lld", (long long)g);
    const float *b;
    FV_TRY(bias_in(c, n, 2, w->dims[0], &b));
    int pad = (int)pads[0];
    if (pads[0] != pads[1] || pads[0] != pads[2] || pads[0] != pads[3]) {
        fv_pad_args pa = {.top = (int)pads[0], .left = (int)pads[1], .bottom = (int)pads[2],
                          .right = (int)pads[3], .name = fv_ox_layer_name(c, n, "_pad")};
        if ((in = fv_zero_padding2d_(c->m, in, pa)) < 0)
            return fv_ox_layer_err(c, n);
        pad = 0;
    }
    fv_conv2d_args a = {.filters = (int)w->dims[0], .kernel_h = (int)k[0],
                        .kernel_w = (int)k[1], .stride = s, .padding = pad,
                        .dilation = d, .groups = (int)g, .no_bias = !b,
                        .name = fv_ox_layer_name(c, n, NULL)};
    if ((id = fv_conv2d_(c->m, in, a)) < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_preset(c, n, id, 0, w->f, w->numel));
    if (b)
        FV_TRY(fv_ox_preset(c, n, id, 1, b, w->dims[0]));
    FV_TRY(fv_ox_image_out(c, n, id, one_d, &id));
    return fv_ox_set_node(c, n, 0, id);
}

/* ConvTranspose: strides and output padding per axis; asymmetric pads as a cropping after the
 * layer; output_shape as the pads it implies. */
static fv_status op_conv_transpose(ox_ctx *c, const ox_node *n)
{
    int in, st[2], dl[2], id;
    int64_t hw[2], ch, pads[4], op[4], os[2], k[2];
    ox_tensor *w;
    bool one_d;
    FV_TRY(image_in(c, n, &in, hw, &ch, &one_d));
    FV_TRY(weight_in(c, n, one_d, &w, k));
    FV_TRY(pair_attr(c, n, "strides", one_d, st));
    FV_TRY(square_attr(c, n, "dilations", one_d, &dl[0]));
    dl[1] = dl[0];
    int64_t g = fv_ox_attr_i(n, "group", 1);
    if (g < 1 || g > ch || w->dims[1] * g > 1 << 24)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'group' = %lld", (long long)g);
    if (fv_ox_attr_hw(c, n, "output_padding", one_d, 0, 0, op) < 0)
        return fv_last_status();
    int nos = fv_ox_attr_hw(c, n, "output_shape", one_d, 1, 0, os);
    if (nos < 0)
        return fv_last_status();
    if (nos) { /* the pads that give this output, split as the spec says */
        bool upper = strcmp(fv_ox_attr_s(n, "auto_pad", ""), "SAME_UPPER") == 0;
        for (int a = 0; a < 2; a++) {
            int64_t total = st[a] * (hw[a] - 1) + op[a] + (k[a] - 1) * dl[a] + 1 - os[a];
            if (total < 0) /* larger than the layer makes: output padding at the end */
                op[a] -= total, total = 0;
            pads[a] = upper ? total / 2 : total - total / 2;
            pads[a + 2] = total - pads[a];
        }
    } else {
        FV_TRY(conv_pads(c, n, hw, k, st, dl, one_d, true, pads));
    }
    for (int a = 0; a < 2; a++)
        if (op[a] < 0 || (op[a] >= st[a] && op[a] >= dl[a]))
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'output_padding': %lld is not "
                             "below the stride or the dilation", (long long)op[a]);
    int64_t filters = w->dims[1] * g;
    const float *b;
    FV_TRY(bias_in(c, n, 2, filters, &b));
    bool sym = pads[0] == pads[1] && pads[0] == pads[2] && pads[0] == pads[3];
    fv_conv2d_transpose_args a = {.filters = (int)filters, .kernel_h = (int)k[0],
                                  .kernel_w = (int)k[1], .stride_h = st[0], .stride_w = st[1],
                                  .padding = sym ? (int)pads[0] : 0,
                                  .output_padding_h = (int)op[0],
                                  .output_padding_w = (int)op[1], .dilation = dl[0],
                                  .groups = (int)g, .no_bias = !b,
                                  .name = fv_ox_layer_name(c, n, NULL)};
    if ((id = fv_conv2d_transpose_(c->m, in, a)) < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_preset(c, n, id, 0, w->f, w->numel));
    if (b)
        FV_TRY(fv_ox_preset(c, n, id, 1, b, filters));
    if (!sym) {
        fv_pad_args pa = {.top = (int)pads[0], .left = (int)pads[1], .bottom = (int)pads[2],
                          .right = (int)pads[3], .name = fv_ox_layer_name(c, n, "_crop")};
        id = fv_cropping2d_(c->m, id, pa);
    }
    FV_TRY(fv_ox_image_out(c, n, id, one_d, &id));
    return fv_ox_set_node(c, n, 0, id);
}

/* ---------------------------------------------------------------- dense */

/* A dense layer on node `in` (one axis per sample, k features) of weight w (units, k; the
 * caller's copy, scaled in place by alpha) and bias b (units values or NULL) scaled by beta. */
static fv_status dense(ox_ctx *c, const ox_node *n, int in, float *w, int64_t units,
                       int64_t k, float alpha, const float *b, float beta)
{
    int64_t dims[OX_MAXR + 1];
    if (fv_ox_node_shape(c, in, dims) != 2 || dims[1] != k)
        return fv_ox_err(c, n, FV_ERR_SHAPE, "fovea's dense layer takes a (batch, %lld) "
                         "operand", (long long)k);
    if (units < 1 || units > 1 << 24)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%lld output units", (long long)units);
    float *wt = w, *bt = fv_ox_alloc(c, sizeof(float) * (size_t)units);
    if (!bt)
        return FV_ERR_NOMEM;
    for (int64_t j = 0; alpha != 1 && j < units * k; j++)
        wt[j] = alpha * w[j];
    for (int64_t j = 0; b && j < units; j++)
        bt[j] = beta * b[j];
    fv_dense_args a = {.units = (int)units, .no_bias = !b, .name = fv_ox_layer_name(c, n, NULL)};
    int id = fv_dense_(c->m, in, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(fv_ox_preset(c, n, id, 0, wt, units * k));
    if (b)
        FV_TRY(fv_ox_preset(c, n, id, 1, bt, units));
    return fv_ox_set_node(c, n, 0, id);
}

/* A (rows, cols) float constant transposed, or copied. */
static float *matrix(ox_ctx *c, const ox_tensor *t, bool transpose)
{
    int64_t r = t->dims[0], q = t->dims[1];
    float *m = fv_ox_alloc(c, sizeof(float) * (size_t)t->numel);
    for (int64_t i = 0; m && i < r; i++)
        for (int64_t j = 0; j < q; j++)
            m[transpose ? j * r + i : i * q + j] = t->f[i * q + j];
    return m;
}

static fv_status op_gemm(ox_ctx *c, const ox_node *n)
{
    int in;
    ox_tensor *bm, *cm = NULL;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    if (fv_ox_attr_i(n, "transA", 0))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'transA' = 1: a transposed operand "
                         "moves the batch axis");
    FV_TRY(fv_ox_in_const(c, n, 1, "B operand", &bm));
    if (bm->isint || bm->ndim != 2)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the B operand must be a float matrix");
    bool tb = fv_ox_attr_i(n, "transB", 0) != 0;
    int64_t units = tb ? bm->dims[0] : bm->dims[1], k = tb ? bm->dims[1] : bm->dims[0];
    const float *bias = NULL;
    if (fv_ox_in(c, n, 2)) {
        FV_TRY(fv_ox_in_const(c, n, 2, "C operand", &cm));
        bool row = cm->ndim == 0 || (cm->ndim == 1 && (cm->dims[0] == units || cm->dims[0] == 1))
                   || (cm->ndim == 2 && cm->dims[0] == 1 && (cm->dims[1] == units ||
                                                              cm->dims[1] == 1));
        if (cm->isint || !row)
            return fv_ox_err(c, n, FV_ERR_INVALID, "the C operand must be one bias row (a "
                             "matrix spans the batch axis: fovea's constants are the same for "
                             "every sample)");
        float *b = fv_ox_alloc(c, sizeof(float) * (size_t)units);
        if (!b)
            return FV_ERR_NOMEM;
        for (int64_t j = 0; j < units; j++)
            b[j] = cm->numel == 1 ? cm->f[0] : cm->f[j];
        bias = b;
    }
    float *w = matrix(c, bm, !tb);
    if (!w)
        return FV_ERR_NOMEM;
    return dense(c, n, in, w, units, k, fv_ox_attr_f(n, "alpha", 1), bias,
                 fv_ox_attr_f(n, "beta", 1));
}

static fv_status op_matmul(ox_ctx *c, const ox_node *n)
{
    int in;
    ox_tensor *bm, *bt = NULL;
    FV_TRY(fv_ox_in_node(c, n, 0, &in));
    FV_TRY(fv_ox_in_const(c, n, 1, "right operand", &bm));
    if (bm->isint || bm->ndim != 2)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the right operand must be a float matrix (a "
                         "batched one spans the batch axis: fovea's constants are the same for "
                         "every sample)");
    if (n->fused_bias) {
        ox_val *v = fv_ox_val(c, n->fused_bias, false);
        bt = v && v->kind == OX_CONST ? &v->t : NULL;
        FV_CHECK(bt && bt->numel == bm->dims[1]);
    }
    float *w = matrix(c, bm, true);
    if (!w)
        return FV_ERR_NOMEM;
    return dense(c, n, in, w, bm->dims[1], bm->dims[0], 1, bt ? bt->f : NULL, 1);
}

/* ---------------------------------------------------------------- dispatch */

static const fv_ox_op table[] = {
    {"Relu", op_act}, {"Sigmoid", op_act}, {"Tanh", op_act}, {"LeakyRelu", op_act},
    {"Elu", op_act}, {"Selu", op_act}, {"HardSigmoid", op_act}, {"HardSwish", op_act},
    {"Softmax", op_softmax}, {"LogSoftmax", op_softmax}, {"Conv", op_conv},
    {"ConvTranspose", op_conv_transpose}, {"Gemm", op_gemm}, {"MatMul", op_matmul},
    {NULL, NULL},
};

fv_status fv_ox_map(ox_ctx *c, const ox_node *n)
{
    if (*n->domain && strcmp(n->domain, "ai.onnx") != 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "domain '%s' is not supported", n->domain);
    if (n->opset < OX_OPSET_MIN || n->opset > OX_OPSET_MAX)
        return fv_ox_err(c, n, FV_ERR_INVALID, "opset %d is not supported (%d to %d are)",
                         n->opset, OX_OPSET_MIN, OX_OPSET_MAX);
    bool done;
    FV_TRY(fv_ox_fold(c, n, &done));
    if (done)
        return FV_OK;
    static const fv_ox_op *const tables[] = {table, fv_ox_ops2, fv_ox_ops3, fv_ox_ops_arith,
                                             fv_ox_ops_rnn};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
        for (const fv_ox_op *e = tables[t]; e->op; e++)
            if (strcmp(n->op, e->op) == 0)
                return e->fn(c, n);
    return fv_ox_err(c, n, FV_ERR_INVALID, "op %s is not supported on a layer's output",
                     n->op);
}
