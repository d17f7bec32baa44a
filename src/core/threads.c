/* threads.c - the library's one thread pool. fv_parallel(n, fn, ctx) runs tasks 0..n-1, split
 * statically into contiguous ranges, one range per worker (the calling thread is worker 0), and
 * returns when all are done. A task's result never depends on which thread ran it; ops that
 * reduce across tasks keep one partial per worker and sum them in worker order, so results are
 * deterministic for a fixed thread count. Workers sleep on a condition variable between jobs. */
#include "core/internal.h"

#include <pthread.h>
#include <unistd.h>

#define FV_MAX_THREADS 64

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_t tid[FV_MAX_THREADS];
    int started;      /* workers 1..started-1 exist */
    int active;       /* workers taking part in the current job */
    unsigned long generation;
    int pending;      /* workers still running the current job */
    int ntasks;
    fv_task_fn fn;
    void *ctx;
} pool;

static pool P = {.mu = PTHREAD_MUTEX_INITIALIZER, .start = PTHREAD_COND_INITIALIZER,
                 .done = PTHREAD_COND_INITIALIZER, .started = 1};
static int requested; /* 0: not set yet (all cores) */
static _Thread_local int worker_id, in_job;
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > FV_MAX_THREADS ? FV_MAX_THREADS : (int)n;
}

int fv_num_threads(void)
{
    return requested > 0 ? requested : cores();
}

fv_status fv_set_num_threads(int n)
{
    if (n < 0 || n > FV_MAX_THREADS)
        return fv_err(FV_ERR_INVALID, "threads=%d: expected 0 (all cores) to %d", n,
                      FV_MAX_THREADS);
    requested = n;
    return FV_OK;
}

int fv_worker(void)
{
    return worker_id;
}

static void run_range(int w, int active, int ntasks, fv_task_fn fn, void *ctx)
{
    int a = (int)((int64_t)ntasks * w / active), b = (int)((int64_t)ntasks * (w + 1) / active);
    in_job = 1;
    for (int t = a; t < b; t++)
        fn(ctx, t);
    in_job = 0;
}

static void *worker_main(void *arg)
{
    worker_id = (int)(intptr_t)arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&P.mu);
    for (;;) {
        while (P.generation == seen)
            pthread_cond_wait(&P.start, &P.mu);
        seen = P.generation;
        if (worker_id >= P.active)
            continue;
        int active = P.active, ntasks = P.ntasks;
        fv_task_fn fn = P.fn;
        void *ctx = P.ctx;
        pthread_mutex_unlock(&P.mu);
        run_range(worker_id, active, ntasks, fn, ctx);
        pthread_mutex_lock(&P.mu);
        if (--P.pending == 0)
            pthread_cond_signal(&P.done);
    }
    return NULL;
}

/* Starts workers up to `want` in total (never fails the job: with fewer it runs with fewer). */
static int ensure_workers(int want)
{
    while (P.started < want) {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, (size_t)4 << 20);
        int rc = pthread_create(&P.tid[P.started], &at, worker_main, (void *)(intptr_t)P.started);
        pthread_attr_destroy(&at);
        if (rc != 0)
            break;
        pthread_detach(P.tid[P.started]);
        P.started++;
    }
    return P.started < want ? P.started : want;
}

void fv_parallel(int ntasks, fv_task_fn fn, void *ctx)
{
    int want = fv_num_threads();
    want = want < ntasks ? want : ntasks;
    if (want <= 1 || in_job) { /* serial, or already inside a job: no nesting */
        int keep = in_job;
        run_range(0, 1, ntasks, fn, ctx);
        in_job = keep;
        return;
    }
    pthread_mutex_lock(&job_mu);
    pthread_mutex_lock(&P.mu);
    int active = ensure_workers(want);
    P.active = active, P.ntasks = ntasks, P.fn = fn, P.ctx = ctx;
    P.pending = active - 1;
    P.generation++;
    pthread_cond_broadcast(&P.start);
    pthread_mutex_unlock(&P.mu);
    run_range(0, active, ntasks, fn, ctx);
    pthread_mutex_lock(&P.mu);
    while (P.pending > 0)
        pthread_cond_wait(&P.done, &P.mu);
    pthread_mutex_unlock(&P.mu);
    pthread_mutex_unlock(&job_mu);
}

/* The number of workers fv_parallel(ntasks, ...) will use. */
int fv_parallel_width(int ntasks)
{
    int t = fv_num_threads();
    return ntasks < t ? (ntasks < 1 ? 1 : ntasks) : t;
}
