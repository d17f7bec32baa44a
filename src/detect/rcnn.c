/* rcnn.c - fv_det_rcnn, R-CNN (Girshick et al. 2014) on the detectors' common interface:
 * selective-search proposals (cached per image), each warped with context padding to a small
 * CNN's input; the CNN (models[0], "rcnn_cnn") classifies a region into background or one of
 * the classes and is trained by fit's path (fv_model_train_batch) on mini-batches of 32
 * foreground (IoU >= 0.5 with a ground truth) and 96 background regions; the class-specific
 * box regressors (models[1], "rcnn_bbox", a dense layer over the CNN's fc7 features) are the
 * closed-form ridge solution of appendix C on proposals of IoU >= 0.6, refreshed after every
 * step. Test: every proposal scored (softmax), its box regressed per class, per-class NMS
 * (0.3, the paper's) and the top max_dets. */
#include "detect/rcnn.h"

#include "core/internal.h"

#include <math.h>
#include <string.h>

#define RCNN_FEAT 128 /* fc7's width */

typedef struct rcnn_state {
    fv_rcnn_info info;
    fv_ss_args ss;
    fv_model *feat; /* the CNN up to fc7 (weights copied from models[0] when stale) */
    int feat_stale;
    fv_rcnn_ridge *ridge; /* one per class */
    double *wsol;         /* a ridge solution (4 x (RCNN_FEAT + 1)) */
    fv_rcnn_cache *cache;
    fv_rng rng;
} rcnn_state;

/* conv-pool x 3, fc7 (relu), as layers named alike in both models. Returns fc7's output. */
static int trunk(fv_model *m, int c, int side)
{
    int x = fv_input(m, .ndim = 3, .dims = {c, side, side}, .name = "input");
    x = fv_conv2d(m, x, .filters = 32, .kernel = 3, .same = 1, .activation = FV_ACT_RELU,
                  .name = "conv1");
    x = fv_maxpool2d(m, x, .size = 2, .name = "pool1");
    x = fv_conv2d(m, x, .filters = 64, .kernel = 3, .same = 1, .activation = FV_ACT_RELU,
                  .name = "conv2");
    x = fv_maxpool2d(m, x, .size = 2, .name = "pool2");
    x = fv_conv2d(m, x, .filters = 64, .kernel = 3, .same = 1, .activation = FV_ACT_RELU,
                  .name = "conv3");
    x = fv_maxpool2d(m, x, .size = 2, .name = "pool3");
    x = fv_flatten(m, x, .name = "flatten");
    return fv_dense(m, x, .units = RCNN_FEAT, .activation = FV_ACT_RELU, .name = "fc7");
}

static fv_status build(fv_detector *d, rcnn_state *st)
{
    const fv_detector_args *a = &d->args;
    int k = a->num_classes, side = st->info.warp;
    fv_model *cnn = fv_model_new("rcnn_cnn"), *box = fv_model_new("rcnn_bbox");
    st->feat = fv_model_new("rcnn_features");
    d->models[d->nmodels++] = cnn;
    d->models[d->nmodels++] = box;
    if (!cnn || !box || !st->feat)
        return fv_last_status();
    fv_dense(cnn, trunk(cnn, a->channels, side), .units = k + 1, .name = "cls");
    FV_TRY(fv_model_compile(cnn, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 1e-3f),
                            .seed = a->seed));
    trunk(st->feat, a->channels, side);
    FV_TRY(fv_model_compile(st->feat, .seed = a->seed));
    int x = fv_input(box, .ndim = 1, .dims = {RCNN_FEAT}, .name = "fc7");
    fv_dense(box, x, .units = 4 * k, .init = FV_INIT_ZEROS, .name = "bbox");
    FV_TRY(fv_model_compile(box, .seed = a->seed));
    st->feat_stale = 1;
    return FV_OK;
}

static fv_status create(fv_detector *d)
{
    const fv_detector_args *a = &d->args;
    if (a->num_classes < 1 || a->channels < 1 || a->height < 1 || a->width < 1)
        return fv_err(FV_ERR_INVALID, "rcnn: %d classes, images (%d, %d, %d) (each must be >= 1)",
                      a->num_classes, a->channels, a->height, a->width);
    if (a->num_classes > 1000)
        return fv_err(FV_ERR_INVALID, "rcnn: %d classes (at most 1000)", a->num_classes);
    rcnn_state *st = fv_calloc(1, sizeof *st, "rcnn state");
    if (!st)
        return fv_last_status();
    d->state = st;
    if (!(d->args.nms_iou > 0))
        d->args.nms_iou = 0.3f; /* the paper's */
    st->info = (fv_rcnn_info){
        .warp = 32, .pad = 2, /* the paper's 16 of 227 pixels of context, at 32 */
        .ss_side = 150, .ss_min_size = 25, .ss_k = 75, .max_proposals = 2000,
        .batch_fg = 32, .batch_bg = 96, .feat_dim = RCNN_FEAT,
        .fg_iou = 0.5f, .reg_iou = 0.6f,
        .nms_iou = d->args.nms_iou,
        .lambda = 10, .forget = 0.995,
    };
    if (d->args.max_dets <= 0)
        d->args.max_dets = 100;
    st->ss = (fv_ss_args){.mode = FV_PROPOSALS_FAST, .base_k = st->info.ss_k,
                          .inc_k = st->info.ss_k, .min_size = st->info.ss_min_size,
                          .seed = a->seed};
    fv_rng_seed(&st->rng, a->seed ^ 0x5243u);
    st->ridge = fv_calloc((size_t)a->num_classes, sizeof *st->ridge, "rcnn ridge");
    st->wsol = fv_malloc(4 * (RCNN_FEAT + 1) * sizeof *st->wsol, "rcnn ridge solution");
    if (!st->ridge || !st->wsol || !(st->cache = fv_rcnn_cache_new()))
        return fv_last_status();
    for (int c = 0; c < a->num_classes; c++)
        FV_TRY(fv_rcnn_ridge_init(&st->ridge[c], RCNN_FEAT + 1));
    return build(d, st);
}

static void destroy(fv_detector *d)
{
    rcnn_state *st = d->state;
    if (!st)
        return;
    if (st->ridge)
        for (int c = 0; c < d->args.num_classes; c++)
            fv_rcnn_ridge_free(&st->ridge[c]);
    fv_free(st->ridge);
    fv_free(st->wsol);
    fv_rcnn_cache_free(st->cache);
    fv_model_free(st->feat);
    fv_free(st);
    d->state = NULL;
}

/* A parameter of m by name, with its expected size. */
static float *param(const fv_model *m, const char *name, int64_t numel)
{
    for (int i = 0; i < fv_model_num_params(m); i++) {
        fv_param_info p;
        if (fv_model_param(m, i, &p) == FV_OK && strcmp(p.name, name) == 0)
            return p.numel == numel ? p.data : NULL;
    }
    return NULL;
}

/* The feature model's weights from the trained CNN's (same layers, same names). */
static fv_status sync_features(fv_detector *d, rcnn_state *st)
{
    if (!st->feat_stale)
        return FV_OK;
    for (int i = 0; i < fv_model_num_params(st->feat); i++) {
        fv_param_info p;
        FV_TRY(fv_model_param(st->feat, i, &p));
        float *src = param(d->models[0], p.name, p.numel);
        if (!src)
            return fv_err(FV_ERR_STATE, "rcnn: the CNN has no parameter '%s' of %lld values",
                          p.name, (long long)p.numel);
        memcpy(p.data, src, (size_t)p.numel * sizeof *src);
    }
    st->feat_stale = 0;
    return FV_OK;
}

/* fc7 features (n x RCNN_FEAT) of n warped regions x (n, c, warp, warp). */
static fv_status features(fv_detector *d, rcnn_state *st, const float *x, int n, float *f)
{
    FV_TRY(sync_features(d, st));
    int s = st->info.warp;
    fv_tensor *t = fv_tensor_new4(n, d->args.channels, s, s), *y = NULL;
    if (!t)
        return fv_last_status();
    memcpy(t->data, x, (size_t)n * (size_t)(d->args.channels * s * s) * sizeof *x);
    fv_status r = fv_model_predict(st->feat, t, &y);
    fv_tensor_free(t);
    if (r == FV_OK)
        memcpy(f, y->data, (size_t)n * RCNN_FEAT * sizeof *f);
    fv_tensor_free(y);
    return r;
}

static fv_status check_batch(const fv_detector *d, const fv_det_batch *b)
{
    if (!b || b->n < 1 || !b->images || !b->ann)
        return fv_err(FV_ERR_INVALID, "rcnn: empty batch");
    if (b->c != d->args.channels || b->h < 1 || b->w < 1)
        return fv_err(FV_ERR_SHAPE, "rcnn: batch images (%d, %d, %d) have %d channels, the "
                      "detector takes %d", b->c, b->h, b->w, b->c, d->args.channels);
    return FV_OK;
}

static fv_status proposals(rcnn_state *st, const fv_det_batch *b, int i, const fv_box **boxes,
                           int *n)
{
    int64_t plane = (int64_t)b->c * b->h * b->w;
    const float *px = b->images + i * plane;
    uint64_t key = fv_rcnn_image_key(b->ann[i].id, px, plane);
    return fv_rcnn_proposals(st->cache, key, px, b->c, b->h, b->w, st->info.ss_side,
                             st->info.max_proposals, st->ss, boxes, n);
}

/* Every image's proposals and ground-truth boxes as labelled regions (*r fv_malloc'd). */
static fv_status gather(rcnn_state *st, const fv_det_batch *b, fv_rcnn_region **r, int *n)
{
    int total = 0, cap = 0;
    fv_rcnn_region *all = NULL;
    for (int i = 0; i < b->n; i++) {
        const fv_box *p;
        int np;
        FV_TRY(proposals(st, b, i, &p, &np));
        int ng = b->ann[i].nobjects, need = total + np + ng;
        if (need > cap) {
            int nc = need * 2;
            fv_rcnn_region *g = fv_realloc(all, (size_t)cap * sizeof *all,
                                           (size_t)nc * sizeof *all, "rcnn regions");
            if (!g) {
                fv_free(all);
                return fv_last_status();
            }
            all = g;
            cap = nc;
        }
        fv_rcnn_region *q = all + total;
        for (int j = 0; j < np + ng; j++)
            q[j] = (fv_rcnn_region){.box = j < np ? p[j] : b->ann[i].objects[j - np].box,
                                    .img = i, .is_gt = j >= np};
        fv_rcnn_label(q, np + ng, b->ann[i].objects, ng, st->info.fg_iou);
        total = need;
    }
    *r = all;
    *n = total;
    return FV_OK;
}

/* Warps regions r[idx[0 .. k)] of b into x (k, c, warp, warp). */
static fv_status warp_all(const rcnn_state *st, const fv_det_batch *b, const fv_rcnn_region *r,
                          const int *idx, int k, float *x)
{
    int s = st->info.warp;
    int64_t plane = (int64_t)b->c * b->h * b->w, out = (int64_t)b->c * s * s;
    for (int j = 0; j < k; j++) {
        const fv_rcnn_region *q = &r[idx ? idx[j] : j];
        FV_TRY(fv_rcnn_warp(b->images + q->img * plane, b->c, b->h, b->w, q->box, s,
                            st->info.pad, x + j * out));
    }
    return FV_OK;
}

/* Box deltas of class c for fc7 features f, from the regressor's weights. */
static void regress(const float *wb, const float *bb, int c, const float *f, float *t)
{
    for (int j = 0; j < 4; j++) {
        const float *w = wb + (int64_t)(4 * c + j) * RCNN_FEAT;
        double v = bb[4 * c + j];
        for (int i = 0; i < RCNN_FEAT; i++)
            v += (double)w[i] * f[i];
        t[j] = (float)v;
    }
}

/* The box regressors' step: features of up to 64 proposals of IoU >= reg_iou, their error
 * under the current regressors (*mse), added to the statistics, every class re-solved. */
static fv_status ridge_step(fv_detector *d, rcnn_state *st, const fv_det_batch *b,
                            const fv_rcnn_region *r, int n, float *x, double *mse)
{
    int k = d->args.num_classes, cap = 64, m = 0;
    int *pool = fv_malloc((size_t)(n > 0 ? n : 1) * sizeof *pool, "rcnn regression pool");
    float *f = fv_malloc((size_t)cap * RCNN_FEAT * sizeof *f, "rcnn features");
    float *t = fv_malloc((size_t)cap * 4 * sizeof *t, "rcnn targets");
    float *fc = fv_malloc((size_t)cap * RCNN_FEAT * sizeof *fc, "rcnn features");
    float *tc = fv_malloc((size_t)cap * 4 * sizeof *tc, "rcnn targets");
    int *idx = fv_malloc((size_t)cap * sizeof *idx, "rcnn regression pool");
    fv_status s = pool && f && t && fc && tc && idx ? FV_OK : fv_last_status();
    for (int i = 0; s == FV_OK && i < n; i++)
        if (!r[i].is_gt && r[i].label > 0 && r[i].iou >= st->info.reg_iou)
            pool[m++] = i;
    int take = m < cap ? m : cap;
    for (int i = 0; s == FV_OK && i < take; i++) { /* partial Fisher-Yates */
        int j = i + (int)fv_rng_below(&st->rng, (uint64_t)(m - i)), v = pool[i];
        pool[i] = pool[j];
        pool[j] = v;
        idx[i] = pool[i];
    }
    if (s == FV_OK && take > 0)
        s = warp_all(st, b, r, idx, take, x);
    if (s == FV_OK && take > 0)
        s = features(d, st, x, take, f);
    for (int i = 0; s == FV_OK && i < take; i++) {
        const fv_rcnn_region *q = &r[idx[i]];
        s = fv_box_encode(&b->ann[q->img].objects[q->gt].box, &q->box, 1, NULL, t + 4 * i);
    }
    const float *wb = param(d->models[1], "bbox.weight", (int64_t)4 * k * RCNN_FEAT);
    const float *bb = param(d->models[1], "bbox.bias", 4 * k);
    if (s == FV_OK && (!wb || !bb))
        s = fv_err(FV_ERR_STATE, "rcnn: the box regressor model has no bbox layer");
    double err = 0;
    for (int i = 0; s == FV_OK && i < take; i++) {
        float p[4];
        regress(wb, bb, r[idx[i]].label - 1, f + i * RCNN_FEAT, p);
        for (int j = 0; j < 4; j++)
            err += ((double)p[j] - t[4 * i + j]) * ((double)p[j] - t[4 * i + j]);
    }
    *mse = take > 0 ? err / (4.0 * take) : NAN;
    for (int c = 0; s == FV_OK && c < k; c++) {
        int mc = 0;
        for (int i = 0; i < take; i++)
            if (r[idx[i]].label - 1 == c) {
                memcpy(fc + mc * RCNN_FEAT, f + i * RCNN_FEAT, RCNN_FEAT * sizeof *f);
                memcpy(tc + mc * 4, t + i * 4, 4 * sizeof *t);
                mc++;
            }
        fv_rcnn_ridge_add(&st->ridge[c], st->info.forget, fc, tc, mc);
        s = fv_rcnn_ridge_solve(&st->ridge[c], st->info.lambda, st->wsol);
        float *w = (float *)wb, *bias = (float *)bb;
        for (int j = 0; s == FV_OK && j < 4; j++) {
            for (int i = 0; i < RCNN_FEAT; i++)
                w[(int64_t)(4 * c + j) * RCNN_FEAT + i] = (float)st->wsol[j * (RCNN_FEAT + 1) + i];
            bias[4 * c + j] = (float)st->wsol[j * (RCNN_FEAT + 1) + RCNN_FEAT];
        }
    }
    fv_free(pool);
    fv_free(f);
    fv_free(t);
    fv_free(fc);
    fv_free(tc);
    fv_free(idx);
    return s;
}

static fv_status train_step(fv_detector *d, const fv_det_batch *b, fv_det_losses *out)
{
    rcnn_state *st = d->state;
    FV_TRY(check_batch(d, b));
    fv_rcnn_region *r = NULL;
    int n = 0;
    FV_TRY(gather(st, b, &r, &n));
    int bs = st->info.batch_fg + st->info.batch_bg, s = st->info.warp;
    int64_t one = (int64_t)b->c * s * s;
    int *idx = fv_malloc((size_t)bs * sizeof *idx, "rcnn mini-batch");
    float *x = fv_malloc((size_t)(bs * one) * sizeof *x, "rcnn mini-batch");
    float *y = fv_malloc((size_t)bs * sizeof *y, "rcnn mini-batch");
    fv_status rc = idx && x && y ? FV_OK : fv_last_status();
    int k = rc == FV_OK ? fv_rcnn_sample(r, n, st->info.batch_fg, st->info.batch_bg, &st->rng,
                                         idx)
                        : 0;
    if (k < 0)
        rc = fv_last_status();
    double loss = NAN, mse = NAN;
    if (rc == FV_OK && k > 0) {
        rc = warp_all(st, b, r, idx, k, x);
        for (int j = 0; j < k; j++)
            y[j] = (float)r[idx[j]].label;
        int correct;
        if (rc == FV_OK)
            rc = fv_model_train_batch(d->models[0], x, y, k, &loss, &correct);
        st->feat_stale = 1;
    }
    if (rc == FV_OK)
        rc = ridge_step(d, st, b, r, n, x, &mse);
    fv_free(r);
    fv_free(idx);
    fv_free(x);
    fv_free(y);
    if (rc != FV_OK)
        return rc;
    st->info.steps++;
    if (out)
        *out = (fv_det_losses){.total = loss + (isnan(mse) ? 0 : mse), .cls = loss, .box = mse,
                               .rpn_cls = NAN, .rpn_box = NAN};
    return FV_OK;
}

/* Per-class candidates of one chunk of proposals: softmax scores from fc7 by the CNN's cls
 * layer, each class's box regressed, decoded and clipped; appended to cand/score/cls. */
static fv_status score_chunk(fv_detector *d, const fv_det_batch *b, const fv_box *p, int n,
                             const float *f, fv_box *cand, float *score, int *cls, int *nc)
{
    int k = d->args.num_classes;
    const float *wc = param(d->models[0], "cls.weight", (int64_t)(k + 1) * RCNN_FEAT);
    const float *bc = param(d->models[0], "cls.bias", k + 1);
    const float *wb = param(d->models[1], "bbox.weight", (int64_t)4 * k * RCNN_FEAT);
    const float *bb = param(d->models[1], "bbox.bias", 4 * k);
    if (!wc || !bc || !wb || !bb)
        return fv_err(FV_ERR_STATE, "rcnn: the models lack their cls or bbox layer");
    double prob[1001];
    for (int i = 0; i < n; i++) {
        const float *fi = f + (int64_t)i * RCNN_FEAT;
        double mx = -INFINITY, sum = 0;
        for (int c = 0; c <= k; c++) {
            double v = bc[c];
            for (int j = 0; j < RCNN_FEAT; j++)
                v += (double)wc[(int64_t)c * RCNN_FEAT + j] * fi[j];
            prob[c] = v;
            mx = v > mx ? v : mx;
        }
        for (int c = 0; c <= k; c++)
            sum += (prob[c] = exp(prob[c] - mx));
        for (int c = 0; c < k; c++) {
            float sc = (float)(prob[c + 1] / sum);
            if (!(sc >= d->args.score_threshold) || !(sc > 0))
                continue;
            float t[4];
            regress(wb, bb, c, fi, t);
            FV_TRY(fv_box_decode(t, &p[i], 1, NULL, &cand[*nc]));
            FV_TRY(fv_box_clip(&cand[*nc], 1, (float)b->w, (float)b->h));
            score[*nc] = sc;
            cls[*nc] = c;
            (*nc)++;
        }
    }
    return FV_OK;
}

#define RCNN_CHUNK 256

static fv_status detect_one(fv_detector *d, rcnn_state *st, const fv_det_batch *b, int i,
                            fv_detection **dets, int *ndets)
{
    const fv_box *p;
    int np, k = d->args.num_classes, s = st->info.warp;
    FV_TRY(proposals(st, b, i, &p, &np));
    int64_t one = (int64_t)b->c * s * s, room = (int64_t)np * k + 1;
    fv_rcnn_region *r = fv_malloc(RCNN_CHUNK * sizeof *r, "rcnn regions");
    float *x = fv_malloc((size_t)(RCNN_CHUNK * one) * sizeof *x, "rcnn warped regions");
    float *f = fv_malloc(RCNN_CHUNK * RCNN_FEAT * sizeof *f, "rcnn features");
    fv_box *cand = fv_malloc((size_t)room * sizeof *cand, "rcnn candidates");
    float *score = fv_malloc((size_t)room * sizeof *score, "rcnn candidates");
    int *cls = fv_malloc((size_t)room * sizeof *cls, "rcnn candidates");
    int *keep = fv_malloc((size_t)room * sizeof *keep, "rcnn candidates");
    fv_status rc = r && x && f && cand && score && cls && keep ? FV_OK : fv_last_status();
    int nc = 0, nk = 0;
    for (int j0 = 0; rc == FV_OK && j0 < np; j0 += RCNN_CHUNK) {
        int m = np - j0 < RCNN_CHUNK ? np - j0 : RCNN_CHUNK;
        for (int j = 0; j < m; j++)
            r[j] = (fv_rcnn_region){.box = p[j0 + j], .img = i};
        rc = warp_all(st, b, r, NULL, m, x);
        if (rc == FV_OK)
            rc = features(d, st, x, m, f);
        if (rc == FV_OK)
            rc = score_chunk(d, b, p + j0, m, f, cand, score, cls, &nc);
    }
    if (rc == FV_OK)
        rc = fv_box_batched_nms(cand, score, cls, nc, d->args.nms_iou, d->args.max_dets, keep,
                                &nk);
    fv_detection *out = rc == FV_OK ? fv_malloc((size_t)(nk + 1) * sizeof *out, "rcnn "
                                                "detections")
                                    : NULL;
    if (rc == FV_OK && !out)
        rc = fv_last_status();
    for (int j = 0; rc == FV_OK && j < nk; j++)
        out[j] = (fv_detection){.box = cand[keep[j]], .cls = cls[keep[j]],
                                .score = score[keep[j]]};
    fv_free(r);
    fv_free(x);
    fv_free(f);
    fv_free(cand);
    fv_free(score);
    fv_free(cls);
    fv_free(keep);
    if (rc != FV_OK)
        return rc;
    *dets = out;
    *ndets = nk;
    return FV_OK;
}

static fv_status detect(fv_detector *d, const fv_det_batch *b, fv_detection **dets, int *ndets)
{
    rcnn_state *st = d->state;
    FV_TRY(check_batch(d, b));
    for (int i = 0; i < b->n; i++) {
        dets[i] = NULL;
        ndets[i] = 0;
    }
    for (int i = 0; i < b->n; i++) {
        fv_status rc = detect_one(d, st, b, i, &dets[i], &ndets[i]);
        if (rc != FV_OK) {
            for (int j = 0; j < i; j++) {
                fv_free(dets[j]);
                dets[j] = NULL;
                ndets[j] = 0;
            }
            return rc;
        }
    }
    return FV_OK;
}

fv_status fv_rcnn_info_get(const fv_detector *d, fv_rcnn_info *out)
{
    if (!d || d->impl != &fv_det_rcnn || !d->state)
        return fv_err(FV_ERR_INVALID, "rcnn info: not an R-CNN detector");
    const rcnn_state *st = d->state;
    *out = st->info;
    out->nms_iou = d->args.nms_iou; /* fv_detector_set_postprocess may have changed it */
    out->ss = fv_rcnn_cache_stats(st->cache);
    return FV_OK;
}

const fv_det_impl fv_det_rcnn = {
    .name = "rcnn",
    .create = create,
    .train_step = train_step,
    .detect = detect,
    .destroy = destroy,
};
