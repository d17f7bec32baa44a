/* image.c - decoded images in general: telling PNG from JPEG by their first bytes, loading either,
 * and fitting an image to a network input (channel conversion, bilinear resize) for prediction
 * and the image-folder reader. Images are (1, C, H, W) floats in [0, 1], C = 1 (gray) or 3
 * (RGB). */
#include "data/data.h"

#include <string.h>

#define IMAGE_MAX_FILE ((size_t)256 << 20)

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

fv_tensor *fv_image_load(const char *path)
{
    unsigned char *buf;
    size_t len;
    if (fv_read_file(path, IMAGE_MAX_FILE, &buf, &len) != FV_OK)
        return NULL;
    fv_tensor *t = fv_image_decode(path, buf, len, 0);
    fv_free(buf);
    return t;
}

/* Bilinear sample of plane p (h x w) at output cell (y, x) of an oh x ow grid, half-pixel
 * centers (PyTorch's align_corners=False). */
static float bilinear(const float *p, int64_t h, int64_t w, int64_t oh, int64_t ow, int64_t y,
                      int64_t x)
{
    double sy = ((double)y + 0.5) * (double)h / (double)oh - 0.5;
    double sx = ((double)x + 0.5) * (double)w / (double)ow - 0.5;
    sy = sy < 0 ? 0 : sy, sx = sx < 0 ? 0 : sx;
    int64_t y0 = (int64_t)sy, x0 = (int64_t)sx;
    int64_t y1 = y0 + 1 < h ? y0 + 1 : h - 1, x1 = x0 + 1 < w ? x0 + 1 : w - 1;
    double fy = sy - (double)y0, fx = sx - (double)x0;
    double top = p[y0 * w + x0] * (1 - fx) + p[y0 * w + x1] * fx;
    double bot = p[y1 * w + x0] * (1 - fx) + p[y1 * w + x1] * fx;
    return (float)(top * (1 - fy) + bot * fy);
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
    int64_t ih = img->dims[off + 1], iw = img->dims[off + 2];
    fv_tensor *gray = NULL;
    const float *src = img->data;
    if (ic == 3 && c == 1) { /* ITU-R 601 luma, as PIL's convert("L") */
        if (!(gray = fv_tensor_new4(1, 1, ih, iw)))
            return NULL;
        for (int64_t p = 0; p < ih * iw; p++)
            gray->data[p] = 0.299f * src[p] + 0.587f * src[ih * iw + p] +
                            0.114f * src[2 * ih * iw + p];
        src = gray->data, ic = 1;
    }
    fv_tensor *out = fv_tensor_new4(1, c, h, w);
    for (int k = 0; out && k < c; k++) {
        const float *plane = src + (ic == 1 ? 0 : k) * ih * iw; /* gray -> RGB repeats */
        for (int64_t y = 0; y < h; y++)
            for (int64_t x = 0; x < w; x++)
                out->data[((int64_t)k * h + y) * w + x] =
                    (ih == h && iw == w) ? plane[y * w + x] : bilinear(plane, ih, iw, h, w, y, x);
    }
    fv_tensor_free(gray);
    return out;
}
