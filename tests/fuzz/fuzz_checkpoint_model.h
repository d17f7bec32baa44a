/* fuzz_checkpoint_model.h - the model (and its sizes) that fuzz_checkpoint resumes into and that
 * make_corpus.c writes the seed checkpoints for: small, with Adam's slots, batch norm's
 * non-trainable statistics and a dense head, so a checkpoint of it stays under 1 kB. */
#ifndef FV_FUZZ_CHECKPOINT_MODEL_H
#define FV_FUZZ_CHECKPOINT_MODEL_H

#include "core/internal.h"
#include "nn/checkpoint.h"

#define FUZZ_CKPT_EPOCHS 4 /* the run's epochs: room in the history, the reader's limit */

static inline fv_model *fuzz_checkpoint_model(void)
{
    fv_model *m = fv_model_new("ck");
    int x = fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    x = fv_conv2d(m, x, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU);
    x = fv_batchnorm(m, x);
    fv_dense(m, fv_flatten(m, x), .units = 2);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 0.01f),
                         .seed = 1) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

#endif /* FV_FUZZ_CHECKPOINT_MODEL_H */
