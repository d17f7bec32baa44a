/* test_detect_driver.c - the detectors' driver (fv_detector_*): settings and their errors, fit
 * and evaluate on synthetic scenes, detection on images of another size (boxes mapped back),
 * the save / load round trip (identical detections) and the errors of loading a damaged folder. */
#include "data/data.h"
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <stdio.h>
#include <sys/stat.h>

/* n 28x28 "digits": a lit rectangle, label k % 3. */
static fv_dataset *blobs(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28);
    int64_t dy = n;
    fv_tensor *y = fv_tensor_new(1, &dy);
    for (int k = 0; k < n; k++) {
        for (int i = 5; i < 23; i++)
            for (int j = 8 + k % 3; j < 20; j++)
                x->data[k * 784 + i * 28 + j] = 0.9f;
        y->data[k] = (float)(k % 3);
    }
    return fv_dataset_new(x, y, 3, "blobs");
}

static const fv_scene_args scene_args = {.size = 96, .min_side = 20, .max_side = 40,
                                         .max_digits = 4, .seed = 3};

TEST(settings)
{
    fv_detector *d = fv_detector_new(.arch = "yolo9000");
    CHECK(d == NULL);
    CHECK_ERR_HAS("detector: unknown architecture 'yolo9000' (known: ssd");
    CHECK(fv_detector_new(.num_classes = 3) == NULL);
    CHECK_ERR_HAS("unknown architecture '(none)'");
    CHECK(fv_detector_new(.arch = "ssd", .channels = 2) == NULL);
    CHECK_ERR_HAS("channels 2 (1 or 3)");
    CHECK(fv_detector_new(.arch = "ssd", .height = 8) == NULL);
    CHECK_ERR_HAS("input 8x8 not within 16 to 4096");
    CHECK(fv_detector_new(.arch = "ssd", .num_classes = -1) == NULL);
    CHECK_ERR_HAS("num_classes -1 not in [1, 1000]");
    CHECK(fv_detector_new(.arch = "ssd", .score_threshold = 1.5f) == NULL);
    CHECK_ERR_HAS("score_threshold 1.5 not in [0, 1)");
    CHECK(fv_detector_new(.arch = "ssd", .nms_iou = -0.5f) == NULL);
    CHECK_ERR_HAS("nms_iou -0.5 not in (0, 1]");
    const char *names[] = {"a", NULL, "c"};
    CHECK(fv_detector_new(.arch = "ssd", .num_classes = 3, .class_names = names) == NULL);
    CHECK_ERR_HAS("class name 1 is missing");
    d = fv_detector_new(.arch = "ssd", .num_classes = 3, .height = 48);
    CHECK(d != NULL);
    const fv_detector_args *a = fv_detector_settings(d);
    CHECK(a->width == 48 && a->channels == 1 && a->max_dets == 100 && a->nms_iou == 0.5f &&
          strcmp(a->arch, "ssd") == 0 && a->class_names == NULL);
    /* post-processing changed on a made detector: 0 / negative keep a setting; a bad value is
     * an error that changes nothing */
    CHECK_STATUS(fv_detector_set_postprocess(d, 0.3f, -1, 7), FV_OK);
    CHECK(a->nms_iou == 0.3f && a->score_threshold == 0.05f && a->max_dets == 7);
    CHECK_STATUS(fv_detector_set_postprocess(d, 0, 0, 0), FV_OK);
    CHECK(a->nms_iou == 0.3f && a->score_threshold == 0 && a->max_dets == 7);
    CHECK(fv_detector_set_postprocess(d, 1.5f, 0.2f, 3) != FV_OK);
    CHECK_ERR_HAS("nms_iou 1.5 not in (0, 1]");
    CHECK(fv_detector_set_postprocess(d, 0.4f, 0.2f, -3) != FV_OK);
    CHECK_ERR_HAS("max_dets -3 not in [1, 100000]");
    CHECK(fv_detector_set_postprocess(d, 0.4f, 1.0f, 3) != FV_OK);
    CHECK(a->nms_iou == 0.3f && a->score_threshold == 0 && a->max_dets == 7);
    CHECK(fv_detector_set_postprocess(NULL, 0.4f, 0.2f, 3) != FV_OK);
    fv_detector_free(d);
    /* R-CNN's NMS defaults to the paper's 0.3, the others' to 0.5 */
    d = fv_detector_new(.arch = "rcnn", .num_classes = 3, .height = 48);
    CHECK(d && fv_detector_settings(d)->nms_iou == 0.3f);
    fv_detector_free(d);
}

TEST(fit_errors)
{
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 3, .height = 48);
    fv_dataset *digits = blobs(6);
    CHECK(fv_detector_fit(d) == FV_ERR_INVALID);
    CHECK_ERR_HAS("detector fit: no data");
    fv_det_source s = {.digits = digits, .scenes = scene_args, .count = 4};
    CHECK(fv_detector_fit(d, .data = s, .batch = -2) == FV_ERR_INVALID);
    CHECK_ERR_HAS("batch -2");
    CHECK(fv_detector_fit(d, .data = s, .optimizer = "adamx") == FV_ERR_INVALID);
    CHECK_ERR_HAS("unknown optimizer 'adamx'");
    CHECK(fv_detector_fit(d, .data = s, .schedule = "sometimes") != FV_OK);
    CHECK(fv_detector_fit(d, .data = s, .lr = NAN) == FV_ERR_INVALID);
    s.count = 0;
    CHECK(fv_detector_fit(d, .data = s) == FV_ERR_INVALID);
    CHECK_ERR_HAS("0 scenes");
    fv_det_metrics *m = (fv_det_metrics *)1;
    CHECK(fv_detector_evaluate(d, &s, 4, &m, NULL) == FV_ERR_INVALID && m == NULL);
    /* data of more classes than the detector has */
    fv_detector *d2 = fv_detector_new(.arch = "ssd", .num_classes = 2, .height = 48);
    s.count = 2;
    CHECK(fv_detector_fit(d2, .data = s) == FV_ERR_INVALID);
    CHECK_ERR_HAS("the data has 3 classes, the detector 2");
    fv_detection *dets[1];
    int nd[1];
    fv_tensor *flat = fv_tensor_new(2, (const int64_t[]){1, 10});
    CHECK(fv_detector_detect(d, flat, dets, nd) == FV_ERR_SHAPE);
    fv_tensor_free(flat);
    fv_detector_free(d2);
    fv_detector_free(d);
    fv_dataset_free(digits);
}

/* Detections of two scenes drawn on 96 x 96 canvases (the detector's input is 48). */
static void detect_two(fv_detector *d, const fv_dataset *digits, fv_detection **dets, int *nd)
{
    fv_tensor *x = fv_tensor_new4(2, 1, 96, 96);
    for (int i = 0; i < 2; i++) {
        fv_det_annotation a;
        CHECK_STATUS(fv_scene_make_(digits, i, x->data + i * 96 * 96, &a, scene_args), FV_OK);
        fv_det_annotation_clear(&a);
    }
    CHECK_STATUS(fv_detector_detect(d, x, dets, nd), FV_OK);
    fv_tensor_free(x);
}

TEST(round_trip)
{
    fv_dataset *digits = blobs(9);
    const char *names[] = {"thin", "mid", "wide"};
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 3, .height = 48, .seed = 2,
                                     .score_threshold = 0.01f, .class_names = names);
    fv_det_source s = {.digits = digits, .scenes = scene_args, .count = 6};
    fv_det_history h = {0};
    CHECK_STATUS(fv_detector_fit(d, .data = s, .epochs = 2, .batch = 3, .history = &h), FV_OK);
    CHECK(h.n == 2 && h.steps == 4 && isfinite(h.epochs[1].loss) && isfinite(h.epochs[1].cls) &&
          isnan(h.epochs[1].rpn_cls) && h.epochs[1].lr >= 0);
    fv_det_history_clear(&h);
    fv_det_metrics *m = NULL;
    double ms = -1;
    CHECK_STATUS(fv_detector_evaluate(d, &s, 4, &m, &ms), FV_OK);
    CHECK(m && m->images == 6 && m->k == 3 && ms >= 0);
    fv_det_metrics_free(m);

    fv_detection *a[2], *b[2];
    int na[2], nb[2];
    detect_two(d, digits, a, na);
    CHECK(na[0] > 0); /* a threshold of 0.01 keeps some boxes even early on */
    for (int j = 0; j < na[0]; j++) /* boxes in the 96-pixel image, best first */
        CHECK(a[0][j].box.x2 <= 96 && a[0][j].box.x1 >= 0 && a[0][j].cls >= 0 &&
              a[0][j].cls < 3 && (j == 0 || a[0][j].score <= a[0][j - 1].score));
    CHECK_STATUS(fv_detector_save(d, t_path("det")), FV_OK);
    fv_detector *e = fv_detector_load(t_path("det"));
    CHECK(e != NULL);
    if (e) {
        detect_two(e, digits, b, nb);
        for (int i = 0; i < 2; i++) {
            CHECK(na[i] == nb[i]);
            for (int j = 0; j < na[i] && j < nb[i]; j++) /* field by field: struct padding */
                CHECK(a[i][j].cls == b[i][j].cls && a[i][j].score == b[i][j].score &&
                      memcmp(&a[i][j].box, &b[i][j].box, sizeof(fv_box)) == 0);
            fv_free(b[i]);
        }
        CHECK(strcmp(fv_detector_settings(e)->class_names[2], "wide") == 0 &&
              fv_detector_settings(e)->score_threshold == 0.01f);
        /* max_dets 2 on the loaded detector: the same best two */
        CHECK_STATUS(fv_detector_set_postprocess(e, 0, -1, 2), FV_OK);
        detect_two(e, digits, b, nb);
        for (int i = 0; i < 2; i++) {
            CHECK(nb[i] == (na[i] < 2 ? na[i] : 2));
            for (int j = 0; j < nb[i]; j++)
                CHECK(a[i][j].cls == b[i][j].cls && a[i][j].score == b[i][j].score);
            fv_free(b[i]);
        }
        fv_detector_free(e);
    }
    for (int i = 0; i < 2; i++)
        fv_free(a[i]);
    fv_detector_free(d);
    fv_dataset_free(digits);
}

/* A VOC set (the scenes written as files) trains and evaluates like the scenes themselves. */
TEST(voc_set)
{
    fv_dataset *digits = blobs(9);
    CHECK_STATUS(fv_scenes_write_voc_(t_path("voc"), "train", digits, 5, scene_args), FV_OK);
    fv_detset *set = fv_detset_load_voc(t_path("voc"), .split = "train");
    CHECK(set != NULL);
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 3, .height = 48);
    fv_det_source s = {.set = set, .count = 4};
    fv_det_history h = {0};
    CHECK_STATUS(fv_detector_fit(d, .data = s, .batch = 2, .history = &h), FV_OK);
    CHECK(h.n == 1 && h.steps == 2 && isfinite(h.epochs[0].loss));
    fv_det_history_clear(&h);
    fv_det_metrics *m = NULL;
    CHECK_STATUS(fv_detector_evaluate(d, &s, 3, &m, NULL), FV_OK);
    CHECK(m && m->images == 4 && m->k == 3);
    /* the same images as scenes: the same truths (count of class-0 ground truths) */
    fv_det_metrics *m2 = NULL;
    fv_det_source sc = {.digits = digits, .scenes = scene_args, .count = 4};
    CHECK_STATUS(fv_detector_evaluate(d, &sc, 3, &m2, NULL), FV_OK);
    CHECK(m && m2 && m->cls[0].positives == m2->cls[0].positives &&
          m->cls[2].positives == m2->cls[2].positives);
    fv_det_metrics_free(m), fv_det_metrics_free(m2);
    fv_detector_free(d);
    fv_detset_free(set);
    fv_dataset_free(digits);
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

TEST(load_errors)
{
    CHECK(fv_detector_load(t_path("none")) == NULL);
    CHECK_ERR_HAS("detector.json");
    fv_detector *d = fv_detector_new(.arch = "ssd", .num_classes = 2, .height = 32);
    CHECK_STATUS(fv_detector_save(d, t_path("bad")), FV_OK);
    char p[1200], q[1200];
    snprintf(p, sizeof p, "%s/detector.json", t_path("bad"));
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": ");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("malformed JSON");
    write_text(p, "[1, 2]");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("not a fovea detector's settings");
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": \"rcnn9\", \"models\": [\"ssd\"]}");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("unknown architecture 'rcnn9'");
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": \"ssd\", \"height\": 1e9, "
                  "\"models\": [\"ssd\"]}");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("'height' must be a whole number in [16, 4096]");
    /* settings of another input: the saved model text is not what they build */
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": \"ssd\", \"num_classes\": 2, "
                  "\"height\": 48, \"width\": 48, \"models\": [\"ssd\"]}");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("ssd.fv: not the model this detector's settings build");
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": \"ssd\", \"num_classes\": 2, "
                  "\"height\": 32, \"width\": 32, \"models\": [\"backbone\"]}");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("model 0 is not 'ssd'");
    write_text(p, "{\"format\": \"fovea detector\", \"arch\": \"ssd\", \"num_classes\": 2, "
                  "\"height\": 32, \"width\": 32, \"models\": [\"ssd\"]}");
    fv_detector *ok = fv_detector_load(t_path("bad"));
    CHECK(ok != NULL);
    fv_detector_free(ok);
    snprintf(q, sizeof q, "%s/ssd.safetensors", t_path("bad"));
    write_text(q, "not safetensors");
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("ssd.safetensors");
    remove(q);
    CHECK(fv_detector_load(t_path("bad")) == NULL);
    CHECK_ERR_HAS("ssd.safetensors");
    CHECK(fv_detector_save(d, "/proc/no/such/dir") == FV_ERR_IO);
    fv_detector_free(d);
}

T_MAIN_SCRATCH("/tmp/fovea_detect_XXXXXX", T_TEST(settings), T_TEST(fit_errors),
               T_TEST(round_trip), T_TEST(voc_set), T_TEST(load_errors))
