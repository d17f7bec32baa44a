/* ssd_loss.c - the single-shot detector's training targets and loss (Liu et al., ECCV 2016):
 * default boxes, matching of ground truths to default boxes, and the multibox loss (softmax
 * cross-entropy with hard negative mining 3:1 plus smooth L1 over the positives), with its
 * gradient. Pure arithmetic on arrays, so tests check it by hand and by finite differences. */
#include "detect/ssd.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const float fv_ssd_box_weights[4] = {10.0f, 10.0f, 5.0f, 5.0f};

void fv_ssd_default_boxes(int grid_h, int grid_w, int img_h, int img_w, const float *sizes,
                          int nsizes, const float *ratios, int nratios, fv_box *out)
{
    double sy = (double)img_h / grid_h, sx = (double)img_w / grid_w;
    for (int i = 0; i < grid_h; i++)
        for (int j = 0; j < grid_w; j++) {
            double cy = (i + 0.5) * sy, cx = (j + 0.5) * sx;
            for (int s = 0; s < nsizes; s++)
                for (int r = 0; r < nratios; r++) {
                    double q = sqrt((double)ratios[r]);
                    double hw = 0.5 * sizes[s] / q, hh = 0.5 * sizes[s] * q;
                    *out++ = (fv_box){(float)(cx - hw), (float)(cy - hh), (float)(cx + hw),
                                      (float)(cy + hh)};
                }
        }
}

/* Sizes as fractions of the shorter side, two a map; aspect ratios height / width. */
static const float ssd_sizes[FV_SSD_MAPS][FV_SSD_SIZES] = {{0.0375f, 0.05625f}, {0.075f, 0.10625f},
                                                           {0.15f, 0.2125f}};
static const float ssd_ratios[FV_SSD_RATIOS] = {1.0f, 1.6f, 2.6f, 4.2f};

void fv_ssd_detector_boxes(int img_h, int img_w, const int *grid_h, const int *grid_w,
                           fv_box *out)
{
    int side = img_h < img_w ? img_h : img_w;
    for (int k = 0; k < FV_SSD_MAPS; k++) {
        float sz[FV_SSD_SIZES];
        for (int i = 0; i < FV_SSD_SIZES; i++)
            sz[i] = ssd_sizes[k][i] * (float)side;
        fv_ssd_default_boxes(grid_h[k], grid_w[k], img_h, img_w, sz, FV_SSD_SIZES, ssd_ratios,
                             FV_SSD_RATIOS, out);
        out += (int64_t)grid_h[k] * grid_w[k] * FV_SSD_A;
    }
}

fv_status fv_ssd_match(const fv_box *anchors, int na, const fv_box *truths, int ng,
                       float iou_threshold, float *iou, int *matched)
{
    for (int a = 0; a < na; a++)
        matched[a] = -1;
    if (ng == 0)
        return FV_OK;
    FV_TRY(fv_box_iou_matrix(anchors, na, truths, ng, iou));
    for (int a = 0; a < na; a++) {
        const float *row = iou + (int64_t)a * ng;
        int best = -1;
        for (int g = 0; g < ng; g++)
            if (fv_box_area(truths[g]) > 0 && (best < 0 || row[g] > row[best]))
                best = g;
        if (best >= 0 && row[best] >= iou_threshold)
            matched[a] = best;
    }
    for (int g = 0; g < ng; g++) {
        if (!(fv_box_area(truths[g]) > 0))
            continue;
        int best = 0;
        for (int a = 1; a < na; a++)
            if (iou[(int64_t)a * ng + g] > iou[(int64_t)best * ng + g])
                best = a;
        matched[best] = g;
    }
    return FV_OK;
}

/* Adds the cross-entropy of row a against class c and its gradient / norm; returns the loss. */
static double ce_row(const double *logits, int a, int k1, int c, double norm, double *dlogits)
{
    double *d = dlogits + (int64_t)a * k1;
    const double *x = logits + (int64_t)a * k1;
    double l = fv_det_softmax(x, k1, d) - x[c];
    for (int j = 0; j < k1; j++)
        d[j] = (d[j] - (j == c)) / norm;
    return l;
}

fv_status fv_ssd_multibox_loss(const double *logits, const double *deltas, int na, int k1,
                               const int *labels, const double *targets, int neg_ratio,
                               double norm, double *cls, double *box, double *dlogits,
                               double *ddeltas, int *npos)
{
    memset(dlogits, 0, sizeof(double) * (size_t)na * (size_t)k1);
    memset(ddeltas, 0, sizeof(double) * (size_t)na * 4);
    double lc = 0, lb = 0;
    int pos = 0, nneg = 0;
    for (int a = 0; a < na; a++)
        pos += labels[a] > 0;
    fv_ranked *neg = fv_malloc(sizeof(fv_ranked) * (size_t)(na > 0 ? na : 1), "ssd: negatives");
    if (!neg)
        return fv_last_status();
    for (int a = 0; a < na; a++) {
        if (labels[a] > 0) {
            lc += ce_row(logits, a, k1, labels[a], norm, dlogits);
            for (int t = 0; t < 4; t++) { /* smooth L1, beta 1 */
                double g;
                lb += fv_det_smooth_l1(deltas[4 * (int64_t)a + t] - targets[4 * (int64_t)a + t],
                                       1, &g);
                ddeltas[4 * (int64_t)a + t] = g / norm;
            }
        } else {
            const double *x = logits + (int64_t)a * k1; /* its background loss */
            neg[nneg++] = (fv_ranked){fv_det_softmax(x, k1, NULL) - x[0], a};
        }
    }
    int keep = (int)((int64_t)neg_ratio * pos < nneg ? neg_ratio * pos : nneg);
    if (keep > 0)
        qsort(neg, (size_t)nneg, sizeof *neg, fv_ranked_cmp); /* highest background loss first */
    for (int i = 0; i < keep; i++)
        lc += ce_row(logits, neg[i].index, k1, 0, norm, dlogits);
    fv_free(neg);
    *cls = lc / norm;
    *box = lb / norm;
    *npos = pos;
    return FV_OK;
}
