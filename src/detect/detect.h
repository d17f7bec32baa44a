/* detect.h - the detectors' common interface. Each architecture (rcnn.c, fast_rcnn.c,
 * faster_rcnn.c, ssd.c) fills one fv_det_impl; detect.c drives them all the same way: training
 * on batches of images with their boxes (MNIST scenes made on the fly by fv_scene_make, or a
 * VOC/COCO set), prediction (boxes per image, after each detector's own decoding and NMS),
 * evaluation (fv_det_metrics), saving and loading (each detector's models, by name, plus its
 * settings) and the report. A detector's parameters live in ordinary fv_models (a backbone, a
 * head, ...), trained by the custom-loop calls (fv_model_forward / fv_model_backward /
 * fv_model_step) or by fit; nothing here knows one architecture from another. */
#ifndef FV_DETECT_H
#define FV_DETECT_H

#include "fovea.h"

/* A batch as the detectors see it: n images (n, c, h, w) in [0, 1], row-major, and their
 * annotations (boxes in pixels of this h x w, classes in [0, num_classes)). */
typedef struct fv_det_batch {
    int n, c, h, w;
    const float *images;
    const fv_det_annotation *ann; /* n */
} fv_det_batch;

/* Loss terms of one training step, for the progress line and the report's curves; an
 * architecture fills the ones it has and leaves the others NaN. */
typedef struct fv_det_losses {
    double total;
    double cls, box;         /* the head's classification and box regression */
    double rpn_cls, rpn_box; /* Faster R-CNN's proposal network */
} fv_det_losses;

#define FV_DET_MAX_MODELS 4

/* What an architecture provides. Every call returns FV_OK or an error set with fv_err. */
typedef struct fv_det_impl {
    const char *name; /* "rcnn", "fast_rcnn", "faster_rcnn", "ssd" */
    /* Builds d->models (and d->state) from d->args: called for a new detector and, before the
     * weights are read, for a loaded one. */
    fv_status (*create)(fv_detector *d);
    /* One optimisation step on a batch (the detector's own sampling, targets and losses). */
    fv_status (*train_step)(fv_detector *d, const fv_det_batch *b, fv_det_losses *out);
    /* Detections of each image of b: dets[i] (fv_malloc'd, free with fv_free) and ndets[i],
     * boxes in b's pixels, scores in [0, 1], after NMS, at most d->args.max_dets an image. */
    fv_status (*detect)(fv_detector *d, const fv_det_batch *b, fv_detection **dets, int *ndets);
    /* Frees d->state (the models are freed by detect.c). */
    void (*destroy)(fv_detector *d);
} fv_det_impl;

struct fv_detector {
    const fv_det_impl *impl;
    fv_detector_args args;                /* defaults filled in */
    int nmodels;
    fv_model *models[FV_DET_MAX_MODELS];  /* saved and loaded by name (fv_model_name) */
    void *state;                          /* the architecture's own (anchors, settings) */
    char **names;                         /* args.class_names' copy (num_classes), or NULL */
};

/* The losses' arithmetic the heads share (roi_head.c): smooth L1 of d with beta (torchvision's
 * RoI head 1/9, SSD's 1): 0.5 d^2 / beta below beta, else |d| - beta / 2, *grad its derivative;
 * the softmax of x's k values into p (NULL: not written), returning log(sum(exp(x))) (the
 * log-probability of class c is x[c] minus it). */
double fv_det_smooth_l1(double d, double beta, double *grad);
double fv_det_softmax(const double *x, int k, double *p);

extern const fv_det_impl fv_det_rcnn, fv_det_fast_rcnn, fv_det_faster_rcnn, fv_det_ssd;

#endif /* FV_DETECT_H */
