/* test_proposals.c - region proposals: FH segmentation on synthetic images with known components
 * (exact labels, the k / |C| threshold, min_size), colour spaces and similarities on hand-computed
 * regions, selective search's determinism under a seed and its recall of known rectangles, the
 * CSV / JSON / overlay writers, and bad input. */
#include "fovea.h"
#include "proposals/proposals.h"
#include "test.h"
#include "testfs.h"

#include <stdlib.h>
#include <string.h>

/* A (1, c, h, w) image filled with v. */
static fv_tensor *image(int c, int h, int w, float v)
{
    fv_tensor *t = fv_tensor_new4(1, c, h, w);
    for (int64_t i = 0; i < (int64_t)c * h * w; i++)
        t->data[i] = v;
    return t;
}

static void fill_rect(fv_tensor *t, int x1, int y1, int x2, int y2, const float *rgb)
{
    int c = (int)t->dims[1], h = (int)t->dims[2], w = (int)t->dims[3];
    for (int k = 0; k < c; k++)
        for (int y = y1; y < y2; y++)
            for (int x = x1; x < x2; x++)
                t->data[((size_t)k * h + y) * w + x] = rgb[k];
}

/* Segments t with a passing status; returns the number of components, with the labels (raster
 * order, for the caller to free) in *l, or frees them when l is NULL. */
static int segments(const fv_tensor *t, double sigma, double k, int min_size, int32_t **l)
{
    int32_t *lab = NULL;
    int n = 0;
    CHECK_STATUS(fv_segment_graph(t, sigma, k, min_size, &lab, &n), FV_OK);
    if (l)
        *l = lab;
    else
        free(lab);
    return n;
}

/* Whether labels l of an h x w image are 1 inside [x1, x2) x [y1, y2) and 0 elsewhere. */
static int rect_labelled(const int32_t *l, int h, int w, int x1, int y1, int x2, int y2)
{
    int ok = 1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            ok &= l[y * w + x] == (x >= x1 && x < x2 && y >= y1 && y < y2);
    return ok;
}

/* Two components with exact labels: the rectangle 1, the rest 0 (numbered in raster order). */
TEST(fh_rect_exact)
{
    static const struct {
        int c, h, w, x1, y1, x2, y2;
        float bg, fg[3];
        double k;
    } cases[] = {
        {1, 10, 12, 6, 0, 12, 10, 0, {100}, 10},                /* two halves */
        {3, 10, 10, 3, 4, 7, 8, 0.2f, {0.9f, 0.1f, 0.1f}, 0.1}, /* a 4x4 square inside a ring */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_tensor *t = image(cases[i].c, cases[i].h, cases[i].w, cases[i].bg);
        fill_rect(t, cases[i].x1, cases[i].y1, cases[i].x2, cases[i].y2, cases[i].fg);
        int32_t *l = NULL;
        CHECK(segments(t, 0, cases[i].k, 0, &l) == 2);
        CHECK(l && rect_labelled(l, cases[i].h, cases[i].w, cases[i].x1, cases[i].y1, cases[i].x2,
                                 cases[i].y2));
        free(l);
        fv_tensor_free(t);
    }
}

/* The component count of an image with a rectangle [x1, x2) x [y1, y2) of value fg on bg. */
TEST(fh_threshold_and_min_size)
{
    static const struct {
        int c, h, w, x1, y1, x2, y2;
        float bg, fg;
        double sigma, k;
        int min_size, n;
    } cases[] = {
        /* halves of 50 px differing by 5: joined when 5 <= k / 50, i.e. k >= 250 */
        {1, 10, 10, 5, 0, 10, 10, 0, 5, 0, 250, 0, 1},
        {1, 10, 10, 5, 0, 10, 10, 0, 5, 0, 249, 0, 2},
        /* a 2x2 speck: its own component until min_size exceeds its 4 pixels */
        {1, 8, 8, 2, 2, 4, 4, 0, 100, 0, 1, 4, 2},
        {1, 8, 8, 2, 2, 4, 4, 0, 100, 0, 1, 5, 1},
        /* smoothing blurs the speck's edge but not a constant image */
        {3, 8, 8, 0, 0, 0, 0, 0.3f, 0, 0.8, 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fv_tensor *t = image(cases[i].c, cases[i].h, cases[i].w, cases[i].bg);
        fill_rect(t, cases[i].x1, cases[i].y1, cases[i].x2, cases[i].y2, &cases[i].fg);
        int n = segments(t, cases[i].sigma, cases[i].k, cases[i].min_size, NULL);
        if (n != cases[i].n)
            fprintf(stderr, "  case %zu: %d components\n", i, n);
        CHECK(n == cases[i].n);
        fv_tensor_free(t);
    }
}

TEST(colour_spaces)
{
    float px[3] = {1, 0, 0}, o[3];
    fv_ss_image rgb = {3, 1, 1, px}, out;
    CHECK_STATUS(fv_ss_convert(&rgb, FV_SS_HSV, &out), FV_OK);
    memcpy(o, out.v, sizeof o);
    fv_free(out.v);
    CHECK(o[0] == 0 && o[1] == 255 && o[2] == 255);
    px[0] = 0, px[2] = 1; /* blue: hue 240 degrees, 120 on OpenCV's 8-bit scale */
    CHECK_STATUS(fv_ss_convert(&rgb, FV_SS_HUE, &out), FV_OK);
    CHECK_NEAR(out.v[0], 120, 1e-4, 0);
    CHECK(out.c == 1);
    fv_free(out.v);
    px[0] = px[1] = px[2] = 1; /* white: L 100 (255), a = b = 0 (128) */
    CHECK_STATUS(fv_ss_convert(&rgb, FV_SS_LAB, &out), FV_OK);
    CHECK_NEAR(out.v[0], 255, 0.05, 0);
    CHECK_NEAR(out.v[1], 128, 0.05, 0);
    CHECK_NEAR(out.v[2], 128, 0.05, 0);
    fv_free(out.v);
    px[0] = px[1] = px[2] = 0.6f; /* gray: r = g = 1/3, I the mean */
    CHECK_STATUS(fv_ss_convert(&rgb, FV_SS_RGI, &out), FV_OK);
    CHECK_NEAR(out.v[0], 85, 1e-3, 0);
    CHECK_NEAR(out.v[1], 85, 1e-3, 0);
    CHECK_NEAR(out.v[2], 153, 1e-3, 0);
    fv_free(out.v);
}

TEST(similarities_hand_computed)
{
    float ha[3] = {0.5f, 0.5f, 0}, hb[3] = {0.25f, 0.25f, 0.5f};
    CHECK_NEAR(fv_ss_sim_hist(ha, hb, 3), 0.5, 1e-7, 0);
    CHECK_NEAR(fv_ss_sim_hist(ha, ha, 3), 1.0, 1e-7, 0);
    /* a: 4 px in (0,0)-(1,1); b: 2 px in (2,0)-(2,1), adjacent; c: 2 px at x = 4, a gap */
    fv_ss_region a = {4, 0, 0, 1, 1, NULL, NULL}, b = {2, 2, 0, 2, 1, NULL, NULL},
                 c = {2, 4, 0, 4, 1, NULL, NULL};
    CHECK_NEAR(fv_ss_sim_size(&a, &b, 20), 1 - 6.0 / 20, 1e-12, 0);
    CHECK_NEAR(fv_ss_sim_fill(&a, &b, 20), 1.0, 1e-12, 0);          /* box 3x2 = 6 = 4 + 2 */
    CHECK_NEAR(fv_ss_sim_fill(&a, &c, 20), 1 - 4.0 / 20, 1e-12, 0); /* box 5x2 = 10 */
}

TEST(texture_bins)
{
    /* a vertical step: rightward (0 degrees) derivative positive at the edge, leftward zero */
    float v[8 * 8];
    for (int i = 0; i < 64; i++)
        v[i] = i % 8 >= 4 ? 255.0f : 0.0f;
    fv_ss_image im = {1, 8, 8, v};
    fv_ss_bins b;
    CHECK_STATUS(fv_ss_bins_make(&im, FV_SS_GRAY, &b), FV_OK);
    CHECK(b.col[0] == 0 && b.col[7] == FV_SS_COLOUR_BINS - 1);
    int edge = 3 * 8 + 4; /* row 3, the first bright column: the largest gradient */
    CHECK(b.tex[0 * 64 + edge] == FV_SS_TEX_BINS - 1);
    CHECK(b.tex[4 * 64 + edge] == 0);                  /* 180 degrees: negative part cut */
    CHECK(b.tex[2 * 64 + edge] == 0);                  /* 90 degrees: no vertical change */
    fv_ss_bins_free(&b);
}

/* Three coloured rectangles on a gray background, and their boxes. */
static fv_tensor *scene(fv_box *gt)
{
    fv_tensor *t = image(3, 64, 64, 0.5f);
    static const int r[3][4] = {{6, 8, 24, 30}, {36, 10, 58, 26}, {18, 40, 50, 58}};
    static const float col[3][3] = {{0.9f, 0.1f, 0.1f}, {0.1f, 0.2f, 0.9f}, {0.1f, 0.8f, 0.2f}};
    for (int i = 0; i < 3; i++) {
        fill_rect(t, r[i][0], r[i][1], r[i][2], r[i][3], col[i]);
        gt[i] = (fv_box){(float)r[i][0], (float)r[i][1], (float)r[i][2], (float)r[i][3]};
    }
    return t;
}

TEST(recall_of_known_rectangles)
{
    fv_box gt[3];
    fv_tensor *t = scene(gt);
    for (int m = 0; m < 3; m++) {
        fv_box *b = NULL;
        int64_t n = 0;
        CHECK_STATUS(fv_selective_search(t, &b, &n, .mode = (fv_proposal_mode)m, .min_size = 20),
                     FV_OK);
        CHECK(n >= 3);
        for (int g = 0; g < 3; g++) {
            double best = 0;
            for (int64_t i = 0; i < n; i++)
                best = fmax(best, fv_box_iou(gt[g], b[i]));
            CHECK(best >= 0.5);
        }
        /* the whole image is a region of every hierarchy */
        int whole = 0;
        for (int64_t i = 0; i < n; i++)
            whole |= b[i].x1 == 0 && b[i].y1 == 0 && b[i].x2 == 64 && b[i].y2 == 64;
        CHECK(whole);
        free(b);
    }
    fv_tensor_free(t);
}

static int box_cmp(const void *pa, const void *pb)
{
    return memcmp(pa, pb, sizeof(fv_box));
}

TEST(determinism_with_seed)
{
    fv_box gt[3];
    fv_tensor *t = scene(gt);
    /* a little deterministic texture, so the hierarchy has many regions to rank */
    for (int64_t i = 0; i < 3 * 64 * 64; i++)
        t->data[i] += 0.05f * (float)((i * 7919) % 13) / 13.0f;
    fv_box *a = NULL, *b = NULL, *c = NULL;
    int64_t na = 0, nb = 0, nc = 0;
    CHECK_STATUS(fv_selective_search(t, &a, &na, .seed = 7, .min_size = 10), FV_OK);
    CHECK_STATUS(fv_selective_search(t, &b, &nb, .seed = 7, .min_size = 10), FV_OK);
    CHECK_STATUS(fv_selective_search(t, &c, &nc, .seed = 8, .min_size = 10), FV_OK);
    CHECK(na == nb && na == nc && na > 10);
    CHECK(memcmp(a, b, sizeof(fv_box) * (size_t)na) == 0);
    CHECK(memcmp(a, c, sizeof(fv_box) * (size_t)na) != 0); /* another order ... */
    qsort(a, (size_t)na, sizeof(fv_box), box_cmp);
    qsort(c, (size_t)nc, sizeof(fv_box), box_cmp);
    CHECK(memcmp(a, c, sizeof(fv_box) * (size_t)na) == 0); /* ... of the same boxes */
    int dup = 0;
    for (int64_t i = 1; i < na; i++)
        dup |= box_cmp(&a[i - 1], &a[i]) == 0;
    CHECK(!dup);
    free(a), free(b), free(c);
    fv_tensor_free(t);
}

static void count_progress(void *ctx, int done, int total)
{
    int *c = ctx;
    c[0]++;
    c[1] = done == c[0] ? total : -1;
}

TEST(progress_reports_every_run)
{
    fv_box gt[3], *b = NULL;
    fv_tensor *t = scene(gt);
    int64_t n = 0;
    int calls[2] = {0, 0};
    CHECK_STATUS(fv_selective_search(t, &b, &n, .progress = count_progress, .ctx = calls),
                 FV_OK);
    CHECK(calls[0] == 12 && calls[1] == 12); /* Fast: 2 spaces x 3 k x 2 combinations */
    free(b);
    fv_tensor_free(t);
}

TEST(save_and_draw)
{
    fv_box b[2] = {{0, 1, 5, 6}, {2.5f, 3, 8, 9}};
    CHECK_STATUS(fv_proposals_save(t_path("p.csv"), b, 2), FV_OK);
    CHECK_STATUS(fv_proposals_save(t_path("p.json"), b, 2), FV_OK);
    char buf[256] = {0};
    FILE *f = fopen(t_path("p.csv"), "r");
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) > 0);
    if (f)
        fclose(f);
    CHECK(strcmp(buf, "rank,x1,y1,x2,y2\n1,0,1,5,6\n2,2.5,3,8,9\n") == 0);
    memset(buf, 0, sizeof buf);
    f = fopen(t_path("p.json"), "r");
    CHECK(f && fread(buf, 1, sizeof buf - 1, f) > 0);
    if (f)
        fclose(f);
    CHECK(strcmp(buf, "{\"count\": 2, \"boxes\": [\n  [0, 1, 5, 6],\n  [2.5, 3, 8, 9]\n]}\n") == 0);
    CHECK_STATUS(fv_proposals_save(t_path("p.txt"), b, 2), FV_ERR_INVALID);
    CHECK_ERR_HAS("saved as .csv or .json");
    fv_tensor *img = image(3, 20, 30, 0.5f);
    CHECK_STATUS(fv_draw_proposals(t_path("o.png"), img, b, 2), FV_OK);
    fv_tensor *back = fv_png_load(t_path("o.png"));
    CHECK(back && back->dims[2] == 20 && back->dims[3] == 30);
    /* the background pixel is the image's, a box edge is not */
    CHECK(back && fabsf(back->data[19 * 30 + 29] - 0.5f) < 0.01f);
    CHECK(back && fabsf(back->data[1 * 30 + 2] - 0.5f) > 0.05f);
    fv_tensor_free(back);
    fv_tensor_free(img);
}

TEST(bad_input)
{
    fv_box *b = NULL;
    int64_t n = 0;
    int32_t *l = NULL;
    int nl = 0;
    fv_tensor *empty = fv_tensor_new4(1, 3, 0, 5);
    CHECK_STATUS(fv_selective_search(empty, &b, &n), FV_ERR_SHAPE);
    CHECK_ERR_HAS("selective search: the image is empty");
    CHECK_STATUS(fv_segment_graph(empty, 0.8, 100, 10, &l, &nl), FV_ERR_SHAPE);
    fv_tensor *img = image(3, 8, 8, 0.5f);
    CHECK_STATUS(fv_selective_search(img, &b, &n, .mode = (fv_proposal_mode)7), FV_ERR_INVALID);
    CHECK_ERR_HAS("unknown mode 7");
    CHECK_STATUS(fv_selective_search(img, &b, &n, .sigma = -1), FV_ERR_INVALID);
    CHECK_STATUS(fv_segment_graph(img, 0.8, -1, 10, &l, &nl), FV_ERR_INVALID);
    img->data[5] = NAN;
    CHECK_STATUS(fv_selective_search(img, &b, &n), FV_ERR_NUMERIC);
    fv_tensor *two = image(2, 8, 8, 0.5f);
    CHECK_STATUS(fv_selective_search(two, &b, &n), FV_ERR_SHAPE);
    CHECK_ERR_HAS("1 or 3 channels");
    CHECK(b == NULL && n == 0 && l == NULL);
    CHECK_STATUS(fv_selective_search(NULL, &b, &n), FV_ERR_INVALID);
    fv_tensor_free(two);
    fv_tensor_free(img);
    fv_tensor_free(empty);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(fh_rect_exact),
        T_TEST(fh_threshold_and_min_size),
        T_TEST(colour_spaces),            T_TEST(similarities_hand_computed),
        T_TEST(texture_bins),             T_TEST(recall_of_known_rectangles),
        T_TEST(determinism_with_seed),    T_TEST(progress_reports_every_run),
        T_TEST(save_and_draw),            T_TEST(bad_input)};
    return t_main_scratch("/tmp/fv_proposals_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
