/* checkpoint.h - everything fit needs to resume a run, in one file (checkpoint.c). */
#ifndef FV_CHECKPOINT_H
#define FV_CHECKPOINT_H

#include "optim/optim.h"

/* Everything fit needs to continue after epoch `epoch` exactly as if it had not stopped. */
typedef struct fv_train_state {
    int epoch;                 /* epochs completed */
    int64_t step;              /* optimisation steps so far */
    fv_rng fit_rng;            /* the shuffling stream */
    double base_lr;
    fv_plateau plateau;
    double stop_best;          /* early stopping */
    int stop_best_epoch, stop_waited;
    fv_epoch_metrics *history; /* `epoch` entries (room for the run's epochs) */
    float *best_weights;       /* the best epoch's parameters (param_total), or NULL */
} fv_train_state;

/* Writes the model's parameters (by name, loadable as weights), the optimizer's state and t
 * (atomic). */
fv_status fv_checkpoint_write(const fv_model *m, const char *path, const fv_train_state *t);
/* Restores all of it; t->history must have room for max_epochs entries and t->best_weights (if
 * not NULL) for param_total floats. A file of another model or optimizer is an error naming the
 * mismatch, and leaves the model unchanged. */
fv_status fv_checkpoint_read(fv_model *m, const char *path, fv_train_state *t, int max_epochs);

#endif /* FV_CHECKPOINT_H */
