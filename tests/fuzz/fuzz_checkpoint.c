/* fuzz_checkpoint.c - libFuzzer target for the training-checkpoint reader (what `fovea train
 * --resume` reads): any bytes, resumed into a fixed small model, give success or a one-line error
 * naming the file, and a refused file leaves the model's parameters and optimizer state as they
 * were; never a crash, a leak or undefined behaviour. The reader takes a path, so each input is
 * written to a private temporary file first. Seeds: corpus/fuzz_checkpoint (make_corpus.c). */
#include "fuzz.h"
#include "fuzz_checkpoint_model.h"

static fv_model *model;
static float *best, *slab0, *opt0;
static fv_epoch_metrics hist[FUZZ_CKPT_EPOCHS];

static void release(void)
{
    fv_model_free(model);
    free(best), free(slab0), free(opt0);
}

static void setup(void)
{
    model = fuzz_checkpoint_model();
    if (!model || atexit(release) != 0)
        abort();
    size_t np = (size_t)model->param_total, no = 3 * (size_t)model->trainable_total;
    best = calloc(np, sizeof *best), slab0 = malloc(np * sizeof *slab0);
    opt0 = malloc((no + 1) * sizeof *opt0);
    if (!best || !slab0 || !opt0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!model)
        setup();
    const char *path = fuzz_tmp_file("last.safetensors");
    fuzz_write(path, data, size);
    size_t np = (size_t)model->param_total, no = 3 * (size_t)model->trainable_total;
    memcpy(slab0, model->data_slab, np * sizeof *slab0);
    memcpy(opt0, model->opt_state, no * sizeof *opt0);
    int64_t steps0 = model->opt_steps;
    fv_train_state t = {.history = hist, .best_weights = best};
    fv_clear_error();
    if (fv_checkpoint_read(model, path, &t, FUZZ_CKPT_EPOCHS) == FV_OK) {
        if (t.epoch < 0 || t.epoch > FUZZ_CKPT_EPOCHS)
            abort();
        return 0;
    }
    fuzz_expect_error(path);
    if (memcmp(slab0, model->data_slab, np * sizeof *slab0) != 0 ||
        memcmp(opt0, model->opt_state, no * sizeof *opt0) != 0 || steps0 != model->opt_steps) {
        fprintf(stderr, "fuzz_checkpoint: a refused checkpoint changed the model\n");
        abort();
    }
    return 0;
}
