/* metrics_det_write.c - detection metrics for people and programs: the printed table (each
 * figure beside its definition), JSON (cJSON; NaN and COCO's -1 become null) and the VOC
 * precision-recall figure of a class (viz's line plot). */
#include "nn/metrics.h"
#include "nn/metrics_det.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A figure that exists: finite, and not COCO's -1 (no ground truth). */
static int known(double v) { return isfinite(v) && v >= 0; }

static const char *name_of(const char *const *names, int c, char *buf, size_t len)
{
    if (names && names[c])
        return names[c];
    snprintf(buf, len, "%d", c);
    return buf;
}

static void value(FILE *out, double v)
{
    if (known(v))
        fprintf(out, "%8.4f", v);
    else
        fprintf(out, "%8s", "n/a");
}

fv_status fv_det_metrics_print(const fv_det_metrics *m, const char *const *names, FILE *out)
{
    if (!m || !out)
        return fv_err(FV_ERR_INVALID, "detection metrics: nothing to print");
    for (int s = 0; s < FV_DET_NSTATS; s++) {
        fprintf(out, "%-10s", fv_det_stat_name((fv_det_stat)s));
        value(out, m->stat[s]);
        fprintf(out, "  %s\n", m->definition[s]);
    }
    fprintf(out, "%-16s %10s %10s %8s %8s %8s %8s %8s\n", "class", "positives", "detections",
            "VOC07", "VOC", "AP", "AP50", "AP75");
    for (int c = 0; c < m->k; c++) {
        char buf[16];
        const fv_det_class *k = &m->cls[c];
        fprintf(out, "%-16s %10lld %10lld", name_of(names, c, buf, sizeof buf),
                (long long)k->positives, (long long)k->detections);
        double v[5] = {k->ap_voc07, k->ap_voc, k->ap, k->ap50, k->ap75};
        for (int i = 0; i < 5; i++)
            fputc(' ', out), value(out, v[i]);
        fputc('\n', out);
    }
    return ferror(out) ? fv_err(FV_ERR_IO, "detection metrics: writing the table failed") : FV_OK;
}

/* ---------------------------------------------------------------- JSON */

/* A number, or null where the figure does not exist. */
static int num(cJSON *obj, const char *key, double v)
{
    return known(v) ? cJSON_AddNumberToObject(obj, key, v) != NULL
                    : cJSON_AddNullToObject(obj, key) != NULL;
}

static cJSON *reals(const double *v, int64_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) {
        cJSON *x = known(v[i]) ? cJSON_CreateNumber(v[i]) : cJSON_CreateNull();
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static cJSON *one_class(const fv_det_class *k, const char *name)
{
    cJSON *o = cJSON_CreateObject(), *pr = o ? cJSON_AddObjectToObject(o, "pr_voc") : NULL;
    int ok = pr && cJSON_AddStringToObject(o, "name", name) &&
             num(o, "positives", (double)k->positives) && num(o, "truths", (double)k->truths) &&
             num(o, "detections", (double)k->detections) && num(o, "ap_voc07", k->ap_voc07) &&
             num(o, "ap_voc", k->ap_voc) && num(o, "ap", k->ap) && num(o, "ap50", k->ap50) &&
             num(o, "ap75", k->ap75) && num(o, "ar100", k->ar100) &&
             fv_json_put(pr, "recall", reals(k->recall, k->npr)) &&
             fv_json_put(pr, "precision", reals(k->precision, k->npr)) &&
             fv_json_put(o, "pr_coco50", reals(k->coco_pr50, 101));
    if (!ok)
        cJSON_Delete(o);
    return ok ? o : NULL;
}

static int stat_items(cJSON *stats, const fv_det_metrics *m)
{
    for (int s = 0; s < FV_DET_NSTATS; s++) {
        cJSON *o = cJSON_CreateObject();
        int ok = o && cJSON_AddStringToObject(o, "name", fv_det_stat_name((fv_det_stat)s)) &&
                 num(o, "value", m->stat[s]) &&
                 cJSON_AddStringToObject(o, "definition", m->definition[s]) &&
                 cJSON_AddItemToArray(stats, o);
        if (!ok) {
            cJSON_Delete(o);
            return 0;
        }
    }
    return 1;
}

static cJSON *det_json(const fv_det_metrics *m, const char *const *names)
{
    cJSON *r = cJSON_CreateObject();
    cJSON *set = r ? cJSON_AddObjectToObject(r, "settings") : NULL;
    cJSON *stats = set ? cJSON_AddArrayToObject(r, "stats") : NULL;
    cJSON *cls = stats ? cJSON_AddArrayToObject(r, "per_class") : NULL;
    int ok = cls && num(set, "voc_iou", m->args.voc_iou) &&
             cJSON_AddStringToObject(set, "voc_boxes",
                                     m->args.voc_plus_one ? "devkit +1 pixels" : "continuous") &&
             num(r, "images", (double)m->images) && num(r, "classes", m->k) &&
             stat_items(stats, m);
    for (int c = 0; ok && c < m->k; c++) {
        char buf[16];
        cJSON *o = one_class(&m->cls[c], name_of(names, c, buf, sizeof buf));
        ok = o && cJSON_AddItemToArray(cls, o);
        if (!ok)
            cJSON_Delete(o);
    }
    if (!ok)
        cJSON_Delete(r);
    return ok ? r : NULL;
}

fv_status fv_det_metrics_write_json(const fv_det_metrics *m, const char *const *class_names,
                                    const char *path)
{
    if (!m || !path)
        return fv_err(FV_ERR_INVALID, "detection metrics JSON: no metrics or no path");
    return fv_metrics_json_to_file(det_json(m, class_names), path);
}

/* ---------------------------------------------------------------- figure */

/* The running maximum of precision from the right (the all-point interpolation) of class k. */
static double *envelope(const fv_det_class *k)
{
    double *e = fv_malloc(sizeof(double) * (size_t)(k->npr > 0 ? k->npr : 1), "PR envelope");
    for (int64_t i = k->npr - 1; e && i >= 0; i--)
        e[i] = i + 1 < k->npr && e[i + 1] > k->precision[i] ? e[i + 1] : k->precision[i];
    return e;
}

static fv_status plot_class(const char *path, const fv_det_metrics *m, int c,
                            const char *const *names)
{
    const fv_det_class *k = &m->cls[c];
    if (k->positives == 0 || k->npr == 0)
        return fv_err(FV_ERR_INVALID, "%s: class %d has %s: no precision-recall curve", path, c,
                      k->positives ? "no detections" : "no positives");
    double *e = envelope(k);
    if (!e)
        return fv_last_status();
    char buf[16], title[200];
    snprintf(title, sizeof title, "%.60s: AP %.3f (VOC2010+), %.3f (VOC2007), IoU %.2f",
             name_of(names, c, buf, sizeof buf), k->ap_voc, k->ap_voc07, m->args.voc_iou);
    fv_series s[2] = {{"precision", k->recall, k->precision, (int)k->npr},
                      {"interpolated (all-point)", k->recall, e, (int)k->npr}};
    fv_status st = fv_plot_lines(path, s, 2, .title = title, .xlabel = "recall",
                                 .ylabel = "precision", .xmin = 0, .xmax = 1, .ymin = 0,
                                 .ymax = 1.02, .legend_bottom = 1, .height = 480);
    fv_free(e);
    return st;
}

fv_status fv_det_plot_pr(const char *path, const fv_det_metrics *m, int c,
                         const char *const *names)
{
    if (!m || !path || c < -1 || c >= m->k)
        return fv_err(FV_ERR_INVALID, "detection precision-recall figure: class %d outside "
                      "[-1, %d)", c, m ? m->k : 0);
    if (c >= 0)
        return plot_class(path, m, c, names);
    fv_series s[10];
    char buf[10][16], title[160];
    int made = 0;
    for (int k = 0; k < m->k && made < 10; k++) {
        const fv_det_class *cl = &m->cls[k];
        if (cl->positives > 0 && cl->npr > 0)
            s[made] = (fv_series){name_of(names, k, buf[made], sizeof buf[made]), cl->recall,
                                  cl->precision, (int)cl->npr}, made++;
    }
    if (made == 0)
        return fv_err(FV_ERR_INVALID, "%s: no class has positives and detections: no "
                      "precision-recall curve", path);
    snprintf(title, sizeof title, "precision-recall (VOC, IoU %.2f): mAP %.3f (VOC2010+)",
             m->args.voc_iou, m->stat[FV_DET_VOC_MAP]);
    return fv_plot_lines(path, s, made, .title = title, .xlabel = "recall", .ylabel = "precision",
                         .xmin = 0, .xmax = 1, .ymin = 0, .ymax = 1.02, .height = 560);
}
