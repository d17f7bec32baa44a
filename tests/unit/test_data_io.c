/* test_data_io.c - the file parsers and writers with real and malformed input: IDX (plain, gzip,
 * wrong magic, truncated, absurd sizes), MNIST-format folders (missing files, mismatched counts,
 * slicing, normalization, the real Fashion-MNIST when installed), PNG (round trips, every color
 * type through libpng, corrupt bytes, atomic writes, fitting to an input) and safetensors
 * (round trip, malformed headers). Every failure must leave a one-line error naming the file. */
#include "core/internal.h"
#include "data/data.h"
#include "io/io.h"
#include "test.h"
#include "testfs.h"

#include <png.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile g = gzopen(path, "wb");
    gzwrite(g, data, (unsigned)len);
    gzclose(g);
}

/* An IDX u8 file: magic 00 00 08 ndim, big-endian dims, then the bytes. */
static size_t idx_bytes(unsigned char *out, int ndim, const uint32_t *dims, const unsigned char *v)
{
    size_t k = 0, n = 1;
    out[k++] = 0, out[k++] = 0, out[k++] = 8, out[k++] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        for (int b = 3; b >= 0; b--)
            out[k++] = (unsigned char)(dims[i] >> (8 * b));
        n *= dims[i];
    }
    memcpy(out + k, v, n);
    return k + n;
}

static int one_line_error(void)
{
    const char *e = fv_last_error();
    return e[0] != '\0' && strchr(e, '\n') == NULL;
}

/* ---------------------------------------------------------------- IDX */

/* 3 images of 2x2 and 3 labels, written plain and gzipped. */
static void write_mnist(const char *split, int gz, int nlabels)
{
    unsigned char img[64], lab[32], pix[12] = {0, 255, 51, 102, 1, 2, 3, 4, 200, 100, 50, 25};
    unsigned char labels[3] = {2, 0, 9};
    uint32_t idims[3] = {3, 2, 2}, ldims[1] = {(uint32_t)nlabels};
    size_t ni = idx_bytes(img, 3, idims, pix), nl = idx_bytes(lab, 1, ldims, labels);
    char ip[64], lp[64];
    snprintf(ip, sizeof ip, "%s-images-idx3-ubyte%s", split, gz ? ".gz" : "");
    snprintf(lp, sizeof lp, "%s-labels-idx1-ubyte%s", split, gz ? ".gz" : "");
    if (gz) {
        write_gz(t_path(ip), img, ni);
        write_gz(t_path(lp), lab, nl);
    } else {
        t_write(t_path(ip), img, ni);
        t_write(t_path(lp), lab, nl);
    }
}

TEST(idx_plain_and_gzip)
{
    write_mnist("train", 0, 3);
    write_mnist("t10k", 1, 3);
    fv_tensor *a = fv_idx_load(t_path("train-images-idx3-ubyte"));
    fv_tensor *b = fv_idx_load(t_path("t10k-images-idx3-ubyte.gz"));
    CHECK(a && b && a->ndim == 3 && a->dims[0] == 3 && a->dims[1] == 2 && a->dims[2] == 2);
    CHECK(a && b && memcmp(a->data, b->data, 12 * sizeof(float)) == 0);
    CHECK(a && a->data[1] == 255.0f && a->data[8] == 200.0f);
    fv_tensor_free(a), fv_tensor_free(b);
}

TEST(idx_malformed)
{
    unsigned char buf[64], pix[4] = {1, 2, 3, 4};
    uint32_t dims[2] = {2, 2};
    size_t n = idx_bytes(buf, 2, dims, pix);
    fv_tensor *t = fv_idx_decode("ok.idx", buf, n);
    CHECK(t != NULL);
    fv_tensor_free(t);
    struct {
        size_t len;
        int byte, value;
        const char *needle;
    } cases[] = {
        {2, -1, 0, "bad.idx: truncated header"},
        {6, -1, 0, "bad.idx: truncated header"},
        {n - 1, -1, 0, "bad.idx: truncated: expected 4 bytes of data, got 3"},
        {n, 0, 0x47, "bad.idx: not an IDX file"},
        {n, 2, 0x0D, "bad.idx"}, /* float32 data: not what MNIST files hold */
        {n, 3, 9, "bad.idx: IDX file with 9 dimensions"},
        {n, 4, 0xFF, "bad.idx"}, /* 4 billion rows promised by a 12-byte file */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char b[64];
        memcpy(b, buf, n);
        if (cases[i].byte >= 0)
            b[cases[i].byte] = (unsigned char)cases[i].value;
        fv_tensor *bad = fv_idx_decode("bad.idx", b, cases[i].len);
        CHECK(bad == NULL);
        CHECK_ERR_HAS(cases[i].needle);
        CHECK(one_line_error());
        fv_tensor_free(bad);
    }
    /* found by fuzz_idx: an empty first dimension beside two huge ones (strides overflow) */
    unsigned char huge[16] = {0, 0, 8, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(fv_idx_decode("huge.idx", huge, sizeof huge) == NULL);
    CHECK_ERR_HAS("huge.idx: absurd IDX dimensions");
    /* gzip: a corrupt stream, and a valid stream of a truncated file */
    write_gz(t_path("short.gz"), buf, n - 2);
    CHECK(fv_idx_load(t_path("short.gz")) == NULL);
    CHECK_ERR_HAS("short.gz: truncated");
    unsigned char junk[20] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'g', 'a', 'r', 'b', 'a', 'g'};
    CHECK(fv_idx_decode("junk.gz", junk, sizeof junk) == NULL);
    CHECK_ERR_HAS("junk.gz");
    CHECK(fv_idx_load(t_path("none.idx")) == NULL);
    CHECK_ERR_HAS("none.idx: No such file or directory");
}

/* ---------------------------------------------------------------- MNIST folders */

TEST(mnist_folder)
{
    fv_dataset *d = fv_dataset_load_mnist_dir(t_dir, 1);
    CHECK(d != NULL);
    if (d) {
        CHECK(d->x->ndim == 4 && d->x->dims[0] == 3 && d->x->dims[1] == 1 && d->x->dims[3] == 2);
        CHECK(d->x->data[1] == 1.0f && d->x->data[0] == 0.0f);
        CHECK(d->y->data[0] == 2 && d->y->data[2] == 9 && d->num_classes == 10);
        fv_dataset *part = fv_dataset_take(d, 1, 2);
        CHECK(part && part->x->dims[0] == 2 && part->y->data[0] == 0);
        CHECK(part && fv_dataset_normalize(part, 0.5f, 0.5f) == FV_OK);
        CHECK(part && part->x->data[0] == (1.0f / 255 - 0.5f) / 0.5f);
        CHECK(part && fv_dataset_normalize(part, 0.5f, 0.0f) != FV_OK);
        CHECK(fv_dataset_take(d, 2, 2) == NULL);
        CHECK_ERR_HAS("out of range");
        fv_dataset_free(part);
    }
    fv_dataset_free(d);
    fv_dataset *t = fv_dataset_load_mnist_dir(t_dir, 0); /* the gzipped split */
    CHECK(t && t->x->dims[0] == 3);
    fv_dataset_free(t);
    write_mnist("train", 0, 2); /* labels say 2, images 3 */
    CHECK(fv_dataset_load_mnist_dir(t_dir, 1) == NULL);
    CHECK_ERR_HAS("has 2 labels but");
    CHECK(fv_dataset_load_mnist_dir(t_path("nothing"), 1) == NULL);
    CHECK_ERR_HAS("nothing/train-images-idx3-ubyte[.gz]: No such file or directory");
    CHECK_ERR_HAS("dataset-fashion-mnist");
    CHECK(one_line_error());
}

/* sub/<split>-{images,labels}: n images of 2x2 and their labels, plain. */
static void write_pair(const char *sub, const char *split, const unsigned char *labels, int n)
{
    unsigned char img[64] = {0}, lab[64];
    uint32_t idims[3] = {(uint32_t)n, 2, 2}, ldims[1] = {(uint32_t)n};
    size_t ni = idx_bytes(img, 3, idims, img + 32), nl = idx_bytes(lab, 1, ldims, labels);
    char p[128];
    snprintf(p, sizeof p, "%s", t_path(sub));
    mkdir(p, 0777);
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", sub, split);
    t_write(t_path(p), img, ni);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", sub, split);
    t_write(t_path(p), lab, nl);
}

static int has_name(const fv_dataset *d, int k, const char *want)
{
    const char *name = fv_dataset_class_name(d, k);
    if (!name || strcmp(name, want))
        fprintf(stderr, "  class %d is '%s', expected '%s'\n", k, name ? name : "(none)", want);
    return name && !strcmp(name, want);
}

/* Without classes.txt both splits take 1 + the largest label of both label files, read whole: a
 * test split missing class 9 used to have fewer classes; a test label beyond the training labels
 * (or a limit) used to be an error or change the count. */
TEST(mnist_test_split_classes)
{
    write_pair("cls", "train", (const unsigned char *)"\x02\x00\x09", 3);
    write_pair("cls", "t10k", (const unsigned char *)"\x01\x01\x00", 3);
    fv_dataset *te = fv_dataset_load_dir(t_path("cls"), 0);
    CHECK(te && te->num_classes == 10 && te->x->dims[0] == 3);
    CHECK(te && has_name(te, 9, "9") && has_name(te, 0, "0")); /* 10 classes: the digits */
    fv_dataset_free(te);
    write_pair("cls", "t10k", (const unsigned char *)"\x01\x0c\x00", 3);
    te = fv_dataset_load_dir(t_path("cls"), 0);
    fv_dataset *tr = fv_dataset_load_dir_n(t_path("cls"), 1, 1);
    CHECK(te && te->num_classes == 13 && has_name(te, 12, "class 12"));
    CHECK(tr && tr->num_classes == 13 && tr->x->dims[0] == 1);
    fv_dataset_free(te), fv_dataset_free(tr);
    /* training labels all 0, the test's 0 and 1 (the hostile suite's --limit case) */
    write_pair("zeros", "train", (const unsigned char *)"\x00\x00\x00", 3);
    write_pair("zeros", "t10k", (const unsigned char *)"\x00\x01\x00", 3);
    te = fv_dataset_load_dir_n(t_path("zeros"), 0, 2);
    tr = fv_dataset_load_dir_n(t_path("zeros"), 1, 2);
    CHECK(te && te->num_classes == 2 && te->y->data[1] == 1);
    CHECK(tr && tr->num_classes == 2 && has_name(tr, 1, "class 1"));
    fv_dataset_free(te), fv_dataset_free(tr);
    /* a malformed labels file of either split is an error for both */
    t_write(t_path("zeros/t10k-labels-idx1-ubyte"), "\0\0\x08\x01\0\0\0\x05\x01", 9);
    CHECK(fv_dataset_load_dir(t_path("zeros"), 1) == NULL);
    CHECK_ERR_HAS("zeros/t10k-labels-idx1-ubyte: truncated: expected 5 bytes of data, got 1");
    CHECK(one_line_error());
    /* no training files: the test split's own labels */
    write_pair("alone", "t10k", (const unsigned char *)"\x01\x03\x00", 3);
    te = fv_dataset_load_mnist_dir(t_path("alone"), 0);
    CHECK(te && te->num_classes == 4 && has_name(te, 3, "class 3"));
    fv_dataset_free(te);
}

/* Class names: classes.txt, else Fashion-MNIST's in a Fashion-MNIST folder, else the digits for
 * 10 classes, else "class k"; slicing keeps them. */
TEST(mnist_class_names)
{
    write_pair("named", "train", (const unsigned char *)"\x02\x00\x01", 3);
    write_pair("named", "t10k", (const unsigned char *)"\x01\x01\x03", 3);
    t_write(t_path("named/classes.txt"), " cat \r\ndog\nbird\n\n\n", 18);
    fv_dataset *tr = fv_dataset_load_dir(t_path("named"), 1);
    CHECK(tr && tr->num_classes == 3 && has_name(tr, 0, "cat") && has_name(tr, 1, "dog") &&
          has_name(tr, 2, "bird"));
    CHECK(tr && fv_dataset_class_name(tr, 3) == NULL && fv_dataset_class_name(tr, -1) == NULL);
    fv_dataset *part = tr ? fv_dataset_take(tr, 1, 2) : NULL;
    CHECK(part && part->num_classes == 3 && has_name(part, 2, "bird"));
    CHECK(part && fv_dataset_class_name(part, 2) != fv_dataset_class_name(tr, 2));
    fv_dataset_free(part), fv_dataset_free(tr);
    CHECK(fv_dataset_load_dir(t_path("named"), 0) == NULL); /* label 3 of 3 classes */
    CHECK_ERR_HAS("sample 2 has label 3, not one of the 3 classes of");
    CHECK_ERR_HAS("named/classes.txt");
    t_write(t_path("named/classes.txt"), "cat\n\nbird\n", 10);
    CHECK(fv_dataset_load_dir(t_path("named"), 1) == NULL);
    CHECK_ERR_HAS("named/classes.txt: line 2 is empty");
    /* names made valid UTF-8: each invalid byte and control character becomes '?' */
    write_pair("raw", "train", (const unsigned char *)"\x02\x00\x01", 3);
    t_write(t_path("raw/classes.txt"), "ca\xfft\nd\x7fo\tg\nb\xc3\xa9\xc2\x85\n", 17);
    tr = fv_dataset_load_dir(t_path("raw"), 1);
    CHECK(tr && has_name(tr, 0, "ca?t") && has_name(tr, 1, "d?o?g") &&
          has_name(tr, 2, "b\xc3\xa9?"));
    fv_dataset_free(tr);
    write_pair("My-FASHION-set", "train", (const unsigned char *)"\x02\x00\x09", 3);
    tr = fv_dataset_load_dir(t_path("My-FASHION-set"), 1);
    CHECK(tr && has_name(tr, 9, "Ankle boot") && has_name(tr, 0, "T-shirt/top"));
    fv_dataset_free(tr);
    write_pair("three", "train", (const unsigned char *)"\x02\x00\x01", 3);
    tr = fv_dataset_load_dir(t_path("three"), 1);
    CHECK(tr && tr->num_classes == 3 && has_name(tr, 0, "class 0") && has_name(tr, 2, "class 2"));
    fv_dataset_free(tr);
    fv_dataset *idx = fv_dataset_load_idx(t_path("three/train-images-idx3-ubyte"),
                                          t_path("three/train-labels-idx1-ubyte"));
    CHECK(idx && has_name(idx, 1, "class 1"));
    fv_dataset_free(idx);
}

/* An empty set is reported at load, not as a shape mismatch later. */
TEST(mnist_empty)
{
    write_pair("empty", "train", (const unsigned char *)"", 0);
    CHECK(fv_dataset_load_dir(t_path("empty"), 1) == NULL);
    CHECK_ERR_HAS("empty/train-images-idx3-ubyte: no images");
    CHECK(one_line_error());
    /* images of no pixels: reported at load (it was a shape mismatch when training) */
    unsigned char b[32] = {0};
    uint32_t dims[3] = {3, 0, 2};
    t_write(t_path("empty/train-images-idx3-ubyte"), b, idx_bytes(b, 3, dims, b));
    write_pair("empty", "t10k", (const unsigned char *)"\x00\x01\x00", 3);
    t_write(t_path("empty/train-labels-idx1-ubyte"), b, idx_bytes(b, 1, dims, b + 20));
    CHECK(fv_dataset_load_dir(t_path("empty"), 1) == NULL);
    CHECK_ERR_HAS("empty/train-images-idx3-ubyte: no pixels: images of 0x2");
    CHECK(one_line_error());
}

TEST(real_fashion_mnist)
{
    struct stat st;
    if (stat(fv_default_data_dir(), &st) != 0) {
        printf("skipped: Fashion-MNIST is not installed\n");
        return;
    }
    fv_dataset *d = fv_dataset_load_mnist_dir(NULL, 0);
    CHECK(d && d->x->dims[0] == 10000 && d->x->dims[2] == 28 && d->num_classes == 10);
    CHECK(d && d->y->data[0] == 9); /* the first test image is an ankle boot */
    CHECK(strcmp(fv_fashion_mnist_class(9), "Ankle boot") == 0);
    CHECK(strcmp(fv_fashion_mnist_class(10), "?") == 0);
    fv_dataset_free(d);
}

/* ---------------------------------------------------------------- PNG */

/* Writes a PNG with libpng's full API: any color type and bit depth. */
static void write_png_raw(const char *path, int w, int h, int color, int depth)
{
    FILE *f = fopen(path, "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    png_init_io(p, f);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, color, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_color pal[2] = {{0, 0, 0}, {255, 128, 0}};
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(p, info, pal, 2);
    png_write_info(p, info);
    int ch = color == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : color == PNG_COLOR_TYPE_RGB ? 3
             : color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    unsigned char row[256];
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w * ch * (depth / 8 ? depth / 8 : 1); x++)
            row[x] = (unsigned char)(color == PNG_COLOR_TYPE_PALETTE ? (x + y) % 2 : 255);
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    fclose(f);
}

TEST(png_round_trip_and_color_types)
{
    for (int c = 1; c <= 3; c += 2) {
        fv_tensor *img = fv_tensor_new4(1, c, 3, 5);
        for (int64_t i = 0; i < fv_tensor_numel(img); i++)
            img->data[i] = (float)(i % 7) / 6.0f;
        const char *p = t_path(c == 1 ? "gray.png" : "rgb.png");
        CHECK_STATUS(fv_png_save(p, img), FV_OK);
        fv_tensor *back = fv_png_load(p);
        CHECK(back && back->dims[1] == c && back->dims[2] == 3 && back->dims[3] == 5);
        if (back)
            CHECK_ARRAY_NEAR(back->data, img->data, fv_tensor_numel(img), 0.51 / 255, 0);
        fv_tensor_free(img), fv_tensor_free(back);
    }
    const struct { int color, depth, channels; float first; } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, 16, 1, 1.0f},      {PNG_COLOR_TYPE_GRAY_ALPHA, 8, 1, 1.0f},
        {PNG_COLOR_TYPE_RGB_ALPHA, 8, 3, 1.0f}, {PNG_COLOR_TYPE_PALETTE, 8, 3, 0.0f},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        write_png_raw(t_path("kind.png"), 4, 3, kinds[i].color, kinds[i].depth);
        fv_tensor *t = fv_png_load(t_path("kind.png"));
        CHECK(t && t->dims[1] == kinds[i].channels && t->dims[2] == 3 && t->dims[3] == 4);
        CHECK(t && fabsf(t->data[0] - kinds[i].first) < 1e-6f);
        fv_tensor_free(t);
    }
    fv_tensor *real = fv_png_load(t_src_path("data/fashion_trouser.png"));
    CHECK(real && real->dims[1] == 1 && real->dims[2] == 28 && real->dims[3] == 28);
    fv_tensor_free(real);
}

TEST(png_malformed_and_atomic)
{
    unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[64];
    memcpy(buf, sig, 8);
    memcpy(buf + 8, "\0\0\0\x0dIHDRgarbage-garbage-garbage", 30);
    CHECK(fv_png_decode("bad.png", buf, 38, 0) == NULL);
    CHECK_ERR_HAS("bad.png: corrupt PNG");
    CHECK(one_line_error());
    CHECK(fv_png_decode("gif.png", (const unsigned char *)"GIF89a....", 10, 0) == NULL);
    CHECK_ERR_HAS("gif.png: not a PNG file");
    unsigned char *file;
    size_t len;
    CHECK_STATUS(fv_read_file(t_src_path("data/fashion_bag.png"), 1 << 20, &file, &len), FV_OK);
    for (size_t cut = 8; cut < len; cut += len / 7) { /* truncations */
        fv_tensor *t = fv_png_decode("cut.png", file, cut, 0);
        CHECK(t == NULL && one_line_error());
        fv_tensor_free(t);
    }
    CHECK(fv_png_decode("big.png", file, len, 100) == NULL); /* 784 pixels > 100 */
    CHECK_ERR_HAS("big.png: 28x28 pixels is more than the limit");
    free(file);
    fv_tensor *img = fv_tensor_new4(1, 1, 2, 2);
    CHECK(fv_png_save(t_path("no/such/dir/x.png"), img) != FV_OK);
    CHECK_ERR_HAS("no/such/dir");
    fv_tensor *bad = fv_tensor_new4(1, 2, 2, 2);
    CHECK(fv_png_save(t_path("two.png"), bad) == FV_ERR_SHAPE);
    CHECK(access(t_path("two.png"), F_OK) != 0);
    fv_tensor_free(img), fv_tensor_free(bad);
}

TEST(image_fit)
{
    fv_tensor *rgb = fv_tensor_new4(1, 3, 2, 2);
    for (int i = 0; i < 4; i++)
        rgb->data[i] = 1.0f, rgb->data[4 + i] = 0.5f, rgb->data[8 + i] = 0.0f;
    fv_tensor *g = fv_image_fit(rgb, 1, 4, 4);
    CHECK(g && g->dims[1] == 1 && g->dims[2] == 4);
    CHECK(g && fabsf(g->data[5] - (0.299f + 0.587f * 0.5f)) < 1e-6f);
    fv_tensor *back = g ? fv_image_fit(g, 3, 4, 4) : NULL;
    CHECK(back && back->data[0] == back->data[16] && back->data[16] == back->data[32]);
    /* a 2x1 ramp up-sampled to 4x1 with half-pixel centers: 0, 0.25, 0.75, 1 */
    fv_tensor *ramp = fv_tensor_new4(1, 1, 1, 2);
    ramp->data[1] = 1.0f;
    fv_tensor *r = fv_image_fit(ramp, 1, 1, 4);
    CHECK(r && r->data[0] == 0 && fabsf(r->data[1] - 0.25f) < 1e-6f &&
          fabsf(r->data[2] - 0.75f) < 1e-6f && r->data[3] == 1.0f);
    fv_tensor *two = fv_tensor_new4(1, 2, 2, 2);
    CHECK(fv_image_fit(two, 1, 2, 2) == NULL);
    CHECK_ERR_HAS("cannot fit an image of shape (1, 2, 2, 2)");
    fv_tensor_free(rgb), fv_tensor_free(g), fv_tensor_free(back), fv_tensor_free(ramp);
    fv_tensor_free(r), fv_tensor_free(two);
}

/* ---------------------------------------------------------------- safetensors */

/* A header + data blob: 8-byte little-endian length, the JSON, then `data` bytes of zeros. */
static size_t st_bytes(unsigned char *out, const char *json, size_t data)
{
    size_t n = strlen(json);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)(n >> (8 * i));
    memcpy(out + 8, json, n);
    memset(out + 8 + n, 0, data);
    return 8 + n + data;
}

TEST(safetensors_round_trip)
{
    fv_tensor *a = fv_tensor_new4(2, 3, 1, 1), *b = fv_tensor_new4(1, 1, 1, 5);
    for (int i = 0; i < 6; i++)
        a->data[i] = (float)i - 2.5f;
    const char *names[2] = {"conv1.weight", "fc.bias"};
    const fv_tensor *ts[2] = {a, b};
    CHECK_STATUS(fv_st_save(t_path("w.safetensors"), 2, names, ts), FV_OK);
    fv_st_file *f = fv_st_open(t_path("w.safetensors"));
    CHECK(f && fv_st_count(f) == 2);
    fv_tensor *back = f ? fv_st_get(f, "conv1.weight") : NULL;
    CHECK(back && back->ndim == 4 && memcmp(back->data, a->data, 6 * sizeof(float)) == 0);
    CHECK(f && fv_st_get(f, "nothere") == NULL);
    CHECK_ERR_HAS("no tensor 'nothere'");
    fv_tensor_free(back);
    fv_st_close(f);
    const char *dup[2] = {"x", "x"};
    CHECK(fv_st_save(t_path("dup.safetensors"), 2, dup, ts) != FV_OK);
    CHECK_ERR_HAS("duplicate tensor name 'x'");
    CHECK(access(t_path("dup.safetensors"), F_OK) != 0);
    fv_tensor_free(a), fv_tensor_free(b);
}

TEST(safetensors_malformed)
{
    static const struct {
        const char *json;
        size_t data;
        const char *needle;
    } cases[] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, NULL},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "invalid JSON"},
        {"[1,2]", 0, "not a JSON object"},
        {"{\"a\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "out of range"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "do not match"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative"},
        {"{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "no shape"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "duplicate tensor"},
        {"{\"__metadata__\":{\"k\":3}}", 0, "__metadata__ must map strings"},
    };
    unsigned char buf[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = st_bytes(buf, cases[i].json, cases[i].data);
        fv_st_file *f = fv_st_open_mem("m.safetensors", buf, n);
        if (!cases[i].needle) {
            CHECK(f != NULL);
        } else {
            CHECK(f == NULL);
            CHECK_ERR_HAS(cases[i].needle);
            CHECK_ERR_HAS("m.safetensors");
            CHECK(one_line_error());
        }
        fv_st_close(f);
    }
    size_t n = st_bytes(buf, "{}", 0);
    buf[0] = 0xff, buf[5] = 0x01; /* a header length beyond the file */
    CHECK(fv_st_open_mem("m.safetensors", buf, n) == NULL);
    CHECK_ERR_HAS("header length");
    CHECK(fv_st_open_mem("m.safetensors", buf, 5) == NULL);
    CHECK_ERR_HAS("too short");
}

/* No "<name>.tmp.<pid>" left beside the target after a save, successful or not. */
static int no_temp_files(void)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.tmp\\.'", t_dir);
    return system(cmd) != 0;
}

TEST(safetensors_pytorch_layout_and_atomic)
{
    /* written by tests/golden/stio.py from PyTorch tensors: x = relu input, y = relu(x) */
    fv_st_file *f = fv_st_open(t_src_path("data/golden/act_relu.safetensors"));
    CHECK(f && fv_st_count(f) == 4);
    fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *y = f ? fv_st_get(f, "y") : NULL;
    CHECK(x && y && x->ndim == 3 && x->dims[0] == 3 && x->dims[2] == 5);
    for (int64_t i = 0; x && y && i < fv_tensor_numel(x); i++)
        CHECK(y->data[i] == (x->data[i] > 0 ? x->data[i] : 0.0f));
    fv_tensor_free(x), fv_tensor_free(y);
    fv_st_close(f);
    unsigned char buf[256];
    size_t n = st_bytes(buf, "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
    f = fv_st_open_mem("i.safetensors", buf, n); /* a valid file, a dtype fovea cannot read */
    CHECK(f && fv_st_get(f, "i") == NULL);
    CHECK_ERR_HAS("i.safetensors: tensor 'i' has dtype I32");
    fv_st_close(f);
    fv_tensor *a = fv_tensor_new4(1, 1, 1, 3);
    const char *names[1] = {"a"};
    const fv_tensor *ts[1] = {a};
    CHECK_STATUS(fv_st_save(t_path("a.safetensors"), 1, names, ts), FV_OK);
    CHECK(fv_st_save(t_path("missing/a.safetensors"), 1, names, ts) != FV_OK);
    CHECK(one_line_error());
    CHECK(no_temp_files());
    fv_tensor_free(a);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(idx_plain_and_gzip), T_TEST(idx_malformed), T_TEST(mnist_folder),
        T_TEST(mnist_test_split_classes), T_TEST(mnist_class_names), T_TEST(mnist_empty),
        T_TEST(real_fashion_mnist), T_TEST(png_round_trip_and_color_types),
        T_TEST(png_malformed_and_atomic), T_TEST(image_fit), T_TEST(safetensors_round_trip),
        T_TEST(safetensors_malformed), T_TEST(safetensors_pytorch_layout_and_atomic)
    };
    return t_main_scratch("/tmp/fovea_io_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
