/* test_separable.c - depthwise and separable convolutions (MobileNet's building blocks) as
 * compositions of conv2d: parameter counts equal Keras' DepthwiseConv2D / SeparableConv2D
 * formulas, the depthwise layer is a grouped convolution (one group per channel), names, the model
 * text format, errors and rollback. */
#include "core/internal.h"
#include "test.h"

TEST(depthwise_and_separable)
{
    fv_model *m = fv_model_new("sep");
    int x = fv_input(m, .ndim = 3, .dims = {8, 10, 10});
    int d = fv_depthwise_conv2d(m, x, 2, .kernel = 3, .same = 1, .name = "d");
    int s = fv_separable_conv2d(m, d, 1, .filters = 16, .kernel = 3, .activation = FV_ACT_RELU,
                                .name = "s");
    CHECK(d > 0 && s > 0);
    const fv_node *dn = &m->nodes[d];
    CHECK(dn->op == FV_OP_CONV2D && dn->a.conv.groups == 8 && dn->a.conv.filters == 16);
    int64_t total, tr, nt;
    fv_model_count_params(m, &total, &tr, &nt);
    /* Keras: depthwise 8*9*2 + 16; separable 16*9*1 + 16*16 + 16 */
    CHECK(total == (8 * 9 * 2 + 16) + (16 * 9 + 16 * 16 + 16));
    CHECK(fv_model_find_node(m, "s_dw") > 0 && fv_model_find_node(m, "s_pw") > 0);
    CHECK(m->nodes[fv_model_find_node(m, "s_dw")].nparam == 1); /* the depthwise half: no bias */
    int n = fv_model_num_nodes(m);
    CHECK(fv_separable_conv2d(m, s, 1, .filters = 0, .kernel = 3, .name = "bad") < 0);
    CHECK(fv_model_num_nodes(m) == n); /* both halves rolled back */
    int v = fv_input(m, .ndim = 1, .dims = {5}, .name = "vec");
    CHECK(fv_depthwise_conv2d(m, v, 1, .kernel = 3, .name = "dw") < 0);
    CHECK_ERR_HAS("layer 'dw': needs a (channels, height, width) input, got 'vec' (None, 5)");
    fv_model_free(m);
    m = fv_model_parse("input shape=8,10,10\nDepthwiseConv2D kernel_size=3 depth_multiplier=2\n"
                       "SeparableConv2D filters=4 kernel_size=3 name=s\n", "s.fv");
    CHECK(m != NULL);
    if (m)
        fv_model_count_params(m, &total, &tr, &nt);
    CHECK(total == 160 + 16 * 9 + 16 * 4 + 4);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=8,10,10\ndepthwise_conv2d kernel_size=3 filters=4\n",
                         "s.fv") == NULL);
    CHECK_ERR_HAS("unknown argument 'filters' for depthwise_conv2d");
}

int main(void)
{
    RUN(depthwise_and_separable);
    TEST_MAIN_END();
}
