/* test_onnx_export.c - fv_model_save_onnx (src/formats/onnx_export*.c): small models exported and
 * decoded back with the generated protobuf-c unpacker: the opset and IR version, the graph's
 * input (symbolic batch, sample shape) and output, the node ops in order, each initializer's
 * name, shape and bytes (the parameters themselves), the opset-dependent choices (HardSwish and
 * LayerNormalization from 14 / 17, Clip bounds as inputs, ReduceMax axes as an attribute), the
 * activations' parameters and the broadcasting arithmetic's alignment and constants, and
 * the errors: opsets outside 13..17, an uncompiled model, layers ONNX cannot express (naming the
 * layer and op, no file left behind). ONNX Runtime's numbers are tests/onnx/check_export.py's. */
#include "fovea.h"
#include "formats/fv_onnx.pb-c.h"
#include "slurp.h"
#include "test.h"

#include <unistd.h>

#define OUT "test_onnx_export.onnx"

static fv_model *compiled(const char *text)
{
    fv_model *m = fv_model_parse(text, "test");
    if (m && fv_model_compile(m, .loss = FV_LOSS_NONE, .seed = 3) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* The file decoded (NULL on failure); free with fv_onnx__model_proto__free_unpacked. */
static FvOnnx__ModelProto *decode(const char *path)
{
    long n;
    unsigned char *buf = t_slurp(path, &n);
    FvOnnx__ModelProto *mp = buf ? fv_onnx__model_proto__unpack(NULL, (size_t)n, buf) : NULL;
    free(buf);
    return mp;
}

/* The op types of the graph's nodes joined by ' '. */
static const char *ops_of(const FvOnnx__ModelProto *mp)
{
    static char s[2048];
    size_t k = 0;
    s[0] = '\0';
    for (size_t i = 0; i < mp->graph->n_node && k < sizeof s - 64; i++)
        k += (size_t)snprintf(s + k, sizeof s - k, "%s%s", i ? " " : "",
                              mp->graph->node[i]->op_type);
    return s;
}

static const FvOnnx__NodeProto *node_of(const FvOnnx__ModelProto *mp, const char *op)
{
    for (size_t i = 0; i < mp->graph->n_node; i++)
        if (strcmp(mp->graph->node[i]->op_type, op) == 0)
            return mp->graph->node[i];
    return NULL;
}

static const FvOnnx__AttributeProto *attr_of(const FvOnnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; n && i < n->n_attribute; i++)
        if (strcmp(n->attribute[i]->name, name) == 0)
            return n->attribute[i];
    return NULL;
}

static const FvOnnx__TensorProto *init_of(const FvOnnx__ModelProto *mp, const char *name)
{
    for (size_t i = 0; i < mp->graph->n_initializer; i++)
        if (strcmp(mp->graph->initializer[i]->name, name) == 0)
            return mp->graph->initializer[i];
    return NULL;
}

/* LeNet-5: the structure, the graph's input and output, every parameter as an initializer. */
TEST(test_lenet)
{
    fv_model *m = compiled("input shape=1,28,28\n"
                           "conv2d filters=6 kernel_size=5 padding=2 activation=relu name=c1\n"
                           "maxpool2d pool_size=2\n"
                           "conv2d filters=16 kernel_size=5 activation=relu name=c2\n"
                           "avgpool2d pool_size=2\n"
                           "flatten\n"
                           "dense units=10 name=fc\n");
    CHECK(m);
    if (!m)
        return;
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 0), FV_OK);
    FvOnnx__ModelProto *mp = decode(OUT);
    CHECK(mp);
    if (mp) {
        CHECK(mp->n_opset_import == 1 && mp->opset_import[0]->version == 13);
        CHECK(mp->has_ir_version && mp->ir_version == 7);
        CHECK(strcmp(mp->producer_name, "fovea") == 0);
        CHECK(strcmp(ops_of(mp), "Conv Relu MaxPool Conv Relu AveragePool Flatten Gemm") == 0);
        const FvOnnx__GraphProto *g = mp->graph;
        CHECK(g->n_input == 1 && strcmp(g->input[0]->name, "input") == 0);
        const FvOnnx__TensorShapeProto *s = g->input[0]->type->tensor_type->shape;
        CHECK(s->n_dim == 4 && strcmp(s->dim[0]->dim_param, "N") == 0);
        CHECK(s->dim[1]->dim_value == 1 && s->dim[2]->dim_value == 28 &&
              s->dim[3]->dim_value == 28);
        CHECK(g->n_output == 1 && strcmp(g->output[0]->name, "output") == 0);
        s = g->output[0]->type->tensor_type->shape;
        CHECK(s->n_dim == 2 && s->dim[1]->dim_value == 10);
        CHECK(strcmp(g->node[g->n_node - 1]->output[0], "output") == 0);
        CHECK(g->n_initializer == (size_t)fv_model_num_params(m));
        for (int i = 0; i < fv_model_num_params(m); i++) {
            fv_param_info p;
            fv_model_param(m, i, &p);
            const FvOnnx__TensorProto *t = init_of(mp, p.name);
            CHECK(t && t->data_type == FV_ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT);
            if (!t)
                continue;
            CHECK(t->n_dims == (size_t)p.ndim &&
                  memcmp(t->dims, p.dims, sizeof(int64_t) * (size_t)p.ndim) == 0);
            CHECK(t->raw_data.len == sizeof(float) * (size_t)p.numel &&
                  memcmp(t->raw_data.data, p.data, t->raw_data.len) == 0);
        }
        const FvOnnx__AttributeProto *pads = attr_of(node_of(mp, "Conv"), "pads");
        CHECK(pads && pads->n_ints == 4 && pads->ints[0] == 2 && pads->ints[3] == 2);
        CHECK(attr_of(node_of(mp, "Gemm"), "transB")->i == 1);
        fv_onnx__model_proto__free_unpacked(mp, NULL);
    }
    fv_model_free(m);
    unlink(OUT);
}

/* The choices that depend on the opset, and a model ending in softmax. */
TEST(test_opsets)
{
    fv_model *m = compiled("input shape=4,6,6\n"
                           "conv2d filters=4 kernel_size=3 padding=same activation=hard_swish\n"
                           "maxout pieces=2\n"
                           "relu6\n"
                           "flatten\n"
                           "layer_norm\n"
                           "dense units=3 activation=softmax\n");
    CHECK(m);
    if (!m)
        return;
    for (int opset = 13; opset <= 17; opset += 4) {
        CHECK_STATUS(fv_model_save_onnx(m, OUT, opset), FV_OK);
        FvOnnx__ModelProto *mp = decode(OUT);
        CHECK(mp);
        if (!mp)
            continue;
        CHECK(mp->opset_import[0]->version == opset);
        CHECK(mp->ir_version == (opset == 13 ? 7 : 8));
        CHECK((node_of(mp, "HardSwish") != NULL) == (opset >= 14));
        CHECK((node_of(mp, "LayerNormalization") != NULL) == (opset >= 17));
        CHECK((node_of(mp, "ReduceMean") != NULL) == (opset < 17));
        const FvOnnx__NodeProto *clip = node_of(mp, "Clip");
        CHECK(clip && clip->n_input == 3 && init_of(mp, clip->input[2]) &&
              init_of(mp, clip->input[2])->float_data[0] == 6);
        const FvOnnx__AttributeProto *axes = attr_of(node_of(mp, "ReduceMax"), "axes");
        CHECK(axes && axes->n_ints == 1 && axes->ints[0] == 2);
        const FvOnnx__NodeProto *last = mp->graph->node[mp->graph->n_node - 1];
        CHECK(strcmp(last->op_type, "Softmax") == 0 && attr_of(last, "axis")->i == -1);
        fv_onnx__model_proto__free_unpacked(mp, NULL);
    }
    fv_model_free(m);
    unlink(OUT);
}

/* The activations' parameters (SELU's alpha and gamma, hard sigmoid's slope and offset, clip's
 * bounds) and the broadcasting arithmetic: a node of fewer axes reshaped to (N, 1, ..., axes),
 * the constant its parameter, first where it is the first operand. */
TEST(test_params_and_binary)
{
    fv_model *m = compiled("input shape=3,4 name=x\n"
                           "selu alpha=1.25 gamma=0.75\n"
                           "hard_sigmoid alpha=0.25 beta=0.375\n"
                           "clip min=-1 max=2\n"
                           "binary op=sub constant=1 const_first=true value=3 name=rsub\n"
                           "dense units=4 inputs=x name=d\n"
                           "binary op=max inputs=rsub,d name=mx\n");
    CHECK(m);
    if (!m)
        return;
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 13), FV_OK);
    FvOnnx__ModelProto *mp = decode(OUT);
    CHECK(mp);
    if (mp) {
        CHECK(strcmp(ops_of(mp), "Selu HardSigmoid Clip Sub Flatten Gemm Reshape Max") == 0);
        const FvOnnx__NodeProto *se = node_of(mp, "Selu"), *hs = node_of(mp, "HardSigmoid");
        CHECK(attr_of(se, "alpha")->f == 1.25f && attr_of(se, "gamma")->f == 0.75f);
        CHECK(attr_of(hs, "alpha")->f == 0.25f && attr_of(hs, "beta")->f == 0.375f);
        const FvOnnx__NodeProto *clip = node_of(mp, "Clip");
        CHECK(clip && clip->n_input == 3 && init_of(mp, clip->input[1])->float_data[0] == -1 &&
              init_of(mp, clip->input[2])->float_data[0] == 2);
        const FvOnnx__NodeProto *sub = node_of(mp, "Sub"), *mx = node_of(mp, "Max");
        CHECK(sub && strcmp(sub->input[0], "rsub.constant") == 0 &&
              strcmp(sub->input[1], clip->output[0]) == 0);
        const FvOnnx__TensorProto *c = init_of(mp, "rsub.constant");
        CHECK(c && c->n_dims == 1 && c->dims[0] == 1 && c->raw_data.len == sizeof(float) &&
              *(const float *)c->raw_data.data == 3);
        const FvOnnx__NodeProto *rs = node_of(mp, "Reshape"); /* d: (N, 4) -> (N, 1, 4) */
        const FvOnnx__TensorProto *shape = rs ? init_of(mp, rs->input[1]) : NULL;
        CHECK(shape && shape->n_int64_data == 3 && shape->int64_data[0] == 0 &&
              shape->int64_data[1] == 1 && shape->int64_data[2] == 4);
        CHECK(mx && strcmp(mx->input[0], sub->output[0]) == 0 &&
              strcmp(mx->input[1], rs->output[0]) == 0);
        fv_onnx__model_proto__free_unpacked(mp, NULL);
    }
    fv_model_free(m);
    unlink(OUT);
}

/* The nodes the prediction does not read (a second head) are left out. */
TEST(test_unused_branch)
{
    fv_model *m = fv_model_parse("input shape=8 name=x\n"
                                 "dense units=4 name=head\n"
                                 "dense units=2 inputs=x name=aux\n", "test");
    CHECK(m);
    if (!m)
        return;
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE, .output = 1), FV_OK);
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 13), FV_OK);
    FvOnnx__ModelProto *mp = decode(OUT);
    CHECK(mp && strcmp(ops_of(mp), "Gemm") == 0 && mp->graph->n_initializer == 2);
    if (mp)
        fv_onnx__model_proto__free_unpacked(mp, NULL);
    fv_model_free(m);
    unlink(OUT);
}

TEST(test_errors)
{
    fv_model *m = compiled("input shape=2,8,8\nconv2d filters=2 kernel_size=3\n");
    CHECK(m);
    if (!m)
        return;
    unlink(OUT);
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 12), FV_ERR_INVALID);
    CHECK_ERR_HAS("opset 12");
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 18), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_save_onnx(m, NULL, 13), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_save_onnx(NULL, OUT, 13), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_save_onnx(m, "no_such_dir/x.onnx", 13), FV_ERR_IO);
    CHECK(access(OUT, F_OK) != 0);
    fv_model_free(m);

    m = fv_model_parse("input shape=2,8,8\nconv2d filters=2 kernel_size=3\n", "test");
    CHECK_STATUS(fv_model_save_onnx(m, OUT, 13), FV_ERR_STATE);
    CHECK_ERR_HAS("not compiled");
    fv_model_free(m);

    static const struct {
        const char *text, *needle;
    } bad[] = {
        {"input shape=2,8,8\nfractional_maxpool2d output_size=5 name=fp\n",
         "layer 'fp' (fractional_maxpool2d)"},
        {"input shape=4,8,8\nlrn size=2 name=l\n", "layer 'l' (lrn): LRN with an even window"},
        {"input shape=2,8,8\nmaxpool2d name=p\nmaxunpool2d inputs=p,p name=u\n",
         "layer 'u' (maxunpool2d)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = compiled(bad[i].text);
        CHECK(m);
        if (!m)
            continue;
        CHECK_STATUS(fv_model_save_onnx(m, OUT, 13), FV_ERR_INVALID);
        CHECK_ERR_HAS(bad[i].needle);
        CHECK_ERR_HAS("cannot export model");
        CHECK(access(OUT, F_OK) != 0); /* no file, not a wrong one */
        fv_model_free(m);
    }
}

int main(void)
{
    RUN(test_lenet);
    RUN(test_opsets);
    RUN(test_params_and_binary);
    RUN(test_unused_branch);
    RUN(test_errors);
    TEST_MAIN_END();
}
