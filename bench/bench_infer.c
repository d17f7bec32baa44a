/* bench_infer.c - fovea's side of the inference benchmark: images/s of evaluation-mode forward
 * passes of a zoo network at its own input size and class count (e.g. 3x224x224 and 1000, 3x227x227
 * for alexnet_original, 3x32x32 and 10 for resnet20, 1x28x28 for lenet5), or of an ONNX file
 * (NETWORK ending in .onnx: fovea's import of it, run_ort.sh's side beside ONNX Runtime), after
 * warm-up (BENCH_WARMUP passes, default 2), for a batch size and thread count. Prints
 * "images_per_s <median of the timed passes>".
 * Usage: bench_infer NETWORK BATCH THREADS PASSES */
#include "bench.h"
#include "fovea.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Wall time; BENCH_CLOCK=cpu: the process's CPU time (one thread only: a comparison on a loaded
 * machine, where wall time counts the other processes' turns). */
static double now(void)
{
    const char *c = getenv("BENCH_CLOCK");
    return bench_seconds(c && strcmp(c, "cpu") == 0 ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC);
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_infer NETWORK BATCH THREADS PASSES\n");
        return 2;
    }
    int batch = atoi(argv[2]), passes = atoi(argv[4]);
    size_t len = strlen(argv[1]);
    int onnx = len > 5 && strcmp(argv[1] + len - 5, ".onnx") == 0;
    fv_model *m = onnx ? fv_model_load_onnx(argv[1]) : fv_zoo(argv[1]);
    if (!m || fv_set_num_threads(atoi(argv[3])) != FV_OK || batch < 1 || passes < 1 ||
        passes > 1000 ||
        fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) != FV_OK) {
        fprintf(stderr, "bench_infer: %s\n", fv_last_error());
        fv_model_free(m);
        return 1;
    }
    int64_t d[4] = {0}; /* one sample's shape: the input node (node 0 of an import), (C, H, W) */
    fv_node_shape(m, onnx ? 0 : fv_model_find_node(m, "input"), d);
    fv_tensor *x = fv_tensor_new4(batch, d[0], d[1], d[2]), *y = NULL;
    for (int64_t i = 0; i < fv_tensor_numel(x); i++)
        x->data[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    double t[1000];
    const char *w = getenv("BENCH_WARMUP"); /* warm-up passes, 2 unless set */
    int warm = w && atoi(w) >= 0 && atoi(w) <= 10 ? atoi(w) : 2;
    for (int p = -warm; p < passes; p++) {
        double t0 = now();
        fv_tensor_free(y);
        y = NULL;
        if (fv_model_predict(m, x, &y) != FV_OK) {
            fprintf(stderr, "bench_infer: %s\n", fv_last_error());
            return 1;
        }
        if (p >= 0)
            t[p] = now() - t0;
    }
    qsort(t, (size_t)passes, sizeof t[0], bench_cmp_double);
    printf("images_per_s %.2f\n", batch / t[passes / 2]);
    fv_tensor_free(x), fv_tensor_free(y);
    fv_model_free(m);
    return 0;
}
