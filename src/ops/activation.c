/* activation.c - the element-wise activation ops (ReLU, sigmoid, tanh) and softmax over the last
 * axis of a sample (Keras' default; for a (classes) vector that is the classes). The output has
 * the input's shape. ReLU's backward reads the input; the others read their own output. ReLU runs
 * the vectorized kernels of kernels/eltwise.c, the others the reference kernels. */
#include "kernels/eltwise.h"
#include "kernels/ref/act_ref.h"
#include "ops/ops.h"

#include <string.h>

static fv_status same_shape(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    return FV_OK;
}

/* Element-wise ops split their values across the workers in chunks of at least 16 Ki. */
#define CHUNK 16384

static void relu_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_relu_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void relu_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    (fv_input_dy_fresh(m, n, 0) ? fv_relu_bwd_set_f32 : fv_relu_bwd_f32)(
        fv_input_node(m, n, 0)->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void sigmoid_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_sigmoid_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void sigmoid_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_sigmoid_bwd_f32(n->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void tanh_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_tanh_fwd_f32(fv_input_node(m, n, 0)->y + a, n->y + a, b - a);
}

static void tanh_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_ref_tanh_bwd_f32(n->y + a, n->dy + a, fv_input_dy(m, n, 0) + a, b - a);
}

static void relu_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, relu_fwd_range);
}

static void relu_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, relu_bwd_range);
}

static void sigmoid_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, sigmoid_fwd_range);
}

static void sigmoid_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, sigmoid_bwd_range);
}

static void tanh_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, n->size * batch, CHUNK, tanh_fwd_range);
}

static void tanh_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, n->size * batch, CHUNK, tanh_bwd_range);
}

static int64_t count(const fv_node *n, int batch)
{
    return n->size * batch;
}

static void softmax_forward(fv_model *m, fv_node *n, int batch)
{
    int64_t k = n->dims[n->ndim - 1];
    fv_ref_softmax_fwd_f32(fv_input_node(m, n, 0)->y, n->y, count(n, batch) / k, k, 1);
}

static void softmax_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    int64_t k = n->dims[n->ndim - 1];
    if (dx)
        fv_ref_softmax_bwd_f32(n->y, n->dy, dx, count(n, batch) / k, k, 1);
}

const fv_op_def fv_op_relu_def = {
    .name = "relu", .kind = "ReLU", .infer = same_shape,
    .forward = relu_forward, .backward = relu_backward, .overwrites_dx = 1,
};
const fv_op_def fv_op_sigmoid_def = {
    .name = "sigmoid", .kind = "Sigmoid", .infer = same_shape,
    .forward = sigmoid_forward, .backward = sigmoid_backward,
};
const fv_op_def fv_op_tanh_def = {
    .name = "tanh", .kind = "Tanh", .infer = same_shape,
    .forward = tanh_forward, .backward = tanh_backward,
};
const fv_op_def fv_op_softmax_def = {
    .name = "softmax", .kind = "Softmax", .infer = same_shape,
    .forward = softmax_forward, .backward = softmax_backward,
};
