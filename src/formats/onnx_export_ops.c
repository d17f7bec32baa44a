/* onnx_export_ops.c - each fovea op as ONNX nodes (opsets 13 to 17), for onnx_export.c. The
 * mapping table is docs/DESIGN.md's "ONNX export". Where ONNX has the op with fovea's meaning it
 * is one node; otherwise a decomposition that computes the same values (GELU through Erf, group
 * norm through ReduceMean, adaptive pooling through MatMul with averaging matrices, LP pooling
 * of odd or fractional powers through Pow and a ones convolution, PyTorch's ceil-mode windows
 * as end padding). What no opset of the range expresses (fractional max pooling, max unpooling,
 * LRN with an even window) is an error naming the layer and the op. */
#include "formats/onnx_export.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

static fv_status unsupported(fv_oxw_graph *g, const fv_node *n, const char *why)
{
    return fv_err(FV_ERR_INVALID, "cannot export model '%s' to ONNX (opset %d): layer '%s' (%s): "
                  "%s", g->m->name, g->opset, n->name, fv_op_table[n->op]->name, why);
}

static const fv_node *input_of(fv_oxw_graph *g, const fv_node *n, int k)
{
    return &g->m->nodes[n->in[k]];
}

/* Parameter k of node n as an initializer of its own shape, or of shape dims[0..ndim) (the same
 * values: a broadcastable view). */
static const char *param(fv_oxw_graph *g, const fv_node *n, int k)
{
    const fv_param *p = &g->m->params[n->param[k]];
    return fv_oxw_init_f32(g, p->name, p->ndim, p->dims, fv_pdata(g->m, n, k));
}

static const char *param_as(fv_oxw_graph *g, const fv_node *n, int k, int ndim, const int64_t *dims)
{
    const fv_param *p = &g->m->params[n->param[k]];
    return fv_oxw_init_f32(g, p->name, ndim, dims, fv_pdata(g->m, n, k));
}

/* (count, 1, 1, ...) of rank ndim: a per-channel vector broadcast over a sample's other axes. */
static int channel_dims(int64_t count, int ndim, int64_t *dims)
{
    dims[0] = count;
    for (int i = 1; i < ndim; i++)
        dims[i] = 1;
    return ndim;
}

static const char *i64s(fv_oxw_graph *g, const fv_node *n, const char *what, int count,
                        const int64_t *v)
{
    return fv_oxw_init_i64(g, fv_oxw_tmp(g, n->name, what), count, v);
}

static const char *scalar(fv_oxw_graph *g, const fv_node *n, const char *what, float v)
{
    return fv_oxw_init_scalar(g, fv_oxw_tmp(g, n->name, what), v);
}

/* A float32 constant over tracked memory (filled by the caller through *data). */
static const char *f32_const(fv_oxw_graph *g, const fv_node *n, const char *what, int ndim,
                             const int64_t *dims, float **data)
{
    int64_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= dims[i];
    *data = fv_oxw_alloc(g, sizeof(float) * (size_t)count);
    return *data ? fv_oxw_init_f32(g, fv_oxw_tmp(g, n->name, what), ndim, dims, *data) : "";
}

/* A fresh value for the step `what` of node n's decomposition. */
static const char *tmp(fv_oxw_graph *g, const fv_node *n, const char *what)
{
    return fv_oxw_tmp(g, n->name, what);
}

/* ---------------------------------------------------------------- convolutions and dense */

static fv_status emit_conv(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_conv_attr *a = &n->a.conv;
    int transpose = n->op == FV_OP_CONV2D_TRANSPOSE;
    const char *in[3] = {x, param(g, n, 0), a->bias ? param(g, n, 1) : ""};
    FvOnnx__NodeProto *c =
        fv_oxw_node(g, transpose ? "ConvTranspose" : "Conv", n->name, a->bias ? 3 : 2, in, 1, &out);
    fv_oxw_attr_ints(g, c, "kernel_shape", 2, (int64_t[]){a->kh, a->kw});
    fv_oxw_attr_ints(g, c, "strides", 2, (int64_t[]){a->sh, a->sw});
    fv_oxw_attr_ints(g, c, "pads", 4, (int64_t[]){a->ph, a->pw, a->ph, a->pw});
    fv_oxw_attr_ints(g, c, "dilations", 2, (int64_t[]){a->dh, a->dw});
    fv_oxw_attr_int(g, c, "group", a->groups);
    if (transpose && (n->a.convt.oph || n->a.convt.opw))
        fv_oxw_attr_ints(g, c, "output_padding", 2, (int64_t[]){n->a.convt.oph, n->a.convt.opw});
    return g->status;
}

static fv_status emit_dense(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    if (n->a.dense.per_step) /* Gemm would flatten the steps */
        return unsupported(g, n, "a per-step (time-distributed) dense layer is not exported");
    if (input_of(g, n, 0)->ndim != 1) { /* Gemm takes (N, K) */
        const char *f = tmp(g, n, "flat");
        fv_oxw_attr_int(g, fv_oxw_node1(g, "Flatten", tmp(g, n, "Flatten"), x, f), "axis", 1);
        x = f;
    }
    const char *in[3] = {x, param(g, n, 0), n->a.dense.bias ? param(g, n, 1) : ""};
    FvOnnx__NodeProto *gemm = fv_oxw_node(g, "Gemm", n->name, n->a.dense.bias ? 3 : 2, in, 1, &out);
    fv_oxw_attr_int(g, gemm, "transB", 1);
    return g->status;
}

/* ---------------------------------------------------------------- pooling */

/* The end padding that makes floor-mode windows of ONNX give PyTorch's ceil-mode output count
 * out over in cells: (out - 1) s + k - (in + 2 p), at least 0. */
static int64_t ceil_extra(int64_t in, int64_t out, int k, int s, int p)
{
    int64_t e = (out - 1) * s + k - (in + 2 * (int64_t)p);
    return e > 0 ? e : 0;
}

static fv_status emit_pool(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_pool_attr *a = &n->a.pool;
    const fv_node *in = input_of(g, n, 0);
    int avg = n->op == FV_OP_AVGPOOL2D, ceil_mode = a->ceil_mode;
    int64_t pads[4] = {a->ph, a->pw, a->ph, a->pw};
    /* Max pooling ignores padding and average pooling without count_include_pad leaves it out
     * of the divisor: there, PyTorch's partial last windows are exactly windows over extra end
     * padding. Average pooling that counts padding keeps ONNX's ceil_mode (PyTorch's divisor
     * stops at the input plus its padding, as ONNX Runtime's does). */
    if (ceil_mode && (!avg || a->exclude_pad)) {
        pads[2] += ceil_extra(in->dims[1], n->dims[1], a->kh, a->sh, a->ph);
        pads[3] += ceil_extra(in->dims[2], n->dims[2], a->kw, a->sw, a->pw);
        ceil_mode = 0;
    }
    FvOnnx__NodeProto *p = fv_oxw_node1(g, avg ? "AveragePool" : "MaxPool", n->name, x, out);
    fv_oxw_attr_ints(g, p, "kernel_shape", 2, (int64_t[]){a->kh, a->kw});
    fv_oxw_attr_ints(g, p, "strides", 2, (int64_t[]){a->sh, a->sw});
    fv_oxw_attr_ints(g, p, "pads", 4, pads);
    if (ceil_mode)
        fv_oxw_attr_int(g, p, "ceil_mode", 1);
    if (avg)
        fv_oxw_attr_int(g, p, "count_include_pad", !a->exclude_pad);
    return g->status;
}

/* (sum x^p)^(1/p) over each window. LpPool sums |x|^p: the same for an even integer p, and it
 * has no ceil mode before opset 18; otherwise Pow, a convolution with ones per channel (the
 * partial windows of ceil mode as zero end padding), and Pow again. */
static fv_status emit_lppool(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_pool_attr *a = &n->a.pool;
    const fv_node *in = input_of(g, n, 0);
    double p = a->power;
    if (!a->ceil_mode && p == floor(p) && fmod(p, 2) == 0 && p <= 1e9) {
        FvOnnx__NodeProto *l = fv_oxw_node1(g, "LpPool", n->name, x, out);
        fv_oxw_attr_ints(g, l, "kernel_shape", 2, (int64_t[]){a->kh, a->kw});
        fv_oxw_attr_ints(g, l, "strides", 2, (int64_t[]){a->sh, a->sw});
        fv_oxw_attr_int(g, l, "p", (int64_t)p);
        return g->status;
    }
    int64_t c = in->dims[0], wd[4] = {c, 1, a->kh, a->kw};
    float *ones;
    const char *w = f32_const(g, n, "ones", 4, wd, &ones);
    for (int64_t i = 0; ones && i < c * a->kh * a->kw; i++)
        ones[i] = 1;
    const char *xp = tmp(g, n, "pow"), *sum = tmp(g, n, "sum");
    fv_oxw_node2(g, "Pow", tmp(g, n, "Pow"), x, scalar(g, n, "p", a->power), xp);
    FvOnnx__NodeProto *cv = fv_oxw_node2(g, "Conv", tmp(g, n, "Conv"), xp, w, sum);
    int64_t eh = a->ceil_mode ? ceil_extra(in->dims[1], n->dims[1], a->kh, a->sh, 0) : 0;
    int64_t ew = a->ceil_mode ? ceil_extra(in->dims[2], n->dims[2], a->kw, a->sw, 0) : 0;
    fv_oxw_attr_ints(g, cv, "kernel_shape", 2, (int64_t[]){a->kh, a->kw});
    fv_oxw_attr_ints(g, cv, "strides", 2, (int64_t[]){a->sh, a->sw});
    fv_oxw_attr_ints(g, cv, "pads", 4, (int64_t[]){0, 0, eh, ew});
    fv_oxw_attr_int(g, cv, "group", c);
    fv_oxw_node2(g, "Pow", n->name, sum, scalar(g, n, "inv_p", (float)(1.0 / p)), out);
    return g->status;
}

/* Global pooling: (N, C, 1, 1) flattened to fovea's (N, C). */
static fv_status emit_global(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const char *t = tmp(g, n, "pooled");
    const char *op = n->op == FV_OP_GLOBAL_AVGPOOL ? "GlobalAveragePool" : "GlobalMaxPool";
    fv_oxw_node1(g, op, n->name, x, t);
    fv_oxw_attr_int(g, fv_oxw_node1(g, "Flatten", tmp(g, n, "Flatten"), t, out), "axis", 1);
    return g->status;
}

/* The averaging matrix of adaptive pooling along one axis: (len, cells) with column j holding
 * 1 / |region j| over region j (PyTorch's regions: floor(j len / cells) to ceil((j + 1) len /
 * cells)), or its transpose (cells, len). */
static const char *adaptive_matrix(fv_oxw_graph *g, const fv_node *n, const char *what, int len,
                                   int cells, int transpose)
{
    int64_t dims[2] = {transpose ? cells : len, transpose ? len : cells};
    float *w;
    const char *name = f32_const(g, n, what, 2, dims, &w);
    for (int j = 0; w && j < cells; j++) {
        int lo = (int)((int64_t)j * len / cells);
        int hi = (int)(((int64_t)(j + 1) * len + cells - 1) / cells);
        for (int i = lo; i < hi; i++)
            w[transpose ? (int64_t)j * len + i : (int64_t)i * cells + j] = 1.0f / (float)(hi - lo);
    }
    return name;
}

/* Adaptive average pooling: AveragePool where the regions tile the input evenly; otherwise
 * x Pw (rows' regions, then columns') as two MatMuls: Ph (oh, H) @ (x @ Pw (W, ow)). */
static fv_status emit_adaptive(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_node *in = input_of(g, n, 0);
    int h = (int)in->dims[1], w = (int)in->dims[2];
    int oh = n->a.adaptive.oh, ow = n->a.adaptive.ow;
    if (h % oh == 0 && w % ow == 0) {
        FvOnnx__NodeProto *p = fv_oxw_node1(g, "AveragePool", n->name, x, out);
        fv_oxw_attr_ints(g, p, "kernel_shape", 2, (int64_t[]){h / oh, w / ow});
        fv_oxw_attr_ints(g, p, "strides", 2, (int64_t[]){h / oh, w / ow});
        return g->status;
    }
    const char *t = tmp(g, n, "cols");
    fv_oxw_node2(g, "MatMul", tmp(g, n, "MatMul"), x, adaptive_matrix(g, n, "pw", w, ow, 0), t);
    fv_oxw_node2(g, "MatMul", n->name, adaptive_matrix(g, n, "ph", h, oh, 1), t, out);
    return g->status;
}

/* ---------------------------------------------------------------- normalization */

static fv_status emit_batchnorm(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const char *in[5] = {x, param(g, n, 0), param(g, n, 1), param(g, n, 2), param(g, n, 3)};
    fv_oxw_attr_float(g, fv_oxw_node(g, "BatchNormalization", n->name, 5, in, 1, &out), "epsilon",
                     n->a.bn.eps);
    return g->status;
}

static fv_status emit_lrn(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_lrn_attr *a = &n->a.lrn;
    /* fovea's (PyTorch's) window is [c - size/2, c + (size-1)/2], ONNX's [c - (size-1)/2,
     * c + size/2]: the same for an odd size only */
    if (a->size % 2 == 0)
        return unsupported(g, n, "LRN with an even window (ONNX centres it differently)");
    FvOnnx__NodeProto *l = fv_oxw_node1(g, "LRN", n->name, x, out);
    fv_oxw_attr_int(g, l, "size", a->size);
    fv_oxw_attr_float(g, l, "alpha", a->alpha);
    fv_oxw_attr_float(g, l, "beta", a->beta);
    fv_oxw_attr_float(g, l, "bias", a->k);
    return g->status;
}

/* Group normalization of `groups` groups over each sample as ONNX primitives: the sample viewed
 * as (N, G, -1), normalized over its last axis, viewed back, then gamma and beta (per channel,
 * or per element for layer norm). */
static fv_status gnorm_decomposed(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out,
                                  int groups)
{
    const fv_node *in = input_of(g, n, 0);
    int64_t view[3] = {0, groups, -1}, back[5] = {0}, pd[4];
    for (int i = 0; i < in->ndim; i++)
        back[i + 1] = in->dims[i];
    const char *r = tmp(g, n, "grouped"), *mu = tmp(g, n, "mean"), *d = tmp(g, n, "centered");
    const char *sq = tmp(g, n, "square"), *var = tmp(g, n, "var"), *ve = tmp(g, n, "var_eps");
    const char *sd = tmp(g, n, "std"), *nr = tmp(g, n, "normed"), *nb = tmp(g, n, "normed_back");
    const char *sc = tmp(g, n, "scaled");
    fv_oxw_node2(g, "Reshape", tmp(g, n, "Reshape"), x, i64s(g, n, "view", 3, view), r);
    fv_oxw_attr_ints(g, fv_oxw_node1(g, "ReduceMean", tmp(g, n, "ReduceMean"), r, mu), "axes", 1,
                    (int64_t[]){2});
    fv_oxw_node2(g, "Sub", tmp(g, n, "Sub"), r, mu, d);
    fv_oxw_node2(g, "Mul", tmp(g, n, "Mul"), d, d, sq);
    fv_oxw_attr_ints(g, fv_oxw_node1(g, "ReduceMean", tmp(g, n, "ReduceMean"), sq, var), "axes", 1,
                    (int64_t[]){2});
    fv_oxw_node2(g, "Add", tmp(g, n, "Add"), var, scalar(g, n, "eps", n->a.gnorm.eps), ve);
    fv_oxw_node1(g, "Sqrt", tmp(g, n, "Sqrt"), ve, sd);
    fv_oxw_node2(g, "Div", tmp(g, n, "Div"), d, sd, nr);
    const char *shape = i64s(g, n, "shape", in->ndim + 1, back);
    fv_oxw_node2(g, "Reshape", tmp(g, n, "Reshape"), nr, shape, nb);
    int layer = n->a.gnorm.kind == 2;
    int nd = layer ? in->ndim : channel_dims(in->dims[0], in->ndim, pd);
    const int64_t *dims = layer ? in->dims : pd;
    fv_oxw_node2(g, "Mul", tmp(g, n, "Mul"), nb, param_as(g, n, 0, nd, dims), sc);
    fv_oxw_node2(g, "Add", n->name, sc, param_as(g, n, 1, nd, dims), out);
    return g->status;
}

/* Group (kind 0), instance (1) and layer (2) normalization: InstanceNormalization for (C, H, W)
 * instance norm, LayerNormalization from opset 17, else the decomposition. */
static fv_status emit_gnorm(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_gnorm_attr *a = &n->a.gnorm;
    const fv_node *in = input_of(g, n, 0);
    const char *op = a->kind == 1 && in->ndim == 3 ? "InstanceNormalization"
                     : a->kind == 2 && g->opset >= 17 ? "LayerNormalization"
                                                      : NULL;
    if (!op)
        return gnorm_decomposed(g, n, x, out, a->kind == 0 ? a->groups
                                              : a->kind == 1 ? (int)in->dims[0]
                                                             : 1);
    const char *ins[3] = {x, param(g, n, 0), param(g, n, 1)};
    FvOnnx__NodeProto *p = fv_oxw_node(g, op, n->name, 3, ins, 1, &out);
    fv_oxw_attr_float(g, p, "epsilon", a->eps);
    if (a->kind == 2)
        fv_oxw_attr_int(g, p, "axis", 1);
    return g->status;
}

/* ---------------------------------------------------------------- activations */

/* x * 0.5 * (1 + erf(x / sqrt(2))) */
static void gelu(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const char *s = tmp(g, n, "scaled"), *e = tmp(g, n, "erf"), *e1 = tmp(g, n, "erf_1");
    const char *h = tmp(g, n, "half_x");
    fv_oxw_node2(g, "Div", tmp(g, n, "Div"), x, scalar(g, n, "sqrt2", (float)sqrt(2.0)), s);
    fv_oxw_node1(g, "Erf", tmp(g, n, "Erf"), s, e);
    fv_oxw_node2(g, "Add", tmp(g, n, "Add"), e, scalar(g, n, "one", 1), e1);
    fv_oxw_node2(g, "Mul", tmp(g, n, "Mul"), x, scalar(g, n, "half", 0.5f), h);
    fv_oxw_node2(g, "Mul", n->name, h, e1, out);
}

/* x * f(x) with f the one-input op (Sigmoid for SiLU, HardSigmoid for hard swish). */
static FvOnnx__NodeProto *times(fv_oxw_graph *g, const fv_node *n, const char *op, const char *x,
                                const char *out)
{
    const char *f = tmp(g, n, "gate");
    FvOnnx__NodeProto *p = fv_oxw_node1(g, op, tmp(g, n, op), x, f);
    fv_oxw_node2(g, "Mul", n->name, x, f, out);
    return p;
}

static void hard_sigmoid_attrs(fv_oxw_graph *g, FvOnnx__NodeProto *p, float alpha, float beta)
{
    fv_oxw_attr_float(g, p, "alpha", alpha);
    fv_oxw_attr_float(g, p, "beta", beta);
}

static fv_status emit_act(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    float alpha;
    fv_act act = fv_node_act(n, &alpha);
    static const char *const plain[FV_ACT__COUNT] = {
        [FV_ACT_RELU] = "Relu", [FV_ACT_SIGMOID] = "Sigmoid", [FV_ACT_TANH] = "Tanh",
        [FV_ACT_SOFTPLUS] = "Softplus"};
    FvOnnx__NodeProto *p;
    switch (act) {
    case FV_ACT_RELU: case FV_ACT_SIGMOID: case FV_ACT_TANH: case FV_ACT_SOFTPLUS:
        fv_oxw_node1(g, plain[act], n->name, x, out);
        break;
    case FV_ACT_SOFTMAX: /* over a sample's last axis; from opset 13 Softmax is over one axis */
    case FV_ACT_LOG_SOFTMAX:
        p = fv_oxw_node1(g, act == FV_ACT_SOFTMAX ? "Softmax" : "LogSoftmax", n->name, x, out);
        fv_oxw_attr_int(g, p, "axis", -1);
        break;
    case FV_ACT_LEAKY_RELU:
    case FV_ACT_ELU:
        p = fv_oxw_node1(g, act == FV_ACT_ELU ? "Elu" : "LeakyRelu", n->name, x, out);
        fv_oxw_attr_float(g, p, "alpha", alpha);
        break;
    case FV_ACT_SELU: /* the layer's alpha and gamma (its beta); the defaults are ONNX's */
        p = fv_oxw_node1(g, "Selu", n->name, x, out);
        fv_oxw_attr_float(g, p, "alpha", alpha);
        fv_oxw_attr_float(g, p, "gamma", n->a.eltwise.beta);
        break;
    case FV_ACT_GELU:
        gelu(g, n, x, out);
        break;
    case FV_ACT_SILU:
        times(g, n, "Sigmoid", x, out);
        break;
    case FV_ACT_HARD_SIGMOID: /* the layer's slope and offset (PyTorch's 1/6 and 1/2 by default) */
        hard_sigmoid_attrs(g, fv_oxw_node1(g, "HardSigmoid", n->name, x, out), alpha,
                           n->a.eltwise.beta);
        break;
    case FV_ACT_HARD_SWISH: /* HardSwish from opset 14 (alpha 1/6, beta 1/2: PyTorch's) */
        if (g->opset >= 14)
            fv_oxw_node1(g, "HardSwish", n->name, x, out);
        else
            hard_sigmoid_attrs(g, times(g, n, "HardSigmoid", x, out), 1.0f / 6.0f, 0.5f);
        break;
    case FV_ACT_RELU6: /* Clip's bounds are inputs from opset 11 */
    case FV_ACT_CLIP: {
        bool six = act == FV_ACT_RELU6;
        const char *in[3] = {x, scalar(g, n, "min", six ? 0 : alpha),
                             scalar(g, n, "max", six ? 6 : n->a.eltwise.beta)};
        fv_oxw_node(g, "Clip", n->name, 3, in, 1, &out);
        break;
    }
    default:
        return unsupported(g, n, "an unknown activation kind");
    }
    return g->status;
}

static fv_status emit_prelu(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_node *in = input_of(g, n, 0);
    int64_t dims[4] = {1};
    int nd = n->a.maxout.shared ? 1 : channel_dims(in->dims[0], in->ndim, dims);
    fv_oxw_node2(g, "PRelu", n->name, x, param_as(g, n, 0, nd, dims), out);
    return g->status;
}

/* ---------------------------------------------------------------- shapes */

/* Maxout: channels viewed as (C / k, k), the maximum over the k. */
static fv_status emit_maxout(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_node *in = input_of(g, n, 0);
    int k = n->a.maxout.pieces;
    int64_t view[6] = {0, in->dims[0] / k, k};
    for (int i = 1; i < in->ndim; i++)
        view[i + 2] = in->dims[i];
    const char *v = tmp(g, n, "pieces");
    fv_oxw_node2(g, "Reshape", tmp(g, n, "Reshape"), x, i64s(g, n, "view", in->ndim + 2, view), v);
    FvOnnx__NodeProto *r = fv_oxw_node1(g, "ReduceMax", n->name, v, out);
    fv_oxw_attr_ints(g, r, "axes", 1, (int64_t[]){2}); /* an attribute until opset 18 */
    fv_oxw_attr_int(g, r, "keepdims", 0);
    return g->status;
}

/* Zero padding (> 0) and cropping (< 0) of each side: Slice for the crops, then Pad. */
static fv_status emit_pad_crop(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_resize_attr *a = &n->a.resize;
    const fv_node *in = input_of(g, n, 0);
    int side[4] = {a->top, a->bottom, a->left, a->right}, crop = 0, pad = 0;
    for (int i = 0; i < 4; i++)
        crop |= side[i] < 0, pad |= side[i] > 0;
#define NEG(v) ((v) < 0 ? -(int64_t)(v) : 0)
#define POS(v) ((v) > 0 ? (int64_t)(v) : 0)
    const char *t = pad && crop ? tmp(g, n, "cropped") : out;
    if (crop) {
        int64_t starts[2] = {NEG(a->top), NEG(a->left)};
        int64_t ends[2] = {in->dims[1] - NEG(a->bottom), in->dims[2] - NEG(a->right)};
        const char *ins[4] = {x, i64s(g, n, "starts", 2, starts), i64s(g, n, "ends", 2, ends),
                              i64s(g, n, "axes", 2, (int64_t[]){2, 3})};
        fv_oxw_node(g, "Slice", pad ? tmp(g, n, "Slice") : n->name, 4, ins, 1, &t);
    }
    if (pad) { /* pads as an input from opset 11 */
        int64_t pads[8] = {0, 0, POS(a->top), POS(a->left), 0, 0, POS(a->bottom), POS(a->right)};
        fv_oxw_node2(g, "Pad", n->name, crop ? t : x, i64s(g, n, "pads", 8, pads), out);
    }
#undef NEG
#undef POS
    if (!crop && !pad)
        fv_oxw_node1(g, "Identity", n->name, x, out);
    return g->status;
}

/* Nearest (out[i] = in[floor(i / s)]) or bilinear with half-pixel centres, integer scales. */
static fv_status emit_upsample(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    const fv_resize_attr *a = &n->a.resize;
    float *sc;
    const char *scales = f32_const(g, n, "scales", 1, (int64_t[]){4}, &sc);
    if (sc)
        sc[0] = sc[1] = 1, sc[2] = (float)a->sh, sc[3] = (float)a->sw;
    const char *ins[3] = {x, "", scales}; /* opset 13: X, roi (omitted), scales */
    FvOnnx__NodeProto *r = fv_oxw_node(g, "Resize", n->name, 3, ins, 1, &out);
    if (a->bilinear) {
        fv_oxw_attr_str(g, r, "mode", "linear");
        fv_oxw_attr_str(g, r, "coordinate_transformation_mode", "half_pixel");
    } else {
        fv_oxw_attr_str(g, r, "mode", "nearest");
        fv_oxw_attr_str(g, r, "coordinate_transformation_mode", "asymmetric");
        fv_oxw_attr_str(g, r, "nearest_mode", "floor");
    }
    return g->status;
}

static fv_status emit_permute(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out)
{
    /* the permutation through the layer's schema: its attributes are private to permute.c */
    const fv_field *f = &fv_op_table[FV_OP_PERMUTE]->schema->fields[0];
    int nd = *(const int *)fv_field_at(&n->a, f->attr);
    const int64_t *d = fv_field_at(&n->a, f->attr_w);
    int64_t perm[5] = {0};
    if (f->type != FV_FT_SHAPE || nd < 1 || nd > 4)
        return unsupported(g, n, "a permutation the export cannot read");
    for (int i = 0; i < nd; i++)
        perm[i + 1] = d[i]; /* 1-based over a sample's axes: the batch axis is 0 */
    fv_oxw_attr_ints(g, fv_oxw_node1(g, "Transpose", n->name, x, out), "perm", nd + 1, perm);
    return g->status;
}

static fv_status emit_shape_op(fv_oxw_graph *g, const fv_node *n, const char *const *ins,
                               const char *out)
{
    const char *x = ins[0];
    int64_t shape[5] = {0}; /* 0: the batch dimension copied */
    switch (n->op) {
    case FV_OP_FLATTEN:
        fv_oxw_attr_int(g, fv_oxw_node1(g, "Flatten", n->name, x, out), "axis", 1);
        break;
    case FV_OP_RESHAPE:
        for (int i = 0; i < n->ndim; i++)
            shape[i + 1] = n->dims[i];
        fv_oxw_node2(g, "Reshape", n->name, x, i64s(g, n, "shape", n->ndim + 1, shape), out);
        break;
    case FV_OP_ADD:
        fv_oxw_node(g, n->nin == 2 ? "Add" : "Sum", n->name, n->nin, ins, 1, &out);
        break;
    case FV_OP_CONCAT: {
        int axis = n->a.concat.axis < 0 ? n->a.concat.axis + n->ndim : n->a.concat.axis;
        fv_oxw_attr_int(g, fv_oxw_node(g, "Concat", n->name, n->nin, ins, 1, &out), "axis", axis + 1);
        break;
    }
    default: /* dropout: the identity at inference */
        fv_oxw_node1(g, "Identity", n->name, x, out);
    }
    return g->status;
}

/* ---------------------------------------------------------------- broadcasting arithmetic */

/* Node operand x (value `name`, k: which) at the output's rank: ONNX aligns shapes at their last
 * axes counting the batch axis, fovea one sample's, so a node of fewer axes is reshaped to
 * (N, 1, ..., its axes) first. A constant (no batch axis, at most the output's axes) aligns as
 * it is. */
static const char *aligned(fv_oxw_graph *g, const fv_node *n, int k, const char *name)
{
    const fv_node *x = input_of(g, n, k);
    int64_t shape[5] = {0}; /* 0: the batch dimension copied */
    int pad = n->ndim - x->ndim;
    if (pad == 0)
        return name;
    for (int i = 0; i < n->ndim; i++)
        shape[1 + i] = i < pad ? 1 : x->dims[i - pad];
    const char *r = tmp(g, n, k ? "b" : "a");
    fv_oxw_node2(g, "Reshape", tmp(g, n, "align"), name,
                 i64s(g, n, "shape", n->ndim + 1, shape), r);
    return r;
}

static fv_status emit_binary(fv_oxw_graph *g, const fv_node *n, const char *const *ins,
                             const char *out)
{
    static const char *const ops[FV_BINARY__COUNT] = {"Add", "Sub", "Mul", "Div",
                                                      "Pow", "Max", "Min"};
    int first, op = fv_binary_of(n, &first);
    const char *in[2];
    if (n->nin == 2) {
        in[0] = aligned(g, n, 0, ins[0]);
        in[1] = aligned(g, n, 1, ins[1]);
    } else { /* the constant: its parameter as an initializer of its own shape */
        in[first ? 1 : 0] = aligned(g, n, 0, ins[0]);
        in[first ? 0 : 1] = param(g, n, 0);
    }
    fv_oxw_node(g, ops[op], n->name, 2, in, 1, &out);
    return g->status;
}

/* ---------------------------------------------------------------- dispatch */

/* The emitters of the ops of one input, by op (the activations aside: their flag tells them). */
typedef fv_status (*emit1_fn)(fv_oxw_graph *g, const fv_node *n, const char *x, const char *out);
static const emit1_fn emit1[FV_OP__COUNT] = {
    [FV_OP_CONV2D] = emit_conv, [FV_OP_CONV2D_TRANSPOSE] = emit_conv,
    [FV_OP_DENSE] = emit_dense, [FV_OP_MAXPOOL2D] = emit_pool, [FV_OP_AVGPOOL2D] = emit_pool,
    [FV_OP_LPPOOL] = emit_lppool, [FV_OP_GLOBAL_AVGPOOL] = emit_global,
    [FV_OP_GLOBAL_MAXPOOL] = emit_global, [FV_OP_ADAPTIVE_AVGPOOL] = emit_adaptive,
    [FV_OP_BATCHNORM] = emit_batchnorm, [FV_OP_LRN] = emit_lrn, [FV_OP_GROUP_NORM] = emit_gnorm,
    [FV_OP_PRELU] = emit_prelu, [FV_OP_MAXOUT] = emit_maxout, [FV_OP_PAD_CROP] = emit_pad_crop,
    [FV_OP_UPSAMPLE] = emit_upsample, [FV_OP_PERMUTE] = emit_permute,
};

fv_status fv_oxw_emit_node(fv_oxw_graph *g, int i, const char *const *ins, const char *out)
{
    const fv_node *n = &g->m->nodes[i];
    if (fv_op_table[n->op]->flags & FV_OPF_ACT)
        return emit_act(g, n, ins[0], out);
    if (emit1[n->op])
        return emit1[n->op](g, n, ins[0], out);
    switch (n->op) {
    case FV_OP_BINARY:
        return emit_binary(g, n, ins, out);
    case FV_OP_FLATTEN:
    case FV_OP_RESHAPE:
    case FV_OP_ADD:
    case FV_OP_CONCAT:
    case FV_OP_DROPOUT:
        return emit_shape_op(g, n, ins, out);
    case FV_OP_FRACPOOL:
        return unsupported(g, n, "fractional max pooling has no ONNX op (its regions are "
                           "pseudo-random)");
    case FV_OP_MAXUNPOOL:
        return unsupported(g, n, "max unpooling reads the switches of fovea's max pooling, "
                           "which the export does not carry");
    case FV_OP_SEGMENT_SOFTMAX:
        return unsupported(g, n, "a segment (word-tree) softmax has no single ONNX op and the "
                           "export does not write it as Split, Softmax and Concat");
    default:
        return unsupported(g, n, "no ONNX mapping for this op (a loss or target is not part "
                           "of the prediction)");
    }
}
