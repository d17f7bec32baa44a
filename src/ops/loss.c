/* loss.c - the loss ops the compile step appends: softmax cross-entropy from logits and mean
 * squared error. A loss node reads in[0] = the prediction (N, ...) and in[1] = the target input
 * node; its one-value sample output holds, in y[0], the batch-mean loss. Backward is seeded by
 * dy[0] and reaches only the prediction, never the target. */
#include "kernels/ref/loss_ref.h"
#include "ops/ops.h"

/* Both operands exist (the graph resolved them); the error names the layer and both shapes. */
static fv_status shape_error(const fv_node *n, const fv_node *x, const fv_node *t,
                             const char *what)
{
    char a[96], b[96];
    return fv_err(FV_ERR_SHAPE, "layer '%s': %s: prediction '%s' %s, target '%s' %s", n->name,
                  what, x->name, fv_node_shape_str(x, a, sizeof a), t->name,
                  fv_node_shape_str(t, b, sizeof b));
}

static fv_status loss_arity(const fv_node *n)
{
    if (n->nin != 2)
        return fv_err(FV_ERR_INVALID, "layer '%s': a loss takes 2 inputs (prediction, target), "
                      "got %d", n->name, n->nin);
    return FV_OK;
}

static void set_scalar_shape(fv_node *n)
{
    n->ndim = 1;
    n->dims[0] = 1;
}

/* ---------------------------------------------------------------- softmax cross-entropy */

static fv_status ce_infer(fv_model *m, fv_node *n)
{
    FV_TRY(loss_arity(n));
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    if (x->ndim != 1)
        return shape_error(n, x, t, "softmax cross-entropy needs logits of shape (None, classes)");
    if (x->dims[0] > INT32_MAX)
        return shape_error(n, x, t, "too many classes");
    if (t->ndim != 1 || t->dims[0] != 1)
        return shape_error(n, x, t, "the target must be one class index per sample (None, 1)");
    set_scalar_shape(n);
    return FV_OK;
}

/* The softmax probabilities of the batch, kept for backward. */
static size_t ce_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    return sizeof(float) * (size_t)fv_input_node(m, n, 0)->size * (size_t)batch;
}

static void ce_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    n->y[0] = (float)fv_ref_softmax_ce_fwd_f32(x->y, t->y, n->saved, batch, x->size);
}

static void ce_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (!dx)
        return;
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    fv_ref_softmax_ce_bwd_f32(n->saved, t->y, n->dy[0], dx, batch, x->size);
}

const fv_op_def fv_op_softmax_ce_def = {
    .name = "softmax_ce",
    .kind = "SoftmaxCrossEntropy",
    .flags = FV_OPF_LOSS, /* without label smoothing or class weights (else the catalogue op) */
    .loss = FV_LOSS_SOFTMAX_CE,
    .infer = ce_infer,
    .saved_bytes = ce_saved_bytes,
    .forward = ce_forward,
    .backward = ce_backward,
};

/* ---------------------------------------------------------------- mean squared error */

static fv_status mse_infer(fv_model *m, fv_node *n)
{
    FV_TRY(loss_arity(n));
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    int same = x->ndim == t->ndim;
    for (int i = 0; same && i < x->ndim; i++)
        same = x->dims[i] == t->dims[i];
    if (!same)
        return shape_error(n, x, t, "mean squared error needs the same shape");
    set_scalar_shape(n);
    return FV_OK;
}

static void mse_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    n->y[0] = (float)fv_ref_mse_fwd_f32(x->y, t->y, x->size * batch);
}

static void mse_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (!dx)
        return;
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    fv_ref_mse_bwd_f32(x->y, t->y, n->dy[0], dx, x->size * batch);
}

const fv_op_def fv_op_mse_def = {
    .name = "mse",
    .kind = "MeanSquaredError",
    .flags = FV_OPF_LOSS | FV_OPF_SOLE,
    .loss = FV_LOSS_MSE,
    .infer = mse_infer,
    .forward = mse_forward,
    .backward = mse_backward,
};
