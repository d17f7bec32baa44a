/* conv_transpose.c - the transposed 2-D convolution op: input (C, H, W), output (F, OH, OW) with
 * OH = (H - 1) sh - 2 ph + dh (kh - 1) + oph + 1; parameters "weight" (C, F / groups, kh, kw) and
 * "bias" (F), PyTorch's ConvTranspose2d layout. It is the adjoint of the convolution from
 * (F, OH, OW) to (C, H, W) with the same weight, so it reuses the convolution kernels: forward is
 * that convolution's input gradient, the input gradient its forward, the weight gradient its weight
 * gradient with the roles of x and dy exchanged. Runs serially over the batch for now. */
#include "kernels/kernels.h"
#include "kernels/ref/conv_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* The convolution this op transposes: input (F, OH, OW) -> output (C, H, W). */
static fv_conv_geom adjoint_geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_conv_attr *a = &n->a.conv;
    fv_conv_geom g = {.c = a->filters, .h = (int)n->dims[1], .w = (int)n->dims[2],
                      .f = (int)x->dims[0], .kh = a->kh, .kw = a->kw, .sh = a->sh, .sw = a->sw,
                      .ph = a->ph, .pw = a->pw, .dh = a->dh, .dw = a->dw, .groups = a->groups};
    fv_conv_geom_init(&g);
    return g;
}

/* One output extent, (in - 1) s - 2 p + d (k - 1) + op + 1, saturated (fv_sat_add). */
static int64_t convt_extent(int64_t in, int k, int s, int p, int d, int op)
{
    int64_t e = fv_sat_add(fv_sat_mul(in - 1, s), fv_sat_mul(d, (int64_t)k - 1));
    return fv_sat_add(e, (int64_t)op + 1 - 2 * (int64_t)p);
}

/* The adjoint convolution runs the conv2d kernels, which index with int: its padded extents and
 * matrices must fit as conv2d's do (conv2d.c, sizes_fit), and the weight must be countable. */
static int adjoint_fits(const fv_node *x, const fv_conv_attr *a, int64_t oh, int64_t ow)
{
    int64_t hw = x->dims[1] * x->dims[2], taps = fv_sat_mul(a->kh, a->kw);
    int64_t rows = fv_sat_mul(a->filters / a->groups, taps);
    int64_t ph = fv_sat_add(fv_sat_add(oh, 2 * (int64_t)a->ph), fv_sat_mul(a->dh, a->kh));
    int64_t pw = fv_sat_add(fv_sat_add(ow, 2 * (int64_t)a->pw), fv_sat_mul(a->dw, a->kw));
    return ph <= INT_MAX / 2 && pw <= INT_MAX / 2 && rows <= INT_MAX &&
           fv_sat_mul(rows, hw) <= INT_MAX && fv_sat_mul(x->dims[0], rows) <= INT_MAX &&
           fv_sat_mul(a->filters, taps) <= INT_MAX;
}

static fv_status convt_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_conv_attr *a = &n->a.conv;
    char s[96];
    if (x->ndim != 3 || x->dims[0] % a->groups || a->filters % a->groups)
        return fv_err(FV_ERR_SHAPE, "layer '%s': a transposed convolution needs a (channels, "
                      "height, width) input with channels and filters=%d divisible by groups=%d, "
                      "got '%s' %s", n->name, a->filters, a->groups, x->name,
                      fv_node_shape_str(x, s, sizeof s));
    if ((n->a.convt.oph >= a->sh && n->a.convt.oph >= a->dh) || (n->a.convt.opw >= a->sw && n->a.convt.opw >= a->dw))
        return fv_err(FV_ERR_INVALID, "layer '%s': output_padding=%d,%d must be smaller than "
                      "the stride or the dilation", n->name, n->a.convt.oph, n->a.convt.opw);
    /* int64 with saturation: a stride of 2^31 - 1 must not overflow oh * ow (issue 16) */
    int64_t oh = convt_extent(x->dims[1], a->kh, a->sh, a->ph, a->dh, n->a.convt.oph);
    int64_t ow = convt_extent(x->dims[2], a->kw, a->sw, a->pw, a->dw, n->a.convt.opw);
    if (x->size > INT_MAX / 64 || oh < 1 || ow < 1 || oh > INT_MAX / 64 || ow > INT_MAX / 64 ||
        oh * ow > INT_MAX / 64 || !adjoint_fits(x, a, oh, ow))
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s gives an output of %lldx%lld, "
                      "or the kernel %dx%d is too large", n->name, x->name,
                      fv_node_shape_str(x, s, sizeof s), (long long)oh, (long long)ow, a->kh,
                      a->kw);
    n->ndim = 3;
    n->dims[0] = a->filters, n->dims[1] = oh, n->dims[2] = ow;
    int64_t cin = x->dims[0], fg = a->filters / a->groups, taps = (int64_t)a->kh * a->kw;
    int64_t wd[4] = {cin, fg, a->kh, a->kw};
    /* fans as PyTorch computes them for this layout (dim 1 is "in"): fan_in = fg kh kw */
    FV_TRY(fv_param_declare(m, n, "weight", 4, wd, 1, FV_INIT_GLOROT_UNIFORM, fg * taps,
                            cin * taps));
    if (a->bias) {
        int64_t bd[1] = {a->filters};
        FV_TRY(fv_param_declare(m, n, "bias", 1, bd, 1, FV_INIT_ZEROS, 0, 0));
    }
    return FV_OK;
}

/* Workspace: the column scratch, then one sample's input gradient (C, H, W). */
static size_t convt_workspace_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)batch;
    fv_conv_geom g = adjoint_geom(m, n);
    return sizeof(float) * (size_t)(fv_conv_scratch_size(&g) + fv_input_node(m, n, 0)->size);
}

static void convt_forward(fv_model *m, fv_node *n, int batch)
{
    fv_conv_geom g = adjoint_geom(m, n);
    memset(n->y, 0, sizeof(float) * (size_t)(n->size * batch));
    /* y = the adjoint convolution's input gradient for "output gradient" x */
    fv_conv2d_bwd_f32(NULL, fv_pdata(m, n, 0), fv_input_node(m, n, 0)->y, n->y, NULL, NULL, batch,
                      &g, fv_workspace(m, 0));
    if (!n->a.conv.bias)
        return;
    const float *b = fv_pdata(m, n, 1);
    int64_t hw = n->dims[1] * n->dims[2];
    for (int64_t sf = 0; sf < (int64_t)batch * n->dims[0]; sf++)
        for (int64_t i = 0; i < hw; i++)
            n->y[sf * hw + i] += b[sf % n->dims[0]];
}

static void convt_backward(fv_model *m, fv_node *n, int batch)
{
    fv_conv_geom g = adjoint_geom(m, n);
    const fv_node *x = fv_input_node(m, n, 0);
    float *dx = fv_input_dy(m, n, 0), *dw = fv_pgrad(m, n, 0), *ws = fv_workspace(m, 0);
    float *tmp = ws + fv_conv_scratch_size(&g);
    for (int s = 0; dx && s < batch; s++) { /* dx = the adjoint convolution of dy */
        fv_conv2d_fwd_f32(n->dy + s * n->size, fv_pdata(m, n, 0), NULL, tmp, 1, &g, ws);
        for (int64_t i = 0; i < x->size; i++)
            dx[s * x->size + i] += tmp[i];
    }
    if (dw) /* its weight gradient, with x as the output gradient and dy as the input */
        fv_conv2d_bwd_f32(n->dy, fv_pdata(m, n, 0), x->y, NULL, dw, NULL, batch, &g, ws);
    if (n->a.conv.bias) {
        float *db = fv_pgrad(m, n, 1);
        int64_t hw = n->dims[1] * n->dims[2];
        for (int64_t sf = 0; sf < (int64_t)batch * n->dims[0]; sf++) {
            double sum = 0;
            for (int64_t i = 0; i < hw; i++)
                sum += n->dy[sf * hw + i];
            db[sf % n->dims[0]] += (float)sum;
        }
    }
}

/* ---------------------------------------------------------------- the layer */

static const fv_form convt_forms[] = {
    {{"conv2d_transpose", "Conv2DTranspose", "ConvTranspose2d"}, "Conv2DTranspose", 0, NULL, NULL},
};

static const fv_field convt_fields[] = {
    {.key = "filters", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.convt.filters), .attr = FV_AT(convt.conv.filters),
     .doc = "positive integer: output channels"},
    {.key = "kernel_size", .alias = "kernel", .type = FV_FT_PAIR, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.convt.kernel), .arg_h = FV_ARG(a.convt.kernel_h),
     .arg_w = FV_ARG(a.convt.kernel_w), .attr = FV_AT(convt.conv.kh),
     .attr_w = FV_AT(convt.conv.kw), .doc = "`N` or `H,W`"},
    {.key = "strides", .alias = "stride", .type = FV_FT_PAIR, .def = 1, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.convt.stride), .arg_h = FV_ARG(a.convt.stride_h),
     .arg_w = FV_ARG(a.convt.stride_w), .attr = FV_AT(convt.conv.sh),
     .attr_w = FV_AT(convt.conv.sw), .doc = "`N` or `H,W`"},
    {.key = "padding", .type = FV_FT_PADDING, .lo = 0, .hi = INT_MAX,
     .arg = FV_ARG(a.convt.padding), .attr = FV_AT(convt.conv.ph), .attr_w = FV_AT(convt.conv.pw),
     .doc = "`valid` (0) or an integer N >= 0 cropped from each side of the output"},
    {.key = "dilation_rate", .alias = "dilation", .type = FV_FT_SQUARE, .def = 1, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.convt.dilation), .attr = FV_AT(convt.conv.dh),
     .attr_w = FV_AT(convt.conv.dw), .doc = "`N` (or `N,N`, equal values)"},
    {.key = "groups", .type = FV_FT_INT, .def = 1, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.convt.groups), .attr = FV_AT(convt.conv.groups),
     .doc = "positive integer dividing input channels and filters"},
    {.key = "use_bias", .type = FV_FT_BOOL, .flags = FV_F_TEXT_NOT | FV_F_ATTR_NOT,
     .arg = FV_ARG(a.convt.no_bias), .attr = FV_AT(convt.conv.bias),
     .doc = "`true`/`false`/`1`/`0`"},
    {.key = "output_padding", .type = FV_FT_PAIR, .lo = 0, .hi = INT_MAX,
     .arg = FV_ARG(a.convt.output_padding), .arg_h = FV_ARG(a.convt.output_padding_h),
     .arg_w = FV_ARG(a.convt.output_padding_w), .attr = FV_AT(convt.oph),
     .attr_w = FV_AT(convt.opw),
     .doc = "`N` or `H,W` >= 0 added to one side of the output (below the stride or the "
            "dilation)"},
    {.key = "activation", .type = FV_FT_ACT, .arg = FV_ARG(a.convt.activation),
     .doc = "as for `conv2d`"},
    FV_INIT_FIELDS_AS_CONV(a.convt),
};

static const fv_schema convt_schema = {
    FV_SCHEMA_TABLES(FV_OP_CONV2D_TRANSPOSE, convt_forms, convt_fields)};

const fv_op_def fv_op_conv2d_transpose_def = {
    .name = "conv2d_transpose", .kind = "Conv2DTranspose", .schema = &convt_schema,
    .infer = convt_infer, .workspace_bytes = convt_workspace_bytes, .forward = convt_forward,
    .backward = convt_backward,
};
