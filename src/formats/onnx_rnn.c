/* onnx_rnn.c - ONNX's RNN, LSTM and GRU (opsets 7-17) onto fovea's recurrent layer
 * (ops/rnn.c): batch-first input (layout = 1; time-first input would put the steps on the batch
 * axis), forward or bidirectional, the default activations (RNN: Tanh or Relu), GRU with
 * linear_before_reset = 1 (PyTorch's cell), no peepholes, clip or sequence lengths. ONNX's gate
 * blocks (LSTM i o f c, GRU z r h) are reordered into PyTorch's (i f g o, r z n). Output Y
 * (N, T, D, H) and Y_h (N, D, H) are layers of their own (each with the weights); Y_c is not
 * given. The initial states are layer outputs (N, D, H) or zero constants. */
#include "formats/onnx_internal.h"

#include <string.h>

/* PyTorch's gate block k is ONNX's block order[k]. */
static const int lstm_order[4] = {0, 2, 3, 1};
static const int gru_order[3] = {1, 0, 2};
static const int rnn_order[1] = {0};

static fv_rnn_cell cell_of(const char *op)
{
    return strcmp(op, "LSTM") == 0 ? FV_RNN_LSTM : strcmp(op, "GRU") == 0 ? FV_RNN_GRU
                                                                           : FV_RNN_TANH;
}

/* The attributes fovea cannot compute, refused; the cell (RNN: by its activation) into *cell. */
static fv_status check_attrs(ox_ctx *c, const ox_node *n, fv_rnn_cell *cell)
{
    if (n->opset < 14 || fv_ox_attr_i(n, "layout", 0) != 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "time-first input (layout 0) puts the steps on "
                         "the batch axis; fovea's recurrent layers read batch-first sequences "
                         "(layout 1)");
    const char *dir = fv_ox_attr_s(n, "direction", "forward");
    if (strcmp(dir, "forward") != 0 && strcmp(dir, "bidirectional") != 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "direction '%s' (forward and bidirectional are "
                         "supported)", dir);
    if (fv_ox_attr(n, "clip") || fv_ox_attr_i(n, "input_forget", 0))
        return fv_ox_err(c, n, FV_ERR_INVALID, "attributes clip and input_forget are not "
                         "supported");
    if (*cell == FV_RNN_GRU && fv_ox_attr_i(n, "linear_before_reset", 0) != 1)
        return fv_ox_err(c, n, FV_ERR_INVALID, "linear_before_reset = 0 (fovea's GRU is "
                         "PyTorch's, linear_before_reset = 1)");
    const FvOnnx__AttributeProto *act = fv_ox_attr(n, "activations");
    for (size_t k = 0; act && k < act->n_strings; k++) {
        const char *s = (const char *)act->strings[k].data;
        size_t len = act->strings[k].len;
        bool relu = *cell == FV_RNN_TANH && len == 4 && strncmp(s, "Relu", 4) == 0;
        bool tanh = *cell == FV_RNN_TANH && len == 4 && strncmp(s, "Tanh", 4) == 0;
        if (!relu && !tanh)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'activations' (only the RNN's "
                             "Tanh or Relu are supported)");
        if (relu && k > 0 && *cell != FV_RNN_RELU)
            return fv_ox_err(c, n, FV_ERR_INVALID, "different activations per direction");
        *cell = relu ? FV_RNN_RELU : *cell;
    }
    for (int i = 4; i < n->nin; i++) /* sequence_lens, then P (LSTM) */
        if (*n->in[i] && (i == 4 || i == 7))
            return fv_ox_err(c, n, FV_ERR_INVALID, "input %d (%s) is not supported", i,
                             i == 4 ? "sequence_lens: one length for every sequence" :
                                      "peepholes");
    return FV_OK;
}

/* An initial state (input i): -1 for none or zeros, else its node. */
static fv_status state_in(ox_ctx *c, const ox_node *n, int i, int *node)
{
    *node = -1;
    ox_val *v = fv_ox_in(c, n, i);
    if (!v)
        return FV_OK;
    if (v->kind == OX_CONST) {
        for (int64_t k = 0; k < v->t.numel; k++)
            if (v->t.isint ? v->t.i[k] != 0 : v->t.f[k] != 0)
                return fv_ox_err(c, n, FV_ERR_INVALID, "a constant initial state (input %d) "
                                 "other than zeros is not supported", i);
        return FV_OK;
    }
    return fv_ox_in_node(c, n, i, node);
}

/* rows blocks of `per` values of src (one direction's gates) into dst in PyTorch's order. */
static void reorder(const float *src, int gates, const int *order, int64_t per, float *dst)
{
    for (int k = 0; k < gates; k++)
        memcpy(dst + k * per, src + order[k] * per, sizeof(float) * (size_t)per);
}

typedef struct rnn_weights {
    const ox_tensor *w, *r, *b;
    int gates, dirs;
    int64_t h, f;
    const int *order;
} rnn_weights;

/* Layer id's parameters from the node's W, R, B. */
static fv_status preset_all(ox_ctx *c, const ox_node *n, int id, const rnn_weights *rw)
{
    int64_t gh = rw->gates * rw->h;
    float *tmp = fv_ox_alloc(c, sizeof(float) * (size_t)(gh * (rw->f > rw->h ? rw->f : rw->h)));
    if (!tmp)
        return fv_last_status();
    for (int d = 0; d < rw->dirs; d++) {
        reorder(rw->w->f + d * gh * rw->f, rw->gates, rw->order, rw->h * rw->f, tmp);
        FV_TRY(fv_ox_preset(c, n, id, 4 * d, tmp, gh * rw->f));
        reorder(rw->r->f + d * gh * rw->h, rw->gates, rw->order, rw->h * rw->h, tmp);
        FV_TRY(fv_ox_preset(c, n, id, 4 * d + 1, tmp, gh * rw->h));
        for (int k = 0; k < 2; k++) {
            if (rw->b)
                reorder(rw->b->f + (2 * d + k) * gh, rw->gates, rw->order, rw->h, tmp);
            else
                memset(tmp, 0, sizeof(float) * (size_t)gh);
            FV_TRY(fv_ox_preset(c, n, id, 4 * d + 2 + k, tmp, gh));
        }
    }
    return FV_OK;
}

/* W (D, G H, F), R (D, G H, H), B (D, 2 G H): float constants of those shapes. */
static fv_status read_weights(ox_ctx *c, const ox_node *n, fv_rnn_cell cell, int64_t f,
                              rnn_weights *rw)
{
    rw->gates = cell == FV_RNN_LSTM ? 4 : cell == FV_RNN_GRU ? 3 : 1;
    rw->order = cell == FV_RNN_LSTM ? lstm_order : cell == FV_RNN_GRU ? gru_order : rnn_order;
    rw->dirs = strcmp(fv_ox_attr_s(n, "direction", "forward"), "bidirectional") == 0 ? 2 : 1;
    rw->f = f;
    ox_tensor *w, *r, *b = NULL;
    FV_TRY(fv_ox_in_const(c, n, 1, "weight W", &w));
    FV_TRY(fv_ox_in_const(c, n, 2, "recurrence weight R", &r));
    if (fv_ox_in(c, n, 3))
        FV_TRY(fv_ox_in_const(c, n, 3, "bias B", &b));
    rw->h = fv_ox_attr_i(n, "hidden_size", w->ndim == 3 ? w->dims[1] / rw->gates : 0);
    int64_t gh = rw->gates * rw->h;
    bool ok = !w->isint && !r->isint && (!b || !b->isint) && rw->h >= 1 && rw->h <= 1 << 16 &&
              w->ndim == 3 && w->dims[0] == rw->dirs && w->dims[1] == gh && w->dims[2] == f &&
              r->ndim == 3 && r->dims[0] == rw->dirs && r->dims[1] == gh && r->dims[2] == rw->h &&
              (!b || (b->ndim == 2 && b->dims[0] == rw->dirs && b->dims[1] == 2 * gh));
    if (!ok)
        return fv_ox_err(c, n, FV_ERR_INVALID, "weights W, R, B must be float (%d, %lld, %lld), "
                         "(%d, %lld, %lld), (%d, %lld) for hidden_size %lld", rw->dirs,
                         (long long)gh, (long long)f, rw->dirs, (long long)gh,
                         (long long)rw->h, rw->dirs, (long long)(2 * gh), (long long)rw->h);
    rw->w = w, rw->r = r, rw->b = b;
    return FV_OK;
}

/* One layer for output k (0: Y as (T, D, H), 1: Y_h as (D, H)). */
static fv_status build_output(ox_ctx *c, const ox_node *n, int k, int x, int h0, int c0,
                              fv_rnn_cell cell, const rnn_weights *rw, int64_t steps)
{
    fv_rnn_args a = {.cell = cell, .units = (int)rw->h, .bidirectional = rw->dirs == 2,
                     .return_sequences = k == 0,
                     .name = fv_ox_layer_name(c, n, k == 0 ? "_rnn" : "_rnn_h")};
    int id = fv_rnn_state_(c->m, x, h0, c0, a);
    if (id < 0)
        return fv_ox_layer_err(c, n);
    FV_TRY(preset_all(c, n, id, rw));
    fv_reshape_args r = {.ndim = k == 0 ? 3 : 2, .dims = {k == 0 ? steps : rw->dirs,
                                                          k == 0 ? rw->dirs : rw->h, rw->h},
                         .name = fv_ox_layer_name(c, n, k == 0 ? NULL : "_h")};
    return fv_ox_set_node(c, n, k, fv_reshape_(c->m, id, r));
}

static fv_status map_rnn(ox_ctx *c, const ox_node *n)
{
    fv_rnn_cell cell = cell_of(n->op);
    FV_TRY(check_attrs(c, n, &cell));
    int x, h0, c0 = -1;
    FV_TRY(fv_ox_in_node(c, n, 0, &x));
    int64_t dims[OX_MAXR];
    if (fv_ox_node_shape(c, x, dims) != 3)
        return fv_ox_err(c, n, FV_ERR_INVALID, "input X must be (batch, steps, features)");
    rnn_weights rw = {0};
    FV_TRY(read_weights(c, n, cell, dims[2], &rw));
    FV_TRY(state_in(c, n, 5, &h0));
    if (cell == FV_RNN_LSTM)
        FV_TRY(state_in(c, n, 6, &c0));
    if (c0 >= 0 && h0 < 0)
        return fv_ox_err(c, n, FV_ERR_INVALID, "initial_c without initial_h");
    if (n->nout > 2 && *n->out[2])
        return fv_ox_err(c, n, FV_ERR_INVALID, "output Y_c (the last cell state) is not "
                         "supported");
    for (int k = 0; k < 2 && k < n->nout; k++)
        if (*n->out[k])
            FV_TRY(build_output(c, n, k, x, h0, c0, cell, &rw, dims[1]));
    return FV_OK;
}

const fv_ox_op fv_ox_ops_rnn[] = {
    {"RNN", map_rnn}, {"LSTM", map_rnn}, {"GRU", map_rnn}, {NULL, NULL}};
