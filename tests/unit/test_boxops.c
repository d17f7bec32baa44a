/* test_boxops.c - the box operations against torchvision 0.14 (tests/golden/gen_boxes.py):
 * box_iou, nms (random clusters at three thresholds, ties and degenerate boxes), batched_nms,
 * BoxCoder encode / decode (decode's clamp included), AnchorGenerator; hand-computed cases of
 * top-k, clipping and small-box removal; and the errors on bad input. */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"

#include <string.h>

/* Golden tensor `name` of case boxes_<c>, or NULL after a failed check. */
static fv_tensor *golden(const char *c, const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/golden/boxes_%s.safetensors", c);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    CHECK(f != NULL);
    fv_tensor *t = f ? fv_st_get(f, name) : NULL;
    CHECK(t != NULL);
    fv_st_close(f);
    return t;
}

static int count_of(const fv_tensor *t) { return t ? (int)fv_tensor_numel(t) : 0; }

TEST(iou_matrix)
{
    fv_tensor *a = golden("iou", "a"), *b = golden("iou", "b"), *want = golden("iou", "iou");
    if (a && b && want) {
        int na = count_of(a) / 4, nb = count_of(b) / 4;
        float got[64];
        CHECK(na * nb == count_of(want) && na * nb <= 64);
        CHECK_STATUS(fv_box_iou_matrix((const fv_box *)a->data, na, (const fv_box *)b->data, nb,
                                       got), FV_OK);
        CHECK_ARRAY_NEAR(got, want->data, na * nb, 1e-6, 1e-5);
        /* fv_box_iou (double) agrees */
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++)
                CHECK_NEAR(fv_box_iou(((const fv_box *)a->data)[i], ((const fv_box *)b->data)[j]),
                           got[i * nb + j], 1e-6, 0);
    }
    fv_tensor_free(a), fv_tensor_free(b), fv_tensor_free(want);
}

/* Runs NMS or batched NMS on golden case c at threshold thr_want (the generator's double; the
 * file's float copy must agree) and compares the kept indices. */
static void nms_case(const char *c, int batched, double thr_want)
{
    fv_tensor *bx = golden(c, "boxes"), *sc = golden(c, "scores"), *want = golden(c, "keep");
    fv_tensor *thr = golden(c, "thr"), *cl = batched ? golden(c, "classes") : NULL;
    if (bx && sc && want && thr && (!batched || cl)) {
        int n = count_of(sc), keep[64], nkeep = -1, classes[64];
        CHECK(thr->data[0] == (float)thr_want);
        CHECK(n <= 64);
        for (int i = 0; batched && i < n; i++)
            classes[i] = (int)cl->data[i];
        fv_status s = batched ? fv_box_batched_nms((const fv_box *)bx->data, sc->data, classes, n,
                                                   thr_want, 0, keep, &nkeep)
                              : fv_box_nms((const fv_box *)bx->data, sc->data, n, thr_want,
                                           keep, &nkeep);
        CHECK_STATUS(s, FV_OK);
        CHECK(nkeep == count_of(want));
        for (int i = 0; i < nkeep && i < count_of(want); i++)
            CHECK(keep[i] == (int)want->data[i]);
        if (batched) { /* top-k: the same list, cut */
            int top[64], ntop = -1;
            CHECK_STATUS(fv_box_batched_nms((const fv_box *)bx->data, sc->data, classes, n,
                                            thr_want, 5, top, &ntop), FV_OK);
            CHECK(ntop == 5 && memcmp(top, keep, sizeof(int) * 5) == 0);
        }
    }
    fv_tensor_free(bx), fv_tensor_free(sc), fv_tensor_free(want), fv_tensor_free(thr);
    fv_tensor_free(cl);
}

TEST(nms)
{
    nms_case("nms_3", 0, 0.3);
    nms_case("nms_5", 0, 0.5);
    nms_case("nms_7", 0, 0.7);
    nms_case("nms_ties", 0, 0.5);
    nms_case("batched_nms", 1, 0.4);
}

TEST(nms_by_hand)
{
    /* equal scores: the lower index wins; the float IoU is compared with the double threshold
     * (torchvision): IoU(b2, b0) = 0.5 exactly is not above 0.5, 1/3 in float is above 1/3 */
    fv_box b[] = {{0, 0, 2, 2}, {0, 0, 2, 2}, {0, 0, 2, 1}, {0, 0, 2, 2}};
    float s[] = {0.5f, 0.5f, 0.6f, 0.4f};
    int keep[4], n = -1, cls[] = {0, 0, 0, 1};
    CHECK_STATUS(fv_box_nms(b, s, 4, 0.5, keep, &n), FV_OK);
    CHECK(n == 2 && keep[0] == 2 && keep[1] == 0);
    CHECK_STATUS(fv_box_nms(b, s, 4, 0.4999, keep, &n), FV_OK);
    CHECK(n == 1 && keep[0] == 2);
    CHECK_STATUS(fv_box_batched_nms(b, s, cls, 4, 0.4999, 0, keep, &n), FV_OK);
    CHECK(n == 2 && keep[0] == 2 && keep[1] == 3); /* class 1 is not suppressed by class 0 */
    CHECK_STATUS(fv_box_batched_nms(b, s, cls, 4, 0.4999, 1, keep, &n), FV_OK);
    CHECK(n == 1 && keep[0] == 2);
    fv_box t[] = {{0, 0, 3, 1}, {0, 0, 1, 1}};
    CHECK_STATUS(fv_box_nms(t, s, 2, 1.0 / 3, keep, &n), FV_OK);
    CHECK(n == 1 && keep[0] == 0);
    CHECK_STATUS(fv_box_nms(t, s, 2, 0.34, keep, &n), FV_OK);
    CHECK(n == 2);
    CHECK_STATUS(fv_box_nms(NULL, NULL, 0, 0.5, NULL, &n), FV_OK);
    CHECK(n == 0);
}

TEST(coder)
{
    static const char *cases[] = {"coder_rpn", "coder_head"};
    for (int c = 0; c < 2; c++) {
        fv_tensor *refs = golden(cases[c], "refs"), *tg = golden(cases[c], "targets");
        fv_tensor *d = golden(cases[c], "deltas"), *codes = golden(cases[c], "codes");
        fv_tensor *dec = golden(cases[c], "decoded"), *w = golden(cases[c], "weights");
        if (refs && tg && d && codes && dec && w) {
            int n = count_of(refs) / 4;
            float got[64];
            fv_box out[16];
            CHECK(n <= 16);
            CHECK_STATUS(fv_box_encode((const fv_box *)tg->data, (const fv_box *)refs->data, n,
                                       w->data, got), FV_OK);
            CHECK_ARRAY_NEAR(got, d->data, 4 * n, 1e-5, 1e-5);
            CHECK_STATUS(fv_box_decode(codes->data, (const fv_box *)refs->data, n, w->data, out),
                         FV_OK);
            CHECK_ARRAY_NEAR((const float *)out, dec->data, 4 * n, 1e-5, 1e-6);
            /* decode inverts encode */
            CHECK_STATUS(fv_box_decode(d->data, (const fv_box *)refs->data, n, w->data, out),
                         FV_OK);
            CHECK_ARRAY_NEAR((const float *)out, tg->data, 4 * n, 1e-4, 1e-5);
        }
        fv_tensor_free(refs), fv_tensor_free(tg), fv_tensor_free(d), fv_tensor_free(codes);
        fv_tensor_free(dec), fv_tensor_free(w);
    }
}

TEST(anchors)
{
    fv_tensor *want = golden("anchors", "anchors"), *sz = golden("anchors", "sizes");
    fv_tensor *ar = golden("anchors", "ratios"), *geo = golden("anchors", "geometry");
    if (want && sz && ar && geo) {
        int gh = (int)geo->data[0], gw = (int)geo->data[1], n = gh * gw * 9;
        fv_box *got = malloc(sizeof *got * (size_t)n);
        CHECK(n * 4 == count_of(want));
        CHECK_STATUS(fv_box_anchors(sz->data, 3, ar->data, 3, gh, gw, (int)geo->data[2],
                                    (int)geo->data[3], got), FV_OK);
        CHECK_ARRAY_NEAR((const float *)got, want->data, 4 * n, 1e-9, 0); /* exact */
        free(got);
    }
    fv_tensor_free(want), fv_tensor_free(sz), fv_tensor_free(ar), fv_tensor_free(geo);
    /* half-way widths round to even: 45 / 2 = 22.5 -> 22, 5 / 2 = 2.5 -> 2, 7 / 2 = 3.5 -> 4 */
    float sizes[] = {45, 5, 7}, one = 1;
    fv_box a[3];
    CHECK_STATUS(fv_box_anchors(sizes, 3, &one, 1, 1, 1, 16, 16, a), FV_OK);
    CHECK(a[0].x2 == 22 && a[1].x2 == 2 && a[2].x2 == 4 && a[2].x1 == -4);
}

TEST(clip_and_small)
{
    fv_box b[] = {{-3, 2, 50, 8}, {10, -1, 12, 40}, {1, 1, 1.5f, 9}, {70, 70, 80, 80}};
    CHECK_STATUS(fv_box_clip(b, 4, 32, 24), FV_OK);
    CHECK(b[0].x1 == 0 && b[0].x2 == 32 && b[1].y1 == 0 && b[1].y2 == 24);
    CHECK(b[3].x1 == 32 && b[3].x2 == 32 && b[3].y1 == 24); /* outside: collapses to the edge */
    int keep[4], n = -1;
    CHECK_STATUS(fv_box_remove_small(b, 4, 1, keep, &n), FV_OK);
    CHECK(n == 2 && keep[0] == 0 && keep[1] == 1); /* 0.5 wide and empty boxes go */
    CHECK_STATUS(fv_box_remove_small(b, 4, 2.5f, keep, &n), FV_OK);
    CHECK(n == 1 && keep[0] == 0); /* b[1] is 2 wide: below 2.5 */
}

TEST(errors)
{
    fv_box b[] = {{0, 0, 2, 2}, {1, 1, 3, 3}};
    float s[] = {0.5f, NAN}, d[8], iou[4];
    int keep[2], n, cls[] = {0, -1};
    CHECK_STATUS(fv_box_nms(b, s, 2, 0.5f, keep, &n), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("box nms: score 1 is NaN");
    s[1] = 0.2f;
    CHECK_STATUS(fv_box_nms(b, s, -1, 0.5f, keep, &n), FV_ERR_INVALID);
    CHECK_ERR_HAS("box nms: box count -1 is negative");
    CHECK_STATUS(fv_box_nms(b, s, 2, NAN, keep, &n), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("IoU threshold is NaN");
    CHECK_STATUS(fv_box_batched_nms(b, s, cls, 2, 0.5f, 0, keep, &n), FV_ERR_INVALID);
    CHECK_ERR_HAS("class -1 of box 1 is negative");
    CHECK_STATUS(fv_box_batched_nms(b, s, NULL, 2, 0.5f, 0, keep, &n), FV_ERR_INVALID);
    CHECK_ERR_HAS("class is NULL");
    b[1].y2 = NAN;
    CHECK_STATUS(fv_box_iou_matrix(b, 2, b, 1, iou), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("box iou: box a 1 has a NaN coordinate");
    b[1].y2 = INFINITY;
    CHECK_STATUS(fv_box_nms(b, s, 2, 0.5f, keep, &n), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("box nms: box 1 has a infinite coordinate");
    b[1] = (fv_box){1, 1, 1, 3};
    CHECK_STATUS(fv_box_encode(b, b, 2, NULL, d), FV_ERR_INVALID);
    CHECK_ERR_HAS("box encode: reference box 1 is 0x2");
    CHECK_STATUS(fv_box_encode(b, (fv_box[]){{0, 0, 1, 1}, {0, 0, 1, 1}}, 2, NULL, d),
                 FV_ERR_INVALID);
    CHECK_ERR_HAS("target box 1 is 0x2");
    float w[] = {1, 0, 1, 1};
    CHECK_STATUS(fv_box_decode(d, b, 2, w, b), FV_ERR_INVALID);
    CHECK_ERR_HAS("box decode: weight 1 is 0");
    d[5] = NAN;
    CHECK_STATUS(fv_box_decode(d, b, 2, NULL, b), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("box decode: delta 5 is NaN");
    CHECK_STATUS(fv_box_clip(b, 2, -1, 4), FV_ERR_INVALID);
    CHECK_ERR_HAS("box clip: image size -1x4");
    CHECK_STATUS(fv_box_remove_small(b, 2, NAN, keep, &n), FV_ERR_NUMERIC);
    float sizes[] = {32}, ratios[] = {0};
    CHECK_STATUS(fv_box_anchors(sizes, 1, ratios, 1, 2, 2, 16, 16, b), FV_ERR_INVALID);
    CHECK_ERR_HAS("box anchors: aspect ratio 0 is 0");
    ratios[0] = 1;
    CHECK_STATUS(fv_box_anchors(sizes, 1, ratios, 1, -2, 2, 16, 16, b), FV_ERR_INVALID);
    CHECK_ERR_HAS("grid -2x2");
    CHECK_STATUS(fv_box_anchors(sizes, -1, ratios, 1, 2, 2, 16, 16, b), FV_ERR_INVALID);
    CHECK_ERR_HAS("size count -1 is negative");
}

int main(void)
{
    RUN(iou_matrix);
    RUN(nms);
    RUN(nms_by_hand);
    RUN(coder);
    RUN(anchors);
    RUN(clip_and_small);
    RUN(errors);
    TEST_MAIN_END();
}
