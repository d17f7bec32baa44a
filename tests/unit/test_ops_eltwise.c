/* test_ops_eltwise.c - the wider activation catalogue (leaky ReLU, ELU, SELU, GELU, SiLU, softplus,
 * hard sigmoid, hard swish, ReLU6, log-softmax, clip) and the kinds' parameters (clip's bounds,
 * hard sigmoid's slope and offset, SELU's alpha and gamma): finite-difference gradient checks of
 * the double kernels away from the kinks, PyTorch goldens through a graph
 * (tests/golden/gen_eltwise.py), the model text format and the summary's layer types. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/act_ref.h"
#include "ops/schema.h"
#include "optest.h"
#include "test.h"

typedef struct elt_ctx {
    int act;
    double alpha, beta, *x;
    int64_t n, k;
} elt_ctx;

static void elt_fwd(void *ctx, double *y)
{
    elt_ctx *c = ctx;
    if (c->act == FV_ACT_LOG_SOFTMAX)
        fv_ref_log_softmax_fwd_f64(c->x, y, c->n / c->k, c->k);
    else
        fv_ref_eltwise_fwd_f64(c->act, c->alpha, c->beta, c->x, y, c->n);
}

/* Inputs in [-7, 7] kept 0.05 away from every kink (0, +-3, 6, the softplus threshold 20, and
 * those of the parameters: the clip bounds alpha and beta, where alpha x + beta is 0 or 1). */
static double elt_gradcheck(int act, double alpha, double beta, unsigned *seed)
{
    enum { N = 48 };
    double x[N], y[N], r[N], dx[N] = {0};
    gc_fill(x, N, -7, 7, seed);
    const double kinks[] = {0, -3, 3, 6, alpha, beta, -beta / alpha, (1 - beta) / alpha};
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 8; k++)
            if (fabs(x[i] - kinks[k]) < 0.05)
                x[i] = kinks[k] + 0.1;
    gc_fill(r, N, -1, 1, seed);
    elt_ctx c = {act, alpha, beta, x, N, 6};
    elt_fwd(&c, y);
    if (act == FV_ACT_LOG_SOFTMAX)
        fv_ref_log_softmax_bwd_f64(y, r, dx, N / 6, 6);
    else
        fv_ref_eltwise_bwd_f64(act, alpha, beta, x, y, r, dx, N);
    return gc_compare(&c, elt_fwd, x, N, N, r, dx, GC_H);
}

TEST(eltwise_gradcheck)
{
    unsigned seed = 21;
    for (int act = FV_ACT_LEAKY_RELU; act < FV_ACT__COUNT; act++) {
        double alpha = act == FV_ACT_ELU ? 0.7 : 0.2, beta = fv_act_default_beta(act);
        double err = elt_gradcheck(act, alpha, beta, &seed);
        if (err > GC_TOL)
            fprintf(stderr, "  %s: %g\n", fv_act_name(act), err);
        CHECK(err <= GC_TOL);
    }
}

/* The kinds' parameters: clip's bounds (also inverted), hard_sigmoid's slope and offset (ONNX's
 * defaults, a negative slope), selu's alpha and gamma, and their defaults given explicitly. */
TEST(eltwise_param_gradcheck)
{
    static const struct {
        int act;
        double alpha, beta;
    } k[] = {
        {FV_ACT_CLIP, -1.5, 2},          {FV_ACT_CLIP, 1, -1},
        {FV_ACT_CLIP, 0, 6},             {FV_ACT_HARD_SIGMOID, 0.2, 0.5},
        {FV_ACT_HARD_SIGMOID, -0.3, 0.6}, {FV_ACT_HARD_SIGMOID, 1.0 / 6, 0.5},
        {FV_ACT_SELU, 1.2, 0.9},         {FV_ACT_SELU, 1.6732632423543772, 1.0507009873554805},
    };
    unsigned seed = 5;
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        double err = elt_gradcheck(k[i].act, k[i].alpha, k[i].beta, &seed);
        if (err > GC_TOL)
            fprintf(stderr, "  %s(%g, %g): %g\n", fv_act_name(k[i].act), k[i].alpha, k[i].beta,
                    err);
        CHECK(err <= GC_TOL);
    }
    /* clip's gradient passes at its bounds (torch.clamp's), not outside them */
    double x[4] = {-1.5, 2, -1.6, 2.1}, y[4], dy[4] = {1, 1, 1, 1}, dx[4] = {0};
    fv_ref_eltwise_fwd_f64(FV_ACT_CLIP, -1.5, 2, x, y, 4);
    fv_ref_eltwise_bwd_f64(FV_ACT_CLIP, -1.5, 2, x, y, dy, dx, 4);
    CHECK(y[2] == -1.5 && y[3] == 2 && dx[0] == 1 && dx[1] == 1 && dx[2] == 0 && dx[3] == 0);
}

/* The parameterised kinds through the engine against PyTorch, built as the C API builds them. */
TEST(eltwise_params_match_pytorch)
{
    static const struct {
        const char *name;
        fv_act act;
        float alpha, beta;
    } k[] = {
        {"eltwise_clip", FV_ACT_CLIP, -1.5f, 2.0f},
        {"eltwise_clip_inverted", FV_ACT_CLIP, 1.0f, -1.0f},
        {"eltwise_hard_sigmoid_ab", FV_ACT_HARD_SIGMOID, 0.2f, 0.4f},
        {"eltwise_hard_sigmoid_neg", FV_ACT_HARD_SIGMOID, -0.3f, 0.65f},
        {"eltwise_selu_ag", FV_ACT_SELU, 1.2f, 0.9f},
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        fv_model *m = fv_model_new("param");
        int in = fv_input(m, .ndim = 2, .dims = {4, 5});
        int out = k[i].act == FV_ACT_CLIP
                      ? fv_clip(m, in, k[i].alpha, k[i].beta)
                      : fv_activation(m, in, k[i].act, .alpha = k[i].alpha, .beta = k[i].beta);
        ot_golden_layer(m, in, out, k[i].name, 1e-6, 1e-5);
    }
}

/* The parameters in the text format: written back as given, read back the same; what the
 * format cannot say is refused when writing; bad values name the layer and the key. */
TEST(eltwise_param_text)
{
    const char *text = "input shape=6\nclip min=0 max=6 name=c6\nclip min=-1 max=1\n"
                       "hard_sigmoid alpha=0.2 beta=0.5\nselu alpha=1.2 gamma=0.9\n"
                       "hard_sigmoid\nselu\nactivation activation=hard_sigmoid beta=0.25\n"
                       "Clamp min=2 max=-2 name=inv\n";
    fv_model *m = ot_parse(text, "p.fv");
    if (!m)
        return;
    const fv_node *c6 = &m->nodes[fv_model_find_node(m, "c6")];
    CHECK(c6->op == FV_OP_ELTWISE && c6->a.eltwise.act == FV_ACT_CLIP &&
          c6->a.eltwise.alpha == 0 && c6->a.eltwise.beta == 6);
    const fv_node *hs = c6 + 2, *se = c6 + 3, *hd = c6 + 4, *sd = c6 + 5, *h2 = c6 + 6;
    CHECK(hs->a.eltwise.alpha == 0.2f && hs->a.eltwise.beta == 0.5f);
    CHECK(se->a.eltwise.alpha == 1.2f && se->a.eltwise.beta == 0.9f);
    CHECK(hd->a.eltwise.alpha == (float)(1.0 / 6) && hd->a.eltwise.beta == 0.5f);
    CHECK(sd->a.eltwise.alpha == 1.6732632423543772f && sd->a.eltwise.beta == 1.0507009873554805f);
    CHECK(h2->a.eltwise.act == FV_ACT_HARD_SIGMOID && h2->a.eltwise.beta == 0.25f);
    char *out = fv_model_to_text(m);
    CHECK(out && strstr(out, "clip min=0 max=6 name=c6\n") &&
          strstr(out, "hard_sigmoid alpha=0.2 name=") && strstr(out, "selu alpha=1.2 gamma=0.9") &&
          strstr(out, "hard_sigmoid beta=0.25 name=") && strstr(out, "clip min=2 max=-2 name=inv"));
    fv_model *m2 = out ? fv_model_parse(out, "p2.fv") : NULL;
    char *out2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(out2 && strcmp(out, out2) == 0);
    free(out), free(out2);
    fv_model_free(m2);
    /* a beta of exactly 0 reads as the default: the writer refuses it rather than change it */
    m->nodes[fv_model_find_node(m, "inv") - 1].a.eltwise.beta = 0;
    CHECK(fv_model_to_text(m) == NULL);
    CHECK_ERR_HAS("a beta of 0");
    fv_model_free(m);
    static const ot_refusal bad[] = {
        {"clip max=1", "min"},
        {"clip min=-1 max=inf", "max=inf"},
        {"selu gamma=-1", "gamma=-1"},
        {"hard_sigmoid alpha=nan", "alpha=nan"},
    };
    OT_PARSE_REFUSED("input shape=6\n", "bad.fv", NULL, bad);
    /* and in C: the kind's own ranges */
    fv_model *mc = fv_model_new("c");
    int in = fv_input(mc, .ndim = 1, .dims = {3});
    CHECK(fv_clip(mc, in, NAN, 1, .name = "cl") < 0);
    CHECK_ERR_HAS("layer 'cl': min=nan");
    fv_model_free(mc);
    mc = fv_model_new("c");
    in = fv_input(mc, .ndim = 1, .dims = {3});
    CHECK(fv_activation(mc, in, FV_ACT_SELU, .beta = -2, .name = "s") < 0);
    CHECK_ERR_HAS("layer 's': gamma=-2");
    CHECK(fv_act_from_name("clip") == FV_ACT_CLIP);
    fv_model_free(mc);
}

static const struct {
    const char *name;
    fv_act act;
    float alpha;
} cases[] = {
    {"eltwise_leaky_relu", FV_ACT_LEAKY_RELU, 0.2f}, {"eltwise_elu", FV_ACT_ELU, 0.7f},
    {"eltwise_selu", FV_ACT_SELU, 0},                {"eltwise_gelu", FV_ACT_GELU, 0},
    {"eltwise_silu", FV_ACT_SILU, 0},                {"eltwise_softplus", FV_ACT_SOFTPLUS, 0},
    {"eltwise_hard_sigmoid", FV_ACT_HARD_SIGMOID, 0}, {"eltwise_hard_swish", FV_ACT_HARD_SWISH, 0},
    {"eltwise_relu6", FV_ACT_RELU6, 0},
};

TEST(eltwise_matches_pytorch)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_model *m = fv_model_new("elt");
        int in = fv_input(m, .ndim = 2, .dims = {4, 5});
        int out = fv_activation(m, in, cases[i].act, .alpha = cases[i].alpha);
        ot_golden_layer(m, in, out, cases[i].name, 1e-6, 1e-5);
    }
    fv_model *m = fv_model_new("lsm");
    int in = fv_input(m, .ndim = 1, .dims = {7});
    int out = fv_activation(m, in, FV_ACT_LOG_SOFTMAX);
    ot_golden_layer(m, in, out, "eltwise_log_softmax", 1e-6, 1e-5);
}

TEST(eltwise_model_file_and_summary)
{
    const char *text = "input shape=6\ndense units=4 activation=gelu\n"
                       "leaky_relu alpha=0.2 name=lr\nactivation activation=elu alpha=0.5\n"
                       "swish\nhard_swish\nrelu6\nlog_softmax name=out\n";
    fv_model *m = ot_parse(text, "elt.fv");
    if (m) {
        const fv_node *lr = &m->nodes[fv_model_find_node(m, "lr")];
        CHECK(lr->op == FV_OP_ELTWISE && lr->a.eltwise.act == FV_ACT_LEAKY_RELU &&
              lr->a.eltwise.alpha == 0.2f);
        CHECK(m->nodes[lr->in[0]].a.eltwise.act == FV_ACT_GELU);
        CHECK(m->nodes[lr->in[0]].hidden);
        const fv_node *elu = lr + 1;
        CHECK(elu->a.eltwise.act == FV_ACT_ELU && elu->a.eltwise.alpha == 0.5f);
        char *buf = ot_summary(m);
        CHECK(buf && strstr(buf, "lr (LeakyReLU)") && strstr(buf, "(HardSwish)") &&
              strstr(buf, "out (LogSoftmax)") && strstr(buf, "(SiLU)"));
        free(buf);
    }
    fv_model_free(m);
    CHECK(fv_model_parse("input shape=6\nleaky_relu alpha=-1\n", "bad.fv") == NULL);
    CHECK_ERR_HAS("bad.fv:2: ");
    CHECK_ERR_HAS("alpha");
    CHECK(fv_model_parse("input shape=6\nactivation activation=swishy\n", "bad.fv") == NULL);
    CHECK_ERR_HAS("unknown activation");
    CHECK(fv_act_from_name("hard_sigmoid") == FV_ACT_HARD_SIGMOID);
}

int main(void)
{
    RUN(eltwise_gradcheck);
    RUN(eltwise_matches_pytorch);
    RUN(eltwise_model_file_and_summary);
    RUN(eltwise_param_gradcheck);
    RUN(eltwise_params_match_pytorch);
    RUN(eltwise_param_text);
    TEST_MAIN_END();
}
