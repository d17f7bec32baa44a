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

/* The detector's default boxes: three maps (strides 4, 8 and 16), FV_SSD_SIZES sizes and
 * FV_SSD_RATIOS aspect ratios (height / width) a cell. Sizes (the square root of the area) are
 * fractions of the input's shorter side, geometric from 0.0375 to 0.2125 (6 to 34 px of a 160
 * input: the tight boxes of 15-100 px digits on a 300 canvas), ratios 1, 1.6, 2.6 and 4.2 (a
 * thin "1" is 1:3 to 1:5). Chosen by coverage of the MNIST test scenes' boxes: with the
 * earlier 4.8-35 px and ratios up to 3.2, 20 % of the truths (32 % of the "1"s) had no default
 * box at IoU >= 0.5 and were trained only through their one forced match. */
#define FV_SSD_MAPS 3
#define FV_SSD_SIZES 2
#define FV_SSD_RATIOS 4
#define FV_SSD_A (FV_SSD_SIZES * FV_SSD_RATIOS)

/* The default boxes of an img_h x img_w input whose maps are grid_h[k] x grid_w[k] cells:
 * map by map, each in fv_ssd_default_boxes's order (sum of grid_h grid_w FV_SSD_A boxes). */
void fv_ssd_detector_boxes(int img_h, int img_w, const int *grid_h, const int *grid_w,
                           fv_box *out);

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
