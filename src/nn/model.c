/* model.c - the model object: creation, node and parameter accessors, compile (loss, optimizer,
 * parameter allocation), trainability and learning-rate multipliers, input resizing. The summary
 * table lives in summary.c, training in fit.c. */
#include "core/internal.h"
#include "graph/graph.h"
#include "kernels/ref/losses_ref.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

fv_model *fv_model_new(const char *name)
{
    fv_model *m = fv_calloc(1, sizeof *m, "model");
    if (!m)
        return NULL;
    snprintf(m->name, sizeof m->name, "%s", name && *name ? name : "model");
    m->input_node = m->output_node = m->target_node = m->loss_node = -1;
    fv_rng_seed(&m->rng, 0);
    return m;
}

void fv_model_free(fv_model *m)
{
    if (!m)
        return;
    fv_param_presets_free(m, 0);
    if (m->ext_free)
        m->ext_free(m->ext);
    if (m->quant_free)
        m->quant_free(m->quant);
    fv_free(m->nodes);
    fv_free(m->params);
    fv_free(m->data_slab);
    fv_free(m->grad_slab);
    fv_free(m->opt_state);
    fv_free(m->arena);
    fv_free(m->workspace_mem);
    fv_free(m->class_weights);
    for (int k = 0; m->class_names && k < m->meta_classes; k++)
        fv_free(m->class_names[k]);
    fv_free(m->class_names);
    fv_free(m->dataset);
    fv_free(m->arch_text);
    for (int k = 0; k < m->n_int_lists; k++)
        fv_free(m->int_lists[k]);
    fv_free(m->int_lists);
    fv_free(m);
}

const char *fv_model_name(const fv_model *m) { return m->name; }

int fv_model_num_nodes(const fv_model *m) { return m->nnodes; }

const char *fv_node_name(const fv_model *m, int node)
{
    return node >= 0 && node < m->nnodes ? m->nodes[node].name : NULL;
}

int fv_model_find_node(const fv_model *m, const char *name)
{
    for (int i = 0; name && i < m->nnodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0)
            return i;
    return -1;
}

/* The folded activation node of node i (added by an activation= argument), or -1. */
static int folded_act(const fv_model *m, int i)
{
    return i >= 0 && i + 1 < m->nnodes && m->nodes[i + 1].hidden && m->nodes[i + 1].nin == 1 &&
                   m->nodes[i + 1].in[0] == i
               ? i + 1
               : -1;
}

int fv_model_find_output(const fv_model *m, const char *name)
{
    int i = fv_model_find_node(m, name), a = folded_act(m, i);
    return a >= 0 ? a : i;
}

int fv_node_shape(const fv_model *m, int node, int64_t *dims)
{
    if (node < 0 || node >= m->nnodes)
        return 0;
    memcpy(dims, m->nodes[node].dims, sizeof(int64_t) * (size_t)m->nodes[node].ndim);
    return m->nodes[node].ndim;
}

int fv_model_num_params(const fv_model *m) { return m->nparams; }

fv_status fv_model_param(const fv_model *m, int i, fv_param_info *out)
{
    if (i < 0 || i >= m->nparams)
        return fv_err(FV_ERR_INVALID, "model '%s': parameter %d does not exist (it has %d)",
                      m->name, i, m->nparams);
    const fv_param *p = &m->params[i];
    out->name = p->name;
    out->ndim = p->ndim;
    out->dims = p->dims;
    out->numel = p->numel;
    out->trainable = p->trainable;
    out->data = m->data_slab ? m->data_slab + p->offset : NULL;
    out->grad = m->grad_slab && p->trainable ? m->grad_slab + p->offset : NULL;
    return FV_OK;
}

void fv_model_count_params(const fv_model *m, int64_t *total, int64_t *trainable,
                           int64_t *non_trainable)
{
    int64_t t = 0, nt = 0;
    for (int i = 0; i < m->nparams; i++) {
        if (m->params[i].trainable && !m->nodes[m->params[i].node].frozen)
            t += m->params[i].numel;
        else
            nt += m->params[i].numel;
    }
    if (total)
        *total = t + nt;
    if (trainable)
        *trainable = t;
    if (non_trainable)
        *non_trainable = nt;
}

void fv_model_set_training(fv_model *m, int training) { m->training = training != 0; }

/* ---------------------------------------------------------------- compile */

/* The op computing loss: one of the loss family whose fv_op_def.loss is the kind, unless the
 * options need the catalogue op (smoothing, class weights) and it computes the kind too. */
static fv_op loss_op(fv_loss loss, bool options)
{
    if (fv_loss_is_pixel(loss))
        return FV_OP_PIXEL_LOSS;
    for (int op = 0; op < FV_OP__COUNT; op++) {
        const fv_op_def *d = fv_op_table[op];
        if ((d->flags & FV_OPF_LOSS) && d->loss == (int)loss &&
            (!options || (d->flags & FV_OPF_SOLE)))
            return (fv_op)op;
    }
    return FV_OP_LOSS;
}

/* The node the loss reads. A loss that applies its own softmax (sigmoid) to logits, after an
 * output that already is a softmax (sigmoid), reads that layer's input instead: the logits, as
 * Keras does for from_logits=False, in the stable form; the output stays the probabilities. */
static int loss_input(const fv_model *m, fv_loss loss)
{
    const fv_node *out = &m->nodes[m->output_node];
    bool softmax = out->op == FV_OP_SOFTMAX && out->ndim == 1 &&
                   (loss == FV_LOSS_SOFTMAX_CE || loss == FV_LOSS_CATEGORICAL_CE);
    bool sigmoid = out->op == FV_OP_SIGMOID && loss == FV_LOSS_BCE_LOGITS;
    return softmax || sigmoid ? out->in[0] : m->output_node;
}

static fv_status add_loss(fv_model *m, const fv_compile_args *a)
{
    const fv_node *out = &m->nodes[m->output_node];
    int64_t one = 1;
    fv_loss loss = a->loss;
    int sparse = loss == FV_LOSS_SOFTMAX_CE || loss == FV_LOSS_SPARSE_CE_PROBS ||
                 loss == FV_LOSS_HINGE;
    /* per-pixel CE and Dice: (H, W) class indices (the op's infer refuses other outputs) */
    int pixel = (loss == FV_LOSS_PIXEL_CE || loss == FV_LOSS_DICE) && out->ndim >= 2;
    int target = sparse  ? fv_graph_add_input(m, 1, &one, "target")
                 : loss == FV_LOSS_SEQUENCE_CE ? fv_graph_add_input(m, 1, out->dims, "target")
                 : pixel ? fv_graph_add_input(m, out->ndim - 1, out->dims + 1, "target")
                         : fv_graph_add_input(m, out->ndim, out->dims, "target");
    if (target < 0)
        return fv_last_status();
    int ins[2] = {loss_input(m, loss), target};
    fv_attr at = {.loss = {.kind = loss, .smoothing = a->label_smoothing,
                           .delta = a->huber_delta != 0 ? a->huber_delta : 1.0f,
                           .use_ignore = a->use_ignore_label != 0, .ignore = a->ignore_label}};
    fv_op op = loss_op(loss, a->label_smoothing != 0 || a->class_weights);
    int l = fv_graph_add(m, op, 2, ins, op == FV_OP_LOSS || op == FV_OP_PIXEL_LOSS ? &at : NULL,
                         "loss");
    if (l < 0) {
        m->nnodes--; /* drop the target node again */
        return fv_last_status();
    }
    m->target_node = target;
    m->loss_node = l;
    return FV_OK;
}

/* Label smoothing in [0, 1), finite non-negative class weights (copied into the model), a
 * positive Huber delta. */
static fv_status check_loss_args(fv_model *m, const fv_compile_args *a, int out)
{
    if (!(a->label_smoothing >= 0 && a->label_smoothing < 1) || !(a->huber_delta >= 0))
        return fv_err(FV_ERR_INVALID, "model '%s': label_smoothing=%g must be in [0, 1) and "
                      "huber_delta=%g >= 0", m->name, (double)a->label_smoothing,
                      (double)a->huber_delta);
    if (!a->class_weights)
        return FV_OK;
    if (a->loss != FV_LOSS_SOFTMAX_CE && a->loss != FV_LOSS_SPARSE_CE_PROBS &&
        a->loss != FV_LOSS_PIXEL_CE)
        return fv_err(FV_ERR_INVALID, "model '%s': class weights apply to the sparse "
                      "cross-entropy losses", m->name);
    const fv_node *o = &m->nodes[out]; /* per pixel: one weight per channel */
    int64_t k = a->loss == FV_LOSS_PIXEL_CE ? (o->ndim == 3 ? o->dims[0] : 0) : o->size;
    if (k < 1)
        return fv_err(FV_ERR_SHAPE, "model '%s': per-pixel class weights need an output "
                      "(classes, H, W)", m->name);
    for (int64_t i = 0; i < k; i++)
        if (!(a->class_weights[i] >= 0) || isinf(a->class_weights[i]))
            return fv_err(FV_ERR_INVALID, "model '%s': class weight %lld is %g (must be finite "
                          "and >= 0)", m->name, (long long)i, (double)a->class_weights[i]);
    fv_free(m->class_weights);
    m->class_weights = fv_malloc(sizeof(float) * (size_t)k, "class weights");
    if (!m->class_weights)
        return FV_ERR_NOMEM;
    memcpy(m->class_weights, a->class_weights, sizeof(float) * (size_t)k);
    return FV_OK;
}

fv_status fv_model_compile_(fv_model *m, fv_compile_args a)
{
    if (m->compiled)
        return fv_err(FV_ERR_STATE, "model '%s' is already compiled", m->name);
    if (m->first_status != FV_OK) /* a layer call failed: the model is not the one asked for */
        return fv_err(m->first_status, "%s", m->first_error);
    if (m->input_node < 0)
        return fv_err(FV_ERR_STATE, "model '%s' has no input layer", m->name);
    int out = a.output ? a.output : m->nnodes - 1;
    if (out <= 0 || out >= m->nnodes)
        return fv_err(FV_ERR_INVALID, "model '%s': output node %d does not exist", m->name, out);
    if (a.loss < FV_LOSS_NONE || a.loss >= FV_LOSS__COUNT)
        return fv_err(FV_ERR_INVALID, "model '%s': unknown loss %d", m->name, (int)a.loss);
    FV_TRY(check_loss_args(m, &a, out));
    m->output_node = out;
    m->loss = a.loss;
    if (a.loss != FV_LOSS_NONE)
        FV_TRY(add_loss(m, &a));
    fv_rng_seed(&m->rng, a.seed);
    FV_TRY(fv_graph_alloc_params(m));
    m->compiled = 1; /* layers can no longer be added: the parameter layout is fixed */
    if (a.loss != FV_LOSS_NONE)
        return fv_model_set_optimizer(m, a.optimizer);
    m->opt = a.optimizer; /* its state is allocated by the first fv_model_step (nn/loop.c) */
    return FV_OK;
}

fv_status fv_model_resize_inputs(fv_model *m, int on)
{
    const fv_node *in = m->input_node >= 0 ? &m->nodes[m->input_node] : NULL;
    if (on && (!in || in->ndim != 3))
        return fv_err(FV_ERR_SHAPE, "model '%s': resizing inputs needs an image input (C, H, W)",
                      m->name);
    m->resize_inputs = on != 0;
    return FV_OK;
}

fv_status fv_model_set_optimizer(fv_model *m, fv_optimizer opt)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before setting an optimizer", m->name);
    m->opt = opt;
    return fv_optim_init(m);
}

fv_status fv_model_set_lr(fv_model *m, float lr)
{
    if (!m->compiled) /* a model without a loss takes it too: a custom loop's schedule */
        return fv_err(FV_ERR_STATE, "model '%s': compile it before setting a learning rate",
                      m->name);
    if (!(lr >= 0) || isinf(lr))
        return fv_err(FV_ERR_INVALID, "model '%s': learning rate %g is not a finite number >= 0",
                      m->name, (double)lr);
    m->opt.lr = lr;
    return FV_OK;
}

float fv_model_lr(const fv_model *m) { return m->compiled ? m->opt.lr : 0.0f; }

/* The node a layer name refers to: exactly the node of that name, whose parameters are the
 * layer's (a folded activation's own name gives that activation, which owns nothing). */
static fv_node *layer_node(fv_model *m, const char *layer)
{
    int id = fv_model_find_node(m, layer);
    if (id < 0) {
        fv_err(FV_ERR_INVALID, "model '%s' has no layer '%s'", m->name, layer ? layer : "(null)");
        return NULL;
    }
    return &m->nodes[id];
}

fv_status fv_model_set_trainable(fv_model *m, const char *layer, int trainable)
{
    fv_node *n = layer_node(m, layer);
    if (!n)
        return FV_ERR_INVALID;
    n->frozen = !trainable;
    return FV_OK;
}

fv_status fv_model_set_lr_mult(fv_model *m, const char *layer, float mult)
{
    fv_node *n = layer_node(m, layer);
    if (!n)
        return FV_ERR_INVALID;
    if (!(mult >= 0) || isinf(mult))
        return fv_err(FV_ERR_INVALID, "layer '%s': lr_mult=%g must be finite and >= 0", layer,
                      (double)mult);
    n->lr_mult = mult;
    n->frozen = mult == 0;
    return FV_OK;
}
