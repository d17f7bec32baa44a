/* dist_fit.h - what fit (fit.c) does differently as one rank of a data-parallel job
 * (dist_fit.c): the rank's share of each global batch, the gradient buckets summed over the ranks
 * while backward still runs, the per-step loss sums, validation split over the ranks. */
#ifndef FV_NN_DIST_FIT_H
#define FV_NN_DIST_FIT_H

#include "core/dist.h"
#include "core/internal.h"

typedef struct fv_dp fv_dp;

/* NULL in *out (and FV_OK) when the process is alone; otherwise the run's state: gradient
 * buckets of bucket_kib KiB, the model's backward hook, and its sync_bn flag set. */
fv_status fv_dp_begin(fv_model *m, int64_t n, int batch, int bucket_kib, int sync_bn,
                      fv_dp **out);
/* Undoes what begin set on the model and frees; NULL is a no-op. */
void fv_dp_end(fv_dp *dp);
/* Global batches an epoch of n samples (per-rank batch B: N x B each; a final one smaller than N
 * is dropped). */
int64_t fv_dp_batches(const fv_dp *dp);
/* This rank's samples of the epoch, in the order it takes them, from the global order perm (all
 * n samples); returns their count. */
int64_t fv_dp_shard(fv_dp *dp, const int64_t *perm, const int64_t **order);
/* Samples of global batch b, all ranks together. */
int fv_dp_global_count(const fv_dp *dp, int64_t b);
/* Before a step on cnt of this rank's samples, in global batch b. */
void fv_dp_step_begin(fv_dp *dp, int cnt, int64_t b);
/* Sums the step's loss (this rank's mean over cnt) and correct count over the ranks: *loss
 * becomes the global batch's mean, *correct the global count. */
fv_status fv_dp_reduce_step(fv_dp *dp, double *loss, int *correct, int cnt);
/* Waits for the gradient sums started during backward. */
fv_status fv_dp_finish_grads(fv_dp *dp);
/* Per-rank batch norm: the running statistics (the non-trainable parameters) averaged over the
 * ranks, so every rank evaluates and saves the same model. */
fv_status fv_dp_average_buffers(fv_dp *dp);
/* In-place sums of v[0, k) over the ranks. */
fv_status fv_dp_sum(fv_dp *dp, double *v, int k);
/* This rank's part [*a, *b) of n samples (validation). */
void fv_dp_range(const fv_dp *dp, int64_t n, int64_t *a, int64_t *b);
/* Whether this rank writes files and progress (rank 0). */
int fv_dp_writes(const fv_dp *dp);
/* The run's buckets, gradient bytes and seconds blocked in reductions, into st. */
void fv_dp_stats(const fv_dp *dp, struct fv_dist_stats *st);

#endif /* FV_NN_DIST_FIT_H */
