/* test_ops_norm.c - global average/max pooling and local response normalization: gradient checks
 * of the double kernels, PyTorch goldens through a graph (tests/golden/gen_norm.py), the model
 * text format and shape/argument errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/norm_ref.h"
#include "optest.h"
#include "test.h"

typedef struct norm_ctx {
    int which; /* 0 global avg, 1 global max, 2 LRN */
    fv_lrn_geom g;
    double *x, *scale;
    int32_t *arg;
} norm_ctx;

static void norm_fwd(void *ctx, double *y)
{
    norm_ctx *c = ctx;
    int64_t planes = (int64_t)c->g.n * c->g.c;
    if (c->which == 0)
        fv_ref_global_avg_fwd_f64(c->x, y, planes, c->g.hw);
    else if (c->which == 1)
        fv_ref_global_max_fwd_f64(c->x, y, c->arg, planes, c->g.hw);
    else
        fv_ref_lrn_fwd_f64(&c->g, c->x, y, c->scale);
}

TEST(norm_gradcheck)
{
    enum { N = 2, C = 5, HW = 6, NX = N * C * HW };
    const int sizes[] = {1, 2, 3, 5, 8};
    unsigned seed = 8;
    for (int which = 0; which < 3; which++)
        for (size_t s = 0; s < (which == 2 ? 5u : 1u); s++) {
            double x[NX], r[NX], y[NX], dx[NX] = {0}, scale[NX];
            int32_t arg[N * C];
            gc_fill(x, NX, -2, 2, &seed);
            if (which == 1) /* distinct values for max */
                for (int i = 0; i < NX; i++)
                    x[i] = (double)((i * 37) % NX) / NX;
            gc_fill(r, NX, -1, 1, &seed);
            norm_ctx c = {which, {N, C, sizes[s], HW, 0.3, 0.75, 1.5}, x, scale, arg};
            norm_fwd(&c, y);
            long ny = which == 2 ? NX : N * C;
            if (which == 0)
                fv_ref_global_avg_bwd_f64(r, dx, N * C, HW);
            else if (which == 1)
                fv_ref_global_max_bwd_f64(r, arg, dx, N * C, HW);
            else
                fv_ref_lrn_bwd_f64(&c.g, x, scale, r, dx);
            double err = gc_compare(&c, norm_fwd, x, NX, ny, r, dx, which == 1 ? 1e-7 : GC_H);
            if (err > GC_TOL)
                fprintf(stderr, "  kernel %d size %d: %g\n", which, sizes[s], err);
            CHECK(err <= GC_TOL);
        }
}

TEST(norm_matches_pytorch)
{
    for (int k = 0; k < 4; k++) {
        fv_model *m = fv_model_new("norm");
        int in = fv_input(m, .ndim = 3, .dims = {k < 2 ? 3 : 7, k < 2 ? 4 : 3, k < 2 ? 5 : 3});
        int out = k == 0 ? fv_global_avgpool2d(m, in)
                  : k == 1 ? fv_global_maxpool2d(m, in)
                  : k == 2 ? fv_lrn(m, in, .size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 2)
                           : fv_lrn(m, in, .size = 4, .alpha = 0.5f, .beta = 0.6f, .k = 1.5f);
        static const char *names[4] = {"norm_global_avg", "norm_global_max", "norm_lrn_alexnet",
                                       "norm_lrn_even"};
        ot_golden_layer(m, in, out, names[k], 1e-6, 1e-5);
    }
}

TEST(norm_model_file_and_errors)
{
    fv_model *m = fv_model_parse("input shape=8,6,6\nLRN size=5 k=2 name=n\n"
                                 "GlobalMaxPooling2D name=g\ndense units=3\n", "n.fv");
    CHECK(m != NULL);
    if (m) {
        const fv_node *n = &m->nodes[fv_model_find_node(m, "n")];
        CHECK(n->op == FV_OP_LRN && n->a.lrn.size == 5 && n->a.lrn.k == 2.0f &&
              n->a.lrn.alpha == 1e-4f && n->a.lrn.beta == 0.75f);
        int64_t d[4];
        CHECK(fv_node_shape(m, fv_model_find_node(m, "g"), d) == 1 && d[0] == 8);
    }
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=8,6,6\nlrn alpha=0.1\n", "n.fv") == NULL);
    CHECK_ERR_HAS("missing required argument 'size'");
    m = fv_model_new("e");
    int v = fv_input(m, .ndim = 1, .dims = {4}, .name = "v");
    CHECK(fv_global_avgpool2d(m, v, .name = "gap") < 0);
    CHECK_ERR_HAS("layer 'gap': global pooling needs a (channels, height, width) input");
    CHECK(fv_lrn(m, v, .size = 0, .name = "l") < 0);
    CHECK_ERR_HAS("size=0 must be >= 1");
    fv_model_free(m);
}

/* ---------------------------------------------------------------- group / instance / layer */

typedef struct gn_ctx {
    fv_gnorm_geom g;
    double *x, *gamma, *beta, mean[64], rstd[64];
} gn_ctx;

static void gn_fwd(void *ctx, double *y)
{
    gn_ctx *c = ctx;
    fv_ref_gnorm_fwd_f64(&c->g, c->x, c->gamma, c->beta, y, c->mean, c->rstd);
}

TEST(gnorm_gradcheck)
{
    /* 2 samples of (6, 2, 3): group norm (3 groups), instance norm, layer norm */
    const fv_gnorm_geom geoms[3] = {{2, 3, 36, 6, 1e-5}, {2, 6, 36, 6, 1e-5}, {2, 1, 36, 1, 1e-5}};
    unsigned seed = 12;
    for (int k = 0; k < 3; k++) {
        double x[72], r[72], y[72], dx[72] = {0}, gm[36], bt[36], dg[36] = {0}, db[36] = {0};
        int np = k == 2 ? 36 : 6;
        gc_fill(x, 72, -2, 3, &seed);
        gc_fill(r, 72, -1, 1, &seed);
        gc_fill(gm, np, 0.5, 1.5, &seed);
        gc_fill(bt, np, -1, 1, &seed);
        gn_ctx c = {.g = geoms[k], .x = x, .gamma = gm, .beta = bt};
        gn_fwd(&c, y);
        fv_ref_gnorm_bwd_f64(&c.g, x, gm, c.mean, c.rstd, r, dx, dg, db);
        double e1 = gc_compare(&c, gn_fwd, x, 72, 72, r, dx, GC_H);
        double e2 = gc_compare(&c, gn_fwd, gm, np, 72, r, dg, GC_H);
        double e3 = gc_compare(&c, gn_fwd, bt, np, 72, r, db, GC_H);
        if (fmax(e1, fmax(e2, e3)) > GC_TOL)
            fprintf(stderr, "  kind %d: %g %g %g\n", k, e1, e2, e3);
        CHECK(fmax(e1, fmax(e2, e3)) <= GC_TOL);
    }
}

TEST(gnorm_matches_pytorch)
{
    for (int k = 0; k < 3; k++) {
        fv_model *m = fv_model_new("gn");
        int in = fv_input(m, .ndim = 3, .dims = {6, 2, 3});
        int out = k == 0   ? fv_group_norm(m, in, .groups = 3, .name = "n")
                  : k == 1 ? fv_instance_norm(m, in, .name = "n")
                           : fv_layer_norm(m, in, .name = "n");
        static const char *names[3] = {"norm_group", "norm_instance", "norm_layer"};
        ot_golden_layer(m, in, out, names[k], 1e-5, 1e-4);
    }
    fv_model *m = fv_model_parse("input shape=6,2,3\nGroupNorm groups=2 name=a\n"
                                 "InstanceNorm2d eps=1e-3\nLayerNormalization name=c\n", "g.fv");
    CHECK(m != NULL);
    int64_t total = 0, tr, nt;
    if (m)
        fv_model_count_params(m, &total, &tr, &nt);
    CHECK(total == 12 + 12 + 72);
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=6,2,3\ngroup_norm groups=4\n", "g.fv") == NULL);
    CHECK_ERR_HAS("channels divide into groups=4");
}

int main(void)
{
    RUN(gnorm_gradcheck);
    RUN(gnorm_matches_pytorch);
    RUN(norm_gradcheck);
    RUN(norm_matches_pytorch);
    RUN(norm_model_file_and_errors);
    TEST_MAIN_END();
}
