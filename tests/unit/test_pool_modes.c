/* test_pool_modes.c - pooling's ceil mode (partial windows at the end) and average pooling without
 * the padding in the divisor: PyTorch goldens (tests/golden/gen_pool_modes.py), gradient checks of
 * the double kernels, the model text format. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/pool_ref.h"
#include "optest.h"
#include "test.h"

static const struct {
    const char *name;
    int c, h, w, is_max, k, s, p, ceil, exclude;
} cases[] = {
    {"poolm_max_ceil", 2, 7, 7, 1, 2, 2, 0, 1, 0},
    {"poolm_max_ceil_pad", 2, 6, 5, 1, 3, 2, 1, 1, 0},
    {"poolm_avg_ceil", 2, 7, 6, 0, 3, 2, 1, 1, 0},
    {"poolm_avg_exclude", 2, 6, 7, 0, 3, 2, 1, 0, 1},
    {"poolm_avg_ceil_exclude", 3, 5, 7, 0, 2, 2, 1, 1, 1},
};

TEST(pool_modes_match_pytorch)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_model *m = fv_model_new("pm");
        int in = fv_input(m, .ndim = 3, .dims = {cases[i].c, cases[i].h, cases[i].w});
        int out = cases[i].is_max
                      ? fv_maxpool2d(m, in, .size = cases[i].k, .stride = cases[i].s,
                                     .padding = cases[i].p, .ceil_mode = cases[i].ceil)
                      : fv_avgpool2d(m, in, .size = cases[i].k, .stride = cases[i].s,
                                     .padding = cases[i].p, .ceil_mode = cases[i].ceil,
                                     .exclude_pad = cases[i].exclude);
        ot_golden_layer(m, in, out, cases[i].name, 1e-6, 1e-5);
    }
}

static void pm_fwd(void *ctx, double *y)
{
    const gc_ctx *c = ctx;
    fv_ref_avgpool_fwd_f64(c->g, 1, c->x, y);
}

TEST(exclude_pad_gradcheck)
{
    fv_pool_geom g = {.c = 2, .h = 5, .w = 7, .oh = 4, .ow = 5, .kh = 2, .kw = 2, .sh = 2, .sw = 2,
                      .ph = 1, .pw = 1, .exclude_pad = 1};
    double x[70], r[40], y[40], dx[70] = {0};
    gc_draw(x, 70, r, 40, 4);
    gc_ctx c = {&g, x, 0};
    pm_fwd(&c, y);
    fv_ref_avgpool_bwd_f64(&g, 1, r, dx);
    CHECK(gc_compare(&c, pm_fwd, x, 70, 40, r, dx, 1e-3) <= GC_TOL);
    fv_model *m = fv_model_parse("input shape=2,7,7\nmaxpool2d pool_size=2 ceil_mode=true name=a\n"
                                 "avgpool2d pool_size=3 strides=2 padding=1 ceil_mode=true "
                                 "count_include_pad=false name=b\n", "p.fv");
    int64_t d[4];
    CHECK(m && fv_node_shape(m, fv_model_find_node(m, "a"), d) == 3 && d[1] == 4 && d[2] == 4);
    CHECK(m && m->nodes[fv_model_find_node(m, "b")].a.pool.exclude_pad == 1);
    fv_model_free(m);
}

int main(void)
{
    RUN(pool_modes_match_pytorch);
    RUN(exclude_pad_gradcheck);
    TEST_MAIN_END();
}
