/* report.c - the training run's HTML report: metrics, figures, curves, the model summary. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The model summary as text. */
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

/* After training: metrics and their figures, filters and saliency of the first test image, and
 * OUT/report.html with all of it. */
int write_report(fv_model *m, const fv_dataset *test, const char *out, const opts *o,
                        const fv_epoch_metrics *hist, int ran, double secs)
{
    fv_tensor *probs = NULL;
    fv_metrics *mt = NULL;
    if (fv_model_predict_proba(m, test->x, &probs) != FV_OK)
        return fail_lib();
    int rc = report_metrics(test, probs, out, &mt);
    if (rc) {
        fv_tensor_free(probs);
        return rc;
    }
    char paths[9][1100], *sum = summary_text(m), v[6][64];
    const char *imgs[10], *caps[10];
    static const char *const files[9] = {"loss", "accuracy", "confusion", "roc", "pr",
                                         "reliability", "filters", "saliency", "misclassified"};
    static const char *const what[9] = {"loss per epoch", "accuracy per epoch", "confusion matrix",
                                        "ROC curves", "precision-recall curves",
                                        "reliability diagram", "first-layer filters",
                                        "saliency and Grad-CAM", "most confident mistakes"};
    int first, last, ni = 0;
    conv_layers(m, &first, &last);
    fv_tensor *img = as_batch(test->x->data, test->x->dims + 1);
    for (int i = 0; i < 9 && rc == 0; i++) {
        int wrote = 1;
        snprintf(paths[i], sizeof paths[i], "%s/%s.png", out, files[i]);
        if (i >= 6 && first < 0)
            continue; /* no convolution: no filters or maps */
        rc = i == 6   ? write_filters(m, first, paths[i])
             : i == 7 ? write_saliency(m, img, (int)test->y->data[0], last, paths[i], test)
             : i == 8 ? write_misclassified(probs, test, paths[i], &wrote)
                      : 0;
        if (wrote) /* no mistakes: no figure */
            imgs[ni] = paths[i], caps[ni++] = what[i];
    }
    imgs[ni] = NULL;
    snprintf(v[0], sizeof v[0], "%d (of %d)", ran, o->epochs);
    snprintf(v[1], sizeof v[1], "%d", o->batch);
    snprintf(v[2], sizeof v[2], "%.3g", o->lr);
    snprintf(v[3], sizeof v[3], "%d", o->seed);
    snprintf(v[4], sizeof v[4], "%.1f s, %d threads", secs, fv_num_threads());
    snprintf(v[5], sizeof v[5], "%lld", (long long)test->x->dims[0]);
    const char *params[] = {"model", fv_model_name(m), "optimizer", o->optimizer,
                            "learning rate (0: the optimizer's default)", v[2], "epochs", v[0],
                            "batch", v[1], "schedule", o->schedule ? o->schedule : "constant",
                            "seed", v[3], "training time", v[4], "test images", v[5], NULL};
    int64_t nk = probs->dims[1]; /* the report names the model's classes (metrics->k) */
    char **names = names_for(test, nk);
    if (!names)
        rc = fail("out of memory");
    char rp[1100], title[160];
    snprintf(rp, sizeof rp, "%s/report.html", out);
    snprintf(title, sizeof title, "fovea: %s on %s", fv_model_name(m), test->name);
    fv_report r = {.title = title, .params = params, .metrics = mt,
                   .class_names = (const char *const *)names,
                   .history = hist, .epochs = ran, .images = imgs, .captions = caps,
                   .summary = sum};
    if (rc == 0 && fv_report_write(rp, &r) != FV_OK)
        rc = fail_lib();
    free_names(names, nk);
    fv_tensor_free(img);
    fv_tensor_free(probs);
    fv_metrics_free(mt);
    free(sum);
    return rc;
}
