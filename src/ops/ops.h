/* ops.h - the op definitions, one per op, gathered into fv_op_table by registry.c. */
#ifndef FV_OPS_H
#define FV_OPS_H

#include "core/internal.h"

extern const fv_op_def fv_op_input_def;
extern const fv_op_def fv_op_conv2d_def;
extern const fv_op_def fv_op_dense_def;
extern const fv_op_def fv_op_maxpool2d_def;
extern const fv_op_def fv_op_avgpool2d_def;
extern const fv_op_def fv_op_relu_def;
extern const fv_op_def fv_op_sigmoid_def;
extern const fv_op_def fv_op_tanh_def;
extern const fv_op_def fv_op_softmax_def;
extern const fv_op_def fv_op_flatten_def;
extern const fv_op_def fv_op_reshape_def;
extern const fv_op_def fv_op_add_def;
extern const fv_op_def fv_op_concat_def;
extern const fv_op_def fv_op_dropout_def;
extern const fv_op_def fv_op_batchnorm_def;
extern const fv_op_def fv_op_softmax_ce_def;
extern const fv_op_def fv_op_mse_def;
extern const fv_op_def fv_op_eltwise_def;
extern const fv_op_def fv_op_loss_def;
extern const fv_op_def fv_op_global_avgpool_def;
extern const fv_op_def fv_op_global_maxpool_def;
extern const fv_op_def fv_op_lrn_def;
extern const fv_op_def fv_op_conv2d_transpose_def;
extern const fv_op_def fv_op_upsample_def;
extern const fv_op_def fv_op_pad_crop_def;
extern const fv_op_def fv_op_group_norm_def;
extern const fv_op_def fv_op_prelu_def;
extern const fv_op_def fv_op_maxout_def;
extern const fv_op_def fv_op_maxunpool_def;
extern const fv_op_def fv_op_lppool_def;

/* Runs fn(m, n, a, b) on contiguous ranges [a, b) of [0, count), one per worker, each at least
 * min_chunk long (parallel.c). For work whose items are independent. */
typedef void (*fv_range_fn)(fv_model *m, fv_node *n, int64_t a, int64_t b);
void fv_parallel_ranges(fv_model *m, fv_node *n, int64_t count, int64_t min_chunk, fv_range_fn fn);

/* Dropout's mask for `count` values: 0 with probability rate, else 1 / (1 - rate) (dropout.c). */
void fv_dropout_mask(fv_rng *r, float rate, float *mask, int64_t count);

#endif
