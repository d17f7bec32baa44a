/* checkpoint.c - training checkpoints: one safetensors file holding the parameters under their
 * names (so a checkpoint also loads as plain weights), the optimizer's slots ("__opt.state"),
 * the best epoch's parameters ("__best", with early stopping) and the rest of the training
 * state packed losslessly as 32-bit words in "__state" (steps, random-number streams, schedule and
 * early-stopping state; doubles and 64-bit integers as two words each) and "__history" (each
 * epoch's metrics as doubles), with the model's metadata as a weights file has it. Written
 * atomically, so a run killed at any moment leaves the last complete checkpoint; weights that
 * are not finite (a diverged run) are never written. */
#include "core/internal.h"
#include "io/io.h"
#include "nn/checkpoint.h"
#include "nn/weights.h"

#include <math.h>
#include <string.h>

#define CKPT_VERSION 1
#define HIST_WORDS 16 /* 8 doubles per epoch */

typedef struct words {
    uint32_t *w;
    int n, cap;
} words;

static void put(words *b, const void *v, size_t bytes)
{
    if (b->n + (int)(bytes / 4) <= b->cap)
        memcpy(b->w + b->n, v, bytes);
    b->n += (int)(bytes / 4);
}

static void get(const uint32_t *w, int *at, void *v, size_t bytes)
{
    memcpy(v, w + *at, bytes);
    *at += (int)(bytes / 4);
}

/* The state's fields in one fixed order (put or get through the same list). */
#define STATE_FIELDS(X, t, m)                                                                  \
    X(version) X((t)->epoch) X((t)->step) X((t)->fit_rng) X((t)->base_lr) X((t)->plateau)     \
    X((t)->stop_best) X((t)->stop_best_epoch) X((t)->stop_waited) X((m)->opt_steps)           \
    X((m)->opt_mu_product) X((m)->rng) X((m)->opt.kind) X((m)->trainable_total)

static fv_tensor vec(float *data, int64_t n)
{
    fv_tensor t = {.ndim = 1, .dims = {n}, .strides = {1}, .data = data};
    return t;
}

/* The index of the first value of w[0..n) that is NaN or infinite, or -1. */
static int64_t first_nonfinite(const float *w, int64_t n)
{
    for (int64_t i = 0; w && i < n; i++)
        if (!isfinite(w[i]))
            return i;
    return -1;
}

fv_status fv_checkpoint_write(const fv_model *m, const char *path, const fv_train_state *t)
{
    if (first_nonfinite(m->data_slab, m->param_total) >= 0 ||
        first_nonfinite(t->best_weights, m->param_total) >= 0)
        return fv_err(FV_ERR_NUMERIC, "%s: not written: the weights are not finite (training "
                      "diverged)", path);
    uint32_t state[128];
    words b = {state, 0, 128};
    int32_t version = CKPT_VERSION;
#define PUT(f) put(&b, &(f), sizeof(f));
    STATE_FIELDS(PUT, t, m)
#undef PUT
    FV_CHECK(b.n <= b.cap);
    int n = m->nparams, extra = 4;
    const char **names = fv_calloc((size_t)(n + extra), sizeof *names, "checkpoint names");
    fv_tensor *views = fv_calloc((size_t)(n + extra), sizeof *views, "checkpoint views");
    const fv_tensor **ptrs = fv_calloc((size_t)(n + extra), sizeof *ptrs, "checkpoint list");
    double *hist = fv_calloc((size_t)t->epoch * 8 + 1, sizeof(double), "checkpoint history");
    fv_status st = names && views && ptrs && hist ? FV_OK : FV_ERR_NOMEM;
    int k = 0;
    for (int i = 0; st == FV_OK && i < n; i++, k++) {
        const fv_param *p = &m->params[i];
        views[k] = vec(m->data_slab + p->offset, p->numel);
        views[k].ndim = p->ndim;
        for (int d = p->ndim - 1, s = 1; d >= 0; s *= (int)p->dims[d], d--)
            views[k].dims[d] = p->dims[d], views[k].strides[d] = s;
        names[k] = p->name;
    }
    for (int e = 0; st == FV_OK && e < t->epoch; e++) {
        const fv_epoch_metrics *h = &t->history[e];
        double v[8] = {h->epoch, h->loss, h->accuracy, h->val_loss, h->val_accuracy, h->seconds,
                       h->images_per_s, h->lr};
        memcpy(hist + 8 * e, v, sizeof v);
    }
    if (st == FV_OK) {
        names[k] = "__state", views[k++] = vec((float *)state, b.n);
        names[k] = "__opt.state", views[k++] = vec(m->opt_state, 3 * m->trainable_total);
        names[k] = "__history", views[k++] = vec((float *)hist, (int64_t)t->epoch * HIST_WORDS);
        if (t->best_weights)
            names[k] = "__best", views[k++] = vec(t->best_weights, m->param_total);
        for (int i = 0; i < k; i++)
            ptrs[i] = &views[i];
        fv_meta_pairs meta; /* the model's metadata, so a checkpoint describes it as weights do */
        st = fv_meta_pairs_of(m, NULL, &meta);
        if (st == FV_OK)
            st = fv_st_save_meta(path, k, names, ptrs, meta.kv);
        fv_meta_pairs_free(&meta);
    }
    fv_free(names), fv_free(views), fv_free(ptrs), fv_free(hist);
    return st;
}

/* The number of values tensor i of f holds. */
static int64_t numel(const fv_st_file *f, int i)
{
    int64_t dims[FV_MAX_DIMS], n = 1;
    int nd = fv_st_shape(f, i, dims);
    for (int d = 0; d < nd; d++)
        n *= dims[d];
    return n;
}

/* Tensor `name` of f, of exactly `count` values, read straight into dst. */
static fv_status take(const fv_st_file *f, const char *name, float *dst, int64_t count)
{
    const char *path = fv_st_path(f);
    int i = fv_st_find(f, name);
    if (i < 0)
        return fv_err(FV_ERR_FORMAT, "%s: not a fovea checkpoint (no tensor '%s')", path, name);
    FV_TRY(fv_st_check_dtype(f, i));
    if (numel(f, i) != count)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has %lld values, this model and optimizer "
                      "need %lld", path, name, (long long)numel(f, i), (long long)count);
    return fv_st_read(f, i, dst);
}

/* The __state words (at most 128); *nw gets their count. */
static fv_status take_state(const fv_st_file *f, uint32_t *state, int *nw)
{
    int i = fv_st_find(f, "__state");
    if (i < 0 || numel(f, i) > 128)
        return fv_err(FV_ERR_FORMAT, "%s: not a fovea checkpoint (no '__state')", fv_st_path(f));
    float v[128];
    *nw = (int)numel(f, i);
    FV_TRY(fv_st_read(f, i, v));
    memcpy(state, v, sizeof(float) * (size_t)*nw);
    return FV_OK;
}

/* Unpacks __state into nt and the model fields into mm (checked against this model). */
static fv_status unpack_state(const fv_model *m, const char *path, const uint32_t *w, int nw,
                              fv_train_state *t, fv_model *mm_out, int max_epochs)
{
    fv_train_state nt = *t;
    fv_model mm = *m;
    int32_t version = 0;
    int at = 0;
#define GET(f) get(w, &at, &(f), sizeof(f));
    STATE_FIELDS(GET, &nt, &mm)
#undef GET
    if (at != nw || version != CKPT_VERSION)
        return fv_err(FV_ERR_FORMAT, "%s: checkpoint state of version %d (%d words), expected "
                      "version %d", path, version, nw, CKPT_VERSION);
    if (mm.opt.kind != m->opt.kind || mm.trainable_total != m->trainable_total)
        return fv_err(FV_ERR_FORMAT, "%s: the checkpoint was written with another optimizer or "
                      "model", path);
    if (nt.epoch < 0 || nt.epoch > max_epochs)
        return fv_err(FV_ERR_FORMAT, "%s: checkpoint after epoch %d, but this run has %d epochs",
                      path, nt.epoch, max_epochs);
    *t = nt;
    *mm_out = mm;
    return FV_OK;
}

/* The history as written: row e holds epoch e + 1 (a double), so the epoch numbers convert to int
 * exactly; anything else is another file, not a resumable run. */
static fv_status check_history(const char *path, const double *hist, int epochs)
{
    for (int e = 0; e < epochs; e++)
        if (hist[8 * e] != (double)(e + 1))
            return fv_err(FV_ERR_FORMAT, "%s: not a fovea checkpoint of this run (history row %d "
                          "is epoch %g, expected %d)", path, e, hist[8 * e], e + 1);
    return FV_OK;
}

fv_status fv_checkpoint_read(fv_model *m, const char *path, fv_train_state *t, int max_epochs)
{
    fv_st_file *f = fv_st_open(path); /* reads the header; each tensor is read when taken */
    if (!f)
        return fv_last_status(); /* I/O, format or out of memory, as fv_st_open found */
    uint32_t state[128];
    int nw = 0;
    fv_status st = take_state(f, state, &nw);
    int64_t n3 = 3 * m->trainable_total;
    float *opt = fv_malloc(sizeof(float) * (size_t)(n3 + 1), "checkpoint optimizer state");
    fv_train_state nt = *t;
    fv_model mm = *m;
    if (st == FV_OK)
        st = opt ? unpack_state(m, path, state, nw, &nt, &mm, max_epochs) : FV_ERR_NOMEM;
    if (st == FV_OK)
        st = take(f, "__opt.state", opt, n3);
    double *hist = fv_malloc(sizeof(double) * (size_t)(nt.epoch * 8 + 1), "checkpoint history");
    if (st == FV_OK)
        st = hist ? take(f, "__history", (float *)hist, (int64_t)nt.epoch * HIST_WORDS)
                  : FV_ERR_NOMEM;
    if (st == FV_OK)
        st = check_history(path, hist, nt.epoch);
    if (st == FV_OK && t->best_weights && fv_st_find(f, "__best") >= 0) /* else: none yet */
        st = take(f, "__best", t->best_weights, m->param_total);
    if (st == FV_OK) /* the parameters last: all or nothing */
        st = fv_model_load_weights_st(m, f);
    if (st == FV_OK) {
        m->opt_steps = mm.opt_steps, m->opt_mu_product = mm.opt_mu_product, m->rng = mm.rng;
        memcpy(m->opt_state, opt, sizeof(float) * (size_t)n3);
        for (int e = 0; e < nt.epoch; e++) {
            const double *v = hist + 8 * e;
            t->history[e] = (fv_epoch_metrics){(int)v[0], v[1], v[2], v[3], v[4], v[5], v[6],
                                               v[7]};
        }
        nt.history = t->history, nt.best_weights = t->best_weights;
        *t = nt;
    }
    fv_free(opt), fv_free(hist);
    fv_st_close(f);
    return st;
}
