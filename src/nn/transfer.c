/* transfer.c - reusing a trained network (transfer learning): freezing and unfreezing layers by
 * name lists and shell patterns or everything up to a layer, and replacing the head (the last
 * dense layer) for another number of classes, also on a compiled model whose other parameters
 * keep their values. Loading weights by name lives in weights.c. */
#include "core/internal.h"
#include "graph/graph.h"

#include <fnmatch.h>
#include <string.h>

/* ---------------------------------------------------------------- freezing */

/* "conv1, conv2,..." for a message: the names of the layers with parameters, cut to fit. */
static const char *layer_list(const fv_model *m, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < m->nnodes && at + 1 < len; i++) {
        if (!m->nodes[i].nparam)
            continue;
        int k = snprintf(buf + at, len - at, "%s%s", at ? ", " : "", m->nodes[i].name);
        at = k < 0 || (size_t)k >= len - at ? len : at + (size_t)k;
    }
    if (at >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}

static fv_status no_layer(const fv_model *m, const char *what)
{
    char list[240];
    return fv_err(FV_ERR_INVALID, "model '%s' has no layer '%s' (layers with parameters: %s)",
                  m->name, what, layer_list(m, list, sizeof list));
}

/* The next comma-separated item of *s (blanks around it removed) into item; 0 at the end. */
static int next_item(const char **s, char *item, size_t len)
{
    while (**s == ',' || **s == ' ')
        (*s)++;
    if (!**s)
        return 0;
    size_t n = strcspn(*s, ",");
    size_t k = n < len - 1 ? n : len - 1;
    memcpy(item, *s, k);
    while (k && item[k - 1] == ' ')
        k--;
    item[k] = 0;
    *s += n;
    return 1;
}

/* Applies (set) or only checks every item of the list: each must match some node. */
static fv_status match_all(fv_model *m, const char *patterns, int trainable, int set)
{
    char item[FV_NAME_LEN * 2];
    const char *s = patterns;
    int any = 0;
    while (next_item(&s, item, sizeof item)) {
        int hit = 0;
        any = 1;
        for (int i = 0; i < m->nnodes; i++) {
            if (fnmatch(item, m->nodes[i].name, 0) != 0)
                continue;
            hit = 1;
            if (set)
                m->nodes[i].frozen = !trainable;
        }
        if (!hit)
            return no_layer(m, item);
    }
    return any ? FV_OK : fv_err(FV_ERR_INVALID, "model '%s': no layer names in '%s'", m->name,
                                patterns);
}

fv_status fv_model_set_trainable_match(fv_model *m, const char *patterns, int trainable)
{
    if (!patterns)
        return fv_err(FV_ERR_INVALID, "model '%s': no layer names given", m->name);
    FV_TRY(match_all(m, patterns, trainable, 0)); /* all or nothing */
    return match_all(m, patterns, trainable, 1);
}

fv_status fv_model_set_trainable_upto(fv_model *m, const char *layer, int trainable)
{
    int id = fv_model_find_node(m, layer);
    if (id < 0)
        return no_layer(m, layer ? layer : "(null)");
    for (int i = 0; i <= id; i++)
        m->nodes[i].frozen = !trainable;
    return FV_OK;
}

/* ---------------------------------------------------------------- replacing the head */

/* The prediction node: the compiled output, else the node added last. */
static int output_of(const fv_model *m)
{
    return m->compiled ? m->output_node : m->nnodes - 1;
}

/* The head: the dense layer the output comes from through layers without parameters and with
 * one input (activations, dropout). */
static fv_status find_head(const fv_model *m, int *head)
{
    int i = output_of(m);
    while (i > 0 && m->nodes[i].op != FV_OP_DENSE && !m->nodes[i].nparam &&
           m->nodes[i].nin == 1)
        i = m->nodes[i].in[0];
    if (i <= 0 || m->nodes[i].op != FV_OP_DENSE)
        return fv_err(FV_ERR_INVALID, "model '%s': the output does not come from a dense layer "
                      "(it comes from '%s'), so there is no head to replace", m->name,
                      m->nodes[i > 0 ? i : output_of(m)].name);
    *head = i;
    return FV_OK;
}

/* Whether node j reads node i where the head's chain does not: the chain's next node, and the
 * loss reading the output. */
static int reads_off_chain(const fv_model *m, int j, int i, int next)
{
    for (int k = 0; k < m->nodes[j].nin; k++)
        if (m->nodes[j].in[k] == i && j != next && j != m->loss_node)
            return 1;
    return 0;
}

int fv_model_head(const fv_model *m)
{
    int head = -1;
    return find_head(m, &head) == FV_OK ? head : -1;
}

/* The chain head -> output must feed nothing else (its shapes change). */
static fv_status check_chain(const fv_model *m, int head)
{
    int out = output_of(m), next = -1; /* next: the chain node reading i */
    for (int i = out;; next = i, i = m->nodes[i].in[0]) {
        for (int j = i + 1; j < m->nnodes; j++)
            if (reads_off_chain(m, j, i, next))
                return fv_err(FV_ERR_INVALID, "model '%s': layer '%s' reads '%s', whose shape a "
                              "new head would change", m->name, m->nodes[j].name,
                              m->nodes[i].name);
        if (i == head)
            return FV_OK;
    }
}

/* Runs shape inference again from the head to the output (and the target and loss). */
static fv_status reinfer_chain(fv_model *m, int head)
{
    int out = output_of(m), chain[64], n = 0;
    for (int i = out; n < 64; i = m->nodes[i].in[0]) {
        chain[n++] = i;
        if (i == head)
            break;
    }
    FV_CHECK(chain[n - 1] == head);
    for (int k = n - 1; k >= 0; k--)
        FV_TRY(fv_graph_reinfer(m, chain[k]));
    if (!m->compiled || m->loss_node < 0)
        return FV_OK;
    fv_node *t = &m->nodes[m->target_node], *o = &m->nodes[out];
    int sparse = m->loss == FV_LOSS_SOFTMAX_CE || m->loss == FV_LOSS_SPARSE_CE_PROBS ||
                 m->loss == FV_LOSS_HINGE; /* a class index, as compile's target */
    if (!sparse) { /* a target of the output's shape */
        t->ndim = o->ndim;
        memcpy(t->dims, o->dims, sizeof t->dims);
        t->size = o->size;
    }
    return fv_graph_reinfer(m, m->loss_node);
}

/* New slabs for the changed parameter sizes: every parameter keeps its values except the
 * head's, initialised afresh; the plan and the optimizer state start over. Out of memory: the
 * model is left as it was. */
static fv_status relayout(fv_model *m, int head)
{
    int64_t off = 0, trainable = 0;
    int64_t *at = fv_malloc(sizeof(int64_t) * (size_t)m->nparams + 1, "parameter offsets");
    for (int i = 0; at && i < m->nparams; i++)
        trainable += m->params[i].trainable ? m->params[i].numel : 0;
    for (int pass = 1; at && pass >= 0; pass--) /* trainable first, as fv_graph_alloc_params */
        for (int i = 0; i < m->nparams; i++)
            if (m->params[i].trainable == pass)
                at[i] = off, off += m->params[i].numel;
    float *data = at ? fv_calloc((size_t)off + 1, sizeof(float), "parameters") : NULL;
    float *grad = data ? fv_calloc((size_t)trainable + 1, sizeof(float), "gradients") : NULL;
    float *state = grad && m->opt_state ? fv_calloc(3 * (size_t)trainable + 1, sizeof(float),
                                                    "optimizer state")
                                        : NULL;
    if (!grad || (m->opt_state && !state)) {
        fv_free(at), fv_free(data), fv_free(grad), fv_free(state);
        return FV_ERR_NOMEM;
    }
    for (int i = 0; i < m->nparams; i++) {
        fv_param *p = &m->params[i];
        int64_t before = p->offset;
        p->offset = at[i];
        if (p->node != head)
            memcpy(data + p->offset, m->data_slab + before, sizeof(float) * (size_t)p->numel);
    }
    fv_free(m->data_slab), fv_free(m->grad_slab), fv_free(at);
    m->data_slab = data, m->grad_slab = grad;
    m->param_total = off, m->trainable_total = trainable;
    for (int i = 0; i < m->nparams; i++)
        if (m->params[i].node == head)
            FV_TRY(fv_param_init(m, i)); /* the slabs are in place: the model stays whole */
    fv_graph_drop_plan(m);
    if (!state)
        return FV_OK;
    fv_free(m->opt_state); /* the optimizer starts over (Keras' recompile) */
    m->opt_state = state;
    m->opt_steps = 0, m->opt_mu_product = 1.0;
    return FV_OK;
}

/* The metadata that no longer fits: class names of the old outputs, the architecture text. */
static void drop_meta(fv_model *m)
{
    for (int k = 0; m->class_names && k < m->meta_classes; k++)
        fv_free(m->class_names[k]);
    fv_free(m->class_names);
    fv_free(m->arch_text);
    m->class_names = NULL, m->arch_text = NULL, m->meta_classes = 0;
}

fv_status fv_model_replace_head(fv_model *m, int n_classes)
{
    if (n_classes < 1)
        return fv_err(FV_ERR_INVALID, "model '%s': a head of %d classes (must be >= 1)", m->name,
                      n_classes);
    if (m->first_status != FV_OK)
        return fv_err(m->first_status, "%s", m->first_error);
    int head = 0;
    FV_TRY(find_head(m, &head));
    FV_TRY(check_chain(m, head));
    fv_node *h = &m->nodes[head];
    if (m->class_weights && h->a.dense.units != n_classes)
        return fv_err(FV_ERR_INVALID, "model '%s': it was compiled with class weights for %d "
                      "classes, so its head cannot change to %d", m->name, h->a.dense.units,
                      n_classes);
    int units = h->a.dense.units;
    h->a.dense.units = n_classes;
    fv_status st = reinfer_chain(m, head);
    if (st == FV_OK && m->data_slab)
        st = relayout(m, head);
    if (st != FV_OK) { /* back to the old shapes (which fitted before) */
        m->nodes[head].a.dense.units = units;
        reinfer_chain(m, head);
        return st;
    }
    h = &m->nodes[head];
    h->frozen = 0, h->lr_mult = 0; /* a new head trains */
    drop_meta(m);
    return FV_OK;
}
