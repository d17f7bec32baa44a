/* figures.c - the figures of what a network learned, shared by `fovea visualize` and the training
 * report: first-layer filters, feature maps, saliency and Grad-CAM, deconvnet projections, class
 * models and the most confident mistakes. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* The first layer with 4-D weights (a convolution), and the last (C, h, w) layer before the
 * output; -1 when there is none. */
void conv_layers(const fv_model *m, int *first, int *last_map)
{
    *first = *last_map = -1;
    int64_t d[4];
    for (int i = 1; i < fv_model_num_nodes(m); i++) {
        fv_tensor *w = NULL;
        if (*first < 0 && fv_layer_weights(m, fv_node_name(m, i), &w) == FV_OK && w->ndim == 4)
            *first = i;
        fv_tensor_free(w);
        if (fv_node_shape(m, i, d) == 3)
            *last_map = i;
        if (fv_node_shape(m, i, d) == 1 && *last_map >= 0)
            break; /* past the image part */
    }
}

/* One (C, H, W) image, or a (N, ...) batch's first: as a (1, C, H, W) tensor. */
fv_tensor *as_batch(const float *data, const int64_t *chw)
{
    fv_tensor *t = fv_tensor_new4(1, chw[0], chw[1], chw[2]);
    if (t)
        memcpy(t->data, data, sizeof(float) * (size_t)fv_tensor_numel(t));
    return t;
}

/* (F, C, kh, kw) filters as F gray tiles (RGB when C = 3; else the mean over C). */
int write_filters(fv_model *m, int layer, const char *path)
{
    fv_tensor *w = NULL, *g = NULL;
    if (fv_layer_weights(m, fv_node_name(m, layer), &w) != FV_OK)
        return fail_lib();
    int64_t f = w->dims[0], c = w->dims[1], k = w->dims[2] * w->dims[3];
    g = fv_tensor_new4(f, c == 3 ? 3 : 1, w->dims[2], w->dims[3]);
    for (int64_t i = 0; i < f; i++)
        for (int64_t j = 0; j < k * (c == 3 ? 3 : 1); j++) {
            double s = 0;
            for (int64_t q = 0; q < (c == 3 ? 1 : c); q++)
                s += w->data[(i * c + (c == 3 ? 0 : q)) * k + j];
            g->data[i * k * (c == 3 ? 3 : 1) + j] = (float)(s / (c == 3 ? 1 : c));
        }
    char title[128];
    snprintf(title, sizeof title, "filters of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .scale = 8) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(w), fv_tensor_free(g);
    return rc;
}

/* (C, h, w) maps of `layer` for img as heat tiles. */
int write_maps(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    fv_tensor *maps = NULL;
    if (fv_feature_maps(m, img, fv_node_name(m, layer), &maps) != FV_OK || maps->ndim != 3) {
        fv_tensor_free(maps);
        return fail_lib();
    }
    int64_t c = maps->dims[0] < 64 ? maps->dims[0] : 64;
    fv_tensor *g = fv_tensor_new4(c, 1, maps->dims[1], maps->dims[2]);
    memcpy(g->data, maps->data, sizeof(float) * (size_t)fv_tensor_numel(g));
    char title[128];
    snprintf(title, sizeof title, "feature maps of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .heat = 1) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(maps), fv_tensor_free(g);
    return rc;
}

/* The image, its saliency for class cls and Grad-CAM at `layer`, side by side. */
int write_saliency(fv_model *m, const fv_tensor *img, int cls, int layer,
                          const char *path, const fv_dataset *test)
{
    fv_tensor *sal = NULL, *cam = NULL;
    if (fv_saliency(m, img, cls, &sal) != FV_OK ||
        fv_gradcam(m, img, cls, fv_node_name(m, layer), &cam) != FV_OK) {
        fv_tensor_free(sal);
        return fail_lib();
    }
    int64_t h = img->dims[2], w = img->dims[3], c = img->dims[1];
    fv_tensor *g = fv_tensor_new4(3, 1, h, w);
    for (int64_t i = 0; i < h * w; i++) { /* the image's mean over channels */
        double s = 0;
        for (int64_t k = 0; k < c; k++)
            s += img->data[k * h * w + i];
        g->data[i] = (float)(s / c);
    }
    memcpy(g->data + h * w, sal->data, sizeof(float) * (size_t)(h * w));
    memcpy(g->data + 2 * h * w, cam->data, sizeof(float) * (size_t)(h * w));
    char cap[3][96], title[128];
    snprintf(cap[0], sizeof cap[0], "input");
    snprintf(cap[1], sizeof cap[1], "saliency");
    snprintf(cap[2], sizeof cap[2], "Grad-CAM (%s)", fv_node_name(m, layer));
    char **names = names_for(test, cls + 1);
    snprintf(title, sizeof title, "what makes it '%s'", names ? names[cls] : "?");
    free_names(names, cls + 1);
    const char *caps[3] = {cap[0], cap[1], cap[2]};
    int rc = fv_image_grid(path, g, .title = title, .captions = caps, .heat = 1, .cols = 3) == FV_OK
                 ? 0
                 : fail_lib();
    fv_tensor_free(sal), fv_tensor_free(cam), fv_tensor_free(g);
    return rc;
}

/* Deconvnet reconstructions of up to 16 maps of `layer` (its first ones) for img. */
int write_deconv(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    int64_t d[4];
    fv_node_shape(m, layer, d);
    int64_t k = d[0] < 16 ? d[0] : 16, c = img->dims[1], hw = img->dims[2] * img->dims[3];
    fv_tensor *g = fv_tensor_new4(k, c == 3 ? 3 : 1, img->dims[2], img->dims[3]);
    char cap[16][32];
    const char *caps[16];
    for (int64_t i = 0; i < k; i++) {
        fv_tensor *r = NULL;
        if (fv_deconvnet(m, img, fv_node_name(m, layer), (int)i, &r) != FV_OK) {
            fv_tensor_free(g);
            return fail_lib();
        }
        for (int64_t p = 0; p < hw * (c == 3 ? 3 : 1); p++) { /* gray: the mean over channels */
            double v = 0;
            for (int64_t q = 0; q < (c == 3 ? 1 : c); q++)
                v += r->data[q * hw + p];
            g->data[i * hw * (c == 3 ? 3 : 1) + p] = (float)(v / (c == 3 ? 1 : c));
        }
        fv_tensor_free(r);
        snprintf(cap[i], sizeof cap[i], "map %lld", (long long)i);
        caps[i] = cap[i];
    }
    char title[128];
    snprintf(title, sizeof title, "deconvnet projections of %s", fv_node_name(m, layer));
    int rc = fv_image_grid(path, g, .title = title, .captions = caps) == FV_OK ? 0 : fail_lib();
    fv_tensor_free(g);
    return rc;
}

/* One class-model image per class (up to 20). */
int write_class_models(fv_model *m, const fv_dataset *test, const int64_t *chw,
                              const char *path)
{
    int64_t k = test->num_classes < 20 ? test->num_classes : 20;
    char **names = names_for(test, k);
    if (!names)
        return fail("out of memory");
    fv_tensor *g = fv_tensor_new4(k, chw[0] == 3 ? 3 : 1, chw[1], chw[2]);
    const char *caps[20];
    int64_t hw = chw[1] * chw[2];
    for (int64_t c = 0; c < k; c++)
        caps[c] = names[c];
    for (int64_t c = 0; c < k; c++) {
        fv_tensor *img = NULL;
        if (fv_class_model(m, (int)c, 200, 0.1f, 0.01f, &img) != FV_OK) {
            fv_tensor_free(g);
            free_names(names, k);
            return fail_lib();
        }
        memcpy(g->data + c * g->dims[1] * hw, img->data, sizeof(float) * (size_t)(g->dims[1] * hw));
        fv_tensor_free(img);
    }
    int rc = fv_image_grid(path, g, .title = "class models (gradient ascent on the input)",
                           .captions = caps, .cols = 5) == FV_OK
                 ? 0
                 : fail_lib();
    free_names(names, k);
    fv_tensor_free(g);
    return rc;
}

/* The 16 test images the model gets wrong with the most confidence, from its class
 * probabilities `out` (N, classes); *wrote: whether there was any (no mistakes: no file). */
int write_misclassified(const fv_tensor *out, const fv_dataset *test, const char *path,
                               int *wrote)
{
    int64_t n = out->dims[0], k = out->dims[1], pick[16], np = 0;
    float conf[16];
    for (int64_t i = 0; i < n; i++) { /* keep the top 16 wrong ones, by confidence */
        const float *p = out->data + i * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        if (best == (int64_t)test->y->data[i])
            continue;
        if (np == 16 && p[best] <= conf[15])
            continue; /* not more confident than the 16 kept */
        int64_t at = np < 16 ? np++ : 15;
        for (; at > 0 && conf[at - 1] < p[best]; at--)
            pick[at] = pick[at - 1], conf[at] = conf[at - 1];
        pick[at] = i, conf[at] = p[best];
    }
    *wrote = 0;
    if (np == 0)
        return 0;
    const int64_t *d = test->x->dims;
    fv_tensor *g = fv_tensor_new4(np, d[1], d[2], d[3]);
    char cap[16][96], **names = names_for(test, k);
    const char *caps[16];
    if (!g || !names) {
        fv_tensor_free(g), free_names(names, k);
        return fail_lib();
    }
    for (int64_t s = 0; s < np; s++) {
        const float *p = out->data + pick[s] * k;
        int64_t best = 0;
        for (int64_t j = 1; j < k; j++)
            best = p[j] > p[best] ? j : best;
        int64_t truth = (int64_t)test->y->data[pick[s]];
        snprintf(cap[s], sizeof cap[s], "%.40s > %.40s %.2f",
                 truth >= 0 && truth < k ? names[truth] : "?", names[best], (double)p[best]);
        caps[s] = cap[s];
        memcpy(g->data + s * d[1] * d[2] * d[3], test->x->data + pick[s] * d[1] * d[2] * d[3],
               sizeof(float) * (size_t)(d[1] * d[2] * d[3]));
    }
    int rc = fv_image_grid(path, g, .title = "most confident mistakes (true > predicted)",
                           .captions = caps, .cols = 4, .scale = 3) == FV_OK
                 ? 0
                 : fail_lib();
    *wrote = rc == 0;
    free_names(names, k);
    fv_tensor_free(g);
    return rc;
}

/* write_misclassified after predicting the test set. */
int write_mistakes(fv_model *m, const fv_dataset *test, const char *path, int *wrote)
{
    fv_tensor *out = NULL;
    if (fv_model_predict_proba(m, test->x, &out) != FV_OK)
        return fail_lib();
    int rc = write_misclassified(out, test, path, wrote);
    fv_tensor_free(out);
    return rc;
}
