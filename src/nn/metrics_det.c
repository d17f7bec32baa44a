/* metrics_det.c - object-detection metrics: the input checks, Pascal VOC's AP per class as the
 * VOC devkit's VOCevaldet computes it (11-point and all-point), the means over classes with
 * COCO's (metrics_det_coco.c), and the definition printed beside each figure. */
#include "nn/metrics_det.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- checks */

static int box_ok(fv_box b)
{
    return isfinite(b.x1) && isfinite(b.y1) && isfinite(b.x2) && isfinite(b.y2) && b.x2 >= b.x1 &&
           b.y2 >= b.y1;
}

/* Ground truth or detection j of image i (`what`): its class in [0, k), its box finite and not
 * inverted, its area or score (`vname` v) finite. */
static fv_status check_entry(int64_t i, const char *what, int64_t j, int cls, int k, fv_box b,
                             const char *vname, double v)
{
    if (cls < 0 || cls >= k)
        return fv_err(FV_ERR_INVALID, "detection metrics: image %lld, %s %lld: class %d outside "
                      "[0, %d)", (long long)i, what, (long long)j, cls, k);
    if (!box_ok(b) || !isfinite(v))
        return fv_err(FV_ERR_INVALID, "detection metrics: image %lld, %s %lld: box (%g, %g, %g, "
                      "%g) %s %g not finite or of negative size", (long long)i, what, (long long)j,
                      b.x1, b.y1, b.x2, b.y2, vname, v);
    return FV_OK;
}

static fv_status check_image(const fv_det_image *im, int64_t i, int k)
{
    if (im->ntruth < 0 || im->ndets < 0 || (im->ntruth > 0 && !im->truth) ||
        (im->ndets > 0 && !im->dets))
        return fv_err(FV_ERR_INVALID, "detection metrics: image %lld: %lld ground truths and "
                      "%lld detections, arrays %s", (long long)i, (long long)im->ntruth,
                      (long long)im->ndets, "missing or counts negative");
    for (int64_t j = 0; j < im->ntruth; j++) {
        const fv_det_truth *g = &im->truth[j];
        FV_TRY(check_entry(i, "ground truth", j, g->cls, k, g->box, "area", g->area));
    }
    for (int64_t j = 0; j < im->ndets; j++) {
        const fv_detection *d = &im->dets[j];
        FV_TRY(check_entry(i, "detection", j, d->cls, k, d->box, "score", d->score));
    }
    return FV_OK;
}

static fv_status check_inputs(const fv_det_image *im, int64_t n, int k, fv_det_metrics_args a)
{
    if (k < 1 || n < 1 || !im)
        return fv_err(FV_ERR_INVALID, "detection metrics: %lld images of %d classes (at least "
                      "one of each needed)", (long long)n, k);
    if (!(a.voc_iou > 0 && a.voc_iou <= 1))
        return fv_err(FV_ERR_INVALID, "detection metrics: VOC IoU threshold %g outside (0, 1]",
                      a.voc_iou);
    for (int64_t i = 0; i < n; i++)
        FV_TRY(check_image(&im[i], i, k));
    return FV_OK;
}

/* ---------------------------------------------------------------- VOC */

/* A detection of one class: its sort key and where it is. */
typedef struct det_ref {
    fv_det_key key;
    int64_t img, idx;
} det_ref;

int fv_det_by_score(const void *pa, const void *pb)
{
    const fv_det_key *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* VOCevaldet's overlap: intersection over union, widths + 1 with the devkit's pixel convention;
 * -1 when the boxes do not overlap (the devkit skips those ground truths). */
static double voc_overlap(fv_box a, fv_box b, double one)
{
    double iw = fmin(a.x2, b.x2) - fmax(a.x1, b.x1) + one;
    double ih = fmin(a.y2, b.y2) - fmax(a.y1, b.y1) + one;
    if (!(iw > 0 && ih > 0))
        return -1;
    double ua = ((double)a.x2 - a.x1 + one) * ((double)a.y2 - a.y1 + one) +
                ((double)b.x2 - b.x1 + one) * ((double)b.y2 - b.y1 + one) - iw * ih;
    return iw * ih / ua;
}

/* 11-point (VOC2007): the mean over t = 0, 0.1, ..., 1 (as i * 0.1, the grid of the devkit's
 * voc_eval: the 4th point is 0.30000000000000004) of the highest precision at recall >= t. */
static double ap_11point(const double *rec, const double *prec, int64_t n)
{
    double ap = 0;
    for (int i = 0; i <= 10; i++) {
        double t = i * 0.1, p = 0;
        for (int64_t j = 0; j < n; j++)
            if (rec[j] >= t && prec[j] > p)
                p = prec[j];
        ap += p / 11.0;
    }
    return ap;
}

/* All-point (VOC2010+): the area under the precision envelope (running maximum from the right)
 * over recall, with the end points (0, 0) and (1, 0) added. */
static double ap_allpoint(const double *rec, const double *prec, int64_t n)
{
    double ap = 0, env = 0; /* envelope right of point j: precision 0 at recall 1 */
    for (int64_t j = n - 1; j >= -1; j--) {
        double r = j >= 0 ? rec[j] : 0, rnext = j + 1 < n ? rec[j + 1] : 1;
        double pnext = j + 1 < n ? fmax(prec[j + 1], env) : 0;
        if (rnext != r)
            ap += (rnext - r) * pnext;
        env = pnext;
    }
    return ap;
}

/* The detections of class c sorted (score decreasing, then image and position). */
static det_ref *class_dets(const fv_det_image *im, int64_t n, int c, int64_t *count)
{
    int64_t nd = 0, at = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < im[i].ndets; j++)
            nd += im[i].dets[j].cls == c;
    det_ref *r = fv_malloc(sizeof *r * (size_t)(nd > 0 ? nd : 1), "VOC detections");
    if (!r)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < im[i].ndets; j++)
            if (im[i].dets[j].cls == c)
                r[at] = (det_ref){{im[i].dets[j].score, at}, i, j}, at++;
    qsort(r, (size_t)nd, sizeof *r, fv_det_by_score);
    *count = nd;
    return r;
}

/* VOC's assignment of one detection: 1 true positive, 0 false positive, -1 neither (difficult).
 * used: the matched flags of the image's ground truths. */
static int voc_assign(const fv_det_image *im, const fv_detection *d, unsigned char *used,
                      double thr, double one)
{
    double best = -INFINITY;
    int64_t jmax = -1;
    for (int64_t j = 0; j < im->ntruth; j++) {
        if (im->truth[j].cls != d->cls)
            continue;
        double ov = voc_overlap(d->box, im->truth[j].box, one);
        if (ov >= 0 && ov > best)
            best = ov, jmax = j;
    }
    if (jmax < 0 || !(best >= thr))
        return 0;
    if (im->truth[jmax].difficult)
        return -1;
    if (used[jmax])
        return 0; /* a second detection of a matched ground truth */
    used[jmax] = 1;
    return 1;
}

/* VOC's curve and APs of class c. used: one flag per ground truth of all images (offsets
 * first[i]), cleared here. */
static fv_status voc_class(const fv_det_image *im, int64_t n, int c, const int64_t *first,
                           unsigned char *used, fv_det_metrics_args a, fv_det_class *cls)
{
    int64_t npos = 0, nd = 0, tp = 0, fp = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < im[i].ntruth; j++)
            npos += im[i].truth[j].cls == c && !im[i].truth[j].difficult;
    memset(used, 0, (size_t)first[n]);
    det_ref *r = class_dets(im, n, c, &nd);
    cls->recall = r ? fv_malloc(sizeof(double) * 2 * (size_t)(nd > 0 ? nd : 1), "VOC curve") : NULL;
    if (!cls->recall) {
        fv_free(r);
        return fv_last_status();
    }
    cls->precision = cls->recall + nd;
    for (int64_t s = 0; s < nd; s++) {
        const fv_det_image *img = &im[r[s].img];
        int v = voc_assign(img, &img->dets[r[s].idx], used + first[r[s].img], a.voc_iou,
                           a.voc_plus_one ? 1.0 : 0.0);
        if (v < 0)
            continue;
        tp += v, fp += !v;
        cls->recall[cls->npr] = (double)tp / (double)npos; /* NaN without positives */
        cls->precision[cls->npr++] = (double)tp / (double)(tp + fp);
    }
    fv_free(r);
    cls->positives = npos, cls->detections = nd;
    cls->ap_voc07 = npos ? ap_11point(cls->recall, cls->precision, cls->npr) : NAN;
    cls->ap_voc = npos ? ap_allpoint(cls->recall, cls->precision, cls->npr) : NAN;
    return FV_OK;
}

/* ---------------------------------------------------------------- summary */

static const char *const stat_names[FV_DET_NSTATS] = {
    "mAP_VOC07", "mAP_VOC", "AP", "AP50", "AP75", "AP_small", "AP_medium", "AP_large",
    "AR1", "AR10", "AR100", "AR_small", "AR_medium", "AR_large"};

const char *fv_det_stat_name(fv_det_stat s)
{
    return s >= 0 && s < FV_DET_NSTATS ? stat_names[s] : NULL;
}

static const char *const area_text[FV_COCO_A] = {"area all", "area <= 32^2",
                                                "32^2 <= area <= 96^2", "area >= 96^2"};

static void define_stats(fv_det_metrics *m)
{
    const char *px = m->args.voc_plus_one ? "devkit +1 pixel boxes" : "continuous boxes";
    for (int v = 0; v < 2; v++)
        snprintf(m->definition[v], sizeof m->definition[v], "mAP (VOC%s, %s AP, IoU >= %.2f, "
                 "difficult ignored, %s)", v ? "2010+" : "2007", v ? "all-point" : "11-point",
                 m->args.voc_iou, px);
    static const char *const name[12] = {"AP",       "AP50",      "AP75",    "AP small",
                                         "AP medium", "AP large",  "AR",      "AR",
                                         "AR",       "AR small",  "AR medium", "AR large"};
    static const int area_of[12] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
    static const int dets_of[12] = {100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100};
    static const char *const iou_of[3] = {"0.50:0.05:0.95", "0.50", "0.75"};
    for (int s = 0; s < 12; s++)
        snprintf(m->definition[s + 2], sizeof m->definition[s + 2], "%s (COCO, %sIoU %s, %s, "
                 "maxDets %d)", name[s], s < 6 ? "101-point, " : "", iou_of[s < 3 ? s : 0],
                 area_text[area_of[s]], dets_of[s]);
}

/* COCO's summary figures: the means over the classes that count. */
static void coco_means(fv_det_metrics *m, const fv_coco_sums *sums)
{
    static const int area_of[12] = {0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3};
    static const int det_of[12] = {2, 2, 2, 2, 2, 2, 0, 1, 2, 2, 2, 2};
    for (int s = 0; s < 12; s++) {
        int a = area_of[s], md = det_of[s], cnt = 0;
        double sum = 0;
        for (int c = 0; c < m->k; c++) {
            const fv_coco_sums *u = &sums[c];
            if (!u->valid[a][md])
                continue;
            cnt++;
            sum += s == 1 ? u->ap50[a][md] : s == 2 ? u->ap75[a][md] : s < 6 ? u->ap[a][md]
                                                                          : u->ar[a][md];
        }
        int per = s == 1 || s == 2 ? FV_COCO_R : s < 6 ? FV_COCO_T * FV_COCO_R : FV_COCO_T;
        m->stat[s + 2] = cnt ? sum / ((double)cnt * per) : -1;
    }
}

static void voc_means(fv_det_metrics *m)
{
    for (int v = 0; v < 2; v++) {
        double sum = 0;
        int cnt = 0;
        for (int c = 0; c < m->k; c++)
            if (m->cls[c].positives > 0)
                sum += v ? m->cls[c].ap_voc : m->cls[c].ap_voc07, cnt++;
        m->stat[v] = cnt ? sum / cnt : NAN;
    }
}

void fv_det_metrics_free(fv_det_metrics *m)
{
    if (!m)
        return;
    for (int c = 0; m->cls && c < m->k; c++)
        fv_free(m->cls[c].recall);
    fv_free(m->cls);
    fv_free(m);
}

static fv_status compute_classes(const fv_det_image *im, int64_t n, fv_det_metrics *m,
                                 fv_coco_sums *sums)
{
    int64_t *first = fv_malloc(sizeof(int64_t) * (size_t)(n + 1), "ground-truth offsets");
    if (!first)
        return fv_last_status();
    first[0] = 0;
    for (int64_t i = 0; i < n; i++)
        first[i + 1] = first[i] + im[i].ntruth;
    unsigned char *used = fv_malloc((size_t)(first[n] > 0 ? first[n] : 1), "VOC matches");
    fv_status st = used ? FV_OK : fv_last_status();
    for (int c = 0; c < m->k && st == FV_OK; c++) {
        st = voc_class(im, n, c, first, used, m->args, &m->cls[c]);
        if (st == FV_OK)
            st = fv_det_coco_class(im, n, c, &m->cls[c], &sums[c]);
    }
    fv_free(used);
    fv_free(first);
    return st;
}

fv_det_metrics *fv_det_metrics_compute_(const fv_det_image *images, int64_t n, int k,
                                        fv_det_metrics_args a)
{
    if (a.voc_iou == 0)
        a.voc_iou = 0.5;
    if (check_inputs(images, n, k, a) != FV_OK)
        return NULL;
    fv_det_metrics *m = fv_calloc(1, sizeof *m, "detection metrics");
    fv_coco_sums *sums = fv_calloc((size_t)k, sizeof *sums, "COCO sums");
    if (m)
        m->cls = fv_calloc((size_t)k, sizeof *m->cls, "detection metrics per class");
    if (!m || !sums || !m->cls) {
        fv_free(sums);
        fv_det_metrics_free(m);
        return NULL;
    }
    m->images = n, m->k = k, m->args = a;
    fv_status st = compute_classes(images, n, m, sums);
    if (st == FV_OK) {
        voc_means(m);
        coco_means(m, sums);
        define_stats(m);
    }
    fv_free(sums);
    if (st != FV_OK) {
        fv_det_metrics_free(m);
        return NULL;
    }
    return m;
}
