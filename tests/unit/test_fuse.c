/* test_fuse.c - the inference pass (ops/fuse.c) and the convolution's small-batch split: a
 * convolution with batch norm and ReLU / ReLU6 fused into its epilogue gives the same outputs
 * as the three ops run one by one, and both match the direct reference convolution followed by
 * the textbook normalization and activation in double precision; over plain, strided, grouped,
 * depthwise and pointwise convolutions, a residual input added before the activation (either
 * operand order), a convolution with two consumers (not fused), batches of
 * 1 and 3 and 1 or 2 threads (one sample over two threads takes the split path, which runs a
 * 3x3 layer with enough 4x4 tiles by Winograd, split by rows of tiles), on every instruction-set
 * path of the epilogue. */
#include "core/internal.h"
#include "graph/graph.h"
#include "kernels/eltwise.h"
#include "isa_levels.h"
#include "kernels/ref/conv_ref.h"
#include "ops/ops.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>

typedef struct fuse_case {
    const char *name;
    int c, h, w, f, k, stride, pad, groups, bias, bn, act; /* act: 0 none, 1 relu, 2 relu6 */
    int res; /* the input added before the activation: 0 no, 1 add(branch, x), 2 add(x, branch) */
} fuse_case;

static const fuse_case cases[] = {
    {"conv_bn_relu", 5, 7, 6, 9, 3, 1, 1, 1, 1, 1, 1, 0},
    {"strided_bn", 4, 9, 8, 7, 3, 2, 1, 1, 0, 1, 0, 0},
    {"depthwise_bn_relu6", 6, 7, 7, 6, 3, 1, 1, 6, 0, 1, 2, 0},
    {"groups2_relu", 4, 5, 6, 6, 3, 1, 0, 2, 1, 0, 1, 0},
    {"pointwise_bn_relu6", 8, 16, 17, 12, 1, 1, 0, 1, 0, 1, 2, 0}, /* wide: split by columns */
    {"conv_relu6_wide", 3, 20, 20, 5, 3, 1, 1, 1, 1, 0, 2, 0},
    {"winograd_bn_relu", 16, 26, 30, 17, 3, 1, 1, 1, 1, 1, 1, 0}, /* 7 x 8 tiles: Winograd */
    {"residual_bn_relu", 6, 9, 8, 6, 3, 1, 1, 1, 0, 1, 1, 1},
    {"residual_first_relu", 16, 26, 30, 16, 3, 1, 1, 1, 1, 1, 1, 2}, /* and Winograd */
    {"pointwise_residual", 12, 16, 17, 12, 1, 1, 0, 1, 1, 0, 0, 1}, /* no bn, no activation */
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static float frand(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* input -> conv [-> bn] [-> add input] [-> act]; returns the model and the node ids. */
static fv_model *build(const fuse_case *k, int *conv, int *last)
{
    fv_model *m = fv_model_new("fuse");
    int x = fv_input(m, .ndim = 3, .dims = {k->c, k->h, k->w});
    *conv = fv_conv2d(m, x, .filters = k->f, .kernel = k->k, .stride = k->stride,
                      .padding = k->pad, .groups = k->groups, .no_bias = !k->bias);
    *last = *conv;
    if (k->bn)
        *last = fv_batchnorm(m, *last);
    if (k->res) {
        int ins[2] = {k->res == 1 ? *last : x, k->res == 1 ? x : *last};
        *last = fv_add(m, 2, ins);
    }
    if (k->act)
        *last = fv_activation(m, *last, k->act == 1 ? FV_ACT_RELU : FV_ACT_RELU6);
    CHECK(*last > 0 && fv_model_compile(m, .output = *last) == FV_OK);
    return m;
}

/* Random weights; batch norm's running variance in [0.5, 1.5). */
static void randomize(fv_model *m, unsigned *seed)
{
    for (int i = 0; i < m->nnodes; i++) {
        fv_node *n = &m->nodes[i];
        for (int p = 0; p < n->nparam; p++) {
            fv_param *q = &m->params[n->param[p]];
            float *d = fv_pdata(m, n, p);
            for (int64_t j = 0; j < q->numel; j++)
                d[j] = n->op == FV_OP_BATCHNORM && p == 3 ? 1.0f + 0.5f * frand(seed)
                                                          : frand(seed);
        }
    }
}

/* The expected output in double: reference convolution, normalization, activation; and for each
 * output the scale of its error: sum |w x| over the convolution's terms, times |the batch norm's
 * factor| (Winograd's error is within 1e-5 of it, winograd.h). */
static void expect(fv_model *m, const fuse_case *k, int conv, int n, double *out, double *scale)
{
    fv_node *cv = &m->nodes[conv];
    fv_conv_geom g = {.c = k->c, .h = k->h, .w = k->w, .f = k->f, .kh = k->k, .kw = k->k,
                      .sh = k->stride, .sw = k->stride, .ph = k->pad, .pw = k->pad, .dh = 1,
                      .dw = 1, .groups = k->groups};
    fv_conv_geom_init(&g);
    int64_t ohw = (int64_t)g.oh * g.ow, total = n * k->f * ohw;
    int64_t nx = n * m->nodes[m->input_node].size, nw = m->params[cv->param[0]].numel;
    float *y = malloc(sizeof(float) * (size_t)total), *s = malloc(sizeof(float) * (size_t)total);
    float *ax = malloc(sizeof(float) * (size_t)nx), *aw = malloc(sizeof(float) * (size_t)nw);
    fv_ref_conv2d_fwd_f32(m->nodes[m->input_node].y, fv_pdata(m, cv, 0),
                          k->bias ? fv_pdata(m, cv, 1) : NULL, y, n, &g);
    for (int64_t i = 0; i < nx; i++)
        ax[i] = fabsf(m->nodes[m->input_node].y[i]);
    for (int64_t i = 0; i < nw; i++)
        aw[i] = fabsf(fv_pdata(m, cv, 0)[i]);
    fv_ref_conv2d_fwd_f32(ax, aw, NULL, s, n, &g);
    fv_node *bn = k->bn ? &m->nodes[conv + 1] : NULL;
    for (int64_t i = 0; i < total; i++) {
        int f = (int)(i / ohw % k->f);
        double v = y[i], factor = 1;
        if (bn) {
            factor = fv_pdata(m, bn, 0)[f] / sqrt(fv_pdata(m, bn, 3)[f] + (double)bn->a.bn.eps);
            v = (v - fv_pdata(m, bn, 2)[f]) * factor + fv_pdata(m, bn, 1)[f];
        }
        if (k->res) /* the input, of the output's shape */
            v += m->nodes[m->input_node].y[i];
        if (k->act)
            v = v < 0 ? 0 : k->act == 2 && v > 6 ? 6 : v;
        out[i] = v;
        scale[i] = s[i] * fabs(factor);
    }
    free(y), free(s), free(ax), free(aw);
}

static int close_to(const float *got, const double *want, const double *scale, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= 1e-5 + 1e-5 * fabs(want[i]) + 1e-5 * scale[i])) {
            fprintf(stderr, "  [%lld] %.8g want %.8g\n", (long long)i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static void run_case(const fuse_case *k, int n, int threads, unsigned *seed)
{
    int conv, last;
    fv_model *m = build(k, &conv, &last);
    randomize(m, seed);
    CHECK_STATUS(fv_set_num_threads(threads), FV_OK);
    CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
    m->training = 0;
    fv_node *in = &m->nodes[m->input_node], *o = &m->nodes[last];
    for (int64_t i = 0; i < n * in->size; i++)
        in->y[i] = frand(seed);
    int64_t total = n * o->size;
    double *want = malloc(sizeof(double) * (size_t)total);
    double *scale = malloc(sizeof(double) * (size_t)total);
    expect(m, k, conv, n, want, scale);
    fv_graph_forward(m, n, -1); /* op by op */
    int ok = close_to(o->y, want, scale, total);
    for (int64_t i = 0; i < total; i++)
        o->y[i] = NAN;
    /* fused, the chain's nodes before the last are not written (one a ReLU ran in place on
     * shares the last's buffer) */
    for (int c = conv; c < last; c++)
        for (int64_t i = 0; m->nodes[c].y != o->y && i < n * m->nodes[c].size; i++)
            m->nodes[c].y[i] = NAN;
    fv_graph_infer(m, n, -1); /* fused */
    ok &= close_to(o->y, want, scale, total);
    for (int c = conv; c < last; c++)
        for (int64_t i = 0; m->nodes[c].y != o->y && i < n * m->nodes[c].size; i++)
            if (!isnan(m->nodes[c].y[i])) {
                fprintf(stderr, "  node %d's output was written: not fused\n", c);
                ok = 0;
                break;
            }
    /* every epilogue path */
    for (int l = t_isa_first(FV_KF_ELTWISE); l >= 0; l = t_isa_next(FV_KF_ELTWISE, l)) {
        for (int64_t i = 0; i < total; i++)
            o->y[i] = NAN;
        fv_graph_infer(m, n, -1);
        if (!close_to(o->y, want, scale, total))
            fprintf(stderr, "  fused, %s path\n", t_isa_name()), ok = 0;
    }
    if (!ok)
        fprintf(stderr, "  %s: batch %d, %d threads\n", k->name, n, threads);
    CHECK(ok);
    free(want), free(scale);
    fv_model_free(m);
}

TEST(fused_equals_op_by_op_and_reference)
{
    unsigned seed = 7;
    for (int i = 0; i < NCASES; i++)
        for (int n = 1; n <= 3; n += 2)
            for (int t = 1; t <= 2; t++)
                run_case(&cases[i], n, t, &seed);
    fv_set_num_threads(0);
}

/* Compiles m (output node out), draws its weights, plans two samples in evaluation mode, draws
 * the input (node x) in [-amp, amp) and runs the model op by op. */
static void run_two_samples(fv_model *m, int x, int out, unsigned *seed, float amp)
{
    CHECK(out > 0 && fv_model_compile(m, .output = out) == FV_OK);
    randomize(m, seed);
    CHECK_STATUS(fv_graph_plan(m, 2), FV_OK);
    m->training = 0;
    for (int64_t i = 0; i < 2 * m->nodes[x].size; i++)
        m->nodes[x].y[i] = amp * frand(seed);
    fv_graph_forward(m, 2, -1);
}

/* A convolution whose output also feeds an add is not fused: the add must see the raw output. */
TEST(shared_output_is_not_fused)
{
    fv_model *m = fv_model_new("branch");
    int x = fv_input(m, .ndim = 3, .dims = {2, 5, 5});
    int c = fv_conv2d(m, x, .filters = 2, .kernel = 3, .padding = 1);
    int r = fv_relu(m, c);
    int a = fv_add(m, 2, ((int[]){r, c}));
    unsigned seed = 3;
    run_two_samples(m, x, a, &seed, 1);
    float want[100];
    memcpy(want, m->nodes[a].y, sizeof want);
    fv_graph_infer(m, 2, -1);
    CHECK(memcmp(want, m->nodes[a].y, sizeof want) == 0);
    fv_model_free(m);
}

/* Two branches whose chains' nodes are interleaved, as an ONNX import orders GoogLeNet's
 * (conv1, conv2, then bn1, add, relu of branch 1, then relu6 of branch 2): both chains are
 * fused (the intermediate outputs are never written) and give the op-by-op outputs. */
TEST(chains_apart_are_fused)
{
    fv_model *m = fv_model_new("apart");
    int x = fv_input(m, .ndim = 3, .dims = {3, 6, 5});
    int c1 = fv_conv2d(m, x, .filters = 3, .kernel = 3, .padding = 1),
        c2 = fv_conv2d(m, x, .filters = 3, .kernel = 1), b1 = fv_batchnorm(m, c1);
    int a1 = fv_add(m, 2, ((int[]){x, b1})), r1 = fv_activation(m, a1, FV_ACT_RELU);
    int r2 = fv_activation(m, c2, FV_ACT_RELU6), out = fv_add(m, 2, ((int[]){r1, r2}));
    unsigned seed = 11;
    run_two_samples(m, x, out, &seed, 4);
    int64_t n = 2 * m->nodes[out].size;
    double *want = malloc(sizeof(double) * (size_t)n), *scale = malloc(sizeof(double) * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        want[i] = m->nodes[out].y[i], scale[i] = 1 + fabs(want[i]);
    int mid[] = {c1, c2, b1, a1};
    for (int k = 0; k < 4; k++)
        for (int64_t i = 0; i < 2 * m->nodes[mid[k]].size; i++)
            if (m->nodes[mid[k]].y != m->nodes[r1].y && m->nodes[mid[k]].y != m->nodes[r2].y)
                m->nodes[mid[k]].y[i] = NAN;
    fv_graph_infer(m, 2, -1);
    CHECK(close_to(m->nodes[out].y, want, scale, n));
    for (int k = 0; k < 4; k++)
        if (m->nodes[mid[k]].y != m->nodes[r1].y && m->nodes[mid[k]].y != m->nodes[r2].y)
            CHECK(isnan(m->nodes[mid[k]].y[0]));
    free(want), free(scale);
    fv_model_free(m);
}

int main(void)
{
    RUN(fused_equals_op_by_op_and_reference);
    RUN(shared_output_is_not_fused);
    RUN(chains_apart_are_fused);
    TEST_MAIN_END();
}
