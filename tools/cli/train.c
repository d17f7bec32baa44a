/* train.c - `fovea train`: fit a model on a data set with checkpoints, then its curves, test
 * metrics, figures and HTML report. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Where the validation figures come from, for the report. */
static void val_setting(const split_info *s, int seed, char *v, size_t len)
{
    if (s->val_dir)
        snprintf(v, len, "%lld images of %.60s", (long long)s->val, s->val_dir);
    else if (s->val)
        snprintf(v, len, "%lld images held out (%g of the training data per class, seed %d)",
                 (long long)s->val, s->fraction, seed);
    else
        snprintf(v, len, "none (early stopping and best watch the training loss)");
}

/* The run's settings for the report (key, value, ..., NULL) in kv, their texts in v. */
static void run_settings(const opts *o, const split_info *split, const fv_epoch_metrics *hist,
                         int ran, double secs, const char **kv, char (*v)[96])
{
    snprintf(v[0], sizeof v[0], "%d (of %d)", ran, o->epochs);
    snprintf(v[1], sizeof v[1], "%d", o->batch);
    snprintf(v[2], sizeof v[2], "%.3g%s", ran > 0 ? hist[0].lr : o->lr,
             o->lr > 0 ? "" : " (the optimizer's default)");
    snprintf(v[3], sizeof v[3], "%d", o->seed);
    snprintf(v[4], sizeof v[4], "%.1f s", secs);
    snprintf(v[5], sizeof v[5], "%lld images", (long long)split->train);
    val_setting(split, o->seed, v[6], sizeof v[6]); /* the report gives the test split's size */
    const char *rows[] = {"optimizer", o->optimizer, "learning rate", v[2], "schedule",
                          o->schedule ? o->schedule : "constant", "epochs", v[0], "batch", v[1],
                          "seed", v[3], "training split", v[5], "validation split", v[6],
                          "training time", v[4], NULL};
    memcpy(kv, rows, sizeof rows);
}

/* The data set's name for the report's title: the --data folder's last part. */
static const char *data_name(const opts *o, const fv_dataset *train)
{
    const char *d = o->data ? o->data : "fashion-mnist";
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        n--;
    const char *s = d + n;
    while (s > d && s[-1] != '/')
        s--;
    return *s && *s != '/' ? s : train->name;
}

/* Which data each figure comes from: training, validation (held out, or --val), test. */
static void print_splits(const fv_dataset *train, const split_info *s, const opts *o)
{
    printf("Training on %s: %lld images; ", train->name, (long long)s->train);
    if (s->val_dir)
        printf("validating on %lld images of %s; ", (long long)s->val, s->val_dir);
    else if (s->val)
        printf("validating on %lld held out (%g of the training data per class, seed %d); ",
               (long long)s->val, s->fraction, o->seed);
    else
        printf("no validation set (%s: early stopping, plateau and best watch the training "
               "loss); ", o->val_split == 0 ? "--val-split 0" : "too few images to hold out");
    printf("testing on %lld after training\n", (long long)s->test);
}

int cmd_train(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    char out[1000], weights[1100], csv[1100], msg[1200];
    int rc = 1;
    fv_model *m = NULL;
    fv_dataset *train = NULL, *val = NULL, *test = NULL;
    split_info split;
    if (load_train_val(o, &train, &val, &split) != 0)
        goto done;
    if (!(test = load_data(o, 0))) { /* read now, to fail early; used once, after training */
        rc = fail_lib();
        goto done;
    }
    split.test = test->x->dims[0];
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
        print_splits(train, &split, o);
        printf("%d epochs, batch %d, %s\n", o->epochs, o->batch, o->optimizer);
        fflush(stdout);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fv_schedule sched;
    if (fv_schedule_preset(o->schedule, o->epochs, (train->x->dims[0] + o->batch - 1) / o->batch,
                           o->warmup, &sched) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    fv_augment aug = o->aug;
    aug.fill = (0.0f - NORM_MEAN) / NORM_STD; /* black, normalized */
    fv_epoch_metrics *hist = calloc((size_t)o->epochs, sizeof *hist);
    int ran = 0;
    if (!hist) {
        rc = fail("out of memory");
        goto done;
    }
    if (fv_model_fit(m, train, .epochs = o->epochs, .batch_size = o->batch, .validation = val,
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
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double loss, acc;
    if (fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (is_regression(o)) { /* regression metrics instead of the classification report */
        printf("Test loss %.4f (%lld samples); trained in %.1f s\n", loss,
               (long long)test->x->dims[0], secs);
        rc = fv_figure_curves(out, hist, ran) == FV_OK ? report_regression(m, test, out) : fail_lib();
        free(hist);
        if (rc == 0)
            printf("Weights: %s\nHistory: %s\n", weights, csv);
        goto done;
    }
    printf("Test accuracy: %.4f (loss %.4f, %lld images); trained in %.1f s\n", acc, loss,
           (long long)test->x->dims[0], secs);
    const char *kv[24];
    char v[7][96], name[128];
    run_settings(o, &split, hist, ran, secs, kv, v);
    snprintf(name, sizeof name, "%.127s", data_name(o, train));
    fv_metrics *mt = NULL;
    fv_status st = fv_run_report_write(m, test, out, .data_name = name, .history = hist,
                                       .epochs = ran, .settings = kv, .metrics = &mt);
    free(hist);
    if (st != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    print_metrics(mt, out);
    fv_metrics_free(mt);
    printf("Weights: %s\nMetrics: %s\nReport: %s/report.html\n", weights, csv, out);
    rc = 0;
done:
    fv_dataset_free(train);
    fv_dataset_free(val);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}
