/* image.c - decoded images in general: telling PNG from JPEG by their first bytes, loading either,
 * and fitting an image to a network input (channel conversion, bilinear resize) for prediction,
 * the image-folder reader, fv_dataset_resize and the batch loader. Images are (1, C, H, W) floats
 * in [0, 1], C = 1 (gray) or 3 (RGB). */
#include "data/data.h"

#include <string.h>

#define IMAGE_MAX_FILE ((size_t)256 << 20)
#define RESAMPLE_SIDE 32768

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
static const unsigned char jpeg_magic[3] = {0xFF, 0xD8, 0xFF};

fv_tensor *fv_image_decode(const char *name, const unsigned char *buf, size_t len,
                           int64_t max_pixels)
{
    if (len == 0) {
        fv_err(FV_ERR_FORMAT, "%s: empty file", name);
        return NULL;
    }
    if (len >= sizeof png_magic && memcmp(buf, png_magic, sizeof png_magic) == 0)
        return fv_png_decode(name, buf, len, max_pixels);
    if (len >= sizeof jpeg_magic && memcmp(buf, jpeg_magic, sizeof jpeg_magic) == 0)
        return fv_jpeg_decode(name, buf, len, max_pixels);
    fv_err(FV_ERR_FORMAT, "%s: not a PNG or JPEG image (unknown signature)", name);
    return NULL;
}

fv_tensor *fv_image_file(const char *path, fv_image_decoder decode)
{
    unsigned char *buf;
    size_t len;
    if (fv_read_file(path, IMAGE_MAX_FILE, &buf, &len) != FV_OK)
        return NULL;
    fv_tensor *t = decode(path, buf, len, 0);
    fv_free(buf);
    return t;
}

fv_tensor *fv_image_load(const char *path) { return fv_image_file(path, fv_image_decode); }

/* Where output cell (y, x) of an oh x ow grid samples an h x w plane bilinearly, half-pixel
 * centers (PyTorch's align_corners=False): the four taps and their weights. */
typedef struct taps {
    int64_t i00, i01, i10, i11;
    double fy, fx;
} taps;

static taps taps_at(int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t y, int64_t x)
{
    double sy = ((double)y + 0.5) * (double)h / (double)oh - 0.5;
    double sx = ((double)x + 0.5) * (double)w / (double)ow - 0.5;
    sy = sy < 0 ? 0 : sy, sx = sx < 0 ? 0 : sx;
    int64_t y0 = (int64_t)sy, x0 = (int64_t)sx;
    int64_t y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    return (taps){y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1, sy - (double)y0,
                  sx - (double)x0};
}

static float blend(const taps *t, float v00, float v01, float v10, float v11)
{
    double top = v00 * (1 - t->fx) + v01 * t->fx, bot = v10 * (1 - t->fx) + v11 * t->fx;
    return (float)(top * (1 - t->fy) + bot * t->fy);
}

/* ITU-R 601 luma of pixel p of an RGB image of hw pixels per plane, as PIL's convert("L"). */
static float luma(const float *rgb, int64_t hw, int64_t p)
{
    return 0.299f * rgb[p] + 0.587f * rgb[hw + p] + 0.114f * rgb[2 * hw + p];
}

void fv_image_resample(const float *src, int ic, int64_t ih, int64_t iw, float *dst, int c,
                       int64_t h, int64_t w)
{
    int64_t ihw = ih * iw;
    for (int k = 0; k < c; k++) {
        const float *plane = src + (ic == c ? k : 0) * ihw; /* gray -> RGB repeats */
        float *out = dst + (int64_t)k * h * w;
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++) {
                taps t = taps_at(ih, iw, h, w, y, x);
                if (ic == 3 && c == 1)
                    out[y * w + x] = blend(&t, luma(src, ihw, t.i00), luma(src, ihw, t.i01),
                                           luma(src, ihw, t.i10), luma(src, ihw, t.i11));
                else if (ih == h && iw == w)
                    out[y * w + x] = plane[y * w + x];
                else
                    out[y * w + x] = blend(&t, plane[t.i00], plane[t.i01], plane[t.i10],
                                           plane[t.i11]);
            }
    }
}

fv_status fv_resample_check(const char *what, int64_t sc, int64_t sh, int64_t sw, int64_t c,
                            int64_t h, int64_t w)
{
    int channels = sc == c || (sc == 1 && c == 3) || (sc == 3 && c == 1);
    if (channels && sc >= 1 && sh >= 1 && sw >= 1 && h >= 1 && w >= 1 && sh <= RESAMPLE_SIDE &&
        sw <= RESAMPLE_SIDE && h <= RESAMPLE_SIDE && w <= RESAMPLE_SIDE)
        return FV_OK;
    return fv_err(FV_ERR_SHAPE, "%s: images of %lldx%lldx%lld cannot be converted to "
                  "%lldx%lldx%lld (the same channels or gray <-> RGB, sides 1..%d)", what, (long long)sc,
                  (long long)sh, (long long)sw, (long long)c, (long long)h, (long long)w,
                  RESAMPLE_SIDE);
}

fv_tensor *fv_image_fit(const fv_tensor *img, int c, int h, int w)
{
    int off = img->ndim == 4 ? 1 : 0;
    int64_t ic = img->ndim >= 3 ? img->dims[off] : 0;
    char s[96];
    if ((img->ndim != 3 && img->ndim != 4) || (off && img->dims[0] != 1) ||
        (ic != 1 && ic != 3) || (c != 1 && c != 3) || h < 1 || w < 1 ||
        !fv_tensor_is_contiguous(img)) {
        fv_err(FV_ERR_SHAPE, "cannot fit an image of shape %s to (%d, %d, %d): images are gray "
               "or RGB", fv_shape_str(img->ndim, img->dims, s, sizeof s), c, h, w);
        return NULL;
    }
    fv_tensor *out = fv_tensor_new4(1, c, h, w);
    if (out)
        fv_image_resample(img->data, (int)ic, img->dims[off + 1], img->dims[off + 2], out->data,
                          c, h, w);
    return out;
}
