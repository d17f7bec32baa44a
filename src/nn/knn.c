/* knn.c - k-nearest-neighbour classification (fv_knn_predict, fv_knn_evaluate): the distance
 * blocks (L2 through the GEMM identity, L1 through a lane-blocked kernel per instruction set),
 * each test row's sorted top-k and the vote. Tasks are blocks of test rows (fv_parallel); each
 * worker has its own scratch, allocated up front. A pair's distance is computed the same way
 * whatever the blocking and training rows are scanned in index order, so results do not depend
 * on the thread count. */
#include "core/internal.h"
#include "kernels/isa.h"
#include "kernels/kernels.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* Test rows per task (at most), training rows per distance block, training rows per L1 sub-block
 * (kept in L2 cache), top-k entries per worker before tasks shrink, rows per norm task, and the
 * L1 partial sums per pair. */
enum { TEST_ROWS = 512, TRAIN_ROWS = 1024, L1_SUB = 64, TOPK_BUDGET = 1 << 20, NORM_ROWS = 512 };
enum { LANES = 16 };

typedef struct knn {
    const float *train, *x; /* ntrain x d, n x d */
    int ntrain, n, d, k, classes;
    fv_knn_metric metric;
    const int *labels;             /* ntrain class indices */
    const float *train_sq, *x_sq;  /* squared norms */
    int rows, cols;                /* test rows per task, training rows per block */
    char *scratch;                 /* nwork slices of stride bytes */
    size_t stride;
    int nwork;
    double *scores;
    int *pred;
} knn;

typedef struct work { /* one worker's scratch */
    float *dist;      /* rows x cols distances of the current block */
    float *topd;      /* rows x k nearest distances so far, ascending */
    int *topi;        /* their training indices */
    int *count;       /* rows: neighbours kept so far */
    int *votes;       /* classes */
    double *sum;      /* classes: the summed distance of each class's voters */
} work;

static int min_int(int a, int b) { return a < b ? a : b; }

/* ---------------------------------------------------------------- L1 kernels */

/* Every kernel computes, for each (a row, b row) pair of its tile, LANES partial sums (lane l
 * over p = l, l + LANES, ...), adds them pairwise, then adds the d % LANES tail in order: the same
 * float operations in the same order, so every kernel gives the same bits. */
static float l1_finish(float *part, const float *a, const float *b, int p, int d)
{
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int l = 0; l < w; l++)
            part[l] += part[l + w];
    float s = part[0];
    for (; p < d; p++)
        s += fabsf(a[p] - b[p]);
    return s;
}

/* out[r * C + c] = L1(a[r], b[c]) for a kernel's R x C tile. */
typedef void (*l1_fn)(const float *const *a, const float *const *b, int d, float *out);
typedef struct l1_variant {
    int r, c;
    l1_fn fn;
} l1_variant;

/* Portable: one pair (plain C; wider tiles kept their accumulators in memory, so the fast
 * kernels below use intrinsics, as the GEMM does). */
static void l1_generic(const float *const *a, const float *const *b, int d, float *out)
{
    float part[LANES] = {0};
    int p = 0;
    for (; p + LANES <= d; p += LANES)
        for (int l = 0; l < LANES; l++)
            part[l] += fabsf(a[0][p + l] - b[0][p + l]);
    out[0] = l1_finish(part, a[0], b[0], p, d);
}
static const l1_variant l1_v_generic = {1, 1, l1_generic};

#ifdef FV_ISA_X86
/* AVX2: a 2 x 2 tile, each pair's 16 lanes in two ymm accumulators (8 in all). */
FV_TARGET_AVX2 static void l1_avx2(const float *const *a, const float *const *b, int d,
                                   float *out)
{
    const __m256 m = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 s[8];
    for (int i = 0; i < 8; i++)
        s[i] = _mm256_setzero_ps();
    int p = 0;
    for (; p + LANES <= d; p += LANES) {
        __m256 b0 = _mm256_loadu_ps(b[0] + p), b1 = _mm256_loadu_ps(b[0] + p + 8);
        __m256 b2 = _mm256_loadu_ps(b[1] + p), b3 = _mm256_loadu_ps(b[1] + p + 8);
        for (int r = 0; r < 2; r++) {
            __m256 a0 = _mm256_loadu_ps(a[r] + p), a1 = _mm256_loadu_ps(a[r] + p + 8);
            __m256 *t = s + 4 * r;
            t[0] = _mm256_add_ps(t[0], _mm256_and_ps(m, _mm256_sub_ps(a0, b0)));
            t[1] = _mm256_add_ps(t[1], _mm256_and_ps(m, _mm256_sub_ps(a1, b1)));
            t[2] = _mm256_add_ps(t[2], _mm256_and_ps(m, _mm256_sub_ps(a0, b2)));
            t[3] = _mm256_add_ps(t[3], _mm256_and_ps(m, _mm256_sub_ps(a1, b3)));
        }
    }
    for (int i = 0; i < 4; i++) {
        _Alignas(32) float part[LANES];
        _mm256_store_ps(part, s[2 * i]);
        _mm256_store_ps(part + 8, s[2 * i + 1]);
        out[i] = l1_finish(part, a[i / 2], b[i % 2], p, d);
    }
}
static const l1_variant l1_v_avx2 = {2, 2, l1_avx2};

/* AVX-512: a 4 x 4 tile, one zmm accumulator per pair (16 in all). */
FV_TARGET_AVX512 static void l1_avx512(const float *const *a, const float *const *b, int d,
                                       float *out)
{
    __m512 s[16];
    for (int i = 0; i < 16; i++)
        s[i] = _mm512_setzero_ps();
    int p = 0;
    for (; p + LANES <= d; p += LANES) {
        __m512 bv[4];
        for (int c = 0; c < 4; c++)
            bv[c] = _mm512_loadu_ps(b[c] + p);
        for (int r = 0; r < 4; r++) {
            __m512 av = _mm512_loadu_ps(a[r] + p);
            for (int c = 0; c < 4; c++)
                s[4 * r + c] = _mm512_add_ps(s[4 * r + c], _mm512_abs_ps(_mm512_sub_ps(av, bv[c])));
        }
    }
    for (int i = 0; i < 16; i++) {
        _Alignas(64) float part[LANES];
        _mm512_store_ps(part, s[i]);
        out[i] = l1_finish(part, a[i / 4], b[i % 4], p, d);
    }
}
static const l1_variant l1_v_avx512 = {4, 4, l1_avx512};
#endif

static const l1_variant *l1_pick(void)
{
    return FV_ISA_PICK(FV_KF_KNN, &l1_v_generic, &l1_v_avx2, &l1_v_avx512);
}

/* ---------------------------------------------------------------- distance blocks */

/* dist (m x cols) = squared L2 distances of test rows [r0, r0 + m) to training rows [c0, c0 + nb):
 * -2 a.b by GEMM, then + ||a||^2 + ||b||^2, clamped at 0. */
static void l2_block(const knn *kn, int r0, int m, int c0, int nb, float *dist)
{
    fv_sgemm(0, 1, m, nb, kn->d, -2.0f, kn->x + (size_t)r0 * kn->d, kn->d,
             kn->train + (size_t)c0 * kn->d, kn->d, 0.0f, dist, kn->cols);
    const float *b = kn->train_sq + c0;
    for (int i = 0; i < m; i++) {
        float *row = dist + (size_t)i * kn->cols, a = kn->x_sq[r0 + i];
        for (int j = 0; j < nb; j++) {
            float v = a + b[j] + row[j];
            row[j] = v > 0.0f ? v : 0.0f;
        }
    }
}

/* One kernel tile: test rows [i, i + mr) x training rows [j, j + nc) of the block; the kernel's
 * missing rows repeat the last one (their results are dropped). */
static void l1_tile(const knn *kn, const l1_variant *v, int r0, int i, int mr, int c0, int j,
                    int nc, float *dist)
{
    const float *a[4], *b[4];
    float out[16];
    for (int r = 0; r < v->r; r++)
        a[r] = kn->x + (size_t)(r0 + i + min_int(r, mr - 1)) * kn->d;
    for (int c = 0; c < v->c; c++)
        b[c] = kn->train + (size_t)(c0 + j + min_int(c, nc - 1)) * kn->d;
    v->fn(a, b, kn->d, out);
    for (int r = 0; r < mr; r++)
        for (int c = 0; c < nc; c++)
            dist[(size_t)(i + r) * kn->cols + j + c] = out[r * v->c + c];
}

/* dist (m x cols) = L1 distances, training rows in sub-blocks that stay in cache while every test
 * row of the task passes over them. */
static void l1_block(const knn *kn, int r0, int m, int c0, int nb, float *dist)
{
    const l1_variant *v = l1_pick();
    for (int j0 = 0; j0 < nb; j0 += L1_SUB) {
        int j1 = min_int(nb, j0 + L1_SUB);
        for (int i = 0; i < m; i += v->r)
            for (int j = j0; j < j1; j += v->c)
                l1_tile(kn, v, r0, i, min_int(v->r, m - i), c0, j, min_int(v->c, j1 - j), dist);
    }
}

/* ---------------------------------------------------------------- top-k and vote */

/* Merges one row of block distances (training rows c0 + j) into test row i's sorted top-k. Rows
 * come in index order and only a strictly smaller distance displaces, so ties keep the smaller
 * index. */
static void keep_nearest(const work *wk, int i, int k, const float *d, int nb, int c0)
{
    float *td = wk->topd + (size_t)i * k;
    int *ti = wk->topi + (size_t)i * k, cnt = wk->count[i];
    float worst = cnt < k ? INFINITY : td[k - 1];
    for (int j = 0; j < nb; j++) {
        float v = d[j];
        if (!(v < worst) && cnt == k)
            continue;
        int q = cnt < k ? cnt++ : k - 1;
        for (; q > 0 && td[q - 1] > v; q--)
            td[q] = td[q - 1], ti[q] = ti[q - 1];
        td[q] = v, ti[q] = c0 + j;
        if (cnt == k)
            worst = td[k - 1];
    }
    wk->count[i] = cnt;
}

/* Test row i of the task (sample `row`): votes, scores and the prediction. */
static void vote(const knn *kn, const work *wk, int i, int row)
{
    int k = kn->k, classes = kn->classes, best = -1;
    const float *td = wk->topd + (size_t)i * k;
    const int *ti = wk->topi + (size_t)i * k;
    for (int c = 0; c < classes; c++)
        wk->votes[c] = 0, wk->sum[c] = 0.0;
    for (int q = 0; q < k; q++) {
        int c = kn->labels[ti[q]];
        wk->votes[c]++;
        wk->sum[c] += kn->metric == FV_KNN_L2 ? sqrt((double)td[q]) : (double)td[q];
    }
    for (int c = 0; c < classes; c++) {
        int v = wk->votes[c], bv = best < 0 ? 0 : wk->votes[best];
        if (v > bv || (v > 0 && v == bv && wk->sum[c] < wk->sum[best]))
            best = c;
    }
    if (kn->scores)
        for (int c = 0; c < classes; c++)
            kn->scores[(size_t)row * classes + c] = wk->votes[c] / (double)k;
    if (kn->pred)
        kn->pred[row] = best;
}

/* ---------------------------------------------------------------- tasks */

static void *carve(char *base, size_t *off, size_t bytes)
{
    void *p = base ? base + *off : NULL;
    *off += (bytes + 63) & ~(size_t)63;
    return p;
}

/* Points wk into the slice at base (NULL: only sizes it); returns the slice's bytes. */
static size_t layout(const knn *kn, char *base, work *wk)
{
    size_t off = 0, rows = (size_t)kn->rows, k = (size_t)kn->k;
    wk->dist = carve(base, &off, rows * (size_t)kn->cols * sizeof(float));
    wk->topd = carve(base, &off, rows * k * sizeof(float));
    wk->topi = carve(base, &off, rows * k * sizeof(int));
    wk->count = carve(base, &off, rows * sizeof(int));
    wk->votes = carve(base, &off, (size_t)kn->classes * sizeof(int));
    wk->sum = carve(base, &off, (size_t)kn->classes * sizeof(double));
    return off;
}

/* Task t: test rows [t rows, (t + 1) rows) against every training block in order. */
static void knn_task(void *ctx, int t)
{
    const knn *kn = ctx;
    int w = fv_worker(); /* a nested call runs serially on its caller, who may be worker w > 0 */
    work wk;
    layout(kn, kn->scratch + (size_t)(w < kn->nwork ? w : 0) * kn->stride, &wk);
    int r0 = t * kn->rows, m = min_int(kn->rows, kn->n - r0);
    memset(wk.count, 0, (size_t)m * sizeof(int));
    for (int c0 = 0; c0 < kn->ntrain; c0 += kn->cols) {
        int nb = min_int(kn->cols, kn->ntrain - c0);
        if (kn->metric == FV_KNN_L2)
            l2_block(kn, r0, m, c0, nb, wk.dist);
        else
            l1_block(kn, r0, m, c0, nb, wk.dist);
        for (int i = 0; i < m; i++)
            keep_nearest(&wk, i, kn->k, wk.dist + (size_t)i * kn->cols, nb, c0);
    }
    for (int i = 0; i < m; i++)
        vote(kn, &wk, i, r0 + i);
}

/* Test rows per task: about 8 tasks for small sets, at most TEST_ROWS (each task packs every
 * training row for the GEMM once, so fewer, larger tasks pack less), fewer for a large k so the
 * top-k state stays within TOPK_BUDGET. Depends on n and k only. */
static int task_rows(int n, int k)
{
    int rows = ((n + 7) / 8 + 7) / 8 * 8;
    rows = rows < 8 ? 8 : rows > TEST_ROWS ? TEST_ROWS : rows;
    int cap = TOPK_BUDGET / k;
    return rows > cap ? (cap < 1 ? 1 : cap) : rows;
}

static fv_status run(knn *kn)
{
    work wk;
    kn->rows = task_rows(kn->n, kn->k);
    kn->cols = min_int(TRAIN_ROWS, kn->ntrain);
    int ntasks = (int)(((int64_t)kn->n + kn->rows - 1) / kn->rows);
    kn->nwork = fv_parallel_width(ntasks);
    kn->stride = layout(kn, NULL, &wk);
    kn->scratch = fv_calloc((size_t)kn->nwork, kn->stride, "k-NN scratch");
    if (!kn->scratch)
        return FV_ERR_NOMEM;
    fv_parallel(ntasks, knn_task, kn);
    fv_free(kn->scratch);
    return FV_OK;
}

/* ---------------------------------------------------------------- squared norms */

typedef struct norm_job {
    const float *x;
    int n, d;
    float *out;
} norm_job;

/* Rows [t NORM_ROWS, ...): the squared norm, summed in double (NaN when a value is not finite). */
static void norm_task(void *ctx, int t)
{
    const norm_job *j = ctx;
    int a = t * NORM_ROWS, b = min_int(j->n, a + NORM_ROWS);
    for (int i = a; i < b; i++) {
        const float *v = j->x + (size_t)i * j->d;
        double part[8] = {0}, s = 0.0;
        int p = 0;
        for (; p + 8 <= j->d; p += 8)
            for (int l = 0; l < 8; l++)
                part[l] += (double)v[p + l] * v[p + l];
        for (int l = 0; l < 8; l++)
            s += part[l];
        for (; p < j->d; p++)
            s += (double)v[p] * v[p];
        j->out[i] = isfinite(s) ? (float)s : NAN;
    }
}

/* out (n) = squared norms of the rows of x; errors name the first bad sample. */
static fv_status norms(const float *x, int n, int d, fv_knn_metric metric, const char *what,
                       float *out)
{
    norm_job j = {x, n, d, out};
    fv_parallel((n + NORM_ROWS - 1) / NORM_ROWS, norm_task, &j);
    for (int i = 0; i < n; i++) {
        if (isnan(out[i]))
            return fv_err(FV_ERR_NUMERIC, "k-NN: %s sample %d has a NaN or infinite value", what,
                          i);
        if (metric == FV_KNN_L2 && !(out[i] <= FLT_MAX / 8))
            return fv_err(FV_ERR_NUMERIC,
                          "k-NN: %s sample %d is too large for L2 in float (squared norm %g)",
                          what, i, (double)out[i]);
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- checks */

/* x (N, ...): N >= 1 samples of d >= 1 values, contiguous, both within int. */
static fv_status check_x(const fv_tensor *x, const char *what, int *n, int *d)
{
    if (!x || x->ndim < 1 || !x->data)
        return fv_err(FV_ERR_INVALID, "k-NN: the %s has no samples", what);
    int64_t rows = x->dims[0], numel = fv_tensor_numel(x);
    if (rows < 1 || numel < 1)
        return fv_err(FV_ERR_SHAPE, "k-NN: the %s is empty (%lld samples of %lld values)", what,
                      (long long)rows, (long long)(rows > 0 ? numel / rows : 0));
    if (rows > INT_MAX || numel / rows > INT_MAX)
        return fv_err(FV_ERR_SHAPE, "k-NN: the %s has %lld samples of %lld values, more than %d",
                      what, (long long)rows, (long long)(numel / rows), INT_MAX);
    if (!fv_tensor_is_contiguous(x))
        return fv_err(FV_ERR_INVALID, "k-NN: the %s's samples are not contiguous", what);
    *n = (int)rows, *d = (int)(numel / rows);
    return FV_OK;
}

/* out (n) = the set's labels as class indices in [0, classes). */
static fv_status read_labels(const fv_dataset *s, int n, int classes, const char *what, int *out)
{
    const fv_tensor *y = s->y;
    if (!y || y->ndim < 1 || fv_tensor_numel(y) != n || !fv_tensor_is_contiguous(y))
        return fv_err(FV_ERR_SHAPE, "k-NN: the %s set has %lld labels for %d samples", what,
                      y && y->ndim > 0 ? (long long)fv_tensor_numel(y) : 0LL, n);
    for (int i = 0; i < n; i++) {
        float v = y->data[i];
        if (!(v >= 0 && v < (float)classes && v == floorf(v)))
            return fv_err(FV_ERR_INVALID, "k-NN: %s label %d is %g, not a class index in [0, %d)",
                          what, i, (double)v, classes);
        out[i] = (int)v;
    }
    return FV_OK;
}

static fv_status check_args(const fv_dataset *train, const fv_tensor *x, int k,
                            fv_knn_metric metric, knn *kn)
{
    if (!train)
        return fv_err(FV_ERR_INVALID, "k-NN: no training set");
    int d;
    FV_TRY(check_x(train->x, "training set", &kn->ntrain, &kn->d));
    FV_TRY(check_x(x, "input", &kn->n, &d));
    if (d != kn->d) {
        char a[96], b[96];
        return fv_err(FV_ERR_SHAPE, "k-NN: samples of shape %s have %d values, the training "
                      "set's (shape %s) %d", fv_shape_str(x->ndim - 1, x->dims + 1, a, sizeof a),
                      d, fv_shape_str(train->x->ndim - 1, train->x->dims + 1, b, sizeof b), kn->d);
    }
    if (k < 1 || k > kn->ntrain)
        return fv_err(FV_ERR_INVALID, "k-NN: k = %d is outside [1, %d] (the training set's size)",
                      k, kn->ntrain);
    if (metric != FV_KNN_L1 && metric != FV_KNN_L2)
        return fv_err(FV_ERR_INVALID, "k-NN: unknown metric %d (FV_KNN_L1 or FV_KNN_L2)",
                      (int)metric);
    if (train->num_classes < 1)
        return fv_err(FV_ERR_INVALID, "k-NN: the training set has no classes (num_classes %d)",
                      train->num_classes);
    kn->train = train->x->data, kn->x = x->data, kn->k = k, kn->metric = metric;
    kn->classes = train->num_classes;
    return FV_OK;
}

/* ---------------------------------------------------------------- public */

fv_status fv_knn_predict(const fv_dataset *train, const fv_tensor *x, int k,
                         fv_knn_metric metric, double *scores, int *pred)
{
    knn kn = {0};
    FV_TRY(check_args(train, x, k, metric, &kn));
    kn.scores = scores, kn.pred = pred;
    int *labels = fv_malloc((size_t)kn.ntrain * sizeof(int), "k-NN labels");
    float *sq = labels ? fv_malloc(((size_t)kn.ntrain + kn.n) * sizeof(float), "k-NN norms")
                       : NULL;
    fv_status s = sq ? read_labels(train, kn.ntrain, kn.classes, "training", labels)
                     : FV_ERR_NOMEM;
    if (s == FV_OK)
        s = norms(kn.train, kn.ntrain, kn.d, metric, "training", sq);
    if (s == FV_OK)
        s = norms(kn.x, kn.n, kn.d, metric, "input", sq + kn.ntrain);
    if (s == FV_OK) {
        kn.labels = labels, kn.train_sq = sq, kn.x_sq = sq + kn.ntrain;
        s = run(&kn);
    }
    fv_free(sq);
    fv_free(labels);
    return s;
}

fv_status fv_knn_evaluate(const fv_dataset *train, const fv_dataset *test, int k,
                          fv_knn_metric metric, double *accuracy)
{
    if (!accuracy)
        return fv_err(FV_ERR_INVALID, "k-NN: accuracy is NULL");
    if (!train || !test)
        return fv_err(FV_ERR_INVALID, "k-NN: no %s set", train ? "test" : "training");
    int n, d;
    FV_TRY(check_x(test->x, "test set", &n, &d));
    if (train->num_classes < 1)
        return fv_err(FV_ERR_INVALID, "k-NN: the training set has no classes (num_classes %d)",
                      train->num_classes);
    int *truth = fv_malloc(2 * (size_t)n * sizeof(int), "k-NN test labels");
    fv_status s = truth ? read_labels(test, n, train->num_classes, "test", truth) : FV_ERR_NOMEM;
    if (s == FV_OK)
        s = fv_knn_predict(train, test->x, k, metric, NULL, truth + n);
    if (s == FV_OK) {
        int64_t right = 0;
        for (int i = 0; i < n; i++)
            right += truth[n + i] == truth[i];
        *accuracy = (double)right / n;
    }
    fv_free(truth);
    return s;
}
