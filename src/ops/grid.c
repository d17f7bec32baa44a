/* grid.c - the grid ops of spatial transformers (PyTorch's F.affine_grid and F.grid_sample,
 * 2-D): affine_grid (theta, 6 values, to an (OH, OW, 2) grid of normalized points), tps_grid
 * (the thin-plate-spline grid of control-point displacements) and grid_sample (x (C, H, W) read
 * at a grid: bilinear or nearest; zeros, border or reflection padding; align_corners), with
 * backward to theta, the displacements, the input and the grid. Their attributes, arguments
 * and text spellings live here; the arithmetic in kernels/ref/grid_ref. Forward and backward
 * run over the samples in parallel. */
#include "ops/grid.h"
#include "ops/node.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

const char *const fv_grid_mode_words[] = {"bilinear", "nearest", NULL};
const char *const fv_grid_padding_words[] = {"zeros", "border", "reflection", NULL};

size_t fv_tps_saved_bytes(int p, int oh, int ow)
{
    size_t k = (size_t)p * (size_t)p;
    return sizeof(double) * ((size_t)oh * (size_t)ow * k + (k + 3) * (2 * k + 3));
}

fv_status fv_tps_check_size(const char *layer, int p, int64_t oh, int64_t ow)
{
    if (oh * ow * p * p <= (1 << 24))
        return FV_OK;
    return fv_err(FV_ERR_SHAPE, "layer '%s': a %lldx%lld grid with %dx%d control points needs "
                  "a TPS matrix of %lld values (at most %d)", layer, (long long)oh, (long long)ow,
                  p, p, (long long)(oh * ow * p * p), 1 << 24);
}

const double *fv_tps_prepare(void *saved, int p, int oh, int ow, int align)
{
    double *mat = saved, *work = mat + (int64_t)oh * ow * p * p;
    fv_tps_matrix(p, oh, ow, align, mat, work); /* p >= 2: distinct points, never singular */
    return mat;
}

/* ---------------------------------------------------------------- affine_grid */

static fv_status affine_grid_infer(fv_model *m, fv_node *n)
{
    const fv_node *t = fv_input_node(m, n, 0);
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    char s[96];
    bool ok = t->size == 6 && (t->ndim == 1 || (t->ndim == 2 && t->dims[0] == 2));
    if (!ok)
        return fv_err(FV_ERR_SHAPE, "layer '%s': theta '%s' %s must be a 2x3 affine matrix: 6 "
                      "values, shape (6) or (2, 3)", n->name, t->name,
                      fv_node_shape_str(t, s, sizeof s));
    n->ndim = 3;
    n->dims[0] = a->oh, n->dims[1] = a->ow, n->dims[2] = 2;
    return FV_OK;
}

static void affine_grid_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    const float *t = fv_input_node(m, n, 0)->y;
    for (int s = 0; s < batch; s++)
        fv_ref_affine_grid_fwd_f32(a->oh, a->ow, a->align, t + 6 * s, n->y + s * n->size);
}

static void affine_grid_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    float *dt = fv_input_dy(m, n, 0);
    for (int s = 0; dt && s < batch; s++)
        fv_ref_affine_grid_bwd_f32(a->oh, a->ow, a->align, n->dy + s * n->size, dt + 6 * s);
}

/* ---------------------------------------------------------------- tps_grid */

static fv_status tps_grid_infer(fv_model *m, fv_node *n)
{
    const fv_node *d = fv_input_node(m, n, 0);
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    char s[96];
    int64_t k = (int64_t)a->points * a->points;
    if (d->size != 2 * k)
        return fv_err(FV_ERR_SHAPE, "layer '%s': the displacements '%s' %s must be %lld values "
                      "((dx, dy) of each of the %dx%d control points)", n->name, d->name,
                      fv_node_shape_str(d, s, sizeof s), (long long)(2 * k), a->points,
                      a->points);
    FV_TRY(fv_tps_check_size(n->name, a->points, a->oh, a->ow));
    n->ndim = 3;
    n->dims[0] = a->oh, n->dims[1] = a->ow, n->dims[2] = 2;
    return FV_OK;
}

static size_t tps_grid_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m, (void)batch;
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    return fv_tps_saved_bytes(a->points, a->oh, a->ow);
}

static void tps_grid_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    const double *mat = fv_tps_prepare(n->saved, a->points, a->oh, a->ow, a->align);
    const fv_node *d = fv_input_node(m, n, 0);
    for (int s = 0; s < batch; s++)
        fv_ref_tps_grid_fwd_f32(a->points, (int64_t)a->oh * a->ow, mat, d->y + s * d->size,
                                n->y + s * n->size);
}

static void tps_grid_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    float *dd = fv_input_dy(m, n, 0);
    if (!dd)
        return;
    const double *mat = fv_tps_prepare(n->saved, a->points, a->oh, a->ow, a->align);
    int64_t k2 = 2 * (int64_t)a->points * a->points;
    for (int s = 0; s < batch; s++)
        fv_ref_tps_grid_bwd_f32(a->points, (int64_t)a->oh * a->ow, mat, n->dy + s * n->size,
                                dd + s * k2);
}

/* ---------------------------------------------------------------- grid_sample */

static fv_status grid_sample_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0), *g = fv_input_node(m, n, 1);
    char s[96];
    FV_TRY(fv_need_chw(n, x, NULL));
    if (g->ndim != 3 || g->dims[2] != 2)
        return fv_err(FV_ERR_SHAPE, "layer '%s': the grid '%s' %s must be (height, width, 2): "
                      "an (x, y) point per output cell", n->name, g->name,
                      fv_node_shape_str(g, s, sizeof s));
    n->ndim = 3;
    n->dims[0] = x->dims[0], n->dims[1] = g->dims[0], n->dims[2] = g->dims[1];
    return FV_OK;
}

static fv_grid_geom sample_geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    return (fv_grid_geom){.c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2],
                          .oh = (int)n->dims[1], .ow = (int)n->dims[2], .mode = a->mode,
                          .padding = a->padding, .align = a->align};
}

static void sample_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_grid_geom g = sample_geom(m, n);
    const fv_node *x = fv_input_node(m, n, 0), *grid = fv_input_node(m, n, 1);
    for (int64_t s = a; s < b; s++)
        fv_ref_grid_sample_fwd_f32(&g, x->y + s * x->size, grid->y + s * grid->size,
                                   n->y + s * n->size);
}

static void sample_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_grid_geom g = sample_geom(m, n);
    const fv_node *x = fv_input_node(m, n, 0), *grid = fv_input_node(m, n, 1);
    float *dx = fv_input_dy(m, n, 0), *dg = fv_input_dy(m, n, 1);
    for (int64_t s = a; s < b; s++)
        fv_ref_grid_sample_bwd_f32(&g, x->y + s * x->size, grid->y + s * grid->size,
                                   n->dy + s * n->size, dx ? dx + s * x->size : NULL,
                                   dg ? dg + s * grid->size : NULL);
}

static void grid_sample_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, batch, 1, sample_fwd_range);
}

static void grid_sample_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0) || fv_input_dy(m, n, 1))
        fv_parallel_ranges(m, n, batch, 1, sample_bwd_range);
}

/* ---------------------------------------------------------------- the layers */

static const fv_form affine_forms[] = {{{"affine_grid", "AffineGrid"}, "AffineGrid", 0, NULL,
                                        NULL}};
static const fv_field affine_fields[] = {FV_GRID_FIELD_SIZE(FV_F_REQUIRED), FV_GRID_FIELD_ALIGN};
static const fv_schema affine_schema = {
    .op = FV_OP_AFFINE_GRID, .forms = affine_forms, .nforms = 1, .fields = affine_fields,
    .nfields = sizeof affine_fields / sizeof affine_fields[0],
};

static const fv_form tps_forms[] = {{{"tps_grid", "TPSGrid"}, "TPSGrid", 0, NULL, NULL}};
static const fv_field tps_fields[] = {
    FV_GRID_FIELD_SIZE(FV_F_REQUIRED),
    {.key = "points", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 2,
     .hi = FV_GRID_POINTS_MAX, .arg = FV_ARG(a.grid.points), .attr = FV_AT_GRID(points),
     .doc = "control points per side, evenly on [-1, 1] (the input: 2 points^2 displacements)"},
    FV_GRID_FIELD_ALIGN,
};
static const fv_schema tps_schema = {
    .op = FV_OP_TPS_GRID, .forms = tps_forms, .nforms = 1, .fields = tps_fields,
    .nfields = sizeof tps_fields / sizeof tps_fields[0],
};

static const fv_form sample_forms[] = {{{"grid_sample", "GridSample"}, "GridSample", 0, NULL,
                                        NULL}};
static const fv_field sample_fields[] = {FV_GRID_FIELD_MODE, FV_GRID_FIELD_PADDING,
                                         FV_GRID_FIELD_ALIGN};
static const fv_schema sample_schema = {
    .op = FV_OP_GRID_SAMPLE, .forms = sample_forms, .nforms = 1, .fields = sample_fields,
    .nfields = sizeof sample_fields / sizeof sample_fields[0], .min_in = 2, .max_in = 2,
};

const fv_op_def fv_op_affine_grid_def = {
    .name = "affine_grid", .kind = "AffineGrid", .schema = &affine_schema,
    .infer = affine_grid_infer, .forward = affine_grid_forward,
    .backward = affine_grid_backward,
};

const fv_op_def fv_op_tps_grid_def = {
    .name = "tps_grid", .kind = "TPSGrid", .schema = &tps_schema, .infer = tps_grid_infer,
    .saved_bytes = tps_grid_saved_bytes, .forward = tps_grid_forward,
    .backward = tps_grid_backward,
};

const fv_op_def fv_op_grid_sample_def = {
    .name = "grid_sample", .kind = "GridSample", .schema = &sample_schema,
    .infer = grid_sample_infer, .forward = grid_sample_forward,
    .backward = grid_sample_backward,
};
