/* rcnn_regions.c - R-CNN's regions: selective-search proposals and their per-scene cache,
 * labelling by IoU with the ground truths, the fine-tuning mini-batch sampler and the
 * context-padded warp of a region to the CNN's input (Girshick et al. 2014, section 2 and
 * appendix A). */
#define _POSIX_C_SOURCE 200809L
#include "detect/rcnn.h"

#include "core/internal.h"
#include "data/data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void fv_rcnn_label(fv_rcnn_region *r, int n, const fv_det_object *objs, int ngt, float fg_iou)
{
    for (int i = 0; i < n; i++) {
        r[i].gt = -1;
        r[i].iou = 0;
        for (int g = 0; g < ngt; g++) {
            float v = (float)fv_box_iou(r[i].box, objs[g].box);
            if (r[i].gt < 0 || v > r[i].iou) {
                r[i].gt = g;
                r[i].iou = v;
            }
        }
        r[i].label = r[i].gt >= 0 && r[i].iou >= fg_iou ? objs[r[i].gt].cls + 1 : 0;
    }
}

/* Draws k of the m indices in pool (partial Fisher-Yates, pool reordered) into out. */
static void draw(int *pool, int m, int k, fv_rng *rng, int *out)
{
    for (int i = 0; i < k; i++) {
        int j = i + (int)fv_rng_below(rng, (uint64_t)(m - i));
        int t = pool[i];
        pool[i] = pool[j];
        pool[j] = t;
        out[i] = pool[i];
    }
}

int fv_rcnn_sample(const fv_rcnn_region *r, int n, int nfg, int nbg, fv_rng *rng, int *idx)
{
    int *pool = fv_malloc((size_t)(n > 0 ? n : 1) * sizeof *pool, "rcnn sample pool");
    if (!pool)
        return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (r[i].label > 0)
            pool[m++] = i;
    int kf = m < nfg ? m : nfg;
    draw(pool, m, kf, rng, idx);
    m = 0;
    for (int i = 0; i < n; i++)
        if (r[i].label == 0)
            pool[m++] = i;
    int kb = nfg + nbg - kf;
    kb = m < kb ? m : kb;
    draw(pool, m, kb, rng, idx + kf);
    fv_free(pool);
    return kf + kb;
}

/* v limited to [-lim, lim] (a coordinate far outside the image samples only zeros anyway). */
static double clampd(double v, double lim)
{
    return v < -lim ? -lim : v > lim ? lim : v;
}

fv_status fv_rcnn_warp(const float *img, int c, int h, int w, fv_box box, int out, int pad,
                       float *dst)
{
    if (out < 1 || pad < 0 || 2 * pad >= out)
        return fv_err(FV_ERR_INVALID, "rcnn warp: size %d with context padding %d (need "
                      "0 <= 2 pad < size)", out, pad);
    if (!isfinite(box.x1) || !isfinite(box.y1) || !isfinite(box.x2) || !isfinite(box.y2))
        return fv_err(FV_ERR_INVALID, "rcnn warp: box (%g, %g, %g, %g) is not finite",
                      (double)box.x1, (double)box.y1, (double)box.x2, (double)box.y2);
    /* dilate: the box becomes the inner out - 2 pad of out pixels */
    double s = (double)out / (out - 2 * pad);
    double cx = 0.5 * ((double)box.x1 + box.x2), cy = 0.5 * ((double)box.y1 + box.y2);
    double hw = 0.5 * s * fmax(0, (double)box.x2 - box.x1);
    double hh = 0.5 * s * fmax(0, (double)box.y2 - box.y1);
    /* crop bounds, limited to a margin around the image (a far box samples only zeros) */
    double lim = 4.0 * (w > h ? w : h) + 16;
    long x0 = (long)floor(clampd(cx - hw, lim)), x1 = (long)ceil(clampd(cx + hw, lim));
    long y0 = (long)floor(clampd(cy - hh, lim)), y1 = (long)ceil(clampd(cy + hh, lim));
    if (x1 <= x0)
        x1 = x0 + 1;
    if (y1 <= y0)
        y1 = y0 + 1;
    long cw = x1 - x0, ch = y1 - y0;
    float *crop = fv_calloc((size_t)(c * cw * ch), sizeof *crop, "rcnn warp crop");
    if (!crop)
        return fv_last_status();
    for (int k = 0; k < c; k++)
        for (long y = y0 > 0 ? y0 : 0; y < y1 && y < h; y++) {
            long xa = x0 > 0 ? x0 : 0, xb = x1 < w ? x1 : w;
            if (xb > xa)
                memcpy(crop + (k * ch + (y - y0)) * cw + (xa - x0),
                       img + ((int64_t)k * h + y) * w + xa, (size_t)(xb - xa) * sizeof *crop);
        }
    fv_image_resample(crop, c, ch, cw, dst, c, out, out);
    fv_free(crop);
    return FV_OK;
}

/* ---------------------------------------------------------------- proposals and their cache */

typedef struct entry {
    uint64_t key;
    fv_box *boxes;
    int n;
    int used;
} entry;

struct fv_rcnn_cache {
    entry *slots;
    int64_t cap, count; /* open addressing, linear probing; cap a power of two */
    fv_rcnn_ss_stats stats;
};

fv_rcnn_cache *fv_rcnn_cache_new(void)
{
    fv_rcnn_cache *c = fv_calloc(1, sizeof *c, "rcnn proposal cache");
    if (!c)
        return NULL;
    c->cap = 1024;
    if (!(c->slots = fv_calloc((size_t)c->cap, sizeof *c->slots, "rcnn proposal cache"))) {
        fv_free(c);
        return NULL;
    }
    return c;
}

void fv_rcnn_cache_free(fv_rcnn_cache *c)
{
    if (!c)
        return;
    for (int64_t i = 0; i < c->cap; i++)
        fv_free(c->slots[i].boxes);
    fv_free(c->slots);
    fv_free(c);
}

fv_rcnn_ss_stats fv_rcnn_cache_stats(const fv_rcnn_cache *c)
{
    return c->stats;
}

uint64_t fv_rcnn_image_key(int64_t id, const float *px, int64_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *p = (const unsigned char *)px;
    for (int64_t i = 0; i < n * (int64_t)sizeof *px; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull);
}

static entry *find(fv_rcnn_cache *c, uint64_t key)
{
    for (int64_t i = (int64_t)(key & (uint64_t)(c->cap - 1));; i = (i + 1) & (c->cap - 1))
        if (!c->slots[i].used || c->slots[i].key == key)
            return &c->slots[i];
}

static fv_status grow(fv_rcnn_cache *c)
{
    entry *old = c->slots;
    int64_t ocap = c->cap;
    entry *slots = fv_calloc((size_t)ocap * 2, sizeof *slots, "rcnn proposal cache");
    if (!slots)
        return fv_last_status();
    c->slots = slots;
    c->cap = ocap * 2;
    for (int64_t i = 0; i < ocap; i++)
        if (old[i].used)
            *find(c, old[i].key) = old[i];
    fv_free(old);
    return FV_OK;
}

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Selective search on px (h x w), resized to ss_side on the longer side first; the boxes
 * scaled back, the small ones dropped, at most max_boxes into *out. */
static fv_status search(const float *px, int c, int h, int w, int ss_side, int max_boxes, fv_ss_args sa,
                        fv_box **out, int *nout)
{
    int sh = h, sw = w;
    if (ss_side > 0 && (h > ss_side || w > ss_side)) {
        double f = (double)ss_side / (h > w ? h : w);
        sh = (int)lround(h * f);
        sw = (int)lround(w * f);
        sh = sh < 1 ? 1 : sh;
        sw = sw < 1 ? 1 : sw;
    }
    fv_tensor *t = fv_tensor_new4(1, c, sh, sw);
    if (!t)
        return fv_last_status();
    fv_image_resample(px, c, h, w, t->data, c, sh, sw);
    fv_box *b = NULL;
    int64_t n = 0;
    fv_status s = fv_selective_search_(t, &b, &n, sa);
    fv_tensor_free(t);
    if (s != FV_OK)
        return s;
    float fx = (float)w / sw, fy = (float)h / sh;
    int k = 0;
    for (int64_t i = 0; i < n && k < max_boxes; i++) {
        fv_box q = {b[i].x1 * fx, b[i].y1 * fy, b[i].x2 * fx, b[i].y2 * fy};
        if (q.x2 - q.x1 >= 2 && q.y2 - q.y1 >= 2)
            b[k++] = q;
    }
    fv_box *keep = fv_malloc((size_t)(k > 0 ? k : 1) * sizeof *keep, "rcnn proposals");
    if (keep)
        memcpy(keep, b, (size_t)k * sizeof *keep);
    free(b);
    if (!keep)
        return fv_last_status();
    *out = keep;
    *nout = k;
    return FV_OK;
}

fv_status fv_rcnn_proposals(fv_rcnn_cache *c, uint64_t key, const float *px, int ch, int h,
                            int w, int ss_side, int max_boxes, fv_ss_args sa, const fv_box **boxes,
                            int *n)
{
    entry *e = find(c, key);
    if (e->used) {
        c->stats.hits++;
        *boxes = e->boxes;
        *n = e->n;
        return FV_OK;
    }
    if (2 * (c->count + 1) > c->cap) {
        FV_TRY(grow(c));
        e = find(c, key);
    }
    double t0 = seconds();
    fv_box *b = NULL;
    int k = 0;
    FV_TRY(search(px, ch, h, w, ss_side, max_boxes, sa, &b, &k));
    c->stats.seconds += seconds() - t0;
    c->stats.runs++;
    c->stats.boxes += k;
    *e = (entry){.key = key, .boxes = b, .n = k, .used = 1};
    c->count++;
    *boxes = b;
    *n = k;
    return FV_OK;
}
