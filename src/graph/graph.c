/* graph.c - the static computation graph driven through the op table: the forward and
 * reverse-mode backward passes over the DAG. Nodes are added in ops/node.c, buffers planned in
 * plan.c; parameters are declared and laid out in core/params.c. */
#include "graph/graph.h"

#include <string.h>

void fv_graph_forward(fv_model *m, int batch, int upto)
{
    int end = upto < 0 ? m->nnodes - 1 : upto;
    for (int i = 0; i <= end; i++)
        fv_op_table[m->nodes[i].op]->forward(m, &m->nodes[i], batch);
}

typedef struct zero_job {
    float *p;
    int64_t count;
    int width;
} zero_job;

static void zero_task(void *ctx, int k)
{
    const zero_job *j = ctx;
    int64_t a, b;
    fv_split(j->count, j->width, k, &a, &b);
    memset(j->p + a, 0, sizeof(float) * (size_t)(b - a));
}

/* Zeroes a node's dy, large ones spread over the pool (memory-bound, and otherwise the one
 * serial stretch between two parallel ops). */
static void zero_dy(fv_node *n, int batch)
{
    int64_t count = n->size * batch;
    zero_job j = {n->dy, count, fv_parallel_width((int)(count / 65536 + 1))};
    if (j.width == 1)
        memset(n->dy, 0, sizeof(float) * (size_t)count);
    else
        fv_parallel(j.width, zero_task, &j);
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

void fv_graph_run_backward(fv_model *m, int batch)
{
    for (int i = m->nnodes - 1; i >= 0; i--) {
        fv_node *n = &m->nodes[i];
        if (!n->needs_grad || n->op == FV_OP_INPUT)
            continue;
        for (int k = 0; m->plan_shared && k < n->nin; k++) { /* n is the first to write dx */
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
}

void fv_graph_backward(fv_model *m, int batch)
{
    fv_graph_zero_grads(m, batch);
    m->nodes[m->loss_node].dy[0] = 1.0f;
    fv_graph_run_backward(m, batch);
}
