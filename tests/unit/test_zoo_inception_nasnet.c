/* test_zoo_inception_nasnet.c - the zoo's Inception v3 computes what torchvision 0.14's
 * inception_v3 computes (tests/golden/gen_inception_v3.py), and NASNet-A Mobile has Keras' size
 * and computes what a PyTorch transcription of Keras' code computes (tests/golden/gen_nasnet.py).
 *
 * Weights: Inception v3's 27 M parameters would be a 109 MB golden, too big to commit. So every
 * parameter and buffer is set by a formula of its name and element index (tests/zoo_formula.h:
 * a counter-based integer hash of (index, FNV-1a of the name) to [-1, 1), scaled to variance
 * 1 / fan-in for weights; the generators evaluate the same formula in numpy), and only the
 * float64 logits are committed (tests/data/golden/zoo_inception_v3.safetensors and
 * zoo_nasnet_mobile.safetensors, 0.5 KB each). A parameter missing, extra, misshapen or under a
 * name torchvision does not use gives other logits. Inception v3 runs at its own 3x299x299 input
 * with 10 classes on two images, the main logits and the auxiliary classifier's (after Mixed_6e)
 * both within 1e-4 relative; NASNet at 3x224x224 likewise.
 * With --full DIR: torchvision's own initialisation at 1000 classes (batch norm calibrated on a
 * batch), its exported state_dict (num_batches_tracked included) loaded by name with
 * fv_model_load_weights, against its logits within 3e-4 (see full()). */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"
#include "zoo_formula.h"

static fv_model *build(int classes, int aux_output)
{
    fv_model *m = fv_zoo("inception_v3", .num_classes = classes, .aux_logits = 1);
    int out = m && aux_output ? fv_model_find_node(m, "AuxLogits.fc") : -1;
    if (m && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd(),
                              .output = aux_output ? out : 0) != FV_OK) {
        fprintf(stderr, "inception_v3: %s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* Relative error of m's logits for x against want; reported when above tol. */
static double compare(fv_model *m, const fv_tensor *x, const fv_tensor *want, const char *what,
                      double tol)
{
    fv_tensor *y = NULL;
    fv_status st = m && x && want ? fv_model_predict(m, x, &y) : FV_ERR_INVALID;
    double e = st == FV_OK && fv_tensor_numel(y) == fv_tensor_numel(want) ? zf_rel_error(y, want)
                                                                           : INFINITY;
    if (!(e <= tol))
        fprintf(stderr, "%s: logits differ from the golden's by %g (relative)%s%s\n",
                what, e, st == FV_OK ? "" : ": ", st == FV_OK ? "" : fv_last_error());
    fv_tensor_free(y);
    return e;
}

TEST(torchvision_names)
{
    fv_model *m = fv_zoo("inception_v3", .aux_logits = 1);
    static const char *const names[] = {
        "Conv2d_1a_3x3.conv", "Conv2d_4a_3x3.bn", "Mixed_5b.branch1x1.conv",
        "Mixed_5b.branch_pool.conv", "Mixed_6e.branch7x7dbl_5.bn", "Mixed_7c.branch3x3dbl_3b.conv",
        "AuxLogits.conv0.conv", "AuxLogits.conv1.bn", "AuxLogits.fc", "fc"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int ok = m && fv_model_find_node(m, names[i]) >= 0;
        if (!ok)
            fprintf(stderr, "no layer %s\n", names[i]);
        CHECK(ok);
    }
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "Mixed_5d.cat"), d) == 3 && d[0] == 288 &&
          d[1] == 35);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "Mixed_6e.cat"), d) == 3 && d[0] == 768 &&
          d[1] == 17);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "Mixed_7c.cat"), d) == 3 && d[0] == 2048 &&
          d[1] == 8);
    fv_model_free(m);
    /* the auxiliary head needs Mixed_6e's 17x17; without it small inputs work (75x75: 3x3) */
    CHECK(fv_zoo("inception_v3", .height = 160, .aux_logits = 1) == NULL);
    CHECK(strstr(fv_last_error(), "zoo 'inception_v3' at 3x160x160") != NULL);
    m = fv_zoo("inception_v3", .height = 75, .num_classes = 10);
    CHECK(m != NULL);
    fv_model_free(m);
}

TEST(reduced_golden)
{
    fv_st_file *f = fv_st_open(t_src_path("data/golden/zoo_inception_v3.safetensors"));
    fv_tensor *want = f ? fv_st_get(f, "y") : NULL, *want_aux = f ? fv_st_get(f, "aux") : NULL;
    CHECK(want && want_aux);
    fv_tensor *x = zf_input(2, 3, 299, 299);
    for (int aux = 0; aux < 2; aux++) {
        fv_model *m = build(10, aux);
        CHECK(m != NULL);
        if (!m)
            continue;
        /* as many float tensors as torchvision's state_dict (num_batches_tracked aside) */
        fv_tensor *n = f ? fv_st_get(f, "tensors") : NULL;
        CHECK(n && n->data[0] == fv_model_num_params(m));
        fv_tensor_free(n);
        zf_fill(m);
        const char *what = aux ? "inception_v3 auxiliary" : "inception_v3 main";
        CHECK(compare(m, x, aux ? want_aux : want, what, 1e-4) <= 1e-4);
        fv_model_free(m);
    }
    fv_tensor_free(x), fv_tensor_free(want), fv_tensor_free(want_aux);
    if (f)
        fv_st_close(f);
}

/* Keras' NASNetMobile: 5,326,716 parameters counting batch norm's moving statistics (36,738),
 * 564 M multiply-adds as in the paper's Table 2; the logits of gen_nasnet.py's PyTorch
 * transcription of Keras' code at 224x224 (two images, 10 classes, formula weights by fovea's
 * names) within 1e-4 relative; a forward pass at Keras' smallest input. */
TEST(nasnet_mobile)
{
    fv_model *m = fv_zoo("nasnet_mobile");
    int64_t t = -1, tr = -1, nt = -1;
    if (m)
        fv_model_count_params(m, &t, &tr, &nt);
    CHECK(t == 5326716 && tr == 5289978 && nt == 36738);
    CHECK(m && round(fv_model_macs(m) / 1e6) == 564);
    int64_t d[4];
    CHECK(fv_node_shape(m, fv_model_find_node(m, "normal_concat_12"), d) == 3 && d[0] == 1056 &&
          d[1] == 7);
    CHECK(fv_node_shape(m, fv_model_find_node(m, "reduction_concat_stem_1"), d) == 3 &&
          d[0] == 44 && d[1] == 56);
    fv_model_free(m);

    /* tests/golden/gen_nasnet.py's PyTorch transcription of Keras' code, formula weights */
    fv_st_file *f = fv_st_open(t_src_path("data/golden/zoo_nasnet_mobile.safetensors"));
    fv_tensor *want = f ? fv_st_get(f, "y") : NULL, *n = f ? fv_st_get(f, "tensors") : NULL;
    m = fv_zoo("nasnet_mobile", .num_classes = 10);
    CHECK(want && n && m &&
          fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) == FV_OK);
    if (want && n && m && m->compiled) {
        CHECK(n->data[0] == fv_model_num_params(m));
        zf_fill(m);
        fv_tensor *x = zf_input(2, 3, 224, 224);
        CHECK(compare(m, x, want, "nasnet_mobile", 1e-4) <= 1e-4);
        fv_tensor_free(x);
    }
    fv_tensor_free(want), fv_tensor_free(n);
    fv_model_free(m);
    if (f)
        fv_st_close(f);
    /* Keras' smallest input, 32x32: 15, 8, 4, 2, 1 pixels after the stem and the reductions */
    m = fv_zoo("nasnet_mobile", .height = 32, .num_classes = 5);
    CHECK(m && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) == FV_OK);
    if (m && m->compiled) {
        zf_fill(m);
        fv_tensor *x = zf_input(2, 3, 32, 32), *y = NULL;
        CHECK_STATUS(fv_model_predict(m, x, &y), FV_OK);
        int finite = y && fv_tensor_numel(y) == 10;
        for (int64_t i = 0; finite && i < 10; i++)
            finite = isfinite(y->data[i]);
        CHECK(finite && y->data[0] != y->data[5]); /* the two images differ */
        fv_tensor_free(x), fv_tensor_free(y);
    }
    fv_model_free(m);
}

/* --full DIR: torchvision's own weights at 3x299x299, 1000 classes. The tolerance is 3e-4:
 * with batch norm calibrated the logits carry float32 rounding through 94 layers, and fovea's
 * Winograd F(4x4, 3x3) for the 3x3 stride-1 layers adds its own (measured: 1.5e-4 relative; 3.9e-5
 * with direct convolution only, and PyTorch's float32 forward is 2.8e-5 from its float64 one). */
static int full(const char *dir)
{
    const double tol = 3e-4;
    char wpath[1024], iopath[1024];
    snprintf(wpath, sizeof wpath, "%s/inception_v3.safetensors", dir);
    snprintf(iopath, sizeof iopath, "%s/inception_v3_io.safetensors", dir);
    fv_st_file *f = fv_st_open(iopath);
    fv_tensor *x = f ? fv_st_get(f, "x") : NULL;
    int bad = 0;
    for (int aux = 0; aux < 2; aux++) {
        fv_tensor *want = f ? fv_st_get(f, aux ? "aux" : "y") : NULL;
        fv_model *m = build(1000, aux);
        fv_status st = m && x && want ? fv_model_load_weights(m, wpath) : FV_ERR_IO;
        const char *what = aux ? "inception_v3 auxiliary" : "inception_v3 main";
        double e = st == FV_OK ? compare(m, x, want, what, tol) : NAN;
        bad |= zf_report(what, st, e, tol);
        fv_tensor_free(want);
        fv_model_free(m);
    }
    fv_tensor_free(x);
    if (f)
        fv_st_close(f);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--full") == 0)
        return full(argv[2]);
    RUN(torchvision_names);
    RUN(reduced_golden);
    RUN(nasnet_mobile);
    TEST_MAIN_END();
}
