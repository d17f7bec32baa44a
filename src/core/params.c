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

void fv_param_init(fv_model *m, const fv_param *p)
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
        fv_param_init(m, &m->params[i]);
    return FV_OK;
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
