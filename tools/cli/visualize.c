/* visualize.c - `fovea visualize`: every figure of what a trained model learned (the library's
 * fv_figure_* functions) for one image, the model and its data's normalization taken from the
 * weights file when it describes them; saliency explains the class predicted for the image
 * unless --class names another. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The image to explain: --image (fitted and normalized as the model was trained), else the
 * first test image. */
static fv_tensor *explained_image(const opts *o, const fv_dataset *test, const data_src *src)
{
    const int64_t *d = test->x->dims;
    if (!o->image) {
        fv_tensor *img = fv_tensor_new4(1, d[1], d[2], d[3]);
        if (img)
            memcpy(img->data, test->x->data, sizeof(float) * (size_t)(d[1] * d[2] * d[3]));
        return img;
    }
    fv_tensor *f = fv_image_load(o->image);
    fv_tensor *fit = f ? fv_image_fit(f, (int)d[1], (int)d[2], (int)d[3]) : NULL;
    fv_tensor_free(f);
    for (int64_t i = 0; fit && i < fv_tensor_numel(fit); i++)
        fit->data[i] = (fit->data[i] - src->mean) / src->std;
    return fit;
}

/* The class the model predicts for img (the first arg-max), or -1 with the error. */
static int predicted(fv_model *m, const fv_tensor *img)
{
    fv_tensor *out = NULL;
    if (fv_model_predict(m, img, &out) != FV_OK)
        return -1;
    int best = 0;
    for (int64_t j = 1; j < out->dims[1]; j++)
        if (out->data[j] > out->data[best])
            best = (int)j;
    fv_tensor_free(out);
    return best;
}

/* Every figure into dir; cls the class saliency explains. */
static int write_figures(fv_model *m, const fv_dataset *test, const fv_tensor *img, int cls,
                         int first, int last, const char *dir)
{
    static const char *const files[6] = {"filters.png",      "feature_maps.png",
                                         "saliency.png",     "class_models.png",
                                         "misclassified.png", "deconvnet.png"};
    char path[1100];
    fv_tensor *probs = NULL;
    char **names = fv_class_names(test, test->num_classes);
    int rc = names && fv_model_predict_proba(m, test->x, &probs) == FV_OK ? 0 : fail_lib();
    for (int f = 0; f < 6 && !rc; f++) {
        int wrote = 1;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        const char *cname = cls < test->num_classes ? names[cls] : "?";
        fv_status st =
            f == 0   ? fv_figure_filters(m, first, path)
            : f == 1 ? fv_figure_maps(m, img, fv_model_find_output(m, fv_node_name(m, first)),
                                      path)
            : f == 2 ? fv_figure_saliency(m, img, cls, last, cname, path)
            : f == 3 ? fv_figure_class_models(m, test->num_classes, (const char *const *)names,
                                              path)
            : f == 4 ? fv_figure_mistakes(probs, test, path, &wrote)
                     : fv_figure_deconv(m, img, last, path);
        if (st != FV_OK)
            rc = fail_lib();
        else
            printf(wrote ? "%s\n" : "%s: not written, no test image is misclassified\n", path);
    }
    fv_class_names_free(names, test->num_classes);
    fv_tensor_free(probs);
    return rc;
}

int cmd_visualize(const opts *o)
{
    data_src src;
    fv_weights_info *info = trained_on(o, "visualize", &src);
    if (!info)
        return 1;
    fv_dataset *test = load_data_src(o, &src, 0);
    const int64_t *d = test ? test->x->dims : NULL;
    fv_model *m = !test ? NULL
                        : load_trained(o, o->npos ? o->pos[0] : NULL, info, (int)d[1], (int)d[2],
                                       (int)d[3], test->num_classes);
    int rc = 1, first, last, cls;
    char dir[1000], msg[1100];
    fv_tensor *img = NULL;
    if (!test)
        rc = fail_lib();
    if (!m)
        goto done;
    snprintf(dir, sizeof dir, "%s", o->out ? o->out : "runs/visualize");
    fv_model_map_layers(m, &first, &last);
    if (fit_inputs(o, o->npos ? o->pos[0] : "", m, NULL, test) != 0) { /* figures show them */
        /* fit_inputs said why */
    } else if (o->layer && (last = fv_model_find_output(m, o->layer)) < 0) {
        snprintf(msg, sizeof msg, "no layer '%.200s'", o->layer);
        rc = fail(msg);
    } else if (first < 0 || last < 0) {
        rc = fail("visualize: the model has no convolution");
    } else if (!(img = explained_image(o, test, &src))) {
        rc = fail_lib();
    } else if ((cls = o->cls >= 0 ? o->cls : predicted(m, img)) < 0) {
        rc = fail_lib();
    } else if (make_dir(dir) != 0) {
        rc = fail("cannot create the output directory");
    } else {
        printf("Explaining class %d%s\n", cls, o->cls >= 0 ? "" : " (the predicted class)");
        rc = write_figures(m, test, img, cls, first, last, dir);
    }
done:
    fv_tensor_free(img);
    fv_dataset_free(test);
    fv_model_free(m);
    fv_weights_info_free(info);
    return rc;
}
