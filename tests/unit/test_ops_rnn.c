/* test_ops_rnn.c - the recurrent layers (simple RNN, LSTM, GRU; one and two directions; every
 * step or the last state; initial states) and the embedding: PyTorch goldens of forward and
 * backward (tests/golden/gen_rnn.py), double-precision finite-difference gradient checks of the
 * kernels, the text format and the errors. */
#include "kernels/ref/rnn_ref.h"
#include "optest.h"

/* ---------------------------------------------------------------- goldens */

static const char *const param_names_ref[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                               "bias_hh_l0"};

typedef struct rnn_case {
    const char *golden, *text;
} rnn_case;

/* x (3, 5, 4); 3 units; the states of the *_state cases are dense layers over x flattened. */
TEST(rnn_matches_pytorch)
{
    static const rnn_case cases[] = {
        {"rnn_tanh_seq", "simple_rnn units=3 return_sequences=true name=rnn"},
        {"rnn_relu_bi_last", "SimpleRNN units=3 nonlinearity=relu bidirectional=true name=rnn"},
        {"rnn_lstm_last", "lstm units=3 name=rnn"},
        {"rnn_lstm_bi_seq", "LSTM units=3 bidirectional=true return_sequences=true name=rnn"},
        {"rnn_lstm_bi_state", "flatten name=fl\ndense units=6 inputs=fl name=hinit\n"
                              "dense units=6 inputs=fl name=cinit\nlstm units=3 "
                              "bidirectional=true return_sequences=true inputs=x,hinit,cinit "
                              "name=rnn"},
        {"rnn_gru_seq", "gru units=3 return_sequences=true name=rnn"},
        {"rnn_gru_bi_last_state", "flatten name=fl\ndense units=6 inputs=fl name=hinit\n"
                                  "GRU units=3 bidirectional=true inputs=x,hinit name=rnn"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, "input shape=5,4 name=x\n%s\n", cases[i].text);
        fv_model *m = ot_parse(text, "rnn.fv");
        if (m)
            ot_golden_layer(m, 0, fv_model_find_node(m, "rnn"), cases[i].golden, 1e-5, 1e-5);
    }
}

/* Token indices through an embedding into an LSTM. */
TEST(embedding_matches_pytorch)
{
    fv_model *m = ot_parse("input shape=5 name=x\nembedding vocab=7 dim=4 name=emb\n"
                           "lstm units=3 return_sequences=true name=rnn\n", "emb.fv");
    if (m)
        ot_golden_layer(m, 0, fv_model_find_node(m, "rnn"), "rnn_embed", 1e-5, 1e-5);
}

/* PyTorch's state_dict (torch.save) of a bidirectional LSTM loads by name and computes its
 * outputs. */
TEST(rnn_loads_pytorch_state_dict)
{
    fv_model *m = ot_parse("input shape=5,4 name=x\nlstm units=3 bidirectional=true "
                           "return_sequences=true name=rnn\n", "pt.fv");
    fv_st_file *f = ot_open_golden("rnn_lstm_bi_seq");
    if (!m || !f) {
        fv_model_free(m), fv_st_close(f);
        return;
    }
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE), FV_OK);
    CHECK_STATUS(fv_model_load_weights(m, t_src_path("data/torch_pt/rnn_lstm_bi.pt")), FV_OK);
    fv_tensor *x = fv_st_get(f, "x"), *y = fv_st_get(f, "y");
    CHECK(x && y);
    if (x && y) {
        CHECK_STATUS(fv_model_forward(m, x->data, 3), FV_OK);
        CHECK_ARRAY_NEAR(m->nodes[fv_model_find_node(m, "rnn")].y, y->data, 90, 1e-5, 1e-5);
    }
    fv_tensor_free(x), fv_tensor_free(y);
    fv_st_close(f);
    fv_model_free(m);
}

/* pack_padded_sequence: the f32 kernel over sequences of lengths (5, 2, 4) against PyTorch's
 * packed forward and backward (no initial states). */
static void rnn_pack_case(const char *name, int cell, int dirs, int sequences)
{
    fv_st_file *f = ot_open_golden(name);
    if (!f)
        return;
    static const char *const keys[] = {"x", "len", "y", "dy", "dx"};
    fv_tensor *t[5], *w[8] = {0}, *gw[8] = {0};
    int ok = 1;
    for (int k = 0; k < 5; k++)
        ok &= (t[k] = fv_st_get(f, keys[k])) != NULL;
    float *wp[8], *dw[8];
    for (int k = 0; k < 4 * dirs; k++) {
        char key[64];
        snprintf(key, sizeof key, "rnn.%s%s", param_names_ref[k % 4], k >= 4 ? "_reverse" : "");
        w[k] = fv_st_get(f, key);
        snprintf(key, sizeof key, "grad.rnn.%s%s", param_names_ref[k % 4],
                 k >= 4 ? "_reverse" : "");
        gw[k] = fv_st_get(f, key);
        ok &= w[k] && gw[k];
        wp[k] = w[k] ? w[k]->data : NULL;
        dw[k] = gw[k] ? calloc((size_t)fv_tensor_numel(gw[k]), sizeof(float)) : NULL;
    }
    CHECK(ok);
    fv_rnn_geom g = {.cell = cell, .n = 3, .t = 5, .f = 4, .h = 3, .dirs = dirs,
                     .sequences = sequences, .len = ok ? t[1]->data : NULL};
    float *saved = malloc(sizeof(float) * (size_t)fv_rnn_saved_count(&g));
    float *y = ok ? malloc(sizeof(float) * (size_t)fv_tensor_numel(t[2])) : NULL;
    float *dx = calloc(60, sizeof(float));
    if (ok) {
        fv_ref_rnn_fwd_f32(&g, (const float *const *)wp, t[0]->data, NULL, NULL, y, saved);
        CHECK_ARRAY_NEAR(y, t[2]->data, fv_tensor_numel(t[2]), 1e-5, 1e-5);
        fv_ref_rnn_bwd_f32(&g, (const float *const *)wp, t[0]->data, NULL, NULL, t[3]->data,
                           saved, dx, NULL, NULL, dw);
        CHECK_ARRAY_NEAR(dx, t[4]->data, 60, 1e-5, 1e-5);
        for (int k = 0; k < 4 * dirs; k++)
            CHECK_ARRAY_NEAR(dw[k], gw[k]->data, fv_tensor_numel(gw[k]), 1e-5, 1e-5);
    }
    for (int k = 0; k < 5; k++)
        fv_tensor_free(t[k]);
    for (int k = 0; k < 8; k++)
        fv_tensor_free(w[k]), fv_tensor_free(gw[k]), free(k < 4 * dirs ? dw[k] : NULL);
    free(saved), free(y), free(dx);
    fv_st_close(f);
}

TEST(rnn_packed_matches_pytorch)
{
    rnn_pack_case("rnn_pack_tanh_seq", FV_RNN_TANH, 1, 1);
    rnn_pack_case("rnn_pack_relu_bi_last", FV_RNN_RELU, 2, 0);
    rnn_pack_case("rnn_pack_lstm_bi_seq", FV_RNN_LSTM, 2, 1);
    rnn_pack_case("rnn_pack_lstm_last", FV_RNN_LSTM, 1, 0);
    rnn_pack_case("rnn_pack_gru_seq", FV_RNN_GRU, 1, 1);
    rnn_pack_case("rnn_pack_gru_bi_last_state", FV_RNN_GRU, 2, 0);
}

/* The layer with lengths=true: one input (1, 6, 4) per sample, its first 5 rows the sequence
 * and the last row's first value the length (cropped apart), against the packed goldens. */
static void rnn_packed_layer_case(const char *name, const char *layer)
{
    char text[512];
    snprintf(text, sizeof text, "input shape=1,6,4 name=x\ncropping2d cropping=0,1,0,0\n"
             "reshape target_shape=5,4 name=seq\ncropping2d cropping=5,0,0,3 inputs=x\n"
             "reshape target_shape=1 name=len\n%s lengths=true inputs=seq,len name=rnn\n", layer);
    fv_model *m = ot_parse(text, "packed.fv");
    fv_st_file *f = ot_open_golden(name);
    fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *len = f ? fv_st_get(f, "len") : NULL;
    fv_tensor *y = f ? fv_st_get(f, "y") : NULL, *dy = f ? fv_st_get(f, "dy") : NULL;
    fv_tensor *dx = f ? fv_st_get(f, "dx") : NULL;
    CHECK(m && x && len && y && dy && dx);
    float in[3 * 24] = {0};
    for (int i = 0; x && len && i < 3; i++) {
        memcpy(in + i * 24, x->data + i * 20, sizeof(float) * 20);
        in[i * 24 + 20] = len->data[i];
    }
    int rnn = m ? fv_model_find_node(m, "rnn") : -1;
    if (m && x && len && y && dy && dx && ot_run(m, 0, rnn, f, 3, in, dy->data) == 0) {
        CHECK_ARRAY_NEAR(m->nodes[rnn].y, y->data, fv_tensor_numel(y), 1e-5, 1e-5);
        for (int i = 0; i < 3; i++)
            CHECK_ARRAY_NEAR(m->nodes[0].dy + i * 24, dx->data + i * 20, 20, 1e-5, 1e-5);
        for (int k = 0; k < m->nparams; k++) {
            char key[128];
            snprintf(key, sizeof key, "grad.%s", m->params[k].name);
            fv_tensor *gt = fv_st_get(f, key);
            CHECK(gt != NULL);
            if (gt)
                CHECK_ARRAY_NEAR(m->grad_slab + m->params[k].offset, gt->data,
                                 m->params[k].numel, 1e-5, 1e-5);
            fv_tensor_free(gt);
        }
    }
    fv_tensor_free(x), fv_tensor_free(len), fv_tensor_free(y), fv_tensor_free(dy);
    fv_tensor_free(dx);
    fv_st_close(f);
    fv_model_free(m);
}

TEST(rnn_packed_layer_matches_pytorch)
{
    rnn_packed_layer_case("rnn_pack_lstm_bi_seq",
                          "lstm units=3 bidirectional=true return_sequences=true");
    rnn_packed_layer_case("rnn_pack_gru_bi_last_state", "gru units=3 bidirectional=true");
}

/* A GRU 'g' of 2 units over an input (1, 4, 3): 3 steps, then the length in the last row. */
static int packed_gru(fv_model *m)
{
    int x = fv_input(m, .ndim = 3, .dims = {1, 4, 3});
    int seq = fv_reshape(m, fv_cropping2d(m, x, .bottom = 1), .ndim = 2, .dims = {3, 3});
    int len = fv_reshape(m, fv_cropping2d(m, x, .top = 3, .right = 2), .ndim = 1, .dims = {1});
    return fv_rnn_packed(m, seq, -1, -1, len, .cell = FV_RNN_GRU, .units = 2, .name = "g");
}

/* A length that is no whole number of steps in [1, T] fails the pass; a lengths input of more
 * than one value is refused. */
TEST(rnn_packed_errors)
{
    fv_model *m = fv_model_new("p");
    int l = packed_gru(m), x;
    CHECK(l > 0 && m->nodes[l].nin == 2 && m->nodes[l].size == 2);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE), FV_OK);
    float in[12] = {0};
    static const float bad[] = {0, 4, 2.5f, NAN};
    for (int k = 0; k < 4; k++) {
        in[9] = bad[k];
        CHECK_STATUS(fv_model_forward(m, in, 1), FV_ERR_INVALID);
        CHECK_ERR_HAS("layer 'g': sample 0's length");
        CHECK_ERR_HAS("is not a whole number of steps in [1, 3]");
    }
    in[9] = 2;
    CHECK_STATUS(fv_model_forward(m, in, 1), FV_OK);
    char *text = fv_model_to_text(m);
    CHECK(text && strstr(text, "gru units=2 lengths=true"));
    free(text);
    fv_model_free(m);
    m = fv_model_new("q");
    x = fv_input(m, .ndim = 2, .dims = {4, 3});
    CHECK(fv_rnn_packed(m, x, -1, -1, x, .cell = FV_RNN_LSTM, .units = 2, .name = "l") < 0);
    CHECK_ERR_HAS("layer 'l': lengths");
    CHECK_ERR_HAS("(None, 4, 3) must be one value per sample");
    fv_model_free(m);
    m = fv_model_new("r");
    x = fv_input(m, .ndim = 2, .dims = {4, 3});
    CHECK(fv_rnn_packed(m, x, -1, -1, -1, .cell = FV_RNN_LSTM, .units = 2) < 0);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- finite differences */

typedef struct gc_rnn {
    fv_rnn_geom g;
    double *w[8], *x, *h0, *c0, *saved;
} gc_rnn;

static void gc_rnn_forward(void *ctx, double *y)
{
    gc_rnn *c = ctx;
    fv_ref_rnn_fwd_f64(&c->g, (const double *const *)c->w, c->x, c->h0, c->c0, y, c->saved);
}

static double *gc_new(long n, unsigned *seed)
{
    double *v = malloc(sizeof(double) * (size_t)n);
    gc_fill(v, n, -0.9, 0.9, seed);
    return v;
}

/* Every input, state and parameter of one geometry against central differences. */
static double rnn_check_geom(fv_rnn_geom g, int states)
{
    unsigned seed = 7u + (unsigned)(g.cell * 10 + g.dirs + 3 * g.sequences + 5 * states);
    gc_rnn c = {.g = g};
    long gh = fv_rnn_gates(g.cell) * g.h, nx = (long)g.n * g.t * g.f;
    long ns = (long)g.n * g.dirs * g.h;
    long ny = g.sequences ? (long)g.n * g.t * g.dirs * g.h : ns;
    long sizes[8];
    double *dw[8];
    for (int k = 0; k < 4 * g.dirs; k++) {
        sizes[k] = k % 4 == 0 ? gh * g.f : k % 4 == 1 ? gh * g.h : gh;
        c.w[k] = gc_new(sizes[k], &seed);
        dw[k] = calloc((size_t)sizes[k], sizeof(double));
    }
    c.x = gc_new(nx, &seed);
    c.h0 = states ? gc_new(ns, &seed) : NULL;
    c.c0 = states && g.cell == FV_RNN_LSTM ? gc_new(ns, &seed) : NULL;
    c.saved = malloc(sizeof(double) * (size_t)fv_rnn_saved_count(&g));
    double *r = gc_new(ny, &seed), *y = malloc(sizeof(double) * (size_t)ny);
    double *dx = calloc((size_t)nx, sizeof(double)), *dh0 = calloc((size_t)ns, sizeof(double));
    double *dc0 = calloc((size_t)ns, sizeof(double));
    gc_rnn_forward(&c, y);
    double padded = 0; /* with lengths, the padded steps' outputs must be exactly zero */
    for (int i = 0; g.len && g.sequences && i < g.n; i++)
        for (long k = (long)fv_rnn_len(&g, i) * g.dirs * g.h; k < (long)g.t * g.dirs * g.h; k++)
            padded = fmax(padded, fabs(y[(long)i * g.t * g.dirs * g.h + k]));
    fv_ref_rnn_bwd_f64(&g, (const double *const *)c.w, c.x, c.h0, c.c0, r, c.saved, dx,
                       c.h0 ? dh0 : NULL, c.c0 ? dc0 : NULL, dw);
    double worst = gc_compare(&c, gc_rnn_forward, c.x, nx, ny, r, dx, GC_H);
    for (int k = 0; k < 4 * g.dirs; k++)
        worst = fmax(worst, gc_compare(&c, gc_rnn_forward, c.w[k], sizes[k], ny, r, dw[k], GC_H));
    if (c.h0)
        worst = fmax(worst, gc_compare(&c, gc_rnn_forward, c.h0, ns, ny, r, dh0, GC_H));
    if (c.c0)
        worst = fmax(worst, gc_compare(&c, gc_rnn_forward, c.c0, ns, ny, r, dc0, GC_H));
    for (int k = 0; k < 4 * g.dirs; k++)
        free(c.w[k]), free(dw[k]);
    free(c.x), free(c.h0), free(c.c0), free(c.saved), free(r), free(y), free(dx), free(dh0);
    free(dc0);
    return worst + padded * 1e6;
}

TEST(rnn_gradcheck)
{
    static const int cells[] = {FV_RNN_TANH, FV_RNN_RELU, FV_RNN_LSTM, FV_RNN_GRU};
    for (int ci = 0; ci < 4; ci++)
        for (int dirs = 1; dirs <= 2; dirs++)
            for (int seq = 0; seq < 2; seq++) {
                fv_rnn_geom g = {.cell = cells[ci], .n = 2, .t = 4, .f = 3, .h = 3,
                                 .dirs = dirs, .sequences = seq};
                double e = rnn_check_geom(g, seq ^ (dirs == 2));
                CHECK(e < GC_TOL);
                if (!(e < GC_TOL))
                    fprintf(stderr, "  cell %d dirs %d sequences %d: %g\n", cells[ci], dirs, seq,
                            e);
            }
}

/* Sequence lengths (4, 2, 1 of 4 steps; and 0, clamped: all zero) with initial states. */
TEST(rnn_lengths_gradcheck)
{
    static const int cells[] = {FV_RNN_TANH, FV_RNN_LSTM, FV_RNN_GRU};
    static const float lens[2][3] = {{4, 2, 1}, {1, 0, 3}};
    for (int ci = 0; ci < 3; ci++)
        for (int dirs = 1; dirs <= 2; dirs++)
            for (int seq = 0; seq < 2; seq++) {
                fv_rnn_geom g = {.cell = cells[ci], .n = 3, .t = 4, .f = 3, .h = 2,
                                 .dirs = dirs, .sequences = seq, .len = lens[seq ^ (dirs == 2)]};
                double e = rnn_check_geom(g, (ci + seq) & 1);
                CHECK(e < GC_TOL);
                if (!(e < GC_TOL))
                    fprintf(stderr, "  lengths: cell %d dirs %d sequences %d: %g\n", cells[ci],
                            dirs, seq, e);
            }
}

/* One step, and a long sequence (the state carries through every step). */
TEST(rnn_any_length)
{
    for (int t = 1; t <= 64; t += 63) {
        fv_rnn_geom g = {.cell = FV_RNN_LSTM, .n = 1, .t = t, .f = 2, .h = 2, .dirs = 2,
                         .sequences = 0};
        double e = rnn_check_geom(g, 1);
        CHECK(e < GC_TOL);
    }
}

/* ---------------------------------------------------------------- the layers */

/* PyTorch's parameter names and shapes, the output shapes, the text written back. */
TEST(rnn_text_format)
{
    fv_model *m = ot_parse("input shape=28,28 name=x\nlstm units=8 bidirectional=true "
                           "return_sequences=true name=lstm\ngru units=5 name=gru\n"
                           "simple_rnn units=2 nonlinearity=relu inputs=x name=r\n", "t.fv");
    if (!m)
        return;
    CHECK(m->nparams == 8 + 4 + 4);
    CHECK(strcmp(m->params[4].name, "lstm.weight_ih_l0_reverse") == 0);
    CHECK(m->params[0].dims[0] == 32 && m->params[0].dims[1] == 28);
    CHECK(m->params[1].dims[0] == 32 && m->params[1].dims[1] == 8);
    CHECK(strcmp(m->params[11].name, "gru.bias_hh_l0") == 0 && m->params[11].dims[0] == 15);
    const fv_node *l = &m->nodes[fv_model_find_node(m, "lstm")];
    CHECK(l->ndim == 2 && l->dims[0] == 28 && l->dims[1] == 16);
    const fv_node *gr = &m->nodes[fv_model_find_node(m, "gru")];
    CHECK(gr->ndim == 1 && gr->dims[0] == 5);
    /* mult-adds: every step's products with W_ih and W_hh, both directions */
    CHECK(fv_node_macs(m, fv_model_find_node(m, "lstm")) == 28 * 2 * (32 * 28 + 32 * 8));
    char *text = fv_model_to_text(m);
    CHECK(text && strstr(text, "lstm units=8 bidirectional=true return_sequences=true"));
    CHECK(text && strstr(text, "gru units=5"));
    CHECK(text && strstr(text, "simple_rnn units=2 nonlinearity=relu"));
    fv_model *back = text ? fv_model_parse(text, "back.fv") : NULL;
    CHECK(back && back->nparams == 16);
    free(text);
    fv_model_free(back);
    fv_model_free(m);
}

/* The C API's initial states: h0 from a dense layer, c0 zeros when not given. */
TEST(rnn_c_api_states)
{
    fv_model *m = fv_model_new("s");
    int x = fv_input(m, .ndim = 2, .dims = {6, 3});
    int h0 = fv_dense(m, fv_flatten(m, x), .units = 4);
    int l = fv_rnn_state(m, x, h0, -1, .cell = FV_RNN_LSTM, .units = 4, .name = "l");
    CHECK(l > 0 && m->nodes[l].nin == 2 && m->nodes[l].size == 4);
    int r = fv_rnn(m, x, .cell = FV_RNN_RELU, .units = 2, .return_sequences = 1);
    CHECK(r > 0 && m->nodes[r].size == 12);
    fv_model_free(m);
}

TEST(rnn_errors)
{
    static const ot_refusal bad[] = {
        {"lstm units=0", "units"},
        {"lstm", "units"},
        {"flatten name=f\nlstm units=3 inputs=f", "needs a sequence (steps, features)"},
        {"dense units=5 name=h\nlstm units=3 inputs=x,h", "initial state h0 'h' (None, 5) must "
                                                          "be (1, 3) or (3)"},
        {"dense units=3 name=h\ngru units=3 inputs=x,h,h", "only the LSTM takes c0"},
        {"lstm units=3 nonlinearity=relu", "nonlinearity"},
        {"lstm units=3 lengths=true", "1 inputs, but it takes x, h0, c0 and the lengths last"},
        {"dense units=3 name=h\ngru units=3 lengths=true inputs=x,h,h,h", "4 inputs, but it "
                                                    "takes x, h0 (only the LSTM takes c0)"},
        {"embedding vocab=0 dim=3", "vocab"},
    };
    OT_PARSE_REFUSED("input shape=4,5 name=x\n", "e.fv", NULL, bad);
}

/* A token outside the vocabulary fails the pass with the layer, the value and the size. */
TEST(embedding_token_outside_vocabulary)
{
    fv_model *m = ot_parse("input shape=3 name=x\nembedding vocab=5 dim=2 name=emb\n"
                           "lstm units=2\ndense units=2\n", "v.fv");
    if (!m)
        return;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE), FV_OK);
    float ok[6] = {0, 4, 2, 1, 1, 3}, bad[6] = {0, 4, 2, 1, 5, 3}, half[3] = {0, 1.5f, 2};
    CHECK_STATUS(fv_model_forward(m, ok, 2), FV_OK);
    CHECK_STATUS(fv_model_forward(m, bad, 2), FV_ERR_INVALID);
    CHECK_ERR_HAS("layer 'emb': token 5 (sample 1, position 1) is outside the vocabulary of 5");
    CHECK(t_one_line(fv_last_error()));
    CHECK_STATUS(fv_model_forward(m, half, 1), FV_ERR_INVALID);
    fv_tensor *x = fv_tensor_new(2, (int64_t[]){2, 3}), *out = NULL;
    memcpy(x->data, bad, sizeof bad);
    CHECK_STATUS(fv_model_predict(m, x, &out), FV_ERR_INVALID);
    CHECK(out == NULL);
    float y[2] = {0, 1};
    CHECK_STATUS(fv_model_train_batch(m, bad, y, 2, NULL, NULL), FV_ERR_INVALID);
    CHECK_ERR_HAS("outside the vocabulary");
    fv_tensor_free(x);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- sequences */

/* The per-step cross-entropy with padding (-1) ignored: a per-step dense layer's logits. */
TEST(sequence_loss_matches_pytorch)
{
    fv_st_file *f = ot_open_golden("rnn_seqloss");
    if (!f)
        return;
    fv_tensor *x = fv_st_get(f, "x"), *t = fv_st_get(f, "target"), *l = fv_st_get(f, "loss");
    fv_tensor *dx = fv_st_get(f, "dx");
    CHECK(x && t && l && dx);
    fv_model *m = ot_parse("input shape=5,6 name=x\ndense units=6 per_step=true name=fc\n",
                           "seq.fv");
    if (x && t && l && dx && m) {
        CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SEQUENCE_CE, .use_ignore_label = 1,
                                      .ignore_label = -1), FV_OK);
        int fc = fv_model_find_node(m, "fc");
        CHECK(m->nodes[m->target_node].size == 5 && m->nodes[fc].ndim == 2);
        /* the identity as the dense layer, so the loss sees the golden's logits */
        float *w = fv_pdata(m, &m->nodes[fc], 0);
        memset(w, 0, sizeof(float) * 36);
        memset(fv_pdata(m, &m->nodes[fc], 1), 0, sizeof(float) * 6);
        for (int i = 0; i < 6; i++)
            w[i * 6 + i] = 1;
        m->input_grad = 1;
        CHECK_STATUS(fv_graph_plan(m, 3), FV_OK);
        memcpy(m->nodes[m->input_node].y, x->data, sizeof(float) * 90);
        memcpy(m->nodes[m->target_node].y, t->data, sizeof(float) * 15);
        fv_graph_forward(m, 3, -1);
        fv_graph_backward(m, 3);
        CHECK_NEAR(m->nodes[m->loss_node].y[0], l->data[0], 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(m->nodes[m->input_node].dy, dx->data, 90, 1e-6, 1e-5);
        /* a target that is neither a class nor the padding */
        fv_dataset d = {.x = x, .y = t};
        t->data[4] = 6;
        CHECK_STATUS(fv_model_evaluate(m, &d, 3, NULL, NULL), FV_ERR_INVALID);
        CHECK_ERR_HAS("sample 0's sequence has label 6 at step 4, not a class in [0, 6)");
    }
    fv_model_free(m);
    fv_tensor_free(x), fv_tensor_free(t), fv_tensor_free(l), fv_tensor_free(dx);
    fv_st_close(f);
}

int main(void)
{
    RUN(rnn_matches_pytorch);
    RUN(embedding_matches_pytorch);
    RUN(rnn_loads_pytorch_state_dict);
    RUN(rnn_packed_matches_pytorch);
    RUN(rnn_packed_layer_matches_pytorch);
    RUN(rnn_packed_errors);
    RUN(rnn_gradcheck);
    RUN(rnn_lengths_gradcheck);
    RUN(rnn_any_length);
    RUN(rnn_text_format);
    RUN(rnn_c_api_states);
    RUN(rnn_errors);
    RUN(embedding_token_outside_vocabulary);
    RUN(sequence_loss_matches_pytorch);
    TEST_MAIN_END();
}
