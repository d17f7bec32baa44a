/* faster_rcnn.c - Faster R-CNN (Ren et al. 2015) as torchvision 0.14 builds it, at the scale of
 * the MNIST scenes: one model, the backbone with the region proposal network on its feature map
 * (3x3 conv, then 1x1 objectness and 4 deltas per anchor), and the RoI head model behind RoI
 * align; trained end to end by approximate joint training (the proposals are taken as given:
 * no gradient through their coordinates). Test: RPN proposals -> head -> per-class NMS. The
 * settings and why they are scaled: docs/DESIGN.md, Detectors. */
#include "detect/roi_head.h"

#include "core/internal.h"

#include <math.h>
#include <string.h>

/* Anchor sides in input pixels: the digits of 15-100 px at 300 are 8-53 px at 160 */
static const float anchor_sizes[] = {8, 16, 32, 56};
/* height / width: tight boxes of digits are square to tall; a thin "1" is 1:3 to 1:5, so 4.5
 * gives it anchors above the RPN's 0.7 threshold (with 3 as the tallest, a 4 x 20 px "1"
 * overlapped its best anchor at 0.62 at most, centred, and was trained only by its forced match) */
static const float anchor_ratios[] = {1, 2, 3, 4.5f};
#define NSIZES 4
#define NRATIOS 4
#define NA (NSIZES * NRATIOS)

typedef struct frcnn {
    fv_rcnn base;
    int obj_node, box_node; /* the RPN's outputs in the backbone model */
    int na;                 /* anchors of an image: gh gw NA */
    fv_box *anchors;
    /* training buffers (grown) */
    int ncap;
    double *obj, *dlt, *dobj, *ddlt, *tgt; /* anchor order, the batch */
    int *lab, *match;
    float *gobj, *gdlt;                     /* model layout gradients */
    fv_box *props;
} frcnn;

/* The RPN's settings: torchvision's, the top-N as its defaults (train 2000 / 2000 before and
 * after NMS there; 2000 / 1000 here, test 1000 / 300: at most 19 digits a scene). */
enum { RPN_BATCH = 256, PRE_TRAIN = 2000, POST_TRAIN = 1000, PRE_TEST = 1000, POST_TEST = 300 };
#define RPN_POS_FRACTION 0.5f
#define RPN_NMS 0.7

static fv_status build(fv_detector *d)
{
    frcnn *f = d->state;
    fv_rcnn *b = &f->base;
    fv_model *m = fv_model_new("backbone");
    if (!m)
        return fv_last_status();
    d->models[d->nmodels++] = m;
    int x = b->feat_node = fv_rh_backbone(m, b->c, b->h, b->w, b->width);
    x = fv_conv2d(m, x, .filters = b->width, .kernel = 3, .padding = 1,
                  .activation = FV_ACT_RELU, .init = FV_INIT_HE_UNIFORM, .name = "rpn_conv");
    f->obj_node = fv_conv2d(m, x, .filters = NA, .kernel = 1, .name = "rpn_cls", .init_gain = 0.1f);
    f->box_node = fv_conv2d(m, x, .filters = 4 * NA, .kernel = 1, .name = "rpn_box",
                            .init_gain = 0.1f);
    if (f->obj_node < 0 || f->box_node < 0)
        return fv_last_status();
    FV_TRY(fv_rh_compile(m, b->lr, d->args.seed));
    FV_TRY(fv_rcnn_head(d, b, 1));
    f->na = b->gh * b->gw * NA;
    f->anchors = fv_malloc(sizeof(fv_box) * (size_t)f->na, "anchors");
    if (!f->anchors)
        return FV_ERR_NOMEM;
    return fv_box_anchors(anchor_sizes, NSIZES, anchor_ratios, NRATIOS, b->gh, b->gw, b->stride,
                          b->stride, f->anchors);
}

static void destroy(fv_detector *d)
{
    frcnn *f = d->state;
    if (!f)
        return;
    fv_rcnn_free(&f->base);
    fv_free(f->anchors), fv_free(f->obj), fv_free(f->dlt), fv_free(f->dobj), fv_free(f->ddlt);
    fv_free(f->tgt), fv_free(f->lab), fv_free(f->match), fv_free(f->gobj);
    fv_free(f->props);
    fv_free(f);
    d->state = NULL;
}

static fv_status create(fv_detector *d)
{
    return fv_rcnn_create(d, sizeof(frcnn), "Faster R-CNN", build, destroy);
}

/* Buffers for n images' anchors and their proposals. */
static fv_status reserve(frcnn *f, int n)
{
    if (n <= f->ncap)
        return FV_OK;
    size_t a = (size_t)n * (size_t)f->na;
    fv_free(f->obj), fv_free(f->dlt), fv_free(f->dobj), fv_free(f->ddlt), fv_free(f->tgt);
    fv_free(f->lab), fv_free(f->match), fv_free(f->gobj), fv_free(f->props);
    f->obj = fv_malloc(sizeof(double) * a, "RPN logits");
    f->dlt = fv_malloc(sizeof(double) * 4 * a, "RPN deltas");
    f->dobj = fv_malloc(sizeof(double) * a, "RPN logit gradients");
    f->ddlt = fv_malloc(sizeof(double) * 4 * a, "RPN delta gradients");
    f->tgt = fv_calloc(4 * a, sizeof(double), "RPN targets");
    f->lab = fv_malloc(sizeof(int) * a, "anchor labels");
    f->match = fv_malloc(sizeof(int) * a, "anchor matches");
    f->gobj = fv_malloc(sizeof(float) * 5 * a, "RPN gradients");
    f->gdlt = f->gobj ? f->gobj + a : NULL;
    f->props = fv_malloc(sizeof(fv_box) * (size_t)n * POST_TRAIN, "proposals");
    f->ncap = 0;
    if (!(f->obj && f->dlt && f->dobj && f->ddlt && f->tgt && f->lab && f->match && f->gobj &&
          f->props))
        return FV_ERR_NOMEM;
    f->ncap = n;
    return FV_OK;
}

/* Image i's RPN outputs from the model's layout ((NA, gh, gw) and (NA, 4, gh, gw)) into anchor
 * order (cell, then anchor), as floats into o / dl. */
static void to_anchor_order(const frcnn *f, const float *obj, const float *dlt, int i, float *o,
                            float *dl)
{
    int cells = f->base.gh * f->base.gw;
    const float *oi = obj + (int64_t)i * NA * cells, *di = dlt + (int64_t)i * 4 * NA * cells;
    for (int c = 0; c < cells; c++)
        for (int a = 0; a < NA; a++) {
            o[c * NA + a] = oi[a * cells + c];
            for (int j = 0; j < 4; j++)
                dl[4 * (c * NA + a) + j] = di[(4 * a + j) * cells + c];
        }
}

/* The RPN's targets and loss over the batch; gradients in the model's layout into gobj / gdlt. */
static fv_status rpn_train(frcnn *f, const fv_det_batch *b, const float *obj, const float *dlt,
                           fv_det_losses *out)
{
    fv_rcnn *r = &f->base;
    float *o = (float *)f->dobj, *dl = (float *)f->ddlt; /* scratch until the loss */
    int cells = r->gh * r->gw;
    for (int i = 0; i < b->n; i++) {
        int64_t at = (int64_t)i * f->na;
        int ngt = fv_rh_truths(&b->ann[i], r->sx, r->sy, r->gt);
        FV_TRY(fv_rpn_label(f->anchors, f->na, r->gt, ngt, 0.7f, 0.3f, f->lab + at,
                            f->match + at));
        fv_det_balance(f->lab + at, f->na, RPN_BATCH, RPN_POS_FRACTION, &r->rng);
        to_anchor_order(f, obj, dlt, i, o, dl);
        for (int a = 0; a < f->na; a++) {
            f->obj[at + a] = o[a];
            for (int j = 0; j < 4; j++)
                f->dlt[4 * (at + a) + j] = dl[4 * a + j];
            float t[4] = {0, 0, 0, 0};
            if (f->lab[at + a] == 1)
                FV_TRY(fv_box_encode(&r->gt[f->match[at + a]].box, &f->anchors[a], 1, NULL, t));
            for (int j = 0; j < 4; j++)
                f->tgt[4 * (at + a) + j] = t[j];
        }
    }
    int64_t all = (int64_t)b->n * f->na;
    out->rpn_cls = NAN;
    fv_rpn_loss(f->obj, f->dlt, (int)all, f->lab, f->tgt, f->dobj, f->ddlt, &out->rpn_cls,
                &out->rpn_box);
    for (int i = 0; i < b->n; i++)
        for (int c = 0; c < cells; c++)
            for (int a = 0; a < NA; a++) {
                int64_t s = (int64_t)i * f->na + c * NA + a;
                f->gobj[((int64_t)i * NA + a) * cells + c] = (float)f->dobj[s];
                for (int j = 0; j < 4; j++)
                    f->gdlt[(((int64_t)i * NA + a) * 4 + j) * cells + c] =
                        (float)f->ddlt[4 * s + j];
            }
    return FV_OK;
}

/* Image i's proposals into f->props + i POST_TRAIN (post at most); returns the count or -1. */
static int proposals(frcnn *f, const float *obj, const float *dlt, int i, int pre, int post,
                     fv_box *out)
{
    float *o = fv_malloc(sizeof(float) * 5 * (size_t)f->na, "RPN outputs");
    if (!o)
        return -1;
    to_anchor_order(f, obj, dlt, i, o, o + f->na);
    int n = 0;
    fv_status s = fv_rpn_proposals(f->anchors, f->na, o, o + f->na, (float)f->base.w,
                                   (float)f->base.h, pre, post, RPN_NMS, out, NULL, &n);
    fv_free(o);
    return s == FV_OK ? n : -1;
}

/* The backbone and RPN's forward pass over b (training or not) and the RPN's outputs. */
static fv_status rpn_forward(fv_detector *d, const fv_det_batch *b, int training,
                             const float **obj, const float **dlt)
{
    frcnn *f = d->state;
    FV_TRY(fv_rcnn_begin(d, &f->base, b, training));
    FV_TRY(reserve(f, b->n));
    *obj = fv_model_node_output(d->models[0], f->obj_node);
    *dlt = fv_model_node_output(d->models[0], f->box_node);
    return *obj && *dlt ? FV_OK : fv_last_status();
}

static fv_status train_step(fv_detector *d, const fv_det_batch *b, fv_det_losses *out)
{
    frcnn *f = d->state;
    fv_rcnn *r = &f->base;
    const float *obj, *dlt;
    *out = (fv_det_losses){NAN, NAN, NAN, NAN, NAN};
    FV_TRY(rpn_forward(d, b, 1, &obj, &dlt));
    FV_TRY(rpn_train(f, b, obj, dlt, out));
    for (int i = 0; i < b->n; i++) {
        fv_box *p = f->props + (int64_t)i * POST_TRAIN;
        int np = proposals(f, obj, dlt, i, PRE_TRAIN, POST_TRAIN, p);
        if (np < 0)
            return fv_last_status();
        FV_TRY(fv_rcnn_add_samples(r, b, i, p, np));
    }
    FV_TRY(fv_rcnn_head_train(d, r, b->n, out));
    int nodes[3] = {r->feat_node, f->obj_node, f->box_node};
    const float *dys[3] = {r->dfeat, f->gobj, f->gdlt};
    FV_TRY(fv_model_backward(d->models[0], 3, nodes, dys, NULL));
    FV_TRY(fv_model_step(d->models[0]));
    FV_TRY(fv_model_step(d->models[1]));
    out->total = out->cls + out->box + out->rpn_cls + out->rpn_box;
    return FV_OK;
}

static fv_status detect(fv_detector *d, const fv_det_batch *b, fv_detection **dets, int *ndets)
{
    frcnn *f = d->state;
    const float *obj, *dlt;
    FV_TRY(rpn_forward(d, b, 0, &obj, &dlt));
    fv_box *p = fv_malloc(sizeof(fv_box) * (size_t)b->n * POST_TEST, "test proposals");
    int *np = fv_malloc(sizeof(int) * (size_t)b->n, "proposal counts");
    fv_status s = p && np ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; s == FV_OK && i < b->n; i++) {
        np[i] = proposals(f, obj, dlt, i, PRE_TEST, POST_TEST, p + (int64_t)i * POST_TEST);
        s = np[i] < 0 ? fv_last_status() : FV_OK;
    }
    if (s == FV_OK)
        s = fv_rcnn_detect(d, &f->base, b->n, p, POST_TEST, np, dets, ndets);
    fv_free(p), fv_free(np);
    return s;
}

const fv_det_impl fv_det_faster_rcnn = {"faster_rcnn", create, train_step, detect, destroy};
