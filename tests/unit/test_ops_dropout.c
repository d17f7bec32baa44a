/* test_ops_dropout.c - dropout beyond test_ops_act.c: with the mask drawn, backward equals
 * dy * mask / (1 - rate) for an arbitrary dy and accumulates into dx; rate 0 and evaluation mode
 * are the identity (backward too); the model's seed fixes the masks, and each training forward
 * draws a fresh one. */
#include "core/internal.h"
#include "graph/graph.h"
#include "test.h"

enum { N = 3, F = 40 };

/* input (F) -> dropout(rate), compiled with `seed`, planned for N samples, x = 1 + i / 8. */
static fv_model *dropout_model(float rate, uint64_t seed, int *in, int *d)
{
    fv_model *m = fv_model_new("drop");
    *in = fv_input(m, .ndim = 1, .dims = {F});
    *d = fv_dropout(m, *in, .rate = rate);
    CHECK(*d > 0 && fv_model_compile(m, .output = *d, .seed = seed) == FV_OK);
    m->input_grad = 1;
    /* private dy buffers: check_backward presets dx to see that backward accumulates */
    CHECK_STATUS(fv_graph_plan_ex(m, N, 0), FV_OK);
    for (int i = 0; i < N * F; i++)
        m->nodes[*in].y[i] = 1.0f + (float)i / 8.0f;
    return m;
}

/* Runs backward from dy[i] = (i % 7 - 3) / 4 with dx preset to 0.5; checks dx = 0.5 + dy * k_i,
 * where k_i = y_i / x_i is 0 or 1 / (1 - rate) (the identity: 1). */
static void check_backward(fv_model *m, int in, int d, float rate, int train)
{
    fv_graph_zero_grads(m, N);
    for (int i = 0; i < N * F; i++) {
        m->nodes[d].dy[i] = (float)(i % 7 - 3) / 4.0f;
        m->nodes[in].dy[i] = 0.5f;
    }
    fv_graph_run_backward(m, N);
    int ok = 1, masked = 0;
    for (int i = 0; i < N * F; i++) {
        float x = m->nodes[in].y[i], y = m->nodes[d].y[i];
        float k = y == 0.0f ? 0.0f : 1.0f / (1.0f - rate);
        ok &= !train ? y == x : (y == 0.0f || y == x * k);
        masked += y == 0.0f;
        ok &= m->nodes[in].dy[i] == 0.5f + m->nodes[d].dy[i] * (train ? k : 1.0f);
    }
    CHECK(ok);
    CHECK(train || masked == 0);
}

TEST(backward_is_dy_times_mask)
{
    int in, d;
    const float rate = 0.25f;
    fv_model *m = dropout_model(rate, 11, &in, &d);
    m->training = 1;
    fv_graph_forward(m, N, d);
    int dropped = 0;
    for (int i = 0; i < N * F; i++)
        dropped += m->nodes[d].y[i] == 0.0f;
    CHECK(dropped > 0 && dropped < N * F);
    check_backward(m, in, d, rate, 1);
    m->training = 0; /* evaluation: identity forward and backward */
    fv_graph_forward(m, N, d);
    check_backward(m, in, d, rate, 0);
    fv_model_free(m);
}

TEST(rate_zero_is_identity_in_training)
{
    int in, d;
    fv_model *m = dropout_model(0.0f, 11, &in, &d);
    m->training = 1;
    fv_graph_forward(m, N, d);
    check_backward(m, in, d, 0.0f, 0);
    fv_model_free(m);
}

static void draw(fv_model *m, int d, float *out)
{
    fv_graph_forward(m, N, d);
    memcpy(out, m->nodes[d].y, sizeof(float) * N * F);
}

TEST(masks_follow_the_seed)
{
    int in, d, in2, d2, in3, d3;
    fv_model *a = dropout_model(0.5f, 21, &in, &d), *b = dropout_model(0.5f, 21, &in2, &d2);
    fv_model *c = dropout_model(0.5f, 22, &in3, &d3);
    a->training = b->training = c->training = 1;
    float ya[N * F], ya2[N * F], yb[N * F], yc[N * F];
    draw(a, d, ya), draw(a, d, ya2), draw(b, d2, yb), draw(c, d3, yc);
    CHECK(memcmp(ya, yb, sizeof ya) == 0);  /* same seed, same first mask */
    CHECK(memcmp(ya, ya2, sizeof ya) != 0); /* the next step draws a new one */
    CHECK(memcmp(ya, yc, sizeof ya) != 0);  /* another seed, another mask */
    draw(b, d2, yb);
    CHECK(memcmp(ya2, yb, sizeof ya2) == 0);
    fv_model_free(a), fv_model_free(b), fv_model_free(c);
}

int main(void)
{
    RUN(backward_is_dy_times_mask);
    RUN(rate_zero_is_identity_in_training);
    RUN(masks_follow_the_seed);
    TEST_MAIN_END();
}
