/* onnx_export.c - fv_model_save_onnx: a compiled fovea model as an ONNX file (opsets 13 to 17).
 * Owns the graph builder of onnx_export.h (tracked protobuf-c messages, attributes,
 * initializers), the walk over the nodes the prediction needs (onnx_export_ops.c turns each into
 * ONNX nodes), the graph's input "input" (N, sample shape) with a symbolic batch dimension and
 * its output "output" (the prediction node's values: logits, or probabilities after a softmax),
 * the model around it, and the atomic write. Weights become float32 initializers named as in the
 * safetensors files ("<layer>.<what>"). */
#include "formats/onnx_export.h"
#include "io/io.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- tracked memory */

static int track(fv_oxw_graph *g, void *p)
{
    if (g->nallocs == g->cap_allocs) {
        size_t cap = g->cap_allocs ? 2 * g->cap_allocs : 256;
        void **a = fv_realloc(g->allocs, g->cap_allocs * sizeof *a, cap * sizeof *a,
                              "ONNX export");
        if (!a) {
            g->status = FV_ERR_NOMEM;
            return -1;
        }
        g->allocs = a, g->cap_allocs = cap;
    }
    g->allocs[g->nallocs++] = p;
    return 0;
}

void *fv_oxw_alloc(fv_oxw_graph *g, size_t bytes)
{
    if (g->status != FV_OK)
        return NULL;
    void *p = fv_calloc(1, bytes ? bytes : 1, "ONNX export");
    if (!p) {
        g->status = FV_ERR_NOMEM;
        return NULL;
    }
    if (track(g, p) != 0) {
        fv_free(p);
        return NULL;
    }
    return p;
}

const char *fv_oxw_str(fv_oxw_graph *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = len >= 0 ? fv_oxw_alloc(g, (size_t)len + 1) : NULL;
    if (!s)
        return "";
    va_start(ap, fmt);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    va_end(ap);
    return s;
}

const char *fv_oxw_tmp(fv_oxw_graph *g, const char *base, const char *what)
{
    return fv_oxw_str(g, "%s/%s_%d", base, what, g->counter++);
}

/* Appends p to a growing table of pointers. */
static void push(fv_oxw_graph *g, void ***items, size_t *count, size_t *cap, void *p)
{
    if (g->status != FV_OK || !p)
        return;
    if (*count == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        void **a = fv_realloc(*items, *cap * sizeof *a, c * sizeof *a, "ONNX export");
        if (!a) {
            g->status = FV_ERR_NOMEM;
            return;
        }
        *items = a, *cap = c;
    }
    (*items)[(*count)++] = p;
}

/* ---------------------------------------------------------------- nodes and attributes */

/* A tracked array of `count` tracked copies of the strings. */
static char **str_array(fv_oxw_graph *g, int count, const char *const *s)
{
    char **a = fv_oxw_alloc(g, sizeof(char *) * (size_t)(count ? count : 1));
    for (int i = 0; a && i < count; i++)
        a[i] = (char *)fv_oxw_str(g, "%s", s[i]);
    return a;
}

FvOnnx__NodeProto *fv_oxw_node(fv_oxw_graph *g, const char *op_type, const char *name, int nin,
                              const char *const *in, int nout, const char *const *out)
{
    FvOnnx__NodeProto *n = fv_oxw_alloc(g, sizeof *n);
    if (!n)
        return NULL;
    fv_onnx__node_proto__init(n);
    n->op_type = (char *)fv_oxw_str(g, "%s", op_type);
    n->name = (char *)fv_oxw_str(g, "%s", name);
    n->n_input = (size_t)nin, n->input = str_array(g, nin, in);
    n->n_output = (size_t)nout, n->output = str_array(g, nout, out);
    push(g, (void ***)&g->nodes, &g->nnodes, &g->cap_nodes, n);
    return g->status == FV_OK ? n : NULL;
}

FvOnnx__NodeProto *fv_oxw_node1(fv_oxw_graph *g, const char *op_type, const char *name,
                               const char *in, const char *out)
{
    return fv_oxw_node(g, op_type, name, 1, &in, 1, &out);
}

FvOnnx__NodeProto *fv_oxw_node2(fv_oxw_graph *g, const char *op_type, const char *name,
                               const char *a, const char *b, const char *out)
{
    const char *in[2] = {a, b};
    return fv_oxw_node(g, op_type, name, 2, in, 1, &out);
}

static FvOnnx__AttributeProto *attr(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name,
                                    FvOnnx__AttributeProto__AttributeType type)
{
    if (!n || g->status != FV_OK)
        return NULL;
    FvOnnx__AttributeProto *a = fv_oxw_alloc(g, sizeof *a);
    FvOnnx__AttributeProto **list =
        fv_oxw_alloc(g, sizeof *list * (n->n_attribute + 1)); /* small: a node has few */
    if (!a || !list)
        return NULL;
    fv_onnx__attribute_proto__init(a);
    a->name = (char *)fv_oxw_str(g, "%s", name);
    a->has_type = 1, a->type = type;
    if (n->n_attribute)
        memcpy(list, n->attribute, sizeof *list * n->n_attribute);
    list[n->n_attribute++] = a;
    n->attribute = list;
    return a;
}

void fv_oxw_attr_int(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, int64_t v)
{
    FvOnnx__AttributeProto *a = attr(g, n, name, FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    if (a)
        a->has_i = 1, a->i = v;
}

void fv_oxw_attr_float(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, float v)
{
    FvOnnx__AttributeProto *a = attr(g, n, name, FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    if (a)
        a->has_f = 1, a->f = v;
}

void fv_oxw_attr_str(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, const char *v)
{
    FvOnnx__AttributeProto *a =
        attr(g, n, name, FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    const char *s = fv_oxw_str(g, "%s", v);
    if (a)
        a->has_s = 1, a->s.data = (uint8_t *)s, a->s.len = strlen(s);
}

void fv_oxw_attr_ints(fv_oxw_graph *g, FvOnnx__NodeProto *n, const char *name, int count,
                     const int64_t *v)
{
    FvOnnx__AttributeProto *a = attr(g, n, name, FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    int64_t *c = fv_oxw_alloc(g, sizeof *c * (size_t)count);
    if (!a || !c)
        return;
    memcpy(c, v, sizeof *c * (size_t)count);
    a->n_ints = (size_t)count, a->ints = c;
}

/* ---------------------------------------------------------------- initializers */

static FvOnnx__TensorProto *tensor(fv_oxw_graph *g, const char *name, int ndim, const int64_t *dims,
                                   int type)
{
    FvOnnx__TensorProto *t = fv_oxw_alloc(g, sizeof *t);
    int64_t *d = fv_oxw_alloc(g, sizeof *d * (size_t)(ndim ? ndim : 1));
    if (!t || !d)
        return NULL;
    fv_onnx__tensor_proto__init(t);
    if (ndim) /* a scalar has no dims (NULL) */
        memcpy(d, dims, sizeof *d * (size_t)ndim);
    t->n_dims = (size_t)ndim, t->dims = d;
    t->has_data_type = 1, t->data_type = type;
    t->name = (char *)fv_oxw_str(g, "%s", name);
    push(g, (void ***)&g->inits, &g->ninits, &g->cap_inits, t);
    return g->status == FV_OK ? t : NULL;
}

const char *fv_oxw_init_f32(fv_oxw_graph *g, const char *name, int ndim, const int64_t *dims,
                           const float *data)
{
    FvOnnx__TensorProto *t = tensor(g, name, ndim, dims, FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    if (!t)
        return "";
    int64_t count = 1;
    for (int i = 0; i < ndim; i++)
        count *= dims[i];
    /* raw_data is little-endian float32: the slab's own bytes on this (checked) host */
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)data;
    t->raw_data.len = (size_t)count * sizeof(float);
    return t->name;
}

const char *fv_oxw_init_i64(fv_oxw_graph *g, const char *name, int count, const int64_t *v)
{
    int64_t dim = count;
    FvOnnx__TensorProto *t = tensor(g, name, 1, &dim, FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT64);
    int64_t *c = fv_oxw_alloc(g, sizeof *c * (size_t)(count ? count : 1));
    if (!t || !c)
        return "";
    memcpy(c, v, sizeof *c * (size_t)count);
    t->n_int64_data = (size_t)count, t->int64_data = c;
    return t->name;
}

const char *fv_oxw_init_scalar(fv_oxw_graph *g, const char *name, float v)
{
    FvOnnx__TensorProto *t = tensor(g, name, 0, NULL, FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
    float *c = fv_oxw_alloc(g, sizeof *c);
    if (!t || !c)
        return "";
    *c = v;
    t->n_float_data = 1, t->float_data = c;
    return t->name;
}

/* ---------------------------------------------------------------- the graph */

/* The value info "name": float32 of shape (N, dims[0..ndim)). */
static FvOnnx__ValueInfoProto *value_info(fv_oxw_graph *g, const char *name, const fv_node *n)
{
    FvOnnx__ValueInfoProto *v = fv_oxw_alloc(g, sizeof *v);
    FvOnnx__TypeProto *t = fv_oxw_alloc(g, sizeof *t);
    FvOnnx__TypeProto__Tensor *tt = fv_oxw_alloc(g, sizeof *tt);
    FvOnnx__TensorShapeProto *s = fv_oxw_alloc(g, sizeof *s);
    FvOnnx__TensorShapeProto__Dimension **dims =
        fv_oxw_alloc(g, sizeof *dims * (size_t)(n->ndim + 1));
    if (!v || !t || !tt || !s || !dims)
        return NULL;
    fv_onnx__value_info_proto__init(v);
    fv_onnx__type_proto__init(t);
    fv_onnx__type_proto__tensor__init(tt);
    fv_onnx__tensor_shape_proto__init(s);
    for (int i = 0; i <= n->ndim; i++) {
        FvOnnx__TensorShapeProto__Dimension *d = fv_oxw_alloc(g, sizeof *d);
        if (!d)
            return NULL;
        fv_onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0) {
            d->value_case = FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = (char *)fv_oxw_str(g, "N");
        } else {
            d->value_case = FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = n->dims[i - 1];
        }
        dims[i] = d;
    }
    s->n_dim = (size_t)n->ndim + 1, s->dim = dims;
    tt->has_elem_type = 1, tt->elem_type = FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = s;
    t->value_case = FV_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, t->tensor_type = tt;
    v->name = (char *)fv_oxw_str(g, "%s", name);
    v->type = t;
    return v;
}

/* need[i]: node i is the input or an ancestor of the prediction node `out`. */
static void mark_needed(const fv_model *m, int out, char *need)
{
    need[out] = 1;
    for (int i = out; i >= 0; i--) /* inputs precede their consumers */
        for (int k = 0; need[i] && k < m->nodes[i].nin; k++)
            need[m->nodes[i].in[k]] = 1;
}

/* The value name of node i's output. */
static const char *value_name(fv_oxw_graph *g, int i, int out)
{
    const fv_model *m = g->m;
    if (i == m->input_node)
        return "input";
    if (i == out)
        return "output";
    const char *s = m->nodes[i].name;
    /* the graph's own names stay unambiguous */
    return strcmp(s, "input") == 0 || strcmp(s, "output") == 0 ? fv_oxw_str(g, "%s_", s) : s;
}

/* Every needed node as ONNX nodes, in order. */
static fv_status build_nodes(fv_oxw_graph *g, int out, const char **names)
{
    const fv_model *m = g->m;
    char *need = fv_calloc((size_t)m->nnodes, 1, "ONNX export");
    if (!need)
        return FV_ERR_NOMEM;
    mark_needed(m, out, need);
    fv_status s = FV_OK;
    for (int i = 0; i < m->nnodes && s == FV_OK; i++) {
        if (!need[i])
            continue;
        const fv_node *n = &m->nodes[i];
        names[i] = value_name(g, i, out);
        if (n->op == FV_OP_INPUT && i != m->input_node)
            s = fv_err(FV_ERR_INVALID, "cannot export model '%s' to ONNX: layer '%s' (input) is "
                       "a second input (the export has one)", m->name, n->name);
        else if (i == m->input_node)
            continue;
        else {
            const char *ins[FV_MAX_IN];
            for (int k = 0; k < n->nin; k++)
                ins[k] = names[n->in[k]];
            s = fv_oxw_emit_node(g, i, ins, names[i]);
        }
    }
    if (s == FV_OK && out == m->input_node) /* a model without layers */
        fv_oxw_node1(g, "Identity", "output", "input", "output");
    fv_free(need);
    return s != FV_OK ? s : g->status;
}

/* The IR version released with each opset (13: IR 7; 14 to 17: IR 8). */
static int64_t ir_version(int opset)
{
    return opset <= 13 ? 7 : 8;
}

/* The model proto around g's nodes (all in g's tracked memory). */
static FvOnnx__ModelProto *model_proto(fv_oxw_graph *g, int out)
{
    const fv_model *m = g->m;
    FvOnnx__ModelProto *mp = fv_oxw_alloc(g, sizeof *mp);
    FvOnnx__GraphProto *gp = fv_oxw_alloc(g, sizeof *gp);
    FvOnnx__OperatorSetIdProto *os = fv_oxw_alloc(g, sizeof *os);
    FvOnnx__OperatorSetIdProto **osl = fv_oxw_alloc(g, sizeof *osl);
    FvOnnx__ValueInfoProto **in = fv_oxw_alloc(g, sizeof *in), **outv = fv_oxw_alloc(g, sizeof *outv);
    if (!mp || !gp || !os || !osl || !in || !outv)
        return NULL;
    fv_onnx__model_proto__init(mp);
    fv_onnx__graph_proto__init(gp);
    fv_onnx__operator_set_id_proto__init(os);
    os->domain = (char *)fv_oxw_str(g, "%s", "");
    os->has_version = 1, os->version = g->opset;
    osl[0] = os;
    in[0] = value_info(g, "input", &m->nodes[m->input_node]);
    outv[0] = value_info(g, "output", &m->nodes[out]);
    gp->name = (char *)fv_oxw_str(g, "%s", m->name);
    gp->n_node = g->nnodes, gp->node = g->nodes;
    gp->n_initializer = g->ninits, gp->initializer = g->inits;
    gp->n_input = 1, gp->input = in;
    gp->n_output = 1, gp->output = outv;
    mp->has_ir_version = 1, mp->ir_version = ir_version(g->opset);
    mp->n_opset_import = 1, mp->opset_import = osl;
    mp->producer_name = (char *)fv_oxw_str(g, "fovea");
    mp->producer_version = (char *)fv_oxw_str(g, "%s", FV_VERSION);
    mp->graph = gp;
    return g->status == FV_OK && in[0] && outv[0] ? mp : NULL;
}

/* The packed model written to path through a temporary file. */
static fv_status write_packed(const FvOnnx__ModelProto *mp, const char *path, const char *model)
{
    size_t size = fv_onnx__model_proto__get_packed_size(mp);
    if (size > (size_t)INT_MAX) /* protobuf's limit on one message */
        return fv_err(FV_ERR_INVALID, "cannot export model '%s' to ONNX: %zu bytes exceed the "
                      "2 GiB a protobuf message can hold (external data is not written)", model,
                      size);
    uint8_t *buf = fv_malloc(size ? size : 1, "ONNX model bytes");
    if (!buf)
        return FV_ERR_NOMEM;
    size_t packed = fv_onnx__model_proto__pack(mp, buf);
    fv_status s = packed != size ? fv_err(FV_ERR_STATE, "ONNX export: packed %zu of %zu bytes",
                                          packed, size)
                                 : fv_atomic_write(path, buf, size);
    fv_free(buf);
    return s;
}

static fv_status check_args(const fv_model *m, const char *path, int opset)
{
    if (!m || !path)
        return fv_err(FV_ERR_INVALID, "fv_model_save_onnx: %s is NULL", m ? "path" : "model");
    if (opset < 13 || opset > 17)
        return fv_err(FV_ERR_INVALID, "cannot export model '%s' to ONNX: opset %d (fovea writes "
                      "opsets 13 to 17)", m->name, opset);
    if (!m->compiled || m->input_node < 0 || m->output_node < 0)
        return fv_err(FV_ERR_STATE, "cannot export model '%s' to ONNX: it is not compiled (its "
                      "weights do not exist yet)", m->name);
    if (__BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__)
        return fv_err(FV_ERR_INVALID, "cannot export model '%s' to ONNX on a big-endian host",
                      m->name);
    return FV_OK;
}

static void free_graph(fv_oxw_graph *g)
{
    for (size_t i = 0; i < g->nallocs; i++)
        fv_free(g->allocs[i]);
    fv_free(g->allocs);
    fv_free(g->nodes);
    fv_free(g->inits);
}

fv_status fv_model_save_onnx(const fv_model *m, const char *path, int opset)
{
    opset = opset ? opset : 13;
    FV_TRY(check_args(m, path, opset));
    fv_oxw_graph g = {.m = m, .opset = opset};
    const char **names = fv_calloc((size_t)m->nnodes, sizeof *names, "ONNX export");
    if (!names)
        return FV_ERR_NOMEM;
    int out = m->output_node;
    fv_status s = build_nodes(&g, out, names);
    FvOnnx__ModelProto *mp = s == FV_OK ? model_proto(&g, out) : NULL;
    if (s == FV_OK && !mp)
        s = g.status != FV_OK ? g.status : FV_ERR_NOMEM;
    if (s == FV_OK)
        s = write_packed(mp, path, m->name);
    fv_free(names);
    free_graph(&g);
    return s;
}
