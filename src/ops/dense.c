/* dense.c - the fully connected op: input of any shape, flattened to K = its size per sample;
 * output (units); parameters "weight" (units, K) and optional "bias" (units), PyTorch's layout.
 * y = x W^T + b over the whole batch with one fv_sgemm (kernels/ref/gemm_ref.h, fv_dense_*). */
#include "kernels/ref/gemm_ref.h"
#include "ops/ops.h"

#include <limits.h>

static fv_status dense_infer(fv_model *m, fv_node *n)
{
    const fv_dense_attr *a = &n->a.dense;
    if (n->nin != 1)
        return fv_err(FV_ERR_INVALID, "layer '%s': dense takes 1 input, got %d", n->name, n->nin);
    if (a->units < 1)
        return fv_err(FV_ERR_INVALID, "layer '%s': units=%d (must be >= 1)", n->name, a->units);
    const fv_node *x = fv_input_node(m, n, 0);
    int64_t k = x->size;
    /* fv_sgemm takes int sizes, and the weight matrix must be indexable */
    if (k > INT_MAX || k * a->units > INT_MAX) {
        char xs[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s with %d units is too large "
                      "(weight (%d, %lld))", n->name, x->name, fv_node_shape_str(x, xs, sizeof xs),
                      a->units, a->units, (long long)k);
    }
    n->ndim = 1;
    n->dims[0] = a->units;
    int64_t wd[2] = {a->units, k};
    FV_TRY(fv_param_declare(m, n, "weight", 2, wd, 1, FV_INIT_GLOROT_UNIFORM, k, a->units));
    if (a->bias) {
        int64_t bd[1] = {a->units};
        FV_TRY(fv_param_declare(m, n, "bias", 1, bd, 1, FV_INIT_ZEROS, 0, 0));
    }
    return FV_OK;
}

static void dense_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const float *b = n->a.dense.bias ? fv_pdata(m, n, 1) : NULL;
    fv_dense_fwd_f32(x->y, fv_pdata(m, n, 0), b, n->y, batch, (int)x->size, n->a.dense.units);
}

static void dense_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    float *db = n->a.dense.bias ? fv_pgrad(m, n, 1) : NULL;
    fv_dense_bwd_f32(x->y, fv_pdata(m, n, 0), n->dy, fv_input_dy(m, n, 0), fv_pgrad(m, n, 0), db,
                     batch, (int)x->size, n->a.dense.units);
}

const fv_op_def fv_op_dense_def = {
    .name = "dense",
    .kind = "Dense",
    .infer = dense_infer,
    .forward = dense_forward,
    .backward = dense_backward,
};
