/* loop.c - custom training loops (Keras' train_step, PyTorch's explicit loop): forward a batch,
 * read any node's output, push gradients given for any nodes back through the model (adding to
 * the parameter gradients and, when asked, giving the input's), zero the gradients, and step the
 * optimizer. Losses computed outside the graph (a detector's multibox or RPN loss) and models
 * chained by the caller (a head's input gradient fed to a backbone) train this way. */
#include "core/internal.h"
#include "graph/graph.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>

/* The last node a forward computes: the target and loss nodes need targets, which are absent. */
static int last_node(const fv_model *m)
{
    return m->target_node >= 0 ? m->target_node - 1 : m->nnodes - 1;
}

fv_status fv_model_forward(fv_model *m, const float *x, int n)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before forward", m->name);
    if (!x || n < 1)
        return fv_err(FV_ERR_INVALID, "model '%s': forward of %d samples (need x and n >= 1)",
                      m->name, n);
    FV_TRY(fv_graph_plan(m, n));
    fv_node *in = &m->nodes[m->input_node];
    memcpy(in->y, x, sizeof(float) * (size_t)n * (size_t)in->size);
    fv_graph_forward(m, n, last_node(m));
    FV_TRY(fv_graph_check(m, last_node(m)));
    m->loop_batch = n;
    return FV_OK;
}

/* A node of the last forward pass: -1 is the prediction output. */
static fv_status check_node(const fv_model *m, int *node, const char *what)
{
    if (*node == -1 && m->output_node >= 0)
        *node = m->output_node;
    if (*node < 0 || *node > last_node(m))
        return fv_err(FV_ERR_INVALID, "model '%s': %s: no node %d (the forward pass computes "
                      "nodes 0 to %d; -1: the output)", m->name, what, *node, last_node(m));
    return FV_OK;
}

static fv_status check_forward(const fv_model *m, const char *what)
{
    if (!m->compiled || m->loop_batch < 1)
        return fv_err(FV_ERR_STATE, "model '%s': %s before fv_model_forward (or another pass "
                      "has used the buffers since)", m->name, what);
    return FV_OK;
}

/* A ReLU computed in place (graph/plan.c) has overwritten its input's values. */
static int overwritten(const fv_model *m, int node)
{
    for (int i = node + 1; i < m->nnodes; i++)
        if (m->nodes[i].nin == 1 && m->nodes[i].in[0] == node &&
            m->nodes[i].y == m->nodes[node].y)
            return i;
    return 0;
}

const float *fv_model_node_output(const fv_model *m, int node)
{
    if (check_forward(m, "node output") != FV_OK || check_node(m, &node, "node output") != FV_OK)
        return NULL;
    int by = overwritten(m, node);
    if (by) {
        fv_err(FV_ERR_INVALID, "model '%s': node %d ('%s') is overwritten in place by node %d "
               "('%s'); read that node", m->name, node, m->nodes[node].name, by,
               m->nodes[by].name);
        return NULL;
    }
    return m->nodes[node].y;
}

/* Each listed node once, a real node, every dy value finite. */
static fv_status check_seeds(const fv_model *m, int k, int *nodes, const float *const *dy)
{
    if (k < 0 || (k > 0 && (!nodes || !dy)))
        return fv_err(FV_ERR_INVALID, "model '%s': backward: %d gradients (need nodes and dy)",
                      m->name, k);
    for (int j = 0; j < k; j++) {
        FV_TRY(check_node(m, &nodes[j], "backward"));
        for (int i = 0; i < j; i++)
            if (nodes[i] == nodes[j])
                return fv_err(FV_ERR_INVALID, "model '%s': backward: node %d ('%s') is listed "
                              "twice", m->name, nodes[j], m->nodes[nodes[j]].name);
        const fv_node *x = &m->nodes[nodes[j]];
        int64_t count = x->size * m->loop_batch;
        if (!dy[j])
            return fv_err(FV_ERR_INVALID, "model '%s': backward: no dy for node %d ('%s')",
                          m->name, nodes[j], x->name);
        for (int64_t i = 0; i < count; i++)
            if (!isfinite(dy[j][i]))
                return fv_err(FV_ERR_NUMERIC, "model '%s': backward: dy of node %d ('%s') is %g "
                              "at index %lld", m->name, nodes[j], x->name, (double)dy[j][i],
                              (long long)i);
    }
    return FV_OK;
}

fv_status fv_model_backward(fv_model *m, int k, const int *nodes, const float *const *dy,
                            float *dx)
{
    FV_TRY(check_forward(m, "backward"));
    int ids[64];
    if (k > (int)(sizeof ids / sizeof *ids))
        return fv_err(FV_ERR_INVALID, "model '%s': backward: %d gradients (at most 64)", m->name,
                      k);
    for (int j = 0; j < k && nodes; j++)
        ids[j] = nodes[j];
    FV_TRY(check_seeds(m, k, k > 0 && nodes ? ids : NULL, dy));
    int was = m->input_grad, n = m->loop_batch;
    m->input_grad = dx != NULL; /* the input node's dy is filled only when asked */
    fv_graph_mark_grads(m);
    fv_graph_backward_seeded(m, n, last_node(m), k, ids, dy);
    fv_node *in = &m->nodes[m->input_node];
    if (dx)
        memcpy(dx, in->dy, sizeof(float) * (size_t)n * (size_t)in->size);
    m->input_grad = was;
    fv_graph_mark_grads(m);
    return FV_OK;
}

void fv_model_zero_grad(fv_model *m)
{
    if (m->compiled && m->grad_slab)
        memset(m->grad_slab, 0, sizeof(float) * (size_t)m->trainable_total);
}

fv_status fv_model_step(fv_model *m)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before step", m->name);
    if (!m->opt_state && m->trainable_total > 0)
        FV_TRY(fv_optim_init(m)); /* compiled without a loss: the optimizer starts here */
    fv_optim_step(m);
    fv_model_zero_grad(m);
    return FV_OK;
}
