/* embedding.c - the embedding op (FV_OP_EMBEDDING, PyTorch's nn.Embedding): each input value, a
 * token index in [0, vocab), becomes row k of the parameter "weight" (vocab, dim); the output
 * appends dim to the input's shape. An input value that is no index gives a zero row and is
 * remembered, so the pass that fed it fails with a clear error (fv_op_def.check). */
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

typedef struct embedding_attr {
    int vocab, dim;
} embedding_attr;
_Static_assert(sizeof(embedding_attr) <= sizeof(((fv_attr *)0)->raw),
               "embedding_attr fits fv_attr");

#define AT_EMB(member) (FV_AT(raw) + (int)offsetof(embedding_attr, member))

/* The forward's record of the first value that was no index (n->saved). */
typedef struct embedding_bad {
    int found;
    float value;
    int64_t at; /* its position: sample * input size + offset */
} embedding_bad;

static const embedding_attr *attr_of(const fv_attr *a)
{
    return (const embedding_attr *)a->raw;
}

static fv_status embedding_infer(fv_model *m, fv_node *n)
{
    const embedding_attr *a = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    char b[96];
    if (x->ndim > 3 || (int64_t)a->vocab * a->dim > INT_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': an embedding of %d x %d over input '%s' %s "
                      "(at most 3 axes, 2^31 table values)", n->name, a->vocab, a->dim,
                      x->name, fv_node_shape_str(x, b, sizeof b));
    n->ndim = x->ndim + 1;
    for (int k = 0; k < x->ndim; k++)
        n->dims[k] = x->dims[k];
    n->dims[x->ndim] = a->dim;
    int64_t wd[2] = {a->vocab, a->dim};
    /* N(0, 1) as PyTorch: xavier_normal's sqrt(2 / (fan_in + fan_out)) with fans 1 */
    return fv_param_declare(m, n, "weight", 2, wd, 1, FV_INIT_XAVIER_NORMAL, 1, 1);
}

static size_t embedding_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m, (void)n, (void)batch;
    return sizeof(embedding_bad);
}

/* The row value v selects, or -1 when v is no index in [0, vocab). */
static int64_t row_of(float v, int vocab)
{
    return v >= 0 && v < (float)vocab && v == floorf(v) ? (int64_t)v : -1;
}

static void embedding_forward(fv_model *m, fv_node *n, int batch)
{
    const embedding_attr *a = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    const float *w = fv_pdata(m, n, 0);
    embedding_bad *bad = n->saved;
    bad->found = 0;
    for (int64_t i = 0; i < batch * x->size; i++) {
        int64_t r = row_of(x->y[i], a->vocab);
        float *y = n->y + i * a->dim;
        if (r >= 0) {
            memcpy(y, w + r * a->dim, sizeof(float) * (size_t)a->dim);
            continue;
        }
        memset(y, 0, sizeof(float) * (size_t)a->dim);
        if (!bad->found)
            *bad = (embedding_bad){.found = 1, .value = x->y[i], .at = i};
    }
}

static void embedding_backward(fv_model *m, fv_node *n, int batch)
{
    const embedding_attr *a = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    float *dw = fv_pgrad(m, n, 0);
    for (int64_t i = 0; dw && i < batch * x->size; i++) {
        int64_t r = row_of(x->y[i], a->vocab);
        for (int k = 0; r >= 0 && k < a->dim; k++)
            dw[r * a->dim + k] += n->dy[i * a->dim + k];
    }
}

static fv_status embedding_check(const fv_model *m, const fv_node *n)
{
    const embedding_bad *bad = n->saved;
    if (!bad || !bad->found)
        return FV_OK;
    int64_t size = fv_input_node(m, n, 0)->size;
    return fv_err(FV_ERR_INVALID, "layer '%s': token %g (sample %lld, position %lld) is outside "
                  "the vocabulary of %d (indices 0..%d)", n->name, (double)bad->value,
                  (long long)(bad->at / size), (long long)(bad->at % size), attr_of(&n->a)->vocab,
                  attr_of(&n->a)->vocab - 1);
}

/* ---------------------------------------------------------------- the layer */

static const fv_form embedding_forms[] = {
    {{"embedding", "Embedding"}, "Embedding", 0, NULL, NULL}};
static const fv_field embedding_fields[] = {
    {.key = "vocab", .alias = "input_dim", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.embedding.vocab), .attr = AT_EMB(vocab),
     .doc = "positive integer: the tokens (indices 0..vocab-1)"},
    {.key = "dim", .alias = "output_dim", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.embedding.dim), .attr = AT_EMB(dim),
     .doc = "positive integer: values per token"},
};
static const fv_schema embedding_schema = {
    .op = FV_OP_EMBEDDING, .forms = embedding_forms, .nforms = 1, .fields = embedding_fields,
    .nfields = 2,
};

const fv_op_def fv_op_embedding_def = {
    .name = "embedding", .kind = "Embedding", .schema = &embedding_schema,
    .infer = embedding_infer, .saved_bytes = embedding_saved_bytes,
    .forward = embedding_forward, .backward = embedding_backward, .check = embedding_check,
};
