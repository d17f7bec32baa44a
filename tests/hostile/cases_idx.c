/* cases_idx.c - hostile IDX (plain and gzip) and CIFAR binary batches, each given to
 * `fovea train` as its --data folder: bad magic and data types, absurd and overflowing
 * dimensions, headers that claim more than the file holds, truncation, gzip corruption and bombs,
 * trailing junk, labels out of range, wrong record sizes, and special files in place of data. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static void train_on(h_case *c, h_expect e, int flags, const char *model, const char *data)
{
    fix_copy(model, model);
    h_run(c, e, flags | F_TRAIN, "train", model, "--data", data, "--epochs", "1", "--batch", "8",
          "--out", "out", "--quiet", NULL);
}

/* in/: the fixture's test split and these train images (NULL: the fixture's). */
static void idx_in(const h_buf *images, const h_buf *labels)
{
    static const char *const f[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    const h_buf *mine[2] = {images, labels};
    char from[64], to[64];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "idx/%s", f[i]);
        snprintf(to, sizeof to, "in/%s", f[i]);
        if (i < 2 && mine[i])
            w_file(to, mine[i]->p, mine[i]->n);
        else
            fix_copy(from, to);
    }
}

/* Train images with this magic type, dims and `data` bytes of patterns. */
static void images(h_buf *b, int type, int ndim, const uint32_t *dims, size_t data)
{
    idx_header(b, type, ndim, dims);
    for (size_t i = 0; i < data; i++) {
        unsigned char v = (unsigned char)h_rand();
        hb_put(b, &v, 1);
    }
}

/* Trains tiny.fv on in/ with b's bytes (then freed) as the train images. */
static void train_on_images(h_case *c, h_expect e, int flags, h_buf *b)
{
    idx_in(b, NULL);
    hb_free(b);
    train_on(c, e, flags, "tiny.fv", "in");
}

static void train_images(h_case *c, h_expect e, int flags, int type, int ndim,
                         const uint32_t *dims, size_t data)
{
    h_buf b = {0};
    images(&b, type, ndim, dims, data);
    train_on_images(c, e, flags, &b);
}

/* Train images of exactly these n bytes: training must fail. */
static void train_refuses_bytes(h_case *c, const void *bytes, size_t n)
{
    h_buf b = {0};
    hb_put(&b, bytes, n);
    train_on_images(c, EXPECT_ERR, 0, &b);
}

/* ---------------------------------------------------------------- plain IDX */

static void bad_magic(h_case *c) { train_refuses_bytes(c, "GIF89a-not-an-idx-file", 22); }

static void magic_nonzero(h_case *c)
{
    h_buf b = {0};
    images(&b, 8, 3, (uint32_t[]){48, 8, 8}, 48 * 64);
    b.p[1] = 1; /* magic 0x00010803 */
    train_on_images(c, EXPECT_ERR, 0, &b);
}
static void dtype_float(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 0x0d, 3, (uint32_t[]){48, 8, 8}, 48 * 64 * 4);
}
static void dtype_unknown(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 0x42, 3, (uint32_t[]){48, 8, 8}, 48 * 64);
}
static void ndim0(h_case *c) { train_images(c, EXPECT_ERR, 0, 8, 0, NULL, 64); }
static void ndim5(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 8, 5, (uint32_t[]){48, 1, 1, 8, 8}, 48 * 64);
}
static void images_1d(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 8, 1, (uint32_t[]){48}, 48);
}
static void images_4d(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 8, 4, (uint32_t[]){48, 1, 8, 8}, 48 * 64);
}
static void dims_max(h_case *c)
{
    train_images(c, EXPECT_ERR, F_NOOOM, 8, 3, (uint32_t[]){~0u, ~0u, ~0u}, 64);
}
static void dims_2pow33(h_case *c)
{
    train_images(c, EXPECT_ERR, F_NOOOM, 8, 3, (uint32_t[]){2, 65536, 65536}, 64);
}
static void huge_image_tiny_data(h_case *c)
{
    train_images(c, EXPECT_ERR, F_NOOOM, 8, 3, (uint32_t[]){1, 65535, 65535}, 100);
}
static void huge_count_tiny_data(h_case *c)
{
    train_images(c, EXPECT_ERR, F_NOOOM, 8, 3, (uint32_t[]){0x7fffffff, 8, 8}, 64);
}
static void truncated_header(h_case *c) { train_refuses_bytes(c, "\0\0\x08\x03\0\0", 6); }
static void truncated_data(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 8, 3, (uint32_t[]){48, 8, 8}, 24 * 64);
}
static void empty_file(h_case *c) { train_refuses_bytes(c, "", 0); }
static void zero_height(h_case *c)
{
    train_images(c, EXPECT_ERR, 0, 8, 3, (uint32_t[]){48, 0, 8}, 0);
}
static void trailing_junk(h_case *c)
{
    train_images(c, EXPECT_CLEAN, 0, 8, 3, (uint32_t[]){48, 8, 8}, 48 * 64 + 1000);
}

/* An empty data set: zero images and zero labels. */
static void zero_images(h_case *c)
{
    h_buf im = {0}, lb = {0};
    idx_header(&im, 8, 3, (uint32_t[]){0, 8, 8});
    idx_header(&lb, 8, 1, (uint32_t[]){0});
    idx_in(&im, &lb);
    hb_free(&im), hb_free(&lb);
    train_on(c, EXPECT_ERR, 0, "tiny.fv", "in");
}

static void labels_with(h_case *c, int n, int ndim, int bad_label)
{
    h_buf lb = {0};
    idx_header(&lb, 8, ndim, (uint32_t[]){(uint32_t)n, 1});
    for (int i = 0; i < n; i++) {
        unsigned char k = (unsigned char)(i == n / 2 && bad_label >= 0 ? bad_label : i % 3);
        hb_put(&lb, &k, 1);
    }
    idx_in(NULL, &lb);
    hb_free(&lb);
    train_on(c, EXPECT_ERR, 0, "tiny.fv", "in");
}
static void label_count(h_case *c) { labels_with(c, 47, 1, -1); }
static void labels_2d(h_case *c) { labels_with(c, 48, 2, -1); }
/* labels the 3-output model cannot have */
static void label_255(h_case *c) { labels_with(c, 48, 1, 255); }
static void label_3(h_case *c) { labels_with(c, 48, 1, 3); }

static void labels_missing(h_case *c)
{
    fix_copy("idx/train-images-idx3-ubyte", "in/train-images-idx3-ubyte");
    fix_copy("idx/t10k-images-idx3-ubyte", "in/t10k-images-idx3-ubyte");
    fix_copy("idx/t10k-labels-idx1-ubyte", "in/t10k-labels-idx1-ubyte");
    train_on(c, EXPECT_ERR, 0, "tiny.fv", "in");
}

/* The train images file replaced by something that is not a regular file. */
static void special(h_case *c, int kind)
{
    idx_in(NULL, NULL);
    const char *p = kind == 3 ? "in/train-labels-idx1-ubyte" : "in/train-images-idx3-ubyte";
    remove(p);
    if (kind == 0)
        mk_dirs(p);
    else if (kind == 1)
        mk_loop(p);
    else
        mk_fifo(p);
    train_on(c, EXPECT_ERR, kind >= 2 ? F_FIFO : 0, "tiny.fv", "in");
}
static void images_dir(h_case *c) { special(c, 0); }
static void images_loop(h_case *c) { special(c, 1); }
static void images_fifo(h_case *c) { special(c, 2); }
static void labels_fifo(h_case *c) { special(c, 3); }

static void images_devzero(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    if (symlink("/dev/zero", "in/train-images-idx3-ubyte") != 0)
        h_die("symlink /dev/zero");
    train_on(c, EXPECT_ERR, 0, "tiny.fv", "in");
}

/* Larger than the 4 GiB IDX limit (a sparse file: no disk used). */
static void sparse_4g(h_case *c)
{
    idx_in(NULL, NULL);
    w_sparse("in/train-images-idx3-ubyte", (4ull << 30) + 1);
    train_on(c, EXPECT_ERR, F_NOOOM, "tiny.fv", "in");
}

/* A header for 2^24 images of 8x8 and the gigabyte of zeros it promises (sparse). */
static void sparse_1g(h_case *c)
{
    h_buf b = {0};
    idx_header(&b, 8, 3, (uint32_t[]){1u << 24, 8, 8});
    idx_in(NULL, NULL);
    w_sparse("in/train-images-idx3-ubyte", b.n + (64ull << 24));
    FILE *f = fopen("in/train-images-idx3-ubyte", "r+b");
    if (!f || fwrite(b.p, 1, b.n, f) != b.n || fclose(f) != 0)
        h_die("sparse_1g: header");
    hb_free(&b);
    train_on(c, EXPECT_CLEAN, F_NOOOM, "tiny.fv", "in");
}

/* ---------------------------------------------------------------- gzip */

/* in/ with the train images gzipped (and changed by `edit`), the plain file removed. */
static void gz_in(void (*edit)(h_buf *gz))
{
    size_t n;
    unsigned char *p = r_file(fix_path("idx/train-images-idx3-ubyte"), &n);
    h_buf gz = {0};
    gz_bytes(p, n, &gz);
    if (edit)
        edit(&gz);
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    w_file("in/train-images-idx3-ubyte.gz", gz.p, gz.n);
    hb_free(&gz), free(p);
}

static void gz_fifo(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    mk_fifo("in/train-images-idx3-ubyte.gz");
    train_on(c, EXPECT_ERR, F_FIFO, "tiny.fv", "in");
}

static void gz_valid(h_case *c)
{
    gz_in(NULL);
    train_on(c, EXPECT_OK, 0, "tiny.fv", "in");
}

static void ed_multi(h_buf *gz) /* a second member: an empty gzip */
{
    h_buf e = {0};
    gz_bytes((const unsigned char *)"", 0, &e);
    hb_put(gz, e.p, e.n);
    hb_free(&e);
}
static void ed_truncate(h_buf *gz) { gz->n /= 2; }
static void ed_crc(h_buf *gz) { gz->p[gz->n - 8] ^= 0x55; }
static void ed_isize(h_buf *gz) { gz->p[gz->n - 3] ^= 0x10; }
static void ed_deflate(h_buf *gz)
{
    for (size_t i = 20; i < gz->n - 20; i += 37)
        gz->p[i] ^= 0xa5;
}
static void ed_header_only(h_buf *gz) { gz->n = 10; }
static void ed_method(h_buf *gz) { gz->p[2] = 7; }
static void ed_junk(h_buf *gz) { hb_put(gz, "trailing junk after the gzip member", 35); }

static void gz_case(h_case *c, void (*edit)(h_buf *), h_expect e)
{
    gz_in(edit);
    train_on(c, e, 0, "tiny.fv", "in");
}
static void gz_multi(h_case *c) { gz_case(c, ed_multi, EXPECT_OK); }
static void gz_truncated(h_case *c) { gz_case(c, ed_truncate, EXPECT_ERR); }
static void gz_bad_crc(h_case *c) { gz_case(c, ed_crc, EXPECT_ERR); }
static void gz_bad_isize(h_case *c) { gz_case(c, ed_isize, EXPECT_ERR); }
static void gz_corrupt(h_case *c) { gz_case(c, ed_deflate, EXPECT_ERR); }
static void gz_header_only(h_case *c) { gz_case(c, ed_header_only, EXPECT_ERR); }
static void gz_bad_method(h_case *c) { gz_case(c, ed_method, EXPECT_ERR); }
static void gz_trailing(h_case *c) { gz_case(c, ed_junk, EXPECT_CLEAN); }

/* A gzip train images file of this header and `zeros` zero bytes (a bomb when large). */
static void gz_zero_images(const uint32_t *dims, uint64_t zeros, const char *name)
{
    h_buf head = {0}, gz = {0};
    idx_header(&head, 8, 3, dims);
    gz_zeros(head.p, head.n, zeros, &gz);
    w_file(name, gz.p, gz.n);
    hb_free(&head), hb_free(&gz);
}

/* One 65535x65535 image, all of it there: 4.2 MB of gzip inflating to 4.3 GB. */
static void gz_bomb_huge_image(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    gz_zero_images((uint32_t[]){1, 65535, 65535}, 65535ull * 65535, "in/train-images-idx3-ubyte.gz");
    train_on(c, EXPECT_CLEAN, F_NOOOM, "tiny.fv", "in");
}

/* The header claims a 65535x65535 image; the stream holds 1 KB. */
static void gz_claim_huge(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    gz_zero_images((uint32_t[]){1, 65535, 65535}, 1024, "in/train-images-idx3-ubyte.gz");
    train_on(c, EXPECT_ERR, F_NOOOM, "tiny.fv", "in");
}

/* A valid member whose stream goes on with a gigabyte of zeros past the data. */
static void gz_bomb_after_data(h_case *c)
{
    size_t n;
    unsigned char *p = r_file(fix_path("idx/train-images-idx3-ubyte"), &n);
    h_buf gz = {0};
    gz_zeros(p, n, 1ull << 30, &gz);
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    w_file("in/train-images-idx3-ubyte.gz", gz.p, gz.n);
    hb_free(&gz), free(p);
    train_on(c, EXPECT_CLEAN, F_NOOOM, "tiny.fv", "in");
}

/* Four 8192x8192 images, all there (268 MB inflated, 1.07 GB as floats): too much for the
 * memory limit, so a cap must refuse them before the allocation fails. */
static void gz_four_8192(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    gz_zero_images((uint32_t[]){4, 8192, 8192}, 4ull << 26, "in/train-images-idx3-ubyte.gz");
    h_buf lb = {0};
    idx_header(&lb, 8, 1, (uint32_t[]){4});
    hb_put(&lb, "\0\1\2\0", 4);
    w_file("in/train-labels-idx1-ubyte", lb.p, lb.n);
    hb_free(&lb);
    train_on(c, EXPECT_CLEAN, F_NOOOM, "tiny.fv", "in");
}

/* 2^24 images of 8x8 (1 GiB inflated) with --limit 16: the limit must bound the memory. */
static void gz_limit(h_case *c)
{
    idx_in(NULL, NULL);
    remove("in/train-images-idx3-ubyte");
    remove("in/train-labels-idx1-ubyte");
    gz_zero_images((uint32_t[]){1u << 24, 8, 8}, 64ull << 24, "in/train-images-idx3-ubyte.gz");
    h_buf head = {0}, gz = {0};
    idx_header(&head, 8, 1, (uint32_t[]){1u << 24});
    gz_zeros(head.p, head.n, 1u << 24, &gz);
    w_file("in/train-labels-idx1-ubyte.gz", gz.p, gz.n);
    hb_free(&head), hb_free(&gz);
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_OK, F_TRAIN | F_NOOOM, "train", "tiny.fv", "--data", "in", "--epochs", "1",
          "--limit", "16", "--out", "out", "--quiet", NULL);
}

/* ---------------------------------------------------------------- CIFAR */

/* dir/data_batch_{1..5}.bin and test_batch.bin of `n` records each (labels i % 10; label_bytes 2
 * for CIFAR-100's train.bin and test.bin). */
static void cifar_dir(const char *dir, int n, int cifar100)
{
    int lb = cifar100 ? 2 : 1;
    size_t rec = (size_t)lb + 3072;
    unsigned char *b = malloc(rec * (size_t)n);
    if (!b)
        h_die("out of memory");
    for (int i = 0; i < n; i++) {
        unsigned char *r = b + rec * (size_t)i;
        r[0] = (unsigned char)(i % 10), r[lb - 1] = (unsigned char)(i % 10);
        for (int k = 0; k < 3072; k++)
            r[lb + k] = (unsigned char)((k * (i + 3)) % 251);
    }
    char p[256];
    for (int f = 1; f <= (cifar100 ? 2 : 6); f++) {
        if (cifar100)
            snprintf(p, sizeof p, "%s/%s.bin", dir, f == 1 ? "train" : "test");
        else if (f <= 5)
            snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, f);
        else
            snprintf(p, sizeof p, "%s/test_batch.bin", dir);
        w_file(p, b, rec * (size_t)n);
    }
    free(b);
}

static void cifar_valid(h_case *c)
{
    cifar_dir("cf", 10, 0);
    train_on(c, EXPECT_OK, 0, "cifar.fv", "cf");
}

/* The CIFAR folder with data_batch_2.bin replaced by `len` bytes of which byte `at` is `v`
 * (len -1: removed). */
static void cifar_edit(h_case *c, long len, long at, int v, h_expect e)
{
    cifar_dir("cf", 4, 0);
    size_t n;
    unsigned char *p = r_file("cf/data_batch_2.bin", &n);
    if (at >= 0)
        p[at] = (unsigned char)v;
    remove("cf/data_batch_2.bin");
    if (len >= 0)
        w_file("cf/data_batch_2.bin", p, (size_t)len);
    free(p);
    train_on(c, e, 0, "cifar.fv", "cf");
}
static void cifar_3072(h_case *c) { cifar_edit(c, 3072 * 4, -1, 0, EXPECT_ERR); }
static void cifar_truncated(h_case *c) { cifar_edit(c, 3073 * 4 - 1000, -1, 0, EXPECT_ERR); }
static void cifar_empty(h_case *c) { cifar_edit(c, 0, -1, 0, EXPECT_ERR); }
static void cifar_label10(h_case *c) { cifar_edit(c, 3073 * 4, 3073 * 2, 10, EXPECT_ERR); }
static void cifar_label255(h_case *c) { cifar_edit(c, 3073 * 4, 3073 * 3, 255, EXPECT_ERR); }
static void cifar_missing(h_case *c) { cifar_edit(c, -1, -1, 0, EXPECT_ERR); }

static void cifar_test_only(h_case *c)
{
    cifar_dir("cf", 4, 0);
    for (int f = 1; f <= 5; f++) {
        char p[64];
        snprintf(p, sizeof p, "cf/data_batch_%d.bin", f);
        remove(p);
    }
    train_on(c, EXPECT_ERR, 0, "cifar.fv", "cf");
}

static void cifar100_fine(h_case *c, int coarse, int fine, h_expect e)
{
    cifar_dir("cf", 4, 1);
    size_t n;
    unsigned char *p = r_file("cf/train.bin", &n);
    p[3074] = (unsigned char)coarse, p[3075] = (unsigned char)fine;
    w_file("cf/train.bin", p, n);
    free(p);
    fix_copy("cifar.fv", "cifar.fv");
    w_text("cifar100.fv", "model c100\ninput shape=3,32,32\nflatten\ndense units=100 name=fc\n");
    h_run(c, e, F_TRAIN, "train", "cifar100.fv", "--data", "cf", "--epochs", "1", "--out", "out",
          "--quiet", NULL);
}
static void cifar100_fine100(h_case *c) { cifar100_fine(c, 1, 100, EXPECT_ERR); }
static void cifar100_coarse255(h_case *c) { cifar100_fine(c, 255, 5, EXPECT_CLEAN); }

static void cifar_special(h_case *c, int fifo)
{
    cifar_dir("cf", 4, 0);
    remove("cf/data_batch_3.bin");
    if (fifo)
        mk_fifo("cf/data_batch_3.bin");
    else
        mk_dirs("cf/data_batch_3.bin");
    train_on(c, EXPECT_ERR, fifo ? F_FIFO : 0, "cifar.fv", "cf");
}
static void cifar_fifo(h_case *c) { cifar_special(c, 1); }
static void cifar_dirbatch(h_case *c) { cifar_special(c, 0); }

/* A batch of 349,411 records of zeros (just under the 1 GiB file limit), sparse. */
static void cifar_sparse(h_case *c, uint64_t size, h_expect e)
{
    cifar_dir("cf", 4, 0);
    w_sparse("cf/data_batch_1.bin", size);
    train_on(c, e, F_NOOOM, "cifar.fv", "cf");
}
static void cifar_sparse_1g(h_case *c) { cifar_sparse(c, 3073ull * 349411, EXPECT_CLEAN); }
static void cifar_sparse_big(h_case *c) { cifar_sparse(c, 3073ull * 400000, EXPECT_ERR); }

const h_entry h_cases_idx[] = {
    {"idx/bad-magic", bad_magic, 0},
    {"idx/magic-nonzero-byte", magic_nonzero, 0},
    {"idx/dtype-float", dtype_float, 0},
    {"idx/dtype-unknown", dtype_unknown, 0},
    {"idx/ndim-0", ndim0, 0},
    {"idx/ndim-5", ndim5, 0},
    {"idx/images-1d", images_1d, 0},
    {"idx/images-4d", images_4d, 0},
    {"idx/dims-all-max", dims_max, 0},
    {"idx/dims-2^33-values", dims_2pow33, 0},
    {"idx/huge-image-tiny-data", huge_image_tiny_data, 0},
    {"idx/huge-count-tiny-data", huge_count_tiny_data, 0},
    {"idx/truncated-header", truncated_header, 0},
    {"idx/truncated-data", truncated_data, 0},
    {"idx/empty-file", empty_file, 0},
    {"idx/zero-images", zero_images, 0},
    {"idx/zero-height", zero_height, 0},
    {"idx/trailing-junk", trailing_junk, 0},
    {"idx/label-count-mismatch", label_count, 0},
    {"idx/labels-2d", labels_2d, 0},
    {"idx/label-255-for-3-outputs", label_255, 0},
    {"idx/label-3-for-3-outputs", label_3, 0},
    {"idx/labels-missing", labels_missing, 0},
    {"idx/images-is-dir", images_dir, 0},
    {"idx/images-symlink-loop", images_loop, 0},
    {"idx/images-fifo", images_fifo, 0},
    {"idx/labels-fifo", labels_fifo, 0},
    {"idx/images-dev-zero", images_devzero, 0},
    {"idx/sparse-over-4GiB", sparse_4g, 0},
    {"idx/sparse-1GiB-of-images", sparse_1g, 0},
    {"gz/valid", gz_valid, 0},
    {"gz/two-members", gz_multi, 0},
    {"gz/fifo", gz_fifo, 0},
    {"gz/truncated", gz_truncated, 0},
    {"gz/bad-crc", gz_bad_crc, 0},
    {"gz/bad-isize", gz_bad_isize, 0},
    {"gz/corrupt-deflate", gz_corrupt, 0},
    {"gz/header-only", gz_header_only, 0},
    {"gz/bad-method", gz_bad_method, 0},
    {"gz/trailing-junk", gz_trailing, 0},
    {"gz/bomb-65535x65535-image", gz_bomb_huge_image, 0},
    {"gz/claims-65535x65535-holds-1KB", gz_claim_huge, 0},
    {"gz/bomb-1GiB-after-data", gz_bomb_after_data, 0},
    {"gz/four-8192x8192-images", gz_four_8192, 0},
    {"gz/2^24-images-with-limit-16", gz_limit, 0},
    {"cifar/valid", cifar_valid, 0},
    {"cifar/3072-byte-records", cifar_3072, 0},
    {"cifar/truncated", cifar_truncated, 0},
    {"cifar/empty-batch", cifar_empty, 0},
    {"cifar/label-10", cifar_label10, 0},
    {"cifar/label-255", cifar_label255, 0},
    {"cifar/missing-batch", cifar_missing, 0},
    {"cifar/test-batch-only", cifar_test_only, 0},
    {"cifar/batch-fifo", cifar_fifo, 0},
    {"cifar/batch-is-dir", cifar_dirbatch, 0},
    {"cifar/sparse-1GiB-batch", cifar_sparse_1g, 0},
    {"cifar/sparse-over-1GiB", cifar_sparse_big, 0},
    {"cifar100/fine-label-100", cifar100_fine100, 0},
    {"cifar100/coarse-label-255", cifar100_coarse255, 0},
    {NULL, NULL, 0},
};
