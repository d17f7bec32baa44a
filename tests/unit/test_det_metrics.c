/* test_det_metrics.c - the detection metrics (nn/metrics_det*.c) on hand-computed cases: ties in
 * score, no detections, a class without ground truth, detections of a class never annotated,
 * duplicates, difficult boxes, crowd regions, size ranges and their inclusive bounds, maxDets,
 * the 11-point against the all-point AP on one curve, VOC's +1 pixel convention, VOC's
 * assignment to an already matched ground truth; the input errors, the table, JSON and figure.
 * Expected values are worked out in the comments (COCO's precision is tp / (tp + fp + eps), so
 * COCO figures are compared within 1e-9). */
#include "fovea.h"
#include "io/io.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define EPS 1e-9
#define B(x1, y1, x2, y2) ((fv_box){(x1), (y1), (x2), (y2)})
#define GT(x1, y1, x2, y2, c) ((fv_det_truth){B(x1, y1, x2, y2), (c), 0, 0, 0})
#define DET(x1, y1, x2, y2, c, s) ((fv_detection){B(x1, y1, x2, y2), (c), (s)})

static fv_det_image img(const fv_det_truth *g, int64_t ng, const fv_detection *d, int64_t nd)
{
    return (fv_det_image){g, ng, d, nd};
}

/* The metrics of one image of one class. */
static fv_det_metrics *one_image(const fv_det_truth *g, int64_t ng, const fv_detection *d,
                                 int64_t nd)
{
    fv_det_image im = img(g, ng, d, nd);
    return fv_det_metrics_compute(&im, 1, 1);
}

/* G1 and G2 found, G1 twice: scores 0.9 (G1), 0.8 (G1 again), 0.8 (G2); the tie goes by
 * position, so the duplicate comes second. VOC points (0.5, 1), (0.5, 0.5), (1, 2/3): all-point
 * 0.5 * 1 + 0.5 * 2/3 = 5/6; 11-point: t = 0 .. 0.5 give 1, t = 0.6 .. 1 give 2/3: 28/33. COCO:
 * the envelope is 1 up to recall 0.50 (51 points) and 2/3 after (50): (51 + 100/3) / 101. */
TEST(ties_and_duplicates)
{
    fv_det_truth g[2] = {GT(0, 0, 10, 10, 0), GT(20, 20, 30, 30, 0)};
    fv_detection d[3] = {DET(0, 0, 10, 10, 0, 0.9), DET(0, 0, 10, 10, 0, 0.8),
                         DET(20, 20, 30, 30, 0, 0.8)};
    fv_det_metrics *m = one_image(g, 2, d, 3);
    CHECK(m != NULL);
    if (!m)
        return;
    const fv_det_class *c = &m->cls[0];
    CHECK(c->positives == 2 && c->truths == 2 && c->detections == 3 && c->npr == 3);
    CHECK_NEAR(c->ap_voc, 5.0 / 6, 1e-12, 0);
    CHECK_NEAR(c->ap_voc07, 28.0 / 33, 1e-12, 0);
    CHECK(c->recall[1] == 0.5 && c->precision[1] == 0.5 && c->recall[2] == 1.0);
    CHECK_NEAR(m->stat[FV_DET_VOC_MAP], 5.0 / 6, 1e-12, 0);
    double coco = (51 + 100.0 / 3) / 101;
    CHECK_NEAR(m->stat[FV_DET_AP], coco, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP50], coco, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP75], coco, EPS, 0);
    CHECK_NEAR(c->ap, coco, EPS, 0);
    CHECK_NEAR(c->coco_pr50[50], 1, EPS, 0);
    CHECK_NEAR(c->coco_pr50[51], 2.0 / 3, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AR1], 0.5, EPS, 0); /* one detection per image: G1 only */
    CHECK_NEAR(m->stat[FV_DET_AR10], 1, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP_SMALL], coco, EPS, 0); /* 10 x 10 boxes: all small */
    CHECK(m->stat[FV_DET_AP_MEDIUM] == -1 && m->stat[FV_DET_AR_LARGE] == -1);
    fv_det_metrics_free(m);
    /* the tied pair the other way round: G2 before the duplicate, a perfect ranking */
    fv_detection e[3] = {d[0], d[2], d[1]};
    m = one_image(g, 2, e, 3);
    CHECK(m && m->cls[0].ap_voc == 1.0 && fabs(m->cls[0].ap_voc07 - 1) < 1e-12);
    CHECK(m && fabs(m->stat[FV_DET_AP] - 1) < EPS);
    fv_det_metrics_free(m);
}

/* Ties across images go by image order: the false positive of image 0 before the true
 * positive of image 1 (points (0, 0), (1, 0.5): AP 0.5), and the other way (AP 1). */
TEST(ties_across_images)
{
    fv_det_truth g = GT(0, 0, 10, 10, 0);
    fv_detection fp = DET(50, 50, 60, 60, 0, 0.5), tp = DET(0, 0, 10, 10, 0, 0.5);
    fv_det_image ims[2] = {img(NULL, 0, &fp, 1), img(&g, 1, &tp, 1)};
    fv_det_metrics *m = fv_det_metrics_compute(ims, 2, 1);
    CHECK(m && m->cls[0].ap_voc == 0.5 && fabs(m->cls[0].ap_voc07 - 0.5) < 1e-12);
    CHECK(m && fabs(m->stat[FV_DET_AP50] - 0.5) < EPS);
    fv_det_metrics_free(m);
    fv_det_image swapped[2] = {ims[1], ims[0]};
    m = fv_det_metrics_compute(swapped, 2, 1);
    CHECK(m && m->cls[0].ap_voc == 1.0 && fabs(m->stat[FV_DET_AP50] - 1) < EPS);
    fv_det_metrics_free(m);
}

/* No detections at all: class 0 (one ground truth) scores 0 in VOC and COCO; class 1 has no
 * ground truth: NaN in VOC and -1 in COCO, left out of both means. */
TEST(no_detections)
{
    fv_det_truth g = GT(0, 0, 10, 10, 0);
    fv_det_image im = img(&g, 1, NULL, 0);
    fv_det_metrics *m = fv_det_metrics_compute(&im, 1, 2);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(m->cls[0].ap_voc == 0 && m->cls[0].ap_voc07 == 0 && m->cls[0].npr == 0);
    CHECK(m->cls[0].ap == 0 && m->cls[0].ar100 == 0);
    CHECK(isnan(m->cls[1].ap_voc) && isnan(m->cls[1].ap_voc07) && m->cls[1].ap == -1);
    CHECK(m->cls[1].coco_pr50[0] == -1);
    CHECK(m->stat[FV_DET_VOC_MAP] == 0 && m->stat[FV_DET_VOC07_MAP] == 0);
    CHECK(m->stat[FV_DET_AP] == 0 && m->stat[FV_DET_AR100] == 0);
    fv_det_metrics_free(m);
    /* no ground truth at all: nothing counts */
    im = img(NULL, 0, NULL, 0);
    m = fv_det_metrics_compute(&im, 1, 2);
    CHECK(m && isnan(m->stat[FV_DET_VOC_MAP]) && m->stat[FV_DET_AP] == -1);
    CHECK(m && m->stat[FV_DET_AR1] == -1);
    fv_det_metrics_free(m);
}

/* Class 2 is detected but never annotated (its detection even sits on class 0's box with a
 * higher score); class 1 appears nowhere. Only class 0 counts: mAP 1 in both. */
TEST(class_never_annotated)
{
    fv_det_truth g = GT(0, 0, 10, 10, 0);
    fv_detection d[2] = {DET(0, 0, 10, 10, 2, 0.99), DET(0, 0, 10, 10, 0, 0.5)};
    fv_det_image im = img(&g, 1, d, 2);
    fv_det_metrics *m = fv_det_metrics_compute(&im, 1, 3);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(m->cls[0].ap_voc == 1 && m->stat[FV_DET_VOC_MAP] == 1);
    CHECK_NEAR(m->stat[FV_DET_VOC07_MAP], 1, 1e-12, 0);
    CHECK(isnan(m->cls[2].ap_voc) && m->cls[2].detections == 1 && m->cls[2].npr == 1);
    CHECK(isnan(m->cls[2].recall[0]) && m->cls[2].precision[0] == 0);
    CHECK(m->cls[2].ap == -1 && m->cls[1].ap == -1 && m->cls[1].detections == 0);
    CHECK_NEAR(m->stat[FV_DET_AP], 1, EPS, 0);
    fv_det_metrics_free(m);
}

/* VOC ignores difficult boxes: a detection on one (0.9) is neither true nor false positive, nor
 * is a second one (0.6); a miss (0.8) is false, G1's (0.7) true: points (0, 0), (1, 0.5), AP 0.5
 * both ways (5/6 if the difficult box counted). COCO has no difficult flag: D1 and D3 true, D2
 * and the duplicate D4 false: (51 + 100/3) / 101 as in ties_and_duplicates. */
TEST(difficult_ignored)
{
    fv_det_truth g[2] = {GT(0, 0, 10, 10, 0), GT(20, 20, 30, 30, 0)};
    g[1].difficult = 1;
    fv_detection d[4] = {DET(20, 20, 30, 30, 0, 0.9), DET(50, 50, 60, 60, 0, 0.8),
                         DET(0, 0, 10, 10, 0, 0.7), DET(21, 20, 30, 30, 0, 0.6)};
    fv_det_metrics *m = one_image(g, 2, d, 4);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(m->cls[0].positives == 1 && m->cls[0].truths == 2 && m->cls[0].npr == 2);
    CHECK(m->cls[0].ap_voc == 0.5);
    CHECK_NEAR(m->cls[0].ap_voc07, 0.5, 1e-12, 0);
    CHECK(m->cls[0].recall[0] == 0 && m->cls[0].precision[1] == 0.5);
    CHECK_NEAR(m->cls[0].ap, (51 + 100.0 / 3) / 101, EPS, 0);
    fv_det_metrics_free(m);
    g[1].difficult = 0;
    m = one_image(g, 2, d, 4);
    CHECK(m && fabs(m->cls[0].ap_voc - 5.0 / 6) < 1e-12);
    fv_det_metrics_free(m);
}

/* COCO's crowd regions: detections inside one (IoU = intersection / detection area = 1) are
 * ignored, however many; then a true and a false positive: precision 1 at every recall, AP 1.
 * Without the flag the region is an ordinary box they miss: 2 misses before the hit, npig 2. */
TEST(crowd_regions)
{
    fv_det_truth g[2] = {GT(0, 0, 10, 10, 0), GT(20, 20, 60, 60, 0)};
    g[1].crowd = 1;
    fv_detection d[4] = {DET(25, 25, 35, 35, 0, 0.9), DET(40, 40, 50, 50, 0, 0.8),
                         DET(0, 0, 10, 10, 0, 0.7), DET(100, 100, 110, 110, 0, 0.6)};
    fv_det_metrics *m = one_image(g, 2, d, 4);
    CHECK(m && m->cls[0].truths == 1);
    CHECK(m && fabs(m->stat[FV_DET_AP] - 1) < EPS && fabs(m->stat[FV_DET_AR100] - 1) < EPS);
    fv_det_metrics_free(m);
    /* a crowd is matched last: D overlaps G1 by 0.6 and lies wholly in the crowd (1.0); it takes
     * G1 at IoU 0.50, 0.55, 0.60 and the crowd (ignored) above: AP 3/10, AP50 1, AP75 0 */
    fv_det_truth h[2] = {GT(0, 0, 10, 10, 0), GT(0, 0, 40, 40, 0)};
    h[1].crowd = 1;
    fv_detection e = DET(0, 0, 10, 6, 0, 0.9);
    m = one_image(h, 2, &e, 1);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(m->stat[FV_DET_AP], 0.3, EPS, 0);
        CHECK_NEAR(m->stat[FV_DET_AP50], 1, EPS, 0);
        CHECK(m->stat[FV_DET_AP75] == 0);
        CHECK_NEAR(m->stat[FV_DET_AR100], 0.3, EPS, 0);
    }
    fv_det_metrics_free(m);
    g[1].crowd = 0; /* two misses, then the hit, then a miss: (0,0) (0,0) (1/2,1/3) (1/2,1/4) */
    m = one_image(g, 2, d, 4);
    CHECK(m && fabs(m->stat[FV_DET_AP] - 51.0 / 3 / 101) < EPS);
    fv_det_metrics_free(m);
}

/* Size ranges: ground truths of 20x20 (small), 50x50 (medium), 100x100 (large); detections: a
 * medium-sized miss (0.95), the small one (0.9), the large one (0.8). All: points (0, 0),
 * (1/3, 1/2), (2/3, 2/3): envelope 2/3 to recall 0.66 (67 points). Small: the miss is
 * out of range and unmatched (ignored), the large detection matches an ignored truth: AP 1.
 * Medium: the miss counts, the others match ignored truths: AP 0. Large: AP 1. */
TEST(size_ranges)
{
    fv_det_truth g[3] = {GT(0, 0, 20, 20, 0), GT(100, 100, 150, 150, 0),
                         GT(200, 200, 300, 300, 0)};
    fv_detection d[3] = {DET(400, 400, 450, 450, 0, 0.95), DET(0, 0, 20, 20, 0, 0.9),
                         DET(200, 200, 300, 300, 0, 0.8)};
    fv_det_metrics *m = one_image(g, 3, d, 3);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_NEAR(m->stat[FV_DET_AP], 67 * (2.0 / 3) / 101, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP_SMALL], 1, EPS, 0);
    CHECK(m->stat[FV_DET_AP_MEDIUM] == 0 && m->stat[FV_DET_AR_MEDIUM] == 0);
    CHECK_NEAR(m->stat[FV_DET_AP_LARGE], 1, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AR100], 2.0 / 3, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AR_SMALL], 1, EPS, 0);
    fv_det_metrics_free(m);
    /* bounds are inclusive (pycocotools): area exactly 32^2 is small and medium; the given
     * area (5000: medium) overrides the box's (100: small) */
    fv_det_truth h[2] = {GT(0, 0, 32, 32, 0), GT(100, 100, 110, 110, 1)};
    h[1].area = 5000;
    fv_detection e[2] = {DET(0, 0, 32, 32, 0, 0.9), DET(100, 100, 110, 110, 1, 0.9)};
    fv_det_image im = img(h, 2, e, 2);
    m = fv_det_metrics_compute(&im, 1, 2);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(m->stat[FV_DET_AP_SMALL], 1, EPS, 0);  /* class 0 only */
        CHECK_NEAR(m->stat[FV_DET_AP_MEDIUM], 1, EPS, 0); /* both */
        CHECK(m->stat[FV_DET_AP_LARGE] == -1);
        CHECK_NEAR(m->stat[FV_DET_AR_MEDIUM], 1, EPS, 0);
    }
    fv_det_metrics_free(m);
}

/* maxDets: 12 objects found in one image, best first: AR@1 1/12, AR@10 10/12, AR@100 1; and
 * only the 100 best detections of an image count (a 101st true positive is cut). */
TEST(max_dets)
{
    fv_det_truth g[101];
    fv_detection d[101];
    for (int i = 0; i < 101; i++) {
        float x = (float)(i % 10) * 20, y = (float)(i / 10) * 20;
        g[i] = GT(x, y, x + 10, y + 10, 0);
        d[i] = DET(x, y, x + 10, y + 10, 0, 1.0 - i * 0.001);
    }
    fv_det_metrics *m = one_image(g, 12, d, 12);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(m->stat[FV_DET_AR1], 1.0 / 12, EPS, 0);
        CHECK_NEAR(m->stat[FV_DET_AR10], 10.0 / 12, EPS, 0);
        CHECK_NEAR(m->stat[FV_DET_AR100], 1, EPS, 0);
        CHECK_NEAR(m->stat[FV_DET_AP], 1, EPS, 0);
    }
    fv_det_metrics_free(m);
    /* 101 objects: the 100 best detections reach recall 100/101; the envelope 1 up to recall
     * 0.99 (100 points): AP 100/101. VOC has no cut: AP 1 */
    m = one_image(g, 101, d, 101);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(m->stat[FV_DET_AR100], 100.0 / 101, EPS, 0);
        CHECK_NEAR(m->stat[FV_DET_AP], 100.0 / 101, EPS, 0);
        CHECK_NEAR(m->cls[0].ap_voc, 1, 1e-12, 0);
    }
    fv_det_metrics_free(m);
}

/* One curve, both interpolations: 10 positives found 3 in a row, then 7 misses. All-point: 0.3.
 * 11-point: t = 0, 0.1, 0.2 give 1; the devkit's grid point 3 * 0.1 = 0.30000000000000004 lies
 * above recall 3/10, so 3/11. Case A of ties_and_duplicates gives 28/33 > 5/6 the other way. */
TEST(eleven_vs_all_point)
{
    fv_det_truth g[10];
    fv_detection d[10];
    for (int i = 0; i < 10; i++) {
        float x = (float)i * 20;
        g[i] = GT(x, 0, x + 10, 10, 0);
        d[i] = i < 3 ? DET(x, 0, x + 10, 10, 0, 1 - i * 0.01) : DET(x, 50, x + 10, 60, 0, 0.5);
    }
    fv_det_metrics *m = one_image(g, 10, d, 10);
    CHECK(m != NULL);
    if (m) {
        CHECK_NEAR(m->cls[0].ap_voc, 0.3, 1e-12, 0);
        CHECK_NEAR(m->cls[0].ap_voc07, 3.0 / 11, 1e-12, 0);
        CHECK(m->cls[0].npr == 10 && m->cls[0].precision[9] == 0.3);
    }
    fv_det_metrics_free(m);
}

/* VOC's +1 convention: a 9x4 detection in a 9x9 box has IoU 36/81 continuous (a miss) and
 * 50/100 with the devkit's pixels (a hit). COCO stays continuous. */
TEST(voc_plus_one)
{
    fv_det_truth g = GT(0, 0, 9, 9, 0);
    fv_detection d = DET(0, 0, 9, 4, 0, 0.9);
    fv_det_image im = img(&g, 1, &d, 1);
    fv_det_metrics *m = fv_det_metrics_compute(&im, 1, 1);
    CHECK(m && m->cls[0].ap_voc == 0 && m->stat[FV_DET_AP50] == 0);
    CHECK(m && strstr(m->definition[FV_DET_VOC_MAP], "continuous"));
    fv_det_metrics_free(m);
    m = fv_det_metrics_compute(&im, 1, 1, .voc_plus_one = 1);
    CHECK(m && m->cls[0].ap_voc == 1 && fabs(m->cls[0].ap_voc07 - 1) < 1e-12);
    CHECK(m && m->stat[FV_DET_AP50] == 0);
    CHECK(m && strstr(m->definition[FV_DET_VOC_MAP], "+1"));
    fv_det_metrics_free(m);
    m = fv_det_metrics_compute(&im, 1, 1, .voc_iou = 0.4); /* 0.444 >= 0.4 */
    CHECK(m && m->cls[0].ap_voc == 1 && strstr(m->definition[0], "IoU >= 0.40"));
    fv_det_metrics_free(m);
}

/* VOC assigns a detection to its best-overlapping truth even when that one is taken (a false
 * positive); COCO moves on to the best available one. G1 (0,0,10,10), G2 (5,0,15,10); D1 = G1
 * (0.9), D2 (1,0,13,10) (0.8): IoU 90/130 with G1, 80/140 = 0.571 with G2. VOC: (0.5, 1),
 * (0.5, 0.5): AP 0.5, 11-point 6/11. COCO: D2 takes G2 at IoU 0.50 and 0.55 (AP 1 there), a
 * false positive above (51/101): AP (2 + 8 * 51/101) / 10, AP75 51/101. */
TEST(voc_vs_coco_assignment)
{
    fv_det_truth g[2] = {GT(0, 0, 10, 10, 0), GT(5, 0, 15, 10, 0)};
    fv_detection d[2] = {DET(0, 0, 10, 10, 0, 0.9), DET(1, 0, 13, 10, 0, 0.8)};
    fv_det_metrics *m = one_image(g, 2, d, 2);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(m->cls[0].ap_voc == 0.5);
    CHECK_NEAR(m->cls[0].ap_voc07, 6.0 / 11, 1e-12, 0);
    CHECK_NEAR(m->stat[FV_DET_AP50], 1, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP75], 51.0 / 101, EPS, 0);
    CHECK_NEAR(m->stat[FV_DET_AP], (2 + 8 * 51.0 / 101) / 10, EPS, 0);
    fv_det_metrics_free(m);
}

TEST(errors)
{
    fv_det_truth g = GT(0, 0, 10, 10, 0);
    fv_detection d = DET(0, 0, 10, 10, 0, 0.5);
    fv_det_image im = img(&g, 1, &d, 1);
    CHECK(fv_det_metrics_compute(&im, 1, 0) == NULL);
    CHECK_ERR_HAS("classes");
    CHECK(fv_det_metrics_compute(&im, 0, 1) == NULL);
    CHECK(fv_det_metrics_compute(NULL, 1, 1) == NULL);
    CHECK(fv_det_metrics_compute(&im, 1, 1, .voc_iou = 1.5) == NULL);
    CHECK_ERR_HAS("IoU threshold");
    g.cls = 3;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    CHECK_ERR_HAS("ground truth 0: class 3 outside [0, 2)");
    g.cls = 0, d.cls = -1;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    CHECK_ERR_HAS("detection 0: class -1");
    d.cls = 0, d.score = NAN;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    CHECK_ERR_HAS("image 0, detection 0");
    d.score = 0.5, d.box.x2 = -1;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    CHECK_ERR_HAS("negative size");
    d.box.x2 = 10, g.area = INFINITY;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    g.area = 0, g.box.y1 = NAN;
    CHECK(fv_det_metrics_compute(&im, 1, 2) == NULL);
    g.box.y1 = 0;
    fv_det_image bad[2] = {im, img(NULL, 2, NULL, 0)};
    CHECK(fv_det_metrics_compute(bad, 2, 2) == NULL);
    CHECK_ERR_HAS("image 1");
    bad[1].ntruth = -1;
    CHECK(fv_det_metrics_compute(bad, 2, 2) == NULL);
    fv_det_metrics *m = fv_det_metrics_compute(&im, 1, 2);
    CHECK(m != NULL);
    CHECK(fv_det_stat_name(FV_DET_AP50) && !strcmp(fv_det_stat_name(FV_DET_AP50), "AP50"));
    CHECK(fv_det_stat_name(FV_DET_NSTATS) == NULL);
    CHECK_STATUS(fv_det_plot_pr("det_pr_err.png", m, 1, NULL), FV_ERR_INVALID); /* no positives */
    CHECK_STATUS(fv_det_plot_pr("det_pr_err.png", m, 2, NULL), FV_ERR_INVALID);
    CHECK(access("det_pr_err.png", F_OK) != 0);
    fv_det_metrics_free(m);
}

/* The table names each figure beside its definition; the JSON holds every figure, null where
 * one does not exist; the figures are written. */
TEST(files)
{
    static const char *const names[2] = {"digit \"0\"", "one"};
    fv_det_truth g[2] = {GT(0, 0, 10, 10, 0), GT(20, 20, 30, 30, 0)};
    fv_detection d[3] = {DET(0, 0, 10, 10, 0, 0.9), DET(0, 0, 10, 10, 0, 0.6),
                         DET(20, 20, 30, 30, 0, 0.7)}; /* the duplicate last: AP50 1 */
    fv_det_image im = img(g, 2, d, 3);
    fv_det_metrics *m = fv_det_metrics_compute(&im, 1, 2);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(!strcmp(m->definition[FV_DET_AP50], "AP50 (COCO, 101-point, IoU 0.50, area all, "
                                              "maxDets 100)"));
    CHECK(!strcmp(m->definition[FV_DET_AR10], "AR (COCO, IoU 0.50:0.05:0.95, area all, "
                                              "maxDets 10)"));
    FILE *f = tmpfile();
    CHECK_STATUS(fv_det_metrics_print(m, names, f), FV_OK);
    char text[4096] = {0};
    rewind(f);
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    CHECK(got > 0 && strstr(text, "AP50        1.0000  AP50 (COCO, 101-point, IoU 0.50"));
    CHECK(strstr(text, "mAP_VOC07") && strstr(text, "n/a") && strstr(text, "digit \"0\""));
    const char *jp = "det_metrics_test.json";
    CHECK_STATUS(fv_det_metrics_write_json(m, names, jp), FV_OK);
    char *buf = NULL;
    size_t len = 0;
    CHECK_STATUS(fv_read_file(jp, 1 << 20, (unsigned char **)&buf, &len), FV_OK);
    cJSON *j = buf ? cJSON_ParseWithLength(buf, len) : NULL;
    const cJSON *stats = cJSON_GetObjectItem(j, "stats"), *cls = cJSON_GetObjectItem(j, "per_class");
    const cJSON *s1 = cJSON_GetArrayItem(stats, FV_DET_AP50), *c0 = cJSON_GetArrayItem(cls, 0);
    const cJSON *c1 = cJSON_GetArrayItem(cls, 1);
    CHECK(cJSON_GetArraySize(stats) == FV_DET_NSTATS && cJSON_GetArraySize(cls) == 2);
    CHECK(s1 && !strcmp(cJSON_GetObjectItem(s1, "name")->valuestring, "AP50"));
    CHECK(s1 && !strcmp(cJSON_GetObjectItem(s1, "definition")->valuestring,
                        m->definition[FV_DET_AP50]));
    CHECK(c0 && !strcmp(cJSON_GetObjectItem(c0, "name")->valuestring, names[0]));
    CHECK(c0 && cJSON_GetObjectItem(c0, "ap_voc")->valuedouble == m->cls[0].ap_voc);
    CHECK(c0 && cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "pr_voc"),
                                                       "recall")) == 3);
    CHECK(c1 && cJSON_IsNull(cJSON_GetObjectItem(c1, "ap_voc")) &&
          cJSON_IsNull(cJSON_GetObjectItem(c1, "ap")));
    CHECK(c1 && cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetObjectItem(c1, "pr_coco50"), 0)));
    cJSON_Delete(j);
    fv_free(buf);
    CHECK_STATUS(fv_det_metrics_write_json(m, NULL, "no/such/dir/d.json"), FV_ERR_IO);
    const char *figs[3] = {"det_pr_test.png", "det_pr_test.svg", "det_pr_all.png"};
    for (int i = 0; i < 3; i++) {
        CHECK_STATUS(fv_det_plot_pr(figs[i], m, i < 2 ? 0 : -1, names), FV_OK);
        CHECK(access(figs[i], F_OK) == 0);
        remove(figs[i]);
    }
    remove(jp);
    fv_det_metrics_free(m);
}

/* ---------------------------------------------------------------- golden */

/* tests/golden/gen_det_metrics.py's random set: numpy transcriptions of the VOC devkit's
 * VOCevaldet / voc_ap and pycocotools' COCOeval (Debian has no pycocotools). */
typedef struct det_set {
    int n, k;
    fv_det_image *im;
    fv_det_truth *g;
    fv_detection *d;
} det_set;

static void set_free(det_set *s)
{
    free(s->im), free(s->g), free(s->d);
}

static int read_set(FILE *f, det_set *s)
{
    memset(s, 0, sizeof *s);
    if (fscanf(f, "images %d classes %d", &s->n, &s->k) != 2 || s->n < 1 || s->n > 1000)
        return 0;
    s->im = calloc((size_t)s->n, sizeof *s->im);
    s->g = calloc(20000, sizeof *s->g), s->d = calloc(20000, sizeof *s->d);
    int64_t ng = 0, nd = 0;
    for (int i = 0; s->im && s->g && s->d && i < s->n; i++) {
        long long a, b;
        if (fscanf(f, " image %*d %lld %lld", &a, &b) != 2 || ng + a > 20000 || nd + b > 20000)
            return 0;
        s->im[i] = img(s->g + ng, a, s->d + nd, b);
        for (long long j = 0; j < a; j++, ng++) {
            fv_det_truth *t = &s->g[ng];
            if (fscanf(f, " t %f %f %f %f %d %d %d %lf", &t->box.x1, &t->box.y1, &t->box.x2,
                       &t->box.y2, &t->cls, &t->difficult, &t->crowd, &t->area) != 8)
                return 0;
        }
        for (long long j = 0; j < b; j++, nd++) {
            fv_detection *t = &s->d[nd];
            if (fscanf(f, " d %f %f %f %f %d %lf", &t->box.x1, &t->box.y1, &t->box.x2,
                       &t->box.y2, &t->cls, &t->score) != 6)
                return 0;
        }
    }
    return s->im && s->g && s->d;
}

/* The next row: its name must be `name`; n values into v. */
static int read_row(FILE *f, const char *name, double *v, int n)
{
    char got[64];
    if (fscanf(f, " %63s", got) != 1 || strcmp(got, name)) {
        fprintf(stderr, "  golden row %s missing\n", name);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (fscanf(f, "%lf", &v[i]) != 1)
            return 0;
    return 1;
}

/* a == b within tol, NaN matching NaN. */
static int same(double a, double b, double tol)
{
    return (isnan(a) && isnan(b)) || fabs(a - b) <= tol;
}

TEST(golden_reference)
{
    FILE *f = fopen(t_src_path("data/golden/det_metrics.txt"), "r");
    det_set s;
    CHECK(f && read_set(f, &s) && s.k == 5);
    fv_det_metrics *m[2] = {NULL, NULL};
    for (int one = 0; f && one < 2; one++)
        CHECK((m[one] = fv_det_metrics_compute(s.im, s.n, s.k, .voc_plus_one = one)) != NULL);
    double v[128];
    char name[32];
    for (int one = 0; m[0] && m[1] && one < 2; one++)
        for (int all = 0; all < 2; all++) {
            snprintf(name, sizeof name, "%s_%d", all ? "voc" : "voc07", one);
            CHECK(read_row(f, name, v, s.k + 1));
            for (int c = 0; c < s.k; c++)
                CHECK(same(all ? m[one]->cls[c].ap_voc : m[one]->cls[c].ap_voc07, v[c], 1e-12));
            CHECK(same(m[one]->stat[all ? FV_DET_VOC_MAP : FV_DET_VOC07_MAP], v[s.k], 1e-12));
        }
    if (m[0] && read_row(f, "coco_stats", v, 12)) {
        for (int i = 0; i < 12; i++)
            CHECK_NEAR(m[0]->stat[FV_DET_AP + i], v[i], 1e-12, 0);
        for (int i = 0; i < 12; i++) /* COCO ignores the VOC settings */
            CHECK(m[1]->stat[FV_DET_AP + i] == m[0]->stat[FV_DET_AP + i]);
    }
    if (m[0] && read_row(f, "coco_ap", v, s.k))
        for (int c = 0; c < s.k; c++)
            CHECK_NEAR(m[0]->cls[c].ap, v[c], 1e-12, 0);
    for (int c = 0; m[0] && c < s.k; c++) {
        snprintf(name, sizeof name, "coco_pr50_%d", c);
        if (read_row(f, name, v, 101))
            for (int r = 0; r < 101; r++)
                CHECK_NEAR(m[0]->cls[c].coco_pr50[r], v[r], 1e-12, 0);
    }
    CHECK(m[0] && m[0]->stat[FV_DET_AR10] < m[0]->stat[FV_DET_AR100]); /* the set cuts */
    CHECK(m[0] && m[1] && m[0]->stat[FV_DET_VOC_MAP] != m[1]->stat[FV_DET_VOC_MAP]);
    fv_det_metrics_free(m[0]);
    fv_det_metrics_free(m[1]);
    if (f) {
        set_free(&s);
        fclose(f);
    }
}

int main(void)
{
    RUN(ties_and_duplicates);
    RUN(ties_across_images);
    RUN(no_detections);
    RUN(class_never_annotated);
    RUN(difficult_ignored);
    RUN(crowd_regions);
    RUN(size_ranges);
    RUN(max_dets);
    RUN(eleven_vs_all_point);
    RUN(voc_plus_one);
    RUN(voc_vs_coco_assignment);
    RUN(errors);
    RUN(files);
    RUN(golden_reference);
    TEST_MAIN_END();
}
