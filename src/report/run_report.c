/* run_report.c - a training run's report: the evaluation files and figures of the model on its
 * test set, the training curves, what the network learned (filters, saliency and Grad-CAM, the
 * most confident mistakes; for a model with a spatial transformer, its input beside its output
 * as in Jaderberg et al.'s figures) and DIR/report.html holding all of it with the run's
 * settings, the machine it ran on and the model summary. */
#include "core/internal.h"
#include "data/data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NFIG 10
#define ST_SHOWN 8 /* test images in the spatial transformer figure */
#define NSET 32 /* settings rows: the caller's and the report's own */

/* The model summary as text (malloc'd; NULL when it cannot be had: the report goes without). */
static char *summary_text(const fv_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fv_model_summary(m, f);
    fclose(f);
    return buf;
}

/* The first layer with 4-D weights (a convolution), and the last layer with a (C, h, w) output
 * before the first flat one; -1 when there is none. */
void fv_model_map_layers(const fv_model *m, int *first_conv, int *last_map)
{
    *first_conv = *last_map = -1;
    int64_t d[4];
    for (int i = 1; i < fv_model_num_nodes(m); i++) {
        fv_tensor *w = NULL;
        fv_status st = *first_conv < 0 ? fv_layer_weights(m, fv_node_name(m, i), &w) : FV_ERR_STATE;
        if (st == FV_OK && w->ndim == 4)
            *first_conv = i;
        fv_tensor_free(w);
        int nd = fv_node_shape(m, i, d);
        if (nd == 3)
            *last_map = i;
        if (nd == 1 && *last_map >= 0)
            break; /* past the image part */
    }
    fv_clear_error(); /* layers without weights are not a failure here */
}

/* The index of the largest of k values. */
static int argmax(const float *p, int64_t k)
{
    int64_t b = 0;
    for (int64_t j = 1; j < k; j++)
        b = p[j] > p[b] ? j : b;
    return (int)b;
}

typedef struct figs {
    char path[NFIG][4200];
    const char *img[NFIG + 1], *cap[NFIG + 1];
    int n;
} figs;

static void add_fig(figs *f, int i, const char *caption) { f->img[f->n] = f->path[i], f->cap[f->n++] = caption; }

/* Figures 6-8 for images: filters and saliency of the first test image for its predicted class
 * (with a convolution), the most confident mistakes. */
static fv_status learned_figures(fv_model *m, const fv_dataset *test, const fv_tensor *probs,
                                 figs *f, char **names)
{
    int first, last, wrote = 0;
    if (test->x->ndim != 4)
        return FV_OK; /* vectors: no images to draw */
    fv_model_map_layers(m, &first, &last);
    fv_status st = fv_figure_mistakes(probs, test, f->path[8], &wrote);
    if (st == FV_OK && wrote && (first < 0 || last < 0))
        add_fig(f, 8, "most confident mistakes");
    if (st != FV_OK || first < 0 || last < 0)
        return st; /* no convolution: no filters or maps */
    const int64_t *d = test->x->dims;
    fv_tensor *img = fv_tensor_new4(1, d[1], d[2], d[3]);
    if (!img)
        return fv_last_status();
    memcpy(img->data, test->x->data, sizeof(float) * (size_t)(d[1] * d[2] * d[3]));
    int cls = argmax(probs->data, probs->dims[1]);
    st = fv_figure_filters(m, first, f->path[6]);
    if (st == FV_OK)
        st = fv_figure_saliency(m, img, cls, last, names[cls], f->path[7]);
    fv_tensor_free(img);
    if (st == FV_OK) {
        add_fig(f, 6, "first-layer filters");
        add_fig(f, 7, "saliency and Grad-CAM of the first test image (its predicted class)");
    }
    if (st == FV_OK && wrote) /* no mistakes: no figure */
        add_fig(f, 8, "most confident mistakes");
    return st;
}

/* The first spatial transformer node, or -1. */
static int transformer_node(const fv_model *m)
{
    for (int i = 0; i < m->nnodes; i++)
        if (m->nodes[i].op == FV_OP_SPATIAL_TRANSFORMER)
            return i;
    return -1;
}

/* Node `node`'s (C, H, W) output for img into tile (oc, h, w): as it is when C is oc (1 or 3),
 * else the mean of its maps; resampled to h x w when its own size differs. */
static fv_status st_tile(fv_model *m, const fv_tensor *img, int node, float *tile, int oc,
                         int64_t h, int64_t w)
{
    fv_tensor *y = NULL;
    FV_TRY(fv_feature_maps(m, img, fv_node_name(m, node), &y));
    int64_t c = y->dims[0], hw = y->dims[1] * y->dims[2];
    if (c != oc) { /* feature maps: their mean, in place into the first map */
        for (int64_t p = 0; p < hw; p++) {
            double sum = 0;
            for (int64_t k = 0; k < c; k++)
                sum += y->data[k * hw + p];
            y->data[p] = (float)(sum / (double)c);
        }
    }
    fv_image_resample(y->data, oc, y->dims[1], y->dims[2], tile, oc, h, w);
    fv_tensor_free(y);
    return FV_OK;
}

/* The paper's figure: for the first test images, the spatial transformer's input beside its
 * output (in the input's size), two pairs a row. *wrote: 0 when the model has none. */
static fv_status transformer_figure(fv_model *m, const fv_dataset *test, const char *path,
                                    int *wrote)
{
    int st_node = transformer_node(m);
    *wrote = 0;
    if (st_node < 0 || test->x->ndim != 4)
        return FV_OK;
    const fv_node *in = &m->nodes[m->nodes[st_node].in[0]];
    int64_t n = test->x->dims[0] < ST_SHOWN ? test->x->dims[0] : ST_SHOWN;
    int oc = in->dims[0] == 3 ? 3 : 1;
    int64_t h = in->dims[1], w = in->dims[2], tile = oc * h * w;
    int64_t sample = test->x->dims[1] * test->x->dims[2] * test->x->dims[3];
    fv_tensor *grid = fv_tensor_new4(2 * n, oc, h, w);
    fv_tensor *img = fv_tensor_new(test->x->ndim - 1, test->x->dims + 1);
    const char *caps[2 * ST_SHOWN];
    fv_status st = grid && img ? FV_OK : FV_ERR_NOMEM;
    for (int64_t i = 0; st == FV_OK && i < n; i++) {
        memcpy(img->data, test->x->data + i * sample, sizeof(float) * (size_t)sample);
        st = st_tile(m, img, m->nodes[st_node].in[0], grid->data + 2 * i * tile, oc, h, w);
        if (st == FV_OK)
            st = st_tile(m, img, st_node, grid->data + (2 * i + 1) * tile, oc, h, w);
        caps[2 * i] = "input", caps[2 * i + 1] = "transformed";
    }
    if (st == FV_OK)
        st = fv_image_grid(path, grid, .title = "spatial transformer: input, output",
                           .captions = caps, .cols = 4);
    *wrote = st == FV_OK;
    fv_tensor_free(grid), fv_tensor_free(img);
    return st;
}

/* The settings table: the caller's rows, then the model, data and machine. */
static void settings(fv_model *m, const fv_dataset *test, const fv_run_report_args *a,
                     const char **kv, char (*v)[160])
{
    int n = 0;
    for (int i = 0; a->settings && a->settings[i] && a->settings[i + 1] && n < 2 * NSET - 12; i += 2)
        kv[n++] = a->settings[i], kv[n++] = a->settings[i + 1];
    int64_t total, trainable, frozen;
    fv_model_count_params(m, &total, &trainable, &frozen);
    snprintf(v[0], sizeof v[0], "%lld (%lld trainable, %lld not)", (long long)total,
             (long long)trainable, (long long)frozen);
    snprintf(v[1], sizeof v[1], "%lld images", (long long)test->x->dims[0]);
    snprintf(v[2], sizeof v[2], "%.60s (best level %s); kernels at %s; %d threads", fv_cpu_name(),
             fv_isa_name("cpu"), fv_isa_name(NULL), fv_num_threads());
    const char *rows[] = {"parameters", v[0], "test split", v[1], "CPU", v[2], NULL};
    for (int i = 0; rows[i]; i++)
        kv[n++] = rows[i];
    kv[n] = NULL;
}

/* The HTML page from what was written. */
static fv_status write_page(fv_model *m, const fv_dataset *test, const char *dir,
                            const fv_run_report_args *a, const fv_metrics *mt, char **names,
                            const figs *f)
{
    char title[240], v[3][160], path[4200];
    const char *kv[2 * NSET + 1];
    snprintf(title, sizeof title, "fovea: %.100s on %.100s", fv_model_name(m),
             a->data_name ? a->data_name : test->name);
    settings(m, test, a, kv, v);
    char *sum = summary_text(m);
    fv_report r = {.title = title, .params = kv, .metrics = mt,
                   .class_names = (const char *const *)names, .history = a->history,
                   .epochs = a->epochs, .images = f->img, .captions = f->cap, .summary = sum};
    snprintf(path, sizeof path, "%.4000s/report.html", dir);
    fv_status st = fv_report_write(path, &r);
    free(sum);
    return st;
}

fv_status fv_run_report_write_(fv_model *m, const fv_dataset *test, const char *dir,
                               fv_run_report_args a)
{
    if (!m || !test || !dir)
        return fv_err(FV_ERR_INVALID, "report: a model, a test set and a folder are needed");
    static const char *const files[NFIG] = {"loss",        "accuracy", "confusion",
                                            "roc",         "pr",       "reliability",
                                            "filters",     "saliency", "misclassified",
                                            "transformer"};
    static const char *const what[6] = {"loss per epoch", "accuracy per epoch", "confusion matrix",
                                        "ROC curves", "precision-recall curves",
                                        "reliability diagram"};
    figs f = {.n = 0};
    for (int i = 0; i < NFIG; i++)
        snprintf(f.path[i], sizeof f.path[i], "%.4000s/%s.png", dir, files[i]);
    fv_tensor *probs = NULL;
    fv_metrics *mt = NULL;
    FV_TRY(fv_model_predict_proba(m, test->x, &probs));
    int64_t k = probs->dims[1]; /* the report names the model's classes */
    char **names = fv_class_names(test, k);
    fv_status st = names ? fv_evaluation_write(test, probs, dir, &mt) : fv_last_status();
    if (st == FV_OK)
        st = fv_figure_curves(dir, a.history, a.epochs);
    for (int i = a.epochs > 0 ? 0 : 2; st == FV_OK && i < 6; i++)
        add_fig(&f, i, what[i]);
    if (st == FV_OK)
        st = learned_figures(m, test, probs, &f, names);
    int wrote = 0;
    if (st == FV_OK)
        st = transformer_figure(m, test, f.path[9], &wrote);
    if (wrote)
        add_fig(&f, 9, "spatial transformer: test images (input) beside the transformer's "
                       "output (transformed), as in Jaderberg et al.'s figures");
    f.img[f.n] = f.cap[f.n] = NULL;
    if (st == FV_OK)
        st = write_page(m, test, dir, &a, mt, names, &f);
    fv_class_names_free(names, k);
    if (a.metrics && st == FV_OK)
        *a.metrics = mt;
    else
        fv_metrics_free(mt);
    fv_tensor_free(probs);
    return st;
}
