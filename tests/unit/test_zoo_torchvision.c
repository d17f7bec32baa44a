/* test_zoo_torchvision.c - the zoo's networks compute what torchvision's compute
 * (tests/golden/gen_zoo.py). In CI: ResNet-18, ResNet-50, VGG-11, GoogLeNet (with its auxiliary
 * heads' parameters), MobileNet v2 and AlexNet at small inputs, every parameter and buffer set by
 * a formula of its torchvision name (so a wrong name gives wrong logits), against float64 logits
 * within 1e-4 relative. With --full DIR: the same networks at 224x224 with 1000 classes load
 * torchvision's exported state_dicts by name and must give its logits. */
#include "core/internal.h"
#include "io/io.h"
#include "optest.h"
#include "test.h"
#include "zoo_formula.h"

static const char *const nets[] = {"resnet18",  "resnet50",     "vgg11",
                                   "googlenet", "mobilenet_v2", "alexnet"};

static fv_model *build(const char *arch, int side, int classes)
{
    fv_model *m = fv_zoo(arch, .num_classes = classes, .height = side,
                         .aux_logits = strcmp(arch, "googlenet") == 0);
    if (m && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

TEST(reduced_size_goldens)
{
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "data/golden/zoo_%s.safetensors", nets[k]);
        fv_st_file *f = fv_st_open(t_src_path(rel));
        fv_tensor *want = f ? fv_st_get(f, "y") : NULL;
        int side = strcmp(nets[k], "vgg11") == 0 ? 32 : strcmp(nets[k], "alexnet") == 0 ? 67 : 64;
        fv_model *m = build(nets[k], side, 10);
        CHECK(want && m);
        if (want && m) {
            zf_fill(m);
            fv_tensor *x = zf_input(2, 3, side, side), *y = NULL;
            CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
            double e = y ? zf_rel_error(y, want) : 1;
            if (e > 1e-4)
                fprintf(stderr, "%s: logits differ from torchvision's by %g (relative)\n",
                        nets[k], e);
            CHECK(e <= 1e-4);
            fv_tensor_free(x), fv_tensor_free(y);
        }
        fv_tensor_free(want);
        fv_model_free(m);
        if (f)
            fv_st_close(f);
    }
}

/* --full DIR: torchvision's own weights at 224x224, 1000 classes. */
static int full(const char *dir)
{
    int bad = 0;
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        char wpath[1024], iopath[1024];
        snprintf(wpath, sizeof wpath, "%s/%s.safetensors", dir, nets[k]);
        snprintf(iopath, sizeof iopath, "%s/%s_io.safetensors", dir, nets[k]);
        fv_model *m = build(nets[k], 224, 1000);
        fv_st_file *f = fv_st_open(iopath);
        fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *want = f ? fv_st_get(f, "y") : NULL;
        fv_tensor *y = NULL;
        fv_status st = m && x && want ? fv_model_load_weights(m, wpath) : FV_ERR_IO;
        if (st == FV_OK)
            st = fv_model_predict(m, x, &y);
        double e = st == FV_OK ? zf_rel_error(y, want) : NAN;
        bad |= zf_report(nets[k], st, e, 1e-4);
        fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(want);
        fv_model_free(m);
        if (f)
            fv_st_close(f);
    }
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--full") == 0)
        return full(argv[2]);
    RUN(reduced_size_goldens);
    TEST_MAIN_END();
}
