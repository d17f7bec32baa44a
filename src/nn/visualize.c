/* visualize.c - what a trained network looks at: a layer's filters and feature maps, the
 * gradient of a class score with respect to the input (saliency, Simonyan et al. 2014), Grad-CAM
 * (Selvaraju et al. 2017: a layer's maps weighted by their average gradient), class-model
 * images (gradient ascent on the input with L2 regularization, Simonyan et al. 2014) and
 * Zeiler-Fergus deconvnet reconstructions (2014: unpooling through the switches, rectification,
 * transposed filters). All run the
 * model in evaluation mode on one sample and leave its weights unchanged. */
#include "core/internal.h"
#include "graph/graph.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

static fv_status need_compiled(const fv_model *m, const char *what)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "%s: compile model '%s' first", what, m->name);
    return FV_OK;
}

static fv_status find_layer(const fv_model *m, const char *layer, const char *what, int *id)
{
    *id = layer ? fv_model_find_output(m, layer) : -1; /* after its activation, if any */
    if (*id < 0)
        return fv_err(FV_ERR_INVALID, "%s: model '%s' has no layer '%s'", what, m->name,
                      layer ? layer : "(null)");
    return FV_OK;
}

/* Evaluation-mode forward of one sample x (the input's shape) up to node `upto`. */
static fv_status forward_one(fv_model *m, const fv_tensor *x, int upto, const char *what)
{
    fv_node *in = &m->nodes[m->input_node];
    if (fv_tensor_numel(x) != in->size) {
        char a[96], b[96];
        return fv_err(FV_ERR_SHAPE, "%s: image of shape %s does not fit input %s", what,
                      fv_shape_str(x->ndim, x->dims, a, sizeof a),
                      fv_node_shape_str(in, b, sizeof b));
    }
    FV_TRY(fv_graph_plan_ex(m, 1, 0)); /* every node's dy kept: Grad-CAM reads them */
    m->training = 0;
    memcpy(in->y, x->data, sizeof(float) * (size_t)in->size);
    fv_graph_forward(m, 1, upto);
    return FV_OK;
}

/* The backward pass from node `top` (whose dy is set) down to the input, leaving the parameter
 * gradients cleared. With `rectify` it is the deconvnet's pass (Zeiler & Fergus): a ReLU passes
 * max(signal, 0) instead of gating it by its forward input; max pooling's backward already
 * unpools through the switches and a convolution's applies the transposed filters. */
static void run_down(fv_model *m, int top, int rectify)
{
    for (int i = top; i >= 0; i--) {
        fv_node *n = &m->nodes[i];
        if (!n->needs_grad || n->op == FV_OP_INPUT)
            continue;
        float alpha;
        float *dx = rectify && fv_node_act(n, &alpha) == FV_ACT_RELU ? fv_input_dy(m, n, 0) : NULL;
        for (int64_t k = 0; dx && k < n->size; k++)
            dx[k] += n->dy[k] > 0 ? n->dy[k] : 0.0f;
        if (!dx)
            fv_op_table[n->op]->backward(m, n, 1);
    }
    memset(m->grad_slab, 0, sizeof(float) * (size_t)m->trainable_total);
}

/* The node whose unit c is the class score S_c: the output, or the logits before a softmax
 * output (Simonyan et al. differentiate the unnormalized score; a probability's gradient also
 * pushes the other classes down and vanishes as it saturates). */
static int score_node(const fv_model *m)
{
    const fv_node *o = &m->nodes[m->output_node];
    return o->op == FV_OP_SOFTMAX ? o->in[0] : m->output_node;
}

/* d(S_cls) / d(every node up to it), in each node's dy; the parameter gradients are cleared
 * afterwards, so a later step is not disturbed. */
static fv_status backward_from_class(fv_model *m, const fv_tensor *x, int cls, const char *what)
{
    int out = score_node(m);
    if (cls < 0 || cls >= m->nodes[out].size)
        return fv_err(FV_ERR_INVALID, "%s: class %d is not in [0, %lld)", what, cls,
                      (long long)m->nodes[out].size);
    int was = m->input_grad;
    m->input_grad = 1; /* every node downstream of the image needs its gradient */
    fv_status st = forward_one(m, x, out, what);
    m->input_grad = was;
    if (st != FV_OK)
        return st;
    fv_graph_zero_grads(m, 1);
    m->nodes[out].dy[cls] = 1.0f;
    run_down(m, out, 0);
    return FV_OK;
}

static fv_tensor *copy_out(const float *src, int ndim, const int64_t *dims)
{
    fv_tensor *t = fv_tensor_new(ndim, dims);
    if (t)
        memcpy(t->data, src, sizeof(float) * (size_t)fv_tensor_numel(t));
    return t;
}

fv_status fv_input_gradient(fv_model *m, const fv_tensor *x, int cls, fv_tensor **grad)
{
    *grad = NULL;
    FV_TRY(need_compiled(m, "input gradient"));
    FV_TRY(backward_from_class(m, x, cls, "input gradient"));
    const fv_node *in = &m->nodes[m->input_node];
    *grad = copy_out(in->dy, in->ndim, in->dims);
    return *grad ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_saliency(fv_model *m, const fv_tensor *x, int cls, fv_tensor **map)
{
    *map = NULL;
    fv_tensor *g;
    FV_TRY(fv_input_gradient(m, x, cls, &g));
    const fv_node *in = &m->nodes[m->input_node];
    if (in->ndim != 3) {
        fv_tensor_free(g);
        return fv_err(FV_ERR_SHAPE, "saliency: the input is not an image (C, H, W)");
    }
    int64_t c = in->dims[0], hw = in->dims[1] * in->dims[2], dims[3] = {1, in->dims[1], in->dims[2]};
    fv_tensor *s = fv_tensor_new(3, dims);
    for (int64_t i = 0; s && i < hw; i++) { /* the largest |gradient| over the channels */
        float v = 0;
        for (int64_t k = 0; k < c; k++)
            v = fmaxf(v, fabsf(g->data[k * hw + i]));
        s->data[i] = v;
    }
    fv_tensor_free(g);
    *map = s;
    return s ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_gradcam(fv_model *m, const fv_tensor *x, int cls, const char *layer,
                     fv_tensor **map)
{
    *map = NULL;
    int id;
    FV_TRY(need_compiled(m, "Grad-CAM"));
    FV_TRY(find_layer(m, layer, "Grad-CAM", &id));
    const fv_node *a = &m->nodes[id], *in = &m->nodes[m->input_node];
    if (a->ndim != 3 || in->ndim != 3 || id > m->output_node)
        return fv_err(FV_ERR_SHAPE, "Grad-CAM: layer '%s' must give (C, H, W) maps before the "
                      "output, from an image input", layer);
    FV_TRY(backward_from_class(m, x, cls, "Grad-CAM"));
    int64_t c = a->dims[0], h = a->dims[1], w = a->dims[2], hw = h * w;
    fv_tensor *map4 = fv_tensor_new4(1, 1, h, w);
    if (!map4)
        return FV_ERR_NOMEM;
    float *cam = map4->data;
    for (int64_t k = 0; k < c; k++) { /* alpha_k = the mean gradient of map k */
        double alpha = 0;
        for (int64_t i = 0; i < hw; i++)
            alpha += a->dy[k * hw + i];
        alpha /= (double)hw;
        for (int64_t i = 0; i < hw; i++)
            cam[i] += (float)(alpha * a->y[k * hw + i]);
    }
    for (int64_t i = 0; i < hw; i++)
        cam[i] = fmaxf(cam[i], 0.0f); /* only what raises the score */
    /* to the input's size: the bilinear (half-pixel) resize images are fitted with */
    fv_tensor *fit = fv_image_fit(map4, 1, (int)in->dims[1], (int)in->dims[2]);
    fv_tensor_free(map4);
    *map = fit ? copy_out(fit->data, in->ndim, (int64_t[]){1, in->dims[1], in->dims[2]}) : NULL;
    fv_tensor_free(fit);
    return *map ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_feature_maps(fv_model *m, const fv_tensor *x, const char *layer, fv_tensor **maps)
{
    *maps = NULL;
    int id;
    FV_TRY(need_compiled(m, "feature maps"));
    FV_TRY(find_layer(m, layer, "feature maps", &id));
    FV_TRY(forward_one(m, x, id, "feature maps"));
    const fv_node *n = &m->nodes[id];
    *maps = copy_out(n->y, n->ndim, n->dims);
    return *maps ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_layer_weights(const fv_model *m, const char *layer, fv_tensor **w)
{
    *w = NULL;
    int id;
    FV_TRY(need_compiled(m, "filters"));
    FV_TRY(find_layer(m, layer, "filters", &id));
    const fv_node *n = &m->nodes[id];
    if (n->hidden && n->nparam < 1) /* the name reaches the folded activation: its layer */
        n = &m->nodes[n->in[0]];
    if (n->nparam < 1)
        return fv_err(FV_ERR_INVALID, "filters: layer '%s' has no weights", layer);
    const fv_param *p = &m->params[n->param[0]];
    *w = copy_out(m->data_slab + p->offset, p->ndim, p->dims);
    return *w ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_class_model(fv_model *m, int cls, int steps, float lr, float l2, fv_tensor **img)
{
    *img = NULL;
    FV_TRY(need_compiled(m, "class model"));
    const fv_node *in = &m->nodes[m->input_node];
    if (steps < 1 || !(lr > 0) || !(l2 >= 0))
        return fv_err(FV_ERR_INVALID, "class model: steps=%d, lr=%g, l2=%g (steps, lr > 0; l2 "
                      ">= 0)", steps, (double)lr, (double)l2);
    fv_tensor *x = fv_tensor_new(in->ndim, in->dims);
    if (!x)
        return FV_ERR_NOMEM;
    /* start near zero (the mean image after normalization; a little seeded noise so that ReLUs
     * are not all at their kink) and climb S_c(x) - l2 |x|^2 */
    fv_rng r;
    fv_rng_seed(&r, 1);
    for (int64_t i = 0; i < in->size; i++)
        x->data[i] = (float)(0.02 * (fv_rng_uniform(&r) - 0.5));
    fv_status st = FV_OK;
    for (int s = 0; s < steps && st == FV_OK; s++) {
        st = backward_from_class(m, x, cls, "class model");
        for (int64_t i = 0; st == FV_OK && i < in->size; i++)
            x->data[i] += lr * (in->dy[i] - 2 * l2 * x->data[i]);
    }
    if (st != FV_OK) {
        fv_tensor_free(x);
        return st;
    }
    *img = x;
    return FV_OK;
}

fv_status fv_deconvnet(fv_model *m, const fv_tensor *x, const char *layer, int channel,
                       fv_tensor **img)
{
    *img = NULL;
    int id;
    FV_TRY(need_compiled(m, "deconvnet"));
    FV_TRY(find_layer(m, layer, "deconvnet", &id));
    const fv_node *a = &m->nodes[id];
    if (a->ndim != 3 || channel < -1 || channel >= a->dims[0])
        return fv_err(FV_ERR_INVALID, "deconvnet: layer '%s' needs (C, H, W) maps and channel %d "
                      "in [-1, %lld)", layer, channel, a->ndim == 3 ? (long long)a->dims[0] : 0LL);
    int was = m->input_grad;
    m->input_grad = 1;
    fv_status st = forward_one(m, x, id, "deconvnet");
    m->input_grad = was;
    if (st != FV_OK)
        return st;
    /* keep only the strongest activation (of `channel`, or of any map when -1) */
    int64_t hw = a->dims[1] * a->dims[2], lo = channel < 0 ? 0 : channel * hw;
    int64_t hi = channel < 0 ? a->size : lo + hw, best = lo;
    for (int64_t k = lo; k < hi; k++)
        best = a->y[k] > a->y[best] ? k : best;
    fv_graph_zero_grads(m, 1);
    m->nodes[id].dy[best] = a->y[best];
    run_down(m, id, 1);
    const fv_node *in = &m->nodes[m->input_node];
    *img = copy_out(in->dy, in->ndim, in->dims);
    return *img ? FV_OK : FV_ERR_NOMEM;
}
