/* jpeg.c - JPEG input and output through libjpeg-turbo. libjpeg reports errors by calling
 * error_exit (which by default exits): ours formats the message and longjmp's back to the one
 * frame that called setjmp, and warnings (corrupt or truncated data) are errors too, so a bad
 * file fails cleanly. All state the jump must see lives in a context struct, never in locals.
 * Decoded rows are stored as they come (a header promising a huge image costs memory only as
 * its rows are really decoded), and libjpeg's own memory is held to the cap on decoded data.
 * Images are (1, C, H, W) floats in [0, 1]: C = 1 (grayscale JPEG) or 3 (YCbCr/RGB). */
#include "data/data.h"

#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>

#define JPEG_DEFAULT_MAX_PIXELS ((int64_t)1 << 26)
#define JPEG_MAX_SCANS 500 /* progressive files with more are hostile (decoding time explodes) */
#define JPEG_DEFAULT_QUALITY 90
#define JPEG_MAX_SIDE ((int64_t)JPEG_MAX_DIMENSION) /* libjpeg's limit, 65500 */

typedef struct jerr {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us this pointer */
    jmp_buf jump;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void on_error(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jump, 1);
}

/* Level -1 is a warning (corrupt data, premature end of file): an error for us. Traces: quiet. */
static void on_message(j_common_ptr c, int level)
{
    if (level < 0)
        on_error(c);
}

static void on_progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        jerr *e = (jerr *)c->err;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(e->jump, 1);
    }
}

static void init_err(jerr *e, j_common_ptr c)
{
    c->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->msg[0] = '\0';
}

/* ---------------------------------------------------------------- decoding */

typedef struct jdec {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jerr err;
    const char *name;
    int64_t max_pixels;
    fv_grow px; /* the rows decoded so far: interleaved bytes */
    int c;
    int64_t h, w;
} jdec;

/* After the header: the output color space and the size limit. */
static fv_status choose_output(jdec *d, int *c)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE: *c = 1, ci->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: *c = 3, ci->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
        return fv_err(FV_ERR_FORMAT, "%s: CMYK JPEG images are not supported (convert to RGB)",
                      d->name);
    default:
        return fv_err(FV_ERR_FORMAT, "%s: JPEG color space %d is not supported", d->name,
                      (int)ci->jpeg_color_space);
    }
    if (ci->image_width < 1 || ci->image_height < 1 ||
        (int64_t)ci->image_width * ci->image_height > d->max_pixels)
        return fv_err(FV_ERR_FORMAT, "%s: %ux%u pixels is more than the limit of %lld", d->name,
                      ci->image_width, ci->image_height, (long long)d->max_pixels);
    char what[300];
    snprintf(what, sizeof what, "%s: a %ux%u image", d->name, ci->image_width, ci->image_height);
    FV_TRY(fv_data_check(what, (uint64_t)*c * ci->image_width * ci->image_height * sizeof(float)));
    ci->mem->max_memory_to_use = (long)(fv_data_limit() < LONG_MAX ? fv_data_limit() : LONG_MAX);
    return FV_OK;
}

/* Decompresses into d->px, growing it row by row. Runs under the setjmp. */
static fv_status read_pixels(jdec *d, int c)
{
    struct jpeg_decompress_struct *ci = &d->cinfo;
    jpeg_start_decompress(ci);
    if (ci->output_components != c)
        return fv_err(FV_ERR_FORMAT, "%s: corrupt JPEG: %d components where %d were expected",
                      d->name, ci->output_components, c);
    d->c = c, d->w = ci->output_width, d->h = ci->output_height;
    size_t row = (size_t)(d->w * c), all = row * (size_t)d->h;
    while (ci->output_scanline < ci->output_height) {
        int64_t y = ci->output_scanline;
        FV_TRY(fv_grow_to(&d->px, row * (size_t)(y + 1), all, "JPEG pixels"));
        JSAMPROW rows[1] = {d->px.p + row * (size_t)y};
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            return fv_err(FV_ERR_FORMAT, "%s: corrupt JPEG: no data for row %lld", d->name,
                          (long long)y);
        d->px.len = row * (size_t)(y + 1);
    }
    jpeg_finish_decompress(ci);
    return FV_OK;
}

/* Interleaved HWC bytes -> planar CHW floats. */
static fv_tensor *to_tensor(const jdec *d)
{
    int64_t hw = d->h * d->w, dims[4] = {1, d->c, d->h, d->w};
    float *v = fv_malloc(sizeof(float) * (size_t)(hw * d->c), "JPEG image");
    for (int64_t p = 0; v && p < hw; p++)
        for (int k = 0; k < d->c; k++)
            v[k * hw + p] = d->px.p[p * d->c + k] / 255.0f;
    return fv_tensor_adopt(v, 4, dims);
}

/* The one frame with setjmp: every exit destroys the decompressor; d->t survives only on FV_OK. */
static fv_status decode(jdec *d, const unsigned char *buf, size_t len)
{
    fv_status st;
    init_err(&d->err, (j_common_ptr)&d->cinfo);
    if (setjmp(d->err.jump)) { /* st is assigned after the jump, never read from before it */
        st = fv_err(FV_ERR_FORMAT, "%s: corrupt JPEG: %s", d->name, d->err.msg);
    } else {
        jpeg_create_decompress(&d->cinfo);
        d->progress.progress_monitor = on_progress;
        d->cinfo.progress = &d->progress;
        jpeg_mem_src(&d->cinfo, buf, (unsigned long)len);
        int c = 0;
        if (jpeg_read_header(&d->cinfo, TRUE) != JPEG_HEADER_OK)
            st = fv_err(FV_ERR_FORMAT, "%s: corrupt JPEG: no image", d->name);
        else if ((st = choose_output(d, &c)) == FV_OK)
            st = read_pixels(d, c);
    }
    jpeg_destroy_decompress(&d->cinfo);
    return st;
}

fv_tensor *fv_jpeg_decode(const char *name, const unsigned char *buf, size_t len,
                          int64_t max_pixels)
{
    if (len < 3 || buf[0] != 0xFF || buf[1] != 0xD8 || buf[2] != 0xFF) {
        fv_err(FV_ERR_FORMAT, "%s: not a JPEG file (bad signature)", name);
        return NULL;
    }
    jdec *d = fv_calloc(1, sizeof *d, "JPEG decoder");
    if (!d)
        return NULL;
    d->name = name;
    d->max_pixels = max_pixels > 0 ? max_pixels : JPEG_DEFAULT_MAX_PIXELS;
    fv_tensor *t = decode(d, buf, len) == FV_OK ? to_tensor(d) : NULL;
    fv_free(d->px.p);
    fv_free(d);
    return t;
}

fv_tensor *fv_jpeg_load(const char *path) { return fv_image_file(path, fv_jpeg_decode); }

/* ---------------------------------------------------------------- encoding */

typedef struct jenc {
    struct jpeg_compress_struct cinfo;
    jerr err;
    const fv_tensor *img;
    unsigned char *row;
} jenc;

/* Compresses e->img (contiguous (C, H, W) after the batch dimension) to f, under the setjmp. */
static fv_status write_pixels(jenc *e, FILE *f, int c, int64_t h, int64_t w, int quality)
{
    struct jpeg_compress_struct *ci = &e->cinfo;
    jpeg_stdio_dest(ci, f);
    ci->image_width = (JDIMENSION)w, ci->image_height = (JDIMENSION)h;
    ci->input_components = c;
    ci->in_color_space = c == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(ci);
    jpeg_set_quality(ci, quality, TRUE);
    if (!(e->row = fv_malloc((size_t)(w * c), "JPEG row")))
        return FV_ERR_NOMEM;
    jpeg_start_compress(ci, TRUE);
    const float *px = e->img->data;
    for (int64_t y = 0; y < h; y++) {
        for (int64_t x = 0; x < w; x++)
            for (int k = 0; k < c; k++) {
                float v = px[(k * h + y) * w + x];
                v = v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; /* NaN -> 0 */
                e->row[x * c + k] = (unsigned char)lrintf(v * 255.0f);
            }
        JSAMPROW rows[1] = {e->row};
        jpeg_write_scanlines(ci, rows, 1);
    }
    jpeg_finish_compress(ci);
    return FV_OK;
}

static fv_status encode(jenc *e, const char *path, FILE *f, int c, int64_t h, int64_t w,
                        int quality)
{
    fv_status st;
    init_err(&e->err, (j_common_ptr)&e->cinfo);
    if (setjmp(e->err.jump)) {
        st = fv_err(FV_ERR_IO, "%s: cannot write JPEG: %s", path, e->err.msg);
    } else {
        jpeg_create_compress(&e->cinfo);
        st = write_pixels(e, f, c, h, w, quality);
    }
    jpeg_destroy_compress(&e->cinfo);
    return st;
}

fv_status fv_jpeg_save(const char *path, const fv_tensor *img, int quality)
{
    int off = img->ndim == 4 ? 1 : 0;
    char s[96];
    if ((img->ndim != 3 && img->ndim != 4) || (off && img->dims[0] != 1) ||
        (img->dims[off] != 1 && img->dims[off] != 3) || img->dims[off + 1] < 1 ||
        img->dims[off + 2] < 1 || img->dims[off + 1] > JPEG_MAX_SIDE ||
        img->dims[off + 2] > JPEG_MAX_SIDE || !fv_tensor_is_contiguous(img))
        return fv_err(FV_ERR_SHAPE, "%s: a JPEG image must be (1 or 3, height, width) of at "
                      "most %lld pixels a side, got %s", path, (long long)JPEG_MAX_SIDE,
                      fv_shape_str(img->ndim, img->dims, s, sizeof s));
    if (quality < 0 || quality > 100)
        return fv_err(FV_ERR_INVALID, "%s: JPEG quality %d is not in 1..100 (0: %d)", path,
                      quality, JPEG_DEFAULT_QUALITY);
    jenc *e = fv_calloc(1, sizeof *e, "JPEG encoder");
    if (!e)
        return FV_ERR_NOMEM;
    e->img = img;
    fv_atomic_file af;
    fv_status st = fv_atomic_open(&af, path);
    if (st == FV_OK)
        st = encode(e, path, af.f, (int)img->dims[off], img->dims[off + 1], img->dims[off + 2],
                    quality ? quality : JPEG_DEFAULT_QUALITY);
    if (st == FV_OK)
        st = fv_atomic_commit(&af);
    else
        fv_atomic_abort(&af);
    fv_free(e->row);
    fv_free(e);
    return st;
}
