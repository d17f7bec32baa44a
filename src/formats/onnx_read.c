/* onnx_read.c - the ONNX importer's reading: the protobuf through protobuf-c with fovea's
 * allocator (out of memory is an error, never an abort), TensorProtos decoded into constants
 * after checking that their data holds exactly what their shape says, node attributes, the
 * arena the importer allocates from, and its one-line errors. */
#include "formats/onnx_internal.h"
#include "io/io.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#define OX_ARENA_MAX ((size_t)1 << 30)

struct ox_block {
    ox_block *next;
    max_align_t data[];
};

void *fv_ox_alloc(ox_ctx *c, size_t bytes)
{
    size_t max = OX_ARENA_MAX + 4 * c->file_bytes; /* bounded by what the file holds */
    if (bytes > max - c->arena_bytes) {
        fv_err(FV_ERR_NOMEM, "%s: the import needs more than %zu MiB", c->file, max >> 20);
        return NULL;
    }
    ox_block *b = fv_malloc(sizeof *b + (bytes ? bytes : 1), "ONNX import");
    if (!b)
        return NULL;
    memset(b->data, 0, bytes);
    b->next = c->arena;
    c->arena = b;
    c->arena_bytes += bytes;
    return b->data;
}

void fv_ox_arena_free(ox_ctx *c)
{
    while (c->arena) {
        ox_block *b = c->arena;
        c->arena = b->next;
        fv_free(b);
    }
    c->arena_bytes = 0;
}

/* ---------------------------------------------------------------- protobuf */

static void *pb_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return fv_malloc(size, "ONNX protobuf");
}

static void pb_free(void *ctx, void *p)
{
    (void)ctx;
    fv_free(p);
}

static ProtobufCAllocator pb_allocator = {pb_alloc, pb_free, NULL};

FvOnnx__ModelProto *fv_ox_unpack(const uint8_t *data, size_t len, const char *file)
{
    fv_clear_error();
    FvOnnx__ModelProto *p = fv_onnx__model_proto__unpack(&pb_allocator, len, data);
    if (!p) {
        if (fv_last_status() == FV_ERR_NOMEM)
            fv_err(FV_ERR_NOMEM, "%s: out of memory reading the ONNX protobuf", file);
        else
            fv_err(FV_ERR_FORMAT, "%s: not a valid ONNX model (the protobuf does not parse: "
                   "truncated or not ONNX)", file);
        return NULL;
    }
    return p;
}

void fv_ox_proto_free(FvOnnx__ModelProto *p)
{
    if (p)
        fv_onnx__model_proto__free_unpacked(p, &pb_allocator);
}

/* ---------------------------------------------------------------- errors, attributes */

fv_status fv_ox_err(const ox_ctx *c, const ox_node *n, fv_status s, const char *fmt, ...)
{
    char msg[400], shown[400], name[120];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fv_printable(msg, shown, sizeof shown);
    if (!n)
        return fv_err(s, "%s: %s", c->file, shown);
    fv_printable(n->name && *n->name ? n->name : "(unnamed)", name, sizeof name);
    char op[80];
    fv_printable(n->op, op, sizeof op);
    return fv_err(s, "%s: node '%s' (%s, opset %d): %s", c->file, name, op, n->opset, shown);
}

const FvOnnx__AttributeProto *fv_ox_attr(const ox_node *n, const char *name)
{
    for (int k = 0; k < n->nattr; k++)
        if (n->attr_name[k] && strcmp(n->attr_name[k], name) == 0)
            return n->attr[k];
    return NULL;
}

int64_t fv_ox_attr_i(const ox_node *n, const char *name, int64_t def)
{
    const FvOnnx__AttributeProto *a = fv_ox_attr(n, name);
    return a && a->has_i ? a->i : def;
}

float fv_ox_attr_f(const ox_node *n, const char *name, float def)
{
    const FvOnnx__AttributeProto *a = fv_ox_attr(n, name);
    return a && a->has_f ? a->f : def;
}

const char *fv_ox_attr_s(const ox_node *n, const char *name, const char *def)
{
    const FvOnnx__AttributeProto *a = fv_ox_attr(n, name);
    if (!a || !a->has_s)
        return def;
    /* attribute strings are bytes: only a NUL-free value is usable as text */
    if (!a->s.len)
        return "";
    if (memchr(a->s.data, 0, a->s.len))
        return "(binary)";
    static _Thread_local char bufs[4][64]; /* a few may be held at once */
    static _Thread_local int next;
    char *buf = bufs[next++ & 3];
    size_t k = a->s.len < sizeof bufs[0] - 1 ? a->s.len : sizeof bufs[0] - 1;
    memcpy(buf, a->s.data, k);
    buf[k] = '\0';
    return buf;
}

int fv_ox_attr_ints(const ox_ctx *c, const ox_node *n, const char *name, int64_t *out, int max)
{
    const FvOnnx__AttributeProto *a = fv_ox_attr(n, name);
    if (!a)
        return 0;
    if (a->n_ints > (size_t)max) {
        fv_ox_err(c, n, FV_ERR_INVALID, "attribute '%s' has %zu values (at most %d here)", name,
                  a->n_ints, max);
        return -1;
    }
    if (a->n_ints) /* an empty list may have no array at all */
        memcpy(out, a->ints, sizeof *out * a->n_ints);
    return (int)a->n_ints;
}

/* ---------------------------------------------------------------- tensors */

/* A tensor of at most `limit` elements. */
static fv_status new_tensor(ox_ctx *c, ox_tensor *t, int ndim, const int64_t *dims, int isint,
                            int64_t limit)
{
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > OX_MAXR)
        return fv_err(FV_ERR_INVALID, "%s: a tensor of rank %d (at most %d)", c->file, ndim,
                      OX_MAXR);
    int64_t numel = 1;
    for (int k = 0; k < ndim; k++) {
        if (dims[k] < 0 || (dims[k] && numel > limit / dims[k]))
            return fv_err(FV_ERR_INVALID, "%s: a constant of more than %lld elements", c->file,
                          (long long)limit);
        numel *= dims[k];
        t->dims[k] = dims[k];
    }
    t->ndim = ndim;
    t->numel = numel;
    t->isint = isint;
    if (isint)
        t->i = fv_ox_alloc(c, sizeof(int64_t) * (size_t)numel);
    else
        t->f = fv_ox_alloc(c, sizeof(float) * (size_t)numel);
    return (isint ? (void *)t->i : (void *)t->f) ? FV_OK : FV_ERR_NOMEM;
}

fv_status fv_ox_new_tensor(ox_ctx *c, ox_tensor *t, int ndim, const int64_t *dims, int isint)
{
    return new_tensor(c, t, ndim, dims, isint, OX_MAX_NUMEL);
}

/* Bytes per element of a data type in raw_data, and whether it is an integer type; 0: a type
 * the importer does not read. */
static int type_size(int32_t type, int *isint)
{
    *isint = 1;
    switch (type) {
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *isint = 0; return 4;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *isint = 0; return 8;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return 8;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return 4;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return 1;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return 1;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return 1;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT16: return 2;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: return 2;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return 4;
    default: return 0;
    }
}

/* Element k of little-endian raw data of that type. */
static void raw_at(const uint8_t *p, int32_t type, int size, int64_t *iv, double *dv)
{
    uint64_t u = 0;
    for (int b = 0; b < size; b++)
        u |= (uint64_t)p[b] << (8 * b);
    switch (type) {
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
        uint32_t w = (uint32_t)u;
        float f;
        memcpy(&f, &w, 4);
        *dv = f;
        return;
    }
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: memcpy(dv, &u, 8); return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *iv = (int64_t)u; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT32: *iv = (int32_t)(uint32_t)u; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT8: *iv = (int8_t)(uint8_t)u; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT16: *iv = (int16_t)(uint16_t)u; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *iv = u != 0; return;
    default: *iv = (int64_t)u; return;
    }
}

/* The count of typed values the tensor carries outside raw_data, and where. */
static size_t typed_count(const FvOnnx__TensorProto *t, int32_t type)
{
    switch (type) {
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return t->n_float_data;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: return t->n_double_data;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return t->n_int64_data;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: return t->n_uint64_data;
    default: return t->n_int32_data;
    }
}

static void typed_at(const FvOnnx__TensorProto *t, int32_t type, int64_t k, int64_t *iv,
                     double *dv)
{
    switch (type) {
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: *dv = t->float_data[k]; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: *dv = t->double_data[k]; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__INT64: *iv = t->int64_data[k]; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: *iv = (int64_t)t->uint64_data[k]; return;
    case FV_ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: *iv = t->int32_data[k] != 0; return;
    default: *iv = t->int32_data[k]; return;
    }
}

fv_status fv_ox_tensor(ox_ctx *c, const FvOnnx__TensorProto *t, const char *what, ox_tensor *out)
{
    char name[100];
    fv_printable(what, name, sizeof name);
    if (t->n_external_data || (t->has_data_location && t->data_location))
        return fv_err(FV_ERR_INVALID, "%s: tensor '%s' keeps its data in an external file "
                      "(not supported: save the model with its weights inside)", c->file, name);
    if (t->segment)
        return fv_err(FV_ERR_INVALID, "%s: tensor '%s' is segmented (not supported)", c->file,
                      name);
    if (t->n_dims > OX_MAXR)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has %zu dimensions (at most %d)", c->file,
                      name, t->n_dims, OX_MAXR);
    int isint, size = type_size(t->data_type, &isint);
    if (!size)
        return fv_err(FV_ERR_INVALID, "%s: tensor '%s' has data type %d (fovea reads float, "
                      "double and integer tensors)", c->file, name, (int)t->data_type);
    for (size_t k = 0; k < t->n_dims; k++)
        if (t->dims[k] < 0)
            return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has a negative dimension %lld",
                          c->file, name, (long long)t->dims[k]);
    /* the shape's count against the values the file really holds, before any allocation;
     * a float tensor is as large as its data (integer ones, shape glue, stay small) */
    bool raw = t->has_raw_data;
    size_t have = raw ? t->raw_data.len / (size_t)size : typed_count(t, t->data_type);
    int64_t n = 1;
    for (size_t k = 0; k < t->n_dims; k++)
        n = t->dims[k] && n > INT64_MAX / t->dims[k] ? -1 : n * t->dims[k];
    if (n < 0 || (raw && t->raw_data.len % (size_t)size) || have != (uint64_t)n) {
        if (n < 0)
            return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has a shape of more than 2^63 "
                          "elements", c->file, name);
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' holds %zu %s where its shape needs "
                      "%lld", c->file, name, raw ? t->raw_data.len : have,
                      raw ? "bytes" : "values",
                      (long long)(raw && n <= INT64_MAX / size ? n * size : n));
    }
    FV_TRY(new_tensor(c, out, (int)t->n_dims, t->dims, isint, isint ? OX_MAX_NUMEL : n));
    for (size_t k = 0; k < (size_t)n; k++) {
        int64_t iv = 0;
        double dv = 0;
        if (raw)
            raw_at(t->raw_data.data + k * (size_t)size, t->data_type, size, &iv, &dv);
        else
            typed_at(t, t->data_type, (int64_t)k, &iv, &dv);
        if (isint)
            out->i[k] = iv;
        else
            out->f[k] = (float)dv;
    }
    return FV_OK;
}
