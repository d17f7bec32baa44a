/* segloss.c - the per-pixel loss op (FV_OP_PIXEL_LOSS; segmentation): one op whose attribute
 * names the kind (FV_LOSS_PIXEL_CE, FV_LOSS_DICE, FV_LOSS_PIXEL_BCE), reading in[0] = the
 * logits (N, C, H, W) and in[1] = the target, (N, H, W) class indices (CE, Dice) or the logits'
 * shape (BCE). Class weights live in the model (m->class_weights); y[0] is the batch loss.
 * The same op computes the per-step cross-entropy of sequences (FV_LOSS_SEQUENCE_CE): logits
 * (N, T, V) with the classes last, targets (N, T), steps whose target is the ignore label
 * (padding) left out. */
#include "kernels/ref/segloss_ref.h"
#include "ops/ops.h"

/* The per-step CE's shapes: logits (steps, classes >= 2), targets (steps). */
static fv_status seq_shapes(const fv_node *n, const fv_node *x, const fv_node *t)
{
    if (x->ndim == 2 && x->dims[1] >= 2 && t->size == x->dims[0])
        return FV_OK;
    char a[96], b[96];
    return fv_err(FV_ERR_SHAPE, "layer '%s': the per-step cross-entropy needs logits (steps, "
                  "classes >= 2) and a target (steps) of class indices, got prediction '%s' %s, "
                  "target '%s' %s", n->name, x->name, fv_node_shape_str(x, a, sizeof a), t->name,
                  fv_node_shape_str(t, b, sizeof b));
}

/* Per pixel: (C, H, W) logits; per step: (T, V), the classes last. */
static fv_segloss_geom geom(const fv_model *m, const fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int seq = n->a.loss.kind == FV_LOSS_SEQUENCE_CE, c = (int)x->dims[seq ? 1 : 0];
    return (fv_segloss_geom){.kind = n->a.loss.kind, .n = batch, .c = c,
                             .hw = x->size / (c ? c : 1),
                             .use_ignore = n->a.loss.use_ignore, .ignore = n->a.loss.ignore,
                             .weights = n->a.loss.kind == FV_LOSS_PIXEL_CE ? m->class_weights
                                                                           : NULL};
}

static fv_status pixel_infer(fv_model *m, fv_node *n)
{
    if (n->nin != 2)
        return fv_err(FV_ERR_INVALID, "layer '%s': a loss takes 2 inputs (prediction, target), "
                      "got %d", n->name, n->nin);
    const fv_node *x = fv_input_node(m, n, 0), *t = fv_input_node(m, n, 1);
    int kind = n->a.loss.kind, bce = kind == FV_LOSS_PIXEL_BCE, ok = x->ndim == 3;
    n->ndim = 1;
    n->dims[0] = 1;
    if (kind == FV_LOSS_SEQUENCE_CE)
        return seq_shapes(n, x, t);
    if (kind != FV_LOSS_PIXEL_CE && kind != FV_LOSS_DICE && !bce)
        return fv_err(FV_ERR_INVALID, "layer '%s': %d is not a per-pixel loss", n->name, kind);
    for (int i = 0; ok && i < t->ndim; i++) /* the target: (H, W), or (C, H, W) for BCE */
        ok = t->ndim == (bce ? 3 : 2) && t->dims[i] == x->dims[i + !bce];
    if (!ok || x->dims[0] > FV_SEG_MAX_CLASSES || (!bce && x->dims[0] < 2)) {
        char a[96], b[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': a per-pixel loss needs logits (classes, H, W) "
                      "with 2..%d classes (BCE: 1..%d) and a target %s, got prediction '%s' %s, "
                      "target '%s' %s", n->name, FV_SEG_MAX_CLASSES, FV_SEG_MAX_CLASSES,
                      bce ? "of the same shape" : "(H, W) of class indices", x->name,
                      fv_node_shape_str(x, a, sizeof a), t->name,
                      fv_node_shape_str(t, b, sizeof b));
    }
    return FV_OK;
}

static void pixel_forward(fv_model *m, fv_node *n, int batch)
{
    fv_segloss_geom g = geom(m, n, batch);
    n->y[0] = (float)fv_ref_segloss_fwd_f32(&g, fv_input_node(m, n, 0)->y,
                                            fv_input_node(m, n, 1)->y);
}

static void pixel_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (!dx)
        return;
    fv_segloss_geom g = geom(m, n, batch);
    fv_ref_segloss_bwd_f32(&g, fv_input_node(m, n, 0)->y, fv_input_node(m, n, 1)->y, n->dy[0],
                           dx);
}

static const char *pixel_kind(const fv_node *n)
{
    return n->a.loss.kind == FV_LOSS_SEQUENCE_CE ? "SequenceCrossEntropy"
           : n->a.loss.kind == FV_LOSS_DICE      ? "DiceLoss"
           : n->a.loss.kind == FV_LOSS_PIXEL_BCE ? "PixelBinaryCrossentropy"
                                                 : "PixelCrossEntropy";
}

const fv_op_def fv_op_pixel_loss_def = {
    .name = "pixel_loss",
    .kind = "PixelLoss",
    .flags = FV_OPF_LOSS, /* the kind is the attribute */
    .infer = pixel_infer,
    .forward = pixel_forward,
    .backward = pixel_backward,
    .kind_of = pixel_kind,
};
