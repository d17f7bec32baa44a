/* test_segnets.c - the segmentation networks: the bilinear initializer (its kernel taps, and a
 * transposed convolution so initialised equals bilinear upsampling with half-pixel centres away
 * from the border), the zoo's fcn32s / fcn16s / fcn8s / unet (output (classes, H, W) at the
 * default 1x64x84 and at sizes that are not multiples of their stride; skip scores start at 0),
 * and a few training steps of a narrow FCN-8s and U-Net with the per-pixel loss, after which the
 * fused inference pass (predict) gives the logits of the plain evaluation-mode forward and the
 * bars are labelled in evaluation mode (batch norm on its running statistics). */
#include "core/internal.h"
#include "test.h"

#include <math.h>
#include <string.h>

TEST(bilinear_kernel)
{
    fv_model *m = fv_model_new("up");
    fv_input(m, .ndim = 3, .dims = {2, 3, 4});
    int t = fv_conv2d_transpose(m, FV_LAST, .filters = 2, .kernel = 4, .stride = 2, .padding = 1,
                                .no_bias = 1, .init = FV_INIT_BILINEAR);
    CHECK_STATUS(fv_model_compile(m), FV_OK);
    fv_param_info p;
    CHECK_STATUS(fv_model_param(m, 0, &p), FV_OK);
    const float taps[4] = {0.25f, 0.75f, 0.75f, 0.25f};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            for (int y = 0; y < 4; y++)
                for (int x = 0; x < 4; x++)
                    CHECK(p.data[((i * 2 + j) * 4 + y) * 4 + x] ==
                          (i == j ? taps[y] * taps[x] : 0.0f));
    /* away from the border, the same as bilinear upsampling (align_corners=False) */
    fv_model *u = fv_model_new("ref");
    fv_input(u, .ndim = 3, .dims = {2, 3, 4});
    fv_upsample2d(u, FV_LAST, .bilinear = 1);
    CHECK_STATUS(fv_model_compile(u), FV_OK);
    float x[24];
    for (int i = 0; i < 24; i++)
        x[i] = (float)sin(i * 1.7);
    CHECK_STATUS(fv_model_forward(m, x, 1), FV_OK);
    CHECK_STATUS(fv_model_forward(u, x, 1), FV_OK);
    const float *a = fv_model_node_output(m, t), *b = fv_model_node_output(u, -1);
    double worst = 0;
    for (int c = 0; c < 2; c++)
        for (int y = 1; y < 5; y++)
            for (int v = 1; v < 7; v++) {
                int k = (c * 6 + y) * 8 + v;
                worst = fmax(worst, fabs(a[k] - b[k]));
            }
    CHECK(worst < 1e-6);
    fv_model_free(m), fv_model_free(u);
    /* a weight that is not a convolution's */
    m = fv_model_new("dense");
    fv_input(m, .ndim = 1, .dims = {3});
    fv_dense(m, FV_LAST, .units = 2, .init = FV_INIT_BILINEAR);
    CHECK(fv_model_compile(m) == FV_ERR_INVALID);
    CHECK_ERR_HAS("initializer bilinear needs a convolution weight");
    fv_model_free(m);
}

TEST(zoo_shapes)
{
    const char *names[4] = {"fcn32s", "fcn16s", "fcn8s", "unet"};
    const int sizes[2][2] = {{0, 0}, {50, 70}};
    for (int i = 0; i < 4; i++)
        for (int s = 0; s < 2; s++) {
            fv_model *m = fv_zoo(names[i], .height = sizes[s][0], .width = sizes[s][1],
                                 .width_mult = 0.25f);
            CHECK(m != NULL);
            if (!m)
                continue;
            int64_t d[4];
            int nd = fv_node_shape(m, fv_model_num_nodes(m) - 1, d);
            int h = s ? 50 : 64, w = s ? 70 : 84;
            CHECK(nd == 3 && d[0] == 11 && d[1] == h && d[2] == w);
            if (i < 3) /* upsampling layers initialised bilinear */
                CHECK(m->nodes[fv_model_find_node(m, i == 0 ? "upscore32" : i == 1 ? "upscore16"
                                                                                    : "upscore8")]
                          .init.weight.kind == FV_INIT_BILINEAR);
            fv_model_free(m);
        }
}

/* After training: predict (the fused inference pass) equals the unfused evaluation-mode
 * forward of each scene, and its argmax labels the scenes' pixels. */
static void check_eval_mode(fv_model *m, const float *x, const float *y, int n, int64_t hw)
{
    fv_tensor *xs = fv_tensor_new4(n, 1, hw / 32, 32), *logits = NULL, *one = NULL;
    memcpy(xs->data, x, sizeof(float) * (size_t)(n * hw));
    CHECK_STATUS(fv_model_predict(m, xs, &logits), FV_OK);
    int64_t right = 0;
    for (int i = 0; logits && i < n; i++) {
        fv_tensor img = {.ndim = 3, .dims = {1, hw / 32, 32}, .data = xs->data + i * hw};
        CHECK_STATUS(fv_feature_maps(m, &img, fv_node_name(m, m->output_node), &one), FV_OK);
        float worst = 0;
        for (int64_t j = 0; one && j < 2 * hw; j++)
            worst = fmaxf(worst, fabsf(one->data[j] - logits->data[i * 2 * hw + j]));
        CHECK(one && worst < 1e-4f);
        for (int64_t p = 0; p < hw; p++)
            right += (logits->data[(i * 2 + 1) * hw + p] > logits->data[i * 2 * hw + p]) ==
                     (y[i * hw + p] > 0.5f);
        fv_tensor_free(one);
    }
    printf("  eval-mode pixel accuracy %.4f\n", (double)right / (double)(n * hw));
    CHECK(right > 0.95 * (double)(n * hw)); /* background alone is 0.86 */
    fv_tensor_free(logits), fv_tensor_free(xs);
}

/* Scenes of one bright bar (class 1) on a dark background (class 0) learned in 60 steps. */
TEST(train_steps)
{
    enum { N = 4, H = 32, W = 32 };
    float *x = calloc(N * H * W, sizeof *x), *y = calloc(N * H * W, sizeof *y);
    for (int i = 0; i < N; i++)
        for (int p = 0; p < H * W; p++) {
            int r = p / W, c = p % W, on = c >= 4 + 5 * i && c < 10 + 5 * i && r > 3 && r < 28;
            x[i * H * W + p] = on ? 1.0f : 0.0f;
            y[i * H * W + p] = (float)on;
        }
    const char *names[2] = {"fcn8s", "unet"};
    for (int k = 0; k < 2; k++) {
        fv_model *m = fv_zoo(names[k], .height = H, .width = W, .num_classes = 2,
                             .width_mult = 0.25f);
        CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_PIXEL_CE, .seed = 1,
                                      .optimizer = fv_adam(.lr = 0.01f)),
                     FV_OK);
        double first = 0, loss = 0;
        for (int s = 0; s < 60; s++) {
            CHECK_STATUS(fv_model_train_batch(m, x, y, N, &loss, NULL), FV_OK);
            first = s ? first : loss;
        }
        CHECK(isfinite(loss) && loss < first);
        check_eval_mode(m, x, y, N, H * W);
        fv_model_free(m);
    }
    free(x), free(y);
}

int main(void)
{
    RUN(bilinear_kernel);
    RUN(zoo_shapes);
    RUN(train_steps);
    TEST_MAIN_END();
}
