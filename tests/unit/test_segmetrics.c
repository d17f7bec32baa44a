/* test_segmetrics.c - the segmentation metrics (fv_confusion): Keras MeanIoU's documented cases
 * (update_state([0, 0, 1, 1], [0, 1, 0, 1]) gives 0.33333334; with sample weights [0.3, 0.3,
 * 0.3, 0.1], 0.23809525), accumulation over batches, the three rules for a class absent from
 * both truth and prediction, the ignore label, logits (argmax over channels) and the errors. */
#include "fovea.h"
#include "test.h"

#include <math.h>

TEST(keras_mean_iou)
{
    fv_confusion c;
    const float truth[4] = {0, 0, 1, 1}, pred[4] = {0, 1, 0, 1}, w[4] = {0.3f, 0.3f, 0.3f, 0.1f};
    double miou, acc, iou[2];
    CHECK_STATUS(fv_confusion_init(&c, 2, 0, 0), FV_OK);
    CHECK_STATUS(fv_confusion_add(&c, truth, pred, NULL, 4), FV_OK);
    fv_confusion_scores(&c, FV_IOU_ABSENT_SKIP, iou, &miou, &acc);
    CHECK((float)miou == 0.33333334f);
    CHECK_NEAR(acc, 0.5, 1e-12, 0);
    fv_confusion_free(&c);
    CHECK_STATUS(fv_confusion_init(&c, 2, 0, 0), FV_OK);
    CHECK_STATUS(fv_confusion_add(&c, truth, pred, w, 4), FV_OK);
    fv_confusion_scores(&c, FV_IOU_ABSENT_SKIP, iou, &miou, &acc);
    /* Keras sums in float32 and prints 0.23809525, one float32 step (1.5e-8) above the exact
     * 10 / 42 = 0.238095238; fovea sums in double */
    CHECK_NEAR(miou, 0.23809525, 3e-8, 0);
    CHECK_NEAR(miou, 10.0 / 42, 1e-8, 0);
    CHECK_NEAR(iou[0], 1.0 / 3, 1e-7, 0);
    CHECK_NEAR(iou[1], 1.0 / 7, 1e-7, 0);
    fv_confusion_free(&c);
}

/* Over a data set: two halves added one after the other equal the whole at once. */
TEST(accumulates)
{
    const float truth[6] = {0, 1, 2, 2, 1, 0}, pred[6] = {0, 2, 2, 1, 1, 0};
    fv_confusion a, b;
    CHECK_STATUS(fv_confusion_init(&a, 3, 0, 0), FV_OK);
    CHECK_STATUS(fv_confusion_init(&b, 3, 0, 0), FV_OK);
    CHECK_STATUS(fv_confusion_add(&a, truth, pred, NULL, 6), FV_OK);
    CHECK_STATUS(fv_confusion_add(&b, truth, pred, NULL, 2), FV_OK);
    CHECK_STATUS(fv_confusion_add(&b, truth + 2, pred + 2, NULL, 4), FV_OK);
    double ma, mb, iou[3];
    fv_confusion_scores(&a, FV_IOU_ABSENT_SKIP, iou, &ma, NULL);
    fv_confusion_scores(&b, FV_IOU_ABSENT_SKIP, NULL, &mb, NULL);
    CHECK(ma == mb);
    /* class 0: 2/2; class 1: tp 1, fp 1, fn 1 -> 1/3; class 2: the same */
    CHECK_NEAR(iou[0], 1, 1e-12, 0);
    CHECK_NEAR(iou[1], 1.0 / 3, 1e-12, 0);
    CHECK_NEAR(ma, (1 + 2.0 / 3) / 3, 1e-12, 0);
    fv_confusion_free(&a), fv_confusion_free(&b);
}

/* Class 2 is in neither truth nor prediction: left out (Keras), 1, or 0. */
TEST(absent_class_rule)
{
    const float truth[4] = {0, 0, 1, 1}, pred[4] = {0, 1, 0, 1};
    fv_confusion c;
    CHECK_STATUS(fv_confusion_init(&c, 3, 0, 0), FV_OK);
    CHECK_STATUS(fv_confusion_add(&c, truth, pred, NULL, 4), FV_OK);
    double m, iou[3];
    fv_confusion_scores(&c, FV_IOU_ABSENT_SKIP, iou, &m, NULL);
    CHECK(isnan(iou[2]) && fabs(m - 1.0 / 3) < 1e-12);
    fv_confusion_scores(&c, FV_IOU_ABSENT_ONE, iou, &m, NULL);
    CHECK(iou[2] == 1 && fabs(m - (2.0 / 3 + 1) / 3) < 1e-12);
    fv_confusion_scores(&c, FV_IOU_ABSENT_ZERO, iou, &m, NULL);
    CHECK(iou[2] == 0 && fabs(m - 2.0 / 9) < 1e-12);
    fv_confusion_free(&c);
    /* nothing counted: NaN everywhere under SKIP */
    double acc;
    CHECK_STATUS(fv_confusion_init(&c, 2, 0, 0), FV_OK);
    fv_confusion_scores(&c, FV_IOU_ABSENT_SKIP, NULL, &m, &acc);
    CHECK(isnan(m) && isnan(acc));
    fv_confusion_free(&c);
}

TEST(ignore_and_logits)
{
    /* two 1x3 maps of 2 classes: logits pick 1, 0, 1 and 0, 0, 1 */
    const float logits[12] = {0, 5, 0, 3, 1, 4, 2, 2, 0, 1, 0, 3};
    const float truth[6] = {1, 255, 1, 0, 1, 1};
    fv_confusion c;
    CHECK_STATUS(fv_confusion_init(&c, 2, 1, 255), FV_OK);
    CHECK_STATUS(fv_confusion_add_logits(&c, logits, truth, 2, 3), FV_OK);
    /* counted: (t1,p1) (t1,p1) (t0,p0) (t1,p0) (t1,p1); first largest on the 2, 2 tie */
    CHECK(c.counts[0] == 1 && c.counts[1] == 0 && c.counts[2] == 1 && c.counts[3] == 3);
    double acc;
    fv_confusion_scores(&c, FV_IOU_ABSENT_SKIP, NULL, NULL, &acc);
    CHECK_NEAR(acc, 0.8, 1e-12, 0);
    fv_confusion_free(&c);
}

TEST(errors)
{
    fv_confusion c;
    CHECK(fv_confusion_init(&c, 0, 0, 0) == FV_ERR_INVALID);
    CHECK(fv_confusion_init(&c, 257, 0, 0) == FV_ERR_INVALID);
    CHECK_STATUS(fv_confusion_init(&c, 3, 1, 255), FV_OK);
    const float t[2] = {0, 3}, p[2] = {0, 1}, bad[2] = {0, 2.5f}, w[2] = {1, NAN};
    CHECK(fv_confusion_add(&c, t, p, NULL, 2) == FV_ERR_INVALID);
    CHECK_ERR_HAS("true label 3 at pixel 1 is not a class in [0, 3) nor the ignore label");
    CHECK(fv_confusion_add(&c, p, bad, NULL, 2) == FV_ERR_INVALID);
    CHECK_ERR_HAS("predicted label 2.5 at pixel 1");
    CHECK(fv_confusion_add(&c, p, p, w, 2) == FV_ERR_INVALID);
    CHECK_ERR_HAS("weight nan at pixel 1");
    for (int i = 0; i < 9; i++) /* nothing was counted */
        CHECK(c.counts[i] == 0);
    fv_confusion_free(&c);
}

int main(void)
{
    RUN(keras_mean_iou);
    RUN(accumulates);
    RUN(absent_class_rule);
    RUN(ignore_and_logits);
    RUN(errors);
    TEST_MAIN_END();
}
