/* plan.c - planning a model's buffers for a batch size: one arena holding every node's output y
 * and saved state (kept for the whole step: backward reads them), and the output gradients dy,
 * which share memory by liveness. In the backward pass (nodes in decreasing order) node j's dy
 * is first written by its last consumer (index last_use) and last read by j's own backward, so
 * it lives over the node interval [j, last_use]; nodes nothing consumes (the loss, unused heads)
 * are seeded before the pass and live over [j, nnodes]. Intervals that overlap get disjoint
 * memory, placed greedily, largest first, at the lowest offset free over its interval (the
 * "greedy by size" offset assignment of TensorFlow Lite's memory planner). This bounds the dy
 * memory by the widest cut of the graph instead of the sum of all activations. In the same
 * (shared) mode a ReLU runs in place: its output takes its input's buffer when nothing else
 * reads that input and the input's own backward does not read its output (batch norm, add,
 * convolution, dense); ReLU's backward gates by relu(x) > 0, which is x > 0. */
#include "graph/graph.h"

#include <stdlib.h>
#include <string.h>

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

void fv_graph_mark_grads(fv_model *m)
{
    for (int i = 0; i < m->nnodes; i++) {
        fv_node *n = &m->nodes[i];
        if (n->op == FV_OP_INPUT) {
            n->needs_grad = m->input_grad && i == m->input_node;
            continue;
        }
        n->needs_grad = 0;
        for (int k = 0; k < n->nparam && !n->frozen; k++) /* frozen: no parameter gradient */
            n->needs_grad |= m->params[n->param[k]].trainable;
        for (int k = 0; k < n->nin; k++)
            n->needs_grad |= m->nodes[n->in[k]].needs_grad;
    }
}

static void mark_last_use(fv_model *m)
{
    for (int i = 0; i < m->nnodes; i++)
        m->nodes[i].last_use = -1, m->nodes[i].nuse = 0;
    for (int i = 0; i < m->nnodes; i++)
        for (int k = 0; k < m->nodes[i].nin; k++) {
            fv_node *x = &m->nodes[m->nodes[i].in[k]];
            x->last_use = i;
            x->nuse++;
        }
}

/* One dy buffer to place: live over node indices [lo, hi], `bytes` long, at `off`. */
typedef struct slot {
    int lo, hi, node;
    size_t bytes, off;
} slot;

static int by_size_desc(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->node - y->node; /* deterministic order among equals */
}

static int by_offset(const void *a, const void *b)
{
    const slot *x = *(const slot *const *)a, *y = *(const slot *const *)b;
    return (x->off > y->off) - (x->off < y->off);
}

/* Places s[i] at the lowest offset that does not collide with the already placed s[0..i) whose
 * intervals overlap its own; `tmp` has room for i pointers. Returns the end of s[i]. */
static size_t place(slot *s, int i, const slot **tmp)
{
    int n = 0;
    for (int k = 0; k < i; k++)
        if (s[k].lo <= s[i].hi && s[i].lo <= s[k].hi)
            tmp[n++] = &s[k];
    qsort(tmp, (size_t)n, sizeof *tmp, by_offset);
    size_t off = 0;
    for (int k = 0; k < n; k++) {
        if (tmp[k]->off >= off + s[i].bytes)
            break; /* the gap before tmp[k] is large enough */
        if (tmp[k]->off + tmp[k]->bytes > off)
            off = tmp[k]->off + tmp[k]->bytes;
    }
    s[i].off = off;
    return off + s[i].bytes;
}

/* Sets slot offsets (indexed by node in `at`) for dy buffers of `batch` samples; returns the
 * bytes they need together, or (size_t)-1 when out of memory. share = 0: no overlap at all. */
static size_t plan_dy(const fv_model *m, int batch, int share, size_t *at)
{
    int n = m->nnodes;
    slot *s = fv_malloc(sizeof *s * (size_t)n + 1, "buffer plan");
    const slot **tmp = fv_malloc(sizeof *tmp * (size_t)n + 1, "buffer plan");
    if (!s || !tmp) {
        fv_free(s), fv_free(tmp);
        return (size_t)-1;
    }
    for (int i = 0; i < n; i++) {
        const fv_node *x = &m->nodes[i];
        int hi = x->last_use < 0 ? n : x->last_use;
        s[i] = (slot){share ? i : 0, share ? hi : n, i,
                      align64(sizeof(float) * (size_t)x->size * (size_t)batch), 0};
    }
    qsort(s, (size_t)n, sizeof *s, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t end = place(s, i, tmp);
        total = end > total ? end : total;
        at[s[i].node] = s[i].off;
    }
    fv_free(s), fv_free(tmp);
    return total;
}

/* Node i's output shares its input's buffer (see the file comment). */
static int in_place(const fv_model *m, int i, int share)
{
    const fv_node *n = &m->nodes[i];
    if (!share || !(fv_op_table[n->op]->flags & FV_OPF_IN_PLACE) || n->nin != 1)
        return 0;
    const fv_node *x = &m->nodes[n->in[0]];
    return x->nuse == 1 && n->in[0] != m->input_node && n->in[0] != m->output_node &&
           (x->op == FV_OP_BATCHNORM || x->op == FV_OP_ADD || x->op == FV_OP_CONV2D ||
            x->op == FV_OP_DENSE);
}

/* Bytes of the y and saved buffers, and the largest per-worker workspace. */
static size_t plan_outputs(const fv_model *m, int batch, int share, size_t *work)
{
    size_t total = 0;
    *work = 0;
    for (int i = 0; i < m->nnodes; i++) {
        const fv_node *n = &m->nodes[i];
        const fv_op_def *d = fv_op_table[n->op];
        if (!in_place(m, i, share))
            total += align64(sizeof(float) * (size_t)n->size * (size_t)batch);
        total += d->saved_bytes ? align64(d->saved_bytes(m, n, batch)) : 0;
        if (d->workspace_bytes) {
            size_t w = d->workspace_bytes(m, n, batch);
            *work = w > *work ? w : *work;
        }
    }
    return total;
}

/* Points every node's y, saved and dy into the arena p (64-byte aligned). */
static void assign(fv_model *m, int batch, int share, char *p, const size_t *dy_at)
{
    for (int i = 0; i < m->nnodes; i++) {
        fv_node *n = &m->nodes[i];
        const fv_op_def *d = fv_op_table[n->op];
        if (in_place(m, i, share)) {
            n->y = m->nodes[n->in[0]].y;
        } else {
            n->y = (float *)p;
            p += align64(sizeof(float) * (size_t)n->size * (size_t)batch);
        }
        n->saved_bytes = d->saved_bytes ? d->saved_bytes(m, n, batch) : 0;
        n->saved = n->saved_bytes ? p : NULL;
        p += align64(n->saved_bytes);
    }
    for (int i = 0; i < m->nnodes; i++)
        m->nodes[i].dy = (float *)(p + dy_at[i]);
}

void fv_graph_drop_plan(fv_model *m)
{
    fv_free(m->arena);
    fv_free(m->workspace_mem);
    m->arena = m->workspace_mem = NULL;
    m->workspace = NULL;
    m->plan_batch = 0;
    m->loop_batch = 0;
}

fv_status fv_graph_plan_ex(fv_model *m, int batch, int share_grads)
{
    if (batch < 1)
        return fv_err(FV_ERR_INVALID, "model '%s': batch size %d (must be >= 1)", m->name, batch);
    fv_graph_mark_grads(m);
    int threads = fv_num_threads();
    share_grads = share_grads != 0;
    /* a plan with private dy buffers serves every request */
    if (m->arena && batch <= m->plan_batch && threads == m->plan_threads &&
        share_grads >= m->plan_shared)
        return FV_OK;
    batch = batch > m->plan_batch ? batch : m->plan_batch;
    mark_last_use(m);
    size_t work, *dy_at = fv_malloc(sizeof *dy_at * (size_t)m->nnodes + 1, "buffer plan");
    size_t outs = plan_outputs(m, batch, share_grads, &work);
    size_t grads = dy_at ? plan_dy(m, batch, share_grads, dy_at) : (size_t)-1;
    fv_graph_drop_plan(m);
    size_t stride = align64(work);
    char *arena = grads != (size_t)-1 ? fv_malloc(outs + grads + 64, "activation buffers") : NULL;
    char *ws = arena ? fv_malloc(stride * (size_t)threads + 64, "workspace") : NULL;
    if (!arena || !ws) {
        fv_free(arena), fv_free(ws), fv_free(dy_at);
        return FV_ERR_NOMEM;
    }
    memset(arena, 0, outs + grads + 64);
    assign(m, batch, share_grads, (char *)(((uintptr_t)arena + 63) & ~(uintptr_t)63), dy_at);
    fv_free(dy_at);
    m->arena = arena;
    m->workspace_mem = ws;
    m->workspace = (float *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
    m->workspace_bytes = work;
    m->workspace_stride = stride;
    m->plan_threads = threads;
    m->plan_batch = batch;
    m->plan_shared = share_grads;
    return FV_OK;
}

fv_status fv_graph_plan(fv_model *m, int batch)
{
    return fv_graph_plan_ex(m, batch, 1);
}
