/* test_frcnn_train.c - Fast and Faster R-CNN trained end to end through their fv_det_impl on a
 * few small scenes (fv_scene_make, 64x64, up to 3 "digits" of 20-40 px: three classes of
 * synthetic shapes, a solid square, a frame and bars, so no MNIST is needed): the losses fall and the AP50 on
 * those scenes rises well above the untrained detector's (an overfit test: everything from the
 * RPN's targets to the RoI op's backward into the backbone has to work for it); detections stay
 * in the scene, scored in [0, 1], at most max_dets; and bad settings and batches are errors. */
#include "core/internal.h"
#include "data/data.h"
#include "detect/roi_head.h"
#include "test.h"

#include <string.h>

enum { S = 64, N = 4 };

typedef struct fixture {
    fv_dataset *digits;
    float pix[N * S * S];
    fv_det_annotation ann[N];
} fixture;

/* 30 28x28 shapes: class k % 3 a solid square, a one-pixel frame or vertical bars. */
static fv_dataset *shapes(void)
{
    fv_tensor *x = fv_tensor_new4(30, 1, 28, 28);
    int64_t n = 30;
    fv_tensor *y = fv_tensor_new(1, &n);
    if (!x || !y)
        return NULL;
    for (int k = 0; k < 30; k++) {
        int c = k % 3, lo = 4 + k % 4, hi = 23 - k % 3;
        for (int i = lo; i <= hi; i++)
            for (int j = lo; j <= hi; j++) {
                int edge = i == lo || i == hi || j == lo || j == hi;
                int on = c == 0 || (c == 1 && edge) || (c == 2 && (j - lo) % 4 < 2);
                x->data[k * 784 + i * 28 + j] = on ? 1.0f : 0.0f;
            }
        y->data[k] = (float)c;
    }
    return fv_dataset_new(x, y, 3, "shapes");
}

static int make(fixture *f)
{
    f->digits = shapes();
    if (!f->digits)
        return 0;
    memset(f->ann, 0, sizeof f->ann);
    for (int i = 0; i < N; i++)
        if (fv_scene_make(f->digits, i, f->pix + i * S * S, &f->ann[i], .size = S,
                          .min_side = 20, .max_side = 40, .max_digits = 3, .seed = 5) != FV_OK)
            return 0;
    return 1;
}

/* AP50 on the fixture's scenes; *ap COCO's AP. */
static double ap50(fv_detector *d, fixture *f, double *ap)
{
    fv_det_batch b = {N, 1, S, S, f->pix, f->ann};
    fv_detection *dets[N];
    int nd[N];
    CHECK_STATUS(d->impl->detect(d, &b, dets, nd), FV_OK);
    fv_det_truth tr[N][4];
    fv_det_image im[N];
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < f->ann[i].nobjects; j++)
            tr[i][j] = (fv_det_truth){f->ann[i].objects[j].box, f->ann[i].objects[j].cls, 0, 0, 0};
        im[i] = (fv_det_image){tr[i], f->ann[i].nobjects, dets[i], nd[i]};
        CHECK(nd[i] <= d->args.max_dets);
        for (int j = 0; j < nd[i]; j++) {
            const fv_detection *x = &dets[i][j];
            CHECK(x->score >= 0 && x->score <= 1 && x->cls >= 0 && x->cls < 3);
            CHECK(x->box.x1 >= 0 && x->box.x2 <= S && x->box.y1 >= 0 && x->box.y2 <= S);
        }
    }
    fv_det_metrics *m = fv_det_metrics_compute(im, N, 3);
    double v = m ? m->stat[FV_DET_AP50] : -1;
    *ap = m ? m->stat[FV_DET_AP] : -1;
    fv_det_metrics_free(m);
    for (int i = 0; i < N; i++)
        fv_free(dets[i]);
    return v;
}

static void overfit(const fv_det_impl *impl, int steps)
{
    fixture f;
    if (!make(&f)) {
        CHECK(!"scenes");
        return;
    }
    struct fv_detector d = {.impl = impl,
                            .args = {.num_classes = 3, .channels = 1, .height = S, .width = S,
                                     .max_dets = 100, .score_threshold = 0.05f, .nms_iou = 0.5f,
                                     .seed = 3}};
    CHECK_STATUS(impl->create(&d), FV_OK);
    if (d.nmodels == 2) {
        double ap0, ap1, before = ap50(&d, &f, &ap0), first = 0, last = 0;
        fv_det_batch b = {N, 1, S, S, f.pix, f.ann};
        for (int s = 0; s < steps; s++) {
            fv_det_losses l;
            CHECK_STATUS(impl->train_step(&d, &b, &l), FV_OK);
            CHECK(isfinite(l.total));
            first = s < 5 ? first + l.total / 5 : first;
            last = s >= steps - 5 ? last + l.total / 5 : last;
        }
        double after = ap50(&d, &f, &ap1);
        fprintf(stderr, "  %s: AP50 %.3f -> %.3f, AP %.3f -> %.3f, loss %.3f -> %.3f\n",
                impl->name, before, after, ap0, ap1, first, last);
        /* selective search finds these clean shapes' boxes, so an untrained Fast R-CNN already
         * has some AP50 (every class on every box); what training brings is the classes */
        CHECK(last < 0.5 * first);
        CHECK(after > 0.8);
        CHECK(ap1 > ap0 + 0.15);
    }
    impl->destroy(&d);
    for (int i = 0; i < d.nmodels; i++)
        fv_model_free(d.models[i]);
    for (int i = 0; i < N; i++)
        fv_det_annotation_clear(&f.ann[i]);
    fv_dataset_free(f.digits);
}

TEST(faster_rcnn_overfits) { overfit(&fv_det_faster_rcnn, 100); }
TEST(fast_rcnn_overfits) { overfit(&fv_det_fast_rcnn, 150); }

TEST(errors)
{
    struct fv_detector d = {.impl = &fv_det_faster_rcnn,
                            .args = {.num_classes = 10, .channels = 1, .height = 60, .width = 64,
                                     .max_dets = 10, .nms_iou = 0.5f}};
    CHECK_STATUS(fv_det_faster_rcnn.create(&d), FV_ERR_INVALID);
    CHECK_ERR_HAS("Faster R-CNN: input 60x64");
    CHECK(d.nmodels == 0 && d.state == NULL);
    d.args.height = 64, d.args.num_classes = 0, d.impl = &fv_det_fast_rcnn;
    CHECK_STATUS(fv_det_fast_rcnn.create(&d), FV_ERR_INVALID);
    CHECK_ERR_HAS("Fast R-CNN: 0 classes");
    d.args.num_classes = 2, d.impl = &fv_det_faster_rcnn;
    CHECK_STATUS(fv_det_faster_rcnn.create(&d), FV_OK);
    float pix[32 * 32] = {0};
    fv_det_object o = {.box = {1, 1, 9, 9}, .cls = 2};
    fv_det_annotation a = {.nobjects = 1, .objects = &o};
    fv_det_batch b = {1, 1, 32, 32, pix, &a};
    fv_det_losses l;
    CHECK_STATUS(fv_det_faster_rcnn.train_step(&d, &b, &l), FV_ERR_INVALID);
    CHECK_ERR_HAS("image 0 box 0 has class 2 (the detector has 2)");
    o.cls = 1, o.box.x2 = NAN;
    CHECK_STATUS(fv_det_faster_rcnn.train_step(&d, &b, &l), FV_ERR_INVALID);
    CHECK_ERR_HAS("image 0 box 0 is not finite");
    o.box.x2 = 9, b.c = 3;
    CHECK_STATUS(fv_det_faster_rcnn.train_step(&d, &b, &l), FV_ERR_INVALID);
    CHECK_ERR_HAS("takes 1 channels");
    b.c = 1, b.n = 0;
    CHECK_STATUS(fv_det_faster_rcnn.train_step(&d, &b, &l), FV_ERR_INVALID);
    CHECK_ERR_HAS("0 images");
    /* a scene without digits trains (every anchor and RoI background) */
    b.n = 1, a.nobjects = 0;
    CHECK_STATUS(fv_det_faster_rcnn.train_step(&d, &b, &l), FV_OK);
    CHECK(isfinite(l.total) && l.rpn_box == 0 && l.box == 0);
    fv_det_faster_rcnn.destroy(&d);
    for (int i = 0; i < d.nmodels; i++)
        fv_model_free(d.models[i]);
}

int main(void)
{
    RUN(errors);
    RUN(faster_rcnn_overfits);
    RUN(fast_rcnn_overfits);
    TEST_MAIN_END();
}
