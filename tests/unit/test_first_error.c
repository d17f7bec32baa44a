/* test_first_error.c - a chain of layer calls reports the error that started it: a call that
 * reads a failed call's result (-1, or FV_LAST after a failure) fails with the first error, not
 * "input node -1 does not exist" and not by attaching to the node before; compile then fails with
 * that error and its status; calls on valid nodes still report their own errors; status codes
 * are passed on, not relabelled (compile's loss out of memory; a weights or checkpoint file that is
 * no safetensors file is a format error, not an I/O error). */
#include "core/internal.h"
#include "nn/checkpoint.h"
#include "failalloc.h"
#include "test.h"

/* conv1's 9x9 kernel does not fit the 4x4 input. */
static int bad_conv(fv_model *m, int in)
{
    return fv_conv2d(m, in, .filters = 2, .kernel = 9, .name = "conv1");
}

TEST(chain_reports_the_first_error)
{
    fv_model *m = fv_model_new("chain");
    int x = fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    int c = bad_conv(m, x);
    CHECK(c < 0 && fv_last_status() == FV_ERR_SHAPE);
    int p = fv_maxpool2d(m, c, .name = "pool1");
    int d = fv_dense(m, fv_flatten(m, p), .units = 3, .name = "dense1");
    CHECK(p < 0 && d < 0);
    CHECK_ERR_HAS("layer 'conv1': kernel 9x9");
    CHECK_ERR_HAS("larger than");
    CHECK(strstr(fv_last_error(), "does not exist") == NULL);
    CHECK(fv_last_status() == FV_ERR_SHAPE);
    CHECK_STATUS(fv_model_compile(m), FV_ERR_SHAPE);
    CHECK_ERR_HAS("layer 'conv1': kernel 9x9");
    fv_model_free(m);
}

/* With FV_LAST, later layers must not quietly attach to the input instead of conv1. */
TEST(fv_last_after_a_failure)
{
    fv_model *m = fv_model_new("seq");
    fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    CHECK(bad_conv(m, FV_LAST) < 0);
    int f = fv_flatten(m, FV_LAST);
    int d = fv_dense(m, FV_LAST, .units = 2);
    CHECK(f < 0 && d < 0);
    CHECK(fv_model_num_nodes(m) == 1);
    CHECK_ERR_HAS("layer 'conv1'");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE), FV_ERR_SHAPE);
    CHECK_ERR_HAS("layer 'conv1': kernel 9x9");
    fv_model_free(m);
}

/* A call on a valid node is not part of the failed chain: it reports its own problem. */
TEST(independent_calls_keep_their_errors)
{
    fv_model *m = fv_model_new("indep");
    int x = fv_input(m, .ndim = 3, .dims = {1, 4, 4});
    CHECK(bad_conv(m, x) < 0);
    CHECK(fv_lrn(m, x, .size = 0, .name = "l") < 0);
    CHECK_ERR_HAS("layer 'l': size=0 must be >= 1");
    CHECK(fv_flatten(m, x, .name = "ok") >= 0);
    /* the model still is not the one asked for */
    CHECK_STATUS(fv_model_compile(m), FV_ERR_SHAPE);
    CHECK_ERR_HAS("layer 'conv1'");
    fv_model_free(m);
}

/* The loss's target node needs the node array to grow: out of memory stays out of memory. */
TEST(compile_passes_the_status_on)
{
    fv_model *m = fv_model_new("oom");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    for (int i = 0; i < 15; i++) /* 16 nodes: the array's first capacity */
        x = fv_dense(m, x, .units = 4);
    CHECK(x == 15);
    fv_allocator a = {failing_alloc, plain_free, NULL};
    fail_after = 0;
    fv_set_allocator(&a);
    fv_status s = fv_model_compile(m, .loss = FV_LOSS_MSE);
    fv_set_allocator(NULL);
    CHECK_STATUS(s, FV_ERR_NOMEM);
    CHECK_ERR_HAS("out of memory");
    fv_model_free(m);
}

/* A file that exists but is no safetensors file: FV_ERR_FORMAT from the reader, passed on. */
TEST(weights_status_passed_on)
{
    const char *path = "first_error_not_safetensors.bin";
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("hello", f);
    fclose(f);
    fv_model *m = fv_model_new("w");
    fv_dense(m, fv_input(m, .ndim = 1, .dims = {4}), .units = 2);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_MSE), FV_OK);
    CHECK_STATUS(fv_model_load_weights(m, path), FV_ERR_FORMAT);
    CHECK_ERR_HAS("too short for a safetensors header");
    fv_train_state t = {0};
    CHECK_STATUS(fv_checkpoint_read(m, path, &t, 1), FV_ERR_FORMAT);
    CHECK_STATUS(fv_model_load_weights(m, "no/such/weights.safetensors"), FV_ERR_IO);
    fv_model_free(m);
    remove(path);
}

int main(void)
{
    RUN(chain_reports_the_first_error);
    RUN(fv_last_after_a_failure);
    RUN(independent_calls_keep_their_errors);
    RUN(compile_passes_the_status_on);
    RUN(weights_status_passed_on);
    TEST_MAIN_END();
}
