/* test_probs.c - the probabilities CSV of `fovea eval` and `fovea ensemble` (fv_probs_write,
 * fv_probs_read, fv_probs_decode): an exact round trip of floats, the layouts accepted (CRLF, no
 * final newline), and every malformed input refused with a one-line error naming the file and
 * line: headers, ragged rows, a wrong class count, NaN, infinities, values outside [0, 1], sums
 * other than 1, indices and labels; memory in proportion to the input; out of memory. */
#include "failalloc.h"
#include "fovea.h"
#include "nn/metrics.h"
#include "test.h"
#include "testfs.h"

static fv_status decode(const char *text, fv_probs *p)
{
    return fv_probs_decode("t.csv", text, strlen(text), p);
}

TEST(round_trip_exact)
{
    enum { n = 4, k = 3 };
    float p[n * k] = {0.25f, 0.5f, 0.25f, 1, 0, 0, 1e-30f, 0.7f, 0.3f, 0.1f, 0.2f, 0.7f};
    p[6] = 1.4e-45f; /* the smallest denormal */
    p[7] = nextafterf(0.7f, 1), p[8] = 1 - p[7] - p[6];
    int lab[n] = {1, 0, 2, 2};
    const char *path = t_path("p.csv");
    CHECK_STATUS(fv_probs_write(path, p, lab, n, k), FV_OK);
    long len;
    char *text = (char *)t_slurp(path, &len);
    const char *want = "index,label,p_0,p_1,p_2\n0,1,0.25,0.5,0.25\n1,0,1,0,0\n2,2,1.40129846e-45,";
    CHECK(text && strncmp(text, want, strlen(want)) == 0);
    free(text);
    fv_probs r;
    CHECK_STATUS(fv_probs_read(path, &r), FV_OK);
    CHECK(r.n == n && r.k == k);
    CHECK(r.p && memcmp(r.p, p, sizeof p) == 0);
    CHECK(r.labels && memcmp(r.labels, lab, sizeof lab) == 0);
    fv_probs_free(&r);
    CHECK(r.p == NULL && r.labels == NULL && r.n == 0);
    CHECK_STATUS(fv_probs_write(path, p, lab, n, 0), FV_ERR_INVALID);
    CHECK_STATUS(fv_probs_read(t_path("missing.csv"), &r), FV_ERR_IO);
    CHECK_ERR_HAS("missing.csv");
    CHECK(fv_probs_read(t_dir, &r) != FV_OK && !r.p); /* a folder */
    CHECK_ERR_HAS(t_dir);
}

TEST(layouts_accepted)
{
    static const char *const ok[] = {
        "index,label,p_0,p_1\r\n0,1,0.5,0.5\r\n1,0,1,0\r\n",  /* CRLF */
        "index,label,p_0,p_1\n0,1,0.5,0.5\n1,0,1e-3,9.99e-1", /* no final newline, exponents */
        "index,label,p_0,p_1\n0,1,.5,0.5004\n1,0,1.0,-0\n",   /* sum within 1e-3, -0 */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        fv_probs r;
        CHECK_STATUS(decode(ok[i], &r), FV_OK);
        CHECK(r.n == 2 && r.k == 2 && r.labels[0] == 1 && r.labels[1] == 0 && r.p[0] > 0.49f);
        fv_probs_free(&r);
    }
}

TEST(malformed_refused)
{
    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"", "line 1: the header must be index,label,p_0,p_1,..."},
        {"index,lab", "line 1: the header must be"},
        {"label,index,p_0\n0,0,1\n", "line 1: the header must be"},
        {"index,label\n0,0\n", "line 1: no probability columns"},
        {"index,label,p_0,p_2\n0,0,1,0\n", "line 1: column 4 must be p_1"},
        {"index,label,p_0,p_1x\n0,0,1,0\n", "line 1: column 4 must be p_1"},
        {"index,label,p_0,\n0,0,1\n", "line 1: column 4 must be p_1"},
        {"index,label,p_0,p_1\n", "no rows after the header"},
        {"index,label,p_0,p_1", "no rows after the header"},
        /* ragged rows; a class count other than the header's */
        {"index,label,p_0,p_1\n0,0,1\n", "line 2: 1 probabilities, expected 2"},
        {"index,label,p_0,p_1\n0,0,1,0\n1,1\n", "line 3: 0 probabilities, expected 2"},
        {"index,label,p_0,p_1\n0,0,0.5,0.5,0\n", "line 2: more than 2 probabilities"},
        {"index,label,p_0,p_1\n0,0,0.5,0.5\n1,1,0.2,0.3,0.5\n", "line 3: more than 2"},
        {"index,label,p_0,p_1\n0,0,0.5,0.5,\n", "line 2: more than 2 probabilities"},
        /* values */
        {"index,label,p_0,p_1\n0,0,nan,1\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0,NAN,1\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0,1,-nan\n", "line 2: p_1 is not a probability in [0, 1]"},
        {"index,label,p_0,p_1\n0,0,inf,0\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0,1e999,0\n", "line 2: p_0 is not a probability in [0, 1]"},
        {"index,label,p_0,p_1\n0,0,-0.5,1.5\n", "line 2: p_0 is not a probability in [0, 1]"},
        {"index,label,p_0,p_1\n0,0,0.5,1.5\n", "line 2: p_1 is not a probability in [0, 1]"},
        {"index,label,p_0,p_1\n0,0,,1\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0, 0.5,0.5\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0,0.5,\n0.5\n", "line 2: p_1 is not a number"},
        {"index,label,p_0,p_1\n0,0,0.5x,0.5\n", "line 2: p_0 is not a number"},
        {"index,label,p_0,p_1\n0,0,0.5,0.4\n", "line 2: the probabilities sum to 0.9, not 1"},
        {"index,label,p_0,p_1\n0,0,0.5,0.5\n1,0,0.9,0.9\n", "line 3: the probabilities sum to"},
        /* indices and labels */
        {"index,label,p_0,p_1\n1,0,0.5,0.5\n", "line 2: the index must be 0"},
        {"index,label,p_0,p_1\n0,0,0.5,0.5\n0,0,0.5,0.5\n", "line 3: the index must be 1"},
        {"index,label,p_0,p_1\nx,0,0.5,0.5\n", "line 2: the index must be 0"},
        {"index,label,p_0,p_1\n-0,0,0.5,0.5\n", "line 2: the index must be 0"},
        {"index,label,p_0,p_1\n0000000000000000000,0,1,0\n", "line 2: the index must be 0"},
        {"index,label,p_0,p_1\n0,2,0.5,0.5\n", "line 2: the label must be a class index in [0, 2)"},
        {"index,label,p_0,p_1\n0,-1,0.5,0.5\n", "line 2: the label must be a class index"},
        {"index,label,p_0,p_1\n0,,0.5,0.5\n", "line 2: the label must be a class index"},
        {"index,label,p_0,p_1\n0\n", "line 2: the label must be a class index"},
        {"index,label,p_0,p_1\n0,1.0,0.5,0.5\n", "line 2: the label must be a class index"},
        /* lines */
        {"index,label,p_0,p_1\n0,0,0.5,0.5\n\n", "line 3 is empty"},
        {"index,label,p_0,p_1\n\n0,0,0.5,0.5\n", "line 2 is empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fv_probs r = {.n = 7};
        fv_status st = decode(bad[i].text, &r);
        const char *e = fv_last_error();
        if (st != FV_ERR_FORMAT || !strstr(e, bad[i].needle) || strncmp(e, "t.csv: ", 7) != 0 ||
            strchr(e, '\n') || r.n != 0 || r.p || r.labels) {
            fprintf(stderr, "case %zu: status %d, error \"%s\", wanted \"%s\"\n", i, (int)st, e,
                    bad[i].needle);
            CHECK(0);
        }
    }
    const char nul[] = "index,label,p_0\n0,0,1\0\n";
    fv_probs r;
    CHECK_STATUS(fv_probs_decode("t.csv", nul, sizeof nul - 1, &r), FV_ERR_FORMAT);
    CHECK_ERR_HAS("t.csv: not a text file (a NUL byte)");
}

/* A header of many classes over rows of almost nothing: refused without an allocation out of
 * proportion to the text (the rows are bounded by what the text can hold). */
static size_t largest;
static void *tracking_alloc(size_t size, void *ctx)
{
    (void)ctx;
    largest = size > largest ? size : largest;
    return malloc(size);
}

TEST(memory_follows_size)
{
    enum { k = 20000, lines = 200000 };
    size_t cap = (size_t)k * 8 + 32 + (size_t)lines * 2, len = 0;
    char *text = malloc(cap + 1);
    len += (size_t)sprintf(text, "index,label");
    for (int c = 0; c < k; c++)
        len += (size_t)sprintf(text + len, ",p_%d", c);
    text[len++] = '\n';
    for (int i = 0; i < lines; i++)
        text[len++] = '0', text[len++] = '\n';
    text[len] = '\0';
    fv_allocator al = {tracking_alloc, plain_free, NULL};
    fv_probs r;
    largest = 0;
    fv_set_allocator(&al);
    fv_status st = fv_probs_decode("t.csv", text, len, &r);
    fv_set_allocator(NULL);
    CHECK(st == FV_ERR_FORMAT);
    CHECK_ERR_HAS("t.csv: line 2: the label must be");
    CHECK(largest <= 4 * len); /* 200000 lines x 20000 floats would be 16 GB */
    /* more than 2^20 classes */
    free(text);
    enum { many = (1 << 20) + 1 };
    text = malloc((size_t)many * 12 + 64);
    len = (size_t)sprintf(text, "index,label");
    for (int c = 0; c < many; c++)
        len += (size_t)sprintf(text + len, ",p_%d", c);
    len += (size_t)sprintf(text + len, "\n0,0");
    CHECK_STATUS(fv_probs_decode("t.csv", text, len, &r), FV_ERR_FORMAT);
    CHECK_ERR_HAS("t.csv: line 1: more than 1048576 classes");
    free(text);
}

TEST(out_of_memory)
{
    const char *text = "index,label,p_0,p_1\n0,1,0.5,0.5\n1,0,1,0\n";
    fv_allocator al = {failing_alloc, plain_free, NULL};
    int ok = 0;
    for (int k = 0; k < 10 && !ok; k++) {
        fv_probs r;
        fail_after = k;
        fv_set_allocator(&al);
        fv_status st = decode(text, &r);
        fv_set_allocator(NULL);
        ok = st == FV_OK;
        if (!ok) {
            CHECK(st == FV_ERR_NOMEM && !r.p && !r.labels);
            CHECK_ERR_HAS("out of memory");
        }
        fv_probs_free(&r);
    }
    CHECK(ok);
}

int main(void)
{
    static const t_test tests[] = {T_TEST(round_trip_exact), T_TEST(layouts_accepted),
                                   T_TEST(malformed_refused), T_TEST(memory_follows_size),
                                   T_TEST(out_of_memory)};
    return t_main_scratch("/tmp/fovea_probs_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
