/* parallel.c - splitting an op's batch across the thread pool: fn(m, n, a, b) runs once per
 * worker on its contiguous range [a, b) of [0, count). For ops whose outputs per sample (or per
 * element) are independent, so results do not depend on the thread count. */
#include "ops/ops.h"

typedef struct range_job {
    fv_model *m;
    fv_node *n;
    fv_range_fn fn;
} range_job;

static void range_share(void *ctx, int t, int64_t a, int64_t b)
{
    const range_job *j = ctx;
    (void)t;
    j->fn(j->m, j->n, a, b);
}

void fv_parallel_ranges(fv_model *m, fv_node *n, int64_t count, int64_t min_chunk, fv_range_fn fn)
{
    int64_t chunks = min_chunk > 0 ? count / min_chunk : count;
    int width = fv_parallel_width(chunks > INT32_MAX ? INT32_MAX : (int)(chunks < 1 ? 1 : chunks));
    range_job j = {m, n, fn};
    fv_parallel_shares(width, count, range_share, &j);
}
