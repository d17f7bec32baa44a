/* test_rcnn.c - R-CNN's pieces on hand-made cases: region labelling by IoU (the 0.5 bound
 * inclusive, ties to the first ground truth), the 32 + 96 mini-batch sampler (counts, no
 * repeats, every foreground drawn alike), the context-padded warp against crops computed by
 * hand, the ridge regression against its closed form and an independent solve of the normal
 * equations, the proposal cache; and the whole detector overfitting two small scenes of
 * synthetic digits, plus its errors on bad input. */
#include "data/data.h"
#include "detect/rcnn.h"
#include "fovea.h"
#include "test.h"

#include <math.h>

static fv_det_object obj(float x1, float y1, float x2, float y2, int cls)
{
    return (fv_det_object){.box = {x1, y1, x2, y2}, .cls = cls};
}

TEST(label)
{
    fv_det_object gt[2] = {obj(0, 0, 10, 10, 3), obj(20, 20, 30, 30, 7)};
    fv_rcnn_region r[6] = {
        {.box = {0, 0, 10, 10}},   /* A itself: IoU 1 */
        {.box = {0, 0, 10, 20}},   /* A: 100 / 200 = 0.5, foreground (bound inclusive) */
        {.box = {0, 0, 10, 21}},   /* A: 100 / 210 < 0.5, background, still assigned to A */
        {.box = {25, 25, 35, 35}}, /* B: 25 / 175 */
        {.box = {50, 50, 60, 60}}, /* nothing: IoU 0 with both, the first on ties */
        {.box = {5, 0, 25, 10}},   /* A: 50 / 250 */
    };
    fv_rcnn_label(r, 6, gt, 2, 0.5f);
    int gt_want[6] = {0, 0, 0, 1, 0, 0}, label_want[6] = {4, 4, 0, 0, 0, 0};
    float iou_want[6] = {1, 0.5f, 100.f / 210, 25.f / 175, 0, 0.2f};
    for (int i = 0; i < 6; i++) {
        CHECK(r[i].gt == gt_want[i]);
        CHECK(r[i].label == label_want[i]);
        CHECK_NEAR(r[i].iou, iou_want[i], 1e-6, 0);
    }
    /* B's own box takes B's class; an image without ground truth has only background */
    fv_rcnn_region q = {.box = {20, 20, 30, 30}};
    fv_rcnn_label(&q, 1, gt, 2, 0.5f);
    CHECK(q.gt == 1 && q.label == 8);
    fv_rcnn_label(&q, 1, gt, 0, 0.5f);
    CHECK(q.gt == -1 && q.label == 0 && q.iou == 0);
}

/* regions with nf foregrounds (the first nf) and nb backgrounds */
static fv_rcnn_region *regions(int nf, int nb)
{
    fv_rcnn_region *r = calloc((size_t)(nf + nb), sizeof *r);
    for (int i = 0; i < nf; i++)
        r[i].label = 1 + i % 3;
    return r;
}

/* idx[0 .. k) distinct, the first kf foreground, the rest background */
static int valid(const fv_rcnn_region *r, int n, const int *idx, int k, int kf)
{
    int ok = 1;
    char *seen = calloc((size_t)n, 1);
    for (int i = 0; i < k; i++) {
        ok &= idx[i] >= 0 && idx[i] < n && !seen[idx[i]];
        if (idx[i] >= 0 && idx[i] < n) {
            seen[idx[i]] = 1;
            ok &= (r[idx[i]].label > 0) == (i < kf);
        }
    }
    free(seen);
    return ok;
}

TEST(sample)
{
    fv_rng rng;
    fv_rng_seed(&rng, 3);
    int idx[128];
    /* few foregrounds: all of them, and background fills the batch (torchvision's rule) */
    fv_rcnn_region *r = regions(5, 200);
    CHECK(fv_rcnn_sample(r, 205, 32, 96, &rng, idx) == 128);
    CHECK(valid(r, 205, idx, 128, 5));
    free(r);
    /* many foregrounds, few backgrounds: 32 + all 10 */
    r = regions(40, 10);
    CHECK(fv_rcnn_sample(r, 50, 32, 96, &rng, idx) == 42);
    CHECK(valid(r, 50, idx, 42, 32));
    /* every foreground is drawn with probability 32 / 40 */
    int count[40] = {0};
    for (int t = 0; t < 400; t++) {
        fv_rcnn_sample(r, 50, 32, 96, &rng, idx);
        for (int i = 0; i < 32; i++)
            count[idx[i]]++;
    }
    for (int i = 0; i < 40; i++)
        CHECK(count[i] > 0.7 * 400 && count[i] < 0.9 * 400);
    free(r);
    /* the same seed, the same batch */
    r = regions(60, 300);
    int a[128], b[128];
    fv_rng_seed(&rng, 9);
    fv_rcnn_sample(r, 360, 32, 96, &rng, a);
    fv_rng_seed(&rng, 9);
    fv_rcnn_sample(r, 360, 32, 96, &rng, b);
    CHECK(memcmp(a, b, sizeof a) == 0 && valid(r, 360, a, 128, 32));
    free(r);
    CHECK(fv_rcnn_sample(NULL, 0, 32, 96, &rng, idx) == 0);
}

TEST(warp)
{
    float img[100], dst[16];
    for (int i = 0; i < 100; i++)
        img[i] = (float)i; /* value 10 y + x */
    /* no padding, a box on whole pixels at scale 1: the crop itself */
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){2, 2, 6, 6}, 4, 0, dst), FV_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_NEAR(dst[i * 4 + j], (2 + i) * 10 + 2 + j, 1e-5, 0);
    /* padding 1 of 4: the box fills the inner 2 pixels, so it is dilated x2 about its centre
     * (4, 4) to (0, 0, 8, 8); halving with half-pixel centres reads the middle of each 2 x 2
     * block: the mean 20 i + 2 j + 5.5 */
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){2, 2, 6, 6}, 4, 1, dst), FV_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_NEAR(dst[i * 4 + j], 20 * i + 2 * j + 5.5, 1e-4, 0);
    /* a box reaching outside the image: zeros there */
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){-2, -2, 2, 2}, 4, 0, dst), FV_OK);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_NEAR(dst[i * 4 + j], i >= 2 && j >= 2 ? (i - 2) * 10 + j - 2 : 0, 1e-5, 0);
    /* doubling a 2 x 2 crop (box (8, 8, 10, 10)): half-pixel centres at 0.25 steps, edges held */
    float d2[16];
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){8, 8, 10, 10}, 4, 0, d2), FV_OK);
    float axis[4] = {0, 0.25f, 0.75f, 1}; /* source offsets (x + 0.5) / 2 - 0.5, clamped */
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            CHECK_NEAR(d2[i * 4 + j], 88 + 10 * axis[i] + axis[j], 1e-4, 0);
    /* bad settings and boxes */
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){2, 2, 6, 6}, 4, 2, dst), FV_ERR_INVALID);
    CHECK_ERR_HAS("context padding 2");
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){NAN, 2, 6, 6}, 4, 0, dst), FV_ERR_INVALID);
    CHECK_ERR_HAS("not finite");
    CHECK(t_one_line(fv_last_error()));
    /* an empty or inverted box still gives a (one-pixel) crop; a far box only zeros */
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){5, 5, 3, 3}, 4, 1, dst), FV_OK);
    CHECK_STATUS(fv_rcnn_warp(img, 1, 10, 10, (fv_box){1e30f, 1e30f, 2e30f, 2e30f}, 4, 1, dst),
                 FV_OK);
    for (int i = 0; i < 16; i++)
        CHECK(dst[i] == 0);
}

/* Solves the d x d system m w = b (4 right-hand sides) by Gaussian elimination with partial
 * pivoting: an independent check of the Cholesky solve. */
static void gauss(double *m, double *b, int d, double *w)
{
    for (int c = 0; c < d; c++) {
        int p = c;
        for (int i = c + 1; i < d; i++)
            if (fabs(m[i * d + c]) > fabs(m[p * d + c]))
                p = i;
        for (int j = 0; j < d; j++) {
            double t = m[c * d + j];
            m[c * d + j] = m[p * d + j];
            m[p * d + j] = t;
        }
        for (int k = 0; k < 4; k++) {
            double t = b[c * 4 + k];
            b[c * 4 + k] = b[p * 4 + k];
            b[p * 4 + k] = t;
        }
        for (int i = c + 1; i < d; i++) {
            double f = m[i * d + c] / m[c * d + c];
            for (int j = c; j < d; j++)
                m[i * d + j] -= f * m[c * d + j];
            for (int k = 0; k < 4; k++)
                b[i * 4 + k] -= f * b[c * 4 + k];
        }
    }
    for (int k = 0; k < 4; k++)
        for (int i = d - 1; i >= 0; i--) {
            double v = b[i * 4 + k];
            for (int j = i + 1; j < d; j++)
                v -= m[i * d + j] * w[k * d + j];
            w[k * d + i] = v / m[i * d + i];
        }
}

TEST(ridge)
{
    fv_rcnn_ridge r;
    double w[4 * 4];
    /* one feature, x = 1, 2, 3, target 0 = 2 x: with the bias unshrunk, the slope is
     * Sxy / (Sxx + lambda) on centred data = 4 / (2 + 2) = 1 and the bias 4 - 2 * 1 = 2 */
    CHECK_STATUS(fv_rcnn_ridge_init(&r, 2), FV_OK);
    float x1[3] = {1, 2, 3}, t1[12] = {2, 0, 0, 0, 4, 0, 0, 0, 6, 0, 0, 0};
    fv_rcnn_ridge_add(&r, 1, x1, t1, 3);
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 2, w), FV_OK);
    CHECK_NEAR(w[0], 1, 1e-12, 0);
    CHECK_NEAR(w[1], 2, 1e-12, 0);
    for (int i = 2; i < 8; i++)
        CHECK_NEAR(w[i], 0, 1e-12, 0);
    /* forgetting scales the statistics: halved data, the same solution at lambda / 2 */
    fv_rcnn_ridge_add(&r, 0.5, NULL, NULL, 0);
    CHECK_NEAR(r.count, 1.5, 1e-12, 0);
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 1, w), FV_OK);
    CHECK_NEAR(w[0], 1, 1e-12, 0);
    CHECK_NEAR(w[1], 2, 1e-12, 0);
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 0, w), FV_ERR_INVALID);
    CHECK_ERR_HAS("lambda");
    fv_rcnn_ridge_free(&r);

    /* three features, 40 random samples: the solution equals an independent solve of
     * (X^T X + lambda I') w = X^T T formed from the samples, and with lambda -> 0 exact
     * targets W x + b give W and b back */
    enum { F = 3, D = F + 1, N = 40 };
    fv_rng rng;
    fv_rng_seed(&rng, 5);
    float x[N * F], t[N * 4];
    double wt[4][D] = {{0.5, -1, 2, 0.25}, {0, 1, 0, -0.5}, {3, 0, -2, 1}, {-1, -1, 1, 0}};
    for (int s = 0; s < N; s++) {
        for (int f = 0; f < F; f++)
            x[s * F + f] = (float)fv_rng_normal(&rng);
        for (int k = 0; k < 4; k++) {
            double v = wt[k][F];
            for (int f = 0; f < F; f++)
                v += wt[k][f] * x[s * F + f];
            t[s * 4 + k] = (float)(v + 0.1 * fv_rng_normal(&rng));
        }
    }
    CHECK_STATUS(fv_rcnn_ridge_init(&r, D), FV_OK);
    fv_rcnn_ridge_add(&r, 1, x, t, 25);
    fv_rcnn_ridge_add(&r, 1, x + 25 * F, t + 25 * 4, N - 25);
    double m[D * D] = {0}, b[D * 4] = {0}, want[4 * D];
    for (int s = 0; s < N; s++)
        for (int i = 0; i < D; i++) {
            double xi = i < F ? x[s * F + i] : 1;
            for (int j = 0; j < D; j++)
                m[i * D + j] += xi * (j < F ? x[s * F + j] : 1);
            for (int k = 0; k < 4; k++)
                b[i * 4 + k] += xi * t[s * 4 + k];
        }
    for (int i = 0; i < F; i++)
        m[i * D + i] += 7.5;
    gauss(m, b, D, want);
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 7.5, w), FV_OK);
    for (int i = 0; i < 4 * D; i++)
        CHECK_NEAR(w[i], want[i], 1e-5, 1e-5);
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 1e-9, w), FV_OK);
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < D; i++)
            CHECK_NEAR(w[k * D + i], wt[k][i], 0.06, 0);
    fv_rcnn_ridge_free(&r);
    /* no samples: no correction */
    CHECK_STATUS(fv_rcnn_ridge_init(&r, D), FV_OK);
    for (int i = 0; i < 4 * D; i++)
        w[i] = 1;
    CHECK_STATUS(fv_rcnn_ridge_solve(&r, 10, w), FV_OK);
    for (int i = 0; i < 4 * D; i++)
        CHECK(w[i] == 0);
    fv_rcnn_ridge_free(&r);
}

/* 28x28 synthetic "digits" of 3 shapes (class k % 3): a filled square, a ring, a plus. */
static fv_dataset *shapes(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28);
    int64_t dy = n;
    fv_tensor *y = fv_tensor_new(1, &dy);
    for (int k = 0; k < n; k++) {
        for (int i = 4; i < 24; i++)
            for (int j = 4; j < 24; j++) {
                int on = k % 3 == 0 ? 1
                       : k % 3 == 1 ? i < 8 || i >= 20 || j < 8 || j >= 20
                                    : (i >= 11 && i < 17) || (j >= 11 && j < 17);
                x->data[k * 784 + i * 28 + j] = on ? 0.6f + 0.05f * (float)(k % 8) : 0;
            }
        y->data[k] = (float)(k % 3);
    }
    return fv_dataset_new(x, y, 3, "shapes");
}

/* A detector of 3 classes for 96 x 96 scenes (the interface's struct, as detect.c fills it). */
static fv_detector *detector(void)
{
    fv_detector *d = calloc(1, sizeof *d);
    d->impl = &fv_det_rcnn;
    d->args = (fv_detector_args){.arch = "rcnn", .num_classes = 3, .channels = 1, .height = 96,
                                 .width = 96, .max_dets = 100, .score_threshold = 0.05f,
                                 .seed = 4};
    CHECK_STATUS(fv_det_rcnn.create(d), FV_OK);
    return d;
}

static void detector_free(fv_detector *d)
{
    fv_det_rcnn.destroy(d);
    for (int i = 0; i < d->nmodels; i++)
        fv_model_free(d->models[i]);
    free(d);
}

TEST(overfit)
{
    fv_dataset *digits = shapes(30);
    enum { S = 2, SIDE = 96 };
    float px[S * SIDE * SIDE];
    fv_det_annotation ann[S];
    int nobj = 0;
    for (int i = 0; i < S; i++) {
        CHECK_STATUS(fv_scene_make(digits, i, px + i * SIDE * SIDE, &ann[i], .size = SIDE,
                                   .min_side = 24, .max_side = 40, .max_digits = 4, .seed = 3),
                     FV_OK);
        nobj += ann[i].nobjects;
    }
    CHECK(nobj >= 3);
    fv_det_batch b = {.n = S, .c = 1, .h = SIDE, .w = SIDE, .images = px, .ann = ann};
    fv_detector *d = detector();
    CHECK(d->args.max_dets == 100 && d->nmodels == 2);
    fv_det_losses l = {0}, first = {0};
    for (int s = 0; s < 80; s++) {
        CHECK_STATUS(fv_det_rcnn.train_step(d, &b, &l), FV_OK);
        if (s == 0)
            first = l;
    }
    CHECK(l.cls < 0.5 * first.cls);
    CHECK(isnan(l.rpn_cls) && isnan(l.rpn_box));
    /* selective search ran once per scene; every later step read the cache */
    fv_rcnn_info in;
    CHECK_STATUS(fv_rcnn_info_get(d, &in), FV_OK);
    CHECK(in.ss.runs == S && in.ss.hits == 80 * S - S && in.steps == 80 && in.nms_iou == 0.3f);
    fv_detection *dets[S];
    int nd[S];
    CHECK_STATUS(fv_det_rcnn.detect(d, &b, dets, nd), FV_OK);
    CHECK(in.ss.runs == S);
    fv_det_truth tr[S][8];
    fv_det_image im[S];
    for (int i = 0; i < S; i++) {
        for (int j = 0; j < ann[i].nobjects && j < 8; j++)
            tr[i][j] = (fv_det_truth){.box = ann[i].objects[j].box, .cls = ann[i].objects[j].cls};
        im[i] = (fv_det_image){tr[i], ann[i].nobjects, dets[i], nd[i]};
        CHECK(nd[i] <= 100);
        for (int j = 0; j < nd[i]; j++)
            CHECK(dets[i][j].score >= 0.05 && dets[i][j].score <= 1 && dets[i][j].box.x1 >= 0 &&
                  dets[i][j].box.x2 <= SIDE && dets[i][j].box.x1 <= dets[i][j].box.x2);
    }
    fv_det_metrics *m = fv_det_metrics_compute(im, S, 3);
    CHECK(m != NULL);
    if (m) {
        printf("overfit: AP50 %.3f, AP %.3f after 80 steps (cls loss %.3f -> %.3f)\n",
               m->stat[FV_DET_AP50], m->stat[FV_DET_AP], first.cls, l.cls);
        CHECK(m->stat[FV_DET_AP50] >= 0.8);
    }
    fv_det_metrics_free(m);
    for (int i = 0; i < S; i++) {
        fv_free(dets[i]);
        fv_det_annotation_clear(&ann[i]);
    }
    detector_free(d);
    fv_dataset_free(digits);
}

TEST(errors)
{
    fv_detector *d = detector();
    float px[96 * 96] = {0};
    fv_det_annotation ann = {.width = 96, .height = 96};
    fv_det_batch b = {.n = 1, .c = 3, .h = 96, .w = 96, .images = px, .ann = &ann};
    fv_det_losses l;
    CHECK_STATUS(fv_det_rcnn.train_step(d, &b, &l), FV_ERR_SHAPE);
    CHECK_ERR_HAS("3 channels");
    CHECK(t_one_line(fv_last_error()));
    b.n = 0;
    CHECK_STATUS(fv_det_rcnn.train_step(d, &b, &l), FV_ERR_INVALID);
    /* a black image has no proposals worth the name: no detections, no crash */
    b.n = 1;
    b.c = 1;
    fv_detection *dets;
    int nd = -1;
    CHECK_STATUS(fv_det_rcnn.detect(d, &b, &dets, &nd), FV_OK);
    CHECK(nd >= 0);
    fv_free(dets);
    CHECK_STATUS(fv_det_rcnn.train_step(d, &b, &l), FV_OK); /* background only */
    detector_free(d);
    fv_detector e = {.impl = &fv_det_rcnn, .args = {.num_classes = 0, .channels = 1,
                                                    .height = 8, .width = 8}};
    CHECK_STATUS(fv_det_rcnn.create(&e), FV_ERR_INVALID);
    CHECK_ERR_HAS("0 classes");
    fv_det_rcnn.destroy(&e);
    fv_rcnn_info in;
    CHECK_STATUS(fv_rcnn_info_get(&e, &in), FV_ERR_INVALID);
}

int main(void)
{
    RUN(label);
    RUN(sample);
    RUN(warp);
    RUN(ridge);
    RUN(overfit);
    RUN(errors);
    TEST_MAIN_END();
}
