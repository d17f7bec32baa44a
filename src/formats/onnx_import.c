/* onnx_import.c - fv_model_load_onnx: an ONNX model as a fovea model (not compiled; compiling
 * takes the imported weights instead of initializing). The driver: the file read whole after
 * its size is checked, the opset, the initializers as constants, the one graph input as
 * fovea's input (its first axis the batch), the nodes mapped in topological order (MatMul + Add
 * of a constant fused into one dense layer first), and the first graph output as the model's
 * output, its last node. */
#include "formats/onnx_internal.h"
#include "formats/readers.h"
#include "io/io.h"

#include <string.h>

static fv_status read_initializers(ox_ctx *c)
{
    const FvOnnx__GraphProto *g = c->proto->graph;
    for (size_t k = 0; k < g->n_initializer; k++) {
        const FvOnnx__TensorProto *t = g->initializer[k];
        if (!t->name || !*t->name)
            return fv_ox_err(c, NULL, FV_ERR_FORMAT, "initializer %zu has no name", k);
        ox_val *v = fv_ox_val(c, t->name, true);
        if (!v)
            return fv_last_status();
        if (v->given) {
            char b[100];
            return fv_ox_err(c, NULL, FV_ERR_FORMAT, "initializer '%s' is given twice",
                             fv_printable(t->name, b, sizeof b));
        }
        FV_TRY(fv_ox_tensor(c, t, t->name, &v->t));
        v->kind = OX_CONST;
        v->given = true;
    }
    if (g->n_sparse_initializer)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "sparse initializers are not supported");
    return FV_OK;
}

/* The graph input that is no initializer: fovea's input, its first axis the batch. */
static fv_status read_input(ox_ctx *c)
{
    const FvOnnx__GraphProto *g = c->proto->graph;
    const FvOnnx__ValueInfoProto *in = NULL;
    char b[100];
    for (size_t k = 0; k < g->n_input; k++) {
        const FvOnnx__ValueInfoProto *v = g->input[k];
        ox_val *val = v->name ? fv_ox_val(c, v->name, true) : NULL;
        if (!val)
            return v->name ? fv_last_status()
                           : fv_ox_err(c, NULL, FV_ERR_FORMAT, "graph input %zu has no name", k);
        if (val->given && val->kind == OX_CONST)
            continue; /* an initializer listed as an input (IR < 4) */
        if (in)
            return fv_ox_err(c, NULL, FV_ERR_INVALID, "the graph has inputs '%s' and more "
                             "(fovea's models have one input; others must be initializers)",
                             fv_printable(in->name, b, sizeof b));
        in = v;
        val->given = true;
    }
    if (!in)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "the graph has no input");
    const char *name = fv_printable(in->name, b, sizeof b);
    const FvOnnx__TypeProto *t = in->type;
    if (!t || t->value_case != FV_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !t->tensor_type)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "input '%s' is not a tensor", name);
    const FvOnnx__TypeProto__Tensor *tt = t->tensor_type;
    if (tt->elem_type != FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "input '%s' has element type %d (fovea takes "
                         "float)", name, (int)tt->elem_type);
    const FvOnnx__TensorShapeProto *s = tt->shape;
    if (!s || s->n_dim < 2 || s->n_dim > 5)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "input '%s' has rank %d (fovea takes the "
                         "batch axis and 1 to 4 axes per sample)", name, s ? (int)s->n_dim : -1);
    fv_input_args a = {.ndim = (int)s->n_dim - 1};
    for (size_t k = 0; k < s->n_dim; k++) {
        const FvOnnx__TensorShapeProto__Dimension *d = s->dim[k];
        bool val = d->value_case == FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        if (k == 0) {
            c->batch_decl = val && d->dim_value > 0 ? d->dim_value : 0;
            continue;
        }
        if (!val || d->dim_value < 1 || d->dim_value > 1 << 24)
            return fv_ox_err(c, NULL, FV_ERR_INVALID, "input '%s': axis %zu has no fixed size "
                             "(fovea needs every axis but the batch fixed)", name, k);
        a.dims[k - 1] = d->dim_value;
    }
    a.name = NULL;
    c->input = fv_input_(c->m, a);
    if (c->input < 0)
        return fv_ox_err(c, NULL, fv_last_status(), "input '%s': %s", name, fv_last_error());
    ox_val *v = fv_ox_val(c, in->name, false);
    v->kind = OX_NODE;
    v->node = c->input;
    return FV_OK;
}

static bool is_output(const ox_ctx *c, const char *name)
{
    const FvOnnx__GraphProto *g = c->proto->graph;
    for (size_t k = 0; k < g->n_output; k++)
        if (g->output[k]->name && strcmp(g->output[k]->name, name) == 0)
            return true;
    return false;
}

/* MatMul whose one reader is an Add of a constant vector: the Add becomes the dense bias. */
static void fuse_bias(ox_ctx *c)
{
    for (int i = 0; i < c->nnodes; i++) {
        ox_node *mm = &c->nodes[i];
        if (strcmp(mm->op, "MatMul") || mm->nout != 1 || is_output(c, mm->out[0]))
            continue;
        ox_val *o = fv_ox_val(c, mm->out[0], false), *w = fv_ox_in(c, mm, 1);
        if (!o || o->uses != 1 || !w || w->kind != OX_CONST || w->t.ndim != 2)
            continue;
        for (int j = i + 1; j < c->nnodes; j++) {
            ox_node *add = &c->nodes[j];
            if (strcmp(add->op, "Add") || add->nin != 2 || add->nout != 1 || *add->domain)
                continue;
            int which = strcmp(add->in[0], mm->out[0]) == 0 ? 1
                        : strcmp(add->in[1], mm->out[0]) == 0 ? 0 : -1;
            if (which < 0)
                continue;
            ox_val *b = fv_ox_in(c, add, which);
            if (b && b->kind == OX_CONST && !b->t.isint && b->t.numel == w->t.dims[1] &&
                (b->t.ndim == 1 || (b->t.ndim == 2 && b->t.dims[0] == 1))) {
                mm->fused_bias = add->in[which];
                add->skip = true;
            }
            break;
        }
    }
}

static fv_status map_nodes(ox_ctx *c)
{
    for (int i = 0; i < c->nnodes; i++) {
        const ox_node *n = &c->nodes[i];
        if (n->skip) { /* the Add fused into its MatMul: the same value */
            ox_val *a = fv_ox_val(c, n->in[0], false), *b = fv_ox_val(c, n->in[1], false);
            FV_TRY(fv_ox_set_val(c, n, 0, a->kind == OX_NODE ? a : b));
            continue;
        }
        for (int k = 0; k < n->nout; k++) {
            ox_val *v = *n->out[k] ? fv_ox_val(c, n->out[k], false) : NULL;
            if (v)
                v->kind = OX_UNSET;
        }
        FV_TRY(fv_ox_map(c, n));
        for (int k = 0; k < n->nout; k++) {
            ox_val *v = *n->out[k] ? fv_ox_val(c, n->out[k], false) : NULL;
            if (v && v->kind == OX_UNSET) {
                v->kind = OX_GONE;
                v->why = "an output fovea does not compute";
            }
        }
    }
    return FV_OK;
}

/* The first graph output becomes the model's last node (the prediction). */
static fv_status set_output(ox_ctx *c)
{
    const FvOnnx__GraphProto *g = c->proto->graph;
    if (!g->n_output || !g->output[0]->name)
        return fv_ox_err(c, NULL, FV_ERR_FORMAT, "the graph has no output");
    char b[100];
    const char *name = fv_printable(g->output[0]->name, b, sizeof b);
    ox_val *v = fv_ox_val(c, g->output[0]->name, false);
    if (!v || v->kind == OX_UNSET)
        return fv_ox_err(c, NULL, FV_ERR_FORMAT, "output '%s' is not defined", name);
    if (v->kind == OX_GONE)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "output '%s': %s", name, v->why);
    if (v->kind == OX_CONST)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "output '%s' is a constant (it does not "
                         "depend on the input)", name);
    if (v->node == fv_model_num_nodes(c->m) - 1 && v->node != c->input)
        return FV_OK;
    fv_reshape_args a = {0}; /* a copy as the last node */
    a.ndim = fv_node_shape(c->m, v->node, a.dims);
    if (fv_reshape_(c->m, v->node, a) < 0)
        return fv_ox_err(c, NULL, fv_last_status(), "output '%s': %s", name, fv_last_error());
    return FV_OK;
}

/* The model's name: the file's base name without ".onnx" when usable, else "model". */
static void model_name(const char *file, char *out, size_t cap)
{
    size_t n;
    const char *base = fv_file_stem(file, ".onnx", &n);
    bool ok = n > 0 && n < cap && strcmp(base, ".") && strcmp(base, "..");
    for (size_t k = 0; ok && k < n; k++) {
        char ch = base[k];
        ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
             ch == '_' || ch == '-' || ch == '.';
    }
    snprintf(out, cap, "%.*s", ok ? (int)n : 5, ok ? base : "model");
}

static fv_status import(ox_ctx *c)
{
    const FvOnnx__ModelProto *p = c->proto;
    if (!p->graph)
        return fv_ox_err(c, NULL, FV_ERR_FORMAT, "the model has no graph");
    c->opset = 0;
    for (size_t k = 0; k < p->n_opset_import; k++) {
        const FvOnnx__OperatorSetIdProto *o = p->opset_import[k];
        if ((!o->domain || !*o->domain || strcmp(o->domain, "ai.onnx") == 0) && o->has_version)
            c->opset = o->version > 1000 || o->version < 0 ? 1000 : (int)o->version;
    }
    if (!c->opset)
        return fv_ox_err(c, NULL, FV_ERR_FORMAT, "the model imports no opset of the default "
                         "domain");
    if (c->opset < OX_OPSET_MIN || c->opset > OX_OPSET_MAX)
        return fv_ox_err(c, NULL, FV_ERR_INVALID, "opset %d (fovea imports opsets %d to %d)",
                         c->opset, OX_OPSET_MIN, OX_OPSET_MAX);
    FV_TRY(read_initializers(c));
    FV_TRY(read_input(c));
    FV_TRY(fv_ox_graph_nodes(c));
    fuse_bias(c);
    FV_TRY(map_nodes(c));
    return set_output(c);
}

fv_model *fv_model_load_onnx_mem(const void *data, size_t len, const char *name)
{
    const char *file = name ? name : "<onnx>";
    if (!data && len) {
        fv_err(FV_ERR_INVALID, "%s: no data (NULL)", file);
        return NULL;
    }
    ox_ctx c = {.file = file, .input = -1, .file_bytes = len};
    c.proto = fv_ox_unpack(data, len, file);
    if (!c.proto)
        return NULL;
    char mname[FV_NAME_LEN];
    model_name(file, mname, sizeof mname);
    c.m = fv_model_new(mname);
    fv_status s = c.m ? import(&c) : FV_ERR_NOMEM;
    if (s != FV_OK) {
        size_t fl = strlen(file);
        if (strncmp(fv_last_error(), file, fl) != 0) { /* every message names the file */
            char why[400];
            snprintf(why, sizeof why, "%s", fv_last_error());
            fv_err(s, "%s: %s", file, why);
        }
        fv_model_free(c.m);
        c.m = NULL;
    }
    fv_ox_arena_free(&c);
    fv_ox_proto_free((FvOnnx__ModelProto *)c.proto);
    return c.m;
}

fv_model *fv_model_load_onnx(const char *path)
{
    return fv_model_load_with(path, "fv_model_load_onnx", OX_FILE_MAX, fv_model_load_onnx_mem);
}
