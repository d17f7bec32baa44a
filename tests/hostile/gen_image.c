/* gen_image.c - PNG and JPEG for the hostile cases: PNG chunks written by hand (so any length,
 * CRC or header field can be wrong), valid oddities written by libpng (palettes, bit depths,
 * 16-bit, interlacing), and JPEGs written by libjpeg (gray, RGB, CMYK, progressive). */
#include "hostile.h"

#include <stdio.h> /* before jpeglib.h, which needs FILE */

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

void png_chunk(h_buf *b, const char *type, const void *data, uint32_t len)
{
    hb_u32be(b, len);
    hb_put(b, type, 4);
    hb_put(b, data, len);
    uLong crc = crc32(crc32(0, NULL, 0), (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, len);
    hb_u32be(b, (uint32_t)crc);
}

void png_ihdr(h_buf *b, uint32_t w, uint32_t h, int depth, int color, int interlace)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char d[13];
    for (int i = 0; i < 4; i++)
        d[i] = (unsigned char)(w >> (24 - 8 * i)), d[4 + i] = (unsigned char)(h >> (24 - 8 * i));
    d[8] = (unsigned char)depth, d[9] = (unsigned char)color, d[10] = 0, d[11] = 0;
    d[12] = (unsigned char)interlace;
    hb_put(b, sig, 8);
    png_chunk(b, "IHDR", d, 13);
}

void png_claim(h_buf *b, uint32_t w, uint32_t h, int color)
{
    png_ihdr(b, w, h, 8, color, 0);
    size_t row = (size_t)w * (color == 2 ? 3 : 1) + 1, n = row * 4 < 65536 ? row * 4 : 65536;
    unsigned char *raw = calloc(n, 1);
    uLongf zn = compressBound((uLong)n);
    unsigned char *z = malloc(zn);
    if (!raw || !z || compress2(z, &zn, raw, (uLong)n, 9) != Z_OK)
        h_die("png_claim");
    png_chunk(b, "IDAT", z, (uint32_t)zn);
    png_chunk(b, "IEND", NULL, 0);
    free(raw), free(z);
}

/* ---------------------------------------------------------------- libpng writer */

static int png_channels(int color)
{
    switch (color) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Sample (x, y, channel) of a test picture, in 0..maxval. */
static unsigned sample(int x, int y, int ch, unsigned maxval, int pattern)
{
    if (pattern < 0) /* one class's bars */
        return (pattern == -1 ? (y % 8 == 0) : (x % 8 == 0)) ? maxval : 0;
    return (unsigned)((x * 7 + y * 13 + ch * 29 + pattern) % ((int)maxval + 1));
}

static void fill_row(unsigned char *row, int w, int y, int depth, int ch, int pattern)
{
    unsigned maxval = (1u << depth) - 1;
    if (depth == 16) {
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++) {
                unsigned v = sample(x, y, c, 65535, pattern);
                row[(x * ch + c) * 2] = (unsigned char)(v >> 8);
                row[(x * ch + c) * 2 + 1] = (unsigned char)v;
            }
        return;
    }
    size_t bits = 0;
    memset(row, 0, ((size_t)w * ch * depth + 7) / 8);
    for (int x = 0; x < w; x++)
        for (int c = 0; c < ch; c++, bits += (size_t)depth)
            row[bits / 8] |= (unsigned char)(sample(x, y, c, maxval, pattern)
                                             << (8 - depth - (int)(bits % 8)));
}

void png_lib(const char *path, int w, int h, int depth, int color, int interlace, int pattern)
{
    FILE *f = fopen(path, "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int ch = png_channels(color);
    size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
    unsigned char *px = malloc(rowbytes * (size_t)h);
    png_bytep *rows = malloc(sizeof *rows * (size_t)h);
    if (!f || !info || !px || !rows)
        h_die("png_lib %s: setup", path);
    if (setjmp(png_jmpbuf(p)))
        h_die("png_lib %s: libpng error", path);
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, color,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[256];
        for (int i = 0; i < 256; i++)
            pal[i] = (png_color){(png_byte)i, (png_byte)(255 - i), (png_byte)(i * 3)};
        png_set_PLTE(p, info, pal, 1 << depth);
    }
    png_write_info(p, info);
    for (int y = 0; y < h; y++) {
        rows[y] = px + rowbytes * (size_t)y;
        fill_row(rows[y], w, y, depth, ch, pattern);
    }
    png_write_image(p, rows); /* interlacing passes are made by libpng */
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    fclose(f);
    free(px), free(rows);
}

void png_class(const char *path, int k, int w, int h)
{
    unsigned char pat[64];
    class_pattern(k, pat);
    h_buf b = {0};
    png_ihdr(&b, (uint32_t)w, (uint32_t)h, 8, 0, 0);
    size_t stride = (size_t)w + 1;
    unsigned char *raw = calloc(stride, (size_t)h);
    if (!raw)
        h_die("out of memory");
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) /* the 8x8 pattern stretched over w x h */
            raw[stride * (size_t)y + 1 + (size_t)x] = pat[(y * 8 / h) * 8 + x * 8 / w];
    uLongf zn = compressBound((uLong)(stride * (size_t)h));
    unsigned char *z = malloc(zn);
    if (!z || compress2(z, &zn, raw, (uLong)(stride * (size_t)h), 9) != Z_OK)
        h_die("png_class: compress");
    png_chunk(&b, "IDAT", z, (uint32_t)zn);
    png_chunk(&b, "IEND", NULL, 0);
    w_file(path, b.p, b.n);
    hb_free(&b), free(raw), free(z);
}

/* ---------------------------------------------------------------- JPEG */

void jpeg_lib(h_buf *out, int w, int h, int comps, int progressive)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = comps;
    c.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * (size_t)comps);
    if (!row)
        h_die("out of memory");
    while (c.next_scanline < c.image_height) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < comps; k++)
                row[x * comps + k] = (unsigned char)sample(x, y, k, 255, 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    hb_put(out, mem, len);
    free(mem), free(row);
}
