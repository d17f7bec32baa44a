/* evaluation.c - a classifier's evaluation on a labelled set, as files a person reads: every
 * metric (metrics.json, per_class.csv), the confusion matrix, ROC, precision-recall and
 * reliability figures (PNG and SVG), the most confident mistakes, and the training curves (loss
 * only for regression, whose history has no accuracy). */
#include "core/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ROC (roc) or precision-recall curves of the first ten classes and the micro average. */
static fv_status curve_plot(const double *sc, const int *lab, int64_t n, int k, int roc,
                            char *const *names, const char *path)
{
    int shown = k < 10 ? k : 10, made = 0;
    fv_curve cv[11];
    fv_series s[11];
    fv_status st = FV_OK;
    for (int c = 0; c <= shown && st == FV_OK; c++) {
        int cls = c < shown ? c : -1;
        st = roc ? fv_roc_curve(sc, lab, n, k, cls, &cv[c]) : fv_pr_curve(sc, lab, n, k, cls, &cv[c]);
        if (st == FV_OK)
            s[made++] = (fv_series){cls >= 0 ? names[cls] : "micro average", cv[c].x, cv[c].y,
                                    (int)cv[c].n};
    }
    if (st == FV_OK)
        st = fv_plot_lines(path, s, made, .title = roc ? "ROC (one vs rest)" : "precision-recall",
                           .xlabel = roc ? "false positive rate" : "recall",
                           .ylabel = roc ? "true positive rate" : "precision", .xmin = 0,
                           .xmax = 1, .ymin = 0, .ymax = 1.02, .diagonal = roc,
                           .legend_bottom = roc, .height = 560);
    for (int c = 0; c < made; c++)
        fv_curve_free(&cv[c]);
    return st;
}

/* The metric files and figures of mt into dir. */
static fv_status write_metric_files(const fv_metrics *mt, const double *sc, const int *lab,
                                    int64_t n, char **names, const char *dir)
{
    static const char *const files[6] = {"metrics.json",  "per_class.csv",   "confusion.png",
                                         "confusion.svg", "reliability.png", "reliability.svg"};
    const char *const *cn = (const char *const *)names;
    char path[4200];
    fv_status st = FV_OK;
    for (int f = 0; f < 6 && st == FV_OK; f++) {
        snprintf(path, sizeof path, "%.4000s/%s", dir, files[f]);
        st = f == 0   ? fv_metrics_write_json(mt, cn, path)
             : f == 1 ? fv_metrics_write_csv(mt, cn, path)
             : f <= 3 ? fv_plot_confusion(path, mt->confusion, mt->k, cn)
                      : fv_plot_reliability(path, mt->bin_confidence, mt->bin_accuracy,
                                            mt->bin_count, mt->bins, .title = "reliability");
    }
    for (int f = 0; f < 4 && st == FV_OK; f++) { /* ROC, PR; PNG and SVG */
        snprintf(path, sizeof path, "%.4000s/%s.%s", dir, f < 2 ? "roc" : "pr", f % 2 ? "svg" : "png");
        st = curve_plot(sc, lab, n, mt->k, f < 2, names, path);
    }
    return st;
}

fv_status fv_evaluation_write(const fv_dataset *d, const fv_tensor *probs, const char *dir,
                              fv_metrics **keep)
{
    if (!d || !probs || !dir || probs->ndim != 2 || d->y->dims[0] != probs->dims[0])
        return fv_err(FV_ERR_INVALID, "evaluation: probabilities (N, classes) for the set's N "
                                      "samples are needed");
    int64_t n = probs->dims[0], k = probs->dims[1];
    double *sc = fv_malloc(sizeof(double) * (size_t)(n * k), "scores");
    int *lab = fv_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1), "labels");
    char **names = fv_class_names(d, k);
    fv_metrics *mt = NULL;
    fv_status st = sc && lab && names ? FV_OK : fv_last_status();
    for (int64_t i = 0; st == FV_OK && i < n * k; i++)
        sc[i] = probs->data[i];
    for (int64_t i = 0; st == FV_OK && i < n; i++)
        lab[i] = (int)d->y->data[i];
    if (st == FV_OK && !(mt = fv_metrics_compute(sc, lab, n, (int)k)))
        st = fv_last_status();
    if (st == FV_OK)
        st = write_metric_files(mt, sc, lab, n, names, dir);
    if (keep && st == FV_OK)
        *keep = mt;
    else
        fv_metrics_free(mt);
    fv_class_names_free(names, k);
    fv_free(sc), fv_free(lab);
    return st;
}

/* Keeps the 16 wrong predictions of highest confidence, most confident first; returns how many. */
static int64_t top_mistakes(const fv_tensor *probs, const fv_dataset *d, int64_t *pick,
                            int64_t *pred)
{
    int64_t n = probs->dims[0], k = probs->dims[1], np = 0;
    float conf[16];
    for (int64_t i = 0; i < n; i++) {
        const float *p = probs->data + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        if (best == (int64_t)d->y->data[i] || (np == 16 && p[best] <= conf[15]))
            continue; /* right, or not more confident than the 16 kept */
        int64_t at = np < 16 ? np++ : 15;
        for (; at > 0 && conf[at - 1] < p[best]; at--)
            pick[at] = pick[at - 1], pred[at] = pred[at - 1], conf[at] = conf[at - 1];
        pick[at] = i, pred[at] = best, conf[at] = p[best];
    }
    return np;
}

fv_status fv_figure_mistakes(const fv_tensor *probs, const fv_dataset *d, const char *path,
                             int *wrote)
{
    *wrote = 0;
    if (probs->ndim != 2 || d->x->ndim != 4 || d->y->dims[0] != probs->dims[0])
        return fv_err(FV_ERR_INVALID, "mistakes: probabilities (N, classes) of N images needed");
    int64_t pick[16], pred[16], np = top_mistakes(probs, d, pick, pred), k = probs->dims[1];
    if (np == 0)
        return FV_OK;
    const int64_t *dm = d->x->dims, sz = dm[1] * dm[2] * dm[3];
    fv_tensor *g = fv_tensor_new4(np, dm[1], dm[2], dm[3]);
    char cap[16][96], **names = fv_class_names(d, k);
    const char *caps[16];
    fv_status st = g && names ? FV_OK : fv_last_status();
    for (int64_t s = 0; st == FV_OK && s < np; s++) {
        int64_t truth = (int64_t)d->y->data[pick[s]];
        snprintf(cap[s], sizeof cap[s], "%.40s > %.40s %.2f",
                 truth >= 0 && truth < k ? names[truth] : "?", names[pred[s]],
                 (double)probs->data[pick[s] * k + pred[s]]);
        caps[s] = cap[s];
        memcpy(g->data + s * sz, d->x->data + pick[s] * sz, sizeof(float) * (size_t)sz);
    }
    if (st == FV_OK)
        st = fv_image_grid(path, g, .title = "most confident mistakes (true > predicted)",
                           .captions = caps, .cols = 4,
                           .scale = dm[2] <= 32 ? 3 : dm[2] <= 112 ? 2 : 1); /* ~100 px tiles */
    *wrote = st == FV_OK;
    fv_class_names_free(names, k);
    fv_tensor_free(g);
    return st;
}

fv_status fv_figure_curves(const char *dir, const fv_epoch_metrics *h, int n)
{
    if (n < 1)
        return FV_OK;
    double *v = fv_malloc(sizeof(double) * 5 * (size_t)n, "curves");
    if (!v)
        return fv_last_status();
    double *ep = v, *tr = v + n, *va = v + 2 * n, *ta = v + 3 * n, *vacc = v + 4 * n;
    for (int i = 0; i < n; i++)
        ep[i] = h[i].epoch, tr[i] = h[i].loss, va[i] = h[i].val_loss, ta[i] = h[i].accuracy,
        vacc[i] = h[i].val_accuracy;
    char path[4200];
    fv_status st = FV_OK;
    int figs = isfinite(h[0].accuracy) ? 4 : 2; /* regression has no accuracy */
    for (int k = 0; k < figs && st == FV_OK; k++) { /* loss, accuracy; PNG and SVG */
        int acc = k >= 2;
        fv_series s[2] = {{"train", ep, acc ? ta : tr, n}, {"validation", ep, acc ? vacc : va, n}};
        snprintf(path, sizeof path, "%.4000s/%s.%s", dir, acc ? "accuracy" : "loss",
                 k % 2 ? "svg" : "png");
        st = fv_plot_lines(path, s, isfinite(s[1].y[0]) ? 2 : 1, .title = acc ? "accuracy" : "loss",
                           .xlabel = "epoch", .ylabel = acc ? "accuracy" : "loss",
                           .legend_bottom = acc);
    }
    fv_free(v);
    return st;
}
