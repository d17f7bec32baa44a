/* layers.c - the public layer functions: resolve Keras-style arguments and defaults into op
 * attributes and add graph nodes (an activation argument adds a folded activation node). */
#include "core/internal.h"
#include "graph/graph.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static const char *const act_names[FV_ACT__COUNT] = {
    [FV_ACT_NONE] = "linear",        [FV_ACT_RELU] = "relu",
    [FV_ACT_SIGMOID] = "sigmoid",    [FV_ACT_TANH] = "tanh",
    [FV_ACT_SOFTMAX] = "softmax",    [FV_ACT_LEAKY_RELU] = "leaky_relu",
    [FV_ACT_ELU] = "elu",            [FV_ACT_SELU] = "selu",
    [FV_ACT_GELU] = "gelu",          [FV_ACT_SILU] = "silu",
    [FV_ACT_SOFTPLUS] = "softplus",  [FV_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [FV_ACT_HARD_SWISH] = "hard_swish", [FV_ACT_RELU6] = "relu6",
    [FV_ACT_LOG_SOFTMAX] = "log_softmax",
};
/* The activations with an op of their own; the others are FV_OP_ELTWISE with the kind as an
 * attribute. */
static const fv_op act_ops[FV_ACT__COUNT] = {
    [FV_ACT_RELU] = FV_OP_RELU, [FV_ACT_SIGMOID] = FV_OP_SIGMOID, [FV_ACT_TANH] = FV_OP_TANH,
    [FV_ACT_SOFTMAX] = FV_OP_SOFTMAX,
};

/* Adds the node computing activation act of node in (alpha 0: the kind's default). */
static int add_act(fv_model *m, fv_act act, int in, float alpha, const char *name)
{
    if (act_ops[act] != FV_OP_INPUT)
        return fv_graph_add(m, act_ops[act], 1, &in, NULL, name);
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.eltwise.act = act;
    at.eltwise.alpha = alpha != 0.0f ? alpha : act == FV_ACT_LEAKY_RELU ? 0.01f : 1.0f;
    if (!isfinite(at.eltwise.alpha)) {
        fv_err(FV_ERR_INVALID, "layer '%s': alpha=%g must be finite", name ? name : act_names[act],
               (double)alpha);
        return -1;
    }
    return fv_graph_add(m, FV_OP_ELTWISE, 1, &in, &at, name);
}

int fv_act_from_name(const char *name)
{
    if (strcmp(name, "none") == 0)
        return FV_ACT_NONE;
    for (int i = 0; i < FV_ACT__COUNT; i++)
        if (strcmp(name, act_names[i]) == 0)
            return i;
    return -1;
}

const char *fv_act_name(fv_act a)
{
    return (a >= 0 && a < FV_ACT__COUNT) ? act_names[a] : "?";
}

static int bad_arg(const char *layer, const char *name, const char *what, long v)
{
    fv_err(FV_ERR_INVALID, "layer '%s': %s=%ld: %s", name ? name : layer, what, v,
           "expected a positive integer");
    return -1;
}

/* Removes the node added last (and its parameters), after a later step of its layer failed. */
static void pop_last(fv_model *m)
{
    m->nparams -= m->nodes[--m->nnodes].nparam;
}

/* Adds the activation after node id, folded into that layer's summary row. */
static int with_activation(fv_model *m, int id, fv_act act)
{
    if (id < 0 || act == FV_ACT_NONE)
        return id;
    if (act < 0 || act >= FV_ACT__COUNT) {
        fv_err(FV_ERR_INVALID, "layer '%s': unknown activation %d", m->nodes[id].name, (int)act);
        pop_last(m);
        return -1;
    }
    int a = add_act(m, act, id, 0.0f, NULL);
    if (a < 0) {
        pop_last(m);
        return -1;
    }
    m->nodes[a].hidden = 1;
    return a;
}

/* Attaches the kernel regularizer to node id (rolled back when a setting is invalid). */
static int set_reg(fv_model *m, int id, float l1, float l2, float max_norm)
{
    if (id < 0)
        return -1;
    if (!(l1 >= 0) || !(l2 >= 0) || !(max_norm >= 0) || isinf(l1) || isinf(l2) ||
        isinf(max_norm)) {
        fv_err(FV_ERR_INVALID, "layer '%s': l1=%g, l2=%g and max_norm=%g must be finite and >= 0",
               m->nodes[id].name, (double)l1, (double)l2, (double)max_norm);
        pop_last(m);
        return -1;
    }
    m->nodes[id].reg = (fv_regularizer){l1, l2, max_norm};
    return id;
}

int fv_input_(fv_model *m, fv_input_args a)
{
    int id = fv_graph_add_input(m, a.ndim, a.dims, a.name);
    if (id >= 0 && m->input_node < 0)
        m->input_node = id;
    return id;
}

int fv_conv2d_(fv_model *m, int in, fv_conv2d_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    fv_conv_attr *c = &at.conv;
    c->filters = a.filters;
    c->kh = a.kernel_h ? a.kernel_h : a.kernel;
    c->kw = a.kernel_w ? a.kernel_w : a.kernel;
    c->sh = c->sw = a.stride ? a.stride : 1;
    c->dh = c->dw = a.dilation ? a.dilation : 1;
    c->groups = a.groups ? a.groups : 1;
    c->bias = !a.no_bias;
    if (c->filters <= 0)
        return bad_arg("conv2d", a.name, "filters", c->filters);
    if (c->kh <= 0 || c->kw <= 0)
        return bad_arg("conv2d", a.name, "kernel", c->kh <= 0 ? c->kh : c->kw);
    if (c->sh <= 0 || c->dh <= 0 || c->groups <= 0 || a.padding < 0)
        return bad_arg("conv2d", a.name, "stride/dilation/groups/padding",
                       c->sh <= 0 ? c->sh : c->dh <= 0 ? c->dh : c->groups <= 0 ? c->groups
                                                                               : a.padding);
    if (a.same) {
        if (c->sh != 1 || (c->kh % 2) == 0 || (c->kw % 2) == 0) {
            fv_err(FV_ERR_INVALID, "layer '%s': padding=same needs stride 1 and an odd kernel",
                   a.name ? a.name : "conv2d");
            return -1;
        }
        int64_t ph = (int64_t)c->dh * (c->kh - 1) / 2, pw = (int64_t)c->dw * (c->kw - 1) / 2;
        if (ph > INT_MAX || pw > INT_MAX) {
            fv_err(FV_ERR_INVALID, "layer '%s': padding=same for kernel %dx%d with dilation %d "
                   "needs padding %lld (too large)", a.name ? a.name : "conv2d", c->kh, c->kw,
                   c->dh, (long long)(ph > pw ? ph : pw));
            return -1;
        }
        c->ph = (int)ph, c->pw = (int)pw;
    } else {
        c->ph = c->pw = a.padding;
    }
    int id = fv_graph_add(m, FV_OP_CONV2D, 1, &in, &at, a.name);
    if (set_reg(m, id, a.l1, a.l2, a.max_norm) < 0)
        return -1;
    return with_activation(m, id, a.activation);
}

int fv_dense_(fv_model *m, int in, fv_dense_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.dense.units = a.units;
    at.dense.bias = !a.no_bias;
    if (a.units <= 0)
        return bad_arg("dense", a.name, "units", a.units);
    int id = fv_graph_add(m, FV_OP_DENSE, 1, &in, &at, a.name);
    if (set_reg(m, id, a.l1, a.l2, a.max_norm) < 0)
        return -1;
    return with_activation(m, id, a.activation);
}

/* Pooling layers; power: LP pooling's p (0 for the others). */
static int pool_p(fv_model *m, fv_op op, int in, fv_pool2d_args a, float power)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    fv_pool_attr *p = &at.pool;
    int size = a.size ? a.size : 2;
    p->kh = a.size_h ? a.size_h : size;
    p->kw = a.size_w ? a.size_w : size;
    p->sh = a.stride ? a.stride : p->kh;
    p->sw = a.stride ? a.stride : p->kw;
    p->ph = p->pw = a.padding;
    p->ceil_mode = a.ceil_mode != 0;
    p->exclude_pad = a.exclude_pad != 0;
    p->power = power;
    const char *stem = fv_op_table[op]->name;
    if (p->kh <= 0 || p->kw <= 0)
        return bad_arg(stem, a.name, "pool size", p->kh <= 0 ? p->kh : p->kw);
    if (p->sh <= 0 || p->sw <= 0)
        return bad_arg(stem, a.name, "stride", a.stride);
    if (a.padding < 0 || a.padding > p->kh / 2 || a.padding > p->kw / 2) { /* 2p <= k */
        fv_err(FV_ERR_INVALID, "layer '%s': padding=%d must be between 0 and half the window",
               a.name ? a.name : stem, a.padding);
        return -1;
    }
    return fv_graph_add(m, op, 1, &in, &at, a.name);
}

static int pool(fv_model *m, fv_op op, int in, fv_pool2d_args a)
{
    return pool_p(m, op, in, a, 0.0f);
}

int fv_maxpool2d_(fv_model *m, int in, fv_pool2d_args a) { return pool(m, FV_OP_MAXPOOL2D, in, a); }
int fv_avgpool2d_(fv_model *m, int in, fv_pool2d_args a) { return pool(m, FV_OP_AVGPOOL2D, in, a); }

int fv_activation_(fv_model *m, int in, fv_act act, fv_layer_args a)
{
    if (act <= FV_ACT_NONE || act >= FV_ACT__COUNT) {
        fv_err(FV_ERR_INVALID, "layer '%s': unknown activation %d", a.name ? a.name : "activation",
               (int)act);
        return -1;
    }
    return add_act(m, act, in, a.alpha, a.name);
}

int fv_flatten_(fv_model *m, int in, fv_layer_args a)
{
    return fv_graph_add(m, FV_OP_FLATTEN, 1, &in, NULL, a.name);
}

int fv_reshape_(fv_model *m, int in, fv_reshape_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    if (a.ndim < 1 || a.ndim > 4) {
        fv_err(FV_ERR_INVALID, "layer '%s': reshape to %d dimensions (expected 1..4)",
               a.name ? a.name : "reshape", a.ndim);
        return -1;
    }
    at.reshape.ndim = a.ndim;
    memcpy(at.reshape.dims, a.dims, sizeof a.dims);
    return fv_graph_add(m, FV_OP_RESHAPE, 1, &in, &at, a.name);
}

static int multi(fv_model *m, fv_op op, int n, const int *ins, const fv_attr *at, const char *name)
{
    if (n < 2 || n > FV_MAX_IN || !ins) {
        fv_err(FV_ERR_INVALID, "layer '%s': %d inputs (expected 2..%d)",
               name ? name : fv_op_table[op]->name, n, FV_MAX_IN);
        return -1;
    }
    return fv_graph_add(m, op, n, ins, at, name);
}

int fv_add_(fv_model *m, int n, const int *ins, fv_layer_args a)
{
    return multi(m, FV_OP_ADD, n, ins, NULL, a.name);
}

int fv_concat_(fv_model *m, int n, const int *ins, fv_concat_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.concat.axis = a.axis;
    return multi(m, FV_OP_CONCAT, n, ins, &at, a.name);
}

int fv_dropout_(fv_model *m, int in, fv_dropout_args a)
{
    if (!(a.rate >= 0.0f && a.rate < 1.0f)) {
        fv_err(FV_ERR_INVALID, "layer '%s': rate=%g must be in [0, 1)",
               a.name ? a.name : "dropout", (double)a.rate);
        return -1;
    }
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.dropout.rate = a.rate;
    at.dropout.spatial = a.spatial != 0;
    return fv_graph_add(m, FV_OP_DROPOUT, 1, &in, &at, a.name);
}

int fv_batchnorm_(fv_model *m, int in, fv_batchnorm_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.bn.momentum = a.momentum != 0.0f ? a.momentum : 0.1f;
    at.bn.eps = a.eps != 0.0f ? a.eps : 1e-5f;
    if (!(at.bn.momentum > 0.0f && at.bn.momentum <= 1.0f) || !(at.bn.eps > 0.0f) ||
        isinf(at.bn.eps)) {
        fv_err(FV_ERR_INVALID, "layer '%s': momentum=%g must be in (0, 1] and eps=%g > 0 and "
               "finite",
               a.name ? a.name : "batchnorm", (double)at.bn.momentum, (double)at.bn.eps);
        return -1;
    }
    return fv_graph_add(m, FV_OP_BATCHNORM, 1, &in, &at, a.name);
}

int fv_global_avgpool2d_(fv_model *m, int in, fv_layer_args a)
{
    return fv_graph_add(m, FV_OP_GLOBAL_AVGPOOL, 1, &in, NULL, a.name);
}

int fv_adaptive_avgpool2d_(fv_model *m, int in, fv_adaptive_args a)
{
    fv_attr at = {.adaptive = {.oh = a.output_h ? a.output_h : a.output_size,
                               .ow = a.output_w ? a.output_w : a.output_size}};
    return fv_graph_add(m, FV_OP_ADAPTIVE_AVGPOOL, 1, &in, &at, a.name);
}

int fv_global_maxpool2d_(fv_model *m, int in, fv_layer_args a)
{
    return fv_graph_add(m, FV_OP_GLOBAL_MAXPOOL, 1, &in, NULL, a.name);
}

int fv_lrn_(fv_model *m, int in, fv_lrn_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    fv_lrn_attr *l = &at.lrn;
    l->size = a.size;
    l->alpha = a.alpha != 0.0f ? a.alpha : 1e-4f;
    l->beta = a.beta != 0.0f ? a.beta : 0.75f;
    l->k = a.k != 0.0f ? a.k : 1.0f;
    if (a.size < 1 || !(l->alpha > 0) || !(l->beta > 0) || !(l->k > 0) || isinf(l->alpha) ||
        isinf(l->beta) || isinf(l->k)) {
        fv_err(FV_ERR_INVALID, "layer '%s': size=%d must be >= 1 and alpha=%g, beta=%g, k=%g "
               "positive and finite", a.name ? a.name : "lrn", a.size, (double)l->alpha,
               (double)l->beta, (double)l->k);
        return -1;
    }
    return fv_graph_add(m, FV_OP_LRN, 1, &in, &at, a.name);
}

int fv_conv2d_transpose_(fv_model *m, int in, fv_conv2d_transpose_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    fv_conv_attr *c = &at.convt.conv;
    c->filters = a.filters;
    c->kh = a.kernel_h ? a.kernel_h : a.kernel;
    c->kw = a.kernel_w ? a.kernel_w : a.kernel;
    c->sh = c->sw = a.stride ? a.stride : 1;
    c->dh = c->dw = a.dilation ? a.dilation : 1;
    c->groups = a.groups ? a.groups : 1;
    c->bias = !a.no_bias;
    c->ph = c->pw = a.padding;
    at.convt.oph = at.convt.opw = a.output_padding;
    if (c->filters <= 0 || c->kh <= 0 || c->kw <= 0 || c->sh <= 0 || c->dh <= 0 ||
        c->groups <= 0 || a.padding < 0 || a.output_padding < 0)
        return bad_arg("conv2d_transpose", a.name, "filters/kernel/stride/dilation/groups/padding",
                       c->filters <= 0 ? c->filters : c->kh <= 0 ? c->kh : a.padding);
    int id = fv_graph_add(m, FV_OP_CONV2D_TRANSPOSE, 1, &in, &at, a.name);
    return with_activation(m, id, a.activation);
}

int fv_upsample2d_(fv_model *m, int in, fv_upsample_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    int size = a.size ? a.size : 2;
    at.resize.sh = a.size_h ? a.size_h : size;
    at.resize.sw = a.size_w ? a.size_w : size;
    at.resize.bilinear = a.bilinear != 0;
    if (at.resize.sh < 1 || at.resize.sw < 1 || at.resize.sh > 1024 || at.resize.sw > 1024)
        return bad_arg("upsample2d", a.name, "size", at.resize.sh < 1 ? at.resize.sh
                                                                       : at.resize.sw);
    return fv_graph_add(m, FV_OP_UPSAMPLE, 1, &in, &at, a.name);
}

/* Padding (sign +1) or cropping (sign -1): per-side amounts, `all` filling the unset ones. */
static int pad_crop(fv_model *m, int in, fv_pad_args a, int sign, const char *stem)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    int v[4] = {a.top, a.bottom, a.left, a.right};
    for (int i = 0; i < 4; i++) {
        v[i] = v[i] ? v[i] : a.all;
        if (v[i] < 0 || v[i] > (1 << 20))
            return bad_arg(stem, a.name, "padding/cropping", v[i]);
    }
    at.resize.top = sign * v[0], at.resize.bottom = sign * v[1];
    at.resize.left = sign * v[2], at.resize.right = sign * v[3];
    return fv_graph_add(m, FV_OP_PAD_CROP, 1, &in, &at, a.name);
}

int fv_zero_padding2d_(fv_model *m, int in, fv_pad_args a)
{
    return pad_crop(m, in, a, 1, "zero_padding2d");
}

int fv_cropping2d_(fv_model *m, int in, fv_pad_args a)
{
    return pad_crop(m, in, a, -1, "cropping2d");
}

static int norm_layer(fv_model *m, int in, fv_norm_args a, int kind, const char *stem)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.gnorm.kind = kind;
    at.gnorm.groups = a.groups;
    at.gnorm.eps = a.eps != 0.0f ? a.eps : 1e-5f;
    if ((kind == 0 && a.groups < 1) || !(at.gnorm.eps > 0) || isinf(at.gnorm.eps)) {
        fv_err(FV_ERR_INVALID, "layer '%s': groups=%d must be >= 1 and eps=%g > 0",
               a.name ? a.name : stem, a.groups, (double)at.gnorm.eps);
        return -1;
    }
    return fv_graph_add(m, FV_OP_GROUP_NORM, 1, &in, &at, a.name);
}

int fv_group_norm_(fv_model *m, int in, fv_norm_args a)
{
    return norm_layer(m, in, a, 0, "group_norm");
}

int fv_instance_norm_(fv_model *m, int in, fv_norm_args a)
{
    return norm_layer(m, in, a, 1, "instance_norm");
}

int fv_layer_norm_(fv_model *m, int in, fv_norm_args a)
{
    return norm_layer(m, in, a, 2, "layer_norm");
}

int fv_prelu_(fv_model *m, int in, fv_prelu_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.maxout.shared = a.shared != 0;
    return fv_graph_add(m, FV_OP_PRELU, 1, &in, &at, a.name);
}

int fv_maxout_(fv_model *m, int in, fv_prelu_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    at.maxout.pieces = a.pieces;
    return fv_graph_add(m, FV_OP_MAXOUT, 1, &in, &at, a.name);
}

/* The input's channel count, or -1 with an error. */
static int64_t channels_of(fv_model *m, int in, const char *layer)
{
    int id = fv_graph_resolve(m, in, layer);
    if (id < 0)
        return -1;
    if (m->nodes[id].ndim != 3) {
        char s[96];
        fv_err(FV_ERR_SHAPE, "layer '%s': needs a (channels, height, width) input, got '%s' %s",
               layer, m->nodes[id].name, fv_node_shape_str(&m->nodes[id], s, sizeof s));
        return -1;
    }
    return m->nodes[id].dims[0];
}

int fv_depthwise_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier)
{
    const char *name = a.name ? a.name : "depthwise_conv2d";
    int64_t c = channels_of(m, in, name);
    int mult = depth_multiplier ? depth_multiplier : 1;
    if (c < 0)
        return -1;
    if (mult < 1 || c * mult > INT32_MAX)
        return bad_arg("depthwise_conv2d", a.name, "depth_multiplier", mult);
    a.filters = (int)(c * mult);
    a.groups = (int)c;
    return fv_conv2d_(m, in, a);
}

int fv_separable_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier)
{
    char dw[FV_NAME_LEN], pw[FV_NAME_LEN];
    const char *base = a.name ? a.name : "separable_conv2d";
    snprintf(dw, sizeof dw, "%.*s_dw", FV_NAME_LEN - 4, base);
    snprintf(pw, sizeof pw, "%.*s_pw", FV_NAME_LEN - 4, base);
    int nodes = m->nnodes, nparams = m->nparams;
    fv_conv2d_args d = a;
    d.no_bias = 1, d.activation = FV_ACT_NONE, d.name = a.name ? dw : NULL;
    int x = fv_depthwise_conv2d_(m, in, d, depth_multiplier);
    if (x < 0)
        return -1;
    fv_conv2d_args p = {.filters = a.filters, .kernel = 1, .no_bias = a.no_bias,
                        .activation = a.activation, .name = a.name ? pw : NULL};
    int y = fv_conv2d_(m, x, p);
    if (y < 0) { /* roll back the depthwise half too */
        m->nnodes = nodes, m->nparams = nparams;
        return -1;
    }
    return y;
}

int fv_maxunpool2d_(fv_model *m, int in, int pool, const char *name)
{
    int ins[2] = {in, pool};
    return fv_graph_add(m, FV_OP_MAXUNPOOL, 2, ins, NULL, name);
}

int fv_lppool2d_(fv_model *m, int in, float p, fv_pool2d_args a)
{
    return pool_p(m, FV_OP_LPPOOL, in, a, p);
}

/* The fractional pooling's settings, or -1 with an error naming the layer. */
static int frac_check(const char *layer, const fv_frac_attr *f)
{
    const char *why = NULL;
    bool sized = f->oh || f->ow, ratio = f->rh != 0 || f->rw != 0;
    if (f->kh < 0 || f->kw < 0 || (f->kh == 0) != (f->kw == 0))
        why = "the window must be positive, or 0 on both axes for disjoint regions";
    else if (sized && ratio)
        why = "give an output size or an output ratio, not both";
    else if (sized && (f->oh <= 0 || f->ow <= 0))
        why = "the output size must be positive on both axes";
    else if (!sized && !(f->rh > 0 && f->rh < 1 && f->rw > 0 && f->rw < 1))
        why = "needs an output size, or an output ratio in (0, 1) on both axes";
    else if (f->random && f->kh)
        why = "a random sequence needs disjoint regions (window 0)";
    if (!why)
        return 0;
    fv_err(FV_ERR_INVALID, "layer '%s': %s (window %dx%d, output %dx%d, ratio %g, %g)", layer, why,
           f->kh, f->kw, f->oh, f->ow, f->rh, f->rw);
    return -1;
}

int fv_fractional_maxpool2d_(fv_model *m, int in, fv_fracpool_args a)
{
    fv_attr at;
    memset(&at, 0, sizeof at);
    fv_frac_attr *f = &at.frac;
    f->kh = a.size_h ? a.size_h : a.size;
    f->kw = a.size_w ? a.size_w : a.size;
    f->oh = a.output_h ? a.output_h : a.output_size;
    f->ow = a.output_w ? a.output_w : a.output_size;
    f->rh = a.ratio_h != 0 ? a.ratio_h : a.ratio;
    f->rw = a.ratio_w != 0 ? a.ratio_w : a.ratio;
    f->random = a.random != 0;
    if (frac_check(a.name ? a.name : "fractional_maxpool2d", f) < 0)
        return -1;
    return fv_graph_add(m, FV_OP_FRACPOOL, 1, &in, &at, a.name);
}
