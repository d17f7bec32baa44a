/* ssd.c - fv_det_ssd, a single-shot detector (Liu et al., ECCV 2016) for small gray scenes: a
 * fast backbone of conv-bn-relu stages, three feature maps (strides 4, 8 and 16 of the input),
 * and on each a 3x3 convolution predicting per default box (num_classes + 1) class logits and
 * a 3x3 convolution predicting 4 box deltas (R-CNN parameterization, weights 10, 10, 5, 5).
 * Default boxes are sized for MNIST digits (fv_ssd_detector_boxes: 6 to 34 px of a 160 input,
 * from square to 1:4.2 tall). Training: SSD matching and the multibox loss (ssd_loss.c), gradients
 * given to the model's six head outputs through fv_model_backward. Detection: softmax, per class
 * the best candidates above the score threshold, decoding, clipping, per-class NMS, top-k. */
#include "detect/ssd.h"

#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SSD_MAPS FV_SSD_MAPS
#define SSD_A FV_SSD_A
#define SSD_CANDIDATES 200 /* per class and image, before NMS (torchvision's topk_candidates) */

/* The backbone: filters and stride of each conv-bn-relu stage; a map is taken after the stages
 * marked (the last of each stride). */
static const struct {
    int filters, stride, map;
} ssd_stages[] = {{16, 2, -1}, {16, 1, -1}, {32, 2, -1}, {32, 1, 0},
                  {64, 2, -1}, {64, 1, 1},  {96, 2, -1}, {96, 1, 2}};

typedef struct ssd_state {
    int k1;                          /* classes + background */
    int grid_h[SSD_MAPS], grid_w[SSD_MAPS], first[SSD_MAPS];
    int cls_node[SSD_MAPS], box_node[SSD_MAPS];
    int na;                          /* default boxes in all */
    fv_box *anchors;                 /* na */
    int cap;                         /* images the buffers below hold */
    double *logits, *deltas, *dlogits, *ddeltas, *targets; /* cap na k1 / cap na 4 / na 4 */
    float *dy[2 * SSD_MAPS];         /* per head output, cap x its size */
    int *labels, *matched;           /* na */
    float *iou;                      /* na x truths, grown as needed */
    int64_t iou_cap;
} ssd_state;

static fv_model *ssd_model(const fv_detector *d) { return d->models[0]; }

/* conv-bn-relu; returns the relu's node. */
static int stage(fv_model *m, int in, int filters, int stride, int i)
{
    char cn[32], bn[32], rn[32];
    snprintf(cn, sizeof cn, "conv%d", i), snprintf(bn, sizeof bn, "bn%d", i);
    snprintf(rn, sizeof rn, "relu%d", i);
    int c = fv_conv2d(m, in, .filters = filters, .kernel = 3, .stride = stride, .padding = 1,
                      .no_bias = 1, .name = cn, .init = FV_INIT_KAIMING_NORMAL);
    return fv_relu(m, fv_batchnorm(m, c, .name = bn), .name = rn);
}

static fv_status build(fv_detector *d, ssd_state *s)
{
    const fv_detector_args *a = &d->args;
    fv_model *m = fv_model_new("ssd");
    if (!m)
        return fv_last_status();
    d->models[d->nmodels++] = m;
    int x = fv_input(m, .ndim = 3, .dims = {a->channels, a->height, a->width}, .name = "image");
    int maps[SSD_MAPS];
    for (size_t i = 0; i < sizeof ssd_stages / sizeof *ssd_stages; i++) {
        x = stage(m, x, ssd_stages[i].filters, ssd_stages[i].stride, (int)i + 1);
        if (ssd_stages[i].map >= 0)
            maps[ssd_stages[i].map] = x;
    }
    for (int k = 0; k < SSD_MAPS; k++) {
        char cn[32], bn[32];
        snprintf(cn, sizeof cn, "cls%d", k + 1), snprintf(bn, sizeof bn, "box%d", k + 1);
        s->cls_node[k] = fv_conv2d(m, maps[k], .filters = SSD_A * s->k1, .kernel = 3,
                                   .padding = 1, .name = cn, .init = FV_INIT_XAVIER_UNIFORM);
        s->box_node[k] = fv_conv2d(m, maps[k], .filters = SSD_A * 4, .kernel = 3, .padding = 1,
                                   .name = bn, .init = FV_INIT_XAVIER_UNIFORM);
    }
    return fv_model_compile(m, .loss = FV_LOSS_NONE, .optimizer = fv_adam(.lr = 1e-3f),
                            .output = s->box_node[SSD_MAPS - 1], .seed = a->seed);
}

/* The default boxes of every map, from the maps' real sizes. */
static fv_status make_anchors(const fv_detector *d, ssd_state *s)
{
    const fv_model *m = ssd_model(d);
    s->na = 0;
    for (int k = 0; k < SSD_MAPS; k++) {
        int64_t dims[4];
        fv_node_shape(m, s->cls_node[k], dims);
        s->grid_h[k] = (int)dims[1], s->grid_w[k] = (int)dims[2];
        s->first[k] = s->na;
        s->na += s->grid_h[k] * s->grid_w[k] * SSD_A;
    }
    s->anchors = fv_malloc(sizeof(fv_box) * (size_t)s->na, "ssd: default boxes");
    s->labels = fv_malloc(sizeof(int) * (size_t)s->na, "ssd: labels");
    s->matched = fv_malloc(sizeof(int) * (size_t)s->na, "ssd: matches");
    s->targets = fv_malloc(sizeof(double) * 4 * (size_t)s->na, "ssd: targets");
    if (!s->anchors || !s->labels || !s->matched || !s->targets)
        return fv_last_status();
    fv_ssd_detector_boxes(d->args.height, d->args.width, s->grid_h, s->grid_w, s->anchors);
    return FV_OK;
}

static void ssd_destroy(fv_detector *d)
{
    ssd_state *s = d->state;
    if (!s)
        return;
    fv_free(s->anchors), fv_free(s->logits), fv_free(s->deltas), fv_free(s->dlogits);
    fv_free(s->ddeltas), fv_free(s->targets), fv_free(s->labels), fv_free(s->matched);
    fv_free(s->iou);
    for (int i = 0; i < 2 * SSD_MAPS; i++)
        fv_free(s->dy[i]);
    fv_free(s);
    d->state = NULL;
}

static fv_status ssd_create(fv_detector *d)
{
    if (d->args.height < 16 || d->args.width < 16)
        return fv_err(FV_ERR_INVALID, "ssd: input %dx%d is too small (at least 16x16)",
                      d->args.height, d->args.width);
    ssd_state *s = fv_calloc(1, sizeof *s, "ssd: state");
    if (!s)
        return fv_last_status();
    d->state = s;
    s->k1 = d->args.num_classes + 1;
    FV_TRY(build(d, s));
    return make_anchors(d, s);
}

/* Buffers for n images (grown, never shrunk). */
static fv_status reserve(fv_detector *d, ssd_state *s, int n)
{
    if (n <= s->cap)
        return FV_OK;
    size_t na = (size_t)s->na, k1 = (size_t)s->k1;
    fv_free(s->logits), fv_free(s->deltas), fv_free(s->dlogits), fv_free(s->ddeltas);
    s->cap = 0;
    s->logits = fv_malloc(sizeof(double) * (size_t)n * na * k1, "ssd: logits");
    s->deltas = fv_malloc(sizeof(double) * (size_t)n * na * 4, "ssd: deltas");
    s->dlogits = fv_malloc(sizeof(double) * (size_t)n * na * k1, "ssd: logit gradients");
    s->ddeltas = fv_malloc(sizeof(double) * (size_t)n * na * 4, "ssd: delta gradients");
    if (!s->logits || !s->deltas || !s->dlogits || !s->ddeltas)
        return fv_last_status();
    const fv_model *m = ssd_model(d);
    for (int k = 0; k < 2 * SSD_MAPS; k++) {
        int node = k < SSD_MAPS ? s->cls_node[k] : s->box_node[k - SSD_MAPS];
        int64_t dims[4];
        fv_node_shape(m, node, dims);
        fv_free(s->dy[k]);
        s->dy[k] = fv_malloc(sizeof(float) * (size_t)n * (size_t)(dims[0] * dims[1] * dims[2]),
                             "ssd: head gradients");
        if (!s->dy[k])
            return fv_last_status();
    }
    s->cap = n;
    return FV_OK;
}

/* Moves between a head's output (n, A c, H, W) and per-anchor rows (n, na, c): to = 1 reads the
 * output into rows (float -> double), to = 0 writes rows into a dy buffer. */
static void shuffle(const ssd_state *s, int k, int n, int c, const float *out, double *rows,
                    float *dy)
{
    int hw = s->grid_h[k] * s->grid_w[k];
    int64_t size = (int64_t)SSD_A * c * hw;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < hw; p++)
            for (int a = 0; a < SSD_A; a++) {
                int64_t row = ((int64_t)i * s->na + s->first[k] + (int64_t)p * SSD_A + a) * c;
                for (int j = 0; j < c; j++) {
                    int64_t at = i * size + (int64_t)(a * c + j) * hw + p;
                    if (out)
                        rows[row + j] = out[at];
                    else
                        dy[at] = (float)rows[row + j];
                }
            }
}

/* Forward pass over b's images into s->logits and s->deltas. */
static fv_status forward(fv_detector *d, ssd_state *s, const fv_det_batch *b, int training)
{
    fv_model *m = ssd_model(d);
    const fv_detector_args *a = &d->args;
    if (b->c != a->channels || b->h != a->height || b->w != a->width)
        return fv_err(FV_ERR_SHAPE, "ssd: images of %dx%dx%d, the detector takes %dx%dx%d",
                      b->c, b->h, b->w, a->channels, a->height, a->width);
    FV_TRY(reserve(d, s, b->n));
    fv_model_set_training(m, training);
    FV_TRY(fv_model_forward(m, b->images, b->n));
    for (int k = 0; k < SSD_MAPS; k++) {
        shuffle(s, k, b->n, s->k1, fv_model_node_output(m, s->cls_node[k]), s->logits, NULL);
        shuffle(s, k, b->n, 4, fv_model_node_output(m, s->box_node[k]), s->deltas, NULL);
    }
    return FV_OK;
}

/* Labels and encoded targets of one image's default boxes; returns its positives. */
static fv_status targets(ssd_state *s, const fv_det_annotation *ann, int *npos)
{
    int ng = ann->nobjects;
    fv_box *gt = fv_malloc(sizeof(fv_box) * (size_t)(ng > 0 ? ng : 1), "ssd: truths");
    if (!gt)
        return fv_last_status();
    for (int g = 0; g < ng; g++)
        gt[g] = ann->objects[g].box;
    if ((int64_t)s->na * ng > s->iou_cap) {
        fv_free(s->iou);
        s->iou_cap = 0;
        s->iou = fv_malloc(sizeof(float) * (size_t)s->na * (size_t)ng, "ssd: IoU matrix");
        if (!s->iou)
            return fv_free(gt), fv_last_status();
        s->iou_cap = (int64_t)s->na * ng;
    }
    fv_status st = fv_ssd_match(s->anchors, s->na, gt, ng, 0.5f, s->iou, s->matched);
    *npos = 0;
    for (int a = 0; a < s->na && st == FV_OK; a++) {
        int g = s->matched[a];
        s->labels[a] = g < 0 ? 0 : ann->objects[g].cls + 1;
        if (g < 0)
            continue;
        float t[4];
        st = fv_box_encode(&gt[g], &s->anchors[a], 1, fv_ssd_box_weights, t);
        for (int j = 0; j < 4; j++)
            s->targets[4 * (int64_t)a + j] = t[j];
        ++*npos;
    }
    fv_free(gt);
    return st;
}

static fv_status ssd_train_step(fv_detector *d, const fv_det_batch *b, fv_det_losses *out)
{
    ssd_state *s = d->state;
    fv_model *m = ssd_model(d);
    FV_TRY(forward(d, s, b, 1));
    int total = 0, npos;
    for (int i = 0; i < b->n; i++) { /* the batch's positives normalize every image's loss */
        for (int g = 0; g < b->ann[i].nobjects; g++)
            if (b->ann[i].objects[g].cls < 0 || b->ann[i].objects[g].cls >= s->k1 - 1)
                return fv_err(FV_ERR_INVALID, "ssd: image %d, box %d: class %d not in [0, %d)",
                              i, g, b->ann[i].objects[g].cls, s->k1 - 1);
        FV_TRY(targets(s, &b->ann[i], &npos));
        total += npos;
    }
    double norm = total > 0 ? total : 1, lc = 0, lb = 0;
    for (int i = 0; i < b->n; i++) {
        size_t ro = (size_t)i * (size_t)s->na;
        double c, x;
        FV_TRY(targets(s, &b->ann[i], &npos));
        FV_TRY(fv_ssd_multibox_loss(s->logits + ro * (size_t)s->k1, s->deltas + ro * 4, s->na,
                                    s->k1, s->labels, s->targets, 3, norm, &c, &x,
                                    s->dlogits + ro * (size_t)s->k1, s->ddeltas + ro * 4, &npos));
        lc += c, lb += x;
    }
    if (!isfinite(lc) || !isfinite(lb))
        return fv_err(FV_ERR_NUMERIC, "ssd: loss is not finite (classification %g, box %g)", lc,
                      lb);
    int nodes[2 * SSD_MAPS];
    const float *dys[2 * SSD_MAPS];
    for (int k = 0; k < SSD_MAPS; k++) {
        shuffle(s, k, b->n, s->k1, NULL, s->dlogits, s->dy[k]);
        shuffle(s, k, b->n, 4, NULL, s->ddeltas, s->dy[SSD_MAPS + k]);
        nodes[k] = s->cls_node[k], nodes[SSD_MAPS + k] = s->box_node[k];
    }
    for (int k = 0; k < 2 * SSD_MAPS; k++)
        dys[k] = s->dy[k];
    fv_model_zero_grad(m);
    FV_TRY(fv_model_backward(m, 2 * SSD_MAPS, nodes, dys, NULL));
    FV_TRY(fv_model_step(m));
    *out = (fv_det_losses){lc + lb, lc, lb, NAN, NAN};
    return FV_OK;
}

typedef struct cands {
    fv_box *boxes;
    float *scores;
    int *cls, *keep;
    fv_ranked *rank; /* one class's default boxes above the threshold */
    double *prob;    /* na x k1 */
} cands;

static void cands_free(cands *c)
{
    fv_free(c->boxes), fv_free(c->scores), fv_free(c->cls), fv_free(c->keep);
    fv_free(c->rank), fv_free(c->prob);
}

/* Detections of one image: per class the best SSD_CANDIDATES default boxes scored above the
 * threshold, decoded and clipped to the image; then per-class NMS and the best max_dets. */
static fv_status decode_image(const fv_detector *d, const ssd_state *s, const double *logits,
                              const double *deltas, fv_detection **dets, int *nd)
{
    int k = s->k1 - 1, na = s->na, cap = k * SSD_CANDIDATES, n = 0;
    cands c = {fv_malloc(sizeof(fv_box) * (size_t)cap, "ssd: candidates"),
               fv_malloc(sizeof(float) * (size_t)cap, "ssd: scores"),
               fv_malloc(sizeof(int) * (size_t)cap, "ssd: classes"),
               fv_malloc(sizeof(int) * (size_t)cap, "ssd: kept"),
               fv_malloc(sizeof(fv_ranked) * (size_t)na, "ssd: ranking"),
               fv_malloc(sizeof(double) * (size_t)na * (size_t)s->k1, "ssd: probabilities")};
    fv_status st = c.boxes && c.scores && c.cls && c.keep && c.rank && c.prob
                       ? FV_OK : fv_last_status();
    for (int a = 0; a < na && st == FV_OK; a++)
        fv_det_softmax(logits + (int64_t)a * s->k1, s->k1, c.prob + (int64_t)a * s->k1);
    for (int cl = 1; cl <= k && st == FV_OK; cl++) {
        int m = 0;
        for (int a = 0; a < na; a++) {
            float p = (float)c.prob[(int64_t)a * s->k1 + cl];
            if (p > d->args.score_threshold)
                c.rank[m++] = (fv_ranked){p, a};
        }
        qsort(c.rank, (size_t)m, sizeof *c.rank, fv_ranked_cmp); /* best first, ties by index */
        for (int i = 0; i < m && i < SSD_CANDIDATES && st == FV_OK; i++, n++) {
            float dl[4];
            int a = c.rank[i].index;
            for (int j = 0; j < 4; j++)
                dl[j] = (float)deltas[4 * (int64_t)a + j];
            st = fv_box_decode(dl, &s->anchors[a], 1, fv_ssd_box_weights, &c.boxes[n]);
            c.scores[n] = (float)c.rank[i].score, c.cls[n] = cl - 1;
        }
    }
    int nk = 0;
    if (st == FV_OK)
        st = fv_box_clip(c.boxes, n, (float)d->args.width, (float)d->args.height);
    if (st == FV_OK)
        st = fv_box_batched_nms(c.boxes, c.scores, c.cls, n, d->args.nms_iou, d->args.max_dets,
                                c.keep, &nk);
    *dets = NULL, *nd = 0;
    if (st == FV_OK && !(*dets = fv_malloc(sizeof(fv_detection) * (size_t)(nk ? nk : 1),
                                           "ssd: detections")))
        st = fv_last_status();
    for (int i = 0; i < nk && st == FV_OK; i++)
        (*dets)[i] = (fv_detection){c.boxes[c.keep[i]], c.cls[c.keep[i]], c.scores[c.keep[i]]};
    if (st == FV_OK)
        *nd = nk;
    cands_free(&c);
    return st;
}

static fv_status ssd_detect(fv_detector *d, const fv_det_batch *b, fv_detection **dets,
                            int *ndets)
{
    ssd_state *s = d->state;
    for (int i = 0; i < b->n; i++)
        dets[i] = NULL, ndets[i] = 0;
    FV_TRY(forward(d, s, b, 0));
    for (int i = 0; i < b->n; i++) {
        size_t ro = (size_t)i * (size_t)s->na;
        fv_status st = decode_image(d, s, s->logits + ro * (size_t)s->k1, s->deltas + ro * 4,
                                    &dets[i], &ndets[i]);
        if (st != FV_OK) {
            for (int j = 0; j <= i; j++)
                fv_free(dets[j]), dets[j] = NULL, ndets[j] = 0;
            return st;
        }
    }
    return FV_OK;
}

const fv_det_impl fv_det_ssd = {"ssd", ssd_create, ssd_train_step, ssd_detect, ssd_destroy};
