/* interp.c - resizing of (C, H, W) inputs with ONNX Resize's semantics (opsets 10-13; PyTorch's
 * F.interpolate): the output size from a size or from scales (any number > 0), nearest (four
 * rounding rules), linear and cubic (Keys, coefficient a, exclude_outside) interpolation at the
 * input coordinates of five coordinate transforms (fovea.h's fv_resize_args says which). The
 * layer's attributes, arguments and text spelling live here; the taps and kernels in
 * kernels/ref/interp_ref. Forward and backward (the adjoint) run over the planes in parallel. */
#include "kernels/ref/interp_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>

typedef struct interp_attr {
    double sh, sw;  /* the scales (0: from the size) */
    int oh, ow;     /* the output size (0: from the scales) */
    int mode, coord, nearest, exclude;
    float cubic_a;
} interp_attr;
_Static_assert(sizeof(interp_attr) <= sizeof(((fv_attr *)0)->raw), "interp_attr fits fv_attr");

#define AT_INTERP(member) (FV_AT(raw) + (int)offsetof(interp_attr, member))

static const interp_attr *attr_of(const fv_attr *a)
{
    return (const interp_attr *)a->raw;
}

/* The scale of an axis in -> out: the given one, else out / in (ONNX's sizes). */
static double axis_scale(double given, int64_t in, int64_t out)
{
    return given > 0 ? given : (double)out / (double)in;
}

/* One axis's output extent: the given size, or floor(in * scale); -1 where too large. */
static int64_t extent(int64_t in, int out, double scale)
{
    if (out > 0)
        return out;
    double v = floor((double)in * scale);
    return v <= INT_MAX / 2 ? (int64_t)v : -1;
}

static fv_status interp_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const interp_attr *a = attr_of(&n->a);
    FV_TRY(fv_need_chw(n, x, NULL));
    int64_t oh = extent(x->dims[1], a->oh, a->sh), ow = extent(x->dims[2], a->ow, a->sw);
    if (oh < 1 || ow < 1 || oh * ow > INT32_MAX) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s resized by %g, %g would become "
                      "%lldx%lld (expected 1..%d cells per axis)", n->name, x->name,
                      fv_node_shape_str(x, s, sizeof s), axis_scale(a->sh, x->dims[1], oh),
                      axis_scale(a->sw, x->dims[2], ow), (long long)oh, (long long)ow,
                      INT_MAX / 2);
    }
    n->ndim = 3;
    n->dims[0] = x->dims[0], n->dims[1] = oh, n->dims[2] = ow;
    return FV_OK;
}

/* n->saved: the taps of the rows, then of the columns (weights, then cells). */
static size_t interp_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m, (void)batch;
    return (size_t)(n->dims[1] + n->dims[2]) * FV_INTERP_TAPS * (sizeof(double) + sizeof(int32_t));
}

/* The geometry of node n with its taps computed into n->saved. */
static fv_interp_geom taps(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const interp_attr *a = attr_of(&n->a);
    int h = (int)x->dims[1], w = (int)x->dims[2], oh = (int)n->dims[1], ow = (int)n->dims[2];
    int nt = fv_interp_ntaps(a->mode);
    double *wy = n->saved, *wx = wy + (int64_t)oh * FV_INTERP_TAPS;
    int32_t *iy = (int32_t *)(wx + (int64_t)ow * FV_INTERP_TAPS),
            *ix = iy + (int64_t)oh * FV_INTERP_TAPS;
    fv_interp_spec s = {.mode = a->mode, .coord = a->coord, .nearest = a->nearest,
                        .exclude = a->exclude, .cubic_a = a->cubic_a};
    fv_interp_taps(&s, h, oh, a->sh, iy, wy);
    fv_interp_taps(&s, w, ow, a->sw, ix, wx);
    return (fv_interp_geom){.h = h, .w = w, .oh = oh, .ow = ow, .th = nt, .tw = nt,
                            .iy = iy, .ix = ix, .wy = wy, .wx = wx};
}

/* The geometry over the taps forward or backward computed (read-only in the workers). */
static fv_interp_geom geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int nt = fv_interp_ntaps(attr_of(&n->a)->mode), oh = (int)n->dims[1], ow = (int)n->dims[2];
    const double *wy = n->saved, *wx = wy + (int64_t)oh * FV_INTERP_TAPS;
    const int32_t *iy = (const int32_t *)(wx + (int64_t)ow * FV_INTERP_TAPS);
    return (fv_interp_geom){.h = (int)x->dims[1], .w = (int)x->dims[2], .oh = oh, .ow = ow,
                            .th = nt, .tw = nt, .iy = iy, .ix = iy + (int64_t)oh * FV_INTERP_TAPS,
                            .wy = wy, .wx = wx};
}

static void fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_interp_geom g = geom(m, n);
    fv_ref_interp_fwd_f32(&g, a, b, fv_input_node(m, n, 0)->y, n->y);
}

static void bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_interp_geom g = geom(m, n);
    fv_ref_interp_bwd_f32(&g, a, b, n->dy, fv_input_dy(m, n, 0));
}

/* Planes per worker: at least 16k output cells. */
static int64_t min_planes(const fv_node *n)
{
    int64_t cells = n->dims[1] * n->dims[2];
    return cells >= 16384 ? 1 : 16384 / cells;
}

static void interp_forward(fv_model *m, fv_node *n, int batch)
{
    taps(m, n);
    fv_parallel_ranges(m, n, (int64_t)batch * n->dims[0], min_planes(n), fwd_range);
}

static void interp_backward(fv_model *m, fv_node *n, int batch)
{
    if (!fv_input_dy(m, n, 0))
        return;
    taps(m, n); /* the same as forward's: backward need not follow a forward of this plan */
    fv_parallel_ranges(m, n, (int64_t)batch * n->dims[0], min_planes(n), bwd_range);
}

/* ---------------------------------------------------------------- the layer */

/* A size or scales, not both, each on both axes. */
static fv_status interp_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    (void)s;
    const interp_attr *a = attr_of(at);
    bool sized = a->oh || a->ow, scaled = a->sh != 0 || a->sw != 0;
    const char *why = NULL;
    if (sized && scaled)
        why = "give an output size or scales, not both";
    else if (sized && (a->oh < 1 || a->ow < 1))
        why = "the output size needs both axes, each >= 1";
    else if (!sized && !(a->sh > 0 && a->sw > 0 && isfinite(a->sh) && isfinite(a->sw)))
        why = "needs an output size, or scales > 0 and finite on both axes";
    if (!why)
        return FV_OK;
    return fv_err(FV_ERR_INVALID, "layer '%s': %s (size %dx%d, scale %g, %g)", layer, why, a->oh,
                  a->ow, a->sh, a->sw);
}

static const char *const modes[] = {"nearest", "linear", "cubic", NULL};
static const char *const coords[] = {"half_pixel", "pytorch_half_pixel", "align_corners",
                                     "asymmetric", "tf_half_pixel_for_nn", NULL};
static const char *const roundings[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil",
                                        NULL};

static const fv_form interp_forms[] = {{{"resize", "Resize"}, "Resize", 0, NULL, NULL}};
static const fv_field interp_fields[] = {
    {.key = "size", .type = FV_FT_PAIR, .flags = FV_F_OPTIONAL, .lo = 1, .hi = INT_MAX / 2,
     .arg = FV_ARG(a.resize.size), .arg_h = FV_ARG(a.resize.out_h),
     .arg_w = FV_ARG(a.resize.out_w), .attr = AT_INTERP(oh), .attr_w = AT_INTERP(ow),
     .doc = "`N` or `H,W`: the output size (or `scale`)"},
    {.key = "scale", .alias = "scales", .type = FV_FT_RATIO, .flags = FV_F_OPTIONAL | FV_F_LO_OPEN,
     .lo = 0, .hi = INFINITY, .arg = FV_ARG(a.resize.scale), .arg_h = FV_ARG(a.resize.scale_h),
     .arg_w = FV_ARG(a.resize.scale_w), .attr = AT_INTERP(sh), .attr_w = AT_INTERP(sw),
     .doc = "`S` or `SH,SW`, numbers > 0: the output is floor(H SH) x floor(W SW) (or `size`)"},
    {.key = "mode", .type = FV_FT_CHOICE, .words = modes, .arg = FV_ARG(a.resize.mode),
     .attr = AT_INTERP(mode), .doc = "`nearest`, `linear` (bilinear) or `cubic` (bicubic)"},
    {.key = "coord", .alias = "coordinate_transformation_mode", .type = FV_FT_CHOICE,
     .words = coords, .arg = FV_ARG(a.resize.coord), .attr = AT_INTERP(coord),
     .doc = "`half_pixel`, `pytorch_half_pixel`, `align_corners`, `asymmetric` or "
            "`tf_half_pixel_for_nn`: ONNX's coordinate transforms"},
    {.key = "nearest_mode", .type = FV_FT_CHOICE, .words = roundings,
     .arg = FV_ARG(a.resize.nearest_mode), .attr = AT_INTERP(nearest),
     .doc = "`round_prefer_floor`, `round_prefer_ceil`, `floor` or `ceil`: the cell `nearest` "
            "reads"},
    {.key = "cubic_a", .alias = "cubic_coeff_a", .type = FV_FT_FLOAT, .def = -0.75,
     .lo = -INFINITY, .hi = INFINITY, .arg = FV_ARG(a.resize.cubic_a), .attr = AT_INTERP(cubic_a),
     .doc = "finite number, not 0: the cubic kernel's coefficient (-0.5: TensorFlow's)"},
    {.key = "exclude_outside", .type = FV_FT_BOOL, .arg = FV_ARG(a.resize.exclude_outside),
     .attr = AT_INTERP(exclude), .doc = "taps outside the input weigh 0, the others renormalised"},
};
static const fv_schema interp_schema = {
    FV_SCHEMA_TABLES(FV_OP_RESIZE, interp_forms, interp_fields), .finish = interp_finish};

const fv_op_def fv_op_resize_def = {
    .name = "resize", .kind = "Resize", .schema = &interp_schema, .infer = interp_infer,
    .saved_bytes = interp_saved_bytes, .forward = interp_forward, .backward = interp_backward,
};
