/* test_fracpool.c - fractional max pooling (src/ops/fracpool.c): PyTorch goldens with the same
 * samples (tests/golden/gen_fracpool.py), Graham's disjoint regions against the paper's
 * definition and a naive maximum, seeding, evaluation mode, gradient checks in double, the model
 * format and its errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "io/io.h"
#include "kernels/ref/pool_ref.h"
#include "ops/ops.h"
#include "optest.h"
#include "test.h"

#include <math.h>

/* ---------------------------------------------------------------- PyTorch goldens */

typedef struct golden_case {
    const char *name;
    int64_t c, h, w;
    fv_fracpool_args a;
} golden_case;

/* As CASES in gen_fracpool.py. */
static const golden_case cases[] = {
    {"fracpool_k2_size", 3, 9, 7, {.size = 2, .output_h = 4, .output_w = 3}},
    {"fracpool_k3_ratio", 2, 11, 10, {.size = 3, .ratio = 0.5}},
    {"fracpool_k23_size", 3, 8, 9, {.size_h = 2, .size_w = 3, .output_h = 5, .output_w = 4}},
    {"fracpool_k2_ratio", 2, 10, 10, {.size = 2, .ratio_h = 0.7, .ratio_w = 0.6}},
    {"fracpool_ties", 2, 8, 8, {.size = 3, .output_size = 4}},
};

/* The golden's samples, set on node f after planning for its batch. */
static void set_golden_samples(fv_model *m, int f, const char *name, int training)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
    fv_st_file *st = fv_st_open(t_src_path(rel));
    fv_tensor *u = st ? fv_st_get(st, "samples") : NULL;
    CHECK(u != NULL);
    if (!u) {
        fv_st_close(st);
        return;
    }
    int n = (int)u->dims[0];
    m->input_grad = 1;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = f), FV_OK);
    CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
    CHECK_STATUS(fv_fracpool_set_samples(m, f, u->data, n), FV_OK);
    m->training = training; /* set samples win over drawing */
    fv_tensor_free(u);
    fv_st_close(st);
}

TEST(matches_pytorch_with_its_samples)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const golden_case *gc = &cases[i];
        fv_model *m = fv_model_new("frac");
        int in = fv_input(m, .ndim = 3, .dims = {gc->c, gc->h, gc->w});
        int f = fv_fractional_maxpool2d_(m, in, gc->a);
        CHECK(f > 0);
        if (f > 0) {
            set_golden_samples(m, f, gc->name, (int)(i % 2));
            ot_golden(m, in, f, gc->name, 1e-6, 1e-6);
        }
        fv_model_free(m);
    }
}

/* ---------------------------------------------------------------- Graham's disjoint regions */

enum { N = 2, C = 3, H = 11, W = 9, OH = 7, OW = 5 };

static fv_model *disjoint_model(uint64_t seed, int random, int *in, int *f)
{
    fv_model *m = fv_model_new("graham");
    *in = fv_input(m, .ndim = 3, .dims = {C, H, W});
    *f = fv_fractional_maxpool2d(m, *in, .output_h = OH, .output_w = OW, .random = random);
    CHECK(*f > 0 && fv_model_compile(m, .loss = FV_LOSS_NONE, .output = *f, .seed = seed) ==
                        FV_OK);
    m->input_grad = 1;
    CHECK_STATUS(fv_graph_plan(m, N), FV_OK);
    for (int i = 0; i < N * C * H * W; i++) /* distinct values, no ties */
        m->nodes[*in].y[i] = (float)((i * 37) % (N * C * H * W)) / 100.0f;
    return m;
}

/* ceil(alpha x) for alpha = in / out: the smallest c with c out >= in x (exact in double for
 * these small sizes and a float x). */
static int ceil_alpha(int in, int out, double x)
{
    int c = 0;
    while ((double)c * out < in * x)
        c++;
    return c;
}

/* The paper's pseudo-random sequence: a_i = ceil(alpha (i + u)) - ceil(alpha u), a_out = in. */
static int paper_seq_ok(const int32_t *a, int in, int out, float u)
{
    for (int i = 0; i < out; i++)
        if (a[i] != ceil_alpha(in, out, i + (double)u) - ceil_alpha(in, out, u))
            return 0;
    return a[out] == in;
}

/* Increments of 1 or 2 from 0 to in. */
static int increments_ok(const int32_t *a, int in, int out)
{
    int ok = a[0] == 0 && a[out] == in;
    for (int i = 0; i < out; i++)
        ok &= a[i + 1] - a[i] == 1 || a[i + 1] - a[i] == 2;
    return ok;
}

/* Output, switches (through backward from dy = 1 + plane index) and regions against a naive
 * maximum over each region of the plane. */
static int naive_ok(fv_model *m, int in, int f, int64_t p, const int32_t *r, const int32_t *c)
{
    const float *x = m->nodes[in].y + p * H * W, *y = m->nodes[f].y + p * OH * OW;
    const float *dx = m->nodes[in].dy + p * H * W;
    int ok = 1, hits[H * W] = {0};
    for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
            int best = -1;
            for (int yy = r[i]; yy < r[i + 1]; yy++)
                for (int xx = c[j]; xx < c[j + 1]; xx++)
                    if (best < 0 || x[yy * W + xx] > x[best])
                        best = yy * W + xx;
            ok &= y[i * OW + j] == x[best];
            hits[best]++;
        }
    for (int k = 0; k < H * W; k++)
        ok &= dx[k] == (float)(hits[k] * (1 + p));
    return ok;
}

static void run(fv_model *m, int f)
{
    fv_graph_forward(m, N, f);
    fv_graph_zero_grads(m, N);
    for (int64_t i = 0; i < N * m->nodes[f].size; i++)
        m->nodes[f].dy[i] = (float)(1 + i / (OH * OW));
    fv_graph_run_backward(m, N);
}

/* Checks every plane of the last forward; returns how many took the paper's formula at u. */
static int check_planes(fv_model *m, int in, int f, int random)
{
    int paper = 0;
    for (int64_t p = 0; p < N * C; p++) {
        const float *u;
        const int32_t *r, *c;
        CHECK_STATUS(fv_fracpool_plane(m, f, p, &u, &r, &c), FV_OK);
        CHECK(increments_ok(r, H, OH) && increments_ok(c, W, OW));
        CHECK(naive_ok(m, in, f, p, r, c));
        if (!random || u[0] >= 0) {
            CHECK(u[0] >= 0 && u[0] < 1 && u[1] >= 0 && u[1] < 1);
            CHECK(paper_seq_ok(r, H, OH, u[1]) && paper_seq_ok(c, W, OW, u[0]));
            paper++;
        }
    }
    return paper;
}

TEST(disjoint_regions_follow_the_paper)
{
    for (int random = 0; random < 2; random++) {
        int in, f;
        fv_model *m = disjoint_model(7, random, &in, &f);
        m->training = 1;
        run(m, f);
        CHECK(check_planes(m, in, f, random) == (random ? 0 : N * C));
        m->training = 0; /* evaluation: u = 0.5, the pseudo-random regions for both kinds */
        run(m, f);
        CHECK(check_planes(m, in, f, random) == N * C);
        const float *u;
        const int32_t *r, *c;
        CHECK(fv_fracpool_plane(m, f, N * C - 1, &u, &r, &c) == FV_OK && u[0] == 0.5f &&
              u[1] == 0.5f);
        fv_model_free(m);
    }
}

/* All planes' region starts and the output of one training forward. */
static void draw(fv_model *m, int f, int32_t *seq, float *y)
{
    fv_graph_forward(m, N, f);
    for (int64_t p = 0; p < N * C; p++) {
        const float *u;
        const int32_t *r, *c;
        CHECK_STATUS(fv_fracpool_plane(m, f, p, &u, &r, &c), FV_OK);
        memcpy(seq + p * (OH + OW + 2), r, sizeof(int32_t) * (OH + OW + 2));
    }
    memcpy(y, m->nodes[f].y, sizeof(float) * N * C * OH * OW);
}

TEST(regions_follow_the_seed)
{
    enum { S = N * C * (OH + OW + 2), Y = N * C * OH * OW };
    for (int random = 0; random < 2; random++) {
        int in, f;
        fv_model *a = disjoint_model(21, random, &in, &f), *b = disjoint_model(21, random, &in, &f);
        fv_model *c = disjoint_model(22, random, &in, &f);
        a->training = b->training = c->training = 1;
        int32_t sa[S], sa2[S], sb[S], sc[S];
        float ya[Y], ya2[Y], yb[Y], yc[Y];
        draw(a, f, sa, ya), draw(a, f, sa2, ya2), draw(b, f, sb, yb), draw(c, f, sc, yc);
        CHECK(memcmp(sa, sb, sizeof sa) == 0 && memcmp(ya, yb, sizeof ya) == 0);
        CHECK(memcmp(sa, sa2, sizeof sa) != 0); /* each training forward draws anew */
        CHECK(memcmp(sa, sc, sizeof sa) != 0);  /* another seed, other regions */
        draw(b, f, sb, yb);
        CHECK(memcmp(sa2, sb, sizeof sa2) == 0 && memcmp(ya2, yb, sizeof ya2) == 0);
        a->training = 0; /* evaluation is deterministic */
        draw(a, f, sa, ya), draw(a, f, sa2, ya2);
        CHECK(memcmp(sa, sa2, sizeof sa) == 0 && memcmp(ya, ya2, sizeof ya) == 0);
        fv_model_free(a), fv_model_free(b), fv_model_free(c);
    }
}

/* Disjoint regions at the ends of the range: oh = H is the identity, H = 2 oh is 2x2 pooling. */
TEST(disjoint_extremes)
{
    fv_model *m = fv_model_new("ends");
    int in = fv_input(m, .ndim = 3, .dims = {2, 8, 6});
    int id = fv_fractional_maxpool2d(m, in, .output_h = 8, .output_w = 6, .random = 1);
    int half = fv_fractional_maxpool2d(m, in, .output_h = 4, .output_w = 3);
    int mp = fv_maxpool2d(m, in);
    CHECK(id > 0 && half > 0 && mp > 0);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = mp), FV_OK);
    CHECK_STATUS(fv_graph_plan(m, 2), FV_OK);
    for (int i = 0; i < 2 * 96; i++)
        m->nodes[in].y[i] = sinf((float)i);
    m->training = 1;
    fv_graph_forward(m, 2, mp);
    CHECK(memcmp(m->nodes[id].y, m->nodes[in].y, sizeof(float) * 2 * 96) == 0);
    CHECK(memcmp(m->nodes[half].y, m->nodes[mp].y, sizeof(float) * 2 * 24) == 0);
    fv_model_free(m);
}

/* A small CNN with both kinds, trained a few steps: the same seed gives the same losses (the
 * regions drawn in each step), and the loss falls. */
static void train_cnn(uint64_t seed, double *losses)
{
    fv_model *m = fv_model_new("cnn");
    int x = fv_input(m, .ndim = 3, .dims = {1, 12, 12});
    x = fv_conv2d(m, x, .filters = 4, .kernel = 3, .padding = 1, .activation = FV_ACT_RELU);
    x = fv_fractional_maxpool2d(m, x, .size = 2, .ratio = 0.7);
    x = fv_fractional_maxpool2d(m, x, .output_size = 5, .random = 1);
    fv_dense(m, fv_flatten(m, x), .units = 3);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f),
                                  .seed = seed), FV_OK);
    float in[6 * 144], y[6];
    for (int i = 0; i < 6 * 144; i++)
        in[i] = sinf((float)(i * (i / 144 + 1)) * 0.1f);
    for (int i = 0; i < 6; i++)
        y[i] = (float)(i % 3);
    for (int s = 0; s < 30; s++)
        CHECK_STATUS(fv_model_train_batch(m, in, y, 6, &losses[s], NULL), FV_OK);
    fv_model_free(m);
}

TEST(trains_reproducibly)
{
    double a[30], b[30];
    train_cnn(9, a);
    train_cnn(9, b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(isfinite(a[29]) && a[29] < 0.5 * a[0]);
}

/* ---------------------------------------------------------------- gradient check */

typedef struct frac_ctx {
    fv_pool_geom g;
    const int32_t *seq;
    double *x;
    int32_t arg[2 * 3 * 7 * 7];
} frac_ctx;

static void frac_fwd(void *ctx, double *y)
{
    frac_ctx *c = ctx;
    fv_ref_fracpool_fwd_f64(&c->g, 2, c->seq, c->x, y, c->arg);
}

/* The regions of 2 x 3 planes: windows (k > 0) or disjoint regions (pseudo-random or random). */
static void fill_seq(const fv_pool_geom *g, int kind, int32_t *seq)
{
    fv_rng r;
    fv_rng_seed(&r, 3);
    for (int p = 0; p < 2 * g->c; p++) {
        int32_t *rows = seq + p * (g->oh + g->ow + 2), *cols = rows + g->oh + 1;
        float uh = (float)(p + 1) / 7.0f, uw = (float)(6 - p) / 6.5f;
        if (kind == 0) {
            fv_fracpool_window_seq(uh, g->h, g->oh, g->kh, rows);
            fv_fracpool_window_seq(uw, g->w, g->ow, g->kw, cols);
        } else if (kind == 1) {
            fv_fracpool_pseudo_seq(uh, g->h, g->oh, rows);
            fv_fracpool_pseudo_seq(uw, g->w, g->ow, cols);
        } else {
            fv_fracpool_random_seq(&r, g->h, g->oh, rows);
            fv_fracpool_random_seq(&r, g->w, g->ow, cols);
        }
    }
}

TEST(gradcheck_in_double)
{
    for (int kind = 0; kind < 3; kind++) {
        fv_pool_geom g = {.c = 3, .h = 10, .w = 9, .oh = kind ? 7 : 6, .ow = kind ? 5 : 7};
        g.kh = g.kw = kind ? 0 : 2;
        if (kind == 0)
            g.kw = 3;
        int32_t seq[2 * 3 * (7 + 7 + 2)];
        fill_seq(&g, kind, seq);
        enum { NX = 2 * 3 * 10 * 9 };
        int ny = 2 * 3 * g.oh * g.ow;
        double x[NX], r[2 * 3 * 7 * 7], dx[NX] = {0}, y[2 * 3 * 7 * 7];
        unsigned s = 5;
        for (int i = 0; i < NX; i++) /* distinct values 1e-2 apart: no ties within h */
            x[i] = (double)((i * 113) % NX) / 100.0 - 2.0;
        gc_fill(r, ny, -1, 1, &s);
        frac_ctx c = {.g = g, .seq = seq, .x = x};
        frac_fwd(&c, y);
        fv_ref_maxpool_bwd_f64(&g, 2, r, c.arg, dx);
        CHECK(gc_compare(&c, frac_fwd, x, NX, ny, r, dx, GC_H) <= GC_TOL);
    }
}

/* ---------------------------------------------------------------- model format and errors */

static const char *const model_text =
    "input shape=3,12,12\n"
    "fractional_maxpool2d kernel_size=2 output_ratio=0.7 name=a\n"
    "FractionalMaxPool2d output_size=6,5 sequence=random name=b\n"
    "fractional_maxpool2d pool_size=0 output_size=4 sequence=pseudorandom name=c\n"
    "fractional_maxpool2d kernel_size=(2,1) output_ratio=(0.5,0.75) name=d\n";

/* The same model through the C API. */
static fv_model *api_model(void)
{
    fv_model *m = fv_model_new("fp");
    int x = fv_input(m, .ndim = 3, .dims = {3, 12, 12});
    x = fv_fractional_maxpool2d(m, x, .size = 2, .ratio = 0.7, .name = "a");
    x = fv_fractional_maxpool2d(m, x, .output_h = 6, .output_w = 5, .random = 1, .name = "b");
    x = fv_fractional_maxpool2d(m, x, .output_size = 4, .name = "c");
    x = fv_fractional_maxpool2d(m, x, .size_h = 2, .size_w = 1, .ratio_h = 0.5, .ratio_w = 0.75,
                                .name = "d");
    CHECK(x > 0);
    return m;
}

TEST(model_format_round_trip)
{
    fv_model *t = fv_model_parse(model_text, "fp.fv"), *a = api_model();
    CHECK(t != NULL);
    if (!t) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(a);
        return;
    }
    CHECK(t->nnodes == a->nnodes);
    static const int64_t want[4][3] = {{3, 8, 8}, {3, 6, 5}, {3, 4, 4}, {3, 2, 3}};
    for (int i = 1; i < t->nnodes && i < a->nnodes; i++) {
        const fv_node *p = &t->nodes[i], *q = &a->nodes[i];
        CHECK(p->op == FV_OP_FRACPOOL && strcmp(p->name, q->name) == 0);
        CHECK(memcmp(&p->a.frac, &q->a.frac, sizeof p->a.frac) == 0);
        CHECK(memcmp(p->dims, want[i - 1], sizeof want[0]) == 0 &&
              memcmp(p->dims, q->dims, sizeof p->dims) == 0);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    CHECK(out && fv_model_summary(t, out) == FV_OK);
    if (out)
        fclose(out);
    CHECK(buf && strstr(buf, "FractionalMaxPool2d"));
    free(buf);
    fv_model_free(t), fv_model_free(a);
}

/* A model of `input shape=3,12,12` and `line` must fail with an error holding `want`. */
static void bad_line(const char *line, const char *want)
{
    char text[256];
    snprintf(text, sizeof text, "input shape=3,12,12\n%s\n", line);
    fv_model *m = fv_model_parse(text, "bad.fv");
    CHECK(m == NULL);
    fv_model_free(m);
    if (!strstr(fv_last_error(), want) || !strstr(fv_last_error(), "bad.fv:2: "))
        fprintf(stderr, "  for '%s':\n", line);
    CHECK_ERR_HAS(want);
    CHECK_ERR_HAS("bad.fv:2: ");
}

TEST(model_format_errors)
{
    bad_line("fractional_maxpool2d output_ratio=1.5", "output_ratio=1.5: expected R or RH,RW");
    bad_line("fractional_maxpool2d output_ratio=0,0.5", "numbers in (0, 1)");
    bad_line("fractional_maxpool2d output_ratio=nan", "numbers in (0, 1)");
    bad_line("fractional_maxpool2d output_ratio=0.5,0.5,0.5", "numbers in (0, 1)");
    bad_line("fractional_maxpool2d output_size=8 sequence=shuffled",
             "expected pseudorandom or random");
    bad_line("fractional_maxpool2d kernel_size=-1 output_size=8", "(integers >= 0)");
    bad_line("fractional_maxpool2d output_size=0", "expected N or H,W (positive integers)");
    bad_line("fractional_maxpool2d output_size=8 strides=2", "unknown argument 'strides'");
    bad_line("fractional_maxpool2d output_size=8 output_size=8", "given twice");
    bad_line("fractional_maxpool2d name=f kernel_size=2 output_size=8 output_ratio=0.5",
             "layer 'f': give an output size or an output ratio, not both");
    bad_line("fractional_maxpool2d kernel_size=2", "needs an output size, or an output ratio");
    bad_line("fractional_maxpool2d kernel_size=2 output_size=4 sequence=random",
             "a random sequence needs disjoint regions");
    bad_line("fractional_maxpool2d kernel_size=0,2 output_size=8",
             "0 on both axes for disjoint regions");
    bad_line("fractional_maxpool2d output_size=5", "layer 'fractional_maxpool2d1': disjoint "
             "regions need input height / 2 <= output <= input, got output 5 for input 12");
    bad_line("fractional_maxpool2d output_size=12,13", "width / 2 <= output <= input");
    bad_line("fractional_maxpool2d name=w kernel_size=3 output_size=11",
             "layer 'w': output height 11 with a window of 3 needs 1 <= output <= 10");
    bad_line("fractional_maxpool2d kernel_size=2 output_ratio=0.05", "output height 0");
}

TEST(hook_errors)
{
    fv_model *m = fv_model_new("h");
    int in = fv_input(m, .ndim = 3, .dims = {1, 6, 6});
    int f = fv_fractional_maxpool2d(m, in, .size = 2, .output_size = 3);
    CHECK(f > 0 && fv_model_compile(m, .loss = FV_LOSS_NONE, .output = f) == FV_OK);
    float u[4] = {0.25f, 0.5f, 0.75f, 1.0f};
    CHECK_STATUS(fv_fracpool_set_samples(m, f, u, 1), FV_ERR_STATE); /* not planned */
    CHECK_STATUS(fv_graph_plan(m, 2), FV_OK);
    CHECK_STATUS(fv_fracpool_set_samples(m, in, u, 1), FV_ERR_INVALID);
    CHECK_ERR_HAS("is not a fractional max pooling layer");
    CHECK_STATUS(fv_fracpool_set_samples(m, f, u, 3), FV_ERR_STATE);
    CHECK_STATUS(fv_fracpool_set_samples(m, f, u, 2), FV_ERR_INVALID);
    CHECK_ERR_HAS("sample 3 is 1, outside [0, 1)");
    CHECK_STATUS(fv_fracpool_set_samples(m, f, u, 1), FV_OK);
    CHECK_STATUS(fv_fracpool_set_samples(m, f, NULL, 0), FV_OK);
    const float *pu;
    const int32_t *r, *c;
    CHECK_STATUS(fv_fracpool_plane(m, f, 2, &pu, &r, &c), FV_ERR_STATE);
    CHECK_STATUS(fv_fracpool_plane(m, 99, 0, &pu, &r, &c), FV_ERR_INVALID);
    fv_model_free(m);
}

int main(void)
{
    RUN(matches_pytorch_with_its_samples);
    RUN(disjoint_regions_follow_the_paper);
    RUN(regions_follow_the_seed);
    RUN(disjoint_extremes);
    RUN(trains_reproducibly);
    RUN(gradcheck_in_double);
    RUN(model_format_round_trip);
    RUN(model_format_errors);
    RUN(hook_errors);
    TEST_MAIN_END();
}
