/* test_run_report.c - the library's run report, evaluation files, figures and schedule presets:
 * a small CNN trained on a generated two-class set gets every file and figure and a page titled
 * with the model and data set that shows the settings, the CPU and the figures; class names pad
 * past the set's; a perfect model draws no mistakes; a model with a spatial transformer gets the
 * figure of its input beside its output (the same picture at the identity), one without does
 * not; wrong shapes, an unknown schedule and a missing folder are one-line errors. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <math.h>
#include <sys/stat.h>

#define S 8
#define N 32

/* Two classes: a bright left half, or a bright right half (with a little noise). */
static fv_dataset *halves(void)
{
    fv_dataset *d = calloc(1, sizeof *d);
    d->x = fv_tensor_new4(N, 1, S, S);
    int64_t yd[1] = {N};
    d->y = fv_tensor_new(1, yd);
    d->num_classes = 2;
    snprintf(d->name, sizeof d->name, "halves");
    d->class_names = calloc(2, sizeof(char *));
    d->class_names[0] = strdup("left");
    d->class_names[1] = strdup("right");
    uint32_t r = 7;
    for (int i = 0; i < N; i++) {
        d->y->data[i] = (float)(i % 2);
        for (int p = 0; p < S * S; p++) {
            r = r * 1664525u + 1013904223u;
            int bright = (p % S < S / 2) == (i % 2 == 0);
            d->x->data[i * S * S + p] = (float)bright + (float)(r >> 24) / 2560.0f;
        }
    }
    return d;
}

static fv_model *small_cnn(void)
{
    fv_model *m = fv_model_new("tiny");
    int x = fv_input(m, .ndim = 3, .dims = {1, S, S});
    int c = fv_conv2d(m, x, .filters = 4, .kernel = 3, .padding = 1, .activation = FV_ACT_RELU,
                      .name = "conv1");
    int f = fv_flatten(m, c);
    fv_dense(m, f, .units = 2, .name = "fc");
    fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f), .seed = 1);
    return m;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size > 0;
}

TEST(run_report_has_everything)
{
    fv_dataset *d = halves();
    fv_model *m = small_cnn();
    fv_epoch_metrics h[3];
    int ran = 0;
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 3, .batch_size = 8, .history = h,
                              .epochs_run = &ran), FV_OK);
    const char *kv[] = {"optimizer", "adam", "learning rate", "0.01", NULL};
    CHECK_STATUS(fv_run_report_write(m, d, t_path(""), .data_name = "halves-set", .history = h,
                                     .epochs = ran, .settings = kv), FV_OK);
    static const char *const files[] = {"metrics.json", "per_class.csv", "confusion.png",
                                        "roc.svg", "pr.png", "reliability.png", "loss.png",
                                        "accuracy.svg", "filters.png", "saliency.png",
                                        "report.html"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        CHECK(exists(t_path(files[i])));
    CHECK(!exists(t_path("transformer.png"))); /* no spatial transformer */
    long n = 0;
    char *html = (char *)t_slurp(t_path("report.html"), &n);
    CHECK(html && strstr(html, "<h1>fovea: tiny on halves-set</h1>"));
    CHECK(html && strstr(html, "<th>learning rate</th><td>0.01</td>"));
    CHECK(html && strstr(html, "<th>CPU</th>") && strstr(html, "kernels at"));
    CHECK(html && strstr(html, "<th>test split</th><td>32 images</td>"));
    CHECK(html && strstr(html, "right</td>")); /* per-class table named by the set */
    CHECK(html && strstr(html, "first-layer filters") && strstr(html, "saliency and Grad-CAM"));
    free(html);
    fv_model_free(m);
    fv_dataset_free(d);
}

/* The largest difference between grid tiles a and b of transformer.png (8x8 images at scale 8
 * under a title, four tiles a row: fv_image_grid's layout). */
static float tile_diff(const fv_tensor *png, int a, int b)
{
    int64_t W = png->dims[3];
    float worst = 0;
    for (int64_t y = 0; y < 64; y++)
        for (int64_t x = 0; x < 64; x++) {
            int64_t pa = (34 + (a / 4) * 86 + y) * W + 6 + (a % 4) * 70 + x;
            int64_t pb = (34 + (b / 4) * 86 + y) * W + 6 + (b % 4) * 70 + x;
            float d = fabsf(png->data[pa] - png->data[pb]);
            worst = d > worst ? d : worst;
        }
    return worst;
}

TEST(transformer_figure)
{
    fv_dataset *d = halves();
    fv_model *m = fv_model_new("st");
    int x = fv_input(m, .ndim = 3, .dims = {1, S, S}, .name = "x");
    int loc = fv_dense(m, fv_flatten(m, x), .units = 4, .activation = FV_ACT_RELU, .name = "loc");
    int st = fv_spatial_transformer(m, x, loc, .name = "st");
    int c = fv_conv2d(m, st, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU, .name = "conv1");
    fv_dense(m, fv_flatten(m, c), .units = 2, .name = "fc");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .seed = 1), FV_OK);
    CHECK(mkdir(t_path("st"), 0755) == 0);
    CHECK_STATUS(fv_run_report_write(m, d, t_path("st")), FV_OK);
    CHECK(exists(t_path("st/transformer.png")));
    long n = 0;
    char *html = (char *)t_slurp(t_path("st/report.html"), &n);
    CHECK(html && strstr(html, "beside the transformer's output"));
    free(html);
    /* untrained, the transformer is the identity: each output tile is its input tile, and the
     * pairs differ (different test images) */
    fv_tensor *png = fv_image_load(t_path("st/transformer.png"));
    CHECK(png && png->dims[3] >= 4 * 70 && png->dims[2] >= 34 + 4 * 86 - 6);
    if (png) {
        for (int i = 0; i < 8; i++)
            CHECK(tile_diff(png, 2 * i, 2 * i + 1) <= 2.0f / 255);
        CHECK(tile_diff(png, 0, 2) > 0.5f); /* a left half beside a right half */
    }
    fv_tensor_free(png);
    fv_model_free(m);
    fv_dataset_free(d);
}

TEST(class_names_pad_and_mistakes)
{
    fv_dataset *d = halves();
    char **v = fv_class_names(d, 3);
    CHECK(v && strcmp(v[0], "left") == 0 && strcmp(v[2], "class 2") == 0);
    fv_class_names_free(v, 3);
    v = fv_class_names(NULL, 2);
    CHECK(v && strcmp(v[1], "class 1") == 0);
    fv_class_names_free(v, 2);
    int64_t pd[2] = {N, 2};
    fv_tensor *p = fv_tensor_new(2, pd);
    for (int i = 0; i < N; i++) /* perfect: no mistakes, no figure */
        p->data[2 * i + i % 2] = 0.9f, p->data[2 * i + 1 - i % 2] = 0.1f;
    int wrote = 1;
    CHECK_STATUS(fv_figure_mistakes(p, d, t_path("none.png"), &wrote), FV_OK);
    CHECK(!wrote && !exists(t_path("none.png")));
    p->data[0] = 0.05f, p->data[1] = 0.95f; /* sample 0 (left) called right */
    CHECK_STATUS(fv_figure_mistakes(p, d, t_path("one.png"), &wrote), FV_OK);
    CHECK(wrote && exists(t_path("one.png")));
    fv_tensor_free(p);
    fv_dataset_free(d);
}

TEST(bad_input_is_an_error)
{
    fv_dataset *d = halves();
    int64_t pd[2] = {N - 1, 2};
    fv_tensor *p = fv_tensor_new(2, pd);
    CHECK_STATUS(fv_evaluation_write(d, p, t_path(""), NULL), FV_ERR_INVALID);
    CHECK_ERR_HAS("probabilities");
    fv_tensor_free(p);
    fv_schedule s;
    CHECK_STATUS(fv_schedule_preset("cosin", 10, 100, 0, &s), FV_ERR_INVALID);
    CHECK_ERR_HAS("schedule 'cosin' is unknown");
    CHECK_STATUS(fv_schedule_preset("cosine", 10, 0, 0, &s), FV_ERR_INVALID);
    fv_model *m = small_cnn();
    CHECK(fv_run_report_write(m, d, t_path("no/such/folder")) != FV_OK);
    CHECK_ERR_HAS("no/such/folder");
    CHECK(!exists(t_path("no/such/folder/report.html")));
    fv_model_free(m);
    fv_dataset_free(d);
}

TEST(schedule_presets)
{
    fv_schedule s;
    CHECK_STATUS(fv_schedule_preset(NULL, 9, 10, 0, &s), FV_OK);
    CHECK(s.kind == FV_SCHED_CONSTANT);
    CHECK_STATUS(fv_schedule_preset("step", 9, 10, 0, &s), FV_OK);
    CHECK(s.kind == FV_SCHED_STEP && s.step_size == 3 && s.gamma == 0.5f);
    CHECK_STATUS(fv_schedule_preset("onecycle", 9, 10, 0, &s), FV_OK);
    CHECK(s.kind == FV_SCHED_ONE_CYCLE && s.total == 90);
    CHECK_STATUS(fv_schedule_preset("cosine", 9, 10, 2, &s), FV_OK);
    CHECK(s.kind == FV_SCHED_COSINE && s.total == 9 && s.warmup == 2);
    CHECK_STATUS(fv_schedule_preset("plateau", 9, 10, 0, &s), FV_OK);
    CHECK(s.kind == FV_SCHED_PLATEAU && s.patience == 2 && s.factor == 0.5f);
}

int main(void)
{
    static const t_test tests[] = {T_TEST(run_report_has_everything),
                                   T_TEST(transformer_figure),
                                   T_TEST(class_names_pad_and_mistakes),
                                   T_TEST(bad_input_is_an_error), T_TEST(schedule_presets)};
    return t_main_scratch("/tmp/fv_runrep_XXXXXX", tests, sizeof tests / sizeof *tests);
}
