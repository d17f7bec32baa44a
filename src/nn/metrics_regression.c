/* metrics_regression.c - regression metrics (MAE, MSE, RMSE, R^2) as scikit-learn 1.2 defines
 * them for multiple outputs ('uniform_average'), summed in double, and their JSON file. */
#include "io/io.h"
#include "nn/metrics.h"

#include <cjson/cJSON.h>
#include <math.h>

/* Every value finite; an error naming the first that is not. */
static fv_status check_finite(const float *v, int64_t n, int k, const char *what)
{
    for (int64_t i = 0; i < n * k; i++)
        if (!isfinite(v[i]))
            return fv_err(FV_ERR_NUMERIC, "regression metrics: %s of sample %lld, output %lld is "
                          "%s", what, (long long)(i / k), (long long)(i % k),
                          isnan(v[i]) ? "NaN" : "infinite");
    return FV_OK;
}

/* Output j's squared and absolute errors, and R^2 (r2_score's force_finite rule: constant
 * targets give 1 when predicted exactly, else 0). */
static void one_output(const float *p, const float *t, int64_t n, int k, int j, double *se,
                       double *ae, double *r2)
{
    double mean = 0, tot = 0;
    *se = *ae = 0;
    for (int64_t i = 0; i < n; i++)
        mean += t[i * k + j];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)t[i * k + j] - (double)p[i * k + j], c = (double)t[i * k + j] - mean;
        *se += d * d, *ae += fabs(d), tot += c * c;
    }
    *r2 = n < 2 ? NAN : tot > 0 ? 1.0 - *se / tot : *se == 0 ? 1.0 : 0.0;
}

fv_status fv_regression_metrics(const float *pred, const float *target, int64_t n, int k,
                                fv_reg_metrics *out)
{
    if (!pred || !target || !out || n < 1 || k < 1)
        return fv_err(FV_ERR_INVALID, "regression metrics: %lld samples of %d outputs (need at "
                      "least one of each)", (long long)n, k);
    FV_TRY(check_finite(pred, n, k, "the prediction"));
    FV_TRY(check_finite(target, n, k, "the target"));
    double se = 0, ae = 0, rmse = 0, r2 = 0;
    for (int j = 0; j < k; j++) {
        double s, a, r;
        one_output(pred, target, n, k, j, &s, &a, &r);
        se += s, ae += a, rmse += sqrt(s / (double)n), r2 += r;
    }
    *out = (fv_reg_metrics){.n = n, .k = k, .mae = ae / ((double)n * k),
                            .mse = se / ((double)n * k), .rmse = rmse / k, .r2 = r2 / k};
    return FV_OK;
}

fv_status fv_reg_metrics_write_json(const fv_reg_metrics *m, const char *path)
{
    if (!m)
        return fv_err(FV_ERR_INVALID, "metrics JSON: no metrics");
    cJSON *root = cJSON_CreateObject();
    const char *const keys[6] = {"n", "k", "mae", "mse", "rmse", "r2"};
    const double v[6] = {(double)m->n, m->k, m->mae, m->mse, m->rmse, m->r2};
    int ok = root != NULL;
    for (int i = 0; i < 6 && ok; i++) /* cJSON prints NaN as null */
        ok = cJSON_AddNumberToObject(root, keys[i], v[i]) != NULL;
    if (!ok) {
        cJSON_Delete(root);
        root = NULL;
    }
    return fv_metrics_json_to_file(root, path);
}
