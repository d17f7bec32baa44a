/* fv_onnx_conformance.c - the ONNX importer against ONNX's node tests (Debian's
 * libonnx-testdata: DIR/test_NAME/model.onnx with test_data_set_0/{input,output}_N.pb). Every test
 * whose ops are all ones the importer claims (fv_onnx_supported_op) is imported with its inputs
 * beyond the first bound as initializers, run on input_0 and compared with output_0 (|a - b| <=
 * atol + rtol |b|, rtol 1e-3, atol 1e-4, as ONNX's backend tests). A test outside the claims'
 * stated limits is run but counted apart (excluded): a graph without an input, a tensor that is
 * not float32 or not of rank 2 to 5 (every claim), an input of rank 5 for an op claimed up to
 * 2-D (FV_ONNX_UP_TO_2D), a refusal naming the batch axis by an op whose claim excludes it
 * (FV_ONNX_NO_BATCH_AXIS).
 * Prints "N passed, M failed" and each failure with its reason; --md FILE writes the per-op
 * table (docs/onnx.md); --min P fails (exit 1) below P percent passing among the tests not
 * excluded. Exit 77 (skipped) without DIR. */
#include "fovea.h"
#include "formats/fv_onnx.pb-c.h"
#include "slurp.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPS 64

typedef struct op_row {
    char op[40];
    char opsets[64];
    int tests, passed, excluded;
    char why[700];
} op_row;

static op_row rows[MAX_OPS];
static int nrows;

static FvOnnx__TensorProto *read_tensor(const char *dir, const char *kind, int k)
{
    char path[1300];
    snprintf(path, sizeof path, "%s/test_data_set_0/%s_%d.pb", dir, kind, k);
    long len;
    unsigned char *b = t_slurp(path, &len);
    if (!b)
        return NULL;
    FvOnnx__TensorProto *t = fv_onnx__tensor_proto__unpack(NULL, (size_t)len, b);
    free(b);
    return t;
}

/* A float TensorProto as a fovea tensor (NULL: not float). */
static fv_tensor *to_fv(const FvOnnx__TensorProto *t)
{
    if (t->data_type != FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t->n_dims < 1 ||
        t->n_dims > FV_MAX_DIMS)
        return NULL;
    int64_t dims[FV_MAX_DIMS], numel = 1;
    for (size_t k = 0; k < t->n_dims; k++)
        dims[k] = t->dims[k], numel *= t->dims[k];
    if (numel == 0)
        return NULL;
    fv_tensor *x = fv_tensor_new((int)t->n_dims, dims);
    if (!x)
        return NULL;
    if (t->has_raw_data && t->raw_data.len == (size_t)numel * 4)
        memcpy(x->data, t->raw_data.data, (size_t)numel * 4);
    else if (t->n_float_data == (size_t)numel)
        memcpy(x->data, t->float_data, (size_t)numel * 4);
    else {
        fv_tensor_free(x);
        return NULL;
    }
    return x;
}

static op_row *row(const char *op)
{
    for (int k = 0; k < nrows; k++)
        if (strcmp(rows[k].op, op) == 0)
            return &rows[k];
    if (nrows == MAX_OPS)
        return NULL;
    snprintf(rows[nrows].op, sizeof rows[nrows].op, "%s", op);
    return &rows[nrows++];
}

/* 1 + the claim's index, 0 when op is not claimed. */
static int claimed(const char *op)
{
    for (int i = 0; fv_onnx_supported_op(i); i++)
        if (strcmp(fv_onnx_supported_op(i), op) == 0)
            return i + 1;
    return 0;
}

static unsigned rules_of(const char *op)
{
    unsigned r = 0;
    int i = claimed(op);
    if (i)
        fv_onnx_claim_limits(i - 1, &r);
    return r;
}

/* Why a value lies outside every claim (not a float32 tensor of rank 2 to 5), or NULL. */
static const char *outside(const FvOnnx__ValueInfoProto *v)
{
    const FvOnnx__TypeProto *t = v->type;
    if (!t || t->value_case != FV_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
        return "a value that is not a tensor";
    if (t->tensor_type->elem_type != FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return "a tensor that is not float32";
    const FvOnnx__TensorShapeProto *s = t->tensor_type->shape;
    if (!s || s->n_dim < 2 || s->n_dim > 5)
        return "a tensor of rank outside 2 to 5 (a batch axis and 1 to 4 more)";
    return NULL;
}

/* Why test mp lies outside the claims of its ops before it runs, or NULL. */
static const char *excluded_before(const FvOnnx__ModelProto *mp)
{
    const FvOnnx__GraphProto *g = mp->graph;
    if (!g->n_input)
        return "a graph without an input";
    for (size_t k = 0; k < g->n_input + g->n_output; k++) {
        const FvOnnx__ValueInfoProto *v = k < g->n_input ? g->input[k]
                                                          : g->output[k - g->n_input];
        const char *why = k == 0 || k >= g->n_input ? outside(v) : NULL;
        if (why)
            return why;
    }
    const FvOnnx__TypeProto *t = g->n_input ? g->input[0]->type : NULL;
    int rank = t && t->tensor_type && t->tensor_type->shape ? (int)t->tensor_type->shape->n_dim
                                                            : 0;
    for (size_t k = 0; rank == 5 && k < g->n_node; k++)
        if (rules_of(g->node[k]->op_type) & FV_ONNX_UP_TO_2D)
            return "3-D (an input of rank 5)";
    return NULL;
}

/* Whether a failure is a refusal the failing op's claim excludes (the batch axis). */
static int excluded_after(const char *why)
{
    const char *p = strstr(why, "batch axis"), *op = strstr(why, "' (");
    if (!p || !op)
        return 0;
    char name[40];
    if (sscanf(op + 3, "%39[A-Za-z]", name) != 1)
        return 0;
    return (rules_of(name) & FV_ONNX_NO_BATCH_AXIS) != 0;
}

/* Runs one test; "" when it passed, else why (in buf). */
static const char *run(const char *dir, const char *name, FvOnnx__ModelProto *mp, char *buf,
                       size_t cap)
{
    FvOnnx__GraphProto *g = mp->graph;
    /* inputs beyond the first whose data the test gives become initializers */
    size_t ni = g->n_initializer, extra = 0;
    FvOnnx__TensorProto **init = malloc(sizeof *init * (ni + g->n_input + 1));
    FvOnnx__TensorProto *bound[16] = {0};
    char *own[16] = {0}; /* the bound tensors' own names, given back before they are freed */
    if (ni)
        memcpy(init, g->initializer, sizeof *init * ni);
    for (size_t k = 1; k < g->n_input && k < 16; k++) {
        bound[k] = read_tensor(dir, "input", (int)k);
        if (bound[k]) {
            own[k] = bound[k]->name;
            bound[k]->name = g->input[k]->name;
            init[ni + extra++] = bound[k];
        }
    }
    FvOnnx__TensorProto **saved = g->initializer;
    size_t saved_n = g->n_initializer;
    g->initializer = init, g->n_initializer = ni + extra;
    size_t len = fv_onnx__model_proto__get_packed_size(mp);
    uint8_t *bytes = malloc(len + 1);
    fv_onnx__model_proto__pack(mp, bytes);
    g->initializer = saved, g->n_initializer = saved_n;
    for (size_t k = 1; k < 16; k++)
        if (bound[k]) {
            bound[k]->name = own[k];
            fv_onnx__tensor_proto__free_unpacked(bound[k], NULL);
        }
    free(init);
    fv_model *m = fv_model_load_onnx_mem(bytes, len, name);
    free(bytes);
    const char *why = "";
    FvOnnx__TensorProto *ti = read_tensor(dir, "input", 0), *to = read_tensor(dir, "output", 0);
    fv_tensor *x = ti ? to_fv(ti) : NULL, *want = to ? to_fv(to) : NULL, *got = NULL;
    if (!m) {
        snprintf(buf, cap, "%s", fv_last_error() + strlen(name) + 2);
        why = buf;
    } else if (!x || !want) {
        why = "the test's input or output is not a float tensor";
    } else if (fv_model_compile(m) != FV_OK || fv_model_predict(m, x, &got) != FV_OK) {
        snprintf(buf, cap, "runs with an error: %s", fv_last_error());
        why = buf;
    } else if (got->ndim != want->ndim || memcmp(got->dims, want->dims,
                                                 sizeof(int64_t) * (size_t)got->ndim)) {
        char a[96], b[96];
        snprintf(buf, cap, "output shape %s, expected %s",
                 fv_shape_str(got->ndim, got->dims, a, sizeof a),
                 fv_shape_str(want->ndim, want->dims, b, sizeof b));
        why = buf;
    } else {
        int64_t n = fv_tensor_numel(want), bad = -1;
        for (int64_t k = 0; k < n && bad < 0; k++) {
            double d = fabs((double)got->data[k] - want->data[k]);
            if (!(d <= 1e-4 + 1e-3 * fabs((double)want->data[k])))
                bad = k;
        }
        if (bad >= 0) {
            snprintf(buf, cap, "value %lld is %g, expected %g", (long long)bad,
                     (double)got->data[bad], (double)want->data[bad]);
            why = buf;
        }
    }
    fv_tensor_free(x);
    fv_tensor_free(want);
    fv_tensor_free(got);
    if (ti)
        fv_onnx__tensor_proto__free_unpacked(ti, NULL);
    if (to)
        fv_onnx__tensor_proto__free_unpacked(to, NULL);
    fv_model_free(m);
    return why;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_opset(op_row *r, int opset)
{
    char tag[16];
    snprintf(tag, sizeof tag, "%d", opset);
    for (char *p = r->opsets; (p = strstr(p, tag)); p++)
        if ((p == r->opsets || p[-1] == ' ') && (p[strlen(tag)] == ',' || !p[strlen(tag)]))
            return;
    size_t l = strlen(r->opsets);
    snprintf(r->opsets + l, sizeof r->opsets - l, "%s%s", l ? ", " : "", tag);
}

static void write_md(const char *path, int passed, int failed, int excluded)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    int run = passed + failed - excluded;
    fprintf(f, "# ONNX import: conformance\n\n"
            "Written by `fv_onnx_conformance --md` (tests/tools/fv_onnx_conformance.c) from "
            "ONNX's node tests (Debian's libonnx-testdata, opsets 7-17): every test whose ops "
            "are all ones the importer claims is imported (inputs beyond the first bound as "
            "initializers), run on its input and compared with its output (rtol 1e-3, atol "
            "1e-4).\n\n"
            "Every claim is for float32 tensors of a batch axis and 1 to 4 axes per sample, "
            "with one graph input: fovea's models are per-sample shapes plus a batch axis, so "
            "an op along the batch axis (a softmax over axis 0, a transpose moving it, a "
            "constant operand that differs per sample) is refused with an error saying so, as "
            "is anything fovea cannot compute exactly, naming the node, the op and its opset. "
            "A test outside its ops' stated limits (another element type, rank 1, 3-D, the "
            "batch axis where the claim excludes it, a graph without an input) is run and "
            "counted as excluded.\n\n"
            "**%d passed, %d failed of %d tests within the claims (%.1f %%)**; %d more tests "
            "were excluded by the limits below.\n\n"
            "| op | opsets | claim (what is not supported) | tests | passed | excluded | "
            "failures and exclusions |\n|---|---|---|---|---|---|---|\n",
            passed, run - passed, run, run ? 100.0 * passed / run : 100.0, excluded);
    for (int i = 0; fv_onnx_supported_op(i); i++) {
        const char *op = fv_onnx_supported_op(i), *lim = fv_onnx_claim_limits(i, NULL);
        op_row *r = NULL;
        for (int k = 0; k < nrows; k++)
            if (strcmp(rows[k].op, op) == 0)
                r = &rows[k];
        fprintf(f, "| %s | %s | %s | %d | %d | %d | %s |\n", op, r ? r->opsets : "",
                lim ? lim : "all", r ? r->tests : 0, r ? r->passed : 0, r ? r->excluded : 0,
                r ? r->why : "(no node test in the opsets run)");
    }
    fclose(f);
}

static int model_opset(const FvOnnx__ModelProto *mp)
{
    for (size_t k = 0; k < mp->n_opset_import; k++)
        if (!mp->opset_import[k]->domain || !*mp->opset_import[k]->domain)
            return (int)mp->opset_import[k]->version;
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *md = NULL;
    double min = 0;
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--md") == 0 && i + 1 < argc)
            md = argv[++i];
        else if (strcmp(argv[i], "--min") == 0 && i + 1 < argc)
            min = atof(argv[++i]);
        else if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else
            dir = argv[i];
    }
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        printf("no ONNX node tests at %s: skipped\n", dir ? dir : "(none given)");
        return 77;
    }
    char *names[4096];
    int nn = 0;
    for (struct dirent *e; (e = readdir(d)) && nn < 4096;)
        if (strncmp(e->d_name, "test_", 5) == 0)
            names[nn++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)nn, sizeof *names, cmp_names);
    int passed = 0, failed = 0, batch = 0, other_opset = 0;
    for (int i = 0; i < nn; i++) {
        char path[1200], tdir[1100], buf[600];
        snprintf(tdir, sizeof tdir, "%s/%s", dir, names[i]);
        snprintf(path, sizeof path, "%s/model.onnx", tdir);
        long len;
        unsigned char *b = t_slurp(path, &len);
        FvOnnx__ModelProto *mp = b ? fv_onnx__model_proto__unpack(NULL, (size_t)len, b) : NULL;
        free(b);
        int opset = mp ? model_opset(mp) : 0;
        int ok = mp && mp->graph && mp->graph->n_node > 0 && opset >= 7 && opset <= 17;
        other_opset += mp && opset && (opset < 7 || opset > 17);
        for (size_t k = 0; ok && k < mp->graph->n_node; k++)
            ok = mp->graph->node[k]->op_type && claimed(mp->graph->node[k]->op_type) &&
                 (!mp->graph->node[k]->domain || !*mp->graph->node[k]->domain);
        if (ok) {
            const char *before = excluded_before(mp);
            const char *why = run(tdir, names[i], mp, buf, sizeof buf);
            int isex = *why && (before || excluded_after(why));
            if (*why && before)
                snprintf(buf, sizeof buf, "%s", before), why = buf;
            passed += !*why, failed += !!*why, batch += isex;
            if (*why)
                printf("%s %s: %s\n", isex ? "EXCL" : "FAIL", names[i], why);
            else if (verbose)
                printf("ok   %s\n", names[i]);
            for (size_t k = 0; k < mp->graph->n_node; k++) {
                op_row *r = row(mp->graph->node[k]->op_type);
                int again = 0; /* each op once per test */
                for (size_t j = 0; j < k; j++)
                    again |= strcmp(mp->graph->node[j]->op_type, mp->graph->node[k]->op_type) == 0;
                if (!r || again)
                    continue;
                r->tests++, r->passed += !*why, r->excluded += isex;
                add_opset(r, model_opset(mp));
                size_t l = strlen(r->why);
                if (*why && l < 500)
                    snprintf(r->why + l, sizeof r->why - l, "%s%s%s: %.110s", l ? "; " : "",
                             isex ? "(excluded) " : "", names[i] + 5, why);
            }
        }
        if (mp)
            fv_onnx__model_proto__free_unpacked(mp, NULL);
        free(names[i]);
    }
    int runnable = passed + failed - batch;
    double pct = runnable ? 100.0 * passed / runnable : 100;
    printf("%d passed, %d failed of %d tests within the claims: %.1f%%; %d more excluded by the "
           "claims' limits; %d tests of opsets outside 7-17 not run\n", passed,
           failed - batch, runnable, pct, batch, other_opset);
    if (md)
        write_md(md, passed, failed, batch);
    return pct < min ? 1 : 0;
}
