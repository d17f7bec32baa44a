/* test_ops_loss.c - the loss kernels and ops: finite-difference gradient checks of the double
 * kernels, PyTorch goldens (tests/golden/gen_loss_optim.py) through the float kernels and through
 * a small graph, numerical stability, target validation and shape errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "io/io.h"
#include "kernels/ref/loss_ref.h"
#include "ops/ops.h"
#include "test.h"

/* ---------------------------------------------------------------- gradient checks (double) */

typedef struct ce_ctx {
    const double *x, *t;
    double *p;
    int n;
    int64_t k;
} ce_ctx;

static void ce_fwd(void *ctx, double *y)
{
    ce_ctx *c = ctx;
    y[0] = fv_ref_softmax_ce_fwd_f64(c->x, c->t, c->p, c->n, c->k);
}

/* Softmax CE with n samples of k logits in [lo, hi): analytic dx vs central differences. */
static double ce_gradcheck(int n, int64_t k, double lo, double hi, double h, unsigned *seed)
{
    long nx = (long)(n * k);
    double *x = calloc((size_t)nx, sizeof(double)), *p = calloc((size_t)nx, sizeof(double));
    double *dx = calloc((size_t)nx, sizeof(double)), *t = calloc((size_t)n, sizeof(double));
    double r, tmp;
    gc_fill(x, nx, lo, hi, seed);
    gc_fill(&r, 1, 0.5, 1.5, seed);
    for (int i = 0; i < n; i++) {
        gc_fill(&tmp, 1, 0, (double)k, seed);
        t[i] = floor(tmp);
    }
    ce_ctx c = {x, t, p, n, k};
    ce_fwd(&c, &tmp);
    fv_ref_softmax_ce_bwd_f64(p, t, r, dx, n, k);
    double err = gc_compare(&c, ce_fwd, x, nx, 1, &r, dx, h);
    free(x), free(p), free(dx), free(t);
    return err;
}

TEST(test_ce_gradcheck)
{
    unsigned seed = 7;
    const int batches[] = {1, 2, 5, 8};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++)
        for (int64_t k = 1; k <= 7; k++) {
            double err = ce_gradcheck(batches[b], k, -3, 3, GC_H, &seed);
            if (err > GC_TOL)
                fprintf(stderr, "  n=%d k=%lld: %g\n", batches[b], (long long)k, err);
            CHECK(err <= GC_TOL);
        }
}

/* Logits around +-50: exp alone would overflow float and lose double's range for 1000. The loss
 * is O(10) there, so the step is 1e-4 (round-off over 2h stays far below the tolerance). */
TEST(test_ce_gradcheck_large_logits)
{
    unsigned seed = 11;
    const double ranges[][2] = {{45, 55}, {-55, -45}, {-50, 50}};
    for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
        for (int64_t k = 1; k <= 7; k += 2) {
            double err = ce_gradcheck(4, k, ranges[r][0], ranges[r][1], 1e-4, &seed);
            if (err > GC_TOL)
                fprintf(stderr, "  range %g..%g k=%lld: %g\n", ranges[r][0], ranges[r][1],
                        (long long)k, err);
            CHECK(err <= GC_TOL);
        }
}

typedef struct mse_ctx {
    const double *p, *t;
    int64_t count;
} mse_ctx;

static void mse_fwd(void *ctx, double *y)
{
    mse_ctx *c = ctx;
    y[0] = fv_ref_mse_fwd_f64(c->p, c->t, c->count);
}

TEST(test_mse_gradcheck)
{
    unsigned seed = 3;
    const long counts[] = {1, 2, 7, 24, 60};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        long n = counts[i];
        double *p = calloc((size_t)n, sizeof(double)), *t = calloc((size_t)n, sizeof(double));
        double *dx = calloc((size_t)n, sizeof(double)), r;
        gc_fill(p, n, -2, 2, &seed);
        gc_fill(t, n, -2, 2, &seed);
        gc_fill(&r, 1, 0.5, 2, &seed);
        fv_ref_mse_bwd_f64(p, t, r, dx, n);
        mse_ctx c = {p, t, n};
        double err = gc_compare(&c, mse_fwd, p, n, 1, &r, dx, GC_H);
        CHECK(err <= GC_TOL);
        free(p), free(t), free(dx);
    }
}

/* ---------------------------------------------------------------- values, stability, targets */

TEST(test_ce_known_values)
{
    /* uniform logits: loss log k, p = 1/k; dx = (1/k - onehot) / n */
    float x[2 * 4] = {0, 0, 0, 0, 3, 3, 3, 3}, t[2] = {1, 3}, p[8], dx[8] = {0};
    double l = fv_ref_softmax_ce_fwd_f32(x, t, p, 2, 4);
    CHECK_NEAR(l, log(4.0), 1e-7, 1e-7);
    for (int i = 0; i < 8; i++)
        CHECK_NEAR(p[i], 0.25, 1e-7, 0);
    fv_ref_softmax_ce_bwd_f32(p, t, 1.0f, dx, 2, 4);
    CHECK_NEAR(dx[0], 0.125, 1e-7, 0);
    CHECK_NEAR(dx[1], -0.375, 1e-7, 0);
    CHECK_NEAR(dx[7], -0.375, 1e-7, 0);
    /* one class: the loss is 0 and so is the gradient */
    float x1[3] = {5, -2, 1e20f}, t1[3] = {0, 0, 0}, p1[3], d1[3] = {0};
    CHECK_NEAR(fv_ref_softmax_ce_fwd_f32(x1, t1, p1, 3, 1), 0, 0, 0);
    fv_ref_softmax_ce_bwd_f32(p1, t1, 1.0f, d1, 3, 1);
    for (int i = 0; i < 3; i++)
        CHECK(p1[i] == 1.0f && d1[i] == 0.0f);
}

TEST(test_ce_stability)
{
    /* the naive exp(1000) overflows: log-sum-exp gives exact answers */
    float x[3] = {1000, 0, -1000}, p[3];
    float t0 = 0, t2 = 2;
    CHECK_NEAR(fv_ref_softmax_ce_fwd_f32(x, &t0, p, 1, 3), 0, 1e-6, 0);
    CHECK_NEAR(p[0], 1, 0, 0);
    CHECK(p[1] == 0 && p[2] == 0);
    CHECK_NEAR(fv_ref_softmax_ce_fwd_f32(x, &t2, p, 1, 3), 2000, 0, 1e-7);
    float big[4] = {3e38f, 3e38f, -3e38f, 1e30f}, pb[4], tb = 1;
    double l = fv_ref_softmax_ce_fwd_f32(big, &tb, pb, 1, 4);
    CHECK_NEAR(l, log(2.0), 1e-6, 0);
    CHECK_NEAR(pb[0], 0.5, 1e-7, 0);
    CHECK_NEAR(pb[1], 0.5, 1e-7, 0);
    double xd[2] = {-1e300, 1e300}, pd[2], td = 0;
    CHECK_NEAR(fv_ref_softmax_ce_fwd_f64(xd, &td, pd, 1, 2), 2e300, 0, 1e-12);
    CHECK(pd[0] == 0 && pd[1] == 1);
}

TEST(test_ce_targets)
{
    float good[4] = {0, 2, 9, 5};
    CHECK(fv_ref_softmax_ce_check_targets_f32(good, 4, 10) == -1);
    float bad1[3] = {0, 1.5f, -1};
    CHECK(fv_ref_softmax_ce_check_targets_f32(bad1, 3, 10) == 1);
    float bad2[3] = {0, 3, 10};
    CHECK(fv_ref_softmax_ce_check_targets_f32(bad2, 3, 10) == 2);
    float bad3[2] = {-1, 0};
    CHECK(fv_ref_softmax_ce_check_targets_f32(bad3, 2, 10) == 0);
    float bad4[2] = {1, NAN};
    CHECK(fv_ref_softmax_ce_check_targets_f32(bad4, 2, 10) == 1);
    float bad5[1] = {INFINITY};
    CHECK(fv_ref_softmax_ce_check_targets_f32(bad5, 1, 10) == 0);
    double badd[2] = {3, 4};
    CHECK(fv_ref_softmax_ce_check_targets_f64(badd, 2, 4) == 1);
    CHECK(fv_ref_softmax_ce_check_targets_f64(badd, 2, 5) == -1);

    /* an invalid target is never an index (sanitizers would catch a stray read): the loss is NaN
     * and its row's gradient has no one-hot term */
    const int k = 3;
    float *x = malloc(sizeof(float) * 2 * k), *p = malloc(sizeof(float) * 2 * k);
    float *dx = calloc(2 * k, sizeof(float)), t[2] = {1, 1e9f};
    for (int i = 0; i < 2 * k; i++)
        x[i] = 0;
    CHECK(isnan(fv_ref_softmax_ce_fwd_f32(x, t, p, 2, k)));
    fv_ref_softmax_ce_bwd_f32(p, t, 1.0f, dx, 2, k);
    CHECK_NEAR(dx[1], (1.0 / 3 - 1) / 2, 1e-7, 0);
    for (int j = 0; j < k; j++)
        CHECK_NEAR(dx[k + j], 1.0 / 6, 1e-7, 0);
    t[1] = -3;
    CHECK(isnan(fv_ref_softmax_ce_fwd_f32(x, t, p, 2, k)));
    free(x), free(p), free(dx);
}

TEST(test_mse_known_values)
{
    float p[4] = {1, 2, 3, 4}, t[4] = {1, 0, 3, 8}, dx[4] = {1, 1, 1, 1};
    CHECK_NEAR(fv_ref_mse_fwd_f32(p, t, 4), (4.0 + 16.0) / 4, 0, 1e-7);
    fv_ref_mse_bwd_f32(p, t, 2.0f, dx, 4); /* accumulates: 1 + 2 * 2 (p - t) / 4 */
    CHECK_NEAR(dx[0], 1, 0, 0);
    CHECK_NEAR(dx[1], 1 + 2.0, 1e-7, 0);
    CHECK_NEAR(dx[3], 1 - 4.0, 1e-7, 0);
}

/* ---------------------------------------------------------------- PyTorch goldens */

typedef struct golden {
    fv_st_file *f;
    fv_tensor *x, *target, *dy, *loss, *dx;
} golden;

static int golden_open(golden *g, const char *name)
{
    char rel[256];
    memset(g, 0, sizeof *g);
    snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
    g->f = fv_st_open(t_src_path(rel));
    if (!g->f) {
        fprintf(stderr, "%s\n", fv_last_error());
        return -1;
    }
    g->x = fv_st_get(g->f, "x");
    g->target = fv_st_get(g->f, "target");
    g->dy = fv_st_get(g->f, "dy");
    g->loss = fv_st_get(g->f, "loss");
    g->dx = fv_st_get(g->f, "dx");
    if (!g->x || !g->target || !g->dy || !g->loss || !g->dx) {
        fprintf(stderr, "%s: %s\n", name, fv_last_error());
        return -1;
    }
    return 0;
}

static void golden_close(golden *g)
{
    fv_tensor_free(g->x), fv_tensor_free(g->target), fv_tensor_free(g->dy);
    fv_tensor_free(g->loss), fv_tensor_free(g->dx);
    if (g->f)
        fv_st_close(g->f);
}

static const char *const ce_cases[] = {"loss_softmax_ce", "loss_softmax_ce_large"};
static const char *const mse_cases[] = {"loss_mse", "loss_mse_vec"};

/* The float kernels on the golden inputs; dx starts at 1 to check that backward accumulates. */
static void kernel_golden(const char *name, int ce)
{
    golden g;
    CHECK(golden_open(&g, name) == 0);
    if (g.x && g.target && g.dy && g.loss && g.dx) {
        int n = (int)g.x->dims[0];
        int64_t size = fv_tensor_numel(g.x) / n, total = fv_tensor_numel(g.x);
        size_t bytes = sizeof(float) * (size_t)total;
        float *p = malloc(bytes), *dx = malloc(bytes), *want = malloc(bytes);
        for (int64_t i = 0; i < total; i++)
            dx[i] = 1.0f, want[i] = 1.0f + g.dx->data[i];
        double l;
        if (ce) {
            CHECK(fv_ref_softmax_ce_check_targets_f32(g.target->data, n, (int)size) == -1);
            l = fv_ref_softmax_ce_fwd_f32(g.x->data, g.target->data, p, n, size);
            fv_ref_softmax_ce_bwd_f32(p, g.target->data, g.dy->data[0], dx, n, size);
        } else {
            l = fv_ref_mse_fwd_f32(g.x->data, g.target->data, total);
            fv_ref_mse_bwd_f32(g.x->data, g.target->data, g.dy->data[0], dx, total);
        }
        CHECK_NEAR(l, g.loss->data[0], 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(dx, want, total, 1e-6, 1e-5);
        free(p), free(dx), free(want);
    }
    golden_close(&g);
}

TEST(test_golden_kernels)
{
    for (size_t i = 0; i < 2; i++) {
        kernel_golden(ce_cases[i], 1);
        kernel_golden(mse_cases[i], 0);
    }
}

/* A graph of two inputs (prediction, target) and the loss node, built with the internal API. */
static fv_model *loss_graph(fv_op op, int ndim, const int64_t *dims, int tndim,
                            const int64_t *tdims)
{
    fv_model *m = fv_model_new("losstest");
    if (!m)
        return NULL;
    int x = fv_graph_add_input(m, ndim, dims, "x");
    int t = fv_graph_add_input(m, tndim, tdims, "target");
    int ins[2] = {x, t};
    int l = fv_graph_add(m, op, 2, ins, NULL, "loss");
    if (x != 0 || t != 1 || l != 2) {
        fprintf(stderr, "loss graph: %s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    m->input_node = x;
    m->target_node = t;
    m->loss_node = l;
    m->output_node = x;
    m->input_grad = 1;
    if (fv_graph_alloc_params(m) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* Forward and backward through the engine; the target's gradient buffer must stay untouched. */
static void graph_golden(const char *name, fv_op op)
{
    golden g;
    CHECK(golden_open(&g, name) == 0);
    if (!g.x || !g.target || !g.dy || !g.loss || !g.dx) {
        golden_close(&g);
        return;
    }
    int n = (int)g.x->dims[0];
    int64_t one = 1;
    fv_model *m = op == FV_OP_SOFTMAX_CE
                      ? loss_graph(op, g.x->ndim - 1, g.x->dims + 1, 1, &one)
                      : loss_graph(op, g.x->ndim - 1, g.x->dims + 1, g.x->ndim - 1, g.x->dims + 1);
    CHECK(m != NULL);
    if (m) {
        CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
        fv_node *x = &m->nodes[0], *t = &m->nodes[1], *l = &m->nodes[2];
        CHECK(l->ndim == 1 && l->dims[0] == 1 && l->size == 1);
        CHECK(x->needs_grad && !t->needs_grad && l->needs_grad);
        memcpy(x->y, g.x->data, sizeof(float) * (size_t)fv_tensor_numel(g.x));
        memcpy(t->y, g.target->data, sizeof(float) * (size_t)fv_tensor_numel(g.target));
        fv_graph_forward(m, n, -1);
        CHECK_NEAR(l->y[0], g.loss->data[0], 1e-6, 1e-5);
        fv_graph_zero_grads(m, n);
        l->dy[0] = g.dy->data[0];
        fv_graph_run_backward(m, n);
        CHECK_ARRAY_NEAR(x->dy, g.dx->data, fv_tensor_numel(g.dx), 1e-6, 1e-5);
        for (int64_t i = 0; i < n * t->size; i++)
            CHECK(t->dy[i] == 0.0f);
        /* the engine's own seed (1) gives dx / dy */
        fv_graph_backward(m, n);
        float s = g.dy->data[0];
        for (int64_t i = 0; i < fv_tensor_numel(g.dx); i++)
            CHECK_NEAR(x->dy[i] * s, g.dx->data[i], 1e-6, 1e-5);
        /* a smaller batch than planned: the first samples only */
        if (n > 1 && op == FV_OP_MSE) {
            fv_graph_forward(m, 1, -1);
            double want = fv_ref_mse_fwd_f32(g.x->data, g.target->data, x->size);
            CHECK_NEAR(l->y[0], want, 1e-7, 1e-6);
        }
        fv_model_free(m);
    }
    golden_close(&g);
}

TEST(test_golden_graph)
{
    for (size_t i = 0; i < 2; i++) {
        graph_golden(ce_cases[i], FV_OP_SOFTMAX_CE);
        graph_golden(mse_cases[i], FV_OP_MSE);
    }
}

/* ---------------------------------------------------------------- op definitions and shapes */

TEST(test_op_defs)
{
    CHECK(fv_op_table[FV_OP_SOFTMAX_CE] == &fv_op_softmax_ce_def);
    CHECK(fv_op_table[FV_OP_MSE] == &fv_op_mse_def);
    CHECK(strcmp(fv_op_softmax_ce_def.name, "softmax_ce") == 0);
    CHECK(strcmp(fv_op_softmax_ce_def.kind, "SoftmaxCrossEntropy") == 0);
    CHECK(strcmp(fv_op_mse_def.name, "mse") == 0);
    CHECK(strcmp(fv_op_mse_def.kind, "MeanSquaredError") == 0);
}

/* Adds a loss over inputs of the given shapes; returns its status and leaves the graph as before
 * on error. */
static int try_loss(fv_op op, int ndim, const int64_t *dims, int tndim, const int64_t *tdims)
{
    fv_model *m = fv_model_new("shapes");
    int x = fv_graph_add_input(m, ndim, dims, "pred");
    int t = fv_graph_add_input(m, tndim, tdims, "tgt");
    int ins[2] = {x, t};
    int l = fv_graph_add(m, op, 2, ins, NULL, "myloss");
    if (l < 0)
        CHECK(m->nnodes == 2 && m->nparams == 0);
    fv_model_free(m);
    return l;
}

TEST(test_shape_errors)
{
    static const int64_t k10[1] = {10}, one[1] = {1}, two[1] = {2}, img[3] = {3, 4, 5},
                         img2[3] = {3, 5, 4};
    /* want: the node made (2), or -1 for an error with the phrases has */
    static const struct {
        fv_op op;
        int ndim;
        const int64_t *dims;
        int tndim;
        const int64_t *tdims;
        int want;
        const char *has[3];
    } rows[] = {
        {FV_OP_SOFTMAX_CE, 1, k10, 1, one, 2, {NULL}},
        {FV_OP_SOFTMAX_CE, 3, img, 1, one, -1, {"myloss", "(None, 3, 4, 5)", "(None, 1)"}},
        {FV_OP_SOFTMAX_CE, 1, k10, 1, two, -1, {"myloss", "(None, 10)", "(None, 2)"}},
        {FV_OP_SOFTMAX_CE, 1, k10, 3, img, -1, {"(None, 3, 4, 5)"}},
        {FV_OP_MSE, 3, img, 3, img, 2, {NULL}},
        {FV_OP_MSE, 1, k10, 1, k10, 2, {NULL}},
        {FV_OP_MSE, 3, img, 3, img2, -1, {"myloss", "(None, 3, 4, 5)", "(None, 3, 5, 4)"}},
        {FV_OP_MSE, 1, k10, 1, one, -1, {"(None, 10)"}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        t_check_added(i, try_loss(rows[i].op, rows[i].ndim, rows[i].dims, rows[i].tndim,
                                  rows[i].tdims),
                      rows[i].want, rows[i].has);

    /* a loss needs exactly two inputs */
    fv_model *m = fv_model_new("arity");
    int x = fv_graph_add_input(m, 1, k10, "pred");
    CHECK(fv_graph_add(m, FV_OP_MSE, 1, &x, NULL, "l1") < 0);
    CHECK_ERR_HAS("l1");
    CHECK(m->nnodes == 1);
    fv_model_free(m);
}

/* Saved probabilities are sized by the planner for the batch. */
TEST(test_saved_bytes)
{
    int64_t k7[1] = {7}, one[1] = {1};
    fv_model *m = loss_graph(FV_OP_SOFTMAX_CE, 1, k7, 1, one);
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STATUS(fv_graph_plan(m, 5), FV_OK);
    CHECK(m->nodes[2].saved_bytes == 5 * 7 * sizeof(float));
    CHECK(m->nodes[2].saved != NULL);
    fv_model_free(m);
    int64_t d[2] = {2, 3};
    m = loss_graph(FV_OP_MSE, 2, d, 2, d);
    CHECK(m != NULL);
    if (m) {
        CHECK_STATUS(fv_graph_plan(m, 4), FV_OK);
        CHECK(m->nodes[2].saved_bytes == 0);
        fv_model_free(m);
    }
}

int main(void)
{
    RUN(test_ce_gradcheck);
    RUN(test_ce_gradcheck_large_logits);
    RUN(test_mse_gradcheck);
    RUN(test_ce_known_values);
    RUN(test_ce_stability);
    RUN(test_ce_targets);
    RUN(test_mse_known_values);
    RUN(test_golden_kernels);
    RUN(test_golden_graph);
    RUN(test_op_defs);
    RUN(test_shape_errors);
    RUN(test_saved_bytes);
    TEST_MAIN_END();
}
