/* shape.c - the ops that move values without arithmetic beyond sums: flatten, reshape, add (n
 * inputs of one shape, residual connections) and concat (n inputs joined along one axis of a
 * sample's shape; negative axes count from the end). Backward routes (+=) gradients back. */
#include "ops/ops.h"
#include "ops/schema.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- flatten / reshape */

static fv_status flatten_infer(fv_model *m, fv_node *n)
{
    n->ndim = 1;
    n->dims[0] = fv_input_node(m, n, 0)->size;
    return FV_OK;
}

static void copy_forward(fv_model *m, fv_node *n, int batch)
{
    memcpy(n->y, fv_input_node(m, n, 0)->y, sizeof(float) * (size_t)(n->size * batch));
}

static void add_into(float *dst, const float *src, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        dst[i] += src[i];
}

static void copy_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    if (dx && fv_input_dy_fresh(m, n, 0))
        memcpy(dx, n->dy, sizeof(float) * (size_t)(n->size * batch));
    else if (dx)
        add_into(dx, n->dy, n->size * batch);
}

static const char *dims_str(int ndim, const int64_t *dims, char *buf, size_t len)
{
    size_t k = (size_t)snprintf(buf, len, "(None");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, ", %lld", (long long)dims[i]);
    if (k < len)
        snprintf(buf + k, len - k, ")");
    return buf;
}

static fv_status reshape_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_reshape_attr *a = &n->a.reshape;
    int64_t known = 1;
    int free_axis = -1;
    char s1[96], s2[96];
    for (int i = 0; i < a->ndim; i++) {
        if (a->dims[i] == -1 && free_axis < 0)
            free_axis = i;
        else if (a->dims[i] > 0) /* saturated: four dims of 2^31 - 1 overflow int64 */
            known = fv_sat_mul(known, a->dims[i]);
        else
            return fv_err(FV_ERR_INVALID, "layer '%s': bad target shape %s (one -1 at most, "
                          "others positive)", n->name, dims_str(a->ndim, a->dims, s2, sizeof s2));
    }
    n->ndim = a->ndim;
    memcpy(n->dims, a->dims, sizeof n->dims);
    if (free_axis >= 0 && known > 0 && x->size % known == 0)
        n->dims[free_axis] = x->size / known;
    else if (free_axis >= 0 || known != x->size)
        return fv_err(FV_ERR_SHAPE, "layer '%s': cannot reshape '%s' %s to %s", n->name, x->name,
                      fv_node_shape_str(x, s1, sizeof s1),
                      dims_str(a->ndim, a->dims, s2, sizeof s2));
    return FV_OK;
}

/* ---------------------------------------------------------------- add */

static fv_status add_infer(fv_model *m, fv_node *n)
{
    const fv_node *x0 = fv_input_node(m, n, 0);
    for (int i = 1; i < n->nin; i++) {
        const fv_node *xi = fv_input_node(m, n, i);
        if (xi->ndim != x0->ndim || memcmp(xi->dims, x0->dims, sizeof(int64_t) * x0->ndim)) {
            char a[96], b[96];
            return fv_err(FV_ERR_SHAPE, "layer '%s': cannot add '%s' %s and '%s' %s", n->name,
                          x0->name, fv_node_shape_str(x0, a, sizeof a), xi->name,
                          fv_node_shape_str(xi, b, sizeof b));
        }
    }
    n->ndim = x0->ndim;
    memcpy(n->dims, x0->dims, sizeof n->dims);
    return FV_OK;
}

static void add_forward(fv_model *m, fv_node *n, int batch)
{
    int64_t count = n->size * batch;
    memcpy(n->y, fv_input_node(m, n, 0)->y, sizeof(float) * (size_t)count);
    for (int i = 1; i < n->nin; i++)
        add_into(n->y, fv_input_node(m, n, i)->y, count);
}

static void add_backward(fv_model *m, fv_node *n, int batch)
{
    for (int i = 0; i < n->nin; i++) {
        float *dx = fv_input_dy(m, n, i);
        if (dx && fv_input_dy_fresh(m, n, i))
            memcpy(dx, n->dy, sizeof(float) * (size_t)(n->size * batch));
        else if (dx)
            add_into(dx, n->dy, n->size * batch);
    }
}

/* ---------------------------------------------------------------- concat */

static int concat_axis(const fv_node *n, int ndim)
{
    int axis = n->a.concat.axis;
    return axis < 0 ? axis + ndim : axis;
}

static fv_status concat_infer(fv_model *m, fv_node *n)
{
    const fv_node *x0 = fv_input_node(m, n, 0);
    int axis = concat_axis(n, x0->ndim);
    char a[96], b[96];
    if (axis < 0 || axis >= x0->ndim)
        return fv_err(FV_ERR_INVALID, "layer '%s': axis %d is out of range for '%s' %s", n->name,
                      n->a.concat.axis, x0->name, fv_node_shape_str(x0, a, sizeof a));
    n->ndim = x0->ndim;
    memcpy(n->dims, x0->dims, sizeof n->dims);
    for (int i = 1; i < n->nin; i++) {
        const fv_node *xi = fv_input_node(m, n, i);
        int ok = xi->ndim == x0->ndim;
        for (int d = 0; ok && d < x0->ndim; d++)
            ok = d == axis || xi->dims[d] == x0->dims[d];
        if (!ok)
            return fv_err(FV_ERR_SHAPE, "layer '%s': cannot concatenate '%s' %s and '%s' %s on "
                          "axis %d", n->name, x0->name, fv_node_shape_str(x0, a, sizeof a),
                          xi->name, fv_node_shape_str(xi, b, sizeof b), n->a.concat.axis);
        n->dims[axis] += xi->dims[axis];
    }
    return FV_OK;
}

/* Forward copies each input's rows into its slice of the output's rows, backward adds the slices
 * into the inputs' gradients. Rows: batch * prod(dims before axis); each input owns
 * dims_i[axis] * inner floats per row, at offset `off` of the output's row. */
static void concat_pass(fv_model *m, fv_node *n, int batch, int backward)
{
    int axis = concat_axis(n, n->ndim);
    int64_t rows = batch, inner = 1, off = 0;
    for (int d = 0; d < axis; d++)
        rows *= n->dims[d];
    for (int d = axis + 1; d < n->ndim; d++)
        inner *= n->dims[d];
    int64_t out_row = n->size * batch / rows;
    for (int i = 0; i < n->nin; i++) {
        const fv_node *x = fv_input_node(m, n, i);
        int64_t len = x->dims[axis] * inner;
        if (backward) {
            float *dx = fv_input_dy(m, n, i);
            for (int64_t r = 0; dx && r < rows; r++)
                add_into(dx + r * len, n->dy + r * out_row + off, len);
        } else {
            for (int64_t r = 0; r < rows; r++)
                memcpy(n->y + r * out_row + off, x->y + r * len, sizeof(float) * (size_t)len);
        }
        off += len;
    }
}

static void concat_forward(fv_model *m, fv_node *n, int batch) { concat_pass(m, n, batch, 0); }

static void concat_backward(fv_model *m, fv_node *n, int batch) { concat_pass(m, n, batch, 1); }

/* ---------------------------------------------------------------- the layers */

static fv_status reshape_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    (void)at;
    if (s->a.reshape.ndim < 1 || s->a.reshape.ndim > 4)
        return fv_err(FV_ERR_INVALID, "layer '%s': reshape to %d dimensions (expected 1..4)",
                      layer, s->a.reshape.ndim);
    return FV_OK;
}

/* The text format: a negative axis counts from the end of the first input's shape, as in Keras
 * and NumPy. */
static fv_status concat_read(fv_model *m, fv_spec *s, const int *ins, const char *layer)
{
    int in = ins[0] >= 0 && ins[0] < m->nnodes ? ins[0] : -1; /* resolved by the builder */
    int ndim = in >= 0 ? m->nodes[in].ndim : 0, axis = s->a.concat.axis;
    axis = axis < 0 ? axis + ndim : axis;
    if (axis < 0 || axis >= ndim)
        return fv_err(FV_ERR_SHAPE, "layer '%s': axis=%d is out of range for inputs of %d "
                      "dimensions", layer, s->a.concat.axis, ndim);
    s->a.concat.axis = axis;
    return FV_OK;
}

/* The axis as a non-negative index (the layer function keeps a negative one as given). */
static const char *concat_unwrite(const fv_model *m, const fv_node *n, fv_spec *s)
{
    int axis = n->a.concat.axis;
    s->a.concat.axis = axis < 0 ? axis + m->nodes[n->in[0]].ndim : axis;
    return NULL;
}

static const fv_form flatten_forms[] = {{{"flatten", "Flatten"}, "Flatten", 0, NULL, NULL}};
static const fv_schema flatten_schema = {.op = FV_OP_FLATTEN, .forms = flatten_forms, .nforms = 1};

static const fv_form reshape_forms[] = {{{"reshape", "Reshape"}, "Reshape", 0, NULL, NULL}};
static const fv_field reshape_fields[] = {
    {.key = "target_shape", .alias = "shape", .type = FV_FT_SHAPE, .flags = FV_F_REQUIRED,
     .lo = -1, .arg = FV_ARG(a.reshape.ndim), .arg_h = FV_ARG(a.reshape.dims),
     .attr = FV_AT(reshape.ndim), .attr_w = FV_AT(reshape.dims),
     .doc = "1 to 4 positive integers; one may be `-1` (inferred)"},
};
static const fv_schema reshape_schema = {
    FV_SCHEMA_TABLES(FV_OP_RESHAPE, reshape_forms, reshape_fields), .finish = reshape_finish};

static const fv_form add_forms[] = {{{"add", "Add"}, "Add", 0, NULL, NULL}};
static const fv_schema add_schema = {
    .op = FV_OP_ADD, .forms = add_forms, .nforms = 1, .min_in = 2, .max_in = FV_MAX_IN,
};

static const fv_form concat_forms[] = {{{"concat", "Concatenate"}, "Concatenate", 0, NULL, NULL}};
static const fv_field concat_fields[] = {
    {.key = "axis", .type = FV_FT_AXIS, .lo = -4, .hi = 3, .arg = FV_ARG(a.concat.axis),
     .attr = FV_AT(concat.axis),
     .doc = "axis of one sample's shape, -4..3; negative counts from the end",
     .def_doc = "0 (channels)"},
};
static const fv_schema concat_schema = {
    FV_SCHEMA_TABLES(FV_OP_CONCAT, concat_forms, concat_fields), .min_in = 2, .max_in = FV_MAX_IN,
    .read = concat_read, .unwrite = concat_unwrite};

const fv_op_def fv_op_flatten_def = {
    .schema = &flatten_schema,
    .name = "flatten", .kind = "Flatten", .infer = flatten_infer,
    .forward = copy_forward, .backward = copy_backward, .overwrites_dx = 1,
};
const fv_op_def fv_op_reshape_def = {
    .schema = &reshape_schema,
    .name = "reshape", .kind = "Reshape", .infer = reshape_infer,
    .forward = copy_forward, .backward = copy_backward, .overwrites_dx = 1,
};
const fv_op_def fv_op_add_def = {
    .schema = &add_schema,
    .name = "add", .kind = "Add", .infer = add_infer,
    .forward = add_forward, .backward = add_backward, .overwrites_dx = 1,
};
const fv_op_def fv_op_concat_def = {
    .schema = &concat_schema,
    .name = "concat", .kind = "Concatenate", .infer = concat_infer,
    .forward = concat_forward, .backward = concat_backward,
};
