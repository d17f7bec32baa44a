/* lenet5.c - the C API end to end: build LeNet-5 layer by layer, train it on Fashion-MNIST, report
 * the test accuracy and save the weights. The README's API example is this file.
 * Usage: lenet5 [EPOCHS [LIMIT [OUT.safetensors]]]  (LIMIT: training images used, 0 = all) */
#include <fovea.h>

#include <stdio.h>
#include <stdlib.h>

static fv_model *build(void)
{
    fv_model *m = fv_model_new("lenet5");
    int x = fv_input(m, .ndim = 3, .dims = {1, 28, 28});
    x = fv_conv2d(m, x, .filters = 6, .kernel = 5, .padding = 2, .activation = FV_ACT_RELU,
                  .name = "conv1");
    x = fv_maxpool2d(m, x);
    x = fv_conv2d(m, x, .filters = 16, .kernel = 5, .activation = FV_ACT_RELU, .name = "conv2");
    x = fv_maxpool2d(m, x);
    x = fv_flatten(m, x);
    x = fv_dense(m, x, .units = 120, .activation = FV_ACT_RELU, .name = "fc1");
    x = fv_dense(m, x, .units = 84, .activation = FV_ACT_RELU, .name = "fc2");
    x = fv_dense(m, x, .units = 10, .name = "fc3");
    if (x < 0 || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE,
                                  .optimizer = fv_adam(.lr = 1e-3f), .seed = 1) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* Fashion-MNIST (train or test), scaled to [-1, 1], the first `limit` samples if limit > 0. */
static fv_dataset *load(int train, long limit)
{
    fv_dataset *d = fv_dataset_load_mnist_dir(NULL, train);
    if (d && limit > 0 && limit < d->x->dims[0]) {
        fv_dataset *part = fv_dataset_take(d, 0, limit);
        fv_dataset_free(d);
        d = part;
    }
    if (d && fv_dataset_normalize(d, 0.5f, 0.5f) != FV_OK) {
        fv_dataset_free(d);
        d = NULL;
    }
    return d;
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 10;
    long limit = argc > 2 ? atol(argv[2]) : 0;
    const char *out = argc > 3 ? argv[3] : "lenet5.safetensors";
    fv_model *m = build();
    fv_dataset *train = load(1, limit), *test = load(0, limit);
    double loss, acc;
    int ok = m && train && test && fv_model_summary(m, stdout) == FV_OK &&
             fv_model_fit(m, train, .epochs = epochs, .batch_size = 64, .seed = 1,
                          .verbose = 1) == FV_OK &&
             fv_model_evaluate(m, test, 0, &loss, &acc) == FV_OK &&
             fv_model_save_weights(m, out) == FV_OK;
    if (ok)
        printf("test accuracy %.4f, loss %.4f; weights in %s\n", acc, loss, out);
    else
        fprintf(stderr, "lenet5: %s\n", fv_last_error());
    fv_dataset_free(train);
    fv_dataset_free(test);
    fv_model_free(m);
    return ok ? 0 : 1;
}
