/* test_augment.c - on-the-fly augmentation: each transform checked against its definition
 * (a flip is a mirror image, a crop a shift within the padding, a cutout one filled square,
 * brightness a constant shift), the seeded stream makes it reproducible, settings are validated,
 * and fit trains with it. */
#include "core/internal.h"
#include "data/augment.h"
#include "test.h"

enum { C = 2, H = 6, W = 7, N = 64 };

static void fill_images(float *x)
{
    for (int s = 0; s < N; s++)
        for (int i = 0; i < C * H * W; i++)
            x[s * C * H * W + i] = (float)(i + 1);
}

static int is_shift(const float *img, int dy, int dx, float fill)
{
    for (int ch = 0; ch < C; ch++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int si = i - dy, sj = j - dx;
                float want = si >= 0 && si < H && sj >= 0 && sj < W
                                 ? (float)(ch * H * W + si * W + sj + 1)
                                 : fill;
                if (img[ch * H * W + i * W + j] != want)
                    return 0;
            }
    return 1;
}

TEST(flips_and_crops)
{
    static float x[N * C * H * W];
    fv_rng r;
    fill_images(x);
    fv_rng_seed(&r, 1);
    fv_augment a = {.hflip = 1};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, C, H, W), FV_OK);
    int mirrored = 0;
    for (int s = 0; s < N; s++) {
        const float *img = x + s * C * H * W;
        int m = img[0] == (float)W; /* the first row's last value moved to the front */
        mirrored += m;
        CHECK(m || is_shift(img, 0, 0, 0));
        CHECK(img[W - 1] == (m ? 1.0f : (float)W));
    }
    CHECK(mirrored > 16 && mirrored < 48);
    fill_images(x);
    a = (fv_augment){.crop_pad = 2, .fill = -5};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, C, H, W), FV_OK);
    int all_shifts = 1, moved = 0;
    for (int s = 0; s < N; s++) {
        int found = 0;
        for (int dy = -2; dy <= 2 && !found; dy++)
            for (int dx = -2; dx <= 2 && !found; dx++)
                if (is_shift(x + s * C * H * W, dy, dx, -5)) {
                    found = 1;
                    moved += dy || dx;
                }
        all_shifts &= found;
    }
    CHECK(all_shifts && moved > N / 2);
}

TEST(cutout_brightness_and_seeding)
{
    static float x[N * C * H * W], y[N * C * H * W];
    fv_rng r;
    fill_images(x);
    fv_rng_seed(&r, 2);
    fv_augment a = {.cutout = 3, .fill = 0};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, C, H, W), FV_OK);
    int ok = 1;
    for (int s = 0; s < N; s++) {
        int zeros = 0;
        for (int i = 0; i < C * H * W; i++) {
            float v = x[s * C * H * W + i];
            zeros += v == 0;
            ok &= v == 0 || v == (float)(i + 1);
        }
        ok &= zeros > 0 && zeros <= C * 9 && zeros % C == 0;
    }
    CHECK(ok);
    /* brightness: every pixel of a channel moves by the same amount, within the range */
    fill_images(x);
    a = (fv_augment){.brightness = 0.5f};
    fv_rng_seed(&r, 3);
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, C, H, W), FV_OK);
    for (int s = 0; s < N; s++) {
        float d = x[s * C * H * W] - 1.0f;
        CHECK(fabsf(d) <= 0.5f + 1e-6f && fabsf(x[s * C * H * W + 5] - 6.0f - d) < 1e-5f);
    }
    /* the same seed, the same images */
    fill_images(x), fill_images(y);
    a = (fv_augment){.hflip = 1, .vflip = 1, .crop_pad = 1, .cutout = 2, .contrast = 0.2f};
    fv_rng r1, r2;
    fv_rng_seed(&r1, 9), fv_rng_seed(&r2, 9);
    fv_augment_batch(&a, &r1, x, N, C, H, W);
    fv_augment_batch(&a, &r2, y, N, C, H, W);
    CHECK(memcmp(x, y, sizeof x) == 0);
    a = (fv_augment){.contrast = 1.0f};
    CHECK(fv_augment_batch(&a, &r1, x, 1, C, H, W) == FV_ERR_INVALID);
    CHECK_ERR_HAS("contrast=1");
}

TEST(fit_with_augmentation)
{
    fv_model *m = fv_model_new("aug");
    fv_input(m, .ndim = 3, .dims = {C, H, W});
    fv_dense(m, fv_flatten(m, FV_LAST), .units = 2);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()), FV_OK);
    fv_dataset d = {.x = fv_tensor_new4(N, C, H, W), .y = fv_tensor_new4(N, 1, 1, 1),
                    .num_classes = 2};
    fill_images(d.x->data);
    for (int i = 0; i < N; i++)
        d.y->data[i] = (float)(i % 2);
    fv_epoch_metrics h[2];
    CHECK_STATUS(fv_model_fit(m, &d, .epochs = 2, .history = h,
                              .augment = {.hflip = 1, .crop_pad = 1, .cutout = 2}),
                 FV_OK);
    CHECK(isfinite(h[1].loss));
    fv_tensor_free(d.x), fv_tensor_free(d.y);
    fv_model_free(m);
}

int main(void)
{
    RUN(flips_and_crops);
    RUN(cutout_brightness_and_seeding);
    RUN(fit_with_augmentation);
    TEST_MAIN_END();
}
