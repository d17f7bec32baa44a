/* augment.h - applying the public fv_augment settings (augment.c): what fit and its batch loader
 * call. */
#ifndef FV_AUGMENT_H
#define FV_AUGMENT_H

#include "core/internal.h"

/* Checks the settings for images of (c, h, w). */
fv_status fv_augment_check(const fv_augment *a, int c, int h, int w);
/* Whether any transform is on. */
int fv_augment_active(const fv_augment *a);
/* Augments n images of shape (c, h, w) in place, drawing from r (no mixing). */
fv_status fv_augment_batch(const fv_augment *a, fv_rng *r, float *x, int n, int c, int h, int w);
/* Mixup or cutmix of a batch: images x (n, c, h, w) and targets t (n, k; distributions, e.g.
 * one-hot) in place, each sample paired with a random other one of the batch. */
fv_status fv_augment_mix(const fv_augment *a, fv_rng *r, float *x, float *t, int n, int c, int h,
                         int w, int k);
/* A draw from Beta(alpha, alpha). */
double fv_beta_draw(fv_rng *r, double alpha);

#endif /* FV_AUGMENT_H */
