/* zoo_formula.h - the weights of the zoo's reduced-size goldens (tests/golden/gen_zoo.py,
 * gen_inception_v3.py, gen_nasnet.py): every parameter and buffer set by a formula of its name
 * (torchvision's where it has the network) and element index, a counter-based integer hash exact
 * in C and in numpy, so a golden needs no weight file and a parameter under a wrong name gives
 * wrong logits. */
#ifndef FV_ZOO_FORMULA_H
#define FV_ZOO_FORMULA_H

#include "fovea.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t zf_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* gen_zoo.py's uniform(): an integer hash of (index, seed) to [-1, 1). */
static inline double zf_uniform(uint64_t i, uint64_t seed)
{
    const uint64_t mask = 0xFFFFFFFFu;
    uint64_t x = (i * 2654435761u + seed) & mask;
    x ^= x >> 15;
    x = (x * 2246822519u) & mask;
    x ^= x >> 13;
    return (double)x / 2147483648.0 - 1;
}

static inline int zf_ends_with(const char *s, const char *t)
{
    size_t a = strlen(s), b = strlen(t);
    return a >= b && strcmp(s + a - b, t) == 0;
}

/* gen_zoo.py's formula() for every parameter of a compiled model: running variances in
 * [1, 1.5), running means and biases in [-0.1, 0.1), weights of 2 or more axes uniform with
 * variance 1 / fan-in, batch-norm scales in [0.9, 1.1). */
static inline void zf_fill(fv_model *m)
{
    for (int p = 0; p < fv_model_num_params(m); p++) {
        fv_param_info pi;
        fv_model_param(m, p, &pi);
        uint64_t seed = zf_fnv1a(pi.name);
        double fan_in = (double)pi.numel / (double)pi.dims[0];
        for (int64_t i = 0; i < pi.numel; i++) {
            double v = zf_uniform((uint64_t)i, seed);
            if (zf_ends_with(pi.name, "running_var"))
                v = 1 + 0.25 * (v + 1);
            else if (zf_ends_with(pi.name, "running_mean") || zf_ends_with(pi.name, "bias"))
                v = 0.1 * v;
            else if (pi.ndim >= 2)
                v = v * sqrt(3.0 / fan_in);
            else
                v = 1 + 0.1 * v;
            pi.data[i] = (float)v;
        }
    }
}

/* gen_zoo.py's formula_input(): n samples of c x h x w. */
static inline fv_tensor *zf_input(int n, int c, int h, int w)
{
    fv_tensor *x = fv_tensor_new4(n, c, h, w);
    for (int64_t i = 0; x && i < fv_tensor_numel(x); i++)
        x->data[i] = (float)zf_uniform((uint64_t)i, 12345);
    return x;
}

/* max |got - want| / max |want| over the logits. */
static inline double zf_rel_error(const fv_tensor *got, const fv_tensor *want)
{
    double err = 0, scale = 0;
    for (int64_t i = 0; i < fv_tensor_numel(want); i++) {
        err = fmax(err, fabs(got->data[i] - want->data[i]));
        scale = fmax(scale, fabs(want->data[i]));
    }
    return err / scale;
}

/* One line of a --full run, "<label> ok|BAD|<error>  max relative error <e>"; returns 1 when
 * the run failed (st) or e is over tol. */
static inline int zf_report(const char *label, fv_status st, double e, double tol)
{
    printf("%-22s %s  max relative error %.3g\n", label,
           st != FV_OK ? fv_last_error() : e <= tol ? "ok " : "BAD", e);
    return !(e <= tol);
}

#endif
