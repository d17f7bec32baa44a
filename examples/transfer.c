/* transfer.c - transfer learning with the C API. A small CNN learns six Fashion-MNIST classes
 * (T-shirt/top .. Sandal); its features then serve the four others (Shirt, Sneaker, Bag, Ankle
 * boot), learned from only SHOTS images each: the weights loaded by name, a new head for 4
 * classes, the convolutions frozen while the head learns, then every layer fine-tuned at a lower
 * rate (Keras: base = Model(weights=..., include_top=False), base.trainable = False, a new Dense,
 * fit, then unfreeze and recompile with a small rate). The same network trained from scratch on
 * the same images is the yardstick; on this easy target it is as good (92-93 % either way with
 * the defaults): features of other clothes are no better start than a fresh network here.
 * Usage: transfer [SHOTS [LIMIT [EPOCHS]]]  (LIMIT: training images read; EPOCHS: the source's;
 * the source's weights go to transfer_source.safetensors) */
#include <fovea.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The network of both tasks; `classes` outputs, the head's name "head". */
static fv_model *build(int classes)
{
    fv_model *m = fv_model_new("small_cnn");
    int x = fv_input(m, .ndim = 3, .dims = {1, 28, 28});
    x = fv_conv2d(m, x, .filters = 16, .kernel = 3, .activation = FV_ACT_RELU, .name = "conv1");
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_conv2d(m, x, .filters = 32, .kernel = 3, .activation = FV_ACT_RELU, .name = "conv2");
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_flatten(m, x);
    x = fv_dense(m, x, .units = 64, .activation = FV_ACT_RELU, .name = "fc1");
    x = fv_dense(m, x, .units = classes, .name = "head");
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(),
                         .seed = 1) == FV_OK)
        return m;
    fv_model_free(m);
    return NULL;
}

/* The images of classes first..last of d, relabelled from 0, at most `per_class` of each (0: all),
 * in their order: gathered at the front of a copy of d, then copied out. */
static fv_dataset *classes(const fv_dataset *d, int first, int last, int per_class)
{
    fv_dataset *c = fv_dataset_take(d, 0, d->x->dims[0]), *out = NULL;
    int64_t size = d->x->dims[1] * d->x->dims[2] * d->x->dims[3], kept = 0, count[10] = {0};
    for (int64_t i = 0; c && i < c->x->dims[0]; i++) {
        int k = (int)c->y->data[i];
        if (k < first || k > last || (per_class && count[k] == per_class))
            continue;
        count[k]++;
        memmove(c->x->data + kept * size, c->x->data + i * size, sizeof(float) * (size_t)size);
        c->y->data[kept++] = (float)(k - first);
    }
    if (c && kept)
        out = fv_dataset_take(c, 0, kept);
    fv_dataset_free(c);
    return out;
}

/* Trains m on `train` and returns its accuracy on `test` (-1 on an error). */
static double train(fv_model *m, const fv_dataset *train, const fv_dataset *test, int epochs,
                    int batch)
{
    double acc;
    if (fv_model_fit(m, train, .epochs = epochs, .batch_size = batch, .seed = 1) != FV_OK ||
        fv_model_evaluate(m, test, 0, NULL, &acc) != FV_OK)
        return -1;
    return acc;
}

int main(int argc, char **argv)
{
    int shots = argc > 1 ? atoi(argv[1]) : 20, epochs = argc > 3 ? atoi(argv[3]) : 2;
    long limit = argc > 2 ? atol(argv[2]) : 12000;
    const char *weights = "transfer_source.safetensors";
    /* the training images read (NULL: Fashion-MNIST) and the whole test set, each split in two */
    fv_dataset *all = fv_dataset_load_dir_n(NULL, 1, limit);
    fv_dataset *all_test = fv_dataset_load_dir(NULL, 0);
    fv_dataset *src = NULL, *src_test = NULL, *few = NULL, *test = NULL;
    fv_model *m = NULL, *scratch = NULL;
    int ok = 0;
    if (!all || !all_test || !(src = classes(all, 0, 5, 0)) ||
        !(src_test = classes(all_test, 0, 5, 0)) || !(few = classes(all, 6, 9, shots)) ||
        !(test = classes(all_test, 6, 9, 0)))
        goto done;

    /* 1. The source task: 6 classes, every image of them; its weights saved. */
    double a;
    if (!(m = build(6)) || (a = train(m, src, src_test, epochs, 64)) < 0 ||
        fv_model_save_weights(m, weights) != FV_OK)
        goto done;
    printf("source: 6 classes, %lld images, test accuracy %.4f\n", (long long)src->x->dims[0], a);
    fv_model_free(m);
    m = NULL;

    /* 2. The target task from scratch: 4 classes, `shots` images each. */
    double from_scratch;
    if (!(scratch = build(4)) || (from_scratch = train(scratch, few, test, 30, 16)) < 0)
        goto done;

    /* 3. Transfer: the source's network and weights (all of them match: the report says what
     *    loaded), a new head for 4 classes, conv1 and conv2 frozen; the head and fc1 learn. */
    if (!(m = build(6)) || fv_model_load_weights_partial(m, weights, .log = stdout) != FV_OK ||
        fv_model_replace_head(m, 4) != FV_OK ||
        fv_model_set_trainable_match(m, "conv*", 0) != FV_OK)
        goto done;
    double head_only = train(m, few, test, 10, 16);
    /* then every layer, with a fresh optimizer at a tenth of the rate, for 20 epochs more */
    if (head_only < 0 || fv_model_set_trainable_match(m, "*", 1) != FV_OK ||
        fv_model_set_optimizer(m, fv_adam(.lr = 1e-4f)) != FV_OK)
        goto done;
    double fine_tuned = train(m, few, test, 20, 16);
    if (fine_tuned < 0)
        goto done;
    printf("target: 4 classes, %d images each, test accuracy on %lld images:\n", shots,
           (long long)test->x->dims[0]);
    printf("  from scratch (30 epochs)           %.4f\n", from_scratch);
    printf("  transfer, head and fc1 (10 epochs) %.4f\n", head_only);
    printf("  transfer, then all (20 epochs)     %.4f\n", fine_tuned);
    ok = 1;
done:
    if (!ok)
        fprintf(stderr, "transfer: %s\n", fv_last_error());
    fv_model_free(m);
    fv_model_free(scratch);
    fv_dataset_free(all);
    fv_dataset_free(all_test);
    fv_dataset_free(src);
    fv_dataset_free(src_test);
    fv_dataset_free(few);
    fv_dataset_free(test);
    return ok ? 0 : 1;
}
