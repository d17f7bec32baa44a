/* resize.c - upsampling by integer factors (nearest, bilinear with half-pixel centres: Keras'
 * UpSampling2D, PyTorch's Upsample) and padding / cropping of height and width (Keras'
 * ZeroPadding2D / Cropping2D; ONNX Pad and PyTorch F.pad with constant, reflect and edge modes)
 * on (C, H, W) inputs. */
#include "kernels/ref/resize_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>

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
                            .left = a->left, .right = a->right, .pad_mode = a->pad_mode,
                            .pad_value = a->pad_value};
}

/* A resize kernel of resize_ref.h: forward x -> y, or backward dy -> dx. */
typedef void (*resize_fn)(const fv_resize_geom *g, const float *in, float *out);

static void run_forward(fv_model *m, fv_node *n, int batch, resize_fn fwd)
{
    fv_resize_geom g = geom(m, n, batch);
    fwd(&g, fv_input_node(m, n, 0)->y, n->y);
}

static void run_backward(fv_model *m, fv_node *n, int batch, resize_fn bwd)
{
    float *dx = fv_input_dy(m, n, 0);
    fv_resize_geom g = geom(m, n, batch);
    if (dx)
        bwd(&g, n->dy, dx);
}

static fv_status upsample_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    FV_TRY(fv_need_chw(n, x, NULL));
    return set_out(n, x, x->dims[1] * n->a.resize.sh, x->dims[2] * n->a.resize.sw);
}

static void upsample_forward(fv_model *m, fv_node *n, int batch)
{
    run_forward(m, n, batch, fv_ref_upsample_fwd_f32);
}

static void upsample_backward(fv_model *m, fv_node *n, int batch)
{
    run_backward(m, n, batch, fv_ref_upsample_bwd_f32);
}

static const char *const pad_modes[] = {"constant", "reflect", "edge", NULL};

/* Whether an axis of n cells (after its crops) can be padded by before and after in mode. */
static bool pad_fits(int64_t n, int before, int after, int mode)
{
    int64_t len = n - (before < 0 ? -before : 0) - (after < 0 ? -after : 0);
    int64_t most = before > after ? before : after;
    return mode == FV_PAD_CONSTANT || most <= 0 ||
           (mode == FV_PAD_EDGE ? len >= 1 : most <= len - 1);
}

static fv_status pad_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_resize_attr *a = &n->a.resize;
    FV_TRY(fv_need_chw(n, x, NULL));
    if (!pad_fits(x->dims[1], a->top, a->bottom, a->pad_mode) ||
        !pad_fits(x->dims[2], a->left, a->right, a->pad_mode)) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s cannot be padded by %d,%d,%d,%d "
                      "in mode %s (%s)", n->name, x->name, fv_node_shape_str(x, s, sizeof s),
                      a->top, a->bottom, a->left, a->right, pad_modes[a->pad_mode],
                      a->pad_mode == FV_PAD_EDGE ? "nothing is left after cropping"
                                                 : "reflect pads less than the extent");
    }
    return set_out(n, x, x->dims[1] + a->top + a->bottom, x->dims[2] + a->left + a->right);
}

static void pad_forward(fv_model *m, fv_node *n, int batch)
{
    run_forward(m, n, batch, fv_ref_pad_crop_fwd_f32);
}

static void pad_backward(fv_model *m, fv_node *n, int batch)
{
    run_backward(m, n, batch, fv_ref_pad_crop_bwd_f32);
}

/* ---------------------------------------------------------------- the layers */

static const char *const interpolations[] = {"nearest", "bilinear", NULL};
static const fv_form upsample_forms[] = {
    {{"upsample2d", "UpSampling2D", "Upsample"}, "UpSampling2D", 0, NULL, NULL}};
static const fv_field upsample_fields[] = {
    {.key = "size", .alias = "pool_size", .type = FV_FT_PAIR, .def = 2, .lo = 1, .hi = 1024,
     .arg = FV_ARG(a.upsample.size), .arg_h = FV_ARG(a.upsample.size_h),
     .arg_w = FV_ARG(a.upsample.size_w), .attr = FV_AT(resize.sh), .attr_w = FV_AT(resize.sw),
     .doc = "`N` or `H,W`: the scale factors"},
    {.key = "interpolation", .type = FV_FT_CHOICE, .words = interpolations,
     .arg = FV_ARG(a.upsample.bilinear), .attr = FV_AT(resize.bilinear),
     .doc = "`nearest` or `bilinear` (half-pixel centres, PyTorch's `align_corners=False`)"},
};
static const fv_schema upsample_schema = {
    FV_SCHEMA_TABLES(FV_OP_UPSAMPLE, upsample_forms, upsample_fields)};

enum { PAD = 0, CROP, PAD2D };

/* Cropping removes: the sides become negative. */
static fv_status pad_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    (void)layer;
    if (s->form == PAD2D)
        return FV_OK;
    int sign = s->form == CROP ? -1 : 1;
    at->resize.top *= sign, at->resize.bottom *= sign;
    at->resize.left *= sign, at->resize.right *= sign;
    return FV_OK;
}

/* Zero padding and cropping as Keras names them; the rest (another mode or value, padding some
 * sides and cropping others) as pad2d. */
static int pad_form_of(const fv_node *n)
{
    const fv_resize_attr *a = &n->a.resize;
    bool grow = a->top > 0 || a->bottom > 0 || a->left > 0 || a->right > 0;
    bool shrink = a->top < 0 || a->bottom < 0 || a->left < 0 || a->right < 0;
    if (a->pad_mode != FV_PAD_CONSTANT || a->pad_value != 0 || (grow && shrink))
        return PAD2D;
    return shrink ? CROP : PAD;
}

/* Padding when a side grows, else cropping (also of nothing: zero_padding2d's default is 1). */
static const char *pad_unwrite(const fv_model *m, const fv_node *n, fv_spec *s)
{
    (void)m;
    const fv_resize_attr *r = &n->a.resize;
    if (s->form == PAD2D)
        return NULL;
    int v[4] = {r->top, r->bottom, r->left, r->right};
    bool pad = v[0] > 0 || v[1] > 0 || v[2] > 0 || v[3] > 0;
    for (int i = 0; i < 4; i++)
        if (pad ? v[i] < 0 : v[i] > 0)
            return "padding some sides and cropping others";
    s->form = pad ? PAD : CROP;
    s->a.pad = (fv_pad_args){.top = abs(v[0]), .bottom = abs(v[1]), .left = abs(v[2]),
                             .right = abs(v[3])};
    return NULL;
}

static const fv_form pad_forms[] = {
    {{"zero_padding2d", "ZeroPadding2D"}, "ZeroPadding2D", PAD, NULL, NULL},
    {{"cropping2d", "Cropping2D"}, "Cropping2D", CROP, NULL, NULL},
    {{"pad2d", "Pad2D", "Pad"}, "Pad2D", PAD2D, NULL, NULL},
};
static const fv_field pad_fields[] = {
    {.key = "padding", .type = FV_FT_SIDES, .flags = FV_F_TEXT_DEF, .forms = FV_FORM(PAD),
     .def = 1, .lo = 0, .hi = 1 << 20, .arg = FV_ARG(a.pad.all), .attr = FV_AT(resize.top),
     .doc = "`N` (every side), `V,H` (top and bottom, left and right) or `T,B,L,R`"},
    {.key = "cropping", .type = FV_FT_SIDES, .flags = FV_F_REQUIRED, .forms = FV_FORM(CROP),
     .lo = 0, .hi = 1 << 20, .arg = FV_ARG(a.pad.all), .attr = FV_AT(resize.top),
     .doc = "as `padding`"},
    {.key = "padding", .type = FV_FT_SIDES, .forms = FV_FORM(PAD2D), .lo = -(1 << 20),
     .hi = 1 << 20, .arg = FV_ARG(a.pad.all), .attr = FV_AT(resize.top),
     .doc = "`N`, `V,H` or `T,B,L,R`; a negative count crops that side (before the padding)"},
    {.key = "mode", .type = FV_FT_CHOICE, .forms = FV_FORM(PAD2D), .words = pad_modes,
     .arg = FV_ARG(a.pad.mode), .attr = FV_AT(resize.pad_mode),
     .doc = "`constant`, `reflect` (about the edge cell; each pad < the extent) or `edge` "
            "(PyTorch's replicate)"},
    {.key = "value", .type = FV_FT_FLOAT, .forms = FV_FORM(PAD2D), .lo = -INFINITY,
     .hi = INFINITY, .arg = FV_ARG(a.pad.value), .attr = FV_AT(resize.pad_value),
     .doc = "finite number: the constant mode's value"},
};
static const fv_schema pad_schema = {FV_SCHEMA_TABLES(FV_OP_PAD_CROP, pad_forms, pad_fields),
                                     .finish = pad_finish, .form_of = pad_form_of,
                                     .unwrite = pad_unwrite};

const fv_op_def fv_op_upsample_def = {
    .name = "upsample2d", .kind = "UpSampling2D", .infer = upsample_infer,
    .forward = upsample_forward, .backward = upsample_backward, .schema = &upsample_schema,
};
const fv_op_def fv_op_pad_crop_def = {
    .name = "padding2d", .kind = "ZeroPadding2D", .infer = pad_infer,
    .forward = pad_forward, .backward = pad_backward, .schema = &pad_schema,
};
