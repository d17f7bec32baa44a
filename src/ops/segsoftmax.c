/* segsoftmax.c - the segment softmax: each sample's values (in memory order) cut into consecutive
 * segments of given lengths, each with a softmax of its own; the output has the input's shape.
 * Darknet's word-tree softmax ([softmax] tree=, formats/darknet_cfg.c) is this with one segment
 * per group of sibling classes. The lengths (up to FV_SEGMENTS_MAX) are too many for fv_attr:
 * the model keeps them (fv_model_keep_ints) and the node holds the pointer. The layer's
 * attributes, arguments and text spelling ("segment_softmax segments=3,2,4") live here; the
 * kernels in kernels/ref/segsoftmax_ref. */
#include "kernels/ref/segsoftmax_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <stdio.h>

typedef struct segsoftmax_attr {
    int nseg;
    const int *seg; /* the model's copy of the lengths */
} segsoftmax_attr;
_Static_assert(sizeof(segsoftmax_attr) <= sizeof(((fv_attr *)0)->raw),
               "segsoftmax_attr fits fv_attr");

#define AT_SEG(member) (FV_AT(raw) + (int)offsetof(segsoftmax_attr, member))

static const segsoftmax_attr *attr_of(const fv_attr *a)
{
    return (const segsoftmax_attr *)a->raw;
}

static fv_status segsoftmax_finish(const fv_spec *s, fv_attr *a, const char *layer)
{
    const segsoftmax_attr *p = attr_of(a);
    (void)s;
    if (p->nseg < 1 || p->nseg > FV_SEGMENTS_MAX || !p->seg)
        return fv_err(FV_ERR_INVALID, "layer '%s': %d segments (expected 1..%d lengths)", layer,
                      p->nseg, FV_SEGMENTS_MAX);
    for (int k = 0; k < p->nseg; k++)
        if (p->seg[k] < 1)
            return fv_err(FV_ERR_INVALID, "layer '%s': segment %d has length %d (must be >= 1)",
                          layer, k, p->seg[k]);
    return FV_OK;
}

static fv_status segsoftmax_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const segsoftmax_attr *p = attr_of(&n->a);
    FV_TRY(segsoftmax_finish(NULL, &n->a, n->name));
    int64_t total = 0;
    for (int k = 0; k < p->nseg; k++)
        total += p->seg[k];
    if (total != x->size) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': its %d segments cover %lld values, but input "
                      "'%s' %s has %lld per sample", n->name, p->nseg, (long long)total, x->name,
                      fv_node_shape_str(x, s, sizeof s), (long long)x->size);
    }
    n->ndim = x->ndim;
    for (int k = 0; k < x->ndim; k++)
        n->dims[k] = x->dims[k];
    return FV_OK;
}

static void segsoftmax_forward(fv_model *m, fv_node *n, int batch)
{
    const segsoftmax_attr *p = attr_of(&n->a);
    fv_ref_segsoftmax_fwd_f32(p->seg, p->nseg, n->size, batch, fv_input_node(m, n, 0)->y, n->y);
}

static void segsoftmax_backward(fv_model *m, fv_node *n, int batch)
{
    const segsoftmax_attr *p = attr_of(&n->a);
    float *dx = fv_input_dy(m, n, 0);
    if (dx)
        fv_ref_segsoftmax_bwd_f32(p->seg, p->nseg, n->size, batch, n->y, n->dy, dx,
                                  fv_input_dy_fresh(m, n, 0));
}

/* ---------------------------------------------------------------- the layer */

static const fv_schema segsoftmax_schema;

/* The lengths copied into the model first, so the node's pointer lives as long as the model. */
static int segsoftmax_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    fv_spec c = *s;
    const fv_segment_softmax_args *a = &s->a.segsoftmax;
    c.a.segsoftmax.segments = fv_model_keep_ints(m, a->segments, a->nsegments);
    if (!c.a.segsoftmax.segments)
        return -1;
    return fv_layer_build(m, &segsoftmax_schema, 0, ins, nin, &c);
}

static const fv_form segsoftmax_forms[] = {
    {{"segment_softmax", "SegmentSoftmax"}, "SegmentSoftmax", 0, segsoftmax_add, NULL}};
static const fv_field segsoftmax_fields[] = {
    {.key = "segments", .type = FV_FT_INTS, .flags = FV_F_REQUIRED, .lo = 1, .hi = 1 << 30,
     .arg = FV_ARG(a.segsoftmax.nsegments), .arg_h = FV_ARG(a.segsoftmax.segments),
     .attr = AT_SEG(nseg), .attr_w = AT_SEG(seg),
     .doc = "1 to 16384 positive integers: the lengths of the consecutive segments, in memory "
            "order, that each get a softmax; they sum to a sample's size"},
};
static const fv_schema segsoftmax_schema = {
    FV_SCHEMA_TABLES(FV_OP_SEGMENT_SOFTMAX, segsoftmax_forms, segsoftmax_fields),
    .finish = segsoftmax_finish};

const fv_op_def fv_op_segment_softmax_def = {
    .name = "segment_softmax", .kind = "SegmentSoftmax", .schema = &segsoftmax_schema,
    .infer = segsoftmax_infer, .forward = segsoftmax_forward, .backward = segsoftmax_backward,
    .overwrites_dx = 1,
};
