/* quant.h - the int8 form of a model's convolutions and dense layers (quant.c, qrun.c): per layer
 * the weights quantized per output channel (symmetric int8, one scale each) and its input's
 * per-tensor uint8 quantization (scale, zero point) from calibration. fv_graph_infer (fuse.c)
 * runs such a layer, with the batch norm, residual addition and ReLU it fuses, as: input
 * quantized to uint8 (im2col straight into the int8 GEMM's packed layout), int8 x uint8 products
 * summed in int32, and an epilogue applying the zero-point correction, the combined scale, the
 * bias (batch norm folded), the residual and the activation, writing float. Every other op runs
 * in float on those dequantized outputs (pooling, additions, softmax). The float weights stay in
 * the model (the int8 values dequantized), so the float path and the file writers keep working. */
#ifndef FV_OPS_QUANT_H
#define FV_OPS_QUANT_H

#include "core/internal.h"
#include "kernels/conv_fast.h"

/* One quantized layer. */
typedef struct fv_qlayer {
    int node;          /* a conv2d (groups 1) or dense node */
    int m, k;          /* outputs; inputs per output (c kh kw, or in features) */
    int8_t *w;         /* m x k, the weight's layout (PyTorch's) */
    float *wscale;     /* m: w_float ~ w * wscale */
    float in_scale;    /* input_float ~ (q - in_zp) * in_scale, q in [0, 255] */
    int in_zp;
    int8_t *packed;    /* w in the GEMM's packed layout */
    int32_t *wsum;     /* m: the sum of each row of w (the zero-point correction) */
} fv_qlayer;

/* Calibration's hook: called by fv_graph_infer before it runs node `node` (a conv2d or dense, on
 * the float path), so its input can be observed. */
typedef void (*fv_quant_observe_fn)(void *ctx, const fv_model *m, int node, int batch);

typedef struct fv_quant {
    int nnodes;
    int *layer_of;     /* per node: index into layers, or -1 */
    fv_qlayer *layers;
    int n, cap;
    unsigned char *scratch; /* the workers' buffers (fv_quant_reserve) */
    size_t scratch_bytes;
    fv_quant_observe_fn observe;
    void *observe_ctx;
} fv_quant;

/* m's quantization record, created (no layer quantized yet) if it has none; NULL when out of
 * memory. */
fv_quant *fv_quant_attach(fv_model *m);
/* Whether node `node` can run in int8: conv2d with one group, or dense (NULL error-free). */
int fv_quant_supported(const fv_model *m, int node);
/* Quantizes node `node` with int8 weights w (m x k) and scales wscale (m), each finite and > 0,
 * its input's in_scale (finite, > 0) and zero point in_zp (0 to 255); the model's float weight
 * becomes w * wscale. Errors name the layer and the bad value. */
fv_status fv_quant_set(fv_model *m, int node, const int8_t *w, const float *wscale,
                       float in_scale, int in_zp);
/* The layer of node `node`, or NULL when it runs in float. */
const fv_qlayer *fv_quant_layer(const fv_model *m, int node);

/* Symmetric per-row int8: scale[i] = max |w_i| / 127 (1 for an all-zero row), q = round(w / s)
 * in [-127, 127]. */
void fv_quant_weights(const float *w, int m, int k, int8_t *q, float *scale);
/* The uint8 quantization of the range [lo, hi] (widened to hold 0): scale (hi - lo) / 255 (1 for
 * an empty range) and the zero point that maps 0 exactly. */
void fv_quant_range(float lo, float hi, float *scale, int *zp);

/* Whether quantized layers run in int8 now: FOVEA_INT8 (read once) "on" always, "off" never (the
 * float path on the dequantized weights), "auto" or unset where the int8 GEMM has a VNNI kernel
 * at the level in force (avx512_vnni, avx_vnni), the level at which it beats fovea's float path
 * (BENCHMARKS.md); fv_quant_policy overrides it (1 on, 0 off, -1 auto). */
int fv_quant_active(void);
void fv_quant_policy(int policy);

/* Runs the chain starting at quantized conv2d or dense node i (as fuse.c's float chain: batch
 * norm, residual addition, ReLU / ReLU6 folded in; e describes them, with e->scale / e->shift
 * the folded batch norm or NULL) into `out`. Returns 0 when it could not (out of memory for its
 * buffers), or when fv_quant_active says no: the caller then runs the float path. */
int fv_quant_run(fv_model *m, int i, int batch, const fv_conv_epilogue *e, float *out);

#endif
