/* cases_cli.c - CLI-level hazards (a FIFO as each input path, an --out path over 900 characters,
 * model names that climb out of runs/, test labels missing classes, divergence, stale temporary
 * files, bad option values) and the seeded mutations of a valid file of every format (a few in
 * the short run, --mutations of each in the long one). */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void idx_in(void)
{
    static const char *const f[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                     "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char from[64], to[64];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "idx/%s", f[i]);
        snprintf(to, sizeof to, "in/%s", f[i]);
        fix_copy(from, to);
    }
}

static void train_model(h_case *c, h_expect e, const char *text)
{
    w_text("m.fv", "%s", text);
    idx_in();
    h_run(c, e, F_TRAIN, "train", "m.fv", "--data", "in", "--epochs", "1", "--quiet", NULL);
}

/* ---------------------------------------------------------------- FIFOs */

static void fifo_predict(h_case *c, int weights)
{
    fix_copy("tiny.fv", "tiny.fv");
    png_class("img.png", 0, 8, 8);
    if (weights)
        mk_fifo("w.safetensors");
    else
        fix_copy("run/weights.safetensors", "w.safetensors");
    if (!weights)
        mk_fifo("fifo.png");
    h_run(c, EXPECT_ERR, F_FIFO, "predict", "tiny.fv", "--weights", "w.safetensors",
          weights ? "img.png" : "fifo.png", NULL);
}
static void fifo_weights_predict(h_case *c) { fifo_predict(c, 1); }
static void fifo_image_predict(h_case *c) { fifo_predict(c, 0); }

static void fifo_weights_eval(h_case *c)
{
    fix_copy("tiny.fv", "tiny.fv");
    mk_fifo("w.safetensors");
    h_run(c, EXPECT_ERR, F_FIFO, "eval", "tiny.fv", "--weights", "w.safetensors", "--data",
          fix_path("idx"), "--out", "out", NULL);
}

static void fifo_image_visualize(h_case *c)
{
    fix_copy("conv.fv", "conv.fv");
    st_conv("w.safetensors");
    mk_fifo("fifo.png");
    h_run(c, EXPECT_ERR, F_FIFO, "visualize", "conv.fv", "--weights", "w.safetensors", "--data",
          fix_path("idx"), "--image", "fifo.png", "--out", "out", NULL);
}

static void fifo_data_knn(h_case *c)
{
    mk_fifo("in");
    h_run(c, EXPECT_ERR, F_FIFO, "knn", "--data", "in", "--out", "out", NULL);
}

/* ---------------------------------------------------------------- output paths */

/* --out of `n` characters in components of 200 (made absolute from the working folder): it must
 * be used whole or refused, never cut short. */
static void long_out(h_case *c, size_t n)
{
    char wd[4096], *out = malloc(n + 1);
    if (!out || !getcwd(wd, sizeof wd))
        h_die("long_out");
    size_t k = (size_t)snprintf(out, n + 1, "%s/", wd), rel = k;
    for (; k < n; k++)
        out[k] = (k - rel) % 201 == 200 ? '/' : 'o';
    out[n] = '\0';
    if (out[n - 1] == '/')
        out[n - 1] = 'o';
    idx_in();
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_CLEAN, F_TRAIN, "train", "tiny.fv", "--data", "in", "--epochs", "1", "--out",
          out, "--quiet", NULL);
    h_outs(c, out + rel, NULL); /* nothing may be written anywhere else */
    free(out);
}
static void out_1000(h_case *c) { long_out(c, 1000); }
static void out_5000(h_case *c) { long_out(c, 5000); }

static void out_is_file(h_case *c)
{
    idx_in();
    fix_copy("tiny.fv", "tiny.fv");
    w_text("out", "a file, not a folder\n");
    h_run(c, EXPECT_ERR, F_TRAIN, "train", "tiny.fv", "--data", "in", "--epochs", "1", "--out",
          "out", "--quiet", NULL);
    h_outs(c, "nothing", NULL);
}

/* model names used as the default output folder runs/<name>: must stay inside runs/. */
static void named_model(h_case *c, const char *name)
{
    char text[128];
    snprintf(text, sizeof text, "model %s\ninput shape=1,8,8\nflatten\ndense units=3\n", name);
    train_model(c, EXPECT_CLEAN, text);
    h_outs(c, "runs", NULL);
}
static void name_up2(h_case *c) { named_model(c, "../../x"); }
static void name_up3(h_case *c) { named_model(c, "../../../x"); }
static void name_dotdot(h_case *c) { named_model(c, ".."); }
static void name_slash(h_case *c) { named_model(c, "a/b"); }
static void name_absolute(h_case *c) { named_model(c, "/x"); }
static void name_not_utf8(h_case *c) { named_model(c, "x\xff\xfey"); }

/* ---------------------------------------------------------------- data and training */

/* IDX test labels covering 3 of the 10 classes the model outputs (the report must not crash). */
static void idx_test_fewer_classes(h_case *c)
{
    idx_dataset("in", 60, 12, 10, 3);
    fix_copy("tiny10.fv", "tiny10.fv");
    h_run(c, EXPECT_OK, F_TRAIN, "train", "tiny10.fv", "--data", "in", "--epochs", "1", "--out",
          "out", "--quiet", NULL);
}

static void limit_1(h_case *c)
{
    idx_in();
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_OK, F_TRAIN, "train", "tiny.fv", "--data", "in", "--epochs", "1", "--limit",
          "1", "--out", "out", "--quiet", NULL);
}

/* Divergence: a deep model on noise (nothing to learn) at --lr 1e6 must stop with an error, and
 * never save non-finite weights. */
static void diverge(h_case *c, const char *opt)
{
    for (int split = 0; split < 2; split++) {
        uint32_t n = split ? 24 : 96;
        h_buf im = {0}, lb = {0};
        idx_header(&im, 8, 3, (uint32_t[]){n, 8, 8});
        idx_header(&lb, 8, 1, (uint32_t[]){n});
        for (uint32_t i = 0; i < n * 64; i++) {
            unsigned char v = (unsigned char)h_rand();
            hb_put(&im, &v, 1);
        }
        for (uint32_t i = 0; i < n; i++) {
            unsigned char k = (unsigned char)(i % 3);
            hb_put(&lb, &k, 1);
        }
        w_file(split ? "in/t10k-images-idx3-ubyte" : "in/train-images-idx3-ubyte", im.p, im.n);
        w_file(split ? "in/t10k-labels-idx1-ubyte" : "in/train-labels-idx1-ubyte", lb.p, lb.n);
        hb_free(&im), hb_free(&lb);
    }
    w_text("deep.fv", "model deep\ninput shape=1,8,8\nflatten\ndense units=32 activation=relu\n"
           "dense units=32 activation=relu\ndense units=32 activation=relu\n"
           "dense units=32 activation=relu\ndense units=3\n");
    h_run(c, EXPECT_ERR, F_TRAIN, "train", "deep.fv", "--data", "in", "--epochs", "5",
          "--optimizer", opt, "--lr", "1e6", "--out", "out", "--quiet", NULL);
}
static void diverge_adam(h_case *c) { diverge(c, "adam"); }
static void diverge_sgd(h_case *c) { diverge(c, "sgd"); }

static void batch_over_data(h_case *c)
{
    idx_in();
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_OK, F_TRAIN, "train", "tiny.fv", "--data", "in", "--epochs", "1", "--batch",
          "65536", "--out", "out", "--quiet", NULL);
}

#define BADOPT(fn, opt, val)                                                                     \
    static void fn(h_case *c)                                                                    \
    {                                                                                            \
        idx_in();                                                                                \
        fix_copy("tiny.fv", "tiny.fv");                                                          \
        h_run(c, EXPECT_ERR, F_NOTHREADS, "train", "tiny.fv", "--data", "in", opt, val, "--out", \
              "out", NULL);                                                                      \
    }
BADOPT(opt_epochs0, "--epochs", "0")
BADOPT(opt_batch0, "--batch", "0")
BADOPT(opt_limit0, "--limit", "0")
BADOPT(opt_threads, "--threads", "1000")
BADOPT(opt_lr_nan, "--lr", "nan")
BADOPT(opt_lr_inf, "--lr", "inf")
BADOPT(opt_lr_neg, "--lr", "-1")
BADOPT(opt_momentum1, "--momentum", "1")
BADOPT(opt_seed_neg, "--seed", "-1")
BADOPT(opt_epochs_empty, "--epochs", "")
BADOPT(opt_epochs_huge, "--epochs", "99999999999999999999")
BADOPT(opt_rotate_nan, "--rotate", "nan")
BADOPT(opt_optimizer, "--optimizer", "adam\xff")

static void too_many_args(h_case *c)
{
    h_run(c, EXPECT_ERR, F_NOTHREADS, "summary", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
          "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
          "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
          "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a", "a",
          "a", "a", "a", "a", "a", NULL);
}

static void option_without_value(h_case *c)
{
    h_run(c, EXPECT_ERR, F_NOTHREADS, "train", "--out", NULL);
}

/* ---------------------------------------------------------------- mutations */

/* `src` (a fixture file, or made by `make` into name) mutated into name. */
static void mutated(const char *src, const char *name)
{
    size_t n;
    unsigned char *p = r_file(src, &n);
    mutate(&p, &n);
    w_file(name, p, n);
    free(p);
}

static void mut_idx(h_case *c, int gz)
{
    idx_in();
    size_t n;
    unsigned char *p = r_file("in/train-images-idx3-ubyte", &n);
    if (gz) {
        h_buf b = {0};
        gz_bytes(p, n, &b);
        free(p);
        p = b.p, n = b.n;
        remove("in/train-images-idx3-ubyte");
    }
    mutate(&p, &n);
    w_file(gz ? "in/train-images-idx3-ubyte.gz" : "in/train-images-idx3-ubyte", p, n);
    free(p);
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_CLEAN, F_TRAIN | F_NOOOM, "train", "tiny.fv", "--data", "in", "--epochs", "1",
          "--out", "out", "--quiet", NULL);
}
static void mut_idx_plain(h_case *c) { mut_idx(c, 0); }
static void mut_idx_gz(h_case *c) { mut_idx(c, 1); }

static void mut_image(h_case *c, int kind)
{
    if (kind == 0)
        png_lib("src.png", 23, 17, 8, 2, 0, 7);
    else if (kind == 1)
        png_lib("src.png", 23, 17, 4, 3, 1, 7);
    else {
        h_buf b = {0};
        jpeg_lib(&b, 23, 17, kind == 4 ? 4 : 3, kind >= 3);
        w_file("src.png", b.p, b.n);
        hb_free(&b);
    }
    mutated("src.png", "img.png");
    remove("src.png");
    fix_copy("tiny.fv", "tiny.fv");
    fix_copy("run/weights.safetensors", "w.safetensors");
    h_run(c, EXPECT_CLEAN, F_NOOOM, "predict", "tiny.fv", "--weights", "w.safetensors", "img.png",
          NULL);
}
static void mut_png(h_case *c) { mut_image(c, 0); }
static void mut_png_pal(h_case *c) { mut_image(c, 1); }
static void mut_jpeg(h_case *c) { mut_image(c, 2); }
static void mut_jpeg_prog(h_case *c) { mut_image(c, 3); }
static void mut_jpeg_cmyk(h_case *c) { mut_image(c, 4); }

static void mut_model(h_case *c)
{
    w_text("src.fv", "model mut\ninput shape=1,8,8\nconv2d filters=4 kernel_size=3 padding=1 "
           "activation=relu name=c1\nbatchnorm name=bn\nmaxpool2d pool_size=2\n"
           "conv2d_transpose filters=2 kernel_size=3 strides=2 name=up\ndropout rate=0.25\n"
           "flatten\ndense units=16 activation=relu name=f1\nadd inputs=f1,f1\n"
           "dense units=3 name=fc\n");
    mutated("src.fv", "m.fv");
    remove("src.fv");
    h_run(c, EXPECT_CLEAN, 0, "summary", "m.fv", NULL);
}

static void mut_weights(h_case *c)
{
    mutated(fix_path("run/weights.safetensors"), "w.safetensors");
    fix_copy("tiny.fv", "tiny.fv");
    png_class("img.png", 2, 8, 8);
    h_run(c, EXPECT_CLEAN, F_NOOOM, "predict", "tiny.fv", "--weights", "w.safetensors", "img.png",
          NULL);
}

static void mut_checkpoint(h_case *c)
{
    mutated(fix_path("run/last.safetensors"), "out/last.safetensors");
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_CLEAN, F_TRAIN | F_NOOOM, "train", "tiny.fv", "--data", fix_path("idx"),
          "--epochs", "3", "--out", "out", "--resume", "--quiet", NULL);
}

static void mut_cifar(h_case *c)
{
    unsigned char *rec = malloc(3073 * 3);
    if (!rec)
        h_die("out of memory");
    for (int i = 0; i < 3073 * 3; i++)
        rec[i] = (unsigned char)(i % 3073 == 0 ? (uint64_t)(i / 3073) : h_rand());
    char p[64];
    for (int f = 1; f <= 6; f++) {
        snprintf(p, sizeof p, f <= 5 ? "cf/data_batch_%d.bin" : "cf/test_batch.bin", f);
        w_file(p, rec, 3073 * 3);
    }
    free(rec);
    mutated("cf/data_batch_2.bin", "cf/data_batch_2.bin");
    fix_copy("cifar.fv", "cifar.fv");
    h_run(c, EXPECT_CLEAN, F_TRAIN | F_NOOOM, "train", "cifar.fv", "--data", "cf", "--epochs", "1",
          "--out", "out", "--quiet", NULL);
}

const h_entry h_cases_cli[] = {
    {"cli/fifo-weights-predict", fifo_weights_predict, 0},
    {"cli/fifo-image-predict", fifo_image_predict, 0},
    {"cli/fifo-weights-eval", fifo_weights_eval, 0},
    {"cli/fifo-image-visualize", fifo_image_visualize, 0},
    {"cli/fifo-data-knn", fifo_data_knn, 0},
    {"cli/out-path-1000-chars", out_1000, 0},
    {"cli/out-path-5000-chars", out_5000, 0},
    {"cli/out-is-a-file", out_is_file, 0},
    {"cli/model-name-../../x", name_up2, 0},
    {"cli/model-name-../../../x", name_up3, 0},
    {"cli/model-name-..", name_dotdot, 0},
    {"cli/model-name-a/b", name_slash, 0},
    {"cli/model-name-/x", name_absolute, 0},
    {"cli/model-name-not-utf8", name_not_utf8, 0},
    {"cli/idx-test-3-of-10-classes", idx_test_fewer_classes, 0},
    {"cli/limit-1", limit_1, 0},
    {"cli/diverge-adam-lr-1e6", diverge_adam, 0},
    {"cli/diverge-sgd-lr-1e6", diverge_sgd, 0},
    {"cli/batch-65536-over-48-images", batch_over_data, 0},
    {"cli/option-epochs-0", opt_epochs0, 0},
    {"cli/option-batch-0", opt_batch0, 0},
    {"cli/option-limit-0", opt_limit0, 0},
    {"cli/option-threads-1000", opt_threads, 0},
    {"cli/option-lr-nan", opt_lr_nan, 0},
    {"cli/option-lr-inf", opt_lr_inf, 0},
    {"cli/option-lr-negative", opt_lr_neg, 0},
    {"cli/option-momentum-1", opt_momentum1, 0},
    {"cli/option-seed-negative", opt_seed_neg, 0},
    {"cli/option-epochs-empty", opt_epochs_empty, 0},
    {"cli/option-epochs-20-digits", opt_epochs_huge, 0},
    {"cli/option-rotate-nan", opt_rotate_nan, 0},
    {"cli/option-optimizer-not-utf8", opt_optimizer, 0},
    {"cli/70-arguments", too_many_args, 0},
    {"cli/option-without-value", option_without_value, 0},
    {NULL, NULL, 0},
};

const h_entry h_cases_mutate[] = {
    {"mutate/idx", mut_idx_plain, -1},
    {"mutate/idx-gz", mut_idx_gz, -1},
    {"mutate/png", mut_png, -1},
    {"mutate/png-palette-interlaced", mut_png_pal, -1},
    {"mutate/jpeg", mut_jpeg, -1},
    {"mutate/jpeg-progressive", mut_jpeg_prog, -1},
    {"mutate/jpeg-cmyk-progressive", mut_jpeg_cmyk, -1},
    {"mutate/model", mut_model, -1},
    {"mutate/weights", mut_weights, -1},
    {"mutate/checkpoint", mut_checkpoint, -1},
    {"mutate/cifar", mut_cifar, -1},
    {NULL, NULL, 0},
};
