/* keras_style.c - Keras' "simple MNIST convnet" (keras.io/examples/vision/mnist_convnet) in fovea,
 * line for line, on Fashion-MNIST: two convolutions, dropout, a softmax; compile, fit with a
 * tenth held out for validation, evaluate on the test set.
 * Usage: keras_style [EPOCHS [LIMIT]]  (LIMIT: training images read, 0 = all 60,000)
 * Build:  cc keras_style.c $(pkg-config --cflags --libs --static fovea) -o keras_style */
#include <fovea.h>

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 3;
    long limit = argc > 2 ? atol(argv[2]) : 0;

    /* x_train, y_train = fashion_mnist.load_data(): pixels in [0, 1], labels 0..9. NULL is the
     * default data folder (FOVEA_DATA, else Debian's dataset-fashion-mnist). */
    fv_dataset *all = fv_dataset_load_dir_n(NULL, 1, limit);
    fv_dataset *test = fv_dataset_load_dir_n(NULL, 0, limit ? limit / 6 : 0);
    fv_dataset *train = NULL, *val = NULL; /* validation_split=0.1, per class */
    if (!all || !test || fv_dataset_split(all, 0.1, 1, 1, &train, &val) != FV_OK) {
        fprintf(stderr, "keras_style: %s\n", fv_last_error());
        return 1;
    }

    /* model = keras.Sequential([...]): each call adds a layer after the one it is given. A layer
     * that fails records the error, and compile reports it, so the chain needs no checks. */
    fv_model *m = fv_model_new("keras_cnn");
    int x = fv_input(m, .ndim = 3, .dims = {1, 28, 28});
    x = fv_conv2d(m, x, .filters = 32, .kernel = 3, .activation = FV_ACT_RELU);
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_conv2d(m, x, .filters = 64, .kernel = 3, .activation = FV_ACT_RELU);
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_flatten(m, x);
    x = fv_dropout(m, x, .rate = 0.5f);
    x = fv_dense(m, x, .units = 10, .activation = FV_ACT_SOFTMAX);

    /* model.compile(loss="sparse_categorical_crossentropy", optimizer="adam"); after a softmax,
     * this loss reads the logits (as from_logits=False does, computed stably), then
     * model.summary(), model.fit(..., batch_size=128, validation_split=0.1) and
     * model.evaluate(x_test, y_test). */
    double loss, acc;
    int ok = fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()) == FV_OK &&
             fv_model_summary(m, stdout) == FV_OK &&
             fv_model_fit(m, train, .epochs = epochs, .batch_size = 128, .validation = val,
                          .verbose = 1) == FV_OK &&
             fv_model_evaluate(m, test, 0, &loss, &acc) == FV_OK;
    if (ok)
        printf("test accuracy %.4f, loss %.4f (%lld test images)\n", acc, loss,
               (long long)test->x->dims[0]);
    else
        fprintf(stderr, "keras_style: %s\n", fv_last_error());
    fv_model_free(m);
    fv_dataset_free(all);
    fv_dataset_free(train);
    fv_dataset_free(val);
    fv_dataset_free(test);
    return ok ? 0 : 1;
}
