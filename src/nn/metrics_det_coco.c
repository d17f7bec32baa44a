/* metrics_det_coco.c - COCO's detection figures of one class as pycocotools' COCOeval (iouType
 * bbox) computes them: evaluateImg's greedy matching per image at ten IoU thresholds and four
 * area ranges (crowd and out-of-range ground truths ignored), then accumulate's precision
 * envelope at 101 recall points and the recall, for maxDets 1, 10 and 100. */
#include "nn/metrics_det.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* np.linspace(.5, 0.95, 10) exactly as numpy rounds it (the 9th is not 0.9). */
static const double iou_thr[FV_COCO_T] = {0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85,
                                          0.8999999999999999, 0.95};
static const double area_lo[FV_COCO_A] = {0, 0, 32 * 32, 96 * 96};
static const double area_hi[FV_COCO_A] = {1e10, 32 * 32, 96 * 96, 1e10};
static const int max_dets[FV_COCO_M] = {1, 10, 100};

/* One evaluated detection: its score, its place (for ties: image, then rank in its image, as
 * accumulate concatenates them) and per IoU threshold whether it matched (bit t of tp) and
 * whether it is ignored (bit t of ig). */
typedef struct coco_det {
    fv_det_key key;
    int rank;
    unsigned tp, ig;
} coco_det;

/* The evaluated detections of one area range and its count of ground truths not ignored. */
typedef struct coco_range {
    coco_det *d;
    int64_t n, npig;
} coco_range;

/* maskApi's bbIou: intersection over union, or over the detection's area for a crowd region. */
static double coco_iou(fv_box d, fv_box g, int crowd)
{
    double w = fmin(d.x2, g.x2) - fmax(d.x1, g.x1), h = fmin(d.y2, g.y2) - fmax(d.y1, g.y1);
    if (w <= 0 || h <= 0)
        return 0;
    double i = w * h, da = ((double)d.x2 - d.x1) * ((double)d.y2 - d.y1);
    double ga = ((double)g.x2 - g.x1) * ((double)g.y2 - g.y1);
    return i / (crowd ? da : da + ga - i);
}

static double box_area(fv_box b) { return ((double)b.x2 - b.x1) * ((double)b.y2 - b.y1); }

static double truth_area(const fv_det_truth *g) { return g->area > 0 ? g->area : box_area(g->box); }

/* One image's class-c ground truths (gi, ng) and best-first detections (di, nd): scratch. */
typedef struct coco_img {
    int64_t *gi, *di, ng, nd;
    double *iou; /* nd x ng */
    int64_t *order;
    unsigned char *ign, *gtm;
} coco_img;

/* evaluateImg's matching at threshold t for area range a (order: ground truths not ignored
 * first, ign[] in that order); fills tp / ig bits of out[0..nd). */
static void match_at(const fv_det_image *im, const coco_img *s, int t, coco_det *out)
{
    memset(s->gtm, 0, (size_t)s->ng);
    for (int64_t d = 0; d < s->nd; d++) {
        double iou = fmin(iou_thr[t], 1 - 1e-10);
        int64_t m = -1;
        for (int64_t k = 0; k < s->ng; k++) {
            int64_t g = s->order[k];
            if (s->gtm[k] && !im->truth[s->gi[g]].crowd)
                continue; /* taken, and not a crowd region */
            if (m > -1 && !s->ign[m] && s->ign[k])
                break; /* matched a real one: the ignored ones come after */
            double v = s->iou[d * s->ng + g];
            if (v < iou)
                continue;
            iou = v, m = k;
        }
        if (m == -1)
            continue;
        out[d].tp |= 1u << t;
        out[d].ig |= (unsigned)s->ign[m] << t;
        s->gtm[m] = 1;
    }
}

/* evaluateImg for area range a: appends the image's detections to r. */
static void eval_range(const fv_det_image *im, const coco_img *s, int a, int64_t *seq,
                       coco_range *r)
{
    int64_t k = 0;
    unsigned char ignored[2] = {0, 1};
    for (int pass = 0; pass < 2; pass++) /* stable: not ignored first */
        for (int64_t g = 0; g < s->ng; g++) {
            const fv_det_truth *t = &im->truth[s->gi[g]];
            double ar = truth_area(t);
            unsigned char ig = t->crowd || ar < area_lo[a] || ar > area_hi[a];
            if (ig == ignored[pass])
                s->order[k] = g, s->ign[k++] = ig;
        }
    for (int64_t g = 0; g < s->ng; g++)
        r->npig += !s->ign[g];
    coco_det *out = r->d + r->n;
    for (int64_t d = 0; d < s->nd; d++)
        out[d] = (coco_det){{im->dets[s->di[d]].score, (*seq)++}, (int)d, 0, 0};
    for (int t = 0; t < FV_COCO_T; t++)
        match_at(im, s, t, out);
    for (int64_t d = 0; d < s->nd; d++) { /* unmatched and outside the range: ignored */
        double ar = box_area(im->dets[s->di[d]].box);
        if (ar < area_lo[a] || ar > area_hi[a])
            out[d].ig |= ~out[d].tp & ((1u << FV_COCO_T) - 1);
    }
    r->n += s->nd;
}

/* The detection indices of class c in image im, best first (stable), at most 100. */
static int64_t best_dets(const fv_det_image *im, int c, int64_t *di, coco_det *tmp)
{
    int64_t nd = 0;
    for (int64_t j = 0; j < im->ndets; j++)
        if (im->dets[j].cls == c)
            tmp[nd] = (coco_det){{im->dets[j].score, j}, 0, 0, 0}, nd++;
    qsort(tmp, (size_t)nd, sizeof *tmp, fv_det_by_score);
    nd = nd < max_dets[FV_COCO_M - 1] ? nd : max_dets[FV_COCO_M - 1];
    for (int64_t d = 0; d < nd; d++)
        di[d] = tmp[d].key.seq;
    return nd;
}

/* accumulate for one area range, maxDets and threshold: the interpolated precision q at the
 * recall points and the final recall; r->d sorted. Returns the recall. */
static double accumulate(const coco_range *r, int maxdet, int t, double *q)
{
    int64_t nd = 0, tp = 0, fp = 0;
    double *rc = (double *)q + FV_COCO_R, *pr = rc + r->n; /* scratch after q */
    for (int64_t i = 0; i < r->n; i++) {
        const coco_det *d = &r->d[i];
        if (d->rank >= maxdet || (d->ig >> t & 1))
            continue;
        tp += d->tp >> t & 1, fp += !(d->tp >> t & 1);
        rc[nd] = (double)tp / (double)r->npig;
        pr[nd++] = (double)tp / ((double)fp + (double)tp + DBL_EPSILON);
    }
    for (int64_t i = nd - 1; i > 0; i--)
        if (pr[i] > pr[i - 1])
            pr[i - 1] = pr[i];
    int64_t j = 0;
    for (int ri = 0; ri < FV_COCO_R; ri++) { /* searchsorted(rc, ri * 0.01, 'left') */
        double thr = ri == FV_COCO_R - 1 ? 1.0 : ri * 0.01;
        while (j < nd && rc[j] < thr)
            j++;
        q[ri] = j < nd ? pr[j] : 0;
    }
    return nd ? rc[nd - 1] : 0;
}

/* The sums of class c from its evaluated ranges; q: scratch of FV_COCO_R + 2 * max n. */
static void summarize(coco_range *rg, fv_det_class *cls, fv_coco_sums *u, double *q)
{
    for (int a = 0; a < FV_COCO_A; a++) {
        if (rg[a].npig == 0)
            continue; /* -1: no ground truth in the range */
        qsort(rg[a].d, (size_t)rg[a].n, sizeof *rg[a].d, fv_det_by_score);
        for (int m = 0; m < FV_COCO_M; m++) {
            u->valid[a][m] = 1;
            for (int t = 0; t < FV_COCO_T; t++) {
                u->ar[a][m] += accumulate(&rg[a], max_dets[m], t, q);
                double sum = 0;
                for (int ri = 0; ri < FV_COCO_R; ri++)
                    sum += q[ri];
                u->ap[a][m] += sum;
                u->ap50[a][m] += t == 0 ? sum : 0;
                u->ap75[a][m] += t == 5 ? sum : 0;
                if (a == 0 && m == FV_COCO_M - 1 && t == 0)
                    memcpy(cls->coco_pr50, q, sizeof cls->coco_pr50);
            }
        }
    }
    int ok = u->valid[0][FV_COCO_M - 1], m = FV_COCO_M - 1;
    cls->ap = ok ? u->ap[0][m] / (FV_COCO_T * FV_COCO_R) : -1;
    cls->ap50 = ok ? u->ap50[0][m] / FV_COCO_R : -1;
    cls->ap75 = ok ? u->ap75[0][m] / FV_COCO_R : -1;
    cls->ar100 = ok ? u->ar[0][m] / FV_COCO_T : -1;
    if (!ok)
        for (int ri = 0; ri < FV_COCO_R; ri++)
            cls->coco_pr50[ri] = -1;
}

/* Scratch sized for the largest image and all detections of the class. */
typedef struct coco_work {
    coco_img s;
    coco_det *tmp;
    coco_range rg[FV_COCO_A];
    double *q;
} coco_work;

static void work_free(coco_work *w)
{
    fv_free(w->s.gi), fv_free(w->s.di), fv_free(w->s.iou), fv_free(w->s.order);
    fv_free(w->s.ign), fv_free(w->s.gtm), fv_free(w->tmp), fv_free(w->q);
    for (int a = 0; a < FV_COCO_A; a++)
        fv_free(w->rg[a].d);
}

static fv_status work_alloc(coco_work *w, int64_t maxg, int64_t maxd, int64_t total)
{
    size_t g = (size_t)(maxg > 0 ? maxg : 1), d = (size_t)(maxd > 0 ? maxd : 1);
    size_t t = (size_t)(total > 0 ? total : 1);
    w->s.gi = fv_malloc(sizeof(int64_t) * g, "COCO ground truths");
    w->s.order = fv_malloc(sizeof(int64_t) * g, "COCO ground-truth order");
    w->s.ign = fv_malloc(g, "COCO ignore flags");
    w->s.gtm = fv_malloc(g, "COCO matches");
    w->s.di = fv_malloc(sizeof(int64_t) * d, "COCO detections");
    w->tmp = fv_malloc(sizeof(coco_det) * d, "COCO detection order");
    w->s.iou = fv_malloc(sizeof(double) * g * (d < 100 ? d : 100), "COCO IoU");
    w->q = fv_malloc(sizeof(double) * (FV_COCO_R + 2 * t), "COCO precision");
    int ok = w->s.gi && w->s.order && w->s.ign && w->s.gtm && w->s.di && w->tmp && w->s.iou && w->q;
    for (int a = 0; a < FV_COCO_A; a++)
        ok = (w->rg[a].d = fv_malloc(sizeof(coco_det) * t, "COCO evaluated detections")) && ok;
    return ok ? FV_OK : fv_last_status();
}

/* Sizes: the most ground truths and detections of class c in one image, all detections kept. */
static void class_sizes(const fv_det_image *im, int64_t n, int c, int64_t *maxg, int64_t *maxd,
                        int64_t *total, int64_t *truths)
{
    *maxg = *maxd = *total = *truths = 0;
    for (int64_t i = 0; i < n; i++) {
        int64_t g = 0, d = 0;
        for (int64_t j = 0; j < im[i].ntruth; j++)
            if (im[i].truth[j].cls == c)
                g++, *truths += !im[i].truth[j].crowd;
        for (int64_t j = 0; j < im[i].ndets; j++)
            d += im[i].dets[j].cls == c;
        *maxg = g > *maxg ? g : *maxg, *maxd = d > *maxd ? d : *maxd;
        *total += d < 100 ? d : 100;
    }
}

fv_status fv_det_coco_class(const fv_det_image *im, int64_t n, int c, fv_det_class *cls,
                            fv_coco_sums *sums)
{
    int64_t maxg, maxd, total, seq = 0;
    class_sizes(im, n, c, &maxg, &maxd, &total, &cls->truths);
    coco_work w;
    memset(&w, 0, sizeof w);
    fv_status st = work_alloc(&w, maxg, maxd, total);
    coco_img *s = &w.s;
    for (int64_t i = 0; i < n && st == FV_OK; i++) {
        s->ng = 0;
        for (int64_t j = 0; j < im[i].ntruth; j++)
            if (im[i].truth[j].cls == c)
                s->gi[s->ng++] = j;
        s->nd = best_dets(&im[i], c, s->di, w.tmp);
        for (int64_t d = 0; d < s->nd; d++)
            for (int64_t g = 0; g < s->ng; g++) {
                const fv_det_truth *t = &im[i].truth[s->gi[g]];
                s->iou[d * s->ng + g] = coco_iou(im[i].dets[s->di[d]].box, t->box, t->crowd);
            }
        for (int a = 0; a < FV_COCO_A; a++) {
            int64_t at = seq;
            eval_range(&im[i], s, a, &at, &w.rg[a]);
            if (a == FV_COCO_A - 1)
                seq = at;
        }
    }
    if (st == FV_OK)
        summarize(w.rg, cls, sums, w.q);
    work_free(&w);
    return st;
}
