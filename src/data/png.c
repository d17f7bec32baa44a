/* png.c - PNG input and output through libpng's simplified API (it handles every color type, bit
 * depth, palette and alpha, and reports corruption as a message instead of longjmp-ing through
 * our frames); fitting an image to a network input is in image.c. Images are (1, C, H, W)
 * floats in [0, 1]: C = 1 (gray) or 3 (RGB); alpha is composited onto black (the background of
 * MNIST-style images). */
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
