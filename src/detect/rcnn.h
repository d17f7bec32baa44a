/* rcnn.h - R-CNN's pieces (internal; Girshick et al. 2014, adapted to 1-channel scenes):
 * selective-search proposals cached per scene, region labelling by IoU, the fine-tuning
 * mini-batch sampler, the context-padded warp of a region to the CNN's input, and the
 * class-specific ridge regression of boxes (appendix C) on the CNN's penultimate features.
 * rcnn.c puts them together as fv_det_rcnn; the tests call the pieces directly. */
#ifndef FV_RCNN_H
#define FV_RCNN_H

#include "detect/detect.h"

#include <stdint.h>

/* A region of an image: its box, the ground truth it overlaps most (-1: none) with that IoU,
 * and its label: 0 background, c + 1 for class c (the classifier's output index). */
typedef struct fv_rcnn_region {
    fv_box box;
    int img;   /* the image of the batch it comes from */
    int gt;    /* index of the best ground truth, -1 when the image has none */
    float iou; /* IoU with it (0 without) */
    int label;
    int is_gt; /* the region is a ground-truth box itself (the paper trains on them too) */
} fv_rcnn_region;

/* Labels regions[0 .. n) against the image's ground truths objs[0 .. ngt): the ground truth of
 * highest IoU (the first on ties), label cls + 1 when that IoU >= fg_iou, else 0. */
void fv_rcnn_label(fv_rcnn_region *r, int n, const fv_det_object *objs, int ngt, float fg_iou);

/* The fine-tuning mini-batch (torchvision's sampler rule): min(nfg, foregrounds) foreground
 * regions and min(nfg + nbg - that, backgrounds) background ones, each drawn uniformly without
 * replacement; idx (room for nfg + nbg) gets the foregrounds first. Returns the count. */
int fv_rcnn_sample(const fv_rcnn_region *r, int n, int nfg, int nbg, fv_rng *rng, int *idx);

/* The warp: box dilated about its centre so that, warped, it fills the inner out - 2 pad
 * pixels and pad pixels of image context surround it (the paper's p = 16 at 227); the dilated
 * box's pixel range [floor(x1), ceil(x2)) x [floor(y1), ceil(y2)) (at least one pixel) cropped
 * from img (c, h, w), pixels outside the image 0 (the scenes' black), and resampled bilinearly
 * (fv_image_resample, half-pixel centres) to dst (c, out, out). Errors: out < 1, pad < 0,
 * 2 pad >= out, a box with a coordinate not finite, out of memory. */
fv_status fv_rcnn_warp(const float *img, int c, int h, int w, fv_box box, int out, int pad,
                       float *dst);

/* Ridge regression's sufficient statistics for one class: A = sum x x^T (d x d) and
 * B = sum x t^T (d x 4) over features x (the last component the constant 1, the bias) and
 * targets t, both scaled by a forgetting factor before each batch is added. */
typedef struct fv_rcnn_ridge {
    int d;
    double *a, *b;
    double count;
} fv_rcnn_ridge;
fv_status fv_rcnn_ridge_init(fv_rcnn_ridge *r, int d);
void fv_rcnn_ridge_free(fv_rcnn_ridge *r);
/* Statistics times `forget`, then n samples added: x (n x (d - 1)) and t (n x 4). */
void fv_rcnn_ridge_add(fv_rcnn_ridge *r, double forget, const float *x, const float *t, int n);
/* w (4 x d, row j the weights of target j, the bias last) = the solution of
 * (A + lambda I') w^T = B, I' the identity without the bias's entry (the bias is not shrunk):
 * argmin sum |t - W x|^2 + lambda |W without bias|^2. Cholesky in double; statistics without
 * samples give w = 0 (no correction). Errors: lambda <= 0 or not finite. */
fv_status fv_rcnn_ridge_solve(const fv_rcnn_ridge *r, double lambda, double *w);

/* Selective-search proposals (settings sa) of image (ch, h, w) in [0, 1], run on a copy resized
 * to ss_side on its longer side (0: as it is) and mapped back to the image's pixels, those under
 * 2 pixels a side dropped, at most max_boxes kept (best first); cached by key (a scene's id and
 * its pixels' hash) in the state of the detector. */
typedef struct fv_rcnn_cache fv_rcnn_cache;
fv_rcnn_cache *fv_rcnn_cache_new(void);
void fv_rcnn_cache_free(fv_rcnn_cache *c);
/* The 64-bit key of an image: its id mixed with an FNV-1a hash of its pixels' bytes. */
uint64_t fv_rcnn_image_key(int64_t id, const float *px, int64_t n);
typedef struct fv_rcnn_ss_stats {
    int64_t runs, boxes, hits; /* selective-search runs, their boxes kept, cache hits */
    double seconds;            /* wall time in selective search */
} fv_rcnn_ss_stats;
/* *boxes points into the cache (valid until it is freed), *n their count. */
fv_status fv_rcnn_proposals(fv_rcnn_cache *c, uint64_t key, const float *px, int ch, int h,
                            int w, int ss_side, int max_boxes, fv_ss_args sa, const fv_box **boxes,
                            int *n);
fv_rcnn_ss_stats fv_rcnn_cache_stats(const fv_rcnn_cache *c);

/* The detector's settings and statistics (fv_det_rcnn's state), for the driver's report. */
typedef struct fv_rcnn_info {
    int warp, pad, ss_side, ss_min_size, max_proposals, batch_fg, batch_bg, feat_dim;
    double ss_k;
    float fg_iou, reg_iou, nms_iou;
    double lambda, forget;
    fv_rcnn_ss_stats ss;
    int64_t steps;
} fv_rcnn_info;
fv_status fv_rcnn_info_get(const fv_detector *d, fv_rcnn_info *out);

#endif /* FV_RCNN_H */
