/* test_model.c - the model API: LeNet-5's 61,706 parameters and summary, compile/fit/evaluate/
 * predict on a learnable synthetic task, weights round trip and weight-file errors, NaN stop,
 * bad targets, and the metrics CSV. */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"
#include "testfs.h"

#include <unistd.h>

static fv_model *lenet5(void)
{
    fv_model *m = fv_model_new("lenet5");
    fv_input(m, .ndim = 3, .dims = {1, 28, 28});
    fv_conv2d(m, FV_LAST, .filters = 6, .kernel = 5, .padding = 2, .activation = FV_ACT_RELU,
              .name = "conv1");
    fv_maxpool2d(m, FV_LAST, .size = 2);
    fv_conv2d(m, FV_LAST, .filters = 16, .kernel = 5, .activation = FV_ACT_RELU, .name = "conv2");
    fv_maxpool2d(m, FV_LAST, .size = 2);
    fv_flatten(m, FV_LAST);
    fv_dense(m, FV_LAST, .units = 120, .activation = FV_ACT_RELU, .name = "fc1");
    fv_dense(m, FV_LAST, .units = 84, .activation = FV_ACT_RELU, .name = "fc2");
    if (fv_dense(m, FV_LAST, .units = 10, .name = "fc3") < 0) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

TEST(lenet5_has_61706_params_and_a_summary)
{
    fv_model *m = lenet5();
    CHECK(m != NULL);
    if (!m)
        return;
    int64_t total, tr, nt;
    fv_model_count_params(m, &total, &tr, &nt);
    CHECK(total == 61706 && tr == 61706 && nt == 0);
    char buf[8192] = {0};
    FILE *f = fmemopen(buf, sizeof buf - 1, "w");
    CHECK_STATUS(fv_model_summary(m, f), FV_OK);
    fclose(f);
    CHECK(strstr(buf, "Total params: 61,706") != NULL);
    CHECK(strstr(buf, "conv1 (Conv2D)") != NULL);
    CHECK(strstr(buf, "(None, 6, 28, 28)") != NULL);
    CHECK(strstr(buf, "(None, 16, 10, 10)") != NULL);
    CHECK(strstr(buf, "156") != NULL);    /* conv1: 6*25 + 6 */
    CHECK(strstr(buf, "48,120") != NULL); /* fc1: 400*120 + 120 */
    fv_model_free(m);
}

/* Two classes of 1x8x8 images: a bright left half or a bright right half, with noise. */
static fv_dataset *halves(int n, uint64_t seed)
{
    fv_dataset *d = fv_calloc(1, sizeof *d, "dataset");
    d->x = fv_tensor_new4(n, 1, 8, 8);
    int64_t dn[1] = {n};
    d->y = fv_tensor_new(1, dn);
    d->num_classes = 2;
    fv_rng r;
    fv_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int k = (int)fv_rng_below(&r, 2);
        d->y->data[i] = (float)k;
        for (int p = 0; p < 64; p++)
            d->x->data[i * 64 + p] =
                (float)(((p % 8 < 4) == (k == 0)) + 0.3 * fv_rng_normal(&r));
    }
    return d;
}

static fv_model *small(void)
{
    fv_model *m = fv_model_new("small");
    fv_input(m, .ndim = 3, .dims = {1, 8, 8});
    fv_conv2d(m, FV_LAST, .filters = 4, .kernel = 3, .activation = FV_ACT_RELU);
    fv_maxpool2d(m, FV_LAST);
    fv_flatten(m, FV_LAST);
    fv_dense(m, FV_LAST, .units = 2, .name = "out");
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f),
                         .seed = 1) != FV_OK) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

TEST(fit_learns_and_writes_metrics)
{
    fv_dataset *tr = halves(512, 1), *va = halves(128, 2);
    fv_model *m = small();
    CHECK(m != NULL);
    fv_epoch_metrics h[3];
    CHECK_STATUS(fv_model_fit(m, tr, .epochs = 3, .batch_size = 32, .validation = va, .seed = 5,
                              .csv_path = t_path("metrics.csv"), .history = h),
                 FV_OK);
    CHECK(h[2].accuracy > 0.95 && h[2].val_accuracy > 0.95 && h[2].loss < h[0].loss);
    double loss, acc;
    CHECK_STATUS(fv_model_evaluate(m, va, 0, &loss, &acc), FV_OK);
    CHECK_NEAR(acc, h[2].val_accuracy, 1e-9, 0);
    FILE *f = fopen(t_path("metrics.csv"), "r");
    CHECK(f != NULL);
    if (f) {
        char line[256];
        int lines = 0;
        while (fgets(line, sizeof line, f))
            lines++;
        fclose(f);
        CHECK(lines == 4);
    }
    fv_tensor *out = NULL;
    CHECK_STATUS(fv_model_predict(m, va->x, &out), FV_OK);
    CHECK(out && out->dims[0] == 128 && out->dims[1] == 2);
    fv_tensor_free(out);
    fv_model_free(m);
    fv_dataset_free(tr), fv_dataset_free(va);
}

TEST(same_seed_same_weights)
{
    fv_dataset *tr = halves(128, 1);
    fv_model *a = small(), *b = small();
    fv_model_fit(a, tr, .epochs = 1, .batch_size = 16, .seed = 9);
    fv_model_fit(b, tr, .epochs = 1, .batch_size = 16, .seed = 9);
    CHECK(memcmp(a->data_slab, b->data_slab, sizeof(float) * (size_t)a->param_total) == 0);
    fv_model_free(a), fv_model_free(b);
    fv_dataset_free(tr);
}

TEST(weights_round_trip_and_errors)
{
    fv_model *a = small(), *b = small();
    for (int64_t i = 0; i < a->param_total; i++)
        a->data_slab[i] = (float)i * 0.001f;
    CHECK_STATUS(fv_model_save_weights(a, t_path("w.safetensors")), FV_OK);
    CHECK_STATUS(fv_model_load_weights(b, t_path("w.safetensors")), FV_OK);
    CHECK(memcmp(a->data_slab, b->data_slab, sizeof(float) * (size_t)a->param_total) == 0);
    /* a file lacking out.bias, and one with a mis-shaped out.weight: b stays unchanged */
    fv_tensor *w = fv_tensor_new(2, (int64_t[]){2, 64});
    const char *n1[1] = {"conv2d1.weight"};
    const fv_tensor *t1[1] = {w};
    CHECK_STATUS(fv_st_save(t_path("missing.safetensors"), 1, n1, t1), FV_OK);
    CHECK_STATUS(fv_model_load_weights(b, t_path("missing.safetensors")), FV_ERR_SHAPE);
    CHECK_ERR_HAS("conv2d1.weight");
    CHECK_ERR_HAS("(2, 64)");
    CHECK(memcmp(a->data_slab, b->data_slab, sizeof(float) * (size_t)a->param_total) == 0);
    fv_model *c = fv_model_new("other");
    fv_input(c, .ndim = 1, .dims = {3});
    fv_dense(c, FV_LAST, .units = 2, .name = "head");
    fv_model_compile(c, .loss = FV_LOSS_MSE, .optimizer = fv_sgd());
    CHECK_STATUS(fv_model_load_weights(c, t_path("w.safetensors")), FV_ERR_FORMAT);
    CHECK_ERR_HAS("missing tensor 'head.weight'");
    CHECK_STATUS(fv_model_load_weights(c, t_path("absent.safetensors")), FV_ERR_IO);
    /* saving into a missing directory fails and leaves nothing */
    CHECK(fv_model_save_weights(a, t_path("no/such/dir/w.safetensors")) != FV_OK);
    CHECK(access(t_path("no/such/dir/w.safetensors"), F_OK) != 0);
    fv_tensor_free(w);
    fv_model_free(a), fv_model_free(b), fv_model_free(c);
}

TEST(nan_stops_training_with_epoch_and_batch)
{
    fv_dataset *tr = halves(64, 1);
    tr->x->data[40 * 64 + 3] = NAN;
    fv_model *m = small();
    CHECK_STATUS(fv_model_fit(m, tr, .epochs = 2, .batch_size = 16, .no_shuffle = 1),
                 FV_ERR_NUMERIC);
    CHECK_ERR_HAS("epoch 1, batch 3");
    fv_model_free(m);
    fv_dataset_free(tr);
}

TEST(bad_targets_and_shapes_are_errors)
{
    fv_dataset *tr = halves(32, 1);
    fv_model *m = small();
    tr->y->data[5] = 2.0f;
    CHECK_STATUS(fv_model_fit(m, tr), FV_ERR_INVALID);
    CHECK_ERR_HAS("target 5");
    tr->y->data[5] = 0.5f;
    CHECK_STATUS(fv_model_fit(m, tr), FV_ERR_INVALID);
    fv_tensor *x = fv_tensor_new4(2, 1, 9, 9);
    fv_tensor *out = NULL;
    CHECK_STATUS(fv_model_predict(m, x, &out), FV_ERR_SHAPE);
    CHECK_ERR_HAS("(2, 1, 9, 9)");
    fv_tensor_free(x);
    fv_model *u = fv_model_new("u");
    fv_input(u, .ndim = 1, .dims = {2});
    fv_dense(u, FV_LAST, .units = 2);
    CHECK_STATUS(fv_model_fit(u, tr), FV_ERR_STATE);
    CHECK_ERR_HAS("compile");
    fv_model_free(u);
    fv_model_free(m);
    fv_dataset_free(tr);
}

T_MAIN_SCRATCH("/tmp/fv_model_XXXXXX", T_TEST(lenet5_has_61706_params_and_a_summary),
               T_TEST(fit_learns_and_writes_metrics), T_TEST(same_seed_same_weights),
               T_TEST(weights_round_trip_and_errors),
               T_TEST(nan_stops_training_with_epoch_and_batch),
               T_TEST(bad_targets_and_shapes_are_errors))
