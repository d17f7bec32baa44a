/* test_modelfile_numbers.c - real numbers in model texts are decimal (docs/model-format.md): the
 * spellings strtod also takes (hexadecimal floats such as "0x1p-2", "inf", "infinity", "nan", with
 * or without a sign) are errors naming the line and the argument (issue 16: `rate=0x1p-2` was
 * accepted), while every decimal form still parses to the same value. */
#include "core/internal.h"
#include "test.h"

#define X "models/x.fv"

/* "dropout rate=<v>" on line 2 must fail with "X:2: rate=<v>: ..." on one line. */
static void refused(const char *v)
{
    char text[128], where[96];
    snprintf(text, sizeof text, "input shape=4\ndropout rate=%s\n", v);
    snprintf(where, sizeof where, X ":2: rate=%s: ", v);
    fv_clear_error();
    fv_model *m = fv_model_parse(text, X);
    if (m || strncmp(fv_last_error(), where, strlen(where)) != 0 ||
        strchr(fv_last_error(), '\n')) {
        fprintf(stderr, "rate=%s: %s, error \"%s\"\n", v, m ? "accepted" : "refused",
                fv_last_error());
        t_cur_failed = 1;
    }
    fv_model_free(m);
}

/* "dropout rate=<v>" parses, to `want`. */
static void accepted(const char *v, float want)
{
    char text[128];
    snprintf(text, sizeof text, "input shape=4\ndropout rate=%s\n", v);
    fv_model *m = fv_model_parse(text, X);
    char *back = m ? fv_model_to_text(m) : NULL;
    char expect[64];
    snprintf(expect, sizeof expect, "rate=%g", (double)want);
    if (!back || !strstr(back, expect)) {
        fprintf(stderr, "rate=%s: %s (expected %s)\n", v, back ? back : fv_last_error(), expect);
        t_cur_failed = 1;
    }
    free(back);
    fv_model_free(m);
}

TEST(test_hex_floats_refused)
{
    refused("0x1p-2"); /* the finding: 0.25 in C's hexadecimal notation */
    refused("0X1P-2");
    refused("-0x1p-2");
    refused("0x.4p0");
    refused("0x0");
    /* a real number elsewhere: batchnorm's epsilon */
    fv_model *m = fv_model_parse("input shape=2,4,4\nbatchnorm epsilon=0x1p-20\n", X);
    CHECK(m == NULL);
    CHECK_ERR_HAS(X ":2: epsilon=0x1p-20: ");
    fv_model_free(m);
}

TEST(test_inf_nan_refused)
{
    static const char *v[] = {"inf", "-inf", "infinity", "-Infinity", "INF", "nan", "-nan",
                              "NAN", "nan(1)"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        refused(v[i]);
}

TEST(test_malformed_decimals_refused)
{
    static const char *v[] = {".", "-.", "e3", "1e", "1e+", "1e-", "+0.5", "0.5e2x", "--0.5",
                              "0.5.1", "0,5", "1e3.5"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        refused(v[i]);
}

TEST(test_decimals_accepted)
{
    accepted("0.25", 0.25f);
    accepted(".5", 0.5f);
    accepted("0", 0.0f);
    accepted("0.", 0.0f);
    accepted("25e-2", 0.25f);
    accepted("2.5E-1", 0.25f);
    accepted("0.025e+1", 0.25f);
    accepted("000.125", 0.125f);
}

int main(void)
{
    RUN(test_hex_floats_refused);
    RUN(test_inf_nan_refused);
    RUN(test_malformed_decimals_refused);
    RUN(test_decimals_accepted);
    TEST_MAIN_END();
}
