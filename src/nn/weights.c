/* weights.c - a model's parameters to and from safetensors files (names like "conv1.weight",
 * PyTorch layouts), so PyTorch's tooling reads what fovea writes and the reverse. Loading reads
 * each parameter straight from the file into a staging copy of the model's parameters. */
#include "core/internal.h"
#include "io/io.h"

#include <string.h>

fv_status fv_model_save_weights(const fv_model *m, const char *path)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before saving weights", m->name);
    int n = m->nparams;
    const char **names = fv_calloc((size_t)n + 1, sizeof *names, "weight names");
    fv_tensor *views = fv_calloc((size_t)n + 1, sizeof *views, "weight views");
    const fv_tensor **ptrs = fv_calloc((size_t)n + 1, sizeof *ptrs, "weight list");
    fv_status st = names && views && ptrs ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; st == FV_OK && i < n; i++) {
        const fv_param *p = &m->params[i];
        fv_tensor *v = &views[i];
        v->ndim = p->ndim;
        int64_t s = 1;
        for (int d = p->ndim - 1; d >= 0; d--) {
            v->dims[d] = p->dims[d];
            v->strides[d] = s;
            s *= p->dims[d];
        }
        v->data = m->data_slab + p->offset;
        names[i] = p->name;
        ptrs[i] = v;
    }
    if (st == FV_OK)
        st = fv_st_save(path, n, names, ptrs);
    fv_free(names);
    fv_free(views);
    fv_free(ptrs);
    return st;
}

static fv_status check_shape(const char *path, const fv_param *p, int ndim, const int64_t *dims)
{
    int same = ndim == p->ndim;
    for (int d = 0; same && d < p->ndim; d++)
        same = dims[d] == p->dims[d];
    if (same)
        return FV_OK;
    char a[96], b[96];
    return fv_err(FV_ERR_SHAPE, "%s: tensor '%s' has shape %s, the model expects %s", path,
                  p->name, fv_shape_str(ndim, dims, a, sizeof a),
                  fv_shape_str(p->ndim, p->dims, b, sizeof b));
}

/* Parameter p's values from f into dst, after its presence, dtype and shape are checked. */
static fv_status read_param(const fv_st_file *f, const fv_param *p, float *dst)
{
    const char *path = fv_st_path(f);
    int i = fv_st_find(f, p->name);
    if (i < 0)
        return fv_err(FV_ERR_FORMAT, "%s: missing tensor '%s' (shape %s)", path, p->name,
                      fv_shape_str(p->ndim, p->dims, (char[96]){0}, 96));
    FV_TRY(fv_st_check_dtype(f, i));
    int64_t dims[FV_MAX_DIMS] = {1};
    int nd = fv_st_shape(f, i, dims);
    FV_TRY(check_shape(path, p, nd ? nd : 1, dims)); /* a scalar counts as shape (1) */
    return fv_st_read(f, i, dst);
}

fv_status fv_model_load_weights_st(fv_model *m, const fv_st_file *f)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before loading weights", m->name);
    /* stage everything first: on any error the model keeps its weights */
    float *stage = fv_malloc(sizeof(float) * (size_t)(m->param_total + 1), "weights being loaded");
    fv_status st = stage ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; st == FV_OK && i < m->nparams; i++)
        st = read_param(f, &m->params[i], stage + m->params[i].offset);
    if (st == FV_OK)
        memcpy(m->data_slab, stage, sizeof(float) * (size_t)m->param_total);
    fv_free(stage);
    return st;
}

fv_status fv_model_load_weights(fv_model *m, const char *path)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before loading weights", m->name);
    fv_st_file *f = fv_st_open(path);
    if (!f)
        return fv_last_status(); /* I/O, format or out of memory, as fv_st_open found */
    fv_status st = fv_model_load_weights_st(m, f);
    fv_st_close(f);
    return st;
}
