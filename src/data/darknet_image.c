/* darknet_image.c - Darknet's image preprocessing, reproduced operation for operation in float
 * so that a Darknet network sees the input Darknet gives it: owns fv_image_darknet_resize (its
 * resize_image: bilinear through corner-aligned scales (in - 1) / (out - 1), columns first, and
 * the last row and column copied or blended exactly as Darknet's loops do) and
 * fv_image_darknet_letterbox (its letterbox_image, what `darknet classifier predict` feeds the
 * network: the image scaled to fit, keeping its aspect, centred on grey 0.5). Pixels are the
 * decoders' p / 255, which is Darknet's p / 255. rounded to float for every 8-bit p. */
#include "data/data.h"

#include <string.h>

#define DN_SIDE_MAX 32768

/* (1, C, H, W) or (C, H, W): the image's dims; 0 when it is neither. */
static int image_dims(const fv_tensor *img, int64_t *c, int64_t *h, int64_t *w)
{
    if (!img || (img->ndim != 3 && img->ndim != 4) || (img->ndim == 4 && img->dims[0] != 1))
        return 0;
    int o = img->ndim - 3;
    *c = img->dims[o], *h = img->dims[o + 1], *w = img->dims[o + 2];
    return *c >= 1 && *h >= 1 && *w >= 1;
}

static fv_status check(const char *what, const fv_tensor *img, int w, int h, int64_t *c,
                       int64_t *ih, int64_t *iw)
{
    if (!image_dims(img, c, ih, iw))
        return fv_err(FV_ERR_SHAPE, "%s: expected an image (1, C, H, W) or (C, H, W)", what);
    if (w < 1 || h < 1 || w > DN_SIDE_MAX || h > DN_SIDE_MAX || *iw > DN_SIDE_MAX ||
        *ih > DN_SIDE_MAX)
        return fv_err(FV_ERR_INVALID, "%s: %d x %d from %lld x %lld (sides must be 1..%d)", what,
                      w, h, (long long)*iw, (long long)*ih, DN_SIDE_MAX);
    return FV_OK;
}

/* Darknet's resize_image of src (c, ih, iw) into dst (c, h, w); part: scratch (c, ih, w). */
static void resize(const float *src, int c, int ih, int iw, float *part, float *dst, int h, int w)
{
    float w_scale = (float)(iw - 1) / (float)(w - 1);
    float h_scale = (float)(ih - 1) / (float)(h - 1);
    for (int k = 0; k < c; k++)
        for (int r = 0; r < ih; r++)
            for (int x = 0; x < w; x++) {
                const float *row = src + ((size_t)k * ih + r) * iw;
                float val;
                if (x == w - 1 || iw == 1)
                    val = row[iw - 1];
                else {
                    float sx = (float)x * w_scale;
                    int ix = (int)sx;
                    float dx = sx - (float)ix;
                    val = (1 - dx) * row[ix] + dx * row[ix + 1];
                }
                part[((size_t)k * ih + r) * w + x] = val;
            }
    for (int k = 0; k < c; k++)
        for (int r = 0; r < h; r++) {
            float sy = h == 1 ? 0.0f : (float)r * h_scale; /* Darknet: 0 * inf */
            int iy = (int)sy;
            float dy = sy - (float)iy;
            float *out = dst + ((size_t)k * h + r) * w;
            const float *p0 = part + ((size_t)k * ih + iy) * w;
            for (int x = 0; x < w; x++)
                out[x] = (1 - dy) * p0[x];
            if (r == h - 1 || ih == 1) /* Darknet adds no second row here */
                continue;
            for (int x = 0; x < w; x++)
                out[x] += dy * p0[w + x];
        }
}

static fv_tensor *resized(const fv_tensor *img, int c, int ih, int iw, int w, int h)
{
    int64_t d[4] = {1, c, h, w};
    fv_tensor *out = fv_tensor_new(4, d);
    float *part = fv_malloc(sizeof(float) * (size_t)c * (size_t)ih * (size_t)w, "Darknet");
    if (!out || !part) {
        fv_tensor_free(out);
        fv_free(part);
        fv_err(FV_ERR_NOMEM, "Darknet resize: out of memory");
        return NULL;
    }
    resize(img->data, c, ih, iw, part, out->data, h, w);
    fv_free(part);
    return out;
}

fv_tensor *fv_image_darknet_resize(const fv_tensor *img, int w, int h)
{
    int64_t c = 0, ih = 0, iw = 0;
    if (check("fv_image_darknet_resize", img, w, h, &c, &ih, &iw) != FV_OK)
        return NULL;
    return resized(img, (int)c, (int)ih, (int)iw, w, h);
}

fv_tensor *fv_image_darknet_letterbox(const fv_tensor *img, int w, int h)
{
    int64_t c = 0, ih = 0, iw = 0;
    if (check("fv_image_darknet_letterbox", img, w, h, &c, &ih, &iw) != FV_OK)
        return NULL;
    int nw, nh;
    if ((float)w / (float)iw < (float)h / (float)ih) {
        nw = w;
        nh = (int)(ih * w / iw);
    } else {
        nh = h;
        nw = (int)(iw * h / ih);
    }
    if (nw < 1 || nh < 1) {
        fv_err(FV_ERR_INVALID, "fv_image_darknet_letterbox: %lld x %lld scales to %d x %d",
               (long long)iw, (long long)ih, nw, nh);
        return NULL;
    }
    fv_tensor *r = resized(img, (int)c, (int)ih, (int)iw, nw, nh);
    int64_t d[4] = {1, c, h, w};
    fv_tensor *out = r ? fv_tensor_new(4, d) : NULL;
    if (!out) {
        fv_tensor_free(r);
        return NULL;
    }
    int dx = (w - nw) / 2, dy = (h - nh) / 2;
    for (int64_t i = 0; i < fv_tensor_numel(out); i++)
        out->data[i] = 0.5f;
    for (int64_t k = 0; k < c; k++) /* Darknet's embed_image: the parts that fall inside */
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++)
                if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w)
                    out->data[(k * h + y + dy) * w + x + dx] = r->data[(k * nh + y) * nw + x];
    fv_tensor_free(r);
    return out;
}
