/* bench_train.c - fovea's side of the training benchmark: steady-state images/s of forward +
 * backward + Adam update for a model file on random data (the same protocol as torch_train.py).
 * Usage: bench_train MODEL.fv BATCH STEPS [THREADS]. Prints "images_per_s <v> peak_rss_kb <v>". */
#include "bench.h"

#include <fovea.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void) { return bench_seconds(CLOCK_MONOTONIC); }

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: bench_train MODEL.fv BATCH STEPS [THREADS]\n");
        return 2;
    }
    int batch = atoi(argv[2]), steps = atoi(argv[3]);
    if (argc == 5 && fv_set_num_threads(atoi(argv[4])) != FV_OK) {
        fprintf(stderr, "bench_train: %s\n", fv_last_error());
        return 2;
    }
    fv_model *m = fv_model_load_file(argv[1]);
    int64_t dims[4], per = 1, classes = 0;
    if (m) { /* before compile, the last node is the prediction: (classes) */
        fv_node_shape(m, fv_model_num_nodes(m) - 1, dims);
        classes = dims[0];
        for (int i = 0, nd = fv_node_shape(m, 0, dims); i < nd; i++)
            per *= dims[i];
    }
    if (!m || batch < 1 || steps < 1 ||
        fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()) != FV_OK) {
        fprintf(stderr, "bench_train: %s\n", m ? fv_last_error() : "bad arguments");
        fv_model_free(m);
        return 1;
    }
    float *x = malloc(sizeof(float) * (size_t)(per * batch)), *y = malloc(sizeof(float) * (size_t)batch);
    fv_rng r;
    fv_rng_seed(&r, 1);
    for (int64_t i = 0; i < per * batch; i++)
        x[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        y[i] = (float)(i % classes);
    int rc = 0;
    for (int s = 0; s < (steps / 10 > 3 ? steps / 10 : 3) && !rc; s++) /* warm-up */
        rc = fv_model_train_batch(m, x, y, batch, NULL, NULL) != FV_OK;
    double t0 = now_s();
    for (int s = 0; s < steps && !rc; s++)
        rc = fv_model_train_batch(m, x, y, batch, NULL, NULL) != FV_OK;
    double dt = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rc)
        fprintf(stderr, "bench_train: %s\n", fv_last_error());
    else
        printf("images_per_s %.1f peak_rss_kb %ld\n", batch * steps / dt, ru.ru_maxrss);
    free(x), free(y);
    fv_model_free(m);
    return rc;
}
