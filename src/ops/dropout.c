/* dropout.c - inverted dropout: in training, each value is kept with probability 1 - rate and
 * scaled by 1 / (1 - rate), the mask saved (as the factor, 0 or 1 / (1 - rate)) for backward;
 * in evaluation mode it is the identity. Each forward draws one key from the model's seeded RNG;
 * the mask is the splitmix64 stream of that key, whose values depend on their index alone, so the
 * workers split it and the masks do not depend on the thread count. Spatial dropout
 * (SpatialDropout2D, Dropout2d) draws one value per (sample, channel). The scaling runs the
 * vectorized kernels of kernels/eltwise.c. */
#include "kernels/eltwise.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

static fv_status dropout_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    if (n->a.dropout.spatial)
        FV_TRY(fv_need_chw(n, x, "spatial dropout"));
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

static size_t dropout_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(float) * (size_t)n->size * (size_t)batch;
}

/* 0 with probability rate: the mask's draws are compared in integers (k < ceil(rate 2^53) exactly
 * when the uniform k 2^-53 < rate: scaling by 2^53 is exact). */
static uint64_t drop_limit(float rate) { return (uint64_t)ceil((double)rate * 0x1.0p53); }

/* The mask for `count` values: 0 with probability rate, else 1 / (1 - rate); one draw from r
 * keys the stream (fv_dropout_mask_f32). */
void fv_dropout_mask(fv_rng *r, float rate, float *mask, int64_t count)
{
    fv_dropout_mask_f32(fv_rng_next(r), drop_limit(rate), 1.0f / (1.0f - rate), 0, mask, count);
}

/* A worker's range of the mask and of y. */
static void mask_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    const fv_dropout_attr *d = &n->a.dropout;
    float *mask = n->saved;
    fv_dropout_mask_f32(d->key, drop_limit(d->rate), 1.0f / (1.0f - d->rate), a, mask + a, b - a);
    fv_mul_f32(fv_input_node(m, n, 0)->y + a, mask + a, n->y + a, b - a);
}

/* A worker's range of y, the mask made (spatial dropout's). */
static void scale_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    const float *mask = n->saved;
    fv_mul_f32(fv_input_node(m, n, 0)->y + a, mask + a, n->y + a, b - a);
}

/* Element-wise work splits across the workers in chunks of at least 16 Ki values. */
#define CHUNK 16384

static void dropout_forward(fv_model *m, fv_node *n, int batch)
{
    const float *x = fv_input_node(m, n, 0)->y;
    int64_t count = n->size * batch;
    float *mask = n->saved;
    if (!m->training || n->a.dropout.rate == 0.0f) {
        memcpy(n->y, x, sizeof(float) * (size_t)count);
        for (int64_t i = 0; i < count; i++)
            mask[i] = 1.0f; /* backward of the identity */
        return;
    }
    n->a.dropout.key = fv_rng_next(&m->rng);
    if (!n->a.dropout.spatial) {
        fv_parallel_ranges(m, n, count, CHUNK, mask_range);
        return;
    }
    /* spatial: one draw per (sample, channel), spread over its plane */
    int64_t planes = (int64_t)batch * n->dims[0], hw = n->size / n->dims[0];
    fv_dropout_mask_f32(n->a.dropout.key, drop_limit(n->a.dropout.rate),
                        1.0f / (1.0f - n->a.dropout.rate), 0, mask, planes);
    for (int64_t p = planes - 1; p >= 0; p--) /* backwards: mask[p] is read before overwritten */
        for (int64_t i = hw - 1; i >= 0; i--)
            mask[p * hw + i] = mask[p];
    fv_parallel_ranges(m, n, count, CHUNK, scale_range);
}

static void grad_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    const float *mask = n->saved;
    float *dx = fv_input_dy(m, n, 0);
    (fv_input_dy_fresh(m, n, 0) ? fv_mul_f32 : fv_mul_acc_f32)(n->dy + a, mask + a, dx + a, b - a);
}

static void dropout_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, grad_range);
}

static const fv_form dropout_forms[] = {
    {{"dropout", "Dropout"}, "Dropout", 0, NULL, NULL},
    {{"spatial_dropout2d", "SpatialDropout2D", "Dropout2d"}, "SpatialDropout2D", 1, NULL, NULL},
};
static const fv_field dropout_fields[] = {
    {.key = "rate", .type = FV_FT_FLOAT, .flags = FV_F_REQUIRED | FV_F_HI_OPEN, .lo = 0, .hi = 1,
     .arg = FV_ARG(a.dropout.rate), .attr = FV_AT(dropout.rate),
     .doc = "fraction dropped in training, in [0, 1)"},
};
static const fv_schema dropout_schema = {
    FV_SCHEMA_TABLES(FV_OP_DROPOUT, dropout_forms, dropout_fields),
    .form_attr = FV_AT(dropout.spatial)};

const fv_op_def fv_op_dropout_def = {
    .schema = &dropout_schema, /* the summary's type: the form's (whole channels: spatial) */
    .name = "dropout", .kind = "Dropout", .infer = dropout_infer,
    .saved_bytes = dropout_saved_bytes, .forward = dropout_forward, .backward = dropout_backward,
    .overwrites_dx = 1,
};
