/* test_schedule.c - learning-rate schedules against PyTorch's lr_scheduler
 * (tests/golden/gen_schedule.py), the cosine warm-up by its definition, ReduceLROnPlateau's state
 * machine, validation errors, fit applying a schedule (history and CSV), and a schedule of one's
 * own through fv_model_set_lr (the optimizer's state kept). */
#include "core/internal.h"
#include "io/io.h"
#include "optim/optim.h"
#include "test.h"

static void golden(const char *name, fv_schedule s)
{
    char rel[128];
    snprintf(rel, sizeof rel, "data/golden/%s.safetensors", name);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    fv_tensor *lr = f ? fv_st_get(f, "lr") : NULL;
    CHECK(lr != NULL);
    CHECK_STATUS(fv_schedule_check(&s), FV_OK);
    for (int64_t t = 0; lr && t < lr->dims[0]; t++) {
        double got = fv_schedule_lr(&s, 0.1, t), want = lr->data[t];
        if (fabs(got - want) > 1e-7 + 1e-5 * fabs(want)) {
            fprintf(stderr, "  %s t=%lld: %.9g vs PyTorch %.9g\n", name, (long long)t, got, want);
            t_cur_failed = 1;
        }
    }
    fv_tensor_free(lr);
    fv_st_close(f);
}

TEST(schedules_match_pytorch)
{
    golden("sched_step", fv_schedule(.kind = FV_SCHED_STEP, .step_size = 3, .gamma = 0.5f));
    golden("sched_multistep",
           fv_schedule(.kind = FV_SCHED_MULTISTEP, .milestones = {2, 5, 7}, .gamma = 0.3f));
    golden("sched_exponential", fv_schedule(.kind = FV_SCHED_EXPONENTIAL, .gamma = 0.8f));
    golden("sched_polynomial", fv_schedule(.kind = FV_SCHED_POLYNOMIAL, .total = 6, .power = 2));
    golden("sched_cosine", fv_schedule(.kind = FV_SCHED_COSINE, .total = 8, .min_lr = 1e-4f));
    golden("sched_one_cycle", fv_schedule(.kind = FV_SCHED_ONE_CYCLE, .total = 12, .max_lr = 0.5f));
}

TEST(plateau_matches_pytorch)
{
    fv_st_file *f = fv_st_open(t_src_path("data/golden/sched_plateau.safetensors"));
    fv_tensor *lr = f ? fv_st_get(f, "lr") : NULL, *metric = f ? fv_st_get(f, "metric") : NULL;
    CHECK(lr && metric);
    fv_schedule s = fv_schedule(.kind = FV_SCHED_PLATEAU, .factor = 0.5f, .patience = 2,
                                .cooldown = 1, .min_lr = 0.02f);
    CHECK_STATUS(fv_schedule_check(&s), FV_OK);
    fv_plateau p;
    fv_plateau_init(&p, 0.1);
    for (int64_t t = 0; lr && metric && t < lr->dims[0]; t++) {
        /* the golden metric went through float32: feed the same values */
        double got = fv_plateau_step(&p, &s, metric->data[t]);
        CHECK_NEAR(got, lr->data[t], 1e-9, 1e-6);
    }
    fv_tensor_free(lr), fv_tensor_free(metric);
    fv_st_close(f);
}

TEST(cosine_warmup_and_errors)
{
    fv_schedule s = fv_schedule(.kind = FV_SCHED_COSINE, .warmup = 3, .total = 7);
    CHECK_STATUS(fv_schedule_check(&s), FV_OK);
    const double want[8] = {0.25, 0.5, 0.75, 1.0, 0.8535533905932737, 0.5, 0.1464466094067262, 0};
    for (int t = 0; t < 8; t++)
        CHECK_NEAR(fv_schedule_lr(&s, 1.0, t), want[t], 1e-12, 0);
    fv_schedule bad = fv_schedule(.kind = FV_SCHED_COSINE, .total = 3, .warmup = 3);
    CHECK(fv_schedule_check(&bad) == FV_ERR_INVALID);
    CHECK_ERR_HAS("total=3 must exceed warmup=3");
    bad = fv_schedule(.kind = FV_SCHED_MULTISTEP, .milestones = {5, 3});
    CHECK(fv_schedule_check(&bad) == FV_ERR_INVALID);
    CHECK_ERR_HAS("milestones must increase");
    bad = fv_schedule(.kind = FV_SCHED_STEP, .gamma = -1);
    CHECK(fv_schedule_check(&bad) == FV_ERR_INVALID);
    bad.kind = (fv_sched_kind)99;
    CHECK(fv_schedule_check(&bad) == FV_ERR_INVALID);
    CHECK_ERR_HAS("unknown kind 99");
}

/* fit applies the schedule per epoch, records it, and restores the base rate afterwards. */
TEST(fit_uses_the_schedule)
{
    fv_model *m = fv_model_new("s");
    fv_input(m, .ndim = 1, .dims = {3});
    fv_dense(m, FV_LAST, .units = 2);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(.lr = 0.4f)),
                 FV_OK);
    fv_dataset d = {.x = fv_tensor_new4(8, 3, 1, 1), .y = fv_tensor_new4(8, 1, 1, 1),
                    .num_classes = 2, .name = "tiny"};
    for (int i = 0; i < 8; i++)
        d.y->data[i] = (float)(i % 2), d.x->data[3 * i] = (float)(i % 2);
    fv_epoch_metrics h[4];
    CHECK_STATUS(fv_model_fit(m, &d, .epochs = 4, .batch_size = 4, .history = h,
                              .schedule = fv_schedule(.kind = FV_SCHED_STEP, .step_size = 2,
                                                      .gamma = 0.5f)),
                 FV_OK);
    CHECK_NEAR(h[0].lr, 0.4, 1e-7, 0);
    CHECK_NEAR(h[1].lr, 0.4, 1e-7, 0);
    CHECK_NEAR(h[2].lr, 0.2, 1e-7, 0);
    CHECK_NEAR(h[3].lr, 0.2, 1e-7, 0);
    CHECK_NEAR(m->opt.lr, 0.4, 1e-7, 0);
    CHECK(fv_model_fit(m, &d, .epochs = 1, .schedule = fv_schedule(.kind = FV_SCHED_POLYNOMIAL)) ==
          FV_ERR_INVALID);
    CHECK_ERR_HAS("total=0 must exceed");
    fv_tensor_free(d.x), fv_tensor_free(d.y);
    fv_model_free(m);
}

/* Three steps of SGD with momentum on one fixed batch of a dense layer, rate lr[t] set before
 * step t with fv_model_set_lr (reset: with fv_model_set_optimizer instead, which starts the
 * momentum over); the weight after `steps` steps into w (6 values). */
static void sgd_steps(const float *lr, int steps, int reset, float *w)
{
    fv_model *m = fv_model_new("s");
    fv_input(m, .ndim = 1, .dims = {3});
    fv_dense(m, FV_LAST, .units = 2, .no_bias = 1);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .seed = 3,
                                  .optimizer = fv_sgd(.lr = lr[0], .momentum = 0.9f)),
                 FV_OK);
    const float x[12] = {1, 0.5f, -1, 0, 2, 1, -1, 1, 0.25f, 0.5f, -0.5f, 1}, y[4] = {0, 1, 1, 0};
    for (int t = 0; t < steps; t++) {
        if (reset && t > 0)
            CHECK_STATUS(fv_model_set_optimizer(m, fv_sgd(.lr = lr[t], .momentum = 0.9f)), FV_OK);
        else
            CHECK_STATUS(fv_model_set_lr(m, lr[t]), FV_OK);
        CHECK_NEAR(fv_model_lr(m), lr[t], 0, 0);
        CHECK_STATUS(fv_model_train_batch(m, x, y, 4, NULL, NULL), FV_OK);
    }
    fv_param_info p;
    CHECK_STATUS(fv_model_param(m, 0, &p), FV_OK);
    memcpy(w, p.data, sizeof(float) * 6);
    fv_model_free(m);
}

TEST(set_lr_keeps_the_optimizer_state)
{
    const float same[3] = {0.1f, 0.1f, 0.1f}, half[3] = {0.1f, 0.1f, 0.05f},
                zero[3] = {0.1f, 0.1f, 0};
    float w2[6], w3[6], w3_half[6], w3_reset[6], w3_zero[6];
    sgd_steps(same, 2, 0, w2);
    sgd_steps(same, 3, 0, w3);
    sgd_steps(half, 3, 0, w3_half);
    sgd_steps(half, 3, 1, w3_reset);
    sgd_steps(zero, 3, 0, w3_zero);
    double differs = 0;
    for (int i = 0; i < 6; i++) {
        /* the third step (lr times the momentum buffer) at half the rate is half the step: the
         * buffer is the same, so it was kept; started over, it is the gradient alone */
        CHECK_NEAR(w2[i] - w3_half[i], 0.5 * (w2[i] - w3[i]), 1e-6, 1e-4);
        differs = fmax(differs, fabs((double)w3_reset[i] - w3_half[i]));
        CHECK(w3_zero[i] == w2[i]); /* rate 0: no change */
    }
    CHECK(differs > 1e-3);
    fv_model *m = fv_model_new("s");
    fv_input(m, .ndim = 1, .dims = {3});
    fv_dense(m, FV_LAST, .units = 2);
    CHECK(fv_model_set_lr(m, 0.1f) == FV_ERR_STATE);
    CHECK_ERR_HAS("compile it before setting a learning rate");
    CHECK(fv_model_lr(m) == 0);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam()), FV_OK);
    CHECK_NEAR(fv_model_lr(m), 0.001, 1e-9, 0); /* Adam's default filled in */
    CHECK(fv_model_set_lr(m, -1) == FV_ERR_INVALID);
    CHECK_ERR_HAS("learning rate -1 is not a finite number >= 0");
    CHECK(fv_model_set_lr(m, NAN) == FV_ERR_INVALID);
    CHECK(fv_model_set_lr(m, INFINITY) == FV_ERR_INVALID);
    CHECK_NEAR(fv_model_lr(m), 0.001, 1e-9, 0);
    fv_model_free(m);
}

int main(void)
{
    RUN(schedules_match_pytorch);
    RUN(plateau_matches_pytorch);
    RUN(cosine_warmup_and_errors);
    RUN(fit_uses_the_schedule);
    RUN(set_lr_keeps_the_optimizer_state);
    TEST_MAIN_END();
}
