/* test_data_limits.c - memory bombs and the cap on decoded data: small files that promise huge
 * chunks, images or tensors (PNG ancillary chunks claiming 2^31-1 bytes, PNG and JPEG headers
 * claiming 8192x8192, gzip IDX members claiming far more than they hold) must fail with a one-line
 * error while the process's peak virtual memory (VmPeak, which every mmap'd allocation raises,
 * touched or not) grows by less than PEAK_MIB; the cap (FOVEA_MAX_DATA_MB, fv_set_data_limit) is
 * checked before image folders, IDX and CIFAR files are allocated; fv_dataset_load_dir_n reads
 * only the first n samples. The peak tests run first, while the peak is still the current size. */
#include "core/internal.h"
#include "data/data.h"
#include "io/io.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PEAK_MIB 64

static int one_line_error(void)
{
    const char *e = fv_last_error();
    return e[0] != '\0' && strchr(e, '\n') == NULL;
}

/* ---------------------------------------------------------------- peak memory */

/* A field of /proc/self/status in KiB. */
static long vm_kib(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key)))
            v = atol(line + strlen(key));
    if (f)
        fclose(f);
    return v;
}

typedef struct peak {
    long size;
} peak;

/* Starts a measurement; it must be able to see a growth of PEAK_MIB (the peak is the size now). */
static peak peak_start(void)
{
    peak p = {vm_kib("VmSize:")};
    long top = vm_kib("VmPeak:");
    CHECK(p.size > 0 && top >= p.size);
    if (top - p.size >= PEAK_MIB << 10)
        fprintf(stderr, "  blind: the peak is already %ld MiB above the size\n",
                (top - p.size) >> 10);
    CHECK(top - p.size < PEAK_MIB << 10);
    return p;
}

static void peak_end(peak p, const char *what)
{
    long grew = vm_kib("VmPeak:") - p.size;
    if (grew >= PEAK_MIB << 10)
        fprintf(stderr, "  %s: peak virtual memory grew by %ld MiB\n", what, grew >> 10);
    CHECK(grew < PEAK_MIB << 10);
}

/* ---------------------------------------------------------------- PNG */

static size_t put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
    return 4;
}

/* A chunk: length (claimed: `claim`, or the data's when 0), type, data, CRC. */
static size_t chunk(unsigned char *out, const char *type, const void *data, size_t len,
                    uint32_t claim)
{
    size_t k = put32(out, claim ? claim : (uint32_t)len);
    memcpy(out + k, type, 4);
    memcpy(out + k + 4, data, len);
    uLong crc = crc32(crc32(0, NULL, 0), out + k, (uInt)(4 + len));
    k += 4 + len;
    return k + put32(out + k, (uint32_t)crc);
}

/* Signature and IHDR of a w x h 8-bit gray PNG. */
static size_t png_head(unsigned char *out, uint32_t w, uint32_t h)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0};
    put32(ihdr, w), put32(ihdr + 4, h);
    ihdr[8] = 8;
    memcpy(out, sig, 8);
    return 8 + chunk(out + 8, "IHDR", ihdr, 13, 0);
}

/* libpng used to buffer an ancillary chunk of any claimed length (2 GiB from a 91-byte file). */
TEST(png_huge_chunks)
{
    static const char *const types[] = {"tEXt", "zTXt", "iTXt", "iCCP", "eXIf", "sPLT", "prVt"};
    unsigned char buf[256];
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        size_t n = png_head(buf, 1, 1);
        n += chunk(buf + n, types[i], "k\0hello-hello-hello", 19, 0x7fffffffu);
        peak p = peak_start();
        fv_tensor *t = fv_png_decode("bomb.png", buf, n, 0);
        peak_end(p, types[i]);
        CHECK(t == NULL);
        CHECK_ERR_HAS("bomb.png: corrupt PNG");
        CHECK(one_line_error());
        fv_tensor_free(t);
    }
}

/* An 8192x8192 header over a few rows of data: refused by the size of the file, or (padded so
 * the size could hold it) failing after the rows present, without a zero-filled 8192x8192. */
TEST(png_huge_header)
{
    const uint32_t side = 8192;
    size_t rows = 4, raw_len = rows * (side + 1);
    unsigned char *raw = calloc(1, raw_len), *z = malloc(raw_len + 1024);
    unsigned char *buf = malloc(raw_len + 200000);
    uLongf zn = (uLongf)(raw_len + 1024);
    compress(z, &zn, raw, (uLong)raw_len);
    size_t n = png_head(buf, side, side);
    size_t idat = n;
    n += chunk(buf + n, "IDAT", z, zn, 0);
    size_t end = n;
    n += chunk(buf + n, "IEND", "", 0, 0);
    peak p = peak_start();
    fv_tensor *t = fv_png_decode("huge.png", buf, n, 0);
    peak_end(p, "8192x8192 PNG header");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("huge.png: corrupt PNG");
    /* padded with a 70 kB ancillary chunk before the data: big enough to hold the image */
    unsigned char *pad = calloc(1, 70000);
    memmove(buf + idat + 70012, buf + idat, end - idat);
    chunk(buf + idat, "prVt", pad, 70000, 0);
    n = end + 70012;
    n += chunk(buf + n, "IEND", "", 0, 0);
    p = peak_start();
    t = fv_png_decode("padded.png", buf, n, 0);
    peak_end(p, "padded 8192x8192 PNG header");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("padded.png: corrupt PNG");
    free(raw), free(z), free(buf), free(pad);
}

/* ---------------------------------------------------------------- JPEG */

/* A real 16x16 JPEG whose SOF0 header is patched to claim 8192x8192. */
TEST(jpeg_huge_header)
{
    fv_tensor *img = fv_tensor_new4(1, 3, 16, 16);
    for (int64_t i = 0; i < fv_tensor_numel(img); i++)
        img->data[i] = (float)(i % 5) / 4;
    CHECK_STATUS(fv_jpeg_save(t_path("small.jpg"), img, 90), FV_OK);
    fv_tensor_free(img);
    unsigned char *b = NULL;
    size_t n = 0;
    CHECK_STATUS(fv_read_file(t_path("small.jpg"), 1 << 20, &b, &n), FV_OK);
    int patched = 0;
    for (size_t i = 0; b && i + 9 < n && !patched; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0) { /* FF C0, length, precision, height, width */
            b[i + 5] = 0x20, b[i + 6] = 0, b[i + 7] = 0x20, b[i + 8] = 0;
            patched = 1;
        }
    CHECK(patched);
    peak p = peak_start();
    fv_tensor *t = b ? fv_jpeg_decode("huge.jpg", b, n, 0) : NULL;
    peak_end(p, "8192x8192 JPEG header");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("huge.jpg: corrupt JPEG");
    fv_tensor_free(t);
    free(b);
}

/* ---------------------------------------------------------------- IDX */

/* A gzip member of `len` bytes, then `pad` zero bytes (not gzip: ignored by the reader). */
static unsigned char *gzip_bytes(const unsigned char *data, size_t len, size_t pad, size_t *out)
{
    size_t cap = compressBound((uLong)len) + 64 + pad;
    unsigned char *g = calloc(1, cap);
    z_stream z = {0};
    deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (unsigned char *)data, z.avail_in = (uInt)len;
    z.next_out = g, z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *out = z.total_out + pad;
    deflateEnd(&z);
    return g;
}

/* An IDX header: magic 00 00 08 ndim, then the dimensions. */
static size_t idx_head(unsigned char *out, int ndim, const uint32_t *dims)
{
    out[0] = 0, out[1] = 0, out[2] = 8, out[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++)
        put32(out + 4 + 4 * i, dims[i]);
    return 4 + 4 * (size_t)ndim;
}

/* One 16384x16384 image promised (1 GiB of floats, under the default cap) by a gzip member of
 * 1000 bytes padded to 300 kB: failing must cost what arrived, not what was promised. */
TEST(idx_gzip_promises_more)
{
    unsigned char data[1012] = {0};
    uint32_t dims[3] = {1, 16384, 16384};
    idx_head(data, 3, dims);
    size_t n;
    unsigned char *g = gzip_bytes(data, sizeof data, 300000, &n);
    peak p = peak_start();
    fv_tensor *t = fv_idx_decode("big.gz", g, n);
    peak_end(p, "gzip IDX promising 16384x16384");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("big.gz: truncated");
    free(g);
    /* 65535x65535 (17 GB of floats): over the cap, whatever the data */
    uint32_t bomb[3] = {1, 65535, 65535};
    idx_head(data, 3, bomb);
    g = gzip_bytes(data, sizeof data, 0, &n);
    t = fv_idx_decode("bomb.gz", g, n);
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("bomb.gz");
    CHECK_ERR_HAS("more than the limit of 2048.0 MiB");
    free(g);
}

/* A plain IDX file must be exactly what its header promises. */
TEST(idx_plain_size_must_match)
{
    unsigned char b[64] = {0};
    uint32_t dims[2] = {2, 3};
    size_t n = idx_head(b, 2, dims) + 6;
    fv_tensor *t = fv_idx_decode("ok.idx", b, n);
    CHECK(t && t->dims[0] == 2 && t->dims[1] == 3);
    fv_tensor_free(t);
    CHECK(fv_idx_decode("long.idx", b, n + 5) == NULL);
    CHECK_ERR_HAS("long.idx: more data than the 6 bytes its header promises");
    size_t gn;
    unsigned char *g = gzip_bytes(b, n + 5, 0, &gn);
    CHECK(fv_idx_decode("long.gz", g, gn) == NULL);
    CHECK_ERR_HAS("long.gz: more data than the 6 bytes its header promises");
    free(g);
}

/* A sparse file of `size` bytes (no disk used) beginning with an IDX header of these dimensions. */
static void write_sparse_idx(const char *rel, int ndim, const uint32_t *dims, uint64_t size)
{
    unsigned char h[20];
    size_t n = idx_head(h, ndim, dims);
    FILE *f = fopen(t_path(rel), "wb");
    CHECK(f && fwrite(h, 1, n, f) == n && ftruncate(fileno(f), (off_t)size) == 0);
    if (f)
        fclose(f);
}

/* A real 1 GiB plain IDX file (2^24 images of 8x8) used to be read whole before its header was
 * checked: now its header and size are checked first and a limit reads only the first records. */
TEST(idx_plain_read_as_needed)
{
    uint32_t dims[3] = {1u << 24, 8, 8}, few[3] = {16, 8, 8};
    uint64_t size = 16 + (64ull << 24);
    write_sparse_idx("gig-idx3", 3, dims, size);
    int64_t total = 0;
    peak p = peak_start();
    fv_tensor *t = fv_idx_load_n(t_path("gig-idx3"), 16, &total);
    peak_end(p, "the first 16 images of a 1 GiB IDX file");
    CHECK(t && t->ndim == 3 && t->dims[0] == 16 && t->dims[2] == 8 && total == 1 << 24);
    fv_tensor_free(t);
    p = peak_start();
    t = fv_idx_load(t_path("gig-idx3")); /* 4 GiB of floats: over the cap */
    peak_end(p, "a 1 GiB IDX file over the cap");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("gig-idx3: 4096.0 MiB of decoded data is more than the limit");
    write_sparse_idx("gig-idx3", 3, few, size); /* 16 images promised, 1 GiB present */
    p = peak_start();
    t = fv_idx_load(t_path("gig-idx3"));
    peak_end(p, "a 1 GiB IDX file promising 16 images");
    CHECK(t == NULL && one_line_error());
    CHECK_ERR_HAS("gig-idx3: more data than the 1024 bytes its header promises");
    few[0] = 1u << 20; /* more than the file holds, under the cap */
    write_sparse_idx("gig-idx3", 3, few, 16 + 4096);
    CHECK(fv_idx_load_n(t_path("gig-idx3"), 0, NULL) == NULL);
    CHECK_ERR_HAS("gig-idx3: truncated: expected 67108864 bytes of data, got 4096");
    t = fv_idx_load_n(t_path("gig-idx3"), 64, &total); /* the first 64 are there */
    CHECK(t && t->dims[0] == 64 && total == 1 << 20 && t->data[64 * 64 - 1] == 0.0f);
    fv_tensor_free(t);
    remove(t_path("gig-idx3"));
}

/* ---------------------------------------------------------------- the cap */

static void save_png(const char *rel, int c, int h, int w, float v)
{
    fv_tensor *t = fv_tensor_new4(1, c, h, w);
    for (int64_t i = 0; i < fv_tensor_numel(t); i++)
        t->data[i] = v;
    CHECK_STATUS(fv_png_save(t_path(rel), t), FV_OK);
    fv_tensor_free(t);
}

/* A 256x256 first image among thumbnails sets the size of all: 4 x 3 x 256 x 256 floats (3 MiB)
 * are refused under a 1 MiB cap before they are allocated (before the mixed sizes are seen),
 * naming the folder, size and cap. */
TEST(image_folder_cap)
{
    mkdir(t_path("thumbs"), 0777), mkdir(t_path("thumbs/a"), 0777);
    save_png("thumbs/a/0.png", 3, 256, 256, 0.5f);
    save_png("thumbs/a/1.png", 3, 4, 4, 0.5f);
    save_png("thumbs/a/2.png", 3, 4, 4, 0.5f);
    save_png("thumbs/a/3.png", 3, 4, 4, 0.5f);
    setenv("FOVEA_MAX_DATA_MB", "1", 1);
    fv_dataset *d = fv_dataset_load_image_folder(t_path("thumbs"), 0, 0, 0);
    CHECK(d == NULL && one_line_error());
    CHECK_ERR_HAS(t_path("thumbs"));
    CHECK_ERR_HAS("4 images of 3x256x256: 3.0 MiB");
    CHECK_ERR_HAS("limit of 1.0 MiB");
    CHECK_ERR_HAS("FOVEA_MAX_DATA_MB");
    fv_dataset_free(d);
    setenv("FOVEA_MAX_DATA_MB", "16", 1);
    d = fv_dataset_load_image_folder(t_path("thumbs"), 0, 256, 256); /* mixed sizes: given */
    CHECK(d && d->x->dims[0] == 4 && d->x->dims[2] == 256);
    fv_dataset_free(d);
    unsetenv("FOVEA_MAX_DATA_MB");
}

/* IDX and CIFAR data over the cap are refused before allocating. */
TEST(idx_and_cifar_cap)
{
    static unsigned char b[16 + 300 * 1024];
    uint32_t dims[3] = {300, 32, 32};
    size_t n = idx_head(b, 3, dims) + 300 * 1024;
    setenv("FOVEA_MAX_DATA_MB", "1", 1); /* 1.2 MiB of floats */
    CHECK(fv_idx_decode("cap.idx", b, n) == NULL);
    CHECK_ERR_HAS("cap.idx: 1.2 MiB of decoded data is more than the limit of 1.0 MiB");
    mkdir(t_path("cifar"), 0777);
    FILE *f = fopen(t_path("cifar/test_batch.bin"), "wb");
    for (int i = 0; i < 100 * 3073; i++) /* 100 images: 1.2 MiB of floats */
        fputc(0, f);
    fclose(f);
    CHECK(fv_dataset_load_cifar10(t_path("cifar"), 0) == NULL);
    CHECK_ERR_HAS("100 CIFAR images: 1.2 MiB of decoded data is more than the limit");
    unsetenv("FOVEA_MAX_DATA_MB");
    fv_dataset *d = fv_dataset_load_cifar10(t_path("cifar"), 0);
    CHECK(d && d->x->dims[0] == 100);
    fv_dataset_free(d);
}

TEST(data_limit_api)
{
    const size_t mib = (size_t)1 << 20;
    CHECK(fv_data_limit() == 2048 * mib);
    setenv("FOVEA_MAX_DATA_MB", "3", 1);
    CHECK(fv_data_limit() == 3 * mib);
    fv_set_data_limit(5 * mib); /* the setter wins over the environment */
    CHECK(fv_data_limit() == 5 * mib);
    fv_set_data_limit(0);
    CHECK(fv_data_limit() == 3 * mib);
    setenv("FOVEA_MAX_DATA_MB", "lots", 1);
    unsigned char b[32] = {0};
    uint32_t dims[1] = {4};
    CHECK(fv_idx_decode("x.idx", b, idx_head(b, 1, dims) + 4) == NULL);
    CHECK_ERR_HAS("FOVEA_MAX_DATA_MB=lots is not a whole number of MiB");
    unsetenv("FOVEA_MAX_DATA_MB");
    fv_set_data_limit(16); /* 16 bytes: four floats pass, five do not */
    fv_tensor *t = fv_idx_decode("x.idx", b, idx_head(b, 1, dims) + 4);
    CHECK(t != NULL);
    fv_tensor_free(t);
    dims[0] = 5;
    CHECK(fv_idx_decode("x.idx", b, idx_head(b, 1, dims) + 5) == NULL);
    CHECK_ERR_HAS("more than the limit");
    fv_set_data_limit(0);
    CHECK(fv_data_limit() == 2048 * mib);
}

/* ---------------------------------------------------------------- the first n samples */

/* idx/: 5 images promised, 3 present (plain); labels 5; t10k the same gzipped with a bad CRC. */
static void write_short_idx(void)
{
    mkdir(t_path("idx"), 0777);
    unsigned char b[64] = {0};
    uint32_t id[3] = {5, 2, 2}, ld[1] = {5};
    size_t n = idx_head(b, 3, id);
    for (int i = 0; i < 12; i++)
        b[n + i] = (unsigned char)(10 * i);
    t_write_at("idx/train-images-idx3-ubyte", b, n + 12);
    size_t g;
    for (int i = 12; i < 20; i++)
        b[n + i] = (unsigned char)(10 * i);
    unsigned char *z = gzip_bytes(b, n + 20, 0, &g);
    z[g - 8] ^= 0xFF; /* the CRC, checked only after the last record */
    t_write_at("idx/t10k-images-idx3-ubyte.gz", z, g);
    free(z);
    n = idx_head(b, 1, ld);
    memcpy(b + n, "\x01\x00\x02\x01\x00", 5);
    t_write_at("idx/train-labels-idx1-ubyte", b, n + 5);
    t_write_at("idx/t10k-labels-idx1-ubyte", b, n + 5);
}

TEST(load_first_n)
{
    write_short_idx();
    CHECK(fv_dataset_load_dir(t_path("idx"), 1) == NULL);
    CHECK_ERR_HAS("train-images-idx3-ubyte: truncated");
    fv_dataset *d = fv_dataset_load_dir_n(t_path("idx"), 1, 2);
    CHECK(d && d->x->dims[0] == 2 && d->y->dims[0] == 2 && d->y->data[1] == 0);
    CHECK(d && d->x->data[4] == 40.0f / 255 && d->num_classes == 3);
    fv_dataset_free(d);
    CHECK(fv_dataset_load_dir(t_path("idx"), 0) == NULL);
    CHECK_ERR_HAS("t10k-images-idx3-ubyte.gz");
    d = fv_dataset_load_dir_n(t_path("idx"), 0, 4);
    CHECK(d && d->x->dims[0] == 4 && d->x->data[15] == 150.0f / 255);
    fv_dataset_free(d);
    CHECK(fv_dataset_load_dir_n(t_path("idx"), 0, 1000) == NULL); /* more than there are: all */
    CHECK_ERR_HAS("t10k-images-idx3-ubyte.gz");
    CHECK(fv_dataset_load_dir_n(t_path("idx"), 1, -1) == NULL);
    CHECK_ERR_HAS("a limit of -1 samples");
    /* CIFAR: the first batch's third record is cut short, later batches are missing */
    mkdir(t_path("cifar10"), 0777);
    FILE *f = fopen(t_path("cifar10/data_batch_1.bin"), "wb");
    for (int r = 0; r < 2 * 3073 + 100; r++)
        fputc(r % 3073 == 0 ? 7 : r % 256, f);
    fclose(f);
    d = fv_dataset_load_dir_n(t_path("cifar10"), 1, 2);
    CHECK(d && d->x->dims[0] == 2 && d->y->data[1] == 7);
    fv_dataset_free(d);
    CHECK(fv_dataset_load_dir(t_path("cifar10"), 1) == NULL);
    CHECK_ERR_HAS("data_batch_1.bin: 6246 bytes is not a whole number");
    /* an image folder: its third file is corrupt */
    mkdir(t_path("imgs"), 0777), mkdir(t_path("imgs/a"), 0777), mkdir(t_path("imgs/b"), 0777);
    save_png("imgs/a/1.png", 1, 4, 4, 0.2f);
    save_png("imgs/a/2.png", 1, 4, 4, 0.4f);
    t_write_at("imgs/b/3.png", "\x89PNG\r\n\x1a\n junk", 13);
    d = fv_dataset_load_dir_n(t_path("imgs"), 1, 2);
    CHECK(d && d->x->dims[0] == 2 && d->num_classes == 2);
    CHECK(d && fv_dataset_class_name(d, 1) && !strcmp(fv_dataset_class_name(d, 1), "b"));
    fv_dataset_free(d);
    CHECK(fv_dataset_load_dir(t_path("imgs"), 1) == NULL);
    CHECK_ERR_HAS("3.png: corrupt PNG");
}

int main(void)
{
    unsetenv("FOVEA_MAX_DATA_MB");
    /* the peak tests first */
    static const t_test tests[] = {
        T_TEST(png_huge_chunks), T_TEST(png_huge_header), T_TEST(jpeg_huge_header),
        T_TEST(idx_gzip_promises_more), T_TEST(idx_plain_size_must_match),
        T_TEST(idx_plain_read_as_needed), T_TEST(image_folder_cap), T_TEST(idx_and_cifar_cap),
        T_TEST(data_limit_api), T_TEST(load_first_n)
    };
    return t_main_scratch("/tmp/fovea_limits_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
