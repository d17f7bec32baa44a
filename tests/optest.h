/* optest.h - run one op (or a small graph) through the engine against a PyTorch golden file.
 *
 * Golden files (tests/data/golden/<case>.safetensors, written by tests/golden/gen_*.py) hold
 *   "x"  the input (N, ...), "y" the output, "dy" the output gradient fed to backward,
 *   "dx" the input gradient, "<param name>" each parameter (e.g. "conv.weight") and
 *   "grad.<param name>" its gradient.
 * Use: build a model with fv_input + the op, call ot_golden(m, in, out, "case", atol, rtol), or
 * ot_golden_layer, which also checks that the layer was made and frees the model. */
#ifndef FV_OPTEST_H
#define FV_OPTEST_H

#include "core/internal.h"
#include "gradcheck.h"
#include "graph/graph.h"
#include "io/io.h"
#include "test.h"

/* Compiles m without a loss, copies parameters from f, plans for n samples, runs forward from x and
 * backward from dy. Returns 0 on success. */
static inline int ot_run(fv_model *m, int in, int out, const fv_st_file *f, int n, const float *x,
                         const float *dy)
{
    m->input_grad = 1;
    if (!m->compiled && fv_model_compile(m, .loss = FV_LOSS_NONE, .output = out) != FV_OK)
        return fprintf(stderr, "compile: %s\n", fv_last_error()), -1;
    for (int i = 0; f && i < m->nparams; i++) {
        fv_tensor *t = fv_st_get(f, m->params[i].name);
        if (!t)
            return fprintf(stderr, "golden lacks %s\n", m->params[i].name), -1;
        if (fv_tensor_numel(t) != m->params[i].numel)
            return fprintf(stderr, "golden %s has the wrong size\n", m->params[i].name), -1;
        memcpy(m->data_slab + m->params[i].offset, t->data,
               sizeof(float) * (size_t)m->params[i].numel);
        fv_tensor_free(t);
    }
    if (fv_graph_plan(m, n) != FV_OK)
        return fprintf(stderr, "plan: %s\n", fv_last_error()), -1;
    memcpy(m->nodes[in].y, x, sizeof(float) * (size_t)(n * m->nodes[in].size));
    fv_graph_forward(m, n, out);
    fv_graph_zero_grads(m, n);
    if (dy) {
        memcpy(m->nodes[out].dy, dy, sizeof(float) * (size_t)(n * m->nodes[out].size));
        fv_graph_run_backward(m, n);
    }
    return 0;
}

/* Opens golden case `name` (tests/data/golden/<name>.safetensors); a failed check and NULL if it
 * cannot. */
static inline fv_st_file *ot_open_golden(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    CHECK(f != NULL);
    if (!f)
        fprintf(stderr, "%s\n", fv_last_error());
    return f;
}

/* Checks y, dx and every parameter gradient of a one-input graph against golden case `name`. */
static inline void ot_golden(fv_model *m, int in, int out, const char *name, double atol,
                             double rtol)
{
    fv_st_file *f = ot_open_golden(name);
    if (!f)
        return;
    fv_tensor *x = fv_st_get(f, "x"), *y = fv_st_get(f, "y"), *dy = fv_st_get(f, "dy");
    fv_tensor *dx = fv_st_get(f, "dx");
    CHECK(x && y && dy && dx);
    if (x && y && dy && dx) {
        int n = (int)x->dims[0];
        CHECK(ot_run(m, in, out, f, n, x->data, dy->data) == 0);
        CHECK(fv_tensor_numel(y) == n * m->nodes[out].size);
        if (fv_tensor_numel(y) == n * m->nodes[out].size) {
            CHECK_ARRAY_NEAR(m->nodes[out].y, y->data, fv_tensor_numel(y), atol, rtol);
            CHECK_ARRAY_NEAR(m->nodes[in].dy, dx->data, fv_tensor_numel(dx), atol, rtol);
        }
        for (int i = 0; i < m->nparams; i++) {
            if (!m->params[i].trainable)
                continue;
            char gname[128];
            snprintf(gname, sizeof gname, "grad.%s", m->params[i].name);
            fv_tensor *g = fv_st_get(f, gname);
            CHECK(g != NULL);
            if (g) {
                CHECK_ARRAY_NEAR(m->grad_slab + m->params[i].offset, g->data, fv_tensor_numel(g),
                                 atol, rtol);
                fv_tensor_free(g);
            }
        }
    }
    fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(dy), fv_tensor_free(dx);
    fv_st_close(f);
}

/* sum_i r_i y_i after a forward of n samples to node out; rng_seed >= 0 reseeds the model's RNG
 * first (the same dropout mask every time). */
static inline double ot_weighted_output(fv_model *m, int out, int n, const double *r, int64_t ny,
                                        int rng_seed)
{
    if (rng_seed >= 0)
        fv_rng_seed(&m->rng, (uint64_t)rng_seed);
    fv_graph_forward(m, n, out);
    double l = 0;
    for (int64_t i = 0; i < ny; i++)
        l += r[i] * m->nodes[out].y[i];
    return l;
}

/* The input gradient of a graph that is linear in its input, against central differences with
 * h = 1, exact in float and in double on dyadic values: plans m for n samples, sets input value
 * i to x_at(i) and the output weights r (gc_fill from `seed`, rounded to eighths), runs backward
 * from r and returns the largest relative error over the input (said on stderr when above
 * GC_TOL). rng_seed >= 0: the model's RNG is reseeded with it before every forward. */
static inline double ot_linear_gradcheck(fv_model *m, int in, int out, int n,
                                         float (*x_at)(int64_t i), unsigned seed, int rng_seed)
{
    m->input_grad = 1;
    CHECK_STATUS(fv_graph_plan(m, n), FV_OK);
    int64_t nx = n * m->nodes[in].size, ny = n * m->nodes[out].size;
    float *x = m->nodes[in].y;
    double *r = malloc(sizeof(double) * (size_t)ny), worst = 0;
    gc_fill(r, ny, -1, 1, &seed);
    for (int64_t i = 0; i < ny; i++)
        r[i] = round(r[i] * 8) / 8;
    for (int64_t i = 0; i < nx; i++)
        x[i] = x_at(i);
    ot_weighted_output(m, out, n, r, ny, rng_seed);
    fv_graph_zero_grads(m, n);
    for (int64_t i = 0; i < ny; i++)
        m->nodes[out].dy[i] = (float)r[i];
    fv_graph_run_backward(m, n);
    for (int64_t j = 0; j < nx; j++) {
        float keep = x[j];
        x[j] = keep + 1.0f;
        double lp = ot_weighted_output(m, out, n, r, ny, rng_seed);
        x[j] = keep - 1.0f;
        double lm = ot_weighted_output(m, out, n, r, ny, rng_seed);
        x[j] = keep;
        double num = (lp - lm) / 2, ana = m->nodes[in].dy[j];
        double err = fabs(num - ana) / fmax(1e-3, fabs(num) + fabs(ana));
        worst = err > worst ? err : worst;
    }
    if (worst > GC_TOL)
        fprintf(stderr, "  worst relative error %g\n", worst);
    free(r);
    return worst;
}

/* The model text parses to (the caller frees it), or NULL with a failed check and the error on
 * stderr. */
static inline fv_model *ot_parse(const char *text, const char *file)
{
    fv_model *m = fv_model_parse(text, file);
    CHECK(m != NULL);
    if (!m)
        fprintf(stderr, "%s: %s\n", file, fv_last_error());
    return m;
}

/* fv_model_summary's text of m (the caller frees it), or NULL with a failed check. */
static inline char *ot_summary(const fv_model *m)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL);
    if (!f)
        return NULL;
    CHECK_STATUS(fv_model_summary(m, f), FV_OK);
    fclose(f);
    return buf;
}

/* A text model that must be refused: the prefix's layers, then `line`; its error contains `want`. */
typedef struct ot_refusal {
    const char *line, *want;
} ot_refusal;

/* Each case's text (prefix, line, "\n") is refused by fv_model_parse(text, file) with an error of
 * one line that contains want and, unless NULL, `also`; names the case on stderr otherwise. */
static inline void ot_parse_refused(const char *prefix, const char *file, const char *also,
                                    const ot_refusal *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char text[512];
        snprintf(text, sizeof text, "%s%s\n", prefix, cases[i].line);
        fv_model *m = fv_model_parse(text, file);
        const char *e = fv_last_error();
        int ok = !m && strstr(e, cases[i].want) && (!also || strstr(e, also)) && t_one_line(e);
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  %s: %s\n", cases[i].line, m ? "(parsed)" : e);
        fv_model_free(m);
    }
}
#define OT_PARSE_REFUSED(prefix, file, also, cases) \
    ot_parse_refused(prefix, file, also, cases, sizeof cases / sizeof cases[0])

/* The shape of a named node equals want[0..ndim) (one sample's; SHAPE_IS(m, "c", 6, 4, 4)). */
static inline int ot_shape_is(const fv_model *m, const char *name, int ndim, const int64_t *want)
{
    int id = fv_model_find_node(m, name);
    int64_t dims[4];
    if (id < 0 || fv_node_shape(m, id, dims) != ndim) {
        fprintf(stderr, "node '%s': missing or wrong rank\n", name);
        return 0;
    }
    for (int i = 0; i < ndim; i++)
        if (dims[i] != want[i]) {
            fprintf(stderr, "node '%s': dim %d is %lld, expected %lld\n", name, i,
                    (long long)dims[i], (long long)want[i]);
            return 0;
        }
    return 1;
}
#define SHAPE_IS(m, name, ...)                                                      \
    CHECK(ot_shape_is((m), (name), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                   (int64_t[]){__VA_ARGS__}))

/* Checks that the op table's entry for op is def, named `name`, of summary type `kind`. */
static inline void ot_op_def_is(fv_op op, const fv_op_def *def, const char *name, const char *kind)
{
    CHECK(fv_op_table[op] == def);
    CHECK(strcmp(def->name, name) == 0);
    CHECK(strcmp(def->kind, kind) == 0);
}

/* The internal API checks the attributes too: op with all-zero attributes on an input of
 * dims[0..ndim) is refused as layer 'raw', leaving the graph as it was, with `needle` in the
 * error. */
static inline void ot_zero_attr_refused(fv_op op, int ndim, const int64_t *dims,
                                        const char *needle)
{
    fv_model *m = fv_model_new("e");
    int x = fv_graph_add_input(m, ndim, dims, "input1");
    fv_attr a;
    memset(&a, 0, sizeof a);
    CHECK(fv_graph_add(m, op, 1, &x, &a, "raw") < 0);
    CHECK_ERR_HAS(needle);
    CHECK(m->nnodes == 1);
    fv_model_free(m);
}

/* Whether layer `got` is node `want`, a failed check and m freed if not. */
static inline int ot_node_is(fv_model *m, int got, int want)
{
    CHECK(got == want);
    if (got != want)
        fv_model_free(m);
    return got == want;
}

/* The golden check of a model just built: layer `out` was made (> 0), then ot_golden against case
 * `name`, naming the case on stderr when any of these checks fails; frees m. */
static inline void ot_golden_layer(fv_model *m, int in, int out, const char *name, double atol,
                                   double rtol)
{
    int before = t_cur_failed;
    t_cur_failed = 0;
    CHECK(out > 0);
    if (out > 0)
        ot_golden(m, in, out, name, atol, rtol);
    if (t_cur_failed)
        fprintf(stderr, "  case %s\n", name);
    t_cur_failed |= before;
    fv_model_free(m);
}

/* A golden case of one layer given as a text line on an input of shape dims[0..ndim). */
typedef struct ot_text_case {
    const char *name, *line;
    int ndim;
    int64_t dims[4];
} ot_text_case;

/* ot_golden_layer for each of n text cases. */
static inline void ot_golden_text_cases(const ot_text_case *cases, size_t n, double atol,
                                        double rtol)
{
    for (size_t i = 0; i < n; i++) {
        fv_model *m = fv_model_new("text");
        fv_input_args a = {.ndim = cases[i].ndim};
        memcpy(a.dims, cases[i].dims, sizeof a.dims);
        int in = fv_input_(m, a);
        int out = fv_layer_text(m, in, cases[i].line);
        ot_golden_layer(m, in, out, cases[i].name, atol, rtol);
    }
}

#endif
