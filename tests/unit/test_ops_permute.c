/* test_ops_permute.c - the axis permutation (Keras' Permute): gradient checks of the double
 * kernels, PyTorch goldens (tests/golden/gen_permute.py), accumulation into a shared gradient,
 * the text format (reading, writing, summary) and its errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/permute_ref.h"
#include "optest.h"
#include "test.h"

static void pm_fwd(void *ctx, double *y)
{
    const gc_ctx *c = ctx;
    fv_ref_permute_fwd_f64(c->g, 2, c->x, y);
}

TEST(permute_gradcheck)
{
    static const fv_permute_geom geoms[] = {
        {.ndim = 3, .dims = {3, 4, 5}, .perm = {1, 2, 0}},
        {.ndim = 4, .dims = {2, 3, 2, 3}, .perm = {3, 0, 2, 1}},
        {.ndim = 2, .dims = {4, 5}, .perm = {1, 0}},
        {.ndim = 1, .dims = {6}, .perm = {0}},
    };
    unsigned seed = 17;
    for (size_t i = 0; i < sizeof geoms / sizeof geoms[0]; i++) {
        double x[120], r[120], y[120], dx[120], base[120], acc[120];
        gc_fill(x, 120, -1, 1, &seed);
        gc_fill(r, 120, -1, 1, &seed);
        gc_fill(base, 120, -1, 1, &seed);
        const fv_permute_geom *g = &geoms[i];
        gc_ctx c = {.g = g, .x = x};
        long n = 2;
        for (int k = 0; k < g->ndim; k++)
            n *= g->dims[k];
        pm_fwd(&c, y);
        memset(dx, 0, sizeof dx);
        fv_ref_permute_bwd_f64(g, 2, r, dx, 0);
        CHECK(gc_compare(&c, pm_fwd, x, n, n, r, dx, GC_H) <= GC_TOL);
        /* overwrite writes every value; accumulate adds to what is there */
        memcpy(y, base, sizeof base);
        memcpy(acc, base, sizeof base);
        fv_ref_permute_bwd_f64(g, 2, r, y, 1);
        fv_ref_permute_bwd_f64(g, 2, r, acc, 0);
        for (long k = 0; k < n; k++) {
            CHECK_NEAR(y[k], dx[k], 0, 0);
            CHECK_NEAR(acc[k], base[k] + dx[k], 0, 0);
        }
    }
}

TEST(permute_matches_pytorch)
{
    static const ot_text_case cases[] = {
        {"permute_chw_hwc", "permute dims=2,3,1", 3, {3, 4, 5}},
        {"permute_4d", "Permute dims=(4,1,3,2)", 4, {2, 3, 4, 5}},
        {"permute_2d", "permute dims=2,1", 2, {4, 5}},
    };
    ot_golden_text_cases(cases, sizeof cases / sizeof cases[0], 1e-9, 0); /* moves values: exact */
}

/* Two paths into one gradient: x + permute(permute(x)) gives dx = 2 dy. */
TEST(permute_accumulates)
{
    fv_model *m = fv_model_new("acc");
    int x = fv_input(m, .ndim = 3, .dims = {2, 3, 4});
    int p = fv_layer_text(m, x, "permute dims=3,1,2");
    int q = fv_layer_text(m, p, "permute dims=2,3,1");
    int s = fv_add(m, 2, ((int[]){x, q}));
    CHECK(s > 0);
    float in[48], dy[48];
    for (int k = 0; k < 48; k++)
        in[k] = (float)k, dy[k] = (float)(k % 7) - 3.0f;
    CHECK(s > 0 && ot_run(m, x, s, NULL, 2, in, dy) == 0);
    for (int k = 0; s > 0 && k < 48; k++) {
        CHECK_NEAR(m->nodes[s].y[k], 2.0f * in[k], 0, 0);
        CHECK_NEAR(m->nodes[x].dy[k], 2.0f * dy[k], 0, 0);
    }
    fv_model_free(m);
}

TEST(permute_text_format)
{
    const char *text = "input shape=3,4,5\npermute dims=2,3,1 name=p\nflatten\n";
    fv_model *m = ot_parse(text, "pm.fv");
    if (!m)
        return;
    SHAPE_IS(m, "p", 4, 5, 3);
    char *t = fv_model_to_text(m);
    CHECK(t && strstr(t, "\npermute dims=2,3,1 name=p\n"));
    fv_model *m2 = t ? fv_model_parse(t, "pm2.fv") : NULL;
    char *t2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(t && t2 && strcmp(t, t2) == 0);
    free(t), free(t2), fv_model_free(m2);
    char *buf = ot_summary(m);
    CHECK(buf && strstr(buf, "p (Permute)") && strstr(buf, "(None, 4, 5, 3)"));
    free(buf);
    fv_model_free(m);
}

TEST(permute_errors)
{
    static const ot_refusal bad[] = {
        {"permute dims=1,1,2", "pm.fv:2: layer 'permute': dims=1,1,2 must name each axis 1..3 once"},
        {"permute dims=1,4,2", "dims=1,4,2 must name each axis 1..3 once"},
        {"permute dims=2,1", "layer 'permute1': dims=2,1 orders 2 axes, but input 'input1'"},
        {"permute dims=0,1,2", "pm.fv:2: dims=0,1,2: expected 1 to 4 positive integers"},
        {"permute", "pm.fv:2: permute: missing required argument 'dims'"},
        {"permute dims=1,2,3 axis=1", "unknown argument 'axis' for permute"},
    };
    OT_PARSE_REFUSED("input shape=3,4,5\n", "pm.fv", NULL, bad);
    ot_zero_attr_refused(FV_OP_PERMUTE, 2, (const int64_t[]){3, 4},
                         "layer 'raw': dims= must name each axis 1..0 once");
}

int main(void)
{
    RUN(permute_gradcheck);
    RUN(permute_matches_pytorch);
    RUN(permute_accumulates);
    RUN(permute_text_format);
    RUN(permute_errors);
    TEST_MAIN_END();
}
