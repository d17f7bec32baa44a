/* test_min_input.c - an input too small for a network: the error names the layer where the
 * feature map no longer fits and the smallest input that works (the whole network's for a zoo
 * network, the failing layer's for layers added one by one), and that size is exact: one pixel
 * less fails. Errors of another kind (a reshape that does not fit) get no such hint. */
#include "core/internal.h"
#include "test.h"

/* The zoo network builds at side s and not at s - 1, and its error at 28 names s. */
static void check_zoo_min(const char *arch, int s)
{
    char want[96];
    CHECK(fv_zoo(arch, .channels = 1, .height = 28, .num_classes = 10) == NULL);
    snprintf(want, sizeof want, "; the smallest input %s accepts is 1x%dx%d", arch, s, s);
    CHECK_ERR_HAS(want);
    snprintf(want, sizeof want, "zoo '%s' at 1x28x28: layer '", arch);
    CHECK_ERR_HAS(want);
    CHECK(strchr(fv_last_error(), '\n') == NULL);
    fv_model *m = fv_zoo(arch, .channels = 1, .height = s, .num_classes = 10);
    CHECK(m != NULL);
    fv_model_free(m);
    CHECK(fv_zoo(arch, .channels = 1, .height = s - 1, .num_classes = 10) == NULL);
}

TEST(zoo_names_the_smallest_input)
{
    check_zoo_min("alexnet", 63);
    CHECK_ERR_HAS("layer 'maxpool2d3'"); /* at 62 the third pool is the one that fails */
    check_zoo_min("vgg11", 32);
    check_zoo_min("googlenet", 31);
    /* a non-square input keeps its larger side */
    CHECK(fv_zoo("vgg11", .channels = 3, .height = 16, .width = 64) == NULL);
    CHECK_ERR_HAS("the smallest input vgg11 accepts is 3x32x64");
}

/* AlexNet's first layers added one by one at 28x28: the second pool fails, and the smallest
 * input that gets through it is 31x31 (conv 11/4 pad 2, pool 3/2, conv 5 pad 2, pool 3/2). */
static int stem(fv_model *m, int side)
{
    fv_input(m, .ndim = 3, .dims = {1, side, side});
    fv_conv2d(m, FV_LAST, .filters = 4, .kernel = 11, .stride = 4, .padding = 2, .name = "conv1");
    fv_maxpool2d(m, FV_LAST, .size = 3, .stride = 2, .name = "pool1");
    fv_conv2d(m, FV_LAST, .filters = 4, .kernel = 5, .padding = 2, .name = "conv2");
    return fv_maxpool2d(m, FV_LAST, .size = 3, .stride = 2, .name = "pool2");
}

TEST(layer_names_the_smallest_input_that_gets_through)
{
    fv_model *m = fv_model_new("stem");
    CHECK(stem(m, 28) < 0);
    CHECK_ERR_HAS("layer 'pool2': a 3x3 window does not fit input 'conv2' (None, 4, 2, 2)");
    CHECK_ERR_HAS(": the input 1x28x28 is too small for this layer (the smallest input that gets "
                  "through it is 1x31x31)");
    CHECK(fv_model_num_nodes(m) == 4 && fv_model_num_params(m) == 4); /* rolled back */
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_NONE), FV_ERR_SHAPE); /* the first error */
    CHECK_ERR_HAS("the smallest input that gets through it is 1x31x31");
    fv_model_free(m);
    m = fv_model_new("stem31");
    CHECK(stem(m, 31) >= 0);
    fv_model_free(m);
    m = fv_model_new("stem30");
    CHECK(stem(m, 30) < 0);
    fv_model_free(m);
    /* the same from the model text */
    m = fv_model_parse("input shape=1,4,4\nconv2d filters=2 kernel_size=5 name=c1\n", "tiny.fv");
    CHECK(m == NULL);
    CHECK_ERR_HAS("tiny.fv:2: layer 'c1'");
    CHECK_ERR_HAS("the input 1x4x4 is too small for this layer (the smallest input that gets "
                  "through it is 1x5x5)");
}

/* A reshape that fits one size only, a dense input: no hint about sizes. */
TEST(other_errors_get_no_size_hint)
{
    fv_model *m = fv_model_parse("input shape=1,4,4\nreshape target_shape=64\n", "r.fv");
    CHECK(m == NULL);
    CHECK_ERR_HAS("cannot reshape");
    CHECK(strstr(fv_last_error(), "too small") == NULL);
    m = fv_model_new("wide");
    fv_input(m, .ndim = 3, .dims = {1, 8, 8});
    fv_flatten(m, FV_LAST);
    CHECK(fv_dense(m, FV_LAST, .units = 0) < 0);
    CHECK(strstr(fv_last_error(), "too small") == NULL);
    fv_model_free(m);
}

int main(void)
{
    RUN(zoo_names_the_smallest_input);
    RUN(layer_names_the_smallest_input_that_gets_through);
    RUN(other_errors_get_no_size_hint);
    TEST_MAIN_END();
}
