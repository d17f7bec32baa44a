/* roi_head.c - the RoI head's arithmetic, shared by Fast and Faster R-CNN: balanced sampling,
 * RoI sampling against the ground truths, the multi-task loss and its gradients, the detections
 * from the head's outputs, and the batch's images and boxes at the network's input size
 * (torchvision 0.14's RoIHeads; roi_head.h). The models and the passes are roi_head_pass.c's. */
#include "detect/roi_head.h"

#include "core/internal.h"
#include "data/data.h"

#include <math.h>
#include <string.h>

static const float head_weights[4] = {10, 10, 5, 5};

int fv_det_balance(int *labels, int n, int batch, float fraction, fv_rng *rng)
{
    int npos = 0, nneg = 0;
    for (int i = 0; i < n; i++)
        npos += labels[i] >= 1, nneg += labels[i] == 0;
    int want_pos = (int)((float)batch * fraction);
    int kpos = npos < want_pos ? npos : want_pos;
    int kneg = nneg < batch - kpos ? nneg : batch - kpos;
    /* keep kpos of the npos positives: a uniform subset by selection sampling (Knuth's S) */
    int seen_pos = 0, seen_neg = 0, left_pos = kpos, left_neg = kneg;
    for (int i = 0; i < n; i++) {
        if (labels[i] >= 1) {
            if (fv_rng_below(rng, (uint64_t)(npos - seen_pos)) < (uint64_t)left_pos)
                left_pos--;
            else
                labels[i] = -1;
            seen_pos++;
        } else if (labels[i] == 0) {
            if (fv_rng_below(rng, (uint64_t)(nneg - seen_neg)) < (uint64_t)left_neg)
                left_neg--;
            else
                labels[i] = -1;
            seen_neg++;
        }
    }
    return kpos + kneg;
}

double fv_det_softmax(const double *x, int k, double *p)
{
    double mx = x[0], sum = 0;
    for (int c = 1; c < k; c++)
        mx = x[c] > mx ? x[c] : mx;
    for (int c = 0; c < k; c++) {
        double e = exp(x[c] - mx);
        sum += e;
        if (p)
            p[c] = e;
    }
    for (int c = 0; p && c < k; c++)
        p[c] /= sum;
    return mx + log(sum);
}

double fv_det_smooth_l1(double d, double beta, double *grad)
{
    double a = fabs(d);
    if (a < beta) {
        *grad = d / beta;
        return 0.5 * d * d / beta;
    }
    *grad = d > 0 ? 1 : -1;
    return a - 0.5 * beta;
}

/* ---------------------------------------------------------------- RoI sampling */

fv_status fv_rh_sample(const fv_box *props, int np, const fv_det_object *gt, int ngt,
                       int per_image, float fg_fraction, float fg_iou, float bg_lo, fv_rng *rng,
                       fv_box *rois, int *labels, float *targets, int *nout)
{
    *nout = 0;
    if (np < 0 || ngt < 0 || per_image < 1)
        return fv_err(FV_ERR_INVALID, "RoI sampling: %d proposals, %d truths, %d RoIs an image",
                      np, ngt, per_image);
    int n = np + ngt;
    fv_box *cand = fv_malloc(sizeof(fv_box) * (size_t)(n ? n : 1), "RoI candidates");
    fv_box *tb = fv_malloc(sizeof(fv_box) * (size_t)(ngt ? ngt : 1), "RoI truths");
    int *lab = fv_malloc(sizeof(int) * (size_t)(n ? n : 1), "RoI labels");
    int *match = fv_malloc(sizeof(int) * (size_t)(n ? n : 1), "RoI matches");
    float *iou = fv_malloc(sizeof(float) * (size_t)(n && ngt ? n * ngt : 1), "RoI IoUs");
    fv_status s = cand && tb && lab && match && iou ? FV_OK : FV_ERR_NOMEM;
    int nc = 0;
    for (int i = 0; s == FV_OK && i < n; i++) {
        fv_box b = i < np ? props[i] : gt[i - np].box;
        if (b.x2 > b.x1 && b.y2 > b.y1)
            cand[nc++] = b;
    }
    for (int j = 0; j < ngt; j++)
        tb[j] = gt[j].box;
    if (s == FV_OK && ngt > 0)
        s = fv_box_iou_matrix(cand, nc, tb, ngt, iou);
    for (int i = 0; s == FV_OK && i < nc; i++) {
        int best = -1;
        float bi = -1;
        for (int j = 0; j < ngt; j++)
            if (iou[(int64_t)i * ngt + j] > bi)
                bi = iou[(int64_t)i * ngt + j], best = j;
        match[i] = best;
        lab[i] = best >= 0 && bi >= fg_iou ? gt[best].cls + 1 : best < 0 || bi >= bg_lo ? 0 : -1;
    }
    if (s == FV_OK) {
        fv_det_balance(lab, nc, per_image, fg_fraction, rng);
        int k = 0;
        for (int pass = 0; pass < 2; pass++) /* positives, then negatives */
            for (int i = 0; i < nc; i++) {
                if (pass == 0 ? lab[i] < 1 : lab[i] != 0)
                    continue;
                rois[k] = cand[i];
                labels[k] = lab[i];
                memset(targets + 4 * (int64_t)k, 0, 4 * sizeof(float));
                if (lab[i] >= 1)
                    s = fv_box_encode(&tb[match[i]], &cand[i], 1, head_weights,
                                      targets + 4 * (int64_t)k);
                if (s != FV_OK)
                    break;
                k++;
            }
        *nout = k;
    }
    fv_free(cand), fv_free(tb), fv_free(lab), fv_free(match), fv_free(iou);
    return s;
}

/* ---------------------------------------------------------------- the multi-task loss */

double fv_rh_loss(const double *logits, const double *deltas, int k, int k1, const int *labels,
                  const double *targets, double *dlogits, double *ddeltas, double *cls,
                  double *box)
{
    double lc = 0, lb = 0;
    if (ddeltas)
        memset(ddeltas, 0, sizeof(double) * (size_t)k * 4 * (size_t)k1);
    for (int i = 0; i < k; i++) {
        const double *x = logits + (int64_t)i * k1;
        double *dx = dlogits ? dlogits + (int64_t)i * k1 : NULL;
        lc += fv_det_softmax(x, k1, dx) - x[labels[i]];
        for (int c = 0; dx && c < k1; c++)
            dx[c] = (dx[c] - (c == labels[i])) / (double)k;
        if (labels[i] < 1)
            continue;
        for (int j = 0; j < 4; j++) {
            int64_t at = ((int64_t)i * k1 + labels[i]) * 4 + j;
            double g;
            lb += fv_det_smooth_l1(deltas[at] - targets[4 * (int64_t)i + j], 1.0 / 9, &g);
            if (ddeltas)
                ddeltas[at] = g / (double)k;
        }
    }
    lc = k > 0 ? lc / k : 0;
    lb = k > 0 ? lb / k : 0;
    if (cls)
        *cls = lc;
    if (box)
        *box = lb;
    return lc + lb;
}

/* ---------------------------------------------------------------- detections */

/* The candidates of one image: per RoI and class >= 1 its score, decoded box and class. */
typedef struct cands {
    fv_box *box;
    float *score;
    int *cls, *keep;
    int n;
} cands;

static fv_status gather_cands(cands *c, const fv_box *props, int k, const float *logits,
                              const float *deltas, int k1, float w, float h, float score_thresh)
{
    fv_box *dec = fv_malloc(sizeof(fv_box) * (size_t)k1, "decoded boxes");
    double *p = fv_malloc(sizeof(double) * (size_t)k1, "class scores");
    fv_status s = dec && p ? FV_OK : FV_ERR_NOMEM;
    fv_box *refs = fv_malloc(sizeof(fv_box) * (size_t)k1, "decode references");
    s = s == FV_OK && !refs ? FV_ERR_NOMEM : s;
    for (int i = 0; s == FV_OK && i < k; i++) {
        const float *x = logits + (int64_t)i * k1;
        double mx = x[0], sum = 0;
        for (int j = 1; j < k1; j++)
            mx = x[j] > mx ? x[j] : mx;
        for (int j = 0; j < k1; j++)
            sum += p[j] = exp((double)x[j] - mx);
        for (int j = 0; j < k1; j++)
            refs[j] = props[i];
        s = fv_box_decode(deltas + (int64_t)i * 4 * k1, refs, k1, head_weights, dec);
        if (s == FV_OK)
            s = fv_box_clip(dec, k1, w, h);
        for (int j = 1; s == FV_OK && j < k1; j++) {
            float sc = (float)(p[j] / sum);
            fv_box b = dec[j];
            if (!(sc > score_thresh) || b.x2 - b.x1 < 1e-2f || b.y2 - b.y1 < 1e-2f)
                continue;
            c->box[c->n] = b, c->score[c->n] = sc, c->cls[c->n] = j - 1;
            c->n++;
        }
    }
    fv_free(dec), fv_free(p), fv_free(refs);
    return s;
}

fv_status fv_rh_detections(const fv_box *props, int k, const float *logits, const float *deltas,
                           int k1, float w, float h, float score_thresh, double nms_iou,
                           int max_dets, float sx, float sy, fv_detection **dets, int *ndets)
{
    *dets = NULL, *ndets = 0;
    if (k < 0 || k1 < 2)
        return fv_err(FV_ERR_INVALID, "detections: %d RoIs of %d classes", k, k1);
    size_t m = (size_t)k * (size_t)(k1 - 1) + 1;
    cands c = {fv_malloc(sizeof(fv_box) * m, "candidate boxes"),
               fv_malloc(sizeof(float) * m, "candidate scores"),
               fv_malloc(sizeof(int) * m, "candidate classes"),
               fv_malloc(sizeof(int) * m, "candidates kept"), 0};
    fv_status s = c.box && c.score && c.cls && c.keep ? FV_OK : FV_ERR_NOMEM;
    if (s == FV_OK)
        s = gather_cands(&c, props, k, logits, deltas, k1, w, h, score_thresh);
    int nk = 0;
    if (s == FV_OK && c.n > 0)
        s = fv_box_batched_nms(c.box, c.score, c.cls, c.n, nms_iou, max_dets, c.keep, &nk);
    if (s == FV_OK && nk > 0) {
        *dets = fv_malloc(sizeof(fv_detection) * (size_t)nk, "detections");
        s = *dets ? FV_OK : FV_ERR_NOMEM;
        for (int i = 0; s == FV_OK && i < nk; i++) {
            fv_box b = c.box[c.keep[i]];
            (*dets)[i] = (fv_detection){{b.x1 / sx, b.y1 / sy, b.x2 / sx, b.y2 / sy},
                                        c.cls[c.keep[i]], c.score[c.keep[i]]};
        }
        *ndets = s == FV_OK ? nk : 0;
    }
    fv_free(c.box), fv_free(c.score), fv_free(c.cls), fv_free(c.keep);
    return s;
}

/* ---------------------------------------------------------------- input */

fv_status fv_rh_input(const fv_det_batch *b, int c, int h, int w, float *out, float *sx,
                      float *sy)
{
    if (b->n < 1 || b->c != c || b->h < 1 || b->w < 1 || !b->images || !b->ann)
        return fv_err(FV_ERR_INVALID, "detector batch: %d images of %dx%dx%d (the detector "
                      "takes %d channels)", b->n, b->c, b->h, b->w, c);
    FV_TRY(fv_resample_check("detector batch", b->c, b->h, b->w, c, h, w));
    int64_t isz = (int64_t)c * b->h * b->w, osz = (int64_t)c * h * w;
    for (int i = 0; i < b->n; i++)
        fv_image_resample(b->images + i * isz, c, b->h, b->w, out + i * osz, c, h, w);
    *sx = (float)w / (float)b->w, *sy = (float)h / (float)b->h;
    return FV_OK;
}

int fv_rh_truths(const fv_det_annotation *a, float sx, float sy, fv_det_object *gt)
{
    int n = 0;
    for (int i = 0; i < a->nobjects; i++) {
        fv_box b = a->objects[i].box;
        b = (fv_box){b.x1 * sx, b.y1 * sy, b.x2 * sx, b.y2 * sy};
        if (!(b.x2 > b.x1 && b.y2 > b.y1))
            continue;
        gt[n] = a->objects[i];
        gt[n++].box = b;
    }
    return n;
}
