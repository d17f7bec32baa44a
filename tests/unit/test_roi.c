/* test_roi.c - RoI max pooling and RoI align: forward and backward against torchvision 0.14's
 * roi_pool / roi_align with autograd's gradients (tests/golden/gen_boxes.py: RoIs inside, across
 * and outside the map, smaller than a cell, on half cells; aligned or not; fixed and adaptive
 * sampling); double-precision finite-difference checks of both kernels (roi_pool on inputs
 * without ties); the same results with one thread and with several; a backbone model, RoI align
 * and a head model chained forward and backward (the detectors' wiring, docs/DESIGN.md) against
 * finite differences; and the errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "io/io.h"
#include "kernels/ref/roi_ref.h"
#include "test.h"

#include <string.h>

typedef struct golden {
    fv_tensor *x, *rois, *y, *dy, *dx;
} golden;

static int golden_open(const char *c, golden *g)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/golden/boxes_%s.safetensors", c);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    CHECK(f != NULL);
    memset(g, 0, sizeof *g);
    if (!f)
        return 0;
    g->x = fv_st_get(f, "x"), g->rois = fv_st_get(f, "rois"), g->y = fv_st_get(f, "y");
    g->dy = fv_st_get(f, "dy"), g->dx = fv_st_get(f, "dx");
    fv_st_close(f);
    CHECK(g->x && g->rois && g->y && g->dy && g->dx);
    return g->x && g->rois && g->y && g->dy && g->dx;
}

static void golden_free(golden *g)
{
    fv_tensor_free(g->x), fv_tensor_free(g->rois), fv_tensor_free(g->y);
    fv_tensor_free(g->dy), fv_tensor_free(g->dx);
}

/* Runs case c (pool: RoI max pooling, else align) through the public functions and compares y
 * and dx; returns y and dx in *y / *dx for the caller (freed by it), or NULLs. */
static void roi_case(const char *c, fv_roi_spec s, int pool, float **yo, float **dxo)
{
    golden g;
    *yo = *dxo = NULL;
    if (!golden_open(c, &g)) {
        golden_free(&g);
        return;
    }
    s.n = (int)g.x->dims[0], s.c = (int)g.x->dims[1], s.h = (int)g.x->dims[2];
    s.w = (int)g.x->dims[3], s.k = (int)g.rois->dims[0];
    int64_t ny = (int64_t)s.k * s.c * s.out_h * s.out_w;
    CHECK(ny == fv_tensor_numel(g.y));
    float *y = malloc(sizeof(float) * (size_t)ny);
    float *dx = calloc((size_t)fv_tensor_numel(g.x), sizeof(float));
    int32_t *am = malloc(sizeof(int32_t) * (size_t)ny);
    if (pool) {
        CHECK_STATUS(fv_roi_pool(&s, g.x->data, g.rois->data, y, am), FV_OK);
        CHECK_STATUS(fv_roi_pool_backward(&s, g.dy->data, g.rois->data, am, dx), FV_OK);
    } else {
        CHECK_STATUS(fv_roi_align(&s, g.x->data, g.rois->data, y), FV_OK);
        CHECK_STATUS(fv_roi_align_backward(&s, g.dy->data, g.rois->data, dx), FV_OK);
    }
    CHECK_ARRAY_NEAR(y, g.y->data, ny, 1e-5, 1e-5);
    CHECK_ARRAY_NEAR(dx, g.dx->data, fv_tensor_numel(g.x), 1e-5, 1e-5);
    free(am);
    golden_free(&g);
    *yo = y, *dxo = dx;
}

TEST(matches_torchvision)
{
    static const struct {
        const char *name;
        int pool, oh, ow;
        float scale;
        int sr, aligned;
    } cases[] = {
        {"roi_pool", 1, 3, 4, 0.5f, 0, 0},
        {"roi_pool_s1", 1, 2, 2, 1.0f / 3, 0, 0},
        {"roi_align_u_2_0.5", 0, 3, 4, 0.5f, 2, 0},
        {"roi_align_u_2_0.25", 0, 3, 4, 0.25f, 2, 0},
        {"roi_align_u_ad_0.5", 0, 3, 4, 0.5f, -1, 0},
        {"roi_align_u_ad_0.25", 0, 3, 4, 0.25f, 0, 0},
        {"roi_align_a_2_0.5", 0, 3, 4, 0.5f, 2, 1},
        {"roi_align_a_2_0.25", 0, 3, 4, 0.25f, 2, 1},
        {"roi_align_a_ad_0.5", 0, 3, 4, 0.5f, -1, 1},
        {"roi_align_a_ad_0.25", 0, 3, 4, 0.25f, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_roi_spec s = {.out_h = cases[i].oh, .out_w = cases[i].ow,
                         .spatial_scale = cases[i].scale, .sampling_ratio = cases[i].sr,
                         .aligned = cases[i].aligned};
        float *y, *dx;
        roi_case(cases[i].name, s, cases[i].pool, &y, &dx);
        free(y), free(dx);
    }
}

TEST(thread_count_independent)
{
    fv_roi_spec s = {.out_h = 3, .out_w = 4, .spatial_scale = 0.5f, .sampling_ratio = -1,
                     .aligned = 1};
    int keep = fv_num_threads();
    float *y1, *dx1, *y2, *dx2;
    CHECK_STATUS(fv_set_num_threads(1), FV_OK);
    roi_case("roi_align_a_ad_0.5", s, 0, &y1, &dx1);
    CHECK_STATUS(fv_set_num_threads(3), FV_OK);
    roi_case("roi_align_a_ad_0.5", s, 0, &y2, &dx2);
    CHECK(y1 && y2 && memcmp(y1, y2, sizeof(float) * 7 * 3 * 12) == 0);
    CHECK(dx1 && dx2 && memcmp(dx1, dx2, sizeof(float) * 2 * 3 * 10 * 12) == 0);
    fv_set_num_threads(keep);
    free(y1), free(dx1), free(y2), free(dx2);
}

/* ---------------------------------------------------------------- gradient checks */

enum { N = 2, C = 2, H = 7, W = 9, K = 5, OH = 3, OW = 2 };
static const float GC_ROIS[K * 5] = {0, 1.3f, 2.2f, 13.7f, 11.1f, 1, 0, 0, 17, 13,
                                     0, 6.4f, 3.1f, 7.2f, 4.0f, 1, -5, -3.5f, 9.9f, 8.6f,
                                     1, 10.5f, 2.5f, 16.5f, 13.5f};

typedef struct gctx {
    fv_roi_spec s;
    double *x;
    int pool;
    void *ws;
} gctx;

static void gc_fwd(void *c, double *y)
{
    gctx *g = c;
    if (g->pool)
        fv_ref_roi_pool_fwd_f64(&g->s, g->x, GC_ROIS, y, NULL, 0, K, g->ws);
    else
        fv_ref_roi_align_fwd_f64(&g->s, g->x, GC_ROIS, y, 0, K, g->ws);
}

static double gradcheck(fv_roi_spec s, int pool)
{
    enum { NX = N * C * H * W, NY = K * C * OH * OW };
    double x[NX], r[NY], y[NY], dx[NX] = {0};
    int32_t am[NY];
    unsigned seed = 11;
    /* distinct values at least 1e-3 apart (a shuffled ramp): no max-pool ties, so the
     * derivative exists at every x and h = 1e-6 never moves an argmax */
    for (int i = 0; i < NX; i++)
        x[i] = (double)((i * 37) % NX) / NX * 2 - 1;
    gc_fill(r, NY, -1, 1, &seed);
    gctx c = {s, x, pool, malloc(fv_ref_roi_workspace_f64(&s, GC_ROIS, !pool))};
    if (pool) {
        fv_ref_roi_pool_fwd_f64(&s, x, GC_ROIS, y, am, 0, K, c.ws);
        fv_ref_roi_pool_bwd_f64(&s, r, GC_ROIS, am, dx, 0, C);
    } else {
        gc_fwd(&c, y);
        fv_ref_roi_align_bwd_f64(&s, r, GC_ROIS, dx, 0, C, c.ws);
    }
    double worst = gc_compare(&c, gc_fwd, x, NX, NY, r, dx, GC_H);
    free(c.ws);
    return worst;
}

TEST(gradcheck_kernels)
{
    fv_roi_spec s = {N, C, H, W, K, OH, OW, 0.75f, 2, 0};
    CHECK(gradcheck(s, 1) <= GC_TOL);
    CHECK(gradcheck(s, 0) <= GC_TOL);
    s.aligned = 1;
    CHECK(gradcheck(s, 0) <= GC_TOL);
    s.sampling_ratio = 0; /* adaptive */
    CHECK(gradcheck(s, 0) <= GC_TOL);
    s.spatial_scale = 0.3f;
    CHECK(gradcheck(s, 0) <= GC_TOL);
}

/* ---------------------------------------------------------------- backbone -> RoI -> head */

typedef struct chain {
    fv_model *bb, *head;
    int bin, feat, hin, hout;
    fv_roi_spec s;
    const float *rois;
} chain;

/* sum r . head(roi_align(backbone(x))) for 2 images x. */
static double chain_forward(chain *c, const float *x, const float *r)
{
    memcpy(c->bb->nodes[c->bin].y, x, sizeof(float) * 2 * 6 * 7);
    fv_graph_forward(c->bb, 2, -1);
    CHECK_STATUS(fv_roi_align(&c->s, c->bb->nodes[c->feat].y, c->rois, c->head->nodes[c->hin].y),
                 FV_OK);
    fv_graph_forward(c->head, c->s.k, -1);
    double l = 0;
    for (int i = 0; i < c->s.k * 3; i++)
        l += (double)r[i] * c->head->nodes[c->hout].y[i];
    return l;
}

TEST(backbone_roi_head)
{
    static const float rois[3 * 5] = {0, 0.5f, 1, 9, 11, 1, 2, 0, 13, 7, 1, 4.5f, 3, 8, 12};
    chain c = {.rois = rois};
    c.bb = fv_model_new("backbone");
    c.bin = fv_input(c.bb, .ndim = 3, .dims = {1, 6, 7});
    c.feat = fv_conv2d(c.bb, c.bin, .filters = 2, .kernel = 3, .padding = 1);
    c.head = fv_model_new("head");
    c.hin = fv_input(c.head, .ndim = 3, .dims = {2, 2, 2});
    c.hout = fv_dense(c.head, fv_flatten(c.head, c.hin), .units = 3);
    c.bb->input_grad = c.head->input_grad = 1;
    CHECK_STATUS(fv_model_compile(c.bb, .loss = FV_LOSS_NONE, .output = c.feat), FV_OK);
    CHECK_STATUS(fv_model_compile(c.head, .loss = FV_LOSS_NONE, .output = c.hout), FV_OK);
    c.s = (fv_roi_spec){2, 2, 6, 7, 3, 2, 2, 0.5f, 2, 1};
    CHECK_STATUS(fv_graph_plan(c.bb, 2), FV_OK);
    CHECK_STATUS(fv_graph_plan(c.head, c.s.k), FV_OK); /* the RoIs are the head's batch */
    float x[2 * 6 * 7], r[9];
    double xd[2 * 6 * 7], rd[9];
    unsigned seed = 5;
    gc_fill(xd, 84, -1, 1, &seed);
    gc_fill(rd, 9, -1, 1, &seed);
    for (int i = 0; i < 84; i++)
        x[i] = (float)xd[i];
    for (int i = 0; i < 9; i++)
        r[i] = (float)rd[i];
    /* analytic: head backward from r, its input's dy through RoI align's adjoint into the
     * feature node's dy, then the backbone's backward */
    chain_forward(&c, x, r);
    fv_graph_zero_grads(c.head, c.s.k);
    memcpy(c.head->nodes[c.hout].dy, r, sizeof r);
    fv_graph_run_backward(c.head, c.s.k);
    fv_graph_zero_grads(c.bb, 2);
    CHECK_STATUS(fv_roi_align_backward(&c.s, c.head->nodes[c.hin].dy, rois,
                                       c.bb->nodes[c.feat].dy), FV_OK);
    fv_graph_run_backward(c.bb, 2);
    float dx[84];
    memcpy(dx, c.bb->nodes[c.bin].dy, sizeof dx);
    /* numeric, in float: the model is linear in x, so central differences are exact up to
     * rounding */
    double worst = 0, scale = 0;
    for (int i = 0; i < 84; i++) {
        float keep = x[i];
        x[i] = keep + 0.25f;
        double lp = chain_forward(&c, x, r);
        x[i] = keep - 0.25f;
        double lm = chain_forward(&c, x, r);
        x[i] = keep;
        double num = (lp - lm) / 0.5;
        worst = fmax(worst, fabs(num - dx[i]));
        scale = fmax(scale, fabs(num));
    }
    CHECK(scale > 0.05); /* the check is not vacuous */
    CHECK(worst <= 1e-4 * scale + 1e-5);
    fv_model_free(c.bb);
    fv_model_free(c.head);
}

/* ---------------------------------------------------------------- errors */

TEST(errors)
{
    float x[2 * 1 * 4 * 4] = {0}, y[16], dx[32];
    int32_t am[16];
    float rois[5] = {0, 0, 0, 3, 3};
    fv_roi_spec s = {2, 1, 4, 4, 1, 2, 2, 1, 0, 0};
    CHECK_STATUS(fv_roi_pool(&s, x, rois, y, am), FV_OK);
    rois[0] = 2;
    CHECK_STATUS(fv_roi_pool(&s, x, rois, y, am), FV_ERR_INVALID);
    CHECK_ERR_HAS("roi pool: RoI 0's batch index 2 is not an image of 0..1");
    rois[0] = 0.5f;
    CHECK_STATUS(fv_roi_align(&s, x, rois, y), FV_ERR_INVALID);
    CHECK_ERR_HAS("batch index 0.5");
    rois[0] = 1, rois[3] = NAN;
    CHECK_STATUS(fv_roi_align(&s, x, rois, y), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("roi align: RoI 0 has a NaN coordinate");
    rois[3] = 1e9f;
    CHECK_STATUS(fv_roi_align(&s, x, rois, y), FV_ERR_INVALID);
    CHECK_ERR_HAS("lies beyond");
    rois[3] = 3;
    s.k = -1;
    CHECK_STATUS(fv_roi_pool(&s, x, rois, y, am), FV_ERR_INVALID);
    CHECK_ERR_HAS("RoI count -1 is negative");
    s.k = 1, s.out_w = 0;
    CHECK_STATUS(fv_roi_align_backward(&s, y, rois, dx), FV_ERR_INVALID);
    CHECK_ERR_HAS("output size 2x0");
    s.out_w = 2, s.spatial_scale = NAN;
    CHECK_STATUS(fv_roi_align(&s, x, rois, y), FV_ERR_INVALID);
    CHECK_ERR_HAS("spatial scale nan");
    s.spatial_scale = 1, s.c = 0;
    CHECK_STATUS(fv_roi_pool(&s, x, rois, y, am), FV_ERR_INVALID);
    CHECK_ERR_HAS("feature maps 2x0x4x4");
    s.c = 1;
    CHECK_STATUS(fv_roi_pool_backward(&s, y, rois, NULL, dx), FV_ERR_INVALID);
    CHECK_ERR_HAS("argmax is NULL");
    am[3] = 16;
    CHECK_STATUS(fv_roi_pool_backward(&s, y, rois, am, dx), FV_ERR_INVALID);
    CHECK_ERR_HAS("argmax 3 is 16");
    CHECK_STATUS(fv_roi_pool(&s, x, NULL, y, am), FV_ERR_INVALID);
    CHECK_ERR_HAS("NULL");
    CHECK_STATUS(fv_roi_pool(NULL, x, rois, y, am), FV_ERR_INVALID);
    s.k = 0; /* no RoIs: nothing to do, nothing read */
    CHECK_STATUS(fv_roi_align(&s, NULL, NULL, NULL), FV_OK);
}

int main(void)
{
    RUN(matches_torchvision);
    RUN(thread_count_independent);
    RUN(gradcheck_kernels);
    RUN(backbone_roi_head);
    RUN(errors);
    TEST_MAIN_END();
}
