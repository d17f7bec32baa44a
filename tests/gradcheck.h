/* gradcheck.h - finite-difference gradient checks in double precision.
 *
 * For a function y = f(x) (with everything else held fixed) and the scalar L = sum_i r_i * y_i,
 * the analytic gradient dL/dx from a backward pass (seeded with dy = r) is compared with the
 * central difference (L(x + h e_j) - L(x - h e_j)) / 2h for every j. Kinks (ReLU at 0, max-pool
 * ties) are avoided by the caller's choice of inputs. */
#ifndef FV_GRADCHECK_H
#define FV_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Computes y = f(x) in double; ctx carries the other operands. */
typedef void (*gc_forward_fn)(void *ctx, double *y);

/* Perturbs x[0..nx) in place (restoring it), evaluating fwd into a scratch y of ny values.
 * Returns the largest |num - ana| / max(1e-3, |num| + |ana|) over the elements of x. */
static inline double gc_compare(void *ctx, gc_forward_fn fwd, double *x, long nx, long ny,
                                const double *r, const double *analytic, double h)
{
    double *y = malloc(sizeof(double) * (size_t)ny);
    double worst = 0;
    for (long j = 0; j < nx; j++) {
        double keep = x[j], lp = 0, lm = 0;
        x[j] = keep + h;
        fwd(ctx, y);
        for (long i = 0; i < ny; i++)
            lp += r[i] * y[i];
        x[j] = keep - h;
        fwd(ctx, y);
        for (long i = 0; i < ny; i++)
            lm += r[i] * y[i];
        x[j] = keep;
        double num = (lp - lm) / (2 * h);
        double err = fabs(num - analytic[j]) / fmax(1e-3, fabs(num) + fabs(analytic[j]));
        if (!(err <= worst)) {
            worst = isnan(err) ? INFINITY : err;
            if (worst > 1e-5)
                fprintf(stderr, "  gradcheck: element %ld numeric %.10g analytic %.10g\n", j, num,
                        analytic[j]);
        }
    }
    free(y);
    return worst;
}

/* The context most kernels' forwards need: their geometry (or other fixed operands) g, the x
 * gc_compare perturbs, and which of two forwards (kind) where a test checks a pair. */
typedef struct gc_ctx {
    const void *g;
    double *x;
    int kind;
} gc_ctx;

/* Fills v with values uniform in [lo, hi) from a small LCG (tests only; seeded). */
static inline void gc_fill(double *v, long n, double lo, double hi, unsigned *seed)
{
    for (long i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * ((*seed >> 8) & 0xFFFFFF) / 16777216.0;
    }
}

/* The usual draw of a check: x (nx values), then the seed r (ny), uniform in [-1, 1). */
static inline void gc_draw(double *x, long nx, double *r, long ny, unsigned seed)
{
    gc_fill(x, nx, -1, 1, &seed);
    gc_fill(r, ny, -1, 1, &seed);
}

/* The tolerance every op's gradient check uses (central differences, h = 1e-6, double). */
#define GC_TOL 1e-6
#define GC_H 1e-6

#endif
