/* test_threads.c - the thread pool and the parallel ops: every task runs exactly once for any
 * task and thread count, thread settings are validated, training is bit-identical across runs at
 * a fixed thread count and matches the single-threaded result within float round-off. */
#include "core/internal.h"
#include "test.h"

static int hits[1000];

static void count_task(void *ctx, int t)
{
    (void)ctx;
    __atomic_fetch_add(&hits[t], 1, __ATOMIC_RELAXED);
}

TEST(every_task_runs_once)
{
    for (int threads = 1; threads <= 5; threads++) {
        CHECK_STATUS(fv_set_num_threads(threads), FV_OK);
        CHECK(fv_num_threads() == threads);
        for (int n = 0; n <= 37; n += 1 + n / 4) {
            memset(hits, 0, sizeof hits);
            fv_parallel(n, count_task, NULL);
            int ok = 1;
            for (int t = 0; t < n; t++)
                ok &= hits[t] == 1;
            CHECK(ok);
        }
        CHECK(fv_parallel_width(1) == 1 && fv_parallel_width(100) == threads);
    }
    CHECK(fv_set_num_threads(-1) == FV_ERR_INVALID);
    CHECK_ERR_HAS("threads=-1");
    CHECK(fv_set_num_threads(65) == FV_ERR_INVALID);
    CHECK_STATUS(fv_set_num_threads(0), FV_OK);
    CHECK(fv_num_threads() >= 1);
}

/* A small CNN with every parallel op (conv, pool, relu, dense, Adam), trained 4 steps. */
static fv_model *train_small(int threads, float *loss_out)
{
    fv_set_num_threads(threads);
    fv_model *m = fv_model_new("par");
    int x = fv_input(m, .ndim = 3, .dims = {2, 12, 12});
    x = fv_conv2d(m, x, .filters = 5, .kernel = 3, .padding = 1, .activation = FV_ACT_RELU);
    x = fv_maxpool2d(m, x);
    x = fv_conv2d(m, x, .filters = 4, .kernel = 3, .groups = 1, .activation = FV_ACT_TANH);
    x = fv_avgpool2d(m, x);
    x = fv_dense(m, fv_flatten(m, x), .units = 7, .activation = FV_ACT_SIGMOID);
    x = fv_dense(m, x, .units = 3);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f),
                         .seed = 5) != FV_OK)
        return m;
    enum { N = 13 }; /* odd: uneven splits */
    float xs[N * 2 * 12 * 12], ys[N];
    fv_rng r;
    fv_rng_seed(&r, 3);
    for (int i = 0; i < N * 288; i++)
        xs[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < N; i++)
        ys[i] = (float)(i % 3);
    double loss = 0;
    for (int s = 0; s < 4; s++)
        CHECK_STATUS(fv_model_train_batch(m, xs, ys, N, &loss, NULL), FV_OK);
    *loss_out = (float)loss;
    return m;
}

TEST(training_is_deterministic_per_thread_count)
{
    float l1, l3a, l3b;
    fv_model *a = train_small(1, &l1), *b = train_small(3, &l3a), *c = train_small(3, &l3b);
    int64_t n = a->param_total;
    CHECK(n == b->param_total && n == c->param_total);
    CHECK(memcmp(b->data_slab, c->data_slab, sizeof(float) * (size_t)n) == 0 && l3a == l3b);
    CHECK_ARRAY_NEAR(b->data_slab, a->data_slab, n, 1e-5, 1e-4);
    CHECK_NEAR(l3a, l1, 1e-5, 1e-4);
    fv_model_free(a), fv_model_free(b), fv_model_free(c);
    fv_set_num_threads(0);
}

int main(void)
{
    RUN(every_task_runs_once);
    RUN(training_is_deterministic_per_thread_count);
    TEST_MAIN_END();
}
