/* fit.c - training and inference loops: one optimisation step, fit (shuffled epochs, live progress,
 * validation, metrics CSV), evaluate and predict. fit takes its batches from the background loader
 * (data/loader.c: gather, resize, augment, mix); evaluate and predict gather (and resize) directly
 * into the planned buffers. No memory is allocated inside a step. */
#include "core/internal.h"
#include "data/augment.h"
#include "data/data.h"
#include "data/loader.h"
#include "graph/graph.h"
#include "io/io.h"
#include "nn/checkpoint.h"
#include "nn/dist_fit.h"
#include "ops/ops.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void fv_softmax_rows(float *x, int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; r++) {
        float *v = x + r * cols, mx = v[0];
        for (int64_t j = 1; j < cols; j++)
            mx = v[j] > mx ? v[j] : mx;
        double s = 0;
        for (int64_t j = 0; j < cols; j++)
            s += exp((double)v[j] - mx);
        for (int64_t j = 0; j < cols; j++)
            v[j] = (float)(exp((double)v[j] - mx) / s);
    }
}

/* ---------------------------------------------------------------- checks */

/* Losses whose targets are one class index per sample. */
static int sparse_loss(fv_loss l)
{
    return l == FV_LOSS_SOFTMAX_CE || l == FV_LOSS_SPARSE_CE_PROBS || l == FV_LOSS_HINGE;
}

/* Losses whose targets are distributions over classes (accuracy: argmax against argmax). */
static int categorical_loss(fv_loss l)
{
    return l == FV_LOSS_CATEGORICAL_CE || l == FV_LOSS_CATEGORICAL_CE_PROBS ||
           l == FV_LOSS_KL_DIV;
}

/* Whether the model's loss gives an accuracy. */
static int has_accuracy(const fv_model *m)
{
    return sparse_loss(m->loss) || categorical_loss(m->loss);
}

static fv_status check_ready(const fv_model *m, const char *what)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "model '%s': compile it before %s", m->name, what);
    if (m->loss == FV_LOSS_NONE && strcmp(what, "predict") != 0)
        return fv_err(FV_ERR_STATE, "model '%s': %s needs a loss (compile with .loss)", m->name,
                      what);
    return FV_OK;
}

/* Whether x's images are converted to the input as they are gathered (fv_model_resize_inputs). */
static int resizing(const fv_model *m, const fv_tensor *x)
{
    const fv_node *in = &m->nodes[m->input_node];
    return m->resize_inputs && x->ndim == 4 && in->ndim == 3 &&
           (x->dims[1] != in->dims[0] || x->dims[2] != in->dims[1] || x->dims[3] != in->dims[2]);
}

static fv_status check_x(const fv_model *m, const fv_tensor *x, const char *what)
{
    const fv_node *in = &m->nodes[m->input_node];
    if (resizing(m, x) && fv_tensor_is_contiguous(x))
        return fv_resample_check(what, x->dims[1], x->dims[2], x->dims[3], in->dims[0],
                                 in->dims[1], in->dims[2]);
    int64_t per = x->dims[0] ? fv_tensor_numel(x) / x->dims[0] : 0;
    if (!fv_tensor_is_contiguous(x) || x->ndim < 2 || per != in->size) {
        char a[96], b[96];
        return fv_err(FV_ERR_SHAPE, "%s: data of shape %s does not fit input '%s' of shape %s",
                      what, fv_shape_str(x->ndim, x->dims, a, sizeof a), in->name,
                      fv_node_shape_str(in, b, sizeof b));
    }
    return FV_OK;
}

/* Per-pixel CE and Dice: each sample's (H, W) class indices in [0, classes) or the ignore
 * label; the per-step CE of sequences likewise with (T) indices. */
static fv_status check_pixel_y(const fv_model *m, const fv_dataset *d, const char *what)
{
    const fv_node *t = &m->nodes[m->target_node], *out = &m->nodes[m->output_node];
    const fv_loss_attr *la = &m->nodes[m->loss_node].a.loss;
    int64_t n = d->x->dims[0], per = n ? fv_tensor_numel(d->y) / n : 0;
    /* per pixel: (C, H, W) logits; per step: (T, V) */
    int seq = m->loss == FV_LOSS_SEQUENCE_CE;
    int64_t classes = seq ? out->dims[1] : out->dims[0];
    if (per != t->size)
        return fv_err(FV_ERR_SHAPE, "%s: %s have %lld values per sample, the output's %s %lld",
                      what, seq ? "targets" : "masks", (long long)per,
                      seq ? "steps" : "H x W", (long long)t->size);
    for (int64_t i = 0; i < n * per; i++) {
        float v = d->y->data[i];
        if (!(v >= 0 && v < (float)classes && v == floorf(v)) &&
            !(la->use_ignore && v == (float)la->ignore))
            return fv_err(FV_ERR_INVALID, "%s: sample %lld's %s has label %g at %s %lld, "
                          "not a class in [0, %lld)%s", what, (long long)(i / per),
                          seq ? "sequence" : "mask", (double)v, seq ? "step" : "pixel",
                          (long long)(i % per), (long long)classes,
                          la->use_ignore ? " nor the ignore label" : "");
    }
    return FV_OK;
}

/* Targets: class indices in [0, classes) for cross-entropy, or one output's worth for MSE. */
static fv_status check_y(const fv_model *m, const fv_dataset *d, const char *what)
{
    int64_t n = d->x->dims[0];
    if (!d->y || d->y->dims[0] != n)
        return fv_err(FV_ERR_SHAPE, "%s: %lld targets for %lld samples", what,
                      d->y ? (long long)d->y->dims[0] : 0LL, (long long)n);
    if (m->loss == FV_LOSS_PIXEL_CE || m->loss == FV_LOSS_DICE || m->loss == FV_LOSS_SEQUENCE_CE)
        return check_pixel_y(m, d, what);
    const fv_node *out = &m->nodes[m->output_node];
    int64_t per = n ? fv_tensor_numel(d->y) / n : 0;
    /* categorical losses also take class indices, fed as one-hot rows */
    if (!sparse_loss(m->loss) && !(categorical_loss(m->loss) && per == 1 && out->size > 1)) {
        if (per != out->size)
            return fv_err(FV_ERR_SHAPE, "%s: targets have %lld values per sample, output '%s' %lld",
                          what, (long long)per, out->name, (long long)out->size);
        return FV_OK;
    }
    if (per != 1)
        return fv_err(FV_ERR_SHAPE, "%s: this loss needs one class index per sample, got %lld",
                      what, (long long)per);
    for (int64_t i = 0; i < n; i++) {
        float t = d->y->data[i];
        if (!(t >= 0 && t < (float)out->size && t == floorf(t)))
            return fv_err(FV_ERR_INVALID, "%s: target %lld is %g, not a class index in [0, %lld)",
                          what, (long long)i, (double)t, (long long)out->size);
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- one batch */

static int64_t argmax(const float *row, int64_t k)
{
    int64_t best = 0;
    for (int64_t j = 1; j < k; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

static int count_correct(const fv_model *m, int n)
{
    if (!has_accuracy(m))
        return 0;
    const fv_node *out = &m->nodes[m->output_node];
    const float *t = m->nodes[m->target_node].y;
    int c = 0, sparse = sparse_loss(m->loss);
    for (int i = 0; i < n; i++) {
        int64_t want = sparse ? (int64_t)t[i] : argmax(t + (int64_t)i * out->size, out->size);
        c += argmax(out->y + (int64_t)i * out->size, out->size) == want;
    }
    return c;
}

/* Rows of x and y as the model's input and target buffers take them. */
static fv_loader_cfg rows_of(const fv_model *m, const fv_tensor *x, const fv_tensor *y)
{
    const fv_node *in = &m->nodes[m->input_node];
    fv_loader_cfg c = {.x = x, .n = x->dims[0], .x_size = in->size};
    if (resizing(m, x)) {
        c.sc = (int)x->dims[1], c.sh = (int)x->dims[2], c.sw = (int)x->dims[3];
        c.c = (int)in->dims[0], c.h = (int)in->dims[1], c.w = (int)in->dims[2];
    }
    if (y && m->target_node >= 0) {
        c.y = y;
        c.y_size = c.n ? fv_tensor_numel(y) / c.n : 1;
        c.t_size = m->nodes[m->target_node].size;
    }
    return c;
}

/* Copies rows start..start+n of x and y into the planned inputs. */
static void gather(fv_model *m, const fv_tensor *x, const fv_tensor *y, int64_t start, int n)
{
    fv_loader_cfg c = rows_of(m, x, y);
    fv_gather_rows(&c, start, n, m->nodes[m->input_node].y,
                   c.y ? m->nodes[m->target_node].y : NULL);
}

/* Forward, backward and update on the batch already in the input buffers, the loss into *loss.
 * A loss that is not finite or above `limit` (divergence) is returned without the update, so the
 * caller stops with the weights of the step before. As a rank of a data-parallel run (dp), the
 * loss and *correct are the global batch's, and the gradients are summed over the ranks (started
 * during backward) before the update; a failed reduction is the error, and so are input values
 * the graph refuses (fv_graph_check: an embedding's token outside its vocabulary). */
static fv_status step(fv_model *m, fv_dp *dp, int n, int *correct, double limit, double *loss)
{
    fv_graph_forward(m, n, -1);
    FV_TRY(fv_graph_check(m, -1));
    /* the reported loss includes the regularization penalty, as Keras' does */
    *loss = m->nodes[m->loss_node].y[0] + fv_regularize(m, 0);
    *correct = count_correct(m, n);
    if (dp)
        FV_TRY(fv_dp_reduce_step(dp, loss, correct, n));
    if (!isfinite(*loss) || *loss > limit)
        return FV_OK;
    fv_graph_backward(m, n);
    if (dp)
        FV_TRY(fv_dp_finish_grads(dp));
    fv_optim_step(m);
    return FV_OK;
}

fv_status fv_model_train_batch(fv_model *m, const float *x, const float *y, int n, double *loss,
                               int *correct)
{
    FV_TRY(check_ready(m, "train"));
    FV_TRY(fv_graph_plan(m, n));
    m->training = 1;
    fv_node *in = &m->nodes[m->input_node], *t = &m->nodes[m->target_node];
    memcpy(in->y, x, sizeof(float) * (size_t)(n * in->size));
    memcpy(t->y, y, sizeof(float) * (size_t)(n * t->size));
    int c;
    double l;
    FV_TRY(step(m, NULL, n, &c, INFINITY, &l));
    if (loss)
        *loss = l;
    if (correct)
        *correct = c;
    if (!isfinite(l))
        return fv_err(FV_ERR_NUMERIC, "model '%s': loss is %g", m->name, l);
    return FV_OK;
}

/* ---------------------------------------------------------------- evaluate / predict */

/* Samples [a, e) of d in batches: the sum of their losses and their correct count into sums. */
static fv_status evaluate_range(fv_model *m, const fv_dataset *d, int batch, int64_t a,
                                int64_t e, double sums[2])
{
    batch = batch > 0 ? batch : 256;
    FV_TRY(fv_graph_plan(m, batch));
    int was = m->training;
    m->training = 0;
    int64_t right = 0;
    double total = 0;
    for (int64_t s = a; s < e; s += batch) {
        int b = (int)(e - s < batch ? e - s : batch);
        gather(m, d->x, d->y, s, b);
        fv_graph_infer(m, b, -1);
        fv_status st = fv_graph_check(m, -1);
        if (st != FV_OK) {
            m->training = was;
            return st;
        }
        total += m->nodes[m->loss_node].y[0] * b;
        right += count_correct(m, b);
    }
    m->training = was;
    sums[0] = total, sums[1] = (double)right;
    return FV_OK;
}

/* Mean loss and accuracy from evaluate_range's sums over n samples. */
static void eval_means(const fv_model *m, const double sums[2], int64_t n, double *loss,
                       double *accuracy)
{
    if (loss)
        *loss = n ? sums[0] / (double)n : NAN;
    if (accuracy)
        *accuracy = n && has_accuracy(m) ? sums[1] / (double)n : NAN;
}

fv_status fv_model_evaluate(fv_model *m, const fv_dataset *d, int batch, double *loss,
                            double *accuracy)
{
    FV_TRY(check_ready(m, "evaluate"));
    FV_TRY(check_x(m, d->x, "evaluate"));
    FV_TRY(check_y(m, d, "evaluate"));
    double sums[2];
    FV_TRY(evaluate_range(m, d, batch, 0, d->x->dims[0], sums));
    eval_means(m, sums, d->x->dims[0], loss, accuracy);
    return FV_OK;
}

fv_status fv_model_predict(fv_model *m, const fv_tensor *x, fv_tensor **out)
{
    *out = NULL;
    FV_TRY(check_ready(m, "predict"));
    FV_TRY(check_x(m, x, "predict"));
    const fv_node *o = &m->nodes[m->output_node];
    int64_t n = x->dims[0], dims[5] = {n};
    memcpy(dims + 1, o->dims, sizeof(int64_t) * (size_t)o->ndim);
    /* the planned batch, else up to 256 (no bigger than needed: a few large images) */
    int batch = m->plan_batch > 0 ? m->plan_batch : n < 256 ? (int)(n > 0 ? n : 1) : 256;
    FV_TRY(fv_graph_plan(m, batch));
    fv_tensor *res = fv_tensor_new(o->ndim + 1, dims);
    if (!res)
        return FV_ERR_NOMEM;
    int was = m->training;
    m->training = 0;
    for (int64_t s = 0; s < n; s += batch) {
        int b = (int)(n - s < batch ? n - s : batch);
        gather(m, x, NULL, s, b);
        fv_graph_infer(m, b, m->output_node);
        fv_status st = fv_graph_check(m, m->output_node);
        if (st != FV_OK) {
            m->training = was;
            fv_tensor_free(res);
            return st;
        }
        memcpy(res->data + s * o->size, o->y, sizeof(float) * (size_t)(b * o->size));
    }
    m->training = was;
    *out = res;
    return FV_OK;
}

/* Whether the output node's values already are probabilities (fv_model_predict_proba). */
static int outputs_probabilities(const fv_model *m)
{
    int op = m->nodes[m->output_node].op;
    return op == FV_OP_SOFTMAX || op == FV_OP_SIGMOID || op == FV_OP_SEGMENT_SOFTMAX ||
           m->loss == FV_LOSS_SPARSE_CE_PROBS || m->loss == FV_LOSS_CATEGORICAL_CE_PROBS ||
           m->loss == FV_LOSS_BCE || m->loss == FV_LOSS_KL_DIV;
}

fv_status fv_model_predict_proba(fv_model *m, const fv_tensor *x, fv_tensor **out)
{
    FV_TRY(fv_model_predict(m, x, out));
    fv_tensor *p = *out;
    int64_t all = fv_tensor_numel(p), k = p->dims[p->ndim - 1];
    if (outputs_probabilities(m) || all == 0)
        return FV_OK;
    if (m->loss == FV_LOSS_BCE_LOGITS)
        for (int64_t i = 0; i < all; i++)
            p->data[i] = (float)(1 / (1 + exp(-(double)p->data[i])));
    else /* over the last axis, as the softmax layer */
        fv_softmax_rows(p->data, all / k, k);
    return FV_OK;
}

/* ---------------------------------------------------------------- fit */

typedef struct fit_state {
    fv_model *m;
    const fv_dataset *train;
    fv_fit_args a;
    int64_t *perm;
    fv_rng rng;
    int64_t nbatches;
    double base_lr;   /* the optimizer's learning rate when fit began */
    int64_t step;     /* optimisation steps so far (one-cycle schedules count them) */
    fv_plateau plateau;
    double ref_sum;   /* divergence: the sum of the first ref_n batch losses of this call */
    int ref_n;
    fv_dp *dp;        /* this rank's part of a data-parallel run, or NULL */
    double step_s;    /* the steps' time and count in this call (fv_fit_args.dist_stats) */
    int64_t steps_run;
} fit_state;

/* ---------------------------------------------------------------- divergence */

#define DIVERGE_REF_BATCHES 10 /* batches whose mean loss is the reference */
#define DIVERGE_FACTOR 1e4     /* an exploded loss: above this times the reference ... */
#define DIVERGE_FLOOR 1e6      /* ... and above this */

/* The largest loss the next batch may have (fv_fit_args documents the rule). */
static double loss_limit(const fit_state *s)
{
    if (s->ref_n == 0)
        return INFINITY; /* the first batch has nothing to compare with */
    double ref = fabs(s->ref_sum / s->ref_n);
    return fmax(DIVERGE_FLOOR, DIVERGE_FACTOR * ref);
}

static void note_loss(fit_state *s, double loss)
{
    if (s->ref_n < DIVERGE_REF_BATCHES)
        s->ref_sum += loss, s->ref_n++;
}

static fv_status diverged_loss(const fit_state *s, int epoch, int64_t b, double loss, double limit)
{
    if (!isfinite(loss))
        return fv_err(FV_ERR_NUMERIC, "training diverged at epoch %d, batch %lld: loss %g "
                      "(the weights of the batch before are kept; try a lower learning rate)",
                      epoch, (long long)(b + 1), loss);
    return fv_err(FV_ERR_NUMERIC, "training diverged at epoch %d, batch %lld: loss %.3g exploded "
                  "(the limit is %.3g: above 1e6 and 1e4 x %.3g, the mean loss of the run's first "
                  "%d batch%s); try a lower learning rate", epoch, (long long)(b + 1), loss, limit,
                  s->ref_sum / s->ref_n, s->ref_n, s->ref_n == 1 ? "" : "es");
}

/* Whether every parameter is finite (one pass over the slab: cheap once an epoch). */
static bool weights_finite(const fv_model *m)
{
    for (int64_t i = 0; i < m->param_total; i++)
        if (!isfinite(m->data_slab[i]))
            return false;
    return true;
}

/* Starts the epoch's loader: the epoch's order and a key for its augmentation, both drawn from
 * the fit's stream (which checkpoints save). */
static fv_status start_loader(fit_state *s, fv_loader **l)
{
    fv_model *m = s->m;
    const fv_node *in = &m->nodes[m->input_node];
    fv_loader_cfg c = rows_of(m, s->train->x, s->train->y);
    c.order = s->a.no_shuffle ? NULL : s->perm;
    c.batch = s->a.batch_size;
    c.key = fv_rng_next(&s->rng);
    if (s->dp) { /* this rank's samples; its own augmentation stream */
        c.n = fv_dp_shard(s->dp, c.order, &c.order);
        c.key += 0x9E3779B97F4A7C15ULL * (uint64_t)fv_dist_rank();
    }
    if (fv_augment_active(&s->a.augment)) {
        c.augment = &s->a.augment;
        c.c = (int)in->dims[0], c.h = (int)in->dims[1], c.w = (int)in->dims[2];
    }
    return fv_loader_start(l, &c);
}

/* The learning rate for the coming epoch (per-epoch schedules) or step (one-cycle). */
static void apply_schedule(fit_state *s, int epoch, int per_step)
{
    const fv_schedule *sc = &s->a.schedule;
    if (sc->kind == FV_SCHED_ONE_CYCLE && per_step)
        s->m->opt.lr = (float)fv_schedule_lr(sc, s->base_lr, s->step);
    else if (sc->kind == FV_SCHED_PLATEAU && !per_step)
        s->m->opt.lr = (float)s->plateau.lr;
    else if (sc->kind != FV_SCHED_ONE_CYCLE && sc->kind != FV_SCHED_PLATEAU && !per_step)
        s->m->opt.lr = (float)fv_schedule_lr(sc, s->base_lr, epoch - 1);
}

static void progress(const fit_state *s, int epoch, int64_t b, double loss, double acc,
                     double ips, double eta)
{
    char bar[31];
    int fill = (int)(30 * (b + 1) / s->nbatches);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '=' : (i == fill ? '>' : '.');
    bar[30] = '\0';
    char accs[24] = "";
    if (has_accuracy(s->m)) /* none for regression losses */
        snprintf(accs, sizeof accs, " acc %.4f", acc);
    fprintf(s->a.log, "\rEpoch %d/%d %6lld/%lld [%s] loss %.4f%s %6.0f img/s ETA %3.0fs ",
            epoch, s->a.epochs, (long long)(b + 1), (long long)s->nbatches, bar, loss, accs, ips,
            eta);
    fflush(s->a.log);
}

/* The validation loss and accuracy; a data-parallel run splits the samples over the ranks. */
static fv_status validate(fit_state *s, double *loss, double *accuracy)
{
    const fv_dataset *d = s->a.validation;
    int64_t n = d->x->dims[0], a = 0, e = n;
    if (s->dp)
        fv_dp_range(s->dp, n, &a, &e);
    double sums[2];
    FV_TRY(evaluate_range(s->m, d, 0, a, e, sums));
    if (s->dp)
        FV_TRY(fv_dp_sum(s->dp, sums, 2));
    eval_means(s->m, sums, n, loss, accuracy);
    return FV_OK;
}

static fv_status run_epoch(fit_state *s, int epoch, fv_epoch_metrics *em)
{
    fv_model *m = s->m;
    int64_t n = s->train->x->dims[0];
    if (!s->a.no_shuffle)
        fv_rng_permutation(&s->rng, s->perm, n);
    double t0 = now_s(), last_print = 0, sum = 0;
    int64_t right = 0, seen = 0;
    m->training = 1;
    apply_schedule(s, epoch, 0);
    fv_loader *ld;
    FV_TRY(start_loader(s, &ld));
    for (int64_t b = 0; b < s->nbatches; b++) {
        int cnt, c;
        fv_status st = fv_loader_next(ld, m->nodes[m->input_node].y,
                                      m->nodes[m->target_node].y, &cnt);
        if (st != FV_OK)
            return fv_loader_stop(ld), st;
        apply_schedule(s, epoch, 1);
        if (s->a.interrupt_after > 0 && s->step >= s->a.interrupt_after) {
            fv_loader_stop(ld);
            return fv_err(FV_ERR_STATE, "training interrupted at epoch %d, batch %lld (as asked)",
                          epoch, (long long)(b + 1));
        }
        s->step++;
        double limit = loss_limit(s), loss, ts = now_s();
        int local = cnt; /* this rank's samples; cnt: the global batch's */
        if (s->dp)
            fv_dp_step_begin(s->dp, local, b), cnt = fv_dp_global_count(s->dp, b);
        if ((st = step(m, s->dp, local, &c, limit, &loss)) != FV_OK)
            return fv_loader_stop(ld), st;
        s->step_s += now_s() - ts, s->steps_run++;
        if (!isfinite(loss) || loss > limit) {
            fv_loader_stop(ld);
            if (s->a.verbose)
                fputc('\n', s->a.log);
            return diverged_loss(s, epoch, b, loss, limit);
        }
        note_loss(s, loss);
        sum += loss * cnt;
        right += c;
        seen += cnt;
        double t = now_s() - t0;
        if (s->a.verbose && (t - last_print > 0.25 || b + 1 == s->nbatches)) {
            double ips = t > 0 ? (double)seen / t : 0;
            progress(s, epoch, b, sum / (double)seen, (double)right / (double)seen, ips,
                     ips > 0 ? (double)(n - seen) / ips : 0);
            last_print = t;
        }
    }
    fv_loader_stop(ld);
    m->training = 0;
    if (s->dp) /* per-rank batch norm: every rank evaluates and saves the mean statistics */
        FV_TRY(fv_dp_average_buffers(s->dp));
    if (!weights_finite(m)) /* before any checkpoint or validation sees them */
        return fv_err(FV_ERR_NUMERIC, "training diverged at epoch %d, batch %lld: the weights "
                      "are no longer finite; try a lower learning rate", epoch,
                      (long long)s->nbatches);
    em->epoch = epoch;
    em->loss = sum / (double)seen;
    em->accuracy = has_accuracy(m) ? (double)right / (double)seen : NAN;
    em->seconds = now_s() - t0;
    em->images_per_s = (double)seen / em->seconds;
    em->val_loss = em->val_accuracy = NAN;
    em->lr = m->opt.lr;
    if (s->a.validation)
        FV_TRY(validate(s, &em->val_loss, &em->val_accuracy));
    if (s->a.schedule.kind == FV_SCHED_PLATEAU) /* monitors val_loss, else the training loss */
        fv_plateau_step(&s->plateau, &s->a.schedule,
                        s->a.validation ? em->val_loss : em->loss);
    return FV_OK;
}

static fv_status write_csv(const char *path, const fv_epoch_metrics *h, int n)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    fprintf(af.f, "epoch,loss,accuracy,val_loss,val_accuracy,seconds,images_per_s,lr\n");
    for (int i = 0; i < n; i++)
        fprintf(af.f, "%d,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f,%.6g\n", h[i].epoch, h[i].loss,
                h[i].accuracy, h[i].val_loss, h[i].val_accuracy, h[i].seconds, h[i].images_per_s,
                h[i].lr);
    return fv_atomic_commit(&af);
}

static void epoch_line(const fit_state *s, const fv_epoch_metrics *e)
{
    fprintf(s->a.log, "\rEpoch %d/%d: loss %.4f", e->epoch, s->a.epochs, e->loss);
    if (!isnan(e->accuracy)) /* NaN: a loss without accuracy (regression) */
        fprintf(s->a.log, " acc %.4f", e->accuracy);
    if (s->a.validation)
        fprintf(s->a.log, " - val_loss %.4f", e->val_loss);
    if (s->a.validation && !isnan(e->val_accuracy))
        fprintf(s->a.log, " val_acc %.4f", e->val_accuracy);
    fprintf(s->a.log, " - %.1fs, %.0f img/s%20s\n", e->seconds, e->images_per_s, "");
    fflush(s->a.log);
}

/* Augmentation needs (C, H, W) inputs; mixing needs targets that are distributions. */
static fv_status check_augment(const fv_model *m, const fv_augment *au)
{
    if (!fv_augment_active(au))
        return FV_OK;
    const fv_node *in = &m->nodes[m->input_node];
    if (in->ndim != 3)
        return fv_err(FV_ERR_SHAPE, "fit: augmentation needs (channels, height, width) images");
    if ((au->mixup > 0 || au->cutmix > 0) && !categorical_loss(m->loss) &&
        m->loss != FV_LOSS_BCE && m->loss != FV_LOSS_BCE_LOGITS && m->loss != FV_LOSS_MSE)
        return fv_err(FV_ERR_INVALID, "fit: mixup and cutmix need soft targets: compile with a "
                      "categorical loss (e.g. FV_LOSS_CATEGORICAL_CE), not a sparse one");
    return fv_augment_check(au, (int)in->dims[0], (int)in->dims[1], (int)in->dims[2]);
}

static fv_status fit_checks(fv_model *m, const fv_dataset *train, fv_fit_args *a)
{
    FV_TRY(check_ready(m, "fit"));
    FV_TRY(check_x(m, train->x, "fit"));
    FV_TRY(check_y(m, train, "fit"));
    if (a->validation) {
        FV_TRY(check_x(m, a->validation->x, "fit (validation)"));
        FV_TRY(check_y(m, a->validation, "fit (validation)"));
    }
    a->epochs = a->epochs ? a->epochs : 1;
    a->batch_size = a->batch_size ? a->batch_size : 32;
    a->log = a->log ? a->log : stderr;
    if (a->early_stopping < 0 || !(a->min_delta >= 0))
        return fv_err(FV_ERR_INVALID, "fit: early_stopping=%d must be >= 0 and min_delta=%g >= 0",
                      a->early_stopping, (double)a->min_delta);
    if (!(a->lr >= 0) || isinf(a->lr))
        return fv_err(FV_ERR_INVALID, "fit: lr=%g must be finite and >= 0 (0: the optimizer's)",
                      (double)a->lr);
    if (a->epochs < 0 || a->batch_size < 0)
        return fv_err(FV_ERR_INVALID, "fit: epochs=%d and batch_size=%d must be positive",
                      a->epochs, a->batch_size);
    if (train->x->dims[0] < 1)
        return fv_err(FV_ERR_INVALID, "fit: the training set is empty");
    FV_TRY(check_augment(m, &a->augment));
    return fv_schedule_check(&a->schedule);
}

/* Early stopping: the monitored loss of each epoch; the best weights kept when asked. */
typedef struct stopper {
    double best;
    int best_epoch, waited;
    float *best_weights; /* a copy of the parameter slab, or NULL */
} stopper;

/* Tracks the monitored loss; returns 1 when early stopping ends training after epoch e. */
static int stopper_update(stopper *st, const fv_model *m, const fv_fit_args *a,
                          const fv_epoch_metrics *em, int e)
{
    double v = a->validation ? em->val_loss : em->loss;
    if (v < st->best - a->min_delta) { /* tracked always: the best checkpoint follows it */
        st->best = v, st->best_epoch = e, st->waited = 0;
        if (st->best_weights)
            memcpy(st->best_weights, m->data_slab, sizeof(float) * (size_t)m->param_total);
        return 0;
    }
    return ++st->waited >= a->early_stopping && a->early_stopping > 0;
}

/* The train state for a checkpoint after epoch e. */
static fv_train_state state_of(const fit_state *s, const stopper *stop, fv_epoch_metrics *hist,
                               int e)
{
    return (fv_train_state){.epoch = e, .step = s->step, .fit_rng = s->rng, .base_lr = s->base_lr,
                            .plateau = s->plateau, .stop_best = stop->best,
                            .stop_best_epoch = stop->best_epoch, .stop_waited = stop->waited,
                            .history = hist, .best_weights = stop->best_weights};
}

static void ckpt_path(const char *dir, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, file);
}

/* Resumes from DIR/last.safetensors if asked and present; returns the first epoch to run. */
static fv_status maybe_resume(fit_state *s, stopper *stop, fv_epoch_metrics *hist, int *first)
{
    char path[1100];
    *first = 1;
    if (!s->a.resume || !s->a.checkpoint_dir)
        return FV_OK;
    ckpt_path(s->a.checkpoint_dir, "last.safetensors", path, sizeof path);
    struct stat sb; /* not opened here: a FIFO would block; the reader refuses non-files */
    if (stat(path, &sb) != 0 && (errno == ENOENT || errno == ENOTDIR))
        return FV_OK; /* nothing to resume: a fresh start */
    fv_train_state t = state_of(s, stop, hist, 0);
    FV_TRY(fv_checkpoint_read(s->m, path, &t, s->a.epochs));
    s->step = t.step, s->rng = t.fit_rng, s->base_lr = t.base_lr, s->plateau = t.plateau;
    if (s->a.lr > 0 && (float)s->a.lr != (float)t.base_lr) { /* the caller's rate wins */
        if (s->a.verbose)
            fprintf(s->a.log, "Resuming with learning rate %g (the checkpoint's was %g)\n",
                    (double)s->a.lr, t.base_lr);
        s->base_lr = s->a.lr;
        s->plateau.lr = s->base_lr; /* a plateau schedule continues from the new rate */
    }
    stop->best = t.stop_best, stop->best_epoch = t.stop_best_epoch, stop->waited = t.stop_waited;
    for (int e = 0; e < t.epoch && s->a.history; e++)
        s->a.history[e] = hist[e];
    *first = t.epoch + 1;
    return FV_OK;
}

/* After epoch e: last always, best when the monitored loss improved this epoch. */
static fv_status checkpoint(const fit_state *s, const stopper *stop, fv_epoch_metrics *hist,
                            int e, int improved)
{
    char path[1100];
    fv_train_state t = state_of(s, stop, hist, e);
    ckpt_path(s->a.checkpoint_dir, "last.safetensors", path, sizeof path);
    FV_TRY(fv_checkpoint_write(s->m, path, &t));
    if (!improved)
        return FV_OK;
    ckpt_path(s->a.checkpoint_dir, "best.safetensors", path, sizeof path);
    return fv_checkpoint_write(s->m, path, &t);
}

fv_status fv_model_fit_(fv_model *m, const fv_dataset *train, fv_fit_args a)
{
    FV_TRY(fit_checks(m, train, &a));
    int64_t n = train->x->dims[0];
    fit_state s = {.m = m, .train = train, .a = a};
    s.nbatches = (n + a.batch_size - 1) / a.batch_size;
    fv_rng_seed(&s.rng, a.seed);
    if (a.lr > 0)
        m->opt.lr = a.lr;
    s.base_lr = m->opt.lr;
    fv_plateau_init(&s.plateau, s.base_lr);
    FV_TRY(fv_graph_plan(m, a.batch_size));
    stopper stop = {.best = INFINITY};
    s.perm = fv_malloc(sizeof(int64_t) * (size_t)n, "shuffle order");
    fv_epoch_metrics *hist = fv_calloc((size_t)a.epochs, sizeof *hist, "fit history");
    if (a.early_stopping > 0 && a.restore_best)
        stop.best_weights = fv_malloc(sizeof(float) * (size_t)m->param_total, "best weights");
    fv_status st = s.perm && hist && (stop.best_weights || !a.restore_best || a.early_stopping <= 0)
                       ? FV_OK
                       : FV_ERR_NOMEM;
    if (st == FV_OK)
        st = fv_dp_begin(m, n, a.batch_size, a.bucket_kib, a.sync_bn, &s.dp);
    if (s.dp) { /* rank 0 alone prints and writes (the checkpoints below too) */
        s.nbatches = fv_dp_batches(s.dp);
        if (!fv_dp_writes(s.dp))
            s.a.verbose = a.verbose = 0, s.a.csv_path = a.csv_path = NULL;
    }
    int e = 1, stopped = 0;
    if (st == FV_OK)
        st = maybe_resume(&s, &stop, hist, &e);
    for (; st == FV_OK && e <= a.epochs && !stopped; e++) {
        st = run_epoch(&s, e, &hist[e - 1]);
        if (st == FV_OK && a.verbose)
            epoch_line(&s, &hist[e - 1]);
        if (st == FV_OK && a.csv_path)
            st = write_csv(a.csv_path, hist, e);
        if (st == FV_OK && a.history)
            a.history[e - 1] = hist[e - 1];
        int before = stop.best_epoch;
        stopped = st == FV_OK && stopper_update(&stop, m, &a, &hist[e - 1], e);
        if (st == FV_OK && a.checkpoint_dir && fv_dp_writes(s.dp))
            st = checkpoint(&s, &stop, hist, e, stop.best_epoch != before);
    }
    if (stopped && a.verbose)
        fprintf(a.log, "Early stopping after epoch %d: no improvement since epoch %d\n", e - 1,
                stop.best_epoch);
    if (st == FV_OK && stop.best_weights && stop.best_epoch > 0)
        memcpy(m->data_slab, stop.best_weights, sizeof(float) * (size_t)m->param_total);
    if (a.epochs_run)
        *a.epochs_run = e - 1;
    m->training = 0;
    if (a.schedule.kind != FV_SCHED_CONSTANT)
        m->opt.lr = (float)s.base_lr; /* the next fit starts from the same base */
    if (a.dist_stats) {
        *a.dist_stats = (fv_dist_stats){.steps = s.steps_run, .step_s = s.step_s};
        if (s.dp)
            fv_dp_stats(s.dp, a.dist_stats);
    }
    fv_dp_end(s.dp);
    fv_free(stop.best_weights);
    fv_free(s.perm);
    fv_free(hist);
    return st;
}
