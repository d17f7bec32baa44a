/* graph.c - the static computation graph: adding nodes (with shape inference and rollback),
 * declaring parameters, the parameter slabs, and the forward and reverse-mode backward passes over
 * the DAG (buffers are planned in plan.c). */
#include "core/internal.h"

#include <math.h>
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

fv_status fv_param_declare(fv_model *m, fv_node *n, const char *what, int ndim,
                           const int64_t *dims, int trainable, fv_init init, int64_t fan_in,
                           int64_t fan_out)
{
    FV_CHECK(n->nparam < FV_MAX_PARAMS && ndim >= 1 && ndim <= 4);
    if (m->nparams == m->cap_params) {
        int cap = m->cap_params ? 2 * m->cap_params : 32;
        fv_param *p = fv_realloc(m->params, sizeof *p * (size_t)m->cap_params,
                                 sizeof *p * (size_t)cap, "parameter table");
        if (!p)
            return FV_ERR_NOMEM;
        m->params = p;
        m->cap_params = cap;
    }
    fv_param *p = &m->params[m->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", n->name, what);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->dims[i] = dims[i];
        p->numel *= dims[i];
    }
    p->trainable = trainable;
    p->init = init;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    p->node = (int)(n - m->nodes);
    n->param[n->nparam++] = m->nparams++;
    return FV_OK;
}

/* ---------------------------------------------------------------- parameters */

static void init_param(fv_model *m, const fv_param *p)
{
    float *x = m->data_slab + p->offset;
    switch (p->init) {
    case FV_INIT_ZEROS:
        memset(x, 0, sizeof(float) * (size_t)p->numel);
        break;
    case FV_INIT_ONES:
    case FV_INIT_QUARTER:
        for (int64_t i = 0; i < p->numel; i++)
            x[i] = p->init == FV_INIT_ONES ? 1.0f : 0.25f;
        break;
    case FV_INIT_GLOROT_UNIFORM: {
        double a = sqrt(6.0 / (double)(p->fan_in + p->fan_out));
        for (int64_t i = 0; i < p->numel; i++)
            x[i] = (float)((2.0 * fv_rng_uniform(&m->rng) - 1.0) * a);
        break;
    }
    }
}

fv_status fv_graph_alloc_params(fv_model *m)
{
    /* trainable parameters first, so optimizers loop over one prefix */
    int64_t off = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (int i = 0; i < m->nparams; i++)
            if (m->params[i].trainable == pass) {
                m->params[i].offset = off;
                off += m->params[i].numel;
            }
    m->trainable_total = 0;
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].trainable)
            m->trainable_total += m->params[i].numel;
    m->param_total = off;
    fv_free(m->data_slab);
    fv_free(m->grad_slab);
    m->data_slab = fv_calloc((size_t)off + 1, sizeof(float), "parameters");
    m->grad_slab = fv_calloc((size_t)m->trainable_total + 1, sizeof(float), "gradients");
    if (!m->data_slab || !m->grad_slab)
        return FV_ERR_NOMEM;
    for (int i = 0; i < m->nparams; i++)
        init_param(m, &m->params[i]);
    return FV_OK;
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

const char *fv_node_shape_str(const fv_node *n, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "(None");
    for (int i = 0; i < n->ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, ", %lld", (long long)n->dims[i]);
    if (o < len)
        snprintf(buf + o, len - o, ")");
    return buf;
}
