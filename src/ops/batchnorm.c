/* batchnorm.c - batch normalization over the channel axis (the first of a sample's shape: (C) or
 * (C, H, W)), PyTorch semantics: parameters weight, bias (trainable), running_mean, running_var
 * (not trainable); training normalizes with the batch statistics (biased variance) and updates
 * running = (1 - momentum) running + momentum batch, with the unbiased variance; evaluation uses
 * the running statistics. n->saved holds mean, var and rstd (C each) for backward. The kernels are
 * the vectorized ones of kernels/eltwise.c, over ranges of channels split across the workers.
 * Synchronized over the ranks of a data-parallel fit (m->sync_bn): the per-channel sums of x, of
 * (x - mean)^2 and, in backward, of dy and dy xhat are summed over the ranks (core/dist.h), so the
 * statistics are those of the global batch, as one process with all of it would compute them;
 * n->saved then also holds double buffers for those sums. */
#include "core/dist.h"
#include "kernels/eltwise.h"
#include "ops/ops.h"
#include "ops/schema.h"

#include <math.h>
#include <string.h>

enum { GAMMA, BETA, RMEAN, RVAR };

static fv_status bn_infer(fv_model *m, fv_node *n)
{
    const fv_node *x = fv_input_node(m, n, 0);
    if (x->ndim != 1 && x->ndim != 3) {
        char s[96];
        return fv_err(FV_ERR_SHAPE, "layer '%s': batch norm needs a (features) or (channels, "
                      "height, width) input, got '%s' %s", n->name, x->name,
                      fv_node_shape_str(x, s, sizeof s));
    }
    n->ndim = x->ndim;
    memcpy(n->dims, x->dims, sizeof n->dims);
    static const char *const what[4] = {"weight", "bias", "running_mean", "running_var"};
    static const fv_init init[4] = {FV_INIT_ONES, FV_INIT_ZEROS, FV_INIT_ZEROS, FV_INIT_ONES};
    for (int i = 0; i < 4; i++)
        FV_TRY(fv_param_declare(m, n, what[i], 1, &x->dims[0], i < 2, init[i], 0, 0));
    return FV_OK;
}

/* The synchronized mode's doubles in n->saved, after the 3 C floats: mu, r (C each), the sums
 * (2 C + 1: a count after forward's C) and the global batch's count of values per channel. */
typedef struct bn_sync {
    double *mu, *r, *sums, *cnt;
} bn_sync;

static size_t sync_offset(int64_t c)
{
    return (3 * sizeof(float) * (size_t)c + 7) / 8 * 8;
}

static bn_sync sync_bufs(const fv_node *n)
{
    int64_t c = n->dims[0];
    double *d = (double *)(void *)((char *)n->saved + sync_offset(c));
    return (bn_sync){d, d + c, d + 2 * c, d + 4 * c + 1};
}

static size_t bn_saved_bytes(const fv_model *m, const fv_node *n, int batch)
{
    (void)m, (void)batch;
    return sync_offset(n->dims[0]) + sizeof(double) * (size_t)(4 * n->dims[0] + 2);
}

/* Workers split the channels (each channel's statistics are one worker's, so the results do not
 * depend on the thread count), at least ~32 Ki values each. */
typedef struct bn_job {
    fv_model *m;
    fv_node *n;
    int batch, c, width, mode; /* mode: EVAL, TRAIN (forward) or BACKWARD; synchronized: */
    int64_t s;                 /* SUM_X, SUM_SQ, NORM (forward), SUM_DY, DX (backward) */
} bn_job;

enum { EVAL, TRAIN, BACKWARD, SUM_X, SUM_SQ, NORM, SUM_DY, DX };

/* The synchronized modes' part of bn_task. */
static void bn_sync_task(const bn_job *j, int c0, int c1)
{
    fv_model *m = j->m;
    fv_node *n = j->n;
    const float *x = fv_input_node(m, n, 0)->y, *gamma = fv_pdata(m, n, GAMMA);
    const float *mean = n->saved, *rstd = mean + 2 * j->c;
    bn_sync t = sync_bufs(n);
    if (j->mode == SUM_X || j->mode == SUM_SQ)
        fv_bn_sums_f32(x, NULL, j->batch, j->c, j->s, c0, c1, t.mu, NULL, j->mode == SUM_SQ,
                       t.sums);
    else if (j->mode == NORM)
        fv_bn_norm_f32(x, j->batch, j->c, j->s, c0, c1, gamma, fv_pdata(m, n, BETA), t.mu, t.r,
                       n->y);
    else if (j->mode == SUM_DY)
        fv_bn_sums_f32(x, n->dy, j->batch, j->c, j->s, c0, c1, t.mu, t.r, 2, t.sums);
    else if (fv_input_dy(m, n, 0))
        fv_bn_dx_f32(x, n->dy, j->batch, j->c, j->s, c0, c1, gamma, mean, rstd, t.sums, *t.cnt,
                     fv_input_dy(m, n, 0));
}

static void bn_task(void *ctx, int k)
{
    bn_job *j = ctx;
    fv_model *m = j->m;
    fv_node *n = j->n;
    int64_t a, b;
    fv_split(j->c, j->width, k, &a, &b);
    const float *x = fv_input_node(m, n, 0)->y, *gamma = fv_pdata(m, n, GAMMA);
    float *mean = n->saved, *var = mean + j->c, *rstd = var + j->c, eps = n->a.bn.eps;
    int c0 = (int)a, c1 = (int)b;
    if (j->mode >= SUM_X)
        bn_sync_task(j, c0, c1);
    else if (j->mode == EVAL)
        fv_bn_fwd_eval_f32(x, j->batch, j->c, j->s, c0, c1, gamma, fv_pdata(m, n, BETA),
                           fv_pdata(m, n, RMEAN), fv_pdata(m, n, RVAR), eps, n->y);
    else if (j->mode == TRAIN)
        fv_bn_fwd_train_f32(x, j->batch, j->c, j->s, c0, c1, gamma, fv_pdata(m, n, BETA), eps,
                            n->y, mean, var, rstd);
    else
        fv_bn_bwd_f32(x, n->dy, j->batch, j->c, j->s, c0, c1, gamma, mean, rstd,
                      m->training && !n->frozen, fv_input_dy(m, n, 0), fv_pgrad(m, n, GAMMA),
                      fv_pgrad(m, n, BETA));
}

static void bn_run(fv_model *m, fv_node *n, int batch, int mode)
{
    int c = (int)n->dims[0];
    int64_t s = n->size / c, per = (int64_t)batch * s, want = (per * c) / 32768;
    want = want < 1 ? 1 : want > c ? c : want;
    bn_job j = {m, n, batch, c, fv_parallel_width((int)want), mode, s};
    fv_parallel(j.width, bn_task, &j);
}

/* The training forward's statistics from the sums of every rank: mean and variance as the
 * single-process kernel computes them, over the global count (a failed sum leaves
 * fv_dist_failed set, and fit stops after the step). */
static double bn_forward_sync(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    float *mean = n->saved, *var = mean + c, *rstd = var + c;
    bn_sync t = sync_bufs(n);
    bn_run(m, n, batch, SUM_X);
    t.sums[c] = (double)batch * (double)(n->size / c);
    fv_dist_sum(t.sums, c + 1);
    *t.cnt = t.sums[c];
    for (int ch = 0; ch < c; ch++)
        t.mu[ch] = t.sums[ch] / *t.cnt;
    bn_run(m, n, batch, SUM_SQ);
    fv_dist_sum(t.sums, c);
    for (int ch = 0; ch < c; ch++) {
        double v = t.sums[ch] / *t.cnt;
        t.r[ch] = 1.0 / sqrt(v + (double)n->a.bn.eps);
        mean[ch] = (float)t.mu[ch], var[ch] = (float)v, rstd[ch] = (float)t.r[ch];
    }
    bn_run(m, n, batch, NORM);
    return *t.cnt;
}

/* The training backward from the sums of every rank: this rank's own sums make its parameter
 * gradients (fit sums those over the ranks); dx takes all ranks' sums, in this rank's units (its
 * dy is scaled by 1 / its own samples: the sums are scaled by its share before and after). */
static void bn_backward_sync(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    const float *mean = n->saved, *rstd = mean + 2 * c;
    bn_sync t = sync_bufs(n);
    for (int ch = 0; ch < c; ch++) /* the float statistics, as the single-process backward */
        t.mu[ch] = (double)mean[ch], t.r[ch] = (double)rstd[ch];
    bn_run(m, n, batch, SUM_DY);
    float *dg = fv_pgrad(m, n, GAMMA), *db = fv_pgrad(m, n, BETA);
    double w = m->dist_weight > 0 ? m->dist_weight : 1;
    for (int ch = 0; ch < c; ch++) {
        if (dg)
            dg[ch] += (float)t.sums[c + ch];
        if (db)
            db[ch] += (float)t.sums[ch];
    }
    for (int k = 0; k < 2 * c; k++)
        t.sums[k] *= w;
    fv_dist_sum(t.sums, 2 * c);
    for (int k = 0; k < 2 * c; k++)
        t.sums[k] /= w;
    bn_run(m, n, batch, DX);
}

static void bn_forward(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    const float *mean = n->saved, *var = mean + c;
    float *rm = fv_pdata(m, n, RMEAN), *rv = fv_pdata(m, n, RVAR);
    if (!m->training || n->frozen) { /* eval, or frozen: the running statistics */
        bn_run(m, n, batch, EVAL);
        return;
    }
    double cnt = (double)batch * (double)(n->size / c), mom = n->a.bn.momentum;
    if (m->sync_bn && fv_comm)
        cnt = bn_forward_sync(m, n, batch);
    else
        bn_run(m, n, batch, TRAIN);
    double unbias = cnt > 1 ? cnt / (cnt - 1) : 1.0;
    for (int ch = 0; ch < c; ch++) {
        rm[ch] = (float)((1 - mom) * rm[ch] + mom * mean[ch]);
        rv[ch] = (float)((1 - mom) * rv[ch] + mom * var[ch] * unbias);
    }
}

static void bn_backward(fv_model *m, fv_node *n, int batch)
{
    int c = (int)n->dims[0];
    float *mean = n->saved, *rstd = mean + 2 * c;
    if (!m->training || n->frozen) { /* constants: the running statistics */
        const float *rm = fv_pdata(m, n, RMEAN), *rv = fv_pdata(m, n, RVAR);
        for (int ch = 0; ch < c; ch++) {
            mean[ch] = rm[ch];
            rstd[ch] = (float)(1.0 / sqrt((double)rv[ch] + (double)n->a.bn.eps));
        }
    } else if (m->sync_bn && fv_comm) {
        bn_backward_sync(m, n, batch);
        return;
    }
    bn_run(m, n, batch, BACKWARD);
}

/* ---------------------------------------------------------------- the layer */

static const fv_form bn_forms[] = {
    {{"batchnorm", "BatchNormalization"}, "BatchNormalization", 0, NULL, NULL}};
static const fv_field bn_fields[] = {
    {.key = "momentum", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 0.1, .lo = 0, .hi = 1,
     .arg = FV_ARG(a.bn.momentum), .attr = FV_AT(bn.momentum),
     .doc = "PyTorch convention, in (0, 1]: `running = (1 - momentum) * running + momentum * "
            "batch`"},
    {.key = "keras_momentum", .type = FV_FT_FLOAT,
     .flags = FV_F_READ_ONLY | FV_F_COMPLEMENT | FV_F_HI_OPEN, .lo = 0, .hi = 1,
     .arg = FV_ARG(a.bn.momentum),
     .doc = "Keras convention, in [0, 1): the weight of the old running value; "
            "`keras_momentum=K` is `momentum=1-K`", .def_doc = "0.9"},
    {.key = "epsilon", .alias = "eps", .type = FV_FT_FLOAT, .flags = FV_F_LO_OPEN, .def = 1e-5,
     .lo = 0, .hi = INFINITY, .arg = FV_ARG(a.bn.eps), .attr = FV_AT(bn.eps),
     .doc = "positive number added to the variance"},
};
static const fv_schema bn_schema = {FV_SCHEMA_TABLES(FV_OP_BATCHNORM, bn_forms, bn_fields)};

const fv_op_def fv_op_batchnorm_def = {
    .schema = &bn_schema, .name = "batchnorm", .kind = "BatchNormalization", .infer = bn_infer,
    .saved_bytes = bn_saved_bytes, .forward = bn_forward, .backward = bn_backward,
};
