/* eval.c - `fovea eval`: a model's every metric on the test split, as JSON, CSV and figures
 * (report_metrics is shared with knn). */
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
    int k = mt->k, top = k >= 5 ? 5 : k;
    printf("top-%d accuracy %.4f, macro F1 %.4f, macro AUC %.4f, micro AP %.4f, log-loss %.4f, "
           "ECE %.4f\n", top, mt->top_k[top - 1], mt->macro.f1, mt->auc_macro, mt->ap_micro,
           mt->log_loss, mt->ece);
    printf("Figures and metrics: %s/{metrics.json,per_class.csv,confusion,roc,pr,reliability}"
           "{.png,.svg}\n", dir);
    fv_metrics_free(mt);
    return 0;
}

int cmd_eval(const opts *o)
{
    int with_model = o->npos > 0;
    if (!o->weights)
        return fail("eval needs --weights FILE (and MODEL.fv when the weights file does not "
                    "describe its model)");
    fv_weights_info *info = weights_info(o);
    if (!info)
        return fail_lib();
    data_src src; /* the weights' data set and normalization unless --data says otherwise */
    data_source(o, info, &src);
    fv_dataset *test = load_data_src(o, &src, 0);
    if (!test) {
        fv_weights_info_free(info);
        return fail_lib();
    }
    const int64_t *d = test->x->dims;
    fv_model *m = load_trained(o, with_model ? o->pos[0] : NULL, info, (int)d[1], (int)d[2],
                               (int)d[3], test->num_classes);
    int rc = 1;
    double loss, acc;
    fv_tensor *out = NULL;
    const char *dir = o->out ? o->out : "runs/eval";
    if (!m) {
        rc = 1;
    } else if (fv_model_evaluate(m, test, 0, &loss, &acc) != FV_OK ||
               fv_model_predict(m, test->x, &out) != FV_OK) {
        rc = fail_lib();
    } else if (make_dir(dir) != 0) {
        rc = fail("eval: cannot create the output directory");
    } else {
        printf("Test accuracy: %.4f (loss %.4f, %lld images)\n", acc, loss,
               (long long)test->x->dims[0]);
        fv_softmax_rows(out->data, out->dims[0], out->dims[1]);
        rc = report_metrics(test, out, dir);
    }
    fv_tensor_free(out);
    fv_dataset_free(test);
    fv_model_free(m);
    fv_weights_info_free(info);
    return rc;
}
