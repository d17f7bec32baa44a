/* bench.h - what the benchmark programs share: a clock read in seconds and the order that sorts
 * their timings for the medians. */
#ifndef FV_BENCH_H
#define FV_BENCH_H

#include <time.h>

/* Clock `clock` in seconds: CLOCK_MONOTONIC for wall time, a CPU-time clock where the time the
 * machine gives to other processes must not count. */
static inline double bench_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort's ascending order of doubles. */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif /* FV_BENCH_H */
