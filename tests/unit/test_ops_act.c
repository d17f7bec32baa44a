/* test_ops_act.c - activations (ReLU, sigmoid, tanh, softmax), shape ops (flatten, reshape, add,
 * concat) and dropout: gradient checks (double kernels; the linear shape ops through the graph
 * with exact dyadic values), PyTorch goldens (tests/golden/gen_pool_act_bn.py), dropout statistics
 * and determinism, shape errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "kernels/ref/act_ref.h"
#include "ops/ops.h"
#include "optest.h"
#include "test.h"

/* ---------------------------------------------------------------- activation gradient checks */

typedef struct act_ctx {
    int which; /* 0 relu, 1 sigmoid, 2 tanh, 3 softmax */
    double *x;
    int64_t outer, k, inner;
} act_ctx;

static void act_fwd(void *ctx, double *y)
{
    act_ctx *c = ctx;
    int64_t n = c->outer * c->k * c->inner;
    if (c->which == 0)
        fv_ref_relu_fwd_f64(c->x, y, n);
    else if (c->which == 1)
        fv_ref_sigmoid_fwd_f64(c->x, y, n);
    else if (c->which == 2)
        fv_ref_tanh_fwd_f64(c->x, y, n);
    else
        fv_ref_softmax_fwd_f64(c->x, y, c->outer, c->k, c->inner);
}

static double act_gradcheck(int which, int64_t outer, int64_t k, int64_t inner, unsigned *seed)
{
    long n = (long)(outer * k * inner);
    double *x = malloc(sizeof(double) * (size_t)n), *y = malloc(sizeof(double) * (size_t)n);
    double *r = malloc(sizeof(double) * (size_t)n), *dx = calloc((size_t)n, sizeof(double));
    gc_fill(x, n, -4, 4, seed);
    for (long i = 0; which == 0 && i < n; i++) /* keep ReLU's inputs off the kink at 0 */
        x[i] += x[i] >= 0 ? 0.1 : -0.1;
    gc_fill(r, n, -1, 1, seed);
    act_ctx c = {which, x, outer, k, inner};
    act_fwd(&c, y);
    if (which == 0)
        fv_ref_relu_bwd_f64(x, r, dx, n);
    else if (which == 1)
        fv_ref_sigmoid_bwd_f64(y, r, dx, n);
    else if (which == 2)
        fv_ref_tanh_bwd_f64(y, r, dx, n);
    else
        fv_ref_softmax_bwd_f64(y, r, dx, outer, k, inner);
    double err = gc_compare(&c, act_fwd, x, n, n, r, dx, GC_H);
    free(x), free(y), free(r), free(dx);
    return err;
}

TEST(activation_gradcheck)
{
    unsigned seed = 5;
    for (int which = 0; which < 4; which++)
        for (int64_t k = 1; k <= 9; k += 4) {
            double err = act_gradcheck(which, 3, k, which == 3 ? 2 : 1, &seed);
            if (err > GC_TOL)
                fprintf(stderr, "  activation %d k=%lld: %g\n", which, (long long)k, err);
            CHECK(err <= GC_TOL);
        }
}

TEST(activations_are_stable)
{
    float x[4] = {-1000, 1000, NAN, 0}, y[4];
    fv_ref_sigmoid_fwd_f32(x, y, 4);
    CHECK(y[0] == 0 && y[1] == 1 && isnan(y[2]) && y[3] == 0.5f);
    fv_ref_relu_fwd_f32(x, y, 4);
    CHECK(y[0] == 0 && y[1] == 1000 && isnan(y[2]) && y[3] == 0);
    float s[3] = {1000, 999, -1000}, p[3];
    fv_ref_softmax_fwd_f32(s, p, 1, 3, 1);
    CHECK_NEAR(p[0] + p[1] + p[2], 1.0, 1e-6, 0);
    CHECK(p[2] == 0 && p[0] > p[1]);
}

/* ---------------------------------------------------------------- goldens */

static void golden_unary(const char *name, fv_act act, int ndim, const int64_t *dims)
{
    fv_model *m = fv_model_new("acttest");
    int in = fv_input(m, .ndim = ndim, .dims = {dims[0], dims[1], dims[2]});
    int out = fv_activation(m, in, act);
    ot_golden_layer(m, in, out, name, 1e-6, 1e-5);
}

TEST(activations_match_pytorch)
{
    const int64_t d45[3] = {4, 5, 0}, d7[3] = {7, 0, 0}, d34[3] = {3, 4, 0};
    golden_unary("act_relu", FV_ACT_RELU, 2, d45);
    golden_unary("act_sigmoid", FV_ACT_SIGMOID, 2, d45);
    golden_unary("act_tanh", FV_ACT_TANH, 2, d45);
    golden_unary("act_softmax", FV_ACT_SOFTMAX, 1, d7);
    golden_unary("act_softmax_3d", FV_ACT_SOFTMAX, 2, d34);
}

TEST(shape_ops_match_pytorch)
{
    fv_model *m = fv_model_new("shapes");
    int in = fv_input(m, .ndim = 3, .dims = {3, 2, 2});
    int f = fv_flatten(m, in);
    ot_golden_layer(m, in, f, "shape_flatten", 1e-7, 0);

    m = fv_model_new("shapes");
    in = fv_input(m, .ndim = 3, .dims = {3, 2, 2});
    int r = fv_reshape(m, in, .ndim = 2, .dims = {-1, 2});
    ot_golden_layer(m, in, r, "shape_reshape", 1e-7, 0);

    /* concat(add(x, relu(x)), sigmoid(x)) on channels: a DAG with a shared input */
    m = fv_model_new("dag");
    in = fv_input(m, .ndim = 3, .dims = {3, 4, 4});
    int a = fv_add(m, 2, ((int[]){in, fv_relu(m, in)}));
    int c = fv_concat(m, 2, ((int[]){a, fv_activation(m, in, FV_ACT_SIGMOID)}));
    ot_golden_layer(m, in, c, "shape_add_concat", 1e-6, 1e-5);
}

/* ---------------------------------------------------------------- shape-op gradient check */

/* Input values in eighths. */
static float dyadic_x(int64_t i) { return (float)((i * 7) % 11) / 8.0f; }

/* dropout(reshape(flatten(concat(add(x, x, x), x) on width), (-1, 2))) in training mode, the
 * dropout mask held fixed by reseeding the model's RNG before every forward: linear, so central
 * differences with h = 1 on dyadic values are exact in float and in double. */
TEST(shape_ops_gradcheck)
{
    fv_model *m = fv_model_new("lin");
    int in = fv_input(m, .ndim = 3, .dims = {2, 3, 2});
    int a = fv_add(m, 3, ((int[]){in, in, in}));
    int c = fv_concat(m, 2, ((int[]){a, in}), .axis = -1);
    int r = fv_dropout(m, fv_reshape(m, fv_flatten(m, c), .ndim = 2, .dims = {-1, 2}), .rate = 0.5f);
    CHECK(r > 0 && fv_model_compile(m, .output = r) == FV_OK);
    m->training = 1;
    int n = 2;
    double worst = ot_linear_gradcheck(m, in, r, n, dyadic_x, 9, 77);
    int64_t ny = n * m->nodes[r].size;
    CHECK(worst <= GC_TOL);
    int dropped = 0;
    for (int64_t i = 0; i < ny; i++)
        dropped += m->nodes[r].y[i] == 0.0f;
    CHECK(dropped > 0 && dropped < ny); /* the mask did drop some values */
    fv_model_free(m);
}

TEST(shape_errors_name_layer_and_shapes)
{
    fv_model *m = fv_model_new("e");
    int a = fv_input(m, .ndim = 3, .dims = {2, 4, 4}, .name = "a");
    int b = fv_input(m, .ndim = 3, .dims = {3, 4, 5}, .name = "b");
    CHECK(fv_add(m, 2, ((int[]){a, b}), .name = "sum") < 0);
    CHECK_ERR_HAS("layer 'sum': cannot add 'a' (None, 2, 4, 4) and 'b' (None, 3, 4, 5)");
    CHECK(fv_concat(m, 2, ((int[]){a, b}), .name = "cat") < 0);
    CHECK_ERR_HAS("layer 'cat': cannot concatenate 'a' (None, 2, 4, 4) and 'b' (None, 3, 4, 5)");
    CHECK(fv_concat(m, 2, ((int[]){a, b}), .axis = 3, .name = "cat") < 0);
    CHECK_ERR_HAS("axis 3 is out of range");
    CHECK(fv_reshape(m, a, .ndim = 2, .dims = {5, -1}, .name = "rs") < 0);
    CHECK_ERR_HAS("layer 'rs': cannot reshape 'a' (None, 2, 4, 4) to (None, 5, -1)");
    CHECK(fv_reshape(m, a, .ndim = 2, .dims = {-1, -1}, .name = "rs") < 0);
    CHECK_ERR_HAS("bad target shape");
    int c = fv_concat(m, 2, ((int[]){a, a}), .axis = -2);
    int64_t d[4];
    CHECK(c > 0 && fv_node_shape(m, c, d) == 3 && d[0] == 2 && d[1] == 8 && d[2] == 4);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- dropout */

TEST(dropout_statistics_and_modes)
{
    fv_model *m = fv_model_new("drop");
    int in = fv_input(m, .ndim = 1, .dims = {1000});
    int d = fv_dropout(m, in, .rate = 0.3f);
    CHECK(d > 0 && fv_model_compile(m, .output = d, .seed = 4) == FV_OK);
    m->input_grad = 1;
    CHECK_STATUS(fv_graph_plan(m, 4), FV_OK);
    for (int i = 0; i < 4000; i++)
        m->nodes[in].y[i] = 2.0f;
    m->training = 1;
    fv_graph_forward(m, 4, d);
    int kept = 0;
    double sum = 0;
    for (int i = 0; i < 4000; i++) {
        float v = m->nodes[d].y[i];
        CHECK(v == 0 || fabsf(v - 2.0f / 0.7f) < 1e-6f);
        kept += v != 0;
        sum += v;
    }
    CHECK(kept > 2650 && kept < 2950); /* 2800 expected, sd about 29 */
    CHECK_NEAR(sum / 4000, 2.0, 0.1, 0);
    /* backward routes through the same mask: dx = dy * mask */
    fv_graph_zero_grads(m, 4);
    for (int i = 0; i < 4000; i++)
        m->nodes[d].dy[i] = 1.0f;
    fv_graph_run_backward(m, 4);
    int same = 1;
    for (int i = 0; i < 4000; i++)
        same &= m->nodes[in].dy[i] == m->nodes[d].y[i] / 2.0f;
    CHECK(same);
    /* eval: identity */
    m->training = 0;
    fv_graph_forward(m, 4, d);
    int ident = 1;
    for (int i = 0; i < 4000; i++)
        ident &= m->nodes[d].y[i] == 2.0f;
    CHECK(ident);
    fv_model_free(m);
}

TEST(dropout_mask_is_seeded)
{
    fv_rng a, b;
    fv_rng_seed(&a, 12), fv_rng_seed(&b, 12);
    float ma[64], mb[64];
    fv_dropout_mask(&a, 0.5f, ma, 64);
    fv_dropout_mask(&b, 0.5f, mb, 64);
    CHECK(memcmp(ma, mb, sizeof ma) == 0);
    fv_dropout_mask(&b, 0.5f, mb, 64);
    CHECK(memcmp(ma, mb, sizeof ma) != 0);
    fv_model *m = fv_model_new("d");
    fv_input(m, .ndim = 1, .dims = {4});
    CHECK(fv_dropout(m, FV_LAST, .rate = 1.0f, .name = "all") < 0);
    CHECK_ERR_HAS("layer 'all': rate=1 must be in [0, 1)");
    fv_model_free(m);
}

int main(void)
{
    RUN(activation_gradcheck);
    RUN(activations_are_stable);
    RUN(activations_match_pytorch);
    RUN(shape_ops_match_pytorch);
    RUN(shape_ops_gradcheck);
    RUN(shape_errors_name_layer_and_shapes);
    RUN(dropout_statistics_and_modes);
    RUN(dropout_mask_is_seeded);
    TEST_MAIN_END();
}
