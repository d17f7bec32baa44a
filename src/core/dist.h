/* dist.h - the communicator of data-parallel training as the rest of the library sees it: a table
 * of collective operations that src/dist/ fills when the process runs as one rank of an MPI job
 * (fv_dist_init), NULL otherwise. Keeping MPI behind this table is what lets the library build,
 * link and run without MPI: only src/dist/mpi.c includes mpi.h, and it is compiled only when CMake
 * finds MPI. Every operation returns 0, or -1 with a one-line message in fv_dist_error(). */
#ifndef FV_CORE_DIST_H
#define FV_CORE_DIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct fv_comm_ops {
    int rank, size;
    /* In-place sums over the ranks, blocking. */
    int (*sum_f64)(double *buf, int64_t n);
    /* Starts the in-place float sum of buf[0, n) as request `slot` (< FV_DIST_MAX_PENDING),
     * without waiting; test drives pending requests on (MPI progresses them only inside calls);
     * wait_all completes every started one. Every rank starts the same requests in the same
     * order. */
    int (*start_sum_f32)(float *buf, int64_t n, int slot);
    int (*test)(void);
    int (*wait_all)(void);
    /* Copies root's bytes to every rank. */
    int (*bcast)(void *buf, size_t bytes, int root);
} fv_comm_ops;

#define FV_DIST_MAX_PENDING 1024

/* The job's communicator, or NULL in a single process. */
extern const fv_comm_ops *fv_comm;
/* Installs (or with NULL, removes) the communicator (src/dist/). */
void fv_dist_set(const fv_comm_ops *ops);
/* The message of the last failed operation, and whether one failed since the last clear (an op
 * that cannot return a status, such as a synchronized batch norm's forward, leaves it here). */
const char *fv_dist_error(void);
int fv_dist_failed(void);
void fv_dist_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fv_dist_clear(void);
/* fv_comm's blocking sum and wait_all, timed: the seconds spent in them so far (fv_dist_blocked)
 * are the step time spent waiting on other ranks. -1 and the sticky error on failure. */
int fv_dist_sum(double *buf, int64_t n);
int fv_dist_wait(void);
double fv_dist_blocked(void);

#endif /* FV_CORE_DIST_H */
