/* mask.c - segmentation masks as indexed PNG (PASCAL VOC's SegmentationClass files): reading an
 * indexed PNG's palette indices as class labels (any other PNG is refused: its colours are not
 * labels), writing 8-bit indexed PNGs with the VOC palette, the VOC palette itself, and checking
 * a mask against its image and classes. libpng reads (full API, for the raw indices) and writes
 * (simplified API, colour-mapped). Hostile files cost memory only in proportion to their bytes,
 * as in png.c: the header's pixel count is checked against what the compressed data can hold
 * before anything is allocated. */
#include "data/data.h"
#include "data/png_mem.h"

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

#define MASK_MAX_PIXELS ((int64_t)1 << 26)

void fv_voc_color(int index, unsigned char rgb[3])
{
    int r = 0, g = 0, b = 0, c = index & 255;
    for (int j = 0; j < 8; j++, c >>= 3) {
        r |= ((c >> 0) & 1) << (7 - j);
        g |= ((c >> 1) & 1) << (7 - j);
        b |= ((c >> 2) & 1) << (7 - j);
    }
    rgb[0] = (unsigned char)r, rgb[1] = (unsigned char)g, rgb[2] = (unsigned char)b;
}

/* ---------------------------------------------------------------- reading */

typedef struct mdec {
    png_structp png;
    png_infop info;
    fv_png_mem io; /* the file, libpng's error, whether an allocation failed */
    unsigned char *px; /* w x h indices */
    png_uint_32 w, h;
} mdec;

/* An indexed PNG within the limits; then one byte per index (low bit depths unpacked). */
static fv_status check_header(void *dec)
{
    mdec *d = dec;
    d->w = png_get_image_width(d->png, d->info), d->h = png_get_image_height(d->png, d->info);
    if (png_get_color_type(d->png, d->info) != PNG_COLOR_TYPE_PALETTE)
        return fv_err(FV_ERR_FORMAT, "%s: a mask must be an indexed PNG (colour type palette), "
                      "this one is %s", d->io.name,
                      png_get_color_type(d->png, d->info) & PNG_COLOR_MASK_COLOR ? "RGB"
                                                                                : "grey");
    FV_TRY(fv_png_mem_limits(d->png, d->info, &d->io, MASK_MAX_PIXELS));
    png_set_packing(d->png);
    return FV_OK;
}

static fv_status read_rows(void *dec, int passes)
{
    mdec *d = dec;
    if (png_get_rowbytes(d->png, d->info) != d->w)
        return fv_err(FV_ERR_STATE, "%s: PNG mask rows of %zu bytes (expected %u)", d->io.name,
                      (size_t)png_get_rowbytes(d->png, d->info), d->w);
    char what[300];
    snprintf(what, sizeof what, "%s: a %ux%u mask", d->io.name, d->w, d->h);
    FV_TRY(fv_data_check(what, (uint64_t)d->w * d->h * (1 + sizeof(float))));
    d->px = fv_malloc((size_t)d->w * d->h, "PNG mask");
    if (!d->px)
        return FV_ERR_NOMEM;
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < d->h; y++)
            png_read_row(d->png, d->px + (size_t)y * d->w, NULL);
    png_read_end(d->png, NULL);
    return FV_OK;
}

static fv_tensor *to_tensor(const mdec *d)
{
    int64_t dims[2] = {d->h, d->w}, n = (int64_t)d->w * d->h;
    float *v = fv_malloc(sizeof(float) * (size_t)(n ? n : 1), "mask");
    for (int64_t i = 0; v && i < n; i++)
        v[i] = (float)d->px[i];
    return v ? fv_tensor_adopt(v, 2, dims) : NULL;
}

fv_tensor *fv_mask_decode(const char *name, const unsigned char *buf, size_t len)
{
    if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) {
        fv_err(FV_ERR_FORMAT, "%s: not a PNG file (bad signature): a mask must be an indexed "
               "PNG", name);
        return NULL;
    }
    mdec *d = fv_calloc(1, sizeof *d, "PNG mask decoder");
    if (!d)
        return NULL;
    *d = (mdec){.io = {.name = name, .what = "PNG mask decoder", .buf = buf, .len = len}};
    fv_tensor *t = fv_png_mem_decode(&d->io, &d->png, &d->info, check_header, read_rows, d) == FV_OK
                       ? to_tensor(d)
                       : NULL;
    fv_png_mem_end(&d->png, &d->info);
    fv_free(d->px);
    fv_free(d);
    return t;
}

static fv_tensor *decode_any(const char *name, const unsigned char *buf, size_t len,
                             int64_t max_pixels)
{
    (void)max_pixels; /* the mask limit applies */
    return fv_mask_decode(name, buf, len);
}

fv_tensor *fv_mask_load(const char *path) { return fv_image_file(path, decode_any); }

/* ---------------------------------------------------------------- writing */

/* (H, W) or (1, H, W), contiguous: *h and *w. */
static fv_status mask_shape(const char *what, const fv_tensor *m, int64_t *h, int64_t *w)
{
    int off = m->ndim == 3;
    char s[96];
    if ((m->ndim != 2 && m->ndim != 3) || (off && m->dims[0] != 1) || !fv_tensor_is_contiguous(m))
        return fv_err(FV_ERR_SHAPE, "%s: a mask must be (H, W) or (1, H, W), got %s", what,
                      fv_shape_str(m->ndim, m->dims, s, sizeof s));
    *h = m->dims[off], *w = m->dims[off + 1];
    return FV_OK;
}

fv_status fv_mask_save(const char *path, const fv_tensor *mask)
{
    int64_t h = 0, w = 0;
    FV_TRY(mask_shape(path, mask, &h, &w));
    if (h < 1 || w < 1 || h > INT32_MAX || w > INT32_MAX)
        return fv_err(FV_ERR_SHAPE, "%s: a mask of %lldx%lld pixels cannot be written", path,
                      (long long)w, (long long)h);
    for (int64_t i = 0; i < h * w; i++) {
        float v = mask->data[i];
        if (!(v >= 0 && v <= 255 && v == floorf(v)))
            return fv_err(FV_ERR_INVALID, "%s: mask value %g at pixel %lld is not an index "
                          "0..255", path, (double)v, (long long)i);
    }
    unsigned char map[256 * 3], *px = fv_malloc((size_t)(h * w), "PNG mask pixels");
    if (!px)
        return FV_ERR_NOMEM;
    for (int i = 0; i < 256; i++)
        fv_voc_color(i, map + 3 * i);
    for (int64_t i = 0; i < h * w; i++)
        px[i] = (unsigned char)mask->data[i];
    fv_status st = fv_png_write_file(path, (png_uint_32)w, (png_uint_32)h,
                                     PNG_FORMAT_RGB_COLORMAP, px, map, "PNG mask");
    fv_free(px);
    return st;
}

/* ---------------------------------------------------------------- checks */

fv_status fv_mask_check(const char *what, const fv_tensor *mask, int64_t height, int64_t width,
                        int classes, int use_ignore, int ignore)
{
    int64_t h = 0, w = 0;
    FV_TRY(mask_shape(what, mask, &h, &w));
    if (h != height || w != width)
        return fv_err(FV_ERR_SHAPE, "%s: the mask is %lldx%lld pixels, its image %lldx%lld",
                      what, (long long)w, (long long)h, (long long)width, (long long)height);
    for (int64_t i = 0; i < h * w; i++) {
        float v = mask->data[i];
        if (!(v >= 0 && v < (float)classes && v == floorf(v)) && !(use_ignore && v == ignore))
            return fv_err(FV_ERR_INVALID, "%s: label %g at pixel (%lld, %lld) is not a class in "
                          "[0, %d)%s", what, (double)v, (long long)(i % w), (long long)(i / w),
                          classes, use_ignore ? " nor the ignore label" : "");
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- drawing */

fv_tensor *fv_mask_overlay(const fv_tensor *image, const fv_tensor *mask, int background,
                           float alpha)
{
    int off = image->ndim == 4;
    int64_t h = 0, w = 0;
    char s[96];
    if ((image->ndim != 3 && image->ndim != 4) || (off && image->dims[0] != 1) ||
        (image->dims[off] != 1 && image->dims[off] != 3) || !fv_tensor_is_contiguous(image)) {
        fv_err(FV_ERR_SHAPE, "mask overlay: the image must be (1 or 3, H, W), got %s",
               fv_shape_str(image->ndim, image->dims, s, sizeof s));
        return NULL;
    }
    int64_t ih = image->dims[off + 1], iw = image->dims[off + 2], c = image->dims[off];
    if (fv_mask_check("mask overlay", mask, ih, iw, 256, 0, 0) != FV_OK ||
        mask_shape("mask overlay", mask, &h, &w) != FV_OK)
        return NULL;
    double a = alpha > 0 && alpha <= 1 ? alpha : 0.5;
    fv_tensor *out = fv_tensor_new4(1, 3, h, w);
    for (int64_t p = 0; out && p < h * w; p++) {
        int lab = (int)mask->data[p];
        unsigned char rgb[3];
        fv_voc_color(lab, rgb);
        for (int k = 0; k < 3; k++) {
            double v = image->data[(c == 3 ? k : 0) * h * w + p];
            if (lab != background)
                v = (1 - a) * v + a * rgb[k] / 255.0;
            out->data[k * h * w + p] = (float)v;
        }
    }
    return out;
}
