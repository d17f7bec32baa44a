/* fovea.c - the command-line tool: train, eval, predict and summary over models in the text format
 * and MNIST-format data. The only place that exits: every library error is printed as one line
 * ("fovea: <message>") and turns into a non-zero exit status. */
#include "fovea.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DEFAULT_MODEL "models/lenet5.fv"

typedef struct opts {
    const char *model, *data, *out, *weights, *optimizer, *metrics_csv, *schedule;
    const char *pos[64];
    int npos, epochs, batch, limit, seed, quiet, threads, warmup, patience, resume;
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
            "  eval    MODEL.fv --weights FILE [--data DIR] [--limit N]\n"
            "  predict MODEL.fv --weights FILE IMAGE...  (PNG or JPEG)\n"
            "  summary MODEL.fv|NETWORK  layers, output shapes, parameters, mult-adds\n"
            "  zoo     the networks of the zoo (NETWORK works wherever MODEL.fv does; for zoo\n"
            "          networks: [--classes K] [--input C,H,W] [--alpha X] [--aux] [--stride-first];\n"
            "          train and eval build them for the data's image size and classes)\n"
            "MODEL.fv defaults to " DEFAULT_MODEL ". Data: FOVEA_DATA or Debian's "
            "dataset-fashion-mnist.\n");
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
    *o = (opts){.epochs = 10, .batch = 64, .optimizer = "adam", .lr = 0, .momentum = 0.9};
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
    if (fv_model_fit(m, train, .epochs = o->epochs, .batch_size = o->batch, .validation = test,
                     .seed = (uint64_t)o->seed, .verbose = !o->quiet, .csv_path = csv,
                     .schedule = sched, .early_stopping = o->patience,
                     .restore_best = o->patience > 0, .checkpoint_dir = out,
                     .resume = o->resume,
                     .augment = aug) != FV_OK ||
        fv_model_save_weights(m, weights) != FV_OK) {
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
    printf("Test accuracy: %.4f (loss %.4f, %lld images); trained in %.1f s\n", acc, loss,
           (long long)test->x->dims[0], secs);
    printf("Weights: %s\nMetrics: %s\n", weights, csv);
    rc = 0;
done:
    fv_dataset_free(train);
    fv_dataset_free(test);
    fv_model_free(m);
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
    if (!m || fv_model_load_weights(m, o->weights) != FV_OK ||
        fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK) {
        rc = fail_lib();
    } else {
        printf("Test accuracy: %.4f (loss %.4f, %lld images)\n", acc, loss,
               (long long)test->x->dims[0]);
        rc = 0;
    }
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

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("fovea %s\n", FV_VERSION);
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
    fprintf(stderr, "fovea: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
