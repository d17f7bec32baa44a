/* registry.c - the op table, indexed by fv_op; its size is checked against FV_OP__COUNT. */
#include "ops/ops.h"

const fv_op_def *const fv_op_table[] = {
    [FV_OP_INPUT] = &fv_op_input_def,
    [FV_OP_CONV2D] = &fv_op_conv2d_def,
    [FV_OP_DENSE] = &fv_op_dense_def,
    [FV_OP_MAXPOOL2D] = &fv_op_maxpool2d_def,
    [FV_OP_AVGPOOL2D] = &fv_op_avgpool2d_def,
    [FV_OP_RELU] = &fv_op_relu_def,
    [FV_OP_SIGMOID] = &fv_op_sigmoid_def,
    [FV_OP_TANH] = &fv_op_tanh_def,
    [FV_OP_SOFTMAX] = &fv_op_softmax_def,
    [FV_OP_FLATTEN] = &fv_op_flatten_def,
    [FV_OP_RESHAPE] = &fv_op_reshape_def,
    [FV_OP_ADD] = &fv_op_add_def,
    [FV_OP_CONCAT] = &fv_op_concat_def,
    [FV_OP_DROPOUT] = &fv_op_dropout_def,
    [FV_OP_BATCHNORM] = &fv_op_batchnorm_def,
    [FV_OP_SOFTMAX_CE] = &fv_op_softmax_ce_def,
    [FV_OP_MSE] = &fv_op_mse_def,
    [FV_OP_ELTWISE] = &fv_op_eltwise_def,
    [FV_OP_LOSS] = &fv_op_loss_def,
    [FV_OP_GLOBAL_AVGPOOL] = &fv_op_global_avgpool_def,
    [FV_OP_GLOBAL_MAXPOOL] = &fv_op_global_maxpool_def,
    [FV_OP_LRN] = &fv_op_lrn_def,
    [FV_OP_CONV2D_TRANSPOSE] = &fv_op_conv2d_transpose_def,
    [FV_OP_UPSAMPLE] = &fv_op_upsample_def,
    [FV_OP_PAD_CROP] = &fv_op_pad_crop_def,
    [FV_OP_GROUP_NORM] = &fv_op_group_norm_def,
};
_Static_assert(sizeof fv_op_table / sizeof fv_op_table[0] == FV_OP__COUNT,
               "every fv_op needs an entry in fv_op_table");
