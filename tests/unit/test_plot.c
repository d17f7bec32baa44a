/* test_plot.c - figures: line plots, a reliability diagram and a confusion matrix written as PNG
 * (decoded back: the size asked for, not blank, the series' colors drawn, text drawn) and SVG
 * (well-formed outline), and errors for bad paths and empty series. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <unistd.h>

/* Pixels of `img` (1, 3, H, W) close to color (r, g, b). */
static int64_t count_color(const fv_tensor *img, float r, float g, float b)
{
    int64_t hw = img->dims[2] * img->dims[3], n = 0;
    for (int64_t i = 0; i < hw; i++)
        n += fabsf(img->data[i] - r) < 0.06f && fabsf(img->data[hw + i] - g) < 0.06f &&
             fabsf(img->data[2 * hw + i] - b) < 0.06f;
    return n;
}

static int64_t count_dark(const fv_tensor *img)
{
    int64_t hw = img->dims[2] * img->dims[3], n = 0;
    for (int64_t i = 0; i < hw; i++)
        n += img->data[i] < 0.3f && img->data[hw + i] < 0.3f && img->data[2 * hw + i] < 0.3f;
    return n;
}

static int svg_ok(const char *p)
{
    long n = 0;
    char *buf = (char *)t_slurp(p, &n);
    int ok = buf && n > 100 && strncmp(buf, "<?xml", 5) == 0 && strstr(buf, "<svg") &&
             strstr(buf, "</svg>");
    free(buf);
    return ok;
}

TEST(line_plot)
{
    double x[50], y1[50], y2[50];
    for (int i = 0; i < 50; i++)
        x[i] = i + 1, y1[i] = 1.0 / (i + 1), y2[i] = 0.5 + 0.4 * sin(i / 5.0);
    fv_series s[2] = {{"train loss", x, y1, 50}, {"validation loss", x, y2, 50}};
    CHECK_STATUS(fv_plot_lines(t_path("curves.png"), s, 2, .title = "loss", .xlabel = "epoch",
                               .ylabel = "loss", .width = 500, .height = 300),
                 FV_OK);
    fv_tensor *img = fv_png_load(t_path("curves.png"));
    CHECK(img && img->dims[1] == 3 && img->dims[2] == 300 && img->dims[3] == 500);
    if (img) { /* both series' colors, and text and frame in dark gray */
        CHECK(count_color(img, 0.12f, 0.47f, 0.71f) > 200);
        CHECK(count_color(img, 1.0f, 0.5f, 0.05f) > 200);
        CHECK(count_dark(img) > 500);
    }
    fv_tensor_free(img);
    CHECK_STATUS(fv_plot_lines(t_path("curves.svg"), s, 2, .title = "loss", .diagonal = 1),
                 FV_OK);
    CHECK(svg_ok(t_path("curves.svg")));
}

TEST(reliability_and_confusion)
{
    double conf[10], acc[10];
    int64_t cnt[10];
    for (int b = 0; b < 10; b++)
        conf[b] = (b + 0.5) / 10, acc[b] = conf[b] * 0.9, cnt[b] = b == 3 ? 0 : 10 + b;
    CHECK_STATUS(fv_plot_reliability(t_path("rel.png"), conf, acc, cnt, 10,
                                     .title = "reliability"),
                 FV_OK);
    fv_tensor *img = fv_png_load(t_path("rel.png"));
    CHECK(img && count_color(img, 0.30f, 0.58f, 0.77f) > 1000); /* the bars (alpha 0.8) */
    fv_tensor_free(img);
    int64_t cm[9] = {50, 2, 0, 3, 40, 7, 0, 1, 60};
    const char *names[3] = {"cat", "dog", "bird"};
    CHECK_STATUS(fv_plot_confusion(t_path("cm.png"), cm, 3, names), FV_OK);
    img = fv_png_load(t_path("cm.png"));
    CHECK(img && img->dims[3] > 3 * 52 && count_color(img, 0.12f, 0.47f, 0.71f) > 52 * 40);
    fv_tensor_free(img);
    CHECK_STATUS(fv_plot_confusion(t_path("cm.svg"), cm, 3, NULL), FV_OK);
    CHECK(svg_ok(t_path("cm.svg")));
}

TEST(errors)
{
    double x[2] = {0, 1};
    fv_series s = {"a", x, x, 2}, empty = {"e", x, x, 0};
    CHECK(fv_plot_lines(t_path("a.jpg"), &s, 1) == FV_ERR_INVALID);
    CHECK(strstr(fv_last_error(), "a.jpg: figures are written as .png or .svg") != NULL);
    CHECK(fv_plot_lines(t_path("b.png"), &empty, 1) == FV_ERR_INVALID);
    CHECK(strstr(fv_last_error(), "series 0 ('e') has no points") != NULL);
    CHECK(fv_plot_lines("/nonexistent-dir/x.png", &s, 1) == FV_ERR_IO);
    CHECK(strstr(fv_last_error(), "/nonexistent-dir/x.png") != NULL);
    CHECK(access(t_path("b.png"), F_OK) != 0); /* nothing left behind */
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(line_plot), T_TEST(reliability_and_confusion), T_TEST(errors)
    };
    return t_main_scratch("/tmp/fv_plot_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
