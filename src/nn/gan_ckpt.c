/* gan_ckpt.c - seeded, bit-identical resume of a GAN run: G and D each in a training checkpoint
 * (nn/checkpoint.c: parameters by name, the optimizer's slots and step count, the model's RNG),
 * both carrying the caller's RNG (batch order and noise), the epochs done and each epoch's
 * numbers. The epoch rows go through checkpoint.c's history as loss = D's loss, val_loss = G's
 * loss, accuracy = D(x), val_accuracy = D(G(z)), seconds (doubles, kept exactly). */
#include "core/internal.h"
#include "nn/checkpoint.h"
#include "optim/optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The optimizer's state exists from the first step (fv_model_step); a checkpoint needs it. */
static fv_status ensure_optim(fv_model *m)
{
    if (!m->compiled)
        return fv_err(FV_ERR_STATE, "GAN checkpoint: model '%s' is not compiled", m->name);
    return !m->opt_state && m->trainable_total > 0 ? fv_optim_init(m) : FV_OK;
}

/* The checks both directions share, G's and D's optimizer state made, and the two file names
 * (pg, pd: 1100 bytes each). */
static fv_status prepare(fv_model *g, fv_model *d, const char *dir, const fv_rng *rng,
                         int epochs, const fv_gan_epoch *history, char *pg, char *pd)
{
    if (!dir || strlen(dir) + 24 > 1100)
        return fv_err(FV_ERR_INVALID, "GAN checkpoint: no folder or a folder name too long");
    if (!g || !d || !rng || epochs < 0 || (epochs > 0 && !history))
        return fv_err(FV_ERR_INVALID, "GAN checkpoint: %d epochs (need G, D, the RNG and the "
                      "history)", epochs);
    FV_TRY(ensure_optim(g));
    FV_TRY(ensure_optim(d));
    snprintf(pg, 1100, "%s/G.ckpt.safetensors", dir);
    snprintf(pd, 1100, "%s/D.ckpt.safetensors", dir);
    return FV_OK;
}

fv_status fv_gan_checkpoint_save(fv_model *g, fv_model *d, const char *dir, int epochs,
                                 const fv_rng *rng, const fv_gan_epoch *history)
{
    char pg[1100], pd[1100];
    FV_TRY(prepare(g, d, dir, rng, epochs, history, pg, pd));
    fv_epoch_metrics *h = calloc((size_t)epochs + 1, sizeof *h);
    if (!h)
        return fv_err(FV_ERR_NOMEM, "GAN checkpoint: out of memory");
    for (int e = 0; e < epochs; e++)
        h[e] = (fv_epoch_metrics){.epoch = e + 1, .loss = history[e].loss_d,
                                  .val_loss = history[e].loss_g, .accuracy = history[e].d_real,
                                  .val_accuracy = history[e].d_fake,
                                  .seconds = history[e].seconds};
    fv_train_state t = {.epoch = epochs, .fit_rng = *rng, .history = h};
    fv_status s = fv_checkpoint_write(d, pd, &t); /* D first: G's file marks a whole epoch */
    if (s == FV_OK)
        s = fv_checkpoint_write(g, pg, &t);
    free(h);
    return s;
}

fv_status fv_gan_checkpoint_load(fv_model *g, fv_model *d, const char *dir, int max_epochs,
                                 int *epochs, fv_rng *rng, fv_gan_epoch *history)
{
    char pg[1100], pd[1100];
    if (!epochs)
        return fv_err(FV_ERR_INVALID, "GAN checkpoint: nowhere to put the epochs done");
    FV_TRY(prepare(g, d, dir, rng, max_epochs, history, pg, pd));
    fv_epoch_metrics *h = calloc((size_t)max_epochs + 1, sizeof *h);
    if (!h)
        return fv_err(FV_ERR_NOMEM, "GAN checkpoint: out of memory");
    fv_train_state tg = {.history = h}, td = {.history = h};
    fv_status s = fv_checkpoint_read(g, pg, &tg, max_epochs);
    if (s == FV_OK)
        s = fv_checkpoint_read(d, pd, &td, max_epochs);
    if (s == FV_OK && tg.epoch != td.epoch)
        s = fv_err(FV_ERR_FORMAT, "%s: G's checkpoint is after epoch %d, D's after %d (the run "
                   "stopped between the two writes)", dir, tg.epoch, td.epoch);
    if (s == FV_OK) {
        for (int e = 0; e < tg.epoch; e++)
            history[e] = (fv_gan_epoch){h[e].loss, h[e].val_loss, h[e].accuracy,
                                        h[e].val_accuracy, h[e].seconds};
        *epochs = tg.epoch, *rng = tg.fit_rng;
    }
    free(h);
    return s;
}
