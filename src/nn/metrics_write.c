/* metrics_write.c - an fv_metrics to files: JSON with every figure (cJSON; NaN becomes null) and
 * the per-class CSV table with the three averages; both written atomically (fv_atomic_*). */
#include "io/io.h"
#include "nn/metrics.h"

#include <cjson/cJSON.h>
#include <string.h>

/* ---------------------------------------------------------------- JSON */

/* cJSON reports a failed allocation as NULL: these return 0 then (and free what they took). */
int fv_json_put(cJSON *obj, const char *key, cJSON *item)
{
    if (item && cJSON_AddItemToObject(obj, key, item))
        return 1;
    cJSON_Delete(item);
    return 0;
}

static int num(cJSON *obj, const char *key, double v)
{
    return cJSON_AddNumberToObject(obj, key, v) != NULL;
}

static cJSON *counts(const int64_t *v, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateNumber((double)v[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static cJSON *reals(const double *v, int64_t n) { return cJSON_CreateDoubleArray(v, (int)n); }

/* The name of class c: class_names[c], or its index in buf. */
static const char *name_of(const char *const *names, int c, char *buf, size_t len)
{
    if (names && names[c])
        return names[c];
    snprintf(buf, len, "%d", c);
    return buf;
}

/* precision, recall, f1, and the ranking averages when has_ranking. */
static cJSON *average(fv_prf p, int has_ranking, double auc, double ap)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && num(o, "precision", p.precision) && num(o, "recall", p.recall) &&
             num(o, "f1", p.f1);
    if (ok && has_ranking)
        ok = num(o, "auc", auc) && num(o, "average_precision", ap);
    if (!ok)
        cJSON_Delete(o);
    return ok ? o : NULL;
}

static cJSON *one_class(const fv_metrics *m, int c, const char *const *names)
{
    char buf[16];
    cJSON *o = cJSON_CreateObject();
    int ok = o && cJSON_AddStringToObject(o, "name", name_of(names, c, buf, sizeof buf)) &&
             num(o, "precision", m->precision[c]) && num(o, "recall", m->recall[c]) &&
             num(o, "f1", m->f1[c]) && num(o, "support", (double)m->support[c]) &&
             num(o, "auc", m->auc[c]) && num(o, "average_precision", m->ap[c]);
    if (!ok)
        cJSON_Delete(o);
    return ok ? o : NULL;
}

/* [one object per class] and [[row of counts] per true class]. */
static int per_class(cJSON *root, const fv_metrics *m, const char *const *names)
{
    cJSON *classes = cJSON_CreateArray();
    if (!fv_json_put(root, "per_class", classes))
        return 0;
    cJSON *conf = cJSON_CreateArray();
    int ok = fv_json_put(root, "confusion_matrix", conf);
    for (int c = 0; ok && c < m->k; c++) {
        cJSON *cls = one_class(m, c, names), *row = counts(m->confusion + (int64_t)c * m->k, m->k);
        ok = cls && cJSON_AddItemToArray(classes, cls);
        if (!ok)
            cJSON_Delete(cls);
        ok = ok && row && cJSON_AddItemToArray(conf, row);
        if (!ok)
            cJSON_Delete(row);
    }
    return ok;
}

static cJSON *calibration(const fv_metrics *m)
{
    cJSON *o = cJSON_CreateObject();
    int ok = o && num(o, "bins", m->bins) &&
             fv_json_put(o, "count", counts(m->bin_count, m->bins)) &&
             fv_json_put(o, "confidence", reals(m->bin_confidence, m->bins)) &&
             fv_json_put(o, "accuracy", reals(m->bin_accuracy, m->bins));
    if (!ok)
        cJSON_Delete(o);
    return ok ? o : NULL;
}

static cJSON *metrics_json(const fv_metrics *m, const char *const *names)
{
    cJSON *r = cJSON_CreateObject();
    int ok = r && num(r, "samples", (double)m->n) && num(r, "classes", m->k) &&
             num(r, "accuracy", m->accuracy) &&
             fv_json_put(r, "top_k_accuracy", reals(m->top_k, m->k)) &&
             num(r, "log_loss", m->log_loss) && num(r, "ece", m->ece) &&
             fv_json_put(r, "macro", average(m->macro, 1, m->auc_macro, m->ap_macro)) &&
             fv_json_put(r, "micro", average(m->micro, 1, m->auc_micro, m->ap_micro)) &&
             fv_json_put(r, "weighted", average(m->weighted, 0, 0, 0)) && per_class(r, m, names) &&
             fv_json_put(r, "calibration", calibration(m));
    if (!ok)
        cJSON_Delete(r);
    return ok ? r : NULL;
}

fv_status fv_metrics_json_to_file(cJSON *root, const char *path)
{
    char *text = root ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text)
        return fv_err(FV_ERR_NOMEM, "out of memory building the metrics JSON for %s",
                      path ? path : "(null)");
    fv_atomic_file af;
    fv_status st = fv_atomic_open(&af, path);
    if (st == FV_OK) {
        fputs(text, af.f);
        fputc('\n', af.f);
        st = fv_atomic_commit(&af);
    }
    cJSON_free(text);
    return st;
}

fv_status fv_metrics_write_json(const fv_metrics *m, const char *const *class_names,
                                const char *path)
{
    if (!m)
        return fv_err(FV_ERR_INVALID, "metrics JSON: no metrics");
    return fv_metrics_json_to_file(metrics_json(m, class_names), path);
}

/* ---------------------------------------------------------------- CSV */

/* A field, quoted (quotes doubled) when it holds a comma, quote or line break. */
static void csv_text(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const char *name, fv_prf p, int64_t support)
{
    csv_text(f, name);
    fprintf(f, ",%.10g,%.10g,%.10g,%lld", p.precision, p.recall, p.f1, (long long)support);
}

fv_status fv_metrics_write_csv(const fv_metrics *m, const char *const *class_names,
                               const char *path)
{
    if (!m)
        return fv_err(FV_ERR_INVALID, "metrics CSV: no metrics");
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    FILE *f = af.f;
    fputs("class,precision,recall,f1,support,auc,average_precision\n", f);
    for (int c = 0; c < m->k; c++) {
        char buf[16];
        fv_prf p = {m->precision[c], m->recall[c], m->f1[c]};
        csv_row(f, name_of(class_names, c, buf, sizeof buf), p, m->support[c]);
        fprintf(f, ",%.10g,%.10g\n", m->auc[c], m->ap[c]);
    }
    csv_row(f, "macro avg", m->macro, m->n);
    fprintf(f, ",%.10g,%.10g\n", m->auc_macro, m->ap_macro);
    csv_row(f, "micro avg", m->micro, m->n);
    fprintf(f, ",%.10g,%.10g\n", m->auc_micro, m->ap_micro);
    csv_row(f, "weighted avg", m->weighted, m->n);
    fputs(",,\n", f);
    return fv_atomic_commit(&af);
}
