/* test_augment_more.c - the affine warp against an independent evaluation of its definition, the
 * color transforms by the invariants that define them (hue turns about the gray axis, saturation
 * keeps luma, grayscale is luma), random erasing as one filled box of the stated size, mixup and
 * cutmix as convex blends whose targets carry the same weights, the Beta sampler's moments, and
 * fit with the background loader: reproducible, one-hot targets for categorical losses, and the
 * errors for settings that cannot work. */
#include "core/internal.h"
#include "data/augment.h"
#include "test.h"

#define PI 3.14159265358979323846

enum { H = 9, W = 8, N = 32 };

static void ramp(float *x, int n, int c)
{
    for (int s = 0; s < n; s++)
        for (int i = 0; i < c * H * W; i++)
            x[(s * c) * H * W + i] = (float)((i * 7 + s * 3) % 23) / 23.0f;
}

static double at(const float *p, int i, int j, double fill)
{
    return i >= 0 && i < H && j >= 0 && j < W ? p[i * W + j] : fill;
}

/* The warp by its forward definition: dst = R(th) diag(sx, sy) (src - c) + c + t, so each output
 * pixel samples src at the forward map's inverse (solved here by Cramer's rule). */
static double expected_warp(const float *src, int i, int j, double th, double sx, double sy,
                            double tx, double ty, double fill)
{
    double a = cos(th) * sx, b = -sin(th) * sy, c = sin(th) * sx, d = cos(th) * sy;
    double cx = (W - 1) / 2.0, cy = (H - 1) / 2.0, u = j - cx - tx, v = i - cy - ty;
    double det = a * d - b * c, x = (d * u - b * v) / det + cx, y = (a * v - c * u) / det + cy;
    int x0 = (int)floor(x), y0 = (int)floor(y);
    double fx = x - x0, fy = y - y0;
    return (1 - fy) * ((1 - fx) * at(src, y0, x0, fill) + fx * at(src, y0, x0 + 1, fill)) +
           fy * ((1 - fx) * at(src, y0 + 1, x0, fill) + fx * at(src, y0 + 1, x0 + 1, fill));
}

TEST(affine_warp_matches_definition)
{
    static float x[N * H * W], orig[N * H * W];
    ramp(x, N, 1);
    memcpy(orig, x, sizeof x);
    fv_augment a = {.rotate = 30, .scale = 0.2f, .aspect = 0.3f, .translate = 0.1f, .fill = -1};
    fv_rng r, replay;
    fv_rng_seed(&r, 5), fv_rng_seed(&replay, 5);
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 1, H, W), FV_OK);
    double worst = 0;
    for (int s = 0; s < N; s++) { /* replay the draws in the documented order */
        double th = (-30 + 60 * fv_rng_uniform(&replay)) * PI / 180;
        double sc = 0.8 + 0.4 * fv_rng_uniform(&replay);
        double la = -log(1.3) + 2 * log(1.3) * fv_rng_uniform(&replay);
        double tx = (-0.1 + 0.2 * fv_rng_uniform(&replay)) * W;
        double ty = (-0.1 + 0.2 * fv_rng_uniform(&replay)) * H;
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                double want = expected_warp(orig + s * H * W, i, j, th, sc * exp(la / 2),
                                            sc * exp(-la / 2), tx, ty, -1);
                double d = fabs(x[s * H * W + i * W + j] - want);
                worst = d > worst ? d : worst;
            }
    }
    CHECK(worst < 1e-5);
    /* a constant image whose fill is the same constant is left as it is by any warp */
    for (int i = 0; i < N * H * W; i++)
        x[i] = 0.25f;
    a.fill = 0.25f;
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 1, H, W), FV_OK);
    int same = 1;
    for (int i = 0; i < N * H * W; i++)
        same &= fabsf(x[i] - 0.25f) < 1e-6f;
    CHECK(same);
}

static double luma(double r, double g, double b)
{
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

TEST(color_invariants)
{
    enum { HW = H * W };
    static float x[N * 3 * HW], orig[N * 3 * HW];
    ramp(x, N, 3);
    memcpy(orig, x, sizeof x);
    fv_rng r;
    fv_rng_seed(&r, 6);
    /* hue: a rotation about (1, 1, 1) keeps r+g+b and the chroma's length */
    fv_augment a = {.hue = 0.5f};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 3, H, W), FV_OK);
    double err = 0, moved = 0;
    for (int s = 0; s < N; s++)
        for (int p = 0; p < HW; p++) {
            const float *o = orig + s * 3 * HW + p, *v = x + s * 3 * HW + p;
            double so = o[0] + o[HW] + o[2 * HW], sv = v[0] + v[HW] + v[2 * HW], co = 0, cv = 0;
            for (int k = 0; k < 3; k++) {
                co += pow(o[k * HW] - so / 3, 2), cv += pow(v[k * HW] - sv / 3, 2);
                moved += fabs(o[k * HW] - v[k * HW]);
            }
            err = fmax(err, fmax(fabs(so - sv), fabs(sqrt(co) - sqrt(cv))));
        }
    CHECK(err < 1e-5 && moved > 1);
    /* saturation: luma kept, the deviation from it scaled by one factor in [0.5, 1.5] */
    memcpy(x, orig, sizeof x);
    a = (fv_augment){.saturation = 0.5f};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 3, H, W), FV_OK);
    int ok = 1;
    for (int s = 0; s < N; s++) {
        const float *o = orig + s * 3 * HW, *v = x + s * 3 * HW;
        double lo = luma(o[0], o[HW], o[2 * HW]), f = (v[0] - lo) / (o[0] - lo);
        ok &= f >= 0.5 - 1e-4 && f <= 1.5 + 1e-4;
        for (int p = 0; p < HW; p++) {
            double l = luma(o[p], o[HW + p], o[2 * HW + p]);
            ok &= fabs(luma(v[p], v[HW + p], v[2 * HW + p]) - l) < 1e-5;
            for (int k = 0; k < 3; k++)
                ok &= fabs(v[k * HW + p] - l - f * (o[k * HW + p] - l)) < 1e-4;
        }
    }
    CHECK(ok);
    /* grayscale with probability 1: every channel is the luma */
    memcpy(x, orig, sizeof x);
    a = (fv_augment){.grayscale = 1};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 3, H, W), FV_OK);
    ok = 1;
    for (int s = 0; s < N; s++)
        for (int p = 0; p < HW; p++) {
            const float *o = orig + s * 3 * HW + p, *v = x + s * 3 * HW + p;
            double l = luma(o[0], o[HW], o[2 * HW]);
            ok &= fabs(v[0] - l) < 1e-6 && fabs(v[HW] - l) < 1e-6 && fabs(v[2 * HW] - l) < 1e-6;
        }
    CHECK(ok);
    a = (fv_augment){.hue = 0.1f};
    CHECK(fv_augment_batch(&a, &r, x, 1, 1, H, W) == FV_ERR_SHAPE);
    CHECK_ERR_HAS("RGB");
}

TEST(random_erasing_is_one_box)
{
    enum { S = 20 };
    static float x[N * S * S];
    fv_rng r;
    fv_rng_seed(&r, 7);
    for (int i = 0; i < N * S * S; i++)
        x[i] = 1;
    fv_augment a = {.erase = 1, .fill = -7};
    CHECK_STATUS(fv_augment_batch(&a, &r, x, N, 1, S, S), FV_OK);
    int ok = 1, erased = 0;
    for (int s = 0; s < N; s++) {
        const float *p = x + s * S * S;
        int y0 = S, y1 = -1, x0 = S, x1 = -1, cnt = 0;
        for (int i = 0; i < S; i++)
            for (int j = 0; j < S; j++)
                if (p[i * S + j] == -7) {
                    cnt++, y0 = i < y0 ? i : y0, y1 = i > y1 ? i : y1;
                    x0 = j < x0 ? j : x0, x1 = j > x1 ? j : x1;
                } else {
                    ok &= p[i * S + j] == 1;
                }
        erased += cnt > 0;
        if (cnt) /* a full rectangle of about 2% to 33% of the area */
            ok &= cnt == (y1 - y0 + 1) * (x1 - x0 + 1) && cnt >= 4 && cnt <= 0.4 * S * S;
    }
    CHECK(ok && erased == N);
}

TEST(mixup_and_cutmix_blend_targets_alike)
{
    enum { K = N };
    static float x[N * H * W], t[N * K];
    fv_rng r;
    fv_rng_seed(&r, 8);
    for (int mode = 0; mode < 2; mode++) {
        for (int s = 0; s < N; s++) { /* image s is the constant s, its class is s */
            for (int i = 0; i < H * W; i++)
                x[s * H * W + i] = (float)s;
            for (int k = 0; k < K; k++)
                t[s * K + k] = k == s;
        }
        fv_augment a = {.mixup = mode == 0 ? 0.4f : 0, .cutmix = mode == 1 ? 1.0f : 0};
        CHECK_STATUS(fv_augment_mix(&a, &r, x, t, N, 1, H, W, K), FV_OK);
        int ok = 1;
        for (int s = 0; s < N; s++) {
            double lam = t[s * K + s], sum = 0;
            int partner = s;
            for (int k = 0; k < K; k++) {
                sum += t[s * K + k];
                if (k != s && t[s * K + k] > 0)
                    partner = k;
            }
            ok &= fabs(sum - 1) < 1e-5;
            if (mode == 0) { /* every pixel lam * s + (1 - lam) * partner */
                for (int i = 0; i < H * W; i++)
                    ok &= fabs(x[s * H * W + i] - (lam * s + (1 - lam) * partner)) < 1e-4;
            } else { /* the share of own pixels is the target weight */
                int own = 0;
                for (int i = 0; i < H * W; i++) {
                    own += x[s * H * W + i] == (float)s;
                    ok &= x[s * H * W + i] == (float)s || x[s * H * W + i] == (float)partner;
                }
                ok &= partner == s || fabs((double)own / (H * W) - lam) < 1e-6;
            }
        }
        CHECK(ok);
    }
    /* Beta(a, a): mean 1/2, variance 1 / (4 (2a + 1)) */
    double m = 0, v = 0;
    enum { D = 40000 };
    for (int i = 0; i < D; i++) {
        double b = fv_beta_draw(&r, 0.4);
        m += b, v += b * b;
    }
    m /= D, v = v / D - m * m;
    CHECK_NEAR(m, 0.5, 0.01, 0);
    CHECK_NEAR(v, 1 / (4 * 1.8), 0.005, 0);
}

static fv_model *tiny(fv_loss loss)
{
    fv_model *m = fv_model_new("aug");
    fv_input(m, .ndim = 3, .dims = {3, H, W});
    fv_dense(m, fv_flatten(m, FV_LAST), .units = 4);
    fv_model_compile(m, .loss = loss, .optimizer = fv_adam(), .seed = 3);
    return m;
}

static void tiny_data(fv_dataset *d)
{
    *d = (fv_dataset){.x = fv_tensor_new4(N, 3, H, W), .y = fv_tensor_new4(N, 1, 1, 1),
                      .num_classes = 4};
    ramp(d->x->data, N, 3);
    for (int i = 0; i < N; i++)
        d->y->data[i] = (float)(i % 4);
}

/* Trains a fresh tiny model for 2 epochs and returns its first weight's sum of squares. */
static double train(fv_loss loss, const fv_dataset *d, fv_augment au, uint64_t seed)
{
    fv_model *m = tiny(loss);
    fv_status st = fv_model_fit(m, d, .epochs = 2, .batch_size = 5, .seed = seed, .augment = au);
    double ss = st == FV_OK ? 0 : NAN;
    for (int64_t i = 0; i < m->param_total; i++)
        ss += (double)m->data_slab[i] * m->data_slab[i] * (double)(i % 7 + 1);
    fv_model_free(m);
    return ss;
}

TEST(fit_with_loader)
{
    fv_dataset d;
    tiny_data(&d);
    fv_augment au = {.hflip = 1, .rotate = 10, .saturation = 0.3f, .hue = 0.05f, .erase = 0.5f,
                     .mixup = 0.2f, .cutmix = 1.0f};
    double a = train(FV_LOSS_CATEGORICAL_CE, &d, au, 11);
    double b = train(FV_LOSS_CATEGORICAL_CE, &d, au, 11);
    double c = train(FV_LOSS_CATEGORICAL_CE, &d, au, 12);
    CHECK(isfinite(a) && a == b && a != c);
    /* without augmentation, categorical CE on class indices (one-hot) equals sparse softmax CE */
    double sp = train(FV_LOSS_SOFTMAX_CE, &d, (fv_augment){0}, 4);
    double ca = train(FV_LOSS_CATEGORICAL_CE, &d, (fv_augment){0}, 4);
    CHECK_NEAR(sp, ca, 1e-6, 1e-5);
    fv_model *m = tiny(FV_LOSS_SOFTMAX_CE);
    CHECK(fv_model_fit(m, &d, .augment = {.mixup = 0.2f}) == FV_ERR_INVALID);
    CHECK_ERR_HAS("soft targets");
    CHECK(fv_model_fit(m, &d, .augment = {.rotate = 200}) == FV_ERR_INVALID);
    CHECK_ERR_HAS("rotate=200");
    double acc;
    fv_model_free(m);
    m = tiny(FV_LOSS_CATEGORICAL_CE);
    CHECK_STATUS(fv_model_evaluate(m, &d, 0, NULL, &acc), FV_OK);
    CHECK(acc >= 0 && acc <= 1);
    fv_model_free(m);
    fv_tensor_free(d.x), fv_tensor_free(d.y);
}

/* The report's description of the settings: those on, in order; "none"; cut short safely. */
TEST(describe_settings)
{
    char buf[128];
    fv_augment a = {0};
    fv_augment_describe(&a, buf, sizeof buf);
    CHECK(strcmp(buf, "none") == 0);
    a.hflip = 1, a.rotate = 10, a.cutout = 8, a.mixup = 0.2f;
    fv_augment_describe(&a, buf, sizeof buf);
    CHECK(strcmp(buf, "horizontal flip, rotate 10 deg, mixup alpha 0.2, cutout 8") == 0);
    char small[12];
    fv_augment_describe(&a, small, sizeof small);
    CHECK(strlen(small) < sizeof small && strncmp(small, "horizontal", 10) == 0);
}

int main(void)
{
    RUN(affine_warp_matches_definition);
    RUN(color_invariants);
    RUN(random_erasing_is_one_box);
    RUN(mixup_and_cutmix_blend_targets_alike);
    RUN(fit_with_loader);
    RUN(describe_settings);
    TEST_MAIN_END();
}
