/* testfs.h - the scratch folder of a unit test: made once in main (t_mkdtemp), paths in it
 * (t_path, rotating buffers so a few can be live at once), whole-file write helpers (and slurp.h),
 * and its removal at the end (t_rmtree); t_main_scratch is the whole main of such a test. Include after test.h. */
#ifndef FV_TESTFS_H
#define FV_TESTFS_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "slurp.h"

static char t_dir[64];

/* Makes the folder from a mkdtemp template ("/tmp/fovea_x_XXXXXX"); 0 on success. */
static inline int t_mkdtemp(const char *templ)
{
    snprintf(t_dir, sizeof t_dir, "%s", templ);
    if (mkdtemp(t_dir))
        return 0;
    perror("mkdtemp");
    return 1;
}

/* t_dir "/" name (t_join's rotating buffers). */
static inline const char *t_path(const char *name)
{
    return t_join(t_dir, name);
}

/* Writes len bytes of data to path (any file there is replaced). */
static inline void t_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (len)
        fwrite(data, 1, len, f);
    fclose(f);
}

/* t_write to t_path(name). */
static inline void t_write_at(const char *name, const void *data, size_t len)
{
    t_write(t_path(name), data, len);
}

/* Copies the file at path to t_path(name); 0 when it could not be read (a failed check). */
static inline int t_copy_in(const char *path, const char *name)
{
    long n = 0;
    unsigned char *b = t_slurp(path, &n);
    CHECK(b != NULL);
    if (b)
        t_write_at(name, b, (size_t)n);
    free(b);
    return b != NULL;
}

/* Removes the folder and all in it; 0 on success, else says so on stderr. */
static inline int t_rmtree(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t_dir);
    if (system(cmd) == 0)
        return 0;
    fprintf(stderr, "could not remove %s\n", t_dir);
    return 1;
}

/* The main of a test that works in a scratch folder: makes it from templ, runs the n tests in
 * order, removes it and prints the closing line; the exit status. */
static inline int t_main_scratch(const char *templ, const t_test *tests, size_t n)
{
    if (t_mkdtemp(templ))
        return 1;
    for (size_t i = 0; i < n; i++)
        t_run(tests[i].fn, tests[i].name);
    t_rmtree();
    TEST_MAIN_END();
}
/* That main, written out: T_MAIN_SCRATCH("/tmp/fovea_x_XXXXXX", T_TEST(a), T_TEST(b), ...). */
#define T_MAIN_SCRATCH(templ, ...)                                           \
    int main(void)                                                           \
    {                                                                        \
        static const t_test tests[] = {__VA_ARGS__};                         \
        return t_main_scratch(templ, tests, sizeof tests / sizeof tests[0]); \
    }

#endif
