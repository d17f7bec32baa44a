/* test_ops_convt.c - the transposed convolution: a finite-difference gradient check of its double
 * computation (the adjoint of the double convolution kernels), PyTorch goldens (ConvTranspose2d:
 * stride, unequal strides and output paddings, padding, dilation, groups, no bias;
 * tests/golden/gen_conv_transpose.py),
 * the model text format, and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/conv_ref.h"
#include "optest.h"
#include "test.h"

/* y = the transposed convolution of x (c_in = g.f channels of g.oh x g.ow) into (g.c, g.h, g.w). */
typedef struct convt_ctx {
    fv_conv_geom g;
    double *x, *w, *scratch;
    int n;
} convt_ctx;

static void convt_fwd(void *ctx, double *y)
{
    convt_ctx *c = ctx;
    long ny = (long)c->n * c->g.c * c->g.h * c->g.w;
    for (long i = 0; i < ny; i++)
        y[i] = 0;
    fv_conv2d_bwd_f64(NULL, c->w, c->x, y, NULL, NULL, c->n, &c->g, c->scratch);
}

/* The transposed convolution of geometry g (its adjoint convolution's) against finite
 * differences in x and w. */
static void convt_check(fv_conv_geom g)
{
    CHECK(fv_conv_geom_init(&g));
    int n = 2;
    long nx = (long)n * g.f * g.oh * g.ow, ny = (long)n * g.c * g.h * g.w;
    long nw = (long)g.f * g.c * g.kh * g.kw;
    double *x = malloc(sizeof(double) * (size_t)nx), *w = malloc(sizeof(double) * (size_t)nw);
    double *r = malloc(sizeof(double) * (size_t)ny), *dx = calloc((size_t)nx, sizeof(double));
    double *dw = calloc((size_t)nw, sizeof(double));
    double *scratch = malloc(sizeof(double) * (size_t)(fv_conv_scratch_size(&g) + 64));
    unsigned seed = 13;
    gc_fill(x, nx, -1, 1, &seed);
    gc_fill(w, nw, -1, 1, &seed);
    gc_fill(r, ny, -1, 1, &seed);
    convt_ctx c = {g, x, w, scratch, n};
    /* the op's backward: dx = conv(r), dw = conv's weight gradient with (r, x) */
    fv_conv2d_fwd_f64(r, w, NULL, dx, n, &g, scratch);
    fv_conv2d_bwd_f64(r, w, x, NULL, dw, NULL, n, &g, scratch);
    double e1 = gc_compare(&c, convt_fwd, x, nx, ny, r, dx, 1e-3);
    double e2 = gc_compare(&c, convt_fwd, w, nw, ny, r, dw, 1e-3); /* linear: h = 1e-3 exact */
    CHECK(e1 <= GC_TOL && e2 <= GC_TOL);
    free(x), free(w), free(r), free(dx), free(dw), free(scratch);
}

TEST(convt_gradcheck)
{
    /* the adjoint convolution: input (c=3, 7x7), output (f=4, oh x ow), stride 2, pad 1 */
    convt_check((fv_conv_geom){.c = 3, .h = 7, .w = 7, .f = 4, .kh = 3, .kw = 3, .sh = 2,
                               .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1});
    /* strides 3 and 2, a 3x2 kernel, pads 1 and 0 (ONNX ConvTranspose's unequal strides) */
    convt_check((fv_conv_geom){.c = 3, .h = 8, .w = 7, .f = 2, .kh = 3, .kw = 2, .sh = 3,
                               .sw = 2, .ph = 1, .pw = 0, .dh = 1, .dw = 1, .groups = 1});
}

static const struct {
    const char *name;
    int c, h, w, f, k_h, k_w, s, p, op, d, groups, bias, s_w, op_w; /* s_w, op_w: 0 = s, op */
} cases[] = {
    {"convt_basic", 3, 4, 4, 2, 3, 3, 1, 0, 0, 1, 1, 1, 0, 0},
    {"convt_stride2", 3, 5, 5, 4, 3, 3, 2, 1, 1, 1, 1, 1, 0, 0},
    {"convt_groups_dilation", 4, 4, 3, 6, 3, 3, 2, 2, 0, 2, 2, 1, 0, 0},
    {"convt_rect_nobias", 2, 3, 4, 3, 2, 3, 3, 0, 2, 1, 1, 0, 0, 0},
    {"convt_strides_hw", 2, 3, 4, 3, 3, 2, 3, 1, 2, 1, 1, 1, 2, 1}, /* (3, 2), op (2, 1) */
};

TEST(convt_matches_pytorch)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_model *m = fv_model_new("ct");
        int in = fv_input(m, .ndim = 3, .dims = {cases[i].c, cases[i].h, cases[i].w});
        int out = fv_conv2d_transpose(m, in, .filters = cases[i].f, .kernel_h = cases[i].k_h,
                                      .kernel_w = cases[i].k_w, .stride_h = cases[i].s,
                                      .stride_w = cases[i].s_w ? cases[i].s_w : cases[i].s,
                                      .padding = cases[i].p, .output_padding_h = cases[i].op,
                                      .output_padding_w = cases[i].s_w ? cases[i].op_w
                                                                       : cases[i].op,
                                      .dilation = cases[i].d, .groups = cases[i].groups,
                                      .no_bias = !cases[i].bias, .name = "up");
        ot_golden_layer(m, in, out, cases[i].name, 1e-5, 1e-4);
    }
}

TEST(convt_model_file_and_errors)
{
    fv_model *m = fv_model_parse("input shape=3,5,5\nConv2DTranspose filters=4 kernel_size=3 "
                                 "strides=2 padding=1 output_padding=1 name=up\n", "t.fv");
    CHECK(m != NULL);
    if (m)
        SHAPE_IS(m, "up", 4, 10, 10);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=3,5,5\nconv2d_transpose filters=4 kernel_size=3 "
                         "padding=same\n", "t.fv") == NULL);
    CHECK_ERR_HAS("t.fv:2: ");
    m = fv_model_new("e");
    int x = fv_input(m, .ndim = 3, .dims = {3, 5, 5});
    CHECK(fv_conv2d_transpose(m, x, .filters = 4, .kernel = 3, .stride = 2, .output_padding = 2,
                              .name = "bad") < 0);
    CHECK_ERR_HAS("layer 'bad': output_padding=2,2 must be smaller than the stride or the "
                  "dilation");
    CHECK(fv_conv2d_transpose(m, x, .filters = 4, .kernel = 3, .stride_h = 3, .stride_w = 1,
                              .output_padding_h = 2, .output_padding_w = 1, .name = "bad2") < 0);
    CHECK_ERR_HAS("output_padding=2,1 must be smaller");
    CHECK(fv_conv2d_transpose(m, x, .filters = 4, .kernel = 3, .groups = 2, .name = "g") < 0);
    CHECK_ERR_HAS("divisible by groups=2");
    fv_model_free(m);
}

int main(void)
{
    RUN(convt_gradcheck);
    RUN(convt_matches_pytorch);
    RUN(convt_model_file_and_errors);
    TEST_MAIN_END();
}
