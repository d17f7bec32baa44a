/* losses.c - the loss catalogue op (FV_OP_LOSS): one op whose attribute names the kind (see
 * fv_loss in fovea.h), reading in[0] = the prediction (N, K) and in[1] = the target ((N, 1) class
 * indices for the sparse kinds, else (N, K)); y[0] holds the batch loss. Class weights live in
 * the model (m->class_weights). Softmax-CE without smoothing or weights and MSE keep their own
 * ops (loss.c). */
#include "kernels/ref/losses_ref.h"
#include "ops/ops.h"

#define MAX_CLASSES 4096 /* the kernels' row scratch */

static fv_loss_geom geom(const fv_model *m, const fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    return (fv_loss_geom){.kind = n->a.loss.kind, .n = batch, .k = x->size,
                          .smoothing = n->a.loss.smoothing, .delta = n->a.loss.delta,
                          .weights = m->class_weights};
}

static fv_status losses_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    int kind = n->a.loss.kind;
    char a[96], b[96];
    int sparse = fv_loss_is_sparse(kind), ok = t->size == (sparse ? 1 : x->size);
    if (kind <= FV_LOSS_NONE || kind >= FV_LOSS__COUNT)
        return fv_err(FV_ERR_INVALID, "layer '%s': unknown loss %d", n->name, kind);
    if (!ok || x->size > MAX_CLASSES || (sparse && x->ndim != 1))
        return fv_err(FV_ERR_SHAPE, "layer '%s': the loss cannot pair prediction '%s' %s with "
                      "target '%s' %s (%s, at most %d values per sample)", n->name, x->name,
                      fv_node_shape_str(x, a, sizeof a), t->name, fv_node_shape_str(t, b, sizeof b),
                      sparse ? "one class index per sample" : "targets of the prediction's shape",
                      MAX_CLASSES);
    n->ndim = 1;
    n->dims[0] = 1;
    return FV_OK;
}

static void losses_forward(fv_model *m, fv_node *n, int batch)
{
    fv_loss_geom g = geom(m, n, batch);
    n->y[0] = (float)fv_ref_loss_fwd_f32(&g, fv_input_node(m, n, 0)->y,
                                         fv_input_node(m, n, 1)->y);
}

static void losses_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (!dx)
        return;
    fv_loss_geom g = geom(m, n, batch);
    fv_ref_loss_bwd_f32(&g, fv_input_node(m, n, 0)->y, fv_input_node(m, n, 1)->y, n->dy[0], dx);
}

static const char *losses_kind(const fv_node *n)
{
    static const char *const kinds[FV_LOSS__COUNT] = {
        [FV_LOSS_SOFTMAX_CE] = "SparseCategoricalCrossentropy",
        [FV_LOSS_SPARSE_CE_PROBS] = "SparseCategoricalCrossentropy",
        [FV_LOSS_CATEGORICAL_CE] = "CategoricalCrossentropy",
        [FV_LOSS_CATEGORICAL_CE_PROBS] = "CategoricalCrossentropy",
        [FV_LOSS_BCE] = "BinaryCrossentropy", [FV_LOSS_BCE_LOGITS] = "BinaryCrossentropy",
        [FV_LOSS_MAE] = "MeanAbsoluteError", [FV_LOSS_HUBER] = "Huber",
        [FV_LOSS_HINGE] = "CategoricalHinge", [FV_LOSS_KL_DIV] = "KLDivergence",
    };
    int k = n->a.loss.kind;
    return k > 0 && k < FV_LOSS__COUNT && kinds[k] ? kinds[k] : "Loss";
}

const fv_op_def fv_op_loss_def = {
    .name = "loss",
    .kind = "Loss",
    .flags = FV_OPF_LOSS, /* the kind is the attribute */
    .infer = losses_infer,
    .forward = losses_forward,
    .backward = losses_backward,
    .kind_of = losses_kind,
};
