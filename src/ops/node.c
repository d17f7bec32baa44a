/* node.c - adding a node to a model's graph: naming it, resolving its inputs, running its op's
 * shape inference (which declares its parameters) and rolling back on error. It lives with the
 * ops because it only needs their infer functions; graph/ runs the nodes forward and backward. */
#include "ops/node.h"

#include <stdbool.h>
#include <string.h>

/* ---------------------------------------------------------------- nodes */

const int *fv_model_keep_ints(fv_model *m, const int *v, int n)
{
    int **table = fv_grow_table(m->int_lists, &m->cap_int_lists, m->n_int_lists, sizeof *table,
                                4, "attribute lists");
    if (!table)
        return NULL;
    m->int_lists = table;
    int *copy = fv_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1), "attribute list");
    if (!copy)
        return NULL;
    if (n > 0)
        memcpy(copy, v, sizeof(int) * (size_t)n);
    m->int_lists[m->n_int_lists++] = copy;
    return copy;
}

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
    fv_node *table = fv_grow_table(m->nodes, &m->cap_nodes, m->nnodes, sizeof *table, 16,
                                   "graph nodes");
    if (!table)
        return FV_ERR_NOMEM;
    m->nodes = table;
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

/* ---------------------------------------------------------------- inputs too small */

#define SIDE_MAX 8192      /* the largest input side tried (images are limited to 2^26 pixels) */
#define SEARCH_NODES 10000 /* larger graphs are not searched (each try infers them all) */

/* Whether nodes 0..last (last: the node that failed, not yet added) infer with the image input
 * made at least s x s: a copy of the graph with a parameter table of its own runs every infer
 * again (parameters are only declared), leaving m as it was. */
static bool passes_at(const fv_model *m, int last, int64_t s, fv_node *copy)
{
    fv_model t = *m;
    t.nodes = copy, t.params = NULL, t.nparams = t.cap_params = 0;
    memcpy(copy, m->nodes, sizeof *copy * (size_t)(last + 1));
    fv_node *in = &copy[m->input_node];
    in->dims[1] = in->dims[1] > s ? in->dims[1] : s;
    in->dims[2] = in->dims[2] > s ? in->dims[2] : s;
    bool ok = check_size(in) == FV_OK;
    for (int i = 0; ok && i <= last; i++) {
        if (copy[i].op == FV_OP_INPUT)
            continue;
        copy[i].nparam = 0;
        ok = fv_op_table[copy[i].op]->infer(&t, &copy[i]) == FV_OK && check_size(&copy[i]) == FV_OK;
    }
    fv_free(t.params);
    return ok;
}

/* After node `last` failed to infer: when the image input (C, H, W) was too small for it (it
 * infers with larger inputs), the error says so and names the smallest input that gets through
 * it (searched by doubling, then bisection: the feature maps of such chains grow with the
 * input). Other errors are left as they are. The layers after it are not known yet, so a model
 * file may need more; fv_zoo searches its whole network instead. */
static void explain_small_input(fv_model *m, int last)
{
    const fv_node *in = m->input_node >= 0 ? &m->nodes[m->input_node] : NULL;
    if (!in || in->ndim != 3 || m->no_size_search || last >= SEARCH_NODES)
        return;
    fv_status st = fv_last_status();
    char msg[512], a[64], b[64];
    snprintf(msg, sizeof msg, "%s", fv_last_error());
    fv_node *copy = fv_malloc(sizeof *copy * (size_t)(last + 1), "node copy");
    int64_t lo = in->dims[1] < in->dims[2] ? in->dims[1] : in->dims[2], hi = lo;
    bool found = false;
    while (copy && !found && hi < SIDE_MAX) {
        lo = hi, hi = 2 * hi < SIDE_MAX ? 2 * hi : SIDE_MAX;
        found = passes_at(m, last, hi, copy);
    }
    while (found && hi - lo > 1) { /* lo fails, hi passes */
        int64_t mid = lo + (hi - lo) / 2;
        *(passes_at(m, last, mid, copy) ? &hi : &lo) = mid;
    }
    /* too small, not a mismatch (a reshape passes at one size only): larger inputs pass too */
    int64_t twice = 2 * hi < SIDE_MAX ? 2 * hi : SIDE_MAX;
    found = found && (twice == hi || passes_at(m, last, twice, copy));
    fv_free(copy);
    if (!found) {
        fv_err(st, "%s", msg);
        return;
    }
    snprintf(a, sizeof a, "%lldx%lldx%lld", (long long)in->dims[0], (long long)in->dims[1],
             (long long)in->dims[2]);
    snprintf(b, sizeof b, "%lldx%lldx%lld", (long long)in->dims[0],
             (long long)(in->dims[1] > hi ? in->dims[1] : hi),
             (long long)(in->dims[2] > hi ? in->dims[2] : hi));
    fv_err(st, "%s: the input %s is too small for this layer (the smallest input that gets "
           "through it is %s)", msg, a, b);
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
    if (fv_op_table[op]->infer(m, n) != FV_OK || check_size(n) != FV_OK) {
        m->nparams = saved_nparams;
        explain_small_input(m, m->nnodes);
        goto rollback;
    }
    return m->nnodes++;
rollback:
    m->name_counter[op] = saved_counter;
    m->nparams = saved_nparams;
    return -1;
}

fv_status fv_graph_reinfer(fv_model *m, int id)
{
    FV_CHECK(id >= 0 && id < m->nnodes);
    fv_node *n = &m->nodes[id], saved = *n;
    int base = m->nparams;
    n->nparam = 0;
    fv_status st = fv_op_table[n->op]->infer(m, n);
    if (st == FV_OK)
        st = check_size(n);
    if (st == FV_OK && n->nparam != saved.nparam)
        st = fv_err(FV_ERR_STATE, "internal error: layer '%s' declared %d parameters, not %d",
                    n->name, n->nparam, saved.nparam);
    for (int k = 0; st == FV_OK && k < n->nparam; k++) { /* into the old slots */
        fv_param *p = &m->params[saved.param[k]];
        int64_t offset = p->offset;
        *p = m->params[n->param[k]];
        p->offset = offset;
        n->param[k] = saved.param[k];
    }
    m->nparams = base;
    if (st != FV_OK)
        *n = saved;
    return st;
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

fv_status fv_need_chw(const fv_node *n, const fv_node *x, const char *what)
{
    char s[96];
    if (x->ndim != 3)
        return fv_err(FV_ERR_SHAPE, "layer '%s': %s%sneeds a (channels, height, width) input, got "
                      "'%s' %s", n->name, what ? what : "", what ? " " : "", x->name,
                      fv_node_shape_str(x, s, sizeof s));
    return FV_OK;
}
