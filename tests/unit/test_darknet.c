/* test_darknet.c - Darknet networks (formats/darknet_*.c, data/darknet_image.c): max pooling
 * with Darknet's padding (PyTorch goldens from tests/golden/gen_darknet_pool.py and a gradient
 * check), cfg parsing (names, shapes, the printed table, every error as one line), .weights
 * loading (values, Darknet's batch-norm divisor, headers, truncated and trailing files, nothing
 * changed on an error), the shortcut and reorg's extra zeros against Darknet's shortcut_cpu written out here, and
 * Darknet's resize and letterbox. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/pool_ref.h"
#include "optest.h"
#include "test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---------------------------------------------------------------- pad_end */

static const struct {
    const char *name;
    int c, h, w, k, s, p;
} pools[] = {
    {"dnpool_2s1", 3, 5, 6, 2, 1, 0},
    {"dnpool_2s2_odd", 2, 7, 5, 2, 2, 0},
    {"dnpool_4s2", 2, 9, 8, 4, 2, 1},
};

TEST(pad_end_matches_pytorch)
{
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
        fv_model *m = fv_model_new("pe");
        int in = fv_input(m, .ndim = 3, .dims = {pools[i].c, pools[i].h, pools[i].w});
        int out = fv_maxpool2d(m, in, .size = pools[i].k, .stride = pools[i].s,
                               .padding = pools[i].p, .pad_end = 1);
        ot_golden_layer(m, in, out, pools[i].name, 1e-6, 1e-5);
    }
}

typedef struct mp_ctx {
    fv_pool_geom g;
    int32_t arg[64];
} mp_ctx;

static double *mp_x; /* the input gc_compare perturbs */
static void mp_fwd_x(void *ctx, double *y)
{
    mp_ctx *c = ctx;
    fv_ref_maxpool_fwd_f64(&c->g, 1, mp_x, y, c->arg);
}

TEST(pad_end_gradcheck)
{
    /* 5 x 6 map, 2x2 windows at stride 1 with one cell of padding at the end: 5 x 6 outputs */
    mp_ctx c = {.g = {.c = 1, .h = 5, .w = 6, .oh = 5, .ow = 6, .kh = 2, .kw = 2, .sh = 1,
                      .sw = 1}};
    double x[30], r[30], y[30], dx[30] = {0};
    gc_draw(x, 30, r, 30, 9);
    mp_x = x;
    mp_fwd_x(&c, y);
    fv_ref_maxpool_bwd_f64(&c.g, 1, r, c.arg, dx);
    CHECK(gc_compare(&c, mp_fwd_x, x, 30, 30, r, dx, 1e-4) <= GC_TOL);
    /* the op's shape and the text format's key */
    fv_model *m = fv_model_parse("input shape=1,5,6\nmaxpool2d pool_size=2 strides=1 pad_end=1 "
                                 "name=a\n", "p.fv");
    int64_t d[4];
    CHECK(m && fv_node_shape(m, 1, d) == 3 && d[1] == 5 && d[2] == 6);
    fv_model_free(m);
    CHECK(!fv_model_parse("input shape=1,5,6\nmaxpool2d pool_size=2 pad_end=2\n", "p.fv"));
}

/* ---------------------------------------------------------------- cfg */

#define NET "[net]\nwidth=8\nheight=6\nchannels=3\nbatch=64\nlearning_rate=0.1\n"

static fv_model *parse(const char *text)
{
    return fv_model_parse_darknet(text, strlen(text), "t.cfg");
}

TEST(cfg_builds_darknet_layers)
{
    fv_model *m = parse(NET "[convolutional]\nfilters=4\nsize=3\npad=1\nbatch_normalize=1\n"
                            "activation=leaky\n\n# a comment\n[maxpool]\nsize=2\nstride=2\n"
                            "[route]\nlayers=-2\n[shortcut]\nfrom=0\n[avgpool]\n"
                            "[connected]\noutput=5\nactivation=linear\n[softmax]\n[cost]\n");
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK(fv_model_is_darknet(m));
    CHECK(fv_model_find_node(m, "conv_0") > 0 && fv_model_find_node(m, "conv_0_bn") > 0);
    CHECK(fv_model_find_node(m, "conv_0_leaky") > 0 && fv_model_find_node(m, "max_1") > 0);
    CHECK(fv_model_find_node(m, "res_3") > 0 && fv_model_find_node(m, "fc_5") > 0);
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "max_1"), d) == 3 && d[0] == 4 && d[1] == 3 &&
          d[2] == 4);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_STATUS(fv_model_darknet_table(m, f), FV_OK);
    fclose(f);
    const char *want =
        "layer     filters    size              input                output\n"
        "    0 conv      4  3 x 3 / 1     8 x   6 x   3   ->     8 x   6 x   4  0.000 BFLOPs\n"
        "    1 max          2 x 2 / 2     8 x   6 x   4   ->     4 x   3 x   4\n"
        "    2 route  0\n"
        "    3 res    0                   8 x   6 x   4   ->     8 x   6 x   4\n"
        "    4 avg                        8 x   6 x   4   ->     4\n"
        "    5 connected                               4  ->     5\n"
        "    6 softmax                                           5\n"
        "    7 cost                                              5\n";
    t_check_text(buf, want);
    free(buf);
    fv_model_free(m);
    /* a key given twice: the first counts, as in Darknet */
    m = parse("[net]\nwidth=4\nwidth=9\nheight=4\nchannels=1\n[maxpool]\n");
    CHECK(m && fv_node_shape(m, 0, d) == 3 && d[2] == 4);
    fv_model_free(m);
}

/* The error of parsing text contains needle (and is one line). */
static void bad(const char *text, const char *needle)
{
    fv_model *m = parse(text);
    CHECK(m == NULL);
    fv_model_free(m);
    CHECK_ERR_HAS(needle);
    CHECK(!strchr(fv_last_error(), '\n'));
}

TEST(cfg_errors)
{
    bad(NET "[convolutional]\n[bogus]\n", "t.cfg:8: [bogus] (layer 1): unknown section");
    bad(NET "[convolutional]\ncolour=red\n", "t.cfg:8: [convolutional] (layer 0): unknown key "
                                               "'colour'");
    bad(NET "[convolutional]\nfilters=2x\n", "filters=2x: expected an integer in 1..65536");
    bad(NET "[convolutional]\nsize=-3\n", "size=-3: expected an integer in 1..1024");
    bad(NET "[convolutional]\n[route]\nlayers=1\n", "layer 1 is not an earlier layer");
    bad(NET "[convolutional]\n[route]\nlayers=-5\n", "layer -4 is not an earlier layer");
    bad(NET "[shortcut]\nfrom=-1\n", "layer -1 is not an earlier layer (this is layer 0)");
    bad(NET "[convolutional]\nstride=2\n[upsample]\n[shortcut]\nfrom=0\n",
        "from: layer 0's 4 x 3 x 1 map cannot be added to 8 x 6 x 1");
    bad(NET "[convolutional]\nstride=2\n[convolutional]\n[route]\nlayers=-1,-3\n",
        "layer -1 is not an earlier layer");
    bad(NET "[convolutional]\n[convolutional]\nstride=2\n[route]\nlayers=-1,0\n",
        "layers: layer 0's 8 x 6 map does not match layer 1's 4 x 3");
    bad(NET "[region]\n", "[region] (layer 0): a detection layer");
    bad(NET "[reorg]\n", "[reorg] (layer 0): a reorg without extra (space to depth) is not supported");
    bad(NET "[reorg]\nextra=1\nflatten=1\n", "[reorg] (layer 0): flatten=1 (a transposing reorg) is not supported");
    bad(NET "[softmax]\ntree=no-such.tree\n", "tree: cannot read the word tree (no-such.tree");
    bad(NET "[dropout]\nprobability=1.5\n", "probability=1.5: expected a number in [0, 1)");
    bad(NET "[convolutional]\nactivation=mish\n", "activation 'mish' is not supported");
    bad(NET "[convolutional]\nbinary=1\n", "binary=1 is not supported");
    bad(NET "[maxpool]\nsize=2\npadding=9\n", "padding=4 must be between 0 and half the window");
    bad(NET "[convolutional]\nsize=9\n", "kernel 9x9 (dilation 1x1) is larger than input");
    bad("[convolutional]\nfilters=1\n", "the first section must be [net]");
    bad("[net]\ninputs=10\n", "width, height and channels are needed");
    bad(NET, "no layers after [net]");
    bad("filters=1\n[net]\n", "before the first section");
    bad(NET "[convolutional\n", "expected a section header");
    bad(NET "[convolutional]\nfilters\n", "expected key=value");
    fv_model *m = fv_model_parse_darknet(NET "\0", sizeof NET, "t.cfg");
    CHECK(m == NULL);
    CHECK_ERR_HAS("NUL byte");
    CHECK(fv_model_load_darknet("/nonexistent/x.cfg") == NULL);
}

/* ---------------------------------------------------------------- weights */

typedef struct wbuf {
    unsigned char b[4096];
    size_t n;
} wbuf;

static void put_i32(wbuf *w, int32_t v) { memcpy(w->b + w->n, &v, 4), w->n += 4; }
static void put_f(wbuf *w, float v) { memcpy(w->b + w->n, &v, 4), w->n += 4; }

/* conv 2 filters 1x1 on 3 channels with batch norm, then connected 2 -> 3 (no bn). */
#define WNET "[net]\nwidth=2\nheight=1\nchannels=3\n[convolutional]\nfilters=2\nsize=1\n" \
             "batch_normalize=1\nactivation=linear\n[connected]\noutput=3\nactivation=linear\n"

static void weights_file(wbuf *w, int major, int minor)
{
    w->n = 0;
    put_i32(w, major), put_i32(w, minor), put_i32(w, 0);
    if (major * 10 + minor >= 2 && major < 1000 && minor < 1000)
        put_i32(w, 7), put_i32(w, 0); /* seen: size_t */
    else
        put_i32(w, 7);
    put_f(w, 0.5f), put_f(w, -0.25f);      /* biases (batch norm's beta) */
    put_f(w, 2.0f), put_f(w, 1.0f);        /* scales */
    put_f(w, 0.1f), put_f(w, -0.2f);       /* rolling means */
    put_f(w, 4.0f), put_f(w, 0.0f);        /* rolling variances */
    for (int i = 0; i < 6; i++)            /* weights 2 x 3 x 1 x 1 */
        put_f(w, (float)(i + 1) / 4);
    put_f(w, 1), put_f(w, 2), put_f(w, 3); /* connected biases */
    for (int i = 0; i < 12; i++)           /* weights 3 x (2 filters x 2 positions) */
        put_f(w, (float)(i % 5) - 2);
}

TEST(weights_load_and_run)
{
    fv_model *m = parse(WNET);
    CHECK(m && fv_model_compile(m) == FV_OK);
    if (!m)
        return;
    wbuf w;
    weights_file(&w, 0, 2);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_OK);
    /* Darknet's output for x: conv (no bias), (y - mean) / (sqrt(var) + 1e-6) scale + bias,
     * then the connected layer over the (2, 1, 2) map */
    float xin[6] = {0.3f, -0.7f, 0.2f, 0.9f, 0.05f, -0.4f}; /* (3, 1, 2) */
    const float wt[6] = {0.25f, 0.5f, 0.75f, 1.0f, 1.25f, 1.5f}, beta[2] = {0.5f, -0.25f},
                gam[2] = {2, 1}, mean[2] = {0.1f, -0.2f}, var[2] = {4, 0};
    float h[4], want[3];
    for (int f = 0; f < 2; f++)
        for (int p = 0; p < 2; p++) {
            float s = 0;
            for (int c = 0; c < 3; c++)
                s += wt[f * 3 + c] * xin[c * 2 + p];
            h[f * 2 + p] = (s - mean[f]) / (sqrtf(var[f]) + .000001f) * gam[f] + beta[f];
        }
    for (int u = 0; u < 3; u++) {
        want[u] = (float)(u + 1);
        for (int j = 0; j < 4; j++)
            want[u] += (float)((u * 4 + j) % 5 - 2) * h[j];
    }
    fv_tensor *x = fv_tensor_new4(1, 3, 1, 2), *y = NULL;
    memcpy(x->data, xin, sizeof xin);
    CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
    for (int u = 0; y && u < 3; u++)
        CHECK_NEAR(y->data[u], want[u], 1e-6, 1e-6 * 1e6); /* var 0: 1e6 times the input */
    fv_tensor_free(y);
    /* errors: nothing changes */
    fv_param_info before;
    fv_model_param(m, 0, &before);
    float keep = before.data[0];
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n - 4, "w.weights"), FV_ERR_FORMAT);
    CHECK_ERR_HAS("w.weights: truncated: layer 1 (connected");
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, 40, "w.weights"), FV_ERR_FORMAT);
    CHECK_ERR_HAS("truncated: layer 0 (convolutional");
    put_f(&w, 0);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_ERR_FORMAT);
    CHECK_ERR_HAS("4 bytes after the last layer's weights");
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, 10, "w.weights"), FV_ERR_FORMAT);
    CHECK_ERR_HAS("shorter than a Darknet weights header");
    weights_file(&w, 0, 2);
    float negvar = -1;
    memcpy(w.b + 20 + 4 * 7, &negvar, 4);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_ERR_FORMAT);
    CHECK_ERR_HAS("rolling variance 1 is -1");
    fv_model_param(m, 0, &before);
    CHECK(before.data[0] == keep);
    /* version 0.1: a 4-byte `seen`; 1001.0: connected weights stored transposed */
    weights_file(&w, 0, 1);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_OK);
    weights_file(&w, 1001, 0);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_OK);
    const float *fw = NULL;
    for (int i = 0; i < fv_model_num_params(m); i++) {
        fv_param_info pi;
        fv_model_param(m, i, &pi);
        if (strcmp(pi.name, "fc_1.weight") == 0)
            fw = pi.data;
    }
    CHECK(fw && fw[1] == (float)((3 % 5) - 2)); /* w[0][1] = file[1 * 3 + 0] */
    fv_tensor_free(x);
    fv_model_free(m);
    /* a model not from a cfg, an uncompiled one */
    m = parse(WNET);
    CHECK_STATUS(fv_model_load_darknet_weights_mem(m, w.b, w.n, "w.weights"), FV_ERR_INVALID);
    CHECK_ERR_HAS("compile the model");
    fv_model_free(m);
    m = fv_model_new("plain");
    fv_input(m, .ndim = 1, .dims = {3});
    CHECK_STATUS(fv_model_load_darknet_weights(m, "x.weights"), FV_ERR_INVALID);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- shortcut */

/* Darknet's shortcut_cpu (alpha = beta = 1) on one sample: out (c2, h2, w2) += add (c1, h1, w1). */
static void dn_shortcut(int w1, int h1, int c1, const float *add, int w2, int h2, int c2,
                        float *out)
{
    int stride = w1 / w2 < 1 ? 1 : w1 / w2, sample = w2 / w1 < 1 ? 1 : w2 / w1;
    int minw = w1 < w2 ? w1 : w2, minh = h1 < h2 ? h1 : h2, minc = c1 < c2 ? c1 : c2;
    for (int k = 0; k < minc; k++)
        for (int j = 0; j < minh; j++)
            for (int i = 0; i < minw; i++)
                out[i * sample + w2 * (j * sample + h2 * k)] +=
                    add[i * stride + w1 * (j * stride + h1 * k)];
}

/* [shortcut] from the input after a conv of `filters` at `stride` (identity-free weights). */
static void shortcut_case(int filters, int stride)
{
    char text[512];
    snprintf(text, sizeof text,
             "[net]\nwidth=6\nheight=4\nchannels=3\n[convolutional]\nfilters=3\nsize=1\n"
             "activation=linear\n[convolutional]\nfilters=%d\nsize=1\nstride=%d\n"
             "activation=linear\n[shortcut]\nfrom=-2\n",
             filters, stride);
    fv_model *m = parse(text);
    CHECK(m && fv_model_compile(m) == FV_OK);
    if (!m)
        return;
    for (int i = 0; i < fv_model_num_params(m); i++) { /* conv_0 = identity, conv_1 = ramp */
        fv_param_info pi;
        fv_model_param(m, i, &pi);
        for (int64_t j = 0; j < pi.numel; j++)
            pi.data[j] = strncmp(pi.name, "conv_0.", 7) == 0 ? strstr(pi.name, "weight") && j % 4 == 0
                         : strstr(pi.name, "weight") ? (float)(j % 7) / 8 - 0.3f
                                                     : (float)j / 10;
    }
    fv_tensor *x = fv_tensor_new4(1, 3, 4, 6), *y = NULL, *prev = NULL;
    for (int i = 0; i < 72; i++)
        x->data[i] = (float)((i * 37) % 23) / 11 - 1;
    CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
    /* the previous layer's output alone: the same model up to conv_1 */
    snprintf(text, sizeof text,
             "[net]\nwidth=6\nheight=4\nchannels=3\n[convolutional]\nfilters=3\nsize=1\n"
             "activation=linear\n[convolutional]\nfilters=%d\nsize=1\nstride=%d\n"
             "activation=linear\n",
             filters, stride);
    fv_model *p = parse(text);
    CHECK(p && fv_model_compile(p) == FV_OK);
    for (int i = 0; p && i < fv_model_num_params(p); i++) {
        fv_param_info a, b;
        fv_model_param(p, i, &a);
        fv_model_param(m, i, &b);
        memcpy(a.data, b.data, sizeof(float) * (size_t)a.numel);
    }
    CHECK(p && fv_model_predict(p, x, &prev) == FV_OK);
    int h2 = (4 - 1) / stride + 1, w2 = (6 - 1) / stride + 1;
    if (y && prev) {
        dn_shortcut(6, 4, 3, x->data, w2, h2, filters, prev->data); /* conv_0 is the identity */
        for (int i = 0; i < filters * h2 * w2; i++)
            CHECK_NEAR(y->data[i], prev->data[i], 1e-6, 1e-6);
    }
    fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(prev);
    fv_model_free(m), fv_model_free(p);
}

TEST(shortcut_is_darknets)
{
    shortcut_case(3, 1); /* same shape */
    shortcut_case(5, 1); /* more channels: the first 3 get the sum */
    shortcut_case(2, 1); /* fewer */
    shortcut_case(5, 2); /* strided, more channels (ResNet-50's) */
    shortcut_case(2, 2);
}

/* [reorg] extra=2: Darknet's output is the flattened input, then 2 zeros (go.cfg's policy). */
TEST(reorg_extra_appends_zeros)
{
    fv_model *m = parse(NET "[reorg]\nextra=2\nstride=1\n");
    CHECK(m != NULL && fv_model_compile(m) == FV_OK);
    if (!m)
        return;
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "reorg_0"), d) == 1 && d[0] == 3 * 6 * 8 + 2);
    fv_tensor *x = fv_tensor_new4(1, 3, 6, 8), *y = NULL;
    for (int64_t i = 0; i < 144; i++)
        x->data[i] = (float)i - 70.5f;
    CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
    CHECK(y && fv_tensor_numel(y) == 146);
    for (int64_t i = 0; y && i < 146; i++)
        CHECK(y->data[i] == (i < 144 ? (float)i - 70.5f : 0.0f));
    fv_tensor_free(x);
    fv_tensor_free(y);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- resize, letterbox */

TEST(darknet_resize_and_letterbox)
{
    fv_tensor *img = fv_tensor_new4(1, 1, 2, 3), *r;
    const float px[6] = {0, 0.5f, 1, 0.25f, 0.75f, 0.125f};
    memcpy(img->data, px, sizeof px);
    r = fv_image_darknet_resize(img, 3, 2); /* same size: the same pixels */
    CHECK(r && memcmp(r->data, px, sizeof px) == 0);
    fv_tensor_free(r);
    r = fv_image_darknet_resize(img, 5, 3); /* scales 0.5 */
    if (r) {
        CHECK(r->dims[2] == 3 && r->dims[3] == 5);
        CHECK_NEAR(r->data[1], 0.25, 1e-7, 0);             /* between 0 and 0.5 */
        CHECK_NEAR(r->data[4], 1.0, 0, 0);                 /* the last column: copied */
        CHECK_NEAR(r->data[5 + 1], 0.5 * 0.25 + 0.5 * 0.5, 1e-7, 0); /* middle row */
        CHECK_NEAR(r->data[10 + 4], 0.125, 0, 0);          /* the last row: (1 - dy) alone */
    }
    CHECK(r != NULL);
    fv_tensor_free(r);
    r = fv_image_darknet_letterbox(img, 3, 4); /* 3 x 2 into 3 x 4: a grey row above, below */
    if (r) {
        for (int x = 0; x < 3; x++)
            CHECK(r->data[x] == 0.5f && r->data[9 + x] == 0.5f);
        CHECK(memcmp(r->data + 3, px, sizeof px) == 0);
    }
    CHECK(r != NULL);
    fv_tensor_free(r);
    CHECK(fv_image_darknet_letterbox(img, 0, 4) == NULL);
    CHECK(fv_image_darknet_resize(NULL, 3, 4) == NULL);
    fv_tensor_free(img);
    /* the decoders' p / 255.0f is Darknet's (float)(p / 255.) for every byte */
    int same = 1;
    for (int p = 0; p < 256; p++)
        same &= (float)(p / 255.) == (float)p / 255.0f;
    CHECK(same);
}

int main(void)
{
    RUN(pad_end_matches_pytorch);
    RUN(pad_end_gradcheck);
    RUN(cfg_builds_darknet_layers);
    RUN(cfg_errors);
    RUN(weights_load_and_run);
    RUN(shortcut_is_darknets);
    RUN(reorg_extra_appends_zeros);
    RUN(darknet_resize_and_letterbox);
    TEST_MAIN_END();
}
