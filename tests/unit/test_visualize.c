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

int main(void)
{
    RUN(saliency_sees_only_the_corner);
    RUN(gradcam_finds_the_blob);
    RUN(class_model_raises_the_score);
    TEST_MAIN_END();
}
