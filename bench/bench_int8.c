/* bench_int8.c - int8 against float32 inference in fovea: images/s of evaluation-mode forward
 * passes of a trained model (its weights file) and of its int8 model file (fovea quantize), at
 * the ISA level in force (FOVEA_ISA) and one thread, the two alternated pass by pass so that a
 * shared machine's load falls on both alike, each pass timed in process CPU time (one thread: the
 * time other jobs of a shared machine take does not count). Prints the level of the int8 GEMM
 * and the medians. FOVEA_INT8=on is set: the int8 path runs at every level (by default it runs
 * only where the int8 GEMM has VNNI).
 * Usage: bench_int8 FLOAT.safetensors INT8.safetensors BATCH PASSES */
#include "bench.h"
#include "fovea.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define MAX_PASSES 200

static double pass(fv_model *m, const fv_tensor *x)
{
    fv_tensor *y = NULL;
    double t0 = bench_seconds(CLOCK_PROCESS_CPUTIME_ID);
    fv_status st = fv_model_predict(m, x, &y);
    double t = bench_seconds(CLOCK_PROCESS_CPUTIME_ID) - t0;
    fv_tensor_free(y);
    return st == FV_OK ? t : -1;
}

int main(int argc, char **argv)
{
    int batch = argc == 5 ? atoi(argv[3]) : 0, passes = argc == 5 ? atoi(argv[4]) : 0;
    if (batch < 1 || passes < 1 || passes > MAX_PASSES) {
        fprintf(stderr, "usage: bench_int8 FLOAT.safetensors INT8.safetensors BATCH PASSES "
                "(1 to %d)\n", MAX_PASSES);
        return 2;
    }
    setenv("FOVEA_INT8", "on", 1); /* before the library first reads it */
    fv_set_num_threads(1);
    fv_model *m[2] = {fv_model_from_weights(argv[1]), fv_model_from_weights(argv[2])};
    int64_t d[4] = {0};
    fv_tensor *x = NULL;
    if (m[0] && m[1] && fv_model_int8_layers(m[1]) > 0 &&
        fv_node_shape(m[0], 0, d) == 3) /* node 0: the input */
        x = fv_tensor_new4(batch, d[0], d[1], d[2]);
    if (!x) {
        fprintf(stderr, "bench_int8: %s\n", fv_last_error());
        return 1;
    }
    for (int64_t i = 0; i < fv_tensor_numel(x); i++)
        x->data[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    double t[2][MAX_PASSES];
    for (int p = -2; p < passes; p++)
        for (int k = 0; k < 2; k++) {
            double s = pass(m[k], x);
            if (s < 0) {
                fprintf(stderr, "bench_int8: %s\n", fv_last_error());
                return 1;
            }
            if (p >= 0)
                t[k][p] = s;
        }
    for (int k = 0; k < 2; k++)
        qsort(t[k], (size_t)passes, sizeof(double), bench_cmp_double);
    printf("qgemm %s float32 %.1f int8 %.1f images/s\n", fv_isa_name("qgemm"),
           batch / t[0][passes / 2], batch / t[1][passes / 2]);
    fv_tensor_free(x);
    fv_model_free(m[0]);
    fv_model_free(m[1]);
    return 0;
}
