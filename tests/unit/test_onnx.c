/* test_onnx.c - ONNX import: PyTorch models exported at opsets 11, 13 and 14
 * (tests/golden/gen_onnx.py: convolutions, pooling, dense, normalization, Resize, Pad, Clip,
 * strided ConvTranspose, 1-D convolution and pooling, element-wise arithmetic) give PyTorch's
 * outputs within 1e-4 relative, through fv_model_load_onnx and fv_model_load_file; malformed
 * models (truncated protobuf, tensor data shorter than its shape, an initializer of a type fovea
 * does not read, a cycle, an unknown op, a hostile number of dimensions, an undefined name, a
 * constant spanning the batch axis, recurrent nodes fovea cannot compute) are one-line errors
 * naming the file; an Add of two outputs of one shape is the add layer. */
#include "fovea.h"
#include "formats/fv_onnx.pb-c.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- PyTorch goldens */

static fv_tensor *read_vals(FILE *f)
{
    int64_t dims[FV_MAX_DIMS];
    int nd = 0;
    char line[256];
    if (!fgets(line, sizeof line, f))
        return NULL;
    for (char *p = line, *e; nd < FV_MAX_DIMS; p = e) {
        long long v = strtoll(p, &e, 10);
        if (e == p)
            break;
        dims[nd++] = v;
    }
    fv_tensor *t = fv_tensor_new(nd, dims);
    for (int64_t k = 0; t && k < fv_tensor_numel(t); k++)
        if (fscanf(f, "%f", &t->data[k]) != 1)
            return NULL;
    for (int ch = 0; ch != '\n' && ch != EOF;) /* the rest of the values' line */
        ch = fgetc(f);
    return t;
}

static void golden(const char *name, int via_load_file)
{
    char rel[128];
    snprintf(rel, sizeof rel, "golden/onnx/%s.onnx", name);
    fv_model *m = via_load_file ? fv_model_load_file(t_src_path(rel))
                                : fv_model_load_onnx(t_src_path(rel));
    CHECK(m != NULL);
    if (!m) {
        printf("  %s\n", fv_last_error());
        return;
    }
    snprintf(rel, sizeof rel, "golden/onnx/%s.txt", name);
    FILE *f = fopen(t_src_path(rel), "r");
    CHECK(f != NULL);
    fv_tensor *x = read_vals(f), *want = read_vals(f), *got = NULL;
    fclose(f);
    CHECK(x && want);
    if (!x || !want)
        return;
    CHECK_STATUS(fv_model_compile(m), FV_OK);
    CHECK_STATUS(fv_model_predict(m, x, &got), FV_OK);
    CHECK(got && fv_tensor_numel(got) == fv_tensor_numel(want));
    if (got && fv_tensor_numel(got) == fv_tensor_numel(want))
        CHECK_ARRAY_NEAR(got->data, want->data, fv_tensor_numel(want), 1e-5, 1e-4);
    fv_tensor_free(x);
    fv_tensor_free(want);
    fv_tensor_free(got);
    fv_model_free(m);
}

TEST(pytorch_cnn_opset11) { golden("cnn_opset11", 0); }
TEST(pytorch_mlp_opset13) { golden("mlp_opset13", 1); }
TEST(pytorch_deconv_opset14) { golden("deconv_opset14", 0); }
TEST(pytorch_resample_opset13) { golden("resample_opset13", 0); }
TEST(pytorch_resample_opset11) { golden("resample_opset11", 0); }
TEST(pytorch_seq1d_opset13) { golden("seq1d_opset13", 0); }
TEST(pytorch_arith_opset13) { golden("arith_opset13", 0); }
TEST(pytorch_arith_opset11) { golden("arith_opset11", 0); }

/* ---------------------------------------------------------------- malformed models */

/* A model of input x (batch, 4) through the given nodes to output y, with initializers. */
typedef struct built {
    FvOnnx__ModelProto model;
    FvOnnx__GraphProto graph;
    FvOnnx__OperatorSetIdProto opset, *opsets[1];
    FvOnnx__ValueInfoProto in, out, *ins[1], *outs[1];
    FvOnnx__TypeProto type;
    FvOnnx__TypeProto__Tensor tt;
    FvOnnx__TensorShapeProto shape;
    FvOnnx__TensorShapeProto__Dimension d0, d1, d2, *dims[3];
} built;

static void build(built *b, FvOnnx__NodeProto **nodes, size_t nn, FvOnnx__TensorProto **init,
                  size_t ni)
{
    memset(b, 0, sizeof *b);
    b->model = (FvOnnx__ModelProto)FV_ONNX__MODEL_PROTO__INIT;
    b->graph = (FvOnnx__GraphProto)FV_ONNX__GRAPH_PROTO__INIT;
    b->opset = (FvOnnx__OperatorSetIdProto)FV_ONNX__OPERATOR_SET_ID_PROTO__INIT;
    b->opset.has_version = 1, b->opset.version = 13;
    b->opsets[0] = &b->opset;
    b->model.n_opset_import = 1, b->model.opset_import = b->opsets;
    b->model.has_ir_version = 1, b->model.ir_version = 8;
    b->d0 = (FvOnnx__TensorShapeProto__Dimension)FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    b->d1 = b->d0;
    b->d0.value_case = FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    b->d0.dim_param = "N";
    b->d1.value_case = FV_ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    b->d1.dim_value = 4;
    b->dims[0] = &b->d0, b->dims[1] = &b->d1;
    b->shape = (FvOnnx__TensorShapeProto)FV_ONNX__TENSOR_SHAPE_PROTO__INIT;
    b->shape.n_dim = 2, b->shape.dim = b->dims;
    b->tt = (FvOnnx__TypeProto__Tensor)FV_ONNX__TYPE_PROTO__TENSOR__INIT;
    b->tt.has_elem_type = 1, b->tt.elem_type = 1, b->tt.shape = &b->shape;
    b->type = (FvOnnx__TypeProto)FV_ONNX__TYPE_PROTO__INIT;
    b->type.value_case = FV_ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE, b->type.tensor_type = &b->tt;
    b->in = (FvOnnx__ValueInfoProto)FV_ONNX__VALUE_INFO_PROTO__INIT;
    b->out = b->in;
    b->in.name = "x", b->in.type = &b->type;
    b->out.name = "y";
    b->ins[0] = &b->in, b->outs[0] = &b->out;
    b->graph.n_input = 1, b->graph.input = b->ins;
    b->graph.n_output = 1, b->graph.output = b->outs;
    b->graph.n_node = nn, b->graph.node = nodes;
    b->graph.n_initializer = ni, b->graph.initializer = init;
    b->model.graph = &b->graph;
}

static FvOnnx__NodeProto node(const char *op, char **in, size_t nin, char **out)
{
    FvOnnx__NodeProto n = FV_ONNX__NODE_PROTO__INIT;
    n.op_type = (char *)op, n.name = (char *)op;
    n.n_input = nin, n.input = in, n.n_output = 1, n.output = out;
    return n;
}

/* A float initializer of this name and shape, no data yet. */
static FvOnnx__TensorProto float_tensor(const char *name, size_t ndims, int64_t *dims)
{
    FvOnnx__TensorProto t = FV_ONNX__TENSOR_PROTO__INIT;
    t.name = (char *)name, t.n_dims = ndims, t.dims = dims;
    t.has_data_type = 1, t.data_type = FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    return t;
}

/* Loads the packed model cut to `keep` bytes (0: whole); returns the model or NULL. */
static fv_model *load(const built *b, size_t keep)
{
    size_t len = fv_onnx__model_proto__get_packed_size(&b->model);
    uint8_t *buf = malloc(len);
    fv_onnx__model_proto__pack(&b->model, buf);
    fv_model *m = fv_model_load_onnx_mem(buf, keep ? keep : len, "bad.onnx");
    free(buf);
    return m;
}

/* The load fails with one line naming bad.onnx and holding `needle`. */
static void refused(const built *b, size_t keep, const char *needle)
{
    fv_model *m = load(b, keep);
    CHECK(m == NULL);
    fv_model_free(m);
    const char *e = fv_last_error();
    CHECK(strncmp(e, "bad.onnx:", 9) == 0 && !strchr(e, '\n'));
    CHECK_ERR_HAS(needle);
}

TEST(valid_and_truncated)
{
    char *x[] = {"x"}, *y[] = {"y"};
    FvOnnx__NodeProto relu = node("Relu", x, 1, y), *nodes[] = {&relu};
    built b;
    build(&b, nodes, 1, NULL, 0);
    fv_model *m = load(&b, 0);
    CHECK(m != NULL);
    fv_model_free(m);
    size_t len = fv_onnx__model_proto__get_packed_size(&b.model);
    refused(&b, len - 3, "does not parse");
}

TEST(short_tensor_and_wrong_type)
{
    char *in[] = {"x", "w"}, *y[] = {"y"};
    FvOnnx__NodeProto mm = node("MatMul", in, 2, y), *nodes[] = {&mm};
    int64_t dims[2] = {4, 3};
    FvOnnx__TensorProto w = float_tensor("w", 2, dims), *init[] = {&w};
    uint8_t raw[8] = {0};
    w.has_raw_data = 1, w.raw_data.len = sizeof raw, w.raw_data.data = raw;
    built b;
    build(&b, nodes, 1, init, 1);
    refused(&b, 0, "holds 8 bytes where its shape needs 48");
    w.data_type = FV_ONNX__TENSOR_PROTO__DATA_TYPE__STRING;
    refused(&b, 0, "data type 8");
    int64_t many[40];
    for (int k = 0; k < 40; k++)
        many[k] = 1 << 30;
    w.data_type = 1, w.n_dims = 40, w.dims = many;
    refused(&b, 0, "40 dimensions");
    w.n_dims = 3; /* 2^90 elements claimed by 8 bytes: refused before any allocation */
    refused(&b, 0, "more than");
    int64_t big[2] = {1 << 14, 1 << 13}; /* a float weight of 2^27 elements: the data decides */
    w.n_dims = 2, w.dims = big;
    refused(&b, 0, "holds 8 bytes where its shape needs 536870912");
}

TEST(cycle_unknown_op_undefined)
{
    char *a[] = {"a"}, *bn[] = {"b"}, *x[] = {"x"}, *y[] = {"y"}, *ab[] = {"x", "a"};
    FvOnnx__NodeProto n1 = node("Add", ab, 2, bn), n2 = node("Relu", bn, 1, a);
    FvOnnx__NodeProto n3 = node("Relu", bn, 1, y), *nodes[] = {&n1, &n2, &n3};
    built b;
    build(&b, nodes, 3, NULL, 0);
    refused(&b, 0, "cycle");
    FvOnnx__NodeProto foo = node("FooBar", x, 1, y), *one[] = {&foo};
    build(&b, one, 1, NULL, 0);
    refused(&b, 0, "node 'FooBar' (FooBar, opset 13): op FooBar is not supported");
    char *nope[] = {"nope"};
    FvOnnx__NodeProto r = node("Relu", nope, 1, y), *und[] = {&r};
    build(&b, und, 1, NULL, 0);
    refused(&b, 0, "input 'nope' is not defined");
}

TEST(batch_axis_refused)
{
    char *x[] = {"x"}, *y[] = {"y"};
    FvOnnx__NodeProto sm = node("Softmax", x, 1, y), *nodes[] = {&sm};
    FvOnnx__AttributeProto ax = FV_ONNX__ATTRIBUTE_PROTO__INIT, *attrs[] = {&ax};
    ax.name = "axis", ax.has_type = 1, ax.type = FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    ax.has_i = 1, ax.i = 0;
    sm.n_attribute = 1, sm.attribute = attrs;
    built b;
    build(&b, nodes, 1, NULL, 0);
    refused(&b, 0, "batch axis");
}

/* LSTM / GRU nodes over x (batch, 3 steps, 4 features) that the importer refuses. */
static void rnn_refused(const char *op, int opset, int64_t gh, int lbr, const char *needle)
{
    char *in[] = {"x", "W", "R"}, *y[] = {"y"};
    int64_t wd[3] = {1, gh, 4}, rd[3] = {1, gh, 2};
    float wv[4 * 12 * 4] = {0}, rv[4 * 12 * 2] = {0};
    FvOnnx__TensorProto w = float_tensor("W", 3, wd), r = float_tensor("R", 3, rd);
    w.n_float_data = (size_t)(gh * 4), w.float_data = wv;
    r.n_float_data = (size_t)(gh * 2), r.float_data = rv;
    FvOnnx__TensorProto *init[] = {&w, &r};
    FvOnnx__NodeProto n = node(op, in, 3, y), *nodes[] = {&n};
    FvOnnx__AttributeProto at[3], *attrs[3] = {&at[0], &at[1], &at[2]};
    const char *names[3] = {"hidden_size", "layout", "linear_before_reset"};
    int64_t vals[3] = {2, 1, lbr};
    for (int k = 0; k < 3; k++) {
        at[k] = (FvOnnx__AttributeProto)FV_ONNX__ATTRIBUTE_PROTO__INIT;
        at[k].name = (char *)names[k], at[k].has_type = 1;
        at[k].type = FV_ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, at[k].has_i = 1;
        at[k].i = vals[k];
    }
    n.n_attribute = strcmp(op, "GRU") == 0 ? 3 : 2, n.attribute = attrs;
    built b;
    build(&b, nodes, 1, init, 2);
    b.opset.version = opset;
    b.d2 = b.d1, b.d2.dim_value = 3;
    b.dims[2] = &b.d1, b.dims[1] = &b.d2, b.shape.n_dim = 3;
    refused(&b, 0, needle);
}

TEST(recurrent_refusals)
{
    rnn_refused("LSTM", 13, 8, 0, "time-first input (layout 0) puts the steps on the batch axis");
    rnn_refused("LSTM", 14, 12, 0, "weights W, R, B must be float (1, 8, 4), (1, 8, 2), (1, 16)");
    rnn_refused("GRU", 14, 6, 0, "linear_before_reset = 0");
}

TEST(arithmetic_constants)
{
    char *in[] = {"x", "w"}, *y[] = {"y"};
    FvOnnx__NodeProto add = node("Add", in, 2, y), *nodes[] = {&add};
    int64_t dims[2] = {3, 4};
    FvOnnx__TensorProto w = float_tensor("w", 2, dims), *init[] = {&w};
    float vals[12] = {0};
    w.n_float_data = 12, w.float_data = vals;
    built b;
    build(&b, nodes, 1, init, 1); /* (3, 4) against (N, 4): the 3 lies on the batch axis */
    refused(&b, 0, "spanning the batch axis");
    dims[0] = 1; /* (1, 4): one row for every sample */
    w.n_float_data = 4;
    fv_model *m = load(&b, 0);
    CHECK(m != NULL);
    fv_model_free(m);
    vals[0] = 1.0f / 0.0f; /* a constant that is not finite: the layer's error, naming the node */
    refused(&b, 0, "node 'Add' (Add, opset 13)");
}

/* An Add of two layer outputs of one shape is the add layer (which inference fuses into the
 * convolution before it, as a residual); with a constant it stays the broadcasting layer. */
TEST(add_of_outputs_is_add_layer)
{
    char *x[] = {"x"}, *a[] = {"a"}, *bn[] = {"b"}, *ab[] = {"a", "b"}, *y[] = {"y"};
    FvOnnx__NodeProto r = node("Relu", x, 1, a), sg = node("Sigmoid", x, 1, bn);
    FvOnnx__NodeProto add = node("Add", ab, 2, y), *nodes[] = {&r, &sg, &add};
    built b;
    build(&b, nodes, 3, NULL, 0);
    fv_model *m = load(&b, 0);
    CHECK(m != NULL);
    char *text = m ? fv_model_to_text(m) : NULL;
    CHECK(text && strstr(text, "add") && !strstr(text, "binary"));
    free(text);
    fv_model_free(m);
}

int main(void)
{
    RUN(add_of_outputs_is_add_layer);
    RUN(pytorch_cnn_opset11);
    RUN(pytorch_mlp_opset13);
    RUN(pytorch_deconv_opset14);
    RUN(pytorch_resample_opset13);
    RUN(pytorch_resample_opset11);
    RUN(pytorch_seq1d_opset13);
    RUN(pytorch_arith_opset13);
    RUN(pytorch_arith_opset11);
    RUN(valid_and_truncated);
    RUN(short_tensor_and_wrong_type);
    RUN(cycle_unknown_op_undefined);
    RUN(batch_axis_refused);
    RUN(recurrent_refusals);
    RUN(arithmetic_constants);
    TEST_MAIN_END();
}
