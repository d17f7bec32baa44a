/* cases_images.c - hostile PNG and JPEG files given to `fovea predict`: valid oddities (every bit
 * depth and color type, palettes, 16-bit, interlaced, CMYK, progressive), corruption (CRCs,
 * truncation, bad header fields, garbage scans), headers claiming huge images over little data,
 * chunk lengths of 2^31-1, text and ICC bombs, and special files in place of an image. */
#include "hostile.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void predict(h_case *c, h_expect e, int flags, const char *img)
{
    fix_copy("tiny.fv", "tiny.fv");
    fix_copy("run/weights.safetensors", "w.safetensors");
    h_run(c, e, flags, "predict", "tiny.fv", "--weights", "w.safetensors", img, NULL);
}

static void predict_buf(h_case *c, h_expect e, int flags, const h_buf *b, const char *name)
{
    w_file(name, b->p, b->n);
    predict(c, e, flags, name);
}

/* ---------------------------------------------------------------- valid oddities (libpng) */

static void png_ok(h_case *c, int w, int h, int depth, int color, int interlace)
{
    png_lib("img.png", w, h, depth, color, interlace, 5);
    predict(c, EXPECT_OK, 0, "img.png");
}
static void gray1(h_case *c) { png_ok(c, 13, 7, 1, PNG_COLOR_TYPE_GRAY, 0); }
static void gray2(h_case *c) { png_ok(c, 13, 7, 2, PNG_COLOR_TYPE_GRAY, 0); }
static void gray4(h_case *c) { png_ok(c, 13, 7, 4, PNG_COLOR_TYPE_GRAY, 0); }
static void gray16(h_case *c) { png_ok(c, 9, 9, 16, PNG_COLOR_TYPE_GRAY, 0); }
static void ga8(h_case *c) { png_ok(c, 9, 9, 8, PNG_COLOR_TYPE_GRAY_ALPHA, 0); }
static void ga16(h_case *c) { png_ok(c, 9, 9, 16, PNG_COLOR_TYPE_GRAY_ALPHA, 0); }
static void rgb16(h_case *c) { png_ok(c, 9, 9, 16, PNG_COLOR_TYPE_RGB, 0); }
static void rgba8(h_case *c) { png_ok(c, 9, 9, 8, PNG_COLOR_TYPE_RGB_ALPHA, 0); }
static void rgba16(h_case *c) { png_ok(c, 9, 9, 16, PNG_COLOR_TYPE_RGB_ALPHA, 0); }
static void pal1(h_case *c) { png_ok(c, 13, 7, 1, PNG_COLOR_TYPE_PALETTE, 0); }
static void pal2(h_case *c) { png_ok(c, 13, 7, 2, PNG_COLOR_TYPE_PALETTE, 0); }
static void pal4(h_case *c) { png_ok(c, 13, 7, 4, PNG_COLOR_TYPE_PALETTE, 0); }
static void pal8(h_case *c) { png_ok(c, 13, 7, 8, PNG_COLOR_TYPE_PALETTE, 0); }
static void ilace_gray(h_case *c) { png_ok(c, 17, 11, 8, PNG_COLOR_TYPE_GRAY, 1); }
static void ilace_rgb16(h_case *c) { png_ok(c, 17, 11, 16, PNG_COLOR_TYPE_RGB, 1); }
static void ilace_pal4(h_case *c) { png_ok(c, 17, 11, 4, PNG_COLOR_TYPE_PALETTE, 1); }
static void one_pixel(h_case *c) { png_ok(c, 1, 1, 8, PNG_COLOR_TYPE_GRAY, 0); }
static void wide_thin(h_case *c) { png_ok(c, 20000, 1, 8, PNG_COLOR_TYPE_RGB, 0); }

/* ---------------------------------------------------------------- PNG by hand */

/* Offset of the first chunk of this type in a PNG (its length field), or 0. */
static size_t chunk_at(const h_buf *b, const char *type)
{
    for (size_t at = 8; at + 12 <= b->n;) {
        uint32_t len = (uint32_t)b->p[at] << 24 | (uint32_t)b->p[at + 1] << 16 |
                       (uint32_t)b->p[at + 2] << 8 | b->p[at + 3];
        if (!memcmp(b->p + at + 4, type, 4))
            return at;
        at += 12 + (size_t)len;
    }
    return 0;
}

static void fix_crc(h_buf *b, size_t at)
{
    uint32_t len = (uint32_t)b->p[at] << 24 | (uint32_t)b->p[at + 1] << 16 |
                   (uint32_t)b->p[at + 2] << 8 | b->p[at + 3];
    uLong crc = crc32(crc32(0, NULL, 0), b->p + at + 4, len + 4);
    for (int i = 0; i < 4; i++)
        b->p[at + 8 + len + (size_t)i] = (unsigned char)(crc >> (24 - 8 * i));
}

static void base_png(h_buf *b)
{
    png_lib("base.png", 16, 16, 8, PNG_COLOR_TYPE_RGB, 0, 1);
    size_t n;
    unsigned char *p = r_file("base.png", &n);
    hb_put(b, p, n);
    free(p);
    remove("base.png");
}

/* The base PNG with byte `off` of chunk `type`'s data set to v (CRC fixed when fix). */
static void png_poke(h_case *c, const char *type, size_t off, int v, int fix, h_expect e)
{
    h_buf b = {0};
    base_png(&b);
    size_t at = chunk_at(&b, type);
    b.p[at + 8 + off] = (unsigned char)v;
    if (fix)
        fix_crc(&b, at);
    predict_buf(c, e, 0, &b, "img.png");
    hb_free(&b);
}
static void ihdr_crc(h_case *c) { png_poke(c, "IHDR", 3, 17, 0, EXPECT_ERR); }
static void idat_crc(h_case *c) { png_poke(c, "IDAT", 5, 0x33, 0, EXPECT_ERR); }
static void width0(h_case *c) { png_poke(c, "IHDR", 3, 0, 1, EXPECT_ERR); }
static void depth3(h_case *c) { png_poke(c, "IHDR", 8, 3, 1, EXPECT_ERR); }
static void color7(h_case *c) { png_poke(c, "IHDR", 9, 7, 1, EXPECT_ERR); }
static void rgb_depth4(h_case *c) { png_poke(c, "IHDR", 8, 4, 1, EXPECT_ERR); }
static void filter_method(h_case *c) { png_poke(c, "IHDR", 11, 9, 1, EXPECT_ERR); }
static void interlace_9(h_case *c) { png_poke(c, "IHDR", 12, 9, 1, EXPECT_ERR); }
static void idat_zlib(h_case *c) { png_poke(c, "IDAT", 0, 0x7f, 1, EXPECT_ERR); }
/* a palette image without PLTE: the RGB base relabelled as color type 3 */
static void no_plte(h_case *c) { png_poke(c, "IHDR", 9, 3, 1, EXPECT_ERR); }

static void png_cut(h_case *c, int where)
{
    h_buf b = {0};
    base_png(&b);
    size_t at = chunk_at(&b, "IDAT");
    b.n = where == 0 ? 0 : where == 1 ? 8 : where == 2 ? 33 : where == 3 ? at + 8 + 20 : b.n - 12;
    predict_buf(c, where == 4 ? EXPECT_CLEAN : EXPECT_ERR, 0, &b, "img.png");
    hb_free(&b);
}
static void png_empty(h_case *c) { png_cut(c, 0); }
static void png_sig_only(h_case *c) { png_cut(c, 1); }
static void png_after_ihdr(h_case *c) { png_cut(c, 2); }
static void png_trunc_idat(h_case *c) { png_cut(c, 3); }
static void png_no_iend(h_case *c) { png_cut(c, 4); }

static void png_bad_sig(h_case *c)
{
    h_buf b = {0};
    base_png(&b);
    b.p[1] = 'Q';
    predict_buf(c, EXPECT_ERR, 0, &b, "img.png");
    hb_free(&b);
}

static void png_after_iend(h_case *c)
{
    h_buf b = {0};
    base_png(&b);
    hb_put(&b, "junk after IEND", 15);
    predict_buf(c, EXPECT_CLEAN, 0, &b, "img.png");
    hb_free(&b);
}

/* The base PNG with a chunk inserted before IDAT (its CRC right). */
static void png_insert(h_case *c, const char *type, const void *data, uint32_t len, h_expect e,
                       int flags)
{
    h_buf b = {0}, out = {0};
    base_png(&b);
    size_t at = chunk_at(&b, "IDAT");
    hb_put(&out, b.p, at);
    png_chunk(&out, type, data, len);
    hb_put(&out, b.p + at, b.n - at);
    predict_buf(c, e, flags, &out, "img.png");
    hb_free(&b), hb_free(&out);
}
static void unknown_ancillary(h_case *c) { png_insert(c, "teSt", "hello", 5, EXPECT_OK, 0); }
static void unknown_critical(h_case *c) { png_insert(c, "ABCD", "hello", 5, EXPECT_ERR, 0); }
static void second_ihdr(h_case *c)
{
    static const unsigned char d[13] = {0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 0, 0, 0};
    png_insert(c, "IHDR", d, 13, EXPECT_ERR, 0);
}
static void gama_zero(h_case *c) { png_insert(c, "gAMA", "\0\0\0\0", 4, EXPECT_CLEAN, 0); }
static void plte_in_rgb_300(h_case *c)
{
    unsigned char pal[900] = {0};
    png_insert(c, "PLTE", pal, sizeof pal, EXPECT_CLEAN, 0);
}
static void actl(h_case *c) { png_insert(c, "acTL", "\0\0\0\1\0\0\0\0", 8, EXPECT_OK, 0); }

/* A compressed text/profile chunk: keyword, method 0, then a zlib stream of n zero bytes. */
static void png_zchunk(h_case *c, const char *type, uint64_t n)
{
    h_buf z = {0};
    hb_put(&z, "Comment\0\0", 9);
    zlib_zeros(n, &z);
    png_insert(c, type, z.p, (uint32_t)z.n, EXPECT_CLEAN, F_NOOOM);
    hb_free(&z);
}
static void ztxt_bomb(h_case *c) { png_zchunk(c, "zTXt", 1ull << 30); }
static void iccp_bomb(h_case *c) { png_zchunk(c, "iCCP", 1ull << 30); }

/* A 1x1 PNG whose next chunk claims 2^31-1 bytes and the file ends 50 bytes later (91 bytes). */
static void claim_2g(h_case *c, const char *type)
{
    h_buf b = {0};
    png_ihdr(&b, 1, 1, 8, 0, 0);
    hb_u32be(&b, 0x7fffffff);
    hb_put(&b, type, 4);
    for (int i = 0; i < 50; i++)
        hb_put(&b, "x", 1);
    predict_buf(c, EXPECT_ERR, F_NOOOM, &b, "img.png");
    hb_free(&b);
}
static void text_2g(h_case *c) { claim_2g(c, "tEXt"); }
static void itxt_2g(h_case *c) { claim_2g(c, "iTXt"); }
static void ancillary_2g(h_case *c) { claim_2g(c, "zzZz"); }
static void idat_2g(h_case *c) { claim_2g(c, "IDAT"); }

static void png_big(h_case *c, uint32_t w, uint32_t h, int color, h_expect e)
{
    h_buf b = {0};
    png_claim(&b, w, h, color);
    predict_buf(c, e, F_NOOOM | F_SMALLMEM, &b, "img.png");
    hb_free(&b);
}
static void big_8192_rgb(h_case *c) { png_big(c, 8192, 8192, 2, EXPECT_ERR); }
static void big_8192_gray(h_case *c) { png_big(c, 8192, 8192, 0, EXPECT_ERR); }
static void big_65535(h_case *c) { png_big(c, 65535, 65535, 2, EXPECT_ERR); }
static void big_width_2g(h_case *c) { png_big(c, 0x7fffffff, 1, 0, EXPECT_ERR); }

/* A 1x1 gray image whose IDAT inflates to 256 MiB (1 GiB in the long run) past the image. */
static void idat_bomb(h_case *c)
{
    h_buf b = {0}, z = {0};
    png_ihdr(&b, 1, 1, 8, 0, 0);
    zlib_zeros(h_long ? 1ull << 30 : 1ull << 28, &z);
    png_chunk(&b, "IDAT", z.p, (uint32_t)z.n);
    png_chunk(&b, "IEND", NULL, 0);
    predict_buf(c, EXPECT_CLEAN, F_NOOOM, &b, "img.png");
    hb_free(&b), hb_free(&z);
}

/* ---------------------------------------------------------------- JPEG */

static void jpeg_ok(h_case *c, int comps, int progressive, h_expect e)
{
    h_buf b = {0};
    jpeg_lib(&b, 19, 13, comps, progressive);
    predict_buf(c, e, 0, &b, "img.jpg");
    hb_free(&b);
}
static void jpeg_gray(h_case *c) { jpeg_ok(c, 1, 0, EXPECT_OK); }
static void jpeg_rgb(h_case *c) { jpeg_ok(c, 3, 0, EXPECT_OK); }
static void jpeg_prog(h_case *c) { jpeg_ok(c, 3, 1, EXPECT_OK); }
static void jpeg_prog_gray(h_case *c) { jpeg_ok(c, 1, 1, EXPECT_OK); }
static void jpeg_cmyk(h_case *c) { jpeg_ok(c, 4, 0, EXPECT_CLEAN); }
static void jpeg_cmyk_prog(h_case *c) { jpeg_ok(c, 4, 1, EXPECT_CLEAN); }

/* Offset of the first SOFn marker (its 0xFF). */
static size_t sof_at(const h_buf *b)
{
    for (size_t i = 2; i + 9 < b->n; i++)
        if (b->p[i] == 0xff && (b->p[i + 1] == 0xc0 || b->p[i + 1] == 0xc2))
            return i;
    h_die("no SOF marker");
    return 0;
}

static size_t sos_at(const h_buf *b, int nth)
{
    for (size_t i = 2; i + 1 < b->n; i++)
        if (b->p[i] == 0xff && b->p[i + 1] == 0xda && nth-- == 0)
            return i;
    h_die("no SOS marker");
    return 0;
}

/* A JPEG whose SOF claims h x w (precision p), with its real 16x16 data. */
static void jpeg_dims(h_case *c, int comps, int progressive, unsigned h, unsigned w, int prec,
                      h_expect e)
{
    h_buf b = {0};
    jpeg_lib(&b, 16, 16, comps, progressive);
    size_t s = sof_at(&b);
    b.p[s + 4] = (unsigned char)prec;
    b.p[s + 5] = (unsigned char)(h >> 8), b.p[s + 6] = (unsigned char)h;
    b.p[s + 7] = (unsigned char)(w >> 8), b.p[s + 8] = (unsigned char)w;
    predict_buf(c, e, F_NOOOM | F_SMALLMEM, &b, "img.jpg");
    hb_free(&b);
}
static void jpeg_65500(h_case *c) { jpeg_dims(c, 3, 0, 65500, 65500, 8, EXPECT_ERR); }
static void jpeg_8192_rgb(h_case *c) { jpeg_dims(c, 3, 0, 8192, 8192, 8, EXPECT_CLEAN); }
static void jpeg_8192_prog(h_case *c) { jpeg_dims(c, 3, 1, 8192, 8192, 8, EXPECT_CLEAN); }
static void jpeg_8192_cmyk(h_case *c) { jpeg_dims(c, 4, 0, 8192, 8192, 8, EXPECT_CLEAN); }
static void jpeg_zero(h_case *c) { jpeg_dims(c, 3, 0, 0, 16, 8, EXPECT_ERR); }
static void jpeg_prec12(h_case *c) { jpeg_dims(c, 3, 0, 16, 16, 12, EXPECT_ERR); }

static void jpeg_cut(h_case *c, int where)
{
    h_buf b = {0};
    jpeg_lib(&b, 64, 64, 3, where == 3);
    b.n = where == 0 ? 0 : where == 1 ? 2 : where == 2 ? sos_at(&b, 0) : b.n / 2;
    predict_buf(c, where == 2 || where < 2 ? EXPECT_ERR : EXPECT_CLEAN, 0, &b, "img.jpg");
    hb_free(&b);
}
static void jpeg_empty(h_case *c) { jpeg_cut(c, 0); }
static void jpeg_soi_only(h_case *c) { jpeg_cut(c, 1); }
static void jpeg_no_scan(h_case *c) { jpeg_cut(c, 2); }
static void jpeg_half(h_case *c) { jpeg_cut(c, 4); }
static void jpeg_prog_half(h_case *c) { jpeg_cut(c, 3); }

/* Progressive scans with their entropy-coded bytes overwritten by random ones. */
static void jpeg_prog_garbage(h_case *c)
{
    h_buf b = {0};
    jpeg_lib(&b, 64, 64, 3, 1);
    for (size_t i = sos_at(&b, 0) + 14; i + 2 < b.n; i++)
        if (h_below(4) == 0 && b.p[i] != 0xff && b.p[i - 1] != 0xff)
            b.p[i] = (unsigned char)(h_rand() & 0x7f);
    predict_buf(c, EXPECT_CLEAN, 0, &b, "img.jpg");
    hb_free(&b);
}

/* A progressive JPEG with its last scan repeated 600 times. */
static void jpeg_many_scans(h_case *c)
{
    h_buf b = {0}, out = {0};
    jpeg_lib(&b, 32, 32, 1, 1);
    size_t last = 0;
    for (size_t i = 2; i + 1 < b.n; i++)
        if (b.p[i] == 0xff && b.p[i + 1] == 0xda)
            last = i;
    hb_put(&out, b.p, b.n - 2); /* without EOI */
    for (int k = 0; k < 600; k++)
        hb_put(&out, b.p + last, b.n - 2 - last);
    hb_put(&out, "\xff\xd9", 2);
    predict_buf(c, EXPECT_CLEAN, 0, &out, "img.jpg");
    hb_free(&b), hb_free(&out);
}

static void jpeg_garbage(h_case *c)
{
    h_buf b = {0};
    hb_put(&b, "\xff\xd8", 2);
    for (int i = 0; i < 4000; i++) {
        unsigned char v = (unsigned char)h_rand();
        hb_put(&b, &v, 1);
    }
    predict_buf(c, EXPECT_ERR, 0, &b, "img.jpg");
    hb_free(&b);
}

const h_entry h_cases_images[] = {
    {"png/gray-1bit", gray1, 0},
    {"png/gray-2bit", gray2, 0},
    {"png/gray-4bit", gray4, 0},
    {"png/gray-16bit", gray16, 0},
    {"png/gray-alpha", ga8, 0},
    {"png/gray-alpha-16bit", ga16, 0},
    {"png/rgb-16bit", rgb16, 0},
    {"png/rgba", rgba8, 0},
    {"png/rgba-16bit", rgba16, 0},
    {"png/palette-1bit", pal1, 0},
    {"png/palette-2bit", pal2, 0},
    {"png/palette-4bit", pal4, 0},
    {"png/palette-8bit", pal8, 0},
    {"png/interlaced-gray", ilace_gray, 0},
    {"png/interlaced-rgb-16bit", ilace_rgb16, 0},
    {"png/interlaced-palette-4bit", ilace_pal4, 0},
    {"png/1x1", one_pixel, 0},
    {"png/20000x1", wide_thin, 0},
    {"png/bad-signature", png_bad_sig, 0},
    {"png/ihdr-bad-crc", ihdr_crc, 0},
    {"png/idat-bad-crc", idat_crc, 0},
    {"png/width-0", width0, 0},
    {"png/bit-depth-3", depth3, 0},
    {"png/color-type-7", color7, 0},
    {"png/rgb-bit-depth-4", rgb_depth4, 0},
    {"png/filter-method-9", filter_method, 0},
    {"png/interlace-method-9", interlace_9, 0},
    {"png/idat-bad-zlib", idat_zlib, 0},
    {"png/palette-type-no-plte", no_plte, 0},
    {"png/empty", png_empty, 0},
    {"png/signature-only", png_sig_only, 0},
    {"png/ends-after-ihdr", png_after_ihdr, 0},
    {"png/truncated-idat", png_trunc_idat, 0},
    {"png/no-iend", png_no_iend, 0},
    {"png/junk-after-iend", png_after_iend, 0},
    {"png/unknown-ancillary-chunk", unknown_ancillary, 0},
    {"png/unknown-critical-chunk", unknown_critical, 0},
    {"png/second-ihdr", second_ihdr, 0},
    {"png/gama-0", gama_zero, 0},
    {"png/plte-300-entries-in-rgb", plte_in_rgb_300, 0},
    {"png/apng-actl", actl, 0},
    {"png/ztxt-bomb-1GiB", ztxt_bomb, 0},
    {"png/iccp-bomb-1GiB", iccp_bomb, 0},
    {"png/text-chunk-2^31-1", text_2g, 0},
    {"png/itxt-chunk-2^31-1", itxt_2g, 0},
    {"png/ancillary-chunk-2^31-1", ancillary_2g, 0},
    {"png/idat-chunk-2^31-1", idat_2g, 0},
    {"png/8192x8192-rgb-4-rows", big_8192_rgb, 0},
    {"png/8192x8192-gray-4-rows", big_8192_gray, 0},
    {"png/65535x65535", big_65535, 0},
    {"png/width-2^31-1", big_width_2g, 0},
    {"png/idat-bomb", idat_bomb, 0},
    {"jpeg/gray", jpeg_gray, 0},
    {"jpeg/rgb", jpeg_rgb, 0},
    {"jpeg/progressive", jpeg_prog, 0},
    {"jpeg/progressive-gray", jpeg_prog_gray, 0},
    {"jpeg/cmyk", jpeg_cmyk, 0},
    {"jpeg/cmyk-progressive", jpeg_cmyk_prog, 0},
    {"jpeg/65500x65500", jpeg_65500, 0},
    {"jpeg/8192x8192-rgb-16x16-data", jpeg_8192_rgb, 0},
    {"jpeg/8192x8192-progressive", jpeg_8192_prog, 0},
    {"jpeg/8192x8192-cmyk", jpeg_8192_cmyk, 0},
    {"jpeg/height-0", jpeg_zero, 0},
    {"jpeg/precision-12", jpeg_prec12, 0},
    {"jpeg/empty", jpeg_empty, 0},
    {"jpeg/soi-only", jpeg_soi_only, 0},
    {"jpeg/ends-before-scan", jpeg_no_scan, 0},
    {"jpeg/truncated-half", jpeg_half, 0},
    {"jpeg/progressive-truncated-half", jpeg_prog_half, 0},
    {"jpeg/progressive-garbage", jpeg_prog_garbage, 0},
    {"jpeg/progressive-600-scans", jpeg_many_scans, 0},
    {"jpeg/garbage-after-soi", jpeg_garbage, 0},
    {NULL, NULL, 0},
};
