/* png.c - PNG input and output through libpng's simplified API (it handles every color type, bit
 * depth, palette and alpha, and reports corruption as a message instead of longjmp-ing through
 * our frames), plus fitting an image to a network input (channel conversion, bilinear resize).
 * Images are (1, C, H, W) floats in [0, 1]: C = 1 (gray) or 3 (RGB); alpha is composited onto
 * black (the background of MNIST-style images). */
#include "io/io.h"

#include <math.h>
#include <png.h>
#include <string.h>

#define PNG_MAX_FILE ((size_t)256 << 20)
#define PNG_DEFAULT_MAX_PIXELS ((int64_t)1 << 26)

fv_tensor *fv_png_decode(const char *name, const unsigned char *buf, size_t len,
                         int64_t max_pixels)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    max_pixels = max_pixels > 0 ? max_pixels : PNG_DEFAULT_MAX_PIXELS;
    if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) {
        fv_err(FV_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);
        return NULL;
    }
    if (!png_image_begin_read_from_memory(&im, buf, len)) {
        fv_err(FV_ERR_FORMAT, "%s: corrupt PNG: %s", name, im.message);
        return NULL;
    }
    if ((int64_t)im.width * im.height > max_pixels) {
        fv_err(FV_ERR_FORMAT, "%s: %ux%u pixels is more than the limit of %lld", name, im.width,
               im.height, (long long)max_pixels);
        png_image_free(&im);
        return NULL;
    }
    int c = (im.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
    im.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    size_t bytes = PNG_IMAGE_SIZE(im);
    unsigned char *px = fv_malloc(bytes, "PNG pixels");
    fv_tensor *t = px ? fv_tensor_new4(1, c, im.height, im.width) : NULL;
    png_color black = {0, 0, 0};
    if (!t || !png_image_finish_read(&im, &black, px, 0, NULL)) {
        if (t)
            fv_err(FV_ERR_FORMAT, "%s: corrupt PNG: %s", name, im.message);
        png_image_free(&im);
        fv_free(px), fv_tensor_free(t);
        return NULL;
    }
    int64_t hw = (int64_t)im.width * im.height;
    for (int64_t p = 0; p < hw; p++) /* interleaved HWC bytes -> planar CHW floats */
        for (int k = 0; k < c; k++)
            t->data[k * hw + p] = px[p * c + k] / 255.0f;
    fv_free(px);
    return t;
}

fv_tensor *fv_png_load(const char *path)
{
    unsigned char *buf;
    size_t len;
    if (fv_read_file(path, PNG_MAX_FILE, &buf, &len) != FV_OK)
        return NULL;
    fv_tensor *t = fv_png_decode(path, buf, len, 0);
    fv_free(buf);
    return t;
}

fv_status fv_png_save(const char *path, const fv_tensor *img)
{
    int off = img->ndim == 4 ? 1 : 0;
    char s[96];
    if ((img->ndim != 3 && img->ndim != 4) || (off && img->dims[0] != 1) ||
        (img->dims[off] != 1 && img->dims[off] != 3) || img->dims[off + 1] < 1 ||
        img->dims[off + 2] < 1 || img->dims[off + 1] > INT32_MAX || img->dims[off + 2] > INT32_MAX ||
        !fv_tensor_is_contiguous(img))
        return fv_err(FV_ERR_SHAPE, "%s: an image must be (1 or 3, height, width), got %s", path,
                      fv_shape_str(img->ndim, img->dims, s, sizeof s));
    int c = (int)img->dims[off];
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)img->dims[off + 2];
    im.height = (png_uint_32)img->dims[off + 1];
    im.format = c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    int64_t hw = (int64_t)im.width * im.height;
    unsigned char *px = fv_malloc((size_t)(hw * c), "PNG pixels");
    if (!px)
        return FV_ERR_NOMEM;
    for (int64_t p = 0; p < hw; p++)
        for (int k = 0; k < c; k++) {
            float v = img->data[k * hw + p];
            v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
            px[p * c + k] = (unsigned char)lrintf(v * 255.0f);
        }
    fv_atomic_file af;
    fv_status st = fv_atomic_open(&af, path);
    if (st == FV_OK && !png_image_write_to_stdio(&im, af.f, 0, px, 0, NULL)) {
        st = fv_err(FV_ERR_IO, "%s: cannot write PNG: %s", path, im.message);
        fv_atomic_abort(&af);
    } else if (st == FV_OK) {
        st = fv_atomic_commit(&af);
    }
    fv_free(px);
    return st;
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
