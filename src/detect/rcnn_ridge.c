/* rcnn_ridge.c - R-CNN's bounding-box regression (Girshick et al. 2014, appendix C): per class,
 * ridge regression from the CNN's features to the fv_box_encode targets of proposals near a
 * ground truth, solved in closed form from sufficient statistics (A = sum x x^T, B = sum x t^T)
 * by a Cholesky factorisation in double. */
#include "detect/rcnn.h"

#include "core/internal.h"

#include <math.h>
#include <string.h>

fv_status fv_rcnn_ridge_init(fv_rcnn_ridge *r, int d)
{
    *r = (fv_rcnn_ridge){.d = d};
    r->a = fv_calloc((size_t)d * (size_t)d, sizeof *r->a, "rcnn ridge statistics");
    r->b = fv_calloc((size_t)d * 4, sizeof *r->b, "rcnn ridge statistics");
    if (!r->a || !r->b) {
        fv_rcnn_ridge_free(r);
        return fv_last_status();
    }
    return FV_OK;
}

void fv_rcnn_ridge_free(fv_rcnn_ridge *r)
{
    fv_free(r->a);
    fv_free(r->b);
    r->a = r->b = NULL;
}

void fv_rcnn_ridge_add(fv_rcnn_ridge *r, double forget, const float *x, const float *t, int n)
{
    int d = r->d, f = d - 1;
    if (forget != 1) {
        for (int64_t i = 0; i < (int64_t)d * d; i++)
            r->a[i] *= forget;
        for (int i = 0; i < d * 4; i++)
            r->b[i] *= forget;
        r->count *= forget;
    }
    for (int s = 0; s < n; s++) {
        const float *xs = x + (int64_t)s * f;
        for (int i = 0; i < d; i++) {
            double xi = i < f ? xs[i] : 1.0;
            if (xi == 0)
                continue; /* ReLU features are mostly zero */
            double *row = r->a + (int64_t)i * d;
            for (int j = 0; j < f; j++)
                row[j] += xi * xs[j];
            row[f] += xi;
            for (int k = 0; k < 4; k++)
                r->b[i * 4 + k] += xi * t[s * 4 + k];
        }
    }
    r->count += n;
}

/* In-place Cholesky factor L (lower) of the d x d matrix m; FV_ERR_NUMERIC if not positive
 * definite. */
static fv_status cholesky(double *m, int d)
{
    for (int j = 0; j < d; j++) {
        double s = m[j * d + j];
        for (int k = 0; k < j; k++)
            s -= m[j * d + k] * m[j * d + k];
        if (!(s > 0))
            return fv_err(FV_ERR_NUMERIC, "rcnn ridge: the regularised system is not positive "
                          "definite (pivot %d is %g)", j, s);
        m[j * d + j] = sqrt(s);
        for (int i = j + 1; i < d; i++) {
            double v = m[i * d + j];
            for (int k = 0; k < j; k++)
                v -= m[i * d + k] * m[j * d + k];
            m[i * d + j] = v / m[j * d + j];
        }
    }
    return FV_OK;
}

fv_status fv_rcnn_ridge_solve(const fv_rcnn_ridge *r, double lambda, double *w)
{
    int d = r->d;
    if (!(lambda > 0) || !isfinite(lambda))
        return fv_err(FV_ERR_INVALID, "rcnn ridge: lambda %g (must be > 0 and finite)", lambda);
    memset(w, 0, (size_t)d * 4 * sizeof *w);
    if (!(r->count > 0))
        return FV_OK;
    double *m = fv_malloc((size_t)d * (size_t)d * sizeof *m, "rcnn ridge system");
    double *z = fv_malloc((size_t)d * sizeof *z, "rcnn ridge system");
    if (!m || !z) {
        fv_free(m);
        fv_free(z);
        return fv_last_status();
    }
    memcpy(m, r->a, (size_t)d * (size_t)d * sizeof *m); /* A is kept whole (symmetric) */
    for (int i = 0; i < d - 1; i++)
        m[i * d + i] += lambda;
    /* the bias's pivot: without samples weighing it, keep the system definite */
    if (!(m[(d - 1) * d + d - 1] > 0))
        m[(d - 1) * d + d - 1] = lambda;
    fv_status s = cholesky(m, d);
    for (int k = 0; k < 4 && s == FV_OK; k++) {
        for (int i = 0; i < d; i++) { /* L z = b */
            double v = r->b[i * 4 + k];
            for (int j = 0; j < i; j++)
                v -= m[i * d + j] * z[j];
            z[i] = v / m[i * d + i];
        }
        for (int i = d - 1; i >= 0; i--) { /* L^T w = z */
            double v = z[i];
            for (int j = i + 1; j < d; j++)
                v -= m[j * d + i] * w[k * d + j];
            w[k * d + i] = v / m[i * d + i];
        }
    }
    fv_free(m);
    fv_free(z);
    return s;
}
