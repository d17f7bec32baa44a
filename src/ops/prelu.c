/* prelu.c - PReLU (a learned negative slope per channel, or one shared; parameter "weight" as in
 * PyTorch's PReLU, initialised to 0.25) and Maxout (the maximum over groups of k consecutive
 * channels; the winning piece kept in n->saved for backward). Channels are a sample's first axis. */
#include "kernels/ref/act_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <string.h>

static fv_status prelu_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    int64_t count = n->a.maxout.shared ? 1 : x->dims[0];
    return fv_param_declare(m, n, "weight", 1, &count, 1, FV_INIT_QUARTER, 0, 0);
}

static void prelu_forward(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    fv_ref_prelu_fwd_f32(fv_input_node(m, n, 0)->y, fv_pdata(m, n, 0), n->a.maxout.shared, batch,
                         c, n->size / c, n->y);
}

static void prelu_backward(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    fv_ref_prelu_bwd_f32(fv_input_node(m, n, 0)->y, fv_pdata(m, n, 0), n->a.maxout.shared, batch,
                         c, n->size / c, n->dy, fv_input_dy(m, n, 0), fv_pgrad(m, n, 0));
}

static fv_status maxout_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int k = n->a.maxout.pieces;
    if (k < 2 || x->dims[0] % k) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': maxout with %d pieces needs channels divisible "
                      "by it, got '%s' %s", n->name, k, x->name,
                      fv_node_shape_str(x, s, sizeof s));
    }
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    n->dims[0] = x->dims[0] / k;
    return FV_OK;
}

static size_t maxout_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(int32_t) * (size_t)n->size * (size_t)batch;
}

static void maxout_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    fv_ref_maxout_fwd_f32(x->y, batch, (int)x->dims[0], n->a.maxout.pieces, n->size / n->dims[0],
                          n->y, n->saved);
}

static void maxout_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0);
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_ref_maxout_bwd_f32(n->dy, n->saved, batch, (int)x->dims[0], n->a.maxout.pieces,
                              n->size / n->dims[0], dx);
}

static const fv_form prelu_forms[] = {{{"prelu", "PReLU"}, "PReLU", 0, NULL, NULL}};
static const fv_field prelu_fields[] = {
    {.key = "shared", .type = FV_FT_BOOL, .arg = FV_ARG(a.prelu.shared),
     .attr = FV_AT(maxout.shared), .doc = "`true`: one slope for all channels"},
};
static const fv_schema prelu_schema = {FV_SCHEMA_TABLES(FV_OP_PRELU, prelu_forms, prelu_fields)};
static const fv_form maxout_forms[] = {{{"maxout", "Maxout"}, "Maxout", 0, NULL, NULL}};
static const fv_field maxout_fields[] = {
    {.key = "pieces", .alias = "k", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.prelu.pieces), .attr = FV_AT(maxout.pieces),
     .doc = "positive integer dividing the channels"},
};
static const fv_schema maxout_schema = {
    FV_SCHEMA_TABLES(FV_OP_MAXOUT, maxout_forms, maxout_fields)};

const fv_op_def fv_op_prelu_def = {
    .schema = &prelu_schema,
    .name = "prelu", .kind = "PReLU", .infer = prelu_infer,
    .forward = prelu_forward, .backward = prelu_backward,
};
const fv_op_def fv_op_maxout_def = {
    .schema = &maxout_schema,
    .name = "maxout", .kind = "Maxout", .infer = maxout_infer,
    .saved_bytes = maxout_saved_bytes, .forward = maxout_forward, .backward = maxout_backward,
};
