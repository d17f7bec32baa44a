/* custom_loop.c - a training loop written by hand around fv_model_train_batch, for what
 * fv_model_fit does not do for you: here its own shuffling and batching, its own learning-rate
 * schedule (linear warm-up over the first epoch, then cosine decay to 0, set every step with
 * fv_model_set_lr, which keeps SGD's momentum), evaluation on a held-out tenth after every epoch,
 * and the best epoch's weights kept (PyTorch's usual loop, written in C).
 * Usage: custom_loop [EPOCHS [LIMIT]]  (LIMIT: training images read, 0 = all 60,000; the best
 * weights go to custom_loop_best.safetensors) */
#include <fovea.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The learning rate at step t of `total`: warm-up over `warm` steps to `peak`, then cosine. */
static float lr_at(int64_t t, int64_t warm, int64_t total, float peak)
{
    if (t < warm)
        return peak * (float)(t + 1) / (float)warm;
    double done = (double)(t - warm) / (double)(total - warm);
    return (float)(0.5 * peak * (1 + cos(acos(-1.0) * done)));
}

int main(int argc, char **argv)
{
    int epochs = argc > 1 ? atoi(argv[1]) : 5, batch = 64, ok = 0;
    long limit = argc > 2 ? atol(argv[2]) : 10000;
    const char *best_path = "custom_loop_best.safetensors";
    fv_dataset *all = fv_dataset_load_dir_n(NULL, 1, limit), *train = NULL, *val = NULL;
    fv_dataset *test = fv_dataset_load_dir(NULL, 0);
    fv_model *m = fv_model_new("small_cnn");
    int x = fv_input(m, .ndim = 3, .dims = {1, 28, 28});
    x = fv_conv2d(m, x, .filters = 16, .kernel = 3, .activation = FV_ACT_RELU);
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_flatten(m, x);
    x = fv_dense(m, x, .units = 10);
    if (!all || !test || fv_dataset_split(all, 0.1, 1, 1, &train, &val) != FV_OK ||
        fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(.momentum = 0.9f),
                         .seed = 1) != FV_OK)
        goto done;

    /* one batch at a time: the images (batch, 1, 28, 28) and their labels, gathered by hand */
    int64_t n = train->x->dims[0], size = fv_tensor_numel(train->x) / n;
    int64_t steps = n / batch, t = 0; /* batches per epoch (the last partial one is dropped) */
    float *xb = malloc(sizeof(float) * (size_t)(batch * size)), *yb = malloc(sizeof(float) * batch);
    int64_t *order = malloc(sizeof(int64_t) * (size_t)n);
    fv_rng rng;
    fv_rng_seed(&rng, 1);
    double best = -1, loss, acc;
    int best_epoch = 0;
    for (int e = 1; xb && yb && order && e <= epochs; e++) {
        fv_rng_permutation(&rng, order, n); /* a new order every epoch */
        double sum = 0;
        int64_t right = 0;
        for (int64_t s = 0; s < steps; s++, t++) {
            for (int i = 0; i < batch; i++) {
                int64_t k = order[s * batch + i];
                memcpy(xb + i * size, train->x->data + k * size, sizeof(float) * (size_t)size);
                yb[i] = train->y->data[k];
            }
            int correct;
            if (fv_model_set_lr(m, lr_at(t, steps, (int64_t)epochs * steps, 0.05f)) != FV_OK ||
                fv_model_train_batch(m, xb, yb, batch, &loss, &correct) != FV_OK)
                goto freed;
            sum += loss;
            right += correct;
        }
        if (fv_model_evaluate(m, val, 0, &loss, &acc) != FV_OK)
            goto freed;
        printf("epoch %d: lr %.4f, loss %.4f, acc %.4f, val_loss %.4f, val_acc %.4f\n", e,
               fv_model_lr(m), sum / (double)steps, (double)right / (double)(steps * batch),
               loss, acc);
        if (acc > best) { /* keep the best epoch's weights, by the validation accuracy */
            best = acc, best_epoch = e;
            if (fv_model_save_weights(m, best_path) != FV_OK)
                goto freed;
        }
    }
    /* the test set, once, with the best weights */
    if (best_epoch && fv_model_load_weights(m, best_path) == FV_OK &&
        fv_model_evaluate(m, test, 0, &loss, &acc) == FV_OK) {
        printf("test accuracy %.4f, loss %.4f (epoch %d's weights)\n", acc, loss, best_epoch);
        ok = 1;
    }
freed:
    free(xb);
    free(yb);
    free(order);
done:
    if (!ok)
        fprintf(stderr, "custom_loop: %s\n", fv_last_error()[0] ? fv_last_error() : "failed");
    fv_model_free(m);
    fv_dataset_free(all);
    fv_dataset_free(train);
    fv_dataset_free(val);
    fv_dataset_free(test);
    return ok ? 0 : 1;
}
