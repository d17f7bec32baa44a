/* test_ops_binary.c - the broadcasting arithmetic (fv_binary, fv_binary_const): finite-difference
 * gradient checks of the double kernels for every op and broadcast pattern, PyTorch goldens
 * through the engine (tests/golden/gen_binary.py), ties of max and min, the shapes it refuses
 * and their messages, the constant as a non-trainable parameter saved with the weights, the
 * text format, and results that do not depend on the thread count. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "kernels/ref/binary_ref.h"
#include "ops/ops.h"
#include "optest.h"
#include "test.h"
#include "testfs.h"

enum { N = 2 };

static const char *const op_names[] = {"add", "sub", "mul", "div", "pow", "max", "min"};

/* ---------------------------------------------------------------- gradient checks */

/* One broadcast pattern: a's and b's sample shapes, and whether each has a batch axis (a
 * constant has none). */
typedef struct pattern {
    const char *name;
    int na, nb;
    int64_t a[4], b[4];
    int a_batched, b_batched;
} pattern;

static const pattern patterns[] = {
    {"same shape", 3, 3, {3, 4, 5}, {3, 4, 5}, 1, 1},
    {"scalar", 3, 1, {3, 4, 5}, {1}, 1, 1},
    {"per channel", 3, 3, {3, 4, 5}, {3, 1, 1}, 1, 1},
    {"row", 3, 1, {3, 4, 5}, {5}, 1, 1},
    {"both broadcast", 3, 2, {3, 1, 5}, {4, 1}, 1, 1},
    {"first broadcast", 1, 3, {5}, {3, 4, 5}, 1, 1},
    {"constant per channel", 3, 3, {3, 4, 5}, {3, 1, 1}, 1, 0},
    {"constant first", 2, 3, {4, 1}, {3, 4, 5}, 0, 1},
    {"constant wider", 1, 2, {5}, {3, 1}, 1, 0},
};

/* The step of the central differences: L sums up to 120 outputs here, and at GC_H its rounding
 * noise (about eps |L| / h, 1e-9 absolute) reached 1.5e-6 relative where a broadcast operand's
 * gradient is a sum that nearly cancels; at 1e-5 the noise is 10 times less and the worst error
 * over every op and pattern is 9e-8 (truncation stays small for these operands). */
#define BIN_H 1e-5

typedef struct bin_ctx {
    fv_binary_geom g;
    double *a, *b;
} bin_ctx;

static void bin_fwd(void *ctx, double *y)
{
    bin_ctx *c = ctx;
    int64_t n = 1;
    for (int k = 0; k < c->g.ndim; k++)
        n *= c->g.dims[k];
    fv_ref_binary_fwd_f64(&c->g, c->a, c->b, y, 0, n);
}

static int64_t numel(int n, const int64_t *d)
{
    int64_t s = 1;
    for (int k = 0; k < n; k++)
        s *= d[k];
    return s;
}

/* Values of an operand: pow's bases in [0.5, 2], divisors in +-[0.5, 2], else [-2, 2]. */
static void operand(double *v, int64_t n, int op, int second, unsigned *seed)
{
    gc_fill(v, n, -2, 2, seed);
    for (int64_t i = 0; i < n; i++) {
        if (op == FV_BINARY_POW && !second)
            v[i] = 0.5 + fabs(v[i]) * 0.75;
        if (op == FV_BINARY_DIV && second)
            v[i] = (v[i] < 0 ? -0.5 : 0.5) + v[i] * 0.75;
    }
}

/* The largest relative error of the gradients of a and b for op under pattern p. */
static double pattern_gradcheck(int op, const pattern *p, unsigned *seed)
{
    int64_t yd[4], ya = numel(p->na, p->a), yb = numel(p->nb, p->b);
    int nd = fv_binary_broadcast(p->na, p->a, p->nb, p->b, yd);
    int64_t ny = N * numel(nd, yd), nas = (p->a_batched ? N : 1) * ya;
    int64_t nbs = (p->b_batched ? N : 1) * yb;
    bin_ctx c;
    fv_binary_geom_init(&c.g, op, N, nd, yd, p->na, p->a, p->a_batched, p->nb, p->b,
                        p->b_batched);
    CHECK(fv_binary_values(&c.g, 0) == nas && fv_binary_values(&c.g, 1) == nbs);
    double *a = malloc(sizeof(double) * (size_t)nas), *b = malloc(sizeof(double) * (size_t)nbs);
    double *y = malloc(sizeof(double) * (size_t)ny), *r = malloc(sizeof(double) * (size_t)ny);
    double *da = calloc((size_t)nas, sizeof(double)), *db = calloc((size_t)nbs, sizeof(double));
    operand(a, nas, op, 0, seed);
    operand(b, nbs, op, 1, seed);
    gc_fill(r, ny, -1, 1, seed);
    c.a = a, c.b = b;
    bin_fwd(&c, y);
    fv_ref_binary_bwd_f64(&c.g, 0, a, b, y, r, da, 0, nas);
    fv_ref_binary_bwd_f64(&c.g, 1, a, b, y, r, db, 0, nbs);
    double ea = gc_compare(&c, bin_fwd, a, nas, ny, r, da, BIN_H);
    double eb = gc_compare(&c, bin_fwd, b, nbs, ny, r, db, BIN_H);
    free(a), free(b), free(y), free(r), free(da), free(db);
    return ea > eb ? ea : eb;
}

TEST(binary_gradcheck)
{
    unsigned seed = 19;
    for (int op = 0; op < FV_BINARY__COUNT; op++)
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
            double err = pattern_gradcheck(op, &patterns[i], &seed);
            if (err > GC_TOL)
                fprintf(stderr, "  %s, %s: %g\n", op_names[op], patterns[i].name, err);
            CHECK(err <= GC_TOL);
        }
}

/* The geometry merges what steps alike: (2, 3, 4, 5) * (3, 1, 1) is (6, 20) with b stepping
 * once per row, and equal shapes one run. */
TEST(binary_geometry)
{
    fv_binary_geom g;
    fv_binary_geom_init(&g, FV_BINARY_MUL, 2, 3, (int64_t[]){3, 4, 5}, 3, (int64_t[]){3, 4, 5},
                        1, 3, (int64_t[]){3, 1, 1}, 1);
    CHECK(g.ndim == 2 && g.dims[0] == 6 && g.dims[1] == 20 && g.sb[0] == 1 && g.sb[1] == 0);
    fv_binary_geom_init(&g, FV_BINARY_ADD, 2, 3, (int64_t[]){3, 4, 5}, 3, (int64_t[]){3, 4, 5},
                        1, 3, (int64_t[]){3, 4, 5}, 1);
    CHECK(g.ndim == 1 && g.dims[0] == 120 && g.sa[0] == 1 && g.sb[0] == 1);
    fv_binary_geom_init(&g, FV_BINARY_ADD, 1, 1, (int64_t[]){1}, 1, (int64_t[]){1}, 1, 1,
                        (int64_t[]){1}, 0);
    CHECK(g.ndim == 1 && g.dims[0] == 1);
    int64_t out[4];
    CHECK(fv_binary_broadcast(3, (int64_t[]){3, 1, 5}, 2, (int64_t[]){4, 1}, out) == 3 &&
          out[0] == 3 && out[1] == 4 && out[2] == 5);
    CHECK(fv_binary_broadcast(2, (int64_t[]){3, 4}, 1, (int64_t[]){3}, out) == -1);
}

/* ---------------------------------------------------------------- PyTorch goldens */

static const struct {
    const char *name;
    int op, na, nb;
    int64_t a[4], b[4];
} two_cases[] = {
    {"binary_mul_scalar", FV_BINARY_MUL, 3, 1, {3, 4, 5}, {1}},
    {"binary_div_scalar", FV_BINARY_DIV, 3, 1, {3, 4, 5}, {1}},
    {"binary_add_channel", FV_BINARY_ADD, 3, 3, {3, 4, 5}, {3, 1, 1}},
    {"binary_pow_channel", FV_BINARY_POW, 3, 3, {3, 4, 5}, {3, 1, 1}},
    {"binary_sub_row", FV_BINARY_SUB, 3, 1, {3, 4, 5}, {5}},
    {"binary_max_row", FV_BINARY_MAX, 3, 1, {3, 4, 5}, {5}},
    {"binary_mul_both", FV_BINARY_MUL, 3, 2, {3, 1, 5}, {4, 1}},
    {"binary_div_both", FV_BINARY_DIV, 3, 2, {3, 1, 5}, {4, 1}},
    {"binary_min_both", FV_BINARY_MIN, 3, 2, {3, 1, 5}, {4, 1}},
    {"binary_sub_first", FV_BINARY_SUB, 1, 3, {5}, {3, 4, 5}},
    {"binary_pow_first", FV_BINARY_POW, 2, 3, {4, 1}, {3, 1, 5}},
};

/* y, da and db of `name` (a OP b of two input nodes) through the engine. */
static void golden_two(const char *name, int op, int na, const int64_t *a_dims, int nb,
                       const int64_t *b_dims)
{
    fv_st_file *f = ot_open_golden(name);
    if (!f)
        return;
    fv_tensor *a = fv_st_get(f, "a"), *b = fv_st_get(f, "b"), *y = fv_st_get(f, "y");
    fv_tensor *dy = fv_st_get(f, "dy"), *da = fv_st_get(f, "da"), *db = fv_st_get(f, "db");
    fv_model *m = fv_model_new("two");
    fv_input_args ia = {.ndim = na}, ib = {.ndim = nb, .name = "b"};
    memcpy(ia.dims, a_dims, sizeof(int64_t) * (size_t)na);
    memcpy(ib.dims, b_dims, sizeof(int64_t) * (size_t)nb);
    int xa = fv_input_(m, ia), xb = fv_input_(m, ib);
    int out = fv_binary(m, xa, xb, (fv_binary_op)op, .name = "bin");
    CHECK(a && b && y && dy && da && db && out > 0);
    m->input_grad = 1;
    if (out > 0 && a && b && y && dy && da && db &&
        fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out) == FV_OK &&
        fv_graph_plan_ex(m, N, 0) == FV_OK) { /* private dy buffers: b's too */
        m->nodes[xb].needs_grad = 1;
        memcpy(m->nodes[xa].y, a->data, sizeof(float) * (size_t)fv_tensor_numel(a));
        memcpy(m->nodes[xb].y, b->data, sizeof(float) * (size_t)fv_tensor_numel(b));
        fv_graph_forward(m, N, out);
        fv_graph_zero_grads(m, N);
        memcpy(m->nodes[out].dy, dy->data, sizeof(float) * (size_t)fv_tensor_numel(dy));
        fv_graph_run_backward(m, N);
        CHECK(fv_tensor_numel(y) == N * m->nodes[out].size);
        CHECK_ARRAY_NEAR(m->nodes[out].y, y->data, fv_tensor_numel(y), 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(m->nodes[xa].dy, da->data, fv_tensor_numel(da), 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(m->nodes[xb].dy, db->data, fv_tensor_numel(db), 1e-6, 1e-5);
    }
    fv_tensor_free(a), fv_tensor_free(b), fv_tensor_free(y);
    fv_tensor_free(dy), fv_tensor_free(da), fv_tensor_free(db);
    fv_st_close(f);
    fv_model_free(m);
}

/* x OP c (c OP x) of golden `name`, the constant given to fv_binary_const from the file. */
static void golden_const(const char *name, int op, int nx, const int64_t *x_dims, int first)
{
    fv_st_file *f = ot_open_golden(name);
    fv_tensor *c = f ? fv_st_get(f, "bin.constant") : NULL;
    CHECK(c != NULL);
    if (c) {
        fv_model *m = fv_model_new("const");
        fv_input_args ix = {.ndim = nx};
        memcpy(ix.dims, x_dims, sizeof(int64_t) * (size_t)nx);
        int in = fv_input_(m, ix);
        int out = fv_binary_const(m, in, (fv_binary_op)op, c->ndim, c->dims, c->data, first,
                                  .name = "bin");
        ot_golden_layer(m, in, out, name, 1e-6, 1e-5);
    }
    fv_tensor_free(c);
    fv_st_close(f);
}

TEST(binary_matches_pytorch)
{
    for (int op = 0; op < FV_BINARY__COUNT; op++) {
        char name[64];
        snprintf(name, sizeof name, "binary_%s_same", op_names[op]);
        golden_two(name, op, 3, (int64_t[]){3, 4, 5}, 3, (int64_t[]){3, 4, 5});
        snprintf(name, sizeof name, "binary_const_%s", op_names[op]);
        golden_const(name, op, 3, (int64_t[]){3, 4, 5}, 0);
    }
    for (size_t i = 0; i < sizeof two_cases / sizeof two_cases[0]; i++)
        golden_two(two_cases[i].name, two_cases[i].op, two_cases[i].na, two_cases[i].a,
                   two_cases[i].nb, two_cases[i].b);
    golden_const("binary_const_sub_first", FV_BINARY_SUB, 3, (int64_t[]){3, 4, 5}, 1);
    golden_const("binary_const_div_first", FV_BINARY_DIV, 3, (int64_t[]){3, 4, 5}, 1);
    golden_const("binary_const_pow_first", FV_BINARY_POW, 3, (int64_t[]){3, 4, 5}, 1);
    golden_const("binary_const_mul_wide", FV_BINARY_MUL, 1, (int64_t[]){5}, 0);
}

/* ---------------------------------------------------------------- semantics */

/* x * x and max(x, x): one node as both operands gets both gradients; a tie halves them. */
TEST(binary_same_node_and_ties)
{
    fv_model *m = fv_model_new("self");
    int in = fv_input(m, .ndim = 1, .dims = {4});
    int sq = fv_binary(m, in, in, FV_BINARY_MUL);
    int mx = fv_binary(m, in, in, FV_BINARY_MAX);
    int out = fv_binary(m, sq, mx, FV_BINARY_ADD);
    CHECK(out > 0);
    m->input_grad = 1;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out), FV_OK);
    CHECK_STATUS(fv_graph_plan(m, 1), FV_OK);
    const float x[4] = {-2, 0.5f, 3, -0.25f};
    memcpy(m->nodes[in].y, x, sizeof x);
    fv_graph_forward(m, 1, out);
    fv_graph_zero_grads(m, 1);
    for (int i = 0; i < 4; i++)
        m->nodes[out].dy[i] = 1;
    fv_graph_run_backward(m, 1);
    for (int i = 0; i < 4; i++) { /* d(x^2 + max(x, x)) = 2x + 1/2 + 1/2 */
        CHECK(m->nodes[out].y[i] == x[i] * x[i] + x[i]);
        CHECK(m->nodes[in].dy[i] == 2 * x[i] + 1);
    }
    fv_model_free(m);
}

/* max and min propagate NaN, as torch.maximum does; pow's gradients at a base of 0. */
TEST(binary_nan_and_zero_base)
{
    fv_binary_geom g;
    fv_binary_geom_init(&g, FV_BINARY_MAX, 1, 1, (int64_t[]){3}, 1, (int64_t[]){3}, 1, 1,
                        (int64_t[]){3}, 1);
    float a[3] = {NAN, 1, 2}, b[3] = {1, NAN, 2}, y[3], dy[3] = {1, 1, 1}, da[3] = {0}, db[3] = {0};
    fv_ref_binary_fwd_f32(&g, a, b, y, 0, 3);
    CHECK(isnan(y[0]) && isnan(y[1]) && y[2] == 2);
    g.op = FV_BINARY_MIN;
    fv_ref_binary_fwd_f32(&g, a, b, y, 0, 3);
    CHECK(isnan(y[0]) && isnan(y[1]) && y[2] == 2);
    /* pow: 0^2 = 0 (da 2 0 = 0, db 0), 0^0 = 1 (da 0, db 0), 2^0 = 1 (da 0, db ln 2) */
    g.op = FV_BINARY_POW;
    float pa[3] = {0, 0, 2}, pb[3] = {2, 0, 0};
    fv_ref_binary_fwd_f32(&g, pa, pb, y, 0, 3);
    CHECK(y[0] == 0 && y[1] == 1 && y[2] == 1);
    fv_ref_binary_bwd_f32(&g, 0, pa, pb, y, dy, da, 0, 3);
    fv_ref_binary_bwd_f32(&g, 1, pa, pb, y, dy, db, 0, 3);
    CHECK(da[0] == 0 && da[1] == 0 && da[2] == 0);
    CHECK(db[0] == 0 && db[1] == 0 && db[2] == (float)log(2.0));
}

/* ---------------------------------------------------------------- errors */

TEST(binary_shape_errors)
{
    fv_model *m = fv_model_new("bad");
    int x = fv_input(m, .ndim = 3, .dims = {3, 4, 5});
    int r = fv_reshape(m, x, .ndim = 2, .dims = {4, 15});
    CHECK(fv_binary(m, x, r, FV_BINARY_ADD, .name = "sum") < 0);
    CHECK(fv_last_status() == FV_ERR_SHAPE);
    CHECK_ERR_HAS("layer 'sum'");
    CHECK_ERR_HAS("'input1' (None, 3, 4, 5)");
    CHECK_ERR_HAS("'reshape1' (None, 4, 15)");
    fv_model_free(m);

    m = fv_model_new("bad");
    x = fv_input(m, .ndim = 3, .dims = {3, 4, 5});
    const float two[2] = {1, 2};
    CHECK(fv_binary_const(m, x, FV_BINARY_MUL, 2, ((int64_t[]){2, 1}), two, 0, .name = "k") < 0);
    CHECK_ERR_HAS("layer 'k'");
    CHECK_ERR_HAS("(None, 3, 4, 5)");
    CHECK_ERR_HAS("the constant (2, 1)");
    fv_model_free(m);

    m = fv_model_new("bad");
    x = fv_input(m, .ndim = 1, .dims = {2});
    CHECK(fv_binary(m, x, x, (fv_binary_op)7) < 0);
    CHECK_ERR_HAS("op=7");
    CHECK(fv_binary_const(m, x, FV_BINARY_ADD, 5, ((int64_t[]){1, 1, 1, 1, 2}), two, 0) < 0);
    CHECK_ERR_HAS("0 to 4 axes");
    CHECK(fv_binary_const(m, x, FV_BINARY_ADD, 1, (int64_t[]){2}, NULL, 0) < 0);
    CHECK_ERR_HAS("no values");
    CHECK(fv_binary_const(m, x, FV_BINARY_ADD, 1, (int64_t[]){0}, two, 0) < 0);
    CHECK_ERR_HAS("extent 0");
    const float nan2[2] = {1, NAN};
    CHECK(fv_binary_const(m, x, FV_BINARY_ADD, 1, (int64_t[]){2}, nan2, 0, .name = "n") < 0);
    CHECK(fv_last_status() == FV_ERR_NUMERIC);
    CHECK_ERR_HAS("layer 'n': constant value 1 is nan");
    fv_model_free(m);

    /* the first failure is what a chain and compile report */
    m = fv_model_new("chain");
    x = fv_input(m, .ndim = 1, .dims = {3});
    int bad = fv_binary_const(m, x, FV_BINARY_ADD, 1, (int64_t[]){2}, two, 0, .name = "first");
    CHECK(bad < 0 && fv_binary_scalar(m, bad, FV_BINARY_MUL, 2.0f) < 0);
    CHECK_ERR_HAS("layer 'first'");
    CHECK(fv_model_compile(m) != FV_OK);
    CHECK_ERR_HAS("layer 'first'");
    fv_model_free(m);
}

TEST(binary_text_errors)
{
    static const ot_refusal bad[] = {
        {"binary constant=3", "op"},
        {"binary op=mod constant=3", "expected add, sub, mul, div, pow, max or min"},
        {"binary op=mul", "needs a second input"},
        {"binary op=mul value=2", "need a constant"},
        {"binary op=mul const_first=true", "need a constant"},
        {"binary op=add constant=2", "cannot broadcast"},
        {"binary op=add constant=3 inputs=x,x", "two inputs and a constant"},
        {"binary op=add inputs=x,x,x", "takes 2 inputs"},
        {"binary op=add constant=3 value=inf", "value=inf"},
    };
    OT_PARSE_REFUSED("input shape=3 name=x\n", "bad.fv", "bad.fv:2: ", bad);
}

/* ---------------------------------------------------------------- the constant, text, weights */

/* A model with every form: x (2, 3) - c (per row), max(that, x), (1 / that) ^ 2 with value=. */
static fv_model *forms_model(void)
{
    fv_model *m = fv_model_new("forms");
    int x = fv_input(m, .ndim = 2, .dims = {2, 3});
    int c = fv_binary_const(m, x, FV_BINARY_SUB, 2, ((int64_t[]){2, 1}),
                            ((const float[]){0.5f, -1}), 0, .name = "centre");
    int mx = fv_binary(m, c, x, FV_BINARY_MAX, .name = "mx");
    int inv = fv_binary_const(m, mx, FV_BINARY_DIV, 0, NULL, ((const float[]){1}), 1,
                              .name = "inv");
    int sq = fv_binary_scalar(m, inv, FV_BINARY_POW, 2.0f, .name = "sq");
    int out = fv_binary(m, sq, x, FV_BINARY_MIN, .name = "out");
    if (out < 0) {
        fprintf(stderr, "forms_model: %s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static fv_tensor *predict(fv_model *m, const float *x)
{
    fv_tensor *in = fv_tensor_new(3, (int64_t[]){N, 2, 3}), *out = NULL;
    memcpy(in->data, x, sizeof(float) * N * 6);
    CHECK_STATUS(fv_model_predict(m, in, &out), FV_OK);
    fv_tensor_free(in);
    return out;
}

TEST(binary_text_and_weights)
{
    const float x[N * 6] = {1, 2, 3, -1.5f, 0.25f, 4, 0.5f, -3, 2, 1.5f, -0.5f, 3};
    fv_model *m = forms_model();
    CHECK(m != NULL);
    if (!m)
        return;
    char *text = fv_model_to_text(m);
    CHECK(text != NULL);
    CHECK(text && strstr(text, "binary op=sub constant=2,1 name=centre\n"));
    CHECK(text && strstr(text, "binary op=max name=mx inputs=centre,input1\n"));
    CHECK(text && strstr(text, "binary op=div constant=1 const_first=true value=1 name=inv\n"));
    CHECK(text && strstr(text, "binary op=pow constant=1 value=2 name=sq\n"));
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd(.lr = 0.5f)),
                 FV_OK);
    /* the constant: a non-trainable parameter with the values given */
    fv_param_info p;
    int found = 0;
    for (int i = 0; i < fv_model_num_params(m); i++)
        if (fv_model_param(m, i, &p) == FV_OK && strcmp(p.name, "centre.constant") == 0) {
            found = 1;
            CHECK(!p.trainable && p.grad == NULL && p.ndim == 2 && p.numel == 2);
            CHECK(p.data[0] == 0.5f && p.data[1] == -1);
        }
    CHECK(found);
    int64_t total, trainable;
    fv_model_count_params(m, &total, &trainable, NULL);
    CHECK(total == 4 && trainable == 0);
    int first = -1;
    CHECK(fv_binary_of(&m->nodes[fv_model_find_node(m, "inv")], &first) == FV_BINARY_DIV &&
          first == 1);
    CHECK(fv_binary_of(&m->nodes[fv_model_find_node(m, "mx")], &first) == FV_BINARY_MAX &&
          first == 0);
    fv_tensor *y1 = predict(m, x);
    /* the text alone: the uniform constants come back, centre's are zeros until loaded */
    fv_model *m2 = text ? fv_model_parse(text, "forms.fv") : NULL;
    CHECK(m2 != NULL);
    CHECK(m2 && fv_model_compile(m2) == FV_OK);
    CHECK_STATUS(fv_model_save_weights(m, t_path("forms.safetensors")), FV_OK);
    CHECK(m2 && fv_model_load_weights(m2, t_path("forms.safetensors")) == FV_OK);
    fv_tensor *y2 = m2 ? predict(m2, x) : NULL;
    CHECK(y1 && y2 && memcmp(y1->data, y2->data, sizeof(float) * N * 6) == 0);
    /* and the weights file alone (its architecture) */
    fv_model *m3 = fv_model_from_weights(t_path("forms.safetensors"));
    CHECK(m3 != NULL);
    fv_tensor *y3 = m3 ? predict(m3, x) : NULL;
    CHECK(y1 && y3 && memcmp(y1->data, y3->data, sizeof(float) * N * 6) == 0);
    for (int i = 0; i < N * 6; i++) { /* min(((1 / max(x - c, x))^2, x) by hand */
        double c = i % 6 < 3 ? 0.5 : -1, t = fmax(x[i] - c, x[i]);
        CHECK_NEAR(y1->data[i], fmin(pow(1 / t, 2), x[i]), 1e-6, 1e-6);
    }
    /* training leaves the constants as they are */
    float target[N * 6] = {0};
    double loss;
    CHECK_STATUS(fv_model_train_batch(m, x, target, N, &loss, NULL), FV_OK);
    for (int i = 0; i < fv_model_num_params(m); i++)
        if (fv_model_param(m, i, &p) == FV_OK && strcmp(p.name, "centre.constant") == 0)
            CHECK(p.data[0] == 0.5f && p.data[1] == -1);
    free(text);
    fv_tensor_free(y1), fv_tensor_free(y2), fv_tensor_free(y3);
    fv_model_free(m), fv_model_free(m2), fv_model_free(m3);
}

/* fv_layer_text's spelling, and the summary's types. */
TEST(binary_layer_text_and_summary)
{
    fv_model *m = fv_model_new("t");
    int x = fv_input(m, .ndim = 3, .dims = {3, 2, 2}, .name = "img");
    int g = fv_layer_text(m, x, "binary op=mul constant=3,1,1 value=0.5 name=gate");
    int y = fv_layer_text(m, g, "Binary op=MAX inputs=img,gate name=top");
    CHECK(g > 0 && y > 0);
    char *buf = ot_summary(m);
    CHECK(buf && strstr(buf, "gate (Multiply)") && strstr(buf, "top (Maximum)"));
    free(buf);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- threads */

/* A product of (64, 24, 24) by (64, 1, 1), large enough to split: forward and both gradients
 * are the same bits at 1 and 2 threads, and match the double kernels. */
TEST(binary_threads)
{
    enum { B = 3, C = 64, S = 24 * 24 };
    fv_model *m = fv_model_new("big");
    int x = fv_input(m, .ndim = 3, .dims = {C, 24, 24});
    int gate = fv_global_avgpool2d(m, x);
    int g = fv_reshape(m, gate, .ndim = 3, .dims = {C, 1, 1});
    int out = fv_binary(m, x, g, FV_BINARY_MUL);
    m->input_grad = 1;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out), FV_OK);
    float *keep[2] = {malloc(sizeof(float) * B * C * S), malloc(sizeof(float) * B * C * S)};
    float *dkeep[2] = {malloc(sizeof(float) * B * C * S), malloc(sizeof(float) * B * C * S)};
    unsigned seed = 3;
    double *v = malloc(sizeof(double) * B * C * S);
    gc_fill(v, B * C * S, -1, 1, &seed);
    for (int t = 0; t < 2; t++) {
        fv_set_num_threads(t + 1);
        CHECK_STATUS(fv_graph_plan(m, B), FV_OK);
        for (int i = 0; i < B * C * S; i++)
            m->nodes[x].y[i] = (float)v[i];
        fv_graph_forward(m, B, out);
        fv_graph_zero_grads(m, B);
        for (int i = 0; i < B * C * S; i++)
            m->nodes[out].dy[i] = (float)v[(i * 7) % (B * C * S)];
        fv_graph_run_backward(m, B);
        memcpy(keep[t], m->nodes[out].y, sizeof(float) * B * C * S);
        memcpy(dkeep[t], m->nodes[x].dy, sizeof(float) * B * C * S);
    }
    fv_set_num_threads(0);
    CHECK(memcmp(keep[0], keep[1], sizeof(float) * B * C * S) == 0);
    CHECK(memcmp(dkeep[0], dkeep[1], sizeof(float) * B * C * S) == 0);
    /* y = x mean(x) per channel: dx = dy mean + sum(dy x) / S */
    for (int bc = 0; bc < B * C; bc += 37) {
        double mean = 0, dot = 0;
        for (int s = 0; s < S; s++)
            mean += (float)v[bc * S + s];
        mean /= S;
        for (int s = 0; s < S; s++)
            dot += (float)v[((bc * S + s) * 7) % (B * C * S)] * (float)v[bc * S + s];
        int i = bc * S + 5;
        CHECK_NEAR(keep[0][i], (float)v[i] * mean, 1e-6, 1e-5);
        CHECK_NEAR(dkeep[0][i], (float)v[(i * 7) % (B * C * S)] * mean + dot / S, 1e-5, 1e-4);
    }
    free(keep[0]), free(keep[1]), free(dkeep[0]), free(dkeep[1]), free(v);
    fv_model_free(m);
}

T_MAIN_SCRATCH("/tmp/fovea_binary_XXXXXX", T_TEST(binary_gradcheck), T_TEST(binary_geometry),
               T_TEST(binary_matches_pytorch), T_TEST(binary_same_node_and_ties),
               T_TEST(binary_nan_and_zero_base), T_TEST(binary_shape_errors),
               T_TEST(binary_text_errors), T_TEST(binary_text_and_weights),
               T_TEST(binary_layer_text_and_summary), T_TEST(binary_threads))
