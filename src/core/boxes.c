/* boxes.c - box geometry every detection part shares: area and intersection over union, the IoU
 * matrix, greedy NMS (plain and per class), the R-CNN box coder, clipping, small-box removal and
 * Faster R-CNN's anchors. Arithmetic follows torchvision 0.14 in float32, so that thresholds
 * decide the same way (tests/golden/gen_boxes.py). */
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>

double fv_box_area(fv_box b)
{
    return fmax(0.0, (double)b.x2 - b.x1) * fmax(0.0, (double)b.y2 - b.y1);
}

double fv_box_iou(fv_box a, fv_box b)
{
    fv_box i = {fmaxf(a.x1, b.x1), fmaxf(a.y1, b.y1), fminf(a.x2, b.x2), fminf(a.y2, b.y2)};
    double inter = fv_box_area(i), uni = fv_box_area(a) + fv_box_area(b) - inter;
    return uni > 0 ? inter / uni : 0.0;
}

/* ---------------------------------------------------------------- argument checks */

static fv_status check_count(const char *fn, const char *what, int n, const void *p)
{
    if (n < 0)
        return fv_err(FV_ERR_INVALID, "%s: %s count %d is negative", fn, what, n);
    if (n > 0 && !p)
        return fv_err(FV_ERR_INVALID, "%s: %s is NULL with count %d", fn, what, n);
    return FV_OK;
}

static fv_status check_boxes(const char *fn, const char *what, const fv_box *b, int n)
{
    FV_TRY(check_count(fn, what, n, b));
    for (int i = 0; i < n; i++)
        if (!isfinite(b[i].x1) || !isfinite(b[i].y1) || !isfinite(b[i].x2) || !isfinite(b[i].y2))
            return fv_err(FV_ERR_NUMERIC, "%s: %s %d has a %s coordinate", fn, what, i,
                          isnan(b[i].x1) || isnan(b[i].y1) || isnan(b[i].x2) || isnan(b[i].y2)
                              ? "NaN"
                              : "infinite");
    return FV_OK;
}

static fv_status check_values(const char *fn, const char *what, const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return fv_err(FV_ERR_NUMERIC, "%s: %s %lld is %s", fn, what, (long long)i,
                          isnan(v[i]) ? "NaN" : "infinite");
    return FV_OK;
}

static fv_status check_out(const char *fn, const char *what, int n, const void *p)
{
    if (n > 0 && !p)
        return fv_err(FV_ERR_INVALID, "%s: %s is NULL", fn, what);
    return FV_OK;
}

/* ---------------------------------------------------------------- IoU matrix */

/* torchvision's box_iou in float, with empty boxes of area 0 and an empty union giving 0
 * (torchvision divides 0 by 0 there). */
static float iou_f(fv_box a, fv_box b)
{
    float aa = fmaxf(a.x2 - a.x1, 0.f) * fmaxf(a.y2 - a.y1, 0.f);
    float ab = fmaxf(b.x2 - b.x1, 0.f) * fmaxf(b.y2 - b.y1, 0.f);
    float w = fmaxf(fminf(a.x2, b.x2) - fmaxf(a.x1, b.x1), 0.f);
    float h = fmaxf(fminf(a.y2, b.y2) - fmaxf(a.y1, b.y1), 0.f);
    float inter = w * h, uni = aa + ab - inter;
    return uni > 0 ? inter / uni : 0.f;
}

fv_status fv_box_iou_matrix(const fv_box *a, int na, const fv_box *b, int nb, float *iou)
{
    FV_TRY(check_boxes("box iou", "box a", a, na));
    FV_TRY(check_boxes("box iou", "box b", b, nb));
    FV_TRY(check_out("box iou", "the output", na > 0 && nb > 0, iou));
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            iou[(int64_t)i * nb + j] = iou_f(a[i], b[j]);
    return FV_OK;
}

/* ---------------------------------------------------------------- NMS */

/* Score descending, then index ascending: the order of a stable descending sort. */
int fv_ranked_cmp(const void *pa, const void *pb)
{
    const fv_ranked *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

/* Greedy NMS over the boxes in score order; classes NULL: one class. */
static fv_status nms(const char *fn, const fv_box *boxes, const float *scores, const int *classes,
                     int n, double thr, int top_k, int *keep, int *nkeep)
{
    FV_TRY(check_boxes(fn, "box", boxes, n));
    FV_TRY(check_count(fn, "score", n, scores));
    FV_TRY(check_values(fn, "score", scores, n));
    FV_TRY(check_out(fn, "keep", n, keep));
    if (!nkeep)
        return fv_err(FV_ERR_INVALID, "%s: nkeep is NULL", fn);
    if (isnan(thr))
        return fv_err(FV_ERR_NUMERIC, "%s: the IoU threshold is NaN", fn);
    for (int i = 0; classes && i < n; i++)
        if (classes[i] < 0)
            return fv_err(FV_ERR_INVALID, "%s: class %d of box %d is negative", fn, classes[i], i);
    *nkeep = 0;
    if (n == 0)
        return FV_OK;
    fv_ranked *order = fv_malloc(sizeof *order * (size_t)n, "nms order");
    unsigned char *gone = fv_calloc((size_t)n, 1, "nms suppressed");
    if (!order || !gone) {
        fv_free(order), fv_free(gone);
        return fv_last_status();
    }
    for (int i = 0; i < n; i++)
        order[i] = (fv_ranked){scores[i], i};
    qsort(order, (size_t)n, sizeof *order, fv_ranked_cmp);
    int limit = top_k > 0 ? top_k : n, kept = 0;
    for (int a = 0; a < n && kept < limit; a++) {
        if (gone[a])
            continue;
        int i = order[a].index;
        keep[kept++] = i;
        for (int b = a + 1; b < n; b++) {
            int j = order[b].index;
            if (!gone[b] && (!classes || classes[i] == classes[j]) &&
                (double)iou_f(boxes[i], boxes[j]) > thr)
                gone[b] = 1;
        }
    }
    *nkeep = kept;
    fv_free(order), fv_free(gone);
    return FV_OK;
}

fv_status fv_box_nms(const fv_box *boxes, const float *scores, int n, double iou_threshold,
                     int *keep, int *nkeep)
{
    return nms("box nms", boxes, scores, NULL, n, iou_threshold, 0, keep, nkeep);
}

fv_status fv_box_batched_nms(const fv_box *boxes, const float *scores, const int *classes, int n,
                             double iou_threshold, int top_k, int *keep, int *nkeep)
{
    FV_TRY(check_count("box batched nms", "class", n, classes));
    return nms("box batched nms", boxes, scores, classes, n, iou_threshold, top_k, keep, nkeep);
}

/* ---------------------------------------------------------------- box coder */

static fv_status coder_weights(const char *fn, const float *weights, float w[4])
{
    for (int i = 0; i < 4; i++) {
        w[i] = weights ? weights[i] : 1.f;
        if (!(isfinite(w[i]) && w[i] > 0))
            return fv_err(FV_ERR_INVALID, "%s: weight %d is %g (must be > 0 and finite)", fn, i,
                          (double)w[i]);
    }
    return FV_OK;
}

fv_status fv_box_encode(const fv_box *targets, const fv_box *refs, int n, const float *weights,
                        float *deltas)
{
    const char *fn = "box encode";
    float w[4];
    FV_TRY(coder_weights(fn, weights, w));
    FV_TRY(check_boxes(fn, "target box", targets, n));
    FV_TRY(check_boxes(fn, "reference box", refs, n));
    FV_TRY(check_out(fn, "the output", n, deltas));
    for (int i = 0; i < n; i++) {
        float rw = refs[i].x2 - refs[i].x1, rh = refs[i].y2 - refs[i].y1;
        float tw = targets[i].x2 - targets[i].x1, th = targets[i].y2 - targets[i].y1;
        if (!(rw > 0 && rh > 0))
            return fv_err(FV_ERR_INVALID, "box encode: reference box %d is %gx%g (needs a positive "
                          "width and height)", i, (double)rw, (double)rh);
        if (!(tw > 0 && th > 0))
            return fv_err(FV_ERR_INVALID, "box encode: target box %d is %gx%g (needs a positive "
                          "width and height)", i, (double)tw, (double)th);
        float rx = refs[i].x1 + 0.5f * rw, ry = refs[i].y1 + 0.5f * rh;
        float tx = targets[i].x1 + 0.5f * tw, ty = targets[i].y1 + 0.5f * th;
        deltas[4 * (int64_t)i + 0] = w[0] * (tx - rx) / rw;
        deltas[4 * (int64_t)i + 1] = w[1] * (ty - ry) / rh;
        deltas[4 * (int64_t)i + 2] = w[2] * logf(tw / rw);
        deltas[4 * (int64_t)i + 3] = w[3] * logf(th / rh);
    }
    return FV_OK;
}

fv_status fv_box_decode(const float *deltas, const fv_box *refs, int n, const float *weights,
                        fv_box *out)
{
    const char *fn = "box decode";
    float w[4];
    FV_TRY(coder_weights(fn, weights, w));
    FV_TRY(check_boxes(fn, "reference box", refs, n));
    FV_TRY(check_count(fn, "delta", n, deltas));
    FV_TRY(check_values(fn, "delta", deltas, 4 * (int64_t)n));
    FV_TRY(check_out(fn, "the output", n, out));
    const float clip = (float)FV_BOX_XFORM_CLIP;
    for (int i = 0; i < n; i++) {
        const float *d = deltas + 4 * (int64_t)i;
        float rw = refs[i].x2 - refs[i].x1, rh = refs[i].y2 - refs[i].y1;
        float rx = refs[i].x1 + 0.5f * rw, ry = refs[i].y1 + 0.5f * rh;
        float dw = fminf(d[2] / w[2], clip), dh = fminf(d[3] / w[3], clip);
        float cx = d[0] / w[0] * rw + rx, cy = d[1] / w[1] * rh + ry;
        float hw = 0.5f * (expf(dw) * rw), hh = 0.5f * (expf(dh) * rh);
        out[i] = (fv_box){cx - hw, cy - hh, cx + hw, cy + hh};
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- clipping, small boxes */

fv_status fv_box_clip(fv_box *boxes, int n, float width, float height)
{
    FV_TRY(check_boxes("box clip", "box", boxes, n));
    if (!(isfinite(width) && isfinite(height) && width >= 0 && height >= 0))
        return fv_err(FV_ERR_INVALID, "box clip: image size %gx%g (must be finite and >= 0)",
                      (double)width, (double)height);
    for (int i = 0; i < n; i++) {
        fv_box *b = &boxes[i];
        b->x1 = fminf(fmaxf(b->x1, 0.f), width);
        b->x2 = fminf(fmaxf(b->x2, 0.f), width);
        b->y1 = fminf(fmaxf(b->y1, 0.f), height);
        b->y2 = fminf(fmaxf(b->y2, 0.f), height);
    }
    return FV_OK;
}

fv_status fv_box_remove_small(const fv_box *boxes, int n, float min_size, int *keep, int *nkeep)
{
    FV_TRY(check_boxes("box remove small", "box", boxes, n));
    FV_TRY(check_out("box remove small", "keep", n, keep));
    if (!nkeep)
        return fv_err(FV_ERR_INVALID, "box remove small: nkeep is NULL");
    if (isnan(min_size))
        return fv_err(FV_ERR_NUMERIC, "box remove small: the minimum size is NaN");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (boxes[i].x2 - boxes[i].x1 >= min_size && boxes[i].y2 - boxes[i].y1 >= min_size)
            keep[k++] = i;
    *nkeep = k;
    return FV_OK;
}

/* ---------------------------------------------------------------- anchors */

fv_status fv_box_anchors(const float *sizes, int nsizes, const float *ratios, int nratios,
                         int grid_h, int grid_w, int stride_h, int stride_w, fv_box *out)
{
    const char *fn = "box anchors";
    FV_TRY(check_count(fn, "size", nsizes, sizes));
    FV_TRY(check_count(fn, "aspect ratio", nratios, ratios));
    for (int i = 0; i < nsizes; i++)
        if (!(isfinite(sizes[i]) && sizes[i] > 0))
            return fv_err(FV_ERR_INVALID, "%s: size %d is %g (must be > 0 and finite)", fn, i,
                          (double)sizes[i]);
    for (int i = 0; i < nratios; i++)
        if (!(isfinite(ratios[i]) && ratios[i] > 0))
            return fv_err(FV_ERR_INVALID, "%s: aspect ratio %d is %g (must be > 0 and finite)", fn,
                          i, (double)ratios[i]);
    if (grid_h < 0 || grid_w < 0 || stride_h < 0 || stride_w < 0)
        return fv_err(FV_ERR_INVALID, "%s: grid %dx%d with stride %dx%d (none may be negative)",
                      fn, grid_h, grid_w, stride_h, stride_w);
    int64_t per = (int64_t)nsizes * nratios;
    FV_TRY(check_out(fn, "the output", per > 0 && grid_h > 0 && grid_w > 0, out));
    for (int i = 0; i < grid_h; i++)
        for (int j = 0; j < grid_w; j++) {
            float sx = (float)((int64_t)j * stride_w), sy = (float)((int64_t)i * stride_h);
            fv_box *o = out + ((int64_t)i * grid_w + j) * per;
            for (int r = 0; r < nratios; r++) {
                float hr = sqrtf(ratios[r]), wr = 1.f / hr;
                for (int s = 0; s < nsizes; s++) {
                    /* torch.round rounds half to even, as rintf in the default mode */
                    float hw = rintf(wr * sizes[s] / 2), hh = rintf(hr * sizes[s] / 2);
                    *o++ = (fv_box){sx - hw, sy - hh, sx + hw, sy + hh};
                }
            }
        }
    return FV_OK;
}
