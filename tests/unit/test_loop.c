/* test_loop.c - the custom training loop (nn/loop.c): a loop computing softmax cross-entropy
 * itself trains exactly as fv_model_train_batch (SGD momentum and Adam, batch norm in training
 * mode); input and parameter gradients against central differences of a double-precision copy
 * of a small model; a head model's input gradient fed to a backbone gives the gradients of the
 * joined model; a gradient given for an inner node adds to what later layers send back;
 * backward accumulates, zero_grad clears, frozen layers stay; every misuse is an error. */
#include "core/internal.h"
#include "gradcheck.h"
#include "test.h"

/* ---------------------------------------------------------------- helpers */

/* Copies every parameter of `from` into the parameter of the same name in `to`. */
static void copy_params(fv_model *to, const fv_model *from)
{
    for (int i = 0; i < from->nparams; i++)
        for (int j = 0; j < to->nparams; j++)
            if (strcmp(from->params[i].name, to->params[j].name) == 0)
                memcpy(to->data_slab + to->params[j].offset,
                       from->data_slab + from->params[i].offset,
                       sizeof(float) * (size_t)from->params[i].numel);
}

/* The gradient of the parameter `name`, or NULL. */
static const float *grad_of(const fv_model *m, const char *name, int64_t *numel)
{
    for (int i = 0; i < m->nparams; i++)
        if (strcmp(m->params[i].name, name) == 0) {
            *numel = m->params[i].numel;
            return m->params[i].trainable ? m->grad_slab + m->params[i].offset : NULL;
        }
    return NULL;
}

/* dL/dlogits of the mean softmax cross-entropy over n rows of k: (softmax - onehot) / n. */
static void ce_grad(const float *logits, const float *y, int n, int k, float *dy)
{
    for (int i = 0; i < n; i++) {
        const float *z = logits + i * k;
        double mx = z[0], s = 0;
        for (int j = 1; j < k; j++)
            mx = z[j] > mx ? z[j] : mx;
        for (int j = 0; j < k; j++)
            s += exp(z[j] - mx);
        for (int j = 0; j < k; j++)
            dy[i * k + j] = (float)((exp(z[j] - mx) / s - (j == (int)y[i])) / n);
    }
}

static void fill(float *v, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

/* ---------------------------------------------------------------- same as train_batch */

static fv_model *lenet(fv_optimizer opt)
{
    fv_model *m = fv_model_new("lenet");
    int x = fv_input(m, .ndim = 3, .dims = {1, 8, 8});
    /* no bias before batch norm: its gradient is rounding noise, which Adam would scale up */
    x = fv_conv2d(m, x, .filters = 4, .kernel = 3, .no_bias = 1, .name = "conv");
    x = fv_batchnorm(m, x, .name = "bn");
    x = fv_activation(m, x, FV_ACT_RELU);
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_dense(m, fv_flatten(m, x), .units = 8, .activation = FV_ACT_TANH, .name = "fc1");
    fv_dense(m, x, .units = 3, .name = "fc2");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = opt, .seed = 5),
                 FV_OK);
    return m;
}

/* Five steps of batches of 4, 3, 4, 2, 4 samples (n varies) in both ways. */
static void same_as_train_batch(fv_optimizer opt)
{
    fv_model *a = lenet(opt), *b = lenet(opt);
    float x[4 * 64], y[4], dy[4 * 3];
    const int sizes[5] = {4, 3, 4, 2, 4};
    fv_model_set_training(b, 1);
    for (int s = 0; s < 5; s++) {
        int n = sizes[s];
        fill(x, n * 64, 100u + (unsigned)s);
        for (int i = 0; i < n; i++)
            y[i] = (float)((i + s) % 3);
        CHECK_STATUS(fv_model_train_batch(a, x, y, n, NULL, NULL), FV_OK);
        CHECK_STATUS(fv_model_forward(b, x, n), FV_OK);
        const float *logits = fv_model_node_output(b, -1);
        CHECK(logits != NULL);
        if (!logits)
            break;
        ce_grad(logits, y, n, 3, dy);
        CHECK_STATUS(fv_model_backward(b, 1, (int[]){-1}, (const float *const[]){dy}, NULL),
                     FV_OK);
        CHECK_STATUS(fv_model_step(b), FV_OK);
    }
    /* all parameters: the trained ones and batch norm's running statistics */
    CHECK_ARRAY_NEAR(b->data_slab, a->data_slab, a->param_total, 1e-6, 1e-6);
    float *ref = malloc(sizeof(float) * (size_t)a->param_total);
    memcpy(ref, a->data_slab, sizeof(float) * (size_t)a->param_total);
    fv_model *fresh = lenet(opt); /* the test can fail: training moved the weights */
    double moved = 0;
    for (int64_t i = 0; i < a->param_total; i++)
        moved = fmax(moved, fabs((double)ref[i] - (double)fresh->data_slab[i]));
    CHECK(moved > 1e-3);
    free(ref);
    fv_model_free(fresh), fv_model_free(a), fv_model_free(b);
}

TEST(custom_ce_loop_matches_train_batch_sgd)
{
    same_as_train_batch(fv_sgd(.lr = 0.1f, .momentum = 0.9f));
}

TEST(custom_ce_loop_matches_train_batch_adam)
{
    same_as_train_batch(fv_adam(.lr = 0.01f));
}

/* ---------------------------------------------------------------- against a double model */

/* x (4) -> h = dense(3) -> tanh -> out = dense(2); node ids of h and out in *h, *out. */
static fv_model *small(int *h, int *out)
{
    fv_model *m = fv_model_new("small");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    *h = fv_dense(m, x, .units = 3, .name = "d1");
    int t = fv_activation(m, *h, FV_ACT_TANH);
    *out = fv_dense(m, t, .units = 2, .name = "d2");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .optimizer = fv_sgd(.lr = 0.1f),
                                  .seed = 3), FV_OK);
    return m;
}

/* The double copy: v = [x (N x 4) | W1 (3x4) | b1 (3) | W2 (2x3) | b2 (2)]; y = [out | h]. */
#define NS 2
#define NX (NS * 4)
#define NV (NX + 12 + 3 + 6 + 2)
static void small_double(void *ctx, double *y)
{
    const double *v = ctx, *w1 = v + NX, *b1 = w1 + 12, *w2 = b1 + 3, *b2 = w2 + 6;
    for (int s = 0; s < NS; s++) {
        double h[3];
        for (int u = 0; u < 3; u++) {
            h[u] = b1[u];
            for (int k = 0; k < 4; k++)
                h[u] += w1[u * 4 + k] * v[s * 4 + k];
            y[NS * 2 + s * 3 + u] = h[u];
        }
        for (int u = 0; u < 2; u++) {
            double o = b2[u];
            for (int k = 0; k < 3; k++)
                o += w2[u * 3 + k] * tanh(h[k]);
            y[s * 2 + u] = o;
        }
    }
}

/* x, then the model's parameters (grads 0) or their gradients (grads 1), into v in the order of
 * small_double: the point of the check, or its analytic gradient (x then dx). */
static void gather(const fv_model *m, const float *x, int grads, double *v)
{
    static const char *names[4] = {"d1.weight", "d1.bias", "d2.weight", "d2.bias"};
    for (int i = 0; i < NX; i++)
        v[i] = x[i];
    int at = NX;
    for (int p = 0; p < 4; p++) {
        int64_t cnt = 0;
        const float *g = grad_of(m, names[p], &cnt);
        CHECK(g != NULL && at + cnt <= NV);
        const float *src = g && !grads ? m->data_slab + (g - m->grad_slab) : g;
        for (int64_t i = 0; g && i < cnt && at < NV; i++)
            v[at++] = src[i];
    }
}

/* Seeds r_out on the output and, with `inner`, r_h on h; checks dx and every parameter
 * gradient against central differences of sum(r_out out) + sum(r_h h) in double. */
static void check_small(int inner)
{
    int h, out;
    fv_model *m = small(&h, &out);
    float x[NX], r_out[NS * 2], r_h[NS * 3], dx[NX];
    fill(x, NX, 7), fill(r_out, NS * 2, 8), fill(r_h, NS * 3, 9);
    CHECK_STATUS(fv_model_forward(m, x, NS), FV_OK);
    int nodes[2] = {out, h};
    const float *dys[2] = {r_out, r_h};
    CHECK_STATUS(fv_model_backward(m, inner ? 2 : 1, nodes, dys, dx), FV_OK);
    double v[NV], a[NV], r[NS * 5] = {0};
    for (int i = 0; i < NS * 2; i++)
        r[i] = r_out[i];
    for (int i = 0; inner && i < NS * 3; i++)
        r[NS * 2 + i] = r_h[i];
    gather(m, x, 0, v);
    gather(m, dx, 1, a);
    double worst = gc_compare(v, small_double, v, NV, NS * 5, r, a, 1e-6);
    CHECK(worst < 1e-5); /* float gradients against double differences */
    fv_model_free(m);
}

TEST(input_and_parameter_gradients_match_finite_differences)
{
    check_small(0);
}

TEST(inner_node_gradient_adds_to_later_layers)
{
    check_small(1);
    /* and it matters: with the inner seed the gradients differ from without it */
    int h, out;
    fv_model *m = small(&h, &out);
    float x[NX], r_out[NS * 2], r_h[NS * 3], dx1[NX], dx2[NX];
    fill(x, NX, 7), fill(r_out, NS * 2, 8), fill(r_h, NS * 3, 9);
    CHECK_STATUS(fv_model_forward(m, x, NS), FV_OK);
    CHECK_STATUS(fv_model_backward(m, 1, &out, (const float *const[]){r_out}, dx1), FV_OK);
    CHECK_STATUS(fv_model_backward(m, 1, &h, (const float *const[]){r_h}, dx2), FV_OK);
    /* linearity: seeding both at once equals the two passes summed (dx and the gradients) */
    float *g2 = malloc(sizeof(float) * (size_t)m->trainable_total);
    memcpy(g2, m->grad_slab, sizeof(float) * (size_t)m->trainable_total);
    fv_model_zero_grad(m);
    float both[NX];
    CHECK_STATUS(fv_model_backward(m, 2, (int[]){h, out}, (const float *const[]){r_h, r_out},
                                   both), FV_OK);
    for (int i = 0; i < NX; i++)
        dx2[i] += dx1[i];
    CHECK_ARRAY_NEAR(both, dx2, NX, 1e-6, 1e-5);
    CHECK_ARRAY_NEAR(m->grad_slab, g2, m->trainable_total, 1e-6, 1e-5);
    free(g2);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- chained models */

TEST(chained_models_match_the_joined_model)
{
    fv_model *ab = fv_model_new("ab"), *a = fv_model_new("a"), *b = fv_model_new("b");
    int x = fv_input(ab, .ndim = 3, .dims = {2, 6, 6});
    x = fv_conv2d(ab, x, .filters = 3, .kernel = 3, .activation = FV_ACT_RELU, .name = "c");
    fv_dense(ab, fv_flatten(ab, x), .units = 4, .name = "fc");
    CHECK_STATUS(fv_model_compile(ab, .loss = FV_LOSS_SOFTMAX_CE,
                                  .optimizer = fv_sgd(.lr = 0.1f), .seed = 11), FV_OK);
    x = fv_input(a, .ndim = 3, .dims = {2, 6, 6});
    fv_conv2d(a, x, .filters = 3, .kernel = 3, .activation = FV_ACT_RELU, .name = "c");
    CHECK_STATUS(fv_model_compile(a, .loss = FV_LOSS_NONE, .optimizer = fv_sgd(.lr = 0.1f)),
                 FV_OK);
    x = fv_input(b, .ndim = 3, .dims = {3, 4, 4});
    fv_dense(b, fv_flatten(b, x), .units = 4, .name = "fc");
    CHECK_STATUS(fv_model_compile(b, .loss = FV_LOSS_NONE, .optimizer = fv_sgd(.lr = 0.1f)),
                 FV_OK);
    copy_params(a, ab), copy_params(b, ab);
    enum { N = 3 };
    float in[N * 72], y[N] = {0, 3, 1}, dy[N * 4], db[N * 48];
    fill(in, N * 72, 21);
    CHECK_STATUS(fv_model_forward(a, in, N), FV_OK);
    CHECK_STATUS(fv_model_forward(b, fv_model_node_output(a, -1), N), FV_OK);
    ce_grad(fv_model_node_output(b, -1), y, N, 4, dy);
    CHECK_STATUS(fv_model_backward(b, 1, (int[]){-1}, (const float *const[]){dy}, db), FV_OK);
    CHECK_STATUS(fv_model_backward(a, 1, (int[]){-1}, (const float *const[]){db}, NULL), FV_OK);
    CHECK_STATUS(fv_model_train_batch(ab, in, y, N, NULL, NULL), FV_OK); /* leaves its grads */
    static const char *names[4] = {"c.weight", "c.bias", "fc.weight", "fc.bias"};
    for (int p = 0; p < 4; p++) {
        int64_t n1 = 0, n2 = 0;
        const float *want = grad_of(ab, names[p], &n1);
        const float *got = grad_of(p < 2 ? a : b, names[p], &n2);
        CHECK(want && got && n1 == n2 && n1 > 0);
        if (want && got)
            CHECK_ARRAY_NEAR(got, want, n1, 1e-6, 1e-5);
        double norm = 0;
        for (int64_t i = 0; want && i < n1; i++)
            norm += fabs(want[i]);
        CHECK(norm > 1e-4); /* a real gradient reached every layer */
    }
    /* compiled without a loss, a keeps its optimizer (SGD, lr 0.1): w -= 0.1 g */
    int64_t nw = a->trainable_total;
    float *w = malloc(sizeof(float) * (size_t)nw), *g = malloc(sizeof(float) * (size_t)nw);
    memcpy(w, a->data_slab, sizeof(float) * (size_t)nw);
    memcpy(g, a->grad_slab, sizeof(float) * (size_t)nw);
    CHECK_STATUS(fv_model_step(a), FV_OK);
    for (int64_t i = 0; i < nw; i++)
        CHECK_NEAR(a->data_slab[i], w[i] - 0.1f * g[i], 1e-7, 1e-6);
    free(w), free(g);
    fv_model_free(ab), fv_model_free(a), fv_model_free(b);
}

/* ---------------------------------------------------------------- accumulation, freezing */

TEST(backward_accumulates_zero_grad_clears_frozen_stay)
{
    fv_model *m = lenet(fv_sgd(.lr = 0.1f));
    float x[2 * 64], dy[2 * 3];
    fill(x, 2 * 64, 31), fill(dy, 2 * 3, 32);
    fv_model_set_training(m, 1);
    CHECK_STATUS(fv_model_forward(m, x, 2), FV_OK);
    const float *const dys[1] = {dy};
    CHECK_STATUS(fv_model_backward(m, 1, (int[]){-1}, dys, NULL), FV_OK);
    int64_t nt = m->trainable_total;
    float *g1 = malloc(sizeof(float) * (size_t)nt);
    memcpy(g1, m->grad_slab, sizeof(float) * (size_t)nt);
    CHECK_STATUS(fv_model_backward(m, 1, (int[]){-1}, dys, NULL), FV_OK);
    double most = 0;
    for (int64_t i = 0; i < nt; i++) {
        CHECK_NEAR(m->grad_slab[i], 2 * g1[i], 1e-7, 1e-5);
        most = fmax(most, fabs(g1[i]));
    }
    CHECK(most > 1e-4);
    fv_model_zero_grad(m);
    for (int64_t i = 0; i < nt; i++)
        CHECK(m->grad_slab[i] == 0.0f);
    /* a frozen layer does not move at a step; the others do */
    CHECK_STATUS(fv_model_set_trainable(m, "conv", 0), FV_OK);
    float *before = malloc(sizeof(float) * (size_t)m->param_total);
    memcpy(before, m->data_slab, sizeof(float) * (size_t)m->param_total);
    CHECK_STATUS(fv_model_forward(m, x, 2), FV_OK);
    CHECK_STATUS(fv_model_backward(m, 1, (int[]){-1}, dys, NULL), FV_OK);
    CHECK_STATUS(fv_model_step(m), FV_OK);
    for (int i = 0; i < m->nparams; i++) {
        const fv_param *p = &m->params[i];
        int same = memcmp(before + p->offset, m->data_slab + p->offset,
                          sizeof(float) * (size_t)p->numel) == 0;
        if (strncmp(p->name, "conv.", 5) == 0)
            CHECK(same);
        if (strncmp(p->name, "fc", 2) == 0)
            CHECK(!same);
    }
    for (int64_t i = 0; i < nt; i++) /* step cleared the gradients */
        CHECK(m->grad_slab[i] == 0.0f);
    free(before), free(g1);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- errors */

TEST(misuse_is_an_error)
{
    int h, out;
    fv_model *m = small(&h, &out);
    float x[NX], dy[NS * 3], dx[NX];
    fill(x, NX, 41), fill(dy, NS * 3, 42);
    const float *const one[1] = {dy};
    CHECK_STATUS(fv_model_backward(m, 1, &out, one, NULL), FV_ERR_STATE);
    CHECK_ERR_HAS("before fv_model_forward");
    CHECK(fv_model_node_output(m, -1) == NULL);
    CHECK_STATUS(fv_model_forward(m, x, 0), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_forward(m, NULL, 2), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_forward(m, x, NS), FV_OK);
    CHECK_STATUS(fv_model_backward(m, 1, (int[]){99}, one, NULL), FV_ERR_INVALID);
    CHECK_ERR_HAS("no node 99");
    CHECK_STATUS(fv_model_backward(m, 1, (int[]){-2}, one, NULL), FV_ERR_INVALID);
    CHECK(fv_model_node_output(m, 99) == NULL);
    CHECK_STATUS(fv_model_backward(m, 2, (int[]){h, h}, (const float *const[]){dy, dy}, NULL),
                 FV_ERR_INVALID);
    CHECK_ERR_HAS("listed twice");
    dy[4] = NAN;
    CHECK_STATUS(fv_model_backward(m, 1, &h, one, NULL), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("'d1') is nan at index 4");
    dy[4] = 0.5f;
    for (int64_t i = 0; i < m->trainable_total; i++) /* the refused calls added nothing */
        CHECK(m->grad_slab[i] == 0.0f);
    CHECK_STATUS(fv_model_backward(m, 1, &h, one, dx), FV_OK); /* still usable */
    /* another pass over the buffers since the forward: refused */
    fv_tensor *p = NULL;
    fv_tensor *t = fv_tensor_new(2, (int64_t[]){NS, 4});
    memcpy(t->data, x, sizeof x);
    CHECK_STATUS(fv_model_predict(m, t, &p), FV_OK);
    CHECK_STATUS(fv_model_backward(m, 1, &h, one, NULL), FV_ERR_STATE);
    fv_tensor_free(p), fv_tensor_free(t);
    fv_model_free(m);
}

int main(void)
{
    RUN(custom_ce_loop_matches_train_batch_sgd);
    RUN(custom_ce_loop_matches_train_batch_adam);
    RUN(input_and_parameter_gradients_match_finite_differences);
    RUN(inner_node_gradient_adds_to_later_layers);
    RUN(chained_models_match_the_joined_model);
    RUN(backward_accumulates_zero_grad_clears_frozen_stay);
    RUN(misuse_is_an_error);
    TEST_MAIN_END();
}
