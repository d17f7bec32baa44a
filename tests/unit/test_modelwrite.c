/* test_modelwrite.c - the model text writer (src/io/modelwrite.c): every shipped model file
 * (models/NAME.fv) and every zoo network round-trips (text -> model -> the same text, nodes,
 * parameters and MACs); a model with every op and non-default attribute round-trips and
 * predicts bit for bit the same; layers the format cannot express are errors naming the layer;
 * files are written atomically; the written text of every model file and of the every-op model is
 * byte for byte the committed one (tests/data/written/, the zoo files themselves). */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"
#include "zoo_small.h"

#include <dirent.h>
#include <unistd.h>

/* Same parameters (names, shapes, order), node count and MACs. */
static int same_structure(const fv_model *a, const fv_model *b)
{
    if (fv_model_num_nodes(a) != fv_model_num_nodes(b) ||
        fv_model_num_params(a) != fv_model_num_params(b) || fv_model_macs(a) != fv_model_macs(b))
        return 0;
    for (int i = 0; i < fv_model_num_params(a); i++) {
        fv_param_info p, q;
        if (fv_model_param(a, i, &p) != FV_OK || fv_model_param(b, i, &q) != FV_OK ||
            strcmp(p.name, q.name) != 0 || p.ndim != q.ndim || p.trainable != q.trainable ||
            memcmp(p.dims, q.dims, sizeof(int64_t) * (size_t)p.ndim) != 0) {
            fprintf(stderr, "parameter %d differs\n", i);
            return 0;
        }
    }
    return 1;
}

/* text1 = to_text(m), m2 = parse(text1), text2 = to_text(m2): text1 == text2 and the same
 * structure. Returns m2 (the caller frees it) or NULL. */
static fv_model *round_trip(const fv_model *m, const char *what)
{
    char *t1 = fv_model_to_text(m);
    if (!t1) {
        fprintf(stderr, "%s: %s\n", what, fv_last_error());
        CHECK(0);
        return NULL;
    }
    fv_model *m2 = fv_model_parse(t1, what);
    char *t2 = m2 ? fv_model_to_text(m2) : NULL;
    if (!t2)
        fprintf(stderr, "%s: %s\n%s", what, fv_last_error(), t1);
    CHECK(t2 != NULL);
    if (t2 && strcmp(t1, t2) != 0) {
        fprintf(stderr, "%s: the texts differ\n", what);
        t_show_diff(t1, t2);
        CHECK(0);
    }
    if (m2 && !same_structure(m, m2)) {
        fprintf(stderr, "%s: the parsed model differs\n", what);
        CHECK(0);
    }
    free(t1);
    free(t2);
    return m2;
}

TEST(test_model_files)
{
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", t_src_path("../models"));
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int files = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".fv") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        fv_model *m = fv_model_load_file(path);
        if (!m)
            fprintf(stderr, "%s\n", fv_last_error());
        CHECK(m != NULL);
        fv_model *m2 = m ? round_trip(m, path) : NULL;
        CHECK(m2 && strcmp(fv_model_name(m2), fv_model_name(m)) == 0);
        fv_model_free(m2);
        fv_model_free(m);
        files++;
    }
    if (d)
        closedir(d);
    CHECK(files >= 3);
}

/* At test_zoo.c's small input sizes. */
TEST(test_zoo_networks)
{
    for (int i = 0; fv_zoo_name(i); i++) {
        const char *n = fv_zoo_name(i);
        fv_model *m = zoo_small_build(n);
        CHECK(m != NULL);
        fv_model_free(m ? round_trip(m, n) : NULL);
        fv_model_free(m);
    }
}

/* Every op kind and non-default attribute; every node feeds the output. */
static fv_model *every_op_model(void)
{
    fv_model *m = fv_model_new("every_op");
    int x = fv_input(m, .ndim = 3, .dims = {4, 12, 12}, .name = "img");
    int c1 = fv_conv2d(m, x, .filters = 8, .kernel = 3, .padding = 1, .l1 = 1e-4f, .l2 = 2.5e-4f,
                       .max_norm = 3, .activation = FV_ACT_RELU, .name = "c1");
    int c2 = fv_conv2d(m, c1, .filters = 8, .kernel_h = 3, .kernel_w = 5, .same = 1,
                       .dilation = 2, .groups = 2, .no_bias = 1, .activation = FV_ACT_ELU);
    int side = fv_conv2d(m, x, .filters = 8, .kernel = 1, .name = "side");
    x = fv_add(m, 3, ((int[]){c1, c2, side}), .name = "sum");
    x = fv_depthwise_conv2d(m, x, 2, .kernel = 3, .stride = 2, .padding = 1,
                            .activation = FV_ACT_SIGMOID);
    x = fv_separable_conv2d(m, x, 1, .filters = 12, .kernel = 3, .padding = 1,
                            .activation = FV_ACT_TANH, .name = "sep");
    x = fv_batchnorm(m, x, .momentum = 0.3f, .eps = 1e-3f);
    static const struct {
        fv_act act;
        float alpha;
    } acts[] = {{FV_ACT_RELU, 0},       {FV_ACT_LEAKY_RELU, 0.2f}, {FV_ACT_LEAKY_RELU, 0},
                {FV_ACT_ELU, 0.5f},     {FV_ACT_SELU, 0},          {FV_ACT_GELU, 0},
                {FV_ACT_GELU, 0.5f},    {FV_ACT_SILU, 0},          {FV_ACT_SOFTPLUS, 0},
                {FV_ACT_HARD_SWISH, 0}, {FV_ACT_RELU6, 0},         {FV_ACT_HARD_SIGMOID, 0},
                {FV_ACT_SIGMOID, 0},    {FV_ACT_TANH, 0},          {FV_ACT_LOG_SOFTMAX, 0},
                {FV_ACT_SOFTMAX, 0}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        x = fv_activation(m, x, acts[i].act, .alpha = acts[i].alpha);
    x = fv_clip(m, x, -1.5f, 2.0f);
    x = fv_activation(m, x, FV_ACT_HARD_SIGMOID, .alpha = 0.2f, .beta = -0.4f);
    x = fv_activation(m, x, FV_ACT_SELU, .alpha = 1.5f, .beta = 1.1f);
    x = fv_prelu(m, x);
    x = fv_prelu(m, x, .shared = 1);
    x = fv_group_norm(m, x, .groups = 3, .eps = 1e-4f);
    x = fv_instance_norm(m, x);
    x = fv_layer_norm(m, x, .eps = 2e-5f);
    x = fv_lrn(m, x, .size = 3, .alpha = 2e-4f, .beta = 0.5f, .k = 2);
    x = fv_maxout(m, x, .pieces = 2);                                           /* 6x6x6 */
    x = fv_zero_padding2d(m, x, .top = 1, .bottom = 2, .left = 3);              /* 6x9x9 */
    x = fv_zero_padding2d(m, x, .all = 1);                                      /* 6x11x11 */
    x = fv_zero_padding2d(m, x, .top = 2, .bottom = 2, .left = 1, .right = 1); /* 6x15x13 */
    x = fv_cropping2d(m, x, .all = 1);                                          /* 6x13x11 */
    x = fv_cropping2d(m, x, .top = 1, .left = 2);                               /* 6x12x9 */
    x = fv_zero_padding2d(m, x);                                                /* by nothing */
    x = fv_upsample2d(m, x, .size_h = 2, .size_w = 3, .bilinear = 1);           /* 6x24x27 */
    x = fv_upsample2d(m, x, .size = 1);
    x = fv_resize(m, x, .scale_h = 0.5, .scale_w = 1.0 / 3, .mode = FV_RESIZE_CUBIC,
                  .exclude_outside = 1, .cubic_a = -0.5f);                      /* 6x12x9 */
    x = fv_resize(m, x, .out_h = 24, .out_w = 27, .coord = FV_COORD_ALIGN_CORNERS,
                  .nearest_mode = FV_NEAREST_CEIL);                            /* 6x24x27 */
    x = fv_pad2d(m, x, .top = 2, .bottom = -1, .left = 1, .right = -1,
                 .mode = FV_PAD_REFLECT);                                      /* 6x25x27 */
    x = fv_pad2d(m, x, .top = -1, .value = 0.5f);                               /* 6x24x27 */
    int mp = fv_maxpool2d(m, x, .size = 3, .stride = 2, .padding = 1, .ceil_mode = 1,
                          .name = "mp");
    x = fv_maxunpool2d(m, mp, mp, "unpool");
    x = fv_maxpool2d(m, x, .size_h = 3, .size_w = 2, .stride = 1);
    int ap = fv_avgpool2d(m, x, .size = 2, .stride = 1, .padding = 1, .exclude_pad = 1);
    int lp = fv_lppool2d(m, ap, 3, .size_h = 2, .size_w = 3, .ceil_mode = 1);
    x = fv_avgpool2d(m, ap, .size_h = 3, .size_w = 2);
    x = fv_fractional_maxpool2d(m, x, .size = 2, .output_h = 6, .output_w = 9);
    x = fv_fractional_maxpool2d(m, x, .ratio_h = 0.7, .ratio_w = 0.6, .random = 1);
    x = fv_fractional_maxpool2d(m, x, .ratio = 0.9);
    x = fv_adaptive_avgpool2d(m, x, .output_h = 3, .output_w = 4);
    x = fv_conv2d_transpose(m, x, .filters = 4, .kernel = 3, .stride = 2, .padding = 1,
                            .output_padding = 1, .groups = 2, .activation = FV_ACT_SOFTPLUS);
    x = fv_conv2d_transpose(m, x, .filters = 4, .kernel_h = 1, .kernel_w = 3, .dilation = 2,
                            .no_bias = 1);
    x = fv_dropout(m, fv_dropout(m, x, .rate = 0.3f, .spatial = 1), .rate = 0.25f);
    int gap = fv_global_avgpool2d(m, x), gmp = fv_global_maxpool2d(m, x);
    x = fv_concat(m, 3, ((int[]){gap, gmp, fv_flatten(m, lp)}), .axis = -1);
    x = fv_reshape(m, fv_reshape(m, x, .ndim = 2, .dims = {-1, 2}), .ndim = 1, .dims = {-1});
    int d1 = fv_dense(m, x, .units = 6, .activation = FV_ACT_HARD_SWISH);
    int d2 = fv_dense(m, x, .units = 6, .no_bias = 1, .l1 = 0.01f, .max_norm = 2);
    int c6 = fv_binary_const(m, d2, FV_BINARY_DIV, 1, (int64_t[]){6},
                             ((const float[]){1, 2, 3, 4, 5, 6}), 0);
    d2 = fv_binary(m, d1, fv_binary_scalar(m, c6, FV_BINARY_SUB, 0.5f), FV_BINARY_MAX);
    x = fv_concat(m, 2, ((int[]){d1, d2}), .name = "heads");
    x = fv_reshape(m, x, .ndim = 3, .dims = {3, 2, 2});
    x = fv_layer_text(m, x, "permute dims=1,3,2");
    x = fv_concat(m, 2, ((int[]){x, x}), .axis = 1);                 /* 3x4x2 */
    /* spatial transformers: grids from regressions of d1, the sampler, the layer */
    int ag = fv_affine_grid(m, fv_dense(m, d1, .units = 6), .out_h = 3, .out_w = 5,
                            .align_corners = 1);
    int tg = fv_tps_grid(m, fv_dense(m, d1, .units = 8), .out_h = 3, .out_w = 5, .points = 2);
    int g1 = fv_grid_sample(m, x, ag, .mode = FV_GRID_NEAREST, .padding = FV_GRID_REFLECTION);
    int g2 = fv_grid_sample(m, x, tg, .padding = FV_GRID_BORDER, .align_corners = 1);
    int st = fv_spatial_transformer(m, x, d1, .out_h = 3, .out_w = 5, .points = 2,
                                    .padding = FV_GRID_BORDER);
    x = fv_concat(m, 3, ((int[]){g1, g2, st}));                   /* 9x3x5 */
    x = fv_flatten(m, x);                                                       /* 135 */
    x = fv_segment_softmax(m, x, .nsegments = 3, .segments = ((const int[]){8, 1, 126}));
    /* sequences: d1 as 3 steps of 2 through the recurrent layers; token 0 everywhere (d1
     - d1) through an embedding and a per-step dense layer */
    int sq = fv_reshape(m, d1, .ndim = 2, .dims = {3, 2});
    int ls = fv_rnn(m, sq, .cell = FV_RNN_LSTM, .units = 2, .bidirectional = 1,
                    .return_sequences = 1);                                     /* 3x4 */
    int gs = fv_rnn_state(m, ls, fv_dense(m, d1, .units = 2), -1, .cell = FV_RNN_GRU,
                          .units = 2);                                          /* 2 */
    int rs = fv_rnn(m, sq, .cell = FV_RNN_RELU, .units = 2);                   /* 2 */
    int tok = fv_embedding(m, fv_binary(m, d1, d1, FV_BINARY_SUB), .vocab = 3, .dim = 2);
    int ps = fv_dense(m, tok, .units = 2, .per_step = 1);                     /* 6x2 */
    x = fv_concat(m, 5, ((int[]){x, fv_flatten(m, ls), gs, rs, fv_flatten(m, ps)}));
    x = fv_dense(m, x, .units = 5, .activation = FV_ACT_SOFTMAX, .name = "out");
    if (x < 0) {
        fprintf(stderr, "every_op_model: %s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* Deterministic values for every parameter (biases and running statistics too). */
static void fill_params(fv_model *m)
{
    for (int i = 0; i < fv_model_num_params(m); i++) {
        fv_param_info p;
        fv_model_param(m, i, &p);
        int var = strstr(p.name, "running_var") != NULL;
        for (int64_t k = 0; k < p.numel; k++)
            p.data[k] = var ? 1.0f + 0.1f * (float)(k % 5)
                            : p.data[k] + 0.02f * (float)((k * 37 + i) % 11 - 5);
    }
}

TEST(test_every_op)
{
    fv_model *m = every_op_model();
    CHECK(m != NULL);
    fv_model *m2 = m ? round_trip(m, "every_op") : NULL;
    CHECK(m2 != NULL);
    if (!m2) {
        fv_model_free(m);
        return;
    }
    /* every op kind but the losses appears */
    int seen[FV_OP__COUNT] = {0};
    for (int i = 0; i < m->nnodes; i++)
        seen[m->nodes[i].op] = 1;
    for (int op = 0; op < FV_OP__COUNT; op++)
        if (op != FV_OP_SOFTMAX_CE && op != FV_OP_MSE && op != FV_OP_LOSS &&
            op != FV_OP_PIXEL_LOSS && !seen[op]) {
            fprintf(stderr, "op %s is missing: add it to every_op_model (and to the writer's "
                    "table in src/io/modelwrite.c)\n", fv_op_table[op]->name);
            CHECK(0);
        }
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd(), .seed = 1),
                 FV_OK);
    CHECK_STATUS(fv_model_compile(m2, .loss = FV_LOSS_MSE, .optimizer = fv_sgd(), .seed = 1),
                 FV_OK);
    fill_params(m);
    for (int i = 0; i < fv_model_num_params(m); i++) {
        fv_param_info p, q;
        fv_model_param(m, i, &p);
        fv_model_param(m2, i, &q);
        memcpy(q.data, p.data, sizeof(float) * (size_t)p.numel);
    }
    fv_tensor *in = fv_tensor_new4(3, 4, 12, 12), *y1 = NULL, *y2 = NULL;
    for (int64_t k = 0; k < fv_tensor_numel(in); k++)
        in->data[k] = (float)sin(0.37 * (double)k) * 2.0f;
    CHECK_STATUS(fv_model_predict(m, in, &y1), FV_OK);
    CHECK_STATUS(fv_model_predict(m2, in, &y2), FV_OK);
    CHECK(y1 && y2 && fv_tensor_numel(y1) == 15 && fv_tensor_numel(y2) == 15);
    if (y1 && y2)
        CHECK(memcmp(y1->data, y2->data, sizeof(float) * 15) == 0);
    /* a compiled model writes the same text: the loss and its target are not layers */
    char *t1 = fv_model_to_text(m), *t2 = fv_model_to_text(m2);
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    CHECK(t1 && strstr(t1, "name=target") == NULL &&
          strstr(t1, "name=loss") == NULL);
    free(t1), free(t2);
    fv_tensor_free(in), fv_tensor_free(y1), fv_tensor_free(y2);
    fv_model_free(m), fv_model_free(m2);
}

/* The committed text `rel` (under tests/) equals text; on a difference the text is left in the
 * build folder as written_<name> for inspection. */
static void same_as_file(const char *text, const char *rel, const char *name)
{
    unsigned char *file = NULL;
    size_t len = 0;
    fv_read_file(t_src_path(rel), (size_t)1 << 20, &file, &len);
    int same = file && text && len == strlen(text) && memcmp(file, text, len) == 0;
    if (!same && text) {
        char out[300];
        snprintf(out, sizeof out, "written_%s", name);
        FILE *f = fopen(out, "wb");
        if (f)
            fputs(text, f), fclose(f);
        fprintf(stderr, "%s: the written text differs from %s (see build/%s)\n", name, rel, out);
        if (file)
            t_show_diff((const char *)file, text);
    }
    CHECK(same);
    fv_free(file);
}

/* Reading then writing each model file gives the same bytes as before: the zoo files are the
 * writer's own text; the hand-written files' written text is committed in tests/data/written. */
TEST(test_written_bytes)
{
    static const char *const files[] = {"lenet5.fv", "keras_cnn.fv", "keras_cnn_fashion.fv"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[128], want[128];
        snprintf(rel, sizeof rel, "../models/%s", files[i]);
        snprintf(want, sizeof want, "data/written/%s", files[i]);
        fv_model *m = fv_model_load_file(t_src_path(rel));
        char *t = m ? fv_model_to_text(m) : NULL;
        CHECK(t != NULL);
        same_as_file(t, want, files[i]);
        free(t), fv_model_free(m);
    }
    for (int i = 0; fv_zoo_name(i); i++) {
        char rel[128], name[128];
        snprintf(rel, sizeof rel, "../models/zoo/%s.fv", fv_zoo_name(i));
        snprintf(name, sizeof name, "%s.fv", fv_zoo_name(i));
        fv_model *m = fv_model_load_file(t_src_path(rel));
        char *t = m ? fv_model_to_text(m) : NULL;
        CHECK(t != NULL);
        same_as_file(t, rel, name);
        free(t), fv_model_free(m);
    }
    fv_model *m = every_op_model();
    char *t = m ? fv_model_to_text(m) : NULL;
    CHECK(t != NULL);
    same_as_file(t, "data/written/every_op.fv", "every_op.fv");
    free(t), fv_model_free(m);
}

/* The text itself: defaults left out, inputs= only where needed, activations folded. */
TEST(test_text_shape)
{
    fv_model *m = fv_model_new("small");
    int x = fv_input(m, .ndim = 3, .dims = {1, 8, 8});
    int c = fv_conv2d(m, x, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU, .name = "c");
    fv_maxpool2d(m, c);
    int p = fv_conv2d(m, x, .filters = 2, .kernel = 5, .padding = 1, .name = "(p)");
    fv_concat(m, 2, ((int[]){c, p}), .name = "cat");
    fv_batchnorm(m, fv_activation(m, c, FV_ACT_LEAKY_RELU, .alpha = 0.1f));
    char *t = fv_model_to_text(m);
    static const char want[] =
        "# written by fovea: model small, 80 parameters (76 trainable, 4 non-trainable)\n"
        "model small\n"
        "input shape=1,8,8 name=input1\n"
        "conv2d filters=2 kernel_size=3 activation=relu name=c\n"
        "maxpool2d name=maxpool2d1\n"
        "conv2d filters=2 kernel_size=5 padding=1 name=(p) inputs=input1\n"
        "concat name=cat inputs=c,(p)\n"
        "leaky_relu alpha=0.1 name=activation1 inputs=c\n"
        "batchnorm name=batchnorm1\n";
    t_check_text(t, want);
    free(t);
    fv_model_free(m);
    /* a list that starts with '(' and ends with ')' is protected from the parser's stripping */
    m = fv_model_new("paren");
    x = fv_input(m, .ndim = 1, .dims = {4}, .name = "(in)");
    fv_dense(m, fv_dense(m, x, .units = 3), .units = 2);
    fv_dense(m, x, .units = 2, .name = "b");
    fv_model *m2 = round_trip(m, "paren");
    t = fv_model_to_text(m);
    CHECK(t && strstr(t, "inputs=((in))\n"));
    free(t);
    fv_model_free(m2), fv_model_free(m);
}

/* The layers the format cannot express: an error naming the layer and its op, no text. */
TEST(test_unwritable)
{
    fv_model *m = fv_model_new("pre");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    int d = fv_dense(m, x, .units = 3, .activation = FV_ACT_RELU, .name = "fc");
    fv_dense(m, d - 1, .units = 2, .name = "reader"); /* fc before its ReLU */
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'reader' (dense)");
    CHECK_ERR_HAS("reads layer 'fc' before its activation");
    fv_model_free(m);

    m = fv_model_new("names");
    fv_dense(m, fv_input(m, .ndim = 1, .dims = {4}), .units = 3, .name = "my layer");
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'my layer' (dense)");
    fv_model_free(m);

    m = fv_model_new("two words");
    fv_input(m, .ndim = 1, .dims = {4});
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("model 'two words'");
    fv_model_free(m);

    m = fv_model_new("inputs");
    fv_input(m, .ndim = 1, .dims = {4});
    fv_input(m, .ndim = 1, .dims = {4}, .name = "second");
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'second' (input): a second input");
    fv_model_free(m);

    /* attributes no layer function makes, set by hand */
    m = fv_model_new("attrs");
    x = fv_input(m, .ndim = 3, .dims = {2, 8, 8});
    int p = fv_maxpool2d(m, x, .name = "pool");
    char *t = fv_model_to_text(m);
    CHECK(t != NULL);
    free(t);
    m->nodes[p].a.pool.sw = 1;
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'pool' (maxpool2d): strides differ");
    m->nodes[p].a.pool.sw = 2;
    m->nodes[p].a.pool.pw = 1;
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'pool' (maxpool2d): padding differs");
    fv_model_free(m);

    m = fv_model_new("folded");
    x = fv_input(m, .ndim = 3, .dims = {2, 8, 8});
    x = fv_conv2d(m, x, .filters = 2, .kernel = 3, .activation = FV_ACT_LEAKY_RELU, .name = "cv");
    m->nodes[x].a.eltwise.alpha = 0.5f;
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("layer 'cv' (conv2d): a folded activation");
    fv_model_free(m);

    CHECK(fv_model_to_text(NULL) == NULL);
    CHECK_STATUS(fv_model_save_file(NULL, "x.fv"), FV_ERR_INVALID);
}

TEST(test_save_file)
{
    fv_model *m = fv_model_load_file(t_src_path("../models/lenet5.fv"));
    CHECK(m != NULL);
    if (!m)
        return;
    char path[64];
    snprintf(path, sizeof path, "modelwrite_%ld.fv", (long)getpid());
    CHECK_STATUS(fv_model_save_file(m, path), FV_OK);
    fv_model *m2 = fv_model_load_file(path);
    CHECK(m2 != NULL);
    char *t1 = fv_model_to_text(m), *t2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    CHECK(m2 && strcmp(fv_model_name(m2), "lenet5") == 0);
    free(t1), free(t2);
    fv_model_free(m2);
    remove(path);

    const char *bad = "/nonexistent-fovea-dir/model.fv";
    CHECK_STATUS(fv_model_save_file(m, bad), FV_ERR_IO);
    CHECK_ERR_HAS(bad);
    CHECK_STATUS(fv_model_save_file(m, NULL), FV_ERR_INVALID);
    fv_model_free(m);
}

int main(void)
{
    RUN(test_model_files);
    RUN(test_zoo_networks);
    RUN(test_every_op);
    RUN(test_written_bytes);
    RUN(test_text_shape);
    RUN(test_unwritable);
    RUN(test_save_file);
    TEST_MAIN_END();
}
