/* test_regularize.c - regularization: L1/L2 kernel penalties (value, gradient, reported loss),
 * the max-norm constraint after each update, spatial dropout (one draw per channel), and their
 * settings in the C API and the model text format. */
#include "core/internal.h"
#include "graph/graph.h"
#include "optim/optim.h"
#include "test.h"

static fv_model *dense_model(float l1, float l2, float max_norm)
{
    fv_model *m = fv_model_new("r");
    fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, FV_LAST, .units = 2, .no_bias = 1, .l1 = l1, .l2 = l2, .max_norm = max_norm,
             .name = "fc");
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(.lr = 0.1f)) != FV_OK)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

TEST(l1_l2_penalty)
{
    fv_model *m = dense_model(0.1f, 0.2f, 0);
    const float w[4] = {1, -2, 0, 0.5f};
    memcpy(m->data_slab, w, sizeof w);
    memset(m->grad_slab, 0, sizeof w);
    /* 0.1 (1 + 2 + 0 + 0.5) + 0.2 (1 + 4 + 0 + 0.25) */
    CHECK_NEAR(fv_regularize(m, 1), 0.35 + 1.05, 1e-7, 1e-7);
    const float g[4] = {0.1f + 0.4f, -0.1f - 0.8f, 0, 0.1f + 0.2f};
    CHECK_ARRAY_NEAR(m->grad_slab, g, 4, 1e-7, 1e-6);
    /* the loss of a training step includes the penalty */
    float x[2] = {0, 0}, y[1] = {0};
    double loss;
    memcpy(m->data_slab, w, sizeof w);
    CHECK_STATUS(fv_model_train_batch(m, x, y, 1, &loss, NULL), FV_OK);
    CHECK_NEAR(loss, log(2.0) + 1.4, 1e-6, 1e-6); /* zero input: logits 0, CE = log 2 */
    fv_model_free(m);
}

TEST(max_norm)
{
    fv_model *m = dense_model(0, 0, 1.0f);
    const float w[4] = {3, 0, 0.3f, 0.4f}; /* row norms 3 and 0.5 */
    memcpy(m->data_slab, w, sizeof w);
    memset(m->grad_slab, 0, sizeof w);
    fv_optim_step(m);
    const float want[4] = {(float)(3 / (3 + 1e-7)), 0, 0.3f, 0.4f};
    CHECK_ARRAY_NEAR(m->data_slab, want, 4, 1e-7, 1e-6);
    fv_model_free(m);
    m = fv_model_new("bad");
    fv_input(m, .ndim = 1, .dims = {2});
    CHECK(fv_dense(m, FV_LAST, .units = 2, .l2 = -1, .name = "d") < 0);
    CHECK_ERR_HAS("layer 'd': l1=0, l2=-1 and max_norm=0 must be finite and >= 0");
    CHECK(fv_model_num_nodes(m) == 1);
    fv_model_free(m);
}

TEST(spatial_dropout)
{
    fv_model *m = fv_model_new("sd");
    int in = fv_input(m, .ndim = 3, .dims = {64, 3, 3});
    int d = fv_dropout(m, in, .rate = 0.5f, .spatial = 1);
    CHECK(d > 0 && fv_model_compile(m, .output = d, .seed = 9) == FV_OK);
    CHECK_STATUS(fv_graph_plan(m, 2), FV_OK);
    for (int i = 0; i < 2 * 64 * 9; i++)
        m->nodes[in].y[i] = 1.0f;
    m->training = 1;
    fv_graph_forward(m, 2, d);
    int constant = 1, kept = 0;
    for (int p = 0; p < 128; p++) {
        const float *y = m->nodes[d].y + p * 9;
        for (int i = 1; i < 9; i++)
            constant &= y[i] == y[0];
        kept += y[0] != 0;
        CHECK(y[0] == 0 || y[0] == 2.0f);
    }
    CHECK(constant && kept > 40 && kept < 88);
    fv_model_free(m);
    m = fv_model_parse("input shape=8\nSpatialDropout2D rate=0.2\n", "s.fv");
    CHECK(m == NULL);
    CHECK_ERR_HAS("spatial dropout needs a (channels, height, width) input");
    m = fv_model_parse("input shape=2,4,4\nconv2d filters=3 kernel_size=3 l2=0.01 max_norm=2 "
                       "name=c\nDropout2d rate=0.3 name=s\n", "s.fv");
    CHECK(m != NULL);
    if (m) {
        const fv_node *c = &m->nodes[fv_model_find_node(m, "c")];
        CHECK(c->reg.l2 == 0.01f && c->reg.max_norm == 2.0f && c->reg.l1 == 0);
        CHECK(m->nodes[fv_model_find_node(m, "s")].a.dropout.spatial == 1);
    }
    fv_model_free(m);
}

int main(void)
{
    RUN(l1_l2_penalty);
    RUN(max_norm);
    RUN(spatial_dropout);
    TEST_MAIN_END();
}
