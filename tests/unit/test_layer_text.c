/* test_layer_text.c - fv_layer_text: one layer from a line of the text format, reading the node
 * given (or its inputs=); the same layers and attributes as the layer functions; errors name the
 * function and the problem; a failure joins the model's first-error rule. */
#include "core/internal.h"
#include "test.h"

TEST(same_as_the_layer_functions)
{
    fv_model *a = fv_model_new("m"), *b = fv_model_new("m");
    int xa = fv_input(a, .ndim = 3, .dims = {3, 8, 8});
    int xb = fv_input(b, .ndim = 3, .dims = {3, 8, 8});
    int ca = fv_conv2d(a, xa, .filters = 4, .kernel = 3, .same = 1, .activation = FV_ACT_RELU,
                       .name = "c");
    int cb = fv_layer_text(b, xb, "conv2d filters=4 kernel_size=3 padding=same activation=relu "
                                  "name=c");
    CHECK(ca == cb && cb == 2 && b->nodes[cb].hidden && b->nodes[cb - 1].a.conv.ph == 1);
    fv_maxpool2d(a, ca);
    CHECK(fv_layer_text(b, FV_LAST, "MaxPooling2D  # a comment") == 3);
    fv_add(a, 2, ((int[]){xa, xa}));
    CHECK(fv_layer_text(b, FV_LAST, "add inputs=input1,input1") == 4);
    char *ta = fv_model_to_text(a), *tb = fv_model_to_text(b);
    CHECK(ta && tb && strcmp(ta + strcspn(ta, "\n"), tb + strcspn(tb, "\n")) == 0);
    free(ta), free(tb);
    fv_model_free(a), fv_model_free(b);
}

TEST(errors)
{
    fv_model *m = fv_model_new("e");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    CHECK(fv_layer_text(m, x, "dense units=0") < 0);
    CHECK_ERR_HAS("fv_layer_text: units=0: expected a positive integer");
    /* not part of a chain: the model keeps the first failure for compile */
    CHECK(fv_layer_text(m, x, "dense units=2\nrelu") < 0);
    CHECK_ERR_HAS("fv_layer_text: one line expected");
    CHECK(fv_layer_text(m, x, "model other") < 0);
    CHECK_ERR_HAS("unknown layer 'model'");
    CHECK(fv_layer_text(m, x, "   # nothing") < 0);
    CHECK_ERR_HAS("fv_layer_text: no layer in");
    CHECK(fv_layer_text(m, x, "conv2d filters=2 kernel_size=3") < 0);
    CHECK_ERR_HAS("fv_layer_text: layer 'conv2d1': conv2d needs an input of shape");
    CHECK(fv_layer_text(m, FV_LAST, "relu") < 0); /* reads the failed layer */
    CHECK_ERR_HAS("units=0");
    CHECK(fv_layer_text(m, x, "dense units=3 name=d") == 1);
    CHECK_STATUS(fv_model_compile(m), FV_ERR_INVALID);
    CHECK_ERR_HAS("units=0");
    CHECK(fv_layer_text(NULL, 0, "relu") < 0 && fv_layer_text(m, 0, NULL) < 0);
    fv_model_free(m);
}

int main(void)
{
    RUN(same_as_the_layer_functions);
    RUN(errors);
    TEST_MAIN_END();
}
