/* gan_score.c - the GAN quality measure: a classifier's penultimate features and class
 * probabilities of a set of images, the mean and covariance of features, the Frechet distance of
 * two Gaussians (the matrix square root through eigen decompositions of symmetric matrices,
 * cyclic Jacobi) and the Inception Score. */
#include "core/internal.h"
#include "nn/gan_score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- symmetric eigen */

/* One Jacobi rotation zeroing a[p][q] (Golub & Van Loan, algorithm 8.5.2), applied to a and
 * accumulated in v. */
static void rotate(double *a, double *v, int n, int p, int q)
{
    double apq = a[p * n + q];
    if (apq == 0)
        return;
    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
    double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
    double c = 1 / sqrt(t * t + 1), s = t * c;
    for (int k = 0; k < n; k++) { /* columns p and q */
        double akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq, a[k * n + q] = s * akp + c * akq;
    }
    for (int k = 0; k < n; k++) { /* rows p and q */
        double apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk, a[q * n + k] = s * apk + c * aqk;
    }
    a[p * n + q] = a[q * n + p] = 0;
    for (int k = 0; k < n; k++) {
        double vkp = v[k * n + p], vkq = v[k * n + q];
        v[k * n + p] = c * vkp - s * vkq, v[k * n + q] = s * vkp + c * vkq;
    }
}

static double off_diagonal(const double *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (i != j)
                s += a[i * n + j] * a[i * n + j];
    return s;
}

fv_status fv_sym_eigen(double *a, int n, double *w, double *v)
{
    double total = 0;
    for (int i = 0; i < n * n; i++)
        total += a[i] * a[i];
    for (int i = 0; i < n * n; i++)
        v[i] = i % (n + 1) == 0;
    for (int sweep = 0; sweep < 100 && off_diagonal(a, n) > 1e-30 * total; sweep++)
        for (int p = 0; p < n - 1; p++)
            for (int q = p + 1; q < n; q++)
                rotate(a, v, n, p, q);
    if (off_diagonal(a, n) > 1e-20 * total)
        return fv_err(FV_ERR_NUMERIC, "eigen decomposition: no convergence after 100 sweeps");
    for (int i = 0; i < n; i++)
        w[i] = a[i * n + i];
    return FV_OK;
}

/* ---------------------------------------------------------------- Frechet distance */

static fv_status check_matrix(const double *c, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double x = c[i * n + j], y = c[j * n + i];
            if (!isfinite(x))
                return fv_err(FV_ERR_NUMERIC, "Frechet distance: %s[%d][%d] is not finite", what,
                              i, j);
            if (fabs(x - y) > 1e-9 * (fabs(x) + fabs(y)) + 1e-300)
                return fv_err(FV_ERR_INVALID, "Frechet distance: %s is not symmetric at [%d][%d]",
                              what, i, j);
        }
    return FV_OK;
}

/* s = c^(1/2) (symmetric), negative eigenvalues counted as 0; work: 3 n^2 + n doubles. */
static fv_status sqrt_sym(const double *c, int n, double *s, double *work)
{
    double *a = work, *v = a + n * n, *w = v + n * n;
    memcpy(a, c, sizeof(double) * (size_t)n * (size_t)n);
    FV_TRY(fv_sym_eigen(a, n, w, v));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double x = 0;
            for (int k = 0; k < n; k++)
                x += v[i * n + k] * sqrt(fmax(w[k], 0)) * v[j * n + k];
            s[i * n + j] = x;
        }
    return FV_OK;
}

/* out = a b for n x n matrices. */
static void matmul(const double *a, const double *b, int n, double *out)
{
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double x = 0;
            for (int k = 0; k < n; k++)
                x += a[i * n + k] * b[k * n + j];
            out[i * n + j] = x;
        }
}

/* tr (c1 c2)^(1/2) = tr (s c2 s)^(1/2) with s = c1^(1/2): c1 c2 is similar to s c2 s. */
static fv_status trace_sqrt_product(const double *c1, const double *c2, int n, double *tr)
{
    size_t nn = (size_t)n * (size_t)n;
    double *buf = malloc(sizeof(double) * (6 * nn + (size_t)n));
    if (!buf)
        return fv_err(FV_ERR_NOMEM, "Frechet distance: out of memory for %d features", n);
    double *s = buf, *t = s + nn, *m = t + nn, *work = m + nn;
    fv_status st = sqrt_sym(c1, n, s, work);
    if (st == FV_OK) {
        matmul(s, c2, n, t), matmul(t, s, n, m);
        for (int i = 0; i < n; i++) /* symmetric up to rounding */
            for (int j = 0; j < i; j++)
                m[i * n + j] = m[j * n + i] = 0.5 * (m[i * n + j] + m[j * n + i]);
        double *v = work + nn, *w = v + nn;
        st = fv_sym_eigen(m, n, w, v);
        *tr = 0;
        for (int i = 0; st == FV_OK && i < n; i++)
            *tr += sqrt(fmax(w[i], 0));
    }
    free(buf);
    return st;
}

fv_status fv_frechet_distance(const double *mu1, const double *c1, const double *mu2,
                              const double *c2, int dim, double *fd)
{
    if (!mu1 || !c1 || !mu2 || !c2 || !fd || dim < 1 || dim > 4096)
        return fv_err(FV_ERR_INVALID, "Frechet distance: %d features (1 to 4096, and the "
                      "means and covariances)", dim);
    FV_TRY(check_matrix(c1, dim, "the first covariance"));
    FV_TRY(check_matrix(c2, dim, "the second covariance"));
    double d2 = 0, tr = 0, trs = 0;
    for (int i = 0; i < dim; i++) {
        if (!isfinite(mu1[i]) || !isfinite(mu2[i]))
            return fv_err(FV_ERR_NUMERIC, "Frechet distance: mean %d is not finite", i);
        d2 += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
        tr += c1[i * dim + i] + c2[i * dim + i];
    }
    FV_TRY(trace_sqrt_product(c1, c2, dim, &trs));
    *fd = d2 + tr - 2 * trs;
    return FV_OK;
}

/* ---------------------------------------------------------------- moments, IS */

fv_status fv_feature_moments(const float *x, int64_t n, int dim, double *mean, double *cov)
{
    if (!x || !mean || !cov || n < 2 || dim < 1)
        return fv_err(FV_ERR_INVALID, "feature moments: %lld rows of %d (need n >= 2, dim >= 1)",
                      (long long)n, dim);
    for (int j = 0; j < dim; j++)
        mean[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < dim; j++)
            mean[j] += x[i * dim + j];
    for (int j = 0; j < dim; j++)
        mean[j] /= (double)n;
    memset(cov, 0, sizeof(double) * (size_t)dim * (size_t)dim);
    double *c = malloc(sizeof(double) * (size_t)dim);
    if (!c)
        return fv_err(FV_ERR_NOMEM, "feature moments: out of memory");
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < dim; j++)
            c[j] = x[i * dim + j] - mean[j];
        for (int a = 0; a < dim; a++)
            for (int b = a; b < dim; b++)
                cov[a * dim + b] += c[a] * c[b];
    }
    for (int a = 0; a < dim; a++)
        for (int b = a; b < dim; b++)
            cov[b * dim + a] = cov[a * dim + b] /= (double)(n - 1);
    free(c);
    return FV_OK;
}

fv_status fv_inception_score(const float *p, int64_t n, int k, double *is)
{
    if (!p || !is || n < 1 || k < 1)
        return fv_err(FV_ERR_INVALID, "Inception Score: %lld rows of %d probabilities",
                      (long long)n, k);
    double *marg = calloc((size_t)k, sizeof(double));
    if (!marg)
        return fv_err(FV_ERR_NOMEM, "Inception Score: out of memory");
    for (int64_t i = 0; i < n * k; i++) {
        if (!(p[i] >= 0 && p[i] <= 1)) {
            free(marg);
            return fv_err(FV_ERR_NUMERIC, "Inception Score: probability %g of row %lld is not "
                          "in [0, 1]", (double)p[i], (long long)(i / k));
        }
        marg[i % k] += p[i] / (double)n;
    }
    double kl = 0; /* 0 log 0 = 0 */
    for (int64_t i = 0; i < n * k; i++)
        if (p[i] > 0)
            kl += p[i] * (log(p[i]) - log(marg[i % k]));
    free(marg);
    *is = exp(kl / (double)n);
    return FV_OK;
}

/* ---------------------------------------------------------------- a classifier's view */

/* The input of the last dense layer (through the activations and softmax after it). */
static int feature_node(const fv_model *m)
{
    int i = m->output_node;
    while (i >= 0 && m->nodes[i].op != FV_OP_DENSE && m->nodes[i].nin == 1)
        i = m->nodes[i].in[0];
    return i >= 0 && m->nodes[i].op == FV_OP_DENSE ? m->nodes[i].in[0] : -1;
}

/* One batch's features and probabilities into f and p. */
static fv_status batch_features(fv_model *m, const float *x, int n, int node, float *f, float *p)
{
    FV_TRY(fv_model_forward(m, x, n));
    const float *fy = fv_model_node_output(m, node), *py = fv_model_node_output(m, -1);
    if (!fy || !py)
        return FV_ERR_STATE;
    int64_t dim = m->nodes[node].size, k = m->nodes[m->output_node].size;
    memcpy(f, fy, sizeof(float) * (size_t)(n * dim));
    memcpy(p, py, sizeof(float) * (size_t)(n * k));
    if (m->nodes[m->output_node].op != FV_OP_SOFTMAX)
        fv_softmax_rows(p, n, k);
    return FV_OK;
}

fv_status fv_gan_features(fv_model *m, const float *x, int64_t n, float **features, int *dim,
                          float **probs, int *k)
{
    if (!m || !m->compiled || !x || n < 1 || !features || !dim || !probs || !k)
        return fv_err(FV_ERR_INVALID, "GAN features: %lld images (need a compiled classifier)",
                      (long long)n);
    int node = feature_node(m);
    if (node < 0)
        return fv_err(FV_ERR_INVALID, "GAN features: classifier '%s' does not end in a dense "
                      "layer", m->name);
    *dim = (int)m->nodes[node].size, *k = (int)m->nodes[m->output_node].size;
    int64_t in = m->nodes[m->input_node].size;
    *features = malloc(sizeof(float) * (size_t)(n * *dim));
    *probs = malloc(sizeof(float) * (size_t)(n * *k));
    fv_status s = *features && *probs ? FV_OK : fv_err(FV_ERR_NOMEM, "GAN features: out of memory");
    int was = m->training;
    m->training = 0;
    for (int64_t at = 0; at < n && s == FV_OK; at += 256) {
        int b = n - at < 256 ? (int)(n - at) : 256;
        s = batch_features(m, x + at * in, b, node, *features + at * *dim, *probs + at * *k);
    }
    m->training = was;
    if (s != FV_OK) {
        free(*features), free(*probs);
        *features = *probs = NULL;
    }
    return s;
}
