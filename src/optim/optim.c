/* optim.c - the optimizers: SGD (momentum, Nesterov, L2 weight decay) and Adam, matching
 * torch.optim.SGD and torch.optim.Adam (PyTorch 1.13, amsgrad off). fv_optim_init checks the
 * settings, fills defaults and allocates the state slots; fv_optim_step updates the trainable
 * prefix of the parameter slab in one flat loop, without allocating. */
#include "core/internal.h"

#include <math.h>

static const char *optim_name(fv_optim_kind k) { return k == FV_OPTIM_ADAM ? "Adam" : "SGD"; }

/* A setting that must satisfy lo <= v < hi (lo_open: lo < v); NaN always fails. */
static fv_status check_range(const char *opt, const char *what, float v, double lo, int lo_open,
                             double hi)
{
    double d = (double)v;
    int ok = (lo_open ? d > lo : d >= lo) && d < hi;
    if (ok)
        return FV_OK;
    char hs[32];
    if (isinf(hi))
        snprintf(hs, sizeof hs, "inf");
    else
        snprintf(hs, sizeof hs, "%g", hi);
    return fv_err(FV_ERR_INVALID, "%s: %s=%g is outside %s%g, %s)", opt, what, d,
                  lo_open ? "(" : "[", lo, hs);
}

/* Fills the defaults of the fields left 0 and validates every setting of o. */
static fv_status resolve(fv_optimizer *o)
{
    if (o->kind != FV_OPTIM_SGD && o->kind != FV_OPTIM_ADAM)
        return fv_err(FV_ERR_INVALID, "optimizer: unknown kind %d (expected SGD or Adam)",
                      (int)o->kind);
    const char *name = optim_name(o->kind);
    if (o->lr == 0)
        o->lr = o->kind == FV_OPTIM_ADAM ? 0.001f : 0.01f;
    FV_TRY(check_range(name, "lr", o->lr, 0, 1, INFINITY));
    FV_TRY(check_range(name, "weight_decay", o->weight_decay, 0, 0, INFINITY));
    if (o->kind == FV_OPTIM_SGD) {
        FV_TRY(check_range(name, "momentum", o->momentum, 0, 0, 1));
        if (o->nesterov && o->momentum == 0)
            return fv_err(FV_ERR_INVALID, "SGD: nesterov=%d needs momentum > 0 (momentum=%g)",
                          o->nesterov, (double)o->momentum);
        return FV_OK;
    }
    /* Adam has no momentum setting: a value there is a mistake, not something to ignore */
    if (o->momentum != 0 || o->nesterov)
        return fv_err(FV_ERR_INVALID, "Adam: momentum=%g, nesterov=%d are SGD settings "
                      "(Adam uses beta1, beta2)", (double)o->momentum, o->nesterov);
    if (o->beta1 == 0)
        o->beta1 = 0.9f;
    if (o->beta2 == 0)
        o->beta2 = 0.999f;
    if (o->eps == 0)
        o->eps = 1e-8f;
    FV_TRY(check_range(name, "beta1", o->beta1, 0, 0, 1));
    FV_TRY(check_range(name, "beta2", o->beta2, 0, 0, 1));
    FV_TRY(check_range(name, "eps", o->eps, 0, 1, INFINITY));
    return FV_OK;
}

fv_status fv_optim_init(fv_model *m)
{
    fv_optimizer o = m->opt;
    FV_TRY(resolve(&o));
    int64_t n = m->trainable_total;
    FV_CHECK(n >= 0);
    /* slot 1: SGD momentum buffer / Adam first moment; slot 2: Adam second moment */
    float *state = fv_calloc(2 * (size_t)n, sizeof(float), "optimizer state");
    if (!state)
        return FV_ERR_NOMEM;
    fv_free(m->opt_state);
    m->opt_state = state;
    m->opt = o;
    m->opt_steps = 0;
    return FV_OK;
}

/* torch.optim.SGD: d = g + wd p; buf = momentum buf + d (the zeroed buffer makes the first step
 * buf = d, as PyTorch's clone); d = nesterov ? d + momentum buf : buf; p -= lr d. */
static void sgd_step(const fv_optimizer *o, float *p, const float *g, float *buf, int64_t n)
{
    const float lr = o->lr, wd = o->weight_decay, mu = o->momentum;
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0)
            d += wd * p[i];
        if (mu != 0) {
            buf[i] = mu * buf[i] + d;
            d = o->nesterov ? d + mu * buf[i] : buf[i];
        }
        p[i] -= lr * d;
    }
}

/* torch.optim.Adam: g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), bias corrections bc = 1 - b^t in double. */
static void adam_step(const fv_optimizer *o, int64_t t, float *p, const float *g, float *mv,
                      float *vv, int64_t n)
{
    const float b1 = o->beta1, b2 = o->beta2, wd = o->weight_decay, eps = o->eps;
    const float c1 = 1.0f - b1, c2 = 1.0f - b2;
    double bc1 = 1.0 - pow((double)b1, (double)t), bc2 = 1.0 - pow((double)b2, (double)t);
    const float step = (float)((double)o->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        if (wd != 0)
            gi += wd * p[i];
        mv[i] = b1 * mv[i] + c1 * gi;
        vv[i] = b2 * vv[i] + c2 * gi * gi;
        float denom = sqrtf(vv[i]) / bc2_sqrt + eps;
        p[i] -= step * (mv[i] / denom);
    }
}

/* The update is element-wise: workers take contiguous ranges of the slab (64 Ki at least). */
typedef struct step_job {
    fv_model *m;
    int64_t n;
    int width;
} step_job;

static void step_task(void *ctx, int k)
{
    step_job *j = ctx;
    fv_model *m = j->m;
    int64_t a, b;
    fv_split(j->n, j->width, k, &a, &b);
    float *p = m->data_slab + a, *s1 = m->opt_state + a, *s2 = m->opt_state + j->n + a;
    const float *g = m->grad_slab + a;
    if (m->opt.kind == FV_OPTIM_ADAM)
        adam_step(&m->opt, m->opt_steps, p, g, s1, s2, b - a);
    else
        sgd_step(&m->opt, p, g, s1, b - a);
}

void fv_optim_step(fv_model *m)
{
    int64_t n = m->trainable_total;
    if (!m->opt_state || n <= 0)
        return; /* no optimizer initialised, or nothing to train */
    ++m->opt_steps;
    int64_t chunks = n / 65536;
    step_job j = {m, n, fv_parallel_width(chunks < 1 ? 1 : (int)(chunks > 64 ? 64 : chunks))};
    fv_parallel(j.width, step_task, &j);
}
