/* zoo_seg.c - the segmentation networks of the zoo: FCN-32s, FCN-16s and FCN-8s (Long et al.
 * 2015) on a small VGG-style fovea backbone (five blocks of two 3x3 convolutions with batch norm
 * and ReLU, each halving the map by max pooling; fc6 and fc7 as 1x1 convolutions), with
 * transposed convolutions initialised as bilinear upsampling and zero-initialised skip scores
 * from pool4 and pool3; and U-Net (Ronneberger et al. 2015: four levels down and up, same
 * padding, batch norm, 2x2 transposed convolutions, skip concatenation). Both pad the input at
 * the bottom and right to a multiple of their total stride (32 and 16) and crop the logits back,
 * so any input size works; the output is (classes, H, W) logits for the per-pixel losses. */
#include "models/zoo.h"

/* Width of the first level: 16 channels times width_mult (at least 1). */
static int base_width(const fv_zoo_args *a)
{
    int b = (int)(16 * a->width_mult + 0.5f);
    return b > 0 ? b : 1;
}

/* Pads the input at the bottom and right to a multiple of `mult`. */
static int pad_to(fv_model *m, int x, const fv_zoo_args *a, int mult)
{
    int ph = (mult - a->height % mult) % mult, pw = (mult - a->width % mult) % mult;
    if (!ph && !pw)
        return x;
    return fv_zero_padding2d(m, x, .bottom = ph, .right = pw, .name = "pad");
}

/* Crops the logits back to the input's size (undoes pad_to). */
static int crop_back(fv_model *m, int x, const fv_zoo_args *a, int mult)
{
    int ph = (mult - a->height % mult) % mult, pw = (mult - a->width % mult) % mult;
    if (!ph && !pw)
        return x;
    return fv_cropping2d(m, x, .bottom = ph, .right = pw, .name = "crop");
}

/* Two 3x3 convolutions (same padding, no bias) with batch norm and ReLU: NAME.conv1 ... */
static int double_conv(fv_model *m, int x, const char *name, int filters)
{
    char c[ZOO_NAME], b[ZOO_NAME];
    for (int i = 1; i <= 2; i++)
        x = fv_zoo_conv_bn(m, x, fv_zoo_fmt(c, "%s.conv%d", name, i),
                           fv_zoo_fmt(b, "%s.bn%d", name, i), filters, 3, 1, 1, 1, 1e-5f,
                           FV_ACT_RELU);
    return x;
}

/* An upsampling by `f` (2, 8, 16 or 32) of the class scores, initialised bilinear. */
static int upscore(fv_model *m, int x, int classes, int f, const char *name)
{
    return fv_conv2d_transpose(m, x, .filters = classes, .kernel = 2 * f, .stride = f,
                               .padding = f / 2, .no_bias = 1, .init = FV_INIT_BILINEAR,
                               .name = name);
}

/* A 1x1 score layer of a skip (zero-initialised, as FCN's, so training starts from the coarser
 * network's prediction). */
static int skip_score(fv_model *m, int x, int classes, const char *name)
{
    return fv_conv2d(m, x, .filters = classes, .kernel = 1, .init = FV_INIT_ZEROS, .name = name);
}

/* FCN with stride 32, 16 or 8 at the output. */
static int fcn(fv_model *m, int x, const fv_zoo_args *a, int stride)
{
    int b = base_width(a), k = a->num_classes, pool[6] = {0};
    static const int mult[5] = {1, 2, 4, 8, 8};
    char name[ZOO_NAME];
    x = pad_to(m, x, a, 32);
    for (int i = 0; i < 5; i++) {
        x = double_conv(m, x, fv_zoo_fmt(name, "block%d", i + 1), b * mult[i]);
        x = pool[i + 1] = fv_maxpool2d(m, x, .size = 2, .name = fv_zoo_fmt(name, "pool%d", i + 1));
    }
    x = fv_conv2d(m, x, .filters = 16 * b, .kernel = 1, .activation = FV_ACT_RELU, .name = "fc6");
    if (a->dropout > 0)
        x = fv_dropout(m, x, .rate = a->dropout, .name = "drop6");
    x = fv_conv2d(m, x, .filters = 16 * b, .kernel = 1, .activation = FV_ACT_RELU, .name = "fc7");
    if (a->no_top) /* the encoder's features, pooled (Keras' include_top=False) */
        return fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->dropout > 0)
        x = fv_dropout(m, x, .rate = a->dropout, .name = "drop7");
    x = fv_conv2d(m, x, .filters = k, .kernel = 1, .name = "score_fr");
    if (stride <= 16) {
        x = upscore(m, x, k, 2, "upscore2");
        int s4 = skip_score(m, pool[4], k, "score_pool4");
        x = fv_add(m, 2, ((int[]){x, s4}), .name = "fuse_pool4");
    }
    if (stride == 8) {
        x = upscore(m, x, k, 2, "upscore_pool4");
        int s3 = skip_score(m, pool[3], k, "score_pool3");
        x = fv_add(m, 2, ((int[]){x, s3}), .name = "fuse_pool3");
    }
    x = upscore(m, x, k, stride, stride == 32 ? "upscore32" : stride == 16 ? "upscore16"
                                                                            : "upscore8");
    return crop_back(m, x, a, 32);
}

int fv_zoo_fcn32s(fv_model *m, int x, const fv_zoo_args *a) { return fcn(m, x, a, 32); }
int fv_zoo_fcn16s(fv_model *m, int x, const fv_zoo_args *a) { return fcn(m, x, a, 16); }
int fv_zoo_fcn8s(fv_model *m, int x, const fv_zoo_args *a) { return fcn(m, x, a, 8); }

int fv_zoo_unet(fv_model *m, int x, const fv_zoo_args *a)
{
    int b = base_width(a), skip[4];
    char name[ZOO_NAME];
    x = pad_to(m, x, a, 16);
    for (int i = 0; i < 4; i++) {
        skip[i] = double_conv(m, x, fv_zoo_fmt(name, "down%d", i + 1), b << i);
        x = fv_maxpool2d(m, skip[i], .size = 2, .name = fv_zoo_fmt(name, "pool%d", i + 1));
    }
    x = double_conv(m, x, "bottom", b << 4);
    if (a->no_top) /* the encoder's features, pooled (Keras' include_top=False) */
        return fv_global_avgpool2d(m, x, .name = "avgpool");
    if (a->dropout > 0)
        x = fv_dropout(m, x, .rate = a->dropout, .name = "drop");
    for (int i = 3; i >= 0; i--) {
        x = fv_conv2d_transpose(m, x, .filters = b << i, .kernel = 2, .stride = 2,
                                .name = fv_zoo_fmt(name, "up%d.upconv", i + 1));
        x = fv_concat(m, 2, ((int[]){skip[i], x}), .name = fv_zoo_fmt(name, "up%d.cat", i + 1));
        x = double_conv(m, x, fv_zoo_fmt(name, "up%d", i + 1), b << i);
    }
    x = fv_conv2d(m, x, .filters = a->num_classes, .kernel = 1, .name = "score");
    return crop_back(m, x, a, 16);
}
