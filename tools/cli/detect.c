/* detect.c - `fovea detect`: train a detector on the MNIST detection scenes (TDT4265's set,
 * made on the fly: training scenes from MNIST's training digits with seed 1, test scenes from
 * its test digits with seed 2) and report it (DIR/detector/, DIR/metrics.json, DIR/report.html
 * with detections drawn, the precision-recall curves, the metrics and their definitions, the
 * loss curves and the timings); evaluate a saved detector; detect digits in an image (boxes
 * drawn, JSON). Parses its own options: its --input is a side, not train's C,H,W. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GRID 16 /* test images drawn in the report */

typedef struct det_opts {
    const char *arch, *out, *data, *optimizer, *schedule, *json, *init;
    const char *pos[4];
    int npos, input, train, test, epochs, batch, seed, quiet, threads, steps, max_dets;
    double lr, nms, score_thresh; /* nms 0, score_thresh -1, max_dets 0: the detector's own */
} det_opts;

/* One option a with value v (cli_parse_own): *takes 1, or -1 when unknown; 1 for a bad value. */
static int parse_one(void *p, const char *a, const char *v, int *takes)
{
    static const cli_str_opt strs[] = {{"--arch", NULL, offsetof(det_opts, arch), 0},
                {"--out", "-o", offsetof(det_opts, out), 1},
                {"--data", NULL, offsetof(det_opts, data), 1},
                {"--init", NULL, offsetof(det_opts, init), 1},
                {"--json", NULL, offsetof(det_opts, json), 1},
                {"--optimizer", NULL, offsetof(det_opts, optimizer), 0},
                {"--schedule", NULL, offsetof(det_opts, schedule), 0}};
    static const cli_int_opt ints[] = {{"--input", 16, 4096, offsetof(det_opts, input)},
                {"--train", 1, 10000000, offsetof(det_opts, train)},
                {"--test", 1, 10000000, offsetof(det_opts, test)},
                {"--epochs", 1, 100000, offsetof(det_opts, epochs)},
                {"--steps", 1, 100000000, offsetof(det_opts, steps)},
                {"--batch", 1, 4096, offsetof(det_opts, batch)},
                {"--seed", 0, 1 << 30, offsetof(det_opts, seed)},
                {"--threads", 0, 1024, offsetof(det_opts, threads)},
                {"--max-dets", 1, 100000, offsetof(det_opts, max_dets)}};
    static const cli_opt_table table = {strs, sizeof strs / sizeof *strs, ints,
                                        sizeof ints / sizeof *ints, offsetof(det_opts, lr)};
    det_opts *o = p;
    *takes = 1;
    if (strcmp(a, "--nms") == 0)
        return cli_parse_double(v, &o->nms) || !(o->nms > 0 && o->nms <= 1);
    if (strcmp(a, "--score-thresh") == 0)
        return cli_parse_double(v, &o->score_thresh) ||
               !(o->score_thresh >= 0 && o->score_thresh < 1);
    return cli_table_option(p, a, v, &table, takes);
}

static int parse_det_opts(int argc, char **argv, det_opts *o)
{
    *o = (det_opts){.arch = "ssd", .input = 160, .train = 10000, .test = 1000, .epochs = 10,
                    .batch = 16, .seed = 1, .score_thresh = -1};
    return cli_parse_own(argc, argv, "detect", o, parse_one, o->pos, &o->npos, 4, &o->quiet);
}

/* The MNIST digits of one split: --data, else data/mnist (scripts/get-mnist.sh). */
static fv_dataset *digits(const det_opts *o, int train)
{
    return cli_mnist_split(o->data, train);
}

/* The course's test scenes: the first n of seed 2, from the test digits. */
static fv_det_source test_source(const fv_dataset *d, int n)
{
    return (fv_det_source){.digits = d, .scenes = {.seed = 2}, .count = n};
}

/* ---------------------------------------------------------------- the report */

/* A memory stream's text (fv_det_metrics_print, the epochs), NUL-terminated; free() it. */
static char *metrics_text(const fv_det_metrics *m, const char *const *names,
                          const fv_det_history *h)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "Detection metrics on the test scenes (each figure with its definition)\n\n");
    fv_det_metrics_print(m, names, f);
    if (h && h->n > 0) {
        fprintf(f, "\nTraining: epoch, mean loss (classification, box), learning rate, seconds\n");
        for (int i = 0; i < h->n; i++)
            fprintf(f, "  %3d  %.4f  (%.4f, %.4f)  %.3g  %.0f\n", h->epochs[i].epoch,
                    h->epochs[i].loss, h->epochs[i].cls, h->epochs[i].box, h->epochs[i].lr,
                    h->epochs[i].seconds);
    }
    fclose(f);
    return buf;
}

static int loss_figure(const char *path, const fv_det_history *h)
{
    double x[1024], y[3][1024];
    int n = h->n < 1024 ? h->n : 1024;
    for (int i = 0; i < n; i++) {
        x[i] = h->epochs[i].epoch;
        y[0][i] = h->epochs[i].loss, y[1][i] = h->epochs[i].cls, y[2][i] = h->epochs[i].box;
    }
    fv_series s[3] = {{"total", x, y[0], n}, {"classification", x, y[1], n},
                      {"box regression", x, y[2], n}};
    return fv_plot_lines(path, s, 3, .title = "Training loss (mean over each epoch)",
                         .xlabel = "epoch", .ylabel = "loss") != FV_OK;
}

/* The first GRID test scenes with their detections (score >= 0.3) drawn. */
static int detections_figure(fv_detector *d, const fv_dataset *te, const char *path)
{
    fv_tensor *img[GRID] = {0};
    fv_det_annotation ann[GRID] = {0};
    fv_detection *dets[GRID] = {0};
    int nd[GRID] = {0}, bad = 0;
    for (int i = 0; i < GRID && !bad; i++) {
        fv_det_annotation truth = {0};
        bad = !(img[i] = fv_tensor_new4(1, 1, 300, 300)) ||
              fv_scene_make(te, i, img[i]->data, &truth, .seed = 2) != FV_OK;
        fv_det_annotation_clear(&truth);
        bad = bad || fv_detector_detect(d, img[i], &dets[i], &nd[i]) != FV_OK;
        int k = 0;
        ann[i].objects = bad ? NULL : calloc((size_t)nd[i] + 1, sizeof(fv_det_object));
        for (int j = 0; ann[i].objects && j < nd[i]; j++)
            if (dets[i][j].score >= 0.3)
                ann[i].objects[k++] = (fv_det_object){dets[i][j].box, dets[i][j].cls, 0, 0, 0};
        ann[i].nobjects = k, ann[i].width = ann[i].height = 300;
        bad = bad || !ann[i].objects;
    }
    const fv_detector_args *a = fv_detector_settings(d);
    if (!bad)
        bad = fv_draw_boxes_grid(path, (const fv_tensor *const *)img, ann, GRID, a->class_names,
                                 4, 0) != FV_OK;
    for (int i = 0; i < GRID; i++)
        fv_tensor_free(img[i]), free(ann[i].objects), free(dets[i]);
    return bad;
}

static int write_report(const det_opts *o, fv_detector *d, const fv_dataset *te,
                        const fv_det_metrics *m, const fv_det_history *h, double ms)
{
    char dpath[1100], ppath[1100], lpath[1100], rpath[1100], t[4][96];
    snprintf(dpath, sizeof dpath, "%s/detections.png", o->out);
    snprintf(ppath, sizeof ppath, "%s/pr_curves.png", o->out);
    snprintf(lpath, sizeof lpath, "%s/loss.png", o->out);
    snprintf(rpath, sizeof rpath, "%s/report.html", o->out);
    const char *const *names = fv_detector_settings(d)->class_names;
    if (detections_figure(d, te, dpath) || fv_det_plot_pr(ppath, m, -1, names) != FV_OK ||
        loss_figure(lpath, h))
        return fail_lib();
    const fv_detector_args *da = fv_detector_settings(d);
    snprintf(t[0], sizeof t[0], "%d x %d (the 300 x 300 scenes resized; boxes mapped back)",
             da->height, da->width);
    snprintf(t[1], sizeof t[1], "%.0f s (%d epochs, %lld steps of %d)", h->seconds, h->n,
             (long long)h->steps, o->batch);
    snprintf(t[2], sizeof t[2], "%.1f ms (batches of 16)", ms);
    snprintf(t[3], sizeof t[3], "%d training, %d test scenes", o->train, o->test);
    const char *params[] = {"architecture", da->arch, "input", t[0], "data", t[3],
                            "training time", t[1], "test time per image", t[2],
                            "CPU", fv_cpu_name(), o->init ? "started from" : NULL, o->init, NULL};
    const char *images[] = {dpath, ppath, lpath, NULL};
    const char *captions[] = {"test scenes with their detections (score >= 0.3)",
                              "precision-recall per class (VOC, IoU 0.5)",
                              "training loss per epoch"};
    char *text = metrics_text(m, names, h);
    char title[160];
    snprintf(title, sizeof title, "fovea: %s detector on the MNIST detection scenes", da->arch);
    fv_report r = {.title = title, .params = params, .images = images, .captions = captions,
                   .summary = text};
    int bad = !text || fv_report_write(rpath, &r) != FV_OK;
    free(text);
    return bad ? fail_lib() : 0;
}

/* ---------------------------------------------------------------- train / eval / predict */

static fv_detector *open_detector(const char *dir);

/* The options' post-processing (--nms, --score-thresh, --max-dets) on a detector. */
static int postprocess(fv_detector *d, const det_opts *o)
{
    return fv_detector_set_postprocess(d, (float)o->nms, (float)o->score_thresh, o->max_dets) !=
           FV_OK;
}

/* A new detector of the options, or (--init DIR) a saved one to train further. */
static fv_detector *start_detector(const det_opts *o, const fv_dataset *tr)
{
    if (o->init)
        return open_detector(o->init);
    return fv_detector_new(.arch = o->arch, .num_classes = tr->num_classes, .height = o->input,
                           .width = o->input, .seed = (uint64_t)o->seed,
                           .class_names = (const char *const *)tr->class_names);
}

static int detect_train(const det_opts *o)
{
    if (!o->out)
        return fail("detect train: -o DIR is required");
    if (make_dir(o->out) != 0)
        return fail("detect train: cannot make the output folder");
    fv_dataset *tr = digits(o, 1), *te = tr ? digits(o, 0) : NULL;
    fv_detector *d = te ? start_detector(o, tr) : NULL;
    fv_det_history h = {0};
    fv_det_metrics *m = NULL;
    double ms = 0;
    char dir[1100], mpath[1100];
    snprintf(dir, sizeof dir, "%s/detector", o->out);
    snprintf(mpath, sizeof mpath, "%s/metrics.json", o->out);
    int rc = !d || postprocess(d, o);
    if (!rc)
        rc = fv_detector_fit(d, .data = {.digits = tr, .scenes = {.seed = 1}, .count = o->train},
                             .epochs = o->epochs, .steps = o->steps, .batch = o->batch,
                             .optimizer = o->optimizer, .lr = (float)o->lr,
                             .schedule = o->schedule, .seed = (uint64_t)o->seed,
                             .log = o->quiet ? NULL : stderr, .history = &h) != FV_OK ||
             fv_detector_save(d, dir) != FV_OK;
    fv_det_source src = test_source(te, o->test);
    if (!rc)
        rc = fv_detector_evaluate(d, &src, 16, &m, &ms) != FV_OK ||
             fv_det_metrics_write_json(m, fv_detector_settings(d)->class_names, mpath) != FV_OK;
    rc = rc ? fail_lib() : write_report(o, d, te, m, &h, ms);
    if (!rc && !o->quiet) {
        fv_det_metrics_print(m, fv_detector_settings(d)->class_names, stdout);
        printf("training %.0f s, test %.1f ms/image; %s/report.html\n", h.seconds, ms, o->out);
    }
    fv_det_metrics_free(m), fv_det_history_clear(&h), fv_detector_free(d);
    fv_dataset_free(tr), fv_dataset_free(te);
    return rc;
}

/* DIR/detector when it is there (a train run's folder), else DIR itself. */
static fv_detector *open_detector(const char *dir)
{
    char p[1100];
    struct stat st;
    snprintf(p, sizeof p, "%s/detector/detector.json", dir);
    if (stat(p, &st) == 0) {
        snprintf(p, sizeof p, "%s/detector", dir);
        return fv_detector_load(p);
    }
    return fv_detector_load(dir);
}

static int detect_eval(const det_opts *o)
{
    if (o->npos != 2)
        return fail("usage: fovea detect eval DIR [--test N] [--data DIR] [--nms IOU] "
                    "[--score-thresh S] [--max-dets N]");
    fv_detector *d = open_detector(o->pos[1]);
    fv_dataset *te = d ? digits(o, 0) : NULL;
    fv_det_metrics *m = NULL;
    double ms = 0;
    fv_det_source src = test_source(te, o->test);
    int rc = !te || postprocess(d, o) || fv_detector_evaluate(d, &src, 16, &m, &ms) != FV_OK;
    if (!rc && o->out)
        rc = fv_det_metrics_write_json(m, fv_detector_settings(d)->class_names, o->out) != FV_OK;
    if (rc)
        rc = fail_lib();
    else {
        fv_det_metrics_print(m, fv_detector_settings(d)->class_names, stdout);
        printf("%d test scenes, %.1f ms/image\n", o->test, ms);
    }
    fv_det_metrics_free(m), fv_detector_free(d), fv_dataset_free(te);
    return rc;
}

static int write_json(const char *path, const fv_detection *dets, int n,
                      const char *const *names)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fprintf(stderr, "fovea: %s: %s\n", path, strerror(errno)), 1;
    fprintf(f, "{\"detections\": [");
    for (int i = 0; i < n; i++) {
        const fv_detection *x = &dets[i];
        fprintf(f, "%s\n  {\"box\": [%.2f, %.2f, %.2f, %.2f], \"class\": %d, ", i ? "," : "",
                (double)x->box.x1, (double)x->box.y1, (double)x->box.x2, (double)x->box.y2,
                x->cls);
        fprintf(f, "\"label\": \"%s\", \"score\": %.4f}", names ? names[x->cls] : "",
                x->score);
    }
    fprintf(f, "\n]}\n");
    return fclose(f) != 0;
}

static int detect_predict(const det_opts *o)
{
    if (o->npos != 3)
        return fail("usage: fovea detect predict DIR IMAGE [-o OUT.png] [--json OUT.json] "
                    "[--nms IOU] [--score-thresh S] [--max-dets N]");
    fv_detector *d = open_detector(o->pos[1]);
    fv_tensor *img = d ? fv_image_load(o->pos[2]) : NULL;
    fv_detection *dets = NULL;
    int n = 0, rc = !img || postprocess(d, o) || fv_detector_detect(d, img, &dets, &n) != FV_OK;
    if (rc) {
        fv_detector_free(d), fv_tensor_free(img);
        return fail_lib();
    }
    const char *const *names = fv_detector_settings(d)->class_names;
    fv_det_object *objs = calloc((size_t)n + 1, sizeof *objs);
    float *scores = calloc((size_t)n + 1, sizeof *scores);
    int k = 0;
    for (int i = 0; objs && scores && i < n; i++)
        if (dets[i].score >= 0.3) { /* the drawing and the listing: the confident ones */
            objs[k] = (fv_det_object){dets[i].box, dets[i].cls, 0, 0, 0};
            scores[k++] = (float)dets[i].score;
            printf("%-6s %.3f  %.1f %.1f %.1f %.1f\n", names ? names[dets[i].cls] : "",
                   dets[i].score, (double)dets[i].box.x1, (double)dets[i].box.y1,
                   (double)dets[i].box.x2, (double)dets[i].box.y2);
        }
    rc = !objs || !scores;
    if (!rc && o->out)
        rc = fv_draw_boxes(o->out, img, objs, k, names, scores, 2) != FV_OK ? fail_lib() : 0;
    if (!rc && o->json)
        rc = write_json(o->json, dets, n, names);
    free(objs), free(scores), free(dets);
    fv_detector_free(d), fv_tensor_free(img);
    return rc;
}

int cmd_detect(int argc, char **argv)
{
    static int (*const run[])(const det_opts *) = {detect_train, detect_eval, detect_predict};
    det_opts o;
    int k = parse_det_opts(argc, argv, &o) != 0 ? -2
              : cli_subcommand("detect", o.pos, o.npos, o.threads);
    return k < 0 ? -k : run[k](&o);
}
