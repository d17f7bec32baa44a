/* fv_onnx_torchvision.c - the ONNX importer's whole-model check: torchvision's networks exported
 * by PyTorch (tests/golden/gen_onnx_torchvision.py DIR) import and give PyTorch's logits.
 * Usage: fv_onnx_torchvision DIR. For each network and opset (11, 13, 14) it imports
 * DIR/<arch>_opset<K>.onnx, predicts DIR/<arch>_io.safetensors' "x" and compares with its float64
 * "y" (max |difference| over max |y|, at most 1e-4); prints one line each; exit status 1 if any
 * fails or a file is missing. Not a ctest: the files are too large to commit. */
#include "fovea.h"
#include "io/io.h"
#include "zoo_formula.h"

#include <math.h>
#include <stdio.h>

static const char *const nets[] = {"resnet18",  "resnet50",     "vgg11",
                                   "googlenet", "mobilenet_v2", "alexnet"};
static const int opsets[] = {11, 13, 14};

/* One network at one opset: the relative error, or NAN with the error printed. */
static double check(const char *dir, const char *arch, int opset, const fv_tensor *x,
                    const fv_tensor *want)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s_opset%d.onnx", dir, arch, opset);
    fv_model *m = fv_model_load_onnx(path);
    fv_tensor *y = NULL;
    fv_status st = m ? fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd())
                     : FV_ERR_IO;
    if (st == FV_OK)
        st = fv_model_predict(m, x, &y);
    double e = st == FV_OK ? zf_rel_error(y, want) : NAN;
    if (st != FV_OK)
        printf("%-14s opset %d  %s\n", arch, opset, fv_last_error());
    else
        printf("%-14s opset %d  %s  max relative error %.3g\n", arch, opset,
               e <= 1e-4 ? "ok " : "BAD", e);
    fv_tensor_free(y);
    fv_model_free(m);
    return e;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fv_onnx_torchvision DIR (written by gen_onnx_torchvision.py)\n");
        return 2;
    }
    int bad = 0;
    for (size_t k = 0; k < sizeof nets / sizeof nets[0]; k++) {
        char iopath[1024];
        snprintf(iopath, sizeof iopath, "%s/%s_io.safetensors", argv[1], nets[k]);
        fv_st_file *f = fv_st_open(iopath);
        fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *want = f ? fv_st_get(f, "y") : NULL;
        if (!x || !want) {
            printf("%-14s %s\n", nets[k], fv_last_error());
            bad = 1;
        }
        for (size_t o = 0; x && want && o < sizeof opsets / sizeof opsets[0]; o++)
            bad |= !(check(argv[1], nets[k], opsets[o], x, want) <= 1e-4);
        fv_tensor_free(x), fv_tensor_free(want);
        if (f)
            fv_st_close(f);
    }
    return bad;
}
