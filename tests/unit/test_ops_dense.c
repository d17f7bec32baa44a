/* test_ops_dense.c - the dense kernels and op: finite-difference gradient checks of the double
 * dense layer (the op's algorithm on the reference GEMM), known values, PyTorch goldens
 * (tests/golden/gen_conv_dense.py) through the float op in a graph (flattened image input
 * included), gradient accumulation, skipped gradients, parameters and infer errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "kernels/ref/gemm_ref.h"
#include "ops/ops.h"
#include "optest.h"
#include "test.h"

/* ---------------------------------------------------------------- double kernels */

/* The output is linear in each of x, w and b, so central differences have no truncation error at
 * any step; a larger step than GC_H only shrinks the round-off of (L+ - L-) / 2h. */
#define GC_LINEAR_H 1e-3

typedef struct dense_ctx {
    double *x, *w, *b;
    int n, k, units;
} dense_ctx;

static void dense_fwd(void *ctx, double *y)
{
    dense_ctx *c = ctx;
    fv_dense_fwd_f64(c->x, c->w, c->b, y, c->n, c->k, c->units);
}

static double dense_gradcheck(int n, int k, int units, int bias, unsigned *seed)
{
    long nx = (long)n * k, nw = (long)units * k, ny = (long)n * units;
    double *x = calloc((size_t)nx, sizeof(double)), *dx = calloc((size_t)nx, sizeof(double));
    double *w = calloc((size_t)nw, sizeof(double)), *dw = calloc((size_t)nw, sizeof(double));
    double *b = calloc((size_t)units, sizeof(double)), *db = calloc((size_t)units, sizeof(double));
    double *r = calloc((size_t)ny, sizeof(double));
    gc_fill(x, nx, -1, 1, seed), gc_fill(w, nw, -1, 1, seed), gc_fill(b, units, -1, 1, seed);
    gc_fill(r, ny, -1, 1, seed);
    fv_dense_bwd_f64(x, w, r, dx, dw, bias ? db : NULL, n, k, units);
    dense_ctx c = {x, w, bias ? b : NULL, n, k, units};
    double e = gc_compare(&c, dense_fwd, x, nx, ny, r, dx, GC_LINEAR_H);
    double ew = gc_compare(&c, dense_fwd, w, nw, ny, r, dw, GC_LINEAR_H);
    e = ew > e ? ew : e;
    if (bias) {
        double eb = gc_compare(&c, dense_fwd, b, units, ny, r, db, GC_LINEAR_H);
        e = eb > e ? eb : e;
    }
    free(x), free(dx), free(w), free(dw), free(b), free(db), free(r);
    return e;
}

TEST(test_gradcheck)
{
    static const int cfg[][4] = {
        {1, 1, 1, 1}, {1, 5, 3, 1}, {3, 4, 2, 1}, {3, 12, 7, 0}, {2, 1, 6, 1}, {5, 9, 1, 0},
        {4, 33, 10, 1},
    };
    unsigned seed = 41;
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        double err = dense_gradcheck(cfg[i][0], cfg[i][1], cfg[i][2], cfg[i][3], &seed);
        if (err > GC_TOL)
            fprintf(stderr, "  n=%d k=%d units=%d bias=%d: %g\n", cfg[i][0], cfg[i][1], cfg[i][2],
                    cfg[i][3], err);
        CHECK(err <= GC_TOL);
    }
}

TEST(test_known_values)
{
    /* x = [1 2; 3 4], W = [1 0; 0 1; 1 1], b = [0.5 -1 0] */
    float x[4] = {1, 2, 3, 4}, w[6] = {1, 0, 0, 1, 1, 1}, b[3] = {0.5f, -1, 0}, y[6];
    fv_dense_fwd_f32(x, w, b, y, 2, 2, 3);
    const float want[6] = {1.5f, 1, 3, 3.5f, 3, 7};
    for (int i = 0; i < 6; i++)
        CHECK(y[i] == want[i]);
    /* backward accumulates onto 1s: dy = ones */
    float dy[6] = {1, 1, 1, 1, 1, 1}, dx[4] = {1, 1, 1, 1}, dw[6] = {1, 1, 1, 1, 1, 1};
    float db[3] = {1, 1, 1};
    fv_dense_bwd_f32(x, w, dy, dx, dw, db, 2, 2, 3);
    /* dx = 1 + dy W = 1 + [2 2] per row; dW = 1 + dy^T x = 1 + [4 6] per row; db = 1 + 2 */
    for (int i = 0; i < 4; i++)
        CHECK(dx[i] == 3);
    for (int u = 0; u < 3; u++)
        CHECK(dw[2 * u] == 5 && dw[2 * u + 1] == 7 && db[u] == 3);
    fv_dense_bwd_f32(x, w, dy, NULL, NULL, NULL, 2, 2, 3); /* nothing wanted */
}

/* ---------------------------------------------------------------- the float op in a graph */

/* Mirrors DENSE_CASES in tests/golden/gen_conv_dense.py. */
typedef struct dense_case {
    const char *name;
    int ndim;
    int64_t dims[3];
    int units, bias;
} dense_case;

static const dense_case cases[] = {
    {"dense_basic", 1, {7}, 5, 1},
    {"dense_image", 3, {2, 3, 2}, 4, 1},
    {"dense_nobias", 1, {9}, 3, 0},
};

TEST(test_golden)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dense_case *k = &cases[i];
        fv_model *m = fv_model_new("densetest");
        int x = fv_input(m, .ndim = k->ndim, .dims = {k->dims[0], k->dims[1], k->dims[2]});
        int y = fv_dense(m, x, .units = k->units, .no_bias = !k->bias, .name = "fc");
        int failed_before = t_cur_failed;
        t_cur_failed = 0;
        CHECK(x == 0 && y == 1);
        if (y == 1)
            ot_golden(m, x, y, k->name, 1e-5, 1e-4);
        if (t_cur_failed)
            fprintf(stderr, "  case %s\n", k->name);
        t_cur_failed |= failed_before;
        fv_model_free(m);
    }
}

static void fill_f(float *v, long n, unsigned *seed)
{
    for (long i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = (float)((*seed >> 8) % 2000) / 1000.0f - 1.0f;
    }
}

/* Backward accumulates; without the input gradient only the parameters get gradients; a smaller
 * batch than planned computes the first samples. */
TEST(test_accumulate_and_skip)
{
    fv_model *m = fv_model_new("acc");
    int x = fv_input(m, .ndim = 2, .dims = {3, 5});
    int y = fv_dense(m, x, .units = 6, .name = "fc");
    CHECK(y == 1);
    if (y != 1) {
        fv_model_free(m);
        return;
    }
    int n = 4;
    long nx = n * 15, ny = n * 6, np;
    float xv[60], dy[24], y1[24], dx1[60];
    unsigned seed = 43;
    fill_f(xv, nx, &seed), fill_f(dy, ny, &seed);
    CHECK(ot_run(m, x, y, NULL, n, xv, dy) == 0);
    np = m->trainable_total;
    CHECK(np == 6 * 15 + 6);
    float *g1 = malloc(sizeof(float) * (size_t)np);
    memcpy(y1, m->nodes[y].y, sizeof y1);
    memcpy(dx1, m->nodes[x].dy, sizeof dx1);
    memcpy(g1, m->grad_slab, sizeof(float) * (size_t)np);
    fv_op_dense_def.backward(m, &m->nodes[y], n);
    for (long i = 0; i < nx; i++)
        CHECK_NEAR(m->nodes[x].dy[i], 2 * dx1[i], 1e-6, 1e-6);
    for (long i = 0; i < np; i++)
        CHECK_NEAR(m->grad_slab[i], 2 * g1[i], 1e-6, 1e-6);
    /* the input needs no gradient: its dy is left alone, parameter gradients still come */
    m->input_grad = 0;
    CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
    CHECK(!m->nodes[x].needs_grad && m->nodes[y].needs_grad);
    fv_graph_zero_grads(m, n);
    for (long i = 0; i < nx; i++)
        m->nodes[x].dy[i] = 7;
    memcpy(m->nodes[y].dy, dy, sizeof dy);
    fv_graph_run_backward(m, n);
    for (long i = 0; i < nx; i++)
        CHECK(m->nodes[x].dy[i] == 7);
    CHECK_ARRAY_NEAR(m->grad_slab, g1, np, 1e-6, 1e-6);
    /* one sample */
    memset(m->nodes[y].y, 0, sizeof y1);
    fv_graph_forward(m, 1, y);
    CHECK_ARRAY_NEAR(m->nodes[y].y, y1, 6, 1e-6, 1e-6);
    CHECK(m->nodes[y].y[6] == 0);
    free(g1);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- definition, params, errors */

TEST(test_op_def_and_params)
{
    ot_op_def_is(FV_OP_DENSE, &fv_op_dense_def, "dense", "Dense");
    fv_model *m = fv_model_new("p");
    int x = fv_input(m, .ndim = 3, .dims = {2, 4, 5});
    int d = fv_dense(m, x, .units = 7, .name = "fc1");
    if (!ot_node_is(m, d, 1))
        return;
    int64_t dims[4];
    CHECK(fv_node_shape(m, d, dims) == 1 && dims[0] == 7);
    CHECK(m->nodes[d].nparam == 2);
    const fv_param *w = &m->params[m->nodes[d].param[0]], *b = &m->params[m->nodes[d].param[1]];
    CHECK(strcmp(w->name, "fc1.weight") == 0 && w->ndim == 2 && w->dims[0] == 7 &&
          w->dims[1] == 40);
    CHECK(w->trainable && w->init == FV_INIT_GLOROT_UNIFORM && w->fan_in == 40 &&
          w->fan_out == 7);
    CHECK(strcmp(b->name, "fc1.bias") == 0 && b->ndim == 1 && b->dims[0] == 7);
    CHECK(b->trainable && b->init == FV_INIT_ZEROS);
    int e = fv_dense(m, d, .units = 3, .no_bias = 1);
    CHECK(e == 2 && m->nodes[e].nparam == 1 && m->nparams == 3);
    fv_model_free(m);
}

TEST(test_infer_errors)
{
    fv_model *m = fv_model_new("e");
    int x = fv_input(m, .ndim = 1, .dims = {10});
    fv_attr a;
    memset(&a, 0, sizeof a);
    a.dense.units = 0;
    CHECK(fv_graph_add(m, FV_OP_DENSE, 1, &x, &a, "baddense") < 0);
    CHECK_ERR_HAS("baddense");
    CHECK_ERR_HAS("units=0");
    a.dense.units = -3;
    CHECK(fv_graph_add(m, FV_OP_DENSE, 1, &x, &a, "neg") < 0);
    CHECK_ERR_HAS("units=-3");
    CHECK(m->nnodes == 1 && m->nparams == 0);
    /* a weight matrix beyond int indexing */
    fv_model *big = fv_model_new("big");
    int bx = fv_input(big, .ndim = 2, .dims = {1 << 16, 1 << 10});
    CHECK(fv_dense(big, bx, .units = 64, .name = "huge") < 0);
    CHECK_ERR_HAS("huge");
    CHECK_ERR_HAS("(None, 65536, 1024)");
    CHECK(big->nnodes == 1 && big->nparams == 0);
    fv_model_free(big);
    fv_model_free(m);
}

int main(void)
{
    RUN(test_gradcheck);
    RUN(test_known_values);
    RUN(test_golden);
    RUN(test_accumulate_and_skip);
    RUN(test_op_def_and_params);
    RUN(test_infer_errors);
    TEST_MAIN_END();
}
