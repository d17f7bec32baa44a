/* activation.c - the activation family: its layers' schema (the text keywords, alpha, beta and
 * their defaults, the kinds' names) and the ops with a kernel of their own: ReLU, sigmoid, tanh and
 * softmax over the last axis of a sample (Keras' default; for a (classes) vector that is the
 * classes); the other kinds are one op with the kind as an attribute (eltwise.c). The output has
 * the input's shape. ReLU's backward reads the input; the others read their own output. ReLU runs
 * the vectorized kernels of kernels/eltwise.c, the others the reference kernels. */
#include "ops/node.h"
#include "kernels/eltwise.h"
#include "kernels/ref/act_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

static fv_status same_shape(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

/* Element-wise ops split their values across the workers in chunks of at least 16 Ki. */
#define CHUNK 16384

static void relu_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_relu_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void relu_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    (fv_input_dy_fresh(m, n, 0) ? fv_relu_bwd_set_f32 : fv_relu_bwd_f32)(
        fv_input_node(m, n, 0)->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void sigmoid_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_sigmoid_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void sigmoid_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_sigmoid_bwd_f32(n->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void tanh_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_tanh_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void tanh_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_tanh_bwd_f32(n->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void relu_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, relu_fwd_range);
}

static void relu_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, relu_bwd_range);
}

static void sigmoid_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, sigmoid_fwd_range);
}

static void sigmoid_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, sigmoid_bwd_range);
}

static void tanh_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, tanh_fwd_range);
}

static void tanh_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, tanh_bwd_range);
}

static int64_t count(const fv_node *n, int batch)
{
    return n->size * batch;
}

static void softmax_forward(fv_model *m, fv_node *n, int batch)
{
    int64_t k = n->dims[n->ndim - 1];
    fv_ref_softmax_fwd_f32(fv_input_node(m, n, 0)->y, n->y, count(n, batch) / k, k, 1);
}

static void softmax_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    int64_t k = n->dims[n->ndim - 1];
    if (dx)
        fv_ref_softmax_bwd_f32(n->y, n->dy, dx, count(n, batch) / k, k, 1);
}

const fv_op_def fv_op_relu_def = {
    .name = "relu", .kind = "ReLU", .infer = same_shape,
    .forward = relu_forward, .backward = relu_backward, .overwrites_dx = 1,
    .schema = &fv_act_schema, .flags = FV_OPF_ACT | FV_OPF_IN_PLACE, .act = FV_ACT_RELU,
};
const fv_op_def fv_op_sigmoid_def = {
    .name = "sigmoid", .kind = "Sigmoid", .infer = same_shape,
    .forward = sigmoid_forward, .backward = sigmoid_backward,
    .schema = &fv_act_schema, .flags = FV_OPF_ACT, .act = FV_ACT_SIGMOID,
};
const fv_op_def fv_op_tanh_def = {
    .name = "tanh", .kind = "Tanh", .infer = same_shape,
    .forward = tanh_forward, .backward = tanh_backward,
    .schema = &fv_act_schema, .flags = FV_OPF_ACT, .act = FV_ACT_TANH,
};
const fv_op_def fv_op_softmax_def = {
    .name = "softmax", .kind = "Softmax", .infer = same_shape,
    .forward = softmax_forward, .backward = softmax_backward,
    .schema = &fv_act_schema, .flags = FV_OPF_ACT, .act = FV_ACT_SOFTMAX,
};

/* ---------------------------------------------------------------- the family */

fv_act fv_node_act(const fv_node *n, float *alpha)
{
    const fv_op_def *d = fv_op_table[n->op];
    *alpha = 0;
    if (!(d->flags & FV_OPF_ACT))
        return FV_ACT_NONE;
    if (d->act != FV_ACT_NONE)
        return (fv_act)d->act;
    *alpha = n->a.eltwise.alpha;
    return (fv_act)n->a.eltwise.act;
}

fv_op fv_act_op(fv_act act)
{
    for (int op = 0; op < FV_OP__COUNT; op++)
        if ((fv_op_table[op]->flags & FV_OPF_ACT) && fv_op_table[op]->act == (int)act)
            return (fv_op)op;
    return FV_OP_ELTWISE;
}

static int act_add(fv_model *m, const int *ins, int nin, const fv_spec *s);

/* The kinds, in fv_act order after the layer `activation` itself (form 0). */
static const fv_form act_forms[] = {
    {{"activation", "Activation"}, "Activation", FV_ACT_NONE, act_add, NULL},
    {{"relu", "ReLU"}, "ReLU", FV_ACT_RELU, act_add, "max(x, 0)"},
    {{"sigmoid", "Sigmoid"}, "Sigmoid", FV_ACT_SIGMOID, act_add, "1 / (1 + e^-x)"},
    {{"tanh", "Tanh"}, "Tanh", FV_ACT_TANH, act_add, "tanh x"},
    {{"softmax", "Softmax"}, "Softmax", FV_ACT_SOFTMAX, act_add,
     "e^x / sum e^x over the last axis"},
    {{"leaky_relu", "LeakyReLU"}, "LeakyReLU", FV_ACT_LEAKY_RELU, act_add, "x > 0 ? x : alpha x"},
    {{"elu", "ELU"}, "ELU", FV_ACT_ELU, act_add, "x > 0 ? x : alpha (e^x - 1)"},
    {{"selu", "SELU"}, "SELU", FV_ACT_SELU, act_add, "gamma (x > 0 ? x : alpha (e^x - 1))"},
    {{"gelu", "GELU"}, "GELU", FV_ACT_GELU, act_add, "x Phi(x), the exact erf form"},
    {{"silu", "swish", "SiLU"}, "SiLU", FV_ACT_SILU, act_add, "x sigmoid(x)"},
    {{"softplus", "Softplus"}, "Softplus", FV_ACT_SOFTPLUS, act_add, "log(1 + e^x); x when x > 20"},
    {{"hard_sigmoid", "HardSigmoid"}, "HardSigmoid", FV_ACT_HARD_SIGMOID, act_add,
     "clamp(alpha x + beta, 0, 1)"},
    {{"hard_swish", "HardSwish"}, "HardSwish", FV_ACT_HARD_SWISH, act_add, "x hard_sigmoid(x)"},
    {{"relu6", "ReLU6"}, "ReLU6", FV_ACT_RELU6, act_add, "clamp(x, 0, 6)"},
    {{"log_softmax", "LogSoftmax"}, "LogSoftmax", FV_ACT_LOG_SOFTMAX, act_add,
     "x - log sum e^x over the last axis"},
    {{"clip", "Clip", "clamp"}, "Clip", FV_ACT_CLIP, act_add,
     "clamp(x, min, max); max where min > max"},
};
_Static_assert(sizeof act_forms / sizeof act_forms[0] == FV_ACT__COUNT, "one form per kind");

#define ALPHA(forms_, def_, doc_, def_doc_)                                                  \
    {"alpha", "negative_slope", FV_FT_FLOAT, 0, forms_, def_, 0, INFINITY,                  \
     FV_ARG(a.layer.alpha), 0, 0, FV_AT(eltwise.alpha), 0, 0, NULL, doc_, def_doc_}
/* A second parameter of a kind (beta of fv_layer_args): key, form, default, range, doc. */
#define BETA(key_, form_, def_, lo_, doc_)                                                    \
    {.key = key_, .type = FV_FT_FLOAT, .forms = FV_FORM(form_), .def = def_, .lo = lo_,      \
     .hi = INFINITY, .arg = FV_ARG(a.layer.beta), .attr = FV_AT(eltwise.beta), .doc = doc_}
static const fv_field act_fields[] = {
    {"activation", NULL, FV_FT_ACT_KIND, FV_F_REQUIRED, FV_FORM(0), 0, 0, 0, FV_ARG(act), 0, 0,
     0, 0, 0, NULL, "any kind below", NULL},
    ALPHA(FV_FORM(0), 0, "the kind's alpha, where it has one", "the kind's"),
    {.key = "beta", .type = FV_FT_FLOAT, .forms = FV_FORM(0), .hi = INFINITY,
     .arg = FV_ARG(a.layer.beta), .attr = FV_AT(eltwise.beta),
     .doc = "the kind's beta, where it has one (selu's gamma)", .def_doc = "the kind's"},
    ALPHA(FV_FORM(FV_ACT_LEAKY_RELU), 0.01, "the slope for x < 0", NULL),
    ALPHA(FV_FORM(FV_ACT_ELU), 1, "the scale of e^x - 1 for x < 0", NULL),
    ALPHA(FV_FORM(FV_ACT_SELU), 1.6732632423543772, "the scale of e^x - 1 for x < 0", NULL),
    BETA("gamma", FV_ACT_SELU, 1.0507009873554805, 0, "number >= 0: the scale of the output"),
    {.key = "alpha", .type = FV_FT_FLOAT, .forms = FV_FORM(FV_ACT_HARD_SIGMOID), .def = 1.0 / 6,
     .lo = -INFINITY, .hi = INFINITY, .arg = FV_ARG(a.layer.alpha),
     .attr = FV_AT(eltwise.alpha), .doc = "finite number: the slope (0: the default)",
     .def_doc = "1/6"},
    BETA("beta", FV_ACT_HARD_SIGMOID, 0.5, -INFINITY, "finite number: the offset (0: the default)"),
    {.key = "min", .type = FV_FT_FLOAT, .flags = FV_F_REQUIRED, .forms = FV_FORM(FV_ACT_CLIP),
     .lo = -INFINITY, .hi = INFINITY, .arg = FV_ARG(a.layer.alpha),
     .attr = FV_AT(eltwise.alpha), .doc = "finite number: the lower bound"},
    {.key = "max", .type = FV_FT_FLOAT, .flags = FV_F_REQUIRED, .forms = FV_FORM(FV_ACT_CLIP),
     .lo = -INFINITY, .hi = INFINITY, .arg = FV_ARG(a.layer.beta), .attr = FV_AT(eltwise.beta),
     .doc = "finite number: the upper bound"},
};

/* The field of kind act's own keyword that sets its alpha (beta: its beta), or NULL. */
static const fv_field *own_param(fv_act act, int beta)
{
    int arg = beta ? FV_ARG(a.layer.beta) : FV_ARG(a.layer.alpha);
    for (size_t i = 1; i < sizeof act_fields / sizeof act_fields[0]; i++)
        if (act_fields[i].forms == FV_FORM(act) && act_fields[i].arg == arg)
            return &act_fields[i];
    return NULL;
}

float fv_act_default_alpha(fv_act act)
{
    const fv_field *f = own_param(act, 0);
    return f ? (float)f->def : fv_act_op(act) == FV_OP_ELTWISE ? 1.0f : 0.0f;
}

float fv_act_default_beta(fv_act act)
{
    const fv_field *f = own_param(act, 1);
    return f ? (float)f->def : 0.0f;
}

int fv_act_form(fv_act act)
{
    bool own = act > FV_ACT_NONE && act < FV_ACT__COUNT && (own_param(act, 0) || own_param(act, 1));
    return own ? (int)act : FV_ACT_NONE;
}

/* Every form: the kind (activation=, or the keyword's own) with its alpha and beta or the
 * defaults (0: the default, except where that is 0: clip's bounds). */
static int act_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    fv_act act = s->form != FV_ACT_NONE ? (fv_act)s->form : s->act;
    float alpha = s->a.layer.alpha != 0.0f ? s->a.layer.alpha : fv_act_default_alpha(act);
    float beta = s->a.layer.beta != 0.0f ? s->a.layer.beta : fv_act_default_beta(act);
    fv_op op = fv_act_op(act);
    fv_attr at = {.eltwise = {.act = act, .alpha = alpha, .beta = beta}};
    return fv_graph_add(m, op, nin, ins, op == FV_OP_ELTWISE ? &at : NULL, s->name);
}

static int act_form_of(const fv_node *n)
{
    float alpha;
    return fv_node_act(n, &alpha);
}

/* Parameter `beta` (0: alpha) of node n's kind, v, into s: nothing at its default; through the
 * kind's own keyword where it has one (in that field's range, and not 0, which reads as the
 * default), else through `activation activation=KIND` (a positive number). NULL, or why the
 * text cannot say it. */
static const char *unwrite_param(fv_act act, int beta, float v, fv_spec *s)
{
    const fv_field *f = own_param(act, beta);
    if (v == (beta ? fv_act_default_beta(act) : fv_act_default_alpha(act)))
        return NULL;
    if (v == 0.0f)
        return beta ? "a beta of 0 (the format reads 0 as the kind's default)"
                    : "an alpha of 0 (the format reads 0 as the kind's default)";
    if (f ? !fv_field_in_range(f, v) : !(v > 0) || isinf(v))
        return beta ? "a beta outside the range the format reads"
                    : "an alpha that is not a positive number";
    if (!f)
        s->form = FV_ACT_NONE, s->act = act;
    *(beta ? &s->a.layer.beta : &s->a.layer.alpha) = v;
    return NULL;
}

/* The kind's keyword with its parameters where it has them, else `activation activation=KIND`
 * with alpha (beta). */
static const char *act_unwrite(const fv_model *m, const fv_node *n, fv_spec *s)
{
    (void)m;
    float alpha;
    fv_act act = fv_node_act(n, &alpha);
    float beta = n->op == FV_OP_ELTWISE ? n->a.eltwise.beta : 0.0f;
    if (act <= FV_ACT_NONE || act >= FV_ACT__COUNT)
        return "an unknown activation kind";
    memset(&s->a, 0, sizeof s->a);
    s->form = act;
    const char *bad = unwrite_param(act, 0, alpha, s);
    return bad ? bad : unwrite_param(act, 1, beta, s);
}

const fv_schema fv_act_schema = {
    .op = FV_OP_ELTWISE,
    .forms = act_forms,
    .nforms = FV_ACT__COUNT,
    .fields = act_fields,
    .nfields = sizeof act_fields / sizeof act_fields[0],
    .form_of = act_form_of,
    .unwrite = act_unwrite,
};

const char *fv_act_name(fv_act a)
{
    return a == FV_ACT_NONE ? "linear" : a > 0 && a < FV_ACT__COUNT ? act_forms[a].names[0] : "?";
}

int fv_act_from_name(const char *name)
{
    if (strcmp(name, "none") == 0 || strcmp(name, "linear") == 0)
        return FV_ACT_NONE;
    for (int i = 1; i < FV_ACT__COUNT; i++)
        if (strcmp(name, act_forms[i].names[0]) == 0)
            return i;
    return -1;
}
