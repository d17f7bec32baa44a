/* test.h - a minimal unit-test harness: CHECK macros, float comparison, and the closing line
 * "N passed, N failed" that ctest-driven CI reads. Each test file defines tests and calls RUN(). */
#ifndef FV_TEST_H
#define FV_TEST_H

#include "fovea.h" /* fv_last_error, read by CHECK_ERR_HAS and t_check_added */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int t_passed, t_failed, t_cur_failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            t_cur_failed = 1;                                                    \
        }                                                                        \
    } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_NEAR(a, b, atol, rtol)                                                     \
    do {                                                                                 \
        double ca_ = (double)(a), cb_ = (double)(b);                                     \
        if (!(fabs(ca_ - cb_) <= (atol) + (rtol) * fabs(cb_))) {                         \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %s = %.9g\n", __FILE__, __LINE__, \
                    #a, ca_, #b, cb_);                                                   \
            t_cur_failed = 1;                                                            \
        }                                                                                \
    } while (0)

#define CHECK_STATUS(expr, want)                                                          \
    do {                                                                                  \
        int cs_ = (int)(expr);                                                            \
        if (cs_ != (int)(want)) {                                                         \
            fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__, \
                    #expr, cs_, (int)(want), fv_last_error());                            \
            t_cur_failed = 1;                                                             \
        }                                                                                 \
    } while (0)

/* The last error mentions `needle`. */
#define CHECK_ERR_HAS(needle)                                                              \
    do {                                                                                   \
        if (!strstr(fv_last_error(), (needle))) {                                          \
            fprintf(stderr, "%s:%d: error \"%s\" lacks \"%s\"\n", __FILE__, __LINE__,       \
                    fv_last_error(), (needle));                                            \
            t_cur_failed = 1;                                                              \
        }                                                                                  \
    } while (0)

/* Largest |a - b| / (atol + rtol * |b|) over n values; <= 1 means all within tolerance. */
static inline double t_max_violation(const float *a, const float *b, long n, double atol,
                                     double rtol, long *where)
{
    double worst = 0;
    for (long i = 0; i < n; i++) {
        double v = fabs((double)a[i] - (double)b[i]) / (atol + rtol * fabs((double)b[i]));
        if (!(v <= worst)) { /* also catches NaN */
            worst = isnan(v) ? INFINITY : v;
            if (where)
                *where = i;
        }
    }
    return worst;
}

#define CHECK_ARRAY_NEAR(a, b, n, atol, rtol)                                                 \
    do {                                                                                      \
        long w_ = 0;                                                                          \
        double v_ = t_max_violation((a), (b), (long)(n), (atol), (rtol), &w_);                \
        if (v_ > 1) {                                                                         \
            fprintf(stderr, "%s:%d: %s vs %s: element %ld: %.9g vs %.9g\n", __FILE__, __LINE__, \
                    #a, #b, w_, (double)(a)[w_], (double)(b)[w_]);                            \
            t_cur_failed = 1;                                                                 \
        }                                                                                     \
    } while (0)

#define TEST(name) static void name(void)

/* Whether an error message msg is one non-empty line without control characters. */
static inline int t_one_line(const char *msg)
{
    const unsigned char *e = (const unsigned char *)msg;
    int clean = e[0] != 0;
    for (; *e; e++)
        clean &= *e >= 0x20 && *e != 0x7f;
    return clean;
}

/* Prints the first line where two texts differ. */
static inline void t_show_diff(const char *a, const char *b)
{
    int line = 1;
    size_t i = 0, start = 0;
    for (; a[i] && a[i] == b[i]; i++)
        if (a[i] == '\n')
            line++, start = i + 1;
    a += start, b += start;
    fprintf(stderr, "line %d differs:\n  %.*s\n  %.*s\n", line, (int)strcspn(a, "\n"), a,
            (int)strcspn(b, "\n"), b);
}

/* Checks that text got (NULL: a failure) is want, showing the first line that differs. */
static inline void t_check_text(const char *got, const char *want)
{
    CHECK(got && strcmp(got, want) == 0);
    if (got && strcmp(got, want) != 0)
        t_show_diff(got, want);
}

/* One row of a table of layers to add: got (the node added, or < 0) is want when want >= 0,
 * else an error whose message holds each of the up to three phrases of has (NULL-ended);
 * names the row on a failure. */
static inline void t_check_added(size_t row, int got, int want, const char *const has[3])
{
    int before = t_cur_failed;
    t_cur_failed = 0;
    CHECK(want >= 0 ? got == want : got < 0);
    for (int k = 0; k < 3 && has[k]; k++)
        CHECK_ERR_HAS(has[k]);
    if (t_cur_failed)
        fprintf(stderr, "  row %zu\n", row);
    t_cur_failed |= before;
}

/* Runs one test, counting it as passed or failed. */
static inline void t_run(void (*fn)(void), const char *name)
{
    t_cur_failed = 0;
    fn();
    if (t_cur_failed) {
        t_failed++;
        fprintf(stderr, "FAIL %s\n", name);
    } else {
        t_passed++;
    }
}
#define RUN(name) t_run(name, #name)

/* A test and its name, for a table of tests (T_TEST(fn)). */
typedef struct t_test {
    void (*fn)(void);
    const char *name;
} t_test;
#define T_TEST(name) {name, #name}
#define TEST_MAIN_END()                                     \
    do {                                                    \
        printf("%d passed, %d failed\n", t_passed, t_failed); \
        return t_failed ? 1 : 0;                            \
    } while (0)

/* a "/" b, in one of eight rotating buffers so that a few can be live at once. */
static inline const char *t_join(const char *a, const char *b)
{
    static char buf[8][1024];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", a, b);
    return buf[k];
}

/* Path of a committed test file: FV_SOURCE_DIR "/tests/" rel. */
static inline const char *t_src_path(const char *rel)
{
    return t_join(FV_SOURCE_DIR "/tests", rel);
}

#endif
