/* test_checkpoint.c - checkpoints and resume: a run interrupted mid-epoch and resumed from its
 * last checkpoint ends with bit-identical weights and the same metrics as an uninterrupted run
 * (dropout, batch norm, Adam, a schedule and shuffling all in play, two threads); the best
 * checkpoint loads as weights; damaged or foreign checkpoints are one-line errors. */
#include "core/internal.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>
#include <unistd.h>

static fv_model *build(fv_optimizer opt)
{
    fv_model *m = fv_model_new("ck");
    int x = fv_input(m, .ndim = 3, .dims = {1, 6, 6});
    x = fv_conv2d(m, x, .filters = 3, .kernel = 3, .activation = FV_ACT_RELU);
    x = fv_batchnorm(m, x);
    x = fv_dropout(m, fv_flatten(m, x), .rate = 0.3f);
    fv_dense(m, x, .units = 3);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = opt, .seed = 7) != FV_OK)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

static fv_dataset *data(int n, uint64_t seed)
{
    fv_dataset *d = calloc(1, sizeof *d);
    d->x = fv_tensor_new4(n, 1, 6, 6);
    int64_t yd[1] = {n};
    d->y = fv_tensor_new(1, yd);
    fv_rng r;
    fv_rng_seed(&r, seed);
    for (int64_t i = 0; i < fv_tensor_numel(d->x); i++)
        d->x->data[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < n; i++)
        d->y->data[i] = (float)(i % 3);
    d->num_classes = 3;
    return d;
}

static fv_status fit(fv_model *m, const fv_dataset *tr, const fv_dataset *va, const char *sub,
                     int interrupt, int resume, fv_epoch_metrics *h)
{
    char d[128];
    snprintf(d, sizeof d, "%s/%s", t_dir, sub);
    mkdir(d, 0700);
    return fv_model_fit(m, tr, .epochs = 3, .batch_size = 16, .validation = va, .seed = 5,
                        .history = h, .checkpoint_dir = d, .interrupt_after = interrupt,
                        .resume = resume,
                        .schedule = fv_schedule(.kind = FV_SCHED_STEP, .step_size = 1));
}

TEST(resume_is_bit_identical)
{
    fv_set_num_threads(2);
    fv_dataset *tr = data(64, 1), *va = data(16, 2);
    fv_epoch_metrics ha[3], hb[3];
    fv_model *a = build(fv_adam(.lr = 0.01f)), *b = build(fv_adam(.lr = 0.01f));
    CHECK_STATUS(fit(a, tr, va, "a", 0, 0, ha), FV_OK);
    /* interrupted in the middle of epoch 2 (4 batches an epoch) */
    CHECK(fit(b, tr, va, "b", 6, 0, hb) == FV_ERR_STATE);
    CHECK_ERR_HAS("interrupted at epoch 2, batch 3");
    fv_model_free(b);
    b = build(fv_adam(.lr = 0.01f)); /* a new process would start from scratch like this */
    CHECK_STATUS(fit(b, tr, va, "b", 0, 1, hb), FV_OK);
    CHECK(memcmp(a->data_slab, b->data_slab, sizeof(float) * (size_t)a->param_total) == 0);
    CHECK(memcmp(a->opt_state, b->opt_state, sizeof(float) * 3 * (size_t)a->trainable_total) == 0);
    for (int e = 0; e < 3; e++)
        CHECK(ha[e].loss == hb[e].loss && ha[e].val_loss == hb[e].val_loss &&
              ha[e].accuracy == hb[e].accuracy && ha[e].lr == hb[e].lr && hb[e].epoch == e + 1);
    /* the best checkpoint is a weights file too */
    char p[160];
    snprintf(p, sizeof p, "%s/a/best.safetensors", t_dir);
    CHECK_STATUS(fv_model_load_weights(b, p), FV_OK);
    fv_model_free(a), fv_model_free(b);
    fv_dataset_free(tr), fv_dataset_free(va);
    fv_set_num_threads(0);
}

TEST(bad_checkpoints)
{
    fv_dataset *tr = data(32, 3);
    char p[160], q[160];
    snprintf(p, sizeof p, "%s/a/last.safetensors", t_dir);
    /* another optimizer */
    fv_model *m = build(fv_sgd(.lr = 0.1f, .momentum = 0.9f));
    CHECK(fit(m, tr, NULL, "a", 0, 1, NULL) == FV_ERR_FORMAT);
    CHECK_ERR_HAS("written with another optimizer or model");
    fv_model_free(m);
    /* a truncated file */
    snprintf(q, sizeof q, "%s/c", t_dir);
    mkdir(q, 0700);
    snprintf(q, sizeof q, "%s/c/last.safetensors", t_dir);
    FILE *in = fopen(p, "rb"), *out = fopen(q, "wb");
    for (int i = 0; i < 300 && in && out; i++)
        fputc(fgetc(in), out);
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    m = build(fv_adam(.lr = 0.01f));
    CHECK(fit(m, tr, NULL, "c", 0, 1, NULL) != FV_OK);
    CHECK_ERR_HAS("last.safetensors");
    CHECK(strchr(fv_last_error(), '\n') == NULL);
    /* plain weights are not a checkpoint */
    CHECK_STATUS(fv_model_save_weights(m, q), FV_OK);
    CHECK(fit(m, tr, NULL, "c", 0, 1, NULL) == FV_ERR_FORMAT);
    CHECK_ERR_HAS("not a fovea checkpoint");
    fv_model_free(m);
    fv_dataset_free(tr);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(resume_is_bit_identical), T_TEST(bad_checkpoints)
    };
    return t_main_scratch("/tmp/fovea_ckpt_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
