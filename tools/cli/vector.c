/* vector.c - vector data on the command line: --data FILE.csv or --data X.npy --labels Y.npy,
 * tested on --test FILE [--test-labels Y.npy] or on a fixed fifth of the rows held out; and the
 * regression metrics (--loss mse|mae|huber) that train and eval print instead of accuracy. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HELD_OUT 0.2       /* the test fraction when there is no --test file */
#define SPLIT_SEED 20240601 /* fixed, so that train and eval hold out the same rows */

/* Whether path ends in ext (any case). */
static int ends_with(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static int is_npy(const char *path) { return path && ends_with(path, ".npy"); }

int is_vector_file(const char *path)
{
    return path && (ends_with(path, ".csv") || is_npy(path));
}

int is_regression(const opts *o)
{
    return o->loss == FV_LOSS_MSE || o->loss == FV_LOSS_MAE || o->loss == FV_LOSS_HUBER;
}

int check_vector_opts(const opts *o)
{
    char msg[256];
    const char *bad = NULL;
    if ((o->labels || o->test || o->target) && !is_vector_file(o->data))
        bad = "--labels, --target and --test need --data FILE.csv or FILE.npy";
    else if (is_npy(o->data) && !o->labels)
        bad = "--data X.npy needs --labels Y.npy (the labels or targets of its rows)";
    else if (o->test && !is_vector_file(o->test))
        bad = "--test takes a .csv or .npy file";
    else if (is_npy(o->test) != (o->test_labels != NULL))
        bad = o->test_labels ? "--test-labels goes with --test X.npy"
                             : "--test X.npy needs --test-labels Y.npy";
    if (!bad)
        return 0;
    snprintf(msg, sizeof msg, "%s", bad);
    return fail(msg);
}

/* One file's set: a CSV, or an .npy pair. */
static fv_dataset *load_file(const char *path, const char *labels, const fv_vec_args *a)
{
    return is_npy(path) ? fv_dataset_load_npy_(path, labels, *a) : fv_dataset_load_csv_(path, *a);
}

fv_dataset *load_vector(const opts *o, int train)
{
    fv_vec_args a = {.target = o->target, .regression = is_regression(o), .limit = o->limit};
    fv_dataset *all = load_file(o->data, o->labels, &a), *parts[2];
    if (!all || (o->test && train))
        return all;
    if (o->test) { /* labelled with the training file's classes */
        a.classes = a.regression ? NULL : all;
        fv_dataset *t = load_file(o->test, o->test_labels, &a);
        fv_dataset_free(all);
        return t;
    }
    fv_status st = fv_dataset_split(all, HELD_OUT, SPLIT_SEED, 0, &parts[0], &parts[1]);
    fv_dataset_free(all);
    if (st != FV_OK)
        return NULL;
    fv_dataset_free(parts[train ? 1 : 0]);
    return parts[train ? 0 : 1];
}

int report_regression(fv_model *m, const fv_dataset *test, const char *dir)
{
    fv_tensor *out = NULL;
    fv_reg_metrics r;
    char path[1100];
    int64_t n = test->x->dims[0];
    if (fv_model_predict(m, test->x, &out) != FV_OK)
        return fail_lib();
    int k = (int)(fv_tensor_numel(out) / n);
    snprintf(path, sizeof path, "%s/metrics.json", dir);
    int rc = 0;
    if (fv_tensor_numel(test->y) != fv_tensor_numel(out))
        rc = fail("regression: the model's outputs and the targets differ in size");
    else if (fv_regression_metrics(out->data, test->y->data, n, k, &r) != FV_OK ||
             fv_reg_metrics_write_json(&r, path) != FV_OK)
        rc = fail_lib();
    if (rc == 0)
        printf("Test MAE %.4f, RMSE %.4f, R^2 %.4f (MSE %.4f; %lld samples, %d output%s)\n"
               "Metrics: %s\n", r.mae, r.rmse, r.r2, r.mse, (long long)n, k, k > 1 ? "s" : "",
               path);
    fv_tensor_free(out);
    return rc;
}
