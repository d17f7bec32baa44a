/* test_depthwise.c - the direct depthwise convolution against the scalar reference convolution
 * (groups = channels): forward, input, weight and bias gradients, over kernel sizes, strides,
 * padding, dilation and odd extents; and that the conv2d op takes it (same results as the
 * reference through a model). */
#include "core/internal.h"
#include "isa_levels.h"
#include "kernels/kernels.h"
#include "kernels/ref/conv_ref.h"
#include "test.h"

static void fill(float *p, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        p[i] = (float)((*seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double d = 0;
    for (int64_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

/* One geometry: fast and reference forward and backward agree. */
static int check_case(int c, int h, int w, int k, int s, int p, int dil)
{
    enum { N = 3 };
    fv_conv_geom g = {.c = c, .h = h, .w = w, .f = c, .kh = k, .kw = k, .sh = s, .sw = s,
                      .ph = p, .pw = p, .dh = dil, .dw = dil, .groups = c};
    if (!fv_conv_geom_init(&g))
        return 1;
    fv_dw_geom d = {c, h, w, k, k, s, s, p, p, dil, dil, g.oh, g.ow};
    int64_t nx = (int64_t)N * c * h * w, ny = (int64_t)N * c * g.oh * g.ow, nw = (int64_t)c * k * k;
    float *x = malloc(sizeof(float) * nx), *wt = malloc(sizeof(float) * nw);
    float *b = malloc(sizeof(float) * c), *dy = malloc(sizeof(float) * ny);
    float *y1 = calloc(ny, sizeof(float)), *y2 = calloc(ny, sizeof(float));
    float *dx1 = calloc(nx, sizeof(float)), *dx2 = calloc(nx, sizeof(float));
    float *dw1 = calloc(nw, sizeof(float)), *dw2 = calloc(nw, sizeof(float));
    float *db1 = calloc(c, sizeof(float)), *db2 = calloc(c, sizeof(float));
    unsigned seed = (unsigned)(c * 131 + h * 17 + k * 7 + s * 3 + p + dil * 5);
    fill(x, nx, &seed), fill(wt, nw, &seed), fill(b, c, &seed), fill(dy, ny, &seed);
    fv_depthwise_fwd_f32(x, wt, b, y1, N, &d);
    fv_ref_conv2d_fwd_f32(x, wt, b, y2, N, &g);
    fv_depthwise_bwd_f32(x, wt, dy, dx1, dw1, db1, N, &d);
    fv_ref_conv2d_bwd_f32(x, wt, dy, dx2, dw2, db2, N, &g);
    double tol = 1e-5 * (1 + g.oh * g.ow * N);
    int ok = max_diff(y1, y2, ny) < 1e-5 && max_diff(dx1, dx2, nx) < 1e-5 &&
             max_diff(dw1, dw2, nw) < tol && max_diff(db1, db2, c) < tol;
    if (!ok)
        fprintf(stderr, "depthwise c=%d %dx%d k=%d s=%d p=%d d=%d differs\n", c, h, w, k, s, p,
                dil);
    free(x), free(wt), free(b), free(dy), free(y1), free(y2), free(dx1), free(dx2);
    free(dw1), free(dw2), free(db1), free(db2);
    return ok;
}

TEST(matches_reference)
{
    int all = 1;
    for (int l = t_isa_first(FV_KF_DEPTHWISE); l >= 0; l = t_isa_next(FV_KF_DEPTHWISE, l)) {
        all &= check_case(4, 9, 11, 3, 1, 1, 1) && check_case(3, 10, 7, 3, 2, 1, 1);
        all &= check_case(2, 17, 33, 3, 2, 0, 1) && check_case(2, 5, 1, 3, 1, 2, 1);
        /* MobileNet's maps: rows shorter than a vector, rows of a vector and a tail */
        for (int hw = 7; hw <= 56; hw *= 2)
            all &= check_case(3, hw, hw, 3, 1, 1, 1) && check_case(3, hw, hw, 3, 2, 1, 1);
        all &= check_case(2, 112, 112, 3, 2, 1, 1) && check_case(2, 15, 9, 3, 2, 0, 1);
    }
    for (int k = 1; k <= 5; k += 2)
        for (int s = 1; s <= 2; s++)
            for (int p = 0; p <= k / 2 + 1; p++)
                for (int dil = 1; dil <= 2; dil++) {
                    all &= check_case(3, 7, 9, k, s, p, dil);
                    all &= check_case(5, 12, 5, k, s, p, dil);
                }
    all &= check_case(8, 1, 1, 3, 1, 1, 1); /* only the centre tap touches the input */
    CHECK(all);
}

/* Through the op: a depthwise layer gives the reference's outputs. */
TEST(op_uses_it)
{
    fv_model *m = fv_model_new("dw");
    int in = fv_input(m, .ndim = 3, .dims = {4, 9, 9});
    int c = fv_depthwise_conv2d(m, in, 1, .kernel = 3, .stride = 2, .padding = 1, .name = "dw");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .optimizer = fv_sgd()), FV_OK);
    fv_tensor *x = fv_tensor_new4(2, 4, 9, 9), *y = NULL;
    unsigned seed = 5;
    fill(x->data, fv_tensor_numel(x), &seed);
    CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
    fv_param_info w, b;
    fv_model_param(m, 0, &w), fv_model_param(m, 1, &b);
    fv_conv_geom g = {.c = 4, .h = 9, .w = 9, .f = 4, .kh = 3, .kw = 3, .sh = 2, .sw = 2,
                      .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 4};
    fv_conv_geom_init(&g);
    float ref[2 * 4 * 5 * 5];
    fv_ref_conv2d_fwd_f32(x->data, w.data, b.data, ref, 2, &g);
    CHECK(c > 0 && y && max_diff(y->data, ref, 2 * 4 * 5 * 5) < 1e-5);
    fv_tensor_free(x), fv_tensor_free(y);
    fv_model_free(m);
}

int main(void)
{
    RUN(matches_reference);
    RUN(op_uses_it);
    TEST_MAIN_END();
}
