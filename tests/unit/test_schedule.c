/* test_schedule.c - learning-rate schedules against PyTorch's lr_scheduler
 * (tests/golden/gen_schedule.py), the cosine warm-up by its definition, ReduceLROnPlateau's state
 * machine, validation errors, and fit applying a schedule (history and CSV). */
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

int main(void)
{
    RUN(schedules_match_pytorch);
    RUN(plateau_matches_pytorch);
    RUN(cosine_warmup_and_errors);
    RUN(fit_uses_the_schedule);
    TEST_MAIN_END();
}
