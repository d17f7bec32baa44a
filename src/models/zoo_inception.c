/* zoo_inception.c - Inception v3 (Szegedy et al. 2015, "Rethinking the Inception Architecture")
 * as torchvision 0.14 defines it: inception_v3(aux_logits=..., transform_input=False). Every
 * convolution is torchvision's BasicConv2d (no bias, batch norm with eps 0.001, ReLU) and every
 * layer carries torchvision's module path (Conv2d_1a_3x3.conv, Mixed_5b.branch1x1.bn,
 * AuxLogits.fc, fc), so a torchvision state_dict saved as safetensors loads by name. 299x299
 * input: 35x35 at Mixed_5, 17x17 at Mixed_6, 8x8 at Mixed_7. The auxiliary classifier (after
 * Mixed_6e, node "AuxLogits.fc") needs the 17x17 map of a 299x299 input (its 5x5/3 pooling and
 * 5x5 convolution leave 1x1); it is evaluated, not trained: fit trains the main output. */
#include "models/zoo.h"

/* torchvision's BasicConv2d, named pfx.conv / pfx.bn: a kh x kw convolution (stride s, padding
 * ph, pw; 1xN and Nx1 kernels pad only along their long side, as padding=same does). */
static int bconv(fv_model *m, int x, const char *pfx, int f, int kh, int kw, int s, int p)
{
    char c[ZOO_NAME], b[ZOO_NAME];
    int conv;
    if (kh != kw) /* (1, 7) with padding (0, 3), (3, 1) with padding (1, 0) ... */
        conv = fv_conv2d(m, x, .filters = f, .kernel_h = kh, .kernel_w = kw, .same = 1,
                         .no_bias = 1, .name = fv_zoo_fmt(c, "%s.conv", pfx));
    else
        conv = fv_conv2d(m, x, .filters = f, .kernel = kh, .stride = s, .padding = p,
                         .no_bias = 1, .name = fv_zoo_fmt(c, "%s.conv", pfx));
    return fv_zoo_bn_act(m, conv, fv_zoo_fmt(b, "%s.bn", pfx), 1e-3f, FV_ACT_RELU);
}

/* A square BasicConv2d named "<mod>.<branch>". */
static int sq(fv_model *m, int x, const char *mod, const char *branch, int f, int k, int s, int p)
{
    char n[ZOO_NAME];
    return bconv(m, x, fv_zoo_fmt(n, "%s.%s", mod, branch), f, k, k, s, p);
}

/* A 1xN (wide = 1) or Nx1 BasicConv2d named "<mod>.<branch>". */
static int line(fv_model *m, int x, const char *mod, const char *branch, int f, int n, int wide)
{
    char s[ZOO_NAME];
    return bconv(m, x, fv_zoo_fmt(s, "%s.%s", mod, branch), f, wide ? 1 : n, wide ? n : 1, 1, 0);
}

/* F.avg_pool2d(x, 3, stride 1, padding 1), count_include_pad=True as PyTorch's default. */
static int avg3(fv_model *m, int x, const char *mod)
{
    char n[ZOO_NAME];
    return fv_avgpool2d(m, x, .size = 3, .stride = 1, .padding = 1,
                        .name = fv_zoo_fmt(n, "%s.avg_pool", mod));
}

static int cat(fv_model *m, int n, const int *ins, const char *mod, const char *what)
{
    char s[ZOO_NAME];
    for (int i = 0; i < n; i++)
        if (ins[i] < 0)
            return -1;
    return fv_concat(m, n, ins, .name = fv_zoo_fmt(s, "%s.%s", mod, what));
}

/* InceptionA (35x35): 1x1 64 | 1x1 48 -> 5x5 64 | 1x1 64 -> 3x3 96 -> 3x3 96 | avg -> 1x1. */
static int inception_a(fv_model *m, int x, const char *mod, int pool_features)
{
    int b1 = sq(m, x, mod, "branch1x1", 64, 1, 1, 0);
    int b5 = sq(m, x, mod, "branch5x5_1", 48, 1, 1, 0);
    b5 = sq(m, b5, mod, "branch5x5_2", 64, 5, 1, 2);
    int b3 = sq(m, x, mod, "branch3x3dbl_1", 64, 1, 1, 0);
    b3 = sq(m, b3, mod, "branch3x3dbl_2", 96, 3, 1, 1);
    b3 = sq(m, b3, mod, "branch3x3dbl_3", 96, 3, 1, 1);
    int bp = sq(m, avg3(m, x, mod), mod, "branch_pool", pool_features, 1, 1, 0);
    return cat(m, 4, (int[]){b1, b5, b3, bp}, mod, "cat");
}

/* InceptionB (35 -> 17): 3x3/2 384 | 1x1 64 -> 3x3 96 -> 3x3/2 96 | 3x3/2 max pool. */
static int inception_b(fv_model *m, int x, const char *mod)
{
    char n[ZOO_NAME];
    int b3 = sq(m, x, mod, "branch3x3", 384, 3, 2, 0);
    int bd = sq(m, x, mod, "branch3x3dbl_1", 64, 1, 1, 0);
    bd = sq(m, bd, mod, "branch3x3dbl_2", 96, 3, 1, 1);
    bd = sq(m, bd, mod, "branch3x3dbl_3", 96, 3, 2, 0);
    int bp = fv_maxpool2d(m, x, .size = 3, .stride = 2, .name = fv_zoo_fmt(n, "%s.max_pool", mod));
    return cat(m, 3, (int[]){b3, bd, bp}, mod, "cat");
}

/* InceptionC (17x17, factorized 7x7): 1x1 192 | 1x1 c7 -> 1x7 -> 7x1 192 |
 * 1x1 c7 -> 7x1 -> 1x7 -> 7x1 -> 1x7 192 | avg -> 1x1 192. */
static int inception_c(fv_model *m, int x, const char *mod, int c7)
{
    int b1 = sq(m, x, mod, "branch1x1", 192, 1, 1, 0);
    int b7 = sq(m, x, mod, "branch7x7_1", c7, 1, 1, 0);
    b7 = line(m, b7, mod, "branch7x7_2", c7, 7, 1);
    b7 = line(m, b7, mod, "branch7x7_3", 192, 7, 0);
    int bd = sq(m, x, mod, "branch7x7dbl_1", c7, 1, 1, 0);
    bd = line(m, bd, mod, "branch7x7dbl_2", c7, 7, 0);
    bd = line(m, bd, mod, "branch7x7dbl_3", c7, 7, 1);
    bd = line(m, bd, mod, "branch7x7dbl_4", c7, 7, 0);
    bd = line(m, bd, mod, "branch7x7dbl_5", 192, 7, 1);
    int bp = sq(m, avg3(m, x, mod), mod, "branch_pool", 192, 1, 1, 0);
    return cat(m, 4, (int[]){b1, b7, bd, bp}, mod, "cat");
}

/* InceptionD (17 -> 8): 1x1 192 -> 3x3/2 320 | 1x1 192 -> 1x7 -> 7x1 -> 3x3/2 192 | max pool. */
static int inception_d(fv_model *m, int x, const char *mod)
{
    char n[ZOO_NAME];
    int b3 = sq(m, x, mod, "branch3x3_1", 192, 1, 1, 0);
    b3 = sq(m, b3, mod, "branch3x3_2", 320, 3, 2, 0);
    int b7 = sq(m, x, mod, "branch7x7x3_1", 192, 1, 1, 0);
    b7 = line(m, b7, mod, "branch7x7x3_2", 192, 7, 1);
    b7 = line(m, b7, mod, "branch7x7x3_3", 192, 7, 0);
    b7 = sq(m, b7, mod, "branch7x7x3_4", 192, 3, 2, 0);
    int bp = fv_maxpool2d(m, x, .size = 3, .stride = 2, .name = fv_zoo_fmt(n, "%s.max_pool", mod));
    return cat(m, 3, (int[]){b3, b7, bp}, mod, "cat");
}

/* InceptionE (8x8, expanded filter bank): 1x1 320 | 1x1 384 -> (1x3 | 3x1) 384 each |
 * 1x1 448 -> 3x3 384 -> (1x3 | 3x1) 384 each | avg -> 1x1 192; 2048 channels. */
static int inception_e(fv_model *m, int x, const char *mod)
{
    int b1 = sq(m, x, mod, "branch1x1", 320, 1, 1, 0);
    int b3 = sq(m, x, mod, "branch3x3_1", 384, 1, 1, 0);
    int b3a = line(m, b3, mod, "branch3x3_2a", 384, 3, 1);
    int b3b = line(m, b3, mod, "branch3x3_2b", 384, 3, 0);
    int bd = sq(m, x, mod, "branch3x3dbl_1", 448, 1, 1, 0);
    bd = sq(m, bd, mod, "branch3x3dbl_2", 384, 3, 1, 1);
    int bda = line(m, bd, mod, "branch3x3dbl_3a", 384, 3, 1);
    int bdb = line(m, bd, mod, "branch3x3dbl_3b", 384, 3, 0);
    int bp = sq(m, avg3(m, x, mod), mod, "branch_pool", 192, 1, 1, 0);
    return cat(m, 6, (int[]){b1, b3a, b3b, bda, bdb, bp}, mod, "cat");
}

/* InceptionAux: 5x5/3 average pooling, 1x1 128, 5x5 768, adaptive average pooling to 1x1, fc. */
static int aux_logits(fv_model *m, int x, const fv_zoo_args *a)
{
    x = fv_avgpool2d(m, x, .size = 5, .stride = 3, .name = "AuxLogits.avg_pool");
    x = bconv(m, x, "AuxLogits.conv0", 128, 1, 1, 1, 0);
    x = bconv(m, x, "AuxLogits.conv1", 768, 5, 5, 1, 0);
    x = fv_flatten(m, fv_zoo_adaptive_avg(m, x, 1, 1, "AuxLogits.adaptive_avg_pool"));
    return fv_dense(m, x, .units = a->num_classes, .name = "AuxLogits.fc");
}

int fv_zoo_inception_v3(fv_model *m, int x, const fv_zoo_args *a)
{
    x = bconv(m, x, "Conv2d_1a_3x3", 32, 3, 3, 2, 0);
    x = bconv(m, x, "Conv2d_2a_3x3", 32, 3, 3, 1, 0);
    x = bconv(m, x, "Conv2d_2b_3x3", 64, 3, 3, 1, 1);
    x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .name = "maxpool1");
    x = bconv(m, x, "Conv2d_3b_1x1", 80, 1, 1, 1, 0);
    x = bconv(m, x, "Conv2d_4a_3x3", 192, 3, 3, 1, 0);
    x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .name = "maxpool2");
    x = inception_a(m, x, "Mixed_5b", 32);
    x = inception_a(m, x, "Mixed_5c", 64);
    x = inception_a(m, x, "Mixed_5d", 64);
    x = inception_b(m, x, "Mixed_6a");
    x = inception_c(m, x, "Mixed_6b", 128);
    x = inception_c(m, x, "Mixed_6c", 160);
    x = inception_c(m, x, "Mixed_6d", 160);
    x = inception_c(m, x, "Mixed_6e", 192);
    if (x < 0 || (a->aux_logits && !a->no_top && aux_logits(m, x, a) < 0))
        return -1;
    x = inception_d(m, x, "Mixed_7a");
    x = inception_e(m, x, "Mixed_7b");
    x = inception_e(m, x, "Mixed_7c");
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    x = fv_dropout(m, x, .rate = a->dropout, .name = "dropout");
    return fv_dense(m, x, .units = a->num_classes, .name = "fc");
}
