/* onnx_export.h - the ONNX writer's graph builder, shared by onnx_export.c (the builder, the
 * model around the graph, the file) and onnx_export_ops.c (each fovea op as ONNX nodes). Every
 * protobuf-c message and string the builder makes is tracked and freed at once at the end; the
 * weights are referenced from the model's slab, not copied. A builder call that fails records the
 * first error in g->status and returns a harmless value, so an op's emitter is written straight
 * through and checked once at its end. */
#ifndef FV_ONNX_EXPORT_H
#define FV_ONNX_EXPORT_H

#include "core/internal.h"
#include "formats/fv_onnx.pb-c.h"

typedef struct fv_oxw_graph {
    const fv_model *m;
    int opset;
    FvOnnx__NodeProto **nodes;
    size_t nnodes, cap_nodes;
    FvOnnx__TensorProto **inits;
    size_t ninits, cap_inits;
    void **allocs; /* everything to free */
    size_t nallocs, cap_allocs;
    int counter;   /* unique suffixes of helper values */
    fv_status status;
} fv_oxw_graph;

/* Zeroed, tracked memory (NULL on failure, with g->status set). */
void *fv_oxw_alloc(fv_oxw_graph *g, size_t bytes);
/* A tracked copy of the printf result ("" on failure). */
const char *fv_oxw_str(fv_oxw_graph *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A fresh value name "<base>/<what>_<k>". */
const char *fv_oxw_tmp(fv_oxw_graph *g, const char *base, const char *what);

/* A node op_type(inputs) -> outputs named `name` (its attributes added with fv_oxw_attr_*); NULL on
 * failure. An input "" is an omitted optional input. */
FvOnnx__NodeProto *fv_oxw_node(fv_oxw_graph *g, const char *op_type, const char *name, int nin,
                              const char *const *in, int nout, const char *const *out);
/* A one-input, one-output node. */
FvOnnx__NodeProto *fv_oxw_node1(fv_oxw_graph *g, const char *op_type, const char *name,
                               const char *in, const char *out);
/* The same with two inputs. */
FvOnnx__NodeProto *fv_oxw_node2(fv_oxw_graph *g, const char *op_type, const char *name,
                               const char *a, const char *b, const char *out);
void fv_oxw_attr_int(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, int64_t v);
void fv_oxw_attr_float(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, float v);
void fv_oxw_attr_str(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, const char *v);
void fv_oxw_attr_ints(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, int count,
                     const int64_t *v);

/* Initializers: a float32 tensor of shape dims[0..ndim) over `data` (referenced: it must outlive
 * the export; the model's slab or fv_oxw_alloc memory), a 1-D int64 tensor (copied), a float scalar
 * (shape ()). Each returns its name. */
const char *fv_oxw_init_f32(fv_oxw_graph *g, const char *name, int ndim, const int64_t *dims,
                           const float *data);
const char *fv_oxw_init_i64(fv_oxw_graph *g, const char *name, int count, const int64_t *v);
const char *fv_oxw_init_scalar(fv_oxw_graph *g, const char *name, float v);

/* Emits fovea node i of g->m as ONNX nodes reading the values ins[0..nin) and writing `out`
 * (onnx_export_ops.c). An op that ONNX cannot express at g->opset is an error naming the layer
 * and the op. */
fv_status fv_oxw_emit_node(fv_oxw_graph *g, int i, const char *const *ins, const char *out);

#endif
