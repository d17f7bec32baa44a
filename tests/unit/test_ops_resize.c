/* test_ops_resize.c - upsampling (nearest, bilinear) and zero padding / cropping: gradient checks
 * of the double kernels, PyTorch goldens (tests/golden/gen_resize.py), model format and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/resize_ref.h"
#include "optest.h"
#include "test.h"

/* kind 1: padding / cropping, else upsampling */
static void rs_fwd(void *ctx, double *y)
{
    const gc_ctx *c = ctx;
    if (c->kind)
        fv_ref_pad_crop_fwd_f64(c->g, c->x, y);
    else
        fv_ref_upsample_fwd_f64(c->g, c->x, y);
}

TEST(resize_gradcheck)
{
    const fv_resize_geom geoms[] = {
        {.planes = 3, .h = 3, .w = 4, .oh = 6, .ow = 12},
        {.planes = 3, .h = 3, .w = 4, .oh = 9, .ow = 8, .bilinear = 1},
        {.planes = 2, .h = 3, .w = 4, .oh = 4, .ow = 7, .top = 1, .left = 2, .right = 1},
        {.planes = 2, .h = 3, .w = 4, .oh = 2, .ow = 1, .top = -1, .left = -1, .right = -2},
    };
    unsigned seed = 2;
    for (int i = 0; i < 4; i++) {
        const fv_resize_geom *g = &geoms[i];
        long nx = (long)g->planes * g->h * g->w, ny = (long)g->planes * g->oh * g->ow;
        double x[64], r[256], y[256], dx[64] = {0};
        gc_fill(x, nx, -1, 1, &seed);
        gc_fill(r, ny, -1, 1, &seed);
        gc_ctx c = {g, x, i >= 2};
        rs_fwd(&c, y);
        if (i >= 2)
            fv_ref_pad_crop_bwd_f64(g, r, dx);
        else
            fv_ref_upsample_bwd_f64(g, r, dx);
        double err = gc_compare(&c, rs_fwd, x, nx, ny, r, dx, 1e-3); /* linear */
        CHECK(err <= GC_TOL);
    }
}

TEST(resize_matches_pytorch)
{
    for (int k = 0; k < 4; k++) {
        fv_model *m = fv_model_new("rs");
        int in = fv_input(m, .ndim = 3, .dims = {2, 3, 4});
        int out = k == 0   ? fv_upsample2d(m, in, .size_h = 2, .size_w = 3)
                  : k == 1 ? fv_upsample2d(m, in, .size_h = 3, .size_w = 2, .bilinear = 1)
                  : k == 2 ? fv_zero_padding2d(m, in, .top = 1, .left = 2, .right = 1)
                           : fv_cropping2d(m, in, .top = 1, .left = 1, .right = 2);
        static const char *names[4] = {"resize_nearest", "resize_bilinear", "resize_pad",
                                       "resize_crop"};
        ot_golden_layer(m, in, out, names[k], 1e-6, 1e-5);
    }
}

TEST(resize_model_file_and_errors)
{
    fv_model *m = fv_model_parse("input shape=2,4,5\nUpSampling2D size=2 interpolation=bilinear\n"
                                 "ZeroPadding2D padding=1,2 name=p\nCropping2D cropping=1,0,2,3 "
                                 "name=c\n", "r.fv");
    int64_t d[4];
    CHECK(m && fv_node_shape(m, fv_model_find_node(m, "p"), d) == 3 && d[1] == 10 && d[2] == 14);
    CHECK(m && fv_node_shape(m, fv_model_find_node(m, "c"), d) == 3 && d[1] == 9 && d[2] == 9);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=2,4,5\nupsample2d interpolation=cubic\n", "r.fv") == NULL);
    CHECK_ERR_HAS("expected nearest or bilinear");
    m = fv_model_new("e");
    int x = fv_input(m, .ndim = 3, .dims = {2, 4, 5});
    CHECK(fv_cropping2d(m, x, .all = 3, .name = "crop") < 0);
    CHECK_ERR_HAS("layer 'crop': input 'input1' (None, 2, 4, 5) would become -2x-1");
    fv_model_free(m);
}

int main(void)
{
    RUN(resize_gradcheck);
    RUN(resize_matches_pytorch);
    RUN(resize_model_file_and_errors);
    TEST_MAIN_END();
}
