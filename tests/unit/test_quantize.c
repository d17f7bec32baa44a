/* test_quantize.c - int8 post-training quantization end to end (fv_model_quantize, ops/quant.h,
 * the int8 model file): a small network with every fused form (convolution + batch norm + ReLU,
 * a residual addition + ReLU, pooling, dense + ReLU, a last dense) predicts close to its float
 * self; every ISA level gives the same bits; the file round-trips to the same predictions, is
 * smaller, holds I8 weights; and a truncated file, zero / negative / NaN scales, a bad zero point
 * or an unknown version are refused with an error naming the file; the int8 path runs by default
 * only where the int8 GEMM has VNNI (FOVEA_INT8 / fv_quant_policy force it). */
#include "fovea.h"
#include "core/cpu.h"
#include "io/io.h"
#include "ops/quant.h"
#include "test.h"
#include "testfs.h"

#include <math.h>
#include <sys/stat.h>

static const char *const NET = "model q\n"
                               "input shape=3,9,9\n"
                               "conv2d filters=8 kernel_size=3 padding=1 name=c1\n"
                               "batchnorm name=bn1\n"
                               "relu name=r1\n"
                               "conv2d filters=8 kernel_size=3 padding=1 name=c2\n"
                               "add inputs=c2,r1 name=sum\n"
                               "relu name=r2\n"
                               "maxpool2d pool_size=2\n"
                               "conv2d filters=16 kernel_size=3 strides=2 name=c3\n"
                               "flatten\n"
                               "dense units=24 activation=relu name=fc1\n"
                               "dense units=5 name=fc2\n";

static uint64_t g_s = 12345;
static float uniform(void)
{
    g_s = g_s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(g_s >> 11) / 9007199254740992.0);
}

/* The network, compiled, with its batch norm's running statistics made non-trivial (the same
 * values at each call). */
static fv_model *net(void)
{
    fv_model *m = fv_model_parse(NET, "q.fv");
    g_s = 12345; /* the same network each time */
    if (!m || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .seed = 7) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    const fv_node *bn = &m->nodes[fv_model_find_node(m, "bn1")];
    for (int p = 0; p < 4; p++) { /* gamma, beta, mean, variance */
        const fv_param *q = &m->params[bn->param[p]];
        for (int64_t i = 0; i < q->numel; i++)
            m->data_slab[q->offset + i] = p == 3 ? 0.5f + uniform() : uniform() - 0.3f;
    }
    return m;
}

static fv_tensor *images(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 3, 9, 9);
    for (int64_t i = 0; i < fv_tensor_numel(x); i++)
        x->data[i] = 2 * uniform() - 0.8f;
    return x;
}

static fv_tensor *predict(fv_model *m, const fv_tensor *x)
{
    fv_tensor *y = NULL;
    return fv_model_predict(m, x, &y) == FV_OK ? y : NULL;
}

static double max_abs(const fv_tensor *t)
{
    double mx = 0;
    for (int64_t i = 0; i < fv_tensor_numel(t); i++)
        mx = fabs(t->data[i]) > mx ? fabs(t->data[i]) : mx;
    return mx;
}

/* The quantized model's outputs are within a few percent of the float ones. */
TEST(int8_close_to_float)
{
    fv_model *m = net();
    fv_tensor *cal = images(64), *x = images(20), *yf = predict(m, x);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_MINMAX, 0), FV_OK);
    CHECK(fv_model_int8_layers(m) == 5);
    fv_tensor *yq = predict(m, x);
    double worst = 0, range = max_abs(yf);
    for (int64_t i = 0; i < fv_tensor_numel(yf); i++)
        worst = fmax(worst, fabs(yq->data[i] - yf->data[i]));
    CHECK(range > 0 && worst < 0.05 * range);
    CHECK(worst > 0); /* it really ran in int8 */
    fv_tensor_free(cal), fv_tensor_free(x), fv_tensor_free(yf), fv_tensor_free(yq);
    fv_model_free(m);
}

/* The int8 path at each level this CPU has gives the same bits (the kernels agree exactly, the
 * epilogue is shared). */
TEST(every_level_same_bits)
{
    fv_model *m = net();
    fv_tensor *cal = images(32), *x = images(7), *ref = NULL;
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_PERCENTILE, 99.9), FV_OK);
    fv_isa was = fv_isa_active();
    for (int l = 0; l < FV_ISA_COUNT; l++) {
        if (!fv_isa_force((fv_isa)l))
            continue;
        fv_tensor *y = predict(m, x);
        if (!ref)
            ref = y;
        else {
            CHECK(memcmp(y->data, ref->data, sizeof(float) * (size_t)fv_tensor_numel(y)) == 0);
            fv_tensor_free(y);
        }
    }
    fv_isa_force(was);
    fv_tensor_free(cal), fv_tensor_free(x), fv_tensor_free(ref);
    fv_model_free(m);
}

/* Percentile and entropy calibration clip the range: their input scales are at most min-max's,
 * some smaller; the weights are the same. */
static void clips(int method, double pct)
{
    fv_model *a = net(), *b = net();
    fv_tensor *cal = images(64);
    CHECK_STATUS(fv_model_quantize(a, cal, FV_CALIB_MINMAX, 0), FV_OK);
    CHECK_STATUS(fv_model_quantize(b, cal, method, pct), FV_OK);
    int smaller = 0;
    for (int i = 0; i < a->nnodes; i++) {
        const fv_qlayer *la = fv_quant_layer(a, i), *lb = fv_quant_layer(b, i);
        CHECK((la == NULL) == (lb == NULL));
        if (la && lb) {
            CHECK(lb->in_scale <= la->in_scale * 1.0001f);
            smaller += lb->in_scale < la->in_scale;
            CHECK(memcmp(la->w, lb->w, (size_t)la->m * (size_t)la->k) == 0);
        }
    }
    CHECK(smaller > 0);
    fv_tensor_free(cal);
    fv_model_free(a), fv_model_free(b);
}

TEST(percentile_clips) { clips(FV_CALIB_PERCENTILE, 99.0); }

/* Entropy calibration also stays close to float. */
TEST(entropy_clips)
{
    clips(FV_CALIB_ENTROPY, 0);
    fv_model *m = net();
    fv_tensor *cal = images(64), *x = images(20), *yf = predict(m, x);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_ENTROPY, 0), FV_OK);
    fv_tensor *yq = predict(m, x);
    double worst = 0;
    for (int64_t i = 0; i < fv_tensor_numel(yf); i++)
        worst = fmax(worst, fabs(yq->data[i] - yf->data[i]));
    CHECK(worst < 0.1 * max_abs(yf));
    fv_tensor_free(cal), fv_tensor_free(x), fv_tensor_free(yf), fv_tensor_free(yq);
    fv_model_free(m);
}

TEST(quantizers_by_hand)
{
    const float w[6] = {0.5f, -1.0f, 0.25f, 0, 0, 0};
    int8_t q[6];
    float s[2];
    fv_quant_weights(w, 2, 3, q, s);
    CHECK(s[0] == 1.0f / 127 && q[0] == 64 && q[1] == -127 && q[2] == 32); /* 63.5: even */
    CHECK(s[1] == 1.0f && q[3] == 0 && q[4] == 0 && q[5] == 0);
    float sc;
    int zp;
    fv_quant_range(-1, 3, &sc, &zp);
    CHECK(sc == 4.0f / 255 && zp == 64);
    fv_quant_range(0.5f, 2, &sc, &zp); /* widened to hold 0 */
    CHECK(sc == 2.0f / 255 && zp == 0);
    fv_quant_range(0, 0, &sc, &zp);
    CHECK(sc == 1 && zp == 0);
}

TEST(bad_arguments)
{
    fv_model *m = net();
    fv_tensor *cal = images(4);
    CHECK_STATUS(fv_model_quantize(m, cal, 7, 0), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_PERCENTILE, 40), FV_ERR_INVALID);
    CHECK_ERR_HAS("percentile");
    CHECK_STATUS(fv_model_quantize(m, NULL, FV_CALIB_MINMAX, 0), FV_ERR_INVALID);
    CHECK_STATUS(fv_model_save_quantized(m, t_path("no.safetensors")), FV_ERR_STATE);
    CHECK_ERR_HAS("not quantized");
    const int8_t w[8 * 27] = {0};
    float sc[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    int c1 = fv_model_find_node(m, "c1");
    CHECK_STATUS(fv_quant_set(m, c1, w, sc, 1, 256), FV_ERR_FORMAT);
    CHECK_ERR_HAS("zero point");
    CHECK_STATUS(fv_quant_set(m, fv_model_find_node(m, "bn1"), w, sc, 1, 0), FV_ERR_INVALID);
    fv_tensor_free(cal);
    fv_model_free(m);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Saved, read back by fv_model_from_weights: the same int8 layers and the same predictions. */
TEST(file_round_trip)
{
    fv_model *m = net();
    fv_tensor *cal = images(32), *x = images(9);
    CHECK_STATUS(fv_model_save_weights(m, t_path("f32.safetensors")), FV_OK);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_MINMAX, 0), FV_OK);
    CHECK_STATUS(fv_model_save_quantized(m, t_path("i8.safetensors")), FV_OK);
    fv_model *r = fv_model_from_weights(t_path("i8.safetensors"));
    CHECK(r != NULL);
    if (r) {
        CHECK(fv_model_int8_layers(r) == 5);
        fv_tensor *a = predict(m, x), *b = predict(r, x);
        CHECK(memcmp(a->data, b->data, sizeof(float) * (size_t)fv_tensor_numel(a)) == 0);
        fv_tensor_free(a), fv_tensor_free(b);
    }
    fv_st_file *f = fv_st_open(t_path("i8.safetensors"));
    CHECK(f && fv_st_is_i8(f, fv_st_find(f, "c1.weight")) && fv_st_is_i8(f, fv_st_find(f, "fc2.weight")));
    CHECK(f && !fv_st_is_i8(f, fv_st_find(f, "c1.bias")) && fv_st_find(f, "c3.input_quant") >= 0);
    fv_st_close(f);
    CHECK(file_size(t_path("i8.safetensors")) * 2 < file_size(t_path("f32.safetensors")));
    fv_tensor_free(cal), fv_tensor_free(x);
    fv_model_free(r);
    fv_model_free(m);
}

/* A quantized model, its layer of node `name` changed by `how`, saved as `file`. */
static void write_tampered(const char *file, const char *name, int how)
{
    fv_model *m = net();
    fv_tensor *cal = images(8);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_MINMAX, 0), FV_OK);
    fv_qlayer *l = &m->quant->layers[m->quant->layer_of[fv_model_find_node(m, name)]];
    if (how == 0)
        l->wscale[1] = 0;
    else if (how == 1)
        l->wscale[0] = -0.5f;
    else if (how == 2)
        l->wscale[2] = NAN;
    else if (how == 3)
        l->in_scale = 0;
    else
        l->in_zp = 300;
    CHECK_STATUS(fv_model_save_quantized(m, t_path(file)), FV_OK);
    fv_tensor_free(cal);
    fv_model_free(m);
}

/* Loading path fails with an error naming the file and mentioning `what`. */
static void refused(const char *file, const char *what)
{
    fv_model *r = fv_model_from_weights(t_path(file));
    CHECK(r == NULL);
    CHECK(strstr(fv_last_error(), file) != NULL && !strchr(fv_last_error(), '\n'));
    CHECK_ERR_HAS(what);
    fv_model_free(r);
}

TEST(bad_files_refused)
{
    write_tampered("zero.safetensors", "c2", 0);
    refused("zero.safetensors", "weight scale 1 is 0");
    write_tampered("neg.safetensors", "fc1", 1);
    refused("neg.safetensors", "weight scale 0 is -0.5");
    write_tampered("nan.safetensors", "c3", 2);
    refused("nan.safetensors", "weight scale 2 is nan");
    write_tampered("in0.safetensors", "c1", 3);
    refused("in0.safetensors", "input scale is 0");
    write_tampered("zp.safetensors", "fc2", 4);
    refused("zp.safetensors", "zero point 300");
    /* truncated: every length short of the whole file */
    long len = 0;
    unsigned char *bytes = t_slurp(t_path("zp.safetensors"), &len);
    write_tampered("ok.safetensors", "fc2", 5);
    free(bytes);
    bytes = t_slurp(t_path("ok.safetensors"), &len);
    for (long cut = 1; bytes && cut < len; cut += cut < 64 ? 1 : 97) {
        t_write(t_path("cut.safetensors"), bytes, (size_t)(len - cut));
        fv_model *r = fv_model_from_weights(t_path("cut.safetensors"));
        CHECK(r == NULL && strstr(fv_last_error(), "cut.safetensors"));
        fv_model_free(r);
    }
    /* an unknown version of the format */
    unsigned char *v = bytes ? (unsigned char *)strstr((char *)bytes + 8, "\"fovea_int8\":\"1\"")
                             : NULL;
    CHECK(v != NULL);
    if (v) {
        v[14] = '9';
        t_write(t_path("v9.safetensors"), bytes, (size_t)len);
        refused("v9.safetensors", "version '9'");
    }
    free(bytes);
}

/* The safetensors layer's int8 writer and reader: only integers in [-128, 127] are written as
 * I8; reading an F32 tensor as I8 is an error naming it. */
TEST(i8_tensors)
{
    float v[3] = {-128, 127, 0.5f};
    fv_tensor t = {.data = v};
    fv_tensor_set_shape(&t, 1, (int64_t[]){3});
    const fv_tensor *ts[2] = {&t, &t};
    const char *names[2] = {"a", "b"};
    unsigned char i8[2] = {1, 0};
    CHECK_STATUS(fv_st_save_i8(t_path("i8t.safetensors"), 2, names, ts, i8, NULL), FV_ERR_INVALID);
    CHECK_ERR_HAS("not an int8");
    v[2] = -3;
    CHECK_STATUS(fv_st_save_i8(t_path("i8t.safetensors"), 2, names, ts, i8, NULL), FV_OK);
    fv_st_file *f = fv_st_open(t_path("i8t.safetensors"));
    int8_t got[3] = {0};
    CHECK(f && fv_st_is_i8(f, fv_st_find(f, "a")) && !fv_st_is_i8(f, fv_st_find(f, "b")));
    CHECK(f && fv_st_read_i8(f, fv_st_find(f, "a"), got) == FV_OK);
    CHECK(got[0] == -128 && got[1] == 127 && got[2] == -3);
    CHECK(f && fv_st_read_i8(f, fv_st_find(f, "b"), got) == FV_ERR_FORMAT);
    CHECK_ERR_HAS("tensor 'b' has dtype F32, expected I8");
    fv_st_close(f);
}

/* The default: int8 only where the int8 GEMM has VNNI at the level in force; FOVEA_INT8 / the
 * policy forces either way; the float path then gives the dequantized weights' float results. */
TEST(policy)
{
    fv_isa was = fv_isa_active();
    fv_quant_policy(-1);
    for (int l = 0; l < FV_ISA_COUNT; l++)
        if (fv_isa_force((fv_isa)l))
            CHECK(fv_quant_active() == (l == FV_ISA_AVX512_VNNI || l == FV_ISA_AVX_VNNI));
    fv_isa_force(was);
    fv_model *m = net();
    fv_tensor *cal = images(16), *x = images(5);
    CHECK_STATUS(fv_model_quantize(m, cal, FV_CALIB_MINMAX, 0), FV_OK);
    fv_quant_policy(0);
    CHECK(!fv_quant_active());
    fv_tensor *yf = predict(m, x);
    fv_quant_policy(1);
    fv_tensor *yq = predict(m, x);
    CHECK(memcmp(yf->data, yq->data, sizeof(float) * (size_t)fv_tensor_numel(yf)) != 0);
    fv_tensor_free(cal), fv_tensor_free(x), fv_tensor_free(yf), fv_tensor_free(yq);
    fv_model_free(m);
}

/* Runs the tests with the int8 path on at every level (the policy test last). */
int main(void)
{
    fv_quant_policy(1);
    static const t_test tests[] = {
        T_TEST(int8_close_to_float), T_TEST(every_level_same_bits), T_TEST(percentile_clips),
        T_TEST(entropy_clips),       T_TEST(quantizers_by_hand),    T_TEST(bad_arguments),
        T_TEST(file_round_trip),     T_TEST(bad_files_refused),     T_TEST(i8_tensors),
        T_TEST(policy)};
    return t_main_scratch("/tmp/fovea_quant_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
