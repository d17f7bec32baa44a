/* fast_rcnn.c - Fast R-CNN (Girshick 2015): one backbone pass over the image, RoI max pooling of
 * its feature map over selective-search proposals, and the multi-task head (softmax classes and
 * per-class box deltas) trained with RoI sampling as torchvision's RoIHeads. Selective search
 * (Fast mode) runs on the image at the network's input size, once per image: its proposals are
 * kept in memory, keyed by the image's pixels, since a training run sees each scene many times.
 * The settings: docs/DESIGN.md, Detectors. */
#include "detect/roi_head.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_PROPOSALS = 2000 }; /* selective search's best, an image */

typedef struct entry {
    uint64_t key;
    int n;
    fv_box *boxes;
} entry;

typedef struct fast {
    fv_rcnn base;
    entry *cache;        /* open addressing, cap a power of 2, key 0 empty */
    int64_t cap, used;
    double ss_seconds;   /* selective search's time so far, and its images */
    int64_t ss_images;
    fv_box **props;      /* this batch's proposals (into the cache) and counts */
    int *np;
    int pcap;
} fast;

static void destroy(fv_detector *d)
{
    fast *f = d->state;
    if (!f)
        return;
    fv_rcnn_free(&f->base);
    for (int64_t i = 0; i < f->cap; i++)
        fv_free(f->cache[i].boxes);
    fv_free(f->cache), fv_free(f->props), fv_free(f->np);
    fv_free(f);
    d->state = NULL;
}

/* The backbone model, then the head behind RoI max pooling. */
static fv_status build(fv_detector *d)
{
    fv_rcnn *r = &((fast *)d->state)->base;
    fv_model *m = fv_model_new("backbone");
    if (!m)
        return fv_last_status();
    d->models[d->nmodels++] = m;
    r->feat_node = fv_rh_backbone(m, r->c, r->h, r->w, r->width);
    if (r->feat_node < 0)
        return fv_last_status();
    FV_TRY(fv_rh_compile(m, r->lr, d->args.seed));
    return fv_rcnn_head(d, r, 0);
}

static fv_status create(fv_detector *d)
{
    return fv_rcnn_create(d, sizeof(fast), "Fast R-CNN", build, destroy);
}

/* FNV-1a over the image's bytes, never 0 (the empty slot). */
static uint64_t image_key(const float *x, int64_t n)
{
    uint64_t h = 1469598103934665603ULL;
    const unsigned char *p = (const unsigned char *)x;
    for (int64_t i = 0; i < n * (int64_t)sizeof(float); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static entry *slot(fast *f, uint64_t key)
{
    int64_t i = (int64_t)(key & (uint64_t)(f->cap - 1));
    while (f->cache[i].key && f->cache[i].key != key)
        i = (i + 1) & (f->cap - 1);
    return &f->cache[i];
}

static fv_status grow(fast *f)
{
    if (f->cap && 2 * (f->used + 1) <= f->cap)
        return FV_OK;
    int64_t old = f->cap, cap = old ? 2 * old : 1024;
    entry *was = f->cache;
    f->cache = fv_calloc((size_t)cap, sizeof(entry), "proposal cache");
    if (!f->cache) {
        f->cache = was;
        return FV_ERR_NOMEM;
    }
    f->cap = cap;
    for (int64_t i = 0; i < old; i++)
        if (was[i].key)
            *slot(f, was[i].key) = was[i];
    fv_free(was);
    return FV_OK;
}

/* Selective search's proposals of one input image (c, h, w), from the cache or computed. */
static fv_status proposals(fast *f, const float *x, entry **out)
{
    fv_rcnn *r = &f->base;
    int64_t n = (int64_t)r->c * r->h * r->w;
    uint64_t key = image_key(x, n);
    FV_TRY(grow(f));
    entry *e = slot(f, key);
    if (e->key) {
        *out = e;
        return FV_OK;
    }
    int64_t dims[3] = {r->c, r->h, r->w};
    fv_tensor *t = fv_tensor_new(3, dims);
    if (!t)
        return fv_last_status();
    memcpy(t->data, x, sizeof(float) * (size_t)n);
    fv_box *boxes = NULL;
    int64_t nb = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fv_status s = fv_selective_search(t, &boxes, &nb, .mode = FV_PROPOSALS_FAST, .seed = 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fv_tensor_free(t);
    if (s != FV_OK)
        return s;
    f->ss_seconds += (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    f->ss_images++;
    int keep = nb < MAX_PROPOSALS ? (int)nb : MAX_PROPOSALS;
    e->boxes = fv_malloc(sizeof(fv_box) * (size_t)(keep ? keep : 1), "proposals");
    if (e->boxes)
        memcpy(e->boxes, boxes, sizeof(fv_box) * (size_t)keep);
    free(boxes);
    if (!e->boxes)
        return FV_ERR_NOMEM;
    e->key = key, e->n = keep;
    f->used++;
    *out = e;
    return FV_OK;
}

/* The batch's proposals into f->props / f->np. */
static fv_status batch_proposals(fast *f, int n)
{
    if (n > f->pcap) {
        fv_free(f->props), fv_free(f->np);
        f->props = fv_malloc(sizeof(fv_box *) * (size_t)n, "proposal lists");
        f->np = fv_malloc(sizeof(int) * (size_t)n, "proposal counts");
        f->pcap = f->props && f->np ? n : 0;
        if (!f->pcap)
            return FV_ERR_NOMEM;
    }
    fv_rcnn *r = &f->base;
    for (int i = 0; i < n; i++) {
        entry *e = NULL;
        FV_TRY(proposals(f, r->x + (int64_t)i * r->c * r->h * r->w, &e));
        f->props[i] = e->boxes, f->np[i] = e->n;
    }
    return FV_OK;
}

static fv_status train_step(fv_detector *d, const fv_det_batch *b, fv_det_losses *out)
{
    fast *f = d->state;
    fv_rcnn *r = &f->base;
    *out = (fv_det_losses){NAN, NAN, NAN, NAN, NAN};
    FV_TRY(fv_rcnn_begin(d, r, b, 1));
    FV_TRY(batch_proposals(f, b->n));
    for (int i = 0; i < b->n; i++)
        FV_TRY(fv_rcnn_add_samples(r, b, i, f->props[i], f->np[i]));
    FV_TRY(fv_rcnn_head_train(d, r, b->n, out));
    FV_TRY(fv_model_backward(d->models[0], 1, &r->feat_node, (const float *const *)&r->dfeat,
                             NULL));
    FV_TRY(fv_model_step(d->models[0]));
    FV_TRY(fv_model_step(d->models[1]));
    out->total = out->cls + out->box;
    return FV_OK;
}

static fv_status detect(fv_detector *d, const fv_det_batch *b, fv_detection **dets, int *ndets)
{
    fast *f = d->state;
    fv_rcnn *r = &f->base;
    FV_TRY(fv_rcnn_begin(d, r, b, 0));
    FV_TRY(batch_proposals(f, b->n));
    int most = 1;
    for (int i = 0; i < b->n; i++)
        most = f->np[i] > most ? f->np[i] : most;
    fv_box *p = fv_malloc(sizeof(fv_box) * (size_t)b->n * (size_t)most, "test proposals");
    if (!p)
        return FV_ERR_NOMEM;
    for (int i = 0; i < b->n; i++)
        memcpy(p + (int64_t)i * most, f->props[i], sizeof(fv_box) * (size_t)f->np[i]);
    fv_status s = fv_rcnn_detect(d, r, b->n, p, most, f->np, dets, ndets);
    fv_free(p);
    return s;
}

double fv_fast_rcnn_ss_seconds(const fv_detector *d, int64_t *images)
{
    const fast *f = d->impl == &fv_det_fast_rcnn ? d->state : NULL;
    if (images)
        *images = f ? f->ss_images : 0;
    return f ? f->ss_seconds : 0;
}

const fv_det_impl fv_det_fast_rcnn = {"fast_rcnn", create, train_step, detect, destroy};
