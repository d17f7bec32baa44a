/* test_ops_interp.c - the resize layer (ONNX Resize semantics) and pad2d (constant, reflect, edge;
 * negative pads): gradient checks of the double kernels for every mode, coordinate transform and
 * rounding rule, goldens from ONNX's reference interpolation (on the backend cases of
 * libonnx-testdata) and from PyTorch (tests/golden/gen_resize_onnx.py), the C functions against
 * the same goldens, text-format round trips and errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/interp_ref.h"
#include "kernels/ref/resize_ref.h"
#include "optest.h"
#include "test.h"

#include <stdlib.h>

/* ---------------------------------------------------------------- gradient checks */

typedef struct ip_ctx {
    fv_interp_geom g;
    int64_t planes;
    const fv_resize_geom *pad; /* pad2d instead of interpolation */
    double *x;
} ip_ctx;

static void ip_fwd(void *ctx, double *y)
{
    ip_ctx *c = ctx;
    if (c->pad)
        fv_ref_pad_crop_fwd_f64(c->pad, c->x, y);
    else
        fv_ref_interp_fwd_f64(&c->g, 0, c->planes, c->x, y);
}

/* The gradient check of one resize: spec s, (2, h, w) -> (2, oh, ow), scales sh, sw (0: out/in). */
static double interp_gradcheck(const fv_interp_spec *s, int h, int w, int oh, int ow, double sh,
                               double sw, unsigned *seed)
{
    int nt = fv_interp_ntaps(s->mode);
    int32_t iy[64], ix[64];
    double wy[64], wx[64], x[2 * 36], r[2 * 100], dx[2 * 36] = {0};
    fv_interp_taps(s, h, oh, sh, iy, wy);
    fv_interp_taps(s, w, ow, sw, ix, wx);
    ip_ctx c = {{h, w, oh, ow, nt, nt, iy, ix, wy, wx}, 2, NULL, x};
    long nx = 2L * h * w, ny = 2L * oh * ow;
    gc_fill(x, nx, -1, 1, seed);
    gc_fill(r, ny, -1, 1, seed);
    fv_ref_interp_bwd_f64(&c.g, 0, 2, r, dx);
    return gc_compare(&c, ip_fwd, x, nx, ny, r, dx, 1e-3); /* linear in x */
}

TEST(interp_gradcheck_every_mode)
{
    unsigned seed = 5;
    for (int mode = 0; mode < 3; mode++)
        for (int coord = 0; coord < 5; coord++)
            for (int near = 0; near < (mode == 0 ? 4 : 1); near++)
                for (int excl = 0; excl < (mode == 0 ? 1 : 2); excl++) {
                    fv_interp_spec s = {mode, coord, near, excl, mode == 2 && excl ? -0.5 : -0.75};
                    double up = interp_gradcheck(&s, 3, 4, 7, 10, 2.5, 2.5, &seed); /* scales */
                    double down = interp_gradcheck(&s, 6, 5, 4, 3, 0, 0, &seed);  /* sizes */
                    double one = interp_gradcheck(&s, 4, 3, 1, 5, 0, 0, &seed);   /* extent 1 */
                    CHECK(up <= GC_TOL && down <= GC_TOL && one <= GC_TOL);
                    if (!(up <= GC_TOL && down <= GC_TOL && one <= GC_TOL))
                        fprintf(stderr, "  mode %d coord %d nearest %d exclude %d\n", mode,
                                coord, near, excl);
                }
}

TEST(pad_gradcheck_every_mode)
{
    const fv_resize_geom geoms[] = {
        {.planes = 2, .h = 4, .w = 5, .oh = 7, .ow = 8, .top = 3, .left = 2, .right = 1,
         .pad_mode = FV_PAD_REFLECT},
        {.planes = 2, .h = 4, .w = 5, .oh = 9, .ow = 6, .top = 1, .bottom = 4, .right = 1,
         .pad_mode = FV_PAD_EDGE},
        {.planes = 2, .h = 4, .w = 5, .oh = 5, .ow = 6, .top = 2, .bottom = -1, .left = -1,
         .right = 2, .pad_mode = FV_PAD_CONSTANT, .pad_value = 0.25},
        {.planes = 2, .h = 4, .w = 5, .oh = 5, .ow = 6, .top = -1, .bottom = 2, .left = 2,
         .right = -1, .pad_mode = FV_PAD_REFLECT},
        {.planes = 2, .h = 4, .w = 5, .oh = 3, .ow = 6, .top = -2, .bottom = 1, .left = 3,
         .right = -2, .pad_mode = FV_PAD_EDGE},
    };
    unsigned seed = 7;
    for (int i = 0; i < 5; i++) {
        const fv_resize_geom *g = &geoms[i];
        long nx = (long)g->planes * g->h * g->w, ny = (long)g->planes * g->oh * g->ow;
        double x[64], r[128], dx[64] = {0};
        gc_fill(x, nx, -1, 1, &seed);
        gc_fill(r, ny, -1, 1, &seed);
        ip_ctx c = {.pad = g, .x = x};
        fv_ref_pad_crop_bwd_f64(g, r, dx);
        double err = gc_compare(&c, ip_fwd, x, nx, ny, r, dx, 1e-3);
        CHECK(err <= GC_TOL);
    }
}

/* ---------------------------------------------------------------- goldens */

static const char *const onnx_cases[] = {
    "upsample_scales_nearest", "downsample_scales_nearest", "upsample_sizes_nearest",
    "downsample_sizes_nearest", "upsample_scales_linear", "upsample_scales_linear_align_corners",
    "downsample_scales_linear", "downsample_scales_linear_align_corners",
    "upsample_scales_cubic", "upsample_scales_cubic_align_corners", "downsample_scales_cubic",
    "downsample_scales_cubic_align_corners", "upsample_sizes_cubic", "downsample_sizes_cubic",
    "upsample_scales_cubic_A_n0p5_exclude_outside",
    "downsample_scales_cubic_A_n0p5_exclude_outside", "upsample_scales_cubic_asymmetric",
    "downsample_sizes_linear_pytorch_half_pixel", "upsample_sizes_nearest_floor_align_corners",
    "upsample_sizes_nearest_round_prefer_ceil_asymmetric",
    "upsample_sizes_nearest_ceil_half_pixel", "linear_scales_1p7_0p7",
    "linear_exclude_outside_asymmetric", "cubic_sizes_pytorch_half_pixel",
    "cubic_scales_1p3_exclude_outside", "nearest_floor_asymmetric_down",
    "nearest_round_prefer_floor_half_pixel_up", "nearest_ceil_align_corners_down",
    "linear_align_corners_to_one",
};
static const char *const torch_cases[] = {
    "nearest_sizes", "nearest_scale2", "nearest_exact_scale1p5", "bilinear_scale", "bilinear_down",
    "bilinear_align_corners", "bicubic_scale", "bicubic_down", "bicubic_align_corners",
};
static const char *const pad_cases[] = {
    "reflect", "replicate", "constant", "constant_negative", "reflect_crop_first",
    "edge_crop_first",
};

/* Golden case `name`: the layer its metadata writes, on an input of its x's shape. */
static void golden_text_case(const char *name)
{
    fv_st_file *f = ot_open_golden(name);
    if (!f)
        return;
    int64_t d[FV_MAX_DIMS];
    int nd = fv_st_shape(f, fv_st_find(f, "x"), d);
    const char *layer = fv_st_meta(f, "layer");
    CHECK(nd == 4 && layer != NULL);
    if (nd == 4 && layer) {
        fv_model *m = fv_model_new("g");
        int in = fv_input(m, .ndim = 3, .dims = {d[1], d[2], d[3]});
        int out = fv_layer_text(m, in, layer);
        if (out < 0)
            fprintf(stderr, "  %s: %s\n", layer, fv_last_error());
        ot_golden_layer(m, in, out, name, 2e-6, 2e-5);
    }
    fv_st_close(f);
}

TEST(interp_matches_onnx_reference)
{
    char name[128];
    for (size_t i = 0; i < sizeof onnx_cases / sizeof onnx_cases[0]; i++) {
        snprintf(name, sizeof name, "rsz_onnx_%s", onnx_cases[i]);
        golden_text_case(name);
    }
}

TEST(interp_and_pad_match_pytorch)
{
    char name[128];
    for (size_t i = 0; i < sizeof torch_cases / sizeof torch_cases[0]; i++) {
        snprintf(name, sizeof name, "rsz_torch_%s", torch_cases[i]);
        golden_text_case(name);
    }
    for (size_t i = 0; i < sizeof pad_cases / sizeof pad_cases[0]; i++) {
        snprintf(name, sizeof name, "pad_torch_%s", pad_cases[i]);
        golden_text_case(name);
    }
}

/* The C functions build what the goldens' text lines build. */
TEST(c_functions_match_goldens)
{
    for (int k = 0; k < 6; k++) {
        fv_model *m = fv_model_new("c");
        int in = fv_input(m, .ndim = 3, .dims = {2, 5, 6});
        int out =
            k == 0   ? fv_resize(m, in, .scale_h = 1.5, .scale_w = 2.5, .mode = FV_RESIZE_LINEAR)
            : k == 1 ? fv_resize(m, in, .out_h = 9, .out_w = 5, .mode = FV_RESIZE_CUBIC,
                                 .coord = FV_COORD_ALIGN_CORNERS)
            : k == 2 ? fv_resize(m, in, .scale = 1.5, .nearest_mode = FV_NEAREST_ROUND_PREFER_CEIL)
            : k == 3 ? fv_pad2d(m, in, .top = 3, .left = 2, .right = 1, .mode = FV_PAD_REFLECT)
            : k == 4 ? fv_pad2d(m, in, .top = 1, .bottom = -2, .left = -1, .right = 2,
                                .value = -1.5f)
                     : fv_pad2d(m, in, .top = -2, .bottom = 1, .left = 2, .right = -1,
                                .mode = FV_PAD_EDGE);
        static const char *names[6] = {
            "rsz_torch_bilinear_scale", "rsz_torch_bicubic_align_corners",
            "rsz_torch_nearest_exact_scale1p5", "pad_torch_reflect",
            "pad_torch_constant_negative", "pad_torch_edge_crop_first"};
        ot_golden_layer(m, in, out, names[k], 2e-6, 2e-5);
    }
}

/* tf_half_pixel_for_nn (ONNX opset 11; test_resize_downsample_sizes_nearest_tf_half_pixel_for_nn):
 * 1..16 in 4x4 to 3x2 reads rows 1, 2, 3 and columns 1, 3. */
TEST(tf_half_pixel_for_nn)
{
    fv_model *m = fv_model_new("tf");
    int in = fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    int out = fv_resize(m, in, .out_h = 3, .out_w = 2, .coord = FV_COORD_TF_HALF_PIXEL_FOR_NN);
    CHECK(out > 0 && fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out) == FV_OK);
    float x[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    CHECK(fv_graph_plan(m, 1) == FV_OK);
    memcpy(m->nodes[in].y, x, sizeof x);
    fv_graph_forward(m, 1, out);
    const float want[6] = {6, 8, 10, 12, 14, 16};
    CHECK_ARRAY_NEAR(m->nodes[out].y, want, 6, 1e-6, 0);
    fv_model_free(m);
}

/* Results do not depend on the thread count (planes are split between workers). */
TEST(interp_threads_agree)
{
    float *y[2] = {NULL, NULL};
    for (int t = 0; t < 2; t++) {
        fv_set_num_threads(t + 1);
        fv_model *m = fv_model_new("t");
        int in = fv_input(m, .ndim = 3, .dims = {3, 40, 50});
        int out = fv_resize(m, in, .scale = 1.7, .mode = FV_RESIZE_CUBIC);
        CHECK(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out) == FV_OK);
        CHECK(fv_graph_plan(m, 8) == FV_OK);
        for (int64_t i = 0; i < 8 * m->nodes[in].size; i++)
            m->nodes[in].y[i] = (float)((i * 7919) % 1000) / 1000.0f;
        fv_graph_forward(m, 8, out);
        int64_t ny = 8 * m->nodes[out].size;
        y[t] = malloc(sizeof(float) * (size_t)ny);
        memcpy(y[t], m->nodes[out].y, sizeof(float) * (size_t)ny);
        CHECK(ny == 8 * 3 * 68 * 85);
        if (t == 1)
            CHECK(memcmp(y[0], y[1], sizeof(float) * (size_t)ny) == 0);
        fv_model_free(m);
    }
    fv_set_num_threads(0);
    free(y[0]), free(y[1]);
}

/* ---------------------------------------------------------------- model format */

TEST(text_round_trip)
{
    const char *text = "input shape=2,5,6\n"
                       "resize scale=1.5,0.60000002384185791 mode=cubic coord=align_corners "
                       "cubic_a=-0.5 exclude_outside=true name=a\n"
                       "Resize size=7,3 mode=nearest nearest_mode=ceil "
                       "coordinate_transformation_mode=tf_half_pixel_for_nn name=b\n"
                       "pad2d padding=1,-2,2,0 mode=reflect name=c\n"
                       "Pad padding=2 value=-0.25 name=d\n"
                       "pad2d padding=1,1,0,2 mode=edge name=e\n"
                       "pad2d padding=1,0,0,0 name=f\n"
                       "pad2d padding=-1,0,0,0 name=g\n";
    fv_model *m = ot_parse(text, "r.fv");
    if (!m)
        return;
    SHAPE_IS(m, "a", 2, 7, 3);
    SHAPE_IS(m, "c", 2, 6, 5);
    char *t1 = fv_model_to_text(m);
    CHECK(t1 != NULL);
    /* the plain constant zero ones are Keras' layers again */
    CHECK(t1 && strstr(t1, "zero_padding2d padding=1,0,0,0 name=f"));
    CHECK(t1 && strstr(t1, "cropping2d cropping=1,0,0,0 name=g"));
    fv_model *m2 = t1 ? fv_model_parse(t1, "r2.fv") : NULL;
    CHECK(m2 != NULL && m2->nnodes == m->nnodes);
    for (int i = 0; m2 && i < m->nnodes; i++)
        CHECK(m->nodes[i].op == m2->nodes[i].op &&
              memcmp(&m->nodes[i].a, &m2->nodes[i].a, sizeof m->nodes[i].a) == 0);
    char *t2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    free(t1), free(t2);
    fv_model_free(m), fv_model_free(m2);
}

TEST(c_layers_round_trip)
{
    fv_model *m = fv_model_new("c");
    int x = fv_input(m, .ndim = 3, .dims = {1, 6, 6});
    fv_resize(m, x, .scale = 0.6, .mode = FV_RESIZE_LINEAR, .coord = FV_COORD_PYTORCH_HALF_PIXEL);
    fv_resize(m, FV_LAST, .size = 5, .mode = FV_RESIZE_NEAREST, .nearest_mode = FV_NEAREST_FLOOR,
              .coord = FV_COORD_ASYMMETRIC);
    fv_pad2d(m, FV_LAST, .all = 2, .mode = FV_PAD_EDGE);
    fv_pad2d(m, FV_LAST, .top = -1, .bottom = 1, .value = 3);
    char *t = fv_model_to_text(m);
    CHECK(t && strstr(t, "resize scale=0.6 mode=linear coord=pytorch_half_pixel"));
    CHECK(t && strstr(t, "resize size=5 coord=asymmetric nearest_mode=floor"));
    CHECK(t && strstr(t, "pad2d padding=2 mode=edge"));
    CHECK(t && strstr(t, "pad2d padding=-1,1,0,0 value=3"));
    fv_model *m2 = t ? fv_model_parse(t, "c.fv") : NULL;
    CHECK(m2 && m2->nnodes == m->nnodes);
    for (int i = 0; m2 && i < m->nnodes; i++)
        CHECK(memcmp(&m->nodes[i].a, &m2->nodes[i].a, sizeof m->nodes[i].a) == 0);
    if (!t)
        fprintf(stderr, "%s\n", fv_last_error());
    free(t);
    fv_model_free(m), fv_model_free(m2);
}

/* ---------------------------------------------------------------- errors */

static fv_model *chw(int c, int h, int w, int *x)
{
    fv_model *m = fv_model_new("e");
    *x = fv_input(m, .ndim = 3, .dims = {c, h, w});
    return m;
}

TEST(interp_errors)
{
    int x;
    fv_model *m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .name = "r") < 0);
    CHECK_ERR_HAS("layer 'r': needs an output size, or scales > 0 and finite on both axes");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = -2, .name = "r") < 0);
    CHECK_ERR_HAS("scales > 0");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale_h = 2, .name = "r") < 0); /* one axis only */
    CHECK_ERR_HAS("scale 2, 0");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = 2, .size = 3, .name = "r") < 0);
    CHECK_ERR_HAS("give an output size or scales, not both");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .out_h = 3, .name = "r") < 0);
    CHECK_ERR_HAS("the output size needs both axes");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .size = -1, .name = "r") < 0);
    CHECK_ERR_HAS("layer 'r': size=-1 must be");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = 0.1, .name = "r") < 0); /* floor(4 * 0.1) = 0 */
    CHECK_ERR_HAS("layer 'r': input 'input1' (None, 2, 4, 5) resized by 0.1, 0.1 would become "
                  "0x0");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = 1e300, .name = "r") < 0);
    CHECK_ERR_HAS("would become");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = 2, .mode = (fv_resize_mode)3, .name = "r") < 0);
    CHECK_ERR_HAS("layer 'r': mode=3 is not one of its 3 kinds (0..2)");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_resize(m, x, .scale = 2, .coord = (fv_resize_coord)-1, .name = "r") < 0);
    CHECK_ERR_HAS("coord=-1 is not one of its 5 kinds");
    fv_model_free(m);
    /* text */
    const char *bad[][2] = {
        {"resize scale=2 mode=bilinear", "expected nearest, linear or cubic"},
        {"resize scale=2 coord=corners", "expected half_pixel, pytorch_half_pixel"},
        {"resize scale=2 nearest_mode=round", "expected round_prefer_floor"},
        {"resize scale=0", "expected R or RH,RW, numbers > 0 and finite"},
        {"resize scale=nan", "expected R or RH,RW"},
        {"resize size=0", "expected N or H,W"},
        {"resize", "needs an output size"},
        {"resize scale=2 cubic_a=inf", "cubic_a"},
    };
    for (int i = 0; i < 8; i++) {
        char text[256];
        snprintf(text, sizeof text, "input shape=2,4,5\n%s\n", bad[i][0]);
        CHECK(fv_model_parse(text, "bad.fv") == NULL);
        CHECK_ERR_HAS(bad[i][1]);
    }
}

TEST(pad_errors)
{
    int x;
    fv_model *m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .top = 4, .mode = FV_PAD_REFLECT, .name = "p") < 0);
    CHECK_ERR_HAS("layer 'p': input 'input1' (None, 2, 4, 5) cannot be padded by 4,0,0,0 in mode "
                  "reflect (reflect pads less than the extent)");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .left = -2, .right = 3, .mode = FV_PAD_REFLECT, .name = "p") < 0);
    CHECK_ERR_HAS("cannot be padded by 0,0,-2,3 in mode reflect"); /* 3 cells left */
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .top = -4, .bottom = 1, .mode = FV_PAD_EDGE, .name = "p") < 0);
    CHECK_ERR_HAS("in mode edge (nothing is left after cropping)");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .all = -3, .name = "p") < 0);
    CHECK_ERR_HAS("would become -2x-1");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .all = 1, .mode = (fv_pad_mode)5, .name = "p") < 0);
    CHECK_ERR_HAS("layer 'p': mode=5 is not one of its 3 kinds");
    fv_model_free(m), m = chw(2, 4, 5, &x);
    CHECK(fv_pad2d(m, x, .all = 1, .value = NAN, .name = "p") < 0);
    CHECK_ERR_HAS("layer 'p': value=nan must be finite");
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=2,4,5\npad2d padding=1 mode=replicate\n", "p.fv") == NULL);
    CHECK_ERR_HAS("expected constant, reflect or edge");
    CHECK(fv_model_parse("input shape=2,4,5\npad2d padding=1 value=x\n", "p.fv") == NULL);
    CHECK(fv_model_parse("input shape=2,4,5\nZeroPadding2D padding=1 mode=edge\n", "p.fv") ==
          NULL); /* Keras' layer has no mode */
}

int main(void)
{
    RUN(interp_gradcheck_every_mode);
    RUN(pad_gradcheck_every_mode);
    RUN(interp_matches_onnx_reference);
    RUN(interp_and_pad_match_pytorch);
    RUN(c_functions_match_goldens);
    RUN(tf_half_pixel_for_nn);
    RUN(interp_threads_agree);
    RUN(text_round_trip);
    RUN(c_layers_round_trip);
    RUN(interp_errors);
    RUN(pad_errors);
    TEST_MAIN_END();
}
