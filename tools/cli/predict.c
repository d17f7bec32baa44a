/* predict.c - `fovea predict`: the top three classes of each image file, named and normalized as
 * the weights file's metadata says (the model itself may come from it too). */
#include "cli.h"

#include <math.h>
#include <string.h>

/* Class k's name: the weights file's, else "class k". */
static const char *name_of(const fv_weights_info *info, int64_t k, int64_t classes)
{
    if (info->class_names && k < info->num_classes)
        return info->class_names[k];
    return class_name((int)k, classes);
}

/* "IMAGE: name p, name p, name p": the top 3 classes of one image's probabilities (1, k).
 * A non-finite one (NaN weights) is an error: it has no rank. */
static int print_top3(const char *png, fv_tensor *out, const fv_weights_info *info)
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
        printf("%s %s %.4f", r ? "," : "", name_of(info, best, k), (double)out->data[best]);
        out->data[best] = -1;
    }
    printf("\n");
    return 0;
}

static int predict_one(fv_model *m, const char *png, const data_src *src,
                       const fv_weights_info *info)
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
        for (int64_t i = 0; i < fv_tensor_numel(fit); i++) /* as the model was trained */
            fit->data[i] = (fit->data[i] - src->mean) / src->std;
        rc = fv_model_predict_proba(m, fit, &out) != FV_OK ? fail_lib() : print_top3(png, out, info);
    }
    fv_tensor_free(img);
    fv_tensor_free(fit);
    fv_tensor_free(out);
    return rc;
}

int cmd_predict(const opts *o)
{
    if (is_darknet_weights(o->weights)) /* X.cfg --weights X.weights: darknet.c */
        return darknet_predict(o);
    int with_model = o->npos > 0 && is_model_arg(o->pos[0]);
    if (o->npos < 1 + with_model || (!o->weights && !model_holds_weights(o)))
        return fail("predict needs --weights FILE and at least one IMAGE (and MODEL.fv when the "
                    "weights file does not describe its model), or a MODEL.onnx and IMAGEs");
    fv_weights_info *info = weights_info(o);
    if (!info)
        return fail_lib();
    data_src src = {.mean = NORM_MEAN, .std = NORM_STD}; /* predict reads no data set */
    if (info->has_normalization)
        src.mean = info->mean, src.std = info->std;
    fv_model *m = load_trained(o, with_model ? o->pos[0] : NULL, info, 0, 0, 0, 0);
    int rc = m ? 0 : 1;
    for (int i = with_model; rc == 0 && i < o->npos; i++)
        rc = predict_one(m, o->pos[i], &src, info);
    fv_model_free(m);
    fv_weights_info_free(info);
    return rc;
}
