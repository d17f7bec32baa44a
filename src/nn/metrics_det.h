/* metrics_det.h - what metrics_det.c (checks, VOC, the summary), metrics_det_coco.c (COCO's
 * figures) and metrics_det_write.c (text, JSON, figure) share. */
#ifndef FV_METRICS_DET_H
#define FV_METRICS_DET_H

#include "core/internal.h"

#define FV_COCO_T 10  /* IoU thresholds 0.50:0.05:0.95 */
#define FV_COCO_R 101 /* recall points 0:0.01:1 */
#define FV_COCO_A 4   /* area ranges: all, small, medium, large */
#define FV_COCO_M 3   /* maxDets 1, 10, 100 */

/* A detection's sort key: its score and its place in the input (for ties). */
typedef struct fv_det_key {
    double score;
    int64_t seq;
} fv_det_key;

/* qsort's order for arrays of structs that begin with an fv_det_key, as VOCevaldet and COCOeval
 * sort detections: score decreasing, ties in input order. */
int fv_det_by_score(const void *pa, const void *pb);

/* One class's COCO sums, for the means over classes: per area range a and maxDets m, whether the
 * class counts (it has ground truth in the range) and its sums of precision over all T x R
 * points, over R at IoU 0.50 and 0.75, and of recall over T. */
typedef struct fv_coco_sums {
    int valid[FV_COCO_A][FV_COCO_M];
    double ap[FV_COCO_A][FV_COCO_M], ap50[FV_COCO_A][FV_COCO_M], ap75[FV_COCO_A][FV_COCO_M];
    double ar[FV_COCO_A][FV_COCO_M];
} fv_coco_sums;

/* COCO's figures of class c over the n images (inputs already checked): fills cls's ap, ap50,
 * ap75, ar100, truths and coco_pr50, and the sums. */
fv_status fv_det_coco_class(const fv_det_image *im, int64_t n, int c, fv_det_class *cls,
                            fv_coco_sums *sums);

#endif /* FV_METRICS_DET_H */
