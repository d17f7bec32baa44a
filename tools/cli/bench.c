/* bench.c - `fovea bench`: training and prediction images/s on random data, and peak memory. */
#include "cli.h"

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median seconds of `steps` timed calls after two warm-up calls (train or predict). */
static double time_steps(fv_model *m, const fv_tensor *x, const float *y, int train, int steps,
                         int *err)
{
    double *t = malloc(sizeof(double) * (size_t)steps), med = 0;
    int n = (int)x->dims[0];
    for (int s = 0; t && s < steps + 2 && !*err; s++) {
        double t0 = now_s();
        fv_tensor *p = NULL;
        *err = train ? fv_model_train_batch(m, x->data, y, n, NULL, NULL) != FV_OK
                     : fv_model_predict(m, x, &p) != FV_OK;
        fv_tensor_free(p);
        if (s >= 2)
            t[s - 2] = now_s() - t0;
    }
    if (t && !*err) {
        qsort(t, (size_t)steps, sizeof *t, cmp_dbl);
        med = t[steps / 2];
    }
    *err |= !t;
    free(t);
    return med;
}

/* fovea bench: steady-state training (forward, backward, Adam step) and prediction throughput
 * of a model on random data at one batch size, and the process's peak resident memory. */
int cmd_bench(const opts *o)
{
    const char *path = o->npos ? o->pos[0] : DEFAULT_MODEL;
    fv_model *m = open_model(o, path, 0, 0, 0, 0);
    int64_t dims[5] = {o->batch}, cls[4] = {1};
    int nd = m ? fv_node_shape(m, 0, dims + 1) : 0;
    if (m) /* before compile, the last node is the prediction */
        fv_node_shape(m, fv_model_num_nodes(m) - 1, cls);
    if (!m || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()) != FV_OK) {
        fv_model_free(m);
        return fail_lib();
    }
    fv_tensor *x = fv_tensor_new(nd + 1, dims);
    float *y = malloc(sizeof(float) * (size_t)o->batch);
    fv_rng r;
    fv_rng_seed(&r, (uint64_t)o->seed);
    for (int64_t i = 0; x && i < fv_tensor_numel(x); i++)
        x->data[i] = (float)fv_rng_normal(&r);
    for (int i = 0; y && i < o->batch; i++)
        y[i] = (float)(i % cls[0]);
    int err = !x || !y, steps = o->steps ? o->steps : 10;
    double tt = err ? 0 : time_steps(m, x, y, 1, steps, &err);
    double tp = err ? 0 : time_steps(m, x, y, 0, steps, &err);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (!err) {
        printf("model %s, batch %d, %d thread%s, median of %d steps after 2 warm-up steps\n",
               path, o->batch, fv_num_threads(), fv_num_threads() == 1 ? "" : "s", steps);
        print_isa();
        printf("train    %10.1f images/s  (forward + backward + Adam step)\n", o->batch / tt);
        printf("predict  %10.1f images/s\n", o->batch / tp);
        printf("peak RSS %10.1f MB\n", (double)ru.ru_maxrss / 1024.0);
    }
    fv_tensor_free(x);
    free(y);
    fv_model_free(m);
    return err ? fail_lib() : 0;
}
