/* test_init.c - the weight initializers (fv_init; core/init.c): for every initializer on the
 * weights of dense, conv2d (plain and grouped) and conv2d_transpose layers, the bound or std
 * equals PyTorch's for that shape (tests/data/golden/init_defs.txt, tests/golden/gen_init.py)
 * and the values drawn have its mean, variance and bounds (within 5 standard errors of each
 * estimator); orthogonal weights have W W^T = gain^2 I; the default stays Glorot-uniform drawn
 * as before; draws are deterministic per seed; constants and bias initializers; separable
 * convolutions; the text format reads, writes and round-trips the arguments; malformed values
 * in the text and the C API are one-line errors naming the layer. */
#include "core/internal.h"
#include "optest.h"
#include "test.h"

#include <stdint.h>

/* ---------------------------------------------------------------- building the cases */

typedef struct init_args {
    fv_init init, bias_init;
    float value, bias_value, gain;
    int fan_out;
} init_args;

#define INIT_FIELDS(a)                                                                       \
    .init = (a)->init, .bias_init = (a)->bias_init, .init_value = (a)->value,                \
    .bias_value = (a)->bias_value, .init_gain = (a)->gain, .init_fan_out = (a)->fan_out

/* A model of the input and one layer of case c (the weight shapes of gen_init.py's modules);
 * -1 when the layer call fails. */
static int add_case(fv_model *m, const char *c, const init_args *a)
{
    int tall = strcmp(c, "dense_tall") == 0;
    if (strcmp(c, "dense") == 0 || tall) {
        fv_input(m, .ndim = 1, .dims = {tall ? 64 : 512});
        return fv_dense(m, FV_LAST, .units = 256, .name = "layer", INIT_FIELDS(a));
    }
    if (strcmp(c, "conv") == 0 || strcmp(c, "conv_groups") == 0) {
        fv_input(m, .ndim = 3, .dims = {32, 6, 6});
        return fv_conv2d(m, FV_LAST, .filters = 64, .kernel = 3, .name = "layer",
                         .groups = strcmp(c, "conv") == 0 ? 1 : 4, INIT_FIELDS(a));
    }
    if (strcmp(c, "conv_transpose") == 0) {
        fv_input(m, .ndim = 3, .dims = {32, 4, 4});
        return fv_conv2d_transpose(m, FV_LAST, .filters = 64, .kernel = 3, .name = "layer",
                                   INIT_FIELDS(a));
    }
    return -1;
}

/* The compiled model of case c, or NULL (with a message). */
static fv_model *build(const char *c, const init_args *a, uint64_t seed)
{
    fv_model *m = fv_model_new("init");
    if (add_case(m, c, a) < 0 || fv_model_compile(m, .seed = seed) != FV_OK) {
        fprintf(stderr, "%s: %s\n", c, fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static const float *param_data(const fv_model *m, int i)
{
    fv_param_info p;
    return fv_model_param(m, i, &p) == FV_OK ? p.data : NULL;
}

/* ---------------------------------------------------------------- statistics */

/* Whether the n values of w fit distribution dist (FV_DIST_*) with scale s: the mean and the
 * second moment within 5 standard errors of their estimators; uniform and truncated values
 * inside the bound, the largest as close to it as n draws put it (missing it has probability
 * e^-40); plain normals with the share beyond 2 s of N(0, s^2), truncated ones with none. */
static int draws_fit(const float *w, int64_t n, int dist, double s, const char *what)
{
    double sum = 0, sq = 0, amax = 0;
    int64_t beyond = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = w[i];
        sum += v, sq += v * v, amax = fmax(amax, fabs(v));
        beyond += fabs(v) > 2 * s * (1 + 1e-6);
    }
    const double c = 2, phi = exp(-c * c / 2) / sqrt(2 * 3.14159265358979323846), z = erf(c / sqrt(2));
    double e2, e4, hi = INFINITY, lo = 0, p_beyond = erfc(c / sqrt(2));
    if (dist == FV_DIST_UNIFORM) {
        e2 = s * s / 3, e4 = pow(s, 4) / 5, hi = s, lo = s * (1 - 40.0 / (double)n);
        p_beyond = 0;
    } else if (dist == FV_DIST_NORMAL) {
        e2 = s * s, e4 = 3 * pow(s, 4);
    } else { /* N(0, 1) truncated to [-c, c]: E z^2, E z^4; density of |z| at c is 2 phi / z */
        double z2 = 1 - 2 * c * phi / z, z4 = 3 * z2 - 2 * c * c * c * phi / z;
        e2 = s * s * z2, e4 = pow(s, 4) * z4, hi = c * s;
        lo = s * (c - 40.0 / (2 * phi / z * (double)n)), p_beyond = 0;
    }
    double mean = sum / (double)n, m2 = sq / (double)n, share = (double)beyond / (double)n;
    int ok = fabs(mean) <= 5 * sqrt(e2 / (double)n) &&
             fabs(m2 - e2) <= 5 * sqrt((e4 - e2 * e2) / (double)n) &&
             amax <= hi * (1 + 1e-6) && amax >= lo &&
             fabs(share - p_beyond) <= 5 * sqrt(p_beyond * (1 - p_beyond) / (double)n);
    if (!ok)
        fprintf(stderr, "%s: mean %g, E w^2 %g (expected %g), max |w| %g (in [%g, %g]), share "
                "beyond 2 s %g (expected %g)\n", what, mean, m2, e2, amax, lo, hi, share,
                p_beyond);
    return ok;
}

/* The largest |G - gain^2 I| of the Gram matrix of w as rows x cols: W W^T when rows <= cols,
 * else W^T W. */
static double orthogonality_error(const float *w, int64_t rows, int64_t cols, double gain)
{
    int wide = rows <= cols;
    int64_t k = wide ? rows : cols, len = wide ? cols : rows;
    double worst = 0;
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j <= i; j++) {
            double dot = 0;
            for (int64_t t = 0; t < len; t++)
                dot += (double)(wide ? w[i * cols + t] : w[t * cols + i]) *
                       (double)(wide ? w[j * cols + t] : w[t * cols + j]);
            worst = fmax(worst, fabs(dot - (i == j ? gain * gain : 0)));
        }
    return worst;
}

/* ---------------------------------------------------------------- PyTorch's definitions */

typedef struct golden_row {
    char c[32], init[32], mode[16], dist[16];
    double gain, scale;
} golden_row;

static int dist_of(const char *d)
{
    return strcmp(d, "uniform") == 0     ? FV_DIST_UNIFORM
           : strcmp(d, "normal") == 0    ? FV_DIST_NORMAL
           : strcmp(d, "truncated") == 0 ? FV_DIST_TRUNCATED
           : strcmp(d, "orthogonal") == 0 ? FV_DIST_ORTHOGONAL
                                          : -1;
}

/* One row: the layer built with that initializer has PyTorch's weight shape (dims), its
 * definition gives PyTorch's number for the layer's fans, and the draws fit it. */
static int check_row(const golden_row *g, const int64_t *dims, int ndim)
{
    init_args a = {.init = (fv_init)fv_init_from_name(g->init), .gain = (float)g->gain,
                   .fan_out = strcmp(g->mode, "fan_out") == 0};
    if (g->gain == 1 || (a.init != FV_INIT_GLOROT_UNIFORM && a.init != FV_INIT_GLOROT_NORMAL &&
                         a.init != FV_INIT_XAVIER_NORMAL && a.init != FV_INIT_ORTHOGONAL))
        a.gain = 0; /* the default; and init_gain= belongs to the gained initializers only */
    fv_model *m = build(g->c, &a, 11);
    if (!m)
        return 0;
    const fv_param *p = &m->params[0];
    char what[160];
    snprintf(what, sizeof what, "%s %s gain %g %s", g->c, g->init, g->gain, g->mode);
    int ok = p->ndim == ndim && memcmp(p->dims, dims, sizeof(int64_t) * (size_t)ndim) == 0;
    fv_init_rule r = {.kind = a.init, .gain = (float)g->gain, .fan_out = a.fan_out};
    double s, want = g->scale * ((double)(float)g->gain / g->gain); /* the gain is a float */
    int dist = fv_init_scale(&r, p->fan_in, p->fan_out, &s);
    ok = ok && dist == dist_of(g->dist) && fabs(s - want) <= 1e-12 * want;
    if (!ok)
        fprintf(stderr, "%s: distribution %d scale %.17g, PyTorch's %s %.17g\n", what, dist, s,
                g->dist, g->scale);
    const float *w = param_data(m, 0);
    if (ok && dist == FV_DIST_ORTHOGONAL) {
        double err = orthogonality_error(w, dims[0], p->numel / dims[0], g->gain);
        ok = err <= 2e-5 * g->gain * g->gain;
        if (!ok)
            fprintf(stderr, "%s: |W W^T - gain^2 I| = %g\n", what, err);
    } else if (ok) {
        ok = draws_fit(w, p->numel, dist, g->scale, what);
    }
    fv_model_free(m);
    return ok;
}

TEST(definitions_and_draws_match_pytorch)
{
    FILE *f = fopen(t_src_path("data/golden/init_defs.txt"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[256], shape_of[32] = "";
    int64_t dims[4];
    int ndim = 0, rows = 0, failed = 0;
    while (fgets(line, sizeof line, f)) {
        golden_row g;
        long long d[4];
        int k;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "shape %31s %lld %lld %lld %lld", shape_of, &d[0], &d[1], &d[2],
                   &d[3]) >= 3) {
            ndim = sscanf(line, "shape %*s %lld %lld %lld %lld", &d[0], &d[1], &d[2], &d[3]);
            for (k = 0; k < ndim; k++)
                dims[k] = d[k];
            continue;
        }
        CHECK(sscanf(line, "%31s %31s %lf %15s %15s %lf", g.c, g.init, &g.gain, g.mode, g.dist,
                     &g.scale) == 6 && strcmp(g.c, shape_of) == 0);
        rows++;
        failed += !check_row(&g, dims, ndim);
    }
    fclose(f);
    CHECK(rows == 5 * 18 && failed == 0);
}

/* ---------------------------------------------------------------- the default and seeds */

/* The default weight is Glorot-uniform drawn exactly as before initializers were arguments:
 * (2 u - 1) sqrt(6 / (fan_in + fan_out)) in parameter order from the compile seed, biases 0;
 * init=glorot_uniform is the same. */
TEST(default_is_glorot_uniform_as_before)
{
    init_args none = {0}, glorot = {.init = FV_INIT_GLOROT_UNIFORM};
    fv_model *a = build("dense", &none, 5), *b = build("dense", &glorot, 5);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    fv_rng r;
    fv_rng_seed(&r, 5);
    const float *w = param_data(a, 0), *bias = param_data(a, 1);
    int same = 1;
    for (int64_t i = 0; i < 256 * 512; i++)
        same &= w[i] == (float)((2.0 * fv_rng_uniform(&r) - 1.0) * sqrt(6.0 / (512 + 256)));
    CHECK(same);
    for (int i = 0; i < 256; i++)
        same &= bias[i] == 0;
    CHECK(same);
    CHECK(memcmp(w, param_data(b, 0), sizeof(float) * 256 * 512) == 0);
out:
    fv_model_free(a);
    fv_model_free(b);
}

TEST(draws_are_deterministic_per_seed)
{
    for (int k = FV_INIT_GLOROT_UNIFORM; k <= FV_INIT_ORTHOGONAL; k++) {
        init_args a = {.init = (fv_init)k};
        fv_model *x = build("conv", &a, 3), *y = build("conv", &a, 3), *z = build("conv", &a, 4);
        CHECK(x && y && z);
        if (x && y && z) {
            size_t bytes = sizeof(float) * (size_t)x->params[0].numel;
            CHECK(memcmp(param_data(x, 0), param_data(y, 0), bytes) == 0);
            CHECK(memcmp(param_data(x, 0), param_data(z, 0), bytes) != 0);
        }
        fv_model_free(x), fv_model_free(y), fv_model_free(z);
    }
    /* orthogonal weights are made by workers together, but not by their number */
    init_args o = {.init = FV_INIT_ORTHOGONAL};
    int threads = fv_num_threads();
    CHECK_STATUS(fv_set_num_threads(1), FV_OK);
    fv_model *one = build("dense", &o, 3);
    CHECK_STATUS(fv_set_num_threads(4), FV_OK);
    fv_model *four = build("dense", &o, 3);
    CHECK_STATUS(fv_set_num_threads(threads), FV_OK);
    CHECK(one && four &&
          memcmp(param_data(one, 0), param_data(four, 0), sizeof(float) * 256 * 512) == 0);
    fv_model_free(one), fv_model_free(four);
}

/* ---------------------------------------------------------------- constants and biases */

/* All n values of parameter i are v. */
static int all_are(const fv_model *m, int i, float v)
{
    fv_param_info p;
    if (fv_model_param(m, i, &p) != FV_OK)
        return 0;
    for (int64_t k = 0; k < p.numel; k++)
        if (p.data[k] != v)
            return 0;
    return 1;
}

TEST(constants_and_bias_initializers)
{
    struct {
        init_args a;
        float w, b;
    } cases[] = {
        {{.init = FV_INIT_ZEROS, .bias_init = FV_INIT_ONES}, 0, 1},
        {{.init = FV_INIT_ONES}, 1, 0},
        {{.init = FV_INIT_CONSTANT, .value = -0.3f, .bias_init = FV_INIT_CONSTANT,
          .bias_value = 0.1f}, -0.3f, 0.1f},
        {{.init = FV_INIT_CONSTANT, .bias_init = FV_INIT_ZEROS}, 0, 0},
    };
    const char *layers[] = {"dense", "conv", "conv_transpose"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (size_t j = 0; j < 3; j++) {
            fv_model *m = build(layers[j], &cases[i].a, 1);
            CHECK(m && all_are(m, 0, cases[i].w) && all_are(m, 1, cases[i].b));
            fv_model_free(m);
        }
    init_args he = {.init = FV_INIT_HE_NORMAL}; /* a random weight leaves the bias at 0 */
    fv_model *m = build("dense", &he, 1);
    CHECK(m && !all_are(m, 0, 0) && all_are(m, 1, 0));
    fv_model_free(m);
}

/* separable_conv2d: the weight initializer for both convolutions, the bias's for the 1x1 one. */
TEST(separable_takes_both_initializers)
{
    fv_model *m = fv_model_new("sep");
    fv_input(m, .ndim = 3, .dims = {3, 8, 8});
    int id = fv_separable_conv2d(m, FV_LAST, 2, .filters = 4, .kernel = 3, .name = "s",
                                 .init = FV_INIT_CONSTANT, .init_value = 0.5f,
                                 .bias_init = FV_INIT_ONES);
    CHECK(id >= 0);
    CHECK_STATUS(fv_model_compile(m), FV_OK);
    CHECK(fv_model_num_params(m) == 3);
    CHECK(all_are(m, 0, 0.5f) && all_are(m, 1, 0.5f) && all_are(m, 2, 1.0f));
    fv_model_free(m);
}

/* ---------------------------------------------------------------- the text format */

static const char init_text[] =
    "model t\n"
    "input shape=3,8,8\n"
    "conv2d filters=4 kernel_size=3 init=he_normal init_mode=fan_out bias_init=constant "
    "bias_value=-0.25 name=c\n"
    "separable_conv2d filters=4 kernel_size=3 INIT=Orthogonal init_gain=2 name=s\n"
    "conv2d_transpose filters=2 kernel_size=2 init=kaiming_uniform name=t\n"
    "flatten name=f\n"
    "dense units=5 init_gain=1.5 kernel_initializer=xavier_uniform bias_initializer=ones "
    "name=d\n"
    "dense units=3 init=constant init_value=-2 use_bias=false name=o\n";

/* Every parameter of a and b (compiled alike) has the same bits. */
static int same_weights(const fv_model *a, const fv_model *b)
{
    if (fv_model_num_params(a) != fv_model_num_params(b))
        return 0;
    for (int i = 0; i < fv_model_num_params(a); i++) {
        fv_param_info p, q;
        if (fv_model_param(a, i, &p) || fv_model_param(b, i, &q) || p.numel != q.numel ||
            memcmp(p.data, q.data, sizeof(float) * (size_t)p.numel) != 0)
            return 0;
    }
    return 1;
}

TEST(text_reads_writes_and_round_trips)
{
    fv_model *a = fv_model_parse(init_text, "t.fv");
    CHECK(a != NULL);
    if (!a) {
        fprintf(stderr, "%s\n", fv_last_error());
        return;
    }
    char *t1 = fv_model_to_text(a);
    fv_model *b = t1 ? fv_model_parse(t1, "t1.fv") : NULL;
    char *t2 = b ? fv_model_to_text(b) : NULL;
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    if (t1) { /* canonical names, defaults left out, the separable halves as two layers */
        CHECK(strstr(t1, "conv2d filters=4 kernel_size=3 init=he_normal init_mode=fan_out "
                         "bias_init=constant bias_value=-0.25 name=c\n"));
        CHECK(strstr(t1, "groups=4 use_bias=false init=orthogonal init_gain=2 name=s_dw\n"));
        CHECK(strstr(t1, "conv2d filters=4 kernel_size=1 init=orthogonal init_gain=2 name=s_pw\n"));
        CHECK(strstr(t1, "kernel_size=2 init=he_uniform name=t\n"));
        CHECK(strstr(t1, "dense units=5 init_gain=1.5 bias_init=ones name=d\n"));
        CHECK(strstr(t1, "dense units=3 use_bias=false init=constant init_value=-2 name=o\n"));
    }
    if (b) {
        CHECK_STATUS(fv_model_compile(a, .seed = 9), FV_OK);
        CHECK_STATUS(fv_model_compile(b, .seed = 9), FV_OK);
        CHECK(same_weights(a, b));
        CHECK(all_are(a, 8, 1.0f) && all_are(a, 9, -2.0f)); /* d.bias, o.weight */
    }
    free(t1), free(t2);
    fv_model_free(a), fv_model_free(b);
    /* a model without initializer arguments writes none */
    fv_model *m = fv_model_parse("input shape=4\ndense units=2\n", "plain.fv");
    char *t = m ? fv_model_to_text(m) : NULL;
    CHECK(t && !strstr(t, "init") && !strstr(t, "bias_"));
    free(t);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- malformed input */

TEST(malformed_text_is_one_line_naming_the_layer)
{
    static const ot_refusal cases[] = {
        {"init=he_nrmal name=fc", "t.fv:3: layer 'fc': init=he_nrmal is not an initializer "
                                  "(expected glorot_uniform, glorot_normal"},
        {"bias_init=bogus", "t.fv:3: layer 'dense': bias_init=bogus is not an initializer"},
        {"init=", "layer 'dense': init= is not an initializer"},
        {"kernel_initializer=1", "layer 'dense': kernel_initializer=1 is not an initializer"},
        {"init=constant init_value=nan", "t.fv:3: init_value=nan: expected a number that is "
                                         "finite"},
        {"init=constant init_value=-inf", "init_value=-inf: expected a number that is finite"},
        {"init=constant init_value=1e39", "init_value=1e39: expected a number that is finite"},
        {"bias_init=constant bias_value=nan", "bias_value=nan: expected a number"},
        {"init_gain=-1", "init_gain=-1: expected a positive number"},
        {"init_gain=0", "init_gain=0: expected a positive number"},
        {"init=orthogonal init_gain=nan", "init_gain=nan: expected a positive number"},
        {"init_mode=fan_sideways", "init_mode=fan_sideways: expected fan_in or fan_out"},
        {"init=he_normal init_gain=2 name=fc", "layer 'fc': init_gain=2 applies to glorot, "
                                               "xavier and orthogonal initializers, not he_normal"},
        {"init=he_normal init_value=0.5", "layer 'dense': init_value=0.5 needs init=constant "
                                          "(not he_normal)"},
        {"init_mode=fan_out", "init_mode=fan_out applies to he, kaiming and lecun initializers, "
                              "not glorot_uniform"},
        {"bias_init=he_normal", "bias_init=he_normal (a bias takes zeros, ones or constant)"},
        {"bias_value=0.5", "bias_value=0.5 needs bias_init=constant"},
        {"use_bias=false bias_init=ones name=fc", "layer 'fc': bias_init=ones, but the layer has "
                                                  "no bias"},
        {"init=he_normal kernel_initializer=he_uniform", "argument 'init' given twice"},
    };
    OT_PARSE_REFUSED("model t\ninput shape=8\ndense units=4 ", "t.fv", NULL, cases);
    /* a negative constant is a constant */
    fv_model *m = fv_model_parse("input shape=8\ndense units=4 init=constant init_value=-3\n",
                                 "t.fv");
    CHECK(m != NULL);
    fv_model_free(m);
}

TEST(malformed_c_arguments_are_errors)
{
    static const struct {
        init_args a;
        const char *needle;
    } cases[] = {
        {{.init = (fv_init)99}, "layer 'layer': init=99 is not an initializer"},
        {{.init = (fv_init)-1}, "layer 'layer': init=-1 is not an initializer"},
        {{.bias_init = FV_INIT__COUNT}, "bias_init=14 is not an initializer"},
        {{.bias_init = FV_INIT_ORTHOGONAL}, "bias_init=orthogonal (a bias takes zeros"},
        {{.init = FV_INIT_CONSTANT, .value = NAN}, "layer 'layer': init_value=nan must be finite"},
        {{.init = FV_INIT_CONSTANT, .value = INFINITY}, "init_value=inf must be finite"},
        {{.bias_init = FV_INIT_CONSTANT, .bias_value = NAN}, "bias_value=nan must be finite"},
        {{.gain = -1}, "init_gain=-1 must be > 0 and finite"},
        {{.init = FV_INIT_ORTHOGONAL, .gain = INFINITY}, "init_gain=inf must be > 0 and finite"},
        {{.init = FV_INIT_LECUN_NORMAL, .gain = 2}, "init_gain=2 applies to glorot"},
        {{.init = FV_INIT_ORTHOGONAL, .fan_out = 1}, "init_mode=fan_out applies to he"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_model *m = fv_model_new("bad");
        CHECK(add_case(m, "dense", &cases[i].a) < 0);
        CHECK_ERR_HAS(cases[i].needle);
        CHECK(fv_model_num_params(m) == 0);
        fv_model_free(m);
    }
    /* a bias initializer without a bias: the layer is rolled back, its name free again */
    fv_model *m = fv_model_new("nobias");
    int in = fv_input(m, .ndim = 1, .dims = {8});
    CHECK(fv_dense(m, in, .units = 4, .no_bias = 1, .bias_init = FV_INIT_ONES) < 0);
    CHECK_ERR_HAS("layer 'dense1': bias_init=ones, but the layer has no bias (use_bias=false)");
    CHECK(fv_model_num_nodes(m) == 1 && fv_model_num_params(m) == 0);
    int id = fv_dense(m, in, .units = 4);
    CHECK(id == 1 && strcmp(fv_node_name(m, id), "dense1") == 0);
    fv_model_free(m);
}

int main(void)
{
    RUN(definitions_and_draws_match_pytorch);
    RUN(default_is_glorot_uniform_as_before);
    RUN(draws_are_deterministic_per_seed);
    RUN(constants_and_bias_initializers);
    RUN(separable_takes_both_initializers);
    RUN(text_reads_writes_and_round_trips);
    RUN(malformed_text_is_one_line_naming_the_layer);
    RUN(malformed_c_arguments_are_errors);
    TEST_MAIN_END();
}
