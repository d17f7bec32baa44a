/* metrics_curves.c - ranking metrics as scikit-learn 1.2 computes them: the counts per distinct
 * threshold (_binary_clf_curve), ROC curves (roc_curve, drop_intermediate=True), precision-recall
 * curves (precision_recall_curve), AUC (trapezoids, auc) and average precision (the step sum of
 * average_precision_score), per class one-vs-rest and micro-averaged over all n x k pairs. */
#include "nn/metrics.h"

#include <math.h>
#include <stdlib.h>

typedef struct scored {
    double s;
    int pos;
} scored;

/* The cumulative counts at each distinct score, in decreasing order: thr[i], and the positives
 * and negatives scoring >= thr[i]. */
typedef struct clf_curve {
    int64_t m;
    double *thr;
    int64_t *tps, *fps;
} clf_curve;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The (score, positive) pairs of class c against the rest, or of all n x k (c -1). */
static scored *pairs_of(const double *scores, const int *labels, int64_t n, int k, int c,
                        int64_t *count)
{
    int64_t N = c < 0 ? n * k : n;
    scored *p = fv_malloc((size_t)N * sizeof *p, "curve pairs");
    if (!p)
        return NULL;
    for (int64_t i = 0; i < N; i++) {
        int64_t row = c < 0 ? i / k : i;
        int cls = c < 0 ? (int)(i % k) : c;
        p[i] = (scored){scores[row * k + cls], labels[row] == cls};
    }
    *count = N;
    return p;
}

static void clf_free(clf_curve *cc) { fv_free(cc->thr); }

/* Sorts the pairs and accumulates the counts per distinct score. */
static fv_status clf_of(const double *scores, const int *labels, int64_t n, int k, int c,
                        clf_curve *cc)
{
    int64_t N = 0;
    scored *p = pairs_of(scores, labels, n, k, c, &N);
    if (!p)
        return FV_ERR_NOMEM;
    qsort(p, (size_t)N, sizeof *p, by_score_desc);
    cc->thr = fv_malloc((size_t)N * 3 * sizeof(double), "curve counts");
    if (!cc->thr) {
        fv_free(p);
        return FV_ERR_NOMEM;
    }
    cc->tps = (int64_t *)(cc->thr + N);
    cc->fps = cc->tps + N;
    int64_t m = 0, tp = 0;
    for (int64_t i = 0; i < N; i++) {
        tp += p[i].pos;
        if (i + 1 < N && p[i + 1].s == p[i].s)
            continue;
        cc->thr[m] = p[i].s, cc->tps[m] = tp, cc->fps[m] = i + 1 - tp;
        m++;
    }
    cc->m = m;
    fv_free(p);
    return FV_OK;
}

static fv_status curve_alloc(fv_curve *out, int64_t n, int64_t nthr)
{
    *out = (fv_curve){0};
    double *a = fv_malloc((size_t)(2 * n + nthr) * sizeof *a, "curve");
    if (!a)
        return FV_ERR_NOMEM;
    *out = (fv_curve){.n = n, .x = a, .y = a + n, .nthresholds = nthr, .thresholds = a + 2 * n};
    return FV_OK;
}

void fv_curve_free(fv_curve *c)
{
    if (!c)
        return;
    fv_free(c->x);
    *c = (fv_curve){0};
}

/* drop_intermediate: point i stays unless it lies where both counts have no corner. */
static int keep(const clf_curve *cc, int64_t i)
{
    if (i == 0 || i == cc->m - 1 || cc->m <= 2)
        return 1;
    return cc->fps[i - 1] - 2 * cc->fps[i] + cc->fps[i + 1] != 0 ||
           cc->tps[i - 1] - 2 * cc->tps[i] + cc->tps[i + 1] != 0;
}

static double rate(int64_t v, int64_t total) { return total > 0 ? (double)v / total : NAN; }

/* roc_curve from the counts: the kept points after an added (0, 0) at threshold max + 1. */
static fv_status roc_of(const clf_curve *cc, fv_curve *out)
{
    int64_t kept = 0, j = 1, P = cc->tps[cc->m - 1], Nn = cc->fps[cc->m - 1];
    for (int64_t i = 0; i < cc->m; i++)
        kept += keep(cc, i);
    FV_TRY(curve_alloc(out, kept + 1, kept + 1));
    out->x[0] = rate(0, Nn), out->y[0] = rate(0, P), out->thresholds[0] = cc->thr[0] + 1;
    for (int64_t i = 0; i < cc->m; i++) {
        if (!keep(cc, i))
            continue;
        out->x[j] = rate(cc->fps[i], Nn), out->y[j] = rate(cc->tps[i], P);
        out->thresholds[j++] = cc->thr[i];
    }
    return FV_OK;
}

/* precision_recall_curve from the counts: by increasing threshold, then (recall 0, precision 1). */
static fv_status pr_of(const clf_curve *cc, fv_curve *out)
{
    int64_t m = cc->m, P = cc->tps[m - 1];
    FV_TRY(curve_alloc(out, m + 1, m));
    for (int64_t j = 0; j < m; j++) {
        int64_t i = m - 1 - j, tp = cc->tps[i], all = tp + cc->fps[i];
        out->y[j] = all ? (double)tp / (double)all : 0;
        out->x[j] = P ? (double)tp / (double)P : 1;
        out->thresholds[j] = cc->thr[i];
    }
    out->x[m] = 0, out->y[m] = 1;
    return FV_OK;
}

typedef fv_status (*curve_fn)(const clf_curve *, fv_curve *);

static fv_status curve(const double *scores, const int *labels, int64_t n, int k, int c,
                       fv_curve *out, curve_fn fn, const char *what)
{
    if (!out)
        return fv_err(FV_ERR_INVALID, "%s: out is NULL", what);
    *out = (fv_curve){0};
    FV_TRY(fv_metrics_check(scores, labels, n, k));
    if (c < -1 || c >= k)
        return fv_err(FV_ERR_INVALID, "%s: class %d is outside -1..%d (-1: micro average)", what,
                      c, k - 1);
    clf_curve cc;
    FV_TRY(clf_of(scores, labels, n, k, c, &cc));
    fv_status st = fn(&cc, out);
    clf_free(&cc);
    return st;
}

fv_status fv_roc_curve(const double *scores, const int *labels, int64_t n, int k, int c,
                       fv_curve *out)
{
    return curve(scores, labels, n, k, c, out, roc_of, "roc curve");
}

fv_status fv_pr_curve(const double *scores, const int *labels, int64_t n, int k, int c,
                      fv_curve *out)
{
    return curve(scores, labels, n, k, c, out, pr_of, "precision-recall curve");
}

/* ---------------------------------------------------------------- areas */

/* auc: the trapezoids under (fpr, tpr), as numpy's trapz. */
static double trapezoids(const fv_curve *r)
{
    double a = 0;
    for (int64_t i = 0; i + 1 < r->n; i++)
        a += (r->x[i + 1] - r->x[i]) * (r->y[i + 1] + r->y[i]) / 2.0;
    return a;
}

/* average precision: -sum(diff(recall) * precision[:-1]). */
static double step_sum(const fv_curve *pr)
{
    double a = 0;
    for (int64_t i = 0; i + 1 < pr->n; i++)
        a -= (pr->x[i + 1] - pr->x[i]) * pr->y[i];
    return a;
}

/* The AUC and AP of one problem (class c, or -1 for all pairs), from one sort. */
static fv_status areas(const double *scores, const int *labels, const fv_metrics *m, int c,
                       double *auc, double *ap)
{
    clf_curve cc;
    fv_curve roc, pr;
    FV_TRY(clf_of(scores, labels, m->n, m->k, c, &cc));
    fv_status st = roc_of(&cc, &roc);
    if (st == FV_OK) {
        *auc = trapezoids(&roc);
        fv_curve_free(&roc);
        st = pr_of(&cc, &pr);
    }
    if (st == FV_OK) {
        *ap = step_sum(&pr);
        fv_curve_free(&pr);
    }
    clf_free(&cc);
    return st;
}

fv_status fv_metrics_ranking(const double *scores, const int *labels, fv_metrics *m)
{
    double auc = 0, ap = 0;
    for (int c = 0; c < m->k; c++) {
        FV_TRY(areas(scores, labels, m, c, &m->auc[c], &m->ap[c]));
        auc += m->auc[c], ap += m->ap[c];
    }
    m->auc_macro = auc / m->k, m->ap_macro = ap / m->k;
    return areas(scores, labels, m, -1, &m->auc_micro, &m->ap_micro);
}
