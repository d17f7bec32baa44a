/* eltwise.c - the activations beyond ReLU/sigmoid/tanh/softmax as one op whose attributes name
 * the kind (leaky ReLU, ELU, SELU, GELU, SiLU, softplus, hard sigmoid, hard swish, ReLU6, clip)
 * and its parameters (alpha, beta), plus log-softmax over the last axis of a sample. The output has the input's shape; element-wise
 * kinds split their values across the thread pool; ReLU6, leaky ReLU and clip run the
 * vectorized kernels of kernels/eltwise.c, the others the reference. */
#include "kernels/eltwise.h"
#include "kernels/ref/act_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <string.h>

static fv_status eltwise_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int act = n->a.eltwise.act;
    if (act < FV_ACT_LEAKY_RELU || act >= FV_ACT__COUNT)
        return fv_err(FV_ERR_INVALID, "layer '%s': activation %d is not an element-wise kind",
                      n->name, act);
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

static void fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    int act = n->a.eltwise.act;
    float alpha = n->a.eltwise.alpha, beta = n->a.eltwise.beta;
    const float *x = fv_input_node(m, n, 0)->y + a;
    if (!fv_eltwise_fwd_f32(act, alpha, beta, x, n->y + a, b - a))
        fv_ref_eltwise_fwd_f32(act, alpha, beta, x, n->y + a, b - a);
}

static void bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    int act = n->a.eltwise.act;
    float alpha = n->a.eltwise.alpha, beta = n->a.eltwise.beta, *dx = fv_input_dy(m, n, 0) + a;
    const float *x = fv_input_node(m, n, 0)->y + a;
    if (!fv_eltwise_bwd_f32(act, alpha, beta, x, n->dy + a, dx, b - a))
        fv_ref_eltwise_bwd_f32(act, alpha, beta, x, n->y + a, n->dy + a, dx, b - a);
}

static void eltwise_forward(fv_model *m, fv_node *n, int batch)
{
    int64_t k = n->dims[n->ndim - 1], count = n->size * batch;
    if (n->a.eltwise.act == FV_ACT_LOG_SOFTMAX)
        fv_ref_log_softmax_fwd_f32(fv_input_node(m, n, 0)->y, n->y, count / k, k);
    else
        fv_parallel_ranges(m, n, count, 16384, fwd_range);
}

static void eltwise_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    int64_t k = n->dims[n->ndim - 1], count = n->size * batch;
    if (!dx)
        return;
    if (n->a.eltwise.act == FV_ACT_LOG_SOFTMAX)
        fv_ref_log_softmax_bwd_f32(n->y, n->dy, dx, count / k, k);
    else
        fv_parallel_ranges(m, n, count, 16384, bwd_range);
}

const fv_op_def fv_op_eltwise_def = {
    .name = "activation",
    .kind = "Activation",
    .infer = eltwise_infer,
    .forward = eltwise_forward,
    .backward = eltwise_backward,
    .schema = &fv_act_schema, /* the summary's type: the kind's form */
    .flags = FV_OPF_ACT,
};
