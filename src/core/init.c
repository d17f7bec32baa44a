/* init.c - the weight initializers (fv_init, fovea.h): their text names, their definitions
 * (PyTorch's torch.nn.init and Keras' initializers: which distribution, what bound or standard
 * deviation for given fans and gain) and the draws that fill a parameter from a model's seeded
 * stream, orthogonal matrices included (Gram-Schmidt, twice, in double precision). */
#include "core/internal.h"

#include <math.h>
#include <string.h>

/* The standard deviation of N(0, 1) truncated to [-2, 2]: Keras divides by it so that its
 * truncated normals keep the variance asked for. */
#define TRUNC_STD 0.87962566103423978

/* Each initializer's text name, the other spelling the text reads (PyTorch's name of the same
 * definition) and its definition (docs/model-format.md's table of initializers). */
static const struct {
    const char *name, *alias, *doc;
} inits[FV_INIT__COUNT] = {
    [FV_INIT_DEFAULT] = {"default", NULL, NULL},
    [FV_INIT_GLOROT_UNIFORM] = {"glorot_uniform", "xavier_uniform",
                                "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))"},
    [FV_INIT_GLOROT_NORMAL] = {"glorot_normal", NULL,
                               "Keras' truncated normal, std = gain sqrt(2 / (fan_in + fan_out))"},
    [FV_INIT_XAVIER_NORMAL] = {"xavier_normal", NULL,
                               "PyTorch's normal N(0, std^2), std = gain sqrt(2 / (fan_in + "
                               "fan_out))"},
    [FV_INIT_HE_UNIFORM] = {"he_uniform", "kaiming_uniform", "U(-a, a), a = sqrt(6 / fan)"},
    [FV_INIT_HE_NORMAL] = {"he_normal", NULL, "Keras' truncated normal, std = sqrt(2 / fan)"},
    [FV_INIT_KAIMING_NORMAL] = {"kaiming_normal", NULL,
                                "PyTorch's normal N(0, std^2), std = sqrt(2 / fan)"},
    [FV_INIT_LECUN_UNIFORM] = {"lecun_uniform", NULL, "U(-a, a), a = sqrt(3 / fan)"},
    [FV_INIT_LECUN_NORMAL] = {"lecun_normal", NULL,
                              "Keras' truncated normal, std = sqrt(1 / fan)"},
    [FV_INIT_ORTHOGONAL] = {"orthogonal", NULL,
                            "the weight as an (out, numel / out) matrix with orthonormal rows "
                            "(columns where it is taller than wide), times gain"},
    [FV_INIT_ZEROS] = {"zeros", NULL, "0"},
    [FV_INIT_ONES] = {"ones", NULL, "1"},
    [FV_INIT_CONSTANT] = {"constant", NULL, "`init_value` (a bias: `bias_value`)"},
    [FV_INIT_BILINEAR] = {"bilinear", NULL,
                          "a (C, C', kh, kw) weight: channel i to channel i the bilinear "
                          "upsampling kernel (1 - |y - cy| / fy)(1 - |x - cx| / fx), f = "
                          "ceil(k / 2), c = f - 1 (k odd) or f - 0.5; other channel pairs 0"},
};

const char *fv_init_name(fv_init k)
{
    return (int)k >= 0 && k < FV_INIT__COUNT ? inits[k].name : NULL;
}

const char *fv_init_doc(fv_init k, const char **alias)
{
    bool in = (int)k > 0 && k < FV_INIT__COUNT;
    *alias = in ? inits[k].alias : NULL;
    return in ? inits[k].doc : NULL;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int ci_eq(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

int fv_init_from_name(const char *name)
{
    for (int k = FV_INIT_DEFAULT + 1; name && k < FV_INIT__COUNT; k++)
        if (ci_eq(name, inits[k].name) || (inits[k].alias && ci_eq(name, inits[k].alias)))
            return k;
    return -1;
}

/* ---------------------------------------------------------------- definitions */

int fv_init_scale(const fv_init_rule *r, int64_t fan_in, int64_t fan_out, double *scale)
{
    double gain = r->gain > 0 ? r->gain : 1.0, sum = (double)(fan_in + fan_out);
    double fan = (double)(r->fan_out ? fan_out : fan_in);
    switch (r->kind) {
    case FV_INIT_DEFAULT:
    case FV_INIT_ZEROS:
        *scale = 0;
        return FV_DIST_CONSTANT;
    case FV_INIT_ONES:
        *scale = 1;
        return FV_DIST_CONSTANT;
    case FV_INIT_QUARTER:
        *scale = 0.25;
        return FV_DIST_CONSTANT;
    case FV_INIT_CONSTANT:
        *scale = r->value;
        return FV_DIST_CONSTANT;
    case FV_INIT_ORTHOGONAL:
        *scale = gain;
        return FV_DIST_ORTHOGONAL;
    case FV_INIT_BILINEAR:
        *scale = 1;
        return FV_DIST_BILINEAR;
    default:
        break;
    }
    if (fan_in <= 0 || fan_out <= 0)
        return -1;
    switch (r->kind) {
    case FV_INIT_GLOROT_UNIFORM: /* the product keeps the default's bits: gain 1 is exact */
        *scale = gain * sqrt(6.0 / sum);
        return FV_DIST_UNIFORM;
    case FV_INIT_GLOROT_NORMAL:
        *scale = gain * sqrt(2.0 / sum) / TRUNC_STD;
        return FV_DIST_TRUNCATED;
    case FV_INIT_XAVIER_NORMAL:
        *scale = gain * sqrt(2.0 / sum);
        return FV_DIST_NORMAL;
    case FV_INIT_HE_UNIFORM:
        *scale = sqrt(6.0 / fan);
        return FV_DIST_UNIFORM;
    case FV_INIT_HE_NORMAL:
        *scale = sqrt(2.0 / fan) / TRUNC_STD;
        return FV_DIST_TRUNCATED;
    case FV_INIT_KAIMING_NORMAL:
        *scale = sqrt(2.0 / fan);
        return FV_DIST_NORMAL;
    case FV_INIT_LECUN_UNIFORM:
        *scale = sqrt(3.0 / fan);
        return FV_DIST_UNIFORM;
    case FV_INIT_LECUN_NORMAL:
        *scale = sqrt(1.0 / fan) / TRUNC_STD;
        return FV_DIST_TRUNCATED;
    default:
        return -1;
    }
}

/* ---------------------------------------------------------------- draws */

static void fill_constant(float *x, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = v;
}

static void fill_uniform(float *x, int64_t n, double a, fv_rng *r)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((2.0 * fv_rng_uniform(r) - 1.0) * a);
}

/* N(0, s^2); truncated: each draw outside [-2 s, 2 s] is drawn again. */
static void fill_normal(float *x, int64_t n, double s, int truncated, fv_rng *r)
{
    for (int64_t i = 0; i < n; i++) {
        double z;
        do
            z = fv_rng_normal(r);
        while (truncated && fabs(z) > 2.0);
        x[i] = (float)(z * s);
    }
}

/* ---------------------------------------------------------------- orthogonal */

/* Orthogonal weights are Q of the QR factorization of a Gaussian matrix: its k vectors of
 * length len made orthonormal in order (each loses its components along the earlier ones, then
 * is scaled to norm 1), which gives PyTorch's Q after its sign correction (R's diagonal > 0).
 * Block classical Gram-Schmidt, twice (BCGS2): blocks of GS_BLOCK vectors are projected against
 * all earlier vectors with matrix products that workers share (split by earlier vector for the
 * dot products, by element for the update), then orthonormalized among themselves. Every sum
 * runs in one fixed order, so the result does not depend on the thread count; all in double. */
#define GS_BLOCK 32

typedef struct gs_job {
    double *v;       /* the vectors, k x len: those before the block are finished */
    double *bt;      /* the block, transposed: len x GS_BLOCK */
    double *c;       /* the dot products: earlier vector i, block vector q at i * GS_BLOCK + q */
    int64_t done, len;
} gs_job;

/* c[i][q] = v_i . block_q for earlier vectors i of worker t's share. */
static void gs_dots(void *ctx, int t, int64_t i0, int64_t i1)
{
    const gs_job *j = ctx;
    (void)t;
    for (int64_t i = i0; i < i1; i++) {
        double c[GS_BLOCK] = {0};
        const double *vi = j->v + i * j->len;
        for (int64_t e = 0; e < j->len; e++)
            for (int q = 0; q < GS_BLOCK; q++)
                c[q] += vi[e] * j->bt[e * GS_BLOCK + q];
        memcpy(j->c + i * GS_BLOCK, c, sizeof c);
    }
}

/* block_q -= sum_i c[i][q] v_i over elements of worker t's share, i in order for each element
 * (in chunks of elements that stay in the cache). */
static void gs_update(void *ctx, int t, int64_t e0, int64_t e1)
{
    const gs_job *j = ctx;
    (void)t;
    for (int64_t a = e0; a < e1; a += 64) {
        int64_t b = a + 64 < e1 ? a + 64 : e1;
        for (int64_t i = 0; i < j->done; i++) {
            const double *vi = j->v + i * j->len, *ci = j->c + i * GS_BLOCK;
            for (int64_t e = a; e < b; e++)
                for (int q = 0; q < GS_BLOCK; q++)
                    j->bt[e * GS_BLOCK + q] -= ci[q] * vi[e];
        }
    }
}

/* The n vectors of length len in rows (n <= GS_BLOCK) orthonormalized among themselves in
 * order, twice (modified Gram-Schmidt); a zero vector stays zero. */
static void gs_rows(double *rows, int n, int64_t len)
{
    for (int q = 0; q < n; q++) {
        double *x = rows + q * len;
        for (int pass = 0; pass < 2; pass++)
            for (int p = 0; p < q; p++) {
                const double *y = rows + p * len;
                double dot = 0;
                for (int64_t e = 0; e < len; e++)
                    dot += y[e] * x[e];
                for (int64_t e = 0; e < len; e++)
                    x[e] -= dot * y[e];
            }
        double norm = 0;
        for (int64_t e = 0; e < len; e++)
            norm += x[e] * x[e];
        norm = sqrt(norm);
        for (int64_t e = 0; norm > 0 && e < len; e++)
            x[e] /= norm;
    }
}

/* Block j0.. (n vectors, rows of v) orthonormalized against the earlier ones and each other;
 * rows is scratch of GS_BLOCK x len. */
static void gs_block(gs_job *j, int64_t j0, int n, double *rows)
{
    double *blk = j->v + j0 * j->len;
    memcpy(rows, blk, sizeof(double) * (size_t)(n * j->len));
    for (int pass = 0; pass < 2; pass++) {
        if (j0 > 0) { /* rows -= V V^T rows, through the transposed copy */
            memset(j->bt, 0, sizeof(double) * (size_t)(j->len * GS_BLOCK));
            for (int q = 0; q < n; q++)
                for (int64_t e = 0; e < j->len; e++)
                    j->bt[e * GS_BLOCK + q] = rows[q * j->len + e];
            j->done = j0;
            int width = fv_parallel_width((int)(j0 < j->len ? j0 : j->len));
            fv_parallel_shares(width, j0, gs_dots, j);
            fv_parallel_shares(width, j->len, gs_update, j);
            for (int q = 0; q < n; q++)
                for (int64_t e = 0; e < j->len; e++)
                    rows[q * j->len + e] = j->bt[e * GS_BLOCK + q];
        }
        gs_rows(rows, n, j->len);
    }
    memcpy(blk, rows, sizeof(double) * (size_t)(n * j->len));
}

/* The k rows of v (each of length len, k <= len) orthonormalized in order. */
static fv_status orthonormalize(double *v, int64_t k, int64_t len)
{
    gs_job j = {.v = v, .len = len};
    j.bt = fv_malloc(sizeof(double) * (size_t)(len * GS_BLOCK), "orthogonal initializer");
    j.c = fv_malloc(sizeof(double) * (size_t)(k * GS_BLOCK), "orthogonal initializer");
    double *rows = fv_malloc(sizeof(double) * (size_t)(len * GS_BLOCK), "orthogonal initializer");
    fv_status st = j.bt && j.c && rows ? FV_OK : FV_ERR_NOMEM;
    for (int64_t j0 = 0; st == FV_OK && j0 < k; j0 += GS_BLOCK)
        gs_block(&j, j0, (int)(k - j0 < GS_BLOCK ? k - j0 : GS_BLOCK), rows);
    fv_free(j.bt);
    fv_free(j.c);
    fv_free(rows);
    return st;
}

/* PyTorch's orthogonal_: the parameter as a rows x cols matrix (rows = dims[0]) of N(0, 1)
 * draws made orthonormal along its shorter side (its rows when rows <= cols, else its columns),
 * times gain. */
static fv_status fill_orthogonal(float *x, int64_t rows, int64_t cols, double gain, fv_rng *r)
{
    int wide = rows <= cols;
    int64_t k = wide ? rows : cols, len = wide ? cols : rows;
    double *v = fv_malloc(sizeof(double) * (size_t)(rows * cols), "orthogonal initializer");
    if (!v)
        return FV_ERR_NOMEM;
    for (int64_t i = 0; i < rows; i++) /* draw row-major; vector j is row j or column j */
        for (int64_t j = 0; j < cols; j++)
            v[wide ? i * cols + j : j * rows + i] = fv_rng_normal(r);
    fv_status st = orthonormalize(v, k, len);
    for (int64_t i = 0; st == FV_OK && i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            x[i * cols + j] = (float)(gain * v[wide ? i * cols + j : j * rows + i]);
    fv_free(v);
    return st;
}

/* One axis of a bilinear upsampling kernel of size k at offset i (FCN's upsample_filt). */
static double bilinear_tap(int64_t k, int64_t i)
{
    double f = (double)((k + 1) / 2), c = k % 2 ? f - 1 : f - 0.5;
    return 1 - fabs((double)i - c) / f;
}

/* A (C, C', kh, kw) weight: the 2-D kernel where the two channel indices are equal, else 0. */
static void fill_bilinear(float *x, const int64_t *dims)
{
    int64_t kh = dims[2], kw = dims[3];
    for (int64_t i = 0; i < dims[0]; i++)
        for (int64_t j = 0; j < dims[1]; j++)
            for (int64_t y = 0; y < kh; y++)
                for (int64_t v = 0; v < kw; v++)
                    x[((i * dims[1] + j) * kh + y) * kw + v] =
                        i == j ? (float)(bilinear_tap(kh, y) * bilinear_tap(kw, v)) : 0.0f;
}

fv_status fv_init_fill(float *x, int ndim, const int64_t *dims, int64_t fan_in, int64_t fan_out,
                       const fv_init_rule *r, fv_rng *rng)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= dims[i];
    if (r->kind == FV_INIT_AFFINE_IDENTITY) {
        for (int64_t i = 0; i < n; i++)
            x[i] = n == 6 && (i == 0 || i == 4) ? 1.0f : 0.0f;
        return FV_OK;
    }
    double s;
    int dist = fv_init_scale(r, fan_in, fan_out, &s);
    if (dist < 0 || (dist == FV_DIST_ORTHOGONAL && ndim < 2))
        return fv_err(FV_ERR_INVALID, "initializer %s needs a weight of 2 or more dimensions",
                      fv_init_name((fv_init)r->kind) ? fv_init_name((fv_init)r->kind) : "?");
    if (dist == FV_DIST_BILINEAR && ndim != 4)
        return fv_err(FV_ERR_INVALID, "initializer bilinear needs a convolution weight "
                      "(C, C', kh, kw)");
    switch (dist) {
    case FV_DIST_CONSTANT:
        fill_constant(x, n, (float)s);
        return FV_OK;
    case FV_DIST_UNIFORM:
        fill_uniform(x, n, s, rng);
        return FV_OK;
    case FV_DIST_NORMAL:
    case FV_DIST_TRUNCATED:
        fill_normal(x, n, s, dist == FV_DIST_TRUNCATED, rng);
        return FV_OK;
    case FV_DIST_BILINEAR:
        fill_bilinear(x, dims);
        return FV_OK;
    default:
        return fill_orthogonal(x, dims[0], n / dims[0], s, rng);
    }
}
