/* roi.c - RoI max pooling (Fast R-CNN) and RoI align (Mask R-CNN) over a batch of feature maps,
 * torchvision.ops.roi_pool / roi_align: the checks of the geometry and the RoIs, and the split
 * of the reference kernels (kernels/ref/roi_ref.inc) across the thread pool, forward by RoI and
 * backward by channel (each dx plane then has one writer, so the sums do not depend on the
 * thread count). Outside the graph: see fv_roi_spec in fovea.h for why. */
#include "core/internal.h"
#include "kernels/ref/roi_ref.h"

#include <math.h>

static fv_status check_spec(const char *fn, const fv_roi_spec *s, const void *in, const void *rois,
                            const void *out)
{
    if (!s)
        return fv_err(FV_ERR_INVALID, "%s: the spec is NULL", fn);
    if (s->n < 1 || s->c < 1 || s->h < 1 || s->w < 1)
        return fv_err(FV_ERR_INVALID, "%s: feature maps %dx%dx%dx%d (each size must be >= 1)", fn,
                      s->n, s->c, s->h, s->w);
    if (s->k < 0)
        return fv_err(FV_ERR_INVALID, "%s: RoI count %d is negative", fn, s->k);
    if (s->out_h < 1 || s->out_w < 1)
        return fv_err(FV_ERR_INVALID, "%s: output size %dx%d (must be >= 1)", fn, s->out_h,
                      s->out_w);
    if (!(isfinite(s->spatial_scale) && s->spatial_scale > 0))
        return fv_err(FV_ERR_INVALID, "%s: spatial scale %g (must be > 0 and finite)", fn,
                      (double)s->spatial_scale);
    if ((int64_t)s->h * s->w > INT32_MAX)
        return fv_err(FV_ERR_INVALID, "%s: feature map %dx%d has more than 2^31 cells", fn, s->h,
                      s->w);
    if (s->k > 0 && (!in || !rois || !out))
        return fv_err(FV_ERR_INVALID, "%s: a NULL array", fn);
    /* A RoI far outside the map is a bad box: it would only sample zeros, with adaptive
     * sampling at a cost growing with its area. */
    double far = 1024.0 + 8.0 * (s->h > s->w ? s->h : s->w);
    const float *r = rois;
    for (int k = 0; k < s->k; k++) {
        float b = r[5 * (int64_t)k];
        if (!(b >= 0 && b < (float)s->n && b == floorf(b)))
            return fv_err(FV_ERR_INVALID, "%s: RoI %d's batch index %g is not an image of 0..%d",
                          fn, k, (double)b, s->n - 1);
        for (int q = 1; q < 5; q++) {
            float v = r[5 * (int64_t)k + q];
            if (!isfinite(v))
                return fv_err(FV_ERR_NUMERIC, "%s: RoI %d has a %s coordinate", fn, k,
                              isnan(v) ? "NaN" : "infinite");
            if (fabs((double)v * s->spatial_scale) > far)
                return fv_err(FV_ERR_INVALID, "%s: RoI %d's coordinate %g lies beyond %g cells of "
                              "the %dx%d map", fn, k, (double)v, far, s->h, s->w);
        }
    }
    return FV_OK;
}

/* One parallel job: the kernel to run over a range of RoIs or of channels. */
typedef struct roi_job {
    const fv_roi_spec *s;
    const float *in, *rois;
    const int32_t *argmax_in;
    float *out;
    int32_t *argmax;
    int kind; /* 0 pool forward, 1 pool backward, 2 align forward, 3 align backward */
    int width;
    char *ws;        /* one workspace of ws_bytes per worker */
    size_t ws_bytes;
} roi_job;

static void roi_share(void *ctx, int t, int64_t a, int64_t b)
{
    const roi_job *j = ctx;
    void *ws = j->ws + (size_t)t * j->ws_bytes;
    switch (j->kind) {
    case 0:
        fv_ref_roi_pool_fwd_f32(j->s, j->in, j->rois, j->out, j->argmax, a, b, ws);
        break;
    case 1:
        fv_ref_roi_pool_bwd_f32(j->s, j->in, j->rois, j->argmax_in, j->out, (int)a, (int)b);
        break;
    case 2:
        fv_ref_roi_align_fwd_f32(j->s, j->in, j->rois, j->out, a, b, ws);
        break;
    default:
        fv_ref_roi_align_bwd_f32(j->s, j->in, j->rois, j->out, (int)a, (int)b, ws);
        break;
    }
}

/* Runs job j over count items (RoIs or channels), each worker with its workspace. */
static fv_status run(const char *fn, roi_job *j, int64_t count)
{
    if (j->s->k == 0)
        return FV_OK;
    j->width = fv_parallel_width(count > INT32_MAX ? INT32_MAX : (int)count);
    j->ws_bytes = j->kind == 1 ? 0 : fv_ref_roi_workspace_f32(j->s, j->rois, j->kind >= 2);
    j->ws_bytes = (j->ws_bytes + 63) & ~(size_t)63;
    if (j->ws_bytes > ((size_t)1 << 28))
        return fv_err(FV_ERR_INVALID, "%s: sampling ratio %d makes %zu bytes of sample tables per "
                      "RoI (more than 256 MiB)", fn, j->s->sampling_ratio, j->ws_bytes);
    j->ws = j->ws_bytes ? fv_malloc(j->ws_bytes * (size_t)j->width, "RoI workspace") : NULL;
    if (j->ws_bytes && !j->ws)
        return fv_last_status();
    fv_parallel_shares(j->width, count, roi_share, j);
    fv_free(j->ws);
    return FV_OK;
}

fv_status fv_roi_pool(const fv_roi_spec *s, const float *x, const float *rois, float *y,
                      int32_t *argmax)
{
    FV_TRY(check_spec("roi pool", s, x, rois, y));
    roi_job j = {.s = s, .in = x, .rois = rois, .out = y, .argmax = argmax, .kind = 0};
    return run("roi pool", &j, s->k);
}

fv_status fv_roi_pool_backward(const fv_roi_spec *s, const float *dy, const float *rois,
                               const int32_t *argmax, float *dx)
{
    FV_TRY(check_spec("roi pool backward", s, dy, rois, dx));
    if (s->k > 0 && !argmax)
        return fv_err(FV_ERR_INVALID, "roi pool backward: argmax is NULL (keep it from forward)");
    int64_t bins = (int64_t)s->out_h * s->out_w * s->c * s->k;
    for (int64_t i = 0; i < bins; i++)
        if (argmax[i] < -1 || argmax[i] >= s->h * s->w)
            return fv_err(FV_ERR_INVALID, "roi pool backward: argmax %lld is %d, not a cell of the "
                          "%dx%d map", (long long)i, (int)argmax[i], s->h, s->w);
    roi_job j = {.s = s, .in = dy, .rois = rois, .argmax_in = argmax, .out = dx, .kind = 1};
    return run("roi pool backward", &j, s->c);
}

fv_status fv_roi_align(const fv_roi_spec *s, const float *x, const float *rois, float *y)
{
    FV_TRY(check_spec("roi align", s, x, rois, y));
    roi_job j = {.s = s, .in = x, .rois = rois, .out = y, .kind = 2};
    return run("roi align", &j, s->k);
}

fv_status fv_roi_align_backward(const fv_roi_spec *s, const float *dy, const float *rois,
                                float *dx)
{
    FV_TRY(check_spec("roi align backward", s, dy, rois, dx));
    roi_job j = {.s = s, .in = dy, .rois = rois, .out = dx, .kind = 3};
    return run("roi align backward", &j, s->c);
}
