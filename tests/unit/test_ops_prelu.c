/* test_ops_prelu.c - PReLU (per channel and shared) and Maxout: gradient checks of the double
 * kernels, PyTorch goldens (tests/golden/gen_prelu.py; Maxout against its definition), model
 * format and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/act_ref.h"
#include "optest.h"
#include "test.h"

typedef struct pr_ctx {
    double *x, *a;
    int shared, maxout;
    int32_t arg[64];
} pr_ctx;

static void pr_fwd(void *ctx, double *y)
{
    pr_ctx *c = ctx;
    if (c->maxout)
        fv_ref_maxout_fwd_f64(c->x, 2, 6, 3, 4, y, c->arg);
    else
        fv_ref_prelu_fwd_f64(c->x, c->a, c->shared, 2, 6, 4, y);
}

TEST(prelu_maxout_gradcheck)
{
    unsigned seed = 6;
    for (int k = 0; k < 3; k++) {
        double x[48], r[48], y[48], dx[48] = {0}, a[6], da[6] = {0};
        gc_fill(x, 48, -1, 1, &seed);
        for (int i = 0; i < 48; i++) /* away from 0 and distinct (maxout) */
            x[i] = k == 2 ? (double)((i * 29) % 48) / 48 - 0.5 : x[i] + (x[i] >= 0 ? 0.05 : -0.05);
        gc_fill(a, 6, 0.1, 0.5, &seed);
        gc_fill(r, 48, -1, 1, &seed);
        pr_ctx c = {.x = x, .a = a, .shared = k == 1, .maxout = k == 2};
        pr_fwd(&c, y);
        long ny = k == 2 ? 16 : 48;
        if (k == 2)
            fv_ref_maxout_bwd_f64(r, c.arg, 2, 6, 3, 4, dx);
        else
            fv_ref_prelu_bwd_f64(x, a, c.shared, 2, 6, 4, r, dx, da);
        double e = gc_compare(&c, pr_fwd, x, 48, ny, r, dx, 1e-7);
        if (k < 2)
            e = fmax(e, gc_compare(&c, pr_fwd, a, k == 1 ? 1 : 6, ny, r, da, GC_H));
        CHECK(e <= GC_TOL);
    }
}

TEST(prelu_maxout_match_pytorch)
{
    for (int k = 0; k < 3; k++) {
        fv_model *m = fv_model_new("pr");
        int in = fv_input(m, .ndim = 3, .dims = {k < 2 ? 4 : 6, k < 2 ? 3 : 2, k < 2 ? 3 : 2});
        int out = k == 2 ? fv_maxout(m, in, .pieces = 3) : fv_prelu(m, in, .shared = k, .name = "p");
        static const char *names[3] = {"prelu_channels", "prelu_shared", "prelu_maxout"};
        ot_golden_layer(m, in, out, names[k], 1e-6, 1e-5);
    }
    fv_model *m = fv_model_parse("input shape=4,3,3\nPReLU shared=true name=p\nmaxout k=2\n",
                                 "p.fv");
    CHECK(m && m->nparams == 1 && m->params[0].numel == 1);
    if (m && fv_model_compile(m) == FV_OK)
        CHECK(m->data_slab[0] == 0.25f);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=4,3,3\nmaxout pieces=3\n", "p.fv") == NULL);
    CHECK_ERR_HAS("maxout with 3 pieces needs channels divisible by it");
}

int main(void)
{
    RUN(prelu_maxout_gradcheck);
    RUN(prelu_maxout_match_pytorch);
    TEST_MAIN_END();
}
