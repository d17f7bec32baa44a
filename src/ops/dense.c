/* dense.c - the fully connected op: input of any shape, flattened to K = its size per sample;
 * output (units); parameters "weight" (units, K) and optional "bias" (units), PyTorch's layout.
 * per_step (time-distributed: Keras' TimeDistributed(Dense), PyTorch's Linear on (N, T, F)): a
 * sequence (T, F) gets the layer at each step, K = F, output (T, units); the T rows of each
 * sample are then rows of the GEMMs like samples.
 * y = x W^T + b with fv_sgemm (kernels/ref/gemm_ref.h, fv_dense_*); the batch rows (forward,
 * dx) and the units (dW, db) are split across the thread pool, so no reduction is needed. A
 * batch of up to FV_GEMV_MAX_N samples runs forward as dot products over weight rows
 * (kernels/gemv.c: the weights are read once, not packed first), units split across threads. */
#include "kernels/gemv.h"
#include "kernels/kernels.h"
#include "kernels/ref/gemm_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>

static fv_status dense_infer(fv_model *m, fv_node *n)
{
    const fv_dense_attr *a = &n->a.dense;
    if (n->nin != 1)
        return fv_err(FV_ERR_INVALID, "layer '%s': dense takes 1 input, got %d", n->name, n->nin);
    if (a->units < 1)
        return fv_err(FV_ERR_INVALID, "layer '%s': units=%d (must be >= 1)", n->name, a->units);
    const fv_node *x = fv_input_node(m, n, 0);
    if (a->per_step && x->ndim != 2) {
        char xs[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': per_step needs a sequence (steps, features) "
                      "input, got '%s' %s", n->name, x->name, fv_node_shape_str(x, xs, sizeof xs));
    }
    int64_t k = a->per_step ? x->dims[1] : x->size;
    /* fv_sgemm takes int sizes, and the weight matrix must be indexable */
    if (k > INT_MAX || k * a->units > INT_MAX) {
        char xs[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s with %d units is too large "
                      "(weight (%d, %lld))", n->name, x->name, fv_node_shape_str(x, xs, sizeof xs),
                      a->units, a->units, (long long)k);
    }
    n->ndim = a->per_step ? 2 : 1;
    n->dims[0] = a->per_step ? x->dims[0] : a->units;
    n->dims[1] = a->units;
    int64_t wd[2] = {a->units, k};
    FV_TRY(fv_param_declare(m, n, "weight", 2, wd, 1, FV_INIT_GLOROT_UNIFORM, k, a->units));
    if (a->bias) {
        int64_t bd[1] = {a->units};
        FV_TRY(fv_param_declare(m, n, "bias", 1, bd, 1, FV_INIT_ZEROS, 0, 0));
    }
    return FV_OK;
}

/* One worker's share: batch rows [a, b) for y and dx, units [a, b) of dW and db. */
typedef struct dense_job {
    fv_model *m;
    fv_node *n;
    int batch, width, k, units;
} dense_job;

static void forward_task(void *ctx, int t)
{
    dense_job *j = ctx;
    fv_node *n = j->n;
    int64_t a, b;
    fv_split(j->batch, j->width, t, &a, &b);
    const float *bias = n->a.dense.bias ? fv_pdata(j->m, n, 1) : NULL;
    fv_dense_fwd_f32(fv_input_node(j->m, n, 0)->y + a * j->k, fv_pdata(j->m, n, 0), bias,
                     n->y + a * j->units, (int)(b - a), j->k, j->units);
}

/* Few samples: units [a, b) of every sample on worker t, in blocks of 16 units. */
static void rows_task(void *ctx, int t)
{
    dense_job *j = ctx;
    fv_node *n = j->n;
    int64_t a, b, blocks = (j->units + 15) / 16;
    fv_split(blocks, j->width, t, &a, &b);
    a *= 16, b = b * 16 < j->units ? b * 16 : j->units;
    float *y = n->y;
    fv_dense_rows(fv_pdata(j->m, n, 0), fv_input_node(j->m, n, 0)->y, j->batch, j->k, (int)a,
                  (int)b, y, j->units);
    const float *bias = n->a.dense.bias ? fv_pdata(j->m, n, 1) : NULL;
    for (int i = 0; bias && i < j->batch; i++)
        for (int64_t u = a; u < b; u++)
            y[i * j->units + u] += bias[u];
}

/* The GEMMs' rows for a batch: its samples, or with per_step every step of every sample. */
static int dense_rows(const fv_model *m, const fv_node *n, int batch)
{
    return n->a.dense.per_step ? batch * (int)fv_input_node(m, n, 0)->dims[0] : batch;
}

/* K: the values of one row. */
static int dense_k(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    return (int)(n->a.dense.per_step ? x->dims[1] : x->size);
}

static void dense_forward(fv_model *m, fv_node *n, int batch)
{
    batch = dense_rows(m, n, batch);
    dense_job j = {m, n, batch, fv_parallel_width(batch), dense_k(m, n), n->a.dense.units};
    if (batch <= FV_GEMV_MAX_N) {
        j.width = fv_parallel_width((j.units + 15) / 16);
        fv_parallel(j.width, rows_task, &j);
        return;
    }
    fv_parallel(j.width, forward_task, &j);
}

static void backward_task(void *ctx, int t)
{
    dense_job *j = ctx;
    fv_model *m = j->m;
    fv_node *n = j->n;
    const float *x = fv_input_node(m, n, 0)->y, *w = fv_pdata(m, n, 0), *dy = n->dy;
    float *dw = fv_pgrad(m, n, 0), *db = n->a.dense.bias ? fv_pgrad(m, n, 1) : NULL;
    float *dx = fv_input_dy(m, n, 0);
    int64_t u0, u1, r0, r1;
    fv_split(j->units, j->width, t, &u0, &u1);
    fv_split(j->batch, j->width, t, &r0, &r1);
    if (dw && u1 > u0) /* dW[u0:u1] += dy[:, u0:u1]^T x */
        fv_sgemm(1, 0, (int)(u1 - u0), j->k, j->batch, 1, dy + u0, j->units, x, j->k, 1,
                 dw + u0 * j->k, j->k);
    for (int64_t i = 0; db && i < j->batch; i++)
        for (int64_t u = u0; u < u1; u++)
            db[u] += dy[i * j->units + u];
    if (dx && r1 > r0) /* dx[r0:r1] += dy[r0:r1] W (=, when dx is stale) */
        fv_sgemm(0, 0, (int)(r1 - r0), j->k, j->units, 1, dy + r0 * j->units, j->units, w, j->k,
                 fv_input_dy_fresh(m, n, 0) ? 0.0f : 1.0f, dx + r0 * j->k, j->k);
}

static void dense_backward(fv_model *m, fv_node *n, int batch)
{
    batch = dense_rows(m, n, batch);
    int units = n->a.dense.units, width = fv_parallel_width(batch < units ? units : batch);
    dense_job j = {m, n, batch, width, dense_k(m, n), units};
    fv_parallel(j.width, backward_task, &j);
}

/* ---------------------------------------------------------------- the layer */

static const fv_form dense_forms[] = {{{"dense", "Dense"}, "Dense", 0, NULL, NULL}};

static const fv_field dense_fields[] = {
    {.key = "units", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.dense.units), .attr = FV_AT(dense.units), .doc = "positive integer"},
    {.key = "use_bias", .type = FV_FT_BOOL, .flags = FV_F_TEXT_NOT | FV_F_ATTR_NOT,
     .arg = FV_ARG(a.dense.no_bias), .attr = FV_AT(dense.bias), .doc = "`true`/`false`/`1`/`0`"},
    {.key = "l1", .alias = "kernel_l1", .type = FV_FT_REG, .hi = INFINITY,
     .arg = FV_ARG(a.dense.l1), .attr = FV_REG(l1), .doc = "as for `conv2d`, per output unit"},
    {.key = "l2", .alias = "kernel_l2", .type = FV_FT_REG, .hi = INFINITY,
     .arg = FV_ARG(a.dense.l2), .attr = FV_REG(l2), .doc = "as for `conv2d`, per output unit"},
    {.key = "max_norm", .type = FV_FT_REG, .hi = INFINITY, .arg = FV_ARG(a.dense.max_norm),
     .attr = FV_REG(max_norm), .doc = "as for `conv2d`, per output unit", .def_doc = "none"},
    {.key = "activation", .type = FV_FT_ACT, .arg = FV_ARG(a.dense.activation),
     .doc = "as for `conv2d`"},
    {.key = "per_step", .alias = "time_distributed", .type = FV_FT_BOOL,
     .arg = FV_ARG(a.dense.per_step), .attr = FV_AT(dense.per_step),
     .doc = "`true`: a (steps, features) input gets the layer at every step: (steps, units)"},
    FV_INIT_FIELDS_AS_CONV(a.dense),
};

static const fv_schema dense_schema = {FV_SCHEMA_TABLES(FV_OP_DENSE, dense_forms, dense_fields)};

const fv_op_def fv_op_dense_def = {
    .name = "dense", .kind = "Dense", .schema = &dense_schema, .infer = dense_infer,
    .forward = dense_forward, .backward = dense_backward, .overwrites_dx = 1,
};
