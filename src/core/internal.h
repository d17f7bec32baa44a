/* internal.h - the engine's internal contract: errors, memory, threads, graph nodes, parameters and
 * the op table's contract (the table itself is ops/registry.c; running it is graph/graph.h).
 * Included by every folder of src/; never by users (see include/fovea.h). */
#ifndef FV_INTERNAL_H
#define FV_INTERNAL_H

#include "fovea.h"

#include <stdarg.h>
#include <stdbool.h>

/* ---------------------------------------------------------------- errors and memory (error.c) */

/* Sets the thread's last error (printf format) and returns s, so: return fv_err(FV_ERR_IO, ...). */
fv_status fv_err(fv_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A table of `count` items of `size` bytes (capacity *cap) with room for one more: items itself,
 * or it moved (capacity doubled, from `first`); NULL when out of memory (items is kept). For the
 * tables of nodes and of parameters. */
void *fv_grow_table(void *items, int *cap, int count, size_t size, int first, const char *what);
/* The status the last fv_err gave (FV_OK after fv_clear_error): a caller that only got -1 or NULL
 * passes it on instead of guessing one. */
fv_status fv_last_status(void);
/* Internal invariant: names file:line in the error and returns FV_ERR_STATE (never aborts). */
#define FV_CHECK(cond)                                                                          \
    do {                                                                                        \
        if (!(cond))                                                                            \
            return fv_err(FV_ERR_STATE, "internal error at %s:%d: %s", __FILE__, __LINE__, #cond); \
    } while (0)
#define FV_TRY(expr)                    \
    do {                                \
        fv_status fv_try_s_ = (expr);   \
        if (fv_try_s_ != FV_OK)         \
            return fv_try_s_;           \
    } while (0)

/* Allocation through the hookable allocator; on failure sets "out of memory allocating N bytes for
 * <what>" and returns NULL. fv_calloc zero-fills. fv_free(NULL) is a no-op. */
void *fv_malloc(size_t size, const char *what);
void *fv_calloc(size_t count, size_t size, const char *what);
void *fv_realloc(void *ptr, size_t old_size, size_t new_size, const char *what);
void fv_free(void *ptr);
char *fv_strdup(const char *s, const char *what);

/* ---------------------------------------------------------------- tensors (tensor.c) */

/* Gives t the shape dims[0..ndim) with contiguous (row-major) strides; its data is untouched. */
void fv_tensor_set_shape(fv_tensor *t, int ndim, const int64_t *dims);

/* ---------------------------------------------------------------- threads (threads.c) */

typedef void (*fv_task_fn)(void *ctx, int task);
/* Runs fn(ctx, t) for t in [0, ntasks): contiguous ranges, one per worker, the caller being worker
 * 0; returns when all are done. Nested calls run serially. */
void fv_parallel(int ntasks, fv_task_fn fn, void *ctx);
/* How many workers fv_parallel(ntasks, ...) uses, and the current worker's index (0 outside). */
int fv_parallel_width(int ntasks);
int fv_worker(void);
/* Splits [0, total) into `parts` contiguous ranges; range k is [*a, *b). */
static inline void fv_split(int64_t total, int parts, int k, int64_t *a, int64_t *b)
{
    *a = total * k / parts;
    *b = total * (k + 1) / parts;
}
typedef void (*fv_share_fn)(void *ctx, int t, int64_t a, int64_t b);
/* Runs fn(ctx, t, a, b) for each of `width` workers (fv_parallel(width, ...)) on its share
 * [a, b) of [0, count) by fv_split, skipping empty shares. */
void fv_parallel_shares(int width, int64_t count, fv_share_fn fn, void *ctx);

/* ---------------------------------------------------------------- graph */

#define FV_MAX_IN 8     /* inputs of one node */
#define FV_MAX_PARAMS 8 /* parameters of one node (a bidirectional LSTM's 8) */
#define FV_NAME_LEN 64

typedef enum fv_op {
    FV_OP_INPUT = 0,
    FV_OP_CONV2D,
    FV_OP_DENSE,
    FV_OP_MAXPOOL2D,
    FV_OP_AVGPOOL2D,
    FV_OP_RELU,
    FV_OP_SIGMOID,
    FV_OP_TANH,
    FV_OP_SOFTMAX,
    FV_OP_FLATTEN,
    FV_OP_RESHAPE,
    FV_OP_ADD,
    FV_OP_CONCAT,
    FV_OP_DROPOUT,
    FV_OP_BATCHNORM,
    FV_OP_SOFTMAX_CE,
    FV_OP_MSE,
    FV_OP_ELTWISE, /* the other activations of fv_act, one op with the kind as an attribute */
    FV_OP_LOSS,    /* the other losses of fv_loss, one op with the kind as an attribute */
    FV_OP_GLOBAL_AVGPOOL,
    FV_OP_GLOBAL_MAXPOOL,
    FV_OP_LRN,
    FV_OP_CONV2D_TRANSPOSE, /* attributes fv_conv_attr; filters = output channels */
    FV_OP_UPSAMPLE,  /* nearest or bilinear, integer scale */
    FV_OP_PAD_CROP,  /* zero padding (positive) or cropping (negative) of H and W */
    FV_OP_GROUP_NORM, /* group, instance and layer normalization */
    FV_OP_PRELU,      /* a learned slope per channel (or one) */
    FV_OP_MAXOUT,     /* the maximum over groups of k consecutive channels */
    FV_OP_MAXUNPOOL,  /* in[0] values placed back through in[1]'s (a max pool's) switches */
    FV_OP_LPPOOL,     /* power-average pooling: (sum x^p)^(1/p) over each window */
    FV_OP_FRACPOOL,   /* fractional max pooling (Graham 2014; PyTorch's FractionalMaxPool2d) */
    FV_OP_ADAPTIVE_AVGPOOL, /* average pooling to a fixed grid (PyTorch's AdaptiveAvgPool2d) */
    FV_OP_PERMUTE,    /* the order of a sample's axes (Keras' Permute) */
    FV_OP_RESIZE,     /* ONNX Resize of H and W: nearest, linear, cubic (ops/interp.c) */
    FV_OP_BINARY,     /* a OP b with broadcasting: two nodes, or a node and a constant */
    FV_OP_SEGMENT_SOFTMAX, /* softmax over consecutive segments of each sample */
    /* spatial transformers (ops/grid.c, ops/stn.c) */
    FV_OP_AFFINE_GRID,  /* theta (2x3) -> sampling grid (OH, OW, 2) */
    FV_OP_TPS_GRID,     /* control-point displacements -> thin-plate-spline grid */
    FV_OP_GRID_SAMPLE,  /* x (C, H, W) read at a grid (OH, OW, 2) */
    FV_OP_SPATIAL_TRANSFORMER, /* regression of theta from features, grid and sampler in one */
    FV_OP_PIXEL_LOSS, /* the per-pixel (per-step) losses of fv_loss, the kind an attribute */
    /* sequences (ops/rnn.c, ops/embedding.c) */
    FV_OP_RNN,       /* simple RNN, LSTM, GRU over (T, F); one or two directions */
    FV_OP_EMBEDDING, /* token indices -> rows of a (vocab, dim) table */
    FV_OP__COUNT
} fv_op;

typedef struct fv_conv_attr {
    int filters, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias;
} fv_conv_attr;
/* Transposed convolution: the convolution's attributes (read through .conv as well: a common
 * initial member) and the output padding. */
typedef struct fv_convt_attr {
    fv_conv_attr conv;
    int oph, opw;
} fv_convt_attr;
typedef struct fv_pool_attr {
    int kh, kw, sh, sw, ph, pw;
    int ceil_mode, exclude_pad;
    int pad_end;  /* max pooling: extra padding after the end of each axis (Darknet's odd padding) */
    float power; /* LP pooling */
} fv_pool_attr;
/* Fractional max pooling: windows kh x kw at PyTorch's pseudo-random starts, or (kh = kw = 0)
 * Graham's disjoint regions. The output size is oh x ow, or floor(H rh) x floor(W rw). */
typedef struct fv_frac_attr {
    int kh, kw;
    int oh, ow;     /* 0: from the ratios */
    double rh, rw;  /* in (0, 1); double, so floor(H r) is PyTorch's */
    int random;     /* disjoint regions: a random order of increments, else pseudo-random */
} fv_frac_attr;
typedef struct fv_adaptive_attr {
    int oh, ow; /* the output grid */
} fv_adaptive_attr;
typedef struct fv_dense_attr {
    int units, bias;
    int per_step; /* a (T, F) input: the same dense layer at each of the T steps (T, units) */
} fv_dense_attr;
typedef struct fv_dropout_attr {
    float rate;
    int spatial;  /* one mask value per (sample, channel) */
    uint64_t key; /* training: this forward's mask stream, drawn from the model's RNG */
} fv_dropout_attr;
typedef struct fv_bn_attr {
    float momentum, eps;
} fv_bn_attr;
typedef struct fv_concat_attr {
    int axis; /* axis of one sample's shape */
} fv_concat_attr;
typedef struct fv_reshape_attr {
    int ndim;
    int64_t dims[4]; /* one sample's target shape; one entry may be -1 */
} fv_reshape_attr;

typedef struct fv_eltwise_attr {
    int act;     /* an fv_act */
    float alpha; /* leaky_relu's slope, elu's and selu's alpha, hard_sigmoid's slope, clip's min */
    float beta;  /* selu's gamma, hard_sigmoid's offset, clip's max */
} fv_eltwise_attr;

typedef struct fv_loss_attr {
    int kind;        /* an fv_loss */
    float smoothing; /* label smoothing */
    float delta;     /* Huber */
    int use_ignore;  /* the per-pixel losses: targets equal to ignore are left out */
    int ignore;
} fv_loss_attr;

typedef struct fv_lrn_attr {
    int size;                 /* channels in the window */
    float alpha, beta, k;
} fv_lrn_attr;

typedef struct fv_resize_attr {
    int sh, sw, bilinear;     /* upsample: scale factors, interpolation */
    int top, bottom, left, right; /* pad (> 0) or crop (< 0) */
    int pad_mode;             /* an fv_pad_mode */
    float pad_value;          /* FV_PAD_CONSTANT's value */
} fv_resize_attr;

typedef struct fv_gnorm_attr {
    int kind;   /* 0 group norm, 1 instance norm, 2 layer norm */
    int groups; /* group norm */
    float eps;
} fv_gnorm_attr;

typedef struct fv_maxout_attr {
    int pieces;  /* maxout: k */
    int shared;  /* prelu: one slope for all channels */
} fv_maxout_attr;

typedef union fv_attr {
    fv_maxout_attr maxout;
    fv_gnorm_attr gnorm;
    fv_resize_attr resize;
    fv_convt_attr convt;
    fv_lrn_attr lrn;
    fv_eltwise_attr eltwise;
    fv_loss_attr loss;
    fv_conv_attr conv;
    fv_pool_attr pool;
    fv_frac_attr frac;
    fv_adaptive_attr adaptive;
    fv_dense_attr dense;
    fv_dropout_attr dropout;
    fv_bn_attr bn;
    fv_concat_attr concat;
    fv_reshape_attr reshape;
    /* the attributes of an op that defines their struct in its own file (which checks the size) */
    _Alignas(8) unsigned char raw[48];
} fv_attr;

/* The initializers (fv_init, fovea.h) and one the ops use beyond them. */
#define FV_INIT_QUARTER ((fv_init)FV_INIT__COUNT) /* 0.25: PReLU's initial slope */
/* The identity 2x3 affine matrix (1 0 0 0 1 0) for a parameter of 6 values, else zeros: the
 * spatial transformer's regression bias (ops/stn.c). */
#define FV_INIT_AFFINE_IDENTITY ((fv_init)(FV_INIT__COUNT + 1))

/* One parameter's initializer: kind (an fv_init or FV_INIT_QUARTER), FV_INIT_CONSTANT's value,
 * the glorot / xavier / orthogonal gain (0: 1), and fan_out: he / kaiming / lecun scale by
 * fan_out instead of fan_in. */
typedef struct fv_init_rule {
    int kind;
    float value, gain;
    int fan_out;
} fv_init_rule;
/* A layer's choice of initializers (fv_node.init): its weight's (parameter 0) and its bias's
 * (parameter 1); kind FV_INIT_DEFAULT leaves the one the op declared (fv_param.init). */
typedef struct fv_init_spec {
    fv_init_rule weight, bias;
} fv_init_spec;

/* Initializer k's definition in words and (into *alias) its other name, NULL for none (init.c;
 * the doc's table). */
const char *fv_init_doc(fv_init k, const char **alias);
/* How an initializer draws (fv_init_scale). */
typedef enum fv_init_dist {
    FV_DIST_CONSTANT,   /* every value `scale` */
    FV_DIST_UNIFORM,    /* U(-scale, scale) */
    FV_DIST_NORMAL,     /* N(0, scale^2) */
    FV_DIST_TRUNCATED,  /* N(0, scale^2) redrawn outside [-2 scale, 2 scale] (Keras') */
    FV_DIST_ORTHOGONAL, /* orthonormal rows or columns times `scale` (the gain) */
    FV_DIST_BILINEAR,   /* bilinear upsampling kernels on the channel diagonal */
} fv_init_dist;
/* The distribution and scale of rule r for a parameter with these fans (init.c); -1 for a
 * random kind without fans (fan_in or fan_out 0). */
int fv_init_scale(const fv_init_rule *r, int64_t fan_in, int64_t fan_out, double *scale);
/* Fills x, a parameter of shape dims[0..ndim) with these fans, by rule r from rng. Errors: a
 * kind the parameter cannot take, out of memory (orthogonal's work matrix). */
fv_status fv_init_fill(float *x, int ndim, const int64_t *dims, int64_t fan_in, int64_t fan_out,
                       const fv_init_rule *r, fv_rng *rng);

/* One parameter tensor: lives at data_slab + offset (and grad_slab + offset if trainable). */
typedef struct fv_param {
    char name[FV_NAME_LEN + 16]; /* "<node>.<what>" */
    int ndim;
    int64_t dims[4];
    int64_t numel;
    int64_t offset;
    int trainable;
    fv_init init;            /* the op's (the node's fv_init_spec may override it) */
    int64_t fan_in, fan_out; /* PyTorch's fans for this layout (0 for a bias) */
    int node;
    float *preset; /* numel values compile takes instead of the initializer (an imported model's
                      weights, fv_param_preset), fv_malloc'd; NULL: none */
} fv_param;

/* Keras-style kernel regularization of a node's first parameter (its weight): the penalty
 * l1 sum|w| + l2 sum w^2 joins the loss and its gradient the weight's; after each update every
 * output unit's weight vector (a row of the weight) is scaled down to norm max_norm. */
typedef struct fv_regularizer {
    float l1, l2, max_norm;
} fv_regularizer;

typedef struct fv_node {
    fv_op op;
    char name[FV_NAME_LEN];
    int nin;
    int in[FV_MAX_IN];
    /* one sample's output shape (the batch dimension N comes from the plan) */
    int ndim;
    int64_t dims[4];
    int64_t size; /* product of dims */
    fv_attr a;
    int nparam;
    int param[FV_MAX_PARAMS]; /* indices into model->params */
    int hidden;     /* an activation folded into the previous layer's summary row */
    fv_regularizer reg;
    fv_init_spec init; /* the layer's initializers (zeros: the op's) */
    int frozen;     /* its parameters are not updated; a frozen batch norm runs as in eval */
    float lr_mult;  /* learning-rate multiplier of its parameters (0: 1) */
    int needs_grad; /* backward must produce this node's dy (set by the planner) */
    int last_use;   /* the highest index of a node consuming this one (-1: none; the planner) */
    int nuse;       /* how many inputs of other nodes are this one (the planner) */
    int dy_fresh;   /* in backward: dy holds stale values, which its first writer (an op that
                     * overwrites_dx) overwrites instead of adding to (fv_input_dy_fresh) */
    /* planned buffers, each for model->plan_batch samples */
    float *y, *dy;
    void *saved;        /* what backward needs (argmax, mask, mean/rstd, probabilities) */
    size_t saved_bytes;
} fv_node;

/* A layer's arguments and text-format spellings (ops/schema.h). */
typedef struct fv_schema fv_schema;

/* What an op is, beyond its arithmetic (fv_op_def.flags). */
enum {
    FV_OPF_ACT = 1 << 0,      /* an activation: fv_node_act says which (ops/schema.h) */
    FV_OPF_LOSS = 1 << 1,     /* a loss: in[0] the prediction, in[1] the target, y[0] the loss */
    FV_OPF_SOLE = 1 << 2,     /* a loss only this op computes (the catalogue op lacks its kind) */
    FV_OPF_IN_PLACE = 1 << 3, /* its output may share its input's buffer: forward is element-wise
                               * and backward reads the output where it would read the input */
};

typedef struct fv_op_def {
    const char *name;  /* auto-naming stem: "conv2d" */
    const char *kind;  /* summary type column (Keras class): "Conv2D" */
    /* The layer's arguments and text forms; NULL: not a layer of the text format (losses). */
    const fv_schema *schema;
    unsigned flags;    /* FV_OPF_* */
    int act;           /* FV_OPF_ACT: the fv_act it computes (FV_ACT_NONE: its attribute says) */
    int loss;          /* FV_OPF_LOSS: the fv_loss it computes (FV_LOSS_NONE: its attribute says) */
    /* Checks the inputs (m->nodes[n->in[i]]) against n->a, sets n->ndim/dims and declares the
     * parameters with fv_param_declare. Errors name the layer and the shapes. */
    fv_status (*infer)(fv_model *m, fv_node *n);
    /* Bytes of n->saved for a batch of `batch` samples (NULL: none). */
    size_t (*saved_bytes)(const fv_model *m, const fv_node *n, int batch);
    /* Bytes of scratch ONE worker needs (NULL: none); the planner gives every worker a slice of
     * the maximum over nodes (fv_workspace). */
    size_t (*workspace_bytes)(const fv_model *m, const fv_node *n, int batch);
    /* y = f(inputs) for `batch` samples. */
    void (*forward)(fv_model *m, fv_node *n, int batch);
    /* Accumulates (+=) into the inputs' dy (those with needs_grad) and the parameters' grads;
     * an input's dy that fv_input_dy_fresh says is stale is written instead, every value. */
    void (*backward)(fv_model *m, fv_node *n, int batch);
    /* 1 when backward writes every input's whole dy (stale: fv_input_dy_fresh) without reading
     * it; the first writer of a dy then skips its zeroing. */
    int overwrites_dx;
    /* The summary's type of one node when it depends on attributes (NULL: the node's form's
     * kind, else `kind`). */
    const char *(*kind_of)(const fv_node *n);
    /* After a forward: an error the input values caused (an embedding's token outside its
     * vocabulary), which the pass that ran it returns (NULL: none can). */
    fv_status (*check)(const fv_model *m, const fv_node *n);
} fv_op_def;

extern const fv_op_def *const fv_op_table[FV_OP__COUNT];

struct fv_model {
    char name[FV_NAME_LEN];
    int nnodes, cap_nodes;
    fv_node *nodes;
    int nparams, cap_params;
    fv_param *params;
    int64_t param_total; /* floats in the slabs */
    float *data_slab;    /* all parameters (trainable first, then running statistics) */
    float *grad_slab;    /* gradients, same offsets; only the trainable prefix is used */
    int64_t trainable_total;
    int name_counter[FV_OP__COUNT];

    int input_node, output_node, target_node, loss_node;
    fv_loss loss;
    fv_optimizer opt;
    float *opt_state;  /* optimizer slots: 3 x trainable_total */
    int64_t opt_steps; /* bias corrections, Adagrad's decay */
    double opt_mu_product; /* NAdam's running product of momentum coefficients */
    float *class_weights;  /* NULL, or one weight per class for the loss */
    /* The first failure of a layer call (fv_layer_add): its status and message. Later layer
     * calls that read a failed call's result (-1, or FV_LAST) report it again, and compile
     * returns it, so a chain of calls ends with the error that started it. */
    fv_status first_status;
    char first_error[512];
    int compiled;
    int training;
    int inferring;  /* fv_graph_infer's pass: no op keeps what only backward reads (switches) */
    int input_grad; /* backward also fills the input node's dy (saliency, gradient checks) */
    int loop_batch; /* samples of the fv_model_forward pass still in the buffers (0: none;
                     * any other pass or a new plan clears it): fv_model_backward's check */
    fv_rng rng; /* initialisation and dropout */

    int plan_batch;    /* buffers are sized for this many samples (any smaller batch fits) */
    void *arena;       /* y, dy and saved buffers of every node */
    void *workspace_mem; /* the allocation behind workspace */
    float *workspace;  /* scratch: one slice of workspace_stride bytes per worker */
    size_t workspace_bytes, workspace_stride;
    int plan_threads;  /* the thread count the workspace was sized for */
    int plan_shared;   /* dy buffers share memory by liveness (see plan.c) */
    int resize_inputs;  /* fit, evaluate, predict convert images to the input (C, H, W) */
    int no_size_search; /* a layer whose input shrank too far is not explained by a search for
                           the smallest input (ops/node.c): set by builders that search whole */

    /* What a weights file says besides the parameters (fv_model_set_meta), written into its
     * __metadata__ by fv_model_save_weights and the checkpoints (formats/weightsmeta.c). */
    char **class_names; /* meta_classes names (fv_malloc'd), or NULL */
    int meta_classes;
    float norm_mean, norm_std; /* the inputs' normalization; norm_std 0: none recorded */
    char *dataset;      /* the data set's name, or NULL */
    char *arch_text;    /* the model as text when the metadata was set; dropped (NULL) when the
                         * layers change afterwards (a replaced head) */
    /* What a format knows about the model besides its nodes (formats/darknet_cfg.c: Darknet's
     * layer table, for its weights and its summary), freed with the model by ext_free. */
    void *ext;
    void (*ext_free)(void *ext);
    /* The int8 form of its convolutions and dense layers when quantized (ops/quant.h), freed
     * with the model by quant_free. */
    struct fv_quant *quant;
    void (*quant_free)(struct fv_quant *q);
    /* Integer lists of node attributes (a segment softmax's lengths), kept by the model so that
     * nodes copied by value share them (ops/node.c: fv_model_keep_ints); freed with the model. */
    int **int_lists;
    int n_int_lists, cap_int_lists;
    /* Data-parallel training (nn/dist_fit.c, core/dist.h), set by fit for its run: */
    int sync_bn;        /* training batch norm reduces its sums over the ranks */
    double dist_weight; /* this rank's samples over the global batch's (scales the gradients) */
    /* Called by fv_graph_run_backward after each node's backward (NULL: none): the node's
     * parameter gradients are final then. */
    void (*grad_ready)(fv_model *m, int node, void *ctx);
    void *grad_ctx;
};

/* Worker w's scratch slice (64-byte aligned). */
static inline float *fv_workspace(const fv_model *m, int w)
{
    return (float *)((char *)m->workspace + (size_t)w * m->workspace_stride);
}

/* Parameter access for op kernels. */
static inline float *fv_pdata(const fv_model *m, const fv_node *n, int i)
{
    return m->data_slab + m->params[n->param[i]].offset;
}
static inline float *fv_pgrad(const fv_model *m, const fv_node *n, int i)
{
    const fv_param *p = &m->params[n->param[i]];
    return p->trainable ? m->grad_slab + p->offset : NULL;
}
static inline const fv_node *fv_input_node(const fv_model *m, const fv_node *n, int i)
{
    return &m->nodes[n->in[i]];
}
/* The input's gradient buffer, or NULL when nothing upstream needs it (skip that dx). */
static inline float *fv_input_dy(const fv_model *m, const fv_node *n, int i)
{
    const fv_node *x = &m->nodes[n->in[i]];
    return x->needs_grad ? x->dy : NULL;
}
/* Whether input i's dy is stale: backward writes it (=) instead of adding to it (+=). */
static inline int fv_input_dy_fresh(const fv_model *m, const fv_node *n, int i)
{
    return m->nodes[n->in[i]].dy_fresh;
}

/* Declares a parameter of node n (during infer); returns its index in n->param or an error
 * (params.c, as the two below). */
fv_status fv_param_declare(fv_model *m, fv_node *n, const char *what, int ndim,
                           const int64_t *dims, int trainable, fv_init init, int64_t fan_in,
                           int64_t fan_out);

/* Initialises parameter i's values in the data slab by its layer's initializer (or the op's),
 * drawing from m->rng. */
fv_status fv_param_init(fv_model *m, int i);
/* Gives parameter i the numel values v at compile instead of its initializer (copied; an
 * imported model's weights on a model not yet compiled). */
fv_status fv_param_preset(fv_model *m, int i, const float *v);
/* Frees the presets of parameters [from, nparams) (model free, rollback). */
void fv_param_presets_free(fv_model *m, int from);
/* Allocates the parameter slabs and initialises them with m->rng, or with their presets, which
 * it then frees (compile calls it). */
fv_status fv_graph_alloc_params(fv_model *m);
/* Writes a node's shape "(None, 6, 28, 28)" Keras-style. */
const char *fv_node_shape_str(const fv_node *n, char *buf, size_t len);

/* ---------------------------------------------------------------- ranking (boxes.c) */

/* A score and the index it belongs to. fv_ranked_cmp (for qsort) orders by score descending,
 * equal scores by index ascending: a total order, so every qsort gives the same result (NMS,
 * the RPN's top proposals, SSD's candidates and hard negatives). */
typedef struct fv_ranked {
    double score;
    int index;
} fv_ranked;
int fv_ranked_cmp(const void *a, const void *b);

#endif /* FV_INTERNAL_H */
