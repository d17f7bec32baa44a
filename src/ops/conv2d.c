/* conv2d.c - the 2-D convolution op: input (C, H, W), output (F, OH, OW), parameters "weight"
 * (F, C / groups, kh, kw) and optional "bias" (F), PyTorch's layout. Forward and backward run the
 * lowered convolution of kernels/conv_fast.h (im2col into the worker's workspace + fv_sgemm,
 * small maps several samples per GEMM; the bias, or a fused batch norm and activation, in the
 * epilogue), or, for depthwise layers (groups = channels = filters), the direct kernel of
 * kernels/depthwise.c. The batch is split across the thread pool: each worker has its own column
 * buffer and, in backward, partial weight/bias gradients summed afterwards in worker order. With
 * fewer samples than workers, each sample is spread over all of them instead (forward; 3x3 layers
 * where Winograd wins by rows of output tiles, the weights transformed once, split by channel). */
#include "ops/node.h"
#include "kernels/kernels.h"
#include "kernels/ref/conv_ref.h"
#include "kernels/winograd.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* The geometry of node n (whose input and attributes infer has already checked). */
static fv_conv_geom node_geom(const fv_model *m, const fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_conv_attr *a = &n->a.conv;
    fv_conv_geom g = {
        .c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2], .f = a->filters,
        .kh = a->kh, .kw = a->kw, .sh = a->sh, .sw = a->sw, .ph = a->ph, .pw = a->pw,
        .dh = a->dh, .dw = a->dw, .groups = a->groups,
    };
    fv_conv_geom_init(&g);
    return g;
}

static fv_status check_attrs(const fv_node *n)
{
    const fv_conv_attr *a = &n->a.conv;
    if (n->nin != 1)
        return fv_err(FV_ERR_INVALID, "layer '%s': conv2d takes 1 input, got %d", n->name, n->nin);
    if (a->filters < 1 || a->kh < 1 || a->kw < 1 || a->sh < 1 || a->sw < 1 || a->dh < 1 ||
        a->dw < 1 || a->groups < 1 || a->ph < 0 || a->pw < 0)
        return fv_err(FV_ERR_INVALID, "layer '%s': bad conv2d attributes: filters=%d kernel=%dx%d "
                      "stride=%dx%d dilation=%dx%d groups=%d padding=%dx%d", n->name, a->filters,
                      a->kh, a->kw, a->sh, a->sw, a->dh, a->dw, a->groups, a->ph, a->pw);
    return FV_OK;
}

/* Output extent along one axis (int64: no overflow for any int attributes); <= 0 when empty. */
static int64_t out_extent(int64_t in, int k, int s, int p, int d)
{
    int64_t span = in + 2 * (int64_t)p - (int64_t)d * (k - 1) - 1;
    return span < 0 ? 0 : span / s + 1;
}

/* a b <= INT_MAX, for a, b >= 0 */
static int prod_fits(int64_t a, int64_t b)
{
    return a <= INT_MAX && b <= INT_MAX && a * b <= INT_MAX;
}

/* The kernels index one sample's matrices with int, and the padded extents stay far from
 * overflowing it. */
static int sizes_fit(const fv_node *x, const fv_conv_attr *a, int64_t oh, int64_t ow)
{
    if (x->dims[1] + 2 * (int64_t)a->ph + (int64_t)a->dh * a->kh > INT_MAX / 2 ||
        x->dims[2] + 2 * (int64_t)a->pw + (int64_t)a->dw * a->kw > INT_MAX / 2 ||
        !prod_fits(x->dims[1], x->dims[2]) || !prod_fits(x->dims[0], x->dims[1] * x->dims[2]) ||
        !prod_fits(oh, ow) || !prod_fits(a->kh, a->kw) ||
        !prod_fits(x->dims[0], (int64_t)a->kh * a->kw))
        return 0;
    int64_t rows = x->dims[0] / a->groups * a->kh * a->kw;
    return prod_fits(rows, oh * ow) && prod_fits(a->filters, oh * ow) &&
           prod_fits(a->filters, rows);
}

/* Checks the input shape against the attributes and sets the output shape. */
static fv_status infer_shape(const fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_conv_attr *a = &n->a.conv;
    char xs[96];
    fv_node_shape_str(x, xs, sizeof xs);
    if (x->ndim != 3)
        return fv_err(FV_ERR_SHAPE, "layer '%s': conv2d needs an input of shape (None, C, H, W), "
                      "got '%s' %s", n->name, x->name, xs);
    if (x->dims[0] % a->groups)
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s has %lld channels, not divisible "
                      "by groups=%d", n->name, x->name, xs, (long long)x->dims[0], a->groups);
    if (a->filters % a->groups)
        return fv_err(FV_ERR_SHAPE, "layer '%s': filters=%d not divisible by groups=%d (input "
                      "'%s' %s)", n->name, a->filters, a->groups, x->name, xs);
    int64_t oh = out_extent(x->dims[1], a->kh, a->sh, a->ph, a->dh);
    int64_t ow = out_extent(x->dims[2], a->kw, a->sw, a->pw, a->dw);
    if (oh < 1 || ow < 1)
        return fv_err(FV_ERR_SHAPE, "layer '%s': kernel %dx%d (dilation %dx%d) is larger than "
                      "input '%s' %s padded by %dx%d", n->name, a->kh, a->kw, a->dh, a->dw,
                      x->name, xs, a->ph, a->pw);
    if (!sizes_fit(x, a, oh, ow))
        return fv_err(FV_ERR_SHAPE, "layer '%s': input '%s' %s with kernel %dx%d, padding %dx%d "
                      "and %d filters is too large", n->name, x->name, xs, a->kh, a->kw, a->ph,
                      a->pw, a->filters);
    n->ndim = 3;
    n->dims[0] = a->filters;
    n->dims[1] = oh;
    n->dims[2] = ow;
    return FV_OK;
}

static fv_status conv_infer(fv_model *m, fv_node *n)
{
    FV_TRY(check_attrs(n));
    FV_TRY(infer_shape(m, n));
    const fv_conv_attr *a = &n->a.conv;
    int64_t cg = fv_input_node(m, n, 0)->dims[0] / a->groups;
    int64_t wd[4] = {a->filters, cg, a->kh, a->kw};
    int64_t taps = (int64_t)a->kh * a->kw;
    /* Keras' Glorot fans: fan_in = (C / groups) kh kw, fan_out = F kh kw */
    FV_TRY(fv_param_declare(m, n, "weight", 4, wd, 1, FV_INIT_GLOROT_UNIFORM, cg * taps,
                            a->filters * taps));
    if (a->bias) {
        int64_t bd[1] = {a->filters};
        FV_TRY(fv_param_declare(m, n, "bias", 1, bd, 1, FV_INIT_ZEROS, 0, 0));
    }
    return FV_OK;
}

/* Per worker: the fast path's scratch for its samples (column matrix of a chunk, kernels/
 * conv_fast.h), and at the end of its slice partial weight and bias gradients over them. */
static int64_t col_floats(const fv_conv_geom *g, int batch)
{
    return (fv_conv_fast_scratch(g, batch) + 15) & ~(int64_t)15;
}

static int64_t wgrad_floats(const fv_model *m, const fv_node *n)
{
    return (m->params[n->param[0]].numel + 15) & ~(int64_t)15;
}

/* When a pass over the batch runs by Winograd (the rule on the whole batch), its transformed
 * weights are computed once by all workers together and shared: they occupy the first u_floats
 * of worker 0's slice, and every worker's scratch starts after that many floats (the slices hold
 * them: fv_conv_fast_scratch counts the transformed weights of a Winograd call). The weight
 * gradient's own transform-domain sum takes the same place afterwards, in a phase of its own. */
static int64_t u_floats(const fv_conv_geom *g)
{
    return ((int64_t)fv_winograd_weight_floats(g) + 15) & ~(int64_t)15;
}

static size_t conv_workspace_bytes(const fv_model *m, const fv_node *n, int batch)
{
    fv_conv_geom g = node_geom(m, n);
    /* sized for the whole batch on one worker (chunks are capped), whatever the thread count */
    return sizeof(float) *
           (size_t)(col_floats(&g, batch) + wgrad_floats(m, n) + n->a.conv.filters);
}

/* Worker k's partial weight gradient (then the bias's): the last floats of its slice. */
static float *partials(const fv_model *m, const fv_node *n, int k)
{
    int64_t at = (int64_t)(m->workspace_bytes / sizeof(float)) - wgrad_floats(m, n) -
                 n->a.conv.filters;
    return fv_workspace(m, k) + at;
}

/* Transforming the weights for Winograd (pass 0 forward, 1 input gradient), split by the
 * correlation's input channels. */
typedef struct u_job {
    const fv_conv_geom *g;
    const float *w;
    float *u;
    int pass, width;
} u_job;

static void u_task(void *ctx, int k)
{
    const u_job *j = ctx;
    int64_t a, b;
    fv_split(fv_winograd_in_channels(j->g, j->pass), j->width, k, &a, &b);
    if (b > a)
        fv_winograd_weights_part_f32(j->w, j->g, j->pass, (int)a, (int)b, j->u);
}

/* u = w transformed for pass `pass` across the pool; returns u. */
static float *transform_weights(const fv_conv_geom *g, const float *w, int pass, float *u)
{
    u_job j = {g, w, u, pass, fv_parallel_width(fv_winograd_in_channels(g, pass))};
    fv_parallel(j.width, u_task, &j);
    return u;
}

/* The work of one worker: samples [a, b) of the batch. */
typedef struct conv_job {
    fv_model *m;
    fv_node *n;
    fv_conv_geom g;
    int batch, width;
    const float *u; /* shared transformed weights for dx (phase DX_SHARED), or NULL */
    int phase;
} conv_job;

/* Backward in one phase, or (Winograd's input gradient with shared weights) in two: dx, then the
 * weight and bias gradients. */
enum { ALL_GRADS, DX_SHARED, DW_ONLY };

static void job_range(const conv_job *j, int k, int64_t *a, int64_t *b)
{
    fv_split(j->batch, j->width, k, a, b);
}

/* Depthwise (one kernel per channel, multiplier 1): the direct kernel's geometry. */
static int as_depthwise(const fv_conv_geom *g, fv_dw_geom *d)
{
    *d = (fv_dw_geom){.c = g->c, .h = g->h, .w = g->w, .kh = g->kh, .kw = g->kw, .sh = g->sh,
                      .sw = g->sw, .ph = g->ph, .pw = g->pw, .dh = g->dh, .dw = g->dw,
                      .oh = g->oh, .ow = g->ow};
    return g->groups > 1 && g->groups == g->c && g->f == g->c;
}

typedef struct fwd_job {
    fv_model *m;
    fv_node *n;
    fv_conv_geom g;
    fv_conv_epilogue e;
    const float *x, *w, *u; /* u: shared transformed weights, or NULL */
    float *y, *col;
    int batch, width, grp; /* split mode: the sample's group being computed */
} fwd_job;

/* Channels [c0, c1) of one sample's depthwise convolution (x, y: the sample's input and output)
 * and their epilogue, in blocks of channels whose output (about DW_EPI_FLOATS) is still in the
 * cache when the epilogue reads it back. */
enum { DW_EPI_FLOATS = 16 * 1024 };

static void depthwise_epilogue(const fv_dw_geom *dg, const float *x, const float *w,
                               const fv_conv_epilogue *e, float *y, int c0, int c1)
{
    int64_t plane = (int64_t)dg->h * dg->w, ohw = (int64_t)dg->oh * dg->ow;
    int taps = dg->kh * dg->kw, block = ohw < DW_EPI_FLOATS ? (int)(DW_EPI_FLOATS / ohw) : 1;
    for (int c = c0; c < c1; c += block) {
        fv_dw_geom d = *dg;
        d.c = c1 - c < block ? c1 - c : block;
        fv_depthwise_fwd_f32(x + c * plane, w + c * taps, NULL, y + c * ohw, 1, &d);
        fv_conv_epilogue_apply(e, y, ohw, c, c + d.c, 0, ohw);
    }
}

/* Samples [a, b) of the batch on one worker: lowered (im2col + GEMM) or depthwise, then the
 * epilogue per sample while its output is fresh. */
static void fwd_samples(const fwd_job *j, int k, int64_t a, int64_t b)
{
    const fv_conv_geom *g = &j->g;
    int64_t in_sz = (int64_t)g->c * g->h * g->w, out_sz = (int64_t)g->f * g->oh * g->ow;
    fv_dw_geom d;
    if (!as_depthwise(g, &d)) {
        fv_conv_fast_fwd(j->x + a * in_sz, j->w, j->u, &j->e, j->y + a * out_sz, (int)(b - a),
                         g, fv_workspace(j->m, k) + (j->u ? u_floats(g) : 0));
        return;
    }
    for (int64_t s = a; s < b; s++)
        depthwise_epilogue(&d, j->x + s * in_sz, j->w, &j->e, j->y + s * out_sz, 0, g->c);
}

static void batch_task(void *ctx, int k)
{
    const fwd_job *j = ctx;
    int64_t a, b;
    fv_split(j->batch, j->width, k, &a, &b);
    fwd_samples(j, k, a, b);
}

/* Split mode, phase 1: worker k lowers its channel range of group j->grp of the sample j->x. */
static void im2col_task(void *ctx, int k)
{
    const fwd_job *j = ctx;
    const fv_conv_geom *g = &j->g;
    int cg = g->c / g->groups, taps = g->kh * g->kw;
    int64_t a, b, plane = (int64_t)g->h * g->w, ohw = (int64_t)g->oh * g->ow;
    fv_split(cg, j->width, k, &a, &b);
    if (b > a)
        fv_im2col_f32(j->x + ((int64_t)j->grp * cg + a) * plane, g, (int)(b - a),
                      j->col + a * taps * ohw);
}

/* Split mode, phase 2: worker k's share of the group's GEMM (columns when the map is wide, else
 * filter rows) and its epilogue. Depthwise layers split channels instead. */
static void gemm_task(void *ctx, int k)
{
    const fwd_job *j = ctx;
    const fv_conv_geom *g = &j->g;
    int ohw = g->oh * g->ow, fg = g->f / g->groups;
    int f0 = j->grp * fg;
    int64_t a, b;
    fv_dw_geom d;
    if (as_depthwise(g, &d)) {
        fv_split(g->c, j->width, k, &a, &b);
        depthwise_epilogue(&d, j->x, j->w, &j->e, j->y, (int)a, (int)b);
        return;
    }
    const float *col = fv_conv_is_pointwise(g) ? j->x + (int64_t)j->grp * (g->c / g->groups) * ohw
                                               : j->col;
    if (ohw >= 128 * j->width) { /* columns, in multiples of 64 */
        int64_t units = (ohw + 63) / 64;
        fv_split(units, j->width, k, &a, &b);
        a *= 64, b = b * 64 < ohw ? b * 64 : ohw;
        fv_conv_gemm_cols(j->w, col, &j->e, j->y, g, f0, f0 + fg, a, b);
        return;
    }
    int64_t units = (fg + 7) / 8; /* rows, in multiples of 8 */
    fv_split(units, j->width, k, &a, &b);
    a *= 8, b = b * 8 < fg ? b * 8 : fg;
    if (b > a)
        fv_conv_gemm_cols(j->w, col, &j->e, j->y, g, f0 + (int)a, f0 + (int)b, 0, ohw);
}

/* Split mode with Winograd: worker k's rows of 4x4 output tiles of the sample j->x, then their
 * epilogue. */
static void wino_rows_task(void *ctx, int k)
{
    const fwd_job *j = ctx;
    const fv_conv_geom *g = &j->g;
    int64_t a, b;
    fv_split(fv_winograd_tile_rows(g), j->width, k, &a, &b);
    if (b <= a)
        return;
    fv_winograd_fwd_rows_u_f32(j->x, j->u, NULL, j->y, g, (int)a, (int)b,
                               fv_workspace(j->m, k) + u_floats(g));
    int ow = g->ow, r1 = 4 * (int)b < g->oh ? 4 * (int)b : g->oh;
    fv_conv_epilogue_apply(&j->e, j->y, (int64_t)g->oh * ow, 0, g->f, 4 * (int)a * ow, r1 * ow);
}

/* Fewer samples than workers: every sample is spread over all of them, group by group; 3x3
 * layers where Winograd wins on one sample by its rows of output tiles, the weights transformed
 * once for the batch. */
static void forward_split(fwd_job *j)
{
    const fv_conv_geom *g = &j->g;
    int64_t in_sz = (int64_t)g->c * g->h * g->w, out_sz = (int64_t)g->f * g->oh * g->ow;
    const float *x0 = j->x;
    float *y0 = j->y;
    fv_dw_geom d;
    int groups = as_depthwise(g, &d) ? 1 : g->groups;
    j->col = fv_workspace(j->m, 0);
    if (fv_winograd_wins(g, 1, 0, 0)) {
        j->u = transform_weights(g, j->w, 0, fv_workspace(j->m, 0));
        for (int s = 0; s < j->batch; s++) {
            j->x = x0 + s * in_sz, j->y = y0 + s * out_sz;
            fv_parallel(j->width, wino_rows_task, j);
        }
        return;
    }
    for (int s = 0; s < j->batch; s++)
        for (j->grp = 0; j->grp < groups; j->grp++) {
            j->x = x0 + s * in_sz, j->y = y0 + s * out_sz;
            if (groups == g->groups && !fv_conv_is_pointwise(g))
                fv_parallel(j->width, im2col_task, j);
            fv_parallel(j->width, gemm_task, j);
        }
}

void fv_conv2d_forward_into(fv_model *m, fv_node *n, int batch, const fv_conv_epilogue *e,
                            float *out)
{
    fwd_job j = {m, n, node_geom(m, n), *e, fv_input_node(m, n, 0)->y, fv_pdata(m, n, 0), NULL,
                 out, NULL, batch, 0, 0};
    int threads = fv_num_threads();
    if (batch >= threads || threads == 1) {
        if (fv_winograd_wins(&j.g, batch, 0, 0))
            j.u = transform_weights(&j.g, j.w, 0, fv_workspace(m, 0));
        j.width = fv_parallel_width(batch);
        fv_parallel(j.width, batch_task, &j);
        return;
    }
    j.width = threads;
    forward_split(&j);
}

static void conv_forward(fv_model *m, fv_node *n, int batch)
{
    fv_conv_epilogue e = {.shift = n->a.conv.bias ? fv_pdata(m, n, 1) : NULL};
    fv_conv2d_forward_into(m, n, batch, &e, n->y);
}

/* Worker k: dx of its samples; its partial dW and db (or the real ones when it is alone); or in
 * two phases, one or the other. */
static void backward_task(void *ctx, int k)
{
    conv_job *j = ctx;
    fv_model *m = j->m;
    fv_node *n = j->n;
    int64_t a, b, in_sz = fv_input_node(m, n, 0)->size;
    job_range(j, k, &a, &b);
    float *ws = fv_workspace(m, k), *dw = fv_pgrad(m, n, 0);
    float *db = n->a.conv.bias ? fv_pgrad(m, n, 1) : NULL, *dx = fv_input_dy(m, n, 0);
    int dx_set = fv_input_dy_fresh(m, n, 0); /* the workers' samples cover the batch */
    if (j->phase == DX_SHARED) {
        fv_conv_fast_bwd(fv_input_node(m, n, 0)->y + a * in_sz, fv_pdata(m, n, 0), j->u,
                         n->dy + a * n->size, dx + a * in_sz, dx_set, NULL, NULL, (int)(b - a),
                         &j->g, ws + u_floats(&j->g));
        return;
    }
    if (j->phase == DW_ONLY)
        dx = NULL;
    if (j->width > 1) {
        float *pw = partials(m, n, k), *pb = pw + wgrad_floats(m, n);
        memset(pw, 0, sizeof(float) * (size_t)(wgrad_floats(m, n) + j->g.f));
        dw = dw ? pw : NULL;
        db = db ? pb : NULL;
    }
    fv_dw_geom d;
    if (as_depthwise(&j->g, &d)) {
        if (dx && dx_set)
            memset(dx + a * in_sz, 0, sizeof(float) * (size_t)((b - a) * in_sz));
        fv_depthwise_bwd_f32(fv_input_node(m, n, 0)->y + a * in_sz, fv_pdata(m, n, 0),
                             n->dy + a * n->size, dx ? dx + a * in_sz : NULL, dw, db,
                             (int)(b - a), &d);
        return;
    }
    fv_conv_fast_bwd(fv_input_node(m, n, 0)->y + a * in_sz, fv_pdata(m, n, 0), NULL,
                     n->dy + a * n->size, dx ? dx + a * in_sz : NULL, dx_set, dw, db,
                     (int)(b - a), &j->g, ws);
}

static void add_partials(fv_model *m, fv_node *n, const conv_job *j)
{
    float *dw = fv_pgrad(m, n, 0), *db = n->a.conv.bias ? fv_pgrad(m, n, 1) : NULL;
    int64_t nw = m->params[n->param[0]].numel;
    for (int k = 0; k < j->width; k++) { /* worker order: deterministic for a thread count */
        const float *pw = partials(m, n, k), *pb = pw + wgrad_floats(m, n);
        for (int64_t i = 0; dw && i < nw; i++)
            dw[i] += pw[i];
        for (int i = 0; db && i < j->g.f; i++)
            db[i] += pb[i];
    }
}

static void conv_backward(fv_model *m, fv_node *n, int batch)
{
    conv_job j = {m, n, node_geom(m, n), batch, fv_parallel_width(batch), NULL, ALL_GRADS};
    if (fv_input_dy(m, n, 0) && fv_winograd_wins(&j.g, batch, 1, 0)) {
        j.u = transform_weights(&j.g, fv_pdata(m, n, 0), 1, fv_workspace(m, 0));
        j.phase = DX_SHARED;
        fv_parallel(j.width, backward_task, &j);
        j.phase = DW_ONLY;
    }
    fv_parallel(j.width, backward_task, &j);
    if (j.width > 1)
        add_partials(m, n, &j);
}

/* ---------------------------------------------------------------- the layer */

/* padding=same: stride 1 and odd kernels, half the dilated kernel on each side. */
static fv_status conv_finish(const fv_spec *s, fv_attr *at, const char *layer)
{
    fv_conv_attr *c = &at->conv;
    if (!s->a.conv2d.same)
        return FV_OK;
    if (c->sh != 1 || (c->kh % 2) == 0 || (c->kw % 2) == 0)
        return fv_err(FV_ERR_INVALID, "layer '%s': padding=same needs stride 1 and an odd kernel",
                      layer);
    int64_t ph = (int64_t)c->dh * (c->kh - 1) / 2, pw = (int64_t)c->dw * (c->kw - 1) / 2;
    if (ph > INT_MAX || pw > INT_MAX)
        return fv_err(FV_ERR_INVALID, "layer '%s': padding=same for kernel %dx%d with dilation %d "
                      "needs padding %lld (too large)", layer, c->kh, c->kw, c->dh,
                      (long long)(ph > pw ? ph : pw));
    c->ph = (int)ph, c->pw = (int)pw;
    return FV_OK;
}

/* The writer: padding that differs between the axes must be padding=same's. */
static const char *conv_unwrite(const fv_model *m, const fv_node *n, fv_spec *s)
{
    (void)m;
    const fv_conv_attr *c = &n->a.conv;
    bool same = c->sh == 1 && c->kh % 2 == 1 && c->kw % 2 == 1 &&
                c->ph == c->dh * (c->kh - 1) / 2 && c->pw == c->dw * (c->kw - 1) / 2;
    if (s->a.conv2d.same && !same)
        return "padding differs between height and width and is not padding=same";
    return NULL;
}

static const fv_schema conv_schema;

/* The input's channel count, or -1 with an error. */
static int64_t channels_of(fv_model *m, int in, const char *layer)
{
    int id = fv_graph_resolve(m, in, layer);
    if (id < 0)
        return -1;
    if (m->nodes[id].ndim != 3) {
        char s[96];
        fv_err(FV_ERR_SHAPE, "layer '%s': needs a (channels, height, width) input, got '%s' %s",
               layer, m->nodes[id].name, fv_node_shape_str(&m->nodes[id], s, sizeof s));
        return -1;
    }
    return m->nodes[id].dims[0];
}

/* depthwise_conv2d: conv2d with one group per input channel and `multiplier` filters each. */
static int depthwise_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    const char *layer = s->name ? s->name : "depthwise_conv2d";
    int64_t c = channels_of(m, ins[0], layer);
    int mult = s->multiplier ? s->multiplier : 1;
    if (c < 0)
        return -1;
    if (c * mult > INT32_MAX) {
        fv_err(FV_ERR_INVALID, "layer '%s': depth_multiplier=%d makes more than %d filters",
               layer, mult, INT32_MAX);
        return -1;
    }
    fv_spec d = *s;
    d.a.conv2d.filters = (int)(c * mult);
    d.a.conv2d.groups = (int)c;
    d.form = 0;
    return fv_layer_build(m, &conv_schema, 0, ins, nin, &d);
}

/* separable_conv2d: a depthwise convolution without bias ("NAME_dw"), then a 1x1 convolution
 * ("NAME_pw") with the bias and the activation; both roll back together. */
static int separable_add(fv_model *m, const int *ins, int nin, const fv_spec *s)
{
    char dw[FV_NAME_LEN], pw[FV_NAME_LEN];
    const char *base = s->name ? s->name : "separable_conv2d";
    snprintf(dw, sizeof dw, "%.*s_dw", FV_NAME_LEN - 4, base);
    snprintf(pw, sizeof pw, "%.*s_pw", FV_NAME_LEN - 4, base);
    int nodes = m->nnodes, nparams = m->nparams;
    const fv_conv2d_args *a = &s->a.conv2d;
    fv_spec d = *s;
    d.a.conv2d.no_bias = 1, d.a.conv2d.activation = FV_ACT_NONE, d.name = s->name ? dw : NULL;
    d.a.conv2d.bias_init = FV_INIT_DEFAULT, d.a.conv2d.bias_value = 0;
    int x = depthwise_add(m, ins, nin, &d);
    if (x < 0)
        return -1;
    /* the weight initializer for both halves, the bias's for the pointwise one */
    fv_spec p = {.a.conv2d = {.filters = a->filters, .kernel = 1, .no_bias = a->no_bias,
                              .activation = a->activation, .init = a->init,
                              .bias_init = a->bias_init, .init_value = a->init_value,
                              .bias_value = a->bias_value, .init_gain = a->init_gain,
                              .init_fan_out = a->init_fan_out},
                 .name = s->name ? pw : NULL};
    int y = fv_layer_add(m, &conv_schema, &x, 1, &p);
    if (y < 0) /* roll back the depthwise half too */
        m->nnodes = nodes, m->nparams = nparams;
    return y;
}

static const fv_form conv_forms[] = {
    {{"conv2d", "Conv2D"}, "Conv2D", 0, NULL, NULL},
    {{"depthwise_conv2d", "DepthwiseConv2D"}, "DepthwiseConv2D", 1, depthwise_add, NULL},
    {{"separable_conv2d", "SeparableConv2D"}, "SeparableConv2D", 2, separable_add, NULL},
};

#define REG_FIELD(key_, alias_, member, what, def_doc_)                                     \
    {.key = key_, .alias = alias_, .type = FV_FT_REG, .lo = 0, .hi = INFINITY,                \
     .arg = FV_ARG(a.conv2d.member), .attr = FV_REG(member), .doc = what, .def_doc = def_doc_}
static const fv_field conv_fields[] = {
    {.key = "filters", .type = FV_FT_INT, .flags = FV_F_REQUIRED, .forms = FV_FORM(0) | FV_FORM(2),
     .lo = 1, .hi = INT_MAX, .arg = FV_ARG(a.conv2d.filters), .attr = FV_AT(conv.filters),
     .doc = "positive integer: output channels"},
    {.key = "kernel_size", .alias = "kernel", .type = FV_FT_PAIR, .flags = FV_F_REQUIRED, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.conv2d.kernel), .arg_h = FV_ARG(a.conv2d.kernel_h),
     .arg_w = FV_ARG(a.conv2d.kernel_w), .attr = FV_AT(conv.kh), .attr_w = FV_AT(conv.kw),
     .doc = "`N` or `H,W`"},
    {.key = "strides", .alias = "stride", .type = FV_FT_SQUARE, .def = 1, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.conv2d.stride), .attr = FV_AT(conv.sh), .attr_w = FV_AT(conv.sw),
     .doc = "`N` (or `N,N`, equal values)"},
    {.key = "padding", .type = FV_FT_PADDING, .lo = 0, .hi = INT_MAX,
     .arg = FV_ARG(a.conv2d.padding), .arg_h = FV_ARG(a.conv2d.same), .attr = FV_AT(conv.ph),
     .attr_w = FV_AT(conv.pw),
     .doc = "`valid` (0), `same` (stride 1 and odd kernel; output size = input size), or an "
            "integer N >= 0 of zero padding on each side"},
    {.key = "dilation_rate", .alias = "dilation", .type = FV_FT_SQUARE, .def = 1, .lo = 1,
     .hi = INT_MAX, .arg = FV_ARG(a.conv2d.dilation), .attr = FV_AT(conv.dh),
     .attr_w = FV_AT(conv.dw), .doc = "`N` (or `N,N`, equal values)"},
    {.key = "groups", .type = FV_FT_INT, .forms = FV_FORM(0), .def = 1, .lo = 1, .hi = INT_MAX,
     .arg = FV_ARG(a.conv2d.groups), .attr = FV_AT(conv.groups),
     .doc = "positive integer dividing input channels and filters"},
    {.key = "use_bias", .type = FV_FT_BOOL, .flags = FV_F_TEXT_NOT | FV_F_ATTR_NOT,
     .arg = FV_ARG(a.conv2d.no_bias), .attr = FV_AT(conv.bias), .doc = "`true`/`false`/`1`/`0`"},
    REG_FIELD("l1", "kernel_l1", l1, "the kernel regularizer: `l1` times the sum of the weights' "
              "absolute values joins the loss (Keras')", NULL),
    REG_FIELD("l2", "kernel_l2", l2, "the kernel regularizer: `l2` times the sum of the squared "
              "weights joins the loss", NULL),
    REG_FIELD("max_norm", NULL, max_norm, "the kernel constraint: each filter's weights scaled to "
              "this L2 norm at most after each update (Keras' `MaxNorm`)", "none"),
    {.key = "activation", .type = FV_FT_ACT, .arg = FV_ARG(a.conv2d.activation),
     .doc = "`linear` (or `none`) or any activation of the table below"},
    FV_INIT_FIELDS(a.conv2d),
    {.key = "depth_multiplier", .type = FV_FT_INT, .forms = FV_FORM(1) | FV_FORM(2), .def = 1,
     .lo = 1, .hi = INT_MAX, .arg = FV_ARG(multiplier),
     .doc = "positive integer: outputs per input channel"},
};

static const fv_schema conv_schema = {FV_SCHEMA_TABLES(FV_OP_CONV2D, conv_forms, conv_fields),
                                      .finish = conv_finish, .unwrite = conv_unwrite};

const fv_op_def fv_op_conv2d_def = {
    .name = "conv2d", .kind = "Conv2D", .schema = &conv_schema, .infer = conv_infer,
    .workspace_bytes = conv_workspace_bytes, .forward = conv_forward, .backward = conv_backward,
    .overwrites_dx = 1,
};
