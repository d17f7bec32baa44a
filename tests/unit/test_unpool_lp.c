/* test_unpool_lp.c - max-unpooling through a max pool's switches (ZFNet's deconvnet) and LP
 * pooling: PyTorch goldens (tests/golden/gen_unpool_lp.py), a gradient check of the LP kernel,
 * model format and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/pool_ref.h"
#include "optest.h"
#include "test.h"

TEST(unpool_and_lp_match_pytorch)
{
    fv_model *m = fv_model_new("up");
    int in = fv_input(m, .ndim = 3, .dims = {3, 6, 5});
    int p = fv_maxpool2d(m, in, .name = "pool");
    int u = fv_maxunpool2d(m, p, p, "unpool");
    int64_t d[4];
    CHECK(u > 0 && fv_node_shape(m, u, d) == 3 && d[1] == 6 && d[2] == 5);
    if (u > 0)
        ot_golden(m, in, u, "unpool_max", 1e-6, 1e-5);
    fv_model_free(m);
    for (int k = 0; k < 2; k++) {
        m = fv_model_new("lp");
        in = fv_input(m, .ndim = 3, .dims = {3, 6, 5});
        int l = k == 0 ? fv_lppool2d(m, in, 2.0f, .size = 3, .stride = 2)
                       : fv_lppool2d(m, in, 3.0f, .size = 2, .stride = 2);
        ot_golden_layer(m, in, l, k == 0 ? "unpool_lp2" : "unpool_lp3", 1e-5, 1e-4);
    }
}

static void lp_fwd(void *ctx, double *y)
{
    const gc_ctx *c = ctx;
    fv_ref_lppool_fwd_f64(c->g, 1, 2.0, c->x, y);
}

TEST(lp_gradcheck_and_errors)
{
    fv_pool_geom g = {.c = 2, .h = 5, .w = 5, .oh = 2, .ow = 2, .kh = 3, .kw = 3, .sh = 2, .sw = 2};
    double x[50], r[8], y[8], dx[50] = {0};
    gc_draw(x, 50, r, 8, 1);
    gc_ctx c = {&g, x, 0};
    lp_fwd(&c, y);
    fv_ref_lppool_bwd_f64(&g, 1, 2.0, x, y, r, dx);
    CHECK(gc_compare(&c, lp_fwd, x, 50, 8, r, dx, GC_H) <= GC_TOL);
    fv_model *m = fv_model_parse("input shape=3,6,6\nmaxpool2d name=p\nrelu name=r\n"
                                 "maxunpool2d inputs=r,p name=u\nLPPool2d power=2 pool_size=2\n",
                                 "u.fv");
    CHECK(m != NULL);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=3,6,6\nmaxpool2d name=p\nrelu name=r\n"
                         "maxunpool2d inputs=r,input1\n", "u.fv") == NULL);
    CHECK_ERR_HAS("max-unpooling needs a max-pooling layer as its second input");
    m = fv_model_new("e");
    int in = fv_input(m, .ndim = 3, .dims = {3, 6, 6});
    CHECK(fv_lppool2d(m, in, 0.5f, .name = "lp") < 0);
    CHECK_ERR_HAS("power=0.5 must be >= 1");
    fv_model_free(m);
}

int main(void)
{
    RUN(unpool_and_lp_match_pytorch);
    RUN(lp_gradcheck_and_errors);
    TEST_MAIN_END();
}
