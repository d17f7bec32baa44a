/* dist.c - the process's data-parallel communicator (dist.h): the table src/dist/ installs, the
 * rank and size every caller reads (1 process, rank 0 without one), and the sticky error of the
 * collective operations. */
#include "core/dist.h"
#include "core/internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

const fv_comm_ops *fv_comm;
static char dist_msg[512];
static int dist_bad;
static double blocked_s;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fv_dist_set(const fv_comm_ops *ops)
{
    fv_comm = ops;
    fv_dist_clear();
}

int fv_dist_rank(void)
{
    return fv_comm ? fv_comm->rank : 0;
}

int fv_dist_size(void)
{
    return fv_comm ? fv_comm->size : 1;
}

const char *fv_dist_error(void)
{
    return dist_msg;
}

int fv_dist_failed(void)
{
    return dist_bad;
}

void fv_dist_fail(const char *fmt, ...)
{
    if (dist_bad)
        return; /* the first failure is the one that explains the rest */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dist_msg, sizeof dist_msg, fmt, ap);
    va_end(ap);
    dist_bad = 1;
}

void fv_dist_clear(void)
{
    dist_bad = 0;
    dist_msg[0] = '\0';
}

int fv_dist_sum(double *buf, int64_t n)
{
    if (dist_bad)
        return -1; /* a job that lost a rank does not start another collective */
    double t = now_s();
    int rc = fv_comm->sum_f64(buf, n);
    blocked_s += now_s() - t;
    return rc;
}

int fv_dist_wait(void)
{
    double t = now_s();
    int rc = fv_comm->wait_all();
    blocked_s += now_s() - t;
    return rc;
}

double fv_dist_blocked(void)
{
    return blocked_s;
}
