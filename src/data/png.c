/* png.c - PNG input through libpng's full API and output through its simplified API. Reading
 * handles every color type, bit depth, palette and transparency: palettes and low bit depths are
 * expanded, 16-bit samples scaled to 8 bits, samples kept as stored (no gamma conversion, as
 * PIL reads them), alpha composited onto black (the background of MNIST-style images). Hostile
 * files cost memory only in proportion to their bytes: ancillary chunks (text, ICC profiles,
 * EXIF, unknown ones) are skipped without being buffered, a header that promises more pixels than
 * the file's compressed data can hold (deflate expands at most ~1032:1) is refused before
 * anything is allocated, and rows are stored as they are decoded. libpng's own allocations go
 * through fv_malloc. Fitting an image to a network input is in image.c. Images are (1, C, H, W)
 * floats in [0, 1]: C = 1 (gray) or 3 (RGB). */
#include "data/data.h"
#include "data/png_mem.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#define PNG_DEFAULT_MAX_PIXELS ((int64_t)1 << 26)
#define PNG_MAX_CHUNK ((png_alloc_size_t)1 << 20) /* any chunk libpng buffers or inflates */
#define DEFLATE_MAX_RATIO 1032u

/* All the state the error jump must see (never in the frame that calls setjmp). */
typedef struct pdec {
    png_structp png;
    png_infop info;
    fv_png_mem io;   /* the file, libpng's error, whether an allocation failed */
    int64_t max_pixels;
    fv_grow px;      /* the rows decoded so far: interleaved 8-bit samples */
    int c, ch;       /* channels out (1 or 3); samples per decoded pixel (1 to 4) */
} pdec;

/* After the header: the limits, then the transforms to 8-bit gray or RGB with or without alpha. */
static fv_status check_header(void *dec)
{
    pdec *d = dec;
    FV_TRY(fv_png_mem_limits(d->png, d->info, &d->io, d->max_pixels));
    png_set_expand(d->png);
    png_set_scale_16(d->png);
    return FV_OK;
}

/* Decodes the rows into d->px, growing it as they come (an interlaced image needs all at once). */
static fv_status read_rows(void *dec, int passes)
{
    pdec *d = dec;
    d->ch = png_get_channels(d->png, d->info);
    d->c = d->ch >= 3 ? 3 : 1;
    size_t row = png_get_rowbytes(d->png, d->info), h = png_get_image_height(d->png, d->info);
    size_t w = png_get_image_width(d->png, d->info);
    char what[300];
    snprintf(what, sizeof what, "%s: a %zux%zu image", d->io.name, w, h);
    FV_TRY(fv_data_check(what, (uint64_t)d->c * w * h * sizeof(float)));
    if (row != w * (size_t)d->ch)
        return fv_err(FV_ERR_STATE, "%s: PNG rows of %zu bytes (expected %zu)", d->io.name, row,
                      w * (size_t)d->ch);
    if (passes > 1)
        FV_TRY(fv_grow_to(&d->px, row * h, row * h, "PNG pixels"));
    for (int pass = 0; pass < passes; pass++)
        for (size_t y = 0; y < h; y++) {
            FV_TRY(fv_grow_to(&d->px, row * (y + 1), row * h, "PNG pixels"));
            png_read_row(d->png, d->px.p + row * y, NULL);
            d->px.len = row * (y + 1) > d->px.len ? row * (y + 1) : d->px.len;
        }
    png_read_end(d->png, NULL);
    return FV_OK;
}

/* Interleaved 8-bit samples (alpha last when there is one) -> planar CHW floats on black. */
static fv_tensor *to_tensor(const pdec *d)
{
    int64_t h = png_get_image_height(d->png, d->info), w = png_get_image_width(d->png, d->info);
    int64_t hw = h * w, dims[4] = {1, d->c, h, w};
    float *v = fv_malloc(sizeof(float) * (size_t)(hw * d->c), "PNG image");
    int alpha = d->ch == 2 || d->ch == 4;
    for (int64_t p = 0; v && p < hw; p++) {
        const unsigned char *s = d->px.p + p * d->ch;
        float a = alpha ? s[d->ch - 1] / 255.0f : 1.0f;
        for (int k = 0; k < d->c; k++)
            v[k * hw + p] = s[k] / 255.0f * a;
    }
    return fv_tensor_adopt(v, 4, dims);
}

fv_tensor *fv_png_decode(const char *name, const unsigned char *buf, size_t len,
                         int64_t max_pixels)
{
    if (len < 8 || png_sig_cmp(buf, 0, 8) != 0) {
        fv_err(FV_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);
        return NULL;
    }
    pdec *d = fv_calloc(1, sizeof *d, "PNG decoder");
    if (!d)
        return NULL;
    *d = (pdec){.io = {.name = name, .what = "PNG decoder", .buf = buf, .len = len},
                .max_pixels = max_pixels > 0 ? max_pixels : PNG_DEFAULT_MAX_PIXELS};
    fv_tensor *t = fv_png_mem_decode(&d->io, &d->png, &d->info, check_header, read_rows, d) == FV_OK
                       ? to_tensor(d)
                       : NULL;
    fv_png_mem_end(&d->png, &d->info);
    fv_free(d->px.p);
    fv_free(d);
    return t;
}

fv_tensor *fv_png_load(const char *path) { return fv_image_file(path, fv_png_decode); }

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
    int64_t hw = img->dims[off + 1] * img->dims[off + 2];
    unsigned char *px = fv_malloc((size_t)(hw * c), "PNG pixels");
    if (!px)
        return FV_ERR_NOMEM;
    for (int64_t p = 0; p < hw; p++)
        for (int k = 0; k < c; k++) {
            float v = img->data[k * hw + p];
            v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
            px[p * c + k] = (unsigned char)lrintf(v * 255.0f);
        }
    fv_status st = fv_png_write_file(path, (png_uint_32)img->dims[off + 2],
                                     (png_uint_32)img->dims[off + 1],
                                     c == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY, px, NULL, "PNG");
    fv_free(px);
    return st;
}

fv_status fv_png_write_file(const char *path, png_uint_32 w, png_uint_32 h, png_uint_32 format,
                            const unsigned char *px, const unsigned char *map, const char *what)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = w, im.height = h;
    im.format = format;
    im.colormap_entries = map ? 256 : 0;
    fv_atomic_file af;
    fv_status st = fv_atomic_open(&af, path);
    if (st == FV_OK && !png_image_write_to_stdio(&im, af.f, 0, px, 0, map)) {
        st = fv_err(FV_ERR_IO, "%s: cannot write %s: %s", path, what, im.message);
        fv_atomic_abort(&af);
    } else if (st == FV_OK) {
        st = fv_atomic_commit(&af);
    }
    return st;
}

/* ---------------------------------------------------------------- reading from memory */

static void on_error(png_structp png, png_const_charp msg)
{
    fv_png_mem *m = png_get_error_ptr(png);
    snprintf(m->msg, sizeof m->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void on_read(png_structp png, png_bytep out, size_t n)
{
    fv_png_mem *m = png_get_io_ptr(png);
    if (n > m->len - m->pos)
        png_error(png, "read beyond end of data");
    memcpy(out, m->buf + m->pos, n);
    m->pos += n;
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t n)
{
    fv_png_mem *m = png_get_mem_ptr(png);
    void *p = fv_malloc(n, m->what);
    m->nomem |= !p;
    return p;
}

static void on_free(png_structp png, png_voidp p) { (void)png, fv_free(p); }

png_structp fv_png_mem_reader(fv_png_mem *m)
{
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, m, on_error, on_warning,
                                               m, on_malloc, on_free);
    if (png)
        png_set_read_fn(png, m, on_read);
    return png;
}

/* st is assigned after the jump, never read from before it; png and info are not changed
 * after setjmp. */
fv_status fv_png_mem_decode(fv_png_mem *m, png_structp *pngp, png_infop *infop,
                            fv_png_header_fn header, fv_png_rows_fn rows, void *dec)
{
    png_structp png = *pngp = fv_png_mem_reader(m);
    png_infop info = *infop = png ? png_create_info_struct(png) : NULL;
    if (!info)
        return fv_err(FV_ERR_NOMEM, "%s: out of memory starting the PNG decoder", m->name);
    fv_status st;
    if (setjmp(png_jmpbuf(png))) {
        st = m->nomem ? FV_ERR_NOMEM
                      : fv_err(FV_ERR_FORMAT, "%s: corrupt PNG: %s", m->name, m->msg);
    } else {
        png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
        png_set_chunk_malloc_max(png, PNG_MAX_CHUNK);
        png_read_info(png, info);
        st = header(dec);
        if (st == FV_OK) {
            int passes = png_set_interlace_handling(png);
            png_read_update_info(png, info);
            st = rows(dec, passes);
        }
    }
    return st;
}

void fv_png_mem_end(png_structp *png, png_infop *info)
{
    png_destroy_read_struct(*png ? png : NULL, *info ? info : NULL, NULL);
}

fv_status fv_png_mem_limits(png_structp png, png_infop info, const fv_png_mem *m,
                            int64_t max_pixels)
{
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((int64_t)w * h > max_pixels)
        return fv_err(FV_ERR_FORMAT, "%s: %ux%u pixels is more than the limit of %lld", m->name,
                      w, h, (long long)max_pixels);
    uint64_t raw = (uint64_t)h * png_get_rowbytes(png, info);
    if (raw > (uint64_t)m->len * DEFLATE_MAX_RATIO + 4096)
        return fv_err(FV_ERR_FORMAT, "%s: corrupt PNG: %ux%u pixels cannot come from a file of %zu "
                      "bytes (truncated?)", m->name, w, h, m->len);
    return FV_OK;
}
