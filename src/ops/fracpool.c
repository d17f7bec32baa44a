/* fracpool.c - fractional max pooling (Graham 2014, "Fractional Max-Pooling", arXiv 1412.6071;
 * PyTorch's FractionalMaxPool2d): (C, H, W) -> (C, oh, ow) with H / oh not an integer. A window
 * kh x kw > 0 takes PyTorch's overlapping windows at pseudo-random starts; kh = kw = 0 takes
 * Graham's disjoint regions of 1 or 2 cells per axis, pseudo-random or in a random order.
 *
 * Each training forward draws one sample u in [0, 1) per (sample, channel, axis) - width first,
 * as PyTorch's _random_samples - from the model's seeded stream (dropout's), or for the random
 * kind an order of increments; evaluation uses u = 0.5 everywhere (the random kind then takes the
 * pseudo-random regions), so it is deterministic. n->saved holds a flag (samples set by a test),
 * the samples, the region starts and the switches for backward. */
#include "kernels/ref/pool_ref.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- sequences */

/* (int)v for 0 <= v, saturating at hi (a float near 2^31 must not overflow the cast). */
static int trunc_to(float v, int hi)
{
    return v < (float)hi ? (int)v : hi;
}

void fv_fracpool_window_seq(float u, int in, int out, int k, int32_t *seq)
{
    if (out > 1) { /* in float, as PyTorch's generate_intervals for float32 */
        float alpha = (float)(in - k) / (float)(out - 1);
        for (int i = 0; i < out - 1; i++) {
            int a = trunc_to(((float)i + u) * alpha, in - k) - trunc_to(u * alpha, in - k);
            seq[i] = a < 0 ? 0 : a > in - k ? in - k : a;
        }
    }
    seq[out - 1] = in - k;
    seq[out] = in;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/* Exactly, in integers: alpha (i + u) = (in i + in u) / out, and for an integer c,
 * c out >= in i + in u iff c out >= in i + ceil(in u); in u is exact in double for in < 2^29 (and
 * any integer in place of ceil(in u) still gives increments of 1 or 2). */
void fv_fracpool_pseudo_seq(float u, int in, int out, int32_t *seq)
{
    int64_t t = (int64_t)ceil((double)in * u), base = ceil_div(t, out);
    for (int i = 0; i < out; i++)
        seq[i] = (int32_t)(ceil_div((int64_t)in * i + t, out) - base);
    seq[out] = in;
}

void fv_fracpool_random_seq(fv_rng *r, int in, int out, int32_t *seq)
{
    for (int i = 1; i <= out; i++)
        seq[i] = i <= in - out ? 2 : 1;
    for (int i = out; i > 1; i--) { /* Fisher-Yates over seq[1..out] */
        int j = 1 + (int)fv_rng_below(r, (uint64_t)i);
        int32_t t = seq[i];
        seq[i] = seq[j];
        seq[j] = t;
    }
    seq[0] = 0;
    for (int i = 1; i <= out; i++)
        seq[i] += seq[i - 1];
}

/* ---------------------------------------------------------------- saved state */

typedef struct frac_parts {
    int32_t *flag; /* 1: the samples were set by fv_fracpool_set_samples */
    float *u;      /* 2 per plane: width, height */
    int32_t *seq;  /* oh + ow + 2 per plane: row starts, then column starts */
    int32_t *arg;  /* the switches, oh * ow per plane */
} frac_parts;

static int64_t seq_len(const fv_node *n)
{
    return n->dims[1] + n->dims[2] + 2;
}

static size_t frac_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m;
    int64_t planes = (int64_t)batch * n->dims[0];
    return sizeof(int32_t) * (size_t)(1 + planes * (2 + seq_len(n)) + (int64_t)batch * n->size);
}

/* The parts of n->saved, laid out for the planned batch (plan_batch) so they stay put. */
static frac_parts parts(const fv_model *m, const fv_node *n)
{
    int64_t planes = (int64_t)m->plan_batch * n->dims[0];
    frac_parts q;
    q.flag = n->saved;
    q.u = (float *)(q.flag + 1);
    q.seq = (int32_t *)(q.u + 2 * planes);
    q.arg = q.seq + planes * seq_len(n);
    return q;
}

/* ---------------------------------------------------------------- op */

/* One axis's extent: the given size, or floor(in * ratio) (PyTorch's int(in * ratio)). */
static int64_t extent(int64_t in, int out, double ratio)
{
    return out > 0 ? out : (int64_t)floor((double)in * ratio);
}

static fv_status check_axis(const fv_node *n, const char *axis, int64_t in, int64_t out, int k)
{
    if (k > 0 && (out < 1 || out + k - 1 > in))
        return fv_err(FV_ERR_SHAPE, "layer '%s': output %s %lld with a window of %d needs "
                      "1 <= output <= %lld (input %s %lld - window + 1)", n->name, axis,
                      (long long)out, k, (long long)(in - k + 1), axis, (long long)in);
    if (k == 0 && (out < 1 || out > in || in > 2 * out))
        return fv_err(FV_ERR_SHAPE, "layer '%s': disjoint regions need input %s / 2 <= output "
                      "<= input, got output %lld for input %lld", n->name, axis, (long long)out,
                      (long long)in);
    return FV_OK;
}

static fv_status frac_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_frac_attr *a = &n->a.frac;
    char s[96];
    if (x->ndim != 3 || x->dims[1] * x->dims[2] > INT32_MAX)
        return fv_err(FV_ERR_SHAPE, "layer '%s': fractional max pooling needs a (channels, "
                      "height, width) input of at most 2^31 - 1 cells per channel, got '%s' %s",
                      n->name, x->name, fv_node_shape_str(x, s, sizeof s));
    int64_t oh = extent(x->dims[1], a->oh, a->rh), ow = extent(x->dims[2], a->ow, a->rw);
    FV_TRY(check_axis(n, "height", x->dims[1], oh, a->kh));
    FV_TRY(check_axis(n, "width", x->dims[2], ow, a->kw));
    n->ndim = 3;
    n->dims[0] = x->dims[0];
    n->dims[1] = oh;
    n->dims[2] = ow;
    return FV_OK;
}

static float draw_u(fv_rng *r)
{
    float u = (float)fv_rng_uniform(r);
    return u < 1.0f ? u : nextafterf(1.0f, 0.0f); /* a double just below 1 may round up */
}

static void axis_seq(int k, float u, int in, int out, int32_t *seq)
{
    if (k > 0)
        fv_fracpool_window_seq(u, in, out, k, seq);
    else
        fv_fracpool_pseudo_seq(u, in, out, seq);
}

/* The regions of every plane of the batch: from the test's samples, drawn (training, in plane
 * order, serially so the stream does not depend on threads) or at u = 0.5 (evaluation). */
static void frac_regions(fv_model *m, fv_node *n, int batch, frac_parts q)
{
    const fv_node *x = fv_input_node(m, n, 0);
    int h = (int)x->dims[1], w = (int)x->dims[2], oh = (int)n->dims[1], ow = (int)n->dims[2];
    int64_t planes = (int64_t)batch * n->dims[0], len = seq_len(n);
    int draw = m->training && !*q.flag;
    for (int64_t p = 0; p < planes; p++) {
        float *u = q.u + 2 * p;
        int32_t *rows = q.seq + p * len, *cols = rows + oh + 1;
        if (draw && n->a.frac.random) {
            u[0] = u[1] = -1.0f; /* no sample: a drawn order */
            fv_fracpool_random_seq(&m->rng, w, ow, cols);
            fv_fracpool_random_seq(&m->rng, h, oh, rows);
            continue;
        }
        if (!*q.flag) {
            u[0] = draw ? draw_u(&m->rng) : 0.5f;
            u[1] = draw ? draw_u(&m->rng) : 0.5f;
        }
        axis_seq(n->a.frac.kw, u[0], w, ow, cols);
        axis_seq(n->a.frac.kh, u[1], h, oh, rows);
    }
}

static void geom(const fv_model *m, const fv_node *n, fv_pool_geom *g)
{
    const fv_node *x = fv_input_node(m, n, 0);
    *g = (fv_pool_geom){.c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2],
                        .oh = (int)n->dims[1], .ow = (int)n->dims[2], .kh = n->a.frac.kh,
                        .kw = n->a.frac.kw};
}

/* Samples [a, b) of the batch. */
static void frac_fwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    frac_parts q = parts(m, n);
    const fv_node *x = fv_input_node(m, n, 0);
    fv_ref_fracpool_fwd_f32(&g, (int)(b - a), q.seq + a * g.c * seq_len(n), x->y + a * x->size,
                            n->y + a * n->size, q.arg + a * n->size);
}

static void frac_bwd_range(fv_model *m, fv_node *n, int64_t a, int64_t b)
{
    fv_pool_geom g;
    geom(m, n, &g);
    int64_t in_sz = fv_input_node(m, n, 0)->size;
    fv_ref_maxpool_bwd_f32(&g, (int)(b - a), n->dy + a * n->size, parts(m, n).arg + a * n->size,
                           fv_input_dy(m, n, 0) + a * in_sz);
}

static void frac_forward(fv_model *m, fv_node *n, int batch)
{
    frac_regions(m, n, batch, parts(m, n));
    fv_parallel_ranges(m, n, batch, 1, frac_fwd_range);
}

static void frac_backward(fv_model *m, fv_node *n, int batch)
{
    if (fv_input_dy(m, n, 0))
        fv_parallel_ranges(m, n, batch, 1, frac_bwd_range);
}

/* ---------------------------------------------------------------- the layer */

/* A window and an output size or ratio that go together. */
static fv_status frac_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    (void)s;
    const fv_frac_attr *f = &at->frac;
    const char *why = NULL;
    bool sized = f->oh || f->ow, ratio = f->rh != 0 || f->rw != 0;
    if (f->kh < 0 || f->kw < 0 || (f->kh == 0) != (f->kw == 0))
        why = "the window must be positive, or 0 on both axes for disjoint regions";
    else if (sized && ratio)
        why = "give an output size or an output ratio, not both";
    else if (sized && (f->oh <= 0 || f->ow <= 0))
        why = "the output size must be positive on both axes";
    else if (!sized && !(f->rh > 0 && f->rh < 1 && f->rw > 0 && f->rw < 1))
        why = "needs an output size, or an output ratio in (0, 1) on both axes";
    else if (f->random && f->kh)
        why = "a random sequence needs disjoint regions (window 0)";
    if (!why)
        return FV_OK;
    return fv_err(FV_ERR_INVALID, "layer '%s': %s (window %dx%d, output %dx%d, ratio %g, %g)",
                  layer, why, f->kh, f->kw, f->oh, f->ow, f->rh, f->rw);
}

static const char *const sequences[] = {"pseudorandom", "random", NULL};

static const fv_form frac_forms[] = {
    {{"fractional_maxpool2d", "FractionalMaxPool2d"}, "FractionalMaxPool2d", 0, NULL, NULL}};

static const fv_field frac_fields[] = {
    {.key = "kernel_size", .alias = "pool_size", .type = FV_FT_PAIR, .lo = 0, .hi = INT_MAX,
     .arg = FV_ARG(a.frac.size), .arg_h = FV_ARG(a.frac.size_h), .arg_w = FV_ARG(a.frac.size_w),
     .attr = FV_AT(frac.kh), .attr_w = FV_AT(frac.kw),
     .doc = "`N` or `H,W` (integers >= 0); 0: Graham's disjoint regions"},
    {.key = "output_size", .type = FV_FT_PAIR, .flags = FV_F_OPTIONAL, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.frac.output_size), .arg_h = FV_ARG(a.frac.output_h),
     .arg_w = FV_ARG(a.frac.output_w), .attr = FV_AT(frac.oh), .attr_w = FV_AT(frac.ow),
     .doc = "`N` or `H,W`"},
    {.key = "output_ratio", .type = FV_FT_RATIO, .flags = FV_F_OPTIONAL | FV_F_LO_OPEN |
     FV_F_HI_OPEN, .lo = 0, .hi = 1, .arg = FV_ARG(a.frac.ratio), .arg_h = FV_ARG(a.frac.ratio_h),
     .arg_w = FV_ARG(a.frac.ratio_w), .attr = FV_AT(frac.rh), .attr_w = FV_AT(frac.rw),
     .doc = "`R` or `RH,RW`, numbers in (0, 1): oh = floor(H RH)"},
    {.key = "sequence", .type = FV_FT_CHOICE, .words = sequences, .arg = FV_ARG(a.frac.random),
     .attr = FV_AT(frac.random), .doc = "`pseudorandom` or `random` (disjoint regions only)"},
};

static const fv_schema frac_schema = {FV_SCHEMA_TABLES(FV_OP_FRACPOOL, frac_forms, frac_fields),
                                      .finish = frac_finish};

const fv_op_def fv_op_fracpool_def = {
    .name = "fractional_maxpool2d", .kind = "FractionalMaxPool2d", .schema = &frac_schema,
    .infer = frac_infer, .saved_bytes = frac_saved_bytes, .forward = frac_forward,
    .backward = frac_backward,
};

/* ---------------------------------------------------------------- test hooks */

/* Node `node` if it is a planned fractional max pooling holding at least `planes` planes. */
static fv_status planned_node(const fv_model *m, int node, int64_t planes, const char *fn)
{
    if (!m || node < 0 || node >= m->nnodes || m->nodes[node].op != FV_OP_FRACPOOL)
        return fv_err(FV_ERR_INVALID, "%s: node %d is not a fractional max pooling layer", fn,
                      node);
    const fv_node *n = &m->nodes[node];
    if (!n->saved || planes < 1 || planes > (int64_t)m->plan_batch * n->dims[0])
        return fv_err(FV_ERR_STATE, "%s: layer '%s' is planned for %lld planes, asked for %lld",
                      fn, n->name, (long long)(n->saved ? m->plan_batch * n->dims[0] : 0),
                      (long long)planes);
    return FV_OK;
}

fv_status fv_fracpool_set_samples(fv_model *m, int node, const float *u, int batch)
{
    const char *fn = "fv_fracpool_set_samples";
    FV_TRY(planned_node(m, node, 1, fn));
    fv_node *n = &m->nodes[node];
    if (u)
        FV_TRY(planned_node(m, node, (int64_t)batch * n->dims[0], fn));
    frac_parts q = parts(m, n);
    int64_t count = 2 * (int64_t)batch * n->dims[0];
    for (int64_t i = 0; u && i < count; i++)
        if (!(u[i] >= 0.0f && u[i] < 1.0f))
            return fv_err(FV_ERR_INVALID, "layer '%s': sample %lld is %g, outside [0, 1)",
                          n->name, (long long)i, (double)u[i]);
    if (u)
        memcpy(q.u, u, sizeof(float) * (size_t)count);
    *q.flag = u != NULL;
    return FV_OK;
}

fv_status fv_fracpool_plane(const fv_model *m, int node, int64_t p, const float **u,
                            const int32_t **rows, const int32_t **cols)
{
    FV_TRY(planned_node(m, node, p + 1, "fv_fracpool_plane"));
    const fv_node *n = &m->nodes[node];
    frac_parts q = parts(m, n);
    *u = q.u + 2 * p;
    *rows = q.seq + p * seq_len(n);
    *cols = *rows + n->dims[1] + 1;
    return FV_OK;
}
