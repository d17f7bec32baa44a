/* fv_rcnn_run.c - trains and evaluates R-CNN (fv_det_rcnn) on the MNIST detection scenes
 * until `fovea detect train --arch rcnn` (detect.c's driver) can do it: training scenes from
 * MNIST's training digits (seed 1), test scenes from its test digits (seed 2), both made on the
 * fly by fv_scene_make at the course's defaults (300 x 300). Prints the losses as it trains,
 * then COCO's and VOC's figures on the test scenes, the training time and the test time per
 * image; writes the metrics as JSON and the models' weights when asked. --load DIR starts from
 * saved weights (with --steps 0: evaluation only); --no-bbox evaluates without the box
 * regressors (their weights zeroed: the proposals' own boxes), what the regression buys.
 * Usage: fv_rcnn_run MNIST_DIR [--scenes N] [--steps S] [--images B] [--test M]
 *                   [--json FILE] [--save DIR] [--load DIR] [--no-bbox 1] [--seed S] */
#include "detect/rcnn.h"
#include "core/internal.h"
#include "fovea.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what)
{
    fprintf(stderr, "fv_rcnn_run: %s: %s\n", what, fv_last_error());
    return 1;
}

typedef struct opts {
    const char *mnist, *json, *save, *load;
    long scenes, steps, images, test, no_bbox;
    unsigned long long seed;
} opts;

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.scenes = 2000, .steps = 2000, .images = 4, .test = 1000};
    if (argc < 2)
        return 1;
    o->mnist = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--scenes"))
            o->scenes = atol(v);
        else if (!strcmp(k, "--steps"))
            o->steps = atol(v);
        else if (!strcmp(k, "--images"))
            o->images = atol(v);
        else if (!strcmp(k, "--test"))
            o->test = atol(v);
        else if (!strcmp(k, "--json"))
            o->json = v;
        else if (!strcmp(k, "--save"))
            o->save = v;
        else if (!strcmp(k, "--load"))
            o->load = v;
        else if (!strcmp(k, "--no-bbox"))
            o->no_bbox = atol(v);
        else if (!strcmp(k, "--seed"))
            o->seed = strtoull(v, NULL, 10);
        else
            return 1;
    }
    return o->scenes < 1 || o->steps < 0 || o->images < 1 || o->test < 1;
}

/* Scenes idx[0 .. n) of digits (seed) into px and ann, as a batch. */
static int scenes(const fv_dataset *digits, const long *idx, int n, uint64_t seed, float *px,
                  fv_det_annotation *ann, fv_det_batch *b)
{
    for (int i = 0; i < n; i++)
        if (fv_scene_make(digits, idx[i], px + (int64_t)i * 90000, &ann[i], .seed = seed))
            return fail("scene");
    *b = (fv_det_batch){.n = n, .c = 1, .h = 300, .w = 300, .images = px, .ann = ann};
    return 0;
}

static int train(fv_detector *d, const fv_dataset *digits, const opts *o)
{
    float *px = malloc((size_t)o->images * 90000 * sizeof *px);
    fv_det_annotation *ann = calloc((size_t)o->images, sizeof *ann);
    long *idx = malloc((size_t)o->images * sizeof *idx);
    fv_rng r;
    fv_rng_seed(&r, o->seed + 17);
    double t0 = now(), cls = 0, box = 0;
    int nbox = 0;
    for (long s = 1; s <= o->steps; s++) {
        fv_det_batch b;
        for (long i = 0; i < o->images; i++)
            idx[i] = (long)fv_rng_below(&r, (uint64_t)o->scenes);
        if (scenes(digits, idx, (int)o->images, 1, px, ann, &b))
            return 1;
        fv_det_losses l;
        if (fv_det_rcnn.train_step(d, &b, &l))
            return fail("train step");
        for (long i = 0; i < o->images; i++)
            fv_det_annotation_clear(&ann[i]);
        cls += l.cls;
        if (l.box == l.box) {
            box += l.box;
            nbox++;
        }
        if (s % 100 == 0 || s == o->steps) {
            fv_rcnn_info in;
            fv_rcnn_info_get(d, &in);
            printf("step %ld  cls %.4f  box mse %.5f  %.0f s (selective search %.0f s, %lld "
                   "runs, %.0f boxes each)\n", s, cls / 100, nbox ? box / nbox : 0, now() - t0,
                   in.ss.seconds, (long long)in.ss.runs,
                   in.ss.runs ? (double)in.ss.boxes / in.ss.runs : 0);
            fflush(stdout);
            cls = box = 0;
            nbox = 0;
        }
    }
    printf("training: %ld steps of %ld scenes in %.1f s\n", o->steps, o->images, now() - t0);
    free(px);
    free(ann);
    free(idx);
    return 0;
}

static int evaluate(fv_detector *d, const fv_dataset *digits, const opts *o)
{
    float *px = malloc(90000 * sizeof *px);
    fv_det_annotation *ann = calloc((size_t)o->test, sizeof *ann);
    fv_det_image *im = calloc((size_t)o->test, sizeof *im);
    fv_det_truth **tr = calloc((size_t)o->test, sizeof *tr);
    fv_detection **dets = calloc((size_t)o->test, sizeof *dets);
    double t0 = now(), tss = 0;
    fv_rcnn_info in;
    for (long i = 0; i < o->test; i++) {
        fv_det_batch b;
        if (scenes(digits, &i, 1, 2, px, &ann[i], &b))
            return 1;
        int nd = 0;
        if (fv_det_rcnn.detect(d, &b, &dets[i], &nd))
            return fail("detect");
        tr[i] = calloc((size_t)ann[i].nobjects + 1, sizeof **tr);
        for (int j = 0; j < ann[i].nobjects; j++)
            tr[i][j] = (fv_det_truth){.box = ann[i].objects[j].box, .cls = ann[i].objects[j].cls};
        im[i] = (fv_det_image){tr[i], ann[i].nobjects, dets[i], nd};
    }
    double dt = now() - t0;
    fv_rcnn_info_get(d, &in);
    tss = in.ss.seconds;
    fv_det_metrics *m = fv_det_metrics_compute(im, o->test, 10);
    if (!m)
        return fail("metrics");
    fv_det_metrics_print(m, NULL, stdout);
    printf("test: %ld scenes in %.1f s: %.1f ms an image (selective search so far %.1f s in "
           "all)\n", o->test, dt, 1000 * dt / o->test, tss);
    if (o->json && fv_det_metrics_write_json(m, NULL, o->json))
        return fail("json");
    fv_det_metrics_free(m);
    for (long i = 0; i < o->test; i++) {
        fv_det_annotation_clear(&ann[i]);
        free(tr[i]);
        fv_free(dets[i]);
    }
    free(px);
    free(ann);
    free(im);
    free(tr);
    free(dets);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(argc, argv, &o)) {
        fprintf(stderr, "usage: fv_rcnn_run MNIST_DIR [--scenes N] [--steps S] [--images B] "
                        "[--test M] [--json FILE] [--save DIR] [--load DIR] [--no-bbox 1] "
                        "[--seed S]\n");
        return 2;
    }
    fv_dataset *tr = fv_dataset_load_mnist_dir(o.mnist, 1);
    fv_dataset *te = fv_dataset_load_mnist_dir(o.mnist, 0);
    if (!tr || !te)
        return fail("MNIST");
    fv_detector d = {.impl = &fv_det_rcnn,
                     .args = {.arch = "rcnn", .num_classes = 10, .channels = 1, .height = 300,
                              .width = 300, .max_dets = 100, .score_threshold = 0.05f,
                              .nms_iou = 0.3f, .seed = o.seed}};
    if (fv_det_rcnn.create(&d))
        return fail("create");
    int rc = 0;
    for (int i = 0; i < d.nmodels && o.load && !rc; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.safetensors", o.load, fv_model_name(d.models[i]));
        if (fv_model_load_weights(d.models[i], path))
            rc = fail("load");
    }
    if (!rc)
        rc = train(&d, tr, &o);
    if (!rc && o.save)
        for (int i = 0; i < d.nmodels && !rc; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s.safetensors", o.save, fv_model_name(d.models[i]));
            if (fv_model_save_weights(d.models[i], path))
                rc = fail("save");
        }
    if (!rc && o.no_bbox)
        for (int i = 0; i < fv_model_num_params(d.models[1]); i++) {
            fv_param_info p;
            fv_model_param(d.models[1], i, &p);
            memset(p.data, 0, (size_t)p.numel * sizeof *p.data);
        }
    if (!rc)
        rc = evaluate(&d, te, &o);
    fv_det_rcnn.destroy(&d);
    for (int i = 0; i < d.nmodels; i++)
        fv_model_free(d.models[i]);
    fv_dataset_free(tr);
    fv_dataset_free(te);
    return rc;
}
