/* binary.c - element-wise arithmetic with NumPy / ONNX broadcasting (fv_binary_op: add, sub, mul,
 * div, pow, max, min) of two nodes, or of a node and a constant held as the layer's non-trainable
 * parameter "constant" (saved and loaded with the weights, never updated). One sample's shapes
 * broadcast aligned at their last axes; the batch is the nodes' own and shared by the constant.
 * The layer's attributes, arguments and text spelling ("binary op=mul inputs=a,b", "binary
 * op=sub constant=3,1,1 const_first=true") live here; the kernels in kernels/ref/binary_ref.
 * Forward splits the output, backward each operand's values, across the thread pool. */
#include "kernels/ref/binary_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct binary_attr {
    int op;          /* an fv_binary_op */
    int const_first; /* the constant is the left operand */
    int ndim;        /* the constant's shape (0: two inputs) */
    float value;     /* every value of the constant, when one was given (0: none) */
    int64_t dims[4];
} binary_attr;
_Static_assert(sizeof(binary_attr) <= sizeof(((fv_attr *)0)->raw), "binary_attr fits fv_attr");

#define AT_BINARY(member) (FV_AT(raw) + (int)offsetof(binary_attr, member))

static const binary_attr *attr_of(const fv_attr *a)
{
    return (const binary_attr *)a->raw;
}

static const char *const op_words[] = {"add", "sub", "mul", "div", "pow", "max", "min", NULL};
_Static_assert(sizeof op_words / sizeof op_words[0] == FV_BINARY__COUNT + 1, "a word per op");

static fv_status binary_finish(const fv_spec *s, fv_attr *a, const char *layer)
{
    const binary_attr *p = attr_of(a); /* op: in range (the generic check of a choice) */
    (void)s;
    if (p->ndim < 0 || p->ndim > 4)
        return fv_err(FV_ERR_INVALID, "layer '%s': a constant of %d axes (at most 4)", layer,
                      p->ndim);
    for (int k = 0; k < p->ndim; k++)
        if (p->dims[k] < 1)
            return fv_err(FV_ERR_INVALID, "layer '%s': the constant's axis %d has extent %lld "
                          "(must be >= 1)", layer, k, (long long)p->dims[k]);
    if (p->ndim == 0 && (p->const_first || p->value != 0))
        return fv_err(FV_ERR_INVALID, "layer '%s': const_first and value need a constant "
                      "(constant=SHAPE)", layer);
    return FV_OK;
}

static fv_status binary_infer(fv_model *m, fv_node *n)
{
    const binary_attr *p = attr_of(&n->a);
    const fv_node *x = fv_input_node(m, n, 0);
    char s1[96], s2[96];
    if (n->nin == 2 && p->ndim > 0)
        return fv_err(FV_ERR_INVALID, "layer '%s': two inputs and a constant (a binary op has "
                      "two operands)", n->name);
    if (n->nin == 1 && p->ndim == 0)
        return fv_err(FV_ERR_INVALID, "layer '%s': %s needs a second input (inputs=a,b) or a "
                      "constant (constant=SHAPE)", n->name, op_words[p->op]);
    if (n->nin == 2) {
        const fv_node *y = fv_input_node(m, n, 1);
        n->ndim = fv_binary_broadcast(x->ndim, x->dims, y->ndim, y->dims, n->dims);
        if (n->ndim < 0)
            return fv_err(FV_ERR_SHAPE, "layer '%s': cannot broadcast '%s' %s and '%s' %s for "
                          "%s", n->name, x->name, fv_node_shape_str(x, s1, sizeof s1), y->name,
                          fv_node_shape_str(y, s2, sizeof s2), op_words[p->op]);
        return FV_OK;
    }
    n->ndim = fv_binary_broadcast(x->ndim, x->dims, p->ndim, p->dims, n->dims);
    if (n->ndim < 0)
        return fv_err(FV_ERR_SHAPE, "layer '%s': cannot broadcast '%s' %s and the constant %s "
                      "for %s", n->name, x->name, fv_node_shape_str(x, s1, sizeof s1),
                      fv_shape_str(p->ndim, p->dims, s2, sizeof s2), op_words[p->op]);
    return fv_param_declare(m, n, "constant", p->ndim, p->dims, 0, FV_INIT_ZEROS, 0, 0);
}

/* ---------------------------------------------------------------- passes */

typedef struct bin_job {
    fv_binary_geom g;
    const float *a, *b, *y, *dy;
    float *out; /* forward: y; backward: the operand's dx */
    int which;  /* backward: the operand (0: a, 1: b) */
    int64_t count;
    int width;
} bin_job;

/* The geometry of node n for `batch` samples and its operands' values; in[k]: the input index
 * of operand k (a, b), -1 for the constant. */
static void job_of(const fv_model *m, const fv_node *n, int batch, bin_job *j, int in[2])
{
    const binary_attr *p = attr_of(&n->a);
    const fv_node *x[2];
    const float *c = n->nin == 1 ? fv_pdata(m, n, 0) : NULL;
    memset(j, 0, sizeof *j);
    in[0] = n->nin == 1 && p->const_first ? -1 : 0;
    in[1] = n->nin == 2 ? 1 : p->const_first ? 0 : -1;
    for (int k = 0; k < 2; k++)
        x[k] = in[k] >= 0 ? fv_input_node(m, n, in[k]) : NULL;
    fv_binary_geom_init(&j->g, p->op, batch, n->ndim, n->dims, x[0] ? x[0]->ndim : p->ndim,
                        x[0] ? x[0]->dims : p->dims, x[0] != NULL, x[1] ? x[1]->ndim : p->ndim,
                        x[1] ? x[1]->dims : p->dims, x[1] != NULL);
    j->a = x[0] ? x[0]->y : c;
    j->b = x[1] ? x[1]->y : c;
}

static void run_job(bin_job *j, int64_t min_chunk, fv_task_fn fn)
{
    int64_t chunks = j->count / (min_chunk > 0 ? min_chunk : 1);
    j->width = fv_parallel_width(chunks > INT32_MAX ? INT32_MAX : (int)(chunks < 1 ? 1 : chunks));
    fv_parallel(j->width, fn, j);
}

static void fwd_task(void *ctx, int k)
{
    bin_job *j = ctx;
    int64_t a, b;
    fv_split(j->count, j->width, k, &a, &b);
    if (b > a)
        fv_ref_binary_fwd_f32(&j->g, j->a, j->b, j->out, a, b);
}

static void bwd_task(void *ctx, int k)
{
    bin_job *j = ctx;
    int64_t a, b;
    fv_split(j->count, j->width, k, &a, &b);
    if (b > a)
        fv_ref_binary_bwd_f32(&j->g, j->which, j->a, j->b, j->y, j->dy, j->out, a, b);
}

/* Element-wise work splits into chunks of at least 16 Ki outputs. */
#define CHUNK 16384

static void binary_forward(fv_model *m, fv_node *n, int batch)
{
    bin_job j;
    int in[2];
    job_of(m, n, batch, &j, in);
    j.out = n->y;
    j.count = n->size * batch;
    run_job(&j, CHUNK, fwd_task);
}

static void binary_backward(fv_model *m, fv_node *n, int batch)
{
    bin_job j;
    int in[2];
    job_of(m, n, batch, &j, in);
    j.y = n->y, j.dy = n->dy;
    for (int k = 0; k < 2; k++) {
        j.out = in[k] >= 0 ? fv_input_dy(m, n, in[k]) : NULL; /* the constant takes none */
        if (!j.out)
            continue;
        j.which = k;
        j.count = fv_binary_values(&j.g, k);
        int64_t reads = n->size * batch / j.count; /* outputs per value */
        run_job(&j, CHUNK / reads > 0 ? CHUNK / reads : 1, bwd_task);
    }
}

/* ---------------------------------------------------------------- the layer */

int fv_binary_of(const fv_node *n, int *const_first)
{
    const binary_attr *p = attr_of(&n->a);
    if (const_first)
        *const_first = n->nin == 1 && p->const_first;
    return p->op;
}

/* The summary's type: Keras' merge layers' names where it has them. */
static const char *binary_kind(const fv_node *n)
{
    static const char *const kinds[] = {"Add", "Subtract", "Multiply", "Divide", "Power",
                                        "Maximum", "Minimum"};
    int op = attr_of(&n->a)->op;
    return op >= 0 && op < FV_BINARY__COUNT ? kinds[op] : "Binary";
}

static const fv_schema binary_schema;

/* The constant's values of layer id, through the parameter's preset: every one `value`, or
 * copies of `values` (which must be finite; all equal: recorded as value, so that the text format
 * says them; all 0: the parameter's own zeros). On error the layer is removed again. */
static int set_values(fv_model *m, int id, int counter, const fv_binary_spec *b)
{
    fv_node *n = &m->nodes[id];
    binary_attr *p = (binary_attr *)n->a.raw;
    int64_t count = m->params[n->param[0]].numel, i = 0;
    float *c = fv_malloc(sizeof(float) * (size_t)count, "a binary op's constant");
    for (; c && i < count; i++) {
        c[i] = b->values ? b->values[i] : b->value;
        if (!isfinite(c[i]))
            break;
    }
    fv_status st = !c ? FV_ERR_NOMEM : FV_OK;
    if (c && i < count)
        st = fv_err(FV_ERR_NUMERIC, "layer '%s': constant value %lld is %g (values must be "
                    "finite)", n->name, (long long)i, (double)c[i]);
    for (i = 1; st == FV_OK && i < count && c[i] == c[0]; i++) {
    }
    if (st == FV_OK)
        p->value = i == count ? c[0] : 0.0f;
    if (st == FV_OK && (i < count || c[0] != 0.0f))
        st = fv_param_preset(m, n->param[0], c);
    fv_free(c);
    if (st == FV_OK)
        return id;
    fv_param_presets_free(m, m->nparams - n->nparam);
    m->nparams -= n->nparam;
    m->nnodes--;
    m->name_counter[FV_OP_BINARY] = counter;
    return -1;
}

/* The layer, then its constant's values when given (value=, or fv_binary_const's). */
static int binary_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    const fv_binary_spec *b = &s->a.binary;
    int counter = m->name_counter[FV_OP_BINARY];
    int id = fv_layer_build(m, &binary_schema, 0, ins, nin, s);
    if (id < 0 || (!b->values && b->value == 0.0f))
        return id;
    return set_values(m, id, counter, b);
}

static const fv_form binary_forms[] = {{{"binary", "Binary"}, NULL, 0, binary_add, NULL}};
static const fv_field binary_fields[] = {
    {.key = "op", .type = FV_FT_CHOICE, .flags = FV_F_REQUIRED, .words = op_words,
     .arg = FV_ARG(a.binary.op), .attr = AT_BINARY(op),
     .doc = "`add`, `sub`, `mul`, `div`, `pow`, `max` or `min` (first operand OP second)"},
    {.key = "constant", .type = FV_FT_SHAPE, .flags = FV_F_OPTIONAL, .lo = 1,
     .arg = FV_ARG(a.binary.ndim), .arg_h = FV_ARG(a.binary.dims), .attr = AT_BINARY(ndim),
     .attr_w = AT_BINARY(dims),
     .doc = "1 to 4 positive integers: the shape of a constant second operand (one input), "
            "aligned with the input's last axes; its values are the parameter `NAME.constant` "
            "of the weights file (zeros until loaded) or `value`"},
    {.key = "const_first", .type = FV_FT_BOOL, .arg = FV_ARG(a.binary.const_first),
     .attr = AT_BINARY(const_first),
     .doc = "`true`: the constant is the first operand (c - x, c / x, c ^ x)"},
    {.key = "value", .type = FV_FT_FLOAT, .flags = FV_F_OPTIONAL, .lo = -INFINITY,
     .hi = INFINITY, .arg = FV_ARG(a.binary.value), .attr = AT_BINARY(value),
     .doc = "finite number: every value of the constant"},
};
static const fv_schema binary_schema = {
    FV_SCHEMA_TABLES(FV_OP_BINARY, binary_forms, binary_fields), .min_in = 1, .max_in = 2,
    .finish = binary_finish};

const fv_op_def fv_op_binary_def = {
    .name = "binary", .kind = "Binary", .schema = &binary_schema, .infer = binary_infer,
    .forward = binary_forward, .backward = binary_backward, .kind_of = binary_kind,
};
