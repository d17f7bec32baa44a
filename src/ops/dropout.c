/* dropout.c - inverted dropout: in training, each value is kept with probability 1 - rate and
 * scaled by 1 / (1 - rate), the mask drawn from the model's seeded RNG and saved (as the factor,
 * 0 or 1 / (1 - rate)) for backward; in evaluation mode it is the identity. Spatial dropout
 * (SpatialDropout2D, Dropout2d) draws one value per (sample, channel). The scaling runs the
 * vectorized kernels of kernels/eltwise.c. */
#include "kernels/eltwise.h"
#include "ops/ops.h"

#include <math.h>
#include <string.h>

static fv_status dropout_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    char s[96];
    if (n->a.dropout.spatial && x->ndim != 3)
        return fv_err(FV_ERR_SHAPE, "layer '%s': spatial dropout needs a (channels, height, "
                      "width) input, got '%s' %s", n->name, x->name,
                      fv_node_shape_str(x, s, sizeof s));
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

static size_t dropout_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(float) * (size_t)n->size * (size_t)batch;
}

/* The mask for `count` values: 0 with probability rate, else 1 / (1 - rate). fv_rng_uniform(r) <
 * rate, compared in integers: the uniform is k 2^-53 with k = next >> 11, and k 2^-53 < rate
 * exactly when k < ceil(rate 2^53) (scaling by 2^53 is exact), so the draws and the masks are
 * those of the double comparison, without its conversions. */
void fv_dropout_mask(fv_rng *r, float rate, float *mask, int64_t count)
{
    float keep = 1.0f / (1.0f - rate);
    uint64_t limit = (uint64_t)ceil((double)rate * 0x1.0p53);
    for (int64_t i = 0; i < count; i++)
        mask[i] = (fv_rng_next(r) >> 11) < limit ? 0.0f : keep;
}

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
    if (n->a.dropout.spatial) { /* one draw per (sample, channel), spread over its plane */
        int64_t planes = (int64_t)batch * n->dims[0], hw = n->size / n->dims[0];
        fv_dropout_mask(&m->rng, n->a.dropout.rate, mask, planes);
        for (int64_t p = planes - 1; p >= 0; p--) /* backwards: mask[p] is read before overwritten */
            for (int64_t i = hw - 1; i >= 0; i--)
                mask[p * hw + i] = mask[p];
    } else {
        fv_dropout_mask(&m->rng, n->a.dropout.rate, mask, count);
    }
    fv_mul_f32(x, mask, n->y, count);
}

static void dropout_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_mul_acc_f32(n->dy, n->saved, dx, n->size * batch);
}

static const char *dropout_kind(const fv_node *n)
{
    return n->a.dropout.spatial ? "SpatialDropout2D" : "Dropout";
}

const fv_op_def fv_op_dropout_def = {
    .kind_of = dropout_kind,
    .name = "dropout",
    .kind = "Dropout",
    .infer = dropout_infer,
    .saved_bytes = dropout_saved_bytes,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
