/* schedule.c - learning-rate schedules with PyTorch's definitions (torch.optim.lr_scheduler, 1.13):
 * StepLR, MultiStepLR, ExponentialLR, PolynomialLR, cosine annealing after a linear warm-up,
 * OneCycleLR (cosine annealing, learning rate only) in closed form, and ReduceLROnPlateau (mode
 * "min", relative threshold) as a small state machine. fit applies them (nn/fit.c). */
#include "core/internal.h"
#include "optim/optim.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

static double dflt(float v, double d) { return v != 0 ? (double)v : d; }

fv_status fv_schedule_check(fv_schedule *s)
{
    if ((int)s->kind < 0 || s->kind >= FV_SCHED__COUNT)
        return fv_err(FV_ERR_INVALID, "schedule: unknown kind %d", (int)s->kind);
    s->gamma = (float)dflt(s->gamma, s->kind == FV_SCHED_EXPONENTIAL ? 0.9 : 0.1);
    s->step_size = s->step_size ? s->step_size : 10;
    s->power = (float)dflt(s->power, 1.0);
    s->pct_start = (float)dflt(s->pct_start, 0.3);
    s->div_factor = (float)dflt(s->div_factor, 25.0);
    s->final_div_factor = (float)dflt(s->final_div_factor, 1e4);
    s->factor = (float)dflt(s->factor, 0.1);
    s->patience = s->patience ? s->patience : 10;
    s->threshold = (float)dflt(s->threshold, 1e-4);
    if (!(s->gamma > 0) || s->step_size < 1 || !(s->power > 0) || s->warmup < 0 ||
        !(s->min_lr >= 0) || !(s->pct_start > 0 && s->pct_start < 1) || !(s->div_factor > 0) ||
        !(s->final_div_factor > 0) || !(s->factor > 0 && s->factor < 1) || s->patience < 0 ||
        s->cooldown < 0 || !(s->threshold >= 0))
        return fv_err(FV_ERR_INVALID, "schedule: a setting is out of range (gamma=%g step_size=%d "
                      "power=%g warmup=%d min_lr=%g pct_start=%g factor=%g patience=%d)",
                      (double)s->gamma, s->step_size, (double)s->power, s->warmup,
                      (double)s->min_lr, (double)s->pct_start, (double)s->factor, s->patience);
    int needs_total = s->kind == FV_SCHED_POLYNOMIAL || s->kind == FV_SCHED_COSINE ||
                      s->kind == FV_SCHED_ONE_CYCLE;
    if (needs_total && s->total <= s->warmup)
        return fv_err(FV_ERR_INVALID, "schedule: total=%d must exceed warmup=%d", s->total,
                      s->warmup);
    for (int i = 1; i < 8 && s->milestones[i]; i++)
        if (s->milestones[i] <= s->milestones[i - 1])
            return fv_err(FV_ERR_INVALID, "schedule: milestones must increase (%d after %d)",
                          s->milestones[i], s->milestones[i - 1]);
    return FV_OK;
}

/* PyTorch's _annealing_cos: from start at pct 0 to end at pct 1. */
static double anneal_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(PI * pct) + 1.0);
}

static double one_cycle(const fv_schedule *s, double base_lr, int64_t t)
{
    double max_lr = dflt(s->max_lr, base_lr), initial = max_lr / s->div_factor;
    double min_lr = initial / s->final_div_factor;
    double end1 = (double)s->pct_start * s->total - 1, end2 = (double)s->total - 1;
    if ((double)t <= end1)
        return anneal_cos(initial, max_lr, end1 > 0 ? (double)t / end1 : 1.0);
    return anneal_cos(max_lr, min_lr, ((double)t - end1) / (end2 - end1));
}

double fv_schedule_lr(const fv_schedule *s, double base_lr, int64_t t)
{
    switch (s->kind) {
    case FV_SCHED_STEP: return base_lr * pow(s->gamma, (double)(t / s->step_size));
    case FV_SCHED_MULTISTEP: {
        int passed = 0;
        for (int i = 0; i < 8 && s->milestones[i]; i++)
            passed += t >= s->milestones[i];
        return base_lr * pow(s->gamma, passed);
    }
    case FV_SCHED_EXPONENTIAL: return base_lr * pow(s->gamma, (double)t);
    case FV_SCHED_POLYNOMIAL: {
        double f = 1.0 - (double)(t < s->total ? t : s->total) / s->total;
        return base_lr * pow(f, s->power);
    }
    case FV_SCHED_COSINE: {
        if (t < s->warmup)
            return base_lr * (double)(t + 1) / (s->warmup + 1);
        double span = s->total - s->warmup, k = (double)(t - s->warmup);
        return anneal_cos(base_lr, s->min_lr, (k < span ? k : span) / span);
    }
    case FV_SCHED_ONE_CYCLE: return one_cycle(s, base_lr, t);
    default: return base_lr;
    }
}

void fv_plateau_init(fv_plateau *p, double lr)
{
    *p = (fv_plateau){.lr = lr, .best = INFINITY};
}

double fv_plateau_step(fv_plateau *p, const fv_schedule *s, double metric)
{
    if (metric < p->best * (1.0 - s->threshold)) { /* mode "min", threshold_mode "rel" */
        p->best = metric;
        p->bad_epochs = 0;
    } else {
        p->bad_epochs++;
    }
    if (p->cooldown_left > 0) {
        p->cooldown_left--;
        p->bad_epochs = 0;
    }
    if (p->bad_epochs > s->patience) {
        double next = fmax(p->lr * s->factor, (double)s->min_lr);
        if (p->lr - next > 1e-8) /* PyTorch's eps */
            p->lr = next;
        p->cooldown_left = s->cooldown;
        p->bad_epochs = 0;
    }
    return p->lr;
}

fv_status fv_schedule_preset(const char *name, int epochs, int64_t steps, int warmup,
                             fv_schedule *out)
{
    const char *s = name ? name : "constant";
    if (epochs < 1 || steps < 1 || warmup < 0 || steps > INT32_MAX / epochs)
        return fv_err(FV_ERR_INVALID, "schedule %s: epochs=%d, steps=%lld, warmup=%d are out of "
                      "range", s, epochs, (long long)steps, warmup);
    if (strcmp(s, "constant") == 0)
        *out = fv_schedule(.kind = FV_SCHED_CONSTANT);
    else if (strcmp(s, "step") == 0)
        *out = fv_schedule(.kind = FV_SCHED_STEP, .step_size = epochs > 2 ? epochs / 3 : 1,
                           .gamma = 0.5f);
    else if (strcmp(s, "exponential") == 0)
        *out = fv_schedule(.kind = FV_SCHED_EXPONENTIAL, .gamma = 0.9f);
    else if (strcmp(s, "cosine") == 0)
        *out = fv_schedule(.kind = FV_SCHED_COSINE, .total = epochs, .warmup = warmup);
    else if (strcmp(s, "onecycle") == 0)
        *out = fv_schedule(.kind = FV_SCHED_ONE_CYCLE, .total = (int)(steps * epochs));
    else if (strcmp(s, "plateau") == 0)
        *out = fv_schedule(.kind = FV_SCHED_PLATEAU, .factor = 0.5f, .patience = 2);
    else
        return fv_err(FV_ERR_INVALID, "schedule '%.64s' is unknown (constant, step, exponential, "
                      "cosine, onecycle, plateau)", s);
    return FV_OK;
}
