/* optim.c - the optimizers, each matching its torch.optim class (PyTorch 1.13): SGD (momentum,
 * Nesterov, L2 weight decay), Adam (amsgrad off), AdamW (decoupled decay), Adamax, NAdam,
 * Adagrad, RMSprop (momentum, centered) and Adadelta. fv_optim_init checks the
 * settings, fills defaults and allocates the state slots; fv_optim_step updates the trainable
 * prefix of the parameter slab in one flat loop, without allocating. SGD and Adam (and AdamW)
 * run the vectorized kernels of kernels/eltwise.c. */
#include "core/internal.h"
#include "kernels/eltwise.h"
#include "optim/optim.h"

#include <math.h>

static const char *const optim_names[FV_OPTIM__COUNT] = {
    [FV_OPTIM_SGD] = "SGD",         [FV_OPTIM_ADAM] = "Adam",     [FV_OPTIM_ADAGRAD] = "Adagrad",
    [FV_OPTIM_RMSPROP] = "RMSprop", [FV_OPTIM_ADADELTA] = "Adadelta", [FV_OPTIM_ADAMW] = "AdamW",
    [FV_OPTIM_ADAMAX] = "Adamax",   [FV_OPTIM_NADAM] = "NAdam",
};

static const char *optim_name(fv_optim_kind k) { return optim_names[k]; }

int fv_optim_from_name(const char *name)
{
    for (int k = 0; k < FV_OPTIM__COUNT; k++) {
        const char *a = optim_names[k], *b = name;
        while (*a && *b && (*a | 32) == (*b | 32))
            a++, b++;
        if (!*a && !*b)
            return k;
    }
    return -1;
}

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

static int is_adam_family(fv_optim_kind k)
{
    return k == FV_OPTIM_ADAM || k == FV_OPTIM_ADAMW || k == FV_OPTIM_ADAMAX || k == FV_OPTIM_NADAM;
}

static float dflt(float v, float d) { return v != 0 ? v : d; }

/* Fills the defaults of the fields left 0 (PyTorch 1.13's) and validates every setting of o. */
static fv_status resolve(fv_optimizer *o)
{
    if ((int)o->kind < 0 || o->kind >= FV_OPTIM__COUNT)
        return fv_err(FV_ERR_INVALID, "optimizer: unknown kind %d", (int)o->kind);
    fv_optim_kind k = o->kind;
    const char *name = optim_name(k);
    static const float lrs[FV_OPTIM__COUNT] = {0.01f, 0.001f, 0.01f, 0.01f, 1.0f, 0.001f, 0.002f,
                                               0.002f};
    o->lr = dflt(o->lr, lrs[k]);
    if (k == FV_OPTIM_ADAMW)
        o->weight_decay = dflt(o->weight_decay, 0.01f);
    FV_TRY(check_range(name, "lr", o->lr, 0, 1, INFINITY));
    FV_TRY(check_range(name, "weight_decay", o->weight_decay, 0, 0, INFINITY));
    FV_TRY(check_range(name, "momentum", o->momentum, 0, 0, 1));
    if ((o->momentum != 0 && k != FV_OPTIM_SGD && k != FV_OPTIM_RMSPROP) ||
        (o->nesterov && k != FV_OPTIM_SGD))
        return fv_err(FV_ERR_INVALID, "%s: momentum=%g, nesterov=%d are not settings of %s",
                      name, (double)o->momentum, o->nesterov, name);
    if (o->nesterov && o->momentum == 0)
        return fv_err(FV_ERR_INVALID, "SGD: nesterov=%d needs momentum > 0 (momentum=%g)",
                      o->nesterov, (double)o->momentum);
    if (is_adam_family(k)) {
        o->beta1 = dflt(o->beta1, 0.9f);
        o->beta2 = dflt(o->beta2, 0.999f);
        FV_TRY(check_range(name, "beta1", o->beta1, 0, 0, 1));
        FV_TRY(check_range(name, "beta2", o->beta2, 0, 0, 1));
    }
    static const float epss[FV_OPTIM__COUNT] = {0, 1e-8f, 1e-10f, 1e-8f, 1e-6f, 1e-8f, 1e-8f,
                                                1e-8f};
    o->eps = dflt(o->eps, epss[k]);
    o->rho = dflt(o->rho, k == FV_OPTIM_ADADELTA ? 0.9f : 0.99f);
    o->momentum_decay = dflt(o->momentum_decay, 0.004f);
    if (k != FV_OPTIM_SGD)
        FV_TRY(check_range(name, "eps", o->eps, 0, 1, INFINITY));
    FV_TRY(check_range(name, "rho", o->rho, 0, 0, 1));
    FV_TRY(check_range(name, "lr_decay", o->lr_decay, 0, 0, INFINITY));
    FV_TRY(check_range(name, "momentum_decay", o->momentum_decay, 0, 0, INFINITY));
    FV_TRY(check_range(name, "clip_norm", o->clip_norm, 0, 0, INFINITY));
    FV_TRY(check_range(name, "clip_value", o->clip_value, 0, 0, INFINITY));
    return FV_OK;
}

fv_status fv_optim_init(fv_model *m)
{
    fv_optimizer o = m->opt;
    FV_TRY(resolve(&o));
    int64_t n = m->trainable_total;
    FV_CHECK(n >= 0);
    /* slots (per kind): SGD momentum; Adam m, v; Adagrad sum; RMSprop square average, momentum,
     * gradient average; Adadelta square average, delta average; Adamax m, infinity norm */
    float *state = fv_calloc(3 * (size_t)n, sizeof(float), "optimizer state");
    if (!state)
        return FV_ERR_NOMEM;
    fv_free(m->opt_state);
    m->opt_state = state;
    m->opt = o;
    m->opt_steps = 0;
    m->opt_mu_product = 1.0;
    return FV_OK;
}

/* torch.optim.SGD: d = g + wd p; buf = momentum buf + d (the zeroed buffer makes the first step
 * buf = d, as PyTorch's clone); d = nesterov ? d + momentum buf : buf; p -= lr d. */
static void sgd_step(const fv_optimizer *o, float *p, const float *g, float *buf, int64_t n)
{
    fv_sgd_f32(o->lr, o->weight_decay, o->momentum, o->nesterov, p, g, buf, n);
}

/* torch.optim.Adam: g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps), bias corrections bc = 1 - b^t in double. */
static void adam_step(const fv_optimizer *o, int64_t t, float *p, const float *g, float *mv,
                      float *vv, int64_t n)
{
    double bc1 = 1.0 - pow((double)o->beta1, (double)t);
    double bc2 = 1.0 - pow((double)o->beta2, (double)t);
    fv_adam_coef k = {.b1 = o->beta1, .b2 = o->beta2, .c1 = 1.0f - o->beta1,
                      .c2 = 1.0f - o->beta2, .wd = o->weight_decay, .eps = o->eps,
                      .step = (float)((double)o->lr / bc1), .bc2_sqrt = (float)sqrt(bc2)};
    fv_adam_f32(&k, p, g, mv, vv, n);
}

/* torch.optim.Adagrad: g += wd p; clr = lr / (1 + (t - 1) lr_decay); sum += g^2;
 * p -= clr g / (sqrt(sum) + eps). */
static void adagrad_step(const fv_optimizer *o, int64_t t, float *p, const float *g, float *sum,
                         int64_t n)
{
    const float clr = (float)((double)o->lr / (1.0 + (double)(t - 1) * o->lr_decay));
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        sum[i] += gi * gi;
        p[i] -= clr * gi / (sqrtf(sum[i]) + o->eps);
    }
}

/* torch.optim.RMSprop: g += wd p; sq = a sq + (1 - a) g^2; centered: ga = a ga + (1 - a) g,
 * avg = sqrt(sq - ga^2) + eps, else sqrt(sq) + eps; momentum: buf = mu buf + g / avg,
 * p -= lr buf; else p -= lr g / avg. */
static void rmsprop_step(const fv_optimizer *o, float *p, const float *g, float *sq, float *buf,
                         float *ga, int64_t n)
{
    const float a = o->rho, c = 1.0f - o->rho;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        sq[i] = a * sq[i] + c * gi * gi;
        float var = sq[i];
        if (o->centered) {
            ga[i] = a * ga[i] + c * gi;
            var -= ga[i] * ga[i];
        }
        float avg = sqrtf(var) + o->eps;
        if (o->momentum > 0) {
            buf[i] = o->momentum * buf[i] + gi / avg;
            p[i] -= o->lr * buf[i];
        } else {
            p[i] -= o->lr * gi / avg;
        }
    }
}

/* torch.optim.Adadelta: g += wd p; sq = rho sq + (1 - rho) g^2;
 * delta = sqrt(acc + eps) / sqrt(sq + eps) g; acc = rho acc + (1 - rho) delta^2; p -= lr delta. */
static void adadelta_step(const fv_optimizer *o, float *p, const float *g, float *sq, float *acc,
                          int64_t n)
{
    const float r = o->rho, c = 1.0f - o->rho;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        sq[i] = r * sq[i] + c * gi * gi;
        float delta = sqrtf(acc[i] + o->eps) / sqrtf(sq[i] + o->eps) * gi;
        acc[i] = r * acc[i] + c * delta * delta;
        p[i] -= o->lr * delta;
    }
}

/* torch.optim.Adamax: g += wd p; m = b1 m + (1 - b1) g; u = max(b2 u, |g| + eps);
 * p -= lr / (1 - b1^t) m / u. */
static void adamax_step(const fv_optimizer *o, int64_t t, float *p, const float *g, float *mv,
                        float *u, int64_t n)
{
    const float b1 = o->beta1, b2 = o->beta2;
    const float clr = (float)((double)o->lr / (1.0 - pow((double)b1, (double)t)));
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        mv[i] = b1 * mv[i] + (1.0f - b1) * gi;
        float a = b2 * u[i], b = fabsf(gi) + o->eps;
        u[i] = a > b ? a : b;
        p[i] -= clr * mv[i] / u[i];
    }
}

/* torch.optim.NAdam: g += wd p; mu_t = b1 (1 - 0.5 * 0.96^(t psi)), mu_t1 likewise at t + 1,
 * prod *= mu_t; m, v as Adam; denom = sqrt(v / (1 - b2^t)) + eps;
 * p -= lr (1 - mu_t) / (1 - prod) g / denom + lr mu_t1 / (1 - prod mu_t mu_t1) m / denom. The
 * second denominator multiplies mu_t in twice: that is PyTorch 1.13's code (later versions use
 * prod mu_t1), kept so that the trajectories match the reference we test against. */
typedef struct nadam_coef {
    float c_grad, c_mom, bc2;
} nadam_coef;

static void nadam_step(const fv_optimizer *o, nadam_coef k, float *p, const float *g, float *mv,
                       float *vv, int64_t n)
{
    const float b1 = o->beta1, b2 = o->beta2;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + o->weight_decay * p[i];
        mv[i] = b1 * mv[i] + (1.0f - b1) * gi;
        vv[i] = b2 * vv[i] + (1.0f - b2) * gi * gi;
        float denom = sqrtf(vv[i] / k.bc2) + o->eps;
        p[i] -= k.c_grad * gi / denom;
        p[i] -= k.c_mom * mv[i] / denom;
    }
}

/* NAdam's per-step scalars (the running product lives in the model, in double). */
static nadam_coef nadam_coefs(fv_model *m)
{
    const fv_optimizer *o = &m->opt;
    double t = (double)m->opt_steps, psi = o->momentum_decay, b1 = o->beta1;
    double mu = b1 * (1.0 - 0.5 * pow(0.96, t * psi));
    double mu1 = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * psi));
    m->opt_mu_product *= mu;
    double prod = m->opt_mu_product;
    return (nadam_coef){(float)(o->lr * (1.0 - mu) / (1.0 - prod)),
                        (float)(o->lr * mu1 / (1.0 - prod * mu * mu1)),
                        (float)(1.0 - pow((double)o->beta2, t))};
}

/* The update is element-wise: workers take contiguous ranges of the slab (64 Ki at least). */
typedef struct step_job {
    fv_model *m;
    int64_t n;
    int width;
    nadam_coef nadam;
    int per_layer; /* some layer is frozen or has its own learning-rate multiplier */
} step_job;

/* The update of slab range [a, b) with optimizer settings o (the layer's learning rate). */
static void step_range(step_job *j, const fv_optimizer *o, nadam_coef nc, int64_t a, int64_t b)
{
    fv_model *m = j->m;
    int64_t t = m->opt_steps;
    float *p = m->data_slab + a, *s1 = m->opt_state + a, *s2 = m->opt_state + j->n + a;
    float *s3 = m->opt_state + 2 * j->n + a;
    const float *g = m->grad_slab + a;
    switch (o->kind) {
    case FV_OPTIM_SGD: sgd_step(o, p, g, s1, b - a); break;
    case FV_OPTIM_ADAM: adam_step(o, t, p, g, s1, s2, b - a); break;
    case FV_OPTIM_ADAMW: {
        fv_optimizer plain = *o; /* decoupled decay first, then Adam without L2 */
        plain.weight_decay = 0;
        for (int64_t i = 0; i < b - a; i++)
            p[i] *= 1.0f - o->lr * o->weight_decay;
        adam_step(&plain, t, p, g, s1, s2, b - a);
        break;
    }
    case FV_OPTIM_ADAGRAD: adagrad_step(o, t, p, g, s1, b - a); break;
    case FV_OPTIM_RMSPROP: rmsprop_step(o, p, g, s1, s2, s3, b - a); break;
    case FV_OPTIM_ADADELTA: adadelta_step(o, p, g, s1, s2, b - a); break;
    case FV_OPTIM_ADAMAX: adamax_step(o, t, p, g, s1, s2, b - a); break;
    case FV_OPTIM_NADAM: nadam_step(o, nc, p, g, s1, s2, b - a); break;
    default: break;
    }
}

/* Worker k's range of the slab, cut at parameter boundaries where layers have their own
 * learning-rate multiplier (frozen layers: skipped, their optimizer state untouched). */
static void step_task(void *ctx, int k)
{
    step_job *j = ctx;
    fv_model *m = j->m;
    int64_t a, b;
    fv_split(j->n, j->width, k, &a, &b);
    if (!j->per_layer) {
        step_range(j, &m->opt, j->nadam, a, b);
        return;
    }
    for (int i = 0; i < m->nparams; i++) {
        const fv_param *p = &m->params[i];
        int64_t lo = p->offset > a ? p->offset : a, hi = p->offset + p->numel;
        hi = hi < b ? hi : b;
        if (!p->trainable || lo >= hi)
            continue;
        const fv_node *n = &m->nodes[p->node];
        float mult = n->frozen ? 0.0f : n->lr_mult != 0.0f ? n->lr_mult : 1.0f;
        if (mult == 0.0f)
            continue;
        fv_optimizer o = m->opt;
        nadam_coef nc = j->nadam;
        o.lr *= mult, nc.c_grad *= mult, nc.c_mom *= mult;
        step_range(j, &o, nc, lo, hi);
    }
}

double fv_regularize(fv_model *m, int add_grad)
{
    double penalty = 0;
    for (int i = 0; i < m->nnodes; i++) {
        const fv_node *n = &m->nodes[i];
        if (n->nparam < 1 || (n->reg.l1 == 0 && n->reg.l2 == 0))
            continue;
        const float *w = fv_pdata(m, n, 0);
        float *g = fv_pgrad(m, n, 0), l1 = n->reg.l1, l2 = n->reg.l2;
        int64_t cnt = m->params[n->param[0]].numel;
        for (int64_t k = 0; k < cnt; k++) {
            penalty += (double)l1 * fabs((double)w[k]) + (double)l2 * (double)w[k] * (double)w[k];
            if (add_grad && g) /* d|w| at 0 is 0, as Keras' (TensorFlow's sign) */
                g[k] += l1 * (float)((w[k] > 0) - (w[k] < 0)) + 2.0f * l2 * w[k];
        }
    }
    return penalty;
}

/* Keras' MaxNorm after the update: each row (output unit) of a constrained weight is scaled by
 * max / (norm + 1e-7) when its norm exceeds max. */
static void apply_max_norm(fv_model *m)
{
    for (int i = 0; i < m->nnodes; i++) {
        const fv_node *n = &m->nodes[i];
        if (n->nparam < 1 || n->reg.max_norm <= 0)
            continue;
        const fv_param *p = &m->params[n->param[0]];
        float *w = fv_pdata(m, n, 0);
        int64_t rows = p->dims[0], len = p->numel / rows;
        for (int64_t r = 0; r < rows; r++) {
            double ss = 0;
            for (int64_t k = 0; k < len; k++)
                ss += (double)w[r * len + k] * (double)w[r * len + k];
            double norm = sqrt(ss);
            if (norm > n->reg.max_norm)
                for (int64_t k = 0; k < len; k++)
                    w[r * len + k] = (float)(w[r * len + k] * (n->reg.max_norm / (norm + 1e-7)));
        }
    }
}

/* Gradient clipping before the update: by value (clamp), then by global norm (PyTorch's
 * clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1). */
static void clip_gradients(fv_model *m, int64_t n)
{
    float *g = m->grad_slab, cv = m->opt.clip_value;
    if (cv > 0)
        for (int64_t i = 0; i < n; i++)
            g[i] = g[i] > cv ? cv : g[i] < -cv ? -cv : g[i];
    if (m->opt.clip_norm > 0) {
        double ss = 0;
        for (int64_t i = 0; i < n; i++)
            ss += (double)g[i] * (double)g[i];
        double coef = (double)m->opt.clip_norm / (sqrt(ss) + 1e-6);
        for (int64_t i = 0; coef < 1 && i < n; i++)
            g[i] = (float)((double)g[i] * coef);
    }
}

void fv_optim_step(fv_model *m)
{
    int64_t n = m->trainable_total;
    if (!m->opt_state || n <= 0)
        return; /* no optimizer initialised, or nothing to train */
    fv_regularize(m, 1);
    clip_gradients(m, n);
    ++m->opt_steps;
    int64_t chunks = n / 65536;
    step_job j = {m, n, fv_parallel_width(chunks < 1 ? 1 : (int)(chunks > 64 ? 64 : chunks)),
                  {0, 0, 1}, 0};
    for (int i = 0; i < m->nnodes; i++)
        j.per_layer |= m->nodes[i].frozen || (m->nodes[i].lr_mult != 0 && m->nodes[i].lr_mult != 1);
    if (m->opt.kind == FV_OPTIM_NADAM)
        j.nadam = nadam_coefs(m);
    fv_parallel(j.width, step_task, &j);
    apply_max_norm(m);
}
