/* test_diverge.c - divergence stops training (issue 16): Adam at a huge learning rate stops with
 * "training diverged at epoch E, batch B", fit returns FV_ERR_NUMERIC, and the checkpoint of the
 * last good epoch stays byte for byte (and loadable); weights that are not finite are never
 * checkpointed; and a learning rate given to a resumed fit wins over the checkpoint's. */
#include "core/internal.h"
#include "nn/checkpoint.h"
#include "test.h"
#include "testfs.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static fv_model *build(float lr)
{
    fv_model *m = fv_model_new("dv");
    int x = fv_input(m, .ndim = 1, .dims = {6});
    x = fv_dense(m, x, .units = 8, .activation = FV_ACT_RELU);
    fv_dense(m, x, .units = 3);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = lr),
                         .seed = 3) != FV_OK)
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

static fv_dataset *data(int n)
{
    fv_dataset *d = calloc(1, sizeof *d);
    int64_t xd[2] = {n, 6}, yd[1] = {n};
    d->x = fv_tensor_new(2, xd);
    d->y = fv_tensor_new(1, yd);
    fv_rng r;
    fv_rng_seed(&r, 11);
    for (int64_t i = 0; i < 6 * n; i++)
        d->x->data[i] = (float)fv_rng_normal(&r);
    for (int i = 0; i < n; i++)
        d->y->data[i] = (float)(i % 3);
    d->num_classes = 3;
    return d;
}

static int all_finite(const fv_model *m)
{
    for (int64_t i = 0; i < m->param_total; i++)
        if (!isfinite(m->data_slab[i]))
            return 0;
    return 1;
}

/* From scratch at lr 1e6: stops in epoch 1, writes no checkpoint, keeps finite weights. */
TEST(diverges_from_scratch)
{
    fv_dataset *d = data(256);
    fv_model *m = build(1e6f);
    mkdir(t_path("a"), 0700);
    fv_epoch_metrics h[3];
    int ran = -1;
    CHECK(fv_model_fit(m, d, .epochs = 3, .batch_size = 8, .seed = 1, .history = h,
                       .epochs_run = &ran, .checkpoint_dir = t_path("a")) == FV_ERR_NUMERIC);
    CHECK_ERR_HAS("training diverged at epoch 1, batch ");
    CHECK(strstr(fv_last_error(), "loss ") != NULL);
    struct stat sb;
    CHECK(stat(t_path("a/last.safetensors"), &sb) != 0);
    CHECK(all_finite(m)); /* the diverging batch's update is not applied */
    fv_model_free(m);
    fv_dataset_free(d);
}

/* A good epoch at a normal rate, then a resume at lr 1e6 diverges in epoch 2: the checkpoints
 * of epoch 1 are untouched and load; the explicit rate did win over the checkpoint's. */
TEST(resume_at_huge_lr_keeps_last_good_checkpoint)
{
    fv_dataset *d = data(256);
    mkdir(t_path("b"), 0700);
    fv_model *m = build(0.01f);
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 1, .batch_size = 8, .seed = 1,
                              .checkpoint_dir = t_path("b")),
                 FV_OK);
    fv_model_free(m);
    long n_last = 0, n_best = 0, n_after = 0;
    unsigned char *last = t_slurp(t_path("b/last.safetensors"), &n_last);
    unsigned char *best = t_slurp(t_path("b/best.safetensors"), &n_best);
    CHECK(last && best);
    m = build(0.01f);
    fv_epoch_metrics h[3];
    CHECK(fv_model_fit(m, d, .epochs = 3, .batch_size = 8, .seed = 1, .history = h,
                       .checkpoint_dir = t_path("b"), .resume = 1, .lr = 1e6f) == FV_ERR_NUMERIC);
    CHECK_ERR_HAS("training diverged at epoch 2, batch ");
    fv_model_free(m);
    unsigned char *after = t_slurp(t_path("b/last.safetensors"), &n_after);
    CHECK(after && n_after == n_last && memcmp(after, last, (size_t)n_last) == 0);
    free(after);
    after = t_slurp(t_path("b/best.safetensors"), &n_after);
    CHECK(after && n_after == n_best && memcmp(after, best, (size_t)n_best) == 0);
    /* the good checkpoint still loads, as weights and to resume from */
    m = build(0.01f);
    CHECK_STATUS(fv_model_load_weights(m, t_path("b/last.safetensors")), FV_OK);
    CHECK(all_finite(m));
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 2, .batch_size = 8, .seed = 1, .history = h,
                              .checkpoint_dir = t_path("b"), .resume = 1),
                 FV_OK);
    CHECK(h[1].epoch == 2 && fabs(h[1].lr - 0.01) < 1e-9);
    fv_model_free(m);
    free(after), free(last), free(best);
    fv_dataset_free(d);
}

/* --resume --lr X: X is used, not the checkpoint's base rate; without it, the checkpoint's. */
TEST(resume_lr_wins)
{
    fv_dataset *d = data(64);
    mkdir(t_path("c"), 0700);
    fv_model *m = build(0.01f);
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 1, .batch_size = 16, .checkpoint_dir = t_path("c")),
                 FV_OK);
    fv_model_free(m);
    m = build(0.001f); /* as a CLI run without --lr would compile it (Adam's default) */
    fv_epoch_metrics h[2];
    char log[512] = "";
    FILE *lf = fmemopen(log, sizeof log - 1, "w");
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 2, .batch_size = 16, .history = h, .lr = 0.05f,
                              .checkpoint_dir = t_path("c"), .resume = 1, .verbose = 1, .log = lf),
                 FV_OK);
    fclose(lf);
    CHECK(fabs(h[1].lr - 0.05) < 1e-7);
    CHECK(strstr(log, "Resuming with learning rate 0.05 (the checkpoint's was 0.01)") != NULL);
    fv_model_free(m);
    /* no explicit rate: the checkpoint's base rate, not the compiled default */
    remove(t_path("c/last.safetensors"));
    m = build(0.01f);
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 1, .batch_size = 16, .checkpoint_dir = t_path("c")),
                 FV_OK);
    fv_model_free(m);
    m = build(0.001f);
    CHECK_STATUS(fv_model_fit(m, d, .epochs = 2, .batch_size = 16, .history = h,
                              .checkpoint_dir = t_path("c"), .resume = 1),
                 FV_OK);
    CHECK(fabs(h[1].lr - 0.01) < 1e-9);
    /* a bad rate is refused */
    CHECK(fv_model_fit(m, d, .epochs = 1, .lr = -1.0f) == FV_ERR_INVALID);
    CHECK_ERR_HAS("lr=-1 must be finite");
    fv_model_free(m);
    fv_dataset_free(d);
}

/* Weights that are not finite are never written as a checkpoint: a NaN in a layer that does not
 * reach the loss leaves the loss finite, and the end-of-epoch check stops the run. */
TEST(nonfinite_weights_not_checkpointed)
{
    fv_dataset *d = data(32);
    fv_model *m = fv_model_new("nf");
    int x = fv_input(m, .ndim = 1, .dims = {6});
    int out = fv_dense(m, x, .units = 3, .name = "out");
    fv_dense(m, x, .units = 2, .name = "dangling");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(.lr = 0.1f),
                                  .output = out, .seed = 1),
                 FV_OK);
    const fv_param *p = &m->params[m->nparams - 1];
    CHECK(strncmp(p->name, "dangling.", 9) == 0);
    m->data_slab[p->offset] = NAN;
    mkdir(t_path("d"), 0700);
    CHECK(fv_model_fit(m, d, .epochs = 2, .batch_size = 8, .checkpoint_dir = t_path("d")) ==
          FV_ERR_NUMERIC);
    CHECK_ERR_HAS("training diverged at epoch 1, batch 4: the weights are no longer finite");
    struct stat sb;
    CHECK(stat(t_path("d/last.safetensors"), &sb) != 0);
    /* and the checkpoint writer itself refuses them */
    fv_train_state t = {.epoch = 0};
    CHECK(fv_checkpoint_write(m, t_path("d/x.safetensors"), &t) == FV_ERR_NUMERIC);
    CHECK_ERR_HAS("not written: the weights are not finite");
    CHECK(stat(t_path("d/x.safetensors"), &sb) != 0);
    fv_model_free(m);
    fv_dataset_free(d);
}

/* Healthy runs never trip the rule: a loss that starts high and falls, and one that rises a
 * little (a too-high but not diverging rate), train to the end. */
TEST(healthy_runs_pass)
{
    fv_dataset *d = data(256);
    for (int i = 0; i < 3; i++) {
        float lr = i == 0 ? 0.001f : i == 1 ? 0.01f : 0.1f;
        fv_model *m = build(lr);
        CHECK_STATUS(fv_model_fit(m, d, .epochs = 3, .batch_size = 8, .seed = 2), FV_OK);
        fv_model_free(m);
    }
    fv_dataset_free(d);
}

T_MAIN_SCRATCH("/tmp/fovea_diverge_XXXXXX", T_TEST(diverges_from_scratch),
               T_TEST(resume_at_huge_lr_keeps_last_good_checkpoint), T_TEST(resume_lr_wins),
               T_TEST(nonfinite_weights_not_checkpointed), T_TEST(healthy_runs_pass))
