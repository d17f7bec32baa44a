/* test_visualize.c - visualizations with known answers: saliency of a network that sees only
 * the image's top-left corner is zero elsewhere and equals the analytic gradient inside; Grad-CAM
 * of a network that responds to a bright blob peaks on the blob; feature maps and filters are
 * the layer's output and weights; the class model raises its class score; grids of them decode
 * as PNGs of the right size; errors name the layer or class. */
#include "core/internal.h"
#include "test.h"

#include <unistd.h>

enum { S = 8 };

static fv_tensor *image(float v)
{
    fv_tensor *x = fv_tensor_new(3, (int64_t[]){1, S, S});
    for (int i = 0; i < S * S; i++)
        x->data[i] = v * (float)((i * 7) % 5 - 2);
    return x;
}

TEST(saliency_sees_only_the_corner)
{
    fv_model *m = fv_model_new("corner");
    int x = fv_input(m, .ndim = 3, .dims = {1, S, S});
    int c = fv_cropping2d(m, x, .bottom = S - 3, .right = S - 3); /* the top-left 3x3 */
    fv_dense(m, fv_flatten(m, c), .units = 2, .name = "fc");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(), .seed = 2),
                 FV_OK);
    fv_tensor *img = image(1), *g = NULL, *sal = NULL;
    CHECK_STATUS(fv_input_gradient(m, img, 1, &g), FV_OK);
    CHECK_STATUS(fv_saliency(m, img, 1, &sal), FV_OK);
    fv_param_info w;
    fv_model_param(m, 0, &w); /* fc.weight (2, 9), the only parameter node's */
    int ok = g && sal;
    for (int i = 0; ok && i < S; i++)
        for (int j = 0; j < S; j++) {
            float want = i < 3 && j < 3 ? w.data[9 + i * 3 + j] : 0.0f; /* row 1 of the weight */
            ok &= g->data[i * S + j] == want && sal->data[i * S + j] == fabsf(want);
        }
    CHECK(ok);
    fv_tensor_free(sal);
    CHECK(fv_saliency(m, img, 2, &sal) == FV_ERR_INVALID && sal == NULL);
    CHECK(strstr(fv_last_error(), "class 2 is not in [0, 2)") != NULL);
    fv_tensor_free(img), fv_tensor_free(g);
    fv_model_free(m);
}

TEST(gradcam_finds_the_blob)
{
    fv_model *m = fv_model_new("blob");
    int x = fv_input(m, .ndim = 3, .dims = {1, S, S});
    int c = fv_conv2d(m, x, .filters = 2, .kernel = 3, .padding = 1, .activation = FV_ACT_RELU,
                      .name = "conv");
    fv_dense(m, fv_global_avgpool2d(m, c), .units = 2, .name = "fc");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()), FV_OK);
    for (int p = 0; p < fv_model_num_params(m); p++) { /* all-positive filters and class-0 weights */
        fv_param_info pi;
        fv_model_param(m, p, &pi);
        for (int64_t i = 0; i < pi.numel; i++)
            pi.data[i] = strstr(pi.name, "bias") ? 0.0f : 0.5f;
    }
    fv_tensor *img = fv_tensor_new(3, (int64_t[]){1, S, S}), *cam = NULL, *maps = NULL, *w = NULL;
    img->data[5 * S + 6] = img->data[6 * S + 6] = 1; /* a blob at rows 5-6, column 6 */
    CHECK_STATUS(fv_gradcam(m, img, 0, "conv", &cam), FV_OK);
    int best = 0;
    for (int i = 1; cam && i < S * S; i++)
        best = cam->data[i] > cam->data[best] ? i : best;
    CHECK(cam && best / S >= 4 && best / S <= 7 && best % S >= 5);
    CHECK(cam && cam->data[0] == 0 && cam->data[1 * S + 1] == 0); /* far away: nothing */
    CHECK_STATUS(fv_feature_maps(m, img, "conv", &maps), FV_OK);
    CHECK(maps && maps->ndim == 3 && maps->dims[0] == 2 && maps->data[6 * S + 6] == 1.0f);
    CHECK_STATUS(fv_layer_weights(m, "conv", &w), FV_OK);
    CHECK(w && w->ndim == 4 && w->dims[0] == 2 && w->data[0] == 0.5f);
    fv_tensor_free(cam);
    CHECK(fv_gradcam(m, img, 0, "nope", &cam) == FV_ERR_INVALID && cam == NULL);
    CHECK(strstr(fv_last_error(), "has no layer 'nope'") != NULL);
    /* a grid of the maps, through the heat colors */
    fv_tensor *g4 = fv_tensor_new4(2, 1, S, S);
    memcpy(g4->data, maps->data, sizeof(float) * 2 * S * S);
    const char *cap[2] = {"map 0", "map 1"};
    char path[64];
    snprintf(path, sizeof path, "/tmp/fv_vis_%d.png", (int)getpid());
    CHECK_STATUS(fv_image_grid(path, g4, .captions = cap, .heat = 1, .title = "conv"), FV_OK);
    fv_tensor *png = fv_png_load(path);
    CHECK(png && png->dims[1] == 3 && png->dims[3] >= 2 * 64);
    remove(path);
    fv_tensor_free(png), fv_tensor_free(g4);
    fv_tensor_free(img), fv_tensor_free(cam), fv_tensor_free(maps), fv_tensor_free(w);
    fv_model_free(m);
}

TEST(class_model_raises_the_score)
{
    fv_model *m = fv_model_new("cm");
    int x = fv_input(m, .ndim = 3, .dims = {1, S, S});
    int c = fv_conv2d(m, x, .filters = 3, .kernel = 3, .activation = FV_ACT_RELU);
    fv_dense(m, fv_flatten(m, c), .units = 3);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(), .seed = 4),
                 FV_OK);
    fv_tensor *img = NULL, *out = NULL, *zero = fv_tensor_new4(1, 1, S, S), *z = NULL;
    CHECK_STATUS(fv_class_model(m, 2, 30, 0.5f, 0.01f, &img), FV_OK);
    fv_tensor *batch = fv_tensor_new4(1, 1, S, S);
    memcpy(batch->data, img->data, sizeof(float) * S * S);
    CHECK_STATUS(fv_model_predict(m, batch, &out), FV_OK);
    CHECK_STATUS(fv_model_predict(m, zero, &z), FV_OK);
    CHECK(out && z && out->data[2] > z->data[2] + 0.1f);
    fv_tensor_free(img);
    CHECK(fv_class_model(m, 2, 0, 0.5f, 0, &img) == FV_ERR_INVALID && img == NULL);
    fv_tensor_free(img), fv_tensor_free(out), fv_tensor_free(zero), fv_tensor_free(z);
    fv_tensor_free(batch);
    fv_model_free(m);
}

/* Deconvnet: one conv + ReLU + max pool projects the strongest pooled activation back as that
 * activation times the filter at the switch's patch; a ReLU passes max(signal, 0), so a negative
 * signal stops where backpropagation would carry it on. */
TEST(deconvnet_known_answers)
{
    fv_model *m = fv_model_new("zf");
    int x = fv_input(m, .ndim = 3, .dims = {1, 6, 6});
    int c = fv_conv2d(m, x, .filters = 1, .kernel = 3, .no_bias = 1, .activation = FV_ACT_RELU,
                      .name = "conv");
    fv_maxpool2d(m, c, .size = 2, .name = "pool");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd()), FV_OK);
    fv_param_info w;
    fv_model_param(m, 0, &w);
    for (int i = 0; i < 9; i++)
        w.data[i] = (float)(i % 3) - 0.5f + 0.1f * (float)(i / 3); /* largest: w(2, 2) = 1.7 */
    fv_tensor *img = fv_tensor_new(3, (int64_t[]){1, 6, 6}), *r = NULL;
    img->data[2 * 6 + 3] = 1; /* y(i, j) = w(2 - i, 3 - j): the peak 1.7 is y(0, 1) */
    CHECK_STATUS(fv_deconvnet(m, img, "pool", 0, &r), FV_OK);
    /* y(i, j) = sum w(u, v) x(i + u, j + v); the pool's switch is (0, 1): patch rows 0-2, cols 1-3 */
    int ok = r != NULL;
    for (int i = 0; ok && i < 6; i++)
        for (int j = 0; j < 6; j++) {
            int u = i, v = j - 1;
            float want = u < 3 && v >= 0 && v < 3 ? 1.7f * w.data[u * 3 + v] : 0.0f;
            ok &= fabsf(r->data[i * 6 + j] - want) < 1e-6f;
        }
    CHECK(ok);
    fv_tensor_free(r), fv_tensor_free(img);
    fv_model_free(m);
    /* conv(1x1, +1) ReLU conv(1x1, -1, bias 5) ReLU: the signal reaching the first ReLU is
     * negative, so nothing gets through (backpropagation would give -a there) */
    m = fv_model_new("neg");
    x = fv_input(m, .ndim = 3, .dims = {1, 3, 3});
    c = fv_conv2d(m, x, .filters = 1, .kernel = 1, .activation = FV_ACT_RELU, .name = "a");
    fv_conv2d(m, c, .filters = 1, .kernel = 1, .activation = FV_ACT_RELU, .name = "b");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE, .optimizer = fv_sgd()), FV_OK);
    float *p[4];
    for (int k = 0; k < 4; k++) {
        fv_param_info pi;
        fv_model_param(m, k, &pi);
        p[k] = pi.data;
    }
    *p[0] = 1, *p[1] = 0, *p[2] = -1, *p[3] = 5; /* a.weight, a.bias, b.weight, b.bias */
    img = fv_tensor_new(3, (int64_t[]){1, 3, 3});
    for (int i = 0; i < 9; i++)
        img->data[i] = 0.1f * (float)(i + 1);
    CHECK_STATUS(fv_deconvnet(m, img, "b", -1, &r), FV_OK);
    int zero = r != NULL;
    for (int i = 0; zero && i < 9; i++)
        zero &= r->data[i] == 0.0f;
    CHECK(zero);
    fv_tensor_free(r);
    CHECK(fv_deconvnet(m, img, "b", 3, &r) == FV_ERR_INVALID);
    fv_tensor_free(img);
    fv_model_free(m);
}

int main(void)
{
    RUN(saliency_sees_only_the_corner);
    RUN(gradcam_finds_the_blob);
    RUN(class_model_raises_the_score);
    RUN(deconvnet_known_answers);
    TEST_MAIN_END();
}
