/* optim.h - the optimizer's entry points for fit (optim.c) and the learning-rate schedules' state
 * and arithmetic (schedule.c); the settings themselves (fv_optimizer, fv_schedule) are public. */
#ifndef FV_OPTIM_H
#define FV_OPTIM_H

#include "core/internal.h"

/* The regularization penalty of every node (l1, l2), and its gradient added into the gradient
 * slab when add_grad (optim.c). */
double fv_regularize(fv_model *m, int add_grad);
/* Optimizer step over the trainable prefix of the slabs (optim.c). */
void fv_optim_step(fv_model *m);
fv_status fv_optim_init(fv_model *m);

/* The learning rate at t for the closed-form kinds (all but PLATEAU); checks nothing. */
double fv_schedule_lr(const fv_schedule *s, double base_lr, int64_t t);
/* Validates s (and fills its defaults): errors name the setting. */
fv_status fv_schedule_check(fv_schedule *s);

/* ReduceLROnPlateau's state: feed one metric per epoch, read lr. */
typedef struct fv_plateau {
    double lr, best;
    int bad_epochs, cooldown_left;
} fv_plateau;
void fv_plateau_init(fv_plateau *p, double lr);
/* Records one epoch's metric (lower is better); returns the learning rate for the next epoch. */
double fv_plateau_step(fv_plateau *p, const fv_schedule *s, double metric);

#endif /* FV_OPTIM_H */
