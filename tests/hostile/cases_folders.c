/* cases_folders.c - hostile image folders (ROOT/train/<class>/NN.png, ROOT/test/...) given to
 * `fovea train`, `eval`, `knn` and `visualize`: missing, empty, extra and renamed classes, a test
 * split lacking a class (its labels must follow the training split's classes), one huge image
 * among thumbnails, non-image files, special files (FIFO, symlink loops, unreadable files), more
 * outputs than classes, 300 classes and class names no file format likes. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const abc[] = {"a", "b", "c", "d"};

/* root/split/<names[k]>/NN.png: `per` size x size images of class pattern k (pattern[k] when
 * given, to make a test folder's classes look like other ones). */
static void split(const char *root, const char *sp, const char *const *names, int n, int per,
                  int size)
{
    char p[4300];
    for (int k = 0; k < n; k++)
        for (int i = 0; i < per; i++) {
            snprintf(p, sizeof p, "%s/%s/%s/%02d.png", root, sp, names[k], i);
            png_class(p, k, size, size);
        }
}

/* f/train with classes a, b, c (6 images each) and f/test with `test` of them (2 each). */
static void abc_folder(int test_classes)
{
    split("f", "train", abc, 3, 6, 8);
    split("f", "test", abc, test_classes, 2, 8);
}

static void train_f(h_case *c, h_expect e, int flags, const char *model)
{
    fix_copy(model, model);
    h_run(c, e, flags | F_TRAIN, "train", model, "--data", "f", "--epochs", "1", "--batch", "4",
          "--out", "out", "--quiet", NULL);
}

/* Trains long enough to classify the bars perfectly (the control case shows it does). */
static void train_perfect(h_case *c, const char *model)
{
    fix_copy(model, model);
    h_run(c, EXPECT_OK, F_TRAIN, "train", model, "--data", "f", "--epochs", "40", "--batch", "4",
          "--lr", "0.05", "--seed", "2", "--out", "out", "--quiet", NULL);
    h_stdout(c, "Test accuracy: 1.0000");
}

static void valid(h_case *c)
{
    abc_folder(3);
    train_f(c, EXPECT_OK, 0, "tiny.fv");
}

static void perfect_control(h_case *c)
{
    abc_folder(3);
    train_perfect(c, "tiny.fv");
}

/* f/: train split of classes a, b, c; test split of a and c only, two images each. */
static void split_test_lacks_b(void)
{
    split("f", "train", abc, 3, 6, 8);
    char p[64];
    for (int k = 0; k < 3; k += 2)
        for (int i = 0; i < 2; i++) {
            snprintf(p, sizeof p, "f/test/%s/%02d.png", abc[k], i);
            png_class(p, k, 8, 8);
        }
}

/* The test split lacks class b: a perfect model must still score 1.0 (labels by train's list). */
static void test_lacks_class(h_case *c)
{
    split_test_lacks_b();
    train_perfect(c, "tiny.fv");
}

/* A convolutional model that makes no test mistakes (nothing for misclassified.png). */
static void conv_no_mistakes(h_case *c)
{
    abc_folder(3);
    train_perfect(c, "conv.fv");
}

static void test_extra_class(h_case *c)
{
    abc_folder(4);
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

static void test_other_names(h_case *c)
{
    static const char *const xyz[] = {"x", "y", "z"};
    split("f", "train", abc, 3, 6, 8);
    split("f", "test", xyz, 3, 2, 8);
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

/* Images but no folder of them (f/train/x.png would make "train" a class of f itself). */
static void no_class_folders(h_case *c)
{
    png_class("f/0.png", 0, 8, 8);
    png_class("f/1.png", 1, 8, 8);
    mk_dirs("f/train");
    mk_dirs("f/test");
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

static void empty_class(h_case *c)
{
    abc_folder(3);
    mk_dirs("f/train/aa-empty");
    train_f(c, EXPECT_CLEAN, 0, "tiny.fv");
}

static void train_only(h_case *c)
{
    split("f", "train", abc, 3, 2, 8);
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

static void val_split(h_case *c)
{
    split("f", "train", abc, 3, 2, 8);
    split("f", "val", abc, 3, 2, 8);
    train_f(c, EXPECT_OK, 0, "tiny.fv");
}

/* One 4096x4096 image among 8x8 ones: first in order (its size must not be every image's), or
 * later. */
static void huge_image(h_case *c, const char *name)
{
    abc_folder(3);
    char p[64];
    snprintf(p, sizeof p, "f/train/a/%s", name);
    png_class(p, 0, 4096, 4096);
    train_f(c, EXPECT_CLEAN, F_NOOOM, "tiny.fv");
}
static void huge_first(h_case *c) { huge_image(c, "00-huge.png"); }
static void huge_later(h_case *c) { huge_image(c, "99-huge.png"); }

/* A PNG claiming 8192x8192 RGB over 4 rows of data, among valid images. */
static void claims_huge(h_case *c)
{
    abc_folder(3);
    h_buf b = {0};
    png_claim(&b, 8192, 8192, 2);
    w_file("f/train/b/50-claims-huge.png", b.p, b.n);
    hb_free(&b);
    train_f(c, EXPECT_ERR, F_NOOOM | F_SMALLMEM, "tiny.fv");
}

static void non_images(h_case *c)
{
    abc_folder(3);
    w_text("f/train/a/README.txt", "not an image\n");
    w_text("f/train/.DS_Store", "\x00\x01junk");
    w_text("f/train/b/.hidden.png", "hidden, not a PNG");
    w_text("f/notes.md", "# notes\n");
    png_class("f/train/c/sub/deeper.png", 2, 8, 8);
    train_f(c, EXPECT_OK, 0, "tiny.fv");
}

static void fake_png(h_case *c)
{
    abc_folder(3);
    w_text("f/train/b/50-fake.png", "this is text, not a PNG\n");
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

static void zero_byte(h_case *c)
{
    abc_folder(3);
    w_file("f/train/c/50-empty.jpg", "", 0);
    train_f(c, EXPECT_ERR, 0, "tiny.fv");
}

static void special(h_case *c, const char *path, int kind)
{
    abc_folder(3);
    if (kind == 0)
        mk_fifo(path);
    else if (kind == 1)
        mk_loop(path);
    else if (symlink("..", path) != 0)
        h_die("symlink %s", path);
    train_f(c, EXPECT_CLEAN, kind == 0 ? F_FIFO : 0, "tiny.fv");
}
static void fifo_image(h_case *c) { special(c, "f/train/a/50-fifo.png", 0); }
static void fifo_class(h_case *c) { special(c, "f/train/e", 0); }
static void loop_image(h_case *c) { special(c, "f/train/a/50-loop.png", 1); }
static void loop_class(h_case *c) { special(c, "f/train/e", 1); }
static void dir_loop(h_case *c) { special(c, "f/train/a/up", 2); }

static void unreadable(h_case *c, const char *path)
{
    abc_folder(3);
    if (chmod(path, 0) != 0)
        h_die("chmod %s", path);
    /* root reads anything: then the file is just a file */
    train_f(c, geteuid() == 0 ? EXPECT_CLEAN : EXPECT_ERR, 0, "tiny.fv");
}
static void unreadable_image(h_case *c) { unreadable(c, "f/train/b/01.png"); }
static void unreadable_class(h_case *c) { unreadable(c, "f/train/b"); }

static void two_classes_ten_outputs(h_case *c)
{
    split("f", "train", abc, 2, 4, 8);
    split("f", "test", abc, 2, 2, 8);
    train_f(c, EXPECT_OK, 0, "tiny10.fv");
}

static void classes_300(h_case *c)
{
    char name[16], p[64];
    for (int k = 0; k < 300; k++) {
        snprintf(name, sizeof name, "c%03d", k);
        snprintf(p, sizeof p, "f/train/%s/0.png", name);
        png_class(p, k % 16, 4, 4);
        snprintf(p, sizeof p, "f/test/%s/0.png", name);
        png_class(p, k % 16, 4, 4);
    }
    w_text("m300.fv", "model m300\ninput shape=1,4,4\nflatten\ndense units=300 name=fc\n");
    h_run(c, EXPECT_OK, F_TRAIN, "train", "m300.fv", "--data", "f", "--epochs", "1", "--out",
          "out", "--quiet", NULL);
}

/* Class names with quotes, markup, a newline, a format string and bytes that are not UTF-8. */
static void hostile_names(h_case *c)
{
    static const char *const names[] = {"a\"quote", "b<script>&amp;", "c\nnewline", "d%s%n",
                                        "e\xff\xfe"};
    split("f", "train", names, 5, 2, 8);
    split("f", "test", names, 5, 1, 8);
    w_text("m5.fv", "model m5\ninput shape=1,8,8\nflatten\ndense units=5 name=fc\n");
    h_run(c, EXPECT_CLEAN, F_TRAIN, "train", "m5.fv", "--data", "f", "--epochs", "1", "--out",
          "out", "--quiet", NULL);
}

/* 16-bit RGB, palette and progressive JPEG images of other sizes among 8x8 ones: resized to the
 * model's 8x8 with --resize; without it, mixed sizes are a one-line error. */
static void mixed_kinds_as(h_case *c, int resize)
{
    abc_folder(3);
    png_lib("f/train/a/50-rgb16.png", 11, 9, 16, 2, 0, 3);
    png_lib("f/train/b/50-pal.png", 11, 9, 4, 3, 1, 3);
    h_buf j = {0};
    jpeg_lib(&j, 12, 10, 3, 1);
    w_file("f/train/c/50-prog.jpg", j.p, j.n);
    hb_free(&j);
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, resize ? EXPECT_OK : EXPECT_ERR, F_TRAIN, "train", "tiny.fv", "--data", "f",
          "--epochs", "1", "--batch", "4", "--out", "out", "--quiet",
          resize ? "--resize" : NULL, "8", NULL);
}
static void mixed_kinds(h_case *c) { mixed_kinds_as(c, 1); }
static void mixed_sizes_unasked(h_case *c) { mixed_kinds_as(c, 0); }

static void cmyk_in_folder(h_case *c)
{
    abc_folder(3);
    h_buf j = {0};
    jpeg_lib(&j, 12, 10, 4, 0);
    w_file("f/train/c/50-cmyk.jpg", j.p, j.n);
    hb_free(&j);
    train_f(c, EXPECT_CLEAN, 0, "tiny.fv");
}

static void data_is(h_case *c, int kind)
{
    if (kind == 0)
        png_class("f", 0, 8, 8);
    else if (kind == 1)
        mk_fifo("f");
    else
        mk_loop("f");
    train_f(c, EXPECT_ERR, kind == 1 ? F_FIFO : 0, "tiny.fv");
}
static void data_file(h_case *c) { data_is(c, 0); }
static void data_fifo(h_case *c) { data_is(c, 1); }
static void data_loop(h_case *c) { data_is(c, 2); }

/* eval, knn and visualize on a test split lacking class b. */
static void other_command(h_case *c, const char *cmd)
{
    split_test_lacks_b();
    if (!strcmp(cmd, "knn")) {
        h_run(c, EXPECT_OK, 0, "knn", "--data", "f", "--k", "1", "--out", "out", NULL);
        return;
    }
    int viz = !strcmp(cmd, "visualize");
    const char *model = viz ? "conv.fv" : "tiny.fv";
    fix_copy(model, model);
    if (viz)
        st_conv("w.safetensors");
    else
        fix_copy("run/weights.safetensors", "w.safetensors");
    h_run(c, EXPECT_OK, 0, cmd, model, "--weights", "w.safetensors", "--data", "f", "--out",
          "out", NULL);
}
static void eval_lacks(h_case *c) { other_command(c, "eval"); }
static void knn_lacks(h_case *c) { other_command(c, "knn"); }
static void viz_lacks(h_case *c) { other_command(c, "visualize"); }

const h_entry h_cases_folders[] = {
    {"folder/valid", valid, 0},
    {"folder/separable-control", perfect_control, 0},
    {"folder/test-lacks-a-class", test_lacks_class, 0},
    {"folder/conv-model-no-mistakes", conv_no_mistakes, 0},
    {"folder/test-extra-class", test_extra_class, 0},
    {"folder/test-other-class-names", test_other_names, 0},
    {"folder/no-class-folders", no_class_folders, 0},
    {"folder/empty-class-folder", empty_class, 0},
    {"folder/train-split-only", train_only, 0},
    {"folder/val-split", val_split, 0},
    {"folder/huge-image-first", huge_first, 0},
    {"folder/huge-image-later", huge_later, 0},
    {"folder/png-claims-8192x8192", claims_huge, 0},
    {"folder/non-image-files", non_images, 0},
    {"folder/text-named-png", fake_png, 0},
    {"folder/zero-byte-jpg", zero_byte, 0},
    {"folder/fifo-image", fifo_image, 0},
    {"folder/fifo-class", fifo_class, 0},
    {"folder/symlink-loop-image", loop_image, 0},
    {"folder/symlink-loop-class", loop_class, 0},
    {"folder/class-links-to-parent", dir_loop, 0},
    {"folder/unreadable-image", unreadable_image, 0},
    {"folder/unreadable-class", unreadable_class, 0},
    {"folder/2-classes-10-outputs", two_classes_ten_outputs, 0},
    {"folder/300-classes", classes_300, 0},
    {"folder/hostile-class-names", hostile_names, 0},
    {"folder/mixed-png-jpeg-depths", mixed_kinds, 0},
    {"folder/mixed-sizes-without-resize", mixed_sizes_unasked, 0},
    {"folder/cmyk-jpeg", cmyk_in_folder, 0},
    {"folder/data-is-a-png", data_file, 0},
    {"folder/data-is-a-fifo", data_fifo, 0},
    {"folder/data-symlink-loop", data_loop, 0},
    {"folder/eval-test-lacks-a-class", eval_lacks, 0},
    {"folder/knn-test-lacks-a-class", knn_lacks, 0},
    {"folder/visualize-test-lacks-a-class", viz_lacks, 0},
    {NULL, NULL, 0},
};
