/* test_frcnn_targets.c - Fast / Faster R-CNN's targets on hand-made cases: anchor labels (IoU
 * thresholds 0.7 / 0.3, a truth's best anchor made positive), balanced sampling, RoI sampling
 * (ground truths added as proposals, foreground at IoU >= 0.5, background below, degenerate
 * proposals dropped, targets encoded with weights (10, 10, 5, 5)), smooth L1, the detections from
 * the head's outputs (scores, decoding, per-class NMS, the scale back); and the errors. */
#include "core/internal.h"
#include "detect/roi_head.h"
#include "test.h"

#include <math.h>
#include <string.h>

TEST(anchor_labels)
{
    const fv_box an[5] = {{0, 0, 10, 10}, {0, 0, 10, 12}, {5, 0, 15, 10}, {20, 20, 30, 30},
                          {40, 40, 50, 50}};
    /* truth 1's best anchor (4) has IoU 0.5: positive only as a low-quality match */
    const fv_det_object gt[2] = {{.box = {0, 0, 10, 10}, .cls = 3},
                                 {.box = {40, 40, 50, 60}, .cls = 7}};
    int lab[5], m[5];
    CHECK_STATUS(fv_rpn_label(an, 5, gt, 2, 0.7f, 0.3f, lab, m), FV_OK);
    const int want[5] = {1, 1, -1, 0, 1}, wm[5] = {0, 0, -1, -1, 1};
    for (int i = 0; i < 5; i++) {
        CHECK(lab[i] == want[i]);
        CHECK(m[i] == wm[i]);
    }
    CHECK_STATUS(fv_rpn_label(an, 5, gt, 0, 0.7f, 0.3f, lab, m), FV_OK);
    for (int i = 0; i < 5; i++)
        CHECK(lab[i] == 0 && m[i] == -1);
}

TEST(balance)
{
    int lab[110];
    fv_rng r;
    fv_rng_seed(&r, 1);
    for (int pass = 0; pass < 2; pass++) {
        int npos = pass ? 3 : 10;
        for (int i = 0; i < 110; i++)
            lab[i] = i < npos ? 1 + i % 3 : i < 100 ? 0 : -1;
        int kept = fv_det_balance(lab, 110, 16, 0.5f, &r), pos = 0, neg = 0;
        for (int i = 0; i < 110; i++)
            pos += lab[i] >= 1, neg += lab[i] == 0;
        CHECK(kept == 16);
        CHECK(pos == (pass ? 3 : 8));
        CHECK(neg == 16 - pos);
        for (int i = 100; i < 110; i++)
            CHECK(lab[i] == -1);
    }
}

TEST(roi_sampling)
{
    const fv_det_object gt[1] = {{.box = {10, 10, 30, 40}, .cls = 4}};
    const fv_box props[3] = {{11, 10, 31, 42},  /* IoU 0.857: class 4 */
                             {25, 35, 45, 55},  /* IoU 25 / 975 = 0.026: background */
                             {5, 5, 5, 20}};    /* zero width: left out */
    fv_box rois[4];
    int lab[4], n = -1;
    float t[16];
    fv_rng r;
    fv_rng_seed(&r, 2);
    CHECK_STATUS(fv_rh_sample(props, 3, gt, 1, 8, 0.25f, 0.5f, 0.0f, &r, rois, lab, t, &n),
                 FV_OK);
    CHECK(n == 3);
    CHECK(lab[0] == 5 && lab[1] == 5 && lab[2] == 0);
    /* positives in candidate order: the proposal, then the truth itself (zero targets) */
    CHECK(rois[0].x1 == 11 && rois[0].y2 == 42);
    CHECK(rois[1].x1 == 10 && rois[1].y2 == 40);
    /* (10 (20 - 21) / 20, 10 (25 - 26) / 32, 5 log(20 / 20), 5 log(30 / 32)) */
    CHECK_NEAR(t[0], -0.5, 1e-6, 1e-5);
    CHECK_NEAR(t[1], -10.0 / 32, 1e-6, 1e-5);
    CHECK_NEAR(t[2], 0, 1e-6, 0);
    CHECK_NEAR(t[3], 5 * log(30.0 / 32), 1e-6, 1e-5);
    for (int j = 4; j < 12; j++)
        CHECK(t[j] == 0);
    /* background from IoU 0.1 (Fast R-CNN's paper): the far proposal is ignored */
    CHECK_STATUS(fv_rh_sample(props, 3, gt, 1, 8, 0.25f, 0.5f, 0.1f, &r, rois, lab, t, &n),
                 FV_OK);
    CHECK(n == 2);
    /* 25% of 4: one positive of the two */
    CHECK_STATUS(fv_rh_sample(props, 3, gt, 1, 4, 0.25f, 0.5f, 0.0f, &r, rois, lab, t, &n),
                 FV_OK);
    CHECK(n == 2 && lab[0] == 5 && lab[1] == 0);
    /* no truths: every proposal is background */
    CHECK_STATUS(fv_rh_sample(props, 3, gt, 0, 8, 0.25f, 0.5f, 0.0f, &r, rois, lab, t, &n),
                 FV_OK);
    CHECK(n == 2 && lab[0] == 0 && lab[1] == 0);
}

TEST(smooth_l1)
{
    double g;
    CHECK_NEAR(fv_det_smooth_l1(0.05, 1.0 / 9, &g), 0.5 * 0.05 * 0.05 * 9, 1e-15, 1e-12);
    CHECK_NEAR(g, 0.45, 1e-15, 1e-12);
    CHECK_NEAR(fv_det_smooth_l1(-2, 1.0 / 9, &g), 2 - 0.5 / 9, 1e-15, 1e-12);
    CHECK(g == -1);
}

TEST(detections)
{
    const fv_box props[2] = {{10, 10, 30, 30}, {10, 10, 30, 31}};
    /* classes: background, 0, 1; both proposals say class 0, the second less sure */
    const float logits[6] = {0, 5, 0, 0, 4, 0};
    float deltas[24] = {0};
    deltas[4 + 0] = 1; /* proposal 0, class 0: dx 1 -> x shifted by 0.1 w = 2 */
    fv_detection *d = NULL;
    int n = -1;
    CHECK_STATUS(fv_rh_detections(props, 2, logits, deltas, 3, 100, 100, 0.05f, 0.5, 100, 0.5f,
                                  0.5f, &d, &n),
                 FV_OK);
    CHECK(n == 1); /* class 1 scores 0.0066 < 0.05; the second box suppressed */
    if (n == 1) {
        CHECK(d[0].cls == 0);
        CHECK_NEAR(d[0].score, exp(5) / (exp(5) + 2), 1e-6, 1e-6);
        CHECK_NEAR(d[0].box.x1, 24, 1e-4, 0);
        CHECK_NEAR(d[0].box.x2, 64, 1e-4, 0);
        CHECK_NEAR(d[0].box.y1, 20, 1e-4, 0);
        CHECK_NEAR(d[0].box.y2, 60, 1e-4, 0);
    }
    fv_free(d);
    /* max_dets 0 keeps all; a box clipped to the image */
    deltas[4 + 0] = 0, deltas[4 + 2] = 2; /* dw 2 / 5: width times e^0.4 */
    CHECK_STATUS(fv_rh_detections(props, 1, logits, deltas, 3, 25, 100, 0.05f, 0.5, 0, 1, 1, &d,
                                  &n),
                 FV_OK);
    CHECK(n == 1 && d && d[0].box.x2 == 25);
    fv_free(d);
}

TEST(errors)
{
    fv_box b[2] = {{0, 0, 4, 4}, {1, 1, 5, 5}};
    float obj[2] = {NAN, 1}, dl[8] = {0};
    fv_box out[2];
    int n, lab[2], m[2];
    CHECK_STATUS(fv_rpn_proposals(b, 2, obj, dl, 10, 10, 2, 2, 0.7, out, NULL, &n),
                 FV_ERR_NUMERIC);
    CHECK_ERR_HAS("objectness 0 is nan");
    obj[0] = 0;
    CHECK_STATUS(fv_rpn_proposals(b, 2, obj, dl, 10, 10, 0, 2, 0.7, out, NULL, &n),
                 FV_ERR_INVALID);
    CHECK_ERR_HAS("top 0 / 2");
    CHECK_STATUS(fv_rpn_label(b, -1, NULL, 0, 0.7f, 0.3f, lab, m), FV_ERR_INVALID);
    CHECK_ERR_HAS("-1 anchors");
    fv_rng r;
    fv_rng_seed(&r, 1);
    CHECK_STATUS(fv_rh_sample(b, 2, NULL, 0, 0, 0.25f, 0.5f, 0, &r, out, lab, dl, &n),
                 FV_ERR_INVALID);
    CHECK_ERR_HAS("0 RoIs an image");
    fv_detection *d;
    CHECK_STATUS(fv_rh_detections(b, 1, dl, dl, 1, 10, 10, 0.05f, 0.5, 10, 1, 1, &d, &n),
                 FV_ERR_INVALID);
    CHECK_ERR_HAS("1 RoIs of 1 classes");
}

int main(void)
{
    RUN(anchor_labels);
    RUN(balance);
    RUN(roi_sampling);
    RUN(smooth_l1);
    RUN(detections);
    RUN(errors);
    TEST_MAIN_END();
}
