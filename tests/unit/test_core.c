/* test_core.c - tensors and views, the RNG, error messages and the hookable allocator. */
#include "core/internal.h"
#include "failalloc.h"
#include "graph/graph.h"
#include "test.h"

TEST(tensor_new_view_reshape)
{
    int64_t d[3] = {4, 2, 3};
    fv_tensor *t = fv_tensor_new(3, d);
    CHECK(t && fv_tensor_numel(t) == 24 && t->strides[0] == 6 && t->strides[2] == 1);
    for (int i = 0; i < 24; i++)
        t->data[i] = (float)i;
    fv_tensor *r = fv_tensor_rows(t, 1, 2);
    CHECK(r && r->dims[0] == 2 && r->data[0] == 6.0f && !r->owns);
    int64_t d2[2] = {4, 6};
    fv_tensor *v = fv_tensor_reshape(t, 2, d2);
    CHECK(v && v->data[7] == 7.0f && fv_tensor_is_contiguous(v));
    int64_t bad[2] = {5, 5};
    CHECK(fv_tensor_reshape(t, 2, bad) == NULL);
    CHECK_ERR_HAS("24 elements");
    CHECK(fv_tensor_rows(t, 3, 2) == NULL);
    CHECK_ERR_HAS("out of range");
    fv_tensor *c = fv_tensor_clone(t);
    CHECK(c && c->data[23] == 23.0f && c->data != t->data);
    char buf[64];
    CHECK(strcmp(fv_shape_str(3, d, buf, sizeof buf), "(4, 2, 3)") == 0);
    fv_tensor_free(c), fv_tensor_free(v), fv_tensor_free(r), fv_tensor_free(t);
    int64_t neg[1] = {-1};
    CHECK(fv_tensor_new(1, neg) == NULL);
    CHECK_ERR_HAS("negative");
}

TEST(rng_deterministic_and_uniform)
{
    fv_rng a, b;
    fv_rng_seed(&a, 42);
    fv_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++)
        CHECK(fv_rng_next(&a) == fv_rng_next(&b));
    double sum = 0, sq = 0;
    for (int i = 0; i < 100000; i++) {
        double u = fv_rng_uniform(&a);
        CHECK(u >= 0 && u < 1);
        double g = fv_rng_normal(&b);
        sum += g;
        sq += g * g;
    }
    CHECK_NEAR(sum / 100000, 0.0, 0.02, 0);
    CHECK_NEAR(sq / 100000, 1.0, 0.02, 0);
    int64_t p[50];
    fv_rng_permutation(&a, p, 50);
    int seen[50] = {0};
    for (int i = 0; i < 50; i++)
        seen[p[i]]++;
    for (int i = 0; i < 50; i++)
        CHECK(seen[i] == 1);
}


/* Every allocation failing in turn: building, compiling and planning a model reports
 * "out of memory" and never crashes or leaks (ASan checks the leaks). */
TEST(out_of_memory_is_an_error)
{
    fv_allocator al = {failing_alloc, plain_free, NULL};
    for (int k = 0; k < 40; k++) {
        fail_after = k;
        fv_set_allocator(&al);
        fv_model *m = fv_model_new("oom");
        int ok = m != NULL;
        if (ok)
            ok = fv_input(m, .ndim = 3, .dims = {1, 8, 8}) >= 0;
        if (ok)
            ok = fv_conv2d(m, FV_LAST, .filters = 2, .kernel = 3, .activation = FV_ACT_RELU) >= 0;
        if (ok)
            ok = fv_flatten(m, FV_LAST) >= 0 && fv_dense(m, FV_LAST, .units = 3) >= 0;
        if (ok)
            ok = fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) == FV_OK;
        if (ok)
            ok = fv_graph_plan(m, 4) == FV_OK;
        fv_set_allocator(NULL);
        if (!ok)
            CHECK_ERR_HAS("out of memory");
        fv_model_free(m);
    }
}

TEST(error_messages_are_one_line)
{
    fv_err(FV_ERR_IO, "file 'a\nb': bad");
    CHECK(strchr(fv_last_error(), '\n') == NULL);
    CHECK(strcmp(fv_status_name(FV_ERR_SHAPE), "shape error") == 0);
    fv_clear_error();
    CHECK(fv_last_error()[0] == '\0');
}

int main(void)
{
    RUN(tensor_new_view_reshape);
    RUN(rng_deterministic_and_uniform);
    RUN(out_of_memory_is_an_error);
    RUN(error_messages_are_one_line);
    TEST_MAIN_END();
}
