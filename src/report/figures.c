/* figures.c - the figures of what a network learned, as PNG image grids: first-layer filters,
 * feature maps, saliency beside Grad-CAM, deconvnet projections, class models and the most
 * confident mistakes. The passes behind them are nn/visualize.c's; this file composes tiles,
 * titles and captions (used by `fovea visualize` and the training report). */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

/* The mean over channels of (C, h*w) values into dst (h*w). */
static void channel_mean(float *dst, const float *src, int64_t c, int64_t hw)
{
    for (int64_t p = 0; p < hw; p++) {
        double s = 0;
        for (int64_t q = 0; q < c; q++)
            s += src[q * hw + p];
        dst[p] = (float)(s / (double)c);
    }
}

/* A tile of (C, h*w) values: RGB (C = 3) as is, else gray (the mean over channels). */
static void gray_or_rgb(float *dst, const float *src, int64_t c, int64_t hw)
{
    if (c == 3)
        memcpy(dst, src, sizeof(float) * (size_t)(3 * hw));
    else
        channel_mean(dst, src, c, hw);
}

fv_status fv_figure_filters(fv_model *m, int layer, const char *path)
{
    fv_tensor *w = NULL;
    FV_TRY(fv_layer_weights(m, fv_node_name(m, layer), &w));
    if (w->ndim != 4) {
        fv_tensor_free(w);
        return fv_err(FV_ERR_INVALID, "%s: filters need 4-D (convolution) weights",
                      fv_node_name(m, layer));
    }
    int64_t f = w->dims[0], c = w->dims[1], k = w->dims[2] * w->dims[3], oc = c == 3 ? 3 : 1;
    fv_tensor *g = fv_tensor_new4(f, oc, w->dims[2], w->dims[3]);
    if (!g) {
        fv_tensor_free(w);
        return fv_last_status();
    }
    for (int64_t i = 0; i < f; i++)
        gray_or_rgb(g->data + i * k * oc, w->data + i * c * k, c, k);
    char title[128];
    snprintf(title, sizeof title, "filters of %s", fv_node_name(m, layer));
    fv_status st = fv_image_grid(path, g, .title = title, .scale = 8);
    fv_tensor_free(w), fv_tensor_free(g);
    return st;
}

fv_status fv_figure_maps(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    fv_tensor *maps = NULL;
    FV_TRY(fv_feature_maps(m, img, fv_node_name(m, layer), &maps));
    if (maps->ndim != 3) {
        fv_tensor_free(maps);
        return fv_err(FV_ERR_INVALID, "%s: feature maps need a (C, h, w) output",
                      fv_node_name(m, layer));
    }
    int64_t c = maps->dims[0] < 64 ? maps->dims[0] : 64;
    fv_tensor *g = fv_tensor_new4(c, 1, maps->dims[1], maps->dims[2]);
    fv_status st = g ? FV_OK : fv_last_status();
    if (g) {
        memcpy(g->data, maps->data, sizeof(float) * (size_t)fv_tensor_numel(g));
        char title[128];
        snprintf(title, sizeof title, "feature maps of %s", fv_node_name(m, layer));
        st = fv_image_grid(path, g, .title = title, .heat = 1);
    }
    fv_tensor_free(maps), fv_tensor_free(g);
    return st;
}

fv_status fv_figure_saliency(fv_model *m, const fv_tensor *img, int cls, int layer,
                             const char *class_name, const char *path)
{
    fv_tensor *sal = NULL, *cam = NULL, *g = NULL;
    fv_status st = fv_saliency(m, img, cls, &sal);
    if (st == FV_OK)
        st = fv_gradcam(m, img, cls, fv_node_name(m, layer), &cam);
    int64_t h = img->dims[2], w = img->dims[3];
    if (st == FV_OK && !(g = fv_tensor_new4(3, 1, h, w)))
        st = fv_last_status();
    if (st == FV_OK) {
        channel_mean(g->data, img->data, img->dims[1], h * w); /* gray beside the heat maps */
        memcpy(g->data + h * w, sal->data, sizeof(float) * (size_t)(h * w));
        memcpy(g->data + 2 * h * w, cam->data, sizeof(float) * (size_t)(h * w));
        char cap[96], title[160];
        snprintf(cap, sizeof cap, "Grad-CAM (%s)", fv_node_name(m, layer));
        snprintf(title, sizeof title, "what makes it '%.120s'", class_name ? class_name : "?");
        const char *caps[3] = {"input", "saliency", cap};
        st = fv_image_grid(path, g, .title = title, .captions = caps, .heat = 1, .cols = 3);
    }
    fv_tensor_free(sal), fv_tensor_free(cam), fv_tensor_free(g);
    return st;
}

fv_status fv_figure_deconv(fv_model *m, const fv_tensor *img, int layer, const char *path)
{
    int64_t d[4];
    if (fv_node_shape(m, layer, d) != 3)
        return fv_err(FV_ERR_INVALID, "%s: deconvnet projections need a (C, h, w) output",
                      fv_node_name(m, layer));
    int64_t k = d[0] < 16 ? d[0] : 16, c = img->dims[1], hw = img->dims[2] * img->dims[3];
    fv_tensor *g = fv_tensor_new4(k, c == 3 ? 3 : 1, img->dims[2], img->dims[3]);
    if (!g)
        return fv_last_status();
    char cap[16][32];
    const char *caps[16];
    fv_status st = FV_OK;
    for (int64_t i = 0; i < k && st == FV_OK; i++) {
        fv_tensor *r = NULL;
        st = fv_deconvnet(m, img, fv_node_name(m, layer), (int)i, &r);
        if (st == FV_OK)
            gray_or_rgb(g->data + i * hw * (c == 3 ? 3 : 1), r->data, c, hw);
        fv_tensor_free(r);
        snprintf(cap[i], sizeof cap[i], "map %lld", (long long)i);
        caps[i] = cap[i];
    }
    char title[128];
    snprintf(title, sizeof title, "deconvnet projections of %s", fv_node_name(m, layer));
    if (st == FV_OK)
        st = fv_image_grid(path, g, .title = title, .captions = caps);
    fv_tensor_free(g);
    return st;
}

fv_status fv_figure_class_models(fv_model *m, int classes, const char *const *names,
                                 const char *path)
{
    int64_t in[4];
    if (fv_node_shape(m, 0, in) != 3)
        return fv_err(FV_ERR_INVALID, "class models need an image input (C, H, W)");
    int64_t k = classes < 20 ? classes : 20, hw = in[1] * in[2], oc = in[0] == 3 ? 3 : 1;
    fv_tensor *g = k > 0 ? fv_tensor_new4(k, oc, in[1], in[2]) : NULL;
    if (!g)
        return k > 0 ? fv_last_status() : fv_err(FV_ERR_INVALID, "class models: no classes");
    fv_status st = FV_OK;
    for (int64_t c = 0; c < k && st == FV_OK; c++) {
        fv_tensor *img = NULL;
        st = fv_class_model(m, (int)c, 200, 0.1f, 0.01f, &img);
        if (st == FV_OK)
            memcpy(g->data + c * oc * hw, img->data, sizeof(float) * (size_t)(oc * hw));
        fv_tensor_free(img);
    }
    if (st == FV_OK)
        st = fv_image_grid(path, g, .title = "class models (gradient ascent on the input)",
                           .captions = names, .cols = 5);
    fv_tensor_free(g);
    return st;
}
