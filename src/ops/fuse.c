/* fuse.c - the inference pass: nodes run forward in evaluation mode, except that a convolution
 * followed by batch norm, then an addition of a tensor computed earlier (a residual shortcut),
 * then ReLU or ReLU6 (each optional, each the sole consumer of the one before) runs as one
 * convolution whose epilogue applies the normalization (folded to a scale and shift per filter:
 * gamma / sqrt(var + eps), beta - mean * scale, with the convolution's bias folded in), the
 * addition and the activation while the output is hot, writing straight into the last node's y.
 * This saves two to four passes over every such activation map (most of ResNet's, MobileNet's,
 * GoogLeNet's). The skipped intermediate outputs are stale afterwards, so visualizations use
 * fv_graph_forward. During the pass m->inferring is set: ops may skip what only backward reads
 * (max pooling's switches, so that stride-1 pools take a values-only kernel). */
#include "ops/ops.h"
#include "ops/quant.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

/* The node that consumes node i alone (node i's one use), at or before end: with near set only
 * node i + 1, else any later node (an importer's topological order may put a branch's ReLU
 * after the other branches' convolutions, as ONNX exports of GoogLeNet do). Running it early,
 * with node i, is safe: nothing before it reads its output, and no other node's output shares
 * its buffer (graph/plan.c). */
static fv_node *sole_use(fv_model *m, int i, int end, int near)
{
    if (m->nodes[i].nuse != 1)
        return NULL;
    for (int j = i + 1; j <= end && (!near || j == i + 1); j++) {
        fv_node *n = &m->nodes[j];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == i)
                return n;
    }
    return NULL;
}

/* sole_use when it takes node i as its first input and has operation `op` (FV_OP__COUNT: any). */
static fv_node *sole_next(fv_model *m, int i, int end, fv_op op, int near)
{
    fv_node *n = sole_use(m, i, end, near);
    return n && (op == FV_OP__COUNT || n->op == op) && n->in[0] == i ? n : NULL;
}

/* The convolution epilogue computing activation node n, or FV_CONV_ACT_NONE. */
static int fusable_act(const fv_node *n)
{
    float alpha;
    fv_act act = n ? fv_node_act(n, &alpha) : FV_ACT_NONE;
    return act == FV_ACT_RELU ? FV_CONV_ACT_RELU
           : act == FV_ACT_RELU6 ? FV_CONV_ACT_RELU6
                                 : FV_CONV_ACT_NONE;
}

/* Folds batch norm bn (after a convolution with bias b, or NULL) into scale and shift, stored in
 * bn's saved buffer (unused in evaluation: backward recomputes it from the running statistics). */
static void fold_bn(fv_model *m, fv_node *bn, const float *b, fv_conv_epilogue *e)
{
    int c = (int)bn->dims[0];
    float *scale = bn->saved, *shift = scale + c;
    const float *g = fv_pdata(m, bn, 0), *beta = fv_pdata(m, bn, 1);
    const float *rm = fv_pdata(m, bn, 2), *rv = fv_pdata(m, bn, 3);
    for (int k = 0; k < c; k++) {
        double s = (double)g[k] / sqrt((double)rv[k] + (double)bn->a.bn.eps);
        scale[k] = (float)s;
        shift[k] = (float)((double)beta[k] - s * (double)rm[k] + (b ? s * (double)b[k] : 0.0));
    }
    e->scale = scale, e->shift = shift;
}

/* The node adding node last, its sole consumer (node last + 1 when near is set), to one other
 * node computed before the chain that starts at node first; *other is that node. */
static fv_node *residual_add(fv_model *m, int first, int last, int end, int near,
                             const fv_node **other)
{
    fv_node *add = sole_use(m, last, end, near);
    if (!add || add->op != FV_OP_ADD || add->nin != 2)
        return NULL;
    int o = add->in[0] == last ? add->in[1] : add->in[0];
    *other = &m->nodes[o];
    return o < first ? add : NULL;
}

/* Runs the chain that starts at convolution i and marks its other nodes in done (NULL: the
 * chain's nodes must follow i one after the other). Returns the chain's last node's index. */
static int run_conv_chain(fv_model *m, int i, int end, int batch, unsigned char *done)
{
    fv_node *conv = &m->nodes[i], *fused[3], *n;
    fv_conv_epilogue e = {.shift = conv->a.conv.bias ? fv_pdata(m, conv, 1) : NULL};
    int near = done == NULL, nf = 0, last = i;
    if ((n = sole_next(m, i, end, FV_OP_BATCHNORM, near))) {
        fold_bn(m, n, e.shift, &e);
        fused[nf++] = n, last = (int)(n - m->nodes);
    }
    const fv_node *other = NULL;
    if ((n = residual_add(m, i, last, end, near, &other))) {
        e.has_res = 1;
        fused[nf++] = n, last = (int)(n - m->nodes);
    }
    n = sole_next(m, last, end, FV_OP__COUNT, near);
    if (fusable_act(n) != FV_CONV_ACT_NONE) {
        e.act = fusable_act(n);
        fused[nf++] = n, last = (int)(n - m->nodes);
    }
    float *out = m->nodes[last].y;
    if (e.has_res) /* both in the arena: one allocation */
        e.res_delta = other->y - out;
    if (!fv_quant_run(m, i, batch, &e, out)) /* int8 when quantized */
        fv_conv2d_forward_into(m, conv, batch, &e, out);
    for (int k = 0; done && k < nf; k++)
        done[fused[k] - m->nodes] = 1;
    return last;
}

/* A quantized dense layer and the ReLU (ReLU6) that is its sole consumer, in int8; returns its
 * last node, or -1 when it ran nothing (not quantized, or out of memory: the float path). */
static int run_qdense_chain(fv_model *m, int i, int end, int batch)
{
    fv_node *n = &m->nodes[i];
    fv_conv_epilogue e = {.shift = n->a.dense.bias ? fv_pdata(m, n, 1) : NULL};
    fv_node *act = sole_next(m, i, end, FV_OP__COUNT, 1);
    e.act = fusable_act(act);
    int last = e.act != FV_CONV_ACT_NONE ? i + 1 : i;
    return fv_quant_run(m, i, batch, &e, m->nodes[last].y) ? last : -1;
}

/* Calibration's look at the input of a conv2d or dense node about to run. */
static void observe(fv_model *m, int i, int batch)
{
    if (m->quant && m->quant->observe)
        m->quant->observe(m->quant->observe_ctx, m, i, batch);
}

/* Graphs of up to this many nodes fuse chains whose nodes are apart (a mark per node on the
 * stack); larger ones only chains of consecutive nodes. */
enum { FAR_FUSE_NODES = 4096 };

void fv_graph_infer(fv_model *m, int batch, int upto)
{
    int end = upto < 0 ? m->nnodes - 1 : upto;
    m->loop_batch = 0; /* the buffers no longer hold fv_model_forward's pass */
    m->inferring = 1;
    unsigned char marks[FAR_FUSE_NODES], *done = m->nnodes <= FAR_FUSE_NODES ? marks : NULL;
    if (done)
        memset(done, 0, (size_t)m->nnodes);
    for (int i = 0; i <= end; i++) {
        fv_node *n = &m->nodes[i];
        int last = -1;
        if (done && done[i])
            continue;
        if ((n->op == FV_OP_CONV2D || n->op == FV_OP_DENSE) && !m->training)
            observe(m, i, batch);
        if (n->op == FV_OP_CONV2D && !m->training) {
            last = run_conv_chain(m, i, end, batch, done);
            i = done ? i : last;
        } else if (n->op == FV_OP_DENSE && !m->training && m->quant &&
                   (last = run_qdense_chain(m, i, end, batch)) >= 0) {
            i = last;
        } else {
            fv_op_table[n->op]->forward(m, n, batch);
        }
    }
    m->inferring = 0;
}
