/* metrics.c - classification metrics as scikit-learn 1.2 computes them: input checks, accuracy,
 * top-k accuracy, the confusion matrix, per-class and averaged precision/recall/F1, log-loss and
 * calibration (ECE, reliability bins). The ranking figures (AUC, AP) are in metrics_curves.c. */
#include "nn/metrics.h"

#include <float.h>
#include <math.h>
#include <string.h>

#define MAX_BINS 100000

/* ---------------------------------------------------------------- checks */

static fv_status check_score(double s, int64_t i, int c)
{
    if (isnan(s) || isinf(s))
        return fv_err(FV_ERR_NUMERIC, "metrics: score of sample %lld, class %d is %s",
                      (long long)i, c, isnan(s) ? "NaN" : "infinite");
    if (s < 0 || s > 1)
        return fv_err(FV_ERR_INVALID,
                      "metrics: score of sample %lld, class %d is %g; scores must be "
                      "probabilities in [0, 1]", (long long)i, c, s);
    return FV_OK;
}

fv_status fv_metrics_check(const double *scores, const int *labels, int64_t n, int k)
{
    if (!scores || !labels)
        return fv_err(FV_ERR_INVALID, "metrics: %s is NULL", scores ? "labels" : "scores");
    if (n < 1)
        return fv_err(FV_ERR_INVALID, "metrics: n = %lld samples; need at least 1",
                      (long long)n);
    if (k < 2)
        return fv_err(FV_ERR_INVALID, "metrics: k = %d classes; need at least 2", k);
    if (n > INT64_MAX / 16 / k)
        return fv_err(FV_ERR_INVALID, "metrics: %lld samples x %d classes is too many",
                      (long long)n, k);
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= k)
            return fv_err(FV_ERR_INVALID, "metrics: label %d of sample %lld is outside 0..%d",
                          labels[i], (long long)i, k - 1);
        for (int c = 0; c < k; c++)
            FV_TRY(check_score(scores[i * k + c], i, c));
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- the result */

/* One allocation: the struct, then the arrays (all 8-byte elements). */
static fv_metrics *metrics_alloc(int64_t n, int k, int bins)
{
    size_t kk = (size_t)k, words = kk * kk + 8 * kk + 3 * (size_t)bins;
    if (kk > 1u << 20) { /* k x k would not fit anyway */
        fv_err(FV_ERR_NOMEM, "out of memory: a %d x %d confusion matrix", k, k);
        return NULL;
    }
    fv_metrics *m = fv_calloc(1, sizeof *m + words * 8, "metrics");
    if (!m)
        return NULL;
    double *p = (double *)(m + 1);
    m->n = n, m->k = k, m->bins = bins;
    m->top_k = p, p += kk;
    m->confusion = (int64_t *)p, p += kk * kk;
    m->precision = p, p += kk;
    m->recall = p, p += kk;
    m->f1 = p, p += kk;
    m->support = (int64_t *)p, p += kk;
    m->auc = p, p += kk;
    m->ap = p, p += kk;
    m->bin_count = (int64_t *)p, p += bins;
    m->bin_confidence = p, p += bins;
    m->bin_accuracy = p;
    return m;
}

void fv_metrics_free(fv_metrics *m) { fv_free(m); }

/* ---------------------------------------------------------------- classification */

/* The first maximum of a row (numpy's argmax). */
static int argmax(const double *s, int k)
{
    int best = 0;
    for (int c = 1; c < k; c++)
        if (s[c] > s[best])
            best = c;
    return best;
}

static void confusion(const double *scores, const int *labels, fv_metrics *m)
{
    int64_t right = 0;
    for (int64_t i = 0; i < m->n; i++) {
        int p = argmax(scores + i * m->k, m->k);
        m->confusion[(int64_t)labels[i] * m->k + p]++;
        right += p == labels[i];
    }
    m->accuracy = (double)right / (double)m->n;
}

/* The true class's place in the row sorted by decreasing score, ties ranking the higher class
 * first (sklearn's reversed stable argsort). */
static int rank_of(const double *s, int k, int y)
{
    int r = 0;
    for (int c = 0; c < k; c++)
        r += s[c] > s[y] || (s[c] == s[y] && c > y);
    return r;
}

/* top_k_accuracy_score for every k; a binary problem predicts class 1 when p1 > 0.5. */
static void top_k(const double *scores, const int *labels, fv_metrics *m)
{
    int k = m->k;
    for (int64_t i = 0; i < m->n; i++) {
        const double *s = scores + i * k;
        int r = k == 2 ? (s[1] > 0.5) != labels[i] : rank_of(s, k, labels[i]);
        m->top_k[r] += 1;
    }
    for (int j = 1; j < k; j++)
        m->top_k[j] += m->top_k[j - 1];
    for (int j = 0; j < k; j++)
        m->top_k[j] /= (double)m->n;
}

static double ratio0(double a, double b) { return b != 0 ? a / b : 0; }

/* sklearn's F-score: 2 p r / (p + r), 0 when p + r is 0. */
static double f1_of(double p, double r)
{
    double d = p + r;
    return 2 * p * r / (d == 0 ? 1 : d);
}

static void prf(fv_metrics *m)
{
    int k = m->k;
    double tp_all = 0, pred_all = 0, wsum = 0;
    fv_prf mac = {0, 0, 0}, wt = {0, 0, 0};
    for (int c = 0; c < k; c++) {
        int64_t tp = m->confusion[(int64_t)c * k + c], pred = 0, sup = 0;
        for (int j = 0; j < k; j++) {
            pred += m->confusion[(int64_t)j * k + c];
            sup += m->confusion[(int64_t)c * k + j];
        }
        m->support[c] = sup;
        m->precision[c] = ratio0((double)tp, (double)pred);
        m->recall[c] = ratio0((double)tp, (double)sup);
        m->f1[c] = f1_of(m->precision[c], m->recall[c]);
        mac.precision += m->precision[c], mac.recall += m->recall[c], mac.f1 += m->f1[c];
        wt.precision += (double)sup * m->precision[c], wt.recall += (double)sup * m->recall[c];
        wt.f1 += (double)sup * m->f1[c];
        tp_all += (double)tp, pred_all += (double)pred, wsum += (double)sup;
    }
    m->macro = (fv_prf){mac.precision / k, mac.recall / k, mac.f1 / k};
    m->weighted = (fv_prf){wt.precision / wsum, wt.recall / wsum, wt.f1 / wsum};
    double p = ratio0(tp_all, pred_all), r = ratio0(tp_all, wsum);
    m->micro = (fv_prf){p, r, f1_of(p, r)};
}

/* log_loss(eps="auto") for float64: each score clipped to [eps, 1 - eps], the row renormalized. */
static void log_loss(const double *scores, const int *labels, fv_metrics *m)
{
    const double lo = DBL_EPSILON, hi = 1 - DBL_EPSILON;
    double total = 0;
    for (int64_t i = 0; i < m->n; i++) {
        const double *s = scores + i * m->k;
        double sum = 0;
        for (int c = 0; c < m->k; c++)
            sum += fmin(fmax(s[c], lo), hi);
        total -= log(fmin(fmax(s[labels[i]], lo), hi) / sum);
    }
    m->log_loss = total / (double)m->n;
}

/* ---------------------------------------------------------------- calibration */

/* Edge b of `bins` equal-width bins: b * (1 / bins), the last exactly 1 (as the generator). */
static double edge(int b, int bins) { return b == bins ? 1.0 : b * (1.0 / bins); }

/* The bin (edge(b), edge(b + 1)] holding conf; bin 0 also holds 0. */
static int bin_of(double conf, int bins)
{
    int b = (int)(conf * bins);
    b = b < 0 ? 0 : b >= bins ? bins - 1 : b;
    while (b > 0 && conf <= edge(b, bins))
        b--;
    while (b < bins - 1 && conf > edge(b + 1, bins))
        b++;
    return b;
}

static void calibration(const double *scores, const int *labels, fv_metrics *m)
{
    for (int64_t i = 0; i < m->n; i++) {
        const double *s = scores + i * m->k;
        int p = argmax(s, m->k), b = bin_of(s[p], m->bins);
        m->bin_count[b]++;
        m->bin_confidence[b] += s[p];
        m->bin_accuracy[b] += p == labels[i];
    }
    m->ece = 0;
    for (int b = 0; b < m->bins; b++) {
        if (!m->bin_count[b])
            continue;
        double cnt = (double)m->bin_count[b];
        m->bin_confidence[b] /= cnt;
        m->bin_accuracy[b] /= cnt;
        m->ece += cnt / (double)m->n * fabs(m->bin_accuracy[b] - m->bin_confidence[b]);
    }
}

/* ---------------------------------------------------------------- all of it */

fv_metrics *fv_metrics_compute_(const double *scores, const int *labels, int64_t n, int k,
                                fv_metrics_args a)
{
    if (fv_metrics_check(scores, labels, n, k) != FV_OK)
        return NULL;
    if (a.bins < 0 || a.bins > MAX_BINS) {
        fv_err(FV_ERR_INVALID, "metrics: bins = %d; expected 1..%d (0: 15)", a.bins, MAX_BINS);
        return NULL;
    }
    fv_metrics *m = metrics_alloc(n, k, a.bins ? a.bins : 15);
    if (!m)
        return NULL;
    confusion(scores, labels, m);
    top_k(scores, labels, m);
    prf(m);
    log_loss(scores, labels, m);
    calibration(scores, labels, m);
    if (fv_metrics_ranking(scores, labels, m) != FV_OK) {
        fv_metrics_free(m);
        return NULL;
    }
    return m;
}
