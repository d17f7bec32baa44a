/* params.c - the parameters of a model's nodes: declared by ops during shape inference, laid out
 * at compile in one slab (trainable first) with a gradient slab of the same offsets, and
 * initialised; and a node's shape as text. Knows no op: adding and running nodes is graph/. */
#include "core/internal.h"

#include <math.h>
#include <string.h>

fv_status fv_param_declare(fv_model *m, fv_node *n, const char *what, int ndim,
                           const int64_t *dims, int trainable, fv_init init, int64_t fan_in,
                           int64_t fan_out)
{
    FV_CHECK(n->nparam < FV_MAX_PARAMS && ndim >= 1 && ndim <= 4);
    fv_param *table = fv_grow_table(m->params, &m->cap_params, m->nparams, sizeof *table, 32,
                                    "parameter table");
    if (!table)
        return FV_ERR_NOMEM;
    m->params = table;
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

/* The initializer of parameter i: the layer's choice (fv_node.init) for its weight (parameter
 * 0) and bias (parameter 1) where it made one, else the op's. */
static fv_init_rule param_rule(const fv_model *m, int i)
{
    const fv_param *p = &m->params[i];
    const fv_node *n = &m->nodes[p->node];
    fv_init_rule r = {.kind = p->init};
    if (n->nparam > 0 && n->param[0] == i)
        r = n->init.weight;
    else if (n->nparam > 1 && n->param[1] == i)
        r = n->init.bias;
    if (r.kind == FV_INIT_DEFAULT)
        r.kind = p->init;
    return r;
}

fv_status fv_param_init(fv_model *m, int i)
{
    const fv_param *p = &m->params[i];
    fv_init_rule r = param_rule(m, i);
    fv_status st = fv_init_fill(m->data_slab + p->offset, p->ndim, p->dims, p->fan_in, p->fan_out,
                                &r, &m->rng);
    if (st == FV_OK || st == FV_ERR_NOMEM)
        return st;
    char why[256];
    snprintf(why, sizeof why, "%s", fv_last_error());
    return fv_err(st, "parameter '%s': %s", p->name, why);
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
    for (int i = 0; i < m->nparams; i++) {
        fv_param *p = &m->params[i];
        if (p->preset)
            memcpy(m->data_slab + p->offset, p->preset, sizeof(float) * (size_t)p->numel);
        else
            FV_TRY(fv_param_init(m, i));
    }
    fv_param_presets_free(m, 0);
    return FV_OK;
}

fv_status fv_param_preset(fv_model *m, int i, const float *v)
{
    FV_CHECK(i >= 0 && i < m->nparams && !m->compiled);
    fv_param *p = &m->params[i];
    float *copy = fv_malloc(sizeof(float) * (size_t)p->numel, "parameter values");
    if (!copy)
        return FV_ERR_NOMEM;
    memcpy(copy, v, sizeof(float) * (size_t)p->numel);
    fv_free(p->preset);
    p->preset = copy;
    return FV_OK;
}

void fv_param_presets_free(fv_model *m, int from)
{
    for (int i = from; i < m->nparams; i++) {
        fv_free(m->params[i].preset);
        m->params[i].preset = NULL;
    }
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
