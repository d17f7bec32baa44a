/* fovea.c - the command-line tool: train, eval, predict and summary over models in the text format
 * and MNIST-format data. The only place that exits: every library error is printed as one line
 * ("fovea: <message>") and turns into a non-zero exit status. */
#include "fovea.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_MODEL "models/lenet5.fv"

typedef struct opts {
    const char *model, *data, *out, *weights, *optimizer, *metrics_csv, *schedule;
    const char *image, *layer; /* visualize */
    int cls;
    int knn_k, knn_l1; /* knn */
    const char *pos[64];
    int npos, epochs, batch, limit, seed, quiet, threads, warmup, patience, resume, steps;
    fv_augment aug;
    int classes, in_c, in_h, in_w, aux, stride_first; /* zoo networks */
    double alpha;
    double lr, momentum, clip_norm;
} opts;

static int fail(const char *what)
{
    fprintf(stderr, "fovea: %s\n", what && *what ? what : "unknown error");
    return 1;
}

static int fail_lib(void) { return fail(fv_last_error()); }

static void usage(FILE *f)
{
    fprintf(f,
            "usage: fovea <command> [options]\n"
            "  train   [MODEL.fv] [--data DIR] [--epochs N] [--batch N] [--optimizer NAME]\n"
            "          NAME: adam (default), sgd, adamw, adamax, nadam, adagrad, rmsprop, adadelta\n"
            "          [--schedule constant|step|exponential|cosine|onecycle|plateau] [--warmup N]\n"
            "          [--early-stopping PATIENCE] (restores the best epoch) [--clip-norm X]\n"
            "          [--resume]  continue from OUT/last.safetensors (checkpoints: OUT/last,\n"
            "          OUT/best, after every epoch)\n"
            "          augmentation: [--hflip] [--vflip] [--crop-pad N] [--rotate DEG] [--scale X]\n"
            "          [--aspect X] [--translate X] [--brightness X] [--contrast X] [--saturation X]\n"
            "          [--hue X] [--grayscale P] [--cutout N] [--erase P] [--mixup A] [--cutmix A]\n"
            "          [--lr X] [--momentum X] [--seed N] [--limit N] [--out DIR] [--quiet]\n"
            "          [--threads N]  (every command; default 0 = all cores)\n"
            "          trains on DIR (default: Fashion-MNIST) and writes DIR/weights.safetensors\n"
            "          and DIR/metrics.csv (default out: runs/<model>)\n"
            "  eval    MODEL.fv --weights FILE [--data DIR] [--limit N] [--out DIR]\n"
            "          accuracy, top-k, P/R/F1, ROC AUC, AP, log-loss, ECE; JSON, CSV, figures\n"
            "  predict MODEL.fv --weights FILE IMAGE...  (PNG or JPEG)\n"
            "  summary MODEL.fv|NETWORK  layers, output shapes, parameters, mult-adds\n"
            "  visualize MODEL.fv --weights FILE [--image IMG] [--class K] [--layer L] [--out DIR]\n"
            "          filters, feature maps, saliency and Grad-CAM, class models, mistakes,\n"
            "          deconvnet projections (PNG)\n"
            "  knn     [--k K] [--metric l1|l2] [--data DIR] [--limit N] [--out DIR]\n"
            "          the k-nearest-neighbour baseline with eval's metrics (default k 5, L2)\n"
            "  bench   MODEL.fv|NETWORK [--batch N] [--steps N] [--input C,H,W] [--classes K]\n"
            "          training and prediction images/s on random data, and peak memory\n"
            "  zoo     [NETWORK [--out FILE.fv]]  the zoo's networks, or one as a model file\n"
            "          (NETWORK works wherever MODEL.fv does; for zoo\n"
            "          networks: [--classes K] [--input C,H,W] [--alpha X] [--aux] [--stride-first];\n"
            "          train and eval build them for the data's image size and classes)\n"
            "MODEL.fv defaults to " DEFAULT_MODEL ". Data: FOVEA_DATA or Debian's "
            "dataset-fashion-mnist.\n"
            "--isa LEVEL (any command; or FOVEA_ISA=LEVEL): the instruction sets the kernels may\n"
            "use: generic, avx2, avx_vnni, avx512, avx512_vnni (default: the best this CPU has;\n"
            "fovea --version shows it and each kernel family's)\n");
}

/* Strict integer / float parsing: the whole string must be a number in range. */
static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* The augmentation settings that take a number: --NAME X sets the field. */
static float *aug_field(fv_augment *g, const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } t[] = {{"--rotate", offsetof(fv_augment, rotate)},
             {"--scale", offsetof(fv_augment, scale)},
             {"--aspect", offsetof(fv_augment, aspect)},
             {"--translate", offsetof(fv_augment, translate)},
             {"--brightness", offsetof(fv_augment, brightness)},
             {"--contrast", offsetof(fv_augment, contrast)},
             {"--saturation", offsetof(fv_augment, saturation)},
             {"--hue", offsetof(fv_augment, hue)},
             {"--grayscale", offsetof(fv_augment, grayscale)},
             {"--erase", offsetof(fv_augment, erase)},
             {"--mixup", offsetof(fv_augment, mixup)},
             {"--cutmix", offsetof(fv_augment, cutmix)}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(name, t[i].name) == 0)
            return (float *)((char *)g + t[i].off);
    return NULL;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.epochs = 10, .batch = 64, .optimizer = "adam", .lr = 0, .momentum = 0.9,
                .cls = -1};
    char msg[256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            takes = 0;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = 1;
            takes = 0;
        } else if (strcmp(a, "--aux") == 0 || strcmp(a, "--stride-first") == 0) {
            *(a[2] == 'a' ? &o->aux : &o->stride_first) = 1;
            takes = 0;
        } else if (strcmp(a, "--hflip") == 0 || strcmp(a, "--vflip") == 0) {
            *(a[2] == 'h' ? &o->aug.hflip : &o->aug.vflip) = 1;
            takes = 0;
        } else if (strcmp(a, "--crop-pad") == 0 && v) {
            bad = parse_int(v, 1, 64, &o->aug.crop_pad);
        } else if (strcmp(a, "--cutout") == 0 && v) {
            bad = parse_int(v, 1, 4096, &o->aug.cutout);
        } else if (aug_field(&o->aug, a) && v) {
            double x;
            bad = parse_double(v, &x) || !(x >= 0);
            *aug_field(&o->aug, a) = (float)x;
        } else if (strncmp(a, "--", 2) != 0) {
            if (o->npos == 64)
                return fail("too many arguments");
            o->pos[o->npos++] = a;
            takes = 0;
        } else if (!v) {
            snprintf(msg, sizeof msg, "option %s needs a value", a);
            return fail(msg);
        } else if (strcmp(a, "--classes") == 0) {
            bad = parse_int(v, 1, 1 << 20, &o->classes);
        } else if (strcmp(a, "--alpha") == 0) {
            bad = parse_double(v, &o->alpha) || !(o->alpha > 0);
        } else if (strcmp(a, "--input") == 0) {
            bad = sscanf(v, "%d,%d,%d", &o->in_c, &o->in_h, &o->in_w) != 3 || o->in_c < 1 ||
                  o->in_h < 1 || o->in_w < 1;
        } else if (strcmp(a, "--k") == 0) {
            bad = parse_int(v, 1, 1000, &o->knn_k);
        } else if (strcmp(a, "--metric") == 0) {
            bad = strcmp(v, "l1") != 0 && strcmp(v, "l2") != 0;
            o->knn_l1 = strcmp(v, "l1") == 0;
        } else if (strcmp(a, "--image") == 0) {
            o->image = v;
        } else if (strcmp(a, "--layer") == 0) {
            o->layer = v;
        } else if (strcmp(a, "--class") == 0) {
            bad = parse_int(v, 0, 1 << 20, &o->cls);
        } else if (strcmp(a, "--data") == 0) {
            o->data = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
        } else if (strcmp(a, "--weights") == 0) {
            o->weights = v;
        } else if (strcmp(a, "--optimizer") == 0) {
            o->optimizer = v;
            bad = fv_optim_from_name(v) < 0;
        } else if (strcmp(a, "--epochs") == 0) {
            bad = parse_int(v, 1, 100000, &o->epochs);
        } else if (strcmp(a, "--batch") == 0) {
            bad = parse_int(v, 1, 65536, &o->batch);
        } else if (strcmp(a, "--steps") == 0) {
            bad = parse_int(v, 1, 1000000, &o->steps);
        } else if (strcmp(a, "--limit") == 0) {
            bad = parse_int(v, 1, 1 << 30, &o->limit);
        } else if (strcmp(a, "--seed") == 0) {
            bad = parse_int(v, 0, 1 << 30, &o->seed);
        } else if (strcmp(a, "--schedule") == 0) {
            o->schedule = v;
            bad = strcmp(v, "constant") && strcmp(v, "step") && strcmp(v, "exponential") &&
                  strcmp(v, "cosine") && strcmp(v, "onecycle") && strcmp(v, "plateau");
        } else if (strcmp(a, "--early-stopping") == 0) {
            bad = parse_int(v, 1, 100000, &o->patience);
        } else if (strcmp(a, "--clip-norm") == 0) {
            bad = parse_double(v, &o->clip_norm) || !(o->clip_norm > 0);
        } else if (strcmp(a, "--warmup") == 0) {
            bad = parse_int(v, 0, 100000, &o->warmup);
        } else if (strcmp(a, "--threads") == 0) {
            bad = parse_int(v, 0, 64, &o->threads);
        } else if (strcmp(a, "--lr") == 0) {
            bad = parse_double(v, &o->lr) || !(o->lr > 0);
        } else if (strcmp(a, "--momentum") == 0) {
            bad = parse_double(v, &o->momentum) || o->momentum < 0 || o->momentum >= 1;
        } else {
            snprintf(msg, sizeof msg, "unknown option '%s' (see fovea --help)", a);
            return fail(msg);
        }
        if (bad) {
            snprintf(msg, sizeof msg, "option %s: bad value '%s'", a, v);
            return fail(msg);
        }
        i += takes;
    }
    return 0;
}

/* ---------------------------------------------------------------- shared steps */

/* --schedule NAME, fitted to the run: step halves the rate every third of the epochs,
 * exponential decays by 0.9 an epoch, cosine anneals to 0 over the epochs after --warmup,
 * onecycle runs over every step with the --lr as the peak, plateau halves it after 2 epochs
 * without improvement of the validation loss. */
static fv_schedule schedule_for(const opts *o, int64_t n)
{
    const char *s = o->schedule ? o->schedule : "constant";
    int steps = (int)((n + o->batch - 1) / o->batch) * o->epochs;
    if (strcmp(s, "step") == 0)
        return fv_schedule(.kind = FV_SCHED_STEP, .step_size = o->epochs > 2 ? o->epochs / 3 : 1,
                           .gamma = 0.5f);
    if (strcmp(s, "exponential") == 0)
        return fv_schedule(.kind = FV_SCHED_EXPONENTIAL, .gamma = 0.9f);
    if (strcmp(s, "cosine") == 0)
        return fv_schedule(.kind = FV_SCHED_COSINE, .total = o->epochs, .warmup = o->warmup);
    if (strcmp(s, "onecycle") == 0)
        return fv_schedule(.kind = FV_SCHED_ONE_CYCLE, .total = steps);
    if (strcmp(s, "plateau") == 0)
        return fv_schedule(.kind = FV_SCHED_PLATEAU, .factor = 0.5f, .patience = 2);
    return fv_schedule(.kind = FV_SCHED_CONSTANT);
}

/* Pixels in [0, 1] mapped to [-1, 1]: the same fixed normalization for training and prediction. */
#define NORM_MEAN 0.5f
#define NORM_STD 0.5f

/* A zoo name (a bare word, no such file and no ".fv"): the network for input (c, h, w) and `classes` (the
 * options win; 0: the network's defaults). */
static int is_zoo(const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    /* a bare word that is no file is a zoo name (fv_zoo names the unknown ones) */
    return stat(path, &st) != 0 && !(n > 3 && strcmp(path + n - 3, ".fv") == 0) &&
           !strchr(path, '/');
}

static fv_model *open_model(const opts *o, const char *path, int c, int h, int w, int classes)
{
    if (!is_zoo(path))
        return fv_model_load_file(path);
    if (o->in_c)
        c = o->in_c, h = o->in_h, w = o->in_w;
    return fv_zoo(path, .num_classes = o->classes ? o->classes : classes, .channels = c,
                  .height = h, .width = w, .width_mult = (float)o->alpha, .aux_logits = o->aux,
                  .stride_first = o->stride_first);
}

/* The model for data of (c, h, w) images in `classes` classes (0: unknown), compiled. */
static fv_model *load_compiled(const opts *o, const char *path, int c, int h, int w, int classes)
{
    fv_model *m = open_model(o, path, c, h, w, classes);
    if (!m)
        return NULL;
    fv_optim_kind kind = (fv_optim_kind)fv_optim_from_name(o->optimizer);
    fv_optimizer opt = {.kind = kind, .lr = (float)o->lr, .clip_norm = (float)o->clip_norm};
    if (kind == FV_OPTIM_SGD) /* --momentum (default 0.9) is SGD's */
        opt.momentum = (float)o->momentum;
    /* mixing blends targets: categorical CE on (one-hot) distributions, the same loss */
    int mixing = o->aug.mixup > 0 || o->aug.cutmix > 0;
    if (fv_model_compile(m, .loss = mixing ? FV_LOSS_CATEGORICAL_CE : FV_LOSS_SOFTMAX_CE,
                         .optimizer = opt,
                         .seed = (uint64_t)o->seed) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static fv_dataset *load_data(const opts *o, int train)
{
    fv_dataset *d = fv_dataset_load_dir(o->data, train);
    if (!d)
        return NULL;
    if (o->limit && o->limit < d->x->dims[0]) {
        fv_dataset *t = fv_dataset_take(d, 0, o->limit);
        fv_dataset_free(d);
        d = t;
        if (!d)
            return NULL;
    }
    if (fv_dataset_normalize(d, NORM_MEAN, NORM_STD) != FV_OK) {
        fv_dataset_free(d);
        return NULL;
    }
    return d;
}

static int make_dir(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

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

static int write_report(fv_model *m, const fv_dataset *test, const char *out, const opts *o,
                        const fv_epoch_metrics *hist, int ran, double secs);

/* ---------------------------------------------------------------- commands */

static int cmd_train(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    char out[900], weights[1024], csv[1024], msg[1200];
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
    if (o->out)
        snprintf(out, sizeof out, "%s", o->out);
    else
        snprintf(out, sizeof out, "runs/%s", fv_model_name(m));
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
                     .resume = o->resume, .history = hist, .epochs_run = &ran,
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

static const char *class_name(int k, int64_t classes);

/* ROC (c >= 0 per class, -1 micro) or precision-recall curves of every class into one figure. */
static int write_curve_plot(const double *sc, const int *lab, int64_t n, int k, int roc,
                            const char *path)
{
    int shown = k < 10 ? k : 10; /* ten classes and the micro average stay readable */
    fv_curve cv[11];
    fv_series s[11];
    char names[11][64];
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
        snprintf(names[c], sizeof names[c], "%s", cls >= 0 ? class_name(cls, k) : "micro average");
        s[c] = (fv_series){names[c], cv[c].x, cv[c].y, (int)cv[c].n};
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
static int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir,
                          fv_metrics **keep)
{
    int64_t n = out->dims[0], k = out->dims[1];
    double *sc = malloc(sizeof(double) * (size_t)(n * k));
    int *lab = malloc(sizeof(int) * (size_t)n);
    const char *names[256];
    if (!sc || !lab || k > 256) {
        free(sc), free(lab);
        return fail(k > 256 ? "eval: more than 256 classes" : "out of memory");
    }
    for (int64_t i = 0; i < n * k; i++)
        sc[i] = out->data[i];
    for (int64_t i = 0; i < n; i++)
        lab[i] = (int)test->y->data[i];
    for (int64_t c = 0; c < k; c++)
        names[c] = test->class_names ? test->class_names[c] : strdup(class_name((int)c, k));
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
            fv_status st = f == 0   ? fv_metrics_write_json(mt, names, path)
                           : f == 1 ? fv_metrics_write_csv(mt, names, path)
                           : f <= 3 ? fv_plot_confusion(path, mt->confusion, (int)k, names)
                                    : fv_plot_reliability(path, mt->bin_confidence,
                                                          mt->bin_accuracy, mt->bin_count,
                                                          mt->bins, .title = "reliability");
            rc = st == FV_OK ? 0 : fail_lib();
        }
        for (int f = 0; f < 4 && rc == 0; f++) { /* ROC, PR; PNG and SVG */
            snprintf(path, sizeof path, "%s/%s.%s", dir, f < 2 ? "roc" : "pr", f % 2 ? "svg" : "png");
            rc = write_curve_plot(sc, lab, n, (int)k, f < 2, path);
        }
        if (rc == 0)
            printf("Figures and metrics: %s/{metrics.json,per_class.csv,confusion,roc,pr,"
                   "reliability}{.png,.svg}\n", dir);
    }
    if (keep && rc == 0)
        *keep = mt;
    else
        fv_metrics_free(mt);
    for (int64_t c = 0; c < k && !test->class_names; c++)
        free((void *)names[c]);
    free(sc), free(lab);
    return rc;
}

static int cmd_eval(const opts *o)
{
    if (!o->npos || !o->weights)
        return fail("eval needs MODEL.fv and --weights FILE");
    fv_dataset *test = load_data(o, 0);
    if (!test)
        return fail_lib();
    const int64_t *d = test->x->dims;
    fv_model *m = load_compiled(o, o->pos[0], (int)d[1], (int)d[2], (int)d[3], test->num_classes);
    int rc = 1;
    double loss, acc;
    fv_tensor *out = NULL;
    const char *dir = o->out ? o->out : "runs/eval";
    if (!m || fv_model_load_weights(m, o->weights) != FV_OK ||
        fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK ||
        fv_model_predict(m, test->x, &out) != FV_OK) {
        rc = fail_lib();
    } else if (make_dir(dir) != 0) {
        rc = fail("eval: cannot create the output directory");
    } else {
        printf("Test accuracy: %.4f (loss %.4f, %lld images)\n", acc, loss,
               (long long)test->x->dims[0]);
        fv_softmax_rows(out->data, out->dims[0], out->dims[1]);
        rc = report_metrics(test, out, dir, NULL);
    }
    fv_tensor_free(out);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}

static const char *class_name(int k, int64_t classes)
{
    static char buf[32];
    if (classes == 10 && fv_fashion_mnist_class(k))
        return fv_fashion_mnist_class(k);
    snprintf(buf, sizeof buf, "class %d", k);
    return buf;
}

static int predict_one(fv_model *m, const char *png)
{
    int64_t shape[4];
    int nd = fv_node_shape(m, 0, shape);
    if (nd != 3)
        return fail("predict: the model's input is not an image (C, H, W)");
    fv_tensor *img = fv_image_load(png), *fit = NULL, *out = NULL;
    int rc = 1;
    if (!img || !(fit = fv_image_fit(img, (int)shape[0], (int)shape[1], (int)shape[2])))
        goto out;
    for (int64_t i = 0; i < fv_tensor_numel(fit); i++)
        fit->data[i] = (fit->data[i] - NORM_MEAN) / NORM_STD;
    if (fv_model_predict(m, fit, &out) != FV_OK)
        goto out;
    int64_t k = out->dims[1];
    fv_softmax_rows(out->data, 1, k);
    printf("%s:", png);
    for (int r = 0; r < 3 && r < k; r++) { /* top 3 by repeated arg-max */
        int64_t best = -1;
        for (int64_t j = 0; j < k; j++)
            if (out->data[j] >= 0 && (best < 0 || out->data[j] > out->data[best]))
                best = j;
        printf("%s %s %.4f", r ? "," : "", class_name((int)best, k), (double)out->data[best]);
        out->data[best] = -1;
    }
    printf("\n");
    rc = 0;
out:
    if (rc)
        fail_lib();
    fv_tensor_free(img);
    fv_tensor_free(fit);
    fv_tensor_free(out);
    return rc;
}

static int cmd_predict(const opts *o)
{
    if (o->npos < 2 || !o->weights)
        return fail("predict needs MODEL.fv, --weights FILE and at least one IMAGE.png");
    fv_model *m = load_compiled(o, o->pos[0], 0, 0, 0, 0);
    if (!m)
        return fail_lib();
    int rc = fv_model_load_weights(m, o->weights) != FV_OK ? fail_lib() : 0;
    for (int i = 1; rc == 0 && i < o->npos; i++)
        rc = predict_one(m, o->pos[i]);
    fv_model_free(m);
    return rc;
}

static int cmd_summary(const opts *o)
{
    fv_model *m = open_model(o, o->npos ? o->pos[0] : DEFAULT_MODEL, 0, 0, 0, 0);
    if (!m)
        return fail_lib();
    int rc = fv_model_summary(m, stdout) == FV_OK ? 0 : fail_lib();
    fv_model_free(m);
    return rc;
}

/* The zoo: every network at its default input with its parameters and multiply-adds. */
static int cmd_zoo(const opts *o)
{
    if (o->npos) { /* one network as a model file (stdout, or --out FILE.fv) */
        fv_model *m = open_model(o, o->pos[0], 0, 0, 0, 0);
        char *text = m ? fv_model_to_text(m) : NULL;
        int rc = !text                               ? fail_lib()
                 : o->out                            ? (fv_model_save_file(m, o->out) == FV_OK ? 0 : fail_lib())
                 : fputs(text, stdout) == EOF ? fail("zoo: cannot write") : 0;
        free(text);
        fv_model_free(m);
        return rc;
    }
    printf("%-18s %-12s %14s %16s\n", "network", "input", "parameters", "mult-adds");
    for (int i = 0; fv_zoo_name(i); i++) {
        fv_model *m = open_model(o, fv_zoo_name(i), 0, 0, 0, 0);
        if (!m)
            return fail_lib();
        int64_t d[4], total, tr, nt;
        fv_node_shape(m, 0, d);
        fv_model_count_params(m, &total, &tr, &nt);
        char in[32];
        snprintf(in, sizeof in, "%lldx%lldx%lld", (long long)d[0], (long long)d[1],
                 (long long)d[2]);
        printf("%-18s %-12s %14lld %16lld\n", fv_zoo_name(i), in, (long long)tr,
               (long long)fv_model_macs(m));
        fv_model_free(m);
    }
    printf("(parameters: trainable, PyTorch's count; `fovea summary NAME` shows one network)\n");
    return 0;
}

/* ---------------------------------------------------------------- visualize */

/* The first layer with 4-D weights (a convolution), and the last (C, h, w) layer before the
 * output; -1 when there is none. */
static void conv_layers(const fv_model *m, int *first, int *last_map)
{
    *first = *last_map = -1;
    int64_t d[4];
    for (int i = 1; i < fv_model_num_nodes(m); i++) {
        fv_tensor *w = NULL;
        if (*first < 0 && fv_layer_weights(m, fv_node_name(m, i), &w) == FV_OK && w->ndim == 4)
            *first = i;
        fv_tensor_free(w);
        if (fv_node_shape(m, i, d) == 3)
            *last_map = i;
        if (fv_node_shape(m, i, d) == 1 && *last_map >= 0)
            break; /* past the image part */
    }
}

/* One (C, H, W) image, or a (N, ...) batch's first: as a (1, C, H, W) tensor. */
static fv_tensor *as_batch(const float *data, const int64_t *chw)
{
    fv_tensor *t = fv_tensor_new4(1, chw[0], chw[1], chw[2]);
    if (t)
        memcpy(t->data, data, sizeof(float) * (size_t)fv_tensor_numel(t));
    return t;
}

/* (F, C, kh, kw) filters as F gray tiles (RGB when C = 3; else the mean over C). */
static int write_filters(fv_model *m, int layer, const char *path)
{
    fv_tensor *w = NULL, *g = NULL;
    if (fv_layer_weights(m, fv_node_name(m, layer), &w) != FV_OK)
        return fail_lib();
    int64_t f = w->dims[0], c = w->dims[1], k = w->dims[2] * w->dims[3];
    g = fv_tensor_new4(f, c == 3 ? 3 : 1, w->dims[2], w->dims[3]);
    for (int64_t i = 0; i < f; i++)
        for (int64_t j = 0; j < k * (c == 3 ? 3 : 1); j++) {
            double s = 0;
            for (int64_t q = 0; q < (c == 3 ? 1 : c); q++)
                s += w->data[(i * c + (c == 3 ? 0 : q)) * k + j];
            g->data[i * k * (c == 3 ? 3 : 1) + j] = (float)(s / (c == 3 ? 1 : c));
        }
    char title[128];
    snprintf(title, sizeof title, "filters of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .scale = 8) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(w), fv_tensor_free(g);
    return rc;
}

/* (C, h, w) maps of `layer` for img as heat tiles. */
static int write_maps(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    fv_tensor *maps = NULL;
    if (fv_feature_maps(m, img, fv_node_name(m, layer), &maps) != FV_OK || maps->ndim != 3) {
        fv_tensor_free(maps);
        return fail_lib();
    }
    int64_t c = maps->dims[0] < 64 ? maps->dims[0] : 64;
    fv_tensor *g = fv_tensor_new4(c, 1, maps->dims[1], maps->dims[2]);
    memcpy(g->data, maps->data, sizeof(float) * (size_t)fv_tensor_numel(g));
    char title[128];
    snprintf(title, sizeof title, "feature maps of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .heat = 1) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(maps), fv_tensor_free(g);
    return rc;
}

/* The image, its saliency for class cls and Grad-CAM at `layer`, side by side. */
static int write_saliency(fv_model *m, const fv_tensor *img, int cls, int layer,
                          const char *path, int64_t classes)
{
    fv_tensor *sal = NULL, *cam = NULL;
    if (fv_saliency(m, img, cls, &sal) != FV_OK ||
        fv_gradcam(m, img, cls, fv_node_name(m, layer), &cam) != FV_OK) {
        fv_tensor_free(sal);
        return fail_lib();
    }
    int64_t h = img->dims[2], w = img->dims[3], c = img->dims[1];
    fv_tensor *g = fv_tensor_new4(3, 1, h, w);
    for (int64_t i = 0; i < h * w; i++) { /* the image's mean over channels */
        double s = 0;
        for (int64_t k = 0; k < c; k++)
            s += img->data[k * h * w + i];
        g->data[i] = (float)(s / c);
    }
    memcpy(g->data + h * w, sal->data, sizeof(float) * (size_t)(h * w));
    memcpy(g->data + 2 * h * w, cam->data, sizeof(float) * (size_t)(h * w));
    char cap[3][96], title[128];
    snprintf(cap[0], sizeof cap[0], "input");
    snprintf(cap[1], sizeof cap[1], "saliency");
    snprintf(cap[2], sizeof cap[2], "Grad-CAM (%s)", fv_node_name(m, layer));
    snprintf(title, sizeof title, "what makes it '%s'", class_name(cls, classes));
    const char *caps[3] = {cap[0], cap[1], cap[2]};
    int rc = fv_image_grid(path, g, .title = title, .captions = caps, .heat = 1, .cols = 3) == FV_OK
                 ? 0
                 : fail_lib();
    fv_tensor_free(sal), fv_tensor_free(cam), fv_tensor_free(g);
    return rc;
}

/* Deconvnet reconstructions of up to 16 maps of `layer` (its first ones) for img. */
static int write_deconv(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    int64_t d[4];
    fv_node_shape(m, layer, d);
    int64_t k = d[0] < 16 ? d[0] : 16, c = img->dims[1], hw = img->dims[2] * img->dims[3];
    fv_tensor *g = fv_tensor_new4(k, c == 3 ? 3 : 1, img->dims[2], img->dims[3]);
    char cap[16][32];
    const char *caps[16];
    for (int64_t i = 0; i < k; i++) {
        fv_tensor *r = NULL;
        if (fv_deconvnet(m, img, fv_node_name(m, layer), (int)i, &r) != FV_OK) {
            fv_tensor_free(g);
            return fail_lib();
        }
        for (int64_t p = 0; p < hw * (c == 3 ? 3 : 1); p++) { /* gray: the mean over channels */
            double v = 0;
            for (int64_t q = 0; q < (c == 3 ? 1 : c); q++)
                v += r->data[q * hw + p];
            g->data[i * hw * (c == 3 ? 3 : 1) + p] = (float)(v / (c == 3 ? 1 : c));
        }
        fv_tensor_free(r);
        snprintf(cap[i], sizeof cap[i], "map %lld", (long long)i);
        caps[i] = cap[i];
    }
    char title[128];
    snprintf(title, sizeof title, "deconvnet projections of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .captions = caps) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(g);
    return rc;
}

/* One class-model image per class (up to 20). */
static int write_class_models(fv_model *m, int64_t classes, const int64_t *chw, const char *path)
{
    int64_t k = classes < 20 ? classes : 20;
    fv_tensor *g = fv_tensor_new4(k, chw[0] == 3 ? 3 : 1, chw[1], chw[2]);
    const char *caps[20];
    int64_t hw = chw[1] * chw[2];
    for (int64_t c = 0; c < k; c++) {
        fv_tensor *img = NULL;
        if (fv_class_model(m, (int)c, 200, 0.1f, 0.01f, &img) != FV_OK) {
            fv_tensor_free(g);
            return fail_lib();
        }
        memcpy(g->data + c * g->dims[1] * hw, img->data, sizeof(float) * (size_t)(g->dims[1] * hw));
        fv_tensor_free(img);
        caps[c] = class_name((int)c, classes);
        caps[c] = strdup(caps[c]);
    }
    int rc = fv_image_grid(path, g, .title = "class models (gradient ascent on the input)",
                           .captions = caps, .cols = 5) == FV_OK
                 ? 0
                 : fail_lib();
    for (int64_t c = 0; c < k; c++)
        free((void *)caps[c]);
    fv_tensor_free(g);
    return rc;
}

/* The 16 test images the model gets wrong with the most confidence, from its class
 * probabilities `out` (N, classes). */
static int write_misclassified(const fv_tensor *out, const fv_dataset *test, const char *path)
{
    int64_t n = out->dims[0], k = out->dims[1], pick[16], np = 0;
    float conf[16];
    for (int64_t i = 0; i < n; i++) { /* keep the top 16 wrong ones, by confidence */
        const float *p = out->data + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        if (best == (int64_t)test->y->data[i])
            continue;
        if (np == 16 && p[best] <= conf[15])
            continue; /* not more confident than the 16 kept */
        int64_t at = np < 16 ? np++ : 15;
        for (; at > 0 && conf[at - 1] < p[best]; at--)
            pick[at] = pick[at - 1], conf[at] = conf[at - 1];
        pick[at] = i, conf[at] = p[best];
    }
    const int64_t *d = test->x->dims;
    fv_tensor *g = fv_tensor_new4(np ? np : 1, d[1], d[2], d[3]);
    char cap[16][96];
    const char *caps[16];
    for (int64_t s = 0; s < np; s++) {
        const float *p = out->data + pick[s] * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        char t[48];
        snprintf(t, sizeof t, "%s", class_name((int)test->y->data[pick[s]], k));
        snprintf(cap[s], sizeof cap[s], "%s > %s %.2f", t, class_name((int)best, k), (double)p[best]);
        caps[s] = cap[s];
        memcpy(g->data + s * d[1] * d[2] * d[3], test->x->data + pick[s] * d[1] * d[2] * d[3],
               sizeof(float) * (size_t)(d[1] * d[2] * d[3]));
    }
    int rc = np == 0 ? 0
             : fv_image_grid(path, g, .title = "most confident mistakes (true > predicted)",
                             .captions = caps, .cols = 4, .scale = 3) == FV_OK
                 ? 0
                 : fail_lib();
    fv_tensor_free(g);
    return rc;
}

/* write_misclassified after predicting the test set. */
static int write_mistakes(fv_model *m, const fv_dataset *test, const char *path)
{
    fv_tensor *out = NULL;
    if (fv_model_predict(m, test->x, &out) != FV_OK)
        return fail_lib();
    fv_softmax_rows(out->data, out->dims[0], out->dims[1]);
    int rc = write_misclassified(out, test, path);
    fv_tensor_free(out);
    return rc;
}

static int cmd_visualize(const opts *o)
{
    if (!o->npos || !o->weights)
        return fail("visualize needs MODEL.fv and --weights FILE");
    fv_dataset *test = load_data(o, 0);
    if (!test)
        return fail_lib();
    const int64_t *d = test->x->dims;
    fv_model *m = load_compiled(o, o->pos[0], (int)d[1], (int)d[2], (int)d[3], test->num_classes);
    int rc = 1, first, last;
    char dir[900], path[1024];
    fv_tensor *img = NULL;
    if (!m || fv_model_load_weights(m, o->weights) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    snprintf(dir, sizeof dir, "%s", o->out ? o->out : "runs/visualize");
    if (make_dir(dir) != 0) {
        rc = fail("cannot create the output directory");
        goto done;
    }
    conv_layers(m, &first, &last);
    if (o->layer && (last = fv_model_find_node(m, o->layer)) < 0) {
        snprintf(path, sizeof path, "no layer '%s'", o->layer);
        rc = fail(path);
        goto done;
    }
    if (first < 0 || last < 0) {
        rc = fail("visualize: the model has no convolution");
        goto done;
    }
    img = as_batch(test->x->data, d + 1);
    if (o->image) { /* a file, fitted and normalized as predict does */
        fv_tensor *f = fv_image_load(o->image), *fit = f ? fv_image_fit(f, (int)d[1], (int)d[2], (int)d[3]) : NULL;
        fv_tensor_free(f);
        if (!fit) {
            rc = fail_lib();
            goto done;
        }
        for (int64_t i = 0; i < fv_tensor_numel(fit); i++)
            fit->data[i] = (fit->data[i] - NORM_MEAN) / NORM_STD;
        fv_tensor_free(img);
        img = fit;
    }
    int cls = o->cls >= 0 ? o->cls : (int)test->y->data[0];
    static const char *const files[6] = {"filters.png",      "feature_maps.png",
                                         "saliency.png",     "class_models.png",
                                         "misclassified.png", "deconvnet.png"};
    for (int f = 0; f < 6; f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        rc = f == 0   ? write_filters(m, first, path)
             : f == 1 ? write_maps(m, img, fv_model_find_node(m, fv_node_name(m, first)), path)
             : f == 2 ? write_saliency(m, img, cls, last, path, test->num_classes)
             : f == 3 ? write_class_models(m, test->num_classes, d + 1, path)
             : f == 4 ? write_mistakes(m, test, path)
                      : write_deconv(m, img, last, path);
        if (rc)
            goto done;
        printf("%s\n", path);
    }
done:
    fv_tensor_free(img);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}

/* ---------------------------------------------------------------- report */

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
static int write_report(fv_model *m, const fv_dataset *test, const char *out, const opts *o,
                        const fv_epoch_metrics *hist, int ran, double secs)
{
    fv_tensor *probs = NULL;
    fv_metrics *mt = NULL;
    if (fv_model_predict(m, test->x, &probs) != FV_OK)
        return fail_lib();
    fv_softmax_rows(probs->data, probs->dims[0], probs->dims[1]);
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
        snprintf(paths[i], sizeof paths[i], "%s/%s.png", out, files[i]);
        if (i >= 6 && first < 0)
            continue; /* no convolution: no filters or maps */
        rc = i == 6   ? write_filters(m, first, paths[i])
             : i == 7 ? write_saliency(m, img, (int)test->y->data[0], last, paths[i],
                                       test->num_classes)
             : i == 8 ? write_misclassified(probs, test, paths[i])
                      : 0;
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
    char *names[256];
    int64_t nk = test->num_classes < 256 ? test->num_classes : 256;
    for (int64_t c = 0; c < nk; c++)
        names[c] = strdup(test->class_names ? test->class_names[c] : class_name((int)c, nk));
    char rp[1100], title[160];
    snprintf(rp, sizeof rp, "%s/report.html", out);
    snprintf(title, sizeof title, "fovea: %s on %s", fv_model_name(m), test->name);
    fv_report r = {.title = title, .params = params, .metrics = mt,
                   .class_names = (const char *const *)names,
                   .history = hist, .epochs = ran, .images = imgs, .captions = caps,
                   .summary = sum};
    if (rc == 0 && fv_report_write(rp, &r) != FV_OK)
        rc = fail_lib();
    for (int64_t c = 0; c < nk; c++)
        free(names[c]);
    fv_tensor_free(img);
    fv_tensor_free(probs);
    fv_metrics_free(mt);
    free(sum);
    return rc;
}

/* ---------------------------------------------------------------- knn */

/* The course's first classifier on the same data: k nearest training images by L1 or L2
 * distance, with every metric and figure eval gives (OUT default runs/knn). */
static int cmd_knn(const opts *o)
{
    int k = o->knn_k ? o->knn_k : 5, rc = 1;
    fv_dataset *train = load_data(o, 1), *test = train ? load_data(o, 0) : NULL;
    const char *dir = o->out ? o->out : "runs/knn";
    fv_tensor *sc = NULL;
    double *scores = NULL;
    int *pred = NULL;
    if (!train || !test) {
        rc = fail_lib();
        goto done;
    }
    int64_t n = test->x->dims[0], c = train->num_classes;
    scores = malloc(sizeof(double) * (size_t)(n * c));
    pred = malloc(sizeof(int) * (size_t)n);
    sc = fv_tensor_new(2, (int64_t[]){n, c});
    if (!scores || !pred || !sc || make_dir(dir) != 0) {
        rc = fail(!scores || !pred || !sc ? "out of memory" : "knn: cannot create the output dir");
        goto done;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fv_knn_predict(train, test->x, k, o->knn_l1 ? FV_KNN_L1 : FV_KNN_L2, scores, pred) !=
        FV_OK) {
        rc = fail_lib();
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++)
        right += pred[i] == (int)test->y->data[i];
    for (int64_t i = 0; i < n * c; i++)
        sc->data[i] = (float)scores[i];
    printf("k-NN (k = %d, %s) test accuracy: %.4f (%lld training, %lld test images); %.1f s\n",
           k, o->knn_l1 ? "L1" : "L2", (double)right / (double)n,
           (long long)train->x->dims[0], (long long)n,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    rc = report_metrics(test, sc, dir, NULL);
done:
    free(scores), free(pred);
    fv_tensor_free(sc);
    fv_dataset_free(train), fv_dataset_free(test);
    return rc;
}

/* ---------------------------------------------------------------- instruction sets */

/* Applies --isa LEVEL (global: anywhere on the line, taken out of argv; the last one wins), else
 * FOVEA_ISA. An unknown name is an error for both (the library alone would ignore FOVEA_ISA's);
 * a level this CPU lacks is an error for --isa, and clamped to the best below it for FOVEA_ISA
 * (a setting that outlives one machine, as the library does). */
static int apply_isa(int *argc, char **argv)
{
    const char *level = NULL, *from = "--isa";
    for (int i = 1; i < *argc; i++)
        if (strcmp(argv[i], "--isa") == 0) {
            if (i + 1 == *argc)
                return fail("option --isa needs a value");
            level = argv[i + 1];
            memmove(argv + i, argv + i + 2, sizeof *argv * (size_t)(*argc - i - 1)); /* + NULL */
            *argc -= 2, i--;
        }
    if (!level)
        level = getenv("FOVEA_ISA"), from = "FOVEA_ISA";
    if (!level || !*level)
        return 0;
    char msg[512];
    if (fv_isa_set(level) != FV_OK) {
        snprintf(msg, sizeof msg, "%s: %s", from, fv_last_error());
        return fail(msg);
    }
    if (*from == '-' && strcmp(level, "auto") != 0 && strcmp(level, fv_isa_name(NULL)) != 0) {
        snprintf(msg, sizeof msg, "--isa: ISA level '%s': this CPU lacks it (its best is %s)",
                 level, fv_isa_name("cpu"));
        return fail(msg);
    }
    return 0;
}

/* The CPU's best level, the level in force and each kernel family's, starred where the family
 * has no code for the level in force and runs its best level below it. */
static void print_isa(void)
{
    const char *in_force = fv_isa_name(NULL);
    int below = 0;
    printf("isa: cpu %s, in force %s\nkernels:", fv_isa_name("cpu"), in_force);
    for (int i = 0; fv_isa_family(i); i++) {
        const char *l = fv_isa_name(fv_isa_family(i));
        int b = strcmp(l, in_force) != 0;
        printf("%s %s %s%s", i ? "," : "", fv_isa_family(i), l, b ? "*" : "");
        below |= b;
    }
    printf("\n");
    if (below)
        printf("  * no %s code: the best level below it\n", in_force);
}

/* ---------------------------------------------------------------- bench */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median seconds of `steps` timed calls after two warm-up calls (train or predict). */
static double time_steps(fv_model *m, const fv_tensor *x, const float *y, int train, int steps,
                         int *err)
{
    double *t = malloc(sizeof(double) * (size_t)steps), med = 0;
    int n = (int)x->dims[0];
    for (int s = 0; t && s < steps + 2 && !*err; s++) {
        double t0 = now_s();
        fv_tensor *p = NULL;
        *err = train ? fv_model_train_batch(m, x->data, y, n, NULL, NULL) != FV_OK
                     : fv_model_predict(m, x, &p) != FV_OK;
        fv_tensor_free(p);
        if (s >= 2)
            t[s - 2] = now_s() - t0;
    }
    if (t && !*err) {
        qsort(t, (size_t)steps, sizeof *t, cmp_dbl);
        med = t[steps / 2];
    }
    *err |= !t;
    free(t);
    return med;
}

/* fovea bench: steady-state training (forward, backward, Adam step) and prediction throughput
 * of a model on random data at one batch size, and the process's peak resident memory. */
static int cmd_bench(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    fv_model *m = open_model(o, path, 0, 0, 0, 0);
    int64_t dims[5] = {o->batch}, cls[4] = {1};
    int nd = m ? fv_node_shape(m, 0, dims + 1) : 0;
    if (m) /* before compile, the last node is the prediction */
        fv_node_shape(m, fv_model_num_nodes(m) - 1, cls);
    if (!m || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()) != FV_OK) {
        fv_model_free(m);
        return fail_lib();
    }
    fv_tensor *x = fv_tensor_new(nd + 1, dims);
    float *y = malloc(sizeof(float) * (size_t)o->batch);
    fv_rng r;
    fv_rng_seed(&r, (uint64_t)o->seed);
    for (int64_t i = 0; x && i < fv_tensor_numel(x); i++)
        x->data[i] = (float)fv_rng_normal(&r);
    for (int i = 0; y && i < o->batch; i++)
        y[i] = (float)(i % cls[0]);
    int err = !x || !y, steps = o->steps ? o->steps : 10;
    double tt = err ? 0 : time_steps(m, x, y, 1, steps, &err);
    double tp = err ? 0 : time_steps(m, x, y, 0, steps, &err);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (!err) {
        printf("model %s, batch %d, %d thread%s, median of %d steps after 2 warm-up steps\n",
               path, o->batch, fv_num_threads(), fv_num_threads() == 1 ? "" : "s", steps);
        print_isa();
        printf("train    %10.1f images/s  (forward + backward + Adam step)\n", o->batch / tt);
        printf("predict  %10.1f images/s\n", o->batch / tp);
        printf("peak RSS %10.1f MB\n", (double)ru.ru_maxrss / 1024.0);
    }
    fv_tensor_free(x);
    free(y);
    fv_model_free(m);
    return err ? fail_lib() : 0;
}

int main(int argc, char **argv)
{
    if (apply_isa(&argc, argv) != 0)
        return 1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("fovea %s\n", FV_VERSION);
        print_isa();
        return 0;
    }
    opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 1;
    if (fv_set_num_threads(o.threads) != FV_OK)
        return fail_lib();
    if (strcmp(argv[1], "train") == 0)
        return cmd_train(&o);
    if (strcmp(argv[1], "eval") == 0)
        return cmd_eval(&o);
    if (strcmp(argv[1], "predict") == 0)
        return cmd_predict(&o);
    if (strcmp(argv[1], "summary") == 0)
        return cmd_summary(&o);
    if (strcmp(argv[1], "zoo") == 0)
        return cmd_zoo(&o);
    if (strcmp(argv[1], "visualize") == 0)
        return cmd_visualize(&o);
    if (strcmp(argv[1], "knn") == 0)
        return cmd_knn(&o);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(&o);
    fprintf(stderr, "fovea: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
