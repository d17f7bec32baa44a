/* zoo_nasnet.c - NASNet-A Mobile (Zoph et al. 2018, "Learning Transferable Architectures for
 * Scalable Image Recognition", 4 @ 1056) as Keras defines keras.applications.NASNetMobile:
 * 224x224 input, a 3x3/2 stem of 32, two reduction cells as the stem (11 and 22 filters), then
 * three stacks of four normal cells (44, 88, 176 filters) with a reduction cell between them,
 * ReLU, global average pooling and the classifier (logits here; Keras adds the softmax).
 * Layers carry Keras' names (stem_conv1, normal_conv_1_0, separable_conv_1_normal_left1_0, ...;
 * a separable convolution's two halves are "<name>_dw" and "<name>_pw"). Every batch norm has
 * Keras' eps 0.001 and momentum 0.9997 (PyTorch's 0.0003); no convolution has a bias.
 *
 * Keras' padding is kept exactly: a strided separable convolution or pooling first zero-pads
 * with imagenet_utils.correct_pad (k/2 on each side, one less on top and left when the side is
 * even) and then runs without padding, so the max and average pooling of reduction cells see
 * those zeros; the stride-1 3x3 average pooling with padding="same" divides by the cells inside
 * the map (count_include_pad=False). */
#include "models/zoo.h"

/* Keras BatchNormalization(momentum=0.9997, epsilon=1e-3), no activation. */
static int bn(fv_model *m, int x, const char *name)
{
    return fv_batchnorm(m, x, .eps = 1e-3f, .momentum = 3e-4f, .name = name);
}

/* Node x's extent along axis 0 (channels), 1 (height) or 2 (width); -1 if it failed. */
static int64_t extent(const fv_model *m, int x, int axis)
{
    int64_t d[4] = {0};
    return x >= 0 && fv_node_shape(m, x, d) == 3 ? d[axis] : -1;
}

/* ZeroPadding2D(imagenet_utils.correct_pad(x, k)): k / 2 on each side, one less on the top
 * (left) when the height (width) is even. */
static int correct_pad(fv_model *m, int x, int k, const char *name)
{
    int64_t h = extent(m, x, 1), w = extent(m, x, 2);
    if (h < 0)
        return -1;
    return fv_zero_padding2d(m, x, .top = k / 2 - (h % 2 == 0), .bottom = k / 2,
                             .left = k / 2 - (w % 2 == 0), .right = k / 2, .name = name);
}

/* 1x1 convolution without bias. */
static int conv1x1(fv_model *m, int x, int f, const char *name)
{
    return fv_conv2d(m, x, .filters = f, .kernel = 1, .no_bias = 1, .name = name);
}

/* _separable_conv_block: [ReLU, separable k x k (stride s), BN] twice, the second at stride 1.
 * rx is the block's input already rectified (blocks reading the same input share the ReLU). */
static int sep_block(fv_model *m, int rx, int f, int k, int s, const char *id)
{
    char n[ZOO_NAME], b[ZOO_NAME];
    int x = s == 2 ? correct_pad(m, rx, k, fv_zoo_fmt(n, "separable_conv_1_pad_%s", id)) : rx;
    x = fv_separable_conv2d(m, x, 1, .filters = f, .kernel = k, .stride = s,
                            .padding = s == 2 ? 0 : k / 2, .no_bias = 1,
                            .name = fv_zoo_fmt(n, "separable_conv_1_%s", id));
    x = fv_relu(m, bn(m, x, fv_zoo_fmt(b, "separable_conv_1_bn_%s", id)));
    x = fv_separable_conv2d(m, x, 1, .filters = f, .kernel = k, .padding = k / 2, .no_bias = 1,
                            .name = fv_zoo_fmt(n, "separable_conv_2_%s", id));
    return bn(m, x, fv_zoo_fmt(b, "separable_conv_2_bn_%s", id));
}

/* _adjust_block: the previous cell's output p brought to ip's size and `f` channels. A map twice
 * as large: ReLU, then two 1x1/2 samplings, the second shifted by one pixel (pad bottom and
 * right, crop top and left), each through a 1x1 convolution to f/2, concatenated, BN. Other
 * channel counts: ReLU, 1x1 convolution, BN. */
static int adjust(fv_model *m, int p, int ip, int f, const char *id)
{
    char n[ZOO_NAME], c[ZOO_NAME];
    if (p < 0 || ip < 0)
        return -1;
    if (extent(m, p, 2) != extent(m, ip, 2)) { /* Keras compares the widths */
        p = fv_relu(m, p, .name = fv_zoo_fmt(n, "adjust_relu_1_%s", id));
        int p1 = fv_avgpool2d(m, p, .size = 1, .stride = 2,
                              .name = fv_zoo_fmt(n, "adjust_avg_pool_1_%s", id));
        p1 = conv1x1(m, p1, f / 2, fv_zoo_fmt(c, "adjust_conv_1_%s", id));
        int p2 = fv_zero_padding2d(m, p, .bottom = 1, .right = 1,
                                   .name = fv_zoo_fmt(n, "adjust_pad_%s", id));
        p2 = fv_cropping2d(m, p2, .top = 1, .left = 1, .name = fv_zoo_fmt(n, "adjust_crop_%s", id));
        p2 = fv_avgpool2d(m, p2, .size = 1, .stride = 2,
                          .name = fv_zoo_fmt(n, "adjust_avg_pool_2_%s", id));
        p2 = conv1x1(m, p2, f / 2, fv_zoo_fmt(c, "adjust_conv_2_%s", id));
        if (p1 < 0 || p2 < 0)
            return -1;
        p = fv_concat(m, 2, ((int[]){p1, p2}), .name = fv_zoo_fmt(n, "adjust_concat_%s", id));
        return bn(m, p, fv_zoo_fmt(n, "adjust_bn_%s", id));
    }
    if (extent(m, p, 0) != f) {
        p = conv1x1(m, fv_relu(m, p), f, fv_zoo_fmt(c, "adjust_conv_projection_%s", id));
        return bn(m, p, fv_zoo_fmt(n, "adjust_bn_%s", id));
    }
    return p;
}

/* The cell's h from its rectified input rip: 1x1 convolution to f, BN (named <kind>_conv_1_<id>,
 * <kind>_bn_1_<id>). */
static int squeeze(fv_model *m, int rip, int f, const char *kind, const char *id)
{
    char n[ZOO_NAME];
    int h = conv1x1(m, rip, f, fv_zoo_fmt(n, "%s_conv_1_%s", kind, id));
    return bn(m, h, fv_zoo_fmt(n, "%s_bn_1_%s", kind, id));
}

static int add2(fv_model *m, int a, int b, const char *name)
{
    if (a < 0 || b < 0)
        return -1;
    return fv_add(m, 2, ((int[]){a, b}), .name = name);
}

/* 3x3 average pooling, stride 1, padding="same": count_include_pad=False. */
static int avg_same(fv_model *m, int x, const char *name)
{
    return fv_avgpool2d(m, x, .size = 3, .stride = 1, .padding = 1, .exclude_pad = 1,
                        .name = name);
}

/* Names "<what>_<id>" (ZOO_NAME bytes in buf). */
static const char *nm(char *buf, const char *what, const char *id)
{
    return fv_zoo_fmt(buf, "%s_%s", what, id);
}

/* Normal cell (the paper's Figure 4, left): five pairwise sums over h (this input, squeezed) and
 * p (the previous cell's output, adjusted), concatenated with p: 6 f channels. */
static int normal_cell(fv_model *m, int ip, int *p, int f, const char *id)
{
    char n[ZOO_NAME];
    int pp = adjust(m, *p, ip, f, id);
    int h = squeeze(m, fv_relu(m, ip), f, "normal", id);
    int rh = fv_relu(m, h), rp = fv_relu(m, pp);
    *p = ip;
    int a = sep_block(m, rh, f, 5, 1, nm(n, "normal_left1", id));
    int b = sep_block(m, rp, f, 3, 1, nm(n, "normal_right1", id));
    int x1 = add2(m, a, b, nm(n, "normal_add_1", id));
    a = sep_block(m, rp, f, 5, 1, nm(n, "normal_left2", id));
    b = sep_block(m, rp, f, 3, 1, nm(n, "normal_right2", id));
    int x2 = add2(m, a, b, nm(n, "normal_add_2", id));
    a = avg_same(m, h, nm(n, "normal_left3", id));
    int x3 = add2(m, a, pp, nm(n, "normal_add_3", id));
    a = avg_same(m, pp, nm(n, "normal_left4", id));
    b = avg_same(m, pp, nm(n, "normal_right4", id));
    int x4 = add2(m, a, b, nm(n, "normal_add_4", id));
    a = sep_block(m, rh, f, 3, 1, nm(n, "normal_left5", id));
    int x5 = add2(m, a, h, nm(n, "normal_add_5", id));
    if (pp < 0 || x1 < 0 || x2 < 0 || x3 < 0 || x4 < 0 || x5 < 0)
        return -1;
    return fv_concat(m, 6, ((int[]){pp, x1, x2, x3, x4, x5}), .name = nm(n, "normal_concat", id));
}

/* Reduction cell (Figure 4, right): every path at stride 2, the poolings over h zero-padded
 * once (h3); 4 f channels. */
static int reduction_cell(fv_model *m, int ip, int *p, int f, const char *id)
{
    char n[ZOO_NAME];
    int pp = *p < 0 ? ip : adjust(m, *p, ip, f, id); /* the first cell: p is the input */
    int rip = fv_relu(m, ip);
    int h = squeeze(m, rip, f, "reduction", id);
    int h3 = correct_pad(m, h, 3, nm(n, "reduction_pad_1", id));
    int rh = fv_relu(m, h), rp = pp == ip ? rip : fv_relu(m, pp);
    *p = ip;
    int a = sep_block(m, rh, f, 5, 2, nm(n, "reduction_left1", id));
    int b = sep_block(m, rp, f, 7, 2, nm(n, "reduction_right1", id));
    int x1 = add2(m, a, b, nm(n, "reduction_add_1", id));
    a = fv_maxpool2d(m, h3, .size = 3, .stride = 2, .name = nm(n, "reduction_left2", id));
    b = sep_block(m, rp, f, 7, 2, nm(n, "reduction_right2", id));
    int x2 = add2(m, a, b, nm(n, "reduction_add_2", id));
    a = fv_avgpool2d(m, h3, .size = 3, .stride = 2, .name = nm(n, "reduction_left3", id));
    b = sep_block(m, rp, f, 5, 2, nm(n, "reduction_right3", id));
    int x3 = add2(m, a, b, nm(n, "reduction_add3", id));
    a = avg_same(m, x1, nm(n, "reduction_left4", id));
    int x4 = add2(m, x2, a, nm(n, "reduction_add_4", id)); /* unnamed in Keras */
    a = sep_block(m, fv_relu(m, x1), f, 3, 1, nm(n, "reduction_left4", id));
    b = fv_maxpool2d(m, h3, .size = 3, .stride = 2, .name = nm(n, "reduction_right5", id));
    int x5 = add2(m, a, b, nm(n, "reduction_add4", id));
    if (x2 < 0 || x3 < 0 || x4 < 0 || x5 < 0)
        return -1;
    return fv_concat(m, 4, ((int[]){x2, x3, x4, x5}), .name = nm(n, "reduction_concat", id));
}

/* Keras' NASNet(penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
 * skip_reduction=False, filter_multiplier=2). */
int fv_zoo_nasnet_mobile(fv_model *m, int x, const fv_zoo_args *a)
{
    enum { BLOCKS = 4, FILTERS = 1056 / 24, MULT = 2 };
    char id[ZOO_NAME];
    x = fv_conv2d(m, x, .filters = 32, .kernel = 3, .stride = 2, .no_bias = 1,
                  .name = "stem_conv1");
    x = bn(m, x, "stem_bn1");
    int p = -1;
    x = reduction_cell(m, x, &p, FILTERS / (MULT * MULT), "stem_1");
    x = reduction_cell(m, x, &p, FILTERS / MULT, "stem_2");
    for (int stack = 0, f = FILTERS; stack < 3; stack++, f *= MULT) {
        if (stack > 0)
            x = reduction_cell(m, x, &p, f, fv_zoo_fmt(id, "reduce_%d", stack * BLOCKS));
        for (int i = 0; i < BLOCKS; i++)
            x = normal_cell(m, x, &p, f,
                            fv_zoo_fmt(id, "%d", stack * BLOCKS + i + (stack > 0)));
        if (x < 0)
            return -1;
    }
    x = fv_global_avgpool2d(m, fv_relu(m, x), .name = "avg_pool");
    if (a->no_top)
        return x; /* the features */
    return fv_dense(m, x, .units = a->num_classes, .name = "predictions");
}
