/* predict.c - `fovea predict`: the top three classes of each image file. */
#include "cli.h"

#include <math.h>
#include <string.h>

/* "IMAGE: name p, name p, name p": the top 3 classes of one image's probabilities (1, k). A
 * non-finite one (NaN weights) is an error: it has no rank. */
static int print_top3(const char *png, fv_tensor *out)
{
    int64_t k = out->dims[1];
    for (int64_t j = 0; j < k; j++)
        if (!isfinite(out->data[j])) {
            char msg[1200];
            snprintf(msg, sizeof msg, "%.1000s: the model's output %lld is %g, not a finite "
                     "number (are the weights finite?)", png, (long long)j, (double)out->data[j]);
            return fail(msg);
        }
    printf("%s:", png);
    for (int r = 0; r < 3 && r < k; r++) { /* top 3 by repeated arg-max */
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            if (out->data[j] > out->data[best])
                best = j;
        printf("%s %s %.4f", r ? "," : "", class_name((int)best, k), (double)out->data[best]);
        out->data[best] = -1;
    }
    printf("\n");
    return 0;
}

static int predict_one(fv_model *m, const char *png)
{
    int64_t shape[4];
    int nd = fv_node_shape(m, 0, shape);
    if (nd != 3)
        return fail("predict: the model's input is not an image (C, H, W)");
    fv_tensor *img = fv_image_load(png), *fit = NULL, *out = NULL;
    int rc;
    if (!img || !(fit = fv_image_fit(img, (int)shape[0], (int)shape[1], (int)shape[2])))
        rc = fail_lib();
    else {
        for (int64_t i = 0; i < fv_tensor_numel(fit); i++)
            fit->data[i] = (fit->data[i] - NORM_MEAN) / NORM_STD;
        rc = fv_model_predict_proba(m, fit, &out) != FV_OK ? fail_lib() : print_top3(png, out);
    }
    fv_tensor_free(img);
    fv_tensor_free(fit);
    fv_tensor_free(out);
    return rc;
}

int cmd_predict(const opts *o)
{
    if (o->npos < 2 || !o->weights)
        return fail("predict needs MODEL.fv, --weights FILE and at least one IMAGE.png");
    fv_model *m = load_compiled(o, o->pos[0], 0, 0, 0, 0);
    if (!m)
        return fail_lib();
    int rc = fv_model_load_weights(m, o->weights) != FV_OK ? fail_lib() : 0;
    for (int i = 1; rc == 0 && i < o->npos; i++)
        rc = predict_one(m, o->pos[i]);
    fv_model_free(m);
    return rc;
}
