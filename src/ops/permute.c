/* permute.c - the axis permutation of each sample (Keras' Permute(dims); PyTorch's permute with
 * the batch axis fixed): output axis k is input axis dims[k], counted from 1 as in Keras, so
 * dims=2,3,1 turns (C, H, W) into (H, W, C), the classes last for a per-pixel loss. The layer's
 * attributes, arguments and text spelling live here; the kernels in kernels/ref/permute_ref. */
#include "kernels/ref/permute_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <stdio.h>

typedef struct permute_attr {
    int ndim;
    int64_t dims[4]; /* output axis k is input axis dims[k] (1-based) */
} permute_attr;
_Static_assert(sizeof(permute_attr) <= sizeof(((fv_attr *)0)->raw), "permute_attr fits fv_attr");

#define AT_PERMUTE(member) (FV_AT(raw) + (int)offsetof(permute_attr, member))

static const permute_attr *attr_of(const fv_attr *a)
{
    return (const permute_attr *)a->raw;
}

/* Whether dims names each of the axes 1..ndim once. */
static bool is_permutation(const permute_attr *p)
{
    unsigned seen = 0;
    if (p->ndim < 1 || p->ndim > 4)
        return false;
    for (int k = 0; k < p->ndim; k++) {
        if (p->dims[k] < 1 || p->dims[k] > p->ndim || (seen & (1u << p->dims[k])))
            return false;
        seen |= 1u << p->dims[k];
    }
    return true;
}

/* "2,3,1" */
static const char *dims_str(const permute_attr *p, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < p->ndim && i < 4 && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)p->dims[i]);
    return buf;
}

static fv_status check(const permute_attr *p, const char *layer)
{
    char d[64];
    if (is_permutation(p))
        return FV_OK;
    return fv_err(FV_ERR_INVALID, "layer '%s': dims=%s must name each axis 1..%d once", layer,
                  dims_str(p, d, sizeof d), p->ndim);
}

static fv_status permute_finish(const fv_spec *s, fv_attr *a, const char *layer)
{
    (void)s;
    return check(attr_of(a), layer);
}

static fv_status permute_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const permute_attr *p = attr_of(&n->a);
    char d[64], s[96];
    FV_TRY(check(p, n->name));
    if (x->ndim != p->ndim)
        return fv_err(FV_ERR_SHAPE, "layer '%s': dims=%s orders %d axes, but input '%s' %s has %d",
                      n->name, dims_str(p, d, sizeof d), p->ndim, x->name,
                      fv_node_shape_str(x, s, sizeof s), x->ndim);
    n->ndim = x->ndim;
    for (int k = 0; k < n->ndim; k++)
        n->dims[k] = x->dims[p->dims[k] - 1];
    return FV_OK;
}

static fv_permute_geom geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const permute_attr *p = attr_of(&n->a);
    fv_permute_geom g = {.ndim = x->ndim};
    for (int k = 0; k < x->ndim; k++)
        g.dims[k] = x->dims[k], g.perm[k] = (int)p->dims[k] - 1;
    return g;
}

static void permute_forward(fv_model *m, fv_node *n, int batch)
{
    fv_permute_geom g = geom(m, n);
    fv_ref_permute_fwd_f32(&g, batch, fv_input_node(m, n, 0)->y, n->y);
}

static void permute_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    fv_permute_geom g = geom(m, n);
    if (dx)
        fv_ref_permute_bwd_f32(&g, batch, n->dy, dx, fv_input_dy_fresh(m, n, 0));
}

/* ---------------------------------------------------------------- the layer */

static const fv_form permute_forms[] = {{{"permute", "Permute"}, "Permute", 0, NULL, NULL}};
static const fv_field permute_fields[] = {
    {.key = "dims", .type = FV_FT_SHAPE, .flags = FV_F_REQUIRED, .lo = 1,
     .arg = FV_ARG(a.reshape.ndim), .arg_h = FV_ARG(a.reshape.dims), .attr = AT_PERMUTE(ndim),
     .attr_w = AT_PERMUTE(dims),
     .doc = "each axis of a sample once, from 1 as in Keras: output axis k is input axis "
            "dims[k] (`2,3,1`: (C, H, W) to (H, W, C))"},
};
static const fv_schema permute_schema = {
    FV_SCHEMA_TABLES(FV_OP_PERMUTE, permute_forms, permute_fields), .finish = permute_finish};

const fv_op_def fv_op_permute_def = {
    .name = "permute", .kind = "Permute", .schema = &permute_schema, .infer = permute_infer,
    .forward = permute_forward, .backward = permute_backward, .overwrites_dx = 1,
};
