/* losscheck.h - the checks the loss kernel tests share (test_losses.c, test_segloss.c): a
 * PyTorch golden of loss and input gradient, and the finite-difference check of a double kernel.
 * A test describes its kernels by case index i, so that each file keeps its own geometry type. */
#ifndef FV_LOSSCHECK_H
#define FV_LOSSCHECK_H

#include "gradcheck.h"
#include "io/io.h"
#include "test.h"

/* The float kernels of case i: returns the loss of x against t, with its gradient (seeded 1)
 * added into dx. */
typedef double (*lc_eval_f32)(int i, const float *x, const float *t, float *dx);
/* The double kernels of case i: the loss, and its gradient (seeded r) added into dx. */
typedef double (*lc_fwd_f64)(int i, const double *x, const double *t);
typedef void (*lc_bwd_f64)(int i, const double *x, const double *t, double r, double *dx);

/* Defines lc_eval_f32, lc_fwd_f64 and lc_bwd_f64 wrappers named lc_eval, lc_fwd and lc_bwd over a
 * file's kernels, whose geometry of case i is geom_of(i) (a struct of type geom_t). */
#define LC_KERNELS(geom_t, geom_of, fwd32, bwd32, fwd64, bwd64)                                  \
    static double lc_eval(int i, const float *x, const float *t, float *dx)                      \
    {                                                                                            \
        geom_t g = geom_of(i);                                                                   \
        double l = fwd32(&g, x, t);                                                              \
        bwd32(&g, x, t, 1.0f, dx);                                                               \
        return l;                                                                                \
    }                                                                                            \
    static double lc_fwd(int i, const double *x, const double *t)                                \
    {                                                                                            \
        geom_t g = geom_of(i);                                                                   \
        return fwd64(&g, x, t);                                                                  \
    }                                                                                            \
    static void lc_bwd(int i, const double *x, const double *t, double r, double *dx)            \
    {                                                                                            \
        geom_t g = geom_of(i);                                                                   \
        bwd64(&g, x, t, r, dx);                                                                  \
    }

/* Checks case i's float kernels against data/golden/<name>.safetensors ("x", "t", "loss",
 * "dx"; nx values of x); names the case on a failure. */
static inline void lc_match_golden(const char *name, int i, lc_eval_f32 eval, long nx)
{
    char rel[128];
    snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *t = f ? fv_st_get(f, "t") : NULL;
    fv_tensor *loss = f ? fv_st_get(f, "loss") : NULL, *dx = f ? fv_st_get(f, "dx") : NULL;
    float *got = calloc((size_t)nx, sizeof(float));
    CHECK(x && t && loss && dx && got);
    if (x && t && loss && dx && got) {
        double l = eval(i, x->data, t->data, got);
        int before = t_cur_failed;
        CHECK_NEAR(l, loss->data[0], 1e-6, 1e-5);
        CHECK_ARRAY_NEAR(got, dx->data, nx, 1e-6, 1e-5);
        if (t_cur_failed && !before)
            fprintf(stderr, "  case %s\n", name);
    }
    free(got);
    fv_tensor_free(x), fv_tensor_free(t), fv_tensor_free(loss), fv_tensor_free(dx);
    fv_st_close(f);
}

typedef struct lc_ctx {
    int i;
    lc_fwd_f64 fwd;
    const double *t;
    double *x;
} lc_ctx;

static inline void lc_forward(void *ctx, double *y)
{
    lc_ctx *c = ctx;
    y[0] = c->fwd(c->i, c->x, c->t);
}

/* The finite-difference check of case i's double kernels at x (nx values) against t, seeded
 * 0.7; names the case on a failure. */
static inline void lc_gradcheck(const char *name, int i, lc_fwd_f64 fwd, lc_bwd_f64 bwd, double *x,
                                const double *t, long nx)
{
    double *dx = calloc((size_t)nx, sizeof(double)), r = 0.7;
    CHECK(dx != NULL);
    if (!dx)
        return;
    lc_ctx c = {i, fwd, t, x};
    bwd(i, x, t, r, dx);
    double err = gc_compare(&c, lc_forward, x, nx, 1, &r, dx, GC_H);
    if (err > GC_TOL)
        fprintf(stderr, "  %s: %g\n", name, err);
    CHECK(err <= GC_TOL);
    free(dx);
}

#endif
