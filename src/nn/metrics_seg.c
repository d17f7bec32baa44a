/* metrics_seg.c - segmentation metrics accumulated over a whole data set in a confusion matrix
 * (fv_confusion, fovea.h): pixel accuracy, per-class IoU and mean IoU with Keras' MeanIoU
 * definition (tp / (tp + fp + fn) from the weighted matrix) and a stated rule for classes absent
 * from both truth and prediction. */
#include "core/internal.h"

#include <math.h>
#include <string.h>

fv_status fv_confusion_init(fv_confusion *c, int classes, int use_ignore, int ignore)
{
    *c = (fv_confusion){0};
    if (classes < 1 || classes > FV_SEG_MAX_CLASSES)
        return fv_err(FV_ERR_INVALID, "confusion matrix: %d classes (must be 1..%d)", classes,
                      FV_SEG_MAX_CLASSES);
    c->counts = fv_calloc((size_t)classes * (size_t)classes, sizeof(double), "confusion matrix");
    if (!c->counts)
        return FV_ERR_NOMEM;
    c->classes = classes, c->use_ignore = use_ignore != 0, c->ignore = ignore;
    return FV_OK;
}

void fv_confusion_free(fv_confusion *c)
{
    fv_free(c->counts);
    *c = (fv_confusion){0};
}

static int is_class(const fv_confusion *c, float v)
{
    return v >= 0 && v < (float)c->classes && v == floorf(v);
}

static int ignored(const fv_confusion *c, float truth)
{
    return c->use_ignore && truth == (float)c->ignore;
}

/* Every value first, so an error counts nothing. */
static fv_status check_pixels(const fv_confusion *c, const float *truth, const float *pred,
                              const float *weights, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (!is_class(c, truth[i]) && !ignored(c, truth[i]))
            return fv_err(FV_ERR_INVALID, "confusion matrix: true label %g at pixel %lld is not "
                          "a class in [0, %d)%s", (double)truth[i], (long long)i, c->classes,
                          c->use_ignore ? " nor the ignore label" : "");
        if (!is_class(c, pred[i]))
            return fv_err(FV_ERR_INVALID, "confusion matrix: predicted label %g at pixel %lld "
                          "is not a class in [0, %d)", (double)pred[i], (long long)i, c->classes);
        if (weights && !(weights[i] >= 0 && isfinite(weights[i])))
            return fv_err(FV_ERR_INVALID, "confusion matrix: weight %g at pixel %lld must be "
                          "finite and >= 0", (double)weights[i], (long long)i);
    }
    return FV_OK;
}

fv_status fv_confusion_add(fv_confusion *c, const float *truth, const float *pred,
                           const float *weights, int64_t n)
{
    if (!c->counts || n < 0)
        return fv_err(FV_ERR_INVALID, "confusion matrix: not initialised, or %lld pixels",
                      (long long)n);
    FV_TRY(check_pixels(c, truth, pred, weights, n));
    for (int64_t i = 0; i < n; i++)
        if (!ignored(c, truth[i]))
            c->counts[(int64_t)truth[i] * c->classes + (int64_t)pred[i]] +=
                weights ? (double)weights[i] : 1.0;
    return FV_OK;
}

fv_status fv_confusion_add_logits(fv_confusion *c, const float *logits, const float *truth,
                                  int64_t n, int64_t hw)
{
    if (!c->counts || n < 0 || hw < 0)
        return fv_err(FV_ERR_INVALID, "confusion matrix: not initialised, or %lld x %lld pixels",
                      (long long)n, (long long)hw);
    float *pred = fv_malloc(sizeof(float) * (size_t)(hw ? hw : 1), "predicted labels");
    if (!pred)
        return FV_ERR_NOMEM;
    fv_status st = FV_OK;
    for (int64_t i = 0; i < n && st == FV_OK; i++) {
        const float *x = logits + i * c->classes * hw;
        for (int64_t p = 0; p < hw; p++) {
            int best = 0;
            for (int k = 1; k < c->classes; k++)
                best = x[k * hw + p] > x[best * hw + p] ? k : best;
            pred[p] = (float)best;
        }
        st = fv_confusion_add(c, truth + i * hw, pred, NULL, hw);
    }
    fv_free(pred);
    return st;
}

void fv_confusion_scores(const fv_confusion *c, fv_iou_absent rule, double *iou,
                         double *mean_iou, double *pixel_accuracy)
{
    int k = c->classes;
    double total = 0, right = 0, sum = 0;
    int kept = 0;
    for (int i = 0; i < k; i++) {
        double tp = c->counts[i * k + i], row = 0, col = 0;
        for (int j = 0; j < k; j++)
            row += c->counts[i * k + j], col += c->counts[j * k + i];
        total += row, right += tp;
        double denom = row + col - tp, v = denom > 0 ? tp / denom : NAN;
        if (!(denom > 0) && rule != FV_IOU_ABSENT_SKIP)
            v = rule == FV_IOU_ABSENT_ONE ? 1.0 : 0.0;
        if (!isnan(v))
            sum += v, kept++;
        if (iou)
            iou[i] = v;
    }
    if (mean_iou)
        *mean_iou = kept ? sum / kept : NAN;
    if (pixel_accuracy)
        *pixel_accuracy = total > 0 ? right / total : NAN;
}
