/* test_adaptive.c - adaptive average pooling: PyTorch goldens (tests/golden/gen_adaptive.py) for
 * dividing, overlapping and growing grids, a double-precision gradient check of the kernel, the
 * model format, and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/adaptive_ref.h"
#include "optest.h"
#include "test.h"

TEST(matches_pytorch)
{
    static const struct {
        const char *name;
        int c, h, w, oh, ow;
    } cases[] = {{"adaptive_divides", 3, 8, 6, 4, 3},
                 {"adaptive_overlap", 2, 7, 14, 3, 4},
                 {"adaptive_grow", 2, 1, 2, 6, 7}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_model *m = fv_model_new("ad");
        int in = fv_input(m, .ndim = 3, .dims = {cases[i].c, cases[i].h, cases[i].w});
        int a = fv_adaptive_avgpool2d(m, in, .output_h = cases[i].oh, .output_w = cases[i].ow);
        ot_golden_layer(m, in, a, cases[i].name, 1e-6, 1e-5);
    }
}

typedef struct ctx {
    double *x;
} ctx;

static void fwd(void *c, double *y)
{
    fv_ref_adaptive_avg_fwd_f64(((ctx *)c)->x, y, 2, 7, 5, 3, 4);
}

TEST(gradcheck_format_errors)
{
    double x[70], r[24], y[24], dx[70] = {0};
    gc_draw(x, 70, r, 24, 3);
    ctx c = {x};
    fwd(&c, y);
    fv_ref_adaptive_avg_bwd_f64(r, dx, 2, 7, 5, 3, 4);
    CHECK(gc_compare(&c, fwd, x, 70, 24, r, dx, GC_H) <= GC_TOL);
    fv_model *m = fv_model_parse("input shape=3,9,9\nAdaptiveAvgPool2d output_size=4,2\n", "a.fv");
    int64_t d[4];
    CHECK(m && fv_node_shape(m, 1, d) == 3 && d[0] == 3 && d[1] == 4 && d[2] == 2);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=3,9,9\nadaptive_avgpool2d\n", "a.fv") == NULL);
    CHECK_ERR_HAS("output_size");
    m = fv_model_new("e");
    int in = fv_input(m, .ndim = 1, .dims = {8});
    CHECK(fv_adaptive_avgpool2d(m, in, .output_size = 2, .name = "ap") < 0);
    CHECK_ERR_HAS("layer 'ap': adaptive pooling needs a (channels, height, width) input");
    fv_model_free(m);
}

int main(void)
{
    RUN(matches_pytorch);
    RUN(gradcheck_format_errors);
    TEST_MAIN_END();
}
