/* roi_head_pass.c - the models of Fast and Faster R-CNN (the stride-8 backbone, the RoI head)
 * and the head's passes: RoI pooling (or align) of the backbone's feature maps outside the graph,
 * the head model planned for the k RoIs, the multi-task loss, and backward through the head and
 * the RoI op into the feature maps' gradient (roi_head.h). */
#include "detect/roi_head.h"

#include "core/internal.h"

#include <string.h>

/* ---------------------------------------------------------------- models */

int fv_rh_backbone(fv_model *m, int c, int h, int w, int width)
{
    int x = fv_input(m, .ndim = 3, .dims = {c, h, w}, .name = "image");
    static const char *names[5] = {"conv1", "conv2", "conv3", "conv4", "features"};
    static const char *pools[3] = {"pool1", "pool2", "pool3"};
    int filters[5] = {16, 32, 64, width, width};
    for (int i = 0; i < 5 && x >= 0; i++) {
        x = fv_conv2d(m, x, .filters = filters[i], .kernel = 3, .padding = 1,
                      .activation = FV_ACT_RELU, .init = FV_INIT_HE_UNIFORM, .name = names[i]);
        if (i < 3 && x >= 0)
            x = fv_maxpool2d(m, x, .size = 2, .name = pools[i]);
    }
    return x;
}

fv_model *fv_rh_head_new(int channels, int out, int fc, int k1)
{
    fv_model *m = fv_model_new("head");
    if (!m)
        return NULL;
    int x = fv_input(m, .ndim = 3, .dims = {channels, out, out}, .name = "rois");
    x = fv_flatten(m, x, .name = "flatten");
    x = fv_dense(m, x, .units = fc, .activation = FV_ACT_RELU, .init = FV_INIT_HE_UNIFORM,
                 .name = "fc6");
    x = fv_dense(m, x, .units = fc, .activation = FV_ACT_RELU, .init = FV_INIT_HE_UNIFORM,
                 .name = "fc7");
    /* torchvision's FastRCNNPredictor starts near zero: small logits and deltas */
    int c = fv_dense(m, x, .units = k1, .name = "cls", .init_gain = 0.1f);
    int b = fv_dense(m, x, .units = 4 * k1, .name = "box", .init_gain = 0.01f);
    if (c < 0 || b < 0) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

fv_status fv_rh_compile(fv_model *m, float lr, uint64_t seed)
{
    return fv_model_compile(m, .loss = FV_LOSS_NONE, .optimizer = fv_adam(.lr = lr),
                            .seed = seed);
}

/* ---------------------------------------------------------------- passes */

fv_status fv_rh_init(fv_rh *r, fv_model *head, int align, int out, int k1)
{
    memset(r, 0, sizeof *r);
    r->head = head, r->align = align, r->out = out, r->k1 = k1;
    r->cls_node = fv_model_find_node(head, "cls");
    r->box_node = fv_model_find_node(head, "box");
    if (r->cls_node < 0 || r->box_node < 0)
        return fv_err(FV_ERR_INVALID, "model '%s' has no 'cls' and 'box' layers",
                      fv_model_name(head));
    return FV_OK;
}

void fv_rh_free(fv_rh *r)
{
    fv_free(r->x), fv_free(r->dx), fv_free(r->argmax);
    fv_free(r->lg), fv_free(r->dl), fv_free(r->dg), fv_free(r->ddl), fv_free(r->tg);
    memset(r, 0, sizeof *r);
}

/* Buffers for k RoIs of c channels. */
static fv_status reserve(fv_rh *r, int k, int c)
{
    if (k <= r->cap)
        return FV_OK;
    size_t f = (size_t)k * (size_t)c * (size_t)(r->out * r->out), g = (size_t)k * (size_t)r->k1;
    fv_free(r->x), fv_free(r->dx), fv_free(r->argmax);
    fv_free(r->lg), fv_free(r->dl), fv_free(r->dg), fv_free(r->ddl), fv_free(r->tg);
    r->x = fv_malloc(sizeof(float) * f, "RoI features");
    r->dx = fv_malloc(sizeof(float) * f, "RoI feature gradients");
    r->argmax = fv_malloc(sizeof(int32_t) * f, "RoI pooling argmax");
    r->lg = fv_malloc(sizeof(double) * g, "head logits");
    r->dl = fv_malloc(sizeof(double) * g, "head logit gradients");
    r->dg = fv_malloc(sizeof(double) * 4 * g, "head deltas");
    r->ddl = fv_malloc(sizeof(double) * 4 * g, "head delta gradients");
    r->tg = fv_malloc(sizeof(double) * 4 * (size_t)k, "head targets");
    if (!(r->x && r->dx && r->argmax && r->lg && r->dl && r->dg && r->ddl && r->tg)) {
        r->cap = 0;
        return FV_ERR_NOMEM;
    }
    r->cap = k;
    return FV_OK;
}

fv_status fv_rh_forward(fv_rh *r, const fv_roi_spec *spec, const float *feat, const float *rois)
{
    FV_TRY(reserve(r, spec->k > 0 ? spec->k : 1, spec->c));
    if (r->align)
        FV_TRY(fv_roi_align(spec, feat, rois, r->x));
    else
        FV_TRY(fv_roi_pool(spec, feat, rois, r->x, r->argmax));
    return fv_model_forward(r->head, r->x, spec->k);
}

fv_status fv_rh_backward(fv_rh *r, const fv_roi_spec *spec, const float *rois, const int *labels,
                         const float *targets, float *dfeat, double *cls, double *box)
{
    int k = spec->k, k1 = r->k1;
    const float *lg = fv_model_node_output(r->head, r->cls_node);
    const float *dg = fv_model_node_output(r->head, r->box_node);
    if (!lg || !dg)
        return fv_last_status();
    int64_t g = (int64_t)k * k1;
    for (int64_t i = 0; i < g; i++)
        r->lg[i] = lg[i];
    for (int64_t i = 0; i < 4 * g; i++)
        r->dg[i] = dg[i];
    for (int64_t i = 0; i < 4 * (int64_t)k; i++)
        r->tg[i] = targets[i];
    fv_rh_loss(r->lg, r->dg, k, k1, labels, r->tg, r->dl, r->ddl, cls, box);
    /* the float gradients reuse the head's input buffers: r->x is no longer needed */
    float *fl = (float *)r->lg, *fd = (float *)r->dg;
    for (int64_t i = 0; i < g; i++)
        fl[i] = (float)r->dl[i];
    for (int64_t i = 0; i < 4 * g; i++)
        fd[i] = (float)r->ddl[i];
    int nodes[2] = {r->cls_node, r->box_node};
    const float *dys[2] = {fl, fd};
    FV_TRY(fv_model_backward(r->head, 2, nodes, dys, r->dx));
    if (r->align)
        return fv_roi_align_backward(spec, r->dx, rois, dfeat);
    return fv_roi_pool_backward(spec, r->dx, rois, r->argmax, dfeat);
}
