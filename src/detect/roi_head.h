/* roi_head.h - what Fast R-CNN (fast_rcnn.c) and Faster R-CNN (faster_rcnn*.c) share: the
 * backbone and the RoI head (models, RoI sampling, the multi-task loss, the head's pass through
 * RoI pooling forward and backward, the detections from its outputs; roi_head*.c), and Faster
 * R-CNN's region proposal network (anchor labelling, its loss, its proposals;
 * faster_rcnn_rpn.c). Everything follows torchvision 0.14's RoIHeads and RegionProposalNetwork;
 * docs/DESIGN.md, Detectors, says where it is scaled to the MNIST scenes. Class labels here are
 * torchvision's: 0 background, c + 1 for object class c. */
#ifndef FV_DETECT_ROI_HEAD_H
#define FV_DETECT_ROI_HEAD_H

#include "detect/detect.h"

/* ---------------------------------------------------------------- sampling and losses */

/* Balanced sampling (torchvision's BalancedPositiveNegativeSampler) in place: labels >= 1 are
 * positive, 0 negative, < 0 ignored; at most floor(batch fraction) positives and then up to
 * batch minus those negatives are kept, each a uniform random subset; the others become -1.
 * Returns the number kept. */
int fv_det_balance(int *labels, int n, int batch, float fraction, fv_rng *rng);

/* The RoIs of one image for the head (torchvision's RoIHeads.select_training_samples): the
 * proposals and the ground truths (added as proposals), each matched to the ground truth of
 * highest IoU (the first on ties): a class label (cls + 1) at IoU >= fg_iou, background (0) at
 * IoU in [bg_lo, fg_iou), ignored below bg_lo; then balanced sampling of per_image with
 * fg_fraction positives. rois (room for np + ngt), labels and targets (4 each: the matched
 * truth encoded against the RoI with weights (10, 10, 5, 5); zeros for background) receive the
 * sampled RoIs, positives first; *nout their count. Proposals of zero width or height are left
 * out (they cannot be encoded against). */
fv_status fv_rh_sample(const fv_box *props, int np, const fv_det_object *gt, int ngt,
                       int per_image, float fg_fraction, float fg_iou, float bg_lo, fv_rng *rng,
                       fv_box *rois, int *labels, float *targets, int *nout);

/* Fast R-CNN's multi-task loss over k sampled RoIs of k1 = classes + 1 logits and 4 k1 box
 * deltas each (torchvision's fastrcnn_loss): the mean softmax cross-entropy against labels,
 * plus the smooth L1 (beta 1/9) of the labelled class's deltas against targets (4 a RoI) over
 * the foreground RoIs, summed and divided by k. Returns the total; *cls and *box (either may be
 * NULL) the terms; dlogits and ddeltas (NULL: not wanted) receive the gradients. */
double fv_rh_loss(const double *logits, const double *deltas, int k, int k1, const int *labels,
                  const double *targets, double *dlogits, double *ddeltas, double *cls,
                  double *box);

/* ---------------------------------------------------------------- models */

/* The backbone for a (c, h, w) input: five 3x3 convolutions with ReLU (16, 32, 64, `width`,
 * `width` filters), a 2x2 max pool after each of the first three, so the feature map has stride
 * 8 and `width` channels. Returns the feature node (named "features"), or -1 with the error. */
int fv_rh_backbone(fv_model *m, int c, int h, int w, int width);
/* The head model for RoI features (channels, out, out): flatten, two fully connected layers of
 * fc units with ReLU, then "cls" (k1 logits) and "box" (4 k1 deltas) from the second. */
fv_model *fv_rh_head_new(int channels, int out, int fc, int k1);
/* Compiles a detector's model for the custom loop: no loss of its own, Adam at lr. */
fv_status fv_rh_compile(fv_model *m, float lr, uint64_t seed);

/* ---------------------------------------------------------------- the head's passes */

/* How RoIs are pooled: RoI max pooling (Fast R-CNN) or RoI align (sampling ratio 2, aligned 0:
 * torchvision's MultiScaleRoIAlign setting of Faster R-CNN). */
typedef struct fv_rh {
    fv_model *head;
    int align;          /* 1: roi_align, 0: roi_pool */
    int out;            /* bins a side (7) */
    int k1;             /* classes + 1 */
    int cls_node, box_node;
    /* buffers grown to the largest k seen */
    int cap;
    float *x, *dx;      /* (k, C, out, out) */
    int32_t *argmax;
    double *lg, *dl, *dg, *ddl, *tg; /* logits, deltas, their gradients, targets (double) */
} fv_rh;

/* Binds a head model (its "cls" and "box" nodes) to the pooling. */
fv_status fv_rh_init(fv_rh *r, fv_model *head, int align, int out, int k1);
void fv_rh_free(fv_rh *r);

/* rois: (batch index, x1, y1, x2, y2) rows in input pixels. Pools the n feature maps feat
 * (spec's n, c, h, w; spatial scale 1 / stride) over k RoIs and runs the head: its outputs are
 * fv_model_node_output(r->head, r->cls_node / r->box_node) afterwards. */
fv_status fv_rh_forward(fv_rh *r, const fv_roi_spec *spec, const float *feat, const float *rois);
/* After fv_rh_forward in training: the loss of labels / targets (4 a RoI), the head's gradients
 * added to its parameters and the RoI features' gradient added into dfeat (n, c, h, w). */
fv_status fv_rh_backward(fv_rh *r, const fv_roi_spec *spec, const float *rois, const int *labels,
                         const float *targets, float *dfeat, double *cls, double *box);

/* Detections of one image from the head's outputs for its k proposals (torchvision's
 * postprocess_detections): softmax scores; for each class c >= 1 the box decoded from the
 * class's deltas (weights 10, 10, 5, 5) against the proposal and clipped to w x h; those scored
 * above score_thresh and at least 1e-2 a side, per-class NMS at nms_iou, the best max_dets.
 * Boxes are divided by (sx, sy) (input pixels back to the caller's); classes are c - 1.
 * *dets is fv_malloc'd (NULL when none). */
fv_status fv_rh_detections(const fv_box *props, int k, const float *logits, const float *deltas,
                           int k1, float w, float h, float score_thresh, double nms_iou,
                           int max_dets, float sx, float sy, fv_detection **dets, int *ndets);

/* The batch's images resized to (h, w) (bilinear, half-pixel) into out; their boxes are scaled
 * by (*sx, *sy) = (w / b->w, h / b->h). Errors: a batch of another channel count. */
fv_status fv_rh_input(const fv_det_batch *b, int c, int h, int w, float *out, float *sx,
                      float *sy);
/* Image i's ground truths scaled by (sx, sy) into gt (room for its nobjects), boxes kept only
 * with positive width and height; returns the count. */
int fv_rh_truths(const fv_det_annotation *a, float sx, float sy, fv_det_object *gt);

/* ---------------------------------------------------------------- a detector's common part */

/* What Fast and Faster R-CNN hold alike (roi_head_run.c): the input, the backbone
 * (d->models[0], its feature map at node feat_node) and the head (d->models[1]). */
typedef struct fv_rcnn {
    int c, h, w;          /* the network's input: d->args' channels, height, width */
    int stride, width;    /* the feature map: stride 8, width channels, gh x gw cells */
    int gh, gw, feat_node;
    float lr;             /* Adam's learning rate for both models */
    int rois_per_image;   /* RoI sampling: 128 an image, 25% foreground at IoU >= 0.5, */
    float fg_fraction;    /* background in [bg_lo, 0.5) */
    float fg_iou, bg_lo;
    fv_rh rh;
    fv_rng rng;
    float sx, sy;         /* the last batch's scale into the input */
    int ncap;             /* images the buffers hold */
    float *x, *dfeat;     /* the resized images; the feature maps' gradient */
    int gtcap;
    fv_det_object *gt;    /* one image's truths at the input's scale */
    int k, kcap;          /* the batch's sampled RoIs */
    float *rois, *targets;
    int *labels;
} fv_rcnn;

/* Creates a Fast or Faster R-CNN's state in d->state: `size` zeroed bytes whose first member is
 * its fv_rcnn, set up from d->args (a "what" detector: classes >= 1, channels 1 or 3, height and
 * width multiples of 8 from 16 to 2048); then build(d) makes its models. On an error destroy(d)
 * frees the state and the models made so far are freed. */
fv_status fv_rcnn_create(fv_detector *d, size_t size, const char *what,
                         fv_status (*build)(fv_detector *d), void (*destroy)(fv_detector *d));
/* The head model (d->models[d->nmodels++]), compiled, bound to RoI align or pooling. */
fv_status fv_rcnn_head(fv_detector *d, fv_rcnn *r, int align);
void fv_rcnn_free(fv_rcnn *r);
/* A batch's images at the input size and the backbone's forward pass over them, both models in
 * training or evaluation mode; no sampled RoIs yet. Errors: a bad batch, a truth of a class
 * outside [0, classes). */
fv_status fv_rcnn_begin(fv_detector *d, fv_rcnn *r, const fv_det_batch *b, int training);
/* Samples image i's RoIs among its np proposals (input pixels) and its truths (fv_rh_sample)
 * and appends them to the batch's. */
fv_status fv_rcnn_add_samples(fv_rcnn *r, const fv_det_batch *b, int i, const fv_box *props,
                              int np);
/* The head's forward and backward pass over the sampled RoIs (its parameter gradients added; the
 * caller steps) and the feature maps' gradient in r->dfeat (zeroed first); out's cls and box. */
fv_status fv_rcnn_head_train(fv_detector *d, fv_rcnn *r, int n, fv_det_losses *out);
/* Detections of n images from their proposals: image i's np[i] at props + i stride. */
fv_status fv_rcnn_detect(fv_detector *d, fv_rcnn *r, int n, const fv_box *props, int stride,
                         const int *np, fv_detection **dets, int *ndets);

/* Fast R-CNN's selective search so far: seconds, and images searched into *images (NULL: not
 * wanted); 0 for another detector. */
double fv_fast_rcnn_ss_seconds(const fv_detector *d, int64_t *images);

/* ---------------------------------------------------------------- region proposal network */

/* Anchor labels (torchvision's Matcher(0.7, 0.3, allow_low_quality_matches) as the RPN uses
 * it): each anchor's best ground truth (the first on ties) by IoU; positive (1) at IoU >= hi,
 * negative (0) below lo, ignored (-1) between; then every anchor whose IoU with a ground truth
 * equals that truth's best IoU over all anchors (when that best is > 0) is positive, matched to
 * its own best truth. Without ground truths every anchor is negative. matched (na) receives the
 * truth index (-1 for negatives). */
fv_status fv_rpn_label(const fv_box *anchors, int na, const fv_det_object *gt, int ngt, float hi,
                       float lo, int *labels, int *matched);

/* The RPN's loss over anchors of a batch (torchvision's compute_loss): labels 1 / 0 sampled,
 * -1 not; binary cross-entropy of the objectness logits obj (mean over the sampled anchors) and
 * the smooth L1 (beta 1/9) of the positives' deltas (4 an anchor) against targets, summed and
 * divided by the sampled count. Returns the total; *cls / *box the terms; dobj and ddeltas (NULL:
 * not wanted) the gradients. */
double fv_rpn_loss(const double *obj, const double *deltas, int na, const int *labels,
                   const double *targets, double *dobj, double *ddeltas, double *cls,
                   double *box);

/* The proposals of one image (torchvision's RegionProposalNetwork.filter_proposals, one feature
 * level): the pre_top anchors of highest objectness logit (obj, anchor order), their deltas
 * (weights 1) decoded, clipped to w x h, those under 1e-3 a side dropped, NMS at nms_iou, the
 * first post_top kept. out (room for min(na, post_top)) and scores (the sigmoid of the logit;
 * NULL: not wanted) receive them best first; *nout their count. */
fv_status fv_rpn_proposals(const fv_box *anchors, int na, const float *obj, const float *deltas,
                           float w, float h, int pre_top, int post_top, double nms_iou,
                           fv_box *out, float *scores, int *nout);

#endif /* FV_DETECT_ROI_HEAD_H */
