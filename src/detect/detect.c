/* detect.c - the detectors' driver (fv_detector_*): picking an architecture by name, training
 * on MNIST scenes made on the fly or on a VOC / COCO set (shuffled epochs, a learning-rate
 * schedule, a progress line, per-epoch loss terms), detection on images of any size (resized to
 * the detector's input, boxes mapped back), evaluation with the detection metrics and the time
 * per image. Saving and loading are detect_io.c's. Nothing here knows one architecture from
 * another: each is an fv_det_impl (detect.h). */
#include "detect/detect.h"

#include "core/internal.h"
#include "data/data.h"
#include "optim/optim.h"

#include <math.h>
#include <string.h>
#include <time.h>

/* The architectures, by name. */
static const fv_det_impl *const impls[] = {&fv_det_ssd, &fv_det_rcnn, &fv_det_fast_rcnn,
                                           &fv_det_faster_rcnn};
enum { NIMPLS = sizeof impls / sizeof impls[0] };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const fv_det_impl *find_impl(const char *name)
{
    for (int i = 0; name && i < NIMPLS; i++)
        if (strcmp(impls[i]->name, name) == 0)
            return impls[i];
    char known[128] = "";
    for (int i = 0; i < NIMPLS; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 impls[i]->name);
    char p[64];
    fv_err(FV_ERR_INVALID, "detector: unknown architecture '%s' (known: %s)",
           name ? fv_printable(name, p, sizeof p) : "(none)", known);
    return NULL;
}

/* The post-processing settings checked. */
static fv_status check_postprocess(const fv_detector_args *a)
{
    if (a->max_dets < 1 || a->max_dets > 100000)
        return fv_err(FV_ERR_INVALID, "detector: max_dets %d not in [1, 100000]", a->max_dets);
    if (!(a->score_threshold >= 0 && a->score_threshold < 1))
        return fv_err(FV_ERR_INVALID, "detector: score_threshold %g not in [0, 1)",
                      (double)a->score_threshold);
    if (!(a->nms_iou > 0 && a->nms_iou <= 1))
        return fv_err(FV_ERR_INVALID, "detector: nms_iou %g not in (0, 1]", (double)a->nms_iou);
    return FV_OK;
}

/* Defaults filled in (R-CNN's NMS at the paper's 0.3, the others' at 0.5) and every setting
 * checked. */
static fv_status settle_args(const fv_det_impl *impl, fv_detector_args *a)
{
    a->num_classes = a->num_classes ? a->num_classes : 10;
    a->channels = a->channels ? a->channels : 1;
    a->height = a->height ? a->height : 160;
    a->width = a->width ? a->width : a->height;
    a->max_dets = a->max_dets ? a->max_dets : 100;
    a->score_threshold = a->score_threshold != 0 ? a->score_threshold : 0.05f;
    a->nms_iou = a->nms_iou != 0 ? a->nms_iou : impl == &fv_det_rcnn ? 0.3f : 0.5f;
    if (a->num_classes < 1 || a->num_classes > 1000)
        return fv_err(FV_ERR_INVALID, "detector: num_classes %d not in [1, 1000]", a->num_classes);
    if (a->channels != 1 && a->channels != 3)
        return fv_err(FV_ERR_INVALID, "detector: channels %d (1 or 3)", a->channels);
    if (a->height < 16 || a->width < 16 || a->height > 4096 || a->width > 4096)
        return fv_err(FV_ERR_INVALID, "detector: input %dx%d not within 16 to 4096 a side",
                      a->height, a->width);
    return check_postprocess(a);
}

static fv_status copy_names(fv_detector *d)
{
    if (!d->args.class_names)
        return FV_OK;
    d->names = fv_calloc((size_t)d->args.num_classes, sizeof(char *), "detector: class names");
    if (!d->names)
        return fv_last_status();
    for (int c = 0; c < d->args.num_classes; c++) {
        const char *n = d->args.class_names[c];
        if (!n || !fv_utf8_valid(n, false) || strlen(n) > 200)
            return fv_err(FV_ERR_INVALID, "detector: class name %d is missing, too long or not "
                          "valid UTF-8", c);
        if (!(d->names[c] = fv_strdup(n, "detector: class name")))
            return fv_last_status();
    }
    d->args.class_names = (const char *const *)d->names;
    return FV_OK;
}

fv_status fv_detector_set_postprocess(fv_detector *d, float nms_iou, float score_threshold,
                                      int max_dets)
{
    if (!d)
        return fv_err(FV_ERR_INVALID, "detector postprocess: the detector is NULL");
    fv_detector_args a = d->args;
    a.nms_iou = nms_iou != 0 ? nms_iou : a.nms_iou;
    a.score_threshold = score_threshold >= 0 ? score_threshold : a.score_threshold;
    a.max_dets = max_dets != 0 ? max_dets : a.max_dets;
    FV_TRY(check_postprocess(&a));
    d->args = a;
    return FV_OK;
}

fv_detector *fv_detector_new_(fv_detector_args a)
{
    const fv_det_impl *impl = find_impl(a.arch);
    if (!impl || settle_args(impl, &a) != FV_OK)
        return NULL;
    fv_detector *d = fv_calloc(1, sizeof *d, "detector");
    if (!d)
        return NULL;
    d->impl = impl;
    d->args = a;
    d->args.arch = impl->name;
    d->args.class_names = a.class_names;
    if (copy_names(d) != FV_OK || impl->create(d) != FV_OK) {
        fv_status s = fv_last_status();
        char msg[512];
        snprintf(msg, sizeof msg, "%s", fv_last_error());
        fv_detector_free(d);
        fv_err(s, "%s", msg);
        return NULL;
    }
    return d;
}

void fv_detector_free(fv_detector *d)
{
    if (!d)
        return;
    if (d->impl && d->impl->destroy)
        d->impl->destroy(d);
    for (int i = 0; i < d->nmodels; i++)
        fv_model_free(d->models[i]);
    for (int c = 0; d->names && c < d->args.num_classes; c++)
        fv_free(d->names[c]);
    fv_free(d->names);
    fv_free(d);
}

const fv_detector_args *fv_detector_settings(const fv_detector *d) { return &d->args; }

void fv_det_history_clear(fv_det_history *h)
{
    if (!h)
        return;
    fv_free(h->epochs);
    memset(h, 0, sizeof *h);
}

/* ---------------------------------------------------------------- images of a source */

static int64_t source_count(const fv_det_source *s)
{
    if (s->digits)
        return s->count;
    if (!s->set)
        return 0;
    return s->count > 0 && s->count < s->set->nimages ? s->count : s->set->nimages;
}

static fv_status check_source(const fv_detector *d, const fv_det_source *s, const char *what)
{
    if (!s || (!s->digits && !s->set))
        return fv_err(FV_ERR_INVALID, "detector %s: no data (digits for scenes, or a set)", what);
    if (s->digits && (!s->digits->x || s->digits->x->ndim != 4 || !s->digits->y))
        return fv_err(FV_ERR_INVALID, "detector %s: digits must be images (N, C, H, W) with "
                      "labels", what);
    if (s->count < 0 || (s->digits && s->count == 0))
        return fv_err(FV_ERR_INVALID, "detector %s: %lld scenes", what, (long long)s->count);
    if (source_count(s) < 1)
        return fv_err(FV_ERR_INVALID, "detector %s: the set has no images", what);
    int k = s->digits ? s->digits->num_classes : s->set->num_classes;
    if (k > d->args.num_classes)
        return fv_err(FV_ERR_INVALID, "detector %s: the data has %d classes, the detector %d",
                      what, k, d->args.num_classes);
    return FV_OK;
}

/* One source image: its pixels resized into dst (the detector's input), its objects in its
 * own pixels (*img, objects fv_malloc'd) and its size. scene: scratch for a scene's pixels. */
static fv_status load_image(const fv_detector *d, const fv_det_source *s, int64_t i,
                            float *scene, float *dst, fv_det_annotation *img)
{
    const fv_detector_args *a = &d->args;
    memset(img, 0, sizeof *img);
    if (s->digits) {
        FV_TRY(fv_scene_make_(s->digits, i, scene, img, s->scenes));
        int side = s->scenes.size ? s->scenes.size : 300;
        img->width = img->height = side;
        fv_image_resample(scene, 1, side, side, dst, a->channels, a->height, a->width);
        return FV_OK;
    }
    fv_tensor *t = fv_detset_image(s->set, i);
    if (!t)
        return fv_last_status();
    int ic = (int)t->dims[1], ih = (int)t->dims[2], iw = (int)t->dims[3];
    fv_status st = fv_resample_check("detector", ic, ih, iw, a->channels, a->height, a->width);
    if (st == FV_OK)
        fv_image_resample(t->data, ic, ih, iw, dst, a->channels, a->height, a->width);
    fv_tensor_free(t);
    FV_TRY(st);
    const fv_det_annotation *src = &s->set->images[i];
    img->width = iw, img->height = ih;
    img->objects = fv_malloc(sizeof(fv_det_object) * (size_t)(src->nobjects ? src->nobjects : 1),
                             "detector: boxes");
    if (!img->objects)
        return fv_last_status();
    for (int j = 0; j < src->nobjects; j++)
        if (!src->objects[j].iscrowd)
            img->objects[img->nobjects++] = src->objects[j];
    return FV_OK;
}

/* ---------------------------------------------------------------- training */

typedef struct batch_buf {
    int cap;
    float *scene, *images;
    fv_det_annotation *ann; /* in the input's pixels */
} batch_buf;

static void batch_free(batch_buf *b)
{
    for (int i = 0; b->ann && i < b->cap; i++)
        fv_det_annotation_clear(&b->ann[i]);
    fv_free(b->scene), fv_free(b->images), fv_free(b->ann);
}

static fv_status batch_alloc(const fv_detector *d, const fv_det_source *s, int n, batch_buf *b)
{
    int side = s->scenes.size ? s->scenes.size : 300;
    size_t per = (size_t)d->args.channels * (size_t)d->args.height * (size_t)d->args.width;
    b->cap = n;
    b->scene = s->digits ? fv_malloc(sizeof(float) * (size_t)side * (size_t)side, "scene") : NULL;
    b->images = fv_malloc(sizeof(float) * per * (size_t)n, "detector: batch");
    b->ann = fv_calloc((size_t)n, sizeof *b->ann, "detector: batch boxes");
    return (!s->digits || b->scene) && b->images && b->ann ? FV_OK : fv_last_status();
}

/* Images idx[0..n) of s into b, boxes scaled to the input. */
static fv_status fill_batch(const fv_detector *d, const fv_det_source *s, const int64_t *idx,
                            int n, batch_buf *b)
{
    const fv_detector_args *a = &d->args;
    size_t per = (size_t)a->channels * (size_t)a->height * (size_t)a->width;
    for (int i = 0; i < n; i++) {
        fv_det_annotation_clear(&b->ann[i]);
        fv_det_annotation *img = &b->ann[i];
        FV_TRY(load_image(d, s, idx[i], b->scene, b->images + per * (size_t)i, img));
        float sx = (float)a->width / (float)img->width, sy = (float)a->height / (float)img->height;
        for (int j = 0; j < img->nobjects; j++) {
            fv_box *x = &img->objects[j].box;
            *x = (fv_box){x->x1 * sx, x->y1 * sy, x->x2 * sx, x->y2 * sy};
            if (img->objects[j].cls < 0 || img->objects[j].cls >= a->num_classes)
                return fv_err(FV_ERR_INVALID, "detector: image %lld, box %d: class %d not in "
                              "[0, %d)", (long long)idx[i], j, img->objects[j].cls,
                              a->num_classes);
        }
    }
    return FV_OK;
}

static fv_status fit_optimizer(fv_detector *d, const fv_detector_fit_args *a, fv_optimizer *o)
{
    int kind = fv_optim_from_name(a->optimizer ? a->optimizer : "adam");
    if (kind < 0) {
        char p[64];
        return fv_err(FV_ERR_INVALID, "detector fit: unknown optimizer '%s'",
                      fv_printable(a->optimizer, p, sizeof p));
    }
    if (!(a->lr >= 0 && isfinite(a->lr)) || !(a->momentum >= 0 && a->momentum < 1) ||
        !(a->weight_decay >= 0 && isfinite(a->weight_decay)))
        return fv_err(FV_ERR_INVALID, "detector fit: lr %g, momentum %g or weight_decay %g out "
                      "of range", (double)a->lr, (double)a->momentum, (double)a->weight_decay);
    *o = (fv_optimizer){.kind = (fv_optim_kind)kind, .lr = a->lr > 0 ? a->lr : 0.002f,
                        .weight_decay = a->weight_decay};
    if (kind == FV_OPTIM_SGD)
        o->momentum = a->momentum > 0 ? a->momentum : 0.9f;
    for (int i = 0; i < d->nmodels; i++)
        FV_TRY(fv_model_set_optimizer(d->models[i], *o));
    return FV_OK;
}

typedef struct fit_run {
    fv_detector *d;
    fv_detector_fit_args a;
    fv_schedule sched;
    fv_plateau plateau;
    double base_lr, lr;
    int64_t steps_per_epoch, total_steps, step;
    fv_det_history hist;
} fit_run;

static fv_status set_lr(fit_run *r, double lr)
{
    r->lr = lr;
    for (int i = 0; i < r->d->nmodels; i++)
        FV_TRY(fv_model_set_lr(r->d->models[i], (float)lr));
    return FV_OK;
}

static void add_terms(fv_det_epoch *e, const fv_det_losses *l, int n)
{
    double *sum[5] = {&e->loss, &e->cls, &e->box, &e->rpn_cls, &e->rpn_box};
    const double v[5] = {l->total, l->cls, l->box, l->rpn_cls, l->rpn_box};
    for (int i = 0; i < 5; i++)
        *sum[i] = n == 0 ? v[i] : *sum[i] + (v[i] - *sum[i]) / (n + 1); /* running mean */
}

static fv_status run_epoch(fit_run *r, int epoch, const int64_t *order, batch_buf *b)
{
    const fv_detector_fit_args *a = &r->a;
    fv_det_epoch e = {.epoch = epoch + 1};
    double t0 = now_s();
    int64_t n = source_count(&a->data);
    int k = 0;
    for (int64_t s = 0; s + a->batch <= n || (s < n && n < a->batch); s += a->batch, k++) {
        if (a->steps > 0 && r->step >= a->steps)
            break;
        if (r->sched.kind == FV_SCHED_ONE_CYCLE)
            FV_TRY(set_lr(r, fv_schedule_lr(&r->sched, r->base_lr, r->step)));
        int nb = (int)(n - s < a->batch ? n - s : a->batch);
        FV_TRY(fill_batch(r->d, &a->data, order + s, nb, b));
        fv_det_batch batch = {nb, r->d->args.channels, r->d->args.height, r->d->args.width,
                              b->images, b->ann};
        fv_det_losses l = {NAN, NAN, NAN, NAN, NAN};
        FV_TRY(r->d->impl->train_step(r->d, &batch, &l));
        add_terms(&e, &l, k);
        r->step++;
        if (a->log)
            fprintf(a->log, "\repoch %d/%d step %lld/%lld loss %.4f (cls %.4f box %.4f) lr %.2g "
                    "%.1f img/s ", epoch + 1, a->epochs, (long long)(k + 1),
                    (long long)r->steps_per_epoch, e.loss, e.cls, e.box, r->lr,
                    (double)(k + 1) * a->batch / (now_s() - t0));
    }
    e.lr = r->lr, e.seconds = now_s() - t0;
    fv_det_epoch *grown = fv_realloc(r->hist.epochs, sizeof e * (size_t)r->hist.n,
                                     sizeof e * (size_t)(r->hist.n + 1), "detector: history");
    if (!grown)
        return fv_last_status();
    r->hist.epochs = grown;
    r->hist.epochs[r->hist.n++] = e;
    if (a->log)
        fprintf(a->log, "\nepoch %d: loss %.4f (cls %.4f, box %.4f) %.1f s\n", e.epoch, e.loss,
                e.cls, e.box, e.seconds);
    return FV_OK;
}

static fv_status fit_schedule(fit_run *r)
{
    const char *name = r->a.schedule ? r->a.schedule : "onecycle";
    FV_TRY(fv_schedule_preset(name, r->a.epochs, r->total_steps < r->steps_per_epoch * r->a.epochs
                                                     ? r->total_steps / r->a.epochs + 1
                                                     : r->steps_per_epoch,
                              r->a.warmup, &r->sched));
    if (r->sched.kind == FV_SCHED_ONE_CYCLE)
        r->sched.total = (int)(r->total_steps > 0 ? r->total_steps : 1);
    FV_TRY(fv_schedule_check(&r->sched));
    fv_plateau_init(&r->plateau, r->base_lr);
    return FV_OK;
}

static fv_status fit_loop(fit_run *r, batch_buf *b, int64_t *order)
{
    const fv_detector_fit_args *a = &r->a;
    fv_rng rng;
    fv_rng_seed(&rng, a->seed);
    int64_t n = source_count(&a->data);
    for (int e = 0; e < a->epochs && !(a->steps > 0 && r->step >= a->steps); e++) {
        for (int64_t i = 0; i < n; i++)
            order[i] = i;
        fv_rng_permutation(&rng, order, n);
        if (r->sched.kind == FV_SCHED_PLATEAU)
            FV_TRY(set_lr(r, e == 0 ? r->base_lr
                                    : fv_plateau_step(&r->plateau, &r->sched,
                                                      r->hist.epochs[r->hist.n - 1].loss)));
        else if (r->sched.kind != FV_SCHED_ONE_CYCLE)
            FV_TRY(set_lr(r, fv_schedule_lr(&r->sched, r->base_lr, e)));
        FV_TRY(run_epoch(r, e, order, b));
    }
    return FV_OK;
}

fv_status fv_detector_fit_(fv_detector *d, fv_detector_fit_args a)
{
    if (!d)
        return fv_err(FV_ERR_INVALID, "detector fit: no detector");
    a.epochs = a.epochs ? a.epochs : 1;
    a.batch = a.batch ? a.batch : 16;
    if (a.epochs < 1 || a.batch < 1 || a.batch > 4096 || a.steps < 0 || a.warmup < 0)
        return fv_err(FV_ERR_INVALID, "detector fit: epochs %d, batch %d, steps %lld or warmup "
                      "%d out of range", a.epochs, a.batch, (long long)a.steps, a.warmup);
    FV_TRY(check_source(d, &a.data, "fit"));
    fit_run r = {.d = d, .a = a};
    int64_t n = source_count(&a.data);
    r.steps_per_epoch = n < a.batch ? 1 : n / a.batch;
    r.total_steps = r.steps_per_epoch * a.epochs;
    if (a.steps > 0 && a.steps < r.total_steps)
        r.total_steps = a.steps;
    fv_optimizer opt;
    FV_TRY(fit_optimizer(d, &a, &opt));
    r.base_lr = opt.lr;
    FV_TRY(fit_schedule(&r));
    batch_buf b = {0};
    int64_t *order = fv_malloc(sizeof(int64_t) * (size_t)n, "detector: order");
    fv_status st = order ? batch_alloc(d, &a.data, a.batch, &b) : fv_last_status();
    double t0 = now_s();
    if (st == FV_OK)
        st = fit_loop(&r, &b, order);
    r.hist.steps = r.step, r.hist.seconds = now_s() - t0;
    batch_free(&b);
    fv_free(order);
    for (int i = 0; i < d->nmodels; i++)
        fv_model_set_training(d->models[i], 0);
    if (a.history && st == FV_OK)
        *a.history = r.hist;
    else
        fv_det_history_clear(&r.hist);
    return st;
}

/* ---------------------------------------------------------------- detection */

/* Runs the architecture on b's n images (already at the input's size); boxes mapped to each
 * image's size (sizes[2 i], sizes[2 i + 1] = width, height) and clipped to it. */
static fv_status detect_batch(fv_detector *d, const float *images, int n, const int *sizes,
                              fv_detection **dets, int *ndets)
{
    const fv_detector_args *a = &d->args;
    fv_det_annotation *none = fv_calloc((size_t)n, sizeof *none, "detector: batch");
    if (!none)
        return fv_last_status();
    fv_det_batch b = {n, a->channels, a->height, a->width, images, none};
    fv_status st = d->impl->detect(d, &b, dets, ndets);
    fv_free(none);
    FV_TRY(st);
    for (int i = 0; i < n; i++) {
        float sx = (float)sizes[2 * i] / (float)a->width;
        float sy = (float)sizes[2 * i + 1] / (float)a->height;
        for (int j = 0; j < ndets[i]; j++) {
            fv_box *x = &dets[i][j].box;
            *x = (fv_box){x->x1 * sx, x->y1 * sy, x->x2 * sx, x->y2 * sy};
            st = st == FV_OK ? fv_box_clip(x, 1, (float)sizes[2 * i], (float)sizes[2 * i + 1])
                             : st;
        }
    }
    return st;
}

fv_status fv_detector_detect(fv_detector *d, const fv_tensor *images, fv_detection **dets,
                             int *ndets)
{
    if (!d || !images || !dets || !ndets)
        return fv_err(FV_ERR_INVALID, "detector detect: NULL argument");
    if (images->ndim != 4 || !fv_tensor_is_contiguous(images))
        return fv_err(FV_ERR_SHAPE, "detector detect: images must be (N, C, H, W)");
    const fv_detector_args *a = &d->args;
    int64_t n = images->dims[0], ic = images->dims[1], ih = images->dims[2], iw = images->dims[3];
    for (int64_t i = 0; i < n; i++)
        dets[i] = NULL, ndets[i] = 0;
    FV_TRY(fv_resample_check("detector detect", ic, ih, iw, a->channels, a->height, a->width));
    size_t per = (size_t)a->channels * (size_t)a->height * (size_t)a->width;
    float *buf = fv_malloc(sizeof(float) * per * 16, "detector: images");
    if (!buf)
        return fv_last_status();
    fv_status st = FV_OK;
    for (int64_t s = 0; s < n && st == FV_OK; s += 16) {
        int nb = (int)(n - s < 16 ? n - s : 16), sizes[32];
        for (int i = 0; i < nb; i++) {
            fv_image_resample(images->data + (s + i) * ic * ih * iw, (int)ic, ih, iw,
                              buf + per * (size_t)i, a->channels, a->height, a->width);
            sizes[2 * i] = (int)iw, sizes[2 * i + 1] = (int)ih;
        }
        st = detect_batch(d, buf, nb, sizes, dets + s, ndets + s);
    }
    fv_free(buf);
    if (st != FV_OK)
        for (int64_t i = 0; i < n; i++)
            fv_free(dets[i]), dets[i] = NULL, ndets[i] = 0;
    return st;
}

/* ---------------------------------------------------------------- evaluation */

typedef struct eval_run {
    fv_det_image *imgs;
    fv_det_truth **truths;
    fv_detection **dets;
    int *ndets;
    int64_t n;
} eval_run;

static void eval_free(eval_run *e)
{
    for (int64_t i = 0; i < e->n; i++) {
        if (e->truths)
            fv_free(e->truths[i]);
        if (e->dets)
            fv_free(e->dets[i]);
    }
    fv_free(e->imgs), fv_free(e->truths), fv_free(e->dets), fv_free(e->ndets);
}

/* Image i's boxes as ground truths. */
static fv_status truths_of(const fv_det_source *s, int64_t i, const fv_det_annotation *img,
                           fv_det_truth **out, int64_t *nt)
{
    int64_t n = s->digits ? img->nobjects : fv_detset_truths(s->set, i, NULL, 0);
    *out = fv_malloc(sizeof(fv_det_truth) * (size_t)(n > 0 ? n : 1), "detector: truths");
    if (!*out)
        return fv_last_status();
    if (s->set)
        fv_detset_truths(s->set, i, *out, n);
    for (int64_t j = 0; s->digits && j < n; j++)
        (*out)[j] = (fv_det_truth){img->objects[j].box, img->objects[j].cls, 0, 0, 0};
    *nt = n;
    return FV_OK;
}

static fv_status eval_loop(fv_detector *d, const fv_det_source *src, int batch, eval_run *e,
                           double *seconds)
{
    const fv_detector_args *a = &d->args;
    batch_buf b = {0};
    FV_TRY(batch_alloc(d, src, batch, &b));
    size_t per = (size_t)a->channels * (size_t)a->height * (size_t)a->width;
    fv_status st = FV_OK;
    *seconds = 0;
    for (int64_t s = 0; s < e->n && st == FV_OK; s += batch) {
        int nb = (int)(e->n - s < batch ? e->n - s : batch), sizes[2 * 4096];
        for (int i = 0; i < nb && st == FV_OK; i++) {
            fv_det_annotation_clear(&b.ann[i]);
            st = load_image(d, src, s + i, b.scene, b.images + per * (size_t)i, &b.ann[i]);
            sizes[2 * i] = b.ann[i].width, sizes[2 * i + 1] = b.ann[i].height;
            if (st == FV_OK)
                st = truths_of(src, s + i, &b.ann[i], &e->truths[s + i], &e->imgs[s + i].ntruth);
            e->imgs[s + i].truth = e->truths[s + i];
        }
        double t0 = now_s();
        if (st == FV_OK)
            st = detect_batch(d, b.images, nb, sizes, e->dets + s, e->ndets + s);
        *seconds += now_s() - t0;
        for (int i = 0; i < nb && st == FV_OK; i++)
            e->imgs[s + i].dets = e->dets[s + i], e->imgs[s + i].ndets = e->ndets[s + i];
    }
    batch_free(&b);
    return st;
}

fv_status fv_detector_evaluate(fv_detector *d, const fv_det_source *src, int batch,
                               fv_det_metrics **out, double *ms_per_image)
{
    if (!d || !out)
        return fv_err(FV_ERR_INVALID, "detector evaluate: NULL argument");
    *out = NULL;
    batch = batch ? batch : 16;
    if (batch < 1 || batch > 4096)
        return fv_err(FV_ERR_INVALID, "detector evaluate: batch %d not in [1, 4096]", batch);
    FV_TRY(check_source(d, src, "evaluate"));
    eval_run e = {.n = source_count(src)};
    e.imgs = fv_calloc((size_t)e.n, sizeof *e.imgs, "detector: images");
    e.truths = fv_calloc((size_t)e.n, sizeof *e.truths, "detector: truths");
    e.dets = fv_calloc((size_t)e.n, sizeof *e.dets, "detector: detections");
    e.ndets = fv_calloc((size_t)e.n, sizeof *e.ndets, "detector: detections");
    double seconds = 0;
    fv_status st = e.imgs && e.truths && e.dets && e.ndets ? eval_loop(d, src, batch, &e, &seconds)
                                                          : fv_last_status();
    if (st == FV_OK && !(*out = fv_det_metrics_compute(e.imgs, e.n, d->args.num_classes)))
        st = fv_last_status();
    if (ms_per_image)
        *ms_per_image = 1000.0 * seconds / (double)e.n;
    eval_free(&e);
    return st;
}
