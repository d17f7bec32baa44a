/* test_ops_grid.c - grid sampling and the spatial transformer: PyTorch goldens of grid_sample
 * (every mode, padding and align_corners), affine_grid, a TPS grid solved by torch.linalg.solve
 * and the spatial transformer layer (tests/golden/gen_grid.py); double-precision finite
 * differences of every kernel (to the input, the grid, theta, the displacements); the TPS's
 * identity and interpolation of its control points; the layer's identity initialisation; the
 * text format (reading, writing, summary) and the errors (a theta of the wrong shape). */
#include "core/internal.h"
#include "gradcheck.h"
#include "io/io.h"
#include "kernels/ref/grid_ref.h"
#include "optest.h"
#include "test.h"

static const char *const modes[] = {"bilinear", "nearest"};
static const char *const pads[] = {"zeros", "border", "reflection"};

static fv_tensor *get(fv_st_file *f, const char *name)
{
    fv_tensor *t = fv_st_get(f, name);
    CHECK(t != NULL);
    return t;
}

/* ---------------------------------------------------------------- goldens */

TEST(grid_sample_matches_pytorch)
{
    for (int mode = 0; mode < 2; mode++)
        for (int pad = 0; pad < 3; pad++)
            for (int ac = 0; ac < 2; ac++) {
                char name[96];
                snprintf(name, sizeof name, "grid_sample_%s_%s_%s", modes[mode], pads[pad],
                         ac ? "ac" : "hp");
                fv_st_file *f = ot_open_golden(name);
                if (!f)
                    continue;
                fv_tensor *x = get(f, "x"), *grid = get(f, "grid"), *y = get(f, "y");
                fv_tensor *dy = get(f, "dy"), *dx = get(f, "dx"), *dgrid = get(f, "dgrid");
                if (x && grid && y && dy && dx && dgrid) {
                    fv_grid_geom g = {.c = 2, .h = 5, .w = 6, .oh = 4, .ow = 7, .mode = mode,
                                      .padding = pad, .align = ac};
                    float oy[2 * 56], odx[2 * 60] = {0}, odg[2 * 56] = {0};
                    for (int s = 0; s < 2; s++) {
                        fv_ref_grid_sample_fwd_f32(&g, x->data + 60 * s, grid->data + 56 * s,
                                                   oy + 56 * s);
                        fv_ref_grid_sample_bwd_f32(&g, x->data + 60 * s, grid->data + 56 * s,
                                                   dy->data + 56 * s, odx + 60 * s,
                                                   odg + 56 * s);
                    }
                    int before = t_cur_failed;
                    t_cur_failed = 0;
                    CHECK_ARRAY_NEAR(oy, y->data, 112, 1e-5, 0);
                    CHECK_ARRAY_NEAR(odx, dx->data, 120, 1e-5, 0);
                    CHECK_ARRAY_NEAR(odg, dgrid->data, 112, 1e-5, 0);
                    if (t_cur_failed)
                        fprintf(stderr, "  case %s\n", name);
                    t_cur_failed |= before;
                }
                fv_tensor_free(x), fv_tensor_free(grid), fv_tensor_free(y);
                fv_tensor_free(dy), fv_tensor_free(dx), fv_tensor_free(dgrid);
                fv_st_close(f);
            }
}

TEST(affine_grid_matches_pytorch)
{
    for (int ac = 0; ac < 2; ac++) {
        fv_st_file *f = ot_open_golden(ac ? "grid_affine_ac" : "grid_affine_hp");
        if (!f)
            continue;
        fv_tensor *th = get(f, "theta"), *grid = get(f, "grid"), *dg = get(f, "dgrid"),
                  *dth = get(f, "dtheta");
        if (th && grid && dg && dth) {
            float og[2 * 40], odt[12] = {0};
            for (int s = 0; s < 2; s++) {
                fv_ref_affine_grid_fwd_f32(4, 5, ac, th->data + 6 * s, og + 40 * s);
                fv_ref_affine_grid_bwd_f32(4, 5, ac, dg->data + 40 * s, odt + 6 * s);
            }
            CHECK_ARRAY_NEAR(og, grid->data, 80, 1e-6, 0);
            CHECK_ARRAY_NEAR(odt, dth->data, 12, 1e-5, 0);
        }
        fv_tensor_free(th), fv_tensor_free(grid), fv_tensor_free(dg), fv_tensor_free(dth);
        fv_st_close(f);
    }
}

/* The TPS grid against the spline PyTorch solves for the same control points. */
TEST(tps_grid_matches_reference)
{
    fv_st_file *f = ot_open_golden("grid_tps");
    if (!f)
        return;
    fv_tensor *d = get(f, "d"), *grid = get(f, "grid");
    double mat[30 * 9], work[12 * 21];
    CHECK(fv_tps_matrix(3, 5, 6, 0, mat, work) == 0);
    if (d && grid) {
        float og[2 * 60];
        for (int s = 0; s < 2; s++)
            fv_ref_tps_grid_fwd_f32(3, 30, mat, d->data + 18 * s, og + 60 * s);
        CHECK_ARRAY_NEAR(og, grid->data, 120, 1e-5, 0);
    }
    fv_tensor_free(d), fv_tensor_free(grid);
    fv_st_close(f);
}

/* The layer in a model file: x flattened is the localisation features (theta = f W^T + b). */
TEST(spatial_transformer_matches_pytorch)
{
    fv_model *m = ot_parse("input shape=2,6,5 name=x\nflatten name=f\n"
                           "spatial_transformer size=4,7 inputs=x,f name=stn\n", "stn.fv");
    if (!m)
        return;
    ot_golden_layer(m, 0, fv_model_find_node(m, "stn"), "grid_stn", 1e-5, 0);
}

/* The TPS form: 8 displacements regressed, border padding. */
TEST(spatial_transformer_tps_matches_pytorch)
{
    fv_model *m = ot_parse("input shape=2,6,5 name=x\nflatten name=f\nspatial_transformer "
                           "size=4,7 points=2 padding_mode=border inputs=x,f name=stn\n",
                           "stn.fv");
    if (!m)
        return;
    ot_golden_layer(m, 0, fv_model_find_node(m, "stn"), "grid_stn_tps", 1e-5, 0);
}

/* ---------------------------------------------------------------- finite differences */

typedef struct gs_ctx {
    fv_grid_geom g;
    double *x, *grid;
} gs_ctx;

static void gs_fwd(void *ctx, double *y)
{
    gs_ctx *c = ctx;
    fv_ref_grid_sample_fwd_f64(&c->g, c->x, c->grid, y);
}

TEST(grid_sample_gradcheck)
{
    unsigned seed = 5;
    for (int mode = 0; mode < 2; mode++)
        for (int pad = 0; pad < 3; pad++)
            for (int ac = 0; ac < 2; ac++) {
                gs_ctx c = {.g = {.c = 2, .h = 4, .w = 5, .oh = 3, .ow = 4, .mode = mode,
                                  .padding = pad, .align = ac}};
                double x[40], grid[24], r[24], y[24], dx[40] = {0}, dg[24] = {0};
                gc_fill(x, 40, -1, 1, &seed);
                gc_fill(grid, 24, -1.4, 1.4, &seed);
                gc_fill(r, 24, -1, 1, &seed);
                c.x = x, c.grid = grid;
                gs_fwd(&c, y);
                fv_ref_grid_sample_bwd_f64(&c.g, x, grid, r, dx, dg);
                double ex = gc_compare(&c, gs_fwd, x, 40, 24, r, dx, GC_H);
                double eg = gc_compare(&c, gs_fwd, grid, 24, 24, r, dg, GC_H);
                CHECK(ex <= GC_TOL);
                CHECK(eg <= GC_TOL);
                if (ex > GC_TOL || eg > GC_TOL)
                    fprintf(stderr, "  %s %s ac=%d: dx %g dgrid %g\n", modes[mode], pads[pad], ac,
                            ex, eg);
            }
}

typedef struct ag_ctx {
    int oh, ow, align, points;
    const double *mat;
    double *t;
} ag_ctx;

static void ag_fwd(void *ctx, double *y)
{
    ag_ctx *c = ctx;
    if (c->points)
        fv_ref_tps_grid_fwd_f64(c->points, c->oh * c->ow, c->mat, c->t, y);
    else
        fv_ref_affine_grid_fwd_f64(c->oh, c->ow, c->align, c->t, y);
}

TEST(affine_and_tps_gradcheck)
{
    unsigned seed = 9;
    double mat[12 * 16], work[19 * 35];
    CHECK(fv_tps_matrix(4, 3, 4, 1, mat, work) == 0);
    for (int k = 0; k < 4; k++) {
        ag_ctx c = {.oh = 3, .ow = 4, .align = k & 1, .points = k >= 2 ? 4 : 0, .mat = mat};
        int nt = c.points ? 32 : 6;
        double t[32], r[24], y[24], dt[32] = {0};
        gc_fill(t, nt, -1, 1, &seed);
        gc_fill(r, 24, -1, 1, &seed);
        c.t = t;
        ag_fwd(&c, y);
        if (c.points)
            fv_ref_tps_grid_bwd_f64(4, 12, mat, r, dt);
        else
            fv_ref_affine_grid_bwd_f64(3, 4, c.align, r, dt);
        CHECK(gc_compare(&c, ag_fwd, t, nt, 24, r, dt, GC_H) <= GC_TOL);
    }
}

/* ---------------------------------------------------------------- properties */

/* Zero displacements give the identity grid; a grid through the control points reaches their
 * targets; an affine motion of every control point is reproduced exactly everywhere. */
TEST(tps_properties)
{
    double mat[25 * 9], work[12 * 21], d[18] = {0}, grid[50], want[50];
    CHECK(fv_tps_matrix(3, 5, 5, 1, mat, work) == 0);
    double id[6] = {1, 0, 0, 0, 1, 0}, aff[6] = {0.9, 0.2, 0.1, -0.15, 1.1, -0.05};
    fv_ref_tps_grid_fwd_f64(3, 25, mat, d, grid);
    fv_ref_affine_grid_fwd_f64(5, 5, 1, id, want);
    for (int i = 0; i < 50; i++)
        CHECK_NEAR(grid[i], want[i], 1e-12, 0);
    unsigned seed = 3;
    gc_fill(d, 18, -0.3, 0.3, &seed);
    fv_ref_tps_grid_fwd_f64(3, 25, mat, d, grid);
    for (int j = 0; j < 9; j++) { /* control point (j % 3, j / 3) is grid cell (2 row, 2 col) */
        double cx, cy;
        fv_tps_control(3, j, &cx, &cy);
        int p = (j / 3) * 2 * 5 + (j % 3) * 2;
        CHECK_NEAR(grid[2 * p], cx + d[2 * j], 1e-9, 0);
        CHECK_NEAR(grid[2 * p + 1], cy + d[2 * j + 1], 1e-9, 0);
    }
    for (int j = 0; j < 9; j++) {
        double cx, cy;
        fv_tps_control(3, j, &cx, &cy);
        d[2 * j] = aff[0] * cx + aff[1] * cy + aff[2] - cx;
        d[2 * j + 1] = aff[3] * cx + aff[4] * cy + aff[5] - cy;
    }
    fv_ref_tps_grid_fwd_f64(3, 25, mat, d, grid);
    fv_ref_affine_grid_fwd_f64(5, 5, 1, aff, want);
    for (int i = 0; i < 50; i++)
        CHECK_NEAR(grid[i], want[i], 1e-9, 0);
    CHECK(fv_tps_matrix(1, 5, 5, 1, mat, work) == -1);
}

/* Points that are not finite or far away read nothing (zeros), never out of bounds. */
TEST(grid_sample_hostile_points)
{
    float x[20], grid[8] = {NAN, 0, INFINITY, -INFINITY, 1e30f, -1e30f, 0, NAN}, y[8], dx[20] = {0},
          dg[8] = {0}, dy[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 20; i++)
        x[i] = 1.0f + (float)i;
    for (int pad = 0; pad < 3; pad++)
        for (int mode = 0; mode < 2; mode++) {
            fv_grid_geom g = {.c = 2, .h = 2, .w = 5, .oh = 1, .ow = 4, .mode = mode,
                              .padding = pad};
            fv_ref_grid_sample_fwd_f32(&g, x, grid, y);
            fv_ref_grid_sample_bwd_f32(&g, x, grid, dy, dx, dg);
            for (int i = 0; i < 8; i++)
                CHECK(y[i] == 0.0f);
            for (int i = 0; i < 8; i++)
                CHECK(isfinite(dg[i]));
        }
}

/* A new spatial transformer is the identity: same size, bilinear, cell centres read exactly. */
TEST(spatial_transformer_starts_as_identity)
{
    for (int tps = 0; tps < 2; tps++) {
        fv_model *m = fv_model_new("id");
        int x = fv_input(m, .ndim = 3, .dims = {3, 6, 7});
        int f = fv_flatten(m, x);
        int h = fv_dense(m, f, .units = 5);
        int s = fv_spatial_transformer(m, x, h, .points = tps ? 3 : 0, .name = "st");
        CHECK(s > 0);
        CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = s), FV_OK);
        float in[2 * 126];
        for (int i = 0; i < 252; i++)
            in[i] = (float)((i * 37) % 11) - 5.0f;
        CHECK(s > 0 && ot_run(m, x, s, NULL, 2, in, NULL) == 0);
        for (int i = 0; s > 0 && i < 252; i++)
            CHECK_NEAR(m->nodes[s].y[i], in[i], 1e-5, 0);
        fv_model_free(m);
    }
}

/* ---------------------------------------------------------------- the text format */

TEST(grid_text_format)
{
    const char *text =
        "input shape=1,8,8 name=x\n"
        "flatten name=f\n"
        "dense units=6 init=zeros name=theta\n"
        "affine_grid size=4,5 align_corners=true name=ag\n"
        "grid_sample mode=nearest padding_mode=reflection name=gs inputs=x,ag\n"
        "dense units=18 init=zeros name=disp inputs=f\n"
        "tps_grid size=6 points=3 name=tg\n"
        "grid_sample padding_mode=border name=gs2 inputs=x,tg\n"
        "spatial_transformer size=4,4 name=st inputs=x,f\n"
        "spatial_transformer points=2 mode=nearest name=st2 inputs=x,f\n";
    fv_model *m = ot_parse(text, "grid.fv");
    if (!m)
        return;
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "ag"), d) == 3 && d[0] == 4 && d[1] == 5 &&
          d[2] == 2);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "gs"), d) == 3 && d[0] == 1 && d[1] == 4 &&
          d[2] == 5);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "gs2"), d) == 3 && d[1] == 6 && d[2] == 6);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "st"), d) == 3 && d[1] == 4 && d[2] == 4);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "st2"), d) == 3 && d[1] == 8 && d[2] == 8);
    char *t = fv_model_to_text(m);
    CHECK(t && strstr(t, "\naffine_grid size=4,5 align_corners=true name=ag"));
    CHECK(t && strstr(t, "\ngrid_sample mode=nearest padding_mode=reflection name=gs "
                         "inputs=x,ag\n"));
    CHECK(t && strstr(t, "\ntps_grid size=6 points=3 name=tg"));
    CHECK(t && strstr(t, "\nspatial_transformer size=4 name=st inputs=x,f\n"));
    CHECK(t && strstr(t, "\nspatial_transformer points=2 mode=nearest name=st2 inputs=x,f\n"));
    fv_model *m2 = t ? fv_model_parse(t, "grid2.fv") : NULL;
    char *t2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(t && t2 && strcmp(t, t2) == 0);
    if (t && !(t2 && strcmp(t, t2) == 0))
        fprintf(stderr, "%s\n---\n%s\n", t, t2 ? t2 : fv_last_error());
    free(t), free(t2), fv_model_free(m2);
    char *buf = ot_summary(m);
    CHECK(buf && strstr(buf, "st (SpatialTransformer)") && strstr(buf, "ag (AffineGrid)") &&
          strstr(buf, "gs (GridSample)") && strstr(buf, "tg (TPSGrid)"));
    free(buf);
    fv_model_free(m);
}

TEST(grid_errors)
{
    static const ot_refusal bad[] = {
        {"dense units=5 name=t\naffine_grid size=4", "layer 'affine_grid1': theta 't' (None, 5) "
                                                     "must be a 2x3 affine matrix"},
        {"dense units=6 name=t\naffine_grid", "missing required argument 'size'"},
        {"dense units=7 name=t\ntps_grid size=4 points=2", "the displacements 't' (None, 7) must "
                                                          "be 8 values"},
        {"dense units=8 name=t\ntps_grid size=4 points=1", "points"},
        {"dense units=8 name=t\ntps_grid size=4 points=9", "points"},
        {"grid_sample inputs=x,x", "the grid 'x' (None, 1, 8, 8) must be (height, width, 2)"},
        {"flatten name=f\ngrid_sample inputs=f,x", "needs a (channels, height, width) input"},
        {"grid_sample mode=bicubic inputs=x,x", "bicubic"},
        {"spatial_transformer", "missing required argument 'inputs'"},
        {"dense units=128 name=t\ntps_grid size=4096 points=8", "needs a TPS matrix of "
                                                                "1073741824 values"},
        {"flatten name=f\nspatial_transformer size=2048 points=8 inputs=x,f", "TPS matrix"},
        {"flatten name=f\nspatial_transformer size=0,3 inputs=x,f", "size"},
        {"flatten name=f\nspatial_transformer inputs=f,x", "needs a (channels, height, width)"},
    };
    OT_PARSE_REFUSED("input shape=1,8,8 name=x\n", "g.fv", NULL, bad);
    /* the C API names the wrong theta too */
    fv_model *m = fv_model_new("e");
    int x = fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    int t = fv_dense(m, fv_flatten(m, x), .units = 4, .name = "loc");
    CHECK(fv_affine_grid(m, t, .size = 4, .name = "g") < 0);
    CHECK_ERR_HAS("layer 'g': theta 'loc' (None, 4) must be a 2x3 affine matrix");
    fv_model_free(m);
}

int main(void)
{
    RUN(grid_sample_matches_pytorch);
    RUN(affine_grid_matches_pytorch);
    RUN(tps_grid_matches_reference);
    RUN(spatial_transformer_matches_pytorch);
    RUN(spatial_transformer_tps_matches_pytorch);
    RUN(grid_sample_gradcheck);
    RUN(affine_and_tps_gradcheck);
    RUN(tps_properties);
    RUN(grid_sample_hostile_points);
    RUN(spatial_transformer_starts_as_identity);
    RUN(grid_text_format);
    RUN(grid_errors);
    TEST_MAIN_END();
}
