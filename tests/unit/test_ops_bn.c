/* test_ops_bn.c - batch normalization: gradient checks of the double kernels in training mode
 * (through the batch statistics: x, gamma, beta) and evaluation mode, PyTorch goldens for both
 * modes including the running statistics after a training step (tests/golden/gen_pool_act_bn.py),
 * parameter layout and shape errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "io/io.h"
#include "kernels/ref/bn_ref.h"
#include "optest.h"
#include "test.h"

typedef struct bn_ctx {
    int n, c, train;
    int64_t s;
    double *x, *gamma, *beta, *rm, *rv;
    double mean[8], var[8], rstd[8];
} bn_ctx;

static void bn_fwd(void *ctx, double *y)
{
    bn_ctx *b = ctx;
    if (b->train)
        fv_ref_bn_fwd_train_f64(b->x, b->n, b->c, b->s, b->gamma, b->beta, 1e-5, y, b->mean,
                                b->var, b->rstd);
    else
        fv_ref_bn_fwd_eval_f64(b->x, b->n, b->c, b->s, b->gamma, b->beta, b->rm, b->rv, 1e-5, y);
}

/* Checks dx, dgamma and dbeta; returns the worst relative error. */
static double bn_gradcheck(int n, int c, int64_t s, int train, unsigned *seed)
{
    long nx = (long)n * c * (long)s;
    double *x = malloc(sizeof(double) * (size_t)nx), *r = malloc(sizeof(double) * (size_t)nx);
    double *dx = calloc((size_t)nx, sizeof(double)), g[8], be[8], rm[8], rv[8], dg[8] = {0},
           db[8] = {0};
    gc_fill(x, nx, -2, 3, seed);
    gc_fill(r, nx, -1, 1, seed);
    gc_fill(g, c, 0.5, 1.5, seed);
    gc_fill(be, c, -1, 1, seed);
    gc_fill(rm, c, -0.5, 0.5, seed);
    gc_fill(rv, c, 0.5, 2, seed);
    bn_ctx b = {.n = n, .c = c, .train = train, .s = s, .x = x, .gamma = g, .beta = be,
                .rm = rm, .rv = rv};
    double *y = malloc(sizeof(double) * (size_t)nx);
    bn_fwd(&b, y);
    if (!train)
        for (int ch = 0; ch < c; ch++)
            b.mean[ch] = rm[ch], b.rstd[ch] = 1.0 / sqrt(rv[ch] + 1e-5);
    fv_ref_bn_bwd_f64(x, r, n, c, s, g, b.mean, b.rstd, train, dx, dg, db);
    double e1 = gc_compare(&b, bn_fwd, x, nx, nx, r, dx, GC_H);
    double e2 = gc_compare(&b, bn_fwd, g, c, nx, r, dg, GC_H);
    double e3 = gc_compare(&b, bn_fwd, be, c, nx, r, db, GC_H);
    free(x), free(r), free(dx), free(y);
    return fmax(e1, fmax(e2, e3));
}

TEST(bn_gradchecks)
{
    unsigned seed = 17;
    const struct { int n, c; int64_t s; } shapes[] = {{4, 3, 9}, {6, 5, 1}, {2, 2, 4}, {1, 3, 6}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int train = 0; train < 2; train++) {
            double err = bn_gradcheck(shapes[i].n, shapes[i].c, shapes[i].s, train, &seed);
            if (err > GC_TOL)
                fprintf(stderr, "  shape %zu train=%d: %g\n", i, train, err);
            CHECK(err <= GC_TOL);
        }
}

static void bn_golden(const char *name, int train, int ndim, const int64_t *dims)
{
    fv_model *m = fv_model_new("bntest");
    int in = fv_input(m, .ndim = ndim, .dims = {dims[0], dims[1], dims[2]});
    int out = fv_batchnorm(m, in, .name = "bn");
    CHECK(out > 0 && fv_model_compile(m, .output = out) == FV_OK);
    m->training = train;
    ot_golden(m, in, out, name, 1e-5, 1e-4);
    if (train) { /* the running statistics after one step */
        char rel[128];
        snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
        fv_st_file *f = fv_st_open(t_src_path(rel));
        fv_tensor *rm = f ? fv_st_get(f, "after.bn.running_mean") : NULL;
        fv_tensor *rv = f ? fv_st_get(f, "after.bn.running_var") : NULL;
        CHECK(rm && rv);
        if (rm && rv) {
            CHECK_ARRAY_NEAR(fv_pdata(m, &m->nodes[out], 2), rm->data, dims[0], 1e-6, 1e-5);
            CHECK_ARRAY_NEAR(fv_pdata(m, &m->nodes[out], 3), rv->data, dims[0], 1e-6, 1e-5);
        }
        fv_tensor_free(rm), fv_tensor_free(rv);
        fv_st_close(f);
    }
    fv_model_free(m);
}

TEST(bn_matches_pytorch)
{
    const int64_t conv[3] = {3, 3, 3}, vec[3] = {5, 0, 0};
    bn_golden("bn_train_conv", 1, 3, conv);
    bn_golden("bn_train_vec", 1, 1, vec);
    bn_golden("bn_eval", 0, 3, conv);
}

TEST(bn_parameters_and_errors)
{
    fv_model *m = fv_model_new("b");
    int in = fv_input(m, .ndim = 3, .dims = {4, 2, 2});
    int b = fv_batchnorm(m, in, .name = "bn1");
    CHECK(b > 0 && fv_model_compile(m) == FV_OK);
    const char *names[4] = {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"};
    for (int i = 0; i < 4; i++) {
        fv_param_info p;
        CHECK_STATUS(fv_model_param(m, i, &p), FV_OK);
        CHECK(strcmp(p.name, names[i]) == 0 && p.numel == 4 && p.trainable == (i < 2));
        CHECK(p.data[0] == (i == 0 || i == 3 ? 1.0f : 0.0f));
    }
    int64_t total, trainable, frozen;
    fv_model_count_params(m, &total, &trainable, &frozen);
    CHECK(total == 16 && trainable == 8 && frozen == 8);
    fv_model_free(m);
    m = fv_model_new("b");
    fv_input(m, .ndim = 2, .dims = {4, 5}, .name = "seq");
    CHECK(fv_batchnorm(m, FV_LAST, .name = "bn2") < 0);
    CHECK_ERR_HAS("layer 'bn2': batch norm needs a (features) or (channels, height, width) input, "
                  "got 'seq' (None, 4, 5)");
    CHECK(fv_batchnorm(m, 0, .momentum = 2.0f) < 0);
    CHECK_ERR_HAS("momentum=2 must be in (0, 1]");
    fv_model_free(m);
}

int main(void)
{
    RUN(bn_gradchecks);
    RUN(bn_matches_pytorch);
    RUN(bn_parameters_and_errors);
    TEST_MAIN_END();
}
