/* zoo_modern.c - the zoo's networks with branches: ResNet (He et al. 2015; torchvision's v1.5
 * layout, stride in the bottleneck's 3x3, projection shortcuts, and the CIFAR ResNet-20 of the
 * paper's section 4.2 with projection shortcuts), GoogLeNet / Inception v1 (torchvision's, batch
 * norm after every convolution, optional auxiliary classifiers), MobileNet v1 (Howard et al. 2017,
 * width multiplier alpha; the resolution multiplier is the input size) and MobileNet v2
 * (torchvision's). Parameter names follow torchvision's modules. */
#include "models/zoo.h"

#include <math.h>

/* ---------------------------------------------------------------- ResNet */

/* conv (no bias) then BN, both named pfx.conv<i> / pfx.bn<i>, then act. */
static int conv_bn(fv_model *m, int x, const char *pfx, int i, int f, int k, int s, fv_act act)
{
    char c[ZOO_NAME], b[ZOO_NAME];
    return fv_zoo_conv_bn(m, x, fv_zoo_fmt(c, "%s.conv%d", pfx, i), fv_zoo_fmt(b, "%s.bn%d", pfx, i), f,
                       k, s, k / 2, 1, 1e-5f, act);
}

/* The shortcut: identity, or a strided 1x1 projection + BN (pfx.downsample.0 / .1). */
static int shortcut(fv_model *m, int x, const char *pfx, int in_ch, int out_ch, int stride)
{
    if (stride == 1 && in_ch == out_ch)
        return x;
    char c[ZOO_NAME], b[ZOO_NAME];
    return fv_zoo_conv_bn(m, x, fv_zoo_fmt(c, "%s.downsample.0", pfx),
                       fv_zoo_fmt(b, "%s.downsample.1", pfx), out_ch, 1, stride, 0, 1, 1e-5f,
                       FV_ACT_NONE);
}

/* Basic block (two 3x3) or bottleneck (1x1, 3x3, 1x1 to 4 planes; bottleneck 2: the stride in
 * the first 1x1 as in the paper, else in the 3x3 as torchvision's v1.5). */
static int block(fv_model *m, int x, const char *pfx, int in_ch, int planes, int stride,
                 int bottleneck, fv_act act)
{
    int y, out_ch = bottleneck ? planes * 4 : planes;
    if (bottleneck) {
        int first = bottleneck == 2 ? stride : 1;
        y = conv_bn(m, x, pfx, 1, planes, 1, first, act);
        y = conv_bn(m, y, pfx, 2, planes, 3, stride / first, act);
        y = conv_bn(m, y, pfx, 3, out_ch, 1, 1, FV_ACT_NONE);
    } else {
        y = conv_bn(m, x, pfx, 1, planes, 3, stride, act);
        y = conv_bn(m, y, pfx, 2, planes, 3, 1, FV_ACT_NONE);
    }
    int s = shortcut(m, x, pfx, in_ch, out_ch, stride);
    if (y < 0 || s < 0)
        return -1;
    char n[ZOO_NAME];
    int sum = fv_add(m, 2, ((int[]){y, s}), .name = fv_zoo_fmt(n, "%s.add", pfx));
    return fv_activation(m, sum, act);
}

/* Stages of `blocks[i]` blocks with `planes[i]` planes, the first of stages after the first
 * strided by 2; named layer1.0, ... (activation act). Returns the last node; *ch the channels. */
static int stages(fv_model *m, int x, int nst, const int *blocks, const int *planes,
                  int bottleneck, fv_act act, int *ch)
{
    char p[ZOO_NAME];
    for (int s = 0; s < nst; s++)
        for (int b = 0; b < blocks[s]; b++) {
            int stride = s > 0 && b == 0 ? 2 : 1;
            x = block(m, x, fv_zoo_fmt(p, "layer%d.%d", s + 1, b), *ch, planes[s], stride,
                      bottleneck, act);
            *ch = bottleneck ? planes[s] * 4 : planes[s];
        }
    return x;
}

/* ImageNet stem (7x7/2 convolution, 3x3/2 max pooling), or for 32x32 images the CIFAR stem
 * common in the literature: one 3x3/1 convolution, no pooling. */
static int resnet_stem(fv_model *m, int x, int cifar)
{
    if (cifar)
        return fv_zoo_conv_bn(m, x, "conv1", "bn1", 64, 3, 1, 1, 1, 1e-5f, FV_ACT_RELU);
    x = fv_zoo_conv_bn(m, x, "conv1", "bn1", 64, 7, 2, 3, 1, 1e-5f, FV_ACT_RELU);
    return fv_maxpool2d(m, x, .size = 3, .stride = 2, .padding = 1, .name = "maxpool");
}

static int resnet(fv_model *m, int x, const fv_zoo_args *a, const int *blocks, int bottleneck,
                  int cifar)
{
    static const int planes[4] = {64, 128, 256, 512};
    x = resnet_stem(m, x, cifar);
    int ch = 64;
    x = stages(m, x, 4, blocks, planes, bottleneck && a->stride_first ? 2 : bottleneck,
               FV_ACT_RELU, &ch);
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    return fv_dense(m, x, .units = a->num_classes, .name = "fc");
}

int fv_zoo_resnet18(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){2, 2, 2, 2}, 0, 0);
}

/* ResNet-18 with the CIFAR stem (3x3/1, no max pooling): 11.2 M parameters for 10 classes, the
 * usual ResNet-18 of CIFAR-10 experiments. */
int fv_zoo_resnet18_cifar(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){2, 2, 2, 2}, 0, 1);
}

int fv_zoo_resnet34(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){3, 4, 6, 3}, 0, 0);
}

int fv_zoo_resnet50(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){3, 4, 6, 3}, 1, 0);
}

int fv_zoo_resnet101(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){3, 4, 23, 3}, 1, 0);
}

int fv_zoo_resnet152(fv_model *m, int x, const fv_zoo_args *a)
{
    return resnet(m, x, a, (const int[]){3, 8, 36, 3}, 1, 0);
}

/* He et al. section 4.2 (CIFAR-10), n = 3: a 3x3 16 stem, three stages of three basic blocks
 * with 16, 32, 64 filters on 32, 16, 8 pixels, global average pooling, fc; 6n + 2 = 20 layers.
 * Projection shortcuts where the shape changes. ReLU, or a->activation in its place (a smooth one
 * makes the gradient a smooth function of the weights: docs/SCALING.md). */
int fv_zoo_resnet20(fv_model *m, int x, const fv_zoo_args *a)
{
    fv_act act = a->activation != FV_ACT_NONE ? a->activation : FV_ACT_RELU;
    x = fv_zoo_conv_bn(m, x, "conv1", "bn1", 16, 3, 1, 1, 1, 1e-5f, act);
    int ch = 16;
    x = stages(m, x, 3, (const int[]){3, 3, 3}, (const int[]){16, 32, 64}, 0, act, &ch);
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    return fv_dense(m, x, .units = a->num_classes, .name = "fc");
}

/* ---------------------------------------------------------------- GoogLeNet */

/* torchvision's BasicConv2d: pfx.conv (no bias), pfx.bn (eps 0.001), ReLU. */
static int basic_conv(fv_model *m, int x, const char *pfx, int f, int k, int s, int p)
{
    char c[ZOO_NAME], b[ZOO_NAME];
    return fv_zoo_conv_bn(m, x, fv_zoo_fmt(c, "%s.conv", pfx), fv_zoo_fmt(b, "%s.bn", pfx), f, k, s, p,
                       1, 1e-3f, FV_ACT_RELU);
}

/* An inception module: 1x1 | 1x1 -> 3x3 | 1x1 -> 3x3 (torchvision's "5x5" branch is 3x3) |
 * 3x3/1 max pool -> 1x1, concatenated along channels. */
static int inception(fv_model *m, int x, const char *pfx, const int c[6])
{
    char n[ZOO_NAME];
    int b1 = basic_conv(m, x, fv_zoo_fmt(n, "%s.branch1", pfx), c[0], 1, 1, 0);
    int b2 = basic_conv(m, x, fv_zoo_fmt(n, "%s.branch2.0", pfx), c[1], 1, 1, 0);
    b2 = basic_conv(m, b2, fv_zoo_fmt(n, "%s.branch2.1", pfx), c[2], 3, 1, 1);
    int b3 = basic_conv(m, x, fv_zoo_fmt(n, "%s.branch3.0", pfx), c[3], 1, 1, 0);
    b3 = basic_conv(m, b3, fv_zoo_fmt(n, "%s.branch3.1", pfx), c[4], 3, 1, 1);
    int b4 = fv_maxpool2d(m, x, .size = 3, .stride = 1, .padding = 1, .ceil_mode = 1,
                          .name = fv_zoo_fmt(n, "%s.branch4.0", pfx));
    b4 = basic_conv(m, b4, fv_zoo_fmt(n, "%s.branch4.1", pfx), c[5], 1, 1, 0);
    if (b1 < 0 || b2 < 0 || b3 < 0 || b4 < 0)
        return -1;
    return fv_concat(m, 4, ((int[]){b1, b2, b3, b4}), .name = fv_zoo_fmt(n, "%s.cat", pfx));
}

/* torchvision's InceptionAux: adaptive average pool to 4x4, 1x1 conv 128, fc 1024, ReLU,
 * dropout 0.7, fc classes. Its logits are node "<pfx>.fc2". */
static int aux_head(fv_model *m, int x, const char *pfx, const fv_zoo_args *a)
{
    char n[ZOO_NAME];
    x = fv_zoo_adaptive_avg(m, x, 4, 4, fv_zoo_fmt(n, "%s.avgpool", pfx));
    x = fv_flatten(m, basic_conv(m, x, fv_zoo_fmt(n, "%s.conv", pfx), 128, 1, 1, 0));
    x = fv_dense(m, x, .units = 1024, .activation = FV_ACT_RELU, .name = fv_zoo_fmt(n, "%s.fc1", pfx));
    x = fv_dropout(m, x, .rate = 0.7f);
    return fv_dense(m, x, .units = a->num_classes, .name = fv_zoo_fmt(n, "%s.fc2", pfx));
}

int fv_zoo_googlenet(fv_model *m, int x, const fv_zoo_args *a)
{
    static const struct {
        const char *name;
        int c[6];
        int pool_after; /* 0 none, 3: 3x3/2, 2: 2x2/2 (ceil mode) */
    } mods[9] = {
        {"inception3a", {64, 96, 128, 16, 32, 32}, 0},
        {"inception3b", {128, 128, 192, 32, 96, 64}, 3},
        {"inception4a", {192, 96, 208, 16, 48, 64}, 0},
        {"inception4b", {160, 112, 224, 24, 64, 64}, 0},
        {"inception4c", {128, 128, 256, 24, 64, 64}, 0},
        {"inception4d", {112, 144, 288, 32, 64, 64}, 0},
        {"inception4e", {256, 160, 320, 32, 128, 128}, 2},
        {"inception5a", {256, 160, 320, 32, 128, 128}, 0},
        {"inception5b", {384, 192, 384, 48, 128, 128}, 0},
    };
    x = basic_conv(m, x, "conv1", 64, 7, 2, 3);
    x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .ceil_mode = 1, .name = "maxpool1");
    x = basic_conv(m, x, "conv2", 64, 1, 1, 0);
    x = basic_conv(m, x, "conv3", 192, 3, 1, 1);
    x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .ceil_mode = 1, .name = "maxpool2");
    for (int i = 0; i < 9 && x >= 0; i++) {
        x = inception(m, x, mods[i].name, mods[i].c);
        if (a->aux_logits && !a->no_top && (i == 2 || i == 5) && aux_head(m, x, i == 2 ? "aux1" : "aux2", a) < 0)
            return -1;
        if (mods[i].pool_after)
            x = fv_maxpool2d(m, x, .size = mods[i].pool_after, .stride = 2, .ceil_mode = 1,
                             .name = mods[i].pool_after == 3 ? "maxpool3" : "maxpool4");
    }
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    x = fv_dropout(m, x, .rate = a->dropout, .name = "dropout");
    return fv_dense(m, x, .units = a->num_classes, .name = "fc");
}

/* ---------------------------------------------------------------- MobileNet v1 */

/* Howard et al. 2017, Table 1: a 3x3/2 stem of 32, then 13 depthwise separable blocks (3x3
 * depthwise + BN + ReLU, 1x1 pointwise + BN + ReLU); channels scaled by alpha (as Keras:
 * int(c alpha)); global average pooling, dropout, fc. */
int fv_zoo_mobilenet_v1(fv_model *m, int x, const fv_zoo_args *a)
{
    static const int ch[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
    static const int st[13] = {1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1};
    char n[ZOO_NAME], b[ZOO_NAME];
    int in_ch = (int)(32 * a->width_mult);
    x = fv_zoo_conv_bn(m, x, "conv1", "bn1", in_ch, 3, 2, 1, 1, 1e-3f, FV_ACT_RELU);
    for (int i = 0; i < 13; i++) {
        int out = (int)(ch[i] * a->width_mult);
        x = fv_zoo_conv_bn(m, x, fv_zoo_fmt(n, "blocks.%d.dw", i), fv_zoo_fmt(b, "blocks.%d.dw_bn", i),
                        in_ch, 3, st[i], 1, in_ch, 1e-3f, FV_ACT_RELU);
        x = fv_zoo_conv_bn(m, x, fv_zoo_fmt(n, "blocks.%d.pw", i), fv_zoo_fmt(b, "blocks.%d.pw_bn", i),
                        out, 1, 1, 0, 1, 1e-3f, FV_ACT_RELU);
        in_ch = out;
    }
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    x = fv_dropout(m, x, .rate = a->dropout, .name = "dropout");
    return fv_dense(m, x, .units = a->num_classes, .name = "fc");
}

/* ---------------------------------------------------------------- MobileNet v2 */

/* torchvision's _make_divisible: the nearest multiple of 8, not below 90% of v. */
static int divisible8(double v)
{
    int r = (int)(v + 4) / 8 * 8;
    r = r < 8 ? 8 : r;
    return r < 0.9 * v ? r + 8 : r;
}

/* conv + BN (+ ReLU6), named pfx.0 and pfx.1 (torchvision's Conv2dNormActivation). */
static int conv_norm_act(fv_model *m, int x, const char *pfx, int f, int k, int s, int groups,
                         fv_act act)
{
    char c[ZOO_NAME], b[ZOO_NAME];
    return fv_zoo_conv_bn(m, x, fv_zoo_fmt(c, "%s.0", pfx), fv_zoo_fmt(b, "%s.1", pfx), f, k, s, k / 2,
                       groups, 1e-5f, act);
}

/* The inverted residual: expand 1x1 (t > 1), 3x3 depthwise, linear 1x1 projection + BN, and the
 * identity shortcut when the stride is 1 and the channels match. */
static int inverted_residual(fv_model *m, int x, int idx, int in_ch, int out_ch, int s, int t)
{
    char p[ZOO_NAME], q[ZOO_NAME];
    int hidden = (int)lround((double)in_ch * t), y = x, j = 0;
    if (t != 1)
        y = conv_norm_act(m, y, fv_zoo_fmt(p, "features.%d.conv.%d", idx, j++), hidden, 1, 1, 1,
                          FV_ACT_RELU6);
    y = conv_norm_act(m, y, fv_zoo_fmt(p, "features.%d.conv.%d", idx, j++), hidden, 3, s, hidden,
                      FV_ACT_RELU6);
    y = fv_zoo_conv_bn(m, y, fv_zoo_fmt(p, "features.%d.conv.%d", idx, j),
                    fv_zoo_fmt(q, "features.%d.conv.%d", idx, j + 1), out_ch, 1, 1, 0, 1, 1e-5f,
                    FV_ACT_NONE);
    if (s != 1 || in_ch != out_ch || y < 0)
        return y;
    return fv_add(m, 2, ((int[]){y, x}), .name = fv_zoo_fmt(p, "features.%d.add", idx));
}

int fv_zoo_mobilenet_v2(fv_model *m, int x, const fv_zoo_args *a)
{
    static const int cfg[7][4] = {{1, 16, 1, 1},  {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1},  {6, 160, 3, 2}, {6, 320, 1, 1}};
    double wm = a->width_mult;
    int in_ch = divisible8(32 * wm), idx = 1;
    int last = divisible8(1280 * (wm > 1 ? wm : 1));
    x = conv_norm_act(m, x, "features.0", in_ch, 3, 2, 1, FV_ACT_RELU6);
    for (int i = 0; i < 7; i++) {
        int out = divisible8(cfg[i][1] * wm);
        for (int r = 0; r < cfg[i][2] && x >= 0; r++) {
            x = inverted_residual(m, x, idx++, in_ch, out, r == 0 ? cfg[i][3] : 1, cfg[i][0]);
            in_ch = out;
        }
    }
    char p[ZOO_NAME];
    x = conv_norm_act(m, x, fv_zoo_fmt(p, "features.%d", idx), last, 1, 1, 1, FV_ACT_RELU6);
    x = fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->no_top)
        return x; /* the features */
    x = fv_dropout(m, x, .rate = a->dropout, .name = "classifier.0");
    return fv_dense(m, x, .units = a->num_classes, .name = "classifier.1");
}
