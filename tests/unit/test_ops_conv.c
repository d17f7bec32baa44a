/* test_ops_conv.c - the conv2d kernels and op: finite-difference gradient checks of the lowered
 * double convolution (the op's algorithm) over strides, padding, dilation, groups, no bias,
 * non-square kernels, 1x1 and batches of 1-3; the lowered against the direct convolution; the
 * im2col / col2im adjoint identity; PyTorch goldens (tests/golden/gen_conv_dense.py) through the
 * float op in a graph; gradient accumulation and smaller batches; parameters and infer errors. */
#include "core/cpu.h"
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "kernels/kernels.h"
#include "kernels/ref/conv_ref.h"
#include "ops/ops.h"
#include "optest.h"
#include "test.h"

typedef struct conv_case {
    const char *name;
    int n, c, h, w, f, kh, kw, sh, sw, ph, pw, dh, dw, groups, bias;
} conv_case;

/* The first NGOLDEN mirror CONV_CASES in tests/golden/gen_conv_dense.py; the rest are
 * gradient-check-only configurations: depthwise, groups with stride and dilation, a kernel as
 * large as the padded input, stride larger than the kernel, a 1x1 kernel with stride. */
static const conv_case cases[] = {
    {"conv_basic", 2, 3, 6, 6, 4, 3, 3, 1, 1, 0, 0, 1, 1, 1, 1},
    {"conv_stride2_pad", 3, 2, 7, 6, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},
    {"conv_dilation2", 2, 2, 7, 7, 3, 3, 3, 1, 1, 2, 2, 2, 2, 1, 1},
    {"conv_groups2", 2, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1, 1, 2, 1},
    {"conv_rect_nobias", 1, 2, 6, 7, 3, 2, 3, 2, 1, 1, 0, 1, 1, 1, 0},
    {"conv_pointwise", 3, 4, 3, 4, 5, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1},
    {"conv_lenet", 2, 1, 6, 6, 6, 5, 5, 1, 1, 2, 2, 1, 1, 1, 1},
    {"depthwise", 2, 3, 5, 4, 3, 3, 2, 1, 2, 1, 1, 1, 1, 3, 1},
    {"groups3_s2_d2", 1, 6, 8, 7, 9, 2, 3, 2, 1, 0, 2, 2, 1, 3, 1},
    {"full_kernel", 3, 2, 3, 4, 2, 5, 6, 1, 1, 1, 1, 1, 1, 1, 0},
    {"stride3", 2, 1, 7, 8, 2, 2, 2, 3, 3, 0, 1, 1, 1, 1, 1},
    {"1x1_stride2", 1, 3, 5, 5, 2, 1, 1, 2, 2, 0, 0, 1, 1, 1, 1},
};
enum { NGOLDEN = 7, NCASES = sizeof cases / sizeof cases[0] };

static fv_conv_geom case_geom(const conv_case *k)
{
    fv_conv_geom g = {.c = k->c, .h = k->h, .w = k->w, .f = k->f, .kh = k->kh, .kw = k->kw,
                      .sh = k->sh, .sw = k->sw, .ph = k->ph, .pw = k->pw, .dh = k->dh,
                      .dw = k->dw, .groups = k->groups};
    fv_conv_geom_init(&g);
    return g;
}

static fv_attr case_attr(const conv_case *k)
{
    fv_attr a;
    memset(&a, 0, sizeof a);
    a.conv = (fv_conv_attr){.filters = k->f, .kh = k->kh, .kw = k->kw, .sh = k->sh, .sw = k->sw,
                            .ph = k->ph, .pw = k->pw, .dh = k->dh, .dw = k->dw,
                            .groups = k->groups, .bias = k->bias};
    return a;
}

/* ---------------------------------------------------------------- double kernels */

/* The output is linear in each of x, w and b, so central differences have no truncation error at
 * any step; a larger step than GC_H only shrinks the round-off of (L+ - L-) / 2h. */
#define GC_LINEAR_H 1e-3

typedef struct conv_ctx {
    const fv_conv_geom *g;
    int n;
    double *x, *w, *b, *scratch;
} conv_ctx;

static void conv_fwd(void *ctx, double *y)
{
    conv_ctx *c = ctx;
    fv_conv2d_fwd_f64(c->x, c->w, c->b, y, c->n, c->g, c->scratch);
}

typedef struct conv_bufs {
    long nx, nw, nb, ny;
    double *x, *w, *b, *r, *dx, *dw, *db, *scratch;
} conv_bufs;

static void bufs_alloc(conv_bufs *B, const conv_case *k, const fv_conv_geom *g, unsigned *seed)
{
    B->nx = (long)k->n * k->c * k->h * k->w;
    B->nw = (long)k->f * (k->c / k->groups) * k->kh * k->kw;
    B->nb = k->f;
    B->ny = (long)k->n * k->f * g->oh * g->ow;
    B->x = calloc((size_t)B->nx, sizeof(double)), B->dx = calloc((size_t)B->nx, sizeof(double));
    B->w = calloc((size_t)B->nw, sizeof(double)), B->dw = calloc((size_t)B->nw, sizeof(double));
    B->b = calloc((size_t)B->nb, sizeof(double)), B->db = calloc((size_t)B->nb, sizeof(double));
    B->r = calloc((size_t)B->ny, sizeof(double));
    B->scratch = calloc((size_t)fv_conv_scratch_size(g) + 1, sizeof(double));
    gc_fill(B->x, B->nx, -1, 1, seed), gc_fill(B->w, B->nw, -1, 1, seed);
    gc_fill(B->b, B->nb, -1, 1, seed), gc_fill(B->r, B->ny, -1, 1, seed);
}

static void bufs_free(conv_bufs *B)
{
    free(B->x), free(B->dx), free(B->w), free(B->dw), free(B->b), free(B->db), free(B->r);
    free(B->scratch);
}

/* dx, dw, db of the lowered convolution against central differences. */
static double conv_gradcheck(const conv_case *k, unsigned *seed)
{
    fv_conv_geom g = case_geom(k);
    conv_bufs B;
    bufs_alloc(&B, k, &g, seed);
    double *b = k->bias ? B.b : NULL;
    fv_conv2d_bwd_f64(B.x, B.w, B.r, B.dx, B.dw, k->bias ? B.db : NULL, k->n, &g, B.scratch);
    conv_ctx c = {&g, k->n, B.x, B.w, b, B.scratch};
    double e = gc_compare(&c, conv_fwd, B.x, B.nx, B.ny, B.r, B.dx, GC_LINEAR_H);
    double ew = gc_compare(&c, conv_fwd, B.w, B.nw, B.ny, B.r, B.dw, GC_LINEAR_H);
    e = ew > e ? ew : e;
    if (k->bias) {
        double eb = gc_compare(&c, conv_fwd, B.b, B.nb, B.ny, B.r, B.db, GC_LINEAR_H);
        e = eb > e ? eb : e;
    }
    bufs_free(&B);
    return e;
}

TEST(test_gradcheck)
{
    unsigned seed = 17;
    for (int i = 0; i < NCASES; i++) {
        const conv_case *k = &cases[i];
        double err = conv_gradcheck(k, &seed);
        if (err > GC_TOL)
            fprintf(stderr, "  %s: %g\n", k->name, err);
        CHECK(err <= GC_TOL);
    }
}

static double max_abs_diff(const double *a, const double *b, long n)
{
    double m = 0;
    for (long i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

/* The lowered and the direct convolutions agree, forward and backward (which accumulate). */
TEST(test_lowered_vs_direct)
{
    unsigned seed = 23;
    for (int i = 0; i < NCASES; i++) {
        const conv_case *k = &cases[i];
        fv_conv_geom g = case_geom(k);
        conv_bufs B;
        bufs_alloc(&B, k, &g, &seed);
        double *y1 = malloc(sizeof(double) * (size_t)B.ny), *y2 = malloc(sizeof(double) * (size_t)B.ny);
        double *dx2 = malloc(sizeof(double) * (size_t)B.nx), *dw2 = malloc(sizeof(double) * (size_t)B.nw);
        double db2[16];
        const double *b = k->bias ? B.b : NULL;
        fv_conv2d_fwd_f64(B.x, B.w, b, y1, k->n, &g, B.scratch);
        fv_ref_conv2d_fwd_f64(B.x, B.w, b, y2, k->n, &g);
        CHECK(max_abs_diff(y1, y2, B.ny) < 1e-12);
        /* both start from the same nonzero gradients */
        gc_fill(B.dx, B.nx, -1, 1, &seed), gc_fill(B.dw, B.nw, -1, 1, &seed);
        gc_fill(B.db, B.nb, -1, 1, &seed);
        memcpy(dx2, B.dx, sizeof(double) * (size_t)B.nx);
        memcpy(dw2, B.dw, sizeof(double) * (size_t)B.nw);
        memcpy(db2, B.db, sizeof(double) * (size_t)B.nb);
        fv_conv2d_bwd_f64(B.x, B.w, B.r, B.dx, B.dw, B.db, k->n, &g, B.scratch);
        fv_ref_conv2d_bwd_f64(B.x, B.w, B.r, dx2, dw2, db2, k->n, &g);
        CHECK(max_abs_diff(B.dx, dx2, B.nx) < 1e-12);
        CHECK(max_abs_diff(B.dw, dw2, B.nw) < 1e-12);
        CHECK(max_abs_diff(B.db, db2, B.nb) < 1e-12);
        /* NULL outputs are skipped */
        fv_conv2d_bwd_f64(B.x, B.w, B.r, NULL, NULL, NULL, k->n, &g, B.scratch);
        fv_ref_conv2d_bwd_f64(B.x, B.w, B.r, NULL, NULL, NULL, k->n, &g);
        free(y1), free(y2), free(dx2), free(dw2);
        bufs_free(&B);
    }
}

/* <im2col(x), c> = <x, col2im(c)>: col2im is im2col's adjoint (for one group's channels). */
TEST(test_im2col_adjoint)
{
    unsigned seed = 29;
    for (int i = 0; i < NCASES; i++) {
        const conv_case *k = &cases[i];
        fv_conv_geom g = case_geom(k);
        long nx = (long)k->c * k->h * k->w;
        long nc = (long)k->c * k->kh * k->kw * g.oh * g.ow;
        double *x = malloc(sizeof(double) * (size_t)nx), *col = malloc(sizeof(double) * (size_t)nc);
        double *c = malloc(sizeof(double) * (size_t)nc), *xt = calloc((size_t)nx, sizeof(double));
        gc_fill(x, nx, -1, 1, &seed), gc_fill(c, nc, -1, 1, &seed);
        fv_im2col_f64(x, &g, k->c, col);
        fv_col2im_f64(c, &g, k->c, xt);
        double lhs = 0, rhs = 0;
        for (long j = 0; j < nc; j++)
            lhs += col[j] * c[j];
        for (long j = 0; j < nx; j++)
            rhs += x[j] * xt[j];
        CHECK_NEAR(lhs, rhs, 1e-10, 1e-12);
        free(x), free(col), free(c), free(xt);
    }
    /* a padded tap reads zero: 1 channel 2x2, 3x3 kernel, padding 1 -> the centre row is x */
    fv_conv_geom g = {.c = 1, .h = 2, .w = 2, .f = 1, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .ph = 1, .pw = 1, .dh = 1, .dw = 1, .groups = 1};
    CHECK(fv_conv_geom_init(&g) && g.oh == 2 && g.ow == 2);
    float x[4] = {1, 2, 3, 4}, col[36];
    fv_im2col_f32(x, &g, 1, col);
    CHECK(col[4 * 4 + 0] == 1 && col[4 * 4 + 3] == 4); /* tap (1, 1) */
    CHECK(col[0] == 0 && col[1] == 0 && col[2] == 0 && col[3] == 1); /* tap (0, 0) */
}

TEST(test_geom)
{
    fv_conv_geom g = {.c = 1, .h = 28, .w = 28, .f = 6, .kh = 5, .kw = 5, .sh = 1, .sw = 1,
                      .ph = 2, .pw = 2, .dh = 1, .dw = 1, .groups = 1};
    CHECK(fv_conv_geom_init(&g) && g.oh == 28 && g.ow == 28);
    CHECK(fv_conv_col_rows(&g) == 25 && fv_conv_scratch_size(&g) == 25 * 784);
    g.ph = g.pw = 0, g.sh = 2, g.sw = 3;
    CHECK(fv_conv_geom_init(&g) && g.oh == 12 && g.ow == 8);
    g.kh = 29; /* larger than the input */
    CHECK(!fv_conv_geom_init(&g) && g.oh <= 0);
    g.kh = 5, g.groups = 4; /* 1 channel, 4 groups */
    CHECK(!fv_conv_geom_init(&g));
    g.groups = 1, g.kh = g.kw = 1, g.sh = g.sw = 1;
    CHECK(fv_conv_geom_init(&g) && fv_conv_is_pointwise(&g) && fv_conv_scratch_size(&g) == 0);
}

/* ---------------------------------------------------------------- the float op in a graph */

static fv_model *conv_model(const conv_case *k, int *x, int *y)
{
    fv_model *m = fv_model_new("convtest");
    *x = fv_input(m, .ndim = 3, .dims = {k->c, k->h, k->w}, .name = "x");
    fv_attr a = case_attr(k);
    *y = fv_graph_add(m, FV_OP_CONV2D, 1, x, &a, "conv");
    if (*x < 0 || *y < 0)
        fprintf(stderr, "%s: %s\n", k->name, fv_last_error());
    return m;
}

TEST(test_golden)
{
    for (int i = 0; i < NGOLDEN; i++) {
        int x, y;
        fv_model *m = conv_model(&cases[i], &x, &y);
        int failed_before = t_cur_failed;
        t_cur_failed = 0;
        CHECK(y == 1);
        if (y == 1)
            ot_golden(m, x, y, cases[i].name, 1e-5, 1e-4);
        if (t_cur_failed)
            fprintf(stderr, "  case %s\n", cases[i].name);
        t_cur_failed |= failed_before;
        fv_model_free(m);
    }
}

/* Backward accumulates into dx and the gradients; a smaller batch than planned computes the
 * first samples; every variant of the GEMM gives the same results. */
TEST(test_accumulate_and_batch)
{
    const conv_case *k = &cases[3]; /* groups 2, padding, bias */
    int x, y;
    fv_model *m = conv_model(k, &x, &y);
    int n = 3;
    long nx = n * m->nodes[x].size, ny = n * m->nodes[y].size;
    float *xv = malloc(sizeof(float) * (size_t)nx), *dy = malloc(sizeof(float) * (size_t)ny);
    unsigned seed = 31;
    for (long i = 0; i < nx; i++)
        xv[i] = (float)((seed = seed * 1103515245u + 12345u) % 1000) / 500.0f - 1.0f;
    for (long i = 0; i < ny; i++)
        dy[i] = (float)((seed = seed * 1103515245u + 12345u) % 1000) / 500.0f - 1.0f;
    CHECK(ot_run(m, x, y, NULL, n, xv, dy) == 0);
    fv_node *c = &m->nodes[y];
    long np = m->trainable_total;
    float *y1 = malloc(sizeof(float) * (size_t)ny), *dx1 = malloc(sizeof(float) * (size_t)nx);
    float *g1 = malloc(sizeof(float) * (size_t)np);
    memcpy(y1, c->y, sizeof(float) * (size_t)ny);
    memcpy(dx1, m->nodes[x].dy, sizeof(float) * (size_t)nx);
    memcpy(g1, m->grad_slab, sizeof(float) * (size_t)np);
    fv_op_conv2d_def.backward(m, c, n);
    for (long i = 0; i < nx; i++)
        CHECK_NEAR(m->nodes[x].dy[i], 2 * dx1[i], 1e-6, 1e-6);
    for (long i = 0; i < np; i++)
        CHECK_NEAR(m->grad_slab[i], 2 * g1[i], 1e-6, 1e-6);
    /* one sample through buffers planned for three */
    memset(c->y, 0, sizeof(float) * (size_t)ny);
    fv_graph_forward(m, 1, y);
    CHECK_ARRAY_NEAR(c->y, y1, c->size, 1e-6, 1e-6);
    for (long i = c->size; i < ny; i++)
        CHECK(c->y[i] == 0);
    /* the generic kernels agree with the dispatched ones */
    fv_isa was = fv_isa_active();
    CHECK(fv_isa_force(FV_ISA_GENERIC));
    fv_graph_forward(m, n, y);
    CHECK_ARRAY_NEAR(c->y, y1, ny, 1e-5, 1e-5);
    fv_isa_force(was);
    free(xv), free(dy), free(y1), free(dx1), free(g1);
    fv_model_free(m);
}

/* The float op against the direct double convolution with the input gradient off (only the
 * parameters' gradients are produced), on every configuration. */
TEST(test_float_vs_direct)
{
    for (int i = 0; i < NCASES; i++) {
        const conv_case *k = &cases[i];
        int x, y;
        fv_model *m = conv_model(k, &x, &y);
        fv_conv_geom g = case_geom(k);
        conv_bufs B;
        unsigned seed = 37 + (unsigned)i;
        bufs_alloc(&B, k, &g, &seed);
        float *xf = malloc(sizeof(float) * (size_t)B.nx), *dyf = malloc(sizeof(float) * (size_t)B.ny);
        for (long j = 0; j < B.nx; j++)
            xf[j] = (float)B.x[j];
        for (long j = 0; j < B.ny; j++)
            dyf[j] = (float)B.r[j];
        m->input_grad = 0;
        CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = y), FV_OK);
        for (long j = 0; j < B.nw; j++)
            B.w[j] = m->data_slab[m->params[m->nodes[y].param[0]].offset + j];
        CHECK_STATUS(fv_graph_plan(m, k->n), FV_OK);
        CHECK(!m->nodes[x].needs_grad);
        memcpy(m->nodes[x].y, xf, sizeof(float) * (size_t)B.nx);
        fv_graph_forward(m, k->n, y);
        fv_graph_zero_grads(m, k->n);
        memcpy(m->nodes[y].dy, dyf, sizeof(float) * (size_t)B.ny);
        fv_graph_run_backward(m, k->n);
        double *yd = malloc(sizeof(double) * (size_t)B.ny);
        fv_ref_conv2d_fwd_f64(B.x, B.w, NULL, yd, k->n, &g); /* bias initialised to zeros */
        fv_ref_conv2d_bwd_f64(B.x, B.w, B.r, NULL, B.dw, NULL, k->n, &g);
        for (long j = 0; j < B.ny; j++)
            CHECK_NEAR(m->nodes[y].y[j], yd[j], 1e-5, 1e-4);
        const float *gw = m->grad_slab + m->params[m->nodes[y].param[0]].offset;
        for (long j = 0; j < B.nw; j++)
            CHECK_NEAR(gw[j], B.dw[j], 1e-5, 1e-4);
        free(xf), free(dyf), free(yd);
        bufs_free(&B);
        fv_model_free(m);
    }
}

/* ---------------------------------------------------------------- definition, params, errors */

TEST(test_op_def_and_params)
{
    ot_op_def_is(FV_OP_CONV2D, &fv_op_conv2d_def, "conv2d", "Conv2D");
    fv_model *m = fv_model_new("p");
    int x = fv_input(m, .ndim = 3, .dims = {4, 9, 8});
    int c = fv_conv2d(m, x, .filters = 6, .kernel_h = 3, .kernel_w = 2, .stride = 2,
                      .padding = 1, .groups = 2, .name = "c1");
    if (!ot_node_is(m, c, 1))
        return;
    int64_t d[4];
    CHECK(fv_node_shape(m, c, d) == 3 && d[0] == 6 && d[1] == 5 && d[2] == 5);
    CHECK(m->nparams == 2 && m->nodes[c].nparam == 2);
    const fv_param *w = &m->params[m->nodes[c].param[0]], *b = &m->params[m->nodes[c].param[1]];
    CHECK(strcmp(w->name, "c1.weight") == 0 && w->ndim == 4);
    CHECK(w->dims[0] == 6 && w->dims[1] == 2 && w->dims[2] == 3 && w->dims[3] == 2);
    CHECK(w->trainable && w->init == FV_INIT_GLOROT_UNIFORM);
    CHECK(w->fan_in == 2 * 3 * 2 && w->fan_out == 6 * 3 * 2);
    CHECK(strcmp(b->name, "c1.bias") == 0 && b->ndim == 1 && b->dims[0] == 6);
    CHECK(b->trainable && b->init == FV_INIT_ZEROS);
    /* workspace per worker: one group's column matrix (2 * 3 * 2 rows, 25 positions: 300 floats,
     * padded to 304), a partial weight gradient (72, padded to 80) and bias gradient (6) */
    CHECK(fv_op_conv2d_def.workspace_bytes(m, &m->nodes[c], 7) == sizeof(float) * (304 + 80 + 6));
    int p = fv_conv2d(m, c, .filters = 3, .kernel = 1, .no_bias = 1, .name = "pw");
    CHECK(p == 2 && m->nodes[p].nparam == 1 && m->nparams == 3);
    /* pointwise, 7 samples of 25 positions lowered together: a 6 x 175 column matrix (1050
     * floats, padded to 1056) and the gathered 3 x 175 output (525; 1581 padded to 1584), a
     * partial weight gradient (18, padded to 32) and bias gradient (3) */
    if (p == 2)
        CHECK(fv_op_conv2d_def.workspace_bytes(m, &m->nodes[p], 7) ==
              sizeof(float) * (1584 + 32 + 3));
    fv_model_free(m);
}

/* Adds a conv over an input of the given shape; on error, checks the graph is unchanged. */
static int try_conv(int ndim, int64_t d0, int64_t d1, int64_t d2, fv_conv_attr ca)
{
    fv_model *m = fv_model_new("e");
    int x = fv_input(m, .ndim = ndim, .dims = {d0, d1, d2});
    fv_attr a;
    memset(&a, 0, sizeof a);
    a.conv = ca;
    int c = fv_graph_add(m, FV_OP_CONV2D, 1, &x, &a, "badconv");
    if (c < 0)
        CHECK(m->nnodes == 1 && m->nparams == 0);
    fv_model_free(m);
    return c;
}

#define CA(f, k, s, p, d, g) \
    (fv_conv_attr) { f, k, k, s, s, p, p, d, d, g, 1 }

TEST(test_infer_errors)
{
    /* want: the node made (1), or -1 for an error with the phrases has */
    const struct {
        int ndim;
        int64_t d0, d1, d2;
        fv_conv_attr ca;
        int want;
        const char *has[3];
    } rows[] = {
        {3, 3, 8, 8, CA(4, 3, 1, 0, 1, 1), 1, {NULL}},
        {1, 10, 0, 0, CA(4, 3, 1, 0, 1, 1), -1, {"badconv", "(None, 10)", "(None, C, H, W)"}},
        {2, 3, 8, 0, CA(4, 3, 1, 0, 1, 1), -1, {"(None, 3, 8)"}},
        {3, 3, 8, 8, CA(4, 3, 1, 0, 1, 2), -1, {"badconv", "(None, 3, 8, 8)", "groups=2"}},
        {3, 4, 8, 8, CA(5, 3, 1, 0, 1, 2), -1, {"badconv", "filters=5", "(None, 4, 8, 8)"}},
        /* kernel larger than the padded input, directly or through dilation */
        {3, 1, 5, 5, CA(2, 6, 1, 0, 1, 1), -1, {"badconv", "6x6", "(None, 1, 5, 5)"}},
        {3, 1, 5, 5, CA(2, 8, 1, 1, 1, 1), -1, {"larger than"}},
        {3, 1, 5, 5, CA(2, 3, 1, 0, 3, 1), -1, {"dilation 3x3"}},
        {3, 1, 5, 5, CA(2, 7, 1, 1, 1, 1), 1, {NULL}}, /* 5 + 2 = 7: one output */
        /* bad attributes (the internal API does not apply the public defaults) */
        {3, 1, 5, 5, CA(0, 3, 1, 0, 1, 1), -1, {"badconv", "filters=0"}},
        {3, 1, 5, 5, CA(2, 3, 0, 0, 1, 1), -1, {NULL}},
        {3, 1, 5, 5, CA(2, 3, 1, -1, 1, 1), -1, {NULL}},
        {3, 1, 5, 5, CA(2, 3, 1, 0, 0, 1), -1, {NULL}},
        {3, 1, 5, 5, CA(2, 3, 1, 0, 1, 0), -1, {NULL}},
        /* too large for int indexing */
        {3, 1, 5, 5, CA(2, 3, 1, 1 << 30, 1, 1), -1, {"too large"}},
        {3, 1 << 16, 1 << 10, 1 << 10, CA(2, 1, 1, 0, 1, 1), -1, {"too large"}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        t_check_added(i, try_conv(rows[i].ndim, rows[i].d0, rows[i].d1, rows[i].d2, rows[i].ca),
                      rows[i].want, rows[i].has);
    /* through the public API */
    fv_model *m = fv_model_new("pub");
    int x = fv_input(m, .ndim = 3, .dims = {3, 4, 4});
    CHECK(fv_conv2d(m, x, .filters = 2, .kernel = 5, .name = "big") < 0);
    CHECK_ERR_HAS("big");
    CHECK_ERR_HAS("(None, 3, 4, 4)");
    CHECK(m->nnodes == 1);
    fv_model_free(m);
}

int main(void)
{
    RUN(test_gradcheck);
    RUN(test_lowered_vs_direct);
    RUN(test_im2col_adjoint);
    RUN(test_geom);
    RUN(test_golden);
    RUN(test_accumulate_and_batch);
    RUN(test_float_vs_direct);
    RUN(test_op_def_and_params);
    RUN(test_infer_errors);
    TEST_MAIN_END();
}
