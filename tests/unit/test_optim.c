/* test_optim.c - the optimizers: SGD (plain, momentum, Nesterov, weight decay) and Adam (default,
 * weight decay) against PyTorch 1.13 trajectories (tests/golden/gen_loss_optim.py), defaults,
 * validation of every setting, state reset, and no allocation inside a step. */
#include "core/internal.h"
#include "io/io.h"
#include "optim/optim.h"
#include "optest.h"
#include "test.h"

/* A stand-in model: just the slabs and sizes the optimizer reads. `extra` non-trainable floats
 * follow the trainable prefix (they must never change). */
static fv_model *fake_model(int64_t trainable, int64_t extra, fv_optimizer opt)
{
    fv_model *m = fv_calloc(1, sizeof *m, "fake model");
    if (!m)
        return NULL;
    m->trainable_total = trainable;
    m->param_total = trainable + extra;
    m->data_slab = fv_calloc((size_t)(trainable + extra) + 1, sizeof(float), "fake params");
    m->grad_slab = fv_calloc((size_t)trainable + 1, sizeof(float), "fake grads");
    m->opt = opt;
    if (!m->data_slab || !m->grad_slab) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* ---------------------------------------------------------------- PyTorch trajectories */

/* Same settings as OPTIM_CASES in gen_loss_optim.py. Fields left 0 take the library defaults:
 * Adam's equal PyTorch's; PyTorch's SGD has no default lr, so its golden passes ours (0.01). */
static const struct {
    const char *name;
    fv_optimizer opt;
} cases[] = {
    {"optim_sgd", fv_sgd()},
    {"optim_sgd_momentum", fv_sgd(.lr = 0.1f, .momentum = 0.9f)},
    {"optim_sgd_nesterov", fv_sgd(.lr = 0.05f, .momentum = 0.9f, .nesterov = 1)},
    {"optim_sgd_wd", fv_sgd(.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-2f)},
    {"optim_adam", fv_adam()},
    {"optim_adam_wd",
     fv_adam(.lr = 0.01f, .beta1 = 0.85f, .beta2 = 0.995f, .eps = 1e-6f, .weight_decay = 1e-2f)},
    {"optim_adamw", fv_adamw(.lr = 0.01f, .weight_decay = 0.1f)},
    {"optim_adamax", fv_adamax(.lr = 0.01f, .weight_decay = 1e-2f)},
    {"optim_nadam", fv_nadam(.lr = 0.01f, .weight_decay = 1e-2f)},
    {"optim_adagrad", fv_adagrad(.lr = 0.1f, .lr_decay = 0.01f, .weight_decay = 1e-2f)},
    {"optim_rmsprop", fv_rmsprop(.lr = 0.01f)},
    {"optim_rmsprop_centered",
     fv_rmsprop(.lr = 0.01f, .rho = 0.9f, .momentum = 0.8f, .centered = 1, .weight_decay = 1e-2f)},
    {"optim_adadelta", fv_adadelta(.lr = 1.0f, .rho = 0.95f, .weight_decay = 1e-2f)},
};

static void trajectory(const char *name, fv_optimizer opt)
{
    fv_st_file *f = ot_open_golden(name);
    if (!f)
        return;
    fv_tensor *p0 = fv_st_get(f, "p0"), *g = fv_st_get(f, "g"), *p = fv_st_get(f, "p");
    CHECK(p0 && g && p);
    if (p0 && g && p) {
        int64_t n = fv_tensor_numel(p0), steps = g->dims[0];
        CHECK(g->ndim == 2 && g->dims[1] == n && p->dims[0] == steps);
        fv_model *m = fake_model(n, 3, opt);
        CHECK(m != NULL);
        if (m) {
            memcpy(m->data_slab, p0->data, sizeof(float) * (size_t)n);
            for (int j = 0; j < 3; j++)
                m->data_slab[n + j] = 42.0f + (float)j;
            CHECK_STATUS(fv_optim_init(m), FV_OK);
            for (int64_t s = 0; s < steps; s++) {
                memcpy(m->grad_slab, g->data + s * n, sizeof(float) * (size_t)n);
                fv_optim_step(m);
                if (t_max_violation(m->data_slab, p->data + s * n, (long)n, 1e-6, 1e-5, NULL) > 1)
                    fprintf(stderr, "  %s: step %lld differs\n", name, (long long)(s + 1));
                CHECK_ARRAY_NEAR(m->data_slab, p->data + s * n, n, 1e-6, 1e-5);
            }
            CHECK(m->opt_steps == steps);
            for (int j = 0; j < 3; j++)
                CHECK(m->data_slab[n + j] == 42.0f + (float)j);
            fv_model_free(m);
        }
    }
    fv_tensor_free(p0), fv_tensor_free(g), fv_tensor_free(p);
    fv_st_close(f);
}

TEST(test_pytorch_trajectories)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        trajectory(cases[i].name, cases[i].opt);
}

/* ---------------------------------------------------------------- hand-computed steps */

TEST(test_sgd_by_hand)
{
    fv_model *m = fake_model(2, 0, fv_sgd(.lr = 0.5f, .momentum = 0.5f, .nesterov = 1));
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    m->data_slab[0] = 1, m->data_slab[1] = -2;
    m->grad_slab[0] = 2, m->grad_slab[1] = 0;
    fv_optim_step(m); /* buf = 2; d = 2 + 0.5 * 2 = 3; p = 1 - 1.5 */
    CHECK_NEAR(m->data_slab[0], -0.5, 0, 0);
    CHECK_NEAR(m->data_slab[1], -2, 0, 0);
    CHECK_NEAR(m->opt_state[0], 2, 0, 0);
    fv_optim_step(m); /* buf = 1 + 2 = 3; d = 2 + 1.5 = 3.5; p = -0.5 - 1.75 */
    CHECK_NEAR(m->data_slab[0], -2.25, 0, 0);
    fv_model_free(m);
}

TEST(test_adam_by_hand)
{
    /* the first Adam step moves every parameter with a nonzero gradient by about lr */
    fv_model *m = fake_model(3, 0, fv_adam(.lr = 0.1f));
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    m->grad_slab[0] = 5, m->grad_slab[1] = -0.001f, m->grad_slab[2] = 0;
    fv_optim_step(m);
    CHECK_NEAR(m->data_slab[0], -0.1, 1e-7, 1e-6);
    CHECK_NEAR(m->data_slab[1], 0.1, 1e-7, 1e-4);
    CHECK(m->data_slab[2] == 0.0f);
    CHECK(m->opt_steps == 1);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- defaults, state */

TEST(test_defaults)
{
    fv_model *m = fake_model(4, 0, fv_sgd());
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    CHECK(m->opt.lr == 0.01f && m->opt.momentum == 0 && !m->opt.nesterov);
    m->opt = fv_adam();
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    CHECK(m->opt.kind == FV_OPTIM_ADAM && m->opt.lr == 0.001f);
    CHECK(m->opt.beta1 == 0.9f && m->opt.beta2 == 0.999f && m->opt.eps == 1e-8f);
    CHECK(m->opt.weight_decay == 0);
    /* set values are kept */
    m->opt = fv_adam(.lr = 0.5f, .beta1 = 0.5f, .beta2 = 0.25f, .eps = 1e-3f);
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    CHECK(m->opt.lr == 0.5f && m->opt.beta1 == 0.5f && m->opt.beta2 == 0.25f);
    CHECK(m->opt.eps == 1e-3f);
    fv_model_free(m);
}

TEST(test_reinit_resets_state)
{
    fv_model *m = fake_model(5, 0, fv_adam());
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    for (int i = 0; i < 5; i++)
        m->grad_slab[i] = (float)(i + 1);
    fv_optim_step(m);
    fv_optim_step(m);
    CHECK(m->opt_steps == 2 && m->opt_state[0] != 0 && m->opt_state[5] != 0);
    m->opt = fv_sgd(.momentum = 0.9f);
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    CHECK(m->opt_steps == 0);
    for (int i = 0; i < 10; i++)
        CHECK(m->opt_state[i] == 0.0f);
    fv_model_free(m);
}

TEST(test_nothing_trainable)
{
    fv_model *m = fake_model(0, 2, fv_adam());
    m->data_slab[0] = 3;
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    fv_optim_step(m);
    CHECK(m->data_slab[0] == 3.0f);
    fv_model_free(m);
    /* a step before init changes nothing */
    m = fake_model(2, 0, fv_sgd());
    m->grad_slab[0] = 1;
    fv_optim_step(m);
    CHECK(m->data_slab[0] == 0.0f);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- validation */

/* The optimizer is rejected with FV_ERR_INVALID, naming the optimizer and the setting; a
 * previous state survives the failed init. */
static void rejects(fv_optimizer opt, const char *who, const char *what)
{
    fv_model *m = fake_model(3, 0, fv_sgd());
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    float *keep = m->opt_state;
    m->opt = opt;
    fv_clear_error();
    CHECK_STATUS(fv_optim_init(m), FV_ERR_INVALID);
    CHECK_ERR_HAS(who);
    CHECK_ERR_HAS(what);
    CHECK(m->opt_state == keep);
    fv_model_free(m);
}

TEST(test_invalid_settings)
{
    rejects(fv_sgd(.lr = -0.1f), "SGD", "lr=-0.1");
    rejects(fv_sgd(.lr = NAN), "SGD", "lr=nan");
    rejects(fv_sgd(.lr = INFINITY), "SGD", "lr=inf");
    rejects(fv_sgd(.momentum = 1.0f), "SGD", "momentum=1");
    rejects(fv_sgd(.momentum = -0.5f), "SGD", "momentum=-0.5");
    rejects(fv_sgd(.momentum = NAN), "SGD", "momentum");
    rejects(fv_sgd(.nesterov = 1), "SGD", "nesterov");
    rejects(fv_sgd(.weight_decay = -1e-4f), "SGD", "weight_decay");
    rejects(fv_sgd(.weight_decay = INFINITY), "SGD", "weight_decay=inf");
    rejects(fv_adam(.lr = -1), "Adam", "lr=-1");
    rejects(fv_adam(.beta1 = 1.0f), "Adam", "beta1=1");
    rejects(fv_adam(.beta1 = -0.1f), "Adam", "beta1=-0.1");
    rejects(fv_adam(.beta2 = 1.5f), "Adam", "beta2=1.5");
    rejects(fv_adam(.eps = -1e-8f), "Adam", "eps");
    rejects(fv_adam(.eps = NAN), "Adam", "eps=nan");
    rejects(fv_adam(.weight_decay = -1), "Adam", "weight_decay=-1");
    rejects(fv_adam(.momentum = 0.9f), "Adam", "momentum");
    rejects(fv_adam(.nesterov = 1), "Adam", "nesterov");
    fv_optimizer bad = fv_sgd();
    bad.kind = (fv_optim_kind)42;
    rejects(bad, "optimizer", "kind 42");
}

/* ---------------------------------------------------------------- memory */

static int alloc_calls, fail_allocs;
static void *counting_alloc(size_t size, void *ctx)
{
    (void)ctx;
    alloc_calls++;
    return fail_allocs ? NULL : malloc(size);
}
static void counting_release(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}

TEST(test_memory)
{
    fv_model *m = fake_model(64, 0, fv_adam(.weight_decay = 0.1f));
    CHECK_STATUS(fv_optim_init(m), FV_OK);
    float *keep = m->opt_state;
    fv_allocator a = {counting_alloc, counting_release, NULL};
    fv_set_allocator(&a);
    for (int i = 0; i < 64; i++)
        m->grad_slab[i] = 0.01f * (float)i;
    fv_optim_step(m);
    m->opt = fv_sgd(.momentum = 0.5f, .nesterov = 1, .weight_decay = 0.1f);
    fv_optim_step(m);
    CHECK(alloc_calls == 0);
    /* an allocation failure keeps the previous state and settings */
    fail_allocs = 1;
    m->opt = fv_sgd(.momentum = 0.9f);
    CHECK_STATUS(fv_optim_init(m), FV_ERR_NOMEM);
    CHECK_ERR_HAS("optimizer state");
    CHECK(m->opt_state == keep);
    fail_allocs = 0;
    fv_set_allocator(NULL);
    fv_model_free(m);
}

int main(void)
{
    RUN(test_pytorch_trajectories);
    RUN(test_sgd_by_hand);
    RUN(test_adam_by_hand);
    RUN(test_defaults);
    RUN(test_reinit_resets_state);
    RUN(test_nothing_trainable);
    RUN(test_invalid_settings);
    RUN(test_memory);
    TEST_MAIN_END();
}
