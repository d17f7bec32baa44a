/* resize.c - upsampling by integer factors (nearest, bilinear with half-pixel centres: Keras'
 * UpSampling2D, PyTorch's Upsample) and zero padding / cropping of height and width (Keras'
 * ZeroPadding2D / Cropping2D) on (C, H, W) inputs. */
#include "kernels/ref/resize_ref.h"
#include "ops/ops.h"

#include <limits.h>

static fv_status need_chw(const fv_node *n, const fv_node *x)
{
    char s[96];
    if (x->ndim != 3)
        return fv_err(FV_ERR_SHAPE, "layer '%s': needs a (channels, height, width) input, got "
                      "'%s' %s", n->name, x->name, fv_node_shape_str(x, s, sizeof s));
    return FV_OK;
}

static fv_status set_out(fv_node *n, const fv_node *x, int64_t oh, int64_t ow)
{
    char s[96];
    if (oh < 1 || ow < 1 || oh > INT_MAX / 2 || ow > INT_MAX / 2 || oh * ow > INT32_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s would become %lldx%lld", n->name,
                      x->name, fv_node_shape_str(x, s, sizeof s), (long long)oh, (long long)ow);
    n->ndim = 3;
    n->dims[0] = x->dims[0], n->dims[1] = oh, n->dims[2] = ow;
    return FV_OK;
}

static fv_resize_geom geom(const fv_model *m, const fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_resize_attr *a = &n->a.resize;
    return (fv_resize_geom){.planes = (int64_t)batch * x->dims[0], .h = (int)x->dims[1],
                            .w = (int)x->dims[2], .oh = (int)n->dims[1], .ow = (int)n->dims[2],
                            .bilinear = a->bilinear, .top = a->top, .bottom = a->bottom,
                            .left = a->left, .right = a->right};
}

static fv_status upsample_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    FV_TRY(need_chw(n, x));
    return set_out(n, x, x->dims[1] * n->a.resize.sh, x->dims[2] * n->a.resize.sw);
}

static void upsample_forward(fv_model *m, fv_node *n, int batch)
{
    fv_resize_geom g = geom(m, n, batch);
    fv_ref_upsample_fwd_f32(&g, fv_input_node(m, n, 0)->y, n->y);
}

static void upsample_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    fv_resize_geom g = geom(m, n, batch);
    if (dx)
        fv_ref_upsample_bwd_f32(&g, n->dy, dx);
}

static const char *upsample_kind(const fv_node *n)
{
    (void)n;
    return "UpSampling2D";
}

static fv_status pad_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_resize_attr *a = &n->a.resize;
    FV_TRY(need_chw(n, x));
    return set_out(n, x, x->dims[1] + a->top + a->bottom, x->dims[2] + a->left + a->right);
}

static void pad_forward(fv_model *m, fv_node *n, int batch)
{
    fv_resize_geom g = geom(m, n, batch);
    fv_ref_pad_crop_fwd_f32(&g, fv_input_node(m, n, 0)->y, n->y);
}

static void pad_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    fv_resize_geom g = geom(m, n, batch);
    if (dx)
        fv_ref_pad_crop_bwd_f32(&g, n->dy, dx);
}

static const char *pad_kind(const fv_node *n)
{
    const fv_resize_attr *a = &n->a.resize;
    return a->top < 0 || a->bottom < 0 || a->left < 0 || a->right < 0 ? "Cropping2D"
                                                                      : "ZeroPadding2D";
}

const fv_op_def fv_op_upsample_def = {
    .name = "upsample2d", .kind = "UpSampling2D", .infer = upsample_infer,
    .forward = upsample_forward, .backward = upsample_backward, .kind_of = upsample_kind,
};
const fv_op_def fv_op_pad_crop_def = {
    .name = "padding2d", .kind = "ZeroPadding2D", .infer = pad_infer,
    .forward = pad_forward, .backward = pad_backward, .kind_of = pad_kind,
};
