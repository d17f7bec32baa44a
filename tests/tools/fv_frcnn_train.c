/* fv_frcnn_train.c - trains Fast or Faster R-CNN (src/detect/) on the MNIST detection scenes and
 * evaluates it on the test scenes, calling the architecture's fv_det_impl directly (the
 * detectors' driver, `fovea detect`, is detect.c's). Scenes are made on the fly (fv_scene_make:
 * train scenes from MNIST's training digits, seed 1; test scenes from its test digits, seed 2),
 * resized by the detector to its input; the metrics are in the scenes' 300x300 pixels.
 *   fv_frcnn_train ARCH MNIST_DIR [train_scenes] [steps] [batch] [input] [test_scenes] [lr_drop]
 * ARCH: fast_rcnn or faster_rcnn. lr_drop: the step from which the learning rate is a tenth. */
#include "core/internal.h"
#include "detect/detect.h"
#include "detect/roi_head.h"

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

typedef struct scenes {
    const fv_dataset *digits;
    uint64_t seed;
    float *pix;
    fv_det_annotation *ann;
} scenes;

/* Scenes idx[0 .. n) into a batch. */
static int make_batch(scenes *s, const int64_t *idx, int n, fv_det_batch *b)
{
    for (int i = 0; i < n; i++) {
        fv_det_annotation_clear(&s->ann[i]);
        if (fv_scene_make(s->digits, idx[i], s->pix + (int64_t)i * 300 * 300, &s->ann[i],
                          .seed = s->seed) != FV_OK)
            return -1;
    }
    *b = (fv_det_batch){n, 1, 300, 300, s->pix, s->ann};
    return 0;
}

static int evaluate(fv_detector *d, const fv_dataset *digits, int ntest)
{
    enum { B = 8 };
    scenes s = {digits, 2, malloc(sizeof(float) * B * 300 * 300),
                calloc(B, sizeof(fv_det_annotation))};
    fv_det_image *im = calloc((size_t)ntest, sizeof *im);
    fv_det_truth **tr = calloc((size_t)ntest, sizeof *tr);
    fv_detection *dets[B];
    int ndets[B];
    double t_det = 0;
    for (int at = 0; at < ntest; at += B) {
        int n = ntest - at < B ? ntest - at : B;
        int64_t idx[B];
        for (int i = 0; i < n; i++)
            idx[i] = at + i;
        fv_det_batch b;
        if (make_batch(&s, idx, n, &b))
            return fprintf(stderr, "scene: %s\n", fv_last_error()), 1;
        double t0 = now();
        if (d->impl->detect(d, &b, dets, ndets) != FV_OK)
            return fprintf(stderr, "detect: %s\n", fv_last_error()), 1;
        t_det += now() - t0;
        for (int i = 0; i < n; i++) {
            fv_det_annotation *a = &s.ann[i];
            tr[at + i] = calloc((size_t)a->nobjects + 1, sizeof(fv_det_truth));
            for (int j = 0; j < a->nobjects; j++)
                tr[at + i][j] = (fv_det_truth){a->objects[j].box, a->objects[j].cls, 0, 0, 0};
            im[at + i] = (fv_det_image){tr[at + i], a->nobjects, dets[i], ndets[i]};
        }
    }
    fv_det_metrics *m = fv_det_metrics_compute(im, ntest, d->args.num_classes);
    if (!m)
        return fprintf(stderr, "metrics: %s\n", fv_last_error()), 1;
    printf("test %d scenes: AP50 %.4f  AP %.4f  AP75 %.4f  VOC07 mAP %.4f  test %.1f ms/image "
           "(%s)\n", ntest, m->stat[FV_DET_AP50], m->stat[FV_DET_AP], m->stat[FV_DET_AP75],
           m->stat[FV_DET_VOC07_MAP], 1000 * t_det / ntest, fv_cpu_name());
    int64_t ss_n;
    double ss = fv_fast_rcnn_ss_seconds(d, &ss_n);
    if (ss_n > 0)
        printf("selective search so far: %lld images in %.1f s\n", (long long)ss_n, ss);
    fv_det_metrics_print(m, NULL, stdout);
    fv_det_metrics_free(m);
    for (int i = 0; i < ntest; i++)
        free(tr[i]), fv_free((void *)im[i].dets);
    for (int i = 0; i < B; i++)
        fv_det_annotation_clear(&s.ann[i]);
    free(im), free(tr), free(s.pix), free(s.ann);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return fprintf(stderr, "usage: %s fast_rcnn|faster_rcnn MNIST_DIR [train_scenes] [steps] "
                       "[batch] [input] [test_scenes] [lr_drop]\n", argv[0]), 2;
    const fv_det_impl *impl = !strcmp(argv[1], "fast_rcnn") ? &fv_det_fast_rcnn
                                                            : &fv_det_faster_rcnn;
    int ntrain = argc > 3 ? atoi(argv[3]) : 10000, steps = argc > 4 ? atoi(argv[4]) : 1000;
    int batch = argc > 5 ? atoi(argv[5]) : 4, input = argc > 6 ? atoi(argv[6]) : 160;
    int ntest = argc > 7 ? atoi(argv[7]) : 1000, drop = argc > 8 ? atoi(argv[8]) : steps;
    fv_dataset *train = fv_dataset_load_mnist_dir(argv[2], 1);
    fv_dataset *test = fv_dataset_load_mnist_dir(argv[2], 0);
    if (!train || !test)
        return fprintf(stderr, "mnist: %s\n", fv_last_error()), 1;
    struct fv_detector d = {.impl = impl,
                            .args = {.arch = impl->name, .num_classes = 10, .channels = 1,
                                     .height = input, .width = input, .max_dets = 100,
                                     .score_threshold = 0.05f, .nms_iou = 0.5f, .seed = 1}};
    if (impl->create(&d) != FV_OK)
        return fprintf(stderr, "create: %s\n", fv_last_error()), 1;
    scenes s = {train, 1, malloc(sizeof(float) * (size_t)batch * 300 * 300),
                calloc((size_t)batch, sizeof(fv_det_annotation))};
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)ntrain);
    fv_rng rng;
    fv_rng_seed(&rng, 7);
    fv_rng_permutation(&rng, perm, ntrain);
    double t0 = now(), avg[5] = {0};
    for (int step = 0, at = 0; step < steps; step++, at += batch) {
        if (at + batch > ntrain)
            fv_rng_permutation(&rng, perm, ntrain), at = 0;
        if (step == drop)
            for (int i = 0; i < d.nmodels; i++)
                fv_model_set_lr(d.models[i], fv_model_lr(d.models[i]) / 10);
        fv_det_batch b;
        fv_det_losses l;
        if (make_batch(&s, perm + at, batch, &b) || impl->train_step(&d, &b, &l) != FV_OK)
            return fprintf(stderr, "step %d: %s\n", step, fv_last_error()), 1;
        double v[5] = {l.total, l.cls, l.box, l.rpn_cls, l.rpn_box};
        for (int i = 0; i < 5; i++)
            avg[i] = step ? 0.95 * avg[i] + 0.05 * v[i] : v[i];
        if ((step + 1) % 50 == 0 || step + 1 == steps) {
            printf("step %d/%d  loss %.4f  cls %.4f  box %.4f  rpn_cls %.4f  rpn_box %.4f  "
                   "%.0f s\n", step + 1, steps, avg[0], avg[1], avg[2], avg[3], avg[4],
                   now() - t0);
            fflush(stdout);
        }
    }
    printf("trained %d steps of %d scenes (%dx%d input) in %.1f s\n", steps, batch, input, input,
           now() - t0);
    int64_t ss_n;
    double ss = fv_fast_rcnn_ss_seconds(&d, &ss_n);
    if (ss_n > 0)
        printf("selective search: %lld images in %.1f s (%.1f ms an image)\n", (long long)ss_n,
               ss, 1000 * ss / (double)ss_n);
    int rc = evaluate(&d, test, ntest);
    impl->destroy(&d);
    for (int i = 0; i < d.nmodels; i++)
        fv_model_free(d.models[i]);
    for (int i = 0; i < batch; i++)
        fv_det_annotation_clear(&s.ann[i]);
    free(s.pix), free(s.ann), free(perm);
    fv_dataset_free(train), fv_dataset_free(test);
    return rc;
}
