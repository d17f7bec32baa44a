/* faster_rcnn_rpn.c - Faster R-CNN's region proposal network outside its model: anchor
 * labelling against the ground truths, the RPN's loss and its gradients, and the proposals from
 * its outputs (torchvision 0.14's RegionProposalNetwork with one feature level; roi_head.h). */
#include "detect/roi_head.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

fv_status fv_rpn_label(const fv_box *anchors, int na, const fv_det_object *gt, int ngt, float hi,
                       float lo, int *labels, int *matched)
{
    if (na < 0 || ngt < 0)
        return fv_err(FV_ERR_INVALID, "anchor labels: %d anchors, %d truths", na, ngt);
    for (int i = 0; i < na; i++)
        labels[i] = 0, matched[i] = -1;
    if (ngt == 0 || na == 0)
        return FV_OK;
    fv_box *tb = fv_malloc(sizeof(fv_box) * (size_t)ngt, "anchor truths");
    float *iou = fv_malloc(sizeof(float) * (size_t)na * (size_t)ngt, "anchor IoUs");
    float *best = fv_malloc(sizeof(float) * (size_t)ngt, "best anchor IoUs");
    fv_status s = tb && iou && best ? FV_OK : FV_ERR_NOMEM;
    for (int j = 0; s == FV_OK && j < ngt; j++)
        tb[j] = gt[j].box, best[j] = 0;
    if (s == FV_OK)
        s = fv_box_iou_matrix(anchors, na, tb, ngt, iou);
    for (int i = 0; s == FV_OK && i < na; i++) {
        const float *r = iou + (int64_t)i * ngt;
        int m = 0;
        for (int j = 0; j < ngt; j++) {
            m = r[j] > r[m] ? j : m;
            best[j] = r[j] > best[j] ? r[j] : best[j];
        }
        labels[i] = r[m] >= hi ? 1 : r[m] < lo ? 0 : -1;
        matched[i] = labels[i] == 1 ? m : -1;
    }
    /* low-quality matches: each truth's best anchors, matched to their own best truth */
    for (int i = 0; s == FV_OK && i < na; i++) {
        const float *r = iou + (int64_t)i * ngt;
        int hit = 0, m = 0;
        for (int j = 0; j < ngt; j++) {
            hit |= best[j] > 0 && r[j] == best[j];
            m = r[j] > r[m] ? j : m;
        }
        if (hit)
            labels[i] = 1, matched[i] = m;
    }
    fv_free(tb), fv_free(iou), fv_free(best);
    return s;
}

double fv_rpn_loss(const double *obj, const double *deltas, int na, const int *labels,
                   const double *targets, double *dobj, double *ddeltas, double *cls,
                   double *box)
{
    int ns = 0;
    for (int i = 0; i < na; i++)
        ns += labels[i] >= 0;
    double lc = 0, lb = 0, inv = ns > 0 ? 1.0 / ns : 0;
    for (int i = 0; i < na; i++) {
        if (dobj)
            dobj[i] = 0;
        for (int j = 0; ddeltas && j < 4; j++)
            ddeltas[4 * (int64_t)i + j] = 0;
        if (labels[i] < 0)
            continue;
        double x = obj[i], t = labels[i] == 1;
        /* max(x, 0) - x t + log(1 + exp(-|x|)): the stable binary cross-entropy of a logit */
        lc += (x > 0 ? x : 0) - x * t + log1p(exp(-fabs(x)));
        if (dobj)
            dobj[i] = (1 / (1 + exp(-x)) - t) * inv;
        if (labels[i] != 1)
            continue;
        for (int j = 0; j < 4; j++) {
            double g;
            lb += fv_det_smooth_l1(deltas[4 * (int64_t)i + j] - targets[4 * (int64_t)i + j],
                                   1.0 / 9, &g);
            if (ddeltas)
                ddeltas[4 * (int64_t)i + j] = g * inv;
        }
    }
    lc *= inv, lb *= inv;
    if (cls)
        *cls = lc;
    if (box)
        *box = lb;
    return lc + lb;
}

/* ---------------------------------------------------------------- proposals */

fv_status fv_rpn_proposals(const fv_box *anchors, int na, const float *obj, const float *deltas,
                           float w, float h, int pre_top, int post_top, double nms_iou,
                           fv_box *out, float *scores, int *nout)
{
    *nout = 0;
    if (na < 0 || pre_top < 1 || post_top < 1)
        return fv_err(FV_ERR_INVALID, "RPN proposals: %d anchors, top %d / %d", na, pre_top,
                      post_top);
    for (int i = 0; i < na; i++)
        if (!isfinite(obj[i]))
            return fv_err(FV_ERR_NUMERIC, "RPN proposals: objectness %d is %g", i,
                          (double)obj[i]);
    int top = na < pre_top ? na : pre_top;
    fv_ranked *o = fv_malloc(sizeof(fv_ranked) * (size_t)(na ? na : 1), "RPN scores");
    fv_box *ref = fv_malloc(sizeof(fv_box) * (size_t)(top ? top : 1), "RPN anchors");
    fv_box *box = fv_malloc(sizeof(fv_box) * (size_t)(top ? top : 1), "RPN boxes");
    fv_box *kb = fv_malloc(sizeof(fv_box) * (size_t)(top ? top : 1), "RPN kept boxes");
    float *d = fv_malloc(sizeof(float) * 4 * (size_t)(top ? top : 1), "RPN deltas");
    float *sc = fv_malloc(sizeof(float) * (size_t)(top ? top : 1), "RPN kept scores");
    int *keep = fv_malloc(sizeof(int) * (size_t)(top ? top : 1), "RPN kept");
    fv_status s = o && ref && box && kb && d && sc && keep ? FV_OK : FV_ERR_NOMEM;
    if (s == FV_OK) {
        for (int i = 0; i < na; i++)
            o[i] = (fv_ranked){obj[i], i}; /* highest logit first, equal ones by index */
        qsort(o, (size_t)na, sizeof *o, fv_ranked_cmp);
        for (int i = 0; i < top; i++) {
            ref[i] = anchors[o[i].index];
            memcpy(d + 4 * (int64_t)i, deltas + 4 * (int64_t)o[i].index, 4 * sizeof(float));
        }
        s = fv_box_decode(d, ref, top, NULL, box);
    }
    if (s == FV_OK)
        s = fv_box_clip(box, top, w, h);
    int nk = 0, nn = 0;
    if (s == FV_OK)
        s = fv_box_remove_small(box, top, 1e-3f, keep, &nk);
    for (int i = 0; s == FV_OK && i < nk; i++) {
        kb[i] = box[keep[i]];
        sc[i] = (float)(1 / (1 + exp(-o[keep[i]].score)));
    }
    if (s == FV_OK)
        s = fv_box_nms(kb, sc, nk, nms_iou, keep, &nn);
    nn = nn < post_top ? nn : post_top;
    for (int i = 0; s == FV_OK && i < nn; i++) {
        out[i] = kb[keep[i]];
        if (scores)
            scores[i] = sc[keep[i]];
    }
    *nout = s == FV_OK ? nn : 0;
    fv_free(o), fv_free(ref), fv_free(box), fv_free(kb), fv_free(d), fv_free(sc), fv_free(keep);
    return s;
}
