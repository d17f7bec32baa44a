/* train.c - `fovea train`: fit a model on a data set with checkpoints, then its curves, test
 * metrics, figures and HTML report. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Training curves, train against validation per epoch: OUT/{loss,accuracy}.{png,svg}. */
static int write_curves(const char *out, const fv_epoch_metrics *h, int n)
{
    double *v = malloc(sizeof(double) * 5 * (size_t)(n > 0 ? n : 1));
    if (!v || n < 1) {
        free(v);
        return n < 1 ? 0 : fail("out of memory");
    }
    double *ep = v, *tr = v + n, *va = v + 2 * n, *ta = v + 3 * n, *vacc = v + 4 * n;
    for (int i = 0; i < n; i++)
        ep[i] = h[i].epoch, tr[i] = h[i].loss, va[i] = h[i].val_loss, ta[i] = h[i].accuracy,
        vacc[i] = h[i].val_accuracy;
    char path[1100];
    int rc = 0;
    for (int k = 0; k < 4 && rc == 0; k++) { /* loss, accuracy; PNG and SVG */
        int acc = k >= 2;
        fv_series s[2] = {{"train", ep, acc ? ta : tr, n}, {"validation", ep, acc ? vacc : va, n}};
        snprintf(path, sizeof path, "%s/%s.%s", out, acc ? "accuracy" : "loss", k % 2 ? "svg" : "png");
        if (fv_plot_lines(path, s, isfinite(s[1].y[0]) ? 2 : 1, .title = acc ? "accuracy" : "loss",
                          .xlabel = "epoch", .ylabel = acc ? "accuracy" : "loss",
                          .legend_bottom = acc) != FV_OK)
            rc = fail_lib();
    }
    free(v);
    return rc;
}

int cmd_train(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    char out[1000], weights[1100], csv[1100], msg[1200];
    int rc = 1;
    fv_model *m = NULL;
    fv_dataset *train = load_data(o, 1), *test = train ? load_data(o, 0) : NULL;
    if (!train || !test) {
        rc = fail_lib();
        goto done;
    }
    const int64_t *d = train->x->dims; /* a zoo network is built for the data */
    m = load_compiled(o, path, train->x->ndim == 4 ? (int)d[1] : 0,
                      train->x->ndim == 4 ? (int)d[2] : 0, train->x->ndim == 4 ? (int)d[3] : 0,
                      train->num_classes);
    if (!m) {
        rc = fail_lib();
        goto done;
    }
    if (fit_inputs(o, path, m, train, test) != 0) /* the report shows test images */
        goto done;
    if (o->out)
        snprintf(out, sizeof out, "%s", o->out);
    else
        default_out(fv_model_name(m), out, sizeof out);
    snprintf(weights, sizeof weights, "%s/weights.safetensors", out);
    snprintf(csv, sizeof csv, "%s/metrics.csv", out);
    if (make_dir(out) != 0) {
        snprintf(msg, sizeof msg, "%s: cannot create directory: %s", out, strerror(errno));
        rc = fail(msg);
        goto done;
    }
    if (!o->quiet) {
        fv_model_summary(m, stdout);
        printf("Training on %s: %lld images, testing on %lld; %d epochs, batch %d, %s\n",
               train->name, (long long)train->x->dims[0], (long long)test->x->dims[0], o->epochs,
               o->batch, o->optimizer);
        fflush(stdout);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fv_schedule sched = schedule_for(o, train->x->dims[0]);
    fv_augment aug = o->aug;
    aug.fill = (0.0f - NORM_MEAN) / NORM_STD; /* black, normalized */
    fv_epoch_metrics *hist = calloc((size_t)o->epochs, sizeof *hist);
    int ran = 0;
    if (!hist) {
        rc = fail("out of memory");
        goto done;
    }
    if (fv_model_fit(m, train, .epochs = o->epochs, .batch_size = o->batch, .validation = test,
                     .seed = (uint64_t)o->seed, .verbose = !o->quiet, .csv_path = csv,
                     .schedule = sched, .early_stopping = o->patience,
                     .restore_best = o->patience > 0, .checkpoint_dir = out,
                     .resume = o->resume, .lr = (float)o->lr, /* --lr wins on resume too */
                     .history = hist, .epochs_run = &ran,
                     .augment = aug) != FV_OK ||
        fv_model_save_weights(m, weights) != FV_OK) {
        free(hist);
        rc = fail_lib();
        goto done;
    }
    rc = write_curves(out, hist, ran);
    if (rc) {
        free(hist);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double loss, acc;
    if (fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("Test accuracy: %.4f (loss %.4f, %lld images); trained in %.1f s\n", acc, loss,
           (long long)test->x->dims[0], secs);
    rc = write_report(m, test, out, o, hist, ran, secs);
    free(hist);
    if (rc)
        goto done;
    printf("Weights: %s\nMetrics: %s\nReport: %s/report.html\n", weights, csv, out);
    rc = 0;
done:
    fv_dataset_free(train);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}
