/* cases_model.c - hostile model text files (.fv) given to `fovea summary` (parse and build) and
 * `fovea train`: unknown layers and arguments, malformed, negative, huge and overflowing numbers,
 * non-finite reals, names with '/', '..' and bytes that are not UTF-8, long lines, deep nesting
 * and long chains, binary junk, empty files and special files in place of the model. */
#include "hostile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const head = "input shape=1,8,8\n";

static void summary(h_case *c, h_expect e, int flags, const char *text)
{
    w_text("m.fv", "%s", text);
    h_run(c, e, flags, "summary", "m.fv", NULL);
}

/* The layer line after an 8x8 input (and a flatten when dense). */
static void layer(h_case *c, h_expect e, const char *line)
{
    char t[4096];
    snprintf(t, sizeof t, "%s%s%s\n", head, strncmp(line, "dense", 5) ? "" : "flatten\n", line);
    summary(c, e, 0, t);
}

static void train_text(h_case *c, h_expect e, const char *text)
{
    w_text("m.fv", "%s", text);
    fix_copy("idx/train-images-idx3-ubyte", "in/train-images-idx3-ubyte");
    fix_copy("idx/train-labels-idx1-ubyte", "in/train-labels-idx1-ubyte");
    fix_copy("idx/t10k-images-idx3-ubyte", "in/t10k-images-idx3-ubyte");
    fix_copy("idx/t10k-labels-idx1-ubyte", "in/t10k-labels-idx1-ubyte");
    h_run(c, e, F_TRAIN, "train", "m.fv", "--data", "in", "--epochs", "1", "--out", "out",
          "--quiet", NULL);
}

#define LAYER(fn, expect, line)                                                                  \
    static void fn(h_case *c) { layer(c, expect, line); }

LAYER(unknown_layer, EXPECT_ERR, "conv3d filters=4")
LAYER(unknown_arg, EXPECT_ERR, "conv2d filters=4 kernel_size=3 colour=red")
LAYER(missing_required, EXPECT_ERR, "conv2d kernel_size=3")
LAYER(not_a_number, EXPECT_ERR, "dense units=abc")
LAYER(fraction, EXPECT_ERR, "dense units=3.5")
LAYER(hex, EXPECT_ERR, "dense units=0x10")
LAYER(plus_sign, EXPECT_ERR, "dense units=+3")
LAYER(duplicate_arg, EXPECT_ERR, "dense units=3 units=4")
LAYER(alias_twice, EXPECT_ERR, "conv2d filters=4 kernel_size=3 kernel=3")
LAYER(empty_value, EXPECT_ERR, "dense units=")
LAYER(no_equals, EXPECT_ERR, "dense units")
LAYER(negative_filters, EXPECT_ERR, "conv2d filters=-3 kernel_size=3")
LAYER(zero_units, EXPECT_ERR, "dense units=0")
LAYER(kernel_zero, EXPECT_ERR, "conv2d filters=4 kernel_size=0")
LAYER(stride_zero, EXPECT_ERR, "conv2d filters=4 kernel_size=3 strides=0")
LAYER(units_2p31, EXPECT_ERR, "dense units=2147483648")
LAYER(units_20_digits, EXPECT_ERR, "dense units=99999999999999999999999")
LAYER(units_negative_max, EXPECT_ERR, "dense units=-2147483648")
LAYER(units_max, EXPECT_CLEAN, "dense units=2147483647")
LAYER(filters_max, EXPECT_CLEAN, "conv2d filters=2147483647 kernel_size=3")
LAYER(kernel_max, EXPECT_ERR, "conv2d filters=4 kernel_size=2147483647")
LAYER(dilation_max, EXPECT_ERR, "conv2d filters=4 kernel_size=3 dilation_rate=2147483647")
LAYER(padding_max, EXPECT_CLEAN, "conv2d filters=4 kernel_size=3 padding=2147483647")
LAYER(groups_max, EXPECT_ERR, "conv2d filters=4 kernel_size=3 groups=2147483647")
LAYER(convt_stride_max, EXPECT_CLEAN,
      "conv2d_transpose filters=2 kernel_size=3 strides=2147483647")
LAYER(convt_padding_max, EXPECT_ERR, "conv2d_transpose filters=2 kernel_size=3 padding=2147483647")
LAYER(convt_outpad_max, EXPECT_ERR,
      "conv2d_transpose filters=2 kernel_size=3 strides=2 output_padding=2147483647")
LAYER(pool_max, EXPECT_ERR, "maxpool2d pool_size=2147483647")
LAYER(pool_stride_max, EXPECT_CLEAN, "maxpool2d pool_size=2 strides=2147483647")
LAYER(upsample_max, EXPECT_CLEAN, "upsampling2d size=2147483647")
LAYER(dropout_15, EXPECT_ERR, "dropout rate=1.5")
LAYER(dropout_nan, EXPECT_ERR, "dropout rate=nan")
LAYER(dropout_inf, EXPECT_ERR, "dropout rate=inf")
LAYER(dropout_hexfloat, EXPECT_ERR, "dropout rate=0x1p-2")
LAYER(bn_eps_1e39, EXPECT_ERR, "batchnorm epsilon=1e39")
LAYER(bn_eps_negative, EXPECT_ERR, "batchnorm epsilon=-1")
LAYER(bn_eps_nan, EXPECT_ERR, "batchnorm epsilon=nan")
LAYER(bn_momentum_2, EXPECT_ERR, "batchnorm momentum=2")
LAYER(leaky_nan, EXPECT_ERR, "leaky_relu alpha=nan")
LAYER(l2_inf, EXPECT_ERR, "dense units=3 l2=1e39")
LAYER(name_dotdot, EXPECT_ERR, "dense units=3 name=..")
LAYER(name_leading_dot, EXPECT_ERR, "dense units=3 name=.a")
LAYER(name_comma, EXPECT_ERR, "dense units=3 name=a,b")
LAYER(name_quote, EXPECT_ERR, "dense units=3 name=a\"b")
LAYER(name_64, EXPECT_ERR,
      "dense units=3 name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
LAYER(name_control, EXPECT_ERR, "dense units=3 name=a\x01z")
LAYER(inputs_self, EXPECT_ERR, "dense units=3 name=x inputs=x")
LAYER(inputs_unknown, EXPECT_ERR, "dense units=3 inputs=nothere")
LAYER(add_one_input, EXPECT_ERR, "add inputs=input1")
LAYER(add_nine_inputs, EXPECT_ERR,
      "add inputs=input1,input1,input1,input1,input1,input1,input1,input1,input1")
LAYER(brackets_nested, EXPECT_ERR, "conv2d filters=4 kernel_size=((((3))))")
LAYER(brackets_unbalanced, EXPECT_ERR, "conv2d filters=4 kernel_size=(3,3")
LAYER(kernel_three_values, EXPECT_ERR, "conv2d filters=4 kernel_size=3,3,3")

static void input_negative(h_case *c) { summary(c, EXPECT_ERR, 0, "input shape=-1,8,8\n"); }
static void input_zero(h_case *c) { summary(c, EXPECT_ERR, 0, "input shape=0,8,8\n"); }
static void input_5d(h_case *c) { summary(c, EXPECT_ERR, 0, "input shape=1,1,1,8,8\n"); }
static void input_max(h_case *c)
{
    summary(c, EXPECT_CLEAN, 0, "input shape=2147483647,2147483647,2147483647\nflatten\n"
            "dense units=3\n");
}
static void conv_huge_input(h_case *c)
{
    summary(c, EXPECT_CLEAN, 0, "input shape=65535,65535,65535\nconv2d filters=65535 "
            "kernel_size=3\n");
}

static void no_input(h_case *c) { summary(c, EXPECT_ERR, 0, "dense units=3\n"); }
static void two_inputs(h_case *c) { summary(c, EXPECT_ERR, 0, "input shape=3\ninput shape=3\n"); }
static void empty(h_case *c) { summary(c, EXPECT_ERR, 0, ""); }
static void comments_only(h_case *c) { summary(c, EXPECT_ERR, 0, "# nothing\n   # here\n"); }
static void bom_only(h_case *c) { summary(c, EXPECT_ERR, 0, "\xef\xbb\xbf"); }
static void model_twice(h_case *c) { summary(c, EXPECT_ERR, 0, "model a\nmodel b\ninput shape=3\n"); }
static void model_no_name(h_case *c) { summary(c, EXPECT_ERR, 0, "model\ninput shape=3\n"); }
static void model_late(h_case *c) { summary(c, EXPECT_ERR, 0, "input shape=3\nmodel late\n"); }
static void crlf_bom(h_case *c)
{
    summary(c, EXPECT_OK, 0, "\xef\xbb\xbfmodel crlf\r\ninput shape=1,8,8\r\nflatten\r\n"
            "dense\tunits=3\vname=fc\f\r\n# end\r\n");
}
static void utf8_name(h_case *c)
{
    summary(c, EXPECT_OK, 0, "model na\xc3\xafve\ninput shape=3\ndense units=2 name=caf\xc3\xa9\n");
}

static void nul_byte(h_case *c)
{
    static const char t[] = "input shape=3\n\0dense units=2\n";
    w_file("m.fv", t, sizeof t - 1);
    h_run(c, EXPECT_ERR, 0, "summary", "m.fv", NULL);
}

static void binary_junk(h_case *c)
{
    unsigned char b[4096];
    for (size_t i = 0; i < sizeof b; i++) /* no NUL, short lines: refused on content */
        b[i] = i % 50 == 49 ? '\n' : (unsigned char)(h_rand() | 1);
    w_file("m.fv", b, sizeof b);
    h_run(c, EXPECT_ERR, 0, "summary", "m.fv", NULL);
}

/* A line of n characters: a name argument that long. */
static void long_line(h_case *c, size_t n)
{
    char *t = malloc(n + 64);
    if (!t)
        h_die("out of memory");
    int k = snprintf(t, n + 64, "%sflatten\ndense units=3 name=", head);
    memset(t + k, 'x', n);
    t[(size_t)k + n] = '\n', t[(size_t)k + n + 1] = '\0';
    summary(c, EXPECT_ERR, 0, t);
    free(t);
}
static void line_2000(h_case *c) { long_line(c, 2000); }
static void line_1mb(h_case *c) { long_line(c, 1 << 20); }

/* A valid model followed by comment lines up to 17 MiB (the limit is 16 MiB). */
static void file_17mib(h_case *c)
{
    size_t n = (17u << 20);
    char *t = malloc(n + 1), line[65];
    if (!t)
        h_die("out of memory");
    snprintf(line, sizeof line, "%-63s", "# a comment line that fills the file up to its limit");
    line[63] = '\n';
    for (size_t i = 0; i < n; i += 64)
        memcpy(t + i, line, 64);
    memcpy(t, "input shape=3\n", 14);
    memset(t + 14, '#', 1); /* the rest of the first line is a comment */
    t[n] = '\0';
    summary(c, EXPECT_ERR, 0, t);
    free(t);
}

static void parens_500(h_case *c)
{
    char t[1200];
    int k = snprintf(t, sizeof t, "%sconv2d filters=4 kernel_size=", head);
    for (int i = 0; i < 500; i++)
        t[k++] = '(';
    snprintf(t + k, sizeof t - (size_t)k, "3\n");
    summary(c, EXPECT_ERR, 0, t);
}

/* A chain of relu layers just under the 10,000-layer limit (a deep graph must not recurse the
 * stack away), or far over it in the long run. */
static void chain(h_case *c)
{
    int n = h_long ? 200000 : 9990;
    h_buf b = {0};
    hb_put(&b, "input shape=4\n", 14);
    for (int i = 0; i < n; i++)
        hb_put(&b, "relu\n", 5);
    hb_put(&b, "", 1);
    summary(c, EXPECT_CLEAN, 0, (const char *)b.p);
    hb_free(&b);
}

static void special_path(h_case *c, int kind, int train)
{
    if (kind == 0)
        mk_dirs("m.fv");
    else if (kind == 1)
        mk_fifo("m.fv");
    else
        mk_loop("m.fv");
    if (train)
        h_run(c, EXPECT_ERR, F_FIFO | F_TRAIN, "train", "m.fv", "--data", fix_path("idx"),
              "--epochs", "1", "--out", "out", "--quiet", NULL);
    else
        h_run(c, EXPECT_ERR, kind == 1 ? F_FIFO : 0, "summary", "m.fv", NULL);
}
static void path_dir(h_case *c) { special_path(c, 0, 0); }
static void path_fifo(h_case *c) { special_path(c, 1, 0); }
static void path_fifo_train(h_case *c) { special_path(c, 1, 1); }
static void path_loop(h_case *c) { special_path(c, 2, 0); }
static void path_dev_zero(h_case *c) { h_run(c, EXPECT_ERR, 0, "summary", "/dev/zero", NULL); }

/* ---------------------------------------------------------------- trained */

static void name_slash_train(h_case *c)
{
    train_text(c, EXPECT_CLEAN, "input shape=1,8,8\nflatten\ndense units=3 name=a/b\n");
}
static void name_not_utf8_train(h_case *c)
{
    train_text(c, EXPECT_CLEAN, "input shape=1,8,8\nflatten\ndense units=3 name=fc\xff\xfe\n");
}
static void units_max_train(h_case *c)
{
    train_text(c, EXPECT_CLEAN, "input shape=1,8,8\nflatten\ndense units=2147483647\n"
               "dense units=3\n");
}
static void bn_huge_momentum_train(h_case *c)
{
    train_text(c, EXPECT_CLEAN, "input shape=1,8,8\nbatchnorm epsilon=1e30\nflatten\n"
               "dense units=3\n");
}

const h_entry h_cases_model[] = {
    {"model/unknown-layer", unknown_layer, 0},
    {"model/unknown-argument", unknown_arg, 0},
    {"model/missing-required", missing_required, 0},
    {"model/not-a-number", not_a_number, 0},
    {"model/fraction", fraction, 0},
    {"model/hex", hex, 0},
    {"model/plus-sign", plus_sign, 0},
    {"model/duplicate-argument", duplicate_arg, 0},
    {"model/alias-twice", alias_twice, 0},
    {"model/empty-value", empty_value, 0},
    {"model/no-equals", no_equals, 0},
    {"model/negative-filters", negative_filters, 0},
    {"model/zero-units", zero_units, 0},
    {"model/kernel-0", kernel_zero, 0},
    {"model/stride-0", stride_zero, 0},
    {"model/units-2^31", units_2p31, 0},
    {"model/units-20-digits", units_20_digits, 0},
    {"model/units--2^31", units_negative_max, 0},
    {"model/units-2^31-1", units_max, 0},
    {"model/filters-2^31-1", filters_max, 0},
    {"model/kernel-2^31-1", kernel_max, 0},
    {"model/dilation-2^31-1", dilation_max, 0},
    {"model/padding-2^31-1", padding_max, 0},
    {"model/groups-2^31-1", groups_max, 0},
    {"model/convt-stride-2^31-1", convt_stride_max, 0},
    {"model/convt-padding-2^31-1", convt_padding_max, 0},
    {"model/convt-output-padding-2^31-1", convt_outpad_max, 0},
    {"model/pool-2^31-1", pool_max, 0},
    {"model/pool-stride-2^31-1", pool_stride_max, 0},
    {"model/upsample-2^31-1", upsample_max, 0},
    {"model/dropout-1.5", dropout_15, 0},
    {"model/dropout-nan", dropout_nan, 0},
    {"model/dropout-inf", dropout_inf, 0},
    {"model/dropout-hex-float", dropout_hexfloat, 0},
    {"model/batchnorm-epsilon-1e39", bn_eps_1e39, 0},
    {"model/batchnorm-epsilon-negative", bn_eps_negative, 0},
    {"model/batchnorm-epsilon-nan", bn_eps_nan, 0},
    {"model/batchnorm-momentum-2", bn_momentum_2, 0},
    {"model/leaky-relu-alpha-nan", leaky_nan, 0},
    {"model/l2-1e39", l2_inf, 0},
    {"model/name-dotdot", name_dotdot, 0},
    {"model/name-leading-dot", name_leading_dot, 0},
    {"model/name-comma", name_comma, 0},
    {"model/name-quote", name_quote, 0},
    {"model/name-64-chars", name_64, 0},
    {"model/name-control-char", name_control, 0},
    {"model/inputs-self", inputs_self, 0},
    {"model/inputs-unknown", inputs_unknown, 0},
    {"model/add-one-input", add_one_input, 0},
    {"model/add-nine-inputs", add_nine_inputs, 0},
    {"model/nested-brackets", brackets_nested, 0},
    {"model/unbalanced-bracket", brackets_unbalanced, 0},
    {"model/kernel-three-values", kernel_three_values, 0},
    {"model/input-negative", input_negative, 0},
    {"model/input-zero", input_zero, 0},
    {"model/input-5-dims", input_5d, 0},
    {"model/input-2^31-1-cubed", input_max, 0},
    {"model/conv-on-65535-cubed", conv_huge_input, 0},
    {"model/no-input", no_input, 0},
    {"model/two-inputs", two_inputs, 0},
    {"model/empty-file", empty, 0},
    {"model/comments-only", comments_only, 0},
    {"model/bom-only", bom_only, 0},
    {"model/model-twice", model_twice, 0},
    {"model/model-without-name", model_no_name, 0},
    {"model/model-after-layer", model_late, 0},
    {"model/crlf-bom-tabs", crlf_bom, 0},
    {"model/utf8-names", utf8_name, 0},
    {"model/nul-byte", nul_byte, 0},
    {"model/binary-junk", binary_junk, 0},
    {"model/line-2000-chars", line_2000, 0},
    {"model/line-1MiB", line_1mb, 0},
    {"model/file-17MiB", file_17mib, 0},
    {"model/500-open-parens", parens_500, 0},
    {"model/chain-of-relu-layers", chain, 0},
    {"model/path-is-dir", path_dir, 0},
    {"model/path-fifo-summary", path_fifo, 0},
    {"model/path-fifo-train", path_fifo_train, 0},
    {"model/path-symlink-loop", path_loop, 0},
    {"model/path-dev-zero", path_dev_zero, 0},
    {"model/train-layer-name-with-slash", name_slash_train, 0},
    {"model/train-layer-name-not-utf8", name_not_utf8_train, 0},
    {"model/train-units-2^31-1", units_max_train, 0},
    {"model/train-batchnorm-epsilon-1e30", bn_huge_momentum_train, 0},
    {NULL, NULL, 0},
};
