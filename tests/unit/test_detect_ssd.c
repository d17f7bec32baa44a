/* test_detect_ssd.c - the single-shot detector's pieces: default boxes, SSD matching and the
 * multibox loss on hand-computed cases, the loss's gradient by finite differences (double), and
 * a small overfit run (a few synthetic scenes: the AP on them rises from near 0). */
#include "data/data.h"
#include "detect/ssd.h"
#include "fovea.h"
#include "gradcheck.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

TEST(default_boxes)
{
    fv_box b[2 * 2 * 2];
    const float sizes[] = {4}, ratios[] = {1, 4};
    fv_ssd_default_boxes(2, 2, 8, 8, sizes, 1, ratios, 2, b);
    /* cell (0, 0) centred on (2, 2): square 4 x 4, then 2 wide and 8 tall */
    CHECK(b[0].x1 == 0 && b[0].y1 == 0 && b[0].x2 == 4 && b[0].y2 == 4);
    CHECK(b[1].x1 == 1 && b[1].y1 == -2 && b[1].x2 == 3 && b[1].y2 == 6);
    /* cell (0, 1) (row-major) centred on (6, 2); cell (1, 0) on (2, 6) */
    CHECK(b[2].x1 == 4 && b[2].y1 == 0 && b[2].x2 == 8 && b[2].y2 == 4);
    CHECK(b[4].x1 == 0 && b[4].y1 == 4 && b[4].x2 == 4 && b[4].y2 == 8);
}

/* The best IoU of a box with any of the anchors. */
static float best_iou(const fv_box *anchors, int na, fv_box t, float *iou)
{
    fv_box_iou_matrix(anchors, na, &t, 1, iou);
    float best = 0;
    for (int a = 0; a < na; a++)
        best = iou[a] > best ? iou[a] : best;
    return best;
}

/* The detector's default boxes cover digit-like boxes (tight boxes of 8-36 px at a 160 input,
 * square to a 1:4.5 "1", at every offset of a 16 px cell): with the earlier sizes (4.8-35 px)
 * and ratios (1-3.2) 31.6 % had no default box at IoU >= 0.5 and the mean best IoU was 0.559;
 * now 22.2 % and 0.586 (the thin "1"s and the boxes between two maps' sizes). */
TEST(default_box_coverage)
{
    const int grid[FV_SSD_MAPS] = {40, 20, 10};
    const float hs[] = {8, 12, 16, 20, 24, 28, 32, 36}, rs[] = {1.0f, 1.4f, 3.0f, 4.5f};
    int na = (40 * 40 + 20 * 20 + 10 * 10) * FV_SSD_A, n = 0, low = 0;
    fv_box *anchors = malloc(sizeof(fv_box) * (size_t)na);
    float *iou = malloc(sizeof(float) * (size_t)na);
    double sum = 0;
    CHECK(anchors && iou);
    fv_ssd_detector_boxes(160, 160, grid, grid, anchors);
    /* map 0 is first, its first cell centred on (2, 2): a square 6 px, then 9 px, ... */
    CHECK(fabsf(anchors[0].x1 - -1.f) < 1e-5f && fabsf(anchors[0].x2 - 5.f) < 1e-5f);
    for (int h = 0; h < 8; h++)
        for (int r = 0; r < 4; r++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++) {
                    fv_box t = {60.f + x, 60.f + y, 60.f + x + hs[h] / rs[r], 60.f + y + hs[h]};
                    float b = best_iou(anchors, na, t, iou);
                    n++, low += b < 0.5f, sum += b;
                }
    fprintf(stderr, "  coverage: %.1f %% below IoU 0.5, mean best IoU %.3f\n", 100.0 * low / n,
            sum / n);
    CHECK(low < 0.25 * n && sum / n > 0.575);
    free(anchors), free(iou);
}

TEST(matching)
{
    const fv_box anchors[] = {{0, 0, 10, 10}, {5, 0, 15, 10}, {20, 20, 30, 30}, {0, 0, 9, 10}};
    const fv_box truths[] = {{0, 0, 10, 10}, {21, 21, 29, 29}, {12, 0, 22, 10}, {3, 3, 3, 8}};
    float iou[4 * 4];
    int m[4];
    /* IoU >= 0.5: A and D take truth 0, C truth 1 (0.64); B overlaps truth 0 at 1/3 only */
    CHECK_STATUS(fv_ssd_match(anchors, 4, truths, 2, 0.5f, iou, m), FV_OK);
    CHECK(m[0] == 0 && m[1] == -1 && m[2] == 1 && m[3] == 0);
    /* truth 2 overlaps B at 30 / 170 only, but B is its best default box: forced */
    CHECK_STATUS(fv_ssd_match(anchors, 4, truths, 3, 0.5f, iou, m), FV_OK);
    CHECK(m[0] == 0 && m[1] == 2 && m[2] == 1 && m[3] == 0);
    /* a truth without width matches nothing, not even its "best" box */
    CHECK_STATUS(fv_ssd_match(anchors, 4, truths + 3, 1, 0.5f, iou, m), FV_OK);
    CHECK(m[0] == -1 && m[1] == -1 && m[2] == -1 && m[3] == -1);
    /* no truths: all background */
    CHECK_STATUS(fv_ssd_match(anchors, 4, truths, 0, 0.5f, iou, m), FV_OK);
    CHECK(m[0] == -1 && m[3] == -1);
    /* a NaN truth is an error, not a match */
    const fv_box nan_box[] = {{0, 0, NAN, 4}};
    CHECK(fv_ssd_match(anchors, 4, nan_box, 1, 0.5f, iou, m) != FV_OK);
}

TEST(loss_by_hand)
{
    /* one positive (class 1) and four negatives; 2:1 mining keeps the two negatives of highest
     * background loss: rows 1 (log(1 + e^2)) and 3 (log(1 + e)) */
    const double logits[] = {0, 0, 0, 2, 0, -1, 0, 1, 0, 0};
    const double deltas[20] = {0.5, -2, 0, 0};
    const double targets[20] = {0, 0, 0, 0.1};
    const int labels[] = {1, 0, 0, 0, 0};
    double dl[10], dd[20], cls, box;
    int npos;
    CHECK_STATUS(fv_ssd_multibox_loss(logits, deltas, 5, 2, labels, targets, 2, 2.0, &cls, &box,
                                      dl, dd, &npos),
                 FV_OK);
    CHECK(npos == 1);
    CHECK_NEAR(cls, (log(2) + log(1 + exp(2)) + log(1 + exp(1))) / 2, 1e-12, 0);
    CHECK_NEAR(box, (0.125 + 1.5 + 0 + 0.005) / 2, 1e-12, 0);
    /* d CE / d logits = (softmax - onehot) / norm; unselected negatives get nothing */
    CHECK_NEAR(dl[0], 0.25, 1e-12, 0);
    CHECK_NEAR(dl[1], -0.25, 1e-12, 0);
    CHECK_NEAR(dl[2], (1 / (1 + exp(2)) - 1) / 2, 1e-12, 0);
    CHECK(dl[4] == 0 && dl[5] == 0 && dl[8] == 0 && dl[9] == 0);
    CHECK_NEAR(dd[0], 0.25, 1e-12, 0);
    CHECK_NEAR(dd[1], -0.5, 1e-12, 0); /* smooth L1's gradient is capped at 1 */
    CHECK_NEAR(dd[3], -0.05, 1e-12, 0);
    CHECK(dd[4] == 0);
    /* no positives: no negatives either, a zero loss */
    const int none[] = {0, 0, 0, 0, 0};
    CHECK_STATUS(fv_ssd_multibox_loss(logits, deltas, 5, 2, none, targets, 3, 1.0, &cls, &box, dl,
                                      dd, &npos),
                 FV_OK);
    CHECK(cls == 0 && box == 0 && npos == 0 && dl[2] == 0);
}

enum { NA = 12, K1 = 4 };
typedef struct loss_ctx {
    double x[NA * K1 + NA * 4]; /* logits then deltas */
    double targets[NA * 4];
    int labels[NA];
} loss_ctx;

static void loss_fwd(void *p, double *y)
{
    loss_ctx *c = p;
    double dl[NA * K1], dd[NA * 4], cls, box;
    int npos;
    fv_ssd_multibox_loss(c->x, c->x + NA * K1, NA, K1, c->labels, c->targets, 3, 3.0, &cls, &box,
                         dl, dd, &npos);
    y[0] = cls + box;
}

TEST(loss_gradient)
{
    static loss_ctx c;
    unsigned seed = 5;
    gc_fill(c.x, NA * K1 + NA * 4, -2, 2, &seed);
    gc_fill(c.targets, NA * 4, -1.5, 1.5, &seed);
    for (int a = 0; a < NA; a++)
        c.labels[a] = a % 5 == 0 ? 1 + a % 3 : 0; /* 3 positives, 9 negatives: all but none */
    double g[NA * K1 + NA * 4], cls, box, r = 1;
    int npos;
    fv_ssd_multibox_loss(c.x, c.x + NA * K1, NA, K1, c.labels, c.targets, 3, 3.0, &cls, &box, g,
                         g + NA * K1, &npos);
    CHECK(npos == 3);
    CHECK(gc_compare(&c, loss_fwd, c.x, NA * K1 + NA * 4, 1, &r, g, GC_H) < GC_TOL);
    /* with fewer negatives kept (1 positive: 3 of 11 negatives), the same */
    for (int a = 0; a < NA; a++)
        c.labels[a] = a == 4 ? 2 : 0;
    fv_ssd_multibox_loss(c.x, c.x + NA * K1, NA, K1, c.labels, c.targets, 3, 3.0, &cls, &box, g,
                         g + NA * K1, &npos);
    CHECK(gc_compare(&c, loss_fwd, c.x, NA * K1 + NA * 4, 1, &r, g, GC_H) < GC_TOL);
}

/* n 28x28 "digits": a lit rectangle in a blank margin, label k % 3. */
static fv_dataset *blobs(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28);
    int64_t dy = n;
    fv_tensor *y = fv_tensor_new(1, &dy);
    for (int k = 0; k < n; k++) {
        int w = 6 + 4 * (k % 3); /* the class shows in the width */
        for (int i = 4; i < 24; i++)
            for (int j = 14 - w / 2; j < 14 + w / 2; j++)
                x->data[k * 784 + i * 28 + j] = 1;
        y->data[k] = (float)(k % 3);
    }
    return fv_dataset_new(x, y, 3, "blobs");
}

static double ap50(fv_detector *d, const fv_det_source *s)
{
    fv_det_metrics *m = NULL;
    double ms, v = -1;
    if (fv_detector_evaluate(d, s, 4, &m, &ms) == FV_OK)
        v = m->stat[FV_DET_AP50];
    fv_det_metrics_free(m);
    return v;
}

TEST(overfit)
{
    fv_dataset *digits = blobs(12);
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 3, .height = 64, .width = 64,
                                     .seed = 3);
    CHECK(d != NULL);
    if (!d)
        return;
    fv_det_source s = {.digits = digits,
                       .scenes = {.size = 64, .min_side = 20, .max_side = 34, .max_digits = 3,
                                  .seed = 9},
                       .count = 4};
    double before = ap50(d, &s);
    fv_det_history h = {0};
    CHECK_STATUS(fv_detector_fit(d, .data = s, .epochs = 120, .batch = 4, .lr = 0.003f,
                                 .schedule = "constant", .history = &h),
                 FV_OK);
    double after = ap50(d, &s);
    fprintf(stderr, "  overfit: AP50 %.3f -> %.3f, loss %.3f -> %.3f\n", before, after,
            h.n ? h.epochs[0].loss : NAN, h.n ? h.epochs[h.n - 1].loss : NAN);
    CHECK(h.n == 120 && h.steps == 120);
    CHECK(h.epochs[h.n - 1].loss < 0.5 * h.epochs[0].loss);
    CHECK(before < 0.2 && after > 0.8);
    fv_det_history_clear(&h);
    fv_detector_free(d);
    fv_dataset_free(digits);
}

int main(void)
{
    RUN(default_boxes);
    RUN(default_box_coverage);
    RUN(matching);
    RUN(loss_by_hand);
    RUN(loss_gradient);
    RUN(overfit);
    TEST_MAIN_END();
}
