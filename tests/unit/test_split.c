/* test_split.c - fv_dataset_split, the validation split carved from a training set: the sizes,
 * each class's exact share when stratified, the same split for the same seed, disjoint parts that
 * cover the set in its order with their labels and class names, and the one-line errors for bad
 * fractions, labels that are not classes, an empty part, and running out of memory. */
#include "failalloc.h"
#include "fovea.h"
#include "test.h"

/* Samples whose x is (i, -i): the tag says which original sample a row is. Class counts 50, 30,
 * 20, 3 (interleaved) unless y is NULL. */
#define N 103
static const int class_count[4] = {50, 30, 20, 3};

static int label_of(int i)
{
    /* every fourth sample cycles through the classes until one runs out, then the next */
    static int lab[N];
    static int made;
    if (!made) {
        int left[4] = {50, 30, 20, 3}, c = 0;
        for (int s = 0; s < N; s++) {
            while (!left[c % 4])
                c++;
            lab[s] = c % 4;
            left[c % 4]--, c++;
        }
        made = 1;
    }
    return lab[i];
}

static fv_dataset *make_set(int with_y)
{
    static const char *const names[4] = {"ant", "bee", "cat", "dog"};
    fv_dataset *d = calloc(1, sizeof *d);
    d->x = fv_tensor_new(2, (int64_t[]){N, 2});
    for (int i = 0; i < N; i++)
        d->x->data[2 * i] = (float)i, d->x->data[2 * i + 1] = (float)-i;
    if (with_y) {
        d->y = fv_tensor_new(1, (int64_t[]){N});
        for (int i = 0; i < N; i++)
            d->y->data[i] = (float)label_of(i);
    }
    d->num_classes = 4;
    d->class_names = calloc(4, sizeof(char *));
    for (int k = 0; k < 4; k++)
        d->class_names[k] = strdup(names[k]);
    snprintf(d->name, sizeof d->name, "toy");
    return d;
}

static int64_t rows(const fv_dataset *d) { return d->x->dims[0]; }

/* Per-class counts of a part into cnt[4]; 0 when a row is inconsistent (label, tag or order). */
static int consistent(const fv_dataset *p, int cnt[4])
{
    memset(cnt, 0, 4 * sizeof(int));
    for (int64_t r = 0; r < rows(p); r++) {
        int tag = (int)p->x->data[2 * r];
        if (p->x->data[2 * r + 1] != (float)-tag || tag < 0 || tag >= N)
            return 0;
        if (r > 0 && p->x->data[2 * (r - 1)] >= (float)tag) /* the set's order is kept */
            return 0;
        if (p->y && p->y->data[r] != (float)label_of(tag))
            return 0;
        cnt[p->y ? (int)p->y->data[r] : 0]++;
    }
    return 1;
}

/* Every sample in exactly one of the parts. */
static int disjoint_cover(const fv_dataset *a, const fv_dataset *b)
{
    int seen[N] = {0};
    for (int64_t r = 0; r < rows(a); r++)
        seen[(int)a->x->data[2 * r]]++;
    for (int64_t r = 0; r < rows(b); r++)
        seen[(int)b->x->data[2 * r]]++;
    for (int i = 0; i < N; i++)
        if (seen[i] != 1)
            return 0;
    return 1;
}

static void free_set(fv_dataset *d)
{
    fv_tensor_free(d->x), fv_tensor_free(d->y);
    for (int k = 0; k < 4; k++)
        free(d->class_names[k]);
    free(d->class_names), free(d);
}

static int same_rows(const fv_dataset *a, const fv_dataset *b)
{
    return rows(a) == rows(b) &&
           memcmp(a->x->data, b->x->data, sizeof(float) * 2 * (size_t)rows(a)) == 0;
}

TEST(stratified_exact_per_class)
{
    fv_dataset *d = make_set(1), *tr, *va;
    CHECK_STATUS(fv_dataset_split(d, 0.2, 7, 1, &tr, &va), FV_OK);
    if (!tr || !va) {
        free_set(d);
        return;
    }
    /* round(0.2 * n_c): 10, 6, 4 and round(0.6) = 1 */
    static const int want[4] = {10, 6, 4, 1};
    int cv[4], ct[4];
    CHECK(consistent(va, cv) && consistent(tr, ct));
    for (int c = 0; c < 4; c++) {
        CHECK(cv[c] == want[c]);
        CHECK(ct[c] == class_count[c] - want[c]);
    }
    CHECK(rows(va) == 21 && rows(tr) == N - 21);
    CHECK(disjoint_cover(tr, va));
    CHECK(tr->num_classes == 4 && va->num_classes == 4);
    CHECK(strcmp(fv_dataset_class_name(va, 3), "dog") == 0);
    CHECK(strcmp(fv_dataset_class_name(tr, 1), "bee") == 0);
    CHECK(va->class_names != d->class_names && va->class_names[0] != d->class_names[0]);
    CHECK(strcmp(tr->name, "toy") == 0 && strcmp(va->name, "toy (validation)") == 0);
    CHECK(va->x->ndim == 2 && va->x->dims[1] == 2 && va->y->ndim == 1);
    fv_dataset_free(tr), fv_dataset_free(va), free_set(d);
}

TEST(plain_split_sizes)
{
    fv_dataset *d = make_set(1), *tr, *va;
    CHECK_STATUS(fv_dataset_split(d, 0.2, 7, 0, &tr, &va), FV_OK);
    int cnt[4];
    CHECK(tr && va && rows(va) == 21 && rows(tr) == 82); /* round(20.6) */
    CHECK(tr && va && consistent(tr, cnt) && consistent(va, cnt) && disjoint_cover(tr, va));
    fv_dataset_free(tr), fv_dataset_free(va);
    /* without targets: x alone is split */
    fv_tensor_free(d->y);
    d->y = NULL;
    CHECK_STATUS(fv_dataset_split(d, 0.5, 3, 0, &tr, &va), FV_OK);
    CHECK(tr && va && rows(va) == 52 && !va->y && !tr->y); /* round(51.5): halves up */
    CHECK(tr && va && consistent(tr, cnt) && consistent(va, cnt) && disjoint_cover(tr, va));
    fv_dataset_free(tr), fv_dataset_free(va), free_set(d);
}

TEST(deterministic_per_seed)
{
    fv_dataset *d = make_set(1), *a, *av, *b, *bv, *c, *cv;
    for (int strat = 0; strat < 2; strat++) {
        CHECK_STATUS(fv_dataset_split(d, 0.3, 11, strat, &a, &av), FV_OK);
        CHECK_STATUS(fv_dataset_split(d, 0.3, 11, strat, &b, &bv), FV_OK);
        CHECK_STATUS(fv_dataset_split(d, 0.3, 12, strat, &c, &cv), FV_OK);
        CHECK(same_rows(a, b) && same_rows(av, bv));
        CHECK(rows(cv) == rows(av) && !same_rows(av, cv)); /* another seed, another draw */
        fv_dataset_free(a), fv_dataset_free(av), fv_dataset_free(b), fv_dataset_free(bv);
        fv_dataset_free(c), fv_dataset_free(cv);
    }
    free_set(d);
}

/* The split of d is refused with a one-line error containing needle, and no parts. */
static void refused(const fv_dataset *d, double f, int strat, const char *needle)
{
    fv_dataset *tr = (fv_dataset *)d, *va = (fv_dataset *)d;
    CHECK(fv_dataset_split(d, f, 1, strat, &tr, &va) == FV_ERR_INVALID);
    CHECK(!tr && !va);
    CHECK_ERR_HAS(needle);
    CHECK(strchr(fv_last_error(), '\n') == NULL);
}

TEST(bad_fractions_refused)
{
    fv_dataset *d = make_set(1);
    const double bad[] = {0, 1, -0.1, 1.5, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        refused(d, bad[i], i % 2, "data set 'toy': validation fraction ");
        CHECK_ERR_HAS("is not between 0 and 1");
    }
    free_set(d);
}

TEST(bad_labels_and_empty_parts_refused)
{
    fv_dataset *d = make_set(1), *tr, *va;
    d->y->data[40] = 2.5f;
    refused(d, 0.2, 1, "sample 40 has label 2.5, not a class index in [0, 4)");
    d->y->data[40] = 4;
    refused(d, 0.2, 1, "sample 40 has label 4");
    d->y->data[40] = NAN;
    refused(d, 0.2, 1, "sample 40 has label nan");
    CHECK_STATUS(fv_dataset_split(d, 0.2, 1, 0, &tr, &va), FV_OK); /* unstratified: any targets */
    fv_dataset_free(tr), fv_dataset_free(va);
    d->y->data[40] = 1;
    d->num_classes = 0; /* regression */
    refused(d, 0.2, 1, "a stratified split needs one class index per sample");
    d->num_classes = 4;
    /* 0.004 of 103 rounds to none; 0.996 to all */
    refused(d, 0.004, 0, "leaves the validation part empty");
    refused(d, 0.996, 0, "leaves the training part empty");
    /* stratified: each class rounds to 0 (0.01 x 50 = 0.5 rounds up: one sample) */
    CHECK_STATUS(fv_dataset_split(d, 0.01, 1, 1, &tr, &va), FV_OK);
    CHECK(va && rows(va) == 1 && va->y->data[0] == 0);
    fv_dataset_free(tr), fv_dataset_free(va);
    refused(d, 0.009, 1, "leaves the validation part empty");
    free_set(d);
}

TEST(out_of_memory)
{
    fv_dataset *d = make_set(1), *tr, *va;
    fv_allocator al = {failing_alloc, plain_free, NULL};
    int ok = 0;
    for (int k = 0; k < 40 && !ok; k++) {
        fail_after = k;
        fv_set_allocator(&al);
        fv_status st = fv_dataset_split(d, 0.25, 5, k % 2, &tr, &va);
        fv_set_allocator(NULL);
        ok = st == FV_OK;
        if (!ok) {
            CHECK(st == FV_ERR_NOMEM && !tr && !va);
            CHECK_ERR_HAS("out of memory");
        }
    }
    CHECK(ok);
    if (ok)
        fv_dataset_free(tr), fv_dataset_free(va);
    free_set(d);
}

int main(void)
{
    RUN(stratified_exact_per_class);
    RUN(plain_split_sizes);
    RUN(deterministic_per_seed);
    RUN(bad_fractions_refused);
    RUN(bad_labels_and_empty_parts_refused);
    RUN(out_of_memory);
    TEST_MAIN_END();
}
