/* stn.c - the spatial transformer layer (Jaderberg et al. 2015): inputs x (C, H, W) and the
 * localisation network's output f (any shape, F values). The layer's own regression theta =
 * W f + b (weight (T, F) zero and bias the identity at initialisation, as the paper; T = 6 for
 * an affine theta, 2 points^2 TPS displacements with bias zero), then the grid (affine or
 * thin-plate spline) and the sampler over x to the output size (default x's). Backward reaches
 * x, f, W and b. n->saved holds, per sample, theta and the grid (forward's) and the gradients
 * of both (backward's), then the TPS matrix. Samples run in parallel; W's and b's gradients are
 * summed over the samples afterwards in order, so results do not depend on the thread count. */
#include "ops/grid.h"
#include "ops/node.h"
#include "ops/ops.h"

#include <stdio.h>
#include <string.h>

/* Regressed values per sample. */
static int64_t theta_len(const fv_grid_attr *a)
{
    return a->points ? 2 * (int64_t)a->points * a->points : 6;
}

static fv_status stn_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    (void)s;
    fv_grid_attr *a = (fv_grid_attr *)at->raw;
    if ((a->oh == 0) != (a->ow == 0))
        return fv_err(FV_ERR_INVALID, "layer '%s': the output size needs both axes", layer);
    return FV_OK;
}

static fv_status stn_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0), *f = fv_input_node(m, n, 1);
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    FV_TRY(fv_need_chw(n, x, NULL));
    if (f->size > (1 << 24)) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': the localisation features '%s' %s are too "
                      "large (at most %d values)", n->name, f->name,
                      fv_node_shape_str(f, s, sizeof s), 1 << 24);
    }
    n->ndim = 3;
    n->dims[0] = x->dims[0];
    n->dims[1] = a->oh ? a->oh : x->dims[1];
    n->dims[2] = a->ow ? a->ow : x->dims[2];
    if (a->points)
        FV_TRY(fv_tps_check_size(n->name, a->points, n->dims[1], n->dims[2]));
    int64_t t = theta_len(a), wd[2] = {t, f->size};
    FV_TRY(fv_param_declare(m, n, "weight", 2, wd, 1, FV_INIT_ZEROS, f->size, t));
    return fv_param_declare(m, n, "bias", 1, &t, 1,
                            a->points ? FV_INIT_ZEROS : FV_INIT_AFFINE_IDENTITY, 0, 0);
}

/* The layout of n->saved for `batch` samples. */
typedef struct stn_buf {
    double *tps; /* the TPS matrix and work (NULL: affine) */
    float *theta, *grid, *dtheta, *dgrid;
} stn_buf;

static int64_t grid_len(const fv_node *n)
{
    return n->dims[1] * n->dims[2] * 2;
}

static stn_buf buf_of(const fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    size_t tps = a->points ? fv_tps_saved_bytes(a->points, (int)n->dims[1], (int)n->dims[2]) : 0;
    stn_buf b = {.tps = a->points ? n->saved : NULL};
    b.theta = (float *)((char *)n->saved + tps);
    b.grid = b.theta + batch * theta_len(a);
    b.dtheta = b.grid + batch * grid_len(n);
    b.dgrid = b.dtheta + batch * theta_len(a);
    return b;
}

static size_t stn_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    size_t tps = a->points ? fv_tps_saved_bytes(a->points, (int)n->dims[1], (int)n->dims[2]) : 0;
    return tps + sizeof(float) * 2 * (size_t)batch * (size_t)(theta_len(a) + grid_len(n));
}

static fv_grid_geom stn_geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    return (fv_grid_geom){.c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2],
                          .oh = (int)n->dims[1], .ow = (int)n->dims[2], .mode = a->mode,
                          .padding = a->padding, .align = a->align};
}

/* The plan's batch: the saved layout is laid out for it (buffers fit any smaller batch). */
static int plan_batch(const fv_model *m)
{
    return m->plan_batch;
}

/* Sample s's grid into b.grid from its theta (regressed into b.theta). */
static void sample_grid(const fv_model *m, const fv_node *n, const stn_buf *b, int64_t s)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    const fv_node *f = fv_input_node(m, n, 1);
    const float *w = fv_pdata(m, n, 0), *bias = fv_pdata(m, n, 1), *fs = f->y + s * f->size;
    int64_t t = theta_len(a);
    float *th = b->theta + s * t, *grid = b->grid + s * grid_len(n);
    for (int64_t i = 0; i < t; i++) {
        double acc = bias[i];
        for (int64_t k = 0; k < f->size; k++)
            acc += (double)w[i * f->size + k] * fs[k];
        th[i] = (float)acc;
    }
    if (a->points)
        fv_ref_tps_grid_fwd_f32(a->points, n->dims[1] * n->dims[2], b->tps, th, grid);
    else
        fv_ref_affine_grid_fwd_f32((int)n->dims[1], (int)n->dims[2], a->align, th, grid);
}

static void fwd_range(fv_model *m, fv_node *n, int64_t s0, int64_t s1)
{
    stn_buf b = buf_of(n, plan_batch(m));
    fv_grid_geom g = stn_geom(m, n);
    const fv_node *x = fv_input_node(m, n, 0);
    for (int64_t s = s0; s < s1; s++) {
        sample_grid(m, n, &b, s);
        fv_ref_grid_sample_fwd_f32(&g, x->y + s * x->size, b.grid + s * grid_len(n),
                                   n->y + s * n->size);
    }
}

/* Per sample: dx, dgrid, dtheta and the features' gradient (W^T dtheta). */
static void bwd_range(fv_model *m, fv_node *n, int64_t s0, int64_t s1)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    stn_buf b = buf_of(n, plan_batch(m));
    fv_grid_geom g = stn_geom(m, n);
    const fv_node *x = fv_input_node(m, n, 0), *f = fv_input_node(m, n, 1);
    float *dx = fv_input_dy(m, n, 0), *df = fv_input_dy(m, n, 1);
    const float *w = fv_pdata(m, n, 0);
    int64_t t = theta_len(a), gl = grid_len(n);
    for (int64_t s = s0; s < s1; s++) {
        float *dg = b.dgrid + s * gl, *dt = b.dtheta + s * t;
        sample_grid(m, n, &b, s); /* backward need not follow a forward of this batch */
        memset(dg, 0, sizeof(float) * (size_t)gl);
        memset(dt, 0, sizeof(float) * (size_t)t);
        fv_ref_grid_sample_bwd_f32(&g, x->y + s * x->size, b.grid + s * gl, n->dy + s * n->size,
                                   dx ? dx + s * x->size : NULL, dg);
        if (a->points)
            fv_ref_tps_grid_bwd_f32(a->points, n->dims[1] * n->dims[2], b.tps, dg, dt);
        else
            fv_ref_affine_grid_bwd_f32((int)n->dims[1], (int)n->dims[2], a->align, dg, dt);
        for (int64_t k = 0; df && k < f->size; k++) {
            double acc = 0;
            for (int64_t i = 0; i < t; i++)
                acc += (double)w[i * f->size + k] * dt[i];
            df[s * f->size + k] += (float)acc;
        }
    }
}

static void stn_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    if (a->points)
        fv_tps_prepare(n->saved, a->points, (int)n->dims[1], (int)n->dims[2], a->align);
    fv_parallel_ranges(m, n, batch, 1, fwd_range);
}

static void stn_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_grid_attr *a = fv_grid_attr_of(&n->a);
    if (a->points)
        fv_tps_prepare(n->saved, a->points, (int)n->dims[1], (int)n->dims[2], a->align);
    fv_parallel_ranges(m, n, batch, 1, bwd_range);
    float *gw = fv_pgrad(m, n, 0), *gb = fv_pgrad(m, n, 1);
    const fv_node *f = fv_input_node(m, n, 1);
    stn_buf b = buf_of(n, plan_batch(m));
    int64_t t = theta_len(a);
    for (int64_t s = 0; s < batch; s++) {
        const float *dt = b.dtheta + s * t, *fs = f->y + s * f->size;
        for (int64_t i = 0; i < t; i++) {
            if (gb)
                gb[i] += dt[i];
            for (int64_t k = 0; gw && dt[i] != 0 && k < f->size; k++)
                gw[i * f->size + k] += dt[i] * fs[k];
        }
    }
}

/* ---------------------------------------------------------------- the layer */

static const fv_form stn_forms[] = {{{"spatial_transformer", "SpatialTransformer"},
                                     "SpatialTransformer", 0, NULL, NULL}};
static const fv_field stn_fields[] = {
    {.key = "size", .type = FV_FT_PAIR, .flags = FV_F_OPTIONAL, .lo = 1, .hi = 4096,
     .arg = FV_ARG(a.grid.size), .arg_h = FV_ARG(a.grid.out_h), .arg_w = FV_ARG(a.grid.out_w),
     .attr = FV_AT_GRID(oh), .attr_w = FV_AT_GRID(ow), .doc = "`N` or `H,W`: the output size",
     .def_doc = "the input's size"},
    {.key = "points", .type = FV_FT_INT, .flags = FV_F_OPTIONAL, .lo = 2,
     .hi = FV_GRID_POINTS_MAX, .arg = FV_ARG(a.grid.points), .attr = FV_AT_GRID(points),
     .doc = "a thin-plate-spline transformer with points x points control points (absent: "
            "affine)"},
    FV_GRID_FIELD_MODE,
    FV_GRID_FIELD_PADDING,
    FV_GRID_FIELD_ALIGN,
};
static const fv_schema stn_schema = {
    .op = FV_OP_SPATIAL_TRANSFORMER, .forms = stn_forms, .nforms = 1, .fields = stn_fields,
    .nfields = sizeof stn_fields / sizeof stn_fields[0], .min_in = 2, .max_in = 2,
    .finish = stn_finish,
};

const fv_op_def fv_op_spatial_transformer_def = {
    .name = "spatial_transformer", .kind = "SpatialTransformer", .schema = &stn_schema,
    .infer = stn_infer, .saved_bytes = stn_saved_bytes, .forward = stn_forward,
    .backward = stn_backward,
};
