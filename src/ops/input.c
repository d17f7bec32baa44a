/* input.c - the input (and loss-target) placeholder node: its y is filled by the caller. */
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <string.h>

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

/* ---------------------------------------------------------------- the layer */

/* The first input added is the model's input. */
static int input_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    (void)ins, (void)nin;
    int id = fv_graph_add_input(m, s->a.input.ndim, s->a.input.dims, s->name);
    if (id >= 0 && m->input_node < 0)
        m->input_node = id;
    return id;
}

static const char *input_unwrite(const fv_model *m, const fv_node *n, fv_spec *s)
{
    (void)m;
    s->a.input.ndim = n->ndim;
    memcpy(s->a.input.dims, n->dims, sizeof s->a.input.dims);
    return NULL;
}

static const fv_form input_forms[] = {{{"input", "InputLayer"}, "InputLayer", 0, input_add, NULL}};

static const fv_field input_fields[] = {
    {.key = "shape", .alias = "input_shape", .type = FV_FT_SHAPE, .flags = FV_F_REQUIRED, .lo = 1,
     .arg = FV_ARG(a.input.ndim), .arg_h = FV_ARG(a.input.dims),
     .doc = "1 to 4 positive integers: `C,H,W` for images, `N` for vectors"},
};

static const fv_schema input_schema = {FV_SCHEMA_TABLES(FV_OP_INPUT, input_forms, input_fields),
                                       .max_in = -1, .unwrite = input_unwrite};

const fv_op_def fv_op_input_def = {
    .name = "input",
    .kind = "InputLayer",
    .schema = &input_schema,
    .infer = input_infer,
    .forward = input_forward,
    .backward = input_backward,
};
