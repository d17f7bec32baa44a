/* test_modelfile_hostile.c - model texts an attacker writes (issue 16): names that are not UTF-8
 * or hold control characters, model names that would leave the output folder, float arguments
 * that overflow to infinity, and every layer's integer arguments at their extremes, which must
 * give a one-line "file:line:" error or a model of sane shape - never signed overflow (this test
 * runs under UBSan in the sanitizer suite, where any overflow aborts it). */
#include "core/internal.h"
#include "test.h"

#include <limits.h>

#define X "models/x.fv"

/* text must fail with an error starting "X:line: " and containing what, on one clean line. */
static void expect_error(const char *text, int line, const char *what)
{
    char where[64];
    snprintf(where, sizeof where, X ":%d: ", line);
    fv_clear_error();
    fv_model *m = fv_model_parse(text, X);
    const char *e = fv_last_error();
    int clean = 1;
    for (const unsigned char *c = (const unsigned char *)e; *c; c++)
        clean &= *c >= 0x20 && *c != 0x7f;
    if (m || strncmp(e, where, strlen(where)) != 0 || !strstr(e, what) || !clean) {
        fprintf(stderr, "text \"%s\": %s, error \"%s\" (expected \"%s...%s\")\n", text,
                m ? "parsed" : "failed", e, where, what);
        t_cur_failed = 1;
    }
    fv_model_free(m);
}

TEST(test_names_utf8)
{
    expect_error("input shape=4\ndense units=2 name=\xff\xfe\n", 2, "UTF-8");
    expect_error("input shape=4\ndense units=2 name=a\xc3\n", 2, "UTF-8");      /* cut short */
    expect_error("input shape=4\ndense units=2 name=\xc0\xaf\n", 2, "UTF-8");   /* overlong / */
    expect_error("input shape=4\ndense units=2 name=\xed\xa0\x80\n", 2, "UTF-8"); /* surrogate */
    expect_error("input shape=4\ndense units=2 name=a\x1b[2Jb\n", 2, "control characters");
    expect_error("input shape=4\ndense units=2 name=a\xc2\x85\n", 2, "control characters");
    expect_error("input name=\x01in shape=4\n", 1, "control characters");
    expect_error("model \xff\ninput shape=4\n", 1, "UTF-8");
    expect_error("model a\x7f\ninput shape=4\n", 1, "control characters");
    /* the raw bytes are not echoed: the message stays printable */
    expect_error("input shape=4\ndense units=2 name=\xff\n", 2, "name=\\xff");
    /* valid UTF-8 names are fine */
    fv_model *m = fv_model_parse("model r\xc3\xa9seau\ninput shape=4\n"
                                 "dense units=2 name=\xe5\xb1\x82\xf0\x9f\x99\x82\n", X);
    CHECK(m != NULL);
    if (m) {
        CHECK(strcmp(fv_model_name(m), "r\xc3\xa9seau") == 0);
        CHECK(fv_model_find_node(m, "\xe5\xb1\x82\xf0\x9f\x99\x82") >= 0);
    }
    fv_model_free(m);
}

TEST(test_model_name_is_a_folder_name)
{
    expect_error("model ../../x\ninput shape=4\n", 1, "must not contain '/'");
    expect_error("model a/b\ninput shape=4\n", 1, "must not contain '/'");
    expect_error("model a\\b\ninput shape=4\n", 1, "must not contain '/' or '\\'");
    expect_error("model ..\ninput shape=4\n", 1, "must not be '.' or '..'");
    expect_error("model .\ninput shape=4\n", 1, "must not be '.' or '..'");
    fv_model *m = fv_model_parse("model ..a.b..\ninput shape=4\n", X);
    CHECK(m && strcmp(fv_model_name(m), "..a.b..") == 0);
    fv_model_free(m);
    /* a name from the file name falls back to "model" where it would be unusable */
    const char *text = "input shape=4\n";
    const char *files[] = {"dir/..fv", "dir/a\\b.fv", "dir/\xff.fv", "dir/\x1b.fv"};
    for (int i = 0; i < 4; i++) {
        m = fv_model_parse(text, files[i]);
        CHECK(m && strcmp(fv_model_name(m), "model") == 0);
        fv_model_free(m);
    }
}

TEST(test_floats_finite)
{
    const char *cases[] = {
        "batchnorm epsilon=1e39", "batchnorm eps=3.5e38", "group_norm groups=1 epsilon=1e39",
        "layer_norm epsilon=1e39", "lrn size=3 alpha=1e39", "lrn size=3 beta=1e39",
        "lrn size=3 k=1e39", "leaky_relu alpha=1e39", "elu alpha=1e39",
        "conv2d filters=1 kernel_size=1 l2=1e39", "lppool2d power=1e39",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[160];
        snprintf(text, sizeof text, "input shape=4,6,6\n%s\n", cases[i]);
        expect_error(text, 2, "finite");
    }
    /* the layer function refuses an infinite epsilon too */
    fv_model *api = fv_model_new("api");
    int x = fv_input(api, .ndim = 3, .dims = {4, 6, 6});
    CHECK(fv_batchnorm(api, x, .eps = INFINITY) < 0);
    CHECK_ERR_HAS("finite");
    fv_model_free(api);
    /* the largest float is still accepted */
    fv_model *m = fv_model_parse("input shape=4,6,6\nbatchnorm epsilon=3.4e38\n", X);
    CHECK(m != NULL);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- integer extremes */

/* Layer lines with '@' where an extreme value goes (every '@' of a line gets the same one). */
static const char *const layer_lines[] = {
    "conv2d filters=@ kernel_size=1",
    "conv2d filters=1 kernel_size=@",
    "conv2d filters=1 kernel_size=@,1",
    "conv2d filters=1 kernel_size=3 strides=@",
    "conv2d filters=1 kernel_size=3 padding=@",
    "conv2d filters=1 kernel_size=3 dilation=@",
    "conv2d filters=1 kernel_size=3 dilation=@ padding=same",
    "conv2d filters=1 kernel_size=@ padding=same",
    "conv2d filters=1 kernel_size=@ dilation=@ padding=same",
    "conv2d filters=@ kernel_size=@ strides=@ padding=@ dilation=@",
    "conv2d filters=@ kernel_size=1 groups=@",
    "conv2d_transpose filters=@ kernel_size=1",
    "conv2d_transpose filters=1 kernel_size=@",
    "conv2d_transpose filters=1 kernel_size=1 strides=@",
    "conv2d_transpose filters=1 kernel_size=3 strides=@ padding=1",
    "conv2d_transpose filters=1 kernel_size=1 padding=@",
    "conv2d_transpose filters=1 kernel_size=@ dilation=@",
    "conv2d_transpose filters=1 kernel_size=3 strides=@ output_padding=1",
    "conv2d_transpose filters=1 kernel_size=3 dilation=@ output_padding=@",
    "conv2d_transpose filters=@ kernel_size=@ strides=@ padding=@ dilation=@",
    "depthwise_conv2d kernel_size=3 depth_multiplier=@",
    "depthwise_conv2d kernel_size=@ dilation=@ padding=same",
    "separable_conv2d filters=@ kernel_size=3 depth_multiplier=@",
    "dense units=@",
    "maxpool2d pool_size=@",
    "maxpool2d pool_size=2 strides=@",
    "maxpool2d pool_size=@ padding=@",
    "maxpool2d pool_size=@ strides=@ padding=@ ceil_mode=true",
    "avgpool2d pool_size=@ strides=@ padding=@ ceil_mode=true",
    "lppool2d pool_size=@ strides=@ ceil_mode=true",
    "fractional_maxpool2d kernel_size=@ output_size=@",
    "fractional_maxpool2d kernel_size=2 output_size=@",
    "fractional_maxpool2d kernel_size=0 output_size=@",
    "upsample2d size=@",
    "zero_padding2d padding=@",
    "cropping2d cropping=@",
    "adaptive_avgpool2d output_size=@",
    "lrn size=@",
    "maxout pieces=@",
    "group_norm groups=@",
    "reshape target_shape=@,@,@,@",
    "reshape target_shape=@,@,@,-1",
    "reshape target_shape=@,-1",
    "flatten",
};

static const char *const inputs[] = {
    "input shape=3,8,8",
    "input shape=1,1,@",
    "input shape=1,@,1",
    "input shape=@,1,1",
    "input shape=1,65536,65536",
    "input shape=1,8,8\nupsample2d size=1024\nupsample2d size=1024\nupsample2d size=8",
};

static const char *const values[] = {"2147483647", "2147483646", "1073741824", "1073741823",
                                     "65537",      "46341",      "3037000",    "1"};

/* s with every '@' replaced by v, into out[cap]. */
static void fill(const char *s, const char *v, char *out, size_t cap)
{
    size_t k = 0, vl = strlen(v);
    for (; *s && k + vl + 1 < cap; s++) {
        if (*s == '@')
            memcpy(out + k, v, vl), k += vl;
        else
            out[k++] = *s;
    }
    out[k] = '\0';
}

/* A model that parsed has positive dimensions whose products fit (sizes are int64). */
static int sane(const fv_model *m)
{
    for (int i = 0; i < fv_model_num_nodes(m); i++) {
        int64_t dims[4], size = 1;
        int nd = fv_node_shape(m, i, dims);
        for (int d = 0; d < nd; d++) {
            if (dims[d] < 1 || size > INT64_MAX / dims[d])
                return 0;
            size *= dims[d];
        }
    }
    return 1;
}

TEST(test_integer_extremes)
{
    int parsed = 0, failed = 0;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        for (size_t l = 0; l < sizeof layer_lines / sizeof layer_lines[0]; l++)
            for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                char a[256], b[256], text[600];
                fill(inputs[i], values[v], a, sizeof a);
                fill(layer_lines[l], values[v], b, sizeof b);
                snprintf(text, sizeof text, "%s\n%s\n", a, b);
                fv_clear_error();
                fv_model *m = fv_model_parse(text, X);
                if (m) {
                    parsed++;
                    if (!sane(m)) {
                        fprintf(stderr, "insane shapes from:\n%s", text);
                        t_cur_failed = 1;
                    }
                } else {
                    failed++;
                    const char *e = fv_last_error();
                    if (strncmp(e, X ":", strlen(X ":")) != 0 || strchr(e, '\n')) {
                        fprintf(stderr, "bad error \"%s\" for:\n%s", e, text);
                        t_cur_failed = 1;
                    }
                }
                fv_model_free(m);
            }
    CHECK(parsed > 50 && failed > 50);
}

/* The finding itself: stride 2147483647 made oh * ow overflow. */
TEST(test_conv_transpose_huge_stride)
{
    expect_error("input shape=1,8,8\nconv2d_transpose filters=1 kernel_size=1 "
                 "strides=2147483647\n", 2, "conv2d_transpose");
    expect_error("input shape=1,3,3\nconv2d_transpose filters=1 kernel_size=3 "
                 "strides=2147483647 dilation=2147483647 padding=1\n", 2, "conv2d_transpose");
}

int main(void)
{
    RUN(test_names_utf8);
    RUN(test_model_name_is_a_folder_name);
    RUN(test_floats_finite);
    RUN(test_integer_extremes);
    RUN(test_conv_transpose_huge_stride);
    TEST_MAIN_END();
}
