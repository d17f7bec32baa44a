/* test_report.c - the HTML report: a self-contained page (no external references) with the
 * escaped title, the settings, the history and per-class metrics tables, and each figure
 * embedded as base64 PNG data that decodes back to the file's bytes; a missing figure is an
 * error naming it and leaves no file. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <unistd.h>

static int b64val(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = strchr(t, c);
    return c && p ? (int)(p - t) : -1;
}

/* Decodes base64 from s up to the first '"'; returns the byte count. */
static long b64decode(const char *s, unsigned char *out)
{
    long n = 0;
    for (; *s && *s != '"'; s += 4) {
        int v[4];
        for (int i = 0; i < 4; i++)
            v[i] = s[i] == '=' ? 0 : b64val(s[i]);
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        out[n++] = (unsigned char)(w >> 16);
        if (s[2] != '=')
            out[n++] = (unsigned char)(w >> 8);
        if (s[3] != '=')
            out[n++] = (unsigned char)w;
    }
    return n;
}

TEST(self_contained_page)
{
    char png[64], html[64];
    snprintf(png, sizeof png, "/tmp/fv_rep_%d.png", (int)getpid());
    snprintf(html, sizeof html, "/tmp/fv_rep_%d.html", (int)getpid());
    double x[3] = {1, 2, 3}, y[3] = {0.5, 0.3, 0.2};
    fv_series s = {"loss", x, y, 3};
    CHECK_STATUS(fv_plot_lines(png, &s, 1, .title = "t"), FV_OK);
    double sc[8] = {0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7};
    int lab[4] = {0, 1, 1, 1};
    fv_metrics *mt = fv_metrics_compute(sc, lab, 4, 2);
    fv_epoch_metrics h[2] = {{.epoch = 1, .loss = 0.5, .accuracy = 0.7, .lr = 0.001},
                             {.epoch = 2, .loss = 0.3, .accuracy = 0.8, .lr = 0.001}};
    const char *params[] = {"optimizer", "adam", "batch", "64", NULL};
    const char *names[2] = {"cat <1>", "dog & co"}, *imgs[2] = {png, NULL};
    const char *caps[1] = {"loss per epoch"};
    fv_report r = {.title = "run <b>1</b>", .params = params, .metrics = mt,
                   .class_names = names, .history = h, .epochs = 2, .images = imgs,
                   .captions = caps, .summary = "Model: \"m\"\n conv (Conv2D) 160"};
    CHECK_STATUS(fv_report_write(html, &r), FV_OK);
    long n = 0, np = 0;
    char *t = (char *)t_slurp(html, &n), *p = (char *)t_slurp(png, &np);
    CHECK(t && p && n > np);
    if (t && p) {
        CHECK(strncmp(t, "<!DOCTYPE html>", 15) == 0 && strstr(t, "</html>"));
        CHECK(strstr(t, "run &lt;b&gt;1&lt;/b&gt;") && !strstr(t, "<b>1"));
        CHECK(strstr(t, "<td>cat &lt;1&gt;") && strstr(t, "<td>dog &amp; co"));
        CHECK(strstr(t, "<th>optimizer</th><td>adam</td>"));
        CHECK(strstr(t, "<tr><td>2</td><td>0.3000</td><td>0.8000</td>"));
        CHECK(!strstr(t, "http:") && !strstr(t, "https:") && !strstr(t, "src=\"/"));
        const char *d = strstr(t, "data:image/png;base64,");
        unsigned char *dec = malloc((size_t)np + 8);
        CHECK(d && dec && b64decode(d + 22, dec) == np && memcmp(dec, p, (size_t)np) == 0);
        free(dec);
    }
    free(t), free(p);
    /* a figure that is not there: an error naming it, and no page */
    remove(html);
    const char *missing[2] = {"/tmp/fv_no_such_figure.png", NULL};
    r.images = missing;
    CHECK(fv_report_write(html, &r) != FV_OK);
    CHECK(strstr(fv_last_error(), "/tmp/fv_no_such_figure.png") != NULL);
    CHECK(access(html, F_OK) != 0);
    fv_metrics_free(mt);
    remove(png);
}

int main(void)
{
    RUN(self_contained_page);
    TEST_MAIN_END();
}
