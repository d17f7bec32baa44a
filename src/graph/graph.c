/* graph.c - the static computation graph driven through the op table: the forward and
 * reverse-mode backward passes over the DAG. Nodes are added in ops/node.c, buffers planned in
 * plan.c; parameters are declared and laid out in core/params.c. */
#include "graph/graph.h"

#include <string.h>

void fv_graph_forward(fv_model *m, int batch, int upto)
{
    int end = upto < 0 ? m->nnodes - 1 : upto;
    m->loop_batch = 0; /* the buffers no longer hold fv_model_forward's pass */
    for (int i = 0; i <= end; i++)
        fv_op_table[m->nodes[i].op]->forward(m, &m->nodes[i], batch);
}

fv_status fv_graph_check(const fv_model *m, int upto)
{
    int end = upto < 0 ? m->nnodes - 1 : upto;
    for (int i = 0; i <= end; i++) {
        const fv_op_def *d = fv_op_table[m->nodes[i].op];
        if (d->check)
            FV_TRY(d->check(m, &m->nodes[i]));
    }
    return FV_OK;
}

static void zero_share(void *ctx, int t, int64_t a, int64_t b)
{
    (void)t;
    memset((float *)ctx + a, 0, sizeof(float) * (size_t)(b - a));
}

/* Zeroes a node's dy, large ones spread over the pool (memory-bound, and otherwise the one
 * serial stretch between two parallel ops). */
static void zero_dy(fv_node *n, int batch)
{
    int64_t count = n->size * batch;
    int width = fv_parallel_width((int)(count / 65536 + 1));
    if (width == 1)
        memset(n->dy, 0, sizeof(float) * (size_t)count);
    else
        fv_parallel_shares(width, count, zero_share, n->dy);
}

/* With shared dy buffers only the roots of the backward pass (nodes nothing consumes) are zeroed
 * here; the others when their first writer is about to run (fv_graph_run_backward). */
void fv_graph_zero_grads(fv_model *m, int batch)
{
    for (int i = 0; i < m->nnodes; i++) {
        fv_node *n = &m->nodes[i];
        if (n->needs_grad && (!m->plan_shared || n->last_use < 0))
            zero_dy(n, batch);
    }
    memset(m->grad_slab, 0, sizeof(float) * (size_t)m->trainable_total);
}

/* Whether n's backward overwrites input k's dy whole, k being its only input from that node
 * (with two, the second would add to the first). */
static int overwrites(const fv_node *n, int k)
{
    for (int j = 0; j < n->nin; j++)
        if (j != k && n->in[j] == n->in[k])
            return 0;
    return fv_op_table[n->op]->overwrites_dx;
}

/* Node i's backward; with shared buffers it is the first to write the dy of the inputs whose
 * last consumer it is, which it overwrites (stale) or which are zeroed first. */
static void backward_node(fv_model *m, int i, int batch)
{
    fv_node *n = &m->nodes[i];
    if (!n->needs_grad || n->op == FV_OP_INPUT)
        return;
    for (int k = 0; m->plan_shared && k < n->nin; k++) {
        fv_node *x = &m->nodes[n->in[k]];
        if (!x->needs_grad || x->last_use != i)
            continue;
        if (overwrites(n, k))
            x->dy_fresh = 1;
        else
            zero_dy(x, batch);
    }
    fv_op_table[n->op]->backward(m, n, batch);
    for (int k = 0; k < n->nin; k++)
        m->nodes[n->in[k]].dy_fresh = 0;
}

void fv_graph_run_backward(fv_model *m, int batch)
{
    for (int i = m->nnodes - 1; i >= 0; i--) {
        backward_node(m, i, batch);
        if (m->grad_ready) /* data-parallel fit: starts the gradient sums now final */
            m->grad_ready(m, i, m->grad_ctx);
    }
}

/* Whether node x's dy is live when the pass over [0, end] starts: no node of the pass is its
 * first writer (it has no consumer there), or buffers are not shared. */
static int live_at_start(const fv_model *m, const fv_node *x, int end)
{
    return !m->plan_shared || x->last_use < 0 || x->last_use > end;
}

/* dy += g over `count` values. */
static void add_seed(float *dy, const float *g, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        dy[i] += g[i];
}

void fv_graph_backward_seeded(fv_model *m, int batch, int end, int k, const int *nodes,
                              const float *const *dy)
{
    for (int i = 0; i <= end; i++)
        if (m->nodes[i].needs_grad && live_at_start(m, &m->nodes[i], end))
            zero_dy(&m->nodes[i], batch);
    for (int j = 0; j < k; j++) {
        fv_node *x = &m->nodes[nodes[j]];
        if (x->needs_grad && live_at_start(m, x, end))
            add_seed(x->dy, dy[j], x->size * batch);
    }
    for (int i = end; i >= 0; i--) {
        backward_node(m, i, batch);
        for (int j = 0; j < k; j++) { /* seeds whose buffer node i's backward just started */
            fv_node *x = &m->nodes[nodes[j]];
            if (x->needs_grad && !live_at_start(m, x, end) && x->last_use == i)
                add_seed(x->dy, dy[j], x->size * batch);
        }
    }
}

void fv_graph_backward(fv_model *m, int batch)
{
    fv_graph_zero_grads(m, batch);
    m->nodes[m->loss_node].dy[0] = 1.0f;
    fv_graph_run_backward(m, batch);
}
