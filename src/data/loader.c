/* loader.c - batch preparation on a background thread: two slots, the thread fills one (gather
 * and resize, one-hot, augment, mix) while training reads the other. Each batch's random draws
 * come from a stream seeded by the epoch's key and the batch number, so the result never depends
 * on thread timing, and an epoch restarted from a checkpoint sees the same batches. */
#include "data/augment.h"
#include "data/data.h"
#include "data/loader.h"

#include <pthread.h>
#include <string.h>

#define SLOTS 2

typedef struct slot {
    float *x, *t;
    int cnt;
    int full;
    fv_status st;
    char err[256]; /* the producer's error message, re-raised on the consumer's thread */
} slot;

struct fv_loader {
    fv_loader_cfg cfg;
    int64_t nbatches, next; /* batches in all; the next one the consumer takes */
    int augmenting, stop;
    slot s[SLOTS];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t tid;
};

void fv_gather_rows(const fv_loader_cfg *c, int64_t start, int n, float *x, float *t)
{
    int64_t stored = c->sc > 0 ? (int64_t)c->sc * c->sh * c->sw : c->x_size;
    for (int i = 0; i < n; i++) {
        int64_t r = c->order ? c->order[start + i] : start + i;
        if (c->sc > 0)
            fv_image_resample(c->x->data + r * stored, c->sc, c->sh, c->sw, x + i * c->x_size,
                              c->c, c->h, c->w);
        else
            memcpy(x + i * c->x_size, c->x->data + r * stored, sizeof(float) * (size_t)stored);
        if (!c->y || !t)
            continue;
        float *row = t + i * c->t_size;
        if (c->t_size == c->y_size) {
            memcpy(row, c->y->data + r * c->y_size, sizeof(float) * (size_t)c->y_size);
        } else { /* a class index (checked by fit) to a one-hot row */
            memset(row, 0, sizeof(float) * (size_t)c->t_size);
            row[(int64_t)c->y->data[r]] = 1;
        }
    }
}

/* Gathers, augments and mixes batch b into slot q. */
static fv_status fill(fv_loader *l, int64_t b, slot *q)
{
    const fv_loader_cfg *c = &l->cfg;
    int64_t start = b * c->batch;
    q->cnt = (int)(c->n - start < c->batch ? c->n - start : c->batch);
    fv_gather_rows(c, start, q->cnt, q->x, q->t);
    if (!l->augmenting)
        return FV_OK;
    fv_rng r;
    fv_rng_seed(&r, c->key + (uint64_t)b);
    FV_TRY(fv_augment_batch(c->augment, &r, q->x, q->cnt, c->c, c->h, c->w));
    if (c->augment->mixup > 0 || c->augment->cutmix > 0)
        FV_TRY(fv_augment_mix(c->augment, &r, q->x, q->t, q->cnt, c->c, c->h, c->w,
                              (int)c->t_size));
    return FV_OK;
}

static void *producer(void *arg)
{
    fv_loader *l = arg;
    for (int64_t b = 0; b < l->nbatches; b++) {
        slot *q = &l->s[b % SLOTS];
        pthread_mutex_lock(&l->mu);
        while (q->full && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        int stop = l->stop;
        pthread_mutex_unlock(&l->mu);
        if (stop)
            break;
        q->st = fill(l, b, q);
        if (q->st != FV_OK)
            snprintf(q->err, sizeof q->err, "%s", fv_last_error());
        pthread_mutex_lock(&l->mu);
        q->full = 1;
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        if (q->st != FV_OK)
            break;
    }
    return NULL;
}

static void free_loader(fv_loader *l)
{
    for (int i = 0; i < SLOTS; i++)
        fv_free(l->s[i].x), fv_free(l->s[i].t);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    fv_free(l);
}

fv_status fv_loader_start(fv_loader **out, const fv_loader_cfg *cfg)
{
    *out = NULL;
    fv_loader *l = fv_calloc(1, sizeof *l, "batch loader");
    if (!l)
        return FV_ERR_NOMEM;
    l->cfg = *cfg;
    l->nbatches = (cfg->n + cfg->batch - 1) / cfg->batch;
    l->augmenting = cfg->augment && fv_augment_active(cfg->augment);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    int ok = 1;
    for (int i = 0; i < SLOTS; i++) {
        l->s[i].x = fv_malloc(sizeof(float) * (size_t)(cfg->batch * cfg->x_size), "batch images");
        l->s[i].t = fv_malloc(sizeof(float) * (size_t)(cfg->batch * cfg->t_size), "batch targets");
        ok &= l->s[i].x && l->s[i].t;
    }
    if (!ok) {
        free_loader(l);
        return FV_ERR_NOMEM;
    }
    if (pthread_create(&l->tid, NULL, producer, l) != 0) {
        free_loader(l);
        return fv_err(FV_ERR_NOMEM, "batch loader: cannot start its thread");
    }
    *out = l;
    return FV_OK;
}

fv_status fv_loader_next(fv_loader *l, float *x, float *t, int *cnt)
{
    if (l->next >= l->nbatches)
        return fv_err(FV_ERR_STATE, "batch loader: all %lld batches taken",
                      (long long)l->nbatches);
    slot *q = &l->s[l->next % SLOTS];
    pthread_mutex_lock(&l->mu);
    while (!q->full)
        pthread_cond_wait(&l->cv, &l->mu);
    pthread_mutex_unlock(&l->mu);
    if (q->st != FV_OK)
        return fv_err(q->st, "%s", q->err);
    memcpy(x, q->x, sizeof(float) * (size_t)(q->cnt * l->cfg.x_size));
    if (t && l->cfg.y)
        memcpy(t, q->t, sizeof(float) * (size_t)(q->cnt * l->cfg.t_size));
    *cnt = q->cnt;
    l->next++;
    pthread_mutex_lock(&l->mu);
    q->full = 0;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    return FV_OK;
}

void fv_loader_stop(fv_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->tid, NULL);
    free_loader(l);
}
