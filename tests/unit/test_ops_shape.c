/* test_ops_shape.c - concat and add beyond test_ops_act.c: concat on axes 0, 1 and the width with
 * inputs of unequal sizes (finite differences through the graph, PyTorch golden shape_concat_w),
 * add with three distinct inputs, and the errors of n-input ops. Cropping and zero padding make
 * the unequal-size branches from one graph input. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "optest.h"
#include "test.h"

/* concat(x, tanh(x)[..., :3]) on the width: (3, 4, 4) + (3, 4, 3) -> (3, 4, 7). */
TEST(concat_width_matches_pytorch)
{
    fv_model *m = fv_model_new("catw");
    int in = fv_input(m, .ndim = 3, .dims = {3, 4, 4});
    int t = fv_cropping2d(m, fv_activation(m, in, FV_ACT_TANH), .right = 1);
    int c = fv_concat(m, 2, ((int[]){in, t}), .axis = -1);
    int64_t d[4];
    CHECK(c > 0 && fv_node_shape(m, c, d) == 3 && d[0] == 3 && d[1] == 4 && d[2] == 7);
    if (c > 0)
        ot_golden(m, in, c, "shape_concat_w", 1e-6, 1e-5);
    fv_model_free(m);
}

/* The linear graph (x: (2, 4, 4)):
 *   c0 = concat(x, reshape(crop(x, top 2), (1, 4, 4)))  on axis 0 -> (3, 4, 4)
 *   c1 = concat(x, crop(x, bottom 1))                    on axis 1 -> (2, 7, 4)
 *   s  = add(x, pad(crop(x, 1), 1), x)                   three inputs -> (2, 4, 4)
 *   out = concat(flatten(c0), flatten(c1), flatten(s))   on axis 0 -> (136)
 * Returns the output node, or -1. */
static int build_linear(fv_model *m, int in)
{
    int top = fv_reshape(m, fv_cropping2d(m, in, .top = 2), .ndim = 3, .dims = {1, 4, 4});
    int c0 = fv_concat(m, 2, ((int[]){in, top}), .axis = 0);
    int c1 = fv_concat(m, 2, ((int[]){in, fv_cropping2d(m, in, .bottom = 1)}), .axis = 1);
    int ring = fv_zero_padding2d(m, fv_cropping2d(m, in, .all = 1), .all = 1);
    int s = fv_add(m, 3, ((int[]){in, ring, in}));
    if (c0 < 0 || c1 < 0 || s < 0)
        return -1;
    return fv_concat(m, 3, ((int[]){fv_flatten(m, c0), fv_flatten(m, c1), fv_flatten(m, s)}));
}

/* Input values in quarters. */
static float dyadic_x(int64_t i) { return (float)((i * 5) % 13) / 4.0f - 1.5f; }

/* Linear in x, so central differences with h = 1 on dyadic values are exact in float. */
TEST(concat_add_gradcheck)
{
    fv_model *m = fv_model_new("lin");
    int in = fv_input(m, .ndim = 3, .dims = {2, 4, 4});
    int out = build_linear(m, in);
    int64_t d[4];
    CHECK(out > 0 && fv_node_shape(m, out, d) == 1 && d[0] == 48 + 56 + 32);
    CHECK(out > 0 && fv_model_compile(m, .output = out) == FV_OK);
    if (out < 0) {
        fv_model_free(m);
        return;
    }
    CHECK(ot_linear_gradcheck(m, in, out, 2, dyadic_x, 3, -1) <= GC_TOL);
    fv_model_free(m);
}

/* Forward layout of concat on axis 1 for two samples: rows of the first input, then the second. */
TEST(concat_axis1_layout)
{
    fv_model *m = fv_model_new("lay");
    int a = fv_input(m, .ndim = 3, .dims = {2, 1, 2}, .name = "a");
    int b = fv_input(m, .ndim = 3, .dims = {2, 2, 2}, .name = "b");
    int c = fv_concat(m, 2, ((int[]){a, b}), .axis = 1);
    CHECK(c > 0 && fv_model_compile(m, .output = c) == FV_OK);
    CHECK_STATUS(fv_graph_plan(m, 2), FV_OK);
    for (int i = 0; i < 8; i++)
        m->nodes[a].y[i] = (float)(100 + i);
    for (int i = 0; i < 16; i++)
        m->nodes[b].y[i] = (float)(200 + i);
    fv_graph_forward(m, 2, c);
    /* sample 0, channel 0: a[0..1], b[0..3]; channel 1: a[2..3], b[4..7]; then sample 1 */
    const float want[24] = {100, 101, 200, 201, 202, 203, 102, 103, 204, 205, 206, 207,
                            104, 105, 208, 209, 210, 211, 106, 107, 212, 213, 214, 215};
    CHECK(memcmp(m->nodes[c].y, want, sizeof want) == 0);
    fv_model_free(m);
}

TEST(n_input_errors)
{
    fv_model *m = fv_model_new("e");
    int a = fv_input(m, .ndim = 3, .dims = {2, 4, 4}, .name = "a");
    int b = fv_input(m, .ndim = 3, .dims = {2, 4, 4}, .name = "b");
    int c = fv_input(m, .ndim = 3, .dims = {2, 4, 5}, .name = "c");
    CHECK(fv_add(m, 3, ((int[]){a, b, c}), .name = "sum3") < 0);
    CHECK_ERR_HAS("layer 'sum3': cannot add 'a' (None, 2, 4, 4) and 'c' (None, 2, 4, 5)");
    CHECK(fv_concat(m, 3, ((int[]){a, b, c}), .axis = 1, .name = "cat") < 0);
    CHECK_ERR_HAS("layer 'cat': cannot concatenate 'a' (None, 2, 4, 4) and 'c' (None, 2, 4, 5)");
    CHECK(fv_concat(m, 2, ((int[]){a, b}), .axis = -4, .name = "neg") < 0);
    CHECK_ERR_HAS("layer 'neg': axis -4 is out of range");
    int w = fv_concat(m, 3, ((int[]){a, b, c}), .axis = -1);
    int64_t d[4];
    CHECK(w > 0 && fv_node_shape(m, w, d) == 3 && d[0] == 2 && d[1] == 4 && d[2] == 13);
    fv_model_free(m);
}

int main(void)
{
    RUN(concat_width_matches_pytorch);
    RUN(concat_add_gradcheck);
    RUN(concat_axis1_layout);
    RUN(n_input_errors);
    TEST_MAIN_END();
}
