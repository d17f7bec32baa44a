/* train.c - `fovea train`: fit a model on a data set with checkpoints, then its test metrics,
 * figures and HTML report. Transfer learning: start from weights (by name), a new head, frozen
 * layers, and a second phase that fine-tunes the whole network at a lower rate. */
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

/* The run's settings for the report (key, value, ..., NULL) in kv, their texts in v: also where
 * the weights came from and what was frozen. */
static void run_settings(const opts *o, const split_info *split, const fv_epoch_metrics *hist,
                         int ran, double secs, const char **kv, char (*v)[160])
{
    snprintf(v[0], sizeof v[0], "%d (of %d)", ran, o->epochs + o->finetune_epochs);
    snprintf(v[1], sizeof v[1], "%d", o->batch);
    snprintf(v[2], sizeof v[2], "%.3g%s", ran > 0 ? hist[0].lr : o->lr,
             o->lr > 0 ? "" : " (the optimizer's default)");
    snprintf(v[3], sizeof v[3], "%d", o->seed);
    snprintf(v[4], sizeof v[4], "%.1f s", secs);
    snprintf(v[5], sizeof v[5], "%lld images%s", (long long)split->train,
             o->per_class ? " (drawn as the same number of each class)" : "");
    val_setting(split, o->seed, v[9], sizeof v[9]); /* the report gives the test split's size */
    fv_augment_describe(&o->aug, v[10], sizeof v[10]);
    snprintf(v[6], sizeof v[6], "%.100s%s", o->weights ? o->weights : "random",
             o->new_head ? ", new head" : "");
    snprintf(v[7], sizeof v[7], "%.70s%s%.70s", o->freeze ? o->freeze : "",
             o->freeze && o->freeze_to ? ", up to " : o->freeze_to ? "up to " : "",
             o->freeze_to ? o->freeze_to : "");
    snprintf(v[8], sizeof v[8], "%d epochs, every layer, at %.3g", o->finetune_epochs,
             ran > o->epochs ? hist[o->epochs].lr : o->finetune_lr);
    const char *rows[] = {"optimizer", o->optimizer, "learning rate", v[2], "schedule",
                          o->schedule ? o->schedule : "constant", "epochs", v[0], "batch", v[1],
                          "seed", v[3], "training split", v[5], "validation split", v[9],
                          "augmentation", v[10], "training time", v[4], "initial weights", v[6],
                          NULL, NULL, NULL, NULL, NULL};
    int n = 22;
    if (o->freeze || o->freeze_to)
        rows[n++] = "frozen layers", rows[n++] = v[7];
    if (o->finetune_epochs)
        rows[n++] = "then fine-tuned", rows[n++] = v[8];
    rows[n] = NULL;
    memcpy(kv, rows, sizeof rows);
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

/* Options that cannot go together, as one line. */
static int check_transfer_opts(const opts *o)
{
    if (o->resume && (o->weights || o->finetune_epochs))
        return fail("--resume continues a run; --weights and --finetune-epochs start one: use "
                    "one or the other");
    if ((o->skip_mismatched || o->new_head) && !o->weights)
        return fail("--skip-mismatched and --new-head need --weights FILE (the weights to "
                    "start from)");
    if (o->finetune_lr > 0 && !o->finetune_epochs)
        return fail("--finetune-lr needs --finetune-epochs N");
    return 0;
}

/* The training, validation (validation.c) and test sets; the test set is read now, to fail
 * early, and used once, after training. */
static int load_sets(const opts *o, const data_src *src, fv_dataset **train, fv_dataset **val,
                     fv_dataset **test, split_info *split)
{
    if (load_train_val(o, src, train, val, split) != 0)
        return 1;
    if (!(*test = load_data_src(o, src, 0)))
        return fail_lib();
    split->test = (*test)->x->dims[0];
    return 0;
}

/* Starting weights, a new head and frozen layers, as asked; then the metadata the weights file
 * will carry. Before anything is written, so a bad layer name leaves no output behind. */
static int prepare(const opts *o, fv_model *m, const fv_dataset *train, const data_src *src)
{
    int head = o->new_head ? fv_model_head(m) : -1; /* replaced: not taken from the file */
    if (o->new_head && head < 0)
        return fail_lib();
    if (o->weights && fv_model_load_weights_partial(m, o->weights,
                                                    .skip_mismatched = o->skip_mismatched,
                                                    .exclude = fv_node_name(m, head),
                                                    .log = o->quiet ? NULL : stdout) != FV_OK)
        return fail_lib();
    int classes = o->classes ? o->classes : train->num_classes;
    if (o->new_head && fv_model_replace_head(m, classes) != FV_OK)
        return fail_lib();
    if (o->new_head && !o->quiet)
        printf("New head: '%s', re-initialised for %d classes\n", fv_node_name(m, head),
               classes);
    if ((o->freeze && fv_model_set_trainable_match(m, o->freeze, 0) != FV_OK) ||
        (o->freeze_to && fv_model_set_trainable_upto(m, o->freeze_to, 0) != FV_OK))
        return fail_lib();
    char name[256];
    const char *set = data_name(src, name, sizeof name);
    if (fv_model_set_meta(m, .class_names = (const char *const *)train->class_names,
                          .num_classes = train->num_classes, .mean = src->mean, .std = src->std,
                          .dataset = set) == FV_OK)
        return 0;
    /* a model with more outputs than the data have classes: its classes go unnamed */
    if (fv_model_set_meta(m, .mean = src->mean, .std = src->std, .dataset = set) != FV_OK)
        return fail_lib();
    return 0;
}

/* Epoch 0 of a run from weights: the test accuracy of the weights as loaded (and changed). */
static int epoch0(const opts *o, fv_model *m, const fv_dataset *test)
{
    double loss, acc;
    if (fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK)
        return fail_lib();
    if (!o->quiet)
        printf("Epoch 0 (from %s): test accuracy %.4f, loss %.4f\n", o->weights, acc, loss);
    fflush(stdout);
    return 0;
}

/* One phase of training: `epochs` epochs into hist, checkpoints and metrics.csv in dir. */
static int run_phase(const opts *o, fv_model *m, const fv_dataset *train, const fv_dataset *val,
                     const char *dir, int epochs, fv_epoch_metrics *hist, int *ran)
{
    char csv[1100];
    snprintf(csv, sizeof csv, "%s/metrics.csv", dir);
    fv_schedule sched; /* spans this phase */
    if (fv_schedule_preset(o->schedule, epochs, (train->x->dims[0] + o->batch - 1) / o->batch,
                           o->warmup, &sched) != FV_OK)
        return fail_lib();
    fv_augment aug = o->aug;
    aug.fill = (0.0f - NORM_MEAN) / NORM_STD; /* black, normalized */
    fv_dist_stats ds = {0};
    if (fv_model_fit(m, train, .epochs = epochs, .batch_size = o->batch, .validation = val,
                     .seed = (uint64_t)o->seed, .verbose = !o->quiet, .csv_path = csv,
                     .schedule = sched, .early_stopping = o->patience,
                     .restore_best = o->patience > 0, .checkpoint_dir = dir,
                     .resume = o->resume, .lr = (float)o->lr, /* --lr wins on resume too */
                     .history = hist, .epochs_run = ran, .augment = aug,
                     .sync_bn = o->sync_bn, .dist_stats = &ds) != FV_OK)
        return fail_lib();
    if (fv_dist_size() > 1 && !o->quiet && ds.steps > 0)
        printf("Data-parallel: %d ranks, %lld steps, %.1f ms a step, %.1f%% of it waiting on the "
               "other ranks (%d gradient buckets, %.2f MB)\n", fv_dist_size(),
               (long long)ds.steps, 1e3 * ds.step_s / (double)ds.steps,
               ds.step_s > 0 ? 100 * ds.wait_s / ds.step_s : 0.0, ds.buckets,
               (double)ds.grad_bytes / 1e6);
    return 0;
}

/* The second phase: every layer unfrozen, a fresh optimizer at --finetune-lr (default a tenth of
 * the first phase's rate), OUT/finetune; its epochs numbered on from the first phase's. */
static int finetune(const opts *o, fv_model *m, const fv_dataset *train, const fv_dataset *val,
                    const char *out, fv_epoch_metrics *hist, int *ran)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/finetune", out);
    if (make_dir(dir) != 0)
        return fail("cannot create the fine-tuning output directory");
    double lr = o->finetune_lr > 0 ? o->finetune_lr : hist[0].lr / 10;
    if (fv_model_set_trainable_match(m, "*", 1) != FV_OK ||
        fv_model_set_optimizer(m, optimizer_for(o, lr)) != FV_OK)
        return fail_lib();
    if (!o->quiet)
        printf("Fine-tuning every layer for %d epochs at learning rate %g\n", o->finetune_epochs,
               lr);
    opts p = *o;
    p.lr = lr;
    int more = 0;
    if (run_phase(&p, m, train, val, dir, o->finetune_epochs, hist + *ran, &more))
        return 1;
    for (int i = 0; i < more; i++)
        hist[*ran + i].epoch += *ran;
    *ran += more;
    return 0;
}

/* --compare-scratch: the same network from its initial weights (a fresh head for the data's
 * classes where the model has another number of outputs), trained on the same training and
 * validation data for as many epochs with the options' optimizer, into OUT/scratch; its test
 * accuracy in *acc. */
static int scratch_baseline(const opts *o, const char *path, const fv_dataset *train,
                            const fv_dataset *val, const fv_dataset *test, const char *out,
                            double *acc)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/scratch", out);
    opts p = *o;
    p.epochs = o->epochs + o->finetune_epochs, p.quiet = 1, p.resume = 0;
    const int64_t *d = train->x->dims;
    int img = train->x->ndim == 4, rc = make_dir(dir) ? fail("cannot create OUT/scratch") : 0;
    fv_model *m = rc ? NULL : load_compiled(&p, path, img ? (int)d[1] : 0, img ? (int)d[2] : 0,
                                            img ? (int)d[3] : 0, train->num_classes);
    int64_t outd[4];
    int head = m ? fv_model_head(m) : -1;
    if (!rc && !m)
        rc = fail_lib();
    else if (!rc && head >= 0 && fv_node_shape(m, head, outd) == 1 &&
             outd[0] != train->num_classes && fv_model_replace_head(m, train->num_classes) != FV_OK)
        rc = fail_lib();
    if (!rc)
        rc = fit_inputs(&p, path, m, (fv_dataset *)train, NULL);
    fv_epoch_metrics *hist = rc ? NULL : calloc((size_t)p.epochs, sizeof *hist);
    int ran = 0;
    if (!rc && !hist)
        rc = fail("out of memory");
    if (!o->quiet && !rc)
        printf("From scratch, for comparison: %d epochs into %s\n", p.epochs, dir);
    if (!rc)
        rc = run_phase(&p, m, train, val, dir, p.epochs, hist, &ran);
    if (!rc && fv_model_evaluate(m, test, 0, NULL, acc) != FV_OK)
        rc = fail_lib();
    if (!rc)
        printf("From scratch: test accuracy %.4f\n", *acc);
    free(hist);
    fv_model_free(m);
    return rc;
}

/* The test metrics, figures and report of a classifier; the regression metrics of a regressor. */
static int report(const opts *o, fv_model *m, const fv_dataset *test, const char *out,
                  const data_src *src, const split_info *split, const fv_epoch_metrics *hist,
                  int ran, double secs, double scratch_acc)
{
    if (is_regression(o))
        return fv_figure_curves(out, hist, ran) == FV_OK ? report_regression(m, test, out)
                                                         : fail_lib();
    const char *kv[32];
    char v[12][160], name[256];
    run_settings(o, split, hist, ran, secs, kv, v);
    if (o->compare_scratch) { /* beside this run's, the same network's from its initial weights */
        int n = 0;
        while (kv[n])
            n++;
        snprintf(v[11], sizeof v[11], "%.2f %% (this run: see the test metrics)",
                 100 * scratch_acc);
        kv[n] = "test accuracy from scratch (same data and epochs)", kv[n + 1] = v[11];
        kv[n + 2] = NULL;
    }
    fv_metrics *mt = NULL;
    if (fv_run_report_write(m, test, out, .data_name = data_name(src, name, sizeof name),
                            .history = hist, .epochs = ran, .settings = kv,
                            .metrics = &mt) != FV_OK)
        return fail_lib();
    print_metrics(mt, out);
    fv_metrics_free(mt);
    printf("Report: %s/report.html\n", out);
    return 0;
}

/* Fits (validating on val), saves the weights, then tests once and reports. */
static int train_and_report(const opts *o, const char *path, fv_model *m,
                            const fv_dataset *train, const fv_dataset *val,
                            const fv_dataset *test, const char *out, const data_src *src,
                            const split_info *split)
{
    char weights[1100];
    snprintf(weights, sizeof weights, "%s/weights.safetensors", out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fv_epoch_metrics *hist = calloc((size_t)(o->epochs + o->finetune_epochs), sizeof *hist);
    int ran = 0, rc = hist ? 0 : fail("out of memory");
    if (!rc)
        rc = run_phase(o, m, train, val, out, o->epochs, hist, &ran);
    if (!rc && o->finetune_epochs)
        rc = finetune(o, m, train, val, out, hist, &ran);
    if (fv_dist_rank() != 0) /* the weights, test and report are rank 0's */
        return free(hist), rc;
    if (!rc && fv_model_save_weights(m, weights) != FV_OK)
        rc = fail_lib();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double loss, acc;
    if (!rc && fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK)
        rc = fail_lib();
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    if (!rc && is_regression(o))
        printf("Test loss %.4f (%lld samples); trained in %.1f s\n", loss,
               (long long)test->x->dims[0], secs);
    else if (!rc)
        printf("Test accuracy: %.4f (loss %.4f, %lld images); trained in %.1f s\n", acc, loss,
               (long long)test->x->dims[0], secs);
    double scratch = 0;
    if (!rc && o->compare_scratch)
        rc = scratch_baseline(o, path, train, val, test, out, &scratch);
    if (!rc)
        rc = report(o, m, test, out, src, split, hist, ran, secs, scratch);
    if (!rc)
        printf("Weights: %s\nMetrics: %s/metrics.csv\n", weights, out);
    free(hist);
    return rc;
}

static int train_rank(const opts *o);

/* Under mpirun, one rank of a data-parallel run (fovea.h, fv_dist_init): the other ranks train
 * silently; an error on one rank ends the whole job (mpirun names the rank). */
int cmd_train(const opts *o)
{
    if (fv_dist_init(NULL, NULL) != FV_OK)
        return fail_lib();
    opts mine = *o;
    mine.quiet |= fv_dist_rank() != 0;
    int rc = train_rank(&mine);
    if (rc && fv_dist_size() > 1)
        fv_dist_abort(rc);
    fv_dist_finalize();
    return rc;
}

static int train_rank(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    char out[1000], msg[1200];
    fv_model *m = NULL;
    fv_dataset *train = NULL, *val = NULL, *test = NULL;
    split_info split;
    data_src src;
    data_source(o, NULL, &src);
    int rc = check_transfer_opts(o);
    if (!rc)
        rc = load_sets(o, &src, &train, &val, &test, &split);
    if (!rc) {
        const int64_t *d = train->x->dims; /* a zoo network is built for the data */
        int img = train->x->ndim == 4;
        m = load_compiled(o, path, img ? (int)d[1] : 0, img ? (int)d[2] : 0, img ? (int)d[3] : 0,
                          train->num_classes);
        rc = m ? prepare(o, m, train, &src) : fail_lib();
    }
    if (!rc) /* the report shows test images: those are resized at once */
        rc = fit_inputs(o, path, m, train, test);
    if (rc)
        goto done;
    if (o->out)
        snprintf(out, sizeof out, "%s", o->out);
    else
        default_out(fv_model_name(m), out, sizeof out);
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
    rc = o->weights ? epoch0(o, m, test) : 0;
    if (!rc)
        rc = train_and_report(o, path, m, train, val, test, out, &src, &split);
done:
    fv_dataset_free(train);
    fv_dataset_free(val);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}
