/* test_ops_eltwise.c - the wider activation catalogue (leaky ReLU, ELU, SELU, GELU, SiLU, softplus,
 * hard sigmoid, hard swish, ReLU6, log-softmax): finite-difference gradient checks of the double
 * kernels away from the kinks, PyTorch goldens through a graph (tests/golden/gen_eltwise.py), the
 * model text format and the summary's layer types. */
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
    fv_model *m = fv_model_parse(text, "elt.fv");
    CHECK(m != NULL);
    if (m) {
        const fv_node *lr = &m->nodes[fv_model_find_node(m, "lr")];
        CHECK(lr->op == FV_OP_ELTWISE && lr->a.eltwise.act == FV_ACT_LEAKY_RELU &&
              lr->a.eltwise.alpha == 0.2f);
        CHECK(m->nodes[lr->in[0]].a.eltwise.act == FV_ACT_GELU);
        CHECK(m->nodes[lr->in[0]].hidden);
        const fv_node *elu = lr + 1;
        CHECK(elu->a.eltwise.act == FV_ACT_ELU && elu->a.eltwise.alpha == 0.5f);
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        CHECK_STATUS(fv_model_summary(m, f), FV_OK);
        fclose(f);
        CHECK(strstr(buf, "lr (LeakyReLU)") && strstr(buf, "(HardSwish)") &&
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
    TEST_MAIN_END();
}
