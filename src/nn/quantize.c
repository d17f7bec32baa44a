/* quantize.c - post-training int8 quantization of a trained model (fv_model_quantize): the
 * calibration pass (the float model run on a few hundred training images, each conv2d / dense
 * input observed: its min and max; for the percentile method a histogram over that range from a
 * second pass, for the entropy method one of |x|, whose clipping threshold minimizes the
 * Kullback-Leibler divergence of the quantized distribution from it), then per layer the per-channel symmetric int8 weights and the input's
 * uint8 scale and zero point (ops/quant.c). And the int8 model file: safetensors whose quantized
 * weights are I8 tensors under the parameters' own names, with "<layer>.weight_scale" (F32, one
 * per output) and "<layer>.input_quant" (F32 [scale, zero point]) beside them, every other
 * parameter F32, and "fovea_int8" (the format's version) in the metadata
 * (docs/model-format.md). */
#include "fovea.h"
#include "nn/weights.h"
#include "ops/quant.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define HIST_BINS 4096

typedef struct node_stats {
    double lo, hi;
    double *hist; /* HIST_BINS over [lo, hi] (percentile's second pass) */
    int64_t count;
} node_stats;

typedef struct calib {
    node_stats *s; /* per node */
    int pass;      /* 0: min / max, 1: histogram */
    int absolute;  /* the histogram is of |x| over [0, max |x|] (entropy) */
} calib;

static void observe(void *ctx, const fv_model *m, int node, int batch)
{
    calib *c = ctx;
    node_stats *s = &c->s[node];
    if (!fv_quant_supported(m, node))
        return;
    const fv_node *x = fv_input_node(m, &m->nodes[node], 0);
    int64_t n = (int64_t)batch * x->size;
    if (c->pass == 0) {
        for (int64_t i = 0; i < n; i++) {
            double v = x->y[i];
            s->lo = v < s->lo ? v : s->lo;
            s->hi = v > s->hi ? v : s->hi;
        }
        return;
    }
    double from = c->absolute ? 0 : s->lo;
    double w = ((c->absolute ? fmax(-s->lo, s->hi) : s->hi) - from) / HIST_BINS;
    for (int64_t i = 0; w > 0 && i < n; i++) {
        double v = x->y[i], b = ((c->absolute ? fabs(v) : v) - from) / w;
        int k = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : (int)b;
        s->hist[k] += 1;
    }
    s->count += n;
}

/* The value below which fraction q of the histogram's mass lies (bin edges). */
static double hist_quantile(const node_stats *s, double q)
{
    double w = (s->hi - s->lo) / HIST_BINS, want = q * (double)s->count, acc = 0;
    for (int k = 0; k < HIST_BINS; k++) {
        acc += s->hist[k];
        if (acc >= want)
            return s->lo + w * (k + 1);
    }
    return s->hi;
}

/* KL(p || q) of the histogram clipped to its first i bins (the rest added to bin i - 1) and its
 * quantization to `levels` values: each run of i / levels bins replaced by its mean over the
 * bins that are not empty (MXNet's form of TensorRT's entropy calibration). */
static double kl_at(const double *h, int i, int levels, double *p, double *q)
{
    double tail = 0, ps = 0, qs = 0, kl = 0;
    for (int k = i; k < HIST_BINS; k++)
        tail += h[k];
    memcpy(p, h, sizeof(double) * (size_t)i);
    p[i - 1] += tail;
    for (int c = 0; c < levels; c++) {
        int a = (int)((int64_t)c * i / levels), b = (int)((int64_t)(c + 1) * i / levels);
        double sum = 0;
        int nz = 0;
        for (int k = a; k < b; k++)
            sum += h[k], nz += p[k] != 0;
        for (int k = a; k < b; k++)
            q[k] = p[k] != 0 ? sum / nz : 0;
    }
    for (int k = 0; k < i; k++)
        ps += p[k], qs += q[k];
    for (int k = 0; k < i && ps > 0 && qs > 0; k++)
        if (p[k] > 0)
            kl += p[k] / ps * log((p[k] / ps) / (q[k] > 0 ? q[k] / qs : 1e-12));
    return kl;
}

/* The |x| threshold of least divergence (entropy calibration), from the histogram of |x| over
 * [0, amax]; thresholds tried every 16 bins from `levels` bins up. */
static double kl_threshold(const double *h, double amax, int levels, double *scratch)
{
    double best = INFINITY;
    int best_i = HIST_BINS;
    double *hc = scratch + 2 * HIST_BINS;
    memcpy(hc, h, sizeof(double) * HIST_BINS);
    if (levels == 255) /* ReLU's exact zeros are quantized exactly: they do not weigh */
        hc[0] = 0;
    for (int i = levels; i <= HIST_BINS; i += 16) {
        double kl = kl_at(hc, i, levels, scratch, scratch + HIST_BINS);
        if (kl < best)
            best = kl, best_i = i;
    }
    return amax * best_i / HIST_BINS;
}

/* One forward over x with the observer on (pass p). */
static fv_status calib_pass(fv_model *m, const fv_tensor *x, calib *c, int p)
{
    c->pass = p;
    m->quant->observe = observe, m->quant->observe_ctx = c;
    fv_tensor *out = NULL;
    fv_status st = fv_model_predict(m, x, &out);
    m->quant->observe = NULL, m->quant->observe_ctx = NULL;
    fv_tensor_free(out);
    return st;
}

/* Quantizes node i from its float weights and its input's observed range. */
static fv_status quantize_node(fv_model *m, int i, const node_stats *s, int method, double pct)
{
    const fv_param *p = &m->params[m->nodes[i].param[0]];
    int rows = (int)p->dims[0], k = (int)(p->numel / p->dims[0]);
    int8_t *q = fv_malloc((size_t)p->numel, "int8 weights");
    float *scale = fv_malloc(sizeof(float) * (size_t)rows, "int8 weight scales");
    fv_status st = q && scale ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK) {
        fv_quant_weights(m->data_slab + p->offset, rows, k, q, scale);
        double lo = s->lo, hi = s->hi;
        if (method == FV_CALIB_PERCENTILE && s->count > 0) {
            lo = lo < 0 ? hist_quantile(s, 1.0 - pct / 100.0) : lo;
            hi = hist_quantile(s, pct / 100.0);
        } else if (method == FV_CALIB_ENTROPY && s->count > 0) {
            double *scratch = fv_malloc(sizeof(double) * 3 * HIST_BINS, "entropy calibration");
            if (!scratch)
                st = FV_ERR_NOMEM;
            /* one side's levels: 255 for inputs >= 0 (after ReLU), about 127 for signed ones */
            double t = scratch ? kl_threshold(s->hist, fmax(-lo, hi), lo < 0 ? 127 : 255,
                                              scratch) : 0;
            lo = lo < -t ? -t : lo;
            hi = hi > t ? t : hi;
            fv_free(scratch);
        }
        float in_scale;
        int zp;
        fv_quant_range((float)lo, (float)hi, &in_scale, &zp);
        if (st == FV_OK)
            st = fv_quant_set(m, i, q, scale, in_scale, zp);
    }
    fv_free(q);
    fv_free(scale);
    return st;
}

static fv_status check_args(const fv_model *m, const fv_tensor *x, int method, double pct)
{
    if (!m || !x)
        return fv_err(FV_ERR_INVALID, "fv_model_quantize: no %s (NULL)", m ? "images" : "model");
    if (!m->data_slab)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before quantizing", m->name);
    if (method != FV_CALIB_MINMAX && method != FV_CALIB_PERCENTILE && method != FV_CALIB_ENTROPY)
        return fv_err(FV_ERR_INVALID, "quantize: unknown calibration method %d", method);
    if (method == FV_CALIB_PERCENTILE && !(pct > 50 && pct <= 100))
        return fv_err(FV_ERR_INVALID, "quantize: percentile %g is outside (50, 100]", pct);
    if (x->ndim < 1 || x->dims[0] < 1)
        return fv_err(FV_ERR_INVALID, "quantize: no calibration images");
    return FV_OK;
}

fv_status fv_model_quantize(fv_model *m, const fv_tensor *x, int method, double percentile)
{
    FV_TRY(check_args(m, x, method, percentile));
    if (!fv_quant_attach(m))
        return FV_ERR_NOMEM;
    calib c = {.s = fv_calloc((size_t)m->nnodes, sizeof(node_stats), "calibration")};
    if (!c.s)
        return FV_ERR_NOMEM;
    for (int i = 0; i < m->nnodes; i++)
        c.s[i].lo = INFINITY, c.s[i].hi = -INFINITY;
    fv_status st = calib_pass(m, x, &c, 0);
    int hist = method != FV_CALIB_MINMAX;
    c.absolute = method == FV_CALIB_ENTROPY;
    for (int i = 0; st == FV_OK && hist && i < m->nnodes; i++)
        if (fv_quant_supported(m, i) &&
            !(c.s[i].hist = fv_calloc(HIST_BINS, sizeof(double), "calibration histogram")))
            st = FV_ERR_NOMEM;
    if (st == FV_OK && hist)
        st = calib_pass(m, x, &c, 1);
    for (int i = 0; st == FV_OK && i < m->nnodes; i++)
        if (fv_quant_supported(m, i))
            st = quantize_node(m, i, &c.s[i], method, percentile);
    for (int i = 0; i < m->nnodes; i++)
        fv_free(c.s[i].hist);
    fv_free(c.s);
    return st;
}

int fv_model_int8_layers(const fv_model *m)
{
    int n = 0;
    for (int i = 0; m && i < m->nnodes; i++)
        n += fv_quant_layer(m, i) != NULL;
    return n;
}

/* ---------------------------------------------------------------- the int8 model file */

/* The layer whose weight is parameter pi, or NULL. */
static const fv_qlayer *layer_of_param(const fv_model *m, int pi)
{
    for (int i = 0; i < m->nnodes; i++) {
        const fv_qlayer *l = fv_quant_layer(m, i);
        if (l && m->nodes[i].param[0] == pi)
            return l;
    }
    return NULL;
}

/* The extra tensor names of layer l: "<node>.weight_scale", "<node>.input_quant". */
static void extra_names(const fv_model *m, const fv_qlayer *l, char *ws, char *iq, size_t len)
{
    snprintf(ws, len, "%s.weight_scale", m->nodes[l->node].name);
    snprintf(iq, len, "%s.input_quant", m->nodes[l->node].name);
}

typedef struct qfile {
    int n;
    const char **names;
    fv_tensor *views;
    const fv_tensor **ptrs;
    unsigned char *i8;
    float *values; /* the int8 weights as floats, then the input (scale, zero point) pairs */
    char (*extra)[2][FV_NAME_LEN + 16];
} qfile;

static void qfile_free(qfile *q)
{
    fv_free(q->names), fv_free(q->views), fv_free(q->ptrs), fv_free(q->i8);
    fv_free(q->values), fv_free(q->extra);
}

static void set_view(fv_tensor *v, float *data, int ndim, const int64_t *dims)
{
    memset(v, 0, sizeof *v);
    v->data = data;
    fv_tensor_set_shape(v, ndim, dims);
}

/* The tensors of the file: parameters (quantized weights as I8), then each layer's extras. */
static fv_status qfile_build(const fv_model *m, qfile *q)
{
    int nl = fv_model_int8_layers(m), total = m->nparams + 2 * nl;
    int64_t qvals = 0;
    for (int i = 0; i < m->nparams; i++)
        qvals += layer_of_param(m, i) ? m->params[i].numel : 0;
    q->names = fv_calloc((size_t)total + 1, sizeof *q->names, "int8 file names");
    q->views = fv_calloc((size_t)total + 1, sizeof *q->views, "int8 file tensors");
    q->ptrs = fv_calloc((size_t)total + 1, sizeof *q->ptrs, "int8 file tensors");
    q->i8 = fv_calloc((size_t)total + 1, 1, "int8 file flags");
    q->values = fv_calloc((size_t)(qvals + 2 * nl + 1), sizeof(float), "int8 file values");
    q->extra = fv_calloc((size_t)nl + 1, sizeof *q->extra, "int8 file names");
    if (!q->names || !q->views || !q->ptrs || !q->i8 || !q->values || !q->extra)
        return FV_ERR_NOMEM;
    float *v = q->values;
    int e = 0;
    for (int i = 0; i < m->nparams; i++, q->n++) {
        const fv_qlayer *l = layer_of_param(m, i);
        fv_param_view(m, i, &q->views[q->n]);
        q->names[q->n] = m->params[i].name;
        if (l) { /* the int8 values in place of the float ones */
            for (int64_t j = 0; j < m->params[i].numel; j++)
                v[j] = (float)l->w[j];
            q->views[q->n].data = v, v += m->params[i].numel;
            q->i8[q->n] = 1;
        }
    }
    for (int i = 0; i < m->nnodes; i++) {
        const fv_qlayer *l = fv_quant_layer(m, i);
        if (!l)
            continue;
        extra_names(m, l, q->extra[e][0], q->extra[e][1], sizeof q->extra[e][0]);
        set_view(&q->views[q->n], l->wscale, 1, (int64_t[]){l->m});
        q->names[q->n++] = q->extra[e][0];
        v[0] = l->in_scale, v[1] = (float)l->in_zp;
        set_view(&q->views[q->n], v, 1, (int64_t[]){2});
        q->names[q->n++] = q->extra[e++][1];
        v += 2;
    }
    for (int i = 0; i < q->n; i++)
        q->ptrs[i] = &q->views[i];
    return FV_OK;
}

fv_status fv_quant_write(const fv_model *m, const char *path, const char *arch)
{
    if (!fv_model_int8_layers(m))
        return fv_err(FV_ERR_STATE, "model '%s': not quantized (fv_model_quantize first)",
                      m->name);
    qfile q = {0};
    fv_meta_pairs meta = {.n = 0};
    fv_status st = qfile_build(m, &q);
    if (st == FV_OK)
        st = fv_meta_pairs_of(m, arch, &meta);
    if (st == FV_OK)
        st = fv_meta_pairs_add(&meta, FV_META_INT8, FV_INT8_VERSION);
    if (st == FV_OK)
        st = fv_st_save_i8(path, q.n, q.names, q.ptrs, q.i8, meta.kv);
    fv_meta_pairs_free(&meta);
    qfile_free(&q);
    return st;
}

/* Reads F32 tensor `name` of exactly n values into dst. */
static fv_status read_f32(const fv_st_file *f, const char *name, int64_t n, float *dst)
{
    int i = fv_st_find(f, name);
    if (i < 0)
        return fv_err(FV_ERR_FORMAT, "%s: missing tensor '%s'", fv_st_path(f), name);
    int64_t dims[FV_MAX_DIMS] = {1}, count = 1;
    int nd = fv_st_shape(f, i, dims);
    for (int d = 0; d < nd; d++)
        count *= dims[d];
    if (count != n)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has %lld values, expected %lld",
                      fv_st_path(f), name, (long long)count, (long long)n);
    FV_TRY(fv_st_check_dtype(f, i));
    return fv_st_read(f, i, dst);
}

/* Node i's int8 weight, scales and input quantization from f. */
static fv_status load_layer(fv_model *m, const fv_st_file *f, int i)
{
    const fv_param *p = &m->params[m->nodes[i].param[0]];
    char ws[FV_NAME_LEN + 16], iq[FV_NAME_LEN + 16];
    snprintf(ws, sizeof ws, "%s.weight_scale", m->nodes[i].name);
    snprintf(iq, sizeof iq, "%s.input_quant", m->nodes[i].name);
    int8_t *w = fv_malloc((size_t)p->numel, "int8 weights");
    float *scale = fv_malloc(sizeof(float) * (size_t)p->dims[0], "int8 weight scales"), in[2];
    fv_status st = w && scale ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK)
        st = fv_st_read_i8(f, fv_st_find(f, p->name), w);
    if (st == FV_OK)
        st = read_f32(f, ws, p->dims[0], scale);
    if (st == FV_OK)
        st = read_f32(f, iq, 2, in);
    if (st == FV_OK && !(in[1] >= 0 && in[1] <= 255 && in[1] == floorf(in[1])))
        st = fv_err(FV_ERR_FORMAT, "layer '%s': input zero point %g is not an integer in 0 to "
                    "255", m->nodes[i].name, (double)in[1]);
    if (st == FV_OK)
        st = fv_quant_set(m, i, w, scale, in[0], (int)in[1]);
    fv_free(w);
    fv_free(scale);
    return st;
}

/* Whether node i's weight is stored as I8 in f (a quantized layer). */
static int stored_i8(const fv_model *m, const fv_st_file *f, int i)
{
    if (!fv_quant_supported(m, i))
        return 0;
    int k = fv_st_find(f, m->params[m->nodes[i].param[0]].name);
    return k >= 0 && fv_st_is_i8(f, k);
}

fv_status fv_quant_load_st(fv_model *m, const fv_st_file *f)
{
    const char *ver = fv_st_meta(f, FV_META_INT8);
    if (!ver || strcmp(ver, FV_INT8_VERSION) != 0)
        return fv_err(FV_ERR_FORMAT, "%s: int8 model format version '%.20s' (this fovea reads "
                      "version %s)", fv_st_path(f), ver ? ver : "none", FV_INT8_VERSION);
    fv_status st = FV_OK;
    for (int k = 0; st == FV_OK && k < m->nparams; k++) {
        const fv_param *p = &m->params[k];
        int node = -1;
        for (int i = 0; i < m->nnodes && node < 0; i++)
            if (m->nodes[i].nparam > 0 && m->nodes[i].param[0] == k && stored_i8(m, f, i))
                node = i;
        st = node >= 0 ? FV_OK : read_f32(f, p->name, p->numel, m->data_slab + p->offset);
    }
    for (int i = 0; st == FV_OK && i < m->nnodes; i++)
        if (stored_i8(m, f, i))
            st = load_layer(m, f, i);
    if (st != FV_OK && strncmp(fv_last_error(), fv_st_path(f), strlen(fv_st_path(f))) != 0) {
        char why[600];
        snprintf(why, sizeof why, "%s", fv_last_error());
        st = fv_err(st, "%s: %s", fv_st_path(f), why);
    }
    return st;
}
