/* layers.c - the public layer functions: each hands its argument struct (and the form it builds)
 * to the generic builder over its op's schema (ops/schema.c), where the defaults, the checks and
 * the text spellings of every argument live. */
#include "core/internal.h"
#include "graph/graph.h"
#include "ops/schema.h"

static const fv_schema *schema_of(fv_op op)
{
    return fv_op_table[op]->schema;
}

static int add1(fv_model *m, fv_op op, int in, fv_spec s)
{
    return fv_layer_add(m, schema_of(op), &in, 1, &s);
}

int fv_input_(fv_model *m, fv_input_args a)
{
    fv_spec s = {.a.input = a, .name = a.name};
    return fv_layer_add(m, schema_of(FV_OP_INPUT), NULL, 0, &s);
}

int fv_conv2d_(fv_model *m, int in, fv_conv2d_args a)
{
    return add1(m, FV_OP_CONV2D, in, (fv_spec){.a.conv2d = a, .name = a.name});
}

int fv_depthwise_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier)
{
    return add1(m, FV_OP_CONV2D, in,
                (fv_spec){.a.conv2d = a, .name = a.name, .form = 1,
                          .multiplier = depth_multiplier});
}

int fv_separable_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier)
{
    return add1(m, FV_OP_CONV2D, in,
                (fv_spec){.a.conv2d = a, .name = a.name, .form = 2,
                          .multiplier = depth_multiplier});
}

int fv_conv2d_transpose_(fv_model *m, int in, fv_conv2d_transpose_args a)
{
    return add1(m, FV_OP_CONV2D_TRANSPOSE, in, (fv_spec){.a.convt = a, .name = a.name});
}

int fv_dense_(fv_model *m, int in, fv_dense_args a)
{
    return add1(m, FV_OP_DENSE, in, (fv_spec){.a.dense = a, .name = a.name});
}

int fv_maxpool2d_(fv_model *m, int in, fv_pool2d_args a)
{
    return add1(m, FV_OP_MAXPOOL2D, in, (fv_spec){.a.pool = a, .name = a.name});
}

int fv_avgpool2d_(fv_model *m, int in, fv_pool2d_args a)
{
    return add1(m, FV_OP_AVGPOOL2D, in, (fv_spec){.a.pool = a, .name = a.name});
}

int fv_lppool2d_(fv_model *m, int in, float p, fv_pool2d_args a)
{
    return add1(m, FV_OP_LPPOOL, in, (fv_spec){.a.pool = a, .name = a.name, .power = p});
}

int fv_maxunpool2d_(fv_model *m, int in, int pool, const char *name)
{
    fv_spec s = {.name = name};
    return fv_layer_add(m, schema_of(FV_OP_MAXUNPOOL), (int[]){in, pool}, 2, &s);
}

int fv_fractional_maxpool2d_(fv_model *m, int in, fv_fracpool_args a)
{
    return add1(m, FV_OP_FRACPOOL, in, (fv_spec){.a.frac = a, .name = a.name});
}

int fv_adaptive_avgpool2d_(fv_model *m, int in, fv_adaptive_args a)
{
    return add1(m, FV_OP_ADAPTIVE_AVGPOOL, in, (fv_spec){.a.adaptive = a, .name = a.name});
}

int fv_global_avgpool2d_(fv_model *m, int in, fv_layer_args a)
{
    return add1(m, FV_OP_GLOBAL_AVGPOOL, in, (fv_spec){.a.layer = a, .name = a.name});
}

int fv_global_maxpool2d_(fv_model *m, int in, fv_layer_args a)
{
    return add1(m, FV_OP_GLOBAL_MAXPOOL, in, (fv_spec){.a.layer = a, .name = a.name});
}

int fv_activation_(fv_model *m, int in, fv_act act, fv_layer_args a)
{
    /* a kind with parameters of its own is checked by its keyword's ranges */
    fv_spec s = {.a.layer = a, .name = a.name, .act = act, .form = fv_act_form(act)};
    return fv_layer_add(m, &fv_act_schema, &in, 1, &s);
}

int fv_clip_(fv_model *m, int in, float min, float max, fv_layer_args a)
{
    a.alpha = min, a.beta = max;
    fv_spec s = {.a.layer = a, .name = a.name, .form = FV_ACT_CLIP};
    return fv_layer_add(m, &fv_act_schema, &in, 1, &s);
}

int fv_flatten_(fv_model *m, int in, fv_layer_args a)
{
    return add1(m, FV_OP_FLATTEN, in, (fv_spec){.a.layer = a, .name = a.name});
}

int fv_reshape_(fv_model *m, int in, fv_reshape_args a)
{
    return add1(m, FV_OP_RESHAPE, in, (fv_spec){.a.reshape = a, .name = a.name});
}

int fv_segment_softmax_(fv_model *m, int in, fv_segment_softmax_args a)
{
    return add1(m, FV_OP_SEGMENT_SOFTMAX, in, (fv_spec){.a.segsoftmax = a, .name = a.name});
}

int fv_add_(fv_model *m, int n, const int *ins, fv_layer_args a)
{
    fv_spec s = {.a.layer = a, .name = a.name};
    return fv_layer_add(m, schema_of(FV_OP_ADD), ins, n, &s);
}

int fv_concat_(fv_model *m, int n, const int *ins, fv_concat_args a)
{
    fv_spec s = {.a.concat = a, .name = a.name};
    return fv_layer_add(m, schema_of(FV_OP_CONCAT), ins, n, &s);
}

int fv_dropout_(fv_model *m, int in, fv_dropout_args a)
{
    return add1(m, FV_OP_DROPOUT, in,
                (fv_spec){.a.dropout = a, .name = a.name, .form = a.spatial != 0});
}

int fv_batchnorm_(fv_model *m, int in, fv_batchnorm_args a)
{
    return add1(m, FV_OP_BATCHNORM, in, (fv_spec){.a.bn = a, .name = a.name});
}

int fv_lrn_(fv_model *m, int in, fv_lrn_args a)
{
    return add1(m, FV_OP_LRN, in, (fv_spec){.a.lrn = a, .name = a.name});
}

int fv_upsample2d_(fv_model *m, int in, fv_upsample_args a)
{
    return add1(m, FV_OP_UPSAMPLE, in, (fv_spec){.a.upsample = a, .name = a.name});
}

/* Forms of the padding op: 0 pads, 1 crops. */
int fv_zero_padding2d_(fv_model *m, int in, fv_pad_args a)
{
    return add1(m, FV_OP_PAD_CROP, in, (fv_spec){.a.pad = a, .name = a.name, .form = 0});
}

int fv_cropping2d_(fv_model *m, int in, fv_pad_args a)
{
    return add1(m, FV_OP_PAD_CROP, in, (fv_spec){.a.pad = a, .name = a.name, .form = 1});
}

int fv_pad2d_(fv_model *m, int in, fv_pad_args a)
{
    return add1(m, FV_OP_PAD_CROP, in, (fv_spec){.a.pad = a, .name = a.name, .form = 2});
}

int fv_resize_(fv_model *m, int in, fv_resize_args a)
{
    return add1(m, FV_OP_RESIZE, in, (fv_spec){.a.resize = a, .name = a.name});
}

/* Forms of the normalization op: 0 group, 1 instance, 2 layer. */
int fv_group_norm_(fv_model *m, int in, fv_norm_args a)
{
    return add1(m, FV_OP_GROUP_NORM, in, (fv_spec){.a.norm = a, .name = a.name, .form = 0});
}

int fv_instance_norm_(fv_model *m, int in, fv_norm_args a)
{
    return add1(m, FV_OP_GROUP_NORM, in, (fv_spec){.a.norm = a, .name = a.name, .form = 1});
}

int fv_layer_norm_(fv_model *m, int in, fv_norm_args a)
{
    return add1(m, FV_OP_GROUP_NORM, in, (fv_spec){.a.norm = a, .name = a.name, .form = 2});
}

int fv_prelu_(fv_model *m, int in, fv_prelu_args a)
{
    return add1(m, FV_OP_PRELU, in, (fv_spec){.a.prelu = a, .name = a.name});
}

int fv_maxout_(fv_model *m, int in, fv_prelu_args a)
{
    return add1(m, FV_OP_MAXOUT, in, (fv_spec){.a.prelu = a, .name = a.name});
}

/* ---------------------------------------------------------------- broadcasting arithmetic */

int fv_binary_(fv_model *m, int a, int b, fv_binary_op op, fv_layer_args args)
{
    fv_spec s = {.name = args.name, .a.binary = {.op = (int)op}};
    return fv_layer_add(m, schema_of(FV_OP_BINARY), (int[]){a, b}, 2, &s);
}

int fv_binary_const_(fv_model *m, int in, fv_binary_op op, int ndim, const int64_t *dims,
                     const float *values, int const_first, fv_layer_args args)
{
    fv_spec s = {.name = args.name,
                 .a.binary = {.op = (int)op, .const_first = const_first != 0, .ndim = 1,
                              .dims = {1}, .values = values}};
    if (ndim < 0 || ndim > 4 || (ndim > 0 && !dims) || !values) {
        if (fv_layer_reads_failure(m, &in, 1))
            return -1;
        fv_err(FV_ERR_INVALID, "layer '%s': a constant needs 0 to 4 axes and its values (got %d "
               "axes%s)", args.name ? args.name : "binary", ndim, values ? "" : ", no values");
        fv_layer_failed(m);
        return -1;
    }
    for (int k = 0; k < ndim; k++) /* 0 axes: a scalar, shape (1) */
        s.a.binary.ndim = ndim, s.a.binary.dims[k] = dims[k];
    return fv_layer_add(m, schema_of(FV_OP_BINARY), &in, 1, &s);
}

/* ---------------------------------------------------------------- spatial transformers */

int fv_affine_grid_(fv_model *m, int theta, fv_sampler_args a)
{
    return add1(m, FV_OP_AFFINE_GRID, theta, (fv_spec){.a.grid = a, .name = a.name});
}

int fv_tps_grid_(fv_model *m, int displacements, fv_sampler_args a)
{
    return add1(m, FV_OP_TPS_GRID, displacements, (fv_spec){.a.grid = a, .name = a.name});
}

int fv_grid_sample_(fv_model *m, int x, int grid, fv_sampler_args a)
{
    fv_spec s = {.a.grid = a, .name = a.name};
    return fv_layer_add(m, schema_of(FV_OP_GRID_SAMPLE), (int[]){x, grid}, 2, &s);
}

/* The form is the cell (simple_rnn's for tanh and ReLU: its nonlinearity argument); h0, c0:
 * -1 when not given; a.lengths: the lengths input comes last (a failed call's -1 fails). */
static int rnn_add(fv_model *m, int x, int h0, int c0, int lengths, fv_rnn_args a)
{
    fv_spec s = {.a.rnn = a, .name = a.name,
                 .form = a.cell == FV_RNN_RELU ? FV_RNN_TANH : (int)a.cell};
    int ins[4] = {x, h0, c0};
    int nin = c0 >= 0 || c0 == FV_LAST ? 3 : h0 >= 0 || h0 == FV_LAST ? 2 : 1;
    if (a.lengths)
        ins[nin++] = lengths;
    return fv_layer_add(m, schema_of(FV_OP_RNN), ins, nin, &s);
}

int fv_rnn_(fv_model *m, int x, fv_rnn_args a)
{
    a.lengths = 0;
    return rnn_add(m, x, -1, -1, -1, a);
}

int fv_rnn_state_(fv_model *m, int x, int h0, int c0, fv_rnn_args a)
{
    a.lengths = 0;
    return rnn_add(m, x, h0, c0, -1, a);
}

int fv_rnn_packed_(fv_model *m, int x, int h0, int c0, int lengths, fv_rnn_args a)
{
    a.lengths = 1;
    return rnn_add(m, x, h0, c0, lengths, a);
}

int fv_embedding_(fv_model *m, int in, fv_embedding_args a)
{
    return add1(m, FV_OP_EMBEDDING, in, (fv_spec){.a.embedding = a, .name = a.name});
}

int fv_spatial_transformer_(fv_model *m, int x, int features, fv_sampler_args a)
{
    fv_spec s = {.a.grid = a, .name = a.name};
    return fv_layer_add(m, schema_of(FV_OP_SPATIAL_TRANSFORMER), (int[]){x, features}, 2, &s);
}
