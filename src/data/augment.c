/* augment.c - on-the-fly augmentation of training images in a batch buffer: random crop after
 * padding (translation), horizontal and vertical flips, brightness and contrast jitter and
 * cutout, each sample drawn independently from a seeded stream. Uses a small stack buffer per
 * image row; no allocation. */
#include "core/internal.h"

#include <string.h>

#define MAX_SIDE 4096

static int coin(fv_rng *r)
{
    return (int)(fv_rng_next(r) >> 63);
}

static double uniform(fv_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * fv_rng_uniform(r);
}

/* Shifts plane p (h x w) by (dy, dx): out(i, j) = in(i - dy, j - dx), `fill` where that falls
 * outside (a crop of the padded image). Rows are moved in the order that reads each before it is
 * overwritten. */
static void shift_plane(float *p, int h, int w, int dy, int dx, float fill)
{
    float row[MAX_SIDE];
    for (int k = 0; k < h; k++) {
        int i = dy > 0 ? h - 1 - k : k, src = i - dy;
        float *q = p + (int64_t)i * w;
        if (src < 0 || src >= h) {
            for (int j = 0; j < w; j++)
                q[j] = fill;
            continue;
        }
        const float *from = p + (int64_t)src * w;
        for (int j = 0; j < w; j++)
            row[j] = j - dx >= 0 && j - dx < w ? from[j - dx] : fill;
        memcpy(q, row, sizeof(float) * (size_t)w);
    }
}

static void flip_h(float *p, int h, int w)
{
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w / 2; j++) {
            float t = p[(int64_t)i * w + j];
            p[(int64_t)i * w + j] = p[(int64_t)i * w + w - 1 - j];
            p[(int64_t)i * w + w - 1 - j] = t;
        }
}

static void flip_v(float *p, int h, int w)
{
    float row[MAX_SIDE];
    for (int i = 0; i < h / 2; i++) {
        float *a = p + (int64_t)i * w, *b = p + (int64_t)(h - 1 - i) * w;
        memcpy(row, a, sizeof(float) * (size_t)w);
        memcpy(a, b, sizeof(float) * (size_t)w);
        memcpy(b, row, sizeof(float) * (size_t)w);
    }
}

static void cutout(float *p, int h, int w, int cy, int cx, int size, float fill)
{
    int y0 = cy - size / 2, x0 = cx - size / 2;
    for (int i = y0 < 0 ? 0 : y0; i < y0 + size && i < h; i++)
        for (int j = x0 < 0 ? 0 : x0; j < x0 + size && j < w; j++)
            p[(int64_t)i * w + j] = fill;
}

fv_status fv_augment_batch(const fv_augment *a, fv_rng *r, float *x, int n, int c, int h, int w)
{
    if (h > MAX_SIDE || w > MAX_SIDE || a->crop_pad < 0 || a->cutout < 0 ||
        !(a->brightness >= 0) || !(a->contrast >= 0) || a->contrast >= 1)
        return fv_err(FV_ERR_INVALID, "augment: crop_pad=%d, cutout=%d, brightness=%g, "
                      "contrast=%g out of range (images up to %d pixels a side, contrast < 1)",
                      a->crop_pad, a->cutout, (double)a->brightness, (double)a->contrast,
                      MAX_SIDE);
    int64_t hw = (int64_t)h * w;
    for (int s = 0; s < n; s++) {
        float *img = x + (int64_t)s * c * hw;
        int dy = 0, dx = 0;
        if (a->crop_pad > 0) {
            dy = (int)fv_rng_below(r, 2 * (uint64_t)a->crop_pad + 1) - a->crop_pad;
            dx = (int)fv_rng_below(r, 2 * (uint64_t)a->crop_pad + 1) - a->crop_pad;
        }
        int fh = a->hflip && coin(r), fvv = a->vflip && coin(r);
        double add = a->brightness > 0 ? uniform(r, -a->brightness, a->brightness) : 0;
        double mul = a->contrast > 0 ? uniform(r, 1 - a->contrast, 1 + a->contrast) : 1;
        int cy = 0, cx = 0;
        if (a->cutout > 0)
            cy = (int)fv_rng_below(r, (uint64_t)h), cx = (int)fv_rng_below(r, (uint64_t)w);
        for (int ch = 0; ch < c; ch++) {
            float *p = img + ch * hw;
            if (dy || dx)
                shift_plane(p, h, w, dy, dx, a->fill);
            if (fh)
                flip_h(p, h, w);
            if (fvv)
                flip_v(p, h, w);
            if (add != 0 || mul != 1) {
                double mean = 0;
                for (int64_t i = 0; i < hw; i++)
                    mean += p[i];
                mean /= (double)hw;
                for (int64_t i = 0; i < hw; i++)
                    p[i] = (float)((p[i] - mean) * mul + mean + add);
            }
            if (a->cutout > 0) /* the square centred at (cy, cx), clipped to the image */
                cutout(p, h, w, cy, cx, a->cutout, a->fill);
        }
    }
    return FV_OK;
}
