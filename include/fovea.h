/* fovea.h - the one public header of fovea, a deep-learning system for visual recognition.
 *
 * Everything public is prefixed fv_. Functions that can fail return fv_status (or NULL) and leave a
 * one-line message naming the thing and the problem in fv_last_error(). The library never exits.
 *
 * Keyword arguments use designated-initializer macros:
 *     fv_conv2d(m, FV_LAST, .filters = 6, .kernel = 5, .padding = 2, .activation = FV_ACT_RELU);
 * A field left out takes its documented default (0 always means "default").
 */
#ifndef FOVEA_H
#define FOVEA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FV_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum fv_status {
    FV_OK = 0,
    FV_ERR_INVALID, /* bad argument or bad value in a file */
    FV_ERR_SHAPE,   /* shapes do not fit together */
    FV_ERR_IO,      /* a file could not be opened, read or written */
    FV_ERR_FORMAT,  /* a file is malformed (wrong magic, truncated, bad syntax) */
    FV_ERR_NOMEM,   /* out of memory */
    FV_ERR_NUMERIC, /* NaN or Inf where a finite number was needed */
    FV_ERR_STATE,   /* call made in the wrong order (e.g. fit before compile) */
} fv_status;

/* The message of the last error on this thread ("" when none). */
const char *fv_last_error(void);
/* The status name, e.g. "shape error". */
const char *fv_status_name(fv_status s);
/* Clears the last error. */
void fv_clear_error(void);

/* All library memory goes through these; a test can install a failing allocator. NULL restores libc. */
typedef struct fv_allocator {
    void *(*alloc)(size_t size, void *ctx);
    void (*release)(void *ptr, void *ctx);
    void *ctx;
} fv_allocator;
void fv_set_allocator(const fv_allocator *a);

/* ---------------------------------------------------------------- tensors */

#define FV_MAX_DIMS 6

/* float32, row-major (NCHW for images). A view (owns == 0) points into another tensor's data. */
typedef struct fv_tensor {
    int ndim;
    int64_t dims[FV_MAX_DIMS];
    int64_t strides[FV_MAX_DIMS]; /* in elements */
    float *data;
    int owns;
} fv_tensor;

fv_tensor *fv_tensor_new(int ndim, const int64_t *dims); /* zero-filled */
fv_tensor *fv_tensor_new4(int64_t n, int64_t c, int64_t h, int64_t w);
fv_tensor *fv_tensor_clone(const fv_tensor *t);
/* A view of rows [start, start + count) along dim 0 (no copy). */
fv_tensor *fv_tensor_rows(const fv_tensor *t, int64_t start, int64_t count);
/* A view with another shape of the same number of elements (t must be contiguous). */
fv_tensor *fv_tensor_reshape(const fv_tensor *t, int ndim, const int64_t *dims);
void fv_tensor_free(fv_tensor *t);
int64_t fv_tensor_numel(const fv_tensor *t);
int fv_tensor_is_contiguous(const fv_tensor *t);
/* Writes "(2, 3, 4)" into buf. */
const char *fv_shape_str(int ndim, const int64_t *dims, char *buf, size_t len);

/* ---------------------------------------------------------------- threads */

/* Worker threads for every op (the library owns one pool). 0: all cores (the default). Results
 * are deterministic for a fixed thread count. Errors: n < 0 or more than 64. */
fv_status fv_set_num_threads(int n);
int fv_num_threads(void);

/* ---------------------------------------------------------------- instruction sets */

/* The CPU instruction-set level the kernels may use: "generic", "avx2" (AVX2 + FMA), "avx_vnni",
 * "avx512" (AVX-512 F, BW, DQ, VL) or "avx512_vnni"; NULL or "auto": the best this CPU and OS
 * support (the default). A level the CPU lacks is clamped to the best it has below it (no error;
 * fv_isa_name(NULL) tells the level in force). Without a call, FOVEA_ISA in the environment, read
 * at first use, sets it the same way (an unknown name there is ignored). Each kernel family runs
 * its best code at or below the level. Not thread-safe: call it while no model runs. Errors: an
 * unknown name (nothing changes). */
fv_status fv_isa_set(const char *level);
/* family NULL: the level in force; "cpu": the best this CPU supports; a kernel family's name
 * (fv_isa_family): the level its kernels run at now. NULL for an unknown family. */
const char *fv_isa_name(const char *family);
/* The name of kernel family i (from 0), NULL past the last. */
const char *fv_isa_family(int i);
/* The CPU's model name (its CPUID brand string), "unknown CPU" where it has none. */
const char *fv_cpu_name(void);

/* ---------------------------------------------------------------- random numbers */

/* xoshiro256** seeded through splitmix64: the same seed gives the same stream on every machine. */
typedef struct fv_rng {
    uint64_t s[4];
} fv_rng;
void fv_rng_seed(fv_rng *r, uint64_t seed);
uint64_t fv_rng_next(fv_rng *r);
double fv_rng_uniform(fv_rng *r);                  /* [0, 1) */
double fv_rng_normal(fv_rng *r);                   /* mean 0, std 1 */
uint64_t fv_rng_below(fv_rng *r, uint64_t bound); /* [0, bound), unbiased */
void fv_rng_permutation(fv_rng *r, int64_t *idx, int64_t n);

/* ---------------------------------------------------------------- boxes */

/* An axis-aligned box in pixel coordinates, corners (x1, y1) top-left and (x2, y2) bottom-right,
 * continuous as in torchvision and COCO: its width is x2 - x1 (no "+ 1"). A box with x2 < x1 or
 * y2 < y1 is empty (area 0). */
typedef struct fv_box {
    float x1, y1, x2, y2;
} fv_box;
/* max(0, x2 - x1) max(0, y2 - y1), in double. */
double fv_box_area(fv_box b);
/* Intersection over union (torchvision's box_iou): 0 when the union is empty. */
double fv_box_iou(fv_box a, fv_box b);

/* Box operations (boxes.c), as torchvision 0.14 computes them in float32. Counts are >= 0; a
 * negative count, a NULL array with a positive count, or a NaN / infinite coordinate or score is
 * an error naming the function, the argument and the index ("box nms: score 3 is NaN"). */

/* iou[i * nb + j] = fv_box_iou(a[i], b[j]) for every pair (torchvision.ops.box_iou). */
fv_status fv_box_iou_matrix(const fv_box *a, int na, const fv_box *b, int nb, float *iou);
/* Greedy non-maximum suppression (torchvision.ops.nms): boxes visited by score, highest first,
 * equal scores by index (a stable sort, as torchvision's); each box not yet suppressed is kept and
 * suppresses the later boxes whose IoU (float) is > iou_threshold (double, as torchvision
 * compares). keep (room for n) receives the kept indices in that order, *nkeep their count.
 * Empty boxes have area 0 (torchvision's arithmetic makes inverted ones negative). */
fv_status fv_box_nms(const fv_box *boxes, const float *scores, int n, double iou_threshold,
                     int *keep, int *nkeep);
/* NMS within each class (torchvision.ops.batched_nms): a box only suppresses boxes of its own
 * class (classes[i] >= 0); the kept indices of all classes by score, highest first (equal scores
 * by index), cut to the first top_k (<= 0: all; Faster R-CNN's detections_per_img). */
fv_status fv_box_batched_nms(const fv_box *boxes, const float *scores, const int *classes, int n,
                             double iou_threshold, int top_k, int *keep, int *nkeep);

/* The R-CNN box parameterization (torchvision's BoxCoder; Girshick et al. 2014, appendix C):
 * a box t against a reference box r (an anchor or a proposal) with widths w, heights h and
 * centres (x, y) = (x1 + w / 2, y1 + h / 2) is
 *   dx = wx (x_t - x_r) / w_r, dy = wy (y_t - y_r) / h_r,
 *   dw = ww log(w_t / w_r), dh = wh log(h_t / h_r).
 * weights NULL: (1, 1, 1, 1) (the RPN's); Fast / Faster R-CNN's heads use (10, 10, 5, 5). */
#define FV_BOX_XFORM_CLIP 4.135166556742356 /* log(1000 / 16): decode's cap on dw / wh, dh / wh */
/* deltas[4 i .. 4 i + 3] = (dx, dy, dw, dh) of targets[i] against refs[i]; both must have
 * positive width and height (an error names the box otherwise). */
fv_status fv_box_encode(const fv_box *targets, const fv_box *refs, int n, const float *weights,
                        float *deltas);
/* The inverse: out[i] from deltas[4 i ..] against refs[i], dw / ww and dh / wh first capped at
 * FV_BOX_XFORM_CLIP (torchvision's clamp, so exp cannot overflow). Degenerate references are
 * allowed (their boxes are degenerate too), as in torchvision. */
fv_status fv_box_decode(const float *deltas, const fv_box *refs, int n, const float *weights,
                        fv_box *out);
/* Clamps x to [0, width] and y to [0, height] in place (torchvision's clip_boxes_to_image). */
fv_status fv_box_clip(fv_box *boxes, int n, float width, float height);
/* keep (room for n) receives, in order, the indices of the boxes with width >= min_size and
 * height >= min_size (torchvision's remove_small_boxes); *nkeep their count. */
fv_status fv_box_remove_small(const fv_box *boxes, int n, float min_size, int *keep, int *nkeep);
/* Faster R-CNN's anchors for one feature map (torchvision's AnchorGenerator): per cell (row i,
 * column j) of a grid_h x grid_w map, centred on (j stride_w, i stride_h), one box per aspect
 * ratio r (height / width) and size s, ratio-major: width s / sqrt(r), height s sqrt(r), the
 * zero-centred corners +-half of those rounded half to even (torch.round). torchvision's stride
 * is image size / grid size in integers. out receives grid_h grid_w nratios nsizes boxes, cell
 * by cell in row-major order. */
fv_status fv_box_anchors(const float *sizes, int nsizes, const float *ratios, int nratios,
                         int grid_h, int grid_w, int stride_h, int stride_w, fv_box *out);

/* RoI pooling over a batch of feature maps (ops/roi.c; torchvision.ops.roi_pool / roi_align).
 * x holds n maps of (c, h, w); rois[5 k .. 5 k + 4] = (batch index, x1, y1, x2, y2) in image
 * coordinates, scaled by spatial_scale onto the map; y receives (k, c, out_h, out_w), so the
 * RoIs are the batch of the head that follows. These run outside the graph, between a backbone
 * model (images -> feature maps) and a head model planned for k samples: fovea's graph plans one
 * batch size for all its nodes, and a RoI layer changes it (images -> RoIs). Forward is threaded
 * over RoIs, backward over channels (so no two workers add into one dx value); results do not
 * depend on the thread count. A coordinate times spatial_scale must lie within
 * 1024 + 8 max(h, w) cells of the origin (farther, the RoI is a bad box that samples only zeros).
 * The functions allocate a small per-worker workspace (out of memory is an error). */
typedef struct fv_roi_spec {
    int n, c, h, w;      /* the feature maps */
    int k;               /* RoIs (0 is allowed: nothing to do) */
    int out_h, out_w;    /* the output grid per RoI, >= 1 */
    float spatial_scale; /* map cells per image pixel, > 0 (1/16 for VGG16's conv5) */
    int sampling_ratio;  /* roi_align: samples per bin side; <= 0: ceil(RoI side / grid) */
    int aligned;         /* roi_align: pixel centres at +0.5 (shift the RoI by -0.5 cells) */
} fv_roi_spec;
/* Fast R-CNN's RoI max pooling: corners rounded to cells (half away from zero), the RoI
 * max(1, x2 - x1 + 1) cells wide, bin j covering [floor(j bw), ceil((j + 1) bw)) of it; an empty
 * bin is 0. argmax (NULL: not kept) receives, per output value, the cell (row h + column) the
 * maximum came from, -1 for an empty bin: what the backward pass needs. A batch index must be an
 * integer in [0, n) and every coordinate finite. */
fv_status fv_roi_pool(const fv_roi_spec *s, const float *x, const float *rois, float *y,
                      int32_t *argmax);
/* dx (n, c, h, w) += dy routed to the argmax of each bin. */
fv_status fv_roi_pool_backward(const fv_roi_spec *s, const float *dy, const float *rois,
                               const int32_t *argmax, float *dx);
/* Mask R-CNN's RoI align: each bin the mean of sampling_ratio^2 bilinear samples at regular
 * points, no rounding of the RoI (with aligned = 0 a RoI is at least 1 cell a side). */
fv_status fv_roi_align(const fv_roi_spec *s, const float *x, const float *rois, float *y);
/* dx += the bilinear adjoint of dy. */
fv_status fv_roi_align_backward(const fv_roi_spec *s, const float *dy, const float *rois,
                                float *dx);

/* ---------------------------------------------------------------- region proposals */

/* Felzenszwalb-Huttenlocher graph segmentation (IJCV 2004) of img, (C, H, W) or (1, C, H, W),
 * values as given: each channel smoothed by a Gaussian of sigma (0: not), the 8-connected grid
 * graph weighted by the Euclidean distance of pixel values, edges taken by increasing weight and
 * two components joined when the weight is at most both's Int(C) + k / |C|, then components under
 * min_size pixels joined along the edges in the same order. *labels (free() it) gets H x W component
 * numbers 0 .. *n - 1, numbered in raster order of their first pixel. */
fv_status fv_segment_graph(const fv_tensor *img, double sigma, double k, int min_size,
                           int32_t **labels, int *n);

/* Selective search (Uijlings et al., IJCV 2013) strategies: one colour space (HSV), one k and all
 * four similarities; Fast: HSV and Lab x 3 k x {colour+texture+size+fill, texture+size+fill};
 * Quality: HSV, Lab, gray, hue and rgI x 3 k x {those two, fill, size}. */
typedef enum fv_proposal_mode {
    FV_PROPOSALS_FAST,
    FV_PROPOSALS_QUALITY,
    FV_PROPOSALS_SINGLE
} fv_proposal_mode;
typedef struct fv_ss_args {
    int _;
    fv_proposal_mode mode; /* default Fast; a zero below takes the default (OpenCV ximgproc's) */
    double base_k, inc_k;  /* FH's k: base_k + i inc_k, i = 0, 1, 2 (default 150, 150) */
    double sigma;          /* FH's smoothing (default 0.8) */
    int min_size;          /* FH's smallest region in pixels (default 100) */
    uint64_t seed;         /* the ranking's random numbers */
    void (*progress)(void *ctx, int done, int total); /* after each grouping run, or NULL */
    void *ctx;
} fv_ss_args;
/* Region proposals of an RGB or gray image in [0, 1] ((C, H, W) or (1, C, H, W)): the FH regions
 * of each colour space and k grouped greedily by the summed similarities (colour and texture
 * histogram intersection, size, fill) into a hierarchy, every region's box ranked by its
 * position from the top (1: the whole image) times a uniform random number, ascending, each box
 * once. *boxes (free() them) gets *n boxes in pixels, continuous corners, best first. */
fv_status fv_selective_search_(const fv_tensor *img, fv_box **boxes, int64_t *n, fv_ss_args a);
#define fv_selective_search(img, boxes, n, ...) \
    fv_selective_search_((img), (boxes), (n), (fv_ss_args){._ = 0, __VA_ARGS__})
/* Boxes saved best first, by path's extension: .csv (rank,x1,y1,x2,y2, rank from 1) or .json
 * ({"count": N, "boxes": [[x1, y1, x2, y2], ...]}), written atomically. */
fv_status fv_proposals_save(const char *path, const fv_box *boxes, int64_t n);
/* An overlay PNG of img ([0, 1], (C, H, W) or (1, C, H, W)) with boxes[0 .. n) outlined, the
 * first ones on top, each in a colour of the series palette (atomic). */
fv_status fv_draw_proposals(const char *path, const fv_tensor *img, const fv_box *boxes,
                            int64_t n);

/* ---------------------------------------------------------------- models and layers */

typedef struct fv_model fv_model;

/* Layer functions take the node they read (FV_LAST: the node added last, as in Keras Sequential)
 * and return the new node's id, or -1 on error (see fv_last_error). Shapes are inferred and checked
 * as each node is added: a mismatch names the layer and both shapes. The first error wins: after
 * a failed call, a call reading its result (-1, or FV_LAST) fails with the same error, and
 * fv_model_compile returns it, so a chain of calls can be checked once at the end. */
#define FV_LAST (-2)

typedef enum fv_act {
    FV_ACT_NONE = 0,
    FV_ACT_RELU,
    FV_ACT_SIGMOID,
    FV_ACT_TANH,
    FV_ACT_SOFTMAX,
    FV_ACT_LEAKY_RELU,   /* x > 0 ? x : alpha x (alpha: the layer's alpha, default 0.01) */
    FV_ACT_ELU,          /* x > 0 ? x : alpha (e^x - 1), alpha default 1 */
    FV_ACT_SELU,         /* gamma (x > 0 ? x : alpha (e^x - 1)), alpha 1.6733, gamma 1.0507
                          * (Klambauer et al.; the layer's alpha and beta = gamma) */
    FV_ACT_GELU,         /* x Phi(x), the exact (erf) form */
    FV_ACT_SILU,         /* x sigmoid(x), also called swish */
    FV_ACT_SOFTPLUS,     /* log(1 + e^x), x itself above 20 (PyTorch's threshold) */
    FV_ACT_HARD_SIGMOID, /* clamp(alpha x + beta, 0, 1), alpha 1/6 and beta 1/2 by default
                          * (PyTorch's; ONNX HardSigmoid with its own) */
    FV_ACT_HARD_SWISH,   /* x hard_sigmoid(x) */
    FV_ACT_RELU6,        /* clamp(x, 0, 6) */
    FV_ACT_LOG_SOFTMAX,  /* x - log(sum e^x) over the last axis */
    FV_ACT_CLIP,         /* min(max(x, alpha), beta): clamp to [min, max] (fv_clip), all max
                          * when min > max (PyTorch's clamp, ONNX Clip) */
    FV_ACT__COUNT
} fv_act;
/* "relu" -> FV_ACT_RELU; returns -1 if unknown. */
int fv_act_from_name(const char *name);
const char *fv_act_name(fv_act a);

/* Weight initializers of conv2d, depthwise/separable conv2d, conv2d_transpose and dense (their
 * args' init / bias_init; the text format's init= / bias_init=), drawn at compile from the
 * model's seeded stream (fv_compile_args.seed). fan_in and fan_out are PyTorch's
 * (_calculate_fan_in_and_fan_out): for a weight (out, in, kh, kw) fan_in = in kh kw and fan_out =
 * out kh kw; conv2d's "in" is C / groups, conv2d_transpose's weight is (C, filters / groups, kh,
 * kw), so its fan_in = filters / groups kh kw. `fan` is fan_in, or fan_out with init_fan_out.
 * The Keras names of normal initializers (glorot_normal, he_normal, lecun_normal) are Keras'
 * truncated normals: N(0, s^2) redrawn outside [-2 s, 2 s] with s = std / 0.87962566103423978,
 * so the variance is std^2; PyTorch's names (xavier_normal, kaiming_normal) are plain normals. */
typedef enum fv_init {
    FV_INIT_DEFAULT = 0,    /* the layer's own: glorot_uniform weights, zero biases */
    FV_INIT_GLOROT_UNIFORM, /* U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)) (xavier_uniform) */
    FV_INIT_GLOROT_NORMAL,  /* Keras: truncated, std = gain sqrt(2 / (fan_in + fan_out)) */
    FV_INIT_XAVIER_NORMAL,  /* PyTorch: N(0, std^2), std = gain sqrt(2 / (fan_in + fan_out)) */
    FV_INIT_HE_UNIFORM,     /* U(-a, a), a = sqrt(6 / fan) (kaiming_uniform, relu gain) */
    FV_INIT_HE_NORMAL,      /* Keras: truncated, std = sqrt(2 / fan) */
    FV_INIT_KAIMING_NORMAL, /* PyTorch: N(0, std^2), std = sqrt(2 / fan) */
    FV_INIT_LECUN_UNIFORM,  /* U(-a, a), a = sqrt(3 / fan) */
    FV_INIT_LECUN_NORMAL,   /* Keras: truncated, std = sqrt(1 / fan) */
    FV_INIT_ORTHOGONAL,     /* PyTorch's orthogonal_: the weight as (out, numel / out) has
                             * orthonormal rows (or columns, if taller than wide) times gain */
    FV_INIT_ZEROS,
    FV_INIT_ONES,
    FV_INIT_CONSTANT,       /* every value init_value (bias_value for a bias) */
    FV_INIT_BILINEAR,       /* a (C, C', kh, kw) weight that upsamples bilinearly: channel i to
                             * channel i the kernel (1 - |y - cy| / fy)(1 - |x - cx| / fx), f =
                             * ceil(k / 2), c = f - 1 (k odd) or f - 0.5, other pairs 0 (FCN's
                             * transposed-convolution initialisation) */
    FV_INIT__COUNT,
    FV_INIT_XAVIER_UNIFORM = FV_INIT_GLOROT_UNIFORM,
    FV_INIT_KAIMING_UNIFORM = FV_INIT_HE_UNIFORM,
} fv_init;
/* "he_normal" -> FV_INIT_HE_NORMAL (ASCII case-insensitive; xavier_uniform and kaiming_uniform
 * too); -1 if unknown. */
int fv_init_from_name(const char *name);
/* The text format's name of k ("default" for FV_INIT_DEFAULT, NULL out of range). */
const char *fv_init_name(fv_init k);

fv_model *fv_model_new(const char *name);
void fv_model_free(fv_model *m);
const char *fv_model_name(const fv_model *m);

/* Input of one sample's shape (C, H, W) or (features): ndim 1..4. */
typedef struct fv_input_args {
    int _;
    int ndim;
    int64_t dims[4];
    const char *name;
} fv_input_args;
int fv_input_(fv_model *m, fv_input_args a);
#define fv_input(m, ...) fv_input_((m), (fv_input_args){._ = 0, __VA_ARGS__})

typedef struct fv_conv2d_args {
    int _;
    int filters;          /* output channels (required) */
    int kernel;           /* square kernel; or kernel_h / kernel_w */
    int kernel_h, kernel_w;
    int stride;           /* default 1 */
    int padding;          /* zero padding on each side, default 0 */
    int same;             /* 1: Keras padding="same" (stride 1, odd kernel) */
    int dilation;         /* default 1 */
    int groups;           /* default 1 */
    int no_bias;          /* 1: no bias (Keras use_bias=False) */
    fv_act activation;
    const char *name;
    float l1, l2;         /* kernel regularizer: penalty l1 sum|w| + l2 sum w^2 (Keras') */
    float max_norm;       /* kernel constraint: each filter's weight norm at most this */
    /* initializers (fv_init): the weight's (default glorot_uniform) and the bias's (default,
     * zeros, ones or constant); init_value / bias_value: FV_INIT_CONSTANT's value (finite);
     * init_gain: the glorot / xavier / orthogonal gain (> 0, default 1); init_fan_out: he,
     * kaiming and lecun scale by fan_out (PyTorch's mode="fan_out"). */
    fv_init init, bias_init;
    float init_value, bias_value, init_gain;
    int init_fan_out;
} fv_conv2d_args;
int fv_conv2d_(fv_model *m, int in, fv_conv2d_args a);
#define fv_conv2d(m, in, ...) fv_conv2d_((m), (in), (fv_conv2d_args){._ = 0, __VA_ARGS__})

/* Depthwise convolution (Keras DepthwiseConv2D, MobileNet): one kernel per input channel and
 * depth_multiplier outputs per channel, i.e. conv2d with groups = channels. Separable convolution
 * (Keras SeparableConv2D): a depthwise convolution without bias ("<name>_dw") then a 1x1
 * convolution to `filters` ("<name>_pw", with the bias and the activation); returns the last node.
 * Uses fv_conv2d_args: filters (separable only), kernel, stride, padding/same, dilation, no_bias,
 * activation, name and the initializers (separable: the weight's for both convolutions, the
 * bias's for the 1x1 one); depth_multiplier defaults to 1. */
int fv_depthwise_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier);
int fv_separable_conv2d_(fv_model *m, int in, fv_conv2d_args a, int depth_multiplier);
#define fv_depthwise_conv2d(m, in, mult, ...) \
    fv_depthwise_conv2d_((m), (in), (fv_conv2d_args){._ = 0, __VA_ARGS__}, (mult))
#define fv_separable_conv2d(m, in, mult, ...) \
    fv_separable_conv2d_((m), (in), (fv_conv2d_args){._ = 0, __VA_ARGS__}, (mult))

/* Transposed convolution (PyTorch's ConvTranspose2d, Keras' Conv2DTranspose): output extent
 * (in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1; weight
 * (C_in, filters / groups, kh, kw) as in PyTorch. Same arguments as conv2d (same is not
 * supported) plus output_padding (< stride or dilation). */
typedef struct fv_conv2d_transpose_args {
    int _;
    int filters, kernel, kernel_h, kernel_w, stride, padding, output_padding, dilation, groups;
    int no_bias;
    fv_act activation;
    const char *name;
    fv_init init, bias_init; /* initializers and their settings, as for conv2d */
    float init_value, bias_value, init_gain;
    int init_fan_out;
    int stride_h, stride_w;                 /* per axis, instead of stride */
    int output_padding_h, output_padding_w; /* per axis, instead of output_padding */
} fv_conv2d_transpose_args;
int fv_conv2d_transpose_(fv_model *m, int in, fv_conv2d_transpose_args a);
#define fv_conv2d_transpose(m, in, ...) \
    fv_conv2d_transpose_((m), (in), (fv_conv2d_transpose_args){._ = 0, __VA_ARGS__})

/* Upsampling by integer factors (Keras UpSampling2D, PyTorch Upsample with scale_factor):
 * nearest (default) or bilinear with half-pixel centres (align_corners=False). */
typedef struct fv_upsample_args {
    int _;
    int size;             /* both factors (default 2); or size_h / size_w */
    int size_h, size_w;
    int bilinear;
    const char *name;
} fv_upsample_args;
int fv_upsample2d_(fv_model *m, int in, fv_upsample_args a);
#define fv_upsample2d(m, in, ...) fv_upsample2d_((m), (in), (fv_upsample_args){._ = 0, __VA_ARGS__})

/* Zero padding (Keras ZeroPadding2D) and cropping (Cropping2D) of the height and width: `all`
 * for every side, or per side. fv_pad2d (ONNX Pad, PyTorch F.pad / ConstantPad2d /
 * ReflectionPad2d / ReplicationPad2d) pads each side by its count with a mode: constant (`value`),
 * reflect (mirrored about the edge cell, so a side's pad is at most the extent - 1) or edge (the
 * edge cell repeated); a negative count crops that side first (ONNX: the crop, then the padding
 * of what is left). mode and value apply to fv_pad2d only. */
typedef enum fv_pad_mode { FV_PAD_CONSTANT = 0, FV_PAD_REFLECT, FV_PAD_EDGE } fv_pad_mode;
typedef struct fv_pad_args {
    int _;
    int all, top, bottom, left, right;
    const char *name;
    fv_pad_mode mode; /* fv_pad2d */
    float value;      /* fv_pad2d, FV_PAD_CONSTANT: the padding's value (default 0) */
} fv_pad_args;
int fv_zero_padding2d_(fv_model *m, int in, fv_pad_args a);
int fv_cropping2d_(fv_model *m, int in, fv_pad_args a);
int fv_pad2d_(fv_model *m, int in, fv_pad_args a);
#define fv_zero_padding2d(m, in, ...) \
    fv_zero_padding2d_((m), (in), (fv_pad_args){._ = 0, __VA_ARGS__})
#define fv_cropping2d(m, in, ...) fv_cropping2d_((m), (in), (fv_pad_args){._ = 0, __VA_ARGS__})
#define fv_pad2d(m, in, ...) fv_pad2d_((m), (in), (fv_pad_args){._ = 0, __VA_ARGS__})

/* Resizing of the height and width with ONNX Resize's semantics (opsets 10-13; PyTorch's
 * F.interpolate): the output is out_h x out_w (`size`: both), or floor(H scale_h) x
 * floor(W scale_w) (`scale`: both; any number > 0); one of the two must be given. Each output
 * coordinate x maps to an input coordinate by `coord`, with scale = output / input extent where a
 * size is given, else the scale given:
 *   half_pixel (default)   (x + 0.5) / scale - 0.5     (PyTorch align_corners=False)
 *   pytorch_half_pixel     as half_pixel, but 0 where the output extent is 1
 *   align_corners          x (in - 1) / (out - 1), 0 where out is 1 (align_corners=True)
 *   asymmetric             x / scale                    (PyTorch's legacy nearest)
 *   tf_half_pixel_for_nn   (x + 0.5) / scale            (ONNX opset 11)
 * and the value there is interpolated by `mode`: nearest (the input cell nearest_mode picks),
 * linear (bilinear) or cubic (Keys' bicubic with coefficient cubic_a, default -0.75; PyTorch's
 * bicubic). Cells outside the input read the edge cell, or with exclude_outside weigh 0 and the
 * other weights are renormalised. Backward is the adjoint of the interpolation. */
typedef enum fv_resize_mode { FV_RESIZE_NEAREST = 0, FV_RESIZE_LINEAR, FV_RESIZE_CUBIC } fv_resize_mode;
typedef enum fv_resize_coord {
    FV_COORD_HALF_PIXEL = 0,
    FV_COORD_PYTORCH_HALF_PIXEL,
    FV_COORD_ALIGN_CORNERS,
    FV_COORD_ASYMMETRIC,
    FV_COORD_TF_HALF_PIXEL_FOR_NN,
} fv_resize_coord;
typedef enum fv_nearest_mode {
    FV_NEAREST_ROUND_PREFER_FLOOR = 0, /* round half down (ONNX's default) */
    FV_NEAREST_ROUND_PREFER_CEIL,      /* round half up (PyTorch's nearest-exact) */
    FV_NEAREST_FLOOR,                  /* PyTorch's nearest (with asymmetric) */
    FV_NEAREST_CEIL,
} fv_nearest_mode;
typedef struct fv_resize_args {
    int _;
    fv_resize_mode mode;
    fv_resize_coord coord;
    fv_nearest_mode nearest_mode;
    float cubic_a;              /* default -0.75 (0 means the default) */
    int exclude_outside;
    double scale, scale_h, scale_w; /* > 0; scale: both axes */
    int size, out_h, out_w;     /* >= 1; size: both axes */
    const char *name;
} fv_resize_args;
int fv_resize_(fv_model *m, int in, fv_resize_args a);
#define fv_resize(m, in, ...) fv_resize_((m), (in), (fv_resize_args){._ = 0, __VA_ARGS__})

/* Normalization within each sample (PyTorch semantics, the same in training and evaluation):
 * group norm (GroupNorm: `groups` groups of channels, per-channel weight and bias), instance norm
 * (InstanceNorm2d(affine=True): one group per channel) and layer norm (LayerNorm over the whole
 * sample shape, with a weight and bias per element). eps default 1e-5. */
typedef struct fv_norm_args {
    int _;
    int groups; /* group norm: required, divides the channels */
    float eps;
    const char *name;
} fv_norm_args;
int fv_group_norm_(fv_model *m, int in, fv_norm_args a);
int fv_instance_norm_(fv_model *m, int in, fv_norm_args a);
int fv_layer_norm_(fv_model *m, int in, fv_norm_args a);
#define fv_group_norm(m, in, ...) fv_group_norm_((m), (in), (fv_norm_args){._ = 0, __VA_ARGS__})
#define fv_instance_norm(m, in, ...) \
    fv_instance_norm_((m), (in), (fv_norm_args){._ = 0, __VA_ARGS__})
#define fv_layer_norm(m, in, ...) fv_layer_norm_((m), (in), (fv_norm_args){._ = 0, __VA_ARGS__})

/* PReLU (PyTorch's PReLU): x > 0 ? x : a x with a learned slope `a` per channel (the first axis
 * of a sample), or one shared slope; initialised to 0.25. Maxout (Goodfellow et al. 2013): the
 * channels in groups of `pieces` consecutive ones, each replaced by its maximum. */
typedef struct fv_prelu_args {
    int _;
    int shared; /* 1: one slope (PyTorch's num_parameters=1) */
    int pieces; /* maxout: k >= 2 dividing the channels */
    const char *name;
} fv_prelu_args;
int fv_prelu_(fv_model *m, int in, fv_prelu_args a);
int fv_maxout_(fv_model *m, int in, fv_prelu_args a);
#define fv_prelu(m, in, ...) fv_prelu_((m), (in), (fv_prelu_args){._ = 0, __VA_ARGS__})
#define fv_maxout(m, in, ...) fv_maxout_((m), (in), (fv_prelu_args){._ = 0, __VA_ARGS__})

typedef struct fv_dense_args {
    int _;
    int units; /* required */
    int no_bias;
    fv_act activation;
    const char *name;
    float l1, l2, max_norm; /* as for conv2d, per output unit */
    fv_init init, bias_init; /* initializers and their settings, as for conv2d */
    float init_value, bias_value, init_gain;
    int init_fan_out;
    int per_step; /* a sequence (T, F): the layer at every step, output (T, units) */
} fv_dense_args;
int fv_dense_(fv_model *m, int in, fv_dense_args a);
#define fv_dense(m, in, ...) fv_dense_((m), (in), (fv_dense_args){._ = 0, __VA_ARGS__})

typedef struct fv_pool2d_args {
    int _;
    int size;    /* square window (default 2); or size_h / size_w */
    int size_h, size_w;
    int stride;  /* default: the window size */
    int padding; /* default 0; max pooling pads with -inf, average pooling divides by the full window */
    const char *name;
    int ceil_mode;   /* PyTorch's ceil_mode: partial windows at the end count */
    int exclude_pad; /* average pooling: divide by the cells inside the input
                        (count_include_pad=False) */
    int pad_end;     /* max pooling: 0 or 1 more cell of padding after the end of each axis
                        (bottom, right), as Darknet pads size-1 cells in all: left pad/2 */
} fv_pool2d_args;
int fv_maxpool2d_(fv_model *m, int in, fv_pool2d_args a);
int fv_avgpool2d_(fv_model *m, int in, fv_pool2d_args a);
#define fv_maxpool2d(m, in, ...) fv_maxpool2d_((m), (in), (fv_pool2d_args){._ = 0, __VA_ARGS__})
#define fv_avgpool2d(m, in, ...) fv_avgpool2d_((m), (in), (fv_pool2d_args){._ = 0, __VA_ARGS__})

/* Max-unpooling (ZFNet's deconvnet, PyTorch's MaxUnpool2d): places each value of node `in` (of
 * the max pool's output shape) at the position its max pool `pool` took it from, zeros elsewhere;
 * the output has the pool's input shape. */
int fv_maxunpool2d_(fv_model *m, int in, int pool, const char *name);
#define fv_maxunpool2d(m, in, pool, name) fv_maxunpool2d_((m), (in), (pool), (name))
/* Power-average pooling (PyTorch's LPPool2d; p = 2: L2 pooling): (sum over the window of
 * x^p)^(1/p), no padding. */
int fv_lppool2d_(fv_model *m, int in, float p, fv_pool2d_args a);
#define fv_lppool2d(m, in, p, ...) fv_lppool2d_((m), (in), (p), (fv_pool2d_args){._ = 0, __VA_ARGS__})

/* Fractional max pooling (Graham 2014, arXiv 1412.6071; PyTorch's FractionalMaxPool2d):
 * (C, H, W) -> (C, oh, ow), the output size given (output_size, or output_h and output_w) or as
 * a ratio in (0, 1) (oh = floor(H ratio)). With a window (size > 0, PyTorch's kernel_size) each
 * output is the maximum over a window at PyTorch's pseudo-random starts (oh + size - 1 <= H);
 * with size 0 over Graham's disjoint regions of 1 or 2 rows by 1 or 2 columns (H / 2 <= oh <=
 * H), pseudo-random or, with `random`, in a random order. Each training forward draws the
 * regions per sample, channel and axis from the model's seeded stream; evaluation uses the fixed
 * sample u = 0.5 (pseudo-random regions also for `random`), so it is deterministic. */
typedef struct fv_fracpool_args {
    int _;
    int size;          /* square window; or size_h / size_w; 0 (default): disjoint regions */
    int size_h, size_w;
    int output_size;   /* square output; or output_h / output_w */
    int output_h, output_w;
    double ratio;      /* instead of an output size: ratio, or ratio_h / ratio_w */
    double ratio_h, ratio_w;
    int random;        /* disjoint regions in a random order (default: pseudo-random) */
    const char *name;
} fv_fracpool_args;
int fv_fractional_maxpool2d_(fv_model *m, int in, fv_fracpool_args a);
#define fv_fractional_maxpool2d(m, in, ...) \
    fv_fractional_maxpool2d_((m), (in), (fv_fracpool_args){._ = 0, __VA_ARGS__})

typedef struct fv_layer_args {
    int _;
    const char *name;
    float alpha; /* leaky_relu's slope (default 0.01), elu's and selu's alpha (1, 1.6733),
                    hard_sigmoid's slope (1/6), clip's min (0) */
    float beta;  /* selu's gamma (1.0507), hard_sigmoid's offset (1/2), clip's max (0) */
} fv_layer_args;
/* Global average / max pooling: (C, H, W) -> (C) (Keras GlobalAveragePooling2D). */
int fv_global_avgpool2d_(fv_model *m, int in, fv_layer_args a);
int fv_global_maxpool2d_(fv_model *m, int in, fv_layer_args a);
#define fv_global_avgpool2d(m, in, ...) \
    fv_global_avgpool2d_((m), (in), (fv_layer_args){._ = 0, __VA_ARGS__})
#define fv_global_maxpool2d(m, in, ...) \
    fv_global_maxpool2d_((m), (in), (fv_layer_args){._ = 0, __VA_ARGS__})

/* Adaptive average pooling (PyTorch's AdaptiveAvgPool2d): (C, H, W) -> (C, oh, ow), cell (i, j)
 * the mean over rows [floor(i H / oh), ceil((i + 1) H / oh)) and the columns likewise. */
typedef struct fv_adaptive_args {
    int _;
    int output_size; /* square grid; or output_h / output_w */
    int output_h, output_w;
    const char *name;
} fv_adaptive_args;
int fv_adaptive_avgpool2d_(fv_model *m, int in, fv_adaptive_args a);
#define fv_adaptive_avgpool2d(m, in, ...) \
    fv_adaptive_avgpool2d_((m), (in), (fv_adaptive_args){._ = 0, __VA_ARGS__})

/* Local response normalization across channels (AlexNet; PyTorch's LocalResponseNorm and the
 * course's formula): y = x / (k + alpha / size * sum of x^2 over `size` neighbouring channels)^beta.
 * Defaults: alpha 1e-4, beta 0.75, k 1 (AlexNet uses size 5, k 2). */
typedef struct fv_lrn_args {
    int _;
    int size; /* required, >= 1 */
    float alpha, beta, k;
    const char *name;
} fv_lrn_args;
int fv_lrn_(fv_model *m, int in, fv_lrn_args a);
#define fv_lrn(m, in, ...) fv_lrn_((m), (in), (fv_lrn_args){._ = 0, __VA_ARGS__})

int fv_activation_(fv_model *m, int in, fv_act act, fv_layer_args a);
int fv_flatten_(fv_model *m, int in, fv_layer_args a);
#define fv_activation(m, in, act, ...) \
    fv_activation_((m), (in), (act), (fv_layer_args){._ = 0, __VA_ARGS__})
#define fv_relu(m, in, ...) fv_activation(m, in, FV_ACT_RELU, __VA_ARGS__)
/* Clamping to [min, max] (PyTorch's clamp and Hardtanh, ONNX Clip; FV_ACT_CLIP): finite bounds
 * (-FLT_MAX / FLT_MAX for an open side); min > max gives max everywhere. The gradient passes
 * where min <= x <= max, as torch.clamp's. */
int fv_clip_(fv_model *m, int in, float min, float max, fv_layer_args a);
#define fv_clip(m, in, min, max, ...) \
    fv_clip_((m), (in), (min), (max), (fv_layer_args){._ = 0, __VA_ARGS__})
#define fv_flatten(m, in, ...) fv_flatten_((m), (in), (fv_layer_args){._ = 0, __VA_ARGS__})

/* Softmax over consecutive segments of each sample's values (in memory order, any shape; the
 * output has the input's shape): segment k is the next segments[k] values, the lengths (each
 * >= 1, at most FV_SEGMENTS_MAX of them) summing to the sample's size. Darknet's word-tree
 * (hierarchical) softmax: one softmax per group of sibling classes. The lengths are copied. */
#define FV_SEGMENTS_MAX 16384
typedef struct fv_segment_softmax_args {
    int _;
    int nsegments;
    const int *segments;
    const char *name;
} fv_segment_softmax_args;
int fv_segment_softmax_(fv_model *m, int in, fv_segment_softmax_args a);
#define fv_segment_softmax(m, in, ...) \
    fv_segment_softmax_((m), (in), (fv_segment_softmax_args){._ = 0, __VA_ARGS__})

typedef struct fv_reshape_args {
    int _;
    int ndim;
    int64_t dims[4]; /* one sample's new shape; one entry may be -1 (inferred) */
    const char *name;
} fv_reshape_args;
int fv_reshape_(fv_model *m, int in, fv_reshape_args a);
#define fv_reshape(m, in, ...) fv_reshape_((m), (in), (fv_reshape_args){._ = 0, __VA_ARGS__})

/* Element-wise sum of n >= 2 nodes of equal shape (residual connections). */
int fv_add_(fv_model *m, int n, const int *ins, fv_layer_args a);
#define fv_add(m, n, ins, ...) fv_add_((m), (n), (ins), (fv_layer_args){._ = 0, __VA_ARGS__})

typedef struct fv_concat_args {
    int _;
    int axis; /* axis of one sample's shape, default 0 (channels) */
    const char *name;
} fv_concat_args;
int fv_concat_(fv_model *m, int n, const int *ins, fv_concat_args a);
#define fv_concat(m, n, ins, ...) fv_concat_((m), (n), (ins), (fv_concat_args){._ = 0, __VA_ARGS__})

typedef struct fv_dropout_args {
    int _;
    float rate; /* fraction dropped in training, in [0, 1) */
    const char *name;
    int spatial; /* 1: drop whole channels of (C, H, W) inputs (SpatialDropout2D, Dropout2d) */
} fv_dropout_args;
int fv_dropout_(fv_model *m, int in, fv_dropout_args a);
#define fv_dropout(m, in, ...) fv_dropout_((m), (in), (fv_dropout_args){._ = 0, __VA_ARGS__})

typedef struct fv_batchnorm_args {
    int _;
    float momentum; /* running-statistics momentum as in PyTorch, default 0.1 */
    float eps;      /* default 1e-5 */
    const char *name;
} fv_batchnorm_args;
int fv_batchnorm_(fv_model *m, int in, fv_batchnorm_args a);
#define fv_batchnorm(m, in, ...) \
    fv_batchnorm_((m), (in), (fv_batchnorm_args){._ = 0, __VA_ARGS__})

/* Element-wise arithmetic with NumPy / ONNX broadcasting (ONNX Add, Sub, Mul, Div, Pow, Max,
 * Min; PyTorch's torch.add ... torch.maximum): shapes are one sample's, aligned at their last
 * axes; each pair of extents must be equal or one of them 1, and the output takes the larger.
 * fv_binary: y = a OP b of two nodes (the batch is shared). fv_binary_const: y = x OP c (c OP x
 * with const_first: c - x, c / x, c ^ x) with a constant c of shape dims[0..ndim) (ndim 0..4;
 * 0: a scalar), values copied (row-major, all finite). The constant is the layer's parameter
 * "<name>.constant", saved and loaded with the weights but never trained (non-trainable, as batch
 * norm's running statistics). Gradients reach both nodes, summed over the axes they were
 * broadcast along; max and min send it to the larger (smaller) operand and half to each on a tie,
 * pow's is b a^(b-1) (0 where b = 0) and a^b ln a (0 where a = 0 and b >= 0), as PyTorch's.
 * Errors: shapes that do not broadcast (naming the layer and both shapes), an unknown op, a
 * constant of more than 4 axes or with a value that is not finite. */
typedef enum fv_binary_op {
    FV_BINARY_ADD = 0,
    FV_BINARY_SUB,
    FV_BINARY_MUL,
    FV_BINARY_DIV,
    FV_BINARY_POW,
    FV_BINARY_MAX,
    FV_BINARY_MIN,
    FV_BINARY__COUNT
} fv_binary_op;
int fv_binary_(fv_model *m, int a, int b, fv_binary_op op, fv_layer_args args);
int fv_binary_const_(fv_model *m, int in, fv_binary_op op, int ndim, const int64_t *dims,
                     const float *values, int const_first, fv_layer_args args);
#define fv_binary(m, a, b, op, ...) \
    fv_binary_((m), (a), (b), (op), (fv_layer_args){._ = 0, __VA_ARGS__})
#define fv_binary_const(m, in, op, ndim, dims, values, const_first, ...)                      \
    fv_binary_const_((m), (in), (op), (ndim), (dims), (values), (const_first),                 \
                     (fv_layer_args){._ = 0, __VA_ARGS__})
/* x OP c with one value c for every element (a scalar constant). */
#define fv_binary_scalar(m, in, op, c, ...)                                                     \
    fv_binary_const_((m), (in), (op), 0, NULL, (const float[]){(c)}, 0,                       \
                     (fv_layer_args){._ = 0, __VA_ARGS__})

/* Spatial transformers (Jaderberg et al. 2015; PyTorch's F.affine_grid and F.grid_sample, 2-D).
 * A sampling grid is (OH, OW, 2) per sample: normalized (x, y) points, -1 the left (top) and 1
 * the right (bottom) of the input; align_corners 1 puts -1 and 1 at the corner cells' centres,
 * 0 (the default, PyTorch's) at their outer edges.
 * fv_affine_grid: the grid of a 2x3 matrix theta (an input of 6 values, or (2, 3)) over an
 *   out_h x out_w base grid. fv_tps_grid: the thin-plate-spline grid (U(r) = r^2 log r^2) that
 *   moves the points x points control points, evenly on [-1, 1]^2, by the input's displacements
 *   (2 points^2 values: (dx, dy) per point, row-major); zeros give the identity.
 * fv_grid_sample: y (C, OH, OW) = x (C, H, W) read at the grid, bilinear or nearest (round half
 *   to even), outside the input: zeros, the border's value or the reflection.
 * fv_spatial_transformer: the layer of the paper: its own regression of theta from `features`
 *   (the localisation network's output, any shape), theta = W f + b with W zero and b the
 *   identity at initialisation (points > 0: the TPS displacements, b zero), then the grid and
 *   the sampler over x to out_h x out_w (default x's size). Gradients reach x, the grid, theta,
 *   the displacements and the features. Errors name the layer and the wrong shape. */
typedef enum fv_grid_mode { FV_GRID_BILINEAR = 0, FV_GRID_NEAREST } fv_grid_mode;
typedef enum fv_grid_padding {
    FV_GRID_ZEROS = 0,
    FV_GRID_BORDER,
    FV_GRID_REFLECTION
} fv_grid_padding;
typedef struct fv_sampler_args {
    int _;
    int size, out_h, out_w; /* the grid's size; size: both axes */
    fv_grid_mode mode;
    fv_grid_padding padding;
    int align_corners;
    int points; /* TPS: control points per side (>= 2); 0: affine */
    const char *name;
} fv_sampler_args;
int fv_affine_grid_(fv_model *m, int theta, fv_sampler_args a);
int fv_tps_grid_(fv_model *m, int displacements, fv_sampler_args a);
int fv_grid_sample_(fv_model *m, int x, int grid, fv_sampler_args a);
int fv_spatial_transformer_(fv_model *m, int x, int features, fv_sampler_args a);
#define fv_affine_grid(m, theta, ...) \
    fv_affine_grid_((m), (theta), (fv_sampler_args){._ = 0, __VA_ARGS__})
#define fv_tps_grid(m, d, ...) fv_tps_grid_((m), (d), (fv_sampler_args){._ = 0, __VA_ARGS__})
#define fv_grid_sample(m, x, grid, ...) \
    fv_grid_sample_((m), (x), (grid), (fv_sampler_args){._ = 0, __VA_ARGS__})
#define fv_spatial_transformer(m, x, features, ...) \
    fv_spatial_transformer_((m), (x), (features), (fv_sampler_args){._ = 0, __VA_ARGS__})

/* Recurrent layers (PyTorch's nn.RNN, nn.LSTM and nn.GRU of one layer, batch_first=True): x is
 * one sample's sequence (T, F) of T >= 1 steps (any T the model's input has); units hidden
 * values per direction; bidirectional adds a second direction that runs from the last step to
 * the first. The output is every step's hidden state (T, D units) with return_sequences, else
 * the last state (D units): the forward direction's at step T - 1, the reverse one's at step 0
 * (PyTorch's h_n, the directions concatenated). PyTorch's gate order (LSTM i, f, g, o; GRU r,
 * z, n, with r applied to W_hn h + b_hn) and parameter names, so a state_dict loads by name:
 * <layer>.weight_ih_l0 (G units, F), weight_hh_l0 (G units, units), bias_ih_l0, bias_hh_l0
 * (G units), then the same with _reverse; initialised U(-1/sqrt(units), 1/sqrt(units)) as
 * PyTorch does. fv_rnn_state_ also reads the initial state h0 (and for the LSTM c0, or -1 for
 * zeros): nodes of shape (D, units) or (D units) per sample, e.g. a dense layer over image
 * features; gradients reach them. fv_rnn_packed_ also reads each sample's length (a node of
 * one value per sample, PyTorch's pack_padded_sequence): only the first len steps run, the
 * forward direction's last state is its state at step len - 1, the reverse direction starts
 * there, and the outputs at the padded steps are zero (no gradient reaches them); a length that
 * is no whole number in [1, T] fails the pass with an error naming the layer and the sample.
 * Errors name the layer and the wrong shape. */
typedef enum fv_rnn_cell { FV_RNN_TANH = 0, FV_RNN_RELU, FV_RNN_LSTM, FV_RNN_GRU } fv_rnn_cell;
typedef struct fv_rnn_args {
    int _;
    fv_rnn_cell cell;
    int units; /* required */
    int bidirectional;
    int return_sequences;
    int lengths; /* set by fv_rnn_packed_ (the last input holds the lengths) */
    const char *name;
} fv_rnn_args;
int fv_rnn_(fv_model *m, int x, fv_rnn_args a);
int fv_rnn_state_(fv_model *m, int x, int h0, int c0, fv_rnn_args a);
int fv_rnn_packed_(fv_model *m, int x, int h0, int c0, int lengths, fv_rnn_args a);
#define fv_rnn(m, x, ...) fv_rnn_((m), (x), (fv_rnn_args){._ = 0, __VA_ARGS__})
#define fv_rnn_state(m, x, h0, c0, ...) \
    fv_rnn_state_((m), (x), (h0), (c0), (fv_rnn_args){._ = 0, __VA_ARGS__})
#define fv_rnn_packed(m, x, h0, c0, lengths, ...) \
    fv_rnn_packed_((m), (x), (h0), (c0), (lengths), (fv_rnn_args){._ = 0, __VA_ARGS__})

/* Embedding (PyTorch's nn.Embedding): the input's values are token indices in [0, vocab) (as
 * floats; any shape, e.g. (T)), the output appends dim: (..., dim), row k of the parameter
 * <layer>.weight (vocab, dim), initialised N(0, 1) as PyTorch does. A value that is no index
 * of the vocabulary gives a zero row and fails the pass that fed it (fv_model_forward, fit,
 * evaluate, predict) with an error naming the layer, the value and the vocabulary's size. */
typedef struct fv_embedding_args {
    int _;
    int vocab, dim; /* required */
    const char *name;
} fv_embedding_args;
int fv_embedding_(fv_model *m, int in, fv_embedding_args a);
#define fv_embedding(m, in, ...) \
    fv_embedding_((m), (in), (fv_embedding_args){._ = 0, __VA_ARGS__})

/* Number of nodes; a node's name; the node with a name (-1 if none): a layer's own node, the one
 * holding its parameters. A layer with an activation argument (activation=relu) has a second
 * node after it, the folded activation, with a name of its own ("relu1"); the layer's output is
 * that node's, which fv_model_find_output gives (the layer's node when it has none). */
int fv_model_num_nodes(const fv_model *m);
const char *fv_node_name(const fv_model *m, int node);
int fv_model_find_node(const fv_model *m, const char *name);
int fv_model_find_output(const fv_model *m, const char *name);
/* One sample's shape of a node's output; returns ndim. */
int fv_node_shape(const fv_model *m, int node, int64_t *dims);

/* ---------------------------------------------------------------- parameters */

typedef struct fv_param_info {
    const char *name; /* "conv1.weight" */
    int ndim;
    const int64_t *dims;
    int64_t numel;
    int trainable;    /* 0 for batch-norm running statistics */
    float *data;      /* NULL until the model is compiled (parameters allocated) */
    float *grad;      /* NULL for non-trainable parameters */
} fv_param_info;
int fv_model_num_params(const fv_model *m);
fv_status fv_model_param(const fv_model *m, int i, fv_param_info *out);
/* Totals: all, trainable, non-trainable (Keras convention: running statistics are counted). */
void fv_model_count_params(const fv_model *m, int64_t *total, int64_t *trainable,
                           int64_t *non_trainable);
/* Multiply-adds of one sample's forward pass through node i (convolutions and dense layers, as
 * the papers count; 0 for other layers), and through the whole model. */
int64_t fv_node_macs(const fv_model *m, int node);
int64_t fv_model_macs(const fv_model *m);

/* ---------------------------------------------------------------- training */

typedef enum fv_loss {
    FV_LOSS_NONE = 0,
    /* The logit losses (SOFTMAX_CE, CATEGORICAL_CE; BCE_LOGITS) after an output layer that
     * already is a softmax (a sigmoid) read that layer's input, the logits: the loss of its
     * probabilities, computed stably (Keras' from_logits=False), not a second softmax. */
    FV_LOSS_SOFTMAX_CE, /* sparse categorical cross-entropy from logits (targets: class index) */
    FV_LOSS_MSE,        /* mean squared error (targets: same shape as the output) */
    /* Sparse kinds take one class index per sample; the others a target of the output's shape.
     * "probs": the output is probabilities (clipped to [1e-7, 1 - 1e-7] before the log). */
    FV_LOSS_SPARSE_CE_PROBS,     /* -log p[t]  (Keras sparse CE, from_logits=False) */
    FV_LOSS_CATEGORICAL_CE,      /* -sum t log softmax(x)  (soft or one-hot targets) */
    FV_LOSS_CATEGORICAL_CE_PROBS, /* -sum t log p */
    FV_LOSS_BCE,                 /* binary CE of probabilities, logs clamped at -100 (PyTorch) */
    FV_LOSS_BCE_LOGITS,          /* binary CE from logits, in the stable form */
    FV_LOSS_MAE,                 /* mean |x - t| */
    FV_LOSS_HUBER,               /* 0.5 d^2 for |d| < delta, else delta (|d| - delta / 2) */
    FV_LOSS_HINGE,               /* multi-class hinge (SVM): sum_j!=t max(0, 1 - x_t + x_j) / K */
    FV_LOSS_KL_DIV,              /* sum t (log t - log p) per sample (PyTorch's batchmean) */
    /* Per-pixel losses (segmentation) of a (C, H, W) output (at most 256 classes); CE and Dice
     * take targets (H, W) of class indices, pixels of the ignore label (compile's
     * use_ignore_label) left out; the "Segmentation" section below states the definitions. */
    FV_LOSS_PIXEL_CE,  /* softmax CE over the channel axis: sum w[t] (-log p_t) / sum w[t] over
                          the kept pixels of the batch (F.cross_entropy, weight=, ignore_index=) */
    FV_LOSS_DICE,      /* 1 - mean over classes c of (2 sum p_c t_c + 1) / (sum p_c + sum t_c
                          + 1), p the channel softmax, t one-hot, sums over the kept pixels */
    FV_LOSS_PIXEL_BCE, /* binary CE from logits per value, targets of the output's shape, values
                          equal to the ignore label left out; mean over the rest */
    FV_LOSS_SEQUENCE_CE, /* per-step softmax CE of (T, V) logits against (T) class indices, steps
                            whose target is the ignore label (padding) left out; mean over the
                            rest of the batch */
    FV_LOSS__COUNT
} fv_loss;

typedef enum fv_optim_kind {
    FV_OPTIM_SGD = 0,
    FV_OPTIM_ADAM,
    FV_OPTIM_ADAGRAD,
    FV_OPTIM_RMSPROP,
    FV_OPTIM_ADADELTA,
    FV_OPTIM_ADAMW,
    FV_OPTIM_ADAMAX,
    FV_OPTIM_NADAM,
    FV_OPTIM__COUNT
} fv_optim_kind;

/* Settings left 0 take PyTorch 1.13's defaults for the kind; each optimizer matches its
 * torch.optim class step for step (tests/golden/gen_loss_optim.py). */
typedef struct fv_optimizer {
    int _;
    fv_optim_kind kind;
    float lr;             /* SGD/RMSprop/Adagrad 0.01, Adam/AdamW 0.001, Adamax/NAdam 0.002, Adadelta 1 */
    float momentum;       /* SGD, RMSprop */
    int nesterov;         /* SGD */
    float weight_decay;   /* L2 added to the gradient; AdamW: decoupled, default 0.01 */
    float beta1, beta2;   /* Adam family, default 0.9, 0.999 */
    float eps;            /* Adam family 1e-8, RMSprop 1e-8, Adagrad 1e-10, Adadelta 1e-6 */
    float rho;            /* RMSprop's alpha (default 0.99) and Adadelta's rho (default 0.9) */
    int centered;         /* RMSprop: normalise by the variance estimate */
    float lr_decay;       /* Adagrad */
    float momentum_decay; /* NAdam, default 0.004 */
    float clip_norm;      /* > 0: scale gradients whose global L2 norm exceeds it (PyTorch's
                             clip_grad_norm_, Keras' global_clipnorm) */
    float clip_value;     /* > 0: clamp every gradient to [-clip_value, clip_value] */
} fv_optimizer;
#define fv_sgd(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_SGD, __VA_ARGS__})
#define fv_adam(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_ADAM, __VA_ARGS__})
#define fv_adagrad(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_ADAGRAD, __VA_ARGS__})
#define fv_rmsprop(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_RMSPROP, __VA_ARGS__})
#define fv_adadelta(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_ADADELTA, __VA_ARGS__})
#define fv_adamw(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_ADAMW, __VA_ARGS__})
#define fv_adamax(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_ADAMAX, __VA_ARGS__})
#define fv_nadam(...) ((fv_optimizer){._ = 0, .kind = FV_OPTIM_NADAM, __VA_ARGS__})
/* "sgd", "adam", "adagrad", "rmsprop", "adadelta", "adamw", "adamax", "nadam" -> kind; -1 if none. */
int fv_optim_from_name(const char *name);

typedef struct fv_compile_args {
    int _;
    fv_loss loss;
    fv_optimizer optimizer;
    int output;    /* the node whose output is the prediction, default: the last node */
    uint64_t seed; /* parameter initialisation and dropout, default 0 */
    float label_smoothing;       /* SOFTMAX_CE, CATEGORICAL_CE: targets (1 - e) t + e / K */
    const float *class_weights;  /* SOFTMAX_CE, SPARSE_CE_PROBS, PIXEL_CE: one per class, copied; the
                                    mean is weighted (PyTorch's weight=) */
    float huber_delta;           /* HUBER, default 1 */
    int use_ignore_label;        /* PIXEL_CE, DICE, PIXEL_BCE, SEQUENCE_CE: pixels (steps) whose target is */
    int ignore_label;            /* ignore_label are left out (PyTorch's ignore_index) */
} fv_compile_args;
/* Adds the loss, allocates and initialises parameters from the seed: each layer's initializers
 * (fv_init; by default Glorot-uniform weights, zero biases). */
fv_status fv_model_compile_(fv_model *m, fv_compile_args a);
#define fv_model_compile(m, ...) \
    fv_model_compile_((m), (fv_compile_args){._ = 0, __VA_ARGS__})
/* Freezes (trainable 0) or unfreezes a layer by name: exactly that layer (the node of that name,
 * fv_model_find_node; a folded activation's name freezes nothing else). Frozen parameters are
 * not updated, take no gradient, and a frozen batch norm keeps its running statistics and
 * normalizes with them, as in evaluation, also while training. The summary counts frozen
 * parameters as non-trainable, as Keras does. Errors: no layer of that name. */
fv_status fv_model_set_trainable(fv_model *m, const char *layer, int trainable);
/* The same for every layer whose name matches one of a comma-separated list of names or shell
 * patterns (fnmatch: *, ?, [...]), e.g. "conv1,conv2" or "conv*" or "layer1.*". A name or pattern
 * that matches no layer is an error naming it (and the layers there are); nothing changes then. */
fv_status fv_model_set_trainable_match(fv_model *m, const char *patterns, int trainable);
/* The same for `layer` and every layer added before it ("freeze up to conv5": in a network with
 * branches, every node of a lower index). */
fv_status fv_model_set_trainable_upto(fv_model *m, const char *layer, int trainable);
/* Transfer learning's new head: the dense layer the output comes from (through activations and
 * dropout) gets n_classes units, a fresh initialisation (Glorot-uniform weight, zero bias), its
 * old name, and is trainable. On a compiled model every other parameter keeps its values, the
 * optimizer starts over (its state is reset, as Keras' recompile) and the loss takes the new
 * outputs; class names set with fv_model_set_meta are dropped (set them again). Errors: an output
 * that does not come from a dense layer, a head whose output other layers read, class weights
 * compiled for another number of classes. */
fv_status fv_model_replace_head(fv_model *m, int n_classes);
/* The node of that head (fv_node_name gives its name), or -1 with the error when there is none. */
int fv_model_head(const fv_model *m);
/* Multiplies the learning rate of one layer's parameters (fine-tuning: smaller rates for early
 * layers); mult >= 0, 0 freezes. */
fv_status fv_model_set_lr_mult(fv_model *m, const char *layer, float mult);

/* on = 1: fit, evaluate and predict take images (N, C', H', W') of any size for the image input
 * (C, H, W), each batch converted as it is gathered, as fv_dataset_resize converts (bilinear, no
 * antialiasing; gray <-> RGB): data of any size trains a network built for another without a
 * resized copy in memory. on = 0 (the default): data must have the input's shape. */
fv_status fv_model_resize_inputs(fv_model *m, int on);

/* Changes the optimizer (resets its state). */
fv_status fv_model_set_optimizer(fv_model *m, fv_optimizer opt);
/* The learning rate of the steps that follow, for a schedule of one's own around
 * fv_model_train_batch (PyTorch's param_group["lr"] = lr): the optimizer's state (momentum, Adam's
 * moments and step count) is kept. fv_model_fit sets the rate itself (its schedule, fv_fit_args.lr)
 * and leaves the base rate it started from. Errors: not compiled, lr negative or not finite. */
fv_status fv_model_set_lr(fv_model *m, float lr);
/* The learning rate in force (the optimizer's default filled in); 0 before compile. */
float fv_model_lr(const fv_model *m);

/* Keras-style table: layer (type), output shape, parameters; total, trainable, non-trainable. */
fv_status fv_model_summary(const fv_model *m, FILE *out);

/* Train/eval mode (dropout, batch norm). fit switches to train and back to eval. */
void fv_model_set_training(fv_model *m, int training);

/* ---------------------------------------------------------------- plots */

/* Figures as PNG or SVG (by the path's extension), written atomically: line plots with axes,
 * ticks, labels and a legend (training curves, ROC and precision-recall curves), a reliability
 * diagram and a confusion-matrix heat map with counts. */
typedef struct fv_series {
    const char *label; /* legend entry (NULL: none) */
    const double *x, *y;
    int n;
} fv_series;
typedef struct fv_plot_args {
    int _;
    const char *title, *xlabel, *ylabel;
    int width, height;            /* pixels (SVG: points); default per figure (and the legend) */
    double xmin, xmax, ymin, ymax; /* the axes' range; min == max: fitted to the data */
    int diagonal;                 /* a dashed y = x line (ROC's chance, perfect calibration) */
    int legend_bottom;            /* the legend in the right margin, at the bottom (default: at
                                     the top); legends sit beside the plot, never over it */
} fv_plot_args;
fv_status fv_plot_lines_(const char *path, const fv_series *s, int n, fv_plot_args a);
#define fv_plot_lines(path, s, n, ...) \
    fv_plot_lines_((path), (s), (n), (fv_plot_args){._ = 0, __VA_ARGS__})
/* Bins of equal width over [0, 1]: per bin the mean confidence, the accuracy and the count (empty
 * bins are left out), against the diagonal. */
fv_status fv_plot_reliability_(const char *path, const double *conf, const double *acc,
                               const int64_t *count, int bins, fv_plot_args a);
#define fv_plot_reliability(path, conf, acc, count, bins, ...) \
    fv_plot_reliability_((path), (conf), (acc), (count), (bins), (fv_plot_args){._ = 0, __VA_ARGS__})
/* counts (k x k, rows the true class, columns the predicted one) as shades with the counts
 * written in; names may be NULL (class numbers). k: 1 to 4096 (the cells shrink as k grows). */
fv_status fv_plot_confusion_(const char *path, const int64_t *counts, int k,
                             const char *const *names, fv_plot_args a);
#define fv_plot_confusion(path, counts, k, names, ...) \
    fv_plot_confusion_((path), (counts), (k), (names), (fv_plot_args){._ = 0, __VA_ARGS__})

/* Images (N, 1 or 3, H, W) in a grid of tiles scaled up by whole pixels, each with its caption,
 * as PNG or SVG: filters, feature maps, saliency maps, misclassified images. */
typedef struct fv_grid_args {
    int _;
    const char *title;
    const char *const *captions; /* one per image (NULL entries: none), or NULL */
    int cols;                    /* default: a square-ish grid */
    int scale;                   /* pixel magnification, default: tiles of at least 64 px */
    int heat;                    /* one-channel images through a heat color map (else gray) */
    int shared_scale;            /* one value range for all images (default: each its own) */
    float vmin, vmax;            /* a fixed value range, when vmin < vmax */
} fv_grid_args;
fv_status fv_image_grid_(const char *path, const fv_tensor *x, fv_grid_args a);
#define fv_image_grid(path, x, ...) fv_image_grid_((path), (x), (fv_grid_args){._ = 0, __VA_ARGS__})

/* ---------------------------------------------------------------- visualization */

/* What a trained network looks at, for one sample x (the input's shape), in evaluation mode; the
 * weights are left unchanged. cls is a unit of the output node (a class's logit); output[cls]
 * below is that logit also for a model ending in a softmax (the softmax's input). */
/* d output[cls] / d x, of the input's shape. */
fv_status fv_input_gradient(fv_model *m, const fv_tensor *x, int cls, fv_tensor **grad);
/* Saliency (Simonyan et al. 2014): max over channels of |d output[cls] / d x|, (1, H, W). */
fv_status fv_saliency(fv_model *m, const fv_tensor *x, int cls, fv_tensor **map);
/* Grad-CAM (Selvaraju et al. 2017) at a (C, h, w) layer: ReLU(sum_k alpha_k A_k), alpha_k the
 * mean gradient of map k, resized bilinearly to the input's (1, H, W). */
fv_status fv_gradcam(fv_model *m, const fv_tensor *x, int cls, const char *layer,
                     fv_tensor **map);
/* A layer's output for x (its own shape, e.g. (C, h, w)). */
fv_status fv_feature_maps(fv_model *m, const fv_tensor *x, const char *layer, fv_tensor **maps);
/* A layer's weight (a convolution's (F, C / groups, kh, kw) filters). */
fv_status fv_layer_weights(const fv_model *m, const char *layer, fv_tensor **w);
/* Deconvnet (Zeiler & Fergus 2014): the strongest activation of map `channel` of a (C, h, w)
 * layer (-1: of any map), alone, projected back to the input through unpooling with the max
 * pools' switches, rectification and the transposed filters; the input's shape. */
fv_status fv_deconvnet(fv_model *m, const fv_tensor *x, const char *layer, int channel,
                       fv_tensor **img);
/* Class model (Simonyan et al. 2014): from a near-zero image, `steps` of gradient ascent with rate lr
 * on output[cls] - l2 |x|^2; the input's shape. */
fv_status fv_class_model(fv_model *m, int cls, int steps, float lr, float l2, fv_tensor **img);

/* ---------------------------------------------------------------- model zoo */

/* Every architecture of the course, built with one call: fv_zoo("resnet18", .num_classes = 10,
 * .channels = 1, .height = 28). Names: lenet5, alexnet (torchvision's), alexnet_original
 * (Krizhevsky 2012: LRN, two groups), alexnet_bn (the course's batch-norm variant), zfnet,
 * vgg11/13/16/19 and their _bn versions (torchvision's), vgg_a, vgg_a_lrn, vgg_b, vgg_c, vgg_d,
 * vgg_e (the paper's configurations), googlenet, inception_v3 (torchvision's, 3x299x299;
 * 23,834,568 parameters, 27,161,264 with .aux_logits as torchvision's default), resnet18/34/50/
 * 101/152, resnet20 (CIFAR), resnet18_cifar, mobilenet_v1, mobilenet_v2, nasnet_mobile (Keras'
 * NASNetMobile: NASNet-A 4 @ 1056, 3x224x224, 5,326,716 parameters counting batch norm's moving
 * statistics as Keras does; Keras' layer names; logits, without Keras' softmax), and for
 * segmentation fcn32s, fcn16s, fcn8s and unet (default input 1x64x84, 11 classes; output
 * (classes, H, W) logits for any input size; width_mult scales their widths). Parameter names
 * are torchvision's where it has the network, so a torchvision state_dict saved as safetensors
 * loads with fv_model_load_weights. The model is not compiled. */
typedef struct fv_zoo_args {
    int _;
    int num_classes;     /* default 1000 (LeNet-5 and ResNet-20: 10) */
    int channels;        /* input, default the network's (3; LeNet-5: 1) */
    int height, width;   /* default the network's (224, 227, 299 or 28; width = height) */
    float width_mult;    /* MobileNet's alpha (default 1); the resolution multiplier is the
                            input size */
    int batch_norm;      /* vgg_a ... vgg_e: batch norm after each convolution */
    int stride_first;    /* resnet50/101/152: the bottleneck's stride in its first 1x1, as in the
                            paper (3.8 G mult-adds for ResNet-50); default torchvision's v1.5,
                            the stride in the 3x3 (4.1 G); the parameters are the same */
    int aux_logits;      /* googlenet: the two auxiliary classifiers (nodes aux1.fc2, aux2.fc2);
                            inception_v3: AuxLogits (node AuxLogits.fc; needs the 17x17 map of
                            a 299x299 input); evaluated, not trained: fit trains the main output */
    float dropout;       /* default the network's; -1 for none */
    fv_act activation;   /* resnet20: the activation in place of ReLU (FV_ACT_NONE: ReLU) */
    int no_top;          /* 1: the features only (Keras' include_top=False, pooling="avg"): the
                            network up to its global average pooling, output (C); networks
                            without one (LeNet-5, AlexNet, ZFNet, VGG) end in one named "avgpool"
                            after their last feature map instead of their classifier, the
                            segmentation networks after their encoder (FCN's fc7, U-Net's
                            bottom block) */
} fv_zoo_args;
fv_model *fv_zoo_(const char *arch, fv_zoo_args a);
#define fv_zoo(arch, ...) fv_zoo_((arch), (fv_zoo_args){._ = 0, __VA_ARGS__})
/* The i-th architecture name, NULL past the end. */
const char *fv_zoo_name(int i);

/* ---------------------------------------------------------------- metrics */

/* Classification metrics equal to scikit-learn 1.2's (tests/golden/gen_metrics.py checks them).
 * Inputs: scores, n x k probabilities in [0, 1] (row-major, double), and labels, n class indices
 * in [0, k). The prediction is the argmax (the first maximum on ties). Errors (n < 1, k < 2, a
 * label out of range, a score NaN, infinite or outside [0, 1]) name the sample and class. */
typedef struct fv_metrics_args {
    int _;
    int bins; /* calibration bins, equal width over the max probability (default 15) */
} fv_metrics_args;

/* Precision, recall and F1 of one average. */
typedef struct fv_prf {
    double precision, recall, f1;
} fv_prf;

/* Every figure of one evaluation; the arrays live in the same allocation (fv_metrics_free). */
typedef struct fv_metrics {
    int64_t n;
    int k, bins;
    double accuracy;                 /* accuracy_score of the argmax */
    double *top_k;                   /* k: top_k[j] = top-(j + 1) accuracy (top_k_accuracy_score:
                                        ties rank the higher class first; k = 2: p1 > 0.5) */
    int64_t *confusion;              /* k x k: row the true class, column the predicted one */
    double *precision, *recall, *f1; /* k each, zero_division=0 */
    int64_t *support;                /* k: samples of each class */
    fv_prf macro, micro, weighted;   /* class mean; from summed counts; mean weighted by support */
    double *auc;                     /* k: one-vs-rest ROC AUC, NaN without positives/negatives */
    double auc_macro, auc_micro;     /* mean of auc (NaN if any is); AUC over all n x k pairs */
    double *ap;                      /* k: average precision (0 for a class absent from labels) */
    double ap_macro, ap_micro;       /* mean of ap; AP over all n x k pairs */
    double log_loss;                 /* mean -log p[label]: clipped to [eps, 1 - eps] (eps the
                                        double epsilon), rows renormalized, as sklearn's */
    double ece;                      /* expected calibration error: sum of count/n |acc - conf| */
    int64_t *bin_count;              /* bins: max probability in (b/bins, (b+1)/bins], 0 in bin 0 */
    double *bin_confidence;          /* bins: mean max probability (0 when empty) */
    double *bin_accuracy;            /* bins: fraction right (0 when empty) */
} fv_metrics;

/* All the metrics, or NULL with an error. Free with fv_metrics_free. */
fv_metrics *fv_metrics_compute_(const double *scores, const int *labels, int64_t n, int k,
                                fv_metrics_args a);
#define fv_metrics_compute(scores, labels, n, k, ...) \
    fv_metrics_compute_((scores), (labels), (n), (k), (fv_metrics_args){._ = 0, __VA_ARGS__})
void fv_metrics_free(fv_metrics *m);

/* A curve: n points (x[i], y[i]) and its thresholds. Free with fv_curve_free. */
typedef struct fv_curve {
    int64_t n;
    double *x, *y;        /* ROC: fpr, tpr (increasing); PR: recall (decreasing), precision */
    int64_t nthresholds;  /* ROC: n; PR: n - 1 */
    double *thresholds;   /* ROC: decreasing, the first is the maximum + 1; PR: increasing */
} fv_curve;
/* roc_curve(drop_intermediate=True) of class c against the rest, or of all n x k pairs (c -1,
 * the micro average); fpr (tpr) is NaN everywhere when there are no negatives (positives). */
fv_status fv_roc_curve(const double *scores, const int *labels, int64_t n, int k, int c,
                       fv_curve *out);
/* precision_recall_curve the same way; recall is 1 everywhere when there are no positives. */
fv_status fv_pr_curve(const double *scores, const int *labels, int64_t n, int k, int c,
                      fv_curve *out);
void fv_curve_free(fv_curve *c);

/* Every figure as JSON (NaN as null); class_names: k names, or NULL for "0", "1", ... (atomic). */
fv_status fv_metrics_write_json(const fv_metrics *m, const char *const *class_names,
                                const char *path);
/* The per-class table as CSV (class,precision,recall,f1,support,auc,average_precision), then
 * the rows "macro avg", "micro avg" and "weighted avg" (no AUC or AP for the last) (atomic). */
fv_status fv_metrics_write_csv(const fv_metrics *m, const char *const *class_names,
                               const char *path);

/* Regression metrics as scikit-learn 1.2 defines them (multioutput 'uniform_average'): pred and
 * target n x k (row-major); mae and mse over all values, rmse the mean over outputs of each
 * output's root mean squared error (sqrt(mse) for k = 1), r2 the mean over outputs of
 * 1 - SS_res / SS_tot (an output with constant targets counts 1 when predicted exactly, else 0;
 * NaN for n < 2). Errors: n < 1, k < 1, a value that is NaN or infinite (naming it). */
typedef struct fv_reg_metrics {
    int64_t n;
    int k;
    double mae, mse, rmse, r2;
} fv_reg_metrics;
fv_status fv_regression_metrics(const float *pred, const float *target, int64_t n, int k,
                                fv_reg_metrics *out);
/* The regression metrics as JSON {"n", "k", "mae", "mse", "rmse", "r2"} (NaN as null; atomic). */
fv_status fv_reg_metrics_write_json(const fv_reg_metrics *m, const char *path);
/* Per-image class probabilities, as `fovea eval` writes them (OUT/probabilities.csv) and `fovea
 * ensemble` averages them. The CSV: the header "index,label,p_0,...,p_{k-1}", then row i (from 0)
 * "i,label,p_0,...": the label a class index in [0, k), each probability in [0, 1] (as %.9g:
 * a float read back is the same float). */
typedef struct fv_probs {
    int64_t n;   /* rows */
    int k;       /* classes */
    int *labels; /* n */
    float *p;    /* n x k, row-major */
} fv_probs;
/* Writes n rows of k probabilities and their labels (atomic). */
fv_status fv_probs_write(const char *path, const float *p, const int *labels, int64_t n, int k);
/* Reads such a file (at most the data limit, fv_data_limit, in size); the errors name the file,
 * the line and the field: another header, an index out of sequence, a label out of range, a
 * row with too few or too many probabilities, one that is not a number in [0, 1] (NaN, inf), a
 * row whose sum differs from 1 by more than 1e-3, no rows. */
fv_status fv_probs_read(const char *path, fv_probs *out);
void fv_probs_free(fv_probs *p);

/* ---------------------------------------------------------------- detection metrics */

/* Object-detection metrics (nn/metrics_det*.c; docs/DESIGN.md, Detection metrics): Pascal VOC's
 * AP at one IoU threshold, as the VOC devkit's VOCevaldet computes it (detections of a class in
 * decreasing score, ties in input order: image, then position; each is assigned to the ground
 * truth of its image with the highest IoU (the first on ties), matched or not; IoU >= the
 * threshold: a true positive if that one is unmatched, a false positive (duplicate) if it is
 * matched, neither if it is "difficult"; else a false positive; positives: the non-difficult
 * ground truths), with the VOC2007 11-point and the VOC2010+ all-point interpolation; and COCO's
 * figures as pycocotools' COCOeval (iouType bbox) computes them (per image and class the 100
 * best-scored detections, matched greedily to the highest-IoU ground truth available at each of
 * the IoU thresholds 0.50:0.05:0.95, crowd and out-of-range ground truths last and ignored; a
 * crowd region takes any number of detections, IoU with it is intersection / detection area;
 * the area ranges small [0, 32^2], medium [32^2, 96^2], large [96^2, 1e10], bounds inclusive as
 * pycocotools'; the precision envelope sampled at the 101 recall points 0:0.01:1; a class
 * without ground truth (in the range) is -1 and left out of the mean). The difficult flag is
 * VOC's only (pycocotools has none), iscrowd COCO's only. */
typedef struct fv_det_truth {
    fv_box box;
    int cls;       /* in [0, k) */
    int difficult; /* VOC: ignored (neither true nor false positive), not a positive */
    int crowd;     /* COCO's iscrowd */
    double area;   /* COCO's annotation area (size ranges); <= 0: the box's area */
} fv_det_truth;
typedef struct fv_detection {
    fv_box box;
    int cls;      /* in [0, k) */
    double score; /* higher is more confident */
} fv_detection;
/* One image: its ground truths and its detections (any order). */
typedef struct fv_det_image {
    const fv_det_truth *truth;
    int64_t ntruth;
    const fv_detection *dets;
    int64_t ndets;
} fv_det_image;

typedef struct fv_det_metrics_args {
    int _;
    double voc_iou;   /* VOC's IoU threshold, in (0, 1] (default 0.5) */
    int voc_plus_one; /* VOC devkit's pixel convention: width x2 - x1 + 1 in VOC's IoU (integer
                         pixel indices); default 0, continuous like fv_box_iou. COCO's figures
                         are always continuous */
} fv_det_metrics_args;

/* The summary figures, in this order in fv_det_metrics.stat. */
typedef enum fv_det_stat {
    FV_DET_VOC07_MAP, /* mean over classes with positives of the 11-point AP */
    FV_DET_VOC_MAP,   /* ... of the all-point AP */
    FV_DET_AP, FV_DET_AP50, FV_DET_AP75, FV_DET_AP_SMALL, FV_DET_AP_MEDIUM, FV_DET_AP_LARGE,
    FV_DET_AR1, FV_DET_AR10, FV_DET_AR100, FV_DET_AR_SMALL, FV_DET_AR_MEDIUM, FV_DET_AR_LARGE,
    FV_DET_NSTATS
} fv_det_stat;

/* One class's figures. VOC's are NaN when the class has no positives, COCO's -1 when it has no
 * non-crowd ground truth. */
typedef struct fv_det_class {
    int64_t positives;      /* VOC: non-difficult ground truths */
    int64_t truths;         /* COCO: non-crowd ground truths */
    int64_t detections;     /* all of the class */
    double ap_voc07, ap_voc; /* at voc_iou */
    double ap, ap50, ap75;  /* COCO, area all, maxDets 100 */
    double ar100;           /* COCO, area all, maxDets 100 */
    /* VOC's precision-recall curve at voc_iou: after each detection that is a true or false
     * positive, in VOC's order (those on difficult ground truths, which move neither, left
     * out): recall (non-decreasing) and precision. NaN recall when there are no positives. */
    int64_t npr;
    double *recall, *precision;
    double coco_pr50[101];  /* COCO's interpolated precision at recall 0, 0.01, ..., 1 (IoU
                               0.50, area all, maxDets 100); -1 without ground truth */
} fv_det_class;

typedef struct fv_det_metrics {
    int64_t images;
    int k;
    fv_det_metrics_args args;         /* the settings used (defaults filled in) */
    double stat[FV_DET_NSTATS];       /* VOC mAP NaN, COCO's -1 when no class counts */
    char definition[FV_DET_NSTATS][112]; /* printed beside each figure */
    fv_det_class *cls;                /* k */
} fv_det_metrics;

/* Every figure, or NULL with an error naming the image and box: k < 1, n < 1, a class outside
 * [0, k), a coordinate or score NaN or infinite, a box with x2 < x1 or y2 < y1, an area NaN or
 * infinite, a negative count or a NULL array with a positive count. Free with
 * fv_det_metrics_free. */
fv_det_metrics *fv_det_metrics_compute_(const fv_det_image *images, int64_t n, int k,
                                        fv_det_metrics_args a);
#define fv_det_metrics_compute(images, n, k, ...) \
    fv_det_metrics_compute_((images), (n), (k), (fv_det_metrics_args){._ = 0, __VA_ARGS__})
void fv_det_metrics_free(fv_det_metrics *m);
/* The short name of a figure ("AP50"), NULL outside the enum. */
const char *fv_det_stat_name(fv_det_stat s);
/* The figures as lines "NAME  VALUE  DEFINITION", then per class (names[c], or its index) VOC's
 * and COCO's AP; NaN and -1 printed as "n/a". */
fv_status fv_det_metrics_print(const fv_det_metrics *m, const char *const *class_names, FILE *out);
/* Every figure, its definition, the settings and per class the figures and both curves, as JSON
 * (NaN and -1 as null; atomic). class_names: k names, or NULL for "0", "1", ... */
fv_status fv_det_metrics_write_json(const fv_det_metrics *m, const char *const *class_names,
                                    const char *path);
/* VOC's precision-recall curve of class c and its interpolation (the running maximum of
 * precision from the right, whose area is the all-point AP), titled with the class's name and
 * its APs; or (c = -1) the curves of the first ten classes with positives in one figure. PNG or
 * SVG by path's extension. A class without positives has no curve: an error. */
fv_status fv_det_plot_pr(const char *path, const fv_det_metrics *m, int c,
                         const char *const *class_names);

/* ---------------------------------------------------------------- k-nearest neighbours */

/* The course's first classifier and the baseline a CNN is compared against: a sample gets the
 * majority class of its k nearest training samples. A sample is its values flattened in memory
 * order (any shape); the training set gives x (M, ...) with as many values per sample, y (M)
 * class indices in [0, num_classes) and num_classes. */
typedef enum fv_knn_metric {
    FV_KNN_L1 = 0, /* sum |a - b| (Manhattan) */
    FV_KNN_L2,     /* sqrt(sum (a - b)^2) (Euclidean) */
} fv_knn_metric;

struct fv_dataset;
/* Classifies the N samples of x (N, ...) by their k nearest training samples, 1 <= k <= M (meant
 * for small k: the cost grows with k). Neighbours are the k smallest distances, an equal distance
 * going to the smaller training index. scores (N x num_classes, row-major, or NULL): the fraction
 * of the k neighbours in each class, ready for fv_metrics_compute. pred (N, or NULL): the class
 * with the most votes; a tie goes to the class whose voters have the smaller summed distance,
 * then to the smaller class index (so pred may differ from the first argmax of scores).
 * L2 uses ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b (a GEMM per block, clamped at 0): float
 * cancellation leaves an absolute error of a few ulps of ||a||^2 + ||b||^2, so near-identical
 * samples' distances and the order of nearly equal ones are not exact. L1 is summed directly.
 * Results do not depend on the thread count. Errors: k out of range, feature counts that differ,
 * a label out of range, an empty set, a NaN or infinite value. */
fv_status fv_knn_predict(const struct fv_dataset *train, const fv_tensor *x, int k,
                         fv_knn_metric metric, double *scores, int *pred);
/* The fraction of test samples whose pred (above) equals their label; test's labels must be in
 * [0, train's num_classes). */
fv_status fv_knn_evaluate(const struct fv_dataset *train, const struct fv_dataset *test, int k,
                          fv_knn_metric metric, double *accuracy);

/* ---------------------------------------------------------------- data */

/* x: (N, C, H, W) or (N, features), float. y: (N) class index (as float) or (N, ...) targets. */
typedef struct fv_dataset {
    fv_tensor *x;
    fv_tensor *y;
    int num_classes; /* 0 for regression */
    char name[64];
    char **class_names; /* num_classes names (every set from the loaders below has them), or NULL;
                         * freed with the set */
} fv_dataset;

/* Class names. Every set from fv_dataset_load_dir[_n] (and the format loaders below) carries
 * num_classes names: an image folder its class folders' names; CIFAR-10 the names in
 * DIR/batches.meta.txt when present, else the standard ten ("airplane" ... "truck"); CIFAR-100
 * DIR/fine_label_names.txt when present, else "class k"; MNIST-format IDX files DIR/classes.txt
 * when present (then the number of classes is its number of names), else Fashion-MNIST's names
 * when DIR is Fashion-MNIST (its path contains "fashion" in any case, as the default data folder
 * does), else "0" ... "9" for 10 classes, else "class k". A names file holds one name a line
 * (blanks around a name and empty lines at the end are ignored; it must hold exactly the number
 * of classes for CIFAR). Every name is made valid UTF-8 as it is read (folder names and names
 * files alike): each byte of an invalid UTF-8 sequence, and each control character, becomes '?'.
 *
 * Test splits are labelled with the training split's classes: an image folder's DIR/test (or val)
 * with DIR/train's class folders (a test class folder that is not among them is an error naming
 * it; one that is missing shifts nothing). MNIST-format files without classes.txt have, in both
 * splits, 1 + the largest label of the training and test label files (both read whole, so that the
 * splits agree and a limit never changes it); with classes.txt a label beyond its names is an
 * error.
 *
 * Memory: decoded data (x of a set, one image) may not exceed the data limit, checked before it is
 * allocated: fv_set_data_limit's, else the environment's FOVEA_MAX_DATA_MB (MiB), else 2048 MiB.
 * A file that promises more than it holds (a truncated file, a header claiming a huge image, a
 * gzip member claiming more than its bytes can inflate to) fails costing memory in proportion to
 * what it holds. Single images are also limited to 2^26 pixels. */
/* Sets the data limit in bytes (0: back to FOVEA_MAX_DATA_MB or the default). Set it before
 * loading, from one thread. */
void fv_set_data_limit(size_t bytes);
/* The data limit in bytes now in force. */
size_t fv_data_limit(void);

/* MNIST-format IDX files (plain or .gz): images as (N, 1, H, W) in [0, 1], labels as class index;
 * the classes and their names as for a folder (above), the folder being the images file's. */
fv_dataset *fv_dataset_load_idx(const char *images_path, const char *labels_path);
/* One IDX file as a float tensor (u8 values kept as 0..255). */
fv_tensor *fv_idx_load(const char *path);
/* Fashion-MNIST (or MNIST) from a directory holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz];
 * dir NULL: fv_default_data_dir(). */
fv_dataset *fv_dataset_load_mnist_dir(const char *dir, int train);
const char *fv_default_data_dir(void); /* FOVEA_DATA or the Debian dataset-fashion-mnist folder */
/* The last component of a folder's path into buf (at most len - 1 characters): "mnist" for
 * "data/mnist/"; returns buf. */
const char *fv_folder_name(const char *dir, char *buf, size_t len);
/* CIFAR-10 / CIFAR-100 in the binary-batch format: records of label byte(s) + 3072 pixel bytes
 * (3 x 32 x 32, channel planes). CIFAR-10: dir/data_batch_{1..5}.bin (train) or test_batch.bin,
 * one label byte; CIFAR-100: dir/train.bin or test.bin, coarse then fine label byte (the fine
 * label, 100 classes, is used). x (N, 3, 32, 32) in [0, 1]. */
fv_dataset *fv_dataset_load_cifar10(const char *dir, int train);
fv_dataset *fv_dataset_load_cifar100(const char *dir, int train);
/* A dataset from a folder in any known format: MNIST-format IDX files, CIFAR-10 or CIFAR-100
 * batches (tried in that order by their file names), else an image folder of class sub-folders:
 * DIR/train, or DIR/test (else DIR/val), when they hold class folders, else DIR itself for both
 * splits; read at the channels and size of the training split's first image. A set with no
 * images is an error ("DIR: no images"), and so is a folder holding none of these formats ("DIR:
 * no MNIST-format files, CIFAR batches or class folders of images"). */
fv_dataset *fv_dataset_load_dir(const char *dir, int train);
/* The same, reading only the first `limit` samples (0: all): IDX and CIFAR files are decoded only
 * that far (later records are not read, so not checked), an image folder decodes only its first
 * `limit` files in class-then-name order (its classes are all listed). */
fv_dataset *fv_dataset_load_dir_n(const char *dir, int train, int64_t limit);
/* The same with an image folder's images decoded at (channels, height, width) (0: the first
 * training image's channels, or size; without a height and width, images of another size than
 * the first are an error). MNIST-format and CIFAR sets keep their own size (fv_dataset_resize,
 * fv_model_resize_inputs). */
fv_dataset *fv_dataset_load_dir_size(const char *dir, int train, int64_t limit, int channels,
                                     int height, int width);
/* An image folder (Keras' image_dataset_from_directory, torchvision's ImageFolder): one sub-folder
 * per class, class k the k-th name in strcmp order; in each, the .png/.jpg/.jpeg files (any case,
 * decoded by their content; other files and names starting with '.' are skipped) in name order,
 * converted to `channels` (1 or 3) and resized (bilinear, as fv_dataset_resize) to height x
 * width; 0 for channels, height or width takes the first image's, and then an image of another
 * size than the first is an error naming both (mixed sizes need a target size). x (N, C, H, W)
 * in [0, 1], y the class index. */
fv_dataset *fv_dataset_load_image_folder(const char *dir, int channels, int height, int width);
/* The name of class k (above), or NULL when k is out of range or the set has no names. */
const char *fv_dataset_class_name(const fv_dataset *d, int k);
/* The class names of Fashion-MNIST ("T-shirt/top", ...). */
const char *fv_fashion_mnist_class(int k);
/* x = (x - mean) / std, over all values. */
fv_status fv_dataset_normalize(fv_dataset *d, float mean, float std);
/* Converts every image of x (N, C, H, W) to (c, h, w) in place: gray -> RGB by repeating the
 * plane, RGB -> gray by ITU-R 601 luma, any other channel count only to itself; resized
 * bilinearly with half-pixel centers (PyTorch's align_corners=False, without antialiasing: a
 * strong reduction aliases). The new x must fit the data limit (checked before it is allocated;
 * 60,000 images at 3x224x224 are 36 GB): for a training set too large for that, let the model
 * resize each batch instead (fv_model_resize_inputs). */
fv_status fv_dataset_resize(fv_dataset *d, int c, int h, int w);
/* The first n samples (copies). */
fv_dataset *fv_dataset_take(const fv_dataset *d, int64_t start, int64_t n);
/* A validation split carved from d (a training set), so that what watches validation (early
 * stopping, plateau schedules, the best checkpoint) never sees the test set. *val gets
 * round(fraction * n) of d's n samples (halves up), drawn with `seed`; stratified: per class
 * instead, round(fraction * n_c) of each class's n_c samples, so every class keeps its share
 * (labels must be class indices in [0, num_classes)). *train gets the rest. Both keep d's order,
 * num_classes and class names (copies); *train is named as d, *val "NAME (validation)". The same
 * seed gives the same split. Errors: fraction not in (0, 1), a part left empty, labels that are
 * not class indices (stratified). */
fv_status fv_dataset_split(const fv_dataset *d, double fraction, uint64_t seed, int stratified,
                           fv_dataset **train, fv_dataset **val);
/* n samples of each class, drawn at random (a stream seeded with `seed`) and kept in their
 * order in d (copies): a stratified subset, as for few-shot transfer learning. Errors: a set
 * without classes, n < 1, a class with fewer than n samples. */
fv_dataset *fv_dataset_take_per_class(const fv_dataset *d, int64_t n, uint64_t seed);
void fv_dataset_free(fv_dataset *d);

/* The distorted MNIST sets of the spatial transformer paper (Jaderberg et al. 2015, section 4.1)
 * made from real digits (N, 1, H, W): R rotated within +-90 degrees; RTS rotated within +-45
 * degrees, scaled by 0.7..1.2 and placed at random on a 42x42 canvas; P a projective map (scale
 * 0.75..1, each corner moved by N(0, 0.1^2), normalized coordinates); E elastic (a thin-plate
 * spline through 4x4 control points, each moved by U(-0.15, 0.15)). Bilinear, zeros outside, so
 * every value stays within the digits' range and 0. Sample i comes from its own stream (seed,
 * i): deterministic on every machine. Names: "r", "rts", "p", "e", also with "mnist-" before. */
typedef enum fv_distortion {
    FV_DISTORT_R = 0,
    FV_DISTORT_RTS,
    FV_DISTORT_P,
    FV_DISTORT_E,
    FV_DISTORT__COUNT
} fv_distortion;
int fv_distortion_from_name(const char *name); /* -1: none */
const char *fv_distortion_name(fv_distortion k);
/* The output side for digits of `side` pixels (42 for RTS, else side). */
int fv_distortion_side(fv_distortion k, int side);
/* A new set (labels and class names copied; named "mnist-<kind>"); NULL with an error for
 * digits that are not (N, 1, H, W) with labels, an unknown kind or data over the data limit. */
fv_dataset *fv_dataset_distort(const fv_dataset *digits, fv_distortion kind, uint64_t seed);
/* One sample: in (h, w) to out (fv_distortion_side each side), with scratch of
 * fv_distort_scratch_bytes(h, w). */
size_t fv_distort_scratch_bytes(int h, int w);
fv_status fv_distort_sample(fv_distortion kind, uint64_t seed, int64_t index, const float *in,
                            int h, int w, float *out, double *scratch);

/* Vector data: a table of numbers per sample, from CSV or NumPy .npy files. Classification sets
 * get class-index labels (y (N)) and class names; regression sets real targets, y (N, k).
 * Values are used as they are (no normalization), except .npy |u1 features, which are pixels:
 * scaled to [0, 1] as the image loaders do. Every error is one line naming the file and, for CSV,
 * the line and column; NaN, Inf, empty cells and values beyond float range are errors. Memory
 * is bounded by the data limit (above), checked as rows arrive (CSV) or from the header (NPY). */
typedef struct fv_vec_args {
    int _;
    const char *target; /* CSV: the target column, by header name or 0-based index (negative
                           counts from the end: -1 the last); NULL: the last column */
    int header;         /* CSV: 0 auto (a header when the target is named, or when a cell other
                           than the target's on the first row is not empty and not a number),
                           1: the first row is a header, -1: there is none */
    int regression;     /* 1: real targets (CSV: y (N, 1); NPY: y (N) -> (N, 1), (N, k) kept);
                           0: class labels (below) */
    const fv_dataset *classes; /* classification: label with this set's classes (a test split
                                  with the training split's); else they come from the labels */
    int64_t limit;      /* only the first `limit` samples (0: all) */
} fv_vec_args;
/* A CSV file (RFC 4180: ',' separated, "quoted" fields with "" for a quote, LF or CRLF; a UTF-8
 * byte-order mark and blank lines are skipped; blanks around unquoted cells are dropped). Every
 * column but the target is a feature: x (N, columns - 1), decimal numbers. Class labels: when
 * every label is a number, each must be a whole number k in 0 .. 65535, class k, the classes
 * 0 .. the largest, named "0", "1", ... (a label like 2.5 is an error: real targets are
 * regression); else each distinct label is a class, in strcmp order, named by it (at most 65536
 * classes of at most 255 bytes). With .classes, a label is the class of that name, else a whole
 * number below its count. */
fv_dataset *fv_dataset_load_csv_(const char *path, fv_vec_args a);
#define fv_dataset_load_csv(path, ...) \
    fv_dataset_load_csv_((path), (fv_vec_args){._ = 0, __VA_ARGS__})
/* NumPy .npy files (format 1.0, 2.0 or 3.0; dtypes <f4, <f8, |u1, <i4, <i8; C order): x (N, ...)
 * (N) taken as (N, 1); y of N rows: class labels (N) or (N, 1), whole numbers in 0 .. 65535, the
 * classes 0 .. the largest named "0", "1", ... (or .classes'); or regression targets (N) or
 * (N, k). .target and .header are ignored. */
fv_dataset *fv_dataset_load_npy_(const char *x_path, const char *y_path, fv_vec_args a);
#define fv_dataset_load_npy(x_path, y_path, ...) \
    fv_dataset_load_npy_((x_path), (y_path), (fv_vec_args){._ = 0, __VA_ARGS__})

/* A PNG file as (1, C, H, W) in [0, 1] (gray or RGB, 8 bit; alpha dropped). */
fv_tensor *fv_png_load(const char *path);
/* Writes (C, H, W) or (1, C, H, W) values in [0, 1] as an 8-bit PNG (atomic). */
fv_status fv_png_save(const char *path, const fv_tensor *img);
/* A JPEG file as (1, C, H, W) in [0, 1] (gray or RGB; CMYK is refused). */
fv_tensor *fv_jpeg_load(const char *path);
/* Writes (C, H, W) or (1, C, H, W) values in [0, 1] as a baseline JPEG (atomic); quality 1..100
 * (0: 90). */
fv_status fv_jpeg_save(const char *path, const fv_tensor *img, int quality);
/* A PNG or JPEG file, told apart by its first bytes (not its name). */
fv_tensor *fv_image_load(const char *path);
/* Resize (bilinear) and convert channels so a loaded image fits an input of shape (c, h, w). */
fv_tensor *fv_image_fit(const fv_tensor *img, int c, int h, int w);

/* ---------------------------------------------------------------- detection data */

/* Object detection sets: per image its file and size and a list of labelled boxes. Readers check
 * every box and keep only the paths of the images (fv_detset_image decodes one). Every error is
 * one line naming the file and the thing: malformed XML or JSON, a missing or non-numeric field,
 * a box outside the image or of negative size, an image missing for an annotation, a class not
 * in the list. Memory is bounded by what the files hold: an XML file may be at most 16 MiB, a
 * JSON file at most an eighth of the data limit (fv_set_data_limit; cJSON's tree is several
 * times the text). */
typedef struct fv_det_object {
    fv_box box;     /* continuous corners (fv_box), inside the image */
    int cls;        /* index into the set's class_names */
    int difficult;  /* VOC's <difficult>1 (metrics ignore these boxes); 0 elsewhere */
    int iscrowd;    /* COCO's iscrowd; 0 elsewhere */
    float area;     /* COCO's (segment) area; else the box's area */
} fv_det_object;
typedef struct fv_det_annotation {
    char *file;     /* the image file's path (as found: folder + name) */
    int64_t id;     /* COCO's image id; else the image's index in the set */
    int width, height, depth; /* as the annotation says (depth 0 when it does not) */
    int nobjects;
    fv_det_object *objects;
} fv_det_annotation;
typedef struct fv_detset {
    int64_t nimages;
    fv_det_annotation *images;
    int num_classes;
    char **class_names; /* num_classes names */
    char name[64];
} fv_detset;
typedef struct fv_det_args {
    int _;
    const char *split;          /* VOC: the ids of ImageSets/Main/SPLIT.txt (NULL: every
                                   Annotations/NAME.xml, in name order) */
    const char *const *classes; /* the class list (a box of another class is an error); NULL:
                                   VOC: DIR/class_names.txt when present (one a line; labelme's
                                   leading "_background_" dropped), else the 20 Pascal VOC
                                   classes; COCO: the file's categories */
    int num_classes;
    const char *images;         /* COCO: the folder file_name is relative to (NULL: the JSON
                                   file's folder) */
    int64_t limit;              /* only the first `limit` images (0: all) */
} fv_det_args;
/* A Pascal VOC set: a folder (DIR/Annotations/NAME.xml, images in DIR/JPEGImages/) or one XML file
 * (its image beside it, else in ../JPEGImages). Parsed by libxml2 with network access and DTDs
 * off: a document with a DOCTYPE is refused, so no entity is ever expanded. Corners: VOC's are
 * 1-based and inclusive, labelme's continuous; both are read as x1 = max(0, xmin - 1), y1 =
 * max(0, ymin - 1), x2 = xmax, y2 = ymax (Detectron's reading of VOC), and 0 <= xmin <= xmax <=
 * width (likewise y) must hold. Objects without a class in the list are errors. */
fv_detset *fv_detset_load_voc_(const char *path, fv_det_args a);
#define fv_detset_load_voc(path, ...) \
    fv_detset_load_voc_((path), (fv_det_args){._ = 0, __VA_ARGS__})
/* A COCO instances file (instances_*.json): images (id, file_name, width, height), annotations
 * (image_id, category_id, bbox [x, y, w, h] -> corners, area, iscrowd; segmentation is not
 * read), categories (id, name) mapped to contiguous indices in id order (a category named
 * "_background_", labelme's, is dropped). Boxes of w or h < 0 or reaching outside the image
 * are errors; so are duplicate ids and annotations of unknown images or categories. */
fv_detset *fv_detset_load_coco_(const char *json_path, fv_det_args a);
#define fv_detset_load_coco(path, ...) \
    fv_detset_load_coco_((path), (fv_det_args){._ = 0, __VA_ARGS__})
/* Image i as (1, C, H, W) in [0, 1] (fv_image_load); its size must be the annotation's. */
fv_tensor *fv_detset_image(const fv_detset *d, int64_t i);
/* The number of boxes over all images. */
int64_t fv_detset_count(const fv_detset *d);
/* Image i's boxes as the metrics' ground truths (fv_det_metrics_compute): up to cap of them into
 * out (box, class, difficult, iscrowd as crowd, area); returns the image's box count (-1 when i
 * is out of range), so a call with cap 0 sizes the array. */
int64_t fv_detset_truths(const fv_detset *d, int64_t i, fv_det_truth *out, int64_t cap);
void fv_detset_free(fv_detset *d);

/* MNIST detection scenes (the NTNU TDT4265 course's set): digits of a set of (N, 1, H, W) images
 * in [0, 1] with class labels, each resized (bilinear, as fv_dataset_resize) to a square of a
 * side drawn uniformly in [min_side, max_side], put on a black size x size canvas at a uniform
 * position, 0 .. max_digits digits an image (the count uniform), composed by per-pixel max. A
 * new digit's box is drawn again (at most max_tries times, then that digit is left out) when its
 * IoU with an earlier box of the image is >= max_iou. Boxes are tight: the pixels of the resized
 * digit that are not zero (x2, y2 one past the last). Scene `index` of a seed is the same on
 * every machine and does not depend on any other scene. */
typedef struct fv_scene_args {
    int _;
    int size;          /* canvas side (default 300) */
    int min_side, max_side; /* digit sides (default 15, 100) */
    int max_digits;    /* default 19 */
    double max_iou;    /* default 0.25 */
    int max_tries;     /* default 100 */
    uint64_t seed;
} fv_scene_args;
/* Scene `index`: pixels (size * size floats) and its boxes into *img (objects fv_malloc'd, file
 * NULL; free with fv_det_annotation_clear). digits must hold images and labels (class = label). */
fv_status fv_scene_make_(const fv_dataset *digits, int64_t index, float *pixels,
                         fv_det_annotation *img, fv_scene_args a);
#define fv_scene_make(digits, index, pixels, img, ...) \
    fv_scene_make_((digits), (index), (pixels), (img), (fv_scene_args){._ = 0, __VA_ARGS__})
void fv_det_annotation_clear(fv_det_annotation *img);
/* Scenes 0 .. n-1 written in VOC layout under dir: JPEGImages/SPLIT_NNNNNN.png (8-bit gray),
 * Annotations/SPLIT_NNNNNN.xml, ImageSets/Main/SPLIT.txt and class_names.txt (the digits'
 * class names); fv_detset_load_voc(dir, .split = SPLIT) reads them back. Files are written
 * atomically; folders are made. */
fv_status fv_scenes_write_voc_(const char *dir, const char *split, const fv_dataset *digits,
                               int64_t n, fv_scene_args a);
#define fv_scenes_write_voc(dir, split, digits, n, ...) \
    fv_scenes_write_voc_((dir), (split), (digits), (n), (fv_scene_args){._ = 0, __VA_ARGS__})

/* Boxes drawn on an image (1 or 3, H, W) or (1, C, H, W) in [0, 1], written as PNG or SVG:
 * each box's outline in its class's colour with its label (names[cls], or the class number,
 * and the score when scores is not NULL) above it; scale magnifies the image (0: 1). */
fv_status fv_draw_boxes(const char *path, const fv_tensor *img, const fv_det_object *objs, int n,
                        const char *const *names, const float *scores, int scale);
/* Images with their boxes in a grid (cols a row, 0: square-ish), as PNG or SVG. */
fv_status fv_draw_boxes_grid(const char *path, const fv_tensor *const *imgs,
                             const fv_det_annotation *anns, int n, const char *const *names,
                             int cols, int scale);

/* ---------------------------------------------------------------- detectors */

/* The course's detectors (src/detect/; docs/DESIGN.md, Detectors): R-CNN (selective-search
 * proposals warped through a CNN), Fast R-CNN (one backbone pass, RoI pooling, a multi-task
 * head), Faster R-CNN (a region proposal network with anchors, trained end to end with the RoI
 * head) and a single-shot detector. Each is a few ordinary models (fv_model) and its settings;
 * they train, predict, evaluate and save the same way. */
typedef struct fv_detector fv_detector;
typedef struct fv_detector_args {
    int _;
    const char *arch;            /* "rcnn", "fast_rcnn", "faster_rcnn" or "ssd" */
    int num_classes;             /* object classes, background not counted */
    int channels, height, width; /* the images it takes */
    int max_dets;                /* detections kept an image (default 100) */
    float score_threshold;       /* detections scored below are dropped (default 0.05) */
    float nms_iou;               /* per-class NMS threshold (default 0.5; R-CNN 0.3, the paper's) */
    uint64_t seed;               /* parameter initialisation and sampling */
    const char *const *class_names; /* num_classes names (copied; NULL: "0", "1", ...) */
} fv_detector_args;

/* A detector of arch's architecture (src/detect/detect.c); defaults: 10 classes, 1 channel,
 * 160 x 160 input, max_dets 100, score_threshold 0.05, nms_iou 0.5. Images of any size are
 * resized (bilinearly) to the input and boxes mapped back. NULL with an error on a bad setting
 * or an unknown arch (the message lists the known ones). */
fv_detector *fv_detector_new_(fv_detector_args a);
#define fv_detector_new(...) fv_detector_new_((fv_detector_args){._ = 0, __VA_ARGS__})
void fv_detector_free(fv_detector *d);
/* The settings in force (defaults filled in; class_names the detector's copy). */
const fv_detector_args *fv_detector_settings(const fv_detector *d);
/* Changes how detections are post-processed (for fv_detector_detect and _evaluate; saved with
 * the detector): the per-class NMS IoU (0: keep), the score threshold (negative: keep; 0 keeps
 * every score) and the detections kept an image (0: keep). An out-of-range value is an error
 * and changes nothing. */
fv_status fv_detector_set_postprocess(fv_detector *d, float nms_iou, float score_threshold,
                                      int max_dets);

/* Where images and their boxes come from: MNIST scenes 0 .. count-1 made on the fly from digits
 * (fv_scene_make with `scenes`), or, with digits NULL, a detection set (VOC / COCO; count 0:
 * every image, else the first count). */
typedef struct fv_det_source {
    const struct fv_dataset *digits;
    fv_scene_args scenes;
    int64_t count;
    const fv_detset *set;
} fv_det_source;

/* One epoch of fit: the mean of each loss term over its steps (NaN for terms the architecture
 * does not have), the learning rate at its last step and its wall time. */
typedef struct fv_det_epoch {
    int epoch;
    double loss, cls, box, rpn_cls, rpn_box;
    double lr, seconds;
} fv_det_epoch;
typedef struct fv_det_history {
    int n;               /* epochs run */
    fv_det_epoch *epochs; /* n (free with fv_det_history_clear) */
    int64_t steps;
    double seconds;      /* training's wall time */
} fv_det_history;
void fv_det_history_clear(fv_det_history *h);

typedef struct fv_detector_fit_args {
    int _;
    fv_det_source data;
    int epochs;            /* passes over data (default 1) */
    int64_t steps;         /* > 0: stop after this many steps in all */
    int batch;             /* images a step (default 16) */
    const char *optimizer; /* fv_optim_from_name's names (default "adam") */
    float lr;              /* peak learning rate (default 0.002) */
    float momentum;        /* SGD (default 0.9) */
    float weight_decay;    /* default 0 */
    const char *schedule;  /* fv_schedule_preset's names (default "onecycle") */
    int warmup;            /* "cosine": warm-up epochs */
    uint64_t seed;         /* the order of the images */
    FILE *log;             /* a progress line per step and one per epoch (NULL: quiet) */
    fv_det_history *history; /* receives the epochs' losses (clear it after), or NULL */
} fv_detector_fit_args;
/* Trains the detector: each epoch the source's images in a fresh seeded order, `batch` at a time
 * through the architecture's training step. Errors: bad settings, a source without images, a
 * box of a class outside the detector's, a loss that is not finite. */
fv_status fv_detector_fit_(fv_detector *d, fv_detector_fit_args a);
#define fv_detector_fit(d, ...) \
    fv_detector_fit_((d), (fv_detector_fit_args){._ = 0, __VA_ARGS__})

/* Detections of each image of images (N, C, H, W) in [0, 1], of any size: dets[i] (fv_malloc'd,
 * free with fv_free) and ndets[i] for i < N (arrays of N the caller provides), boxes in the
 * image's pixels, best first. */
fv_status fv_detector_detect(fv_detector *d, const fv_tensor *images, fv_detection **dets,
                             int *ndets);
/* Detections on every image of src against its boxes: *out (free with fv_det_metrics_free) and
 * the mean wall time of detection per image in milliseconds (resize, network, decoding and NMS;
 * not the making or reading of the images), batch images at a time (0: 16). */
fv_status fv_detector_evaluate(fv_detector *d, const fv_det_source *src, int batch,
                               fv_det_metrics **out, double *ms_per_image);

/* A detector as a folder: DIR/detector.json (the settings, the architecture and its models'
 * names, as JSON), and per model DIR/NAME.fv (the model text) and DIR/NAME.safetensors (its
 * weights), every file written atomically; the folder is made when missing. Load checks each
 * model text against the architecture's model and reads the weights. */
fv_status fv_detector_save(const fv_detector *d, const char *dir);
fv_detector *fv_detector_load(const char *dir);

/* ---------------------------------------------------------------- fit / evaluate / predict */

typedef struct fv_epoch_metrics {
    int epoch;          /* 1-based */
    double loss, accuracy;          /* the epoch's training batches (running mean) */
    double val_loss, val_accuracy; /* fv_fit_args.validation's after the epoch; NaN without */
    double seconds, images_per_s;
    double lr;          /* the learning rate at the epoch's last step */
} fv_epoch_metrics;

/* Learning-rate schedules (PyTorch's lr_scheduler definitions). t counts epochs from 0, or steps
 * for ONE_CYCLE (per_step); the learning rate is base_lr times the factor unless stated. */
typedef enum fv_sched_kind {
    FV_SCHED_CONSTANT = 0,
    FV_SCHED_STEP,        /* gamma^(t / step_size) */
    FV_SCHED_MULTISTEP,   /* gamma^(number of milestones <= t) */
    FV_SCHED_EXPONENTIAL, /* gamma^t */
    FV_SCHED_POLYNOMIAL,  /* (1 - min(t, total) / total)^power */
    FV_SCHED_COSINE,      /* warm-up: epoch t < warmup uses base (t + 1) / (warmup + 1); then
                             cosine annealing from base to min_lr at `total` */
    FV_SCHED_ONE_CYCLE,   /* per step: cosine from max_lr / div_factor up to max_lr over
                             pct_start of `total` steps, then down to that / final_div_factor */
    FV_SCHED_PLATEAU,     /* multiply by factor when the monitored loss has not improved (by
                             threshold, relative) for patience epochs; cooldown; min_lr floor */
    FV_SCHED__COUNT
} fv_sched_kind;

typedef struct fv_schedule {
    int _;
    fv_sched_kind kind;
    float gamma;           /* STEP, MULTISTEP, EXPONENTIAL (default 0.1; 0.9 for EXPONENTIAL) */
    int step_size;         /* STEP (default 10) */
    int milestones[8];     /* MULTISTEP, increasing, 0-terminated */
    int total;             /* POLYNOMIAL, COSINE: epochs; ONE_CYCLE: steps (required) */
    float power;           /* POLYNOMIAL (default 1) */
    int warmup;            /* COSINE: warm-up epochs (default 0) */
    float min_lr;          /* COSINE's end and PLATEAU's floor (default 0) */
    float max_lr;          /* ONE_CYCLE (default: the optimizer's lr) */
    float pct_start;       /* ONE_CYCLE (default 0.3) */
    float div_factor, final_div_factor; /* ONE_CYCLE (default 25, 1e4) */
    float factor;          /* PLATEAU (default 0.1) */
    int patience, cooldown; /* PLATEAU (default 10, 0) */
    float threshold;       /* PLATEAU, relative (default 1e-4) */
} fv_schedule;
#define fv_schedule(...) ((fv_schedule){._ = 0, __VA_ARGS__})
/* A named schedule fitted to a run of `epochs` epochs of `steps` steps each: "constant"; "step"
 * halves the rate every third of the epochs; "exponential" decays it by 0.9 an epoch; "cosine"
 * anneals it to 0 over the epochs after `warmup` epochs of linear warm-up; "onecycle" runs over
 * every step with the base rate as the peak; "plateau" halves it after 2 epochs without
 * improvement of the validation loss. An unknown name is an error listing the names. */
fv_status fv_schedule_preset(const char *name, int epochs, int64_t steps, int warmup,
                             fv_schedule *out);

/* On-the-fly data augmentation of (C, H, W) training images, each sample drawn independently
 * from a seeded stream (fit derives one per batch from its own seed, so runs and resumed runs stay
 * reproducible, and a background thread can prepare the next batch). Applied in this order: crop,
 * affine warp (rotation, scale, aspect, translation; bilinear), flips, brightness/contrast,
 * saturation/hue/grayscale, cutout, random erasing; then, per batch, mixup or cutmix. Values are
 * the images as given (after any normalization; every color transform commutes with it): padding,
 * warped-in borders, cutout and erasing fill with `fill`. 0 turns a transform off. */
typedef struct fv_augment {
    int hflip, vflip;     /* flip with probability 1/2 */
    int crop_pad;         /* random crop of the original size from the image zero-padded by this
                             (random translation by up to crop_pad pixels) */
    float rotate;         /* rotate by U[-rotate, rotate] degrees (<= 180) */
    float scale;          /* zoom by U[1 - scale, 1 + scale] (< 1) */
    float aspect;         /* stretch: aspect ratio log-uniform in [1/(1 + a), 1 + a] */
    float translate;      /* shift by U[-t, t] of the width and of the height (<= 1) */
    float brightness;     /* add a uniform value in [-brightness, brightness] */
    float contrast;       /* scale the deviation from the image mean by U[1 - c, 1 + c] */
    float saturation;     /* RGB: blend with the luma by a factor U[1 - s, 1 + s] (<= 1) */
    float hue;            /* RGB: rotate colors about the gray axis by U[-h, h] turns (<= 0.5) */
    float grayscale;      /* RGB: probability of turning the image gray */
    int cutout;           /* erase a random cutout x cutout square (DeVries & Taylor 2017) */
    float erase;          /* probability of random erasing (Zhong et al. 2017): a box of 2-33%
                             of the area, aspect 0.3-3.3 */
    float mixup;          /* alpha: blend each image and its target with a random partner by
                             lam ~ Beta(alpha, alpha) (Zhang et al. 2018); needs soft targets */
    float cutmix;         /* alpha: paste a box of a random partner, targets by area (Yun et al.
                             2019); with mixup too, a fair coin picks one per batch */
    float fill;           /* the value of padding and erased pixels (e.g. the normalized black) */
} fv_augment;
/* The settings of a that are on, as text ("horizontal flip, rotate 10 deg, ..."; "none"), into
 * buf of len bytes (cut short when longer). */
void fv_augment_describe(const fv_augment *a, char *buf, size_t len);
/* Divergence: fit stops with FV_ERR_NUMERIC, "training diverged at epoch E, batch B: ...", when
 * a batch's loss is NaN or infinite, or explodes: above 1e6 and above 1e4 times the mean loss of
 * the first 10 batches of this call (of the batches so far while fewer; a resumed run takes its
 * own first batches); or when the weights are not finite after an epoch. That batch's update is
 * not applied, and nothing of the diverged epoch is saved: DIR/last.safetensors and
 * DIR/best.safetensors stay those of the last good epoch. The check costs one comparison a
 * batch and one pass over the weights an epoch; healthy runs stay orders of magnitude below it. */
typedef struct fv_fit_args {
    int _;
    int epochs;                    /* default 1 */
    int batch_size;                /* default 32 */
    const fv_dataset *validation;  /* evaluated after each epoch (val_*): what early stopping,
                                      plateau and the best checkpoint watch, so not the test set
                                      (fv_dataset_split holds one out of the training data) */
    int no_shuffle;                /* 1: keep the data order */
    uint64_t seed;                 /* shuffling, default 0 */
    int verbose;                   /* 0: silent, 1: live progress line + epoch line (to log) */
    FILE *log;                     /* default stderr */
    const char *csv_path;          /* per-epoch metrics CSV (atomic), or NULL */
    fv_epoch_metrics *history;     /* array of epochs entries filled, or NULL */
    fv_schedule schedule;          /* learning-rate schedule (default: constant) */
    int early_stopping;            /* > 0: stop after this many epochs without improvement of
                                      val_loss (or the training loss without validation) */
    float min_delta;               /* the improvement that counts, absolute (default 0) */
    int restore_best;              /* with early stopping: end with the best epoch's weights */
    int *epochs_run;               /* receives the number of epochs run, or NULL */
    const char *checkpoint_dir;    /* after each epoch: DIR/last.safetensors (everything needed
                                      to continue) and, when the monitored loss improves,
                                      DIR/best.safetensors; both atomic and loadable as weights */
    int resume;                    /* continue from DIR/last.safetensors when it exists; the
                                      result is bit-identical to an uninterrupted run with the
                                      same seed and thread count */
    float lr;                      /* > 0: the base learning rate of this run; it also wins over
                                      a resumed checkpoint's (logged when verbose). 0: the
                                      optimizer's, or the checkpoint's when resuming */
    int interrupt_after;           /* testing aid: abandon the run after this many batches (as
                                      if killed), returning FV_ERR_STATE */
    fv_augment augment;            /* training-time augmentation (default: none) */
    /* Data-parallel training (after fv_dist_init in an MPI job of N > 1 ranks): */
    int sync_bn;                   /* 1: batch norm's statistics (forward) and sums (backward)
                                      are reduced over the ranks, as one process with batch
                                      N x batch_size; 0: each rank normalizes its own samples
                                      and the running statistics are averaged after each epoch */
    int bucket_kib;                /* gradient bucket size in KiB (default 256) */
    struct fv_dist_stats *dist_stats; /* receives the step timings, or NULL */
} fv_fit_args;
fv_status fv_model_fit_(fv_model *m, const fv_dataset *train, fv_fit_args a);
#define fv_model_fit(m, train, ...) fv_model_fit_((m), (train), (fv_fit_args){._ = 0, __VA_ARGS__})

/* Mean loss and accuracy (accuracy only for classification). batch 0: 256. */
fv_status fv_model_evaluate(fv_model *m, const fv_dataset *d, int batch, double *loss,
                            double *accuracy);
/* Outputs of the prediction node for x (N, ...): *out (N, ...) is allocated. They are what the
 * last layer gives: logits for a model ending in a dense layer, probabilities for one ending in a
 * softmax (or sigmoid) layer, whatever the loss. */
fv_status fv_model_predict(fv_model *m, const fv_tensor *x, fv_tensor **out);
/* Class probabilities for x: fv_model_predict's outputs (N, K), turned into probabilities only
 * where they are not already: kept as they are when the model ends in a softmax or sigmoid layer
 * or its loss takes probabilities (SPARSE_CE_PROBS, CATEGORICAL_CE_PROBS, BCE, KL_DIV); through a
 * sigmoid for BCE_LOGITS; else softmax over the last axis. Metrics, reports and figures read
 * these, so no output is ever softmaxed twice. */
fv_status fv_model_predict_proba(fv_model *m, const fv_tensor *x, fv_tensor **out);
/* Softmax over each row of x (rows x cols), in place. */
void fv_softmax_rows(float *x, int64_t rows, int64_t cols);

/* One optimisation step on a batch; *loss is the batch mean, *correct the number right. */
fv_status fv_model_train_batch(fv_model *m, const float *x, const float *y, int n, double *loss,
                               int *correct);

/* ---------------------------------------------------------------- custom training loops */

/* Training with losses computed by the caller (Keras' train_step, PyTorch's explicit loop), e.g.
 * a detector's multibox loss, or models chained by the caller. After fv_model_compile (any loss,
 * FV_LOSS_NONE included; the compiled loss node is not run, no targets are needed):
 *   fv_model_forward(m, x, n);                    x: n samples of the input's shape
 *   const float *p = fv_model_node_output(m, -1);  compute the loss and dL/dp from p
 *   fv_model_backward(m, 1, (int[]){-1}, (const float *const[]){dp}, dx);
 *   fv_model_step(m);
 * forward runs every node on n samples (n may change between calls) in the model's mode
 * (fv_model_set_training: batch-norm statistics update in training mode, dropout drops); it
 * cannot check x's length: x must hold n times the input's size. node_output points into the
 * model's buffers (n x the node's size), valid until the next pass or plan; NULL (fv_last_error)
 * for a bad node, before a forward, or for a node a following ReLU overwrites in place (read the
 * ReLU's). backward adds dy[j] (n x the node's size) as the gradient of node nodes[j] (-1: the
 * output; each node once, at most 64; an inner node's is added to what later layers send back)
 * and ADDS the resulting parameter gradients to those held (two calls: the sum, as PyTorch);
 * dx != NULL receives the input's gradient (n x the input's size). Errors: no forward (or another
 * pass since), a bad or repeated node, a dy that is not finite (naming node and index).
 * zero_grad clears the parameter gradients; step applies the compiled optimizer exactly as
 * fv_model_train_batch does (weight decay, regularizers, clipping, lr multipliers, frozen layers)
 * and then clears the gradients. */
fv_status fv_model_forward(fv_model *m, const float *x, int n);
const float *fv_model_node_output(const fv_model *m, int node);
fv_status fv_model_backward(fv_model *m, int k, const int *nodes, const float *const *dy,
                            float *dx);
void fv_model_zero_grad(fv_model *m);
fv_status fv_model_step(fv_model *m);

/* ---------------------------------------------------------------- GANs */

/* Generative adversarial networks on the custom loop: a generator G (noise -> image) and a
 * discriminator D (image -> one score, a logit) as two compiled models (FV_LOSS_NONE), G's output
 * feeding D's input. Losses of D's scores s (means over the n samples):
 *   ns     BCE with logits: D  softplus(-s_real) + softplus(s_fake); G  softplus(-s_fake)
 *          (the non-saturating generator loss of Goodfellow et al. 2014)
 *   lsgan  least squares (Mao et al. 2017): D  (s_real - 1)^2 / 2 + s_fake^2 / 2; G  (s_fake - 1)^2 / 2
 *   hinge  (Lim & Ye 2017): D  max(0, 1 - s_real) + max(0, 1 + s_fake); G  -s_fake
 * loss_d / loss_g write the loss (may be NULL) and the gradients of it with respect to the
 * scores (each may be NULL). Errors: an unknown kind, n < 1, a score that is not finite. */
typedef enum fv_gan_loss { FV_GAN_NS = 0, FV_GAN_LSGAN, FV_GAN_HINGE, FV_GAN_LOSS__COUNT } fv_gan_loss;
fv_status fv_gan_loss_d(fv_gan_loss kind, const float *real, const float *fake, int n,
                        double *loss, float *dreal, float *dfake);
fv_status fv_gan_loss_g(fv_gan_loss kind, const float *fake, int n, double *loss, float *dfake);
/* "ns", "lsgan", "hinge" -> kind; -1 if none. */
int fv_gan_loss_from_name(const char *name);

/* One step's numbers: both losses, and D's mean score on the real batch and on the fake batch
 * before D's step and after it (the G step's): the probability sigmoid(s) for ns, the raw
 * score for lsgan and hinge. */
typedef struct fv_gan_stats {
    double loss_d, loss_g, d_real, d_fake, d_fake_after;
} fv_gan_stats;
/* One training step on n real images (D's input shape) and n noise vectors z (G's input shape),
 * in each model's mode (fv_model_set_training): G's forward on z gives the fake batch; the D
 * step: D's forward and backward on the real batch, then on the fake batch detached (no
 * gradient into G), and D's optimizer steps; the G step: D's forward on the same fake batch
 * (D updated), D's input gradient of the G loss fed to G's backward, G's optimizer steps. D's
 * parameter gradients from the G step are cleared and D is not stepped then: its parameters do
 * not move (batch norm's running statistics in training mode do, as in PyTorch). st may be NULL.
 * Errors: models not compiled, G's output size not D's input size, D's output not one score. */
fv_status fv_gan_step(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                      const float *z, int n, fv_gan_stats *st);
/* The two halves alone, each with its own G forward on z: the D step (real needed; the G
 * fields of st stay 0) and the G step (real not read; loss_d, d_real, d_fake stay 0). */
fv_status fv_gan_step_d(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                        const float *z, int n, fv_gan_stats *st);
fv_status fv_gan_step_g(fv_model *g, fv_model *d, fv_gan_loss kind, const float *z, int n,
                        fv_gan_stats *st);
/* DCGAN for 28x28 one-channel images (Radford et al. 2016 adapted): G: z (latent) -> dense to
 * 128x7x7 -> batch norm, ReLU -> transposed conv 4x4/2 to 64x14x14 -> batch norm, ReLU ->
 * transposed conv 4x4/2 to 1x28x28 -> tanh (images in [-1, 1]); D: conv 4x4/2 64 -> leaky ReLU
 * 0.2 -> conv 4x4/2 128 -> batch norm -> leaky ReLU 0.2 -> dense 1 (a logit). Weights
 * N(0, 0.02^2), compiled with Adam (lr 2e-4, beta1 0.5) from the seed. NULL (fv_last_error) on a
 * latent size outside 1..4096 or out of memory. */
fv_model *fv_dcgan_generator(int latent, uint64_t seed);
fv_model *fv_dcgan_discriminator(uint64_t seed);

/* Class-conditional GANs (Mirza & Osindero 2014; the labels as inputs of both networks): G's
 * input is z (latent values) followed by the one-hot label (classes values); D's input is the
 * image (C, H, W) followed by `classes` planes (H, W), plane k all ones and the others zeros for
 * label k. fv_gan_step_cond is fv_gan_step with labels[n] (0 .. classes - 1) for the real batch;
 * the fake batch is generated for the same labels, so D judges image and label together. The
 * gradient of D's input reaches G through the image part only. Errors: fv_gan_step's, a label
 * outside 0 .. classes - 1, G's input not larger than classes, D's input not C + classes planes. */
fv_status fv_gan_step_cond(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                           const int *labels, int classes, const float *z, int n,
                           fv_gan_stats *st);
/* n samples of G in evaluation mode (batch norm's running statistics; the mode is restored) on
 * z (n x latent) and, when classes > 0, labels[n]: out receives n x G's output size. */
fv_status fv_gan_generate(fv_model *g, const float *z, const int *labels, int classes, int n,
                          float *out);
/* The conditional DCGAN pair: fv_dcgan_generator / _discriminator with the label inputs above
 * (G's dense layer takes latent + classes values, D's first convolution 1 + classes channels).
 * classes 1 .. 1000. */
fv_model *fv_cdcgan_generator(int latent, int classes, uint64_t seed);
fv_model *fv_cdcgan_discriminator(int classes, uint64_t seed);

/* Seeded, bit-identical resume of a GAN run: G and D with their optimizers' state (Adam's moments
 * and step counts) and RNG streams, the caller's RNG (batch order and noise), the number of
 * epochs done and each epoch's numbers, in DIR/G.ckpt.safetensors and DIR/D.ckpt.safetensors
 * (each atomic, and loadable as plain weights). Training on from them gives, with the same
 * thread count, the same weights bit for bit as a run that never stopped. load: `max_epochs`
 * rows of room in history; errors (one line): a missing or corrupt file, a checkpoint of
 * another model or optimizer, G's and D's epochs differing (a run killed between the two
 * writes: start again from the older one), more epochs than max_epochs. */
typedef struct fv_gan_epoch {
    double loss_d, loss_g, d_real, d_fake, seconds;
} fv_gan_epoch;
fv_status fv_gan_checkpoint_save(fv_model *g, fv_model *d, const char *dir,
                                 int epochs, const fv_rng *rng, const fv_gan_epoch *history);
fv_status fv_gan_checkpoint_load(fv_model *g, fv_model *d, const char *dir, int max_epochs,
                                 int *epochs, fv_rng *rng, fv_gan_epoch *history);

/* The GAN quality measure (README "GANs"): a classifier trained on the same data set
 * stands in for Inception (whose weights do not exist offline). Its penultimate features (the
 * input of its last dense layer) of two image sets give the Frechet distance of the Gaussians
 * fitted to them (Heusel et al. 2017's FID formula with this extractor), and its class
 * probabilities the Inception Score exp(E_x KL(p(y|x) || p(y))) (Salimans et al. 2016, one
 * split). fv_gan_features: for n images x (the classifier's input, already normalized), the
 * features (n x *dim, allocated) and class probabilities (n x *k, allocated; the outputs
 * softmaxed unless the model ends in a softmax), evaluation mode, in batches of 256. */
fv_status fv_gan_features(fv_model *classifier, const float *x, int64_t n, float **features,
                          int *dim, float **probs, int *k);
/* The mean (dim) and covariance (dim x dim, divided by n - 1) of n >= 2 rows of dim values. */
fv_status fv_feature_moments(const float *x, int64_t n, int dim, double *mean, double *cov);
/* ||mu1 - mu2||^2 + tr(c1 + c2 - 2 (c1 c2)^(1/2)) for symmetric positive semi-definite c1, c2
 * (dim x dim): tr (c1 c2)^(1/2) is the sum of the square roots of the eigenvalues of the
 * symmetric s c2 s with s = c1^(1/2), both from eigen decompositions of symmetric matrices
 * (cyclic Jacobi; eigenvalues below 0 from rounding count as 0). Errors: dim < 1, values not
 * finite, a matrix that is not symmetric. */
fv_status fv_frechet_distance(const double *mu1, const double *c1, const double *mu2,
                              const double *c2, int dim, double *fd);
/* exp(mean over rows of KL(p_i || p_mean)) of n rows of k probabilities: 1 (all rows alike) to
 * k (each row sure of one class, the classes equally often). Errors: n < 1, k < 1, a value
 * outside [0, 1] or not finite. */
fv_status fv_inception_score(const float *probs, int64_t n, int k, double *is);

/* ---------------------------------------------------------------- report */

/* One self-contained HTML page for a training run: title, settings, test metrics (overall and per
 * class), the per-epoch history, figures (PNG files, embedded as data) and the model summary.
 * Every field may be NULL / 0 and is then left out. Written atomically. */
typedef struct fv_report {
    const char *title;
    const char *const *params;       /* key, value, key, value, ..., NULL */
    const fv_metrics *metrics;
    const char *const *class_names;  /* metrics->k names, or NULL */
    const fv_epoch_metrics *history;
    int epochs;
    const char *const *images;       /* PNG paths, NULL-terminated */
    const char *const *captions;     /* one per image, or NULL */
    const char *summary;             /* fv_model_summary's text */
} fv_report;
fv_status fv_report_write(const char *path, const fv_report *r);

/* ---------------------------------------------------------------- figures and run reports */

/* The names of a model's k classes, owned (free with fv_class_names_free): the data set's where it
 * has them, "class c" past them (a model may have more outputs than the data has classes) or
 * without a set. NULL: out of memory, or k outside 0..65536. */
char **fv_class_names(const fv_dataset *d, int64_t k);
void fv_class_names_free(char **names, int64_t k);

/* The first layer with 4-D weights (a convolution) and the last layer with a (C, h, w) output
 * before the first flat one: where filters and Grad-CAM are drawn; -1 when there is none. */
void fv_model_map_layers(const fv_model *m, int *first_conv, int *last_map);

/* Figures of what a network learned, as PNG image grids at path. img: one (1, C, H, W) image.
 * Filters: the (F, C, kh, kw) weights of `layer` (RGB when C = 3, else the mean over C). Maps:
 * up to 64 output maps of `layer` as heat tiles. Saliency: the image, its saliency for class cls
 * and Grad-CAM at `layer`, side by side, titled with class_name. Deconv: deconvnet projections of
 * the first 16 maps of `layer`. Class models: one image per class (up to 20) by gradient ascent,
 * captioned with names (or NULL). Mistakes: the 16 images of d that probs (N, classes) gets
 * wrong with the most confidence, captioned "true > predicted p"; *wrote says whether there was
 * any (none: no file). Curves: DIR/{loss,accuracy}.{png,svg}, train against validation (no
 * accuracy figure when the history has none: regression). */
fv_status fv_figure_filters(fv_model *m, int layer, const char *path);
fv_status fv_figure_maps(fv_model *m, const fv_tensor *img, int layer, const char *path);
fv_status fv_figure_saliency(fv_model *m, const fv_tensor *img, int cls, int layer,
                             const char *class_name, const char *path);
fv_status fv_figure_deconv(fv_model *m, const fv_tensor *img, int layer, const char *path);
fv_status fv_figure_class_models(fv_model *m, int classes, const char *const *names,
                                 const char *path);
fv_status fv_figure_mistakes(const fv_tensor *probs, const fv_dataset *d, const char *path,
                             int *wrote);
fv_status fv_figure_curves(const char *dir, const fv_epoch_metrics *history, int epochs);

/* A classifier's evaluation on d from its class probabilities probs (N, classes): every metric
 * into DIR/metrics.json and DIR/per_class.csv, and the confusion matrix, ROC, precision-recall
 * and reliability figures as DIR/NAME.{png,svg}. *keep (or NULL) takes the metrics (free them
 * with fv_metrics_free). DIR must exist. */
fv_status fv_evaluation_write(const fv_dataset *d, const fv_tensor *probs, const char *dir,
                              fv_metrics **keep);

/* A training run's report in DIR (which must exist): fv_evaluation_write's files for the model
 * on `test`, the training curves, the learned figures (filters, saliency and Grad-CAM of the
 * first test image for its predicted class, mistakes) and DIR/report.html with all of it, the
 * settings given, the parameter counts, the test split's size, the CPU and the kernels' level. */
typedef struct fv_run_report_args {
    int _;
    const char *data_name;          /* for the title "fovea: MODEL on DATA" (default: test's) */
    const fv_epoch_metrics *history; /* per-epoch figures: curves and the history table */
    int epochs;                     /* entries of history */
    const char *const *settings;    /* key, value, key, value, ..., NULL: shown first */
    fv_metrics **metrics;           /* takes the test metrics (free with fv_metrics_free), or NULL */
} fv_run_report_args;
fv_status fv_run_report_write_(fv_model *m, const fv_dataset *test, const char *dir,
                               fv_run_report_args a);
#define fv_run_report_write(m, test, dir, ...) \
    fv_run_report_write_((m), (test), (dir), (fv_run_report_args){._ = 0, __VA_ARGS__})

/* ---------------------------------------------------------------- files */

/* Weights as safetensors (F32, names like "conv1.weight") with the model's description in the
 * file's __metadata__ (see fv_model_set_meta below), written to a temporary name and renamed. */
fv_status fv_model_save_weights(const fv_model *m, const char *path);
/* Loads every parameter; a missing or mis-shaped tensor is an error and leaves the model unchanged.
 * The file is safetensors or a PyTorch state dict saved by torch.save (.pt/.pth, zip format; told
 * by its content): see docs/DESIGN.md, File formats. */
fv_status fv_model_load_weights(fv_model *m, const char *path);

/* Transfer learning: starting a model from weights of another (a safetensors file, a weights file
 * or a checkpoint of fovea's, a PyTorch torch.save state dict), matched by parameter name. A
 * parameter the file has takes its values (loaded); one it lacks keeps its current values (new:
 * e.g. a new head at its initialisation); one whose shape differs is an error naming both
 * shapes, or with skip_mismatched keeps its values (skipped). The file's tensors that no
 * parameter takes are counted (unused; a checkpoint's "__" training state is not). A file of
 * which no tensor is a parameter (weights of another architecture) is an error. On any error
 * nothing changes. */
typedef struct fv_load_report {
    int loaded, fresh, skipped; /* parameter tensors: loaded, new, skipped */
    int unused;                 /* tensors of the file */
    int64_t loaded_values;
} fv_load_report;
typedef struct fv_load_args {
    int _;
    int skip_mismatched;
    const char *exclude;    /* layers whose parameters are not taken from the file (they keep
                               their values and count as new): names or shell patterns,
                               comma-separated, e.g. the head about to be replaced */
    fv_load_report *report; /* filled on success, or NULL */
    FILE *log;              /* the report as lines (counts, names of new, skipped, unused), or NULL */
} fv_load_args;
fv_status fv_model_load_weights_partial_(fv_model *m, const char *path, fv_load_args a);
#define fv_model_load_weights_partial(m, path, ...) \
    fv_model_load_weights_partial_((m), (path), (fv_load_args){._ = 0, __VA_ARGS__})

/* ---------------------------------------------------------------- int8 quantization */

/* Post-training quantization for inference: each conv2d (one group) and dense layer gets int8
 * weights (symmetric, one scale per output channel) and a uint8 quantization of its input (one
 * scale and zero point per tensor) calibrated on images x (N, C, H, W) run through the float
 * model: FV_CALIB_MINMAX takes each input's observed range, FV_CALIB_PERCENTILE clips it to the
 * given percentile (e.g. 99.99) of its values at each end, FV_CALIB_ENTROPY at the |x| threshold
 * whose quantized histogram has the least Kullback-Leibler divergence from the observed one
 * (TensorRT's entropy calibration; `percentile` unused but by FV_CALIB_PERCENTILE). Afterwards inference (evaluate,
 * predict) runs those layers as int8 x uint8 products summed in int32, the bias, folded batch
 * norm, residual addition and ReLU applied in the layer's epilogue; other layers run in float.
 * That int8 path runs by default where the int8 GEMM has VNNI at the ISA level in force (where it
 * is faster); elsewhere the float path runs on the weights, which become the dequantized int8
 * values. The environment's FOVEA_INT8=on runs int8 everywhere, FOVEA_INT8=off nowhere. */
enum { FV_CALIB_MINMAX = 0, FV_CALIB_PERCENTILE = 1, FV_CALIB_ENTROPY = 2 };
fv_status fv_model_quantize(fv_model *m, const fv_tensor *x, int method, double percentile);
/* How many layers of m run in int8 (0: a float model). */
int fv_model_int8_layers(const fv_model *m);
/* Writes a quantized model as an int8 model file (safetensors with I8 weights, their scales and
 * the input quantization; docs/model-format.md), read back by fv_model_from_weights and
 * fv_model_load_weights. An error when m is not quantized. */
fv_status fv_model_save_quantized(const fv_model *m, const char *path);

/* Self-describing weights: fv_model_save_weights (and the training checkpoints) write, besides
 * the parameters, safetensors __metadata__ (string to string): "architecture" (the model text,
 * fv_model_to_text; left out for a model the text format cannot express), "input_shape" (JSON
 * array), and what fv_model_set_meta gave: "class_names" (JSON array of strings, one per output),
 * "normalization" (JSON {"mean": m, "std": s}: inputs are (x - m) / s of pixels in [0, 1]),
 * "dataset"; plus "fovea_version". The strings are copied. Errors: a number of class names other
 * than the model's outputs, a name that is empty, longer than 255 bytes or not valid UTF-8 (or
 * has control characters), std <= 0 or values not finite. */
typedef struct fv_model_meta {
    int _;
    const char *const *class_names; /* num_classes names, or NULL */
    int num_classes;
    float mean, std;                /* std 0: no normalization recorded */
    const char *dataset;            /* or NULL */
} fv_model_meta;
fv_status fv_model_set_meta_(fv_model *m, fv_model_meta a);
#define fv_model_set_meta(m, ...) fv_model_set_meta_((m), (fv_model_meta){._ = 0, __VA_ARGS__})

/* What a weights file says about its model, read from its header alone. Absent keys leave their
 * fields NULL / 0; other keys are ignored. Hostile metadata is a one-line error naming the file and
 * the key: a value that is not the JSON described above, over 1 MiB (architecture, class names)
 * or 4 KiB (the others), over 65,536 class names. */
typedef struct fv_weights_info {
    char *architecture;        /* the model text, or NULL */
    char **class_names;        /* num_classes names, or NULL */
    int num_classes;
    int input_ndim;            /* one sample's input shape, 0 when absent */
    int64_t input_dims[4];
    int has_normalization;
    float mean, std;
    char *dataset;             /* or NULL */
} fv_weights_info;
fv_weights_info *fv_weights_info_read(const char *path);
/* An empty description (nothing known), for a model whose weights come with it (ONNX). */
fv_weights_info *fv_weights_info_new(void);
void fv_weights_info_free(fv_weights_info *w);
/* A model from a weights file alone: built from its architecture text, compiled with `a`, its
 * weights loaded (all of them) and its metadata set (fv_model_set_meta). Errors: a file without
 * an architecture, class names that do not match the outputs, any error of the parts. */
fv_model *fv_model_from_weights_(const char *path, fv_compile_args a);
#define fv_model_from_weights(path, ...) \
    fv_model_from_weights_((path), (fv_compile_args){._ = 0, __VA_ARGS__})

/* A weights file opened once for several uses: its metadata, a model built from it, its
 * parameters loaded into a model. fv_weights_info_read, fv_model_from_weights and
 * fv_model_load_weights each open (and a torch.save .pt: read and decode) the file again; a
 * caller that needs two of them opens it once here. A .pt is read whole when opened, a
 * safetensors file's header (its tensors when loaded). Open: NULL with the error, as those
 * functions report it; the uses take the same checks and errors as theirs. */
typedef struct fv_weights_file fv_weights_file;
fv_weights_file *fv_weights_file_open(const char *path);
void fv_weights_file_close(fv_weights_file *f);
fv_weights_info *fv_weights_file_info(const fv_weights_file *f);
fv_model *fv_model_from_weights_file_(const fv_weights_file *f, fv_compile_args a);
#define fv_model_from_weights_file(f, ...) \
    fv_model_from_weights_file_((f), (fv_compile_args){._ = 0, __VA_ARGS__})
fv_status fv_model_load_weights_file(fv_model *m, const fv_weights_file *f);

/* A model from the text format (models/NAME.fv): one layer per line, Keras names and arguments. */
fv_model *fv_model_load_file(const char *path);
fv_model *fv_model_parse(const char *text, const char *filename);
/* Adds one layer written as a line of that format ("permute dims=2,3,1 name=p"), reading node
 * `in` unless the line has inputs=: every layer of the format, also those without a function of
 * their own here. Returns the node id (its activation's, with activation=) or -1. */
int fv_layer_text(fv_model *m, int in, const char *line);
/* The model as text of that format (parsing it gives the same layers); free() it. NULL: error. */
char *fv_model_to_text(const fv_model *m);
/* Writes fv_model_to_text(m) to path (atomic: a temporary name, then rename). */
fv_status fv_model_save_file(const fv_model *m, const char *path);

/* ONNX import (opsets 7 to 17): the graph's ops mapped onto fovea's layers, the exporter's shape
 * glue (Shape, Gather, Concat, ... on constants) folded, model-local functions inlined, the
 * initializers as the layers' weights. The graph has one input whose first axis is the batch;
 * the first graph output is the model's output (its last node). The model is not compiled:
 * compiling it takes the imported weights instead of initializing them. An op, attribute or
 * operand fovea cannot compute exactly is an error naming the node, the op and its opset (see
 * docs/onnx.md). fv_model_load_file also reads .onnx files. _mem: from bytes, `name` naming them
 * in errors and naming the model. */
fv_model *fv_model_load_onnx(const char *path);
fv_model *fv_model_load_onnx_mem(const void *data, size_t len, const char *name);
/* The i-th ONNX op the importer maps onto layers (from 0; NULL past the last). */
const char *fv_onnx_supported_op(int i);
/* What the claim of op i leaves out, as a phrase for docs/onnx.md (NULL: nothing but the
 * limits of every claim: float32 tensors of a batch axis and 1 to 4 axes per sample), and in
 * *rules (may be NULL) the FV_ONNX_* flags saying which cases fall outside it. */
#define FV_ONNX_NO_BATCH_AXIS 1u /* an operation along the batch axis (refused naming it) */
#define FV_ONNX_UP_TO_2D 2u      /* spatial ops on inputs of rank 5 and more (3-D) */
const char *fv_onnx_claim_limits(int i, unsigned *rules);
/* ONNX export: the compiled model m as an ONNX file at `opset` (13 to 17; 0: 13), written
 * atomically. The graph's input "input" is (N, sample shape) with N symbolic, its output
 * "output" the prediction node's values (logits, or probabilities for a model ending in
 * softmax); the weights are float32 initializers named as in the weights files. A layer ONNX
 * cannot express at that opset is an error naming the layer and its op (docs/DESIGN.md). */
fv_status fv_model_save_onnx(const fv_model *m, const char *path, int opset);

/* ---------------------------------------------------------------- Darknet */

/* A network from a Darknet .cfg (pjreddie's Darknet): [net] (width, height, channels; training
 * keys ignored), [convolutional] (batch_normalize, groups), [maxpool] (Darknet's padding and
 * output size), [avgpool], [connected], [dropout], [softmax] (groups, temperature; tree=FILE:
 * Darknet's word tree, a segment softmax per group of siblings, the file opened as Darknet opens
 * it: the path as written), [route], [shortcut], [upsample], [crop] (test time: centre crop,
 * 2x - 1), [cost] (passes its input), [reorg] with extra=N (the input flattened, N zeros after);
 * activations linear, relu, leaky (0.1), logistic, tanh, elu, ramp. Nodes are named after
 * Darknet's layer numbers ("conv_0", "max_1", "fc_8", "softmax_9"; docs/DESIGN.md). Unknown
 * sections or keys, bad values, a route to a later layer and detection layers ([region], [yolo],
 * [detection]) are one-line errors "<file>:<line>: [section] (layer N): <problem>". Not
 * compiled. fv_model_load_file gives .cfg files (content starting with [net] or [network]) here. */
fv_model *fv_model_load_darknet(const char *cfg_path);
fv_model *fv_model_parse_darknet(const char *text, size_t len, const char *filename);
/* Whether m was built from a Darknet cfg. */
int fv_model_is_darknet(const fv_model *m);
/* A Darknet .weights file (header major, minor, revision, seen; then each layer's floats in
 * Darknet's order) into a compiled model built from its cfg. The size must match the layers
 * exactly (a short file names the first layer it lacks); nothing changes on an error. */
fv_status fv_model_load_darknet_weights(fv_model *m, const char *weights_path);
fv_status fv_model_load_darknet_weights_mem(fv_model *m, const void *data, size_t len,
                                            const char *name);
/* The layer table Darknet prints when it loads the cfg, same columns (shapes from fovea). */
fv_status fv_model_darknet_table(const fv_model *m, FILE *out);
/* Darknet's hierarchy_predictions as `classifier predict` applies it to a network whose last
 * [softmax] has a word tree (tree=FILE: a segment softmax per group of siblings): in class
 * order, each probability times its parent's (as already multiplied), then every class that is
 * some class's parent set to 0 (only the leaves kept). probs holds one sample's n values (n must
 * be the tree's size). Nothing changes for a network without a tree. */
fv_status fv_model_darknet_hierarchy(const fv_model *m, float *probs, int64_t n);
/* Darknet's preprocessing of an image (1, C, H, W) or (C, H, W) in [0, 1]: its resize_image
 * (corner-aligned bilinear, its rounding) and letterbox_image (`classifier predict`'s: scaled to
 * fit w x h keeping the aspect, centred on 0.5 grey). Return (1, C, h, w); free with
 * fv_tensor_free. */
fv_tensor *fv_image_darknet_resize(const fv_tensor *img, int w, int h);
fv_tensor *fv_image_darknet_letterbox(const fv_tensor *img, int w, int h);

/* ---------------------------------------------------------------- segmentation */

/* Semantic segmentation (docs/DESIGN.md, "Segmentation"): a mask is (H, W) class indices stored
 * as floats; networks output (classes, H, W) logits and train with the per-pixel losses
 * (FV_LOSS_PIXEL_CE, FV_LOSS_DICE, FV_LOSS_PIXEL_BCE). The zoo builds fcn32s, fcn16s, fcn8s and
 * unet (fv_zoo; default input 1x64x84, 11 classes). */
#define FV_SEG_MAX_CLASSES 256

/* How mean IoU treats a class absent from both truth and prediction (tp + fp + fn = 0). */
typedef enum fv_iou_absent {
    FV_IOU_ABSENT_SKIP = 0, /* left out of the mean, its IoU NaN (Keras' MeanIoU; default) */
    FV_IOU_ABSENT_ONE,      /* IoU 1: nothing to find and nothing found is right */
    FV_IOU_ABSENT_ZERO,     /* IoU 0 */
} fv_iou_absent;

/* A confusion matrix accumulated over a whole data set: counts[truth * classes + predicted], the
 * (weighted) number of pixels, in double. */
typedef struct fv_confusion {
    int classes;
    int use_ignore, ignore; /* truth pixels of label `ignore` are not counted */
    double *counts;
} fv_confusion;
/* Errors: classes outside 1..FV_SEG_MAX_CLASSES. Free with fv_confusion_free. */
fv_status fv_confusion_init(fv_confusion *c, int classes, int use_ignore, int ignore);
void fv_confusion_free(fv_confusion *c);
/* Counts n pixels: truth and predicted class indices; weights (NULL: 1 each) as Keras'
 * sample_weight. Errors (nothing counted then): a truth label outside [0, classes) other than the
 * ignore label, a prediction outside [0, classes), a weight negative or not finite. */
fv_status fv_confusion_add(fv_confusion *c, const float *truth, const float *pred,
                           const float *weights, int64_t n);
/* The same for a batch of n logit maps (n, classes, hw) (prediction: the first largest channel)
 * against truth (n, hw). */
fv_status fv_confusion_add_logits(fv_confusion *c, const float *logits, const float *truth,
                                  int64_t n, int64_t hw);
/* pixel accuracy = trace / total (NaN when nothing was counted); iou[k] (classes values, or
 * NULL) = tp / (tp + fp + fn), the absent rule deciding classes with tp + fp + fn = 0; mean IoU
 * the mean over the classes the rule keeps (NaN when it keeps none). */
void fv_confusion_scores(const fv_confusion *c, fv_iou_absent rule, double *iou,
                         double *mean_iou, double *pixel_accuracy);

/* PASCAL VOC's palette: index i's colour (bits of i interleaved into the high bits of R, G, B;
 * 255, the VOC ignore label, is (224, 224, 192)). */
void fv_voc_color(int index, unsigned char rgb[3]);
/* An indexed PNG mask (colour type palette, 1 to 8 bits) as an (H, W) tensor of its indices.
 * Errors: not a PNG, a PNG that is not indexed (a mask must be), corrupt data. */
fv_tensor *fv_mask_load(const char *path);
fv_tensor *fv_mask_decode(const char *name, const unsigned char *buf, size_t len);
/* Writes an (H, W) or (1, H, W) mask of integers 0..255 as an 8-bit indexed PNG with the VOC
 * palette (through a temporary file). Errors: another shape, a value that is not such an integer. */
fv_status fv_mask_save(const char *path, const fv_tensor *mask);
/* A mask against its image of height x width and the classes: errors (naming `what`) for other
 * sizes and for labels outside [0, classes) other than the ignore label. */
fv_status fv_mask_check(const char *what, const fv_tensor *mask, int64_t height, int64_t width,
                        int classes, int use_ignore, int ignore);

/* An image (1 or 3 channels; (C, H, W) or (1, C, H, W), values in [0, 1]) with its mask
 * (H, W) drawn over it: each pixel of a class other than `background` (-1: none) blended with
 * the class's VOC colour, (1 - alpha) image + alpha colour (alpha 0: 0.5). Returns (1, 3, H, W);
 * NULL with the error for shapes that differ or a label outside 0..255. */
fv_tensor *fv_mask_overlay(const fv_tensor *image, const fv_tensor *mask, int background,
                           float alpha);

/* M2NIST-style scenes: up to max_digits digits of an (N, 1, 28, 28) set (e.g. MNIST) pasted at
 * their size at random places of a height x width black canvas without their boxes overlapping,
 * composed by per-pixel max; the mask labels each pixel where a digit is above `threshold` with
 * its digit (0..9; on overlap of values the brighter digit), every other pixel background (10).
 * Scene i comes from its own stream (seed, i): the same on every machine, any one alone. */
typedef struct fv_m2nist_args {
    int _;
    uint64_t seed;
    int height, width; /* default 64 x 84 */
    int max_digits;    /* default 3: 1 to 3 digits a scene */
    float threshold;   /* default 0.5 */
    int max_tries;     /* placements tried for each digit (default 50) */
} fv_m2nist_args;
#define FV_M2NIST_CLASSES 11
/* Scene `index` into pixels and mask (height x width each). */
fv_status fv_m2nist_make_(const fv_dataset *digits, int64_t index, float *pixels, float *mask,
                          fv_m2nist_args a);
#define fv_m2nist_make(digits, index, pixels, mask, ...) \
    fv_m2nist_make_((digits), (index), (pixels), (mask), (fv_m2nist_args){._ = 0, __VA_ARGS__})
/* Scenes first .. first+n-1 as a data set: x (n, 1, h, w), y (n, h, w), 11 classes "0" .. "9",
 * "background". NULL with the error. */
fv_dataset *fv_m2nist_dataset_(const fv_dataset *digits, int64_t first, int64_t n,
                               fv_m2nist_args a);
#define fv_m2nist_dataset(digits, first, n, ...) \
    fv_m2nist_dataset_((digits), (first), (n), (fv_m2nist_args){._ = 0, __VA_ARGS__})

/* ---------------------------------------------------------------- image captioning (issue 25) */

/* A vocabulary: token k is words[k]; 0 <pad>, 1 <start>, 2 <end>, then the words. On disk one
 * token a line (no spaces; each once). */
typedef struct fv_vocab {
    int size;
    char **words;
} fv_vocab;
/* The captioned scenes' vocabulary (the digits 0..9 and the words of their captions). */
fv_vocab *fv_vocab_default(void);
fv_vocab *fv_vocab_read(const char *path);
/* From text (`name` names it in errors): bad tokens, repeats, missing specials are errors. */
fv_vocab *fv_vocab_parse(const char *text, size_t len, const char *name);
fv_status fv_vocab_write(const fv_vocab *v, const char *path); /* atomic */
void fv_vocab_free(fv_vocab *v);
/* The index of word[0..len), -1 if absent. */
int fv_vocab_index(const fv_vocab *v, const char *word, size_t len);
/* A caption (words separated by spaces) as `steps` tokens: the words, <end>, <pad>s; *len counts
 * the words and <end>. Errors: a word outside the vocabulary or a special token, more than
 * steps - 1 words, no words. */
fv_status fv_caption_encode(const fv_vocab *v, const char *caption, int steps, float *tokens,
                            int *len);
/* Tokens up to <end> as words separated by spaces (specials left out), cut to fit `size`. */
void fv_caption_decode(const fv_vocab *v, const int *tokens, int n, char *out, size_t size);

/* Captioned images: images (n, 1, H, W) in [0, 1], one caption each. */
typedef struct fv_caption_set {
    fv_tensor *images;
    char **captions;
    int64_t n;
} fv_caption_set;
void fv_caption_set_free(fv_caption_set *s);
/* Captioned digit scenes: 1 to 4 digits of an (N, 1, <=28, <=28) set in the cells of a 2 x 2
 * grid on a 64 x 64 canvas, each shifted 0..4 pixels, captioned in reading order with the
 * relation of each digit to the one before ("left of": same row, "above": the cell below,
 * ", then": the next row elsewhere), e.g. "three digits : 7 left of 2 , then 9". Scene i from its
 * own stream (seed, i). */
typedef struct fv_caption_args {
    int _;
    uint64_t seed;
} fv_caption_args;
fv_caption_set *fv_caption_scenes_(const fv_dataset *digits, int64_t first, int64_t n,
                                   fv_caption_args a);
#define fv_caption_scenes(digits, first, n, ...) \
    fv_caption_scenes_((digits), (first), (n), (fv_caption_args){._ = 0, __VA_ARGS__})
/* A set on disk: DIR/vocab.txt, DIR/captions.txt (one "FILE caption words" line an image) and
 * the PNG images DIR/000000.png ... (atomic files). */
fv_status fv_caption_set_write(const fv_caption_set *s, const fv_vocab *v, const char *dir);
/* Image i of the set as a gray PNG (atomic). */
fv_status fv_caption_image_save(const fv_caption_set *s, int64_t i, const char *path);
/* Reads DIR/captions.txt and its images against v. Errors name the line: a token outside the
 * vocabulary, a bad file name, an image that is missing or not the size of the first. */
fv_caption_set *fv_caption_set_read(const char *dir, const fv_vocab *v);
/* Parses a captions file's text: the lines' file names and captions (free them with
 * fv_captions_free). */
fv_status fv_captions_parse(const char *text, size_t len, const char *name, const fv_vocab *v,
                            char ***files, char ***captions, int64_t *count);
void fv_captions_free(char **files, char **captions, int64_t count);

/* The captioner: a small CNN encoder (three conv 3x3 + max-pool stages, 16/32/64 filters) whose
 * features give the LSTM's initial states h0 (dense, tanh) and c0 (dense); the decoder embeds
 * the caption so far (<start> first), runs the LSTM over it and maps every step to the
 * vocabulary (dense per_step). One input carries both: (1, H + 1, W), the image's H rows and a
 * last row whose first `steps` values are the tokens (split by cropping2d layers), so fit,
 * save and load treat it as any model. Trained with teacher forcing and FV_LOSS_SEQUENCE_CE
 * (padding ignored). */
typedef struct fv_captioner_args {
    int _;
    int units; /* LSTM units (default 256) */
    int embed; /* embedding size (default 64) */
    int steps; /* decoder steps: words + <end> (default 14, the scenes' longest caption) */
} fv_captioner_args;
fv_model *fv_captioner_new_(int height, int width, int vocab, fv_captioner_args a);
#define fv_captioner_new(height, width, vocab, ...) \
    fv_captioner_new_((height), (width), (vocab), (fv_captioner_args){._ = 0, __VA_ARGS__})
/* The packed inputs x (n, 1, H + 1, W) and targets y (n, steps) of n images and captions (teacher
 * forcing: the input row is <start> and the words, the targets the words, <end>, padding 0). */
fv_status fv_captioner_pack(const fv_model *m, const fv_vocab *v, const float *images,
                            char *const *captions, int n, float *x, float *y);
/* The decoder's steps (words + <end>) of a compiled captioner; 0 with the error if m is none. */
int fv_captioner_steps(const fv_model *m);
/* Greedy decoding of n images (n, 1, H, W): tokens (n, steps), each caption ending with <end>
 * unless it runs to the last step. */
fv_status fv_captioner_greedy(fv_model *m, const float *images, int n, int *tokens);
/* Beam search of one image with `beam` hypotheses: the caption with the highest length-normalised
 * log-probability (sum of log p over its tokens, <end> included, divided by their number), its
 * tokens (steps) and *score that mean. Beam 1 is greedy decoding. */
fv_status fv_captioner_beam(fv_model *m, const float *image, int beam, int *tokens,
                            double *score);
/* Corpus BLEU-4 (Papineni et al. 2002) of n hypotheses against one reference each (words
 * separated by spaces): the brevity penalty times the geometric mean of the clipped 1- to 4-gram
 * precisions pooled over the corpus; 0 when any precision is 0 (no smoothing). */
double fv_bleu4(const char *const *hyp, const char *const *ref, int64_t n);

/* ---------------------------------------------------------------- data-parallel training (MPI) */

/* Joins the MPI job this process was started in (`mpirun -np N prog`): fv_model_fit then trains
 * data-parallel. Each rank takes its share of every global batch of N x batch_size samples from
 * the one seeded shuffle, the gradients are summed over the ranks in buckets started as soon as
 * the backward pass has finished them (overlapping the rest of backward, in a fixed order, so a
 * run is bit-reproducible), and the result equals one process with batch N x batch_size (up to
 * float rounding). Rank 0 alone writes checkpoints, the metrics CSV and the progress; validation
 * is split over the ranks and its sums reduced. A checkpoint resumes on any number of ranks.
 * A final global batch smaller than N is dropped (at most N - 1 samples an epoch).
 * Outside mpirun the process stays single (size 1). A build without MPI started by mpirun with
 * N > 1 ranks is an error saying so. The library's communicator returns MPI errors (a rank that
 * died) as statuses, not aborts. Calling it again is a no-op. */
fv_status fv_dist_init(int *argc, char ***argv);
/* Leaves the job (MPI_Finalize); no-op in a single process. */
void fv_dist_finalize(void);
/* Ends the whole job at once with `code` (MPI_Abort: mpirun names this rank), for an error on one
 * rank that the others cannot know of; in a single process, returns. */
void fv_dist_abort(int code);
int fv_dist_rank(void); /* 0 in a single process */
int fv_dist_size(void); /* 1 in a single process */
int fv_dist_available(void); /* 1 when this build has MPI */

/* What a fit's training steps cost (fv_fit_args.dist_stats), summed over the run. */
typedef struct fv_dist_stats {
    int64_t steps;
    double step_s;   /* whole steps: forward, backward, reductions, update */
    double wait_s;   /* of which blocked in reductions: the gradient buckets still running after
                        backward, the per-step loss sum, synchronized batch norm */
    int64_t grad_bytes; /* gradient bytes each rank reduces per step */
    int buckets;     /* gradient buckets per step */
} fv_dist_stats;

#ifdef __cplusplus
}
#endif
#endif /* FOVEA_H */
