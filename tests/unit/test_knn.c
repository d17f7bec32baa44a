/* test_knn.c - k-nearest neighbours: against a brute-force double-precision reference (both
 * metrics, several k; small-integer data, where float is exact and ties abound, and continuous
 * data), hand-made cases with known answers, thread-count independence, errors, allocation
 * failures, the L1 distance tiles at every instruction-set level the CPU has, and a slice of real
 * Fashion-MNIST when it is installed. */
#include "fovea.h"
#include "failalloc.h"
#include "isa_levels.h"
#include "test.h"

#include <stdint.h>
#include <sys/stat.h>

/* n samples of shape (d) (or (d / 8, 2, 4) when shaped), labels in [0, classes): values in
 * [0, levels) when levels > 0, else standard normal. */
static fv_dataset *make_set(int n, int d, int classes, int levels, int shaped, uint64_t seed)
{
    fv_dataset *s = calloc(1, sizeof *s);
    int64_t dims[4] = {n, d, 0, 0}, sd[4] = {n, d / 8, 2, 4}, yd[1] = {n};
    s->x = shaped ? fv_tensor_new(4, sd) : fv_tensor_new(2, dims);
    s->y = fv_tensor_new(1, yd);
    s->num_classes = classes;
    fv_rng r;
    fv_rng_seed(&r, seed);
    for (int64_t i = 0; i < (int64_t)n * d; i++)
        s->x->data[i] = levels > 0 ? (float)fv_rng_below(&r, (uint64_t)levels)
                                   : (float)fv_rng_normal(&r);
    for (int i = 0; i < n; i++)
        s->y->data[i] = (float)fv_rng_below(&r, (uint64_t)classes);
    return s;
}

static void free_set(fv_dataset *s)
{
    if (s) {
        fv_tensor_free(s->x);
        fv_tensor_free(s->y);
        free(s);
    }
}

/* ---------------------------------------------------------------- the reference */

static const double *sort_key;
static int by_distance(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_key[i] != sort_key[j])
        return sort_key[i] < sort_key[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

/* One test row, as documented: distances in double (L2 squared), neighbours by (distance, index),
 * votes, then the summed (Euclidean) distance, then the class index. *fragile is set when float
 * arithmetic could decide differently: the k-th and (k+1)-th distances, or the sums of two
 * classes tied on votes, within a relative 1e-5. */
static void ref_row(const fv_dataset *tr, const float *a, int k, fv_knn_metric metric,
                    double *scores, int *pred, int *fragile)
{
    int m = (int)tr->x->dims[0], d = (int)(fv_tensor_numel(tr->x) / m), c = tr->num_classes;
    double *dist = malloc(sizeof(double) * m), *sum = calloc((size_t)c, sizeof(double));
    int *idx = malloc(sizeof(int) * m), *votes = calloc((size_t)c, sizeof(int));
    for (int j = 0; j < m; j++) {
        const float *b = tr->x->data + (size_t)j * d;
        double s = 0;
        for (int p = 0; p < d; p++)
            s += metric == FV_KNN_L1 ? fabs((double)a[p] - b[p])
                                     : ((double)a[p] - b[p]) * ((double)a[p] - b[p]);
        dist[j] = s, idx[j] = j;
    }
    sort_key = dist;
    qsort(idx, (size_t)m, sizeof(int), by_distance);
    for (int q = 0; q < k; q++) {
        int cls = (int)tr->y->data[idx[q]];
        votes[cls]++;
        sum[cls] += metric == FV_KNN_L2 ? sqrt(dist[idx[q]]) : dist[idx[q]];
    }
    if (k < m && dist[idx[k]] - dist[idx[k - 1]] <= 1e-5 * dist[idx[k]] + 1e-9)
        *fragile = 1;
    int best = -1;
    for (int j = 0; j < c; j++) {
        if (best >= 0 && votes[j] && votes[j] == votes[best] &&
            fabs(sum[j] - sum[best]) <= 1e-5 * sum[j] + 1e-9)
            *fragile = 1;
        if (votes[j] > (best < 0 ? 0 : votes[best]) ||
            (votes[j] && votes[j] == votes[best] && sum[j] < sum[best]))
            best = j;
    }
    for (int j = 0; j < c; j++)
        scores[j] = votes[j] / (double)k;
    *pred = best;
    free(dist), free(sum), free(idx), free(votes);
}

/* fv_knn_predict against the reference on every row; rows the reference calls fragile are
 * skipped when `exact` is 0 (continuous data) and must be few. */
static void check_against_reference(const fv_dataset *tr, const fv_dataset *te, int k,
                                    fv_knn_metric metric, int exact)
{
    int n = (int)te->x->dims[0], c = tr->num_classes, d = (int)(fv_tensor_numel(te->x) / n);
    double *sc = malloc(sizeof(double) * n * c), rs[16];
    int *pred = malloc(sizeof(int) * n), fragile_rows = 0, bad = 0;
    CHECK_STATUS(fv_knn_predict(tr, te->x, k, metric, sc, pred), FV_OK);
    for (int i = 0; i < n; i++) {
        int rp, fragile = 0;
        ref_row(tr, te->x->data + (size_t)i * d, k, metric, rs, &rp, &fragile);
        if (fragile && !exact) {
            fragile_rows++;
            continue;
        }
        if (rp != pred[i] || memcmp(rs, sc + (size_t)i * c, sizeof(double) * c) != 0) {
            if (!bad++)
                fprintf(stderr, "%s k=%d metric %d row %d: pred %d, reference %d\n", t_isa_name(),
                        k, (int)metric, i, pred[i], rp);
        }
    }
    CHECK(bad == 0);
    CHECK(fragile_rows <= n / 10);
    free(sc), free(pred);
}

TEST(matches_reference_on_integer_data)
{
    /* 3 training blocks of 1024, 8 tasks, 37 values (two 16-lane chunks and a tail) */
    fv_dataset *tr = make_set(2300, 37, 4, 3, 0, 1), *te = make_set(300, 37, 4, 3, 0, 2);
    int ks[] = {1, 2, 3, 5, 10};
    for (int i = 0; i < 5; i++) {
        check_against_reference(tr, te, ks[i], FV_KNN_L1, 1);
        check_against_reference(tr, te, ks[i], FV_KNN_L2, 1);
    }
    free_set(tr), free_set(te);
    /* samples of shape (1, 2, 4), shorter than one lane chunk */
    tr = make_set(500, 8, 3, 4, 1, 3), te = make_set(100, 8, 3, 4, 1, 4);
    for (int k = 1; k <= 6; k++) {
        check_against_reference(tr, te, k, FV_KNN_L1, 1);
        check_against_reference(tr, te, k, FV_KNN_L2, 1);
    }
    check_against_reference(tr, te, 500, FV_KNN_L1, 1); /* k = every training sample */
    free_set(tr), free_set(te);
}

/* The L1 distance tiles (one per instruction-set level) at every level this CPU has: rows of
 * two 16-lane chunks and a tail, and rows shorter than a chunk. */
TEST(l1_matches_reference_at_every_level)
{
    fv_dataset *tr = make_set(2300, 37, 4, 3, 0, 1), *te = make_set(300, 37, 4, 3, 0, 2);
    fv_dataset *tr8 = make_set(500, 8, 3, 4, 1, 3), *te8 = make_set(100, 8, 3, 4, 1, 4);
    for (int l = t_isa_first(FV_KF_KNN); l >= 0; l = t_isa_next(FV_KF_KNN, l))
        for (int k = 1; k <= 5; k += 2) {
            check_against_reference(tr, te, k, FV_KNN_L1, 1);
            check_against_reference(tr8, te8, k, FV_KNN_L1, 1);
        }
    free_set(tr), free_set(te), free_set(tr8), free_set(te8);
}

TEST(matches_reference_on_continuous_data)
{
    fv_dataset *tr = make_set(1500, 20, 5, 0, 0, 5), *te = make_set(200, 20, 5, 0, 0, 6);
    int ks[] = {1, 4, 7};
    for (int i = 0; i < 3; i++) {
        check_against_reference(tr, te, ks[i], FV_KNN_L1, 0);
        check_against_reference(tr, te, ks[i], FV_KNN_L2, 0);
    }
    free_set(tr), free_set(te);
}

/* ---------------------------------------------------------------- known answers */

static fv_dataset *points(int n, int d, const float *x, const int *y, int classes)
{
    fv_dataset *s = make_set(n, d, classes, 1, 0, 0);
    memcpy(s->x->data, x, sizeof(float) * n * d);
    for (int i = 0; i < n; i++)
        s->y->data[i] = (float)y[i];
    return s;
}

TEST(points_on_a_line)
{
    /* class 0 at 0, 1, 2; class 1 at 10, 11, 12 */
    const float xs[] = {0, 1, 2, 10, 11, 12};
    const int ys[] = {0, 0, 0, 1, 1, 1};
    fv_dataset *tr = points(6, 1, xs, ys, 2);
    struct { float x; int k, pred; double score0; } cases[] = {
        {0.9f, 1, 0, 1.0},  {10.4f, 1, 1, 0.0},
        {7.0f, 3, 1, 1.0 / 3}, /* 10 (3), 11 (4), then 2 and 12 both at 5: index 2 is in */
        {6.0f, 2, 0, 0.5},  /* 2 and 10 both at 4: votes 1-1, sums 4-4: the smaller class */
        {6.0f, 6, 0, 0.5},  /* 3-3, sums 15-15: the smaller class */
        {6.5f, 6, 1, 0.5},  /* 3-3, sums 16.5 and 13.5: the nearer class */
        {5.0f, 3, 0, 1.0},  /* 2 (3), 1 (4), then 0 and 10 both at 5: index 0 is nearer */
        {6.0f, 5, 0, 0.6},  /* 0 and 12 both at 6: index 0 is in; class 0 wins 3-2 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t dims[2] = {1, 1};
        fv_tensor *x = fv_tensor_new(2, dims);
        x->data[0] = cases[i].x;
        for (int m = 0; m < 2; m++) {
            double sc[2] = {-1, -1};
            int pred = -1;
            CHECK_STATUS(fv_knn_predict(tr, x, cases[i].k, (fv_knn_metric)m, sc, &pred), FV_OK);
            int good = pred == cases[i].pred && sc[0] == cases[i].score0 &&
                       fabs(sc[0] + sc[1] - 1.0) < 1e-15;
            if (!good)
                fprintf(stderr, "case %zu metric %d: pred %d scores %g %g\n", i, m, pred, sc[0],
                        sc[1]);
            CHECK(good);
        }
        fv_tensor_free(x);
    }
    free_set(tr);
}

TEST(l1_and_l2_disagree_where_they_should)
{
    /* from the origin: (3, 0) is at L1 3, L2 3; (2, 2) at L1 4, L2 2.83 */
    const float xs[] = {3, 0, 2, 2};
    const int ys[] = {0, 1};
    fv_dataset *tr = points(2, 2, xs, ys, 2);
    int64_t dims[2] = {1, 2};
    fv_tensor *x = fv_tensor_new(2, dims);
    int p1 = -1, p2 = -1;
    CHECK_STATUS(fv_knn_predict(tr, x, 1, FV_KNN_L1, NULL, &p1), FV_OK);
    CHECK_STATUS(fv_knn_predict(tr, x, 1, FV_KNN_L2, NULL, &p2), FV_OK);
    CHECK(p1 == 0 && p2 == 1);
    fv_tensor_free(x);
    free_set(tr);
}

TEST(evaluate_counts_the_right_predictions)
{
    fv_dataset *tr = make_set(400, 24, 3, 0, 0, 7), *te = make_set(90, 24, 3, 0, 0, 8);
    int pred[90];
    CHECK_STATUS(fv_knn_predict(tr, te->x, 3, FV_KNN_L2, NULL, pred), FV_OK);
    int right = 0;
    for (int i = 0; i < 90; i++)
        right += pred[i] == (int)te->y->data[i];
    double acc = -1;
    CHECK_STATUS(fv_knn_evaluate(tr, te, 3, FV_KNN_L2, &acc), FV_OK);
    CHECK(acc == right / 90.0);
    /* the training set against itself with k = 1: every sample is its own neighbour */
    CHECK_STATUS(fv_knn_evaluate(tr, tr, 1, FV_KNN_L1, &acc), FV_OK);
    CHECK(acc == 1.0);
    free_set(tr), free_set(te);
}

/* ---------------------------------------------------------------- threads */

TEST(thread_count_does_not_change_results)
{
    fv_dataset *tr = make_set(2100, 50, 6, 0, 0, 9), *te = make_set(333, 50, 6, 0, 0, 10);
    int n = 333, c = 6;
    double *sc[3];
    int *pred[3];
    for (int m = 0; m < 2; m++) {
        for (int t = 0; t < 3; t++) {
            sc[t] = malloc(sizeof(double) * n * c), pred[t] = malloc(sizeof(int) * n);
            CHECK_STATUS(fv_set_num_threads(t + 1), FV_OK);
            CHECK_STATUS(fv_knn_predict(tr, te->x, 5, (fv_knn_metric)m, sc[t], pred[t]), FV_OK);
        }
        for (int t = 1; t < 3; t++) {
            CHECK(memcmp(pred[0], pred[t], sizeof(int) * n) == 0);
            CHECK(memcmp(sc[0], sc[t], sizeof(double) * n * c) == 0);
        }
        for (int t = 0; t < 3; t++)
            free(sc[t]), free(pred[t]);
    }
    CHECK_STATUS(fv_set_num_threads(0), FV_OK);
    free_set(tr), free_set(te);
}

/* ---------------------------------------------------------------- errors */

static int one_line(void)
{
    return fv_last_error()[0] && !strchr(fv_last_error(), '\n');
}

#define CHECK_FAILS(expr, status, needle) \
    do {                                  \
        CHECK_STATUS(expr, status);       \
        CHECK_ERR_HAS(needle);            \
        CHECK(one_line());                \
    } while (0)

TEST(errors_name_the_problem)
{
    fv_dataset *tr = make_set(10, 4, 3, 0, 0, 11), *te = make_set(5, 4, 3, 0, 0, 12);
    fv_dataset *wide = make_set(5, 6, 3, 0, 0, 13);
    int pred[10];
    double acc;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 0, FV_KNN_L2, NULL, pred), FV_ERR_INVALID,
                "k = 0 is outside [1, 10]");
    CHECK_FAILS(fv_knn_evaluate(tr, te, 11, FV_KNN_L1, &acc), FV_ERR_INVALID,
                "k = 11 is outside [1, 10]");
    CHECK_FAILS(fv_knn_predict(tr, wide->x, 1, FV_KNN_L2, NULL, pred), FV_ERR_SHAPE,
                "samples of shape (6) have 6 values, the training set's (shape (4)) 4");
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, (fv_knn_metric)7, NULL, pred), FV_ERR_INVALID,
                "unknown metric 7");
    CHECK_FAILS(fv_knn_predict(NULL, te->x, 1, FV_KNN_L1, NULL, pred), FV_ERR_INVALID,
                "no training set");
    CHECK_FAILS(fv_knn_evaluate(tr, te, 1, FV_KNN_L1, NULL), FV_ERR_INVALID, "accuracy is NULL");

    tr->y->data[7] = 3; /* 3 classes */
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L1, NULL, pred), FV_ERR_INVALID,
                "training label 7 is 3, not a class index in [0, 3)");
    tr->y->data[7] = 1.5f;
    CHECK_FAILS(fv_knn_evaluate(tr, te, 1, FV_KNN_L1, &acc), FV_ERR_INVALID,
                "training label 7 is 1.5");
    tr->y->data[7] = 0;
    te->y->data[2] = -1;
    CHECK_FAILS(fv_knn_evaluate(tr, te, 1, FV_KNN_L1, &acc), FV_ERR_INVALID,
                "test label 2 is -1, not a class index in [0, 3)");
    te->y->data[2] = 0;
    tr->num_classes = 0;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L1, NULL, pred), FV_ERR_INVALID,
                "no classes");
    tr->num_classes = 3;

    /* empty sets and missing labels */
    int64_t none[2] = {0, 4};
    fv_tensor *empty = fv_tensor_new(2, none);
    CHECK_FAILS(fv_knn_predict(tr, empty, 1, FV_KNN_L2, NULL, pred), FV_ERR_SHAPE,
                "the input is empty");
    fv_tensor *keep = te->x;
    te->x = empty;
    CHECK_FAILS(fv_knn_evaluate(tr, te, 1, FV_KNN_L2, &acc), FV_ERR_SHAPE,
                "the test set is empty");
    CHECK_FAILS(fv_knn_evaluate(te, tr, 1, FV_KNN_L2, &acc), FV_ERR_SHAPE,
                "the training set is empty");
    te->x = keep;
    fv_tensor_free(empty);
    fv_tensor *y = tr->y;
    tr->y = NULL;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L2, NULL, pred), FV_ERR_SHAPE,
                "the training set has 0 labels for 10 samples");
    tr->y = y;

    /* values that are not finite, or too large for L2 in float */
    te->x->data[9] = NAN;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L1, NULL, pred), FV_ERR_NUMERIC,
                "input sample 2 has a NaN or infinite value");
    te->x->data[9] = 0;
    tr->x->data[1] = INFINITY;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L1, NULL, pred), FV_ERR_NUMERIC,
                "training sample 0 has a NaN or infinite value");
    tr->x->data[1] = 1e30f;
    CHECK_FAILS(fv_knn_predict(tr, te->x, 1, FV_KNN_L2, NULL, pred), FV_ERR_NUMERIC,
                "training sample 0 is too large for L2");
    CHECK_STATUS(fv_knn_predict(tr, te->x, 1, FV_KNN_L1, NULL, pred), FV_OK);
    free_set(tr), free_set(te), free_set(wide);
}


/* Every allocation failing in turn: "out of memory", never a crash or a leak, then success. */
TEST(out_of_memory)
{
    fv_dataset *tr = make_set(50, 20, 3, 0, 0, 14), *te = make_set(20, 20, 3, 0, 0, 15);
    fv_allocator al = {failing_alloc, plain_free, NULL};
    int ok = 0;
    for (int k = 0; k < 20 && !ok; k++) {
        double acc = -1;
        fail_after = k;
        fv_set_allocator(&al);
        fv_status s = fv_knn_evaluate(tr, te, 3, k % 2 ? FV_KNN_L1 : FV_KNN_L2, &acc);
        fv_set_allocator(NULL);
        ok = s == FV_OK;
        if (!ok) {
            CHECK(s == FV_ERR_NOMEM);
            CHECK_ERR_HAS("out of memory");
        }
    }
    CHECK(ok);
    free_set(tr), free_set(te);
}

/* ---------------------------------------------------------------- real data */

TEST(fashion_mnist_slice)
{
    struct stat st;
    if (stat(fv_default_data_dir(), &st) != 0) {
        printf("skipped: Fashion-MNIST is not installed\n");
        return;
    }
    fv_dataset *train = fv_dataset_load_mnist_dir(NULL, 1);
    fv_dataset *test = fv_dataset_load_mnist_dir(NULL, 0);
    CHECK(train && test);
    if (!train || !test) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_dataset_free(train), fv_dataset_free(test);
        return;
    }
    fv_dataset *tr = fv_dataset_take(train, 0, 2000), *te = fv_dataset_take(test, 0, 500);
    double acc = 0;
    CHECK_STATUS(fv_knn_evaluate(tr, te, 1, FV_KNN_L2, &acc), FV_OK);
    printf("Fashion-MNIST 2000/500, k = 1, L2: accuracy %.3f\n", acc);
    CHECK(acc > 0.7);
    fv_dataset_free(tr), fv_dataset_free(te), fv_dataset_free(train), fv_dataset_free(test);
}

int main(void)
{
    RUN(matches_reference_on_integer_data);
    RUN(matches_reference_on_continuous_data);
    RUN(points_on_a_line);
    RUN(l1_and_l2_disagree_where_they_should);
    RUN(l1_matches_reference_at_every_level);
    RUN(evaluate_counts_the_right_predictions);
    RUN(thread_count_does_not_change_results);
    RUN(errors_name_the_problem);
    RUN(out_of_memory);
    RUN(fashion_mnist_slice);
    TEST_MAIN_END();
}
