/* roi_head_run.c - the part of a Fast or Faster R-CNN detector that both run alike (roi_head.h,
 * fv_rcnn): settings from the detector's arguments, the head model, a batch's images resized to
 * the input and the backbone's pass over them, the batch's sampled RoIs through the head in
 * training, and the detections from proposals at test time. */
#include "detect/roi_head.h"

#include "core/internal.h"

#include <math.h>
#include <string.h>

/* Checks d->args and fills r's settings. */
static fv_status rcnn_init(fv_detector *d, fv_rcnn *r, const char *what)
{
    const fv_detector_args *a = &d->args;
    if (a->num_classes < 1 || a->num_classes > 1000)
        return fv_err(FV_ERR_INVALID, "%s: %d classes (must be 1 to 1000)", what, a->num_classes);
    if (a->channels != 1 && a->channels != 3)
        return fv_err(FV_ERR_INVALID, "%s: %d channels (must be 1 or 3)", what, a->channels);
    if (a->height < 16 || a->width < 16 || a->height > 2048 || a->width > 2048 ||
        a->height % 8 || a->width % 8)
        return fv_err(FV_ERR_INVALID, "%s: input %dx%d (each side a multiple of 8, 16 to 2048)",
                      what, a->height, a->width);
    r->c = a->channels, r->h = a->height, r->w = a->width;
    r->stride = 8, r->width = 64;
    r->gh = r->h / 8, r->gw = r->w / 8;
    r->lr = 1e-3f;
    r->rois_per_image = 128, r->fg_fraction = 0.25f, r->fg_iou = 0.5f, r->bg_lo = 0.0f;
    fv_rng_seed(&r->rng, a->seed ^ 0x5eed5eedULL);
    return FV_OK;
}

fv_status fv_rcnn_create(fv_detector *d, size_t size, const char *what,
                         fv_status (*build)(fv_detector *d), void (*destroy)(fv_detector *d))
{
    fv_rcnn *r = fv_calloc(1, size, what);
    if (!r)
        return fv_last_status();
    d->state = r;
    fv_status s = rcnn_init(d, r, what);
    if (s == FV_OK)
        s = build(d);
    if (s != FV_OK) {
        destroy(d);
        for (int i = 0; i < d->nmodels; i++)
            fv_model_free(d->models[i]);
        d->nmodels = 0;
    }
    return s;
}

fv_status fv_rcnn_head(fv_detector *d, fv_rcnn *r, int align)
{
    fv_model *h = fv_rh_head_new(r->width, 7, 256, d->args.num_classes + 1);
    if (!h)
        return fv_last_status();
    d->models[d->nmodels++] = h;
    FV_TRY(fv_rh_compile(h, r->lr, d->args.seed + 1));
    return fv_rh_init(&r->rh, h, align, 7, d->args.num_classes + 1);
}

void fv_rcnn_free(fv_rcnn *r)
{
    fv_rh_free(&r->rh);
    fv_free(r->x), fv_free(r->dfeat), fv_free(r->gt);
    fv_free(r->rois), fv_free(r->targets), fv_free(r->labels);
}

static fv_status reserve_images(fv_rcnn *r, int n)
{
    if (n <= r->ncap)
        return FV_OK;
    fv_free(r->x), fv_free(r->dfeat);
    r->x = fv_malloc(sizeof(float) * (size_t)n * (size_t)(r->c * r->h * r->w), "input images");
    r->dfeat = fv_malloc(sizeof(float) * (size_t)n * (size_t)(r->width * r->gh * r->gw),
                         "feature gradients");
    r->ncap = r->x && r->dfeat ? n : 0;
    return r->ncap ? FV_OK : FV_ERR_NOMEM;
}

/* The truths: each class in range, room for the most of an image. */
static fv_status check_truths(fv_detector *d, fv_rcnn *r, const fv_det_batch *b)
{
    int most = 1;
    for (int i = 0; i < b->n; i++) {
        const fv_det_annotation *a = &b->ann[i];
        if (a->nobjects < 0 || (a->nobjects > 0 && !a->objects))
            return fv_err(FV_ERR_INVALID, "detector batch: image %d has %d boxes", i,
                          a->nobjects);
        for (int j = 0; j < a->nobjects; j++) {
            const fv_det_object *o = &a->objects[j];
            if (o->cls < 0 || o->cls >= d->args.num_classes)
                return fv_err(FV_ERR_INVALID, "detector batch: image %d box %d has class %d "
                              "(the detector has %d)", i, j, o->cls, d->args.num_classes);
            if (!(isfinite(o->box.x1) && isfinite(o->box.y1) && isfinite(o->box.x2) &&
                  isfinite(o->box.y2)))
                return fv_err(FV_ERR_INVALID, "detector batch: image %d box %d is not finite", i,
                              j);
        }
        most = a->nobjects > most ? a->nobjects : most;
    }
    if (most <= r->gtcap)
        return FV_OK;
    fv_free(r->gt);
    r->gt = fv_malloc(sizeof(fv_det_object) * (size_t)most, "truths");
    r->gtcap = r->gt ? most : 0;
    return r->gt ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_rcnn_begin(fv_detector *d, fv_rcnn *r, const fv_det_batch *b, int training)
{
    if (!b || b->n < 1 || b->n > 4096)
        return fv_err(FV_ERR_INVALID, "detector batch: %d images (1 to 4096)", b ? b->n : 0);
    FV_TRY(reserve_images(r, b->n));
    FV_TRY(fv_rh_input(b, r->c, r->h, r->w, r->x, &r->sx, &r->sy));
    FV_TRY(check_truths(d, r, b));
    r->k = 0;
    fv_model_set_training(d->models[0], training);
    fv_model_set_training(d->models[1], training);
    return fv_model_forward(d->models[0], r->x, b->n);
}

static fv_status reserve_rois(fv_rcnn *r, int k)
{
    if (k <= r->kcap)
        return FV_OK;
    int cap = k > 2 * r->kcap ? k : 2 * r->kcap;
    float *ro = fv_malloc(sizeof(float) * 5 * (size_t)cap, "RoIs");
    float *tg = fv_malloc(sizeof(float) * 4 * (size_t)cap, "RoI targets");
    int *lb = fv_malloc(sizeof(int) * (size_t)cap, "RoI labels");
    if (!ro || !tg || !lb) {
        fv_free(ro), fv_free(tg), fv_free(lb);
        return FV_ERR_NOMEM;
    }
    if (r->k > 0) {
        memcpy(ro, r->rois, sizeof(float) * 5 * (size_t)r->k);
        memcpy(tg, r->targets, sizeof(float) * 4 * (size_t)r->k);
        memcpy(lb, r->labels, sizeof(int) * (size_t)r->k);
    }
    fv_free(r->rois), fv_free(r->targets), fv_free(r->labels);
    r->rois = ro, r->targets = tg, r->labels = lb, r->kcap = cap;
    return FV_OK;
}

fv_status fv_rcnn_add_samples(fv_rcnn *r, const fv_det_batch *b, int i, const fv_box *props,
                              int np)
{
    int ngt = fv_rh_truths(&b->ann[i], r->sx, r->sy, r->gt);
    int room = np + ngt;
    fv_box *boxes = fv_malloc(sizeof(fv_box) * (size_t)(room ? room : 1), "sampled RoIs");
    if (!boxes)
        return FV_ERR_NOMEM;
    fv_status s = reserve_rois(r, r->k + room);
    int got = 0;
    if (s == FV_OK)
        s = fv_rh_sample(props, np, r->gt, ngt, r->rois_per_image, r->fg_fraction, r->fg_iou,
                         r->bg_lo, &r->rng, boxes, r->labels + r->k, r->targets + 4 * r->k,
                         &got);
    for (int j = 0; s == FV_OK && j < got; j++) {
        float *o = r->rois + 5 * (int64_t)(r->k + j);
        o[0] = (float)i, o[1] = boxes[j].x1, o[2] = boxes[j].y1;
        o[3] = boxes[j].x2, o[4] = boxes[j].y2;
    }
    if (s == FV_OK)
        r->k += got;
    fv_free(boxes);
    return s;
}

static fv_roi_spec spec_of(const fv_rcnn *r, int n, int k)
{
    return (fv_roi_spec){.n = n, .c = r->width, .h = r->gh, .w = r->gw, .k = k, .out_h = 7,
                         .out_w = 7, .spatial_scale = 1.0f / (float)r->stride,
                         .sampling_ratio = 2, .aligned = 0};
}

fv_status fv_rcnn_head_train(fv_detector *d, fv_rcnn *r, int n, fv_det_losses *out)
{
    memset(r->dfeat, 0, sizeof(float) * (size_t)n * (size_t)(r->width * r->gh * r->gw));
    const float *feat = fv_model_node_output(d->models[0], r->feat_node);
    if (!feat)
        return fv_last_status();
    out->cls = out->box = 0;
    if (r->k == 0)
        return FV_OK;
    fv_roi_spec s = spec_of(r, n, r->k);
    FV_TRY(fv_rh_forward(&r->rh, &s, feat, r->rois));
    return fv_rh_backward(&r->rh, &s, r->rois, r->labels, r->targets, r->dfeat, &out->cls,
                          &out->box);
}

fv_status fv_rcnn_detect(fv_detector *d, fv_rcnn *r, int n, const fv_box *props, int stride,
                         const int *np, fv_detection **dets, int *ndets)
{
    for (int i = 0; i < n; i++)
        dets[i] = NULL, ndets[i] = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        k += np[i];
    FV_TRY(reserve_rois(r, k));
    for (int i = 0, at = 0; i < n; i++)
        for (int j = 0; j < np[i]; j++, at++) {
            const fv_box *p = &props[(int64_t)i * stride + j];
            float *o = r->rois + 5 * (int64_t)at;
            o[0] = (float)i, o[1] = p->x1, o[2] = p->y1, o[3] = p->x2, o[4] = p->y2;
        }
    const float *feat = fv_model_node_output(d->models[0], r->feat_node);
    if (!feat)
        return fv_last_status();
    fv_roi_spec s = spec_of(r, n, k);
    if (k > 0)
        FV_TRY(fv_rh_forward(&r->rh, &s, feat, r->rois));
    const float *lg = k > 0 ? fv_model_node_output(r->rh.head, r->rh.cls_node) : NULL;
    const float *dg = k > 0 ? fv_model_node_output(r->rh.head, r->rh.box_node) : NULL;
    if (k > 0 && (!lg || !dg))
        return fv_last_status();
    fv_status st = FV_OK;
    for (int i = 0, at = 0; st == FV_OK && i < n; at += np[i], i++)
        st = fv_rh_detections(props + (int64_t)i * stride, np[i],
                              lg ? lg + (int64_t)at * r->rh.k1 : NULL,
                              dg ? dg + (int64_t)at * 4 * r->rh.k1 : NULL, r->rh.k1, (float)r->w,
                              (float)r->h, d->args.score_threshold, d->args.nms_iou,
                              d->args.max_dets, r->sx, r->sy, &dets[i], &ndets[i]);
    if (st != FV_OK)
        for (int i = 0; i < n; i++)
            fv_free(dets[i]), dets[i] = NULL, ndets[i] = 0;
    return st;
}
