/* ssd.h - the single-shot detector's pieces that are tested on their own: default boxes, SSD
 * matching and the multibox loss (ssd_loss.c); the network, training step and decoding are
 * ssd.c's (fv_det_ssd). */
#ifndef FV_SSD_H
#define FV_SSD_H

#include "detect/detect.h"

/* SSD's box-coder weights: variances (0.1, 0.1, 0.2, 0.2) as (10, 10, 5, 5). */
extern const float fv_ssd_box_weights[4];

/* Default boxes of one feature map of grid_h x grid_w cells over an image of img_h x img_w
 * pixels: per cell (row-major), centred on the cell's centre ((j + 0.5) img_w / grid_w, ...),
 * one box per size and aspect ratio (height / width), size-major: width s / sqrt(r), height
 * s sqrt(r). out receives grid_h grid_w nsizes nratios boxes. */
void fv_ssd_default_boxes(int grid_h, int grid_w, int img_h, int img_w, const float *sizes,
                          int nsizes, const float *ratios, int nratios, fv_box *out);

/* SSD matching: each default box takes the ground truth of highest IoU (first on ties) when that
 * IoU is >= iou_threshold; then each ground truth takes its best default box (first on ties;
 * later truths win a box two want). matched[a] receives the truth's index or -1. Truths of zero
 * width or height match nothing. iou (na x ng floats) is scratch. */
fv_status fv_ssd_match(const fv_box *anchors, int na, const fv_box *truths, int ng,
                       float iou_threshold, float *iou, int *matched);

/* The multibox loss of one image, in double: logits (na x k1, class 0 the background) and
 * deltas (na x 4); labels[a] in [0, k1) (0: background), targets (na x 4, the encoded truth of
 * each positive). The confidence loss is the softmax cross-entropy of the positives and of the
 * neg_ratio x positives negatives of highest background loss (hard negative mining; ties by
 * index); the localization loss the smooth L1 (beta 1) of the positives' deltas. Both are
 * divided by norm (the batch's positives) into *cls and *box; dlogits and ddeltas (na x k1,
 * na x 4) receive their gradients (every unselected anchor 0); *npos the positives. Errors:
 * out of memory (the ranking's scratch). */
fv_status fv_ssd_multibox_loss(const double *logits, const double *deltas, int na, int k1,
                               const int *labels, const double *targets, int neg_ratio,
                               double norm, double *cls, double *box, double *dlogits,
                               double *ddeltas, int *npos);

#endif /* FV_SSD_H */
