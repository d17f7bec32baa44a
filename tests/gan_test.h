/* gan_test.h - what the GAN tests share (test_gan.c, test_gan_cond.c): seeded fills, a model's
 * trainable parameters in double, and the check that one SGD step of G (lr 1) moved each
 * parameter by minus the central difference of a double-precision loss. Include after test.h. */
#ifndef FV_GAN_TEST_H
#define FV_GAN_TEST_H

#include "core/internal.h"

#include <string.h>

static inline void t_gan_fill(float *v, int n, unsigned seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static inline void t_gan_params(const fv_model *m, double *v)
{
    for (int64_t i = 0; i < m->trainable_total; i++)
        v[i] = m->data_slab[i];
}

/* G's loss at G's parameters gp (n of them), the rest fixed by ctx. */
typedef double (*t_gan_loss_fn)(const double *gp, const void *ctx);

/* before - after (a step of SGD at lr 1) against the central differences of loss at before. */
static inline void t_gan_check_step(const double *before, const double *after, int n,
                                    t_gan_loss_fn loss, const void *ctx)
{
    double p[64], h = 1e-5;
    for (int i = 0; i < n && n <= 64; i++) {
        memcpy(p, before, sizeof(double) * (size_t)n);
        p[i] = before[i] + h;
        double lp = loss(p, ctx);
        p[i] = before[i] - h;
        double lm = loss(p, ctx);
        CHECK_NEAR(before[i] - after[i], (lp - lm) / (2 * h), 2e-6, 1e-3);
    }
    CHECK(n <= 64);
}

#endif /* FV_GAN_TEST_H */
