/* eval.c - `fovea eval`: a model's every metric on the test split, as JSON, CSV and figures, and
 * each image's probabilities for `fovea ensemble` (report_metrics: also knn's, ensemble's). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Every metric of the class probabilities `out` against the test labels: the headline printed,
 * the files and figures written into dir by the library. */
int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir)
{
    fv_metrics *mt = NULL;
    if (fv_evaluation_write(test, out, dir, &mt) != FV_OK)
        return fail_lib();
    print_metrics(mt, dir);
    fv_metrics_free(mt);
    return 0;
}

void print_metrics(const fv_metrics *mt, const char *dir)
{
    int k = mt->k, top = k >= 5 ? 5 : k;
    printf("top-%d accuracy %.4f, macro F1 %.4f, macro AUC %.4f, micro AP %.4f, log-loss %.4f, "
           "ECE %.4f\n", top, mt->top_k[top - 1], mt->macro.f1, mt->auc_macro, mt->ap_micro,
           mt->log_loss, mt->ece);
    printf("Figures and metrics: %s/{metrics.json,per_class.csv,confusion,roc,pr,reliability}"
           "{.png,.svg}\n", dir);
}

int cmd_eval(const opts *o)
{
    int with_model = o->npos > 0;
    data_src src; /* the weights' data set and normalization unless --data says otherwise */
    fv_weights_info *info = trained_on(o, "eval", &src);
    if (!info)
        return 1;
    fv_dataset *test = load_data_src(o, &src, 0);
    if (!test) {
        fv_weights_info_free(info);
        return fail_lib();
    }
    const int64_t *d = test->x->dims;
    fv_model *m = load_trained(o, with_model ? o->pos[0] : NULL, info, (int)d[1], (int)d[2],
                               (int)d[3], test->num_classes);
    /* no test image is shown: resized batch by batch when asked */
    int rc = m ? fit_inputs(o, with_model ? o->pos[0] : "", m, test, NULL) : 1;
    double loss, acc;
    fv_tensor *out = NULL;
    const char *dir = o->out ? o->out : "runs/eval";
    if (rc != 0) {
        /* load_trained or fit_inputs said why */
    } else if (fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK ||
               fv_model_predict_proba(m, test->x, &out) != FV_OK) {
        rc = fail_lib();
    } else if (make_dir(dir) != 0) {
        rc = fail("eval: cannot create the output directory");
    } else if (is_regression(o)) {
        printf("Test loss %.4f (%lld samples)\n", loss, (long long)test->x->dims[0]);
        rc = report_regression(m, test, dir);
    } else {
        printf("Test accuracy: %.4f (loss %.4f, %lld images)\n", acc, loss,
               (long long)test->x->dims[0]);
        rc = report_metrics(test, out, dir);
        if (rc == 0)
            rc = write_probabilities(test, out, dir);
    }
    fv_tensor_free(out);
    fv_dataset_free(test);
    fv_model_free(m);
    fv_weights_info_free(info);
    return rc;
}
