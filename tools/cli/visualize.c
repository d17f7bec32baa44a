/* visualize.c - `fovea visualize`: every figure of what a trained model learned (the library's
 * fv_figure_* functions) for one image. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int cmd_visualize(const opts *o)
{
    if (!o->npos || !o->weights)
        return fail("visualize needs MODEL.fv and --weights FILE");
    fv_dataset *test = load_data(o, 0);
    if (!test)
        return fail_lib();
    const int64_t *d = test->x->dims;
    fv_model *m = load_compiled(o, o->pos[0], (int)d[1], (int)d[2], (int)d[3], test->num_classes);
    int rc = 1, first, last;
    char dir[1000], path[1100];
    fv_tensor *img = NULL, *probs = NULL;
    char **names = NULL;
    if (!m || fv_model_load_weights(m, o->weights) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    if (fit_inputs(o, o->pos[0], m, NULL, test) != 0) /* the figures show test images */
        goto done;
    d = test->x->dims;
    snprintf(dir, sizeof dir, "%s", o->out ? o->out : "runs/visualize");
    if (make_dir(dir) != 0) {
        rc = fail("cannot create the output directory");
        goto done;
    }
    fv_model_map_layers(m, &first, &last);
    if (o->layer && (last = fv_model_find_node(m, o->layer)) < 0) {
        snprintf(path, sizeof path, "no layer '%s'", o->layer);
        rc = fail(path);
        goto done;
    }
    if (first < 0 || last < 0) {
        rc = fail("visualize: the model has no convolution");
        goto done;
    }
    img = fv_tensor_new4(1, d[1], d[2], d[3]);
    if (!img) {
        rc = fail_lib();
        goto done;
    }
    memcpy(img->data, test->x->data, sizeof(float) * (size_t)(d[1] * d[2] * d[3]));
    if (o->image) { /* a file, fitted and normalized as predict does */
        fv_tensor *f = fv_image_load(o->image), *fit = f ? fv_image_fit(f, (int)d[1], (int)d[2], (int)d[3]) : NULL;
        fv_tensor_free(f);
        if (!fit) {
            rc = fail_lib();
            goto done;
        }
        for (int64_t i = 0; i < fv_tensor_numel(fit); i++)
            fit->data[i] = (fit->data[i] - NORM_MEAN) / NORM_STD;
        fv_tensor_free(img);
        img = fit;
    }
    int cls = o->cls >= 0 ? o->cls : (int)test->y->data[0];
    static const char *const files[6] = {"filters.png",      "feature_maps.png",
                                         "saliency.png",     "class_models.png",
                                         "misclassified.png", "deconvnet.png"};
    if (!(names = fv_class_names(test, test->num_classes)) ||
        fv_model_predict_proba(m, test->x, &probs) != FV_OK) {
        rc = fail_lib();
        goto done;
    }
    for (int f = 0; f < 6; f++) {
        int wrote = 1;
        snprintf(path, sizeof path, "%s/%s", dir, files[f]);
        const char *cname = cls < test->num_classes ? names[cls] : "?";
        fv_status st =
            f == 0   ? fv_figure_filters(m, first, path)
            : f == 1 ? fv_figure_maps(m, img, fv_model_find_node(m, fv_node_name(m, first)), path)
            : f == 2 ? fv_figure_saliency(m, img, cls, last, cname, path)
            : f == 3 ? fv_figure_class_models(m, test->num_classes, (const char *const *)names,
                                              path)
            : f == 4 ? fv_figure_mistakes(probs, test, path, &wrote)
                     : fv_figure_deconv(m, img, last, path);
        if (st != FV_OK) {
            rc = fail_lib();
            goto done;
        }
        printf(wrote ? "%s\n" : "%s: not written, no test image is misclassified\n", path);
    }
    rc = 0;
done:
    fv_class_names_free(names, test->num_classes);
    fv_tensor_free(probs);
    fv_tensor_free(img);
    fv_dataset_free(test);
    fv_model_free(m);
    return rc;
}
