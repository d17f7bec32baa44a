/* eval.c - `fovea eval`: a model's every metric on the test split, as JSON, CSV and figures
 * (report_metrics is shared with train and knn). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* ROC (c >= 0 per class, -1 micro) or precision-recall curves of every class into one figure. */
static int write_curve_plot(const double *sc, const int *lab, int64_t n, int k, int roc,
                            char *const *names, const char *path)
{
    int shown = k < 10 ? k : 10; /* ten classes and the micro average stay readable */
    fv_curve cv[11];
    fv_series s[11];
    int rc = 0, made = 0;
    for (int c = 0; c <= shown && rc == 0; c++) {
        int cls = c < shown ? c : -1;
        fv_status st = roc ? fv_roc_curve(sc, lab, n, k, cls, &cv[c])
                           : fv_pr_curve(sc, lab, n, k, cls, &cv[c]);
        if (st != FV_OK) {
            rc = fail_lib();
            break;
        }
        made++;
        s[c] = (fv_series){cls >= 0 ? names[cls] : "micro average", cv[c].x, cv[c].y,
                           (int)cv[c].n};
    }
    if (rc == 0 &&
        fv_plot_lines(path, s, made, .title = roc ? "ROC (one vs rest)" : "precision-recall",
                      .xlabel = roc ? "false positive rate" : "recall",
                      .ylabel = roc ? "true positive rate" : "precision", .xmin = 0, .xmax = 1,
                      .ymin = 0, .ymax = 1.02, .diagonal = roc, .legend_bottom = roc,
                      .width = 640, .height = 560) != FV_OK)
        rc = fail_lib();
    for (int c = 0; c < made; c++)
        fv_curve_free(&cv[c]);
    return rc;
}

/* Every metric of `scores` against the test labels: printed, OUT/metrics.json, per_class.csv,
 * and the confusion matrix, ROC, precision-recall and reliability figures. */
int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir,
                          fv_metrics **keep)
{
    int64_t n = out->dims[0], k = out->dims[1];
    double *sc = malloc(sizeof(double) * (size_t)(n * k));
    int *lab = malloc(sizeof(int) * (size_t)n);
    char **names = names_for(test, k);
    if (!sc || !lab || !names) {
        free(sc), free(lab), free_names(names, k);
        return fail("out of memory");
    }
    for (int64_t i = 0; i < n * k; i++)
        sc[i] = out->data[i];
    for (int64_t i = 0; i < n; i++)
        lab[i] = (int)test->y->data[i];
    fv_metrics *mt = fv_metrics_compute(sc, lab, n, (int)k);
    char path[1100];
    int rc = mt ? 0 : fail_lib();
    if (rc == 0) {
        printf("top-%d accuracy %.4f, macro F1 %.4f, macro AUC %.4f, micro AP %.4f, log-loss "
               "%.4f, ECE %.4f\n", k >= 5 ? 5 : (int)k, mt->top_k[k >= 5 ? 4 : k - 1],
               mt->macro.f1, mt->auc_macro, mt->ap_micro, mt->log_loss, mt->ece);
        static const char *const files[6] = {"metrics.json",    "per_class.csv",
                                             "confusion.png",   "confusion.svg",
                                             "reliability.png", "reliability.svg"};
        for (int f = 0; f < 6 && rc == 0; f++) {
            snprintf(path, sizeof path, "%s/%s", dir, files[f]);
            const char *const *cn = (const char *const *)names;
            fv_status st = f == 0   ? fv_metrics_write_json(mt, cn, path)
                           : f == 1 ? fv_metrics_write_csv(mt, cn, path)
                           : f <= 3 ? fv_plot_confusion(path, mt->confusion, (int)k, cn)
                                    : fv_plot_reliability(path, mt->bin_confidence,
                                                          mt->bin_accuracy, mt->bin_count,
                                                          mt->bins, .title = "reliability");
            rc = st == FV_OK ? 0 : fail_lib();
        }
        for (int f = 0; f < 4 && rc == 0; f++) { /* ROC, PR; PNG and SVG */
            snprintf(path, sizeof path, "%s/%s.%s", dir, f < 2 ? "roc" : "pr", f % 2 ? "svg" : "png");
            rc = write_curve_plot(sc, lab, n, (int)k, f < 2, names, path);
        }
        if (rc == 0)
            printf("Figures and metrics: %s/{metrics.json,per_class.csv,confusion,roc,pr,"
                   "reliability}{.png,.svg}\n", dir);
    }
    if (keep && rc == 0)
        *keep = mt;
    else
        fv_metrics_free(mt);
    free_names(names, k);
    free(sc), free(lab);
    return rc;
}

int cmd_eval(const opts *o)
{
    if (!o->npos || !o->weights)
        return fail("eval needs MODEL.fv and --weights FILE");
    fv_dataset *test = load_data(o, 0);
    if (!test)
        return fail_lib();
    const int64_t *d = test->x->dims;
    fv_model *m = load_compiled(o, o->pos[0], (int)d[1], (int)d[2], (int)d[3], test->num_classes);
    /* no test image is shown: resized batch by batch when asked */
    int rc = m ? fit_inputs(o, o->pos[0], m, test, NULL) : 0;
    double loss, acc;
    fv_tensor *out = NULL;
    const char *dir = o->out ? o->out : "runs/eval";
    if (rc != 0) {
        /* fit_inputs said why */
    } else if (!m || fv_model_load_weights(m, o->weights) != FV_OK ||
               fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK ||
               fv_model_predict_proba(m, test->x, &out) != FV_OK) {
        rc = fail_lib();
    } else if (make_dir(dir) != 0) {
        rc = fail("eval: cannot create the output directory");
    } else {
        printf("Test accuracy: %.4f (loss %.4f, %lld images)\n", acc, loss,
               (long long)test->x->dims[0]);
        rc = report_metrics(test, out, dir, NULL);
    }
    fv_tensor_free(out);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}
