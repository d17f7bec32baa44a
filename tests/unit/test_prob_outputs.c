/* test_prob_outputs.c - models that end in a softmax (or sigmoid) compiled with a logit loss
 * (Keras' habit: `dense units=10 activation=softmax` with softmax cross-entropy): the loss reads
 * the logits, so loss, gradients and training equal the logits model's, predict returns
 * probabilities that fv_model_predict_proba does not softmax again, and saliency and class models
 * differentiate the logits. */
#include "core/internal.h"
#include "test.h"

#include <sys/stat.h>

#define IN 12
#define K 5
#define N 16

/* IN -> 8 (relu) -> k, written as model text; `last` is appended to the output layer's line
 * (e.g. " activation=softmax"), `extra` is one more line (e.g. "softmax"). */
static fv_model *mlp(const char *last, const char *extra, int k)
{
    char text[512];
    snprintf(text, sizeof text,
             "input shape=%d\ndense units=8 activation=relu name=fc1\n"
             "dense units=%d name=fc2%s\n%s\n", IN, k, last, extra);
    fv_model *m = fv_model_parse(text, "mlp");
    if (!m)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

static void fill(float *x, int64_t n, uint64_t seed, float scale)
{
    fv_rng r;
    fv_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++)
        x[i] = scale * (float)(fv_rng_uniform(&r) * 2 - 1);
}

/* Gradient slabs (every trainable parameter's) of two compiled models, compared. */
static void check_same_grads(const fv_model *a, const fv_model *b)
{
    CHECK(fv_model_num_params(a) == fv_model_num_params(b));
    for (int i = 0; i < fv_model_num_params(a) && i < fv_model_num_params(b); i++) {
        fv_param_info pa, pb;
        CHECK_STATUS(fv_model_param(a, i, &pa), FV_OK);
        CHECK_STATUS(fv_model_param(b, i, &pb), FV_OK);
        CHECK(pa.numel == pb.numel && pa.grad && pb.grad);
        if (pa.grad && pb.grad && pa.numel == pb.numel)
            CHECK_ARRAY_NEAR(pb.grad, pa.grad, pa.numel, 1e-7, 1e-4);
    }
}

/* One step of SGD on the same batch: the same loss, gradients and weights. */
static void same_step(fv_model *a, fv_model *b, fv_loss loss, int k, const float *y)
{
    fv_optimizer sgd = fv_sgd(.lr = 0.1f);
    CHECK_STATUS(fv_model_compile(a, .loss = loss, .optimizer = sgd, .seed = 3), FV_OK);
    CHECK_STATUS(fv_model_compile(b, .loss = loss, .optimizer = sgd, .seed = 3), FV_OK);
    float x[N * IN];
    fill(x, N * IN, 7, 2.0f);
    double la = 0, lb = 0;
    CHECK_STATUS(fv_model_train_batch(a, x, y, N, &la, NULL), FV_OK);
    CHECK_STATUS(fv_model_train_batch(b, x, y, N, &lb, NULL), FV_OK);
    CHECK(la > 0.1); /* a loss, not a degenerate 0 */
    CHECK_NEAR(lb, la, 1e-7, 1e-5);
    check_same_grads(a, b);
    (void)k;
}

TEST(softmax_output_with_softmax_ce_equals_logits)
{
    float y[N];
    for (int i = 0; i < N; i++)
        y[i] = (float)(i % K);
    /* folded (activation=softmax) and a softmax layer of its own */
    const char *const last[2] = {" activation=softmax", ""}, *const extra[2] = {"", "softmax"};
    for (int v = 0; v < 2; v++) {
        fv_model *a = mlp("", "", K), *b = mlp(last[v], extra[v], K);
        CHECK(a && b);
        if (a && b)
            same_step(a, b, FV_LOSS_SOFTMAX_CE, K, y);
        fv_model_free(a), fv_model_free(b);
    }
}

TEST(softmax_output_with_categorical_ce_equals_logits)
{
    float y[N * K];
    fill(y, N * K, 11, 1.0f);
    for (int i = 0; i < N; i++) { /* soft targets: rows of |u| normalized */
        double s = 0;
        for (int j = 0; j < K; j++)
            s += y[i * K + j] = fabsf(y[i * K + j]) + 0.01f;
        for (int j = 0; j < K; j++)
            y[i * K + j] = (float)(y[i * K + j] / s);
    }
    fv_model *a = mlp("", "", K), *b = mlp(" activation=softmax", "", K);
    CHECK(a && b);
    if (a && b)
        same_step(a, b, FV_LOSS_CATEGORICAL_CE, K, y);
    fv_model_free(a), fv_model_free(b);
}

TEST(sigmoid_output_with_bce_logits_equals_logits)
{
    float y[N * 3];
    for (int i = 0; i < N * 3; i++)
        y[i] = (float)((i * 7) % 3 == 0);
    fv_model *a = mlp("", "", 3), *b = mlp(" activation=sigmoid", "", 3);
    CHECK(a && b);
    if (a && b)
        same_step(a, b, FV_LOSS_BCE_LOGITS, 3, y);
    /* predict_proba: the logits model through a sigmoid, the sigmoid model as it is */
    int64_t dims[2] = {N, IN};
    fv_tensor *x = fv_tensor_new(2, dims), *pa = NULL, *pb = NULL, *ob = NULL;
    fill(x->data, N * IN, 5, 1.0f);
    CHECK_STATUS(fv_model_predict_proba(a, x, &pa), FV_OK);
    CHECK_STATUS(fv_model_predict_proba(b, x, &pb), FV_OK);
    CHECK_STATUS(fv_model_predict(b, x, &ob), FV_OK);
    if (pa && pb && ob) {
        CHECK_ARRAY_NEAR(pb->data, pa->data, N * 3, 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(pb->data, ob->data, N * 3, 1e-12, 0);
    }
    fv_tensor_free(x), fv_tensor_free(pa), fv_tensor_free(pb), fv_tensor_free(ob);
    fv_model_free(a), fv_model_free(b);
}

/* predict of a softmax model: probabilities (rows sum to 1, softmax of the logits model's
 * outputs); predict_proba gives the same numbers for both models: no second softmax. */
TEST(predict_gives_probabilities_once)
{
    fv_model *a = mlp("", "", K), *b = mlp(" activation=softmax", "", K);
    CHECK(a && b);
    if (!a || !b) {
        fv_model_free(a), fv_model_free(b);
        return;
    }
    CHECK_STATUS(fv_model_compile(a, .loss = FV_LOSS_SOFTMAX_CE, .seed = 4), FV_OK);
    CHECK_STATUS(fv_model_compile(b, .loss = FV_LOSS_SOFTMAX_CE, .seed = 4), FV_OK);
    int64_t dims[2] = {N, IN};
    fv_tensor *x = fv_tensor_new(2, dims), *la = NULL, *pa = NULL, *ob = NULL, *pb = NULL;
    fill(x->data, N * IN, 9, 3.0f);
    CHECK_STATUS(fv_model_predict(a, x, &la), FV_OK);
    CHECK_STATUS(fv_model_predict_proba(a, x, &pa), FV_OK);
    CHECK_STATUS(fv_model_predict(b, x, &ob), FV_OK);
    CHECK_STATUS(fv_model_predict_proba(b, x, &pb), FV_OK);
    if (la && pa && ob && pb) {
        fv_softmax_rows(la->data, N, K);
        CHECK_ARRAY_NEAR(pa->data, la->data, N * K, 1e-12, 0);
        CHECK_ARRAY_NEAR(ob->data, la->data, N * K, 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(pb->data, ob->data, N * K, 1e-12, 0); /* not softmaxed again */
        double spread = 0;
        for (int i = 0; i < N; i++) {
            double s = 0, mx = 0, mn = 1;
            for (int j = 0; j < K; j++)
                s += pb->data[i * K + j], mx = fmax(mx, pb->data[i * K + j]),
                    mn = fmin(mn, pb->data[i * K + j]);
            CHECK_NEAR(s, 1.0, 1e-5, 0);
            spread = fmax(spread, mx - mn);
        }
        CHECK(spread > 0.05); /* a second softmax would flatten the rows toward 1/K */
    }
    fv_tensor_free(x), fv_tensor_free(la), fv_tensor_free(pa), fv_tensor_free(ob),
        fv_tensor_free(pb);
    fv_model_free(a), fv_model_free(b);
}

/* Saliency and class models differentiate the class score, the logit, also when the model ends
 * in a softmax: the same maps as the logits model's. */
TEST(visualizations_use_the_logits)
{
    const char *base = "input shape=1,8,8\nconv2d filters=3 kernel_size=3 activation=relu\n"
                       "flatten\ndense units=4";
    char ta[256], tb[256];
    snprintf(ta, sizeof ta, "%s\n", base);
    snprintf(tb, sizeof tb, "%s activation=softmax\n", base);
    fv_model *a = fv_model_parse(ta, "a"), *b = fv_model_parse(tb, "b");
    CHECK(a && b);
    if (!a || !b) {
        fv_model_free(a), fv_model_free(b);
        return;
    }
    CHECK_STATUS(fv_model_compile(a, .loss = FV_LOSS_SOFTMAX_CE, .seed = 6), FV_OK);
    CHECK_STATUS(fv_model_compile(b, .loss = FV_LOSS_SOFTMAX_CE, .seed = 6), FV_OK);
    fv_tensor *x = fv_tensor_new4(1, 1, 8, 8), *sa = NULL, *sb = NULL, *ca = NULL, *cb = NULL;
    fill(x->data, 64, 8, 1.0f);
    CHECK_STATUS(fv_saliency(a, x, 2, &sa), FV_OK);
    CHECK_STATUS(fv_saliency(b, x, 2, &sb), FV_OK);
    CHECK_STATUS(fv_class_model(a, 1, 5, 0.1f, 0.01f, &ca), FV_OK);
    CHECK_STATUS(fv_class_model(b, 1, 5, 0.1f, 0.01f, &cb), FV_OK);
    if (sa && sb && ca && cb) {
        CHECK_ARRAY_NEAR(sb->data, sa->data, 64, 1e-12, 0);
        CHECK_ARRAY_NEAR(cb->data, ca->data, 64, 1e-12, 0);
    }
    fv_tensor_free(x), fv_tensor_free(sa), fv_tensor_free(sb), fv_tensor_free(ca),
        fv_tensor_free(cb);
    fv_model_free(a), fv_model_free(b);
}

/* ---------------------------------------------------------------- training */

/* Fashion-MNIST's first n images when installed, else two Gaussian blobs per class in 784
 * dimensions (separable). */
static fv_dataset *data(int train, int64_t n)
{
    struct stat st;
    if (stat(fv_default_data_dir(), &st) == 0) {
        fv_dataset *d = fv_dataset_load_dir_n(fv_default_data_dir(), train, n);
        if (d && fv_dataset_normalize(d, 0.5f, 0.5f) == FV_OK)
            return d;
        fv_dataset_free(d);
        return NULL;
    }
    fv_dataset *d = fv_calloc(1, sizeof *d, "dataset");
    d->x = fv_tensor_new4(n, 1, 28, 28);
    d->y = fv_tensor_new(1, (int64_t[]){n});
    d->num_classes = 10;
    fill(d->x->data, n * 784, train ? 21 : 22, 1.0f);
    for (int64_t i = 0; i < n; i++) {
        int c = (int)(i % 10);
        d->y->data[i] = (float)c;
        for (int j = 0; j < 20; j++)
            d->x->data[i * 784 + c * 70 + j] += 2.0f;
    }
    return d;
}

static double train_and_test(const char *last, const fv_dataset *tr, const fv_dataset *te,
                             double *loss)
{
    char text[256];
    snprintf(text, sizeof text, "input shape=1,28,28\nflatten\ndense units=64 activation=relu\n"
             "dense units=10%s\n", last);
    fv_model *m = fv_model_parse(text, "fashion_mlp");
    double acc = -1;
    if (m && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 1e-3f),
                              .seed = 1) == FV_OK &&
        fv_model_fit(m, tr, .epochs = 3, .batch_size = 32, .seed = 2) == FV_OK)
        CHECK_STATUS(fv_model_evaluate(m, te, 0, loss, &acc), FV_OK);
    else
        fprintf(stderr, "%s\n", fv_last_error());
    fv_model_free(m);
    return acc;
}

/* A few hundred real images: the softmax model learns exactly as the logits model does. */
TEST(softmax_model_trains_like_logits_model)
{
    fv_dataset *tr = data(1, 600), *te = data(0, 300);
    CHECK(tr && te);
    if (tr && te) {
        double la, lb, a = train_and_test("", tr, te, &la);
        double b = train_and_test(" activation=softmax", tr, te, &lb);
        printf("600 training images, 300 test: logits %.4f (loss %.4f), softmax %.4f (loss "
               "%.4f)\n", a, la, b, lb);
        CHECK(a > 0.5);
        CHECK_NEAR(b, a, 0.01, 0);
        CHECK_NEAR(lb, la, 1e-3, 1e-3);
    }
    fv_dataset_free(tr), fv_dataset_free(te);
}

int main(void)
{
    RUN(softmax_output_with_softmax_ce_equals_logits);
    RUN(softmax_output_with_categorical_ce_equals_logits);
    RUN(sigmoid_output_with_bce_logits_equals_logits);
    RUN(predict_gives_probabilities_once);
    RUN(visualizations_use_the_logits);
    RUN(softmax_model_trains_like_logits_model);
    TEST_MAIN_END();
}
