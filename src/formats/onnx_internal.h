/* onnx_internal.h - what the ONNX importer's files share (formats/onnx_*.c): the import context,
 * constant tensors with a symbolic batch size, the graph's nodes after inlining, and the calls
 * between the parts: onnx_read.c (protobuf and tensor decoding, attributes, the arena),
 * onnx_graph.c (function inlining, topological order, names), onnx_fold.c (constant folding of
 * the exporters' shape glue), onnx_ops.c / onnx_ops2.c / onnx_ops3.c / onnx_arith.c (ONNX ops
 * onto fovea's layers) and onnx_import.c (the driver: inputs, values, outputs, weights). */
#ifndef FV_ONNX_INTERNAL_H
#define FV_ONNX_INTERNAL_H

#include "core/internal.h"
#include "formats/fv_onnx.pb-c.h"

#include <stdbool.h>

#define OX_BATCH (INT64_MIN + 1000003) /* the batch size, symbolic, in folded integer tensors
                                        * (not INT64_MIN + 1: PyTorch's "to the start" end) */
#define OX_MAXR 8                /* the largest rank of a tensor the importer handles */
#define OX_MAX_NUMEL (1 << 26)   /* elements of a folded or integer constant (float ones: what
                                  * the file holds) */
#define OX_FILE_MAX ((size_t)INT32_MAX) /* bytes of one .onnx file (protobuf's 2 GB) */
#define OX_MAX_NODES 100000      /* nodes of a graph after inlining */
#define OX_OPSET_MIN 7
#define OX_OPSET_MAX 17

/* A constant: float (f) or integer / boolean (i, isint) values, row-major. */
typedef struct ox_tensor {
    int ndim;
    int64_t dims[OX_MAXR];
    int64_t numel;
    int isint;
    float *f;
    int64_t *i;
} ox_tensor;

typedef enum ox_kind { OX_UNSET = 0, OX_CONST, OX_NODE, OX_GONE } ox_kind;

/* A value of the graph: a constant, a fovea node (shape: the batch, then the node's shape), or
 * one the importer cannot give (why says so; reading it is an error). */
typedef struct ox_val {
    const char *name;
    ox_kind kind;
    ox_tensor t;
    int node;
    const char *why;
    int uses;     /* nodes reading it */
    int producer; /* 1 + the index in c->nodes of the node writing it, 0: none */
    bool given;   /* a graph input or an initializer */
} ox_val;

/* A node after inlining model-local functions: names may be renamed, attributes taken from the
 * calling node (attr[k] is the value, attr_name[k] the name this node knows it by). */
typedef struct ox_node {
    const char *op, *domain, *name;
    int nin, nout;
    const char **in, **out;
    int nattr;
    const FvOnnx__AttributeProto **attr;
    const char **attr_name;
    int opset;
    const char *fused_bias; /* MatMul: the constant an Add after it adds (fused into dense) */
    bool skip;              /* an Add fused into the MatMul before it */
} ox_node;

typedef struct ox_block ox_block;

typedef struct ox_ctx {
    fv_model *m;
    const char *file;
    const FvOnnx__ModelProto *proto;
    int opset;          /* of the default domain */
    ox_node *nodes;
    int nnodes;
    ox_val *vals;       /* open-addressed hash table of values by name */
    int cap_vals, nvals;
    ox_block *arena;
    size_t arena_bytes;
    size_t file_bytes;  /* the model's bytes: the arena may hold 4 times them and 1 GiB */
    int64_t batch_decl; /* the graph input's literal batch size, or 0 */
    int input;          /* the fovea input node */
} ox_ctx;

/* ---------------------------------------------------------------- onnx_read.c */

/* Arena memory, freed with the context (NULL with an error past 1 GiB plus four times the
 * file's size, or out of memory). */
void *fv_ox_alloc(ox_ctx *c, size_t bytes);
void fv_ox_arena_free(ox_ctx *c);
/* The model from bytes, its memory through fv_malloc. */
FvOnnx__ModelProto *fv_ox_unpack(const uint8_t *data, size_t len, const char *file);
void fv_ox_proto_free(FvOnnx__ModelProto *p);
/* A TensorProto's values (checked against its shape) as a constant; what names it in errors. */
fv_status fv_ox_tensor(ox_ctx *c, const FvOnnx__TensorProto *t, const char *what, ox_tensor *out);
/* Sets the error "FILE: node 'NAME' (OP, opset N): ..." and returns s. */
fv_status fv_ox_err(const ox_ctx *c, const ox_node *n, fv_status s, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Attributes of node n by name (NULL when absent). */
const FvOnnx__AttributeProto *fv_ox_attr(const ox_node *n, const char *name);
int64_t fv_ox_attr_i(const ox_node *n, const char *name, int64_t def);
float fv_ox_attr_f(const ox_node *n, const char *name, float def);
/* The string attribute (def when absent); valid until four more calls. */
const char *fv_ox_attr_s(const ox_node *n, const char *name, const char *def);
/* An INTS attribute into out[max]: the count, 0 when absent, -1 (error set) when longer. */
int fv_ox_attr_ints(const ox_ctx *c, const ox_node *n, const char *name, int64_t *out, int max);
/* A new constant of shape dims (values zeroed). */
fv_status fv_ox_new_tensor(ox_ctx *c, ox_tensor *t, int ndim, const int64_t *dims, int isint);

/* ---------------------------------------------------------------- onnx_graph.c */

/* The graph's nodes, model-local functions inlined, in a topological order (c->nodes); errors:
 * an undefined name, a cycle, a name produced twice. */
fv_status fv_ox_graph_nodes(ox_ctx *c);
/* The value of that name (created unset when make), NULL if absent. */
ox_val *fv_ox_val(ox_ctx *c, const char *name, bool make);

/* ---------------------------------------------------------------- onnx_fold.c */

/* Whether node n can be folded (an op of the shape glue, every input a constant); *done 1 when
 * it was (its outputs set). */
fv_status fv_ox_fold(ox_ctx *c, const ox_node *n, bool *done);
/* The shape Squeeze or Unsqueeze (by n->op) makes of a rank-r shape `in`. */
fv_status fv_ox_squeeze_dims(ox_ctx *c, const ox_node *n, int r, const int64_t *in, int *outr,
                             int64_t *out);
/* A constant's value k as an integer (floats truncated). */
int64_t fv_ox_int_at(const ox_tensor *t, int64_t k);

/* ------------------------------------------------ onnx_ops.c, onnx_ops2.c, onnx_ops3.c, arith */

/* Builds node n's layers. */
fv_status fv_ox_map(ox_ctx *c, const ox_node *n);
/* The input i of n (NULL: absent or ""), its constant (error unless one) or its node. */
ox_val *fv_ox_in(ox_ctx *c, const ox_node *n, int i);
fv_status fv_ox_in_const(ox_ctx *c, const ox_node *n, int i, const char *what, ox_tensor **t);
fv_status fv_ox_in_node(ox_ctx *c, const ox_node *n, int i, int *node);
/* Output i of n is node id / an alias of value v / a constant. */
fv_status fv_ox_set_node(ox_ctx *c, const ox_node *n, int i, int id);
fv_status fv_ox_set_val(ox_ctx *c, const ox_node *n, int i, const ox_val *v);
/* The shape of node id with the batch first (dims[0] = OX_BATCH); returns the rank. */
int fv_ox_node_shape(const ox_ctx *c, int id, int64_t *dims);
/* Layer node id (of the node just built) takes its parameter k's values from v (numel checked). */
fv_status fv_ox_preset(ox_ctx *c, const ox_node *n, int id, int k, const float *v, int64_t numel);
/* A usable layer name for n (its ONNX name when fovea can take it), or NULL (automatic). */
const char *fv_ox_layer_name(ox_ctx *c, const ox_node *n, const char *suffix);
/* A reshape of node `in` to one sample's shape dims (identity when equal): the node id. */
fv_status fv_ox_reshape(ox_ctx *c, const ox_node *n, int in, int ndim, const int64_t *dims,
                        int *out);
/* A permutation of node `in`'s sample axes (perm over the sample axes, 0-based). */
fv_status fv_ox_permute(ox_ctx *c, const ox_node *n, int in, int ndim, const int *perm, int *out);
/* An ONNX op and the function that builds its layers; fv_ox_map looks n's op up in its own table,
 * then in these, each ending with {NULL, NULL}: onnx_ops2.c's (pooling, normalization, shapes),
 * onnx_ops3.c's (Resize, Upsample, Pad, Clip) and onnx_arith.c's (Add ... Min). */
typedef struct fv_ox_op {
    const char *op;
    fv_status (*fn)(ox_ctx *c, const ox_node *n);
} fv_ox_op;
extern const fv_ox_op fv_ox_ops2[], fv_ox_ops3[], fv_ox_ops_arith[];
/* onnx_rnn.c: RNN, LSTM and GRU onto the recurrent layers. */
extern const fv_ox_op fv_ox_ops_rnn[];
/* 1-D ops as 2-D (onnx_ops.c): the input as (C, H, W) ((C, 1, L) for rank 3, *one_d set),
 * an INTS attribute per axis widened for 1-D (the height's value `unit`), and the result back
 * to (F, L). */
fv_status fv_ox_image_in(ox_ctx *c, const ox_node *n, int *in, int64_t *hw, int64_t *ch,
                         bool *one_d);
int fv_ox_attr_hw(ox_ctx *c, const ox_node *n, const char *name, bool one_d, int64_t unit,
                  int64_t def, int64_t *v);
fv_status fv_ox_image_out(ox_ctx *c, const ox_node *n, int id, bool one_d, int *out);
/* onnx_arith.c: PRelu of any broadcastable slope on x as relu(x) + slope min(x, 0); average pooling
 * of `in` that excludes pads (top, left, bottom, right) the pool cannot take: the zero-padded
 * average times a constant map of window sizes (*out the node). */
fv_status fv_ox_prelu_general(ox_ctx *c, const ox_node *n, int x, const ox_tensor *slope);
fv_status fv_ox_avgpool_exclude(ox_ctx *c, const ox_node *n, int in, const int64_t *pads,
                                fv_pool2d_args a, int *out);
/* The error after a failed layer call, naming the node. */
fv_status fv_ox_layer_err(ox_ctx *c, const ox_node *n);

#endif
