/* adaptive_pool.c - adaptive average pooling (PyTorch's AdaptiveAvgPool2d): (C, H, W) ->
 * (C, oh, ow), cell (i, j) the mean over rows [floor(i H / oh), ceil((i + 1) H / oh)) and the
 * columns likewise, so any input size maps to a fixed grid (torchvision's AlexNet, VGG and
 * GoogLeNet heads). Windows overlap when the size does not divide; an output larger than the
 * input repeats cells. */
#include "kernels/ref/adaptive_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>

static fv_status adaptive_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_adaptive_attr *a = &n->a.adaptive;
    FV_TRY(fv_need_chw(n, x, "adaptive pooling"));
    if (a->oh < 1 || a->ow < 1 || x->dims[1] > INT32_MAX || x->dims[2] > INT32_MAX)
        return fv_err(FV_ERR_INVALID, "layer '%s': output size %dx%d must be positive", n->name,
                      a->oh, a->ow);
    n->ndim = 3;
    n->dims[0] = x->dims[0];
    n->dims[1] = a->oh;
    n->dims[2] = a->ow;
    return FV_OK;
}

static void adaptive_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    fv_ref_adaptive_avg_fwd_f32(x->y, n->y, x->dims[0] * batch, (int)x->dims[1],
                                (int)x->dims[2], n->a.adaptive.oh, n->a.adaptive.ow);
}

static void adaptive_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_ref_adaptive_avg_bwd_f32(n->dy, dx, x->dims[0] * batch, (int)x->dims[1],
                                    (int)x->dims[2], n->a.adaptive.oh, n->a.adaptive.ow);
}

static const fv_form adaptive_forms[] = {
    {{"adaptive_avgpool2d", "AdaptiveAvgPool2d"}, "AdaptiveAvgPool2d", 0, NULL, NULL}};

static const fv_field adaptive_fields[] = {
    {.key = "output_size", .type = FV_FT_PAIR, .flags = FV_F_REQUIRED, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.adaptive.output_size), .arg_h = FV_ARG(a.adaptive.output_h),
     .arg_w = FV_ARG(a.adaptive.output_w), .attr = FV_AT(adaptive.oh),
     .attr_w = FV_AT(adaptive.ow), .doc = "`oh,ow` or one integer for both"},
};

static const fv_schema adaptive_schema = {
    FV_SCHEMA_TABLES(FV_OP_ADAPTIVE_AVGPOOL, adaptive_forms, adaptive_fields)};

const fv_op_def fv_op_adaptive_avgpool_def = {
    .schema = &adaptive_schema,
    .name = "adaptive_avgpool2d", .kind = "AdaptiveAvgPool2d", .infer = adaptive_infer,
    .forward = adaptive_forward, .backward = adaptive_backward,
};
