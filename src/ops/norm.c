/* norm.c - global average and max pooling ((C, H, W) -> (C), Keras' GlobalAveragePooling2D and
 * GlobalMaxPooling2D), local response normalization across channels (AlexNet; PyTorch's
 * LocalResponseNorm, which is the course's formula) and group / instance / layer normalization
 * (PyTorch's GroupNorm, InstanceNorm2d(affine=True), LayerNorm over the whole sample). Global max
 * keeps its switches (int32 per output) and LRN its denominators' bases in n->saved. LRN runs
 * kernels/lrn.c forward and the reference backward, both across the thread pool. */
#include "kernels/lrn.h"
#include "kernels/ref/norm_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- global pooling */

static fv_status global_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    FV_TRY(fv_need_chw(n, x, "global pooling"));
    n->ndim = 1;
    n->dims[0] = x->dims[0];
    if (x->dims[1] * x->dims[2] > INT32_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': planes of more than 2^31 values", n->name);
    return FV_OK;
}

static int64_t plane_size(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    return x->dims[1] * x->dims[2];
}

static void gavg_forward(fv_model *m, fv_node *n, int batch)
{
    fv_ref_global_avg_fwd_f32(fv_input_node(m, n, 0)->y, n->y, n->size * batch, plane_size(m, n));
}

static void gavg_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_ref_global_avg_bwd_f32(n->dy, dx, n->size * batch, plane_size(m, n));
}

static size_t gmax_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(int32_t) * (size_t)n->size * (size_t)batch;
}

static void gmax_forward(fv_model *m, fv_node *n, int batch)
{
    fv_ref_global_max_fwd_f32(fv_input_node(m, n, 0)->y, n->y, n->saved, n->size * batch,
                              plane_size(m, n));
}

static void gmax_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_ref_global_max_bwd_f32(n->dy, n->saved, dx, n->size * batch, plane_size(m, n));
}

static const fv_form gavg_forms[] = {
    {{"global_avgpool2d", "GlobalAveragePooling2D"}, "GlobalAveragePooling2D", 0, NULL, NULL}};
static const fv_form gmax_forms[] = {
    {{"global_maxpool2d", "GlobalMaxPooling2D"}, "GlobalMaxPooling2D", 0, NULL, NULL}};
static const fv_schema gavg_schema = {.op = FV_OP_GLOBAL_AVGPOOL, .forms = gavg_forms,
                                      .nforms = 1};
static const fv_schema gmax_schema = {.op = FV_OP_GLOBAL_MAXPOOL, .forms = gmax_forms,
                                      .nforms = 1};

const fv_op_def fv_op_global_avgpool_def = {
    .schema = &gavg_schema,
    .name = "global_avgpool2d", .kind = "GlobalAveragePooling2D", .infer = global_infer,
    .forward = gavg_forward, .backward = gavg_backward,
};
const fv_op_def fv_op_global_maxpool_def = {
    .schema = &gmax_schema,
    .name = "global_maxpool2d", .kind = "GlobalMaxPooling2D", .infer = global_infer,
    .saved_bytes = gmax_saved_bytes, .forward = gmax_forward, .backward = gmax_backward,
};

/* ---------------------------------------------------------------- LRN */

static fv_status lrn_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    FV_TRY(fv_need_chw(n, x, "local response normalization"));
    n->ndim = 3;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

static size_t lrn_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(float) * (size_t)n->size * (size_t)batch;
}

static fv_lrn_geom lrn_geom(const fv_node *n, int batch)
{
    const fv_lrn_attr *a = &n->a.lrn;
    return (fv_lrn_geom){.n = batch, .c = (int)n->dims[0], .size = a->size,
                         .hw = n->dims[1] * n->dims[2], .alpha = a->alpha, .beta = a->beta,
                         .k = a->k};
}

typedef struct lrn_job {
    fv_model *m;
    fv_node *n;
    fv_lrn_geom g;
} lrn_job;

/* Forward: one plane (sample, channel) per task. */
static void lrn_fwd_task(void *ctx, int p)
{
    const lrn_job *j = ctx;
    fv_lrn_fwd_planes_f32(&j->g, fv_input_node(j->m, j->n, 0)->y, j->n->y, j->n->saved, p, p + 1);
}

static void lrn_forward(fv_model *m, fv_node *n, int batch)
{
    lrn_job j = {m, n, lrn_geom(n, batch)};
    fv_parallel(batch * j.g.c, lrn_fwd_task, &j);
}

/* Backward: the reference, one sample per task. */
static void lrn_bwd_task(void *ctx, int s)
{
    const lrn_job *j = ctx;
    fv_lrn_geom g1 = j->g;
    int64_t off = (int64_t)s * g1.c * g1.hw;
    g1.n = 1;
    const float *scale = j->n->saved;
    fv_ref_lrn_bwd_f32(&g1, fv_input_node(j->m, j->n, 0)->y + off, scale + off, j->n->dy + off,
                       fv_input_dy(j->m, j->n, 0) + off);
}

static void lrn_backward(fv_model *m, fv_node *n, int batch)
{
    lrn_job j = {m, n, lrn_geom(n, batch)};
    if (fv_input_dy(m, n, 0))
        fv_parallel(batch, lrn_bwd_task, &j);
}

static const fv_form lrn_forms[] = {
    {{"lrn", "LocalResponseNorm", "LRN"}, "LocalResponseNorm", 0, NULL, NULL}};
static const fv_field lrn_fields[] = {
    {.key = "size", .alias = "depth", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.lrn.size), .attr = FV_AT(lrn.size),
     .doc = "positive integer: the channels in the window"},
    {.key = "alpha", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 1e-4, .lo = 0,
     .hi = INFINITY, .arg = FV_ARG(a.lrn.alpha), .attr = FV_AT(lrn.alpha),
     .doc = "positive number"},
    {.key = "beta", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 0.75, .lo = 0,
     .hi = INFINITY, .arg = FV_ARG(a.lrn.beta), .attr = FV_AT(lrn.beta),
     .doc = "positive number"},
    {.key = "k", .alias = "bias", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 1, .lo = 0,
     .hi = INFINITY, .arg = FV_ARG(a.lrn.k), .attr = FV_AT(lrn.k), .doc = "positive number",
     .def_doc = "1 (AlexNet: 2)"},
};
static const fv_schema lrn_schema = {FV_SCHEMA_TABLES(FV_OP_LRN, lrn_forms, lrn_fields)};

const fv_op_def fv_op_lrn_def = {
    .schema = &lrn_schema,
    .name = "lrn", .kind = "LocalResponseNorm", .infer = lrn_infer,
    .saved_bytes = lrn_saved_bytes, .forward = lrn_forward, .backward = lrn_backward,
};

/* ---------------------------------------------------------------- group / instance / layer norm */

enum { GN_GROUP = 0, GN_INSTANCE, GN_LAYER };

static int gn_groups(const fv_node *n)
{
    return n->a.gnorm.kind == GN_LAYER ? 1
           : n->a.gnorm.kind == GN_INSTANCE ? (int)n->dims[0]
                                            : n->a.gnorm.groups;
}

static fv_status gnorm_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int kind = n->a.gnorm.kind;
    char s[96];
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    if (kind != GN_LAYER && (x->ndim < 2 || x->dims[0] % gn_groups(n) != 0))
        return fv_err(FV_ERR_SHAPE, "layer '%s': needs a (channels, ...) input whose %lld "
                      "channels divide into groups=%d, got '%s' %s", n->name,
                      (long long)x->dims[0], gn_groups(n), x->name,
                      fv_node_shape_str(x, s, sizeof s));
    /* layer norm: a weight and bias per element of the sample; else per channel */
    int pd = kind == GN_LAYER ? x->ndim : 1;
    FV_TRY(fv_param_declare(m, n, "weight", pd, x->dims, 1, FV_INIT_ONES, 0, 0));
    return fv_param_declare(m, n, "bias", pd, x->dims, 1, FV_INIT_ZEROS, 0, 0);
}

static size_t gnorm_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return 2 * sizeof(float) * (size_t)gn_groups(n) * (size_t)batch;
}

static fv_gnorm_geom gnorm_geom(const fv_node *n, int batch)
{
    return (fv_gnorm_geom){.n = batch, .groups = gn_groups(n), .size = n->size,
                           .ablock = n->a.gnorm.kind == GN_LAYER ? 1 : n->size / n->dims[0],
                           .eps = n->a.gnorm.eps};
}

static void gnorm_forward(fv_model *m, fv_node *n, int batch)
{
    fv_gnorm_geom g = gnorm_geom(n, batch);
    float *mean = n->saved, *rstd = mean + (size_t)g.groups * (size_t)batch;
    fv_ref_gnorm_fwd_f32(&g, fv_input_node(m, n, 0)->y, fv_pdata(m, n, 0), fv_pdata(m, n, 1),
                         n->y, mean, rstd);
}

static void gnorm_backward(fv_model *m, fv_node *n, int batch)
{
    fv_gnorm_geom g = gnorm_geom(n, batch);
    float *mean = n->saved, *rstd = mean + (size_t)g.groups * (size_t)batch;
    fv_ref_gnorm_bwd_f32(&g, fv_input_node(m, n, 0)->y, fv_pdata(m, n, 0), mean, rstd, n->dy,
                         fv_input_dy(m, n, 0), fv_pgrad(m, n, 0), fv_pgrad(m, n, 1));
}

static const fv_form gnorm_forms[] = {
    {{"group_norm", "GroupNormalization", "GroupNorm"}, "GroupNormalization", GN_GROUP, NULL, NULL},
    {{"instance_norm", "InstanceNormalization", "InstanceNorm2d"}, "InstanceNormalization",
     GN_INSTANCE, NULL, NULL},
    {{"layer_norm", "LayerNormalization", "LayerNorm"}, "LayerNormalization", GN_LAYER, NULL, NULL},
};
static const fv_field gnorm_fields[] = {
    {.key = "groups", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .forms = FV_FORM(GN_GROUP),
     .lo = 1, .hi = INT_MAX, .arg = FV_ARG(a.norm.groups), .attr = FV_AT(gnorm.groups),
     .doc = "positive integer dividing the channels"},
    {.key = "epsilon", .alias = "eps", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 1e-5,
     .lo = 0, .hi = INFINITY, .arg = FV_ARG(a.norm.eps), .attr = FV_AT(gnorm.eps),
     .doc = "positive number added to the variance"},
};
static const fv_schema gnorm_schema = {
    FV_SCHEMA_TABLES(FV_OP_GROUP_NORM, gnorm_forms, gnorm_fields), .form_attr = FV_AT(gnorm.kind)};

const fv_op_def fv_op_group_norm_def = {
    .name = "norm", .kind = "GroupNormalization", .infer = gnorm_infer,
    .saved_bytes = gnorm_saved_bytes, .forward = gnorm_forward, .backward = gnorm_backward,
    .schema = &gnorm_schema, /* the summary's type: the form's (group, instance or layer) */
};
