/* test_modelfile.c - the model text format (src/io/modelfile.c): the shipped LeNet-5, aliases and
 * defaults, functional models (residual add, concat), every error with its file:line message,
 * file loading, seeded random mutations of valid text, and allocation failures at every step. */
#include "core/internal.h"
#include "optest.h"
#include "test.h"

#include <stdint.h>

#define X "models/x.fv"

static int64_t total_params(const fv_model *m)
{
    int64_t total = 0, trainable = 0, frozen = 0;
    fv_model_count_params(m, &total, &trainable, &frozen);
    return total;
}

TEST(test_lenet5_file)
{
    fv_model *m = fv_model_load_file(t_src_path("../models/lenet5.fv"));
    CHECK(m != NULL);
    if (!m) {
        fprintf(stderr, "%s\n", fv_last_error());
        return;
    }
    CHECK(strcmp(fv_model_name(m), "lenet5") == 0);
    CHECK(total_params(m) == 61706);
    SHAPE_IS(m, "conv1", 6, 28, 28);
    SHAPE_IS(m, "conv2", 16, 10, 10);
    SHAPE_IS(m, "fc1", 120);
    SHAPE_IS(m, "fc2", 84);
    SHAPE_IS(m, "fc3", 10);
    SHAPE_IS(m, "flatten1", 400);
    SHAPE_IS(m, "maxpool2d1", 6, 14, 14);
    SHAPE_IS(m, "maxpool2d2", 16, 5, 5);
    /* input, conv+relu, pool, conv+relu, pool, flatten, dense+relu, dense+relu, dense */
    CHECK(fv_model_num_nodes(m) == 13);
    /* "conv1" as an input means the layer's output, after its activation */
    const fv_node *pool1 = &m->nodes[fv_model_find_node(m, "maxpool2d1")];
    CHECK(m->nodes[pool1->in[0]].op == FV_OP_RELU);
    fv_model_free(m);
}

TEST(test_default_name)
{
    const char *text = "input shape=4\ndense units=2\n";
    fv_model *m = fv_model_parse(text, "some/dir/tiny.fv");
    CHECK(m && strcmp(fv_model_name(m), "tiny") == 0);
    fv_model_free(m);
    m = fv_model_parse(text, NULL);
    CHECK(m && strcmp(fv_model_name(m), "model") == 0);
    fv_model_free(m);
    m = fv_model_parse(text, "plain");
    CHECK(m && strcmp(fv_model_name(m), "plain") == 0);
    fv_model_free(m);
}

TEST(test_functional)
{
    const char *text = "model resnetish\n"
                       "input shape=3,8,8 name=img\n"
                       "conv2d filters=4 kernel_size=3 padding=same activation=relu name=a\n"
                       "conv2d filters=4 kernel_size=3 padding=same name=b\n"
                       "add inputs=a,b name=res\n"
                       "conv2d filters=2 kernel_size=1 inputs=img name=side\n"
                       "concat inputs=res,side axis=0 name=cat\n"
                       "concat inputs=cat,img axis=-3 name=cat2\n"
                       "flatten\n"
                       "dense units=10 activation=softmax name=out\n";
    fv_model *m = ot_parse(text, "f.fv");
    if (!m)
        return;
    CHECK(strcmp(fv_model_name(m), "resnetish") == 0);
    SHAPE_IS(m, "a", 4, 8, 8);
    SHAPE_IS(m, "res", 4, 8, 8);
    SHAPE_IS(m, "side", 2, 8, 8);
    SHAPE_IS(m, "cat", 6, 8, 8);
    SHAPE_IS(m, "cat2", 9, 8, 8);
    SHAPE_IS(m, "out", 10);
    const fv_node *res = &m->nodes[fv_model_find_node(m, "res")];
    CHECK(res->op == FV_OP_ADD && res->nin == 2);
    CHECK(res->in[0] == fv_model_find_output(m, "a") && m->nodes[res->in[0]].op == FV_OP_RELU);
    CHECK(res->in[1] == fv_model_find_node(m, "b") && m->nodes[res->in[1]].op == FV_OP_CONV2D);
    const fv_node *side = &m->nodes[fv_model_find_node(m, "side")];
    CHECK(side->in[0] == fv_model_find_node(m, "img"));
    /* 3*3*3*4+4 + 3*3*4*4+4 + 3*2+2 + 9*8*8*10+10 */
    CHECK(total_params(m) == 112 + 148 + 8 + 5770);
    fv_model_free(m);
}

TEST(test_aliases_and_syntax)
{
    const char *text = "\xEF\xBB\xBF# Keras spellings, tabs, CRLF and trailing comments\r\n"
                       "InputLayer\tinput_shape=(2,12,12)   # channels first\r\n"
                       "\r\n"
                       "Conv2D filters=4 kernel=(3,1) stride=1 use_bias=False ACTIVATION=Tanh\n"
                       "BatchNormalization keras_momentum=0.99 eps=1e-3 name=bn\n"
                       "ReLU\n"
                       "MaxPooling2D size=2,2 strides=2\n"
                       "AveragePooling2D pool_size=[3,1] padding=valid strides=1,1\n"
                       "Dropout rate=0.25 name=drop\n"
                       "Reshape target_shape=4,-1 name=rs\n"
                       "Activation activation=sigmoid\n"
                       "Flatten\n"
                       "Dense units=3 use_bias=0 activation=None name=logits\n"
                       "Softmax name=probs\n";
    fv_model *m = ot_parse(text, "alias.fv");
    if (!m)
        return;
    SHAPE_IS(m, "conv2d1", 4, 10, 12);
    SHAPE_IS(m, "maxpool2d1", 4, 5, 6);
    SHAPE_IS(m, "avgpool2d1", 4, 3, 6);
    SHAPE_IS(m, "rs", 4, 18);
    SHAPE_IS(m, "logits", 3);
    SHAPE_IS(m, "probs", 3);
    const fv_node *conv = &m->nodes[fv_model_find_node(m, "conv2d1")]; /* the layer's node */
    CHECK(conv->op == FV_OP_CONV2D && conv->a.conv.bias == 0 && conv->a.conv.kh == 3 &&
          conv->a.conv.kw == 1);
    CHECK(m->nodes[fv_model_find_output(m, "conv2d1")].op == FV_OP_TANH); /* its output */
    const fv_node *bn = &m->nodes[fv_model_find_node(m, "bn")];
    CHECK_NEAR(bn->a.bn.momentum, 0.01, 1e-6, 0);
    CHECK_NEAR(bn->a.bn.eps, 1e-3, 1e-9, 0);
    CHECK_NEAR(m->nodes[fv_model_find_node(m, "drop")].a.dropout.rate, 0.25, 0, 0);
    CHECK(m->nodes[fv_model_find_node(m, "logits")].op == FV_OP_DENSE);
    /* conv 2*4*3*1 (no bias) + bn 4 gamma, 4 beta, 4+4 running + dense 72*3 (no bias) */
    CHECK(total_params(m) == 24 + 16 + 216);
    fv_model_free(m);
}

TEST(test_conv_options)
{
    const char *text = "input shape=4,9,9\n"
                       "conv2d filters=6 kernel_size=3 strides=2 padding=1 dilation_rate=2 "
                       "groups=2 name=c\n"
                       "batchnorm momentum=0.5 name=bn\n"
                       "avgpool2d pool_size=3 padding=1 name=p\n";
    fv_model *m = ot_parse(text, "c.fv");
    if (!m)
        return;
    const fv_conv_attr *c = &m->nodes[fv_model_find_node(m, "c")].a.conv;
    CHECK(c->sh == 2 && c->sw == 2 && c->ph == 1 && c->dh == 2 && c->groups == 2 && c->bias);
    SHAPE_IS(m, "c", 6, 4, 4);
    CHECK_NEAR(m->nodes[fv_model_find_node(m, "bn")].a.bn.momentum, 0.5, 0, 0);
    SHAPE_IS(m, "p", 6, 2, 2);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- errors */

typedef struct bad_case {
    const char *text;
    const char *where; /* "models/x.fv:N: " */
    const char *what;  /* a key phrase of the problem */
} bad_case;

#define IN "input shape=1,8,8\n"
#define VEC "input shape=16\n"
static const bad_case bad_cases[] = {
    {IN "flatten\nflatten\nconv3d filters=2\n", X ":4: ", "unknown layer 'conv3d'"},
    {VEC "dense units=3 kernel_size=3\n", X ":2: ", "unknown argument 'kernel_size' for dense"},
    {VEC "dense units=3 name=a shape=2\n", X ":2: ", "unknown argument 'shape' for dense"},
    {IN "flatten inputs=\n", X ":2: ", "inputs=: expected a,b"},
    {IN "conv2d kernel_size=3\n", X ":2: ", "missing required argument 'filters'"},
    {IN "conv2d filters=3\n", X ":2: ", "missing required argument 'kernel_size'"},
    {VEC "dense activation=relu\n", X ":2: ", "missing required argument 'units'"},
    {"input name=img\n", X ":1: ", "missing required argument 'shape'"},
    {IN "reshape\n", X ":2: ", "missing required argument 'target_shape'"},
    {IN "dropout\n", X ":2: ", "missing required argument 'rate'"},
    {IN "activation name=a\n", X ":2: ", "missing required argument 'activation'"},
    {IN "conv2d filters=-3 kernel_size=3\n", X ":2: ", "filters=-3: expected a positive integer"},
    {IN "conv2d filters=0 kernel_size=3\n", X ":2: ", "filters=0: expected a positive integer"},
    {IN "conv2d filters=2147483648 kernel_size=3\n", X ":2: ", "expected a positive integer"},
    {IN "conv2d filters=99999999999999999999999 kernel_size=3\n", X ":2: ",
     "expected a positive integer"},
    {IN "conv2d filters=3.5 kernel_size=3\n", X ":2: ", "filters=3.5: expected a positive"},
    {IN "conv2d filters=+3 kernel_size=3\n", X ":2: ", "filters=+3: expected a positive"},
    {IN "conv2d filters=0x10 kernel_size=3\n", X ":2: ", "filters=0x10: expected a positive"},
    {IN "conv2d filters= kernel_size=3\n", X ":2: ", "filters=: expected a positive integer"},
    {IN "conv2d filters=2 kernel_size=3 activation=foo\n", X ":2: ",
     "activation=foo: unknown activation"},
    {IN "conv2d filters=2 kernel_size=5x5\n", X ":2: ", "kernel_size=5x5: expected N or H,W"},
    {IN "conv2d filters=2 kernel_size=5,5,5\n", X ":2: ", "kernel_size=5,5,5: expected N or H,W"},
    {IN "conv2d filters=2 kernel_size=5, padding=2\n", X ":2: ", "kernel_size=5,: expected"},
    {IN "conv2d filters=2 kernel_size=3 strides=1,2\n", X ":2: ", "strides=1,2: expected"},
    {IN "conv2d filters=2 kernel_size=3 padding=full\n", X ":2: ",
     "padding=full: expected valid, same or an integer"},
    {IN "conv2d filters=2 kernel_size=3 use_bias=maybe\n", X ":2: ",
     "use_bias=maybe: expected true or false"},
    {IN "maxpool2d padding=same\n", X ":2: ", "padding=same: expected valid or an integer"},
    {IN "dropout rate=1\n", X ":2: ", "rate=1: expected a number in [0, 1)"},
    {IN "dropout rate=nan\n", X ":2: ", "rate=nan: expected a number"},
    {IN "dropout rate=0.9999999999\n", X ":2: ", "expected a number in [0, 1)"},
    {IN "batchnorm momentum=0\n", X ":2: ", "momentum=0: expected a number in (0, 1]"},
    {IN "batchnorm keras_momentum=1\n", X ":2: ", "keras_momentum=1: expected"},
    {IN "batchnorm epsilon=1e-60\n", X ":2: ", "epsilon=1e-60: expected a positive number"},
    {IN "batchnorm epsilon=1e999\n", X ":2: ", "epsilon=1e999: expected a positive number"},
    {IN "batchnorm momentum=0.1 keras_momentum=0.9\n", X ":2: ", "not both"},
    {"input shape=0,28,28\n", X ":1: ", "shape=0,28,28: expected 1 to 4 positive integers"},
    {"input shape=1,2,3,4,5\n", X ":1: ", "expected 1 to 4 positive integers"},
    {IN "reshape target_shape=-1,-1\n", X ":2: ", "target_shape=-1,-1: expected"},
    {IN "concat inputs=input1,input1 axis=7\n", X ":2: ", "axis=7: expected an integer axis"},
    {IN "concat inputs=input1,input1 axis=-4\n", X ":2: ", "axis=-4 is out of range"},
    {IN "conv2d filters 6\n", X ":2: ", "conv2d: expected key=value, got 'filters'"},
    {IN "conv2d filters=2 kernel=3 kernel_size=3\n", X ":2: ",
     "argument 'kernel_size' given twice"},
    {IN "flatten name=a\nflatten name=a\n", X ":3: ", "duplicate layer name 'a'"},
    {IN "flatten\nflatten name=flatten1\n", X ":3: ", "duplicate layer name 'flatten1'"},
    {IN "flatten name=a,b\n", X ":2: ", "name=a,b: expected a name without ','"},
    {IN "flatten inputs=nope\n", X ":2: ", "unknown input 'nope'"},
    {IN "add inputs=input1\n", X ":2: ", "add needs at least two inputs"},
    {IN "add\n", X ":2: ", "missing required argument 'inputs'"},
    {IN "flatten inputs=input1,input1\n", X ":2: ", "flatten takes one input"},
    {IN "add inputs=a,a,a,a,a,a,a,a,a\n", X ":2: ", "expected a,b,... naming 1 to 8"},
    {"dense units=3\n", X ":1: ", "dense before the input line"},
    {"# header\n\nflatten\n", X ":3: ", "flatten before the input line"},
    {IN "input shape=3\n", X ":2: ", "a second input line"},
    {IN "model late\n", X ":2: ", "'model NAME' must come once, before the first layer"},
    {"model a\nmodel b\n" IN, X ":2: ", "must come once"},
    {"model\n" IN, X ":1: ", "expected 'model NAME'"},
    {"model a b\n" IN, X ":1: ", "expected 'model NAME'"},
    {"model aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", X ":1: ",
     "is longer than 63 characters"},
    {IN "activation activation=linear\n", X ":2: ", "activation=linear: the activation layer"},
    {"", X ":1: ", "no input line"},
    {"# only\n   # comments\n\n", X ":3: ", "no input line"},
    /* shape errors come from the layer functions, prefixed with the line */
    {VEC "dense units=3 name=fc1\ndense units=4 name=fc1\n", X ":3: ", "fc1"},
    {IN "conv2d filters=2 kernel_size=3 name=c\nadd inputs=input1,c name=sum\n", X ":3: ",
     "layer 'sum'"},
    {IN "conv2d filters=2 kernel_size=9 name=big\n", X ":2: ", "layer 'big'"},
    {IN "maxpool2d pool_size=16 name=p\n", X ":2: ", "layer 'p'"},
    {IN "reshape target_shape=7,-1 name=r\n", X ":2: ", "layer 'r'"},
    {IN "flatten name=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
     X ":2: ", "longer than 63"},
    {IN "flatten name=a..b\n", X ":2: ", "layer name 'a..b'"},
    {IN "flatten name=.b\n", X ":2: ", "layer name '.b'"},
};

TEST(test_errors)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        fv_clear_error();
        fv_model *m = fv_model_parse(c->text, X);
        if (m) {
            fprintf(stderr, "case %zu parsed but should fail: %s", i, c->text);
            t_cur_failed = 1;
            fv_model_free(m);
            continue;
        }
        const char *e = fv_last_error();
        if (strncmp(e, c->where, strlen(c->where)) != 0 || !strstr(e, c->what) ||
            strchr(e, '\n')) {
            fprintf(stderr, "case %zu: error \"%s\" lacks \"%s\" ... \"%s\"\n", i, e, c->where,
                    c->what);
            t_cur_failed = 1;
        }
    }
}

TEST(test_line_too_long)
{
    size_t n = 70000; /* past the 65536-character limit */
    char *text = malloc(n + 64);
    int k = snprintf(text, n + 64, "input shape=4\n# ");
    memset(text + k, 'x', n);
    strcpy(text + k + n, "\ndense units=2\n");
    CHECK(fv_model_parse(text, X) == NULL);
    CHECK_ERR_HAS(X ":2: line too long");
    free(text);
}

TEST(test_load_errors)
{
    CHECK(fv_model_load_file("does/not/exist.fv") == NULL);
    CHECK_ERR_HAS("does/not/exist.fv: No such file or directory");
    CHECK(fv_model_load_file(".") == NULL);
    CHECK_ERR_HAS(".: ");
    const char *path = "test_modelfile_nul.fv";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fwrite("input shape=4\n\ndense\0 units=2\n", 1, 30, f);
    fclose(f);
    CHECK(fv_model_load_file(path) == NULL);
    CHECK_ERR_HAS("test_modelfile_nul.fv:3: NUL byte");
    remove(path);
    CHECK(fv_model_parse(NULL, X) == NULL);
    CHECK_ERR_HAS(X);
}

/* ---------------------------------------------------------------- robustness */

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static const char functional_text[] = "input shape=3,8,8 name=img\n"
                                      "conv2d filters=4 kernel_size=3 padding=same name=a\n"
                                      "batchnorm name=bn\nrelu\n"
                                      "add inputs=a,relu1 name=res\n"
                                      "concat inputs=res,img axis=0\n"
                                      "avgpool2d pool_size=2\ndropout rate=0.5\n"
                                      "reshape target_shape=-1\ndense units=3\n";

/* One random edit of text (length *len, capacity cap): byte flip, deletion or duplicated line. */
static void mutate(fv_rng *r, char *text, size_t *len, size_t cap)
{
    static const char alphabet[] = "0123456789-=,#() \t\nabcxyz_.";
    size_t n = *len;
    if (n == 0)
        return;
    size_t at = (size_t)fv_rng_below(r, n);
    switch (fv_rng_below(r, 4)) {
    case 0:
        text[at] = alphabet[fv_rng_below(r, sizeof alphabet - 1)];
        break;
    case 1:
        text[at] = (char)(fv_rng_below(r, 255) + 1);
        break;
    case 2: {
        size_t del = 1 + (size_t)fv_rng_below(r, 8);
        del = del > n - at ? n - at : del;
        memmove(text + at, text + at + del, n - at - del);
        n -= del;
        break;
    }
    default: {
        size_t start = at, end = at;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        while (end < n && text[end] != '\n')
            end++;
        size_t line = end - start + (end < n);
        if (n + line < cap) {
            memmove(text + start + line, text + start, n - start);
            n += line;
        }
    }
    }
    text[n] = '\0';
    *len = n;
}

TEST(test_random_mutations)
{
    char *lenet = read_all(t_src_path("../models/lenet5.fv"));
    CHECK(lenet != NULL);
    if (!lenet)
        return;
    const char *bases[2] = {lenet, functional_text};
    fv_rng r;
    fv_rng_seed(&r, 20240601);
    enum { CAP = 8192 };
    static char text[CAP];
    int parsed = 0, failed = 0;
    for (int i = 0; i < 4000; i++) {
        snprintf(text, CAP, "%s", bases[i % 2]);
        size_t len = strlen(text);
        int edits = 1 + (int)fv_rng_below(&r, 4);
        for (int e = 0; e < edits; e++)
            mutate(&r, text, &len, CAP);
        fv_clear_error();
        fv_model *m = fv_model_parse(text, "mut.fv");
        if (m) {
            parsed++;
            CHECK(fv_model_num_nodes(m) >= 1 && total_params(m) >= 0);
            fv_model_free(m);
        } else {
            failed++;
            if (strncmp(fv_last_error(), "mut.fv:", 7) != 0) {
                fprintf(stderr, "variant %d: error \"%s\" does not name mut.fv:LINE\n", i,
                        fv_last_error());
                t_cur_failed = 1;
            }
        }
    }
    /* both outcomes are exercised */
    CHECK(parsed > 100 && failed > 100);
    free(lenet);
}

/* An allocator that fails the n-th allocation (counting from 0) and counts the calls. */
static long alloc_calls, alloc_fail_at;
static void *failing_alloc(size_t size, void *ctx)
{
    (void)ctx;
    return alloc_calls++ == alloc_fail_at ? NULL : malloc(size);
}
static void plain_release(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

TEST(test_allocation_failures)
{
    const char *path = t_src_path("../models/lenet5.fv");
    fv_allocator a = {failing_alloc, plain_release, NULL};
    alloc_calls = 0;
    alloc_fail_at = -1;
    fv_set_allocator(&a);
    fv_model *m = fv_model_load_file(path);
    long total = alloc_calls;
    fv_set_allocator(NULL);
    CHECK(m != NULL && total > 2);
    fv_model_free(m);
    for (long k = 0; k < total; k++) {
        alloc_calls = 0;
        alloc_fail_at = k;
        fv_set_allocator(&a);
        m = fv_model_load_file(path);
        fv_set_allocator(NULL);
        CHECK(m == NULL);
        CHECK_ERR_HAS("out of memory");
        fv_model_free(m);
    }
}

int main(void)
{
    RUN(test_lenet5_file);
    RUN(test_default_name);
    RUN(test_functional);
    RUN(test_aliases_and_syntax);
    RUN(test_conv_options);
    RUN(test_errors);
    RUN(test_line_too_long);
    RUN(test_load_errors);
    RUN(test_random_mutations);
    RUN(test_allocation_failures);
    TEST_MAIN_END();
}
