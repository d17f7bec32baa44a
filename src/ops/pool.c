/* pool.c - the max and average 2-D pooling ops (NCHW): shape inference and the kernels. Max
 * pooling keeps its switches (argmax per output, int32) in n->saved for backward and runs the
 * vectorized forward kernels of kernels/pool.c (the common 2x2 stride-2 window has its own);
 * backward (a scatter through the switches), average and LP pooling run the reference kernels. */
#include "kernels/eltwise.h"
#include "kernels/ref/pool_ref.h"
#include "ops/node.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

static void geom(const fv_model *m, const fv_node *n, fv_pool_geom *g)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_pool_attr *a = &n->a.pool;
    *g = (fv_pool_geom){.c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2],
                        .oh = (int)n->dims[1], .ow = (int)n->dims[2], .kh = a->kh, .kw = a->kw,
                        .sh = a->sh, .sw = a->sw, .ph = a->ph, .pw = a->pw,
                        .exclude_pad = a->exclude_pad};
}

/* PyTorch's pooling output size: floor, or ceil where the last window must still start inside
 * the input or its left padding. */
static int64_t out_extent(int64_t in, int k, int s, int p, int ceil_mode, int pad_end)
{
    int64_t span = in + 2 * (int64_t)p + pad_end - k;
    int64_t o = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (o - 1) * s >= in + p)
        o--;
    return o;
}

static fv_status pool_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_pool_attr *a = &n->a.pool;
    char s[96];
    FV_TRY(fv_need_chw(n, x, "pooling"));
    int64_t hp = x->dims[1] + 2 * a->ph + a->pad_end, wp = x->dims[2] + 2 * a->pw + a->pad_end;
    if (hp < a->kh || wp < a->kw || x->dims[1] > INT32_MAX || x->dims[2] > INT32_MAX ||
        x->dims[1] * x->dims[2] > INT32_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': a %dx%d window does not fit input '%s' %s "
                      "(padding %d, %d)", n->name, a->kh, a->kw, x->name,
                      fv_node_shape_str(x, s, sizeof s), a->ph, a->pw);
    n->ndim = 3;
    n->dims[0] = x->dims[0];
    n->dims[1] = out_extent(x->dims[1], a->kh, a->sh, a->ph, a->ceil_mode, a->pad_end);
    n->dims[2] = out_extent(x->dims[2], a->kw, a->sw, a->pw, a->ceil_mode, a->pad_end);
    return FV_OK;
}

static size_t max_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    return sizeof(int32_t) * (size_t)n->size * (size_t)batch;
}

/* The 2x2 stride-2 window without padding, every window whole (ceil mode's partial windows take
 * the general path): its switches stay inside their own window. */
static int is_2x2(const fv_pool_geom *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 &&
           2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

/* Samples [a, b) of the batch: planes are independent, so workers split the batch. */
static void max_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    int64_t in_sz = fv_input_node(m, n, 0)->size;
    const float *x = fv_input_node(m, n, 0)->y + a * in_sz;
    float *y = n->y + a * n->size;
    int32_t *arg = (int32_t *)n->saved + a * n->size;
    if (m->inferring && fv_maxpool_flat_ok(&g)) /* no switches needed */
        fv_maxpool_fwd_flat_f32(&g, (int)(b - a), x, y);
    else if (is_2x2(&g))
        fv_maxpool_fwd_2x2_f32(&g, (int)(b - a), x, y, arg);
    else
        fv_maxpool_fwd_f32(&g, (int)(b - a), x, y, arg);
}

static void max_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    int64_t in_sz = fv_input_node(m, n, 0)->size;
    float *dx = fv_input_dy(m, n, 0);
    const int32_t *arg = n->saved;
    /* the scalar scatter: it is bound by memory (a vector version with masked adds, measured,
     * was slower). A stale dx is zeroed sample by sample, just before its scatter. */
    for (int64_t s = a; s < b; s++) {
        if (fv_input_dy_fresh(m, n, 0))
            memset(dx + s * in_sz, 0, sizeof(float) * (size_t)in_sz);
        fv_ref_maxpool_bwd_f32(&g, 1, n->dy + s * n->size, arg + s * n->size, dx + s * in_sz);
    }
}

static void avg_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    int64_t in_sz = fv_input_node(m, n, 0)->size;
    fv_ref_avgpool_fwd_f32(&g, (int)(b - a), fv_input_node(m, n, 0)->y + a * in_sz,
                           n->y + a * n->size);
}

static void avg_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    int64_t in_sz = fv_input_node(m, n, 0)->size;
    fv_ref_avgpool_bwd_f32(&g, (int)(b - a), n->dy + a * n->size, fv_input_dy(m, n, 0) + a * in_sz);
}

static void max_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, batch, 1, max_fwd_range);
}

static void max_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, batch, 1, max_bwd_range);
}

static void avg_forward(fv_model *m, fv_node *n, int batch)
{
    fv_parallel_ranges(m, n, batch, 1, avg_fwd_range);
}

static void avg_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, batch, 1, avg_bwd_range);
}

static const fv_schema maxpool_schema, avgpool_schema, lppool_schema, unpool_schema;

const fv_op_def fv_op_maxpool2d_def = {
    .name = "maxpool2d", .kind = "MaxPooling2D", .schema = &maxpool_schema, .infer = pool_infer,
    .saved_bytes = max_saved_bytes, .forward = max_forward, .backward = max_backward,
    .overwrites_dx = 1,
};

const fv_op_def fv_op_avgpool2d_def = {
    .name = "avgpool2d", .kind = "AveragePooling2D", .schema = &avgpool_schema,
    .infer = pool_infer, .forward = avg_forward, .backward = avg_backward,
};

/* ---------------------------------------------------------------- max-unpooling */

/* in[0]: values of the pool's output shape; in[1]: the max pool whose switches place them. */
static fv_status unpool_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0), *p = fv_input_node(m, n, 1);
    char a[96], b[96];
    if (n->nin != 2 || p->op != FV_OP_MAXPOOL2D)
        return fv_err(FV_ERR_INVALID, "layer '%s': max-unpooling needs a max-pooling layer as its "
                      "second input, got '%s'", n->name, p->name);
    if (x->ndim != 3 || memcmp(x->dims, p->dims, sizeof(int64_t) * 3) != 0)
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s must have the shape of '%s' %s",
                      n->name, x->name, fv_node_shape_str(x, a, sizeof a), p->name,
                      fv_node_shape_str(p, b, sizeof b));
    const fv_node *src = &m->nodes[p->in[0]];
    n->ndim = 3;
    memcpy(n->dims, src->dims, sizeof n->dims);
    return FV_OK;
}

static void unpool_forward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0), *p = fv_input_node(m, n, 1);
    const int32_t *arg = p->saved;
    int64_t planes = (int64_t)batch * n->dims[0], in_sz = n->dims[1] * n->dims[2];
    int64_t out_sz = x->dims[1] * x->dims[2];
    memset(n->y, 0, sizeof(float) * (size_t)(n->size * batch));
    for (int64_t q = 0; q < planes; q++)
        for (int64_t o = 0; o < out_sz; o++)
            if (arg[q * out_sz + o] >= 0)
                n->y[q * in_sz + arg[q * out_sz + o]] = x->y[q * out_sz + o];
}

static void unpool_backward(fv_model *m, fv_node *n, int batch)
{
    const fv_node *x = fv_input_node(m, n, 0), *p = fv_input_node(m, n, 1);
    float *dx = fv_input_dy(m, n, 0);
    const int32_t *arg = p->saved;
    int64_t planes = (int64_t)batch * n->dims[0], in_sz = n->dims[1] * n->dims[2];
    int64_t out_sz = x->dims[1] * x->dims[2];
    for (int64_t q = 0; dx && q < planes; q++)
        for (int64_t o = 0; o < out_sz; o++)
            if (arg[q * out_sz + o] >= 0)
                dx[q * out_sz + o] += n->dy[q * in_sz + arg[q * out_sz + o]];
}

const fv_op_def fv_op_maxunpool_def = {
    .name = "maxunpool2d", .kind = "MaxUnpool2d", .infer = unpool_infer, .schema = &unpool_schema,
    .forward = unpool_forward, .backward = unpool_backward,
};

/* ---------------------------------------------------------------- LP pooling */

static fv_status lppool_infer(fv_model *m, fv_node *n)
{
    if (n->a.pool.ph || n->a.pool.pw)
        return fv_err(FV_ERR_INVALID, "layer '%s': LP pooling takes no padding", n->name);
    if (!(n->a.pool.power >= 1) || isinf(n->a.pool.power))
        return fv_err(FV_ERR_INVALID, "layer '%s': power=%g must be >= 1 and finite", n->name,
                      (double)n->a.pool.power);
    return pool_infer(m, n);
}

static void lppool_forward(fv_model *m, fv_node *n, int batch)
{
    fv_pool_geom g;
    geom(m, n, &g);
    fv_ref_lppool_fwd_f32(&g, batch, n->a.pool.power, fv_input_node(m, n, 0)->y, n->y);
}

static void lppool_backward(fv_model *m, fv_node *n, int batch)
{
    float *dx = fv_input_dy(m, n, 0);
    fv_pool_geom g;
    geom(m, n, &g);
    if (dx)
        fv_ref_lppool_bwd_f32(&g, batch, n->a.pool.power, fv_input_node(m, n, 0)->y, n->y, n->dy,
                              dx);
}

const fv_op_def fv_op_lppool_def = {
    .name = "lppool2d", .kind = "LPPool2d", .infer = lppool_infer, .schema = &lppool_schema,
    .forward = lppool_forward, .backward = lppool_backward,
};

/* ---------------------------------------------------------------- the layers */

/* At most half the window of padding on each side (2p <= k), as PyTorch requires. */
static fv_status pool_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    const fv_pool_attr *p = &at->pool;
    if (2 * (int64_t)p->ph > p->kh || 2 * (int64_t)p->pw > p->kw)
        return fv_err(FV_ERR_INVALID, "layer '%s': padding=%d must be between 0 and half the "
                      "window", layer, s->a.pool.padding);
    return FV_OK;
}

/* The rows every pooling layer has: window, stride (default: the window), padding. */
#define POOL_SIZE                                                                             \
    {.key = "pool_size", .alias = "size", .type = FV_FT_PAIR, .def = 2, .lo = 1, .hi = INT_MAX, \
     .arg = FV_ARG(a.pool.size), .arg_h = FV_ARG(a.pool.size_h), .arg_w = FV_ARG(a.pool.size_w), \
     .attr = FV_AT(pool.kh), .attr_w = FV_AT(pool.kw), .doc = "`N` or `H,W`"}
#define POOL_STRIDES                                                                          \
    {.key = "strides", .alias = "stride", .type = FV_FT_SQUARE, .lo = 1, .hi = INT_MAX,        \
     .arg = FV_ARG(a.pool.stride), .attr = FV_AT(pool.sh), .attr_w = FV_AT(pool.sw),            \
     .def_from = 1, .doc = "`N` (or `N,N`, equal values)", .def_doc = "the pool size"}
#define POOL_PADDING(flags_)                                                                  \
    {.key = "padding", .type = FV_FT_PADDING, .flags = flags_, .lo = 0, .hi = INT_MAX,        \
     .arg = FV_ARG(a.pool.padding), .attr = FV_AT(pool.ph), .attr_w = FV_AT(pool.pw),           \
     .doc = "`valid` (0) or an integer N from 0 to half the window"}
#define POOL_CEIL                                                                             \
    {.key = "ceil_mode", .type = FV_FT_BOOL, .arg = FV_ARG(a.pool.ceil_mode),                  \
     .attr = FV_AT(pool.ceil_mode),                                                           \
     .doc = "`true`: partial windows at the end make outputs too (PyTorch's rule)"}

static const fv_field maxpool_fields[] = {
    POOL_SIZE, POOL_STRIDES, POOL_PADDING(0), POOL_CEIL,
    {.key = "pad_end", .type = FV_FT_INT, .lo = 0, .hi = 1, .arg = FV_ARG(a.pool.pad_end),
     .attr = FV_AT(pool.pad_end),
     .doc = "0 or 1 more cell of padding after the end of each axis (Darknet's odd padding: "
            "`padding=P` of Darknet is P/2 here and `pad_end` P%2)"},
};
static const fv_field avgpool_fields[] = {
    POOL_SIZE, POOL_STRIDES, POOL_PADDING(0), POOL_CEIL,
    {.key = "count_include_pad", .type = FV_FT_BOOL, .flags = FV_F_TEXT_NOT,
     .arg = FV_ARG(a.pool.exclude_pad), .attr = FV_AT(pool.exclude_pad),
     .doc = "`false`: divide by the cells inside the input"},
};
static const fv_field lppool_fields[] = {
    POOL_SIZE, POOL_STRIDES, POOL_PADDING(FV_F_C_ONLY), POOL_CEIL,
    {.key = "power", .alias = "norm_type", .type = FV_FT_FLOAT, .def = 2, .lo = 1,
     .hi = INFINITY, .arg = FV_ARG(power), .attr = FV_AT(pool.power),
     .doc = "P of `(sum x^P)^(1/P)` over each window (2: L2 pooling)"},
};

static const fv_form maxpool_forms[] = {
    {{"maxpool2d", "MaxPooling2D", "MaxPool2D"}, "MaxPooling2D", 0, NULL, NULL}};
static const fv_form avgpool_forms[] = {
    {{"avgpool2d", "AveragePooling2D", "AvgPool2D"}, "AveragePooling2D", 0, NULL, NULL}};
static const fv_form lppool_forms[] = {{{"lppool2d", "LPPool2d"}, "LPPool2d", 0, NULL, NULL}};
static const fv_form unpool_forms[] = {
    {{"maxunpool2d", "MaxUnpool2d"}, "MaxUnpool2d", 0, NULL, NULL}};

#define POOL_SCHEMA(op_, forms_, fields_)                                                     \
    {FV_SCHEMA_TABLES(op_, forms_, fields_), .finish = pool_finish}
static const fv_schema maxpool_schema = POOL_SCHEMA(FV_OP_MAXPOOL2D, maxpool_forms, maxpool_fields);
static const fv_schema avgpool_schema = POOL_SCHEMA(FV_OP_AVGPOOL2D, avgpool_forms, avgpool_fields);
static const fv_schema lppool_schema = POOL_SCHEMA(FV_OP_LPPOOL, lppool_forms, lppool_fields);
static const fv_schema unpool_schema = {
    .op = FV_OP_MAXUNPOOL, .forms = unpool_forms, .nforms = 1, .min_in = 2, .max_in = 2};
