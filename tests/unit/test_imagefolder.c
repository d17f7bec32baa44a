/* test_imagefolder.c - JPEG input and output (round trips, gray and RGB, CMYK refused, atomic
 * writes) and the image-folder reader on real trees written to a temp folder: class order,
 * labels, shapes, values after JPEG coding, bilinear resizing, channel conversion, the splits of
 * fv_dataset_load_dir; and malformed input (truncated or corrupted JPEG, random bytes, empty
 * files, truncated PNG, empty class folders, missing folders): NULL with a one-line error naming
 * the file, never a crash or a leak (ASan), also when any allocation fails. */
#include "bilinear.h"
#include "core/internal.h"
#include "io/io.h"
#include "failalloc.h"
#include "test.h"
#include "testfs.h"

#include <dirent.h>
#include <jpeglib.h>
#include <sys/stat.h>
#include <unistd.h>

#define JPEG_TOL (4.0 / 255) /* a uniform color survives JPEG within a few levels */

static void mkdirs(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s", t_path(rel));
    for (char *s = p + strlen(t_dir) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0777);
            *s = '/';
        }
    mkdir(p, 0777);
}

/* A (1, c, h, w) image of one color (v[k] for channel k). */
static fv_tensor *uniform(int c, int h, int w, const float *v)
{
    fv_tensor *t = fv_tensor_new4(1, c, h, w);
    for (int k = 0; k < c; k++)
        for (int i = 0; i < h * w; i++)
            t->data[k * h * w + i] = v[k];
    return t;
}

/* Noise, so a JPEG has plenty of entropy-coded data to damage. */
static fv_tensor *noise(int c, int h, int w)
{
    fv_tensor *t = fv_tensor_new4(1, c, h, w);
    uint32_t s = 12345;
    for (int64_t i = 0; i < fv_tensor_numel(t); i++) {
        s = s * 1664525u + 1013904223u;
        t->data[i] = (float)(s >> 24) / 255.0f;
    }
    return t;
}

static void save_png(const char *rel, fv_tensor *t)
{
    CHECK_STATUS(fv_png_save(t_path(rel), t), FV_OK);
    fv_tensor_free(t);
}

static void save_jpeg(const char *rel, fv_tensor *t, int quality)
{
    CHECK_STATUS(fv_jpeg_save(t_path(rel), t, quality), FV_OK);
    fv_tensor_free(t);
}

static unsigned char *read_all(const char *rel, size_t *len)
{
    unsigned char *b = NULL;
    CHECK_STATUS(fv_read_file(t_path(rel), 1 << 24, &b, len), FV_OK);
    return b;
}

static int one_line_error(void)
{
    const char *e = fv_last_error();
    return e[0] != '\0' && strchr(e, '\n') == NULL;
}

/* Every value of sample i of x within tol of v[channel]. */
static void check_sample(const fv_tensor *x, int64_t i, const float *v, double tol)
{
    int64_t c = x->dims[1], hw = x->dims[2] * x->dims[3];
    for (int64_t k = 0; k < c; k++)
        for (int64_t p = 0; p < hw; p++)
            CHECK_NEAR(x->data[(i * c + k) * hw + p], v[k], tol, 0);
}

/* ---------------------------------------------------------------- JPEG */

TEST(jpeg_round_trip)
{
    mkdirs("jpeg");
    float gray = 0.5f, rgb[3] = {0.8f, 0.1f, 0.3f};
    save_jpeg("jpeg/gray.jpg", uniform(1, 10, 7, &gray), 95);
    save_jpeg("jpeg/rgb.jpg", uniform(3, 16, 24, rgb), 0);
    fv_tensor *g = fv_jpeg_load(t_path("jpeg/gray.jpg"));
    fv_tensor *c = fv_image_load(t_path("jpeg/rgb.jpg"));
    CHECK(g && g->ndim == 4 && g->dims[1] == 1 && g->dims[2] == 10 && g->dims[3] == 7);
    CHECK(c && c->ndim == 4 && c->dims[1] == 3 && c->dims[2] == 16 && c->dims[3] == 24);
    for (int64_t i = 0; g && i < fv_tensor_numel(g); i++)
        CHECK_NEAR(g->data[i], 0.5, JPEG_TOL, 0);
    for (int64_t i = 0; c && i < fv_tensor_numel(c); i++)
        CHECK_NEAR(c->data[i], rgb[i / (16 * 24)], JPEG_TOL, 0);
    fv_tensor_free(g), fv_tensor_free(c);
    /* a smooth color image comes back close at quality 100 */
    fv_tensor *n = fv_tensor_new4(1, 3, 9, 13);
    for (int64_t i = 0; i < 9 * 13; i++)
        n->data[i] = (float)(i % 13) / 12, n->data[117 + i] = (float)(i / 13) / 8,
        n->data[234 + i] = 0.5f;
    CHECK_STATUS(fv_jpeg_save(t_path("jpeg/noise.jpg"), n, 100), FV_OK);
    fv_tensor *back = fv_jpeg_load(t_path("jpeg/noise.jpg"));
    double err = 0;
    for (int64_t i = 0; back && i < fv_tensor_numel(n); i++)
        err += fabs(back->data[i] - n->data[i]);
    CHECK(back && err / (double)fv_tensor_numel(n) < 0.02);
    fv_tensor_free(n), fv_tensor_free(back);
}

TEST(jpeg_save_errors_and_atomicity)
{
    float v = 0.5f;
    fv_tensor *two = uniform(2, 4, 4, (float[]){v, v}), *ok = uniform(1, 4, 4, &v);
    CHECK_STATUS(fv_jpeg_save(t_path("jpeg/two.jpg"), two, 90), FV_ERR_SHAPE);
    CHECK_ERR_HAS("two.jpg");
    CHECK_STATUS(fv_jpeg_save(t_path("jpeg/q.jpg"), ok, 101), FV_ERR_INVALID);
    CHECK_ERR_HAS("q.jpg: JPEG quality 101");
    CHECK_STATUS(fv_jpeg_save(t_path("missing/dir/x.jpg"), ok, 90), FV_ERR_IO);
    CHECK_ERR_HAS("x.jpg");
    fv_tensor_free(two), fv_tensor_free(ok);
    DIR *d = opendir(t_path("jpeg")); /* no temporary left behind */
    for (struct dirent *e; d && (e = readdir(d));)
        CHECK(strstr(e->d_name, ".tmp.") == NULL);
    if (d)
        closedir(d);
}

/* A 4x4 CMYK JPEG written with libjpeg directly. */
static void write_cmyk(const char *rel)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr err;
    unsigned char row[16];
    memset(row, 100, sizeof row);
    ci.err = jpeg_std_error(&err);
    jpeg_create_compress(&ci);
    FILE *f = fopen(t_path(rel), "wb");
    jpeg_stdio_dest(&ci, f);
    ci.image_width = 4, ci.image_height = 4, ci.input_components = 4;
    ci.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    for (int y = 0; y < 4; y++) {
        JSAMPROW r[1] = {row};
        jpeg_write_scanlines(&ci, r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
}

TEST(jpeg_cmyk_refused)
{
    write_cmyk("jpeg/cmyk.jpg");
    CHECK(fv_jpeg_load(t_path("jpeg/cmyk.jpg")) == NULL);
    CHECK_ERR_HAS("cmyk.jpg: CMYK JPEG images are not supported");
}

/* ---------------------------------------------------------------- image folders */

static const float GRAY = 0.25f, RGB_A[3] = {0.2f, 0.4f, 0.6f}, JGRAY = 0.5f;
static const float RGB_M[3] = {1, 0, 0}, RGB_C[3] = {0.8f, 0.1f, 0.3f}, WHITE[3] = {1, 1, 1};

/* tree/{ant,cat,dog}: PNG and JPEG, gray and RGB, of different sizes, a PNG named .jpg, a stray
 * .txt, and hidden entries (skipped). */
static void write_tree(void)
{
    mkdirs("tree/ant"), mkdirs("tree/cat"), mkdirs("tree/dog"), mkdirs("tree/.cache");
    save_png("tree/ant/z.png", uniform(1, 3, 7, &GRAY));
    save_png("tree/cat/a.png", uniform(3, 6, 8, RGB_A));
    save_jpeg("tree/cat/b.JPG", uniform(1, 10, 5, &JGRAY), 95);
    save_png("tree/cat/m.jpg", uniform(3, 4, 4, RGB_M)); /* a PNG, whatever its name */
    t_write_at("tree/cat/notes.txt", "not an image", 12);
    t_write_at("tree/cat/.hidden.jpg", "junk", 4);
    save_jpeg("tree/dog/c.jpeg", uniform(3, 12, 12, RGB_C), 95);
    save_png("tree/dog/d.png", uniform(3, 5, 9, WHITE));
    save_png("tree/.cache/e.png", uniform(3, 5, 9, WHITE));
}

static float quantized(float v) { return roundf(v * 255.0f) / 255.0f; }

/* The dataset's name: the folder's last component, trailing slashes ignored, cut to fit. */
TEST(folder_names)
{
    static const char *const cases[][2] = {
        {"data/mnist/", "mnist"}, {"mnist", "mnist"}, {"/a/ROOT//", "ROOT"},
        {"a//", "a"},             {"/", ""},          {"abcdef", "ab"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[16];
        size_t len = strcmp(cases[i][0], "abcdef") == 0 ? 3 : sizeof buf;
        const char *got = fv_folder_name(cases[i][0], buf, len);
        CHECK(got == buf && strcmp(buf, cases[i][1]) == 0);
    }
}

TEST(image_folder_rgb)
{
    write_tree();
    fv_dataset *d = fv_dataset_load_image_folder(t_path("tree"), 3, 8, 8);
    CHECK(d != NULL);
    if (!d) {
        fprintf(stderr, "  %s\n", fv_last_error());
        return;
    }
    CHECK(d->x->ndim == 4 && d->x->dims[0] == 6 && d->x->dims[1] == 3 && d->x->dims[2] == 8 &&
          d->x->dims[3] == 8);
    CHECK(d->y->ndim == 1 && d->y->dims[0] == 6 && d->num_classes == 3);
    const float labels[6] = {0, 1, 1, 1, 2, 2};
    CHECK_ARRAY_NEAR(d->y->data, labels, 6, 1e-9, 0);
    const char *want[3] = {"ant", "cat", "dog"};
    for (int k = 0; k < 3; k++) {
        const char *name = fv_dataset_class_name(d, k);
        CHECK(name && !strcmp(name, want[k]));
    }
    CHECK(fv_dataset_class_name(d, 3) == NULL && fv_dataset_class_name(d, -1) == NULL);
    CHECK(!strcmp(d->name, "tree"));
    float q = quantized(GRAY), g3[3] = {q, q, q}, j3[3] = {JGRAY, JGRAY, JGRAY};
    check_sample(d->x, 0, g3, 1e-6);     /* gray PNG repeated into RGB */
    check_sample(d->x, 1, RGB_A, 0.5 / 255);
    check_sample(d->x, 2, j3, JPEG_TOL); /* gray JPEG */
    check_sample(d->x, 3, RGB_M, 1e-6);
    check_sample(d->x, 4, RGB_C, JPEG_TOL);
    check_sample(d->x, 5, WHITE, 1e-6);
    fv_dataset *part = fv_dataset_take(d, 2, 3); /* slicing keeps the class names */
    const char *dog = part ? fv_dataset_class_name(part, 2) : NULL;
    CHECK(part && part->num_classes == 3 && dog && !strcmp(dog, "dog"));
    CHECK(dog != fv_dataset_class_name(d, 2)); /* a copy: each set frees its own */
    fv_dataset_free(part);
    fv_dataset_free(d);
}

TEST(image_folder_gray_and_first_size)
{
    fv_dataset *d = fv_dataset_load_image_folder(t_path("tree/"), 1, 5, 4);
    CHECK(d && d->x->dims[0] == 6 && d->x->dims[1] == 1 && d->x->dims[2] == 5);
    if (d) { /* RGB -> ITU-R 601 luma */
        float luma = 0.299f * RGB_A[0] + 0.587f * RGB_A[1] + 0.114f * RGB_A[2];
        check_sample(d->x, 1, &luma, 0.5 / 255);
        check_sample(d->x, 2, &JGRAY, JPEG_TOL);
    }
    fv_dataset_free(d);
    /* 0: the first image's channels (ant/z.png, gray 3x7), the size given */
    d = fv_dataset_load_image_folder(t_path("tree"), 0, 3, 7);
    CHECK(d && d->x->dims[0] == 6 && d->x->dims[1] == 1 && d->x->dims[2] == 3 &&
          d->x->dims[3] == 7);
    fv_dataset_free(d);
    /* no size: the first image's, and images of other sizes are an error naming the first one */
    CHECK(fv_dataset_load_image_folder(t_path("tree"), 0, 0, 0) == NULL);
    CHECK_ERR_HAS("tree/cat/a.png: a 6x8 image among 3x7 ones");
    CHECK_ERR_HAS("images of mixed sizes need a target size");
    CHECK(fv_dataset_load_image_folder(t_path("tree"), 0, 4, 0) == NULL); /* width from the first */
    CHECK_ERR_HAS("tree/cat/a.png: a 6x8 image among 3x7 ones");
    CHECK(strchr(fv_last_error(), '\n') == NULL);
}

/* A 2x2 gradient resized to 4x4: PyTorch's bilinear (align_corners=False) weights per axis are
 * (1, 0), (3/4, 1/4), (1/4, 3/4), (0, 1). */
TEST(image_folder_bilinear)
{
    mkdirs("grad/only");
    const float px[4] = {0, 1, 0.2f, 0.6f}; /* exact in 8 bits: 0, 255, 51, 153 */
    fv_tensor *t = fv_tensor_new4(1, 1, 2, 2);
    memcpy(t->data, px, sizeof px);
    save_png("grad/only/g.png", t);
    fv_dataset *d = fv_dataset_load_image_folder(t_path("grad"), 1, 4, 4);
    CHECK(d && d->x->dims[2] == 4 && d->x->dims[3] == 4 && d->num_classes == 1);
    float want[16];
    t_bilinear_2x2_to_4x4(px, want);
    if (d)
        CHECK_ARRAY_NEAR(d->x->data, want, 16, 1e-6, 0);
    fv_dataset_free(d);
}

/* fv_dataset_load_dir: a plain tree serves both splits; train/ and test/ (or val/) are splits,
 * both at the training split's first image's shape. */
TEST(load_dir_image_folders)
{
    fv_dataset *tr = fv_dataset_load_dir_size(t_path("tree"), 1, 0, 0, 3, 7);
    fv_dataset *te = fv_dataset_load_dir_size(t_path("tree"), 0, 0, 0, 3, 7);
    CHECK(tr && te && tr->x->dims[0] == 6 && te->x->dims[0] == 6 && tr->x->dims[1] == 1 &&
          tr->x->dims[2] == 3 && tr->x->dims[3] == 7 && tr->num_classes == 3);
    fv_dataset_free(tr), fv_dataset_free(te);
    CHECK(fv_dataset_load_dir(t_path("tree"), 1) == NULL); /* mixed sizes, no target size */
    CHECK_ERR_HAS("images of mixed sizes need a target size");
    float v[3] = {0.5f, 0.5f, 0.5f};
    mkdirs("split/train/a"), mkdirs("split/train/b");
    mkdirs("split/test/a"), mkdirs("split/test/b");
    save_jpeg("split/train/a/1.jpg", uniform(3, 6, 10, v), 90);
    save_png("split/train/b/1.png", uniform(1, 20, 20, v));
    save_png("split/train/b/2.png", uniform(1, 2, 2, v));
    save_png("split/test/a/1.png", uniform(1, 9, 9, v));
    save_png("split/test/b/1.png", uniform(3, 9, 9, v));
    CHECK(fv_dataset_load_dir(t_path("split"), 1) == NULL);
    CHECK_ERR_HAS("split/train/b/1.png: a 20x20 image among 6x10 ones");
    CHECK(fv_dataset_load_dir(t_path("split"), 0) == NULL); /* the training split's size */
    CHECK_ERR_HAS("split/test/a/1.png: a 9x9 image among 6x10 ones");
    tr = fv_dataset_load_dir_size(t_path("split"), 1, 0, 0, 6, 10);
    te = fv_dataset_load_dir_size(t_path("split"), 0, 0, 0, 6, 10);
    CHECK(tr && tr->x->dims[0] == 3 && tr->x->dims[1] == 3 && tr->x->dims[2] == 6 &&
          tr->x->dims[3] == 10 && !strcmp(tr->name, "train"));
    CHECK(te && te->x->dims[0] == 2 && te->x->dims[1] == 3 && te->x->dims[2] == 6 &&
          te->x->dims[3] == 10 && !strcmp(te->name, "test"));
    CHECK(te && te->y->data[0] == 0 && te->y->data[1] == 1);
    fv_dataset_free(tr), fv_dataset_free(te);
    rename(t_path("split/test"), t_path("split/val"));
    te = fv_dataset_load_dir_size(t_path("split"), 0, 0, 1, 6, 10);
    CHECK(te && te->x->dims[0] == 2 && !strcmp(te->name, "val"));
    fv_dataset_free(te);
    rename(t_path("split/val"), t_path("split/other"));
    CHECK(fv_dataset_load_dir(t_path("split"), 0) == NULL);
    CHECK_ERR_HAS("split: the image folder has a train split but no test or val folder");
}

/* A test split lacking a class is labelled with the training split's classes (before, every
 * later class shifted down); a test class the training split lacks is an error naming it. */
TEST(test_split_takes_training_classes)
{
    float v = 0.5f;
    const char *const train[3] = {"a", "b", "c"};
    char rel[64];
    for (int k = 0; k < 3; k++) {
        snprintf(rel, sizeof rel, "cls/train/%s", train[k]);
        mkdirs(rel);
        snprintf(rel, sizeof rel, "cls/train/%s/1.png", train[k]);
        save_png(rel, uniform(1, 4, 4, &v));
    }
    mkdirs("cls/test/a"), mkdirs("cls/test/c");
    save_png("cls/test/a/1.png", uniform(1, 4, 4, &v));
    save_png("cls/test/c/1.png", uniform(1, 4, 4, &v));
    save_png("cls/test/c/2.png", uniform(1, 4, 4, &v));
    fv_dataset *te = fv_dataset_load_dir(t_path("cls"), 0);
    CHECK(te && te->x->dims[0] == 3 && te->num_classes == 3);
    CHECK(te && te->y->data[0] == 0 && te->y->data[1] == 2 && te->y->data[2] == 2);
    for (int k = 0; te && k < 3; k++) {
        const char *name = fv_dataset_class_name(te, k);
        CHECK(name && !strcmp(name, train[k]));
    }
    fv_dataset *part = te ? fv_dataset_take(te, 1, 1) : NULL;
    CHECK(part && part->num_classes == 3 && !strcmp(fv_dataset_class_name(part, 1), "b"));
    fv_dataset_free(part), fv_dataset_free(te);
    mkdirs("cls/test/zebra");
    save_png("cls/test/zebra/1.png", uniform(1, 4, 4, &v));
    CHECK(fv_dataset_load_dir(t_path("cls"), 0) == NULL);
    CHECK_ERR_HAS("cls/test/zebra: class folder 'zebra' is not a class of the training split");
    CHECK(one_line_error());
}

/* Class folder names that are not valid UTF-8 (or hold control characters) went raw into the
 * class names (and on into metrics.json and figures): each invalid byte and control character
 * becomes '?'; the files are still found and the test split still matched by the raw names. */
TEST(class_names_made_utf8)
{
    static const char *const raw[5] = {"a\xff\xfe", ("b\x01" "c"), "c\xc3\xa9t", "d\xe2\x82",
                                       "e\xc2\x85\n"};
    static const char *const clean[5] = {"a??", "b?c", "c\xc3\xa9t", "d??", "e??"};
    float v = 0.5f;
    char rel[64];
    for (int k = 0; k < 5; k++)
        for (int s = 0; s < 2; s++) {
            snprintf(rel, sizeof rel, "raw/%s/%s", s ? "test" : "train", raw[k]);
            mkdirs(rel);
            snprintf(rel, sizeof rel, "raw/%s/%s/1.png", s ? "test" : "train", raw[k]);
            save_png(rel, uniform(1, 4, 4, &v));
        }
    for (int s = 0; s < 2; s++) {
        fv_dataset *d = fv_dataset_load_dir(t_path("raw"), !s);
        CHECK(d && d->num_classes == 5 && d->y->data[4] == 4);
        for (int k = 0; d && k < 5; k++) {
            const char *name = fv_dataset_class_name(d, k);
            CHECK(name && !strcmp(name, clean[k]) && fv_utf8_valid(name, false));
        }
        fv_dataset_free(d);
    }
}

/* ---------------------------------------------------------------- malformed input */

/* bad/<name>/k/{good.png, <file>}: loading must fail naming the bad file. */
static void expect_bad_file(const char *name, const char *file, const void *bytes, size_t len,
                            const char *needle)
{
    char rel[256], top[64];
    snprintf(top, sizeof top, "bad/%.40s", name);
    snprintf(rel, sizeof rel, "%s/k", top);
    mkdirs(rel);
    float v = 0.5f;
    snprintf(rel, sizeof rel, "%s/k/good.png", top);
    save_png(rel, uniform(1, 4, 4, &v));
    snprintf(rel, sizeof rel, "%s/k/%.100s", top, file);
    t_write_at(rel, bytes, len);
    fv_clear_error();
    fv_dataset *d = fv_dataset_load_image_folder(t_path(top), 1, 4, 4);
    CHECK(d == NULL);
    CHECK_ERR_HAS(t_path(rel));
    CHECK_ERR_HAS(needle);
    CHECK(one_line_error());
    if (d || !strstr(fv_last_error(), needle))
        fprintf(stderr, "  case %s\n", name);
    fv_dataset_free(d);
}

TEST(malformed_files)
{
    mkdirs("src");
    save_jpeg("src/noise.jpg", noise(3, 32, 32), 90);
    size_t n = 0, np = 0;
    unsigned char *jpg = read_all("src/noise.jpg", &n);
    save_png("src/noise.png", noise(3, 32, 32));
    unsigned char *png = read_all("src/noise.png", &np);
    if (!jpg || !png)
        return;
    expect_bad_file("truncated_jpeg", "t.jpg", jpg, n / 2, "corrupt JPEG");
    expect_bad_file("header_only_jpeg", "h.jpg", jpg, 200, "corrupt JPEG");
    expect_bad_file("no_eoi_jpeg", "e.jpg", jpg, n - 2, "corrupt JPEG");
    unsigned char *mid = malloc(n);
    memcpy(mid, jpg, n);
    for (size_t i = n / 2; i < n / 2 + 64; i++) /* markers and junk inside the scan data */
        mid[i] = (unsigned char)(i % 3 ? 0xFF : 0xC4 + i % 7);
    expect_bad_file("garbage_jpeg", "g.jpeg", mid, n, "corrupt JPEG");
    free(mid);
    unsigned char rnd[300];
    for (size_t i = 0; i < sizeof rnd; i++)
        rnd[i] = (unsigned char)(i * 73 + 11);
    expect_bad_file("random_bytes", "r.jpg", rnd, sizeof rnd, "not a PNG or JPEG image");
    rnd[0] = 0xFF, rnd[1] = 0xD8, rnd[2] = 0xFF; /* a JPEG signature, then noise */
    expect_bad_file("random_after_soi", "s.jpg", rnd, sizeof rnd, "corrupt JPEG");
    expect_bad_file("empty_jpeg", "e.jpg", "", 0, "empty file");
    expect_bad_file("truncated_png", "t.png", png, np / 2, "corrupt PNG");
    free(jpg), free(png);
}

TEST(malformed_trees)
{
    float v = 0.5f;
    mkdirs("bad/empty_class/a"), mkdirs("bad/empty_class/b");
    save_png("bad/empty_class/a/1.png", uniform(1, 4, 4, &v));
    t_write_at("bad/empty_class/b/readme.txt", "x", 1);
    CHECK(fv_dataset_load_image_folder(t_path("bad/empty_class"), 1, 4, 4) == NULL);
    CHECK_ERR_HAS(t_path("bad/empty_class/b"));
    CHECK_ERR_HAS("class folder has no .png, .jpg or .jpeg files");
    mkdirs("bad/flat");
    save_png("bad/flat/1.png", uniform(1, 4, 4, &v));
    CHECK(fv_dataset_load_image_folder(t_path("bad/flat"), 1, 4, 4) == NULL);
    CHECK_ERR_HAS("bad/flat: no class folders");
    CHECK(fv_dataset_load_image_folder(t_path("bad/none"), 1, 4, 4) == NULL);
    CHECK_ERR_HAS("bad/none: No such file or directory");
    CHECK(fv_dataset_load_image_folder(t_path("bad/flat/1.png"), 1, 4, 4) == NULL);
    CHECK_ERR_HAS("1.png: Not a directory");
    CHECK(fv_dataset_load_image_folder(t_path("tree"), 2, 4, 4) == NULL);
    CHECK_ERR_HAS("channels must be 1 or 3");
    CHECK(fv_dataset_load_image_folder(t_path("tree"), 3, -1, 4) == NULL);
    CHECK_ERR_HAS("tree: image size -1x4");
    CHECK(fv_dataset_load_image_folder(t_path("tree"), 3, 4, 100000) == NULL);
    CHECK_ERR_HAS("image size 4x100000");
    CHECK(fv_dataset_load_image_folder(NULL, 3, 4, 4) == NULL);
    CHECK(one_line_error());
    /* fv_dataset_load_dir on a folder of images without class folders (it said "DIR/train-images-
     * idx3-ubyte[.gz]: No such file or directory"): what it looked for */
    CHECK(fv_dataset_load_dir(t_path("bad/flat"), 1) == NULL);
    CHECK_ERR_HAS("bad/flat: no MNIST-format files, CIFAR batches or class folders of images");
    CHECK(one_line_error());
    /* an empty folder the same; a missing one and a file are named as such */
    mkdirs("bad/void");
    CHECK(fv_dataset_load_dir_n(t_path("bad/void"), 0, 3) == NULL);
    CHECK_ERR_HAS("bad/void: no MNIST-format files, CIFAR batches or class folders of images");
    CHECK(fv_dataset_load_dir(t_path("bad/none"), 1) == NULL);
    CHECK_ERR_HAS("bad/none/train-images-idx3-ubyte[.gz]: No such file or directory");
    CHECK(fv_dataset_load_dir(t_path("bad/flat/1.png"), 1) == NULL);
    CHECK_ERR_HAS("bad/flat/1.png: not a folder");
}


/* Every allocation failing in turn: "out of memory", never a crash or a leak, then success. */
TEST(out_of_memory)
{
    fv_allocator al = {failing_alloc, plain_free, NULL};
    int ok = 0;
    for (int k = 0; k < 400 && !ok; k++) {
        fail_after = k;
        fv_set_allocator(&al);
        fv_dataset *d = fv_dataset_load_image_folder(t_path("tree"), 3, 4, 4);
        fv_set_allocator(NULL);
        ok = d != NULL;
        if (!ok)
            CHECK_ERR_HAS("out of memory");
        fv_dataset_free(d);
    }
    CHECK(ok);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(jpeg_round_trip), T_TEST(jpeg_save_errors_and_atomicity), T_TEST(jpeg_cmyk_refused),
        T_TEST(folder_names),
        T_TEST(image_folder_rgb), T_TEST(image_folder_gray_and_first_size),
        T_TEST(image_folder_bilinear), T_TEST(load_dir_image_folders),
        T_TEST(test_split_takes_training_classes), T_TEST(class_names_made_utf8),
        T_TEST(malformed_files), T_TEST(malformed_trees), T_TEST(out_of_memory)
    };
    return t_main_scratch("/tmp/fv_imgfolder_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
