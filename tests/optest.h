/* optest.h - run one op (or a small graph) through the engine against a PyTorch golden file.
 *
 * Golden files (tests/data/golden/<case>.safetensors, written by tests/golden/gen_*.py) hold
 *   "x"  the input (N, ...), "y" the output, "dy" the output gradient fed to backward,
 *   "dx" the input gradient, "<param name>" each parameter (e.g. "conv.weight") and
 *   "grad.<param name>" its gradient.
 * Use: build a model with fv_input + the op, call ot_golden(m, in, out, "case", atol, rtol). */
#ifndef FV_OPTEST_H
#define FV_OPTEST_H

#include "core/internal.h"
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

#endif
