/* segment.c - `fovea segment`: train a segmentation network (U-Net or an FCN of the zoo, or a
 * model file) on M2NIST-style scenes made on the fly from MNIST (training scenes from its
 * training digits with seed 1, held-out test scenes from its test digits with seed 2), evaluate it
 * over the whole test split from the confusion matrix (pixel accuracy, per-class IoU, mean IoU,
 * the matrix) and report it (DIR/model.fv, DIR/weights.safetensors, DIR/metrics.json,
 * DIR/report.html with test scenes beside their true and predicted masks overlaid); evaluate a
 * saved run; predict the mask of an image (coloured overlay, indexed PNG). Parses its own
 * options, as detect does. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOWN 8 /* test scenes drawn in the report */
#define BACKGROUND 10

typedef struct seg_opts {
    const char *arch, *out, *data, *loss, *mask, *schedule;
    const char *pos[4];
    int npos, train, test, epochs, batch, seed, quiet, threads;
    double lr, width;
} seg_opts;

static int parse_real(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || !(x > lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

/* One option at argv[i] (value v); *takes: whether it used v. 1 for a bad value. */
static int parse_one(void *p, const char *a, const char *v, int *takes)
{
    seg_opts *o = p;
    *takes = 1;
    if (strcmp(a, "--arch") == 0)
        return o->arch = v, 0;
    if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0)
        return o->out = v, strlen(v) > PATH_OPT_MAX;
    if (strcmp(a, "--data") == 0)
        return o->data = v, strlen(v) > PATH_OPT_MAX;
    if (strcmp(a, "--mask") == 0)
        return o->mask = v, strlen(v) > PATH_OPT_MAX;
    if (strcmp(a, "--schedule") == 0) /* checked by fv_schedule_preset */
        return o->schedule = v, 0;
    if (strcmp(a, "--loss") == 0)
        return o->loss = v, strcmp(v, "ce") != 0 && strcmp(v, "dice") != 0;
    if (strcmp(a, "--train") == 0)
        return cli_parse_int(v, 1, 10000000, &o->train);
    if (strcmp(a, "--test") == 0)
        return cli_parse_int(v, 1, 10000000, &o->test);
    if (strcmp(a, "--epochs") == 0)
        return cli_parse_int(v, 1, 100000, &o->epochs);
    if (strcmp(a, "--batch") == 0)
        return cli_parse_int(v, 1, 4096, &o->batch);
    if (strcmp(a, "--seed") == 0)
        return cli_parse_int(v, 0, 1 << 30, &o->seed);
    if (strcmp(a, "--threads") == 0)
        return cli_parse_int(v, 0, 1024, &o->threads);
    if (strcmp(a, "--lr") == 0)
        return parse_real(v, 0, 10, &o->lr);
    if (strcmp(a, "--width") == 0)
        return parse_real(v, 0, 4, &o->width);
    *takes = -1; /* unknown */
    return 0;
}

static int parse_seg_opts(int argc, char **argv, seg_opts *o)
{
    *o = (seg_opts){.arch = "unet", .loss = "ce", .train = 10000, .test = 1000, .epochs = 10,
                    .batch = 16, .seed = 1, .lr = 1e-3, .width = 1, .schedule = "constant"};
    return cli_parse_own(argc, argv, "segment", o, parse_one, o->pos, &o->npos, 4, &o->quiet);
}

/* The scenes of one split: n scenes of MNIST's training (seed 1) or test (seed 2) digits. */
static fv_dataset *scenes(const seg_opts *o, int train, int n)
{
    fv_dataset *d = cli_mnist_split(o->data, train);
    fv_dataset *s = d ? fv_m2nist_dataset(d, 0, n, .seed = train ? 1 : 2) : NULL;
    fv_dataset_free(d);
    return s;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct seg_eval {
    fv_confusion cm;
    double miou, acc, iou[FV_SEG_MAX_CLASSES], ms; /* ms: per scene */
    fv_tensor *logits;                            /* the test split's, (n, classes, h, w) */
} seg_eval;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* 0; 1 for a library error; -1 for an error already printed. */
static int evaluate(fv_model *m, const fv_dataset *te, seg_eval *e)
{
    *e = (seg_eval){0};
    double t0 = now_ms();
    if (fv_model_predict(m, te->x, &e->logits) != FV_OK)
        return 1;
    int64_t n = te->x->dims[0], hw = te->y->dims[1] * te->y->dims[2];
    e->ms = (now_ms() - t0) / (double)n;
    if (e->logits->dims[1] != te->num_classes || e->logits->dims[2] * e->logits->dims[3] != hw) {
        fprintf(stderr, "fovea: segment: the model's output (%lld, %lld, %lld) is not the "
                "scenes' %d classes at %lldx%lld\n", (long long)e->logits->dims[1],
                (long long)e->logits->dims[2], (long long)e->logits->dims[3], te->num_classes,
                (long long)te->y->dims[1], (long long)te->y->dims[2]);
        return -1; /* printed */
    }
    if (fv_confusion_init(&e->cm, te->num_classes, 0, 0) != FV_OK ||
        fv_confusion_add_logits(&e->cm, e->logits->data, te->y->data, n, hw) != FV_OK)
        return 1;
    fv_confusion_scores(&e->cm, FV_IOU_ABSENT_SKIP, e->iou, &e->miou, &e->acc);
    return 0;
}

static void eval_clear(seg_eval *e)
{
    fv_confusion_free(&e->cm);
    fv_tensor_free(e->logits);
}

/* The metrics, the definitions and the confusion matrix as text. */
static void print_seg_metrics(FILE *f, const seg_eval *e, const fv_dataset *te)
{
    int k = te->num_classes;
    fprintf(f, "Segmentation metrics over %lld test scenes (every pixel of the split)\n",
            (long long)te->x->dims[0]);
    fprintf(f, "  pixel accuracy %.4f   (correct pixels / all pixels)\n", e->acc);
    fprintf(f, "  mean IoU       %.4f   (mean over the %d classes of tp / (tp + fp + fn); a "
            "class in neither truth nor prediction is left out, as Keras' MeanIoU)\n", e->miou, k);
    fprintf(f, "  per-class IoU:");
    for (int c = 0; c < k; c++)
        fprintf(f, " %s %.3f", te->class_names[c], e->iou[c]);
    fprintf(f, "\n  confusion matrix (rows: truth, columns: prediction; pixels):\n%12s", "");
    for (int c = 0; c < k; c++)
        fprintf(f, " %9.9s", te->class_names[c]);
    for (int r = 0; r < k; r++) {
        fprintf(f, "\n  %10.10s", te->class_names[r]);
        for (int c = 0; c < k; c++)
            fprintf(f, " %9.0f", e->cm.counts[r * k + c]);
    }
    fprintf(f, "\n");
}

static int write_metrics_json(const char *path, const seg_eval *e, const fv_dataset *te)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fprintf(stderr, "fovea: %s: %s\n", path, strerror(errno)), 1;
    int k = te->num_classes;
    fprintf(f, "{\"scenes\": %lld, \"pixel_accuracy\": %.6f, \"mean_iou\": %.6f,\n",
            (long long)te->x->dims[0], e->acc, e->miou);
    fprintf(f, " \"ms_per_scene\": %.3f,\n \"classes\": [", e->ms);
    for (int c = 0; c < k; c++)
        fprintf(f, "%s\"%s\"", c ? ", " : "", te->class_names[c]);
    fprintf(f, "],\n \"iou\": [");
    for (int c = 0; c < k; c++)
        isnan(e->iou[c]) ? fprintf(f, "%snull", c ? ", " : "")
                         : fprintf(f, "%s%.6f", c ? ", " : "", e->iou[c]);
    fprintf(f, "],\n \"confusion\": [");
    for (int r = 0; r < k; r++) {
        fprintf(f, "%s[", r ? ",\n   " : "");
        for (int c = 0; c < k; c++)
            fprintf(f, "%s%.0f", c ? ", " : "", e->cm.counts[r * k + c]);
        fprintf(f, "]");
    }
    fprintf(f, "]}\n");
    return fclose(f) != 0;
}

/* ---------------------------------------------------------------- figures */

/* The predicted mask of scene i: argmax over the logits' channels. */
static void argmax_mask(const fv_tensor *logits, int64_t i, float *mask)
{
    int64_t k = logits->dims[1], hw = logits->dims[2] * logits->dims[3];
    const float *x = logits->data + i * k * hw;
    for (int64_t p = 0; p < hw; p++) {
        int64_t best = 0;
        for (int64_t c = 1; c < k; c++)
            best = x[c * hw + p] > x[best * hw + p] ? c : best;
        mask[p] = (float)best;
    }
}

/* The mask's image over img: digit k in VOC colour k + 1 (VOC's colour 0 is black), background
 * clear. Changes mask (a copy). */
static fv_tensor *overlay(const fv_tensor *img, fv_tensor *mask)
{
    for (int64_t p = 0; p < fv_tensor_numel(mask); p++)
        mask->data[p] = mask->data[p] == BACKGROUND ? 0.0f : mask->data[p] + 1;
    return fv_mask_overlay(img, mask, 0, 0.6f);
}

/* Copies a (1, 3, h, w) picture into the montage (3, H, W) at (y0, x0). */
static void blit(fv_tensor *dst, const fv_tensor *src, int64_t y0, int64_t x0)
{
    int64_t H = dst->dims[1], W = dst->dims[2], h = src->dims[2], w = src->dims[3];
    for (int k = 0; k < 3; k++)
        for (int64_t y = 0; y < h; y++)
            memcpy(dst->data + (k * H + y0 + y) * W + x0, src->data + (k * h + y) * w,
                   sizeof(float) * (size_t)w);
}

/* One row per scene: the scene, its true mask overlaid, the predicted mask overlaid. */
static int examples_figure(const char *path, const fv_dataset *te, const fv_tensor *logits)
{
    int64_t n = te->x->dims[0] < SHOWN ? te->x->dims[0] : SHOWN;
    int64_t h = te->x->dims[2], w = te->x->dims[3], gap = 4;
    int64_t dims[3] = {3, n * (h + gap) - gap, 3 * (w + gap) - gap};
    fv_tensor *fig = fv_tensor_new(3, dims), *mask = fv_tensor_new(2, (int64_t[]){h, w});
    int bad = !fig || !mask;
    for (int64_t i = 0; fig && i < fig->dims[0] * fig->dims[1] * fig->dims[2]; i++)
        fig->data[i] = 1.0f;
    for (int64_t i = 0; !bad && i < n; i++) {
        fv_tensor *img = fv_tensor_new4(1, 1, h, w), *pics[3] = {0};
        bad = !img;
        if (!bad) {
            memcpy(img->data, te->x->data + i * h * w, sizeof(float) * (size_t)(h * w));
            for (int64_t p = 0; p < h * w; p++) /* all background: the scene alone, in RGB */
                mask->data[p] = BACKGROUND;
            pics[0] = overlay(img, mask);
            memcpy(mask->data, te->y->data + i * h * w, sizeof(float) * (size_t)(h * w));
            pics[1] = overlay(img, mask);
            argmax_mask(logits, i, mask->data);
            pics[2] = overlay(img, mask);
        }
        for (int j = 0; j < 3; j++) {
            bad = bad || !pics[j];
            if (!bad)
                blit(fig, pics[j], i * (h + gap), j * (w + gap));
            fv_tensor_free(pics[j]);
        }
        fv_tensor_free(img);
    }
    bad = bad || fv_png_save(path, fig) != FV_OK;
    fv_tensor_free(fig), fv_tensor_free(mask);
    return bad;
}

static int loss_figure(const char *path, const fv_epoch_metrics *h, int n)
{
    double x[1024], y[1024];
    n = n < 1024 ? n : 1024;
    for (int i = 0; i < n; i++)
        x[i] = h[i].epoch, y[i] = h[i].loss;
    fv_series s = {"training loss", x, y, n};
    return fv_plot_lines(path, &s, 1, .title = "Training loss (mean over each epoch)",
                         .xlabel = "epoch", .ylabel = "loss") != FV_OK;
}

static int write_report(const seg_opts *o, const fv_dataset *te, const seg_eval *e,
                        const fv_epoch_metrics *h, int epochs, double seconds, fv_model *m)
{
    char xpath[1100], lpath[1100], rpath[1100], t[4][96];
    snprintf(xpath, sizeof xpath, "%s/examples.png", o->out);
    snprintf(lpath, sizeof lpath, "%s/loss.png", o->out);
    snprintf(rpath, sizeof rpath, "%s/report.html", o->out);
    if (examples_figure(xpath, te, e->logits) || loss_figure(lpath, h, epochs))
        return fail_lib();
    snprintf(t[0], sizeof t[0], "%d training, %d test scenes (1x64x84, 11 classes)", o->train,
             o->test);
    snprintf(t[1], sizeof t[1], "%.0f s (%d epochs of batches of %d)", seconds, epochs,
             o->batch);
    snprintf(t[2], sizeof t[2], "%.2f ms", e->ms);
    snprintf(t[3], sizeof t[3], "%s, Adam lr %g (%s schedule), width x%g", o->loss, o->lr,
             o->schedule, o->width);
    const char *params[] = {"architecture", o->arch, "data", t[0], "loss, optimizer", t[3],
                            "training time", t[1], "test time per scene", t[2],
                            "CPU", fv_cpu_name(), NULL};
    const char *images[] = {xpath, lpath, NULL};
    const char *captions[] = {"test scenes: the scene, its true mask, the predicted mask "
                              "(digit k in VOC colour k + 1; background left clear)",
                              "training loss per epoch"};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f) {
        print_seg_metrics(f, e, te);
        fprintf(f, "\n");
        fv_model_summary(m, f);
        fclose(f);
    }
    char title[160];
    snprintf(title, sizeof title, "fovea: %s on M2NIST-style scenes", o->arch);
    fv_report r = {.title = title, .params = params, .images = images, .captions = captions,
                   .history = h, .epochs = epochs, .summary = text};
    int bad = !text || fv_report_write(rpath, &r) != FV_OK;
    free(text);
    return bad ? fail_lib() : 0;
}

/* ---------------------------------------------------------------- train / eval / predict */

static fv_model *build(const seg_opts *o)
{
    size_t n = strlen(o->arch);
    if (n > 3 && strcmp(o->arch + n - 3, ".fv") == 0)
        return fv_model_load_file(o->arch);
    return fv_zoo(o->arch, .width_mult = (float)o->width);
}

static int fit(const seg_opts *o, fv_model *m, const fv_dataset *tr, fv_epoch_metrics *h,
               int *run, double *seconds)
{
    fv_loss loss = strcmp(o->loss, "dice") == 0 ? FV_LOSS_DICE : FV_LOSS_PIXEL_CE;
    fv_schedule sched;
    int64_t steps = (tr->x->dims[0] + o->batch - 1) / o->batch; /* per epoch */
    if (fv_schedule_preset(o->schedule, o->epochs, steps, 0, &sched) != FV_OK)
        return 1;
    if (fv_model_compile(m, .loss = loss, .optimizer = fv_adam(.lr = (float)o->lr),
                         .seed = (uint64_t)o->seed) != FV_OK)
        return 1;
    double t0 = now_ms();
    fv_status st = fv_model_fit(m, tr, .epochs = o->epochs, .batch_size = o->batch,
                                .seed = (uint64_t)o->seed, .schedule = sched, .verbose = !o->quiet,
                                .log = stderr,
                                .history = h, .epochs_run = run);
    *seconds = (now_ms() - t0) / 1e3;
    return st != FV_OK;
}

static int seg_train(const seg_opts *o)
{
    if (!o->out)
        return fail("segment train: -o DIR is required");
    if (make_dir(o->out) != 0)
        return fail("segment train: cannot make the output folder");
    fv_dataset *tr = scenes(o, 1, o->train), *te = tr ? scenes(o, 0, o->test) : NULL;
    fv_model *m = te ? build(o) : NULL;
    fv_epoch_metrics *h = calloc((size_t)o->epochs, sizeof *h);
    seg_eval e = {0};
    int run = 0;
    double seconds = 0;
    char mpath[1100], wpath[1100], jpath[1100];
    snprintf(mpath, sizeof mpath, "%s/model.fv", o->out);
    snprintf(wpath, sizeof wpath, "%s/weights.safetensors", o->out);
    snprintf(jpath, sizeof jpath, "%s/metrics.json", o->out);
    int rc = !m || !h || fit(o, m, tr, h, &run, &seconds) ||
             fv_model_save_file(m, mpath) != FV_OK || fv_model_save_weights(m, wpath) != FV_OK;
    rc = rc ? rc : evaluate(m, te, &e);
    rc = rc > 0 ? fail_lib() : rc < 0 ? 1 : write_metrics_json(jpath, &e, te);
    rc = rc ? rc : write_report(o, te, &e, h, run, seconds, m);
    if (!rc && !o->quiet) {
        print_seg_metrics(stdout, &e, te);
        printf("training %.0f s, test %.2f ms/scene; %s/report.html\n", seconds, e.ms, o->out);
    }
    eval_clear(&e), free(h), fv_model_free(m), fv_dataset_free(tr), fv_dataset_free(te);
    return rc;
}

static int seg_eval_cmd(const seg_opts *o)
{
    if (o->npos != 2 || strlen(o->pos[1]) > PATH_OPT_MAX)
        return fail("usage: fovea segment eval DIR [--test N] [--data DIR]");
    fv_model *m = cli_open_run(o->pos[1]);
    fv_dataset *te = m ? scenes(o, 0, o->test) : NULL;
    seg_eval e = {0};
    int rc = !te ? 1 : evaluate(m, te, &e);
    rc = rc > 0 ? fail_lib() : rc < 0 ? 1 : 0;
    if (!rc && o->out)
        rc = write_metrics_json(o->out, &e, te);
    if (!rc)
        print_seg_metrics(stdout, &e, te);
    eval_clear(&e), fv_model_free(m), fv_dataset_free(te);
    return rc;
}

/* The mask of the model's input size resampled to the image's (nearest cell). */
static fv_tensor *mask_to(const fv_tensor *logits, int64_t h, int64_t w)
{
    int64_t mh = logits->dims[2], mw = logits->dims[3];
    float *small = malloc(sizeof(float) * (size_t)(mh * mw));
    fv_tensor *mask = small ? fv_tensor_new(2, (int64_t[]){h, w}) : NULL;
    if (mask) {
        argmax_mask(logits, 0, small);
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                mask->data[y * w + x] = small[(y * mh / h) * mw + x * mw / w];
    }
    free(small);
    return mask;
}

static int seg_predict(const seg_opts *o)
{
    if (o->npos != 3 || strlen(o->pos[1]) > PATH_OPT_MAX)
        return fail("usage: fovea segment predict DIR IMAGE [-o OVERLAY.png] [--mask MASK.png]");
    fv_model *m = cli_open_run(o->pos[1]);
    fv_tensor *img = m ? fv_image_load(o->pos[2]) : NULL, *logits = NULL, *mask = NULL;
    fv_tensor *over = NULL, *shown = NULL;
    int rc = !img || fv_model_resize_inputs(m, 1) != FV_OK ||
             fv_model_predict(m, img, &logits) != FV_OK ||
             !(mask = mask_to(logits, img->dims[2], img->dims[3]));
    if (!rc && o->mask) /* the class indices as they are */
        rc = fv_mask_save(o->mask, mask) != FV_OK;
    if (!rc && o->out)
        rc = !(shown = fv_tensor_clone(mask)) || !(over = overlay(img, shown)) ||
             fv_png_save(o->out, over) != FV_OK;
    fv_tensor_free(shown);
    if (rc)
        rc = fail_lib();
    else {
        int64_t count[FV_SEG_MAX_CLASSES] = {0}, hw = img->dims[2] * img->dims[3];
        for (int64_t p = 0; p < hw; p++)
            count[(int)mask->data[p]]++;
        printf("class pixels:");
        for (int c = 0; c < FV_SEG_MAX_CLASSES; c++)
            if (count[c])
                printf(" %d:%lld", c, (long long)count[c]);
        printf("\n");
    }
    fv_tensor_free(over), fv_tensor_free(mask), fv_tensor_free(logits), fv_tensor_free(img);
    fv_model_free(m);
    return rc;
}

int cmd_segment(int argc, char **argv)
{
    static int (*const run[])(const seg_opts *) = {seg_train, seg_eval_cmd, seg_predict};
    seg_opts o;
    int k = parse_seg_opts(argc, argv, &o) != 0 ? -2
              : cli_subcommand("segment", o.pos, o.npos, o.threads);
    return k < 0 ? -k : run[k](&o);
}
