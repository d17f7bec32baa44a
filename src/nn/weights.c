/* weights.c - a model's parameters to and from safetensors files (names like "conv1.weight",
 * PyTorch layouts), so PyTorch's tooling reads what fovea writes and the reverse: writing with the
 * model's metadata (class names, input shape, normalization, data set, architecture text), the
 * strict load (every parameter, all or nothing) and the partial load of transfer learning (by
 * name, with a report of what loaded, what was new and what was skipped). Loading reads each
 * parameter straight from the file into a staging copy of the model's parameters. */
#include "core/internal.h"
#include "io/io.h"
#include "io/torch_pt.h"
#include "nn/weights.h"

#include <cjson/cJSON.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* A tensor name from a file for a message: controls and invalid UTF-8 escaped. */
#define SHOWN(name) fv_printable((name), (char[204]){0}, 204)

/* ---------------------------------------------------------------- metadata */

/* Adds key = value; value NULL: out of memory (cJSON's printers return NULL), `own` it. */
static fv_status meta_put(fv_meta_pairs *p, const char *key, char *value, int own)
{
    if (!value)
        return fv_err(FV_ERR_NOMEM, "out of memory writing the metadata '%s'", key);
    if (own)
        p->owned[p->nowned++] = value;
    p->kv[p->n++] = key;
    p->kv[p->n++] = value;
    p->kv[p->n] = NULL;
    return FV_OK;
}

/* A cJSON value printed compactly (cJSON allocates with malloc: freed with free). */
static char *json_text(cJSON *j)
{
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

fv_status fv_meta_pairs_add(fv_meta_pairs *p, const char *key, const char *value)
{
    if (p->n + 3 > (int)(sizeof p->kv / sizeof p->kv[0]))
        return fv_err(FV_ERR_INVALID, "metadata '%s': too many entries", key);
    return meta_put(p, key, (char *)value, 0);
}

static char *classes_json(const fv_model *m)
{
    cJSON *a = cJSON_CreateArray();
    for (int k = 0; a && k < m->meta_classes; k++) {
        cJSON *s = cJSON_CreateString(m->class_names[k]);
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return json_text(a);
}

static char *input_json(const fv_model *m)
{
    const fv_node *in = &m->nodes[m->input_node];
    double d[4];
    for (int i = 0; i < in->ndim; i++)
        d[i] = (double)in->dims[i];
    return json_text(cJSON_CreateDoubleArray(d, in->ndim));
}

static char *norm_json(const fv_model *m)
{
    cJSON *o = cJSON_CreateObject();
    if (o && (!cJSON_AddNumberToObject(o, "mean", (double)m->norm_mean) ||
              !cJSON_AddNumberToObject(o, "std", (double)m->norm_std))) {
        cJSON_Delete(o);
        return NULL;
    }
    return json_text(o);
}

fv_status fv_meta_pairs_of(const fv_model *m, const char *arch, fv_meta_pairs *p)
{
    memset(p, 0, sizeof *p);
    arch = arch ? arch : m->arch_text;
    FV_TRY(meta_put(p, FV_META_VERSION, (char *)FV_VERSION, 0));
    if (arch)
        FV_TRY(meta_put(p, FV_META_ARCH, (char *)arch, 0));
    if (m->input_node >= 0)
        FV_TRY(meta_put(p, FV_META_INPUT, input_json(m), 1));
    if (m->class_names)
        FV_TRY(meta_put(p, FV_META_CLASSES, classes_json(m), 1));
    if (m->norm_std > 0)
        FV_TRY(meta_put(p, FV_META_NORM, norm_json(m), 1));
    if (m->dataset)
        FV_TRY(meta_put(p, FV_META_DATASET, m->dataset, 0));
    return FV_OK;
}

void fv_meta_pairs_free(fv_meta_pairs *p)
{
    for (int i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    p->nowned = 0;
}

/* ---------------------------------------------------------------- writing */

void fv_param_view(const fv_model *m, int i, fv_tensor *v)
{
    const fv_param *p = &m->params[i];
    v->ndim = p->ndim;
    int64_t s = 1;
    for (int d = p->ndim - 1; d >= 0; d--) {
        v->dims[d] = p->dims[d];
        v->strides[d] = s;
        s *= p->dims[d];
    }
    v->data = m->data_slab + p->offset;
}

fv_status fv_weights_write(const fv_model *m, const char *path, const char *arch)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before saving weights", m->name);
    int n = m->nparams;
    const char **names = fv_calloc((size_t)n + 1, sizeof *names, "weight names");
    fv_tensor *views = fv_calloc((size_t)n + 1, sizeof *views, "weight views");
    const fv_tensor **ptrs = fv_calloc((size_t)n + 1, sizeof *ptrs, "weight list");
    fv_status st = names && views && ptrs ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; st == FV_OK && i < n; i++) {
        fv_param_view(m, i, &views[i]);
        names[i] = m->params[i].name;
        ptrs[i] = &views[i];
    }
    fv_meta_pairs meta = {.n = 0};
    if (st == FV_OK)
        st = fv_meta_pairs_of(m, arch, &meta);
    if (st == FV_OK)
        st = fv_st_save_meta(path, n, names, ptrs, meta.kv);
    fv_meta_pairs_free(&meta);
    fv_free(names);
    fv_free(views);
    fv_free(ptrs);
    return st;
}

/* ---------------------------------------------------------------- loading */

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
    if (fv_st_meta(f, FV_META_INT8)) /* an int8 model file (nn/quantize.c) */
        return fv_quant_load_st(m, f);
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
    fv_st_file *f = fv_weights_open(path); /* safetensors or torch.save */
    if (!f)
        return fv_last_status(); /* I/O, format or out of memory, as fv_st_open found */
    fv_status st = fv_model_load_weights_st(m, f);
    fv_st_close(f);
    return st;
}

/* ---------------------------------------------------------------- partial loading */

/* What happened to each parameter (and how many of the file's tensors went unused). */
enum { TAKE_LOADED = 1, TAKE_NEW, TAKE_SKIPPED };

/* Parameter p from f into dst unless its shape differs: its fate in *what (a shape that differs
 * is skipped here; tally makes it an error unless asked to skip). An unreadable dtype is an
 * error. */
static fv_status take_param(const fv_st_file *f, const fv_param *p, float *dst, int *what)
{
    int i = fv_st_find(f, p->name);
    if (i < 0) {
        *what = TAKE_NEW;
        return FV_OK;
    }
    FV_TRY(fv_st_check_dtype(f, i));
    int64_t dims[FV_MAX_DIMS] = {1};
    int nd = fv_st_shape(f, i, dims);
    if (check_shape(fv_st_path(f), p, nd ? nd : 1, dims) != FV_OK) {
        fv_clear_error();
        *what = TAKE_SKIPPED;
        return FV_OK;
    }
    *what = TAKE_LOADED;
    return fv_st_read(f, i, dst);
}

/* Whether a comma-separated list of layer names or shell patterns holds `layer`. */
static int listed(const char *list, const char *layer)
{
    char item[FV_NAME_LEN * 2];
    for (const char *s = list; s && *s;) {
        size_t n = strcspn(s, ",");
        size_t k = n < sizeof item - 1 ? n : sizeof item - 1;
        memcpy(item, s, k);
        item[k] = 0;
        if (k && fnmatch(item, layer, 0) == 0)
            return 1;
        s += n + (s[n] == ',');
    }
    return 0;
}

/* Whether tensor i of f is a parameter of m. */
static int is_param(const fv_model *m, const fv_st_file *f, int i)
{
    const char *name = fv_st_name(f, i);
    for (int k = 0; k < m->nparams; k++)
        if (strcmp(m->params[k].name, name) == 0)
            return 1;
    return 0;
}

/* One report line: a label and the names of the parameters with fate `what` (the first 12). */
static void log_names(FILE *log, const fv_model *m, const int *fate, int what, int count,
                      const char *label)
{
    if (!count)
        return;
    fprintf(log, "  %s (%d):", label, count);
    for (int i = 0, shown = 0; i < m->nparams && shown < 12; i++)
        if (fate[i] == what)
            fprintf(log, "%s %s", shown++ ? "," : "", m->params[i].name);
    fprintf(log, "%s\n", count > 12 ? ", ..." : "");
}

static void log_report(FILE *log, const fv_model *m, const fv_st_file *f, const int *fate,
                       const fv_load_report *r)
{
    fprintf(log, "Weights from %s: %d of %d parameter tensors loaded (%lld values)\n",
            fv_st_path(f), r->loaded, m->nparams, (long long)r->loaded_values);
    log_names(log, m, fate, TAKE_NEW, r->fresh, "new, kept at their initial values");
    log_names(log, m, fate, TAKE_SKIPPED, r->skipped, "skipped, shape differs from the file's");
    if (!r->unused)
        return;
    fprintf(log, "  unused tensors of the file (%d):", r->unused);
    for (int i = 0, shown = 0; i < fv_st_count(f) && shown < 12; i++)
        if (strncmp(fv_st_name(f, i), "__", 2) != 0 && !is_param(m, f, i))
            fprintf(log, "%s %s", shown++ ? "," : "", SHOWN(fv_st_name(f, i)));
    fprintf(log, "%s\n", r->unused > 12 ? ", ..." : "");
}

/* The first parameter whose shape differs from the file's tensor, as check_shape's error. */
static fv_status mismatch(const fv_model *m, const fv_st_file *f, const int *fate)
{
    for (int k = 0; k < m->nparams; k++)
        if (fate[k] == TAKE_SKIPPED) {
            int64_t dims[FV_MAX_DIMS] = {1};
            int nd = fv_st_shape(f, fv_st_find(f, m->params[k].name), dims);
            return check_shape(fv_st_path(f), &m->params[k], nd ? nd : 1, dims);
        }
    return FV_OK;
}

/* The counts; a file that gives no parameter anything is another architecture's, a shape that
 * differs an error unless skipped. */
static fv_status tally(const fv_model *m, const fv_st_file *f, const int *fate, int skip,
                       fv_load_report *r)
{
    *r = (fv_load_report){0};
    for (int i = 0; i < m->nparams; i++) {
        r->loaded += fate[i] == TAKE_LOADED;
        r->fresh += fate[i] == TAKE_NEW;
        r->skipped += fate[i] == TAKE_SKIPPED;
        r->loaded_values += fate[i] == TAKE_LOADED ? m->params[i].numel : 0;
    }
    for (int i = 0; i < fv_st_count(f); i++) /* a checkpoint's "__" training state is not */
        r->unused += strncmp(fv_st_name(f, i), "__", 2) != 0 && !is_param(m, f, i);
    if (!r->loaded && m->nparams) {
        char why[600] = "";
        if (r->skipped && mismatch(m, f, fate) != FV_OK)
            snprintf(why, sizeof why, "; %s", fv_last_error());
        return fv_err(FV_ERR_FORMAT, "%s: no parameter of model '%s' fits the file (%d of its "
                      "%d are not in it, %d have another shape%s): weights of another "
                      "architecture?", fv_st_path(f), m->name, r->fresh, m->nparams, r->skipped,
                      why);
    }
    if (r->skipped && !skip) {
        char why[700];
        mismatch(m, f, fate);
        snprintf(why, sizeof why, "%s", fv_last_error());
        return fv_err(FV_ERR_SHAPE, "%s (ask to skip mismatched tensors to keep it at its "
                      "initial values)", why);
    }
    return FV_OK;
}

fv_status fv_model_load_weights_partial_(fv_model *m, const char *path, fv_load_args a)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before loading weights", m->name);
    fv_st_file *f = fv_weights_open(path); /* safetensors or torch.save */
    if (!f)
        return fv_last_status();
    /* staged over a copy of the current values: on any error the model keeps its weights */
    float *stage = fv_malloc(sizeof(float) * (size_t)(m->param_total + 1), "weights being loaded");
    int *fate = fv_calloc((size_t)m->nparams + 1, sizeof *fate, "weights being loaded");
    fv_status st = stage && fate ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK)
        memcpy(stage, m->data_slab, sizeof(float) * (size_t)m->param_total);
    for (int i = 0; st == FV_OK && i < m->nparams; i++) {
        const fv_param *p = &m->params[i];
        if (a.exclude && listed(a.exclude, m->nodes[p->node].name))
            fate[i] = TAKE_NEW; /* not taken from the file: kept as it is */
        else
            st = take_param(f, p, stage + p->offset, &fate[i]);
    }
    fv_load_report r = {0};
    if (st == FV_OK)
        st = tally(m, f, fate, a.skip_mismatched, &r);
    if (st == FV_OK) {
        memcpy(m->data_slab, stage, sizeof(float) * (size_t)m->param_total);
        if (a.report)
            *a.report = r;
        if (a.log)
            log_report(a.log, m, f, fate, &r);
    }
    fv_free(stage);
    fv_free(fate);
    fv_st_close(f);
    return st;
}
