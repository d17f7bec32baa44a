/* onnx_graph.c - the ONNX graph as the importer walks it: the values by name (a hash table),
 * model-local functions (ModelProto.functions) inlined into their callers with fresh names for
 * their inner values and their attribute references resolved, and the nodes put in a
 * topological order (Kahn), refusing names nothing defines, names written twice and cycles. */
#include "formats/onnx_internal.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

#define OX_INLINE_DEPTH 16

/* ---------------------------------------------------------------- values by name */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static fv_status grow_vals(ox_ctx *c)
{
    int cap = c->cap_vals ? 2 * c->cap_vals : 256;
    ox_val *old = c->vals, *nv = fv_ox_alloc(c, sizeof *nv * (size_t)cap);
    if (!nv)
        return FV_ERR_NOMEM;
    for (int k = 0; k < c->cap_vals; k++)
        if (old[k].name) {
            size_t j = hash_name(old[k].name) & (size_t)(cap - 1);
            while (nv[j].name)
                j = (j + 1) & (size_t)(cap - 1);
            nv[j] = old[k];
        }
    c->vals = nv;
    c->cap_vals = cap;
    return FV_OK;
}

ox_val *fv_ox_val(ox_ctx *c, const char *name, bool make)
{
    if (!name)
        return NULL;
    if (c->cap_vals) {
        size_t j = hash_name(name) & (size_t)(c->cap_vals - 1);
        for (; c->vals[j].name; j = (j + 1) & (size_t)(c->cap_vals - 1))
            if (strcmp(c->vals[j].name, name) == 0)
                return &c->vals[j];
    }
    if (!make)
        return NULL;
    if (2 * (c->nvals + 1) > c->cap_vals && grow_vals(c) != FV_OK)
        return NULL;
    size_t j = hash_name(name) & (size_t)(c->cap_vals - 1);
    while (c->vals[j].name)
        j = (j + 1) & (size_t)(c->cap_vals - 1);
    c->vals[j].name = name;
    c->nvals++;
    return &c->vals[j];
}

/* ---------------------------------------------------------------- inlining */

typedef struct node_list {
    ox_node *v;
    int n, cap;
} node_list;

/* A free slot at the end of the list. */
static ox_node *push(ox_ctx *c, node_list *l)
{
    if (l->n == OX_MAX_NODES) {
        fv_err(FV_ERR_INVALID, "%s: more than %d nodes", c->file, OX_MAX_NODES);
        return NULL;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        ox_node *v = fv_ox_alloc(c, sizeof *v * (size_t)cap);
        if (!v)
            return NULL;
        if (l->n)
            memcpy(v, l->v, sizeof *v * (size_t)l->n);
        l->v = v, l->cap = cap;
    }
    ox_node *n = &l->v[l->n++];
    memset(n, 0, sizeof *n);
    return n;
}

/* How a function's body sees the names of its caller: formal -> actual, others prefixed. */
typedef struct scope {
    const FvOnnx__FunctionProto *fn;
    const ox_node *call; /* the calling node, already renamed into the outer scope */
    char prefix[32];
} scope;

static const char *scoped(ox_ctx *c, const scope *s, const char *name)
{
    if (!s || !*name)
        return name;
    for (size_t k = 0; k < s->fn->n_input; k++)
        if (strcmp(s->fn->input[k], name) == 0)
            return (int)k < s->call->nin ? s->call->in[k] : "";
    for (size_t k = 0; k < s->fn->n_output; k++)
        if (strcmp(s->fn->output[k], name) == 0)
            return (int)k < s->call->nout ? s->call->out[k] : "";
    size_t len = strlen(s->prefix) + strlen(name) + 1;
    char *r = fv_ox_alloc(c, len);
    if (r)
        snprintf(r, len, "%s%s", s->prefix, name);
    return r;
}

static int opset_of(const FvOnnx__OperatorSetIdProto *const *ids, size_t n, int def)
{
    for (size_t k = 0; k < n; k++)
        if ((!ids[k]->domain || !*ids[k]->domain || strcmp(ids[k]->domain, "ai.onnx") == 0) &&
            ids[k]->has_version)
            return ids[k]->version > 1000 ? 1000 : (int)ids[k]->version;
    return def;
}

static const FvOnnx__FunctionProto *find_function(const ox_ctx *c, const char *op,
                                                  const char *domain)
{
    for (size_t k = 0; k < c->proto->n_functions; k++) {
        const FvOnnx__FunctionProto *f = c->proto->functions[k];
        if (f->name && strcmp(f->name, op) == 0 &&
            strcmp(f->domain ? f->domain : "", domain ? domain : "") == 0)
            return f;
    }
    return NULL;
}

static fv_status expand(ox_ctx *c, node_list *l, const FvOnnx__NodeProto *p, const scope *s,
                        int opset, int depth, int *counter);

/* Node p's names and attributes in scope s into n. */
static fv_status fill(ox_ctx *c, ox_node *n, const FvOnnx__NodeProto *p, const scope *s,
                      int opset)
{
    n->op = p->op_type ? p->op_type : "";
    n->domain = p->domain ? p->domain : "";
    n->name = p->name ? p->name : "";
    n->opset = opset;
    if (p->n_input > FV_MAX_IN * 4 || p->n_output > 16 || p->n_attribute > 64)
        return fv_ox_err(c, n, FV_ERR_INVALID, "%zu inputs, %zu outputs, %zu attributes (too "
                         "many)", p->n_input, p->n_output, p->n_attribute);
    n->nin = (int)p->n_input, n->nout = (int)p->n_output;
    n->in = fv_ox_alloc(c, sizeof *n->in * (p->n_input + 1));
    n->out = fv_ox_alloc(c, sizeof *n->out * (p->n_output + 1));
    n->attr = fv_ox_alloc(c, sizeof *n->attr * (p->n_attribute + 1));
    n->attr_name = fv_ox_alloc(c, sizeof *n->attr_name * (p->n_attribute + 1));
    if (!n->in || !n->out || !n->attr || !n->attr_name)
        return FV_ERR_NOMEM;
    for (int k = 0; k < n->nin; k++)
        if (!(n->in[k] = scoped(c, s, p->input[k] ? p->input[k] : "")))
            return FV_ERR_NOMEM;
    for (int k = 0; k < n->nout; k++)
        if (!(n->out[k] = scoped(c, s, p->output[k] ? p->output[k] : "")))
            return FV_ERR_NOMEM;
    for (size_t k = 0; k < p->n_attribute; k++) {
        const FvOnnx__AttributeProto *a = p->attribute[k];
        if (!a->name)
            continue;
        if (a->ref_attr_name && *a->ref_attr_name) { /* the caller's value, if it gave one */
            const FvOnnx__AttributeProto *v = s ? fv_ox_attr(s->call, a->ref_attr_name) : NULL;
            if (!v)
                continue;
            a = v;
        }
        n->attr[n->nattr] = a;
        n->attr_name[n->nattr++] = p->attribute[k]->name;
    }
    return FV_OK;
}

/* Node p of a graph or function body, calls of model-local functions replaced by their bodies. */
static fv_status expand(ox_ctx *c, node_list *l, const FvOnnx__NodeProto *p, const scope *s,
                        int opset, int depth, int *counter)
{
    ox_node tmp;
    memset(&tmp, 0, sizeof tmp);
    FV_TRY(fill(c, &tmp, p, s, opset));
    const FvOnnx__FunctionProto *fn = find_function(c, tmp.op, tmp.domain);
    if (!fn) {
        ox_node *n = push(c, l);
        if (!n)
            return fv_last_status();
        *n = tmp;
        return FV_OK;
    }
    if (depth >= OX_INLINE_DEPTH)
        return fv_ox_err(c, &tmp, FV_ERR_INVALID, "functions nested more than %d deep "
                         "(recursive?)", OX_INLINE_DEPTH);
    scope inner = {.fn = fn, .call = &tmp};
    snprintf(inner.prefix, sizeof inner.prefix, "__fn%d/", (*counter)++);
    int fopset = opset_of((const FvOnnx__OperatorSetIdProto *const *)fn->opset_import,
                          fn->n_opset_import, opset);
    for (size_t k = 0; k < fn->n_node; k++)
        FV_TRY(expand(c, l, fn->node[k], &inner, fopset, depth + 1, counter));
    return FV_OK;
}

/* ---------------------------------------------------------------- order */

static const char *shown(const char *s, char *buf, size_t cap)
{
    return fv_printable(s, buf, cap);
}

/* Records who writes each value; errors: a value written twice or also an input. */
static fv_status producers(ox_ctx *c, const node_list *l)
{
    char b[100];
    for (int i = 0; i < l->n; i++)
        for (int k = 0; k < l->v[i].nout; k++) {
            if (!*l->v[i].out[k])
                continue;
            ox_val *v = fv_ox_val(c, l->v[i].out[k], true);
            if (!v)
                return fv_last_status();
            if (v->producer || v->given)
                return fv_ox_err(c, &l->v[i], FV_ERR_FORMAT, "value '%s' is written twice",
                                 shown(v->name, b, sizeof b));
            v->producer = i + 1;
        }
    return FV_OK;
}

/* Kahn's algorithm: nodes whose inputs are all available first, in the file's order. */
static fv_status sort_nodes(ox_ctx *c, const node_list *l)
{
    int n = l->n;
    int *indeg = fv_ox_alloc(c, sizeof(int) * (size_t)(n + 1));
    int *start = fv_ox_alloc(c, sizeof(int) * (size_t)(n + 2));
    int *queue = fv_ox_alloc(c, sizeof(int) * (size_t)(n + 1));
    if (!indeg || !start || !queue)
        return FV_ERR_NOMEM;
    int64_t edges = 0;
    char b[100];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < l->v[i].nin; k++) {
            const char *name = l->v[i].in[k];
            ox_val *v = *name ? fv_ox_val(c, name, false) : NULL;
            if (*name && (!v || (!v->producer && !v->given)))
                return fv_ox_err(c, &l->v[i], FV_ERR_FORMAT, "input '%s' is not defined (no "
                                 "node, graph input or initializer gives it)",
                                 shown(name, b, sizeof b));
            if (v && v->producer) {
                indeg[i]++;
                start[v->producer - 1]++;
                edges++;
            }
        }
    int *adj = fv_ox_alloc(c, sizeof(int) * (size_t)(edges + 1));
    if (!adj)
        return FV_ERR_NOMEM;
    for (int i = 0, sum = 0; i <= n; i++) { /* counts -> offsets */
        int cnt = i < n ? start[i] : 0;
        start[i] = sum;
        sum += cnt;
    }
    int *fillp = fv_ox_alloc(c, sizeof(int) * (size_t)(n + 1));
    if (!fillp)
        return FV_ERR_NOMEM;
    memcpy(fillp, start, sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < l->v[i].nin; k++) {
            ox_val *v = *l->v[i].in[k] ? fv_ox_val(c, l->v[i].in[k], false) : NULL;
            if (v && v->producer)
                adj[fillp[v->producer - 1]++] = i;
        }
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (!indeg[i])
            queue[tail++] = i;
    c->nodes = fv_ox_alloc(c, sizeof *c->nodes * (size_t)(n + 1));
    if (!c->nodes)
        return FV_ERR_NOMEM;
    while (head < tail) {
        int i = queue[head++];
        c->nodes[c->nnodes++] = l->v[i];
        for (int e = start[i]; e < start[i + 1]; e++)
            if (--indeg[adj[e]] == 0)
                queue[tail++] = adj[e];
    }
    for (int i = 0; i < n; i++)
        if (indeg[i])
            return fv_ox_err(c, &l->v[i], FV_ERR_FORMAT, "the graph has a cycle through this "
                             "node");
    /* producers by the new order */
    for (int i = 0; i < c->nnodes; i++)
        for (int k = 0; k < c->nodes[i].nout; k++)
            if (*c->nodes[i].out[k])
                fv_ox_val(c, c->nodes[i].out[k], false)->producer = i + 1;
    return FV_OK;
}

fv_status fv_ox_graph_nodes(ox_ctx *c)
{
    const FvOnnx__GraphProto *g = c->proto->graph;
    node_list l = {0};
    int counter = 0;
    for (size_t k = 0; k < g->n_node; k++)
        FV_TRY(expand(c, &l, g->node[k], NULL, c->opset, 0, &counter));
    FV_TRY(producers(c, &l));
    FV_TRY(sort_nodes(c, &l));
    for (int i = 0; i < c->nnodes; i++)
        for (int k = 0; k < c->nodes[i].nin; k++) {
            ox_val *v = *c->nodes[i].in[k] ? fv_ox_val(c, c->nodes[i].in[k], false) : NULL;
            if (v)
                v->uses++;
        }
    return FV_OK;
}
