/* weightsmeta.c - self-describing weights files: the metadata a model carries
 * (fv_model_set_meta), saving the weights with it and the architecture text (only formats/ can
 * write the model as text), reading it back from a file's header with every value checked
 * (hostile files get one-line errors), a whole model from a weights file alone, and one open
 * weights file for several of these (fv_weights_file: a .pt read and decoded once). JSON
 * values inside the metadata strings are parsed with cJSON, as the safetensors header is. */
#include "core/internal.h"
#include "formats/weightsmeta.h"
#include "io/io.h"
#include "io/torch_pt.h"
#include "nn/weights.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define META_BIG (1u << 20)    /* bytes of architecture text or class names */
#define META_SMALL (4u << 10)  /* bytes of any other value */
#define META_MAX_CLASSES 65536
#define META_NAME_MAX 255      /* bytes of one class name or the data set's name */

/* ---------------------------------------------------------------- setting and saving */

/* A class or data set name: non-empty, at most META_NAME_MAX bytes, UTF-8 without controls. */
static fv_status check_name(const char *where, const char *what, const char *s)
{
    if (!s || !*s || strlen(s) > META_NAME_MAX || !fv_utf8_valid(s, false))
        return fv_err(FV_ERR_INVALID, "%s: %s '%s' must be 1 to %d bytes of UTF-8 without "
                      "control characters", where, what,
                      s ? fv_printable(s, (char[80]){0}, 80) : "(null)", META_NAME_MAX);
    return FV_OK;
}

/* The number of outputs of m's prediction node. */
static int64_t outputs_of(const fv_model *m)
{
    int out = m->compiled ? m->output_node : m->nnodes - 1;
    return out >= 0 ? m->nodes[out].size : 0;
}

static fv_status check_meta(const fv_model *m, const fv_model_meta *a)
{
    char where[FV_NAME_LEN + 16];
    snprintf(where, sizeof where, "model '%s'", m->name);
    if (a->class_names && a->num_classes != outputs_of(m))
        return fv_err(FV_ERR_INVALID, "%s: %d class names for %lld outputs", where,
                      a->num_classes, (long long)outputs_of(m));
    for (int k = 0; a->class_names && k < a->num_classes; k++)
        FV_TRY(check_name(where, "class name", a->class_names[k]));
    if (a->std != 0 && !(a->std > 0 && isfinite(a->std) && isfinite(a->mean)))
        return fv_err(FV_ERR_INVALID, "%s: normalization mean=%g, std=%g (std must be positive, "
                      "both finite)", where, (double)a->mean, (double)a->std);
    return a->dataset ? check_name(where, "data set name", a->dataset) : FV_OK;
}

static void clear_meta(fv_model *m)
{
    for (int k = 0; m->class_names && k < m->meta_classes; k++)
        fv_free(m->class_names[k]);
    fv_free(m->class_names), fv_free(m->dataset), fv_free(m->arch_text);
    m->class_names = NULL, m->dataset = NULL, m->arch_text = NULL;
    m->meta_classes = 0, m->norm_mean = m->norm_std = 0;
}

/* fv_model_to_text's text in library memory, or NULL when the format cannot express m. */
static char *arch_of(const fv_model *m)
{
    char *t = fv_model_to_text(m);
    if (!t) {
        fv_clear_error(); /* not an error: the metadata goes without it */
        return NULL;
    }
    char *copy = fv_strdup(t, "architecture text");
    free(t);
    return copy;
}

fv_status fv_model_set_meta_(fv_model *m, fv_model_meta a)
{
    FV_TRY(check_meta(m, &a));
    clear_meta(m);
    int n = a.class_names ? a.num_classes : 0;
    m->class_names = n ? fv_calloc((size_t)n, sizeof(char *), "class names") : NULL;
    fv_status st = !n || m->class_names ? FV_OK : FV_ERR_NOMEM;
    for (int k = 0; st == FV_OK && k < n; k++, m->meta_classes = k)
        if (!(m->class_names[k] = fv_strdup(a.class_names[k], "class name")))
            st = FV_ERR_NOMEM;
    if (st == FV_OK && a.dataset && !(m->dataset = fv_strdup(a.dataset, "data set name")))
        st = FV_ERR_NOMEM;
    m->norm_mean = a.std != 0 ? a.mean : 0;
    m->norm_std = a.std;
    m->arch_text = st == FV_OK ? arch_of(m) : NULL;
    if (st != FV_OK)
        clear_meta(m);
    return st;
}

fv_status fv_model_save_weights(const fv_model *m, const char *path)
{
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before saving weights", m->name);
    char *arch = arch_of(m); /* now: the layers may have changed since the metadata was set */
    fv_status st = fv_weights_write(m, path, arch);
    fv_free(arch);
    return st;
}

fv_status fv_model_save_quantized(const fv_model *m, const char *path)
{
    if (!m || !path)
        return fv_err(FV_ERR_INVALID, "fv_model_save_quantized: no %s (NULL)",
                      m ? "path" : "model");
    char *arch = arch_of(m);
    fv_status st = fv_quant_write(m, path, arch); /* arch NULL: the cached text, if any */
    fv_free(arch);
    return st;
}

/* ---------------------------------------------------------------- reading */

/* The value of key in f, NULL when absent; an error when longer than `max` bytes. */
static fv_status meta_value(const fv_st_file *f, const char *key, size_t max, const char **v)
{
    *v = fv_st_meta(f, key);
    size_t n = *v ? strlen(*v) : 0;
    if (n > max)
        return fv_err(FV_ERR_FORMAT, "%s: metadata '%s' is %zu bytes (at most %zu)",
                      fv_st_path(f), key, n, max);
    return FV_OK;
}

/* The JSON in metadata `key`, or *j NULL when the key is absent. */
static fv_status meta_json(const fv_st_file *f, const char *key, size_t max, cJSON **j)
{
    const char *v;
    *j = NULL;
    FV_TRY(meta_value(f, key, max, &v));
    if (!v)
        return FV_OK;
    *j = cJSON_ParseWithOpts(v, NULL, 1); /* nothing but blanks may follow the value */
    if (!*j)
        return fv_err(FV_ERR_FORMAT, "%s: metadata '%s' is not valid JSON", fv_st_path(f), key);
    return FV_OK;
}

static fv_status bad(const fv_st_file *f, const char *key, const char *want)
{
    return fv_err(FV_ERR_FORMAT, "%s: metadata '%s' must be %s", fv_st_path(f), key, want);
}

static fv_status read_classes(const fv_st_file *f, fv_weights_info *w)
{
    cJSON *j;
    FV_TRY(meta_json(f, FV_META_CLASSES, META_BIG, &j));
    if (!j)
        return FV_OK;
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 0;
    fv_status st = n >= 1 && n <= META_MAX_CLASSES
                       ? FV_OK
                       : bad(f, FV_META_CLASSES, "a JSON array of 1 to 65536 strings");
    if (st == FV_OK && !(w->class_names = fv_calloc((size_t)n, sizeof(char *), "class names")))
        st = FV_ERR_NOMEM;
    const cJSON *s;
    int k = 0;
    cJSON_ArrayForEach(s, j) {
        if (st != FV_OK)
            break;
        if (!cJSON_IsString(s) || !s->valuestring || !*s->valuestring ||
            strlen(s->valuestring) > META_NAME_MAX || !fv_utf8_valid(s->valuestring, false))
            st = bad(f, FV_META_CLASSES, "class names of 1 to 255 bytes of UTF-8 without "
                     "control characters");
        else if (!(w->class_names[k] = fv_strdup(s->valuestring, "class name")))
            st = FV_ERR_NOMEM;
        w->num_classes = ++k;
    }
    cJSON_Delete(j);
    return st;
}

static fv_status read_input(const fv_st_file *f, fv_weights_info *w)
{
    cJSON *j;
    FV_TRY(meta_json(f, FV_META_INPUT, META_SMALL, &j));
    if (!j)
        return FV_OK;
    int n = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : 0, k = 0;
    fv_status st = n >= 1 && n <= 4 ? FV_OK : FV_ERR_FORMAT;
    const cJSON *d;
    cJSON_ArrayForEach(d, j) {
        double v = cJSON_IsNumber(d) ? d->valuedouble : 0;
        if (st != FV_OK || !(v >= 1 && v <= (1 << 24) && v == floor(v)))
            st = FV_ERR_FORMAT;
        else
            w->input_dims[k++] = (int64_t)v;
    }
    cJSON_Delete(j);
    if (st != FV_OK)
        return bad(f, FV_META_INPUT, "a JSON array of 1 to 4 integers in [1, 2^24]");
    w->input_ndim = n;
    return FV_OK;
}

static fv_status read_norm(const fv_st_file *f, fv_weights_info *w)
{
    cJSON *j;
    FV_TRY(meta_json(f, FV_META_NORM, META_SMALL, &j));
    if (!j)
        return FV_OK;
    const cJSON *mean = cJSON_GetObjectItemCaseSensitive(j, "mean");
    const cJSON *std = cJSON_GetObjectItemCaseSensitive(j, "std");
    double mv = cJSON_IsNumber(mean) ? mean->valuedouble : NAN;
    double sv = cJSON_IsNumber(std) ? std->valuedouble : NAN;
    cJSON_Delete(j);
    if (!(fabs(mv) < 1e30 && sv > 1e-30 && sv < 1e30))
        return bad(f, FV_META_NORM, "a JSON object {\"mean\": m, \"std\": s} with s > 0");
    w->has_normalization = 1;
    w->mean = (float)mv, w->std = (float)sv;
    return FV_OK;
}

/* A copy of a string value (NULL when absent); `name`: checked as a name. */
static fv_status read_text(const fv_st_file *f, const char *key, size_t max, int name, char **out)
{
    const char *v;
    FV_TRY(meta_value(f, key, max, &v));
    if (!v)
        return FV_OK;
    if (name ? check_name(fv_st_path(f), key, v) != FV_OK : !fv_utf8_valid(v, true))
        return bad(f, key, name ? "1 to 255 bytes of UTF-8 without control characters"
                                : "UTF-8 text");
    *out = fv_strdup(v, key);
    return *out ? FV_OK : FV_ERR_NOMEM;
}

fv_weights_info *fv_weights_info_new(void)
{
    return fv_calloc(1, sizeof(fv_weights_info), "weights info");
}

void fv_weights_info_free(fv_weights_info *w)
{
    if (!w)
        return;
    for (int k = 0; w->class_names && k < w->num_classes; k++)
        fv_free(w->class_names[k]);
    fv_free(w->class_names), fv_free(w->architecture), fv_free(w->dataset);
    fv_free(w);
}

fv_weights_info *fv_weights_info_of(const fv_st_file *f)
{
    fv_weights_info *w = fv_calloc(1, sizeof *w, "weights info");
    if (!w)
        return NULL;
    fv_status st = read_text(f, FV_META_ARCH, META_BIG, 0, &w->architecture);
    if (st == FV_OK)
        st = read_classes(f, w);
    if (st == FV_OK)
        st = read_input(f, w);
    if (st == FV_OK)
        st = read_norm(f, w);
    if (st == FV_OK)
        st = read_text(f, FV_META_DATASET, META_SMALL, 1, &w->dataset);
    if (st != FV_OK) {
        fv_weights_info_free(w);
        return NULL;
    }
    return w;
}

fv_weights_info *fv_weights_info_read(const char *path)
{
    fv_st_file *f = fv_weights_open(path); /* the header only (a .pt: all of it) */
    fv_weights_info *w = f ? fv_weights_info_of(f) : NULL;
    fv_st_close(f);
    return w;
}

/* ---------------------------------------------------------------- a model from its weights */

/* m built from w's architecture fits the rest of w: the input shape and the class names. */
static fv_status check_fits(const fv_model *m, const fv_weights_info *w, const char *path)
{
    const fv_node *in = &m->nodes[m->input_node];
    int same = w->input_ndim == 0 || w->input_ndim == in->ndim;
    for (int i = 0; same && i < w->input_ndim; i++)
        same = w->input_dims[i] == in->dims[i];
    if (!same)
        return fv_err(FV_ERR_FORMAT, "%s: metadata input_shape does not match the "
                      "architecture's input", path);
    if (w->class_names && w->num_classes != outputs_of(m))
        return fv_err(FV_ERR_FORMAT, "%s: %d class names for a model with %lld outputs", path,
                      w->num_classes, (long long)outputs_of(m));
    return FV_OK;
}

/* Every parameter the architecture declares is a tensor of the file, of its shape: checked
 * before compile allocates them, so a hostile architecture costs no more than the file holds. */
static fv_status check_tensors(const fv_model *m, const fv_st_file *f)
{
    for (int k = 0; k < m->nparams; k++) {
        const fv_param *p = &m->params[k];
        int i = fv_st_find(f, p->name), same = i >= 0;
        int64_t dims[FV_MAX_DIMS] = {1};
        int nd = same ? fv_st_shape(f, i, dims) : 0;
        same = same && (nd ? nd : 1) == p->ndim;
        for (int d = 0; same && d < p->ndim; d++)
            same = dims[d] == p->dims[d];
        if (!same)
            return fv_err(FV_ERR_FORMAT, "%s: its architecture's parameter '%s' %s in the file",
                          fv_st_path(f), p->name, i < 0 ? "is not" : "has another shape");
    }
    return FV_OK;
}

/* The last error, prefixed with the file's name unless it starts with it (compile's errors name
 * the model, not the file it came from). */
static void named_error(const char *path)
{
    const char *e = fv_last_error();
    if (strncmp(e, path, strlen(path)) == 0)
        return;
    char why[700];
    snprintf(why, sizeof why, "%s", e);
    fv_err(fv_last_status(), "%s: %s", path, why);
}

fv_model *fv_model_from_st(const fv_st_file *f, fv_compile_args a)
{
    const char *path = fv_st_path(f);
    fv_weights_info *w = fv_weights_info_of(f);
    if (!w)
        return NULL;
    fv_model *m = NULL;
    if (!w->architecture)
        fv_err(FV_ERR_FORMAT, "%s: no architecture in its metadata (weights saved without it "
               "need the model file)", path);
    else
        m = fv_model_parse(w->architecture, path);
    fv_status st = m ? check_fits(m, w, path) : fv_last_status();
    if (st == FV_OK)
        st = check_tensors(m, f);
    if (st == FV_OK)
        st = fv_model_compile_(m, a);
    if (st == FV_OK)
        st = fv_model_load_weights_st(m, f);
    if (st == FV_OK)
        st = fv_model_set_meta(m, .class_names = (const char *const *)w->class_names,
                               .num_classes = w->num_classes, .mean = w->mean, .std = w->std,
                               .dataset = w->dataset);
    fv_weights_info_free(w);
    if (st != FV_OK) {
        fv_model_free(m);
        named_error(path);
        return NULL;
    }
    return m;
}

fv_model *fv_model_from_weights_(const char *path, fv_compile_args a)
{
    fv_st_file *f = fv_weights_open(path); /* the header now, each tensor when loaded */
    fv_model *m = f ? fv_model_from_st(f, a) : NULL;
    fv_st_close(f);
    return m;
}

/* ---------------------------------------------------------------- one open file, several uses */

struct fv_weights_file {
    fv_st_file *st; /* safetensors or a decoded torch.save file (fv_weights_open) */
};

fv_weights_file *fv_weights_file_open(const char *path)
{
    if (!path) {
        fv_err(FV_ERR_INVALID, "fv_weights_file_open: path is NULL");
        return NULL;
    }
    fv_weights_file *f = fv_calloc(1, sizeof *f, "weights file");
    if (f && !(f->st = fv_weights_open(path))) {
        fv_free(f);
        return NULL;
    }
    return f;
}

void fv_weights_file_close(fv_weights_file *f)
{
    if (f)
        fv_st_close(f->st);
    fv_free(f);
}

fv_weights_info *fv_weights_file_info(const fv_weights_file *f)
{
    if (!f) {
        fv_err(FV_ERR_INVALID, "fv_weights_file_info: no file (NULL)");
        return NULL;
    }
    return fv_weights_info_of(f->st);
}

fv_model *fv_model_from_weights_file_(const fv_weights_file *f, fv_compile_args a)
{
    if (!f) {
        fv_err(FV_ERR_INVALID, "fv_model_from_weights_file: no file (NULL)");
        return NULL;
    }
    return fv_model_from_st(f->st, a);
}

fv_status fv_model_load_weights_file(fv_model *m, const fv_weights_file *f)
{
    if (!m || !f)
        return fv_err(FV_ERR_INVALID, "fv_model_load_weights_file: no %s (NULL)",
                      m ? "file" : "model");
    return fv_model_load_weights_st(m, f->st);
}
