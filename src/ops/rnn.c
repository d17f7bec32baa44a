/* rnn.c - the recurrent layer op (FV_OP_RNN): simple RNN (tanh or ReLU), LSTM and GRU, one or
 * two directions, batch first, PyTorch's gates and parameter names (include/fovea.h). Inputs:
 * x (T, F), then optionally h0 and (LSTM) c0, each (D, units) or (D units), and with lengths=true
 * last each sample's length (one value: pack_padded_sequence's semantics). Its attributes,
 * arguments and text spellings ("lstm units=128 bidirectional=true") live here; the arithmetic
 * (the input projection of all steps as one GEMM, one GEMM per step for the recurrence, BPTT)
 * in kernels/ref/rnn_ref. */
#include "kernels/ref/rnn_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>

typedef struct rnn_attr {
    int cell;      /* an fv_rnn_cell */
    int units;
    int dirs_two;  /* bidirectional */
    int sequences; /* return_sequences */
    int lengths;   /* the last input holds each sample's length */
} rnn_attr;
_Static_assert(sizeof(rnn_attr) <= sizeof(((fv_attr *)0)->raw), "rnn_attr fits fv_attr");

#define AT_RNN(member) (FV_AT(raw) + (int)offsetof(rnn_attr, member))

static const rnn_attr *attr_of(const fv_attr *a)
{
    return (const rnn_attr *)a->raw;
}

/* The initial states among the inputs (0, 1 or 2). */
static int nstates(const fv_node *n)
{
    return n->nin - 1 - attr_of(&n->a)->lengths;
}

/* The saved buffer starts with the first bad length a forward met (read by rnn_check), the
 * kernels' values follow at RNN_KERNEL_OFF floats. */
typedef struct rnn_bad {
    int found;
    float value;
    int64_t sample;
} rnn_bad;
enum { RNN_KERNEL_OFF = 16 };
_Static_assert(sizeof(rnn_bad) <= RNN_KERNEL_OFF * sizeof(float), "rnn_bad fits its slot");

/* The geometry of node n for a batch (the input's (T, F) shape was checked by infer). */
static fv_rnn_geom geom(const fv_model *m, const fv_node *n, int batch)
{
    const rnn_attr *a = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    return (fv_rnn_geom){.cell = a->cell, .n = batch, .t = (int)x->dims[0],
                         .f = (int)x->dims[1], .h = a->units, .dirs = a->dirs_two ? 2 : 1,
                         .sequences = a->sequences,
                         .len = a->lengths ? fv_input_node(m, n, n->nin - 1)->y : NULL};
}

static const char *const param_names[4] = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                           "bias_hh_l0"};

/* The four parameters of each direction, U(-1/sqrt(units), 1/sqrt(units)): lecun_uniform's
 * sqrt(3 / fan) with fan 3 units. */
static fv_status declare_params(fv_model *m, fv_node *n, int dirs, int64_t gh, int64_t f,
                                int64_t h)
{
    for (int d = 0; d < dirs; d++)
        for (int k = 0; k < 4; k++) {
            char what[32];
            snprintf(what, sizeof what, "%s%s", param_names[k], d ? "_reverse" : "");
            int64_t dims[2] = {gh, k == 0 ? f : h};
            FV_TRY(fv_param_declare(m, n, what, k < 2 ? 2 : 1, dims, 1, FV_INIT_LECUN_UNIFORM,
                                    3 * h, 3 * h));
        }
    return FV_OK;
}

/* Input i >= 1 (an initial state) must hold (D, units) or (D units) values per sample. */
static fv_status check_state(const fv_model *m, const fv_node *n, int i, int dirs)
{
    const fv_node *s = fv_input_node(m, n, i);
    int64_t want = (int64_t)dirs * attr_of(&n->a)->units;
    bool ok = s->size == want && (s->ndim == 1 || (s->ndim == 2 && s->dims[0] == dirs));
    if (ok)
        return FV_OK;
    char b[96];
    return fv_err(FV_ERR_SHAPE, "layer '%s': initial state %s '%s' %s must be (%d, %d) or (%lld) "
                  "(directions, units)", n->name, i == 1 ? "h0" : "c0", s->name,
                  fv_node_shape_str(s, b, sizeof b), dirs, attr_of(&n->a)->units,
                  (long long)want);
}

static fv_status rnn_infer(fv_model *m, fv_node *n)
{
    const rnn_attr *a = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    int dirs = a->dirs_two ? 2 : 1, gates = fv_rnn_gates(a->cell);
    char b[96];
    if (x->ndim != 2)
        return fv_err(FV_ERR_SHAPE, "layer '%s': a recurrent layer needs a sequence (steps, "
                      "features) input, got '%s' %s", n->name, x->name,
                      fv_node_shape_str(x, b, sizeof b));
    if (nstates(n) > (a->cell == FV_RNN_LSTM ? 2 : 1) || nstates(n) < 0)
        return fv_err(FV_ERR_INVALID, "layer '%s': %d inputs, but it takes x, h0%s%s", n->name,
                      n->nin, a->cell == FV_RNN_LSTM ? ", c0" : " (only the LSTM takes c0)",
                      a->lengths ? " and the lengths last" : "");
    if (a->lengths && fv_input_node(m, n, n->nin - 1)->size != 1)
        return fv_err(FV_ERR_SHAPE, "layer '%s': lengths '%s' %s must be one value per sample",
                      n->name, fv_input_node(m, n, n->nin - 1)->name,
                      fv_node_shape_str(fv_input_node(m, n, n->nin - 1), b, sizeof b));
    int64_t gh = (int64_t)gates * a->units;
    if (gh * (x->dims[1] > a->units ? x->dims[1] : a->units) > INT_MAX ||
        x->size * gh > INT_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': %d units over input '%s' %s is too large",
                      n->name, a->units, x->name, fv_node_shape_str(x, b, sizeof b));
    for (int i = 1; i <= nstates(n); i++)
        FV_TRY(check_state(m, n, i, dirs));
    n->ndim = a->sequences ? 2 : 1;
    n->dims[0] = a->sequences ? x->dims[0] : dirs * a->units;
    n->dims[1] = dirs * a->units;
    return declare_params(m, n, dirs, gh, x->dims[1], a->units);
}

static size_t rnn_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    fv_rnn_geom g = geom(m, n, batch);
    return sizeof(float) * (RNN_KERNEL_OFF + (size_t)fv_rnn_saved_count(&g));
}

/* The parameters (or their gradients) in the kernels' order. */
static void params_of(const fv_model *m, const fv_node *n, int grad, float **w)
{
    for (int i = 0; i < n->nparam; i++)
        w[i] = grad ? fv_pgrad(m, n, i) : fv_pdata(m, n, i);
}

static const float *state_in(const fv_model *m, const fv_node *n, int i)
{
    return nstates(n) >= i ? fv_input_node(m, n, i)->y : NULL;
}

static float *state_dy(fv_model *m, const fv_node *n, int i)
{
    return nstates(n) >= i ? fv_input_dy(m, n, i) : NULL;
}

/* Remembers the first length that is no whole number of steps in [1, T] (the kernel clamps
 * it), so the pass fails (rnn_check). */
static void note_bad_length(const fv_rnn_geom *g, rnn_bad *bad)
{
    bad->found = 0;
    for (int i = 0; g->len && i < g->n; i++) {
        float v = g->len[i];
        if (!(v >= 1 && v <= (float)g->t && v == floorf(v))) {
            *bad = (rnn_bad){.found = 1, .value = v, .sample = i};
            return;
        }
    }
}

static void rnn_forward(fv_model *m, fv_node *n, int batch)
{
    fv_rnn_geom g = geom(m, n, batch);
    float *w[8];
    params_of(m, n, 0, w);
    note_bad_length(&g, n->saved);
    fv_ref_rnn_fwd_f32(&g, (const float *const *)w, fv_input_node(m, n, 0)->y, state_in(m, n, 1),
                       state_in(m, n, 2), n->y, (float *)n->saved + RNN_KERNEL_OFF);
}

static fv_status rnn_check(const fv_model *m, const fv_node *n)
{
    const rnn_bad *bad = n->saved;
    if (!bad || !bad->found)
        return FV_OK;
    return fv_err(FV_ERR_INVALID, "layer '%s': sample %lld's length %g is not a whole number of "
                  "steps in [1, %lld]", n->name, (long long)bad->sample, (double)bad->value,
                  (long long)fv_input_node(m, n, 0)->dims[0]);
}

static void rnn_backward(fv_model *m, fv_node *n, int batch)
{
    fv_rnn_geom g = geom(m, n, batch);
    float *w[8], *dw[8];
    params_of(m, n, 0, w);
    params_of(m, n, 1, dw);
    fv_ref_rnn_bwd_f32(&g, (const float *const *)w, fv_input_node(m, n, 0)->y,
                       state_in(m, n, 1), state_in(m, n, 2), n->dy,
                       (float *)n->saved + RNN_KERNEL_OFF, fv_input_dy(m, n, 0),
                       state_dy(m, n, 1), state_dy(m, n, 2), dw);
}

/* ---------------------------------------------------------------- the layer */

/* The form sets the cell, except simple_rnn's, which nonlinearity= gives. */
static fv_status rnn_finish(const fv_spec *s, fv_attr *a, const char *layer)
{
    rnn_attr *r = (rnn_attr *)a->raw;
    (void)layer;
    if (s->form != FV_RNN_TANH)
        r->cell = s->form;
    return FV_OK;
}

static int rnn_form_of(const fv_node *n)
{
    int cell = attr_of(&n->a)->cell;
    return cell == FV_RNN_RELU ? FV_RNN_TANH : cell;
}

static const char *const nonlinearities[] = {"tanh", "relu", NULL};

static const fv_form rnn_forms[] = {
    {{"simple_rnn", "SimpleRNN", "RNN"}, "SimpleRNN", FV_RNN_TANH, NULL, NULL},
    {{"lstm", "LSTM"}, "LSTM", FV_RNN_LSTM, NULL, NULL},
    {{"gru", "GRU"}, "GRU", FV_RNN_GRU, NULL, NULL},
};
static const fv_field rnn_fields[] = {
    {.key = "units", .alias = "hidden_size", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = 1 << 16, .arg = FV_ARG(a.rnn.units), .attr = AT_RNN(units),
     .doc = "positive integer: hidden values per direction"},
    {.key = "bidirectional", .type = FV_FT_BOOL, .arg = FV_ARG(a.rnn.bidirectional),
     .attr = AT_RNN(dirs_two), .doc = "`true`: a second direction, from the last step to the "
     "first, its states concatenated after the first's"},
    {.key = "return_sequences", .type = FV_FT_BOOL, .arg = FV_ARG(a.rnn.return_sequences),
     .attr = AT_RNN(sequences), .doc = "`true`: every step's state (steps, D units); `false`: "
     "the last (D units)"},
    {.key = "nonlinearity", .type = FV_FT_CHOICE, .forms = FV_FORM(0), .words = nonlinearities,
     .arg = FV_ARG(a.rnn.cell), .attr = AT_RNN(cell), .doc = "`tanh` or `relu`",
     .def_doc = "`tanh`"},
    {.key = "lengths", .type = FV_FT_BOOL, .arg = FV_ARG(a.rnn.lengths),
     .attr = AT_RNN(lengths), .doc = "`true`: the last input holds each sample's length (one "
     "value); only its first steps run (PyTorch's `pack_padded_sequence`), the rest output zeros"},
};
static const fv_schema rnn_schema = {
    .op = FV_OP_RNN, .forms = rnn_forms, .nforms = 3, .fields = rnn_fields,
    .nfields = sizeof rnn_fields / sizeof rnn_fields[0], .min_in = 1, .max_in = 4,
    .finish = rnn_finish, .form_of = rnn_form_of,
};

const fv_op_def fv_op_rnn_def = {
    .name = "rnn", .kind = "RNN", .schema = &rnn_schema, .infer = rnn_infer,
    .saved_bytes = rnn_saved_bytes, .forward = rnn_forward, .backward = rnn_backward,
    .check = rnn_check,
};
