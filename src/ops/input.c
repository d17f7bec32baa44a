/* input.c - the input (and loss-target) placeholder node: its y is filled by the caller. */
#include "ops/ops.h"

static fv_status input_infer(fv_model *m, fv_node *n)
{
    (void)m;
    for (int i = 0; i < n->ndim; i++)
        if (n->dims[i] <= 0)
            return fv_err(FV_ERR_SHAPE, "layer '%s': input dimension %d is %lld (must be > 0)",
                          n->name, i, (long long)n->dims[i]);
    return FV_OK;
}

static void input_forward(fv_model *m, fv_node *n, int batch)
{
    (void)m, (void)n, (void)batch; /* data is copied into y before the forward pass */
}

static void input_backward(fv_model *m, fv_node *n, int batch)
{
    (void)m, (void)n, (void)batch; /* dy is the gradient with respect to the input: nothing to pass on */
}

const fv_op_def fv_op_input_def = {
    .name = "input",
    .kind = "InputLayer",
    .infer = input_infer,
    .forward = input_forward,
    .backward = input_backward,
};
