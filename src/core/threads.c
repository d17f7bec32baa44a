/* threads.c - the library's one thread pool. fv_parallel(n, fn, ctx) runs tasks 0..n-1, split
 * statically into contiguous ranges, one range per worker (the calling thread is worker 0), and
 * returns when all are done. A task's result never depends on which thread ran it; ops that
 * reduce across tasks keep one partial per worker and sum them in worker order, so results are
 * deterministic for a fixed thread count.
 * Between jobs, workers (and the caller waiting for them) first spin on an atomic counter for up
 * to SPIN_NS, then sleep on a condition variable: a network's ops come back to back, and a
 * futex wake-up costs tens of microseconds on a virtual machine (ResNet-101 at batch 1 left each
 * of two threads idle 14 % of the time with sleeping workers), while the spin is bounded so that
 * an idle pool does not hold the cores. */
#include "core/internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

#define FV_MAX_THREADS 64

/* How long a waiting thread spins before it sleeps. */
enum { SPIN_NS = 200 * 1000 };

typedef struct pool {
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    pthread_t tid[FV_MAX_THREADS];
    int started;                  /* workers 1..started-1 exist (guarded by job_mu) */
    atomic_ulong generation;      /* job counter << 8 | active workers, bumped once the job's
                                   * fields below are set */
    atomic_int pending;           /* workers still running the current job */
    atomic_int sleepers;          /* workers asleep, or about to sleep, on `start` */
    atomic_int caller_asleep;     /* the caller sleeps on `done` */
    int ntasks;                   /* the current job: written before generation is bumped, */
                                  /* read only by its active workers */
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

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Spins until done(arg) holds or SPIN_NS pass; returns whether it holds. */
static int spin_until(int (*done)(void *), void *arg)
{
    int64_t end = 0;
    for (int i = 1;; i++) {
        if (done(arg))
            return 1;
        cpu_relax();
        if ((i & 63) == 0) { /* the clock every 64 rounds: it costs more than a pause */
            int64_t t = now_ns();
            if (end == 0)
                end = t + SPIN_NS;
            else if (t >= end)
                return 0;
        }
    }
}

static int new_job(void *seen)
{
    return atomic_load_explicit(&P.generation, memory_order_acquire) != *(unsigned long *)seen;
}

static int all_done(void *unused)
{
    (void)unused;
    return atomic_load_explicit(&P.pending, memory_order_acquire) == 0;
}

/* Waits for a generation other than seen: spins, then sleeps. Sleepers announce themselves
 * (seq_cst) before they re-check the generation under the mutex; the caller bumps the generation
 * (seq_cst) before it reads the sleeper count, so one of the two sees the other. */
static unsigned long wait_job(unsigned long seen)
{
    if (!spin_until(new_job, &seen)) {
        pthread_mutex_lock(&P.mu);
        atomic_fetch_add(&P.sleepers, 1);
        while (atomic_load(&P.generation) == seen)
            pthread_cond_wait(&P.start, &P.mu);
        atomic_fetch_sub(&P.sleepers, 1);
        pthread_mutex_unlock(&P.mu);
    }
    return atomic_load_explicit(&P.generation, memory_order_acquire);
}

static void *worker_main(void *arg)
{
    worker_id = (int)(intptr_t)arg;
    unsigned long seen = 0;
    for (;;) {
        seen = wait_job(seen);
        int active = (int)(seen & 255);
        if (worker_id >= active) /* not in this job: touches none of its fields */
            continue;
        run_range(worker_id, active, P.ntasks, P.fn, P.ctx);
        if (atomic_fetch_sub(&P.pending, 1) == 1 && /* seq_cst: see wait_workers */
            atomic_load(&P.caller_asleep)) {
            pthread_mutex_lock(&P.mu); /* the caller sleeps: wake it under the mutex */
            pthread_cond_signal(&P.done);
            pthread_mutex_unlock(&P.mu);
        }
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

/* The caller's wait for the workers: spins, then sleeps (the same handshake as wait_job: the
 * caller announces itself before it re-checks pending, the last worker decrements pending before
 * it reads caller_asleep, all seq_cst). */
static void wait_workers(void)
{
    if (spin_until(all_done, NULL))
        return;
    pthread_mutex_lock(&P.mu);
    atomic_store(&P.caller_asleep, 1);
    while (atomic_load(&P.pending) > 0)
        pthread_cond_wait(&P.done, &P.mu);
    atomic_store(&P.caller_asleep, 0);
    pthread_mutex_unlock(&P.mu);
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
    int active = ensure_workers(want);
    P.ntasks = ntasks, P.fn = fn, P.ctx = ctx;
    atomic_store_explicit(&P.pending, active - 1, memory_order_relaxed);
    unsigned long g = atomic_load_explicit(&P.generation, memory_order_relaxed);
    /* seq_cst: publishes the job, and is ordered before the read of sleepers below */
    atomic_store(&P.generation, ((g >> 8) + 1) << 8 | (unsigned long)active);
    if (atomic_load(&P.sleepers) > 0) {
        pthread_mutex_lock(&P.mu);
        pthread_cond_broadcast(&P.start);
        pthread_mutex_unlock(&P.mu);
    }
    run_range(0, active, ntasks, fn, ctx);
    wait_workers();
    pthread_mutex_unlock(&job_mu);
}

/* The number of workers fv_parallel(ntasks, ...) will use. */
int fv_parallel_width(int ntasks)
{
    int t = fv_num_threads();
    return ntasks < t ? (ntasks < 1 ? 1 : ntasks) : t;
}

typedef struct share_job {
    fv_share_fn fn;
    void *ctx;
    int64_t count;
    int width;
} share_job;

static void share_task(void *ctx, int t)
{
    const share_job *j = ctx;
    int64_t a, b;
    fv_split(j->count, j->width, t, &a, &b);
    if (b > a)
        j->fn(j->ctx, t, a, b);
}

void fv_parallel_shares(int width, int64_t count, fv_share_fn fn, void *ctx)
{
    share_job j = {fn, ctx, count, width};
    fv_parallel(width, share_task, &j);
}
