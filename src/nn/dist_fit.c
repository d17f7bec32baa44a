/* dist_fit.c - fit as one rank of a data-parallel job (dist_fit.h). The global batch b is
 * samples [b N B, (b + 1) N B) of the epoch's one shuffle (every rank draws the same one); rank r
 * takes the r-th B of them (of a final short batch of R samples, [r R / N, (r + 1) R / N)), so the
 * ranks together see exactly what one process with batch N B would. Each rank's loss is the mean
 * over its own samples; its gradients are scaled by its share of the global batch (cnt / total)
 * and summed over the ranks, which gives the global batch's mean gradient. The trainable slab is
 * cut into buckets of about bucket_kib KiB, each final once backward has passed the lowest node
 * owning part of it; fv_graph_run_backward calls grad_ready after every node, which starts the
 * buckets that became final (MPI_Iallreduce) in a fixed order and drives the pending ones on, so
 * the sums run while the rest of backward computes. */
#include "nn/dist_fit.h"

#include <string.h>

struct fv_dp {
    fv_model *m;
    int rank, size, batch;
    int64_t n, nbatches;
    int total;            /* samples of the current global batch */
    int nbuckets, next;   /* buckets, and the next one to start this step */
    int64_t *lo, *hi;     /* bucket k is trainable slab [lo, hi), started in index order */
    int *ready;           /* ... once backward has finished node ready[k] */
    int64_t *order;       /* this rank's samples of the epoch */
    double blocked0;      /* fv_dist_blocked() when the run began */
};

int fv_dp_writes(const fv_dp *dp)
{
    return !dp || dp->rank == 0;
}

/* For each trainable parameter, the lowest node using it: its gradient is final after that
 * node's backward. */
static void param_ready(const fv_model *m, int *ready)
{
    for (int p = 0; p < m->nparams; p++)
        ready[p] = m->nnodes;
    for (int i = m->nnodes - 1; i >= 0; i--)
        for (int k = 0; k < m->nodes[i].nparam; k++)
            ready[m->nodes[i].param[k]] = i;
}

/* The trainable parameters by decreasing offset (the order backward finishes them in the usual
 * layout, where parameters follow their nodes). */
static void by_offset_desc(const fv_model *m, int *idx, int *cnt)
{
    *cnt = 0;
    for (int p = 0; p < m->nparams; p++)
        if (m->params[p].trainable && m->params[p].numel > 0)
            idx[(*cnt)++] = p;
    for (int i = 1; i < *cnt; i++) /* insertion sort: a few hundred parameters */
        for (int j = i; j > 0 && m->params[idx[j]].offset > m->params[idx[j - 1]].offset; j--) {
            int t = idx[j];
            idx[j] = idx[j - 1], idx[j - 1] = t;
        }
}

/* Buckets from the end of the slab down: whole parameters, closed at `cap` floats; each is ready
 * after the lowest node of its parameters. Then sorted by readiness, highest node first (stable,
 * so the order is fixed by the model alone). */
static fv_status make_buckets(fv_dp *dp, int64_t cap)
{
    fv_model *m = dp->m;
    int np = m->nparams ? m->nparams : 1, cnt;
    int *idx = fv_malloc(sizeof(int) * (size_t)np * 2, "gradient buckets");
    dp->lo = fv_malloc(sizeof(int64_t) * (size_t)np, "gradient buckets");
    dp->hi = fv_malloc(sizeof(int64_t) * (size_t)np, "gradient buckets");
    dp->ready = fv_malloc(sizeof(int) * (size_t)np, "gradient buckets");
    if (!idx || !dp->lo || !dp->hi || !dp->ready)
        return fv_free(idx), FV_ERR_NOMEM;
    int *pr = idx + np;
    param_ready(m, pr);
    by_offset_desc(m, idx, &cnt);
    dp->nbuckets = 0;
    for (int i = 0; i < cnt; i++) {
        const fv_param *p = &m->params[idx[i]];
        int k = dp->nbuckets - 1;
        if (k < 0 || dp->hi[k] - dp->lo[k] >= cap) { /* (a gap of padding is summed too) */
            k = dp->nbuckets++;
            dp->hi[k] = p->offset + p->numel, dp->lo[k] = p->offset, dp->ready[k] = pr[idx[i]];
        }
        dp->lo[k] = p->offset;
        dp->ready[k] = pr[idx[i]] < dp->ready[k] ? pr[idx[i]] : dp->ready[k];
    }
    for (int i = 1; i < dp->nbuckets; i++)
        for (int j = i; j > 0 && dp->ready[j] > dp->ready[j - 1]; j--) {
            int64_t l = dp->lo[j], h = dp->hi[j];
            int r = dp->ready[j];
            dp->lo[j] = dp->lo[j - 1], dp->hi[j] = dp->hi[j - 1], dp->ready[j] = dp->ready[j - 1];
            dp->lo[j - 1] = l, dp->hi[j - 1] = h, dp->ready[j - 1] = r;
        }
    fv_free(idx);
    if (dp->nbuckets > FV_DIST_MAX_PENDING)
        return fv_err(FV_ERR_INVALID, "fit: %d gradient buckets, more than %d: use larger "
                      "buckets (bucket_kib)", dp->nbuckets, FV_DIST_MAX_PENDING);
    return FV_OK;
}

/* The backward hook: scales and starts every bucket that node i's backward made final. */
static void grad_ready(fv_model *m, int i, void *ctx)
{
    fv_dp *dp = ctx;
    float w = (float)m->dist_weight;
    for (; dp->next < dp->nbuckets && dp->ready[dp->next] >= i; dp->next++) {
        int k = dp->next;
        float *g = m->grad_slab + dp->lo[k];
        for (int64_t j = 0; j < dp->hi[k] - dp->lo[k]; j++)
            g[j] *= w;
        if (!fv_dist_failed())
            fv_comm->start_sum_f32(g, dp->hi[k] - dp->lo[k], k);
    }
    if (dp->next > 0 && !fv_dist_failed())
        fv_comm->test();
}

fv_status fv_dp_begin(fv_model *m, int64_t n, int batch, int bucket_kib, int sync_bn,
                      fv_dp **out)
{
    *out = NULL;
    if (!fv_comm || fv_comm->size < 2)
        return FV_OK;
    if (bucket_kib < 0)
        return fv_err(FV_ERR_INVALID, "fit: bucket_kib=%d must be >= 0 (0: 256)", bucket_kib);
    fv_dp *dp = fv_calloc(1, sizeof *dp, "data-parallel state");
    if (!dp)
        return FV_ERR_NOMEM;
    *dp = (fv_dp){.m = m, .rank = fv_comm->rank, .size = fv_comm->size, .batch = batch, .n = n};
    int64_t global = (int64_t)batch * dp->size, full = n / global, rest = n - full * global;
    dp->nbatches = full + (rest >= dp->size);
    dp->order = fv_malloc(sizeof(int64_t) * (size_t)(n / dp->size + batch + 1), "shard order");
    fv_status st = dp->order ? make_buckets(dp, (int64_t)(bucket_kib ? bucket_kib : 256) * 256)
                             : FV_ERR_NOMEM;
    if (st == FV_OK && dp->nbatches < 1)
        st = fv_err(FV_ERR_INVALID, "fit: %lld samples for %d ranks: fewer than one per rank",
                    (long long)n, dp->size);
    if (st != FV_OK)
        return fv_dp_end(dp), st;
    fv_dist_clear();
    dp->blocked0 = fv_dist_blocked();
    m->grad_ready = grad_ready, m->grad_ctx = dp;
    m->sync_bn = sync_bn != 0;
    if (dp->rank > 0) /* dropout and other training draws: each rank a stream of its own */
        fv_rng_seed(&m->rng, fv_rng_next(&m->rng) + 0x9E3779B97F4A7C15ULL * (uint64_t)dp->rank);
    *out = dp;
    return FV_OK;
}

void fv_dp_end(fv_dp *dp)
{
    if (!dp)
        return;
    if (dp->m->grad_ctx == dp) {
        dp->m->grad_ready = NULL, dp->m->grad_ctx = NULL;
        dp->m->sync_bn = 0, dp->m->dist_weight = 0;
    }
    fv_free(dp->lo);
    fv_free(dp->hi);
    fv_free(dp->ready);
    fv_free(dp->order);
    fv_free(dp);
}

int64_t fv_dp_batches(const fv_dp *dp)
{
    return dp->nbatches;
}

/* Rank r's part [*a, *b) of global batch b, as offsets into the epoch order. */
static void part(const fv_dp *dp, int64_t b, int r, int64_t *a, int64_t *e)
{
    int64_t global = (int64_t)dp->batch * dp->size, start = b * global;
    int64_t count = dp->n - start < global ? dp->n - start : global;
    if (count == global) {
        *a = start + (int64_t)r * dp->batch, *e = *a + dp->batch;
        return;
    }
    *a = start + count * r / dp->size, *e = start + count * (r + 1) / dp->size;
}

int64_t fv_dp_shard(fv_dp *dp, const int64_t *perm, const int64_t **order)
{
    int64_t k = 0;
    for (int64_t b = 0; b < dp->nbatches; b++) {
        int64_t a, e;
        part(dp, b, dp->rank, &a, &e);
        for (int64_t i = a; i < e; i++)
            dp->order[k++] = perm ? perm[i] : i;
    }
    *order = dp->order;
    return k;
}

int fv_dp_global_count(const fv_dp *dp, int64_t b)
{
    int64_t a, e, z;
    part(dp, b, 0, &a, &z);
    part(dp, b, dp->size - 1, &z, &e);
    return (int)(e - a);
}

void fv_dp_step_begin(fv_dp *dp, int cnt, int64_t b)
{
    dp->total = fv_dp_global_count(dp, b);
    dp->m->dist_weight = (double)cnt / (double)dp->total;
    dp->next = 0;
}

/* The sticky communicator error as this call's status. */
static fv_status dist_status(void)
{
    return fv_err(FV_ERR_IO, "distributed training: %s", fv_dist_error());
}

fv_status fv_dp_sum(fv_dp *dp, double *v, int k)
{
    (void)dp;
    return fv_dist_sum(v, k) == 0 ? FV_OK : dist_status();
}

fv_status fv_dp_reduce_step(fv_dp *dp, double *loss, int *correct, int cnt)
{
    if (fv_dist_failed()) /* a synchronized batch norm's forward failed */
        return dist_status();
    double v[2] = {*loss * cnt, *correct};
    FV_TRY(fv_dp_sum(dp, v, 2));
    *loss = v[0] / dp->total;
    *correct = (int)v[1];
    return FV_OK;
}

fv_status fv_dp_finish_grads(fv_dp *dp)
{
    if (!fv_dist_failed() && dp->next != dp->nbuckets)
        fv_dist_fail("rank %d: %d of %d gradient buckets started (internal error)", dp->rank,
                     dp->next, dp->nbuckets);
    if (fv_dist_failed() || fv_dist_wait() != 0)
        return dist_status();
    return FV_OK;
}

fv_status fv_dp_average_buffers(fv_dp *dp)
{
    fv_model *m = dp->m;
    int64_t a = m->trainable_total, cnt = m->param_total - a;
    if (cnt <= 0 || m->sync_bn) /* synchronized: the statistics already agree */
        return FV_OK;
    float *v = m->data_slab + a;
    for (int64_t i = 0; i < cnt; i++)
        v[i] /= (float)dp->size;
    if (fv_comm->start_sum_f32(v, cnt, 0) != 0 || fv_dist_wait() != 0)
        return dist_status();
    return FV_OK;
}

void fv_dp_range(const fv_dp *dp, int64_t n, int64_t *a, int64_t *b)
{
    *a = n * dp->rank / dp->size, *b = n * (dp->rank + 1) / dp->size;
}

void fv_dp_stats(const fv_dp *dp, struct fv_dist_stats *st)
{
    st->wait_s = fv_dist_blocked() - dp->blocked0;
    st->buckets = dp->nbuckets;
    st->grad_bytes = (int64_t)sizeof(float) * dp->m->trainable_total;
}
