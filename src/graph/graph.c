/* graph.c - the static computation graph driven through the op table: adding nodes (naming them,
 * inferring their shapes, rolling back on error), and the forward and reverse-mode backward passes
 * over the DAG. Buffers are planned in plan.c; parameters are declared and laid out in
 * core/params.c. */
#include "graph/graph.h"

#include <string.h>

/* ---------------------------------------------------------------- nodes */

int fv_graph_resolve(fv_model *m, int in, const char *layer)
{
    if (in == FV_LAST)
        in = m->nnodes - 1;
    if (in < 0 || in >= m->nnodes) {
        if (m->nnodes == 0)
            fv_err(FV_ERR_STATE, "layer '%s': the model has no input yet (add fv_input first)",
                   layer);
        else
            fv_err(FV_ERR_INVALID, "layer '%s': input node %d does not exist (model has %d)",
                   layer, in, m->nnodes);
        return -1;
    }
    return in;
}

static fv_status grow_nodes(fv_model *m)
{
    if (m->nnodes < m->cap_nodes)
        return FV_OK;
    int cap = m->cap_nodes ? 2 * m->cap_nodes : 16;
    fv_node *nodes = fv_realloc(m->nodes, sizeof *nodes * (size_t)m->cap_nodes,
                                sizeof *nodes * (size_t)cap, "graph nodes");
    if (!nodes)
        return FV_ERR_NOMEM;
    m->nodes = nodes;
    m->cap_nodes = cap;
    return FV_OK;
}

static int name_taken(const fv_model *m, const char *name)
{
    for (int i = 0; i < m->nnodes; i++)
        if (strcmp(m->nodes[i].name, name) == 0)
            return 1;
    return 0;
}

/* "<stem><k>" with the first k that is free: conv2d1, conv2d2, ... */
static void auto_name(fv_model *m, fv_op op, char *out)
{
    const char *stem = fv_op_table[op]->name;
    do
        snprintf(out, FV_NAME_LEN, "%s%d", stem, ++m->name_counter[op]);
    while (name_taken(m, out));
}

static fv_status set_name(fv_model *m, fv_node *n, fv_op op, const char *name)
{
    if (!name || !*name) {
        auto_name(m, op, n->name);
        return FV_OK;
    }
    if (strlen(name) >= FV_NAME_LEN)
        return fv_err(FV_ERR_INVALID, "layer name '%.40s...' is longer than %d characters", name,
                      FV_NAME_LEN - 1);
    /* dots separate module paths as in PyTorch ("layer1.0.conv1"), so not first, last or twice */
    size_t len = strlen(name);
    int bad_dot = name[0] == '.' || name[len - 1] == '.' || strstr(name, "..") != NULL;
    for (const char *p = name; *p && !bad_dot; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            bad_dot = 1;
    if (bad_dot)
        return fv_err(FV_ERR_INVALID, "layer name '%s': quotes, control characters and a '.' "
                      "at either end or twice in a row are not allowed", name);
    if (name_taken(m, name))
        return fv_err(FV_ERR_INVALID, "layer name '%s' is used twice", name);
    snprintf(n->name, FV_NAME_LEN, "%s", name);
    return FV_OK;
}

static fv_status check_size(fv_node *n)
{
    int64_t s = 1;
    for (int i = 0; i < n->ndim; i++) {
        if (n->dims[i] <= 0 || s > (INT64_MAX >> 20) / n->dims[i]) {
            char b[96];
            return fv_err(FV_ERR_SHAPE, "layer '%s': output shape %s is empty or too large",
                          n->name, fv_shape_str(n->ndim, n->dims, b, sizeof b));
        }
        s *= n->dims[i];
    }
    n->size = s;
    return FV_OK;
}

/* Adds the node; on any error the graph and parameter list are as before. */
static int add_node(fv_model *m, fv_op op, int nin, const int *ins, const fv_attr *a,
                    const char *name, const fv_node *proto)
{
    if (m->compiled) {
        fv_err(FV_ERR_STATE, "model '%s': cannot add layers after compile", m->name);
        return -1;
    }
    if (nin < 0 || nin > FV_MAX_IN) {
        fv_err(FV_ERR_INVALID, "layer '%s': %d inputs (at most %d)", name ? name : "?", nin,
               FV_MAX_IN);
        return -1;
    }
    if (grow_nodes(m) != FV_OK)
        return -1;
    fv_node *n = &m->nodes[m->nnodes];
    if (proto)
        *n = *proto;
    else
        memset(n, 0, sizeof *n);
    n->op = op;
    int saved_counter = m->name_counter[op], saved_nparams = m->nparams;
    if (set_name(m, n, op, name) != FV_OK)
        return -1;
    n->nin = nin;
    for (int i = 0; i < nin; i++) {
        int id = fv_graph_resolve(m, ins[i], n->name);
        if (id < 0)
            goto rollback;
        n->in[i] = id;
    }
    if (a)
        n->a = *a;
    if (fv_op_table[op]->infer(m, n) != FV_OK || check_size(n) != FV_OK)
        goto rollback;
    return m->nnodes++;
rollback:
    m->name_counter[op] = saved_counter;
    m->nparams = saved_nparams;
    return -1;
}

int fv_graph_add(fv_model *m, fv_op op, int nin, const int *ins, const fv_attr *a,
                 const char *name)
{
    return add_node(m, op, nin, ins, a, name, NULL);
}

/* An input node: its shape is given rather than inferred. */
int fv_graph_add_input(fv_model *m, int ndim, const int64_t *dims, const char *name)
{
    if (ndim < 1 || ndim > 4) {
        fv_err(FV_ERR_SHAPE, "input '%s': %d dimensions per sample (expected 1..4)",
               name ? name : "input", ndim);
        return -1;
    }
    fv_node proto;
    memset(&proto, 0, sizeof proto);
    proto.ndim = ndim;
    memcpy(proto.dims, dims, sizeof(int64_t) * (size_t)ndim);
    return add_node(m, FV_OP_INPUT, 0, NULL, NULL, name, &proto);
}

/* ---------------------------------------------------------------- passes */

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
