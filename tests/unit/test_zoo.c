/* test_zoo.c - the model zoo against published figures: torchvision 0.14's parameter counts to
 * the unit, the course's AlexNet variant and NASNet-A Mobile (Keras convention), the VGG paper's Table 2 and
 * MobileNet's Tables 6-8 to their rounding, multiply-adds against ResNet's Table 1 and
 * MobileNet's tables, the course's depthwise-separable cost ratio, output shapes at small
 * inputs, and clear errors for unknown names and impossible sizes. */
#include "fovea.h"
#include "test.h"
#include "zoo_small.h"

static int64_t trainable(const char *arch, fv_zoo_args a)
{
    fv_model *m = fv_zoo_(arch, a);
    int64_t t = -1, tr = -1, nt = -1;
    if (m)
        fv_model_count_params(m, &t, &tr, &nt);
    else
        fprintf(stderr, "%s: %s\n", arch, fv_last_error());
    fv_model_free(m);
    return tr;
}

static int64_t macs(const char *arch, fv_zoo_args a)
{
    fv_model *m = fv_zoo_(arch, a);
    int64_t v = m ? fv_model_macs(m) : -1;
    fv_model_free(m);
    return v;
}

TEST(torchvision_parameter_counts)
{
    static const struct {
        const char *arch;
        int64_t want;
    } tv[] = {
        {"alexnet", 61100840},    {"vgg11", 132863336},     {"vgg11_bn", 132868840},
        {"vgg13", 133047848},     {"vgg16", 138357544},     {"vgg19", 143667240},
        {"resnet18", 11689512},   {"resnet34", 21797672},   {"resnet50", 25557032},
        {"resnet101", 44549160},  {"resnet152", 60192808},  {"googlenet", 6624904},
        {"mobilenet_v2", 3504872}, {"inception_v3", 23834568},
    };
    for (size_t i = 0; i < sizeof tv / sizeof tv[0]; i++) {
        int64_t got = trainable(tv[i].arch, (fv_zoo_args){0});
        if (got != tv[i].want)
            fprintf(stderr, "%s: %lld parameters, torchvision %lld\n", tv[i].arch,
                    (long long)got, (long long)tv[i].want);
        CHECK(got == tv[i].want);
    }
    CHECK(trainable("googlenet", (fv_zoo_args){.aux_logits = 1}) == 13004888);
    /* torchvision's inception_v3() default has the auxiliary classifier */
    CHECK(trainable("inception_v3", (fv_zoo_args){.aux_logits = 1}) == 27161264);
    /* torchvision's resnet18(num_classes=10) with conv1 = 3x3/1 (no bias) and no max pooling:
     * 11,689,512 - 9,408 (7x7 conv1) + 1,728 (3x3 conv1) - 513,000 + 5,130 (fc) */
    CHECK(trainable("resnet18_cifar", (fv_zoo_args){0}) == 11173962);
}

TEST(course_alexnet_keras_convention)
{
    fv_model *m = fv_zoo("alexnet_bn", .num_classes = 10);
    int64_t t, tr, nt;
    fv_model_count_params(m, &t, &tr, &nt);
    CHECK(t == 56361738 && tr == 56358986 && nt == 2752);
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "conv1"), d) == 3 && d[1] == 55 && d[2] == 55);
    fv_model_free(m);
    /* keras.applications.NASNetMobile().summary() */
    m = fv_zoo("nasnet_mobile");
    fv_model_count_params(m, &t, &tr, &nt);
    CHECK(t == 5326716 && tr == 5289978 && nt == 36738);
    fv_model_free(m);
}

/* Rounded to millions (VGG Table 2) or tenths of millions (MobileNet). */
TEST(paper_parameter_counts)
{
    static const struct {
        const char *arch;
        double millions;
    } vgg[] = {{"vgg_a", 133}, {"vgg_a_lrn", 133}, {"vgg_b", 133},
               {"vgg_c", 134}, {"vgg_d", 138},     {"vgg_e", 144}};
    for (size_t i = 0; i < sizeof vgg / sizeof vgg[0]; i++)
        CHECK_NEAR(round(trainable(vgg[i].arch, (fv_zoo_args){0}) / 1e6), vgg[i].millions, 0, 0);
    static const double alpha[4] = {1, 0.75, 0.5, 0.25}, params[4] = {4.2, 2.6, 1.3, 0.5},
                        madds[4] = {569, 325, 149, 41};
    for (int i = 0; i < 4; i++) {
        fv_zoo_args a = {.width_mult = (float)alpha[i]};
        CHECK_NEAR(round(trainable("mobilenet_v1", a) / 1e5) / 10, params[i], 1e-9, 0);
        CHECK_NEAR(round(macs("mobilenet_v1", a) / 1e6), madds[i], 0, 0);
    }
}

/* He et al. Table 1 (FLOPs there are multiply-adds): within one unit of the last digit given,
 * the paper's own rounding (34 layers counts 3.66 G, printed 3.6). The deeper nets match with the
 * stride in the bottleneck's first 1x1, as in the paper; torchvision's v1.5 costs 4.1 G. */
TEST(resnet_multiply_adds)
{
    static const struct {
        const char *arch;
        double giga;
    } t[] = {{"resnet18", 1.8}, {"resnet34", 3.6}, {"resnet50", 3.8}, {"resnet101", 7.6},
             {"resnet152", 11.3}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        CHECK_NEAR(macs(t[i].arch, (fv_zoo_args){.stride_first = 1}) / 1e9, t[i].giga, 0.1, 0);
    CHECK_NEAR(macs("resnet50", (fv_zoo_args){0}) / 1e9, 4.09, 0.005, 0);
    /* the stride's place changes the cost, never the parameters */
    CHECK(trainable("resnet50", (fv_zoo_args){.stride_first = 1}) == 25557032);
}

/* Lecture 004 (MobileNet): depthwise separable / standard cost = 1/N + 1/Dk^2. */
TEST(separable_cost_ratio)
{
    enum { M = 32, N = 64, D = 14 };
    fv_model *s = fv_model_new("standard"), *p = fv_model_new("separable");
    fv_conv2d(s, fv_input(s, .ndim = 3, .dims = {M, D, D}), .filters = N, .kernel = 3,
              .padding = 1, .no_bias = 1);
    fv_separable_conv2d(p, fv_input(p, .ndim = 3, .dims = {M, D, D}), 1, .filters = N,
                        .kernel = 3, .padding = 1, .no_bias = 1);
    double ratio = (double)fv_model_macs(p) / (double)fv_model_macs(s);
    CHECK_NEAR(ratio, 1.0 / N + 1.0 / 9, 1e-12, 0);
    CHECK(fv_model_macs(s) == (int64_t)3 * 3 * M * N * D * D);
    fv_model_free(s), fv_model_free(p);
}

/* The classes of the output: (classes) logits, or (classes, H, W) for segmentation (map). */
static int out_classes(fv_model *m, int map)
{
    int64_t d[4];
    int nd = fv_node_shape(m, fv_model_num_nodes(m) - 1, d);
    return nd == (map ? 3 : 1) ? (int)d[0] : -1;
}

/* Every network builds for small inputs and ends in num_classes logits (per pixel for the
 * segmentation networks). */
TEST(small_inputs)
{
    for (int i = 0; fv_zoo_name(i); i++) {
        const char *n = fv_zoo_name(i);
        int map = strncmp(n, "fcn", 3) == 0 || strcmp(n, "unet") == 0;
        fv_model *m = zoo_small_build(n);
        CHECK(m && out_classes(m, map) == 10);
        fv_model_free(m);
    }
}

TEST(errors)
{
    CHECK(fv_zoo("resnet19") == NULL);
    CHECK(strstr(fv_last_error(), "unknown architecture 'resnet19'") != NULL);
    CHECK(fv_zoo("resnet18", .num_classes = -3) == NULL);
    CHECK(strstr(fv_last_error(), "classes=-3") != NULL);
    CHECK(fv_zoo("mobilenet_v2", .width_mult = 9) == NULL);
    CHECK(strstr(fv_last_error(), "width_mult=9") != NULL);
    /* too small for VGG's five pools: the error names the network and the size */
    CHECK(fv_zoo("vgg16", .height = 16) == NULL);
    CHECK(strstr(fv_last_error(), "zoo 'vgg16' at 3x16x16") != NULL);
    CHECK(fv_zoo("resnet18", .activation = FV_ACT_SILU) == NULL);
    CHECK(strstr(fv_last_error(), "activation=") != NULL);
    CHECK(fv_zoo("resnet20", .activation = FV_ACT_SOFTMAX) == NULL);
    CHECK(fv_zoo("resnet20", .activation = (fv_act)99) == NULL);
}

/* resnet20's activation option: SiLU at every ReLU's place (19 of them; ReLU nodes are named
 * "reluN", the other activations' "activationN"), nothing else changed. */
static int count_named(const fv_model *m, const char *prefix)
{
    int k = 0;
    for (int i = 0; m && i < fv_model_num_nodes(m); i++)
        k += strncmp(fv_node_name(m, i), prefix, strlen(prefix)) == 0;
    return k;
}

TEST(resnet20_activation)
{
    fv_model *r = fv_zoo("resnet20", .height = 16);
    fv_model *s = fv_zoo("resnet20", .height = 16, .activation = FV_ACT_SILU);
    CHECK(r && s && fv_model_num_nodes(r) == fv_model_num_nodes(s));
    CHECK(count_named(r, "relu") == 19 && count_named(r, "activation") == 0);
    CHECK(count_named(s, "activation") == 19 && count_named(s, "relu") == 0);
    CHECK(fv_model_num_params(r) == fv_model_num_params(s));
    fv_model_free(r);
    fv_model_free(s);
}

int main(void)
{
    RUN(torchvision_parameter_counts);
    RUN(course_alexnet_keras_convention);
    RUN(paper_parameter_counts);
    RUN(resnet_multiply_adds);
    RUN(separable_cost_ratio);
    RUN(small_inputs);
    RUN(errors);
    RUN(resnet20_activation);
    TEST_MAIN_END();
}
