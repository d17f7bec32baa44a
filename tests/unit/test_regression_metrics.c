/* test_regression_metrics.c - fv_regression_metrics against scikit-learn's definitions of MAE,
 * MSE, RMSE and R^2 with multioutput='uniform_average' (tests/golden/gen_vecdata.py, numpy; the
 * goldens are committed), its edge cases and errors, and the JSON file. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

/* Reads n floats. */
static int read_floats(FILE *f, float *v, long n)
{
    for (long i = 0; i < n; i++)
        if (fscanf(f, "%f", &v[i]) != 1)
            return 0;
    return 1;
}

TEST(against_golden)
{
    FILE *f = fopen(t_src_path("data/golden/regression_metrics.txt"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char name[32];
    long n;
    int k, cases = 0;
    while (fscanf(f, " case %31s %ld %d", name, &n, &k) == 3) {
        size_t bytes = sizeof(float) * (size_t)(n * k);
        float *p = malloc(bytes), *t = malloc(bytes);
        double want[4];
        int ok = read_floats(f, p, n * k) && read_floats(f, t, n * k) &&
                 fscanf(f, "%lf %lf %lf %lf", &want[0], &want[1], &want[2], &want[3]) == 4;
        CHECK(ok);
        fv_reg_metrics m;
        CHECK_STATUS(fv_regression_metrics(p, t, n, k, &m), FV_OK);
        if (ok) {
            fprintf(stderr, "  %s: mae %.6g mse %.6g rmse %.6g r2 %.6g\n", name, m.mae, m.mse,
                    m.rmse, m.r2);
            CHECK(m.n == n && m.k == k);
            CHECK_NEAR(m.mae, want[0], 1e-12, 1e-9);
            CHECK_NEAR(m.mse, want[1], 1e-12, 1e-9);
            CHECK_NEAR(m.rmse, want[2], 1e-12, 1e-9);
            CHECK_NEAR(m.r2, want[3], 1e-12, 1e-9);
        }
        free(p), free(t);
        cases++;
    }
    fclose(f);
    CHECK(cases == 4);
}

TEST(edges_and_errors)
{
    float p[4] = {1, 2, 3, 4}, t[4] = {1, 2, 3, 5};
    fv_reg_metrics m;
    /* one sample: R^2 is undefined (NaN, as scikit-learn) */
    CHECK_STATUS(fv_regression_metrics(p, t, 1, 1, &m), FV_OK);
    CHECK(isnan(m.r2) && m.mae == 0);
    CHECK_STATUS(fv_regression_metrics(p, t, 4, 1, &m), FV_OK);
    CHECK_NEAR(m.mae, 0.25, 0, 1e-15);
    CHECK_NEAR(m.rmse, 0.5, 0, 1e-15);
    CHECK_NEAR(m.r2, 1 - 1 / 8.75, 0, 1e-15); /* SS_tot of 1, 2, 3, 5: 8.75 */
    CHECK_STATUS(fv_regression_metrics(p, t, 0, 1, &m), FV_ERR_INVALID);
    CHECK_STATUS(fv_regression_metrics(p, t, 4, 0, &m), FV_ERR_INVALID);
    p[2] = NAN;
    CHECK_STATUS(fv_regression_metrics(p, t, 2, 2, &m), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("the prediction of sample 1, output 0 is NaN");
    p[2] = 3, t[3] = INFINITY;
    CHECK_STATUS(fv_regression_metrics(p, t, 4, 1, &m), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("the target of sample 3, output 0 is infinite");
}

TEST(json)
{
    float p[2] = {1, 2}, t[2] = {1, 4};
    fv_reg_metrics m;
    CHECK_STATUS(fv_regression_metrics(p, t, 2, 1, &m), FV_OK);
    CHECK_STATUS(fv_reg_metrics_write_json(&m, t_path("m.json")), FV_OK);
    long len;
    char *s = (char *)t_slurp(t_path("m.json"), &len);
    CHECK(s && strstr(s, "\"mae\":\t1") && strstr(s, "\"mse\":\t2") &&
          strstr(s, "\"r2\":\t0.111")); /* SS_res 4, SS_tot 4.5 */
    free(s);
    CHECK_STATUS(fv_regression_metrics(p, t, 1, 1, &m), FV_OK);
    CHECK_STATUS(fv_reg_metrics_write_json(&m, t_path("m.json")), FV_OK);
    s = (char *)t_slurp(t_path("m.json"), &len);
    CHECK(s && strstr(s, "\"r2\":\tnull")); /* NaN as null */
    free(s);
}

int main(void)
{
    static const t_test tests[] = {T_TEST(against_golden), T_TEST(edges_and_errors), T_TEST(json)};
    return t_main_scratch("/tmp/fovea_regm_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
