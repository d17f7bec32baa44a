/* ops.h - the op definitions, one per op, gathered into fv_op_table by registry.c. */
#ifndef FV_OPS_H
#define FV_OPS_H

#include "core/internal.h"
#include "kernels/conv_fast.h"

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
extern const fv_op_def fv_op_fracpool_def;
extern const fv_op_def fv_op_adaptive_avgpool_def;
extern const fv_op_def fv_op_permute_def;
extern const fv_op_def fv_op_resize_def;
extern const fv_op_def fv_op_binary_def;
extern const fv_op_def fv_op_segment_softmax_def;
extern const fv_op_def fv_op_affine_grid_def;
extern const fv_op_def fv_op_tps_grid_def;
extern const fv_op_def fv_op_grid_sample_def;
extern const fv_op_def fv_op_spatial_transformer_def;
extern const fv_op_def fv_op_pixel_loss_def;
extern const fv_op_def fv_op_rnn_def;
extern const fv_op_def fv_op_embedding_def;

/* Runs fn(m, n, a, b) on contiguous ranges [a, b) of [0, count), one per worker, each at least
 * min_chunk long (parallel.c). For work whose items are independent. */
/* The conv2d node's forward into `out` (its own y, or a fused successor's) with the epilogue
 * (which must include the bias when the layer has one). */
void fv_conv2d_forward_into(fv_model *m, fv_node *n, int batch, const fv_conv_epilogue *e,
                            float *out);
/* Inference forward of nodes [0, upto] (upto = -1: all) in evaluation mode, with a convolution
 * followed by batch norm and / or ReLU (ReLU6) computed as one pass when each is the sole
 * consumer of the one before; the skipped intermediate outputs are then not written (fuse.c). */
void fv_graph_infer(fv_model *m, int batch, int upto);

typedef void (*fv_range_fn)(fv_model *m, fv_node *n, int64_t a, int64_t b);
void fv_parallel_ranges(fv_model *m, fv_node *n, int64_t count, int64_t min_chunk, fv_range_fn fn);

/* Dropout's mask for `count` values: 0 with probability rate, else 1 / (1 - rate) (dropout.c). */
void fv_dropout_mask(fv_rng *r, float rate, float *mask, int64_t count);

/* Fractional max pooling (fracpool.c). Each (sample, channel) plane p has two samples u in [0, 1),
 * u[2p] for the width and u[2p + 1] for the height (PyTorch's _random_samples layout), drawn from
 * the model's RNG in each training forward (0.5 in evaluation), and its region starts rows[0..oh]
 * and cols[0..ow] (one of the sequences below per axis). */

/* PyTorch's window starts for `out` >= 1 windows of size k over `in` cells, in float as PyTorch
 * computes them for float32: a_i = floor((i + u) alpha) - floor(u alpha), alpha =
 * (in - k) / (out - 1), a_{out-1} = in - k; seq[out] = in. */
void fv_fracpool_window_seq(float u, int in, int out, int k, int32_t *seq);
/* Graham's disjoint pseudo-random regions: a_i = ceil(alpha (i + u)) - ceil(alpha u), alpha =
 * in / out (so a_0 = 0), a_out = in, computed exactly in integers; increments 1 or 2 (needs
 * out <= in <= 2 out). */
void fv_fracpool_pseudo_seq(float u, int in, int out, int32_t *seq);
/* Graham's disjoint random regions: in - out increments of 2 and 2 out - in of 1 in an order
 * drawn from r (Fisher-Yates); a_0 = 0, a_out = in. */
void fv_fracpool_random_seq(fv_rng *r, int in, int out, int32_t *seq);
/* Tests: sets the samples (PyTorch's layout) of node `node` for `batch` samples, each in [0, 1),
 * used by every forward (training too) until u NULL or a new plan, which return to drawing. The
 * model must be planned for at least `batch` samples. */
fv_status fv_fracpool_set_samples(fv_model *m, int node, const float *u, int batch);
/* Tests: the samples and region starts of plane p (sample * C + channel) from the last forward;
 * u is -1 where the random kind drew an order instead. */
fv_status fv_fracpool_plane(const fv_model *m, int node, int64_t p, const float **u,
                            const int32_t **rows, const int32_t **cols);

/* The operation of binary node n (FV_OP_BINARY, binary.c): its fv_binary_op; *const_first (if
 * not NULL): whether its constant, parameter 0 of such a node with one input, is the first
 * operand. For writers of other formats (ONNX export). */
int fv_binary_of(const fv_node *n, int *const_first);

/* Size arithmetic on values from model files: the result, or INT64_MAX (INT64_MIN) where it
 * would overflow upward (downward), so a caller's "too large" check refuses it instead of the
 * overflow being undefined. */
static inline int64_t fv_sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (a > 0 ? INT64_MAX : INT64_MIN) : r;
}
static inline int64_t fv_sat_mul(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? ((a < 0) != (b < 0) ? INT64_MIN : INT64_MAX) : r;
}

#endif
