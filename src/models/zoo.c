/* zoo.c - the model zoo's front door and the plain stacks: the name table fv_zoo() dispatches
 * on, shared building blocks (convolution + batch norm + activation with torchvision's names,
 * adaptive pooling to a fixed grid), and LeNet-5, AlexNet (torchvision's, Krizhevsky's original
 * with LRN and two groups, the course's batch-norm variant), ZFNet and VGG (the paper's
 * configurations A to E and torchvision's names). Residual, inception and mobile networks live
 * in zoo_modern.c, Inception v3 in zoo_inception.c, NASNet-A Mobile in zoo_nasnet.c. Every builder returns an uncompiled model whose parameter names match
 * torchvision's where torchvision has the network. */
#include "models/zoo.h"

#include <stdarg.h>
#include <string.h>

/* ---------------------------------------------------------------- shared blocks */

const char *fv_zoo_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, ZOO_NAME, fmt, ap);
    va_end(ap);
    return buf;
}

int fv_zoo_conv_bn(fv_model *m, int in, const char *conv_name, const char *bn_name, int filters,
                int k, int stride, int pad, int groups, float eps, fv_act act)
{
    int c = fv_conv2d(m, in, .filters = filters, .kernel = k, .stride = stride, .padding = pad,
                      .groups = groups, .no_bias = 1, .name = conv_name);
    return fv_zoo_bn_act(m, c, bn_name, eps, act);
}

int fv_zoo_bn_act(fv_model *m, int in, const char *bn_name, float eps, fv_act act)
{
    int b = fv_batchnorm(m, in, .eps = eps, .name = bn_name);
    return act == FV_ACT_NONE ? b : fv_activation(m, b, act);
}

/* The spatial size of node n (C, H, W). */
static void spatial(const fv_model *m, int n, int64_t *h, int64_t *w)
{
    int64_t d[4] = {0};
    int nd = n >= 0 ? fv_node_shape(m, n, d) : 0;
    *h = nd == 3 ? d[1] : 0;
    *w = nd == 3 ? d[2] : 0;
}

int fv_zoo_adaptive_avg(fv_model *m, int in, int oh, int ow, const char *name)
{
    if (in < 0)
        return -1;
    int64_t h, w;
    spatial(m, in, &h, &w);
    if (h == oh && w == ow)
        return in; /* already the grid: PyTorch's adaptive pooling is the identity */
    return fv_adaptive_avgpool2d(m, in, .output_h = oh, .output_w = ow, .name = name);
}

/* Without the top (no_top): the features end in global average pooling, (C, H, W) -> (C), as
 * Keras' include_top=False with pooling="avg", in place of the classifier. */
static int no_top_pool(fv_model *m, int x)
{
    return fv_global_avgpool2d(m, x, .name = "avgpool");
}

/* ---------------------------------------------------------------- LeNet-5 */

static int lenet5(fv_model *m, int x, const fv_zoo_args *a)
{
    x = fv_conv2d(m, x, .filters = 6, .kernel = 5, .padding = 2, .activation = FV_ACT_RELU,
                  .name = "conv1");
    x = fv_maxpool2d(m, x, .size = 2);
    x = fv_conv2d(m, x, .filters = 16, .kernel = 5, .activation = FV_ACT_RELU, .name = "conv2");
    x = fv_maxpool2d(m, x, .size = 2);
    if (a->no_top)
        return no_top_pool(m, x);
    x = fv_flatten(m, x);
    x = fv_dense(m, x, .units = 120, .activation = FV_ACT_RELU, .name = "fc1");
    x = fv_dense(m, x, .units = 84, .activation = FV_ACT_RELU, .name = "fc2");
    return fv_dense(m, x, .units = a->num_classes, .name = "fc3");
}

/* ---------------------------------------------------------------- AlexNet family */

/* torchvision AlexNet's head: dropout, fc 4096, relu, dropout, fc 4096, relu, fc. */
static int tv_classifier(fv_model *m, int x, const fv_zoo_args *a)
{
    x = fv_flatten(m, x);
    x = fv_dropout(m, x, .rate = a->dropout, .name = "classifier.0");
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "classifier.1");
    x = fv_dropout(m, x, .rate = a->dropout, .name = "classifier.3");
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "classifier.4");
    return fv_dense(m, x, .units = a->num_classes, .name = "classifier.6");
}

/* torchvision's AlexNet (the single-GPU "one weird trick" layout: 64-192-384-256-256). */
static int alexnet(fv_model *m, int x, const fv_zoo_args *a)
{
    static const struct {
        int idx, f, k, s, p, pool;
    } c[5] = {{0, 64, 11, 4, 2, 1}, {3, 192, 5, 1, 2, 1}, {6, 384, 3, 1, 1, 0},
              {8, 256, 3, 1, 1, 0}, {10, 256, 3, 1, 1, 1}};
    char n[ZOO_NAME];
    for (int i = 0; i < 5; i++) {
        x = fv_conv2d(m, x, .filters = c[i].f, .kernel = c[i].k, .stride = c[i].s,
                      .padding = c[i].p, .activation = FV_ACT_RELU,
                      .name = fv_zoo_fmt(n, "features.%d", c[i].idx));
        if (c[i].pool)
            x = fv_maxpool2d(m, x, .size = 3, .stride = 2);
    }
    if (a->no_top)
        return no_top_pool(m, x);
    x = fv_zoo_adaptive_avg(m, x, 6, 6, "avgpool");
    return tv_classifier(m, x, a);
}

/* The 2012-2013 papers' head (Caffe's names): dropout, fc6 4096, dropout, fc7 4096, fc8. */
static int fc678(fv_model *m, int x, const fv_zoo_args *a)
{
    if (a->no_top)
        return no_top_pool(m, x);
    x = fv_dropout(m, fv_flatten(m, x), .rate = a->dropout);
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "fc6");
    x = fv_dropout(m, x, .rate = a->dropout);
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "fc7");
    return fv_dense(m, x, .units = a->num_classes, .name = "fc8");
}

/* Krizhevsky et al. 2012 as trained on two GPUs: 96-256-384-384-256 filters, conv2, conv4 and
 * conv5 in two groups (each GPU sees its own half), LRN (k 2, n 5, alpha 1e-4, beta 0.75) after
 * conv1 and conv2, overlapping 3/2 max pooling; 227x227 input. */
static int alexnet_original(fv_model *m, int x, const fv_zoo_args *a)
{
    static const struct {
        int f, k, s, p, g, lrn, pool;
    } c[5] = {{96, 11, 4, 0, 1, 1, 1}, {256, 5, 1, 2, 2, 1, 1}, {384, 3, 1, 1, 1, 0, 0},
              {384, 3, 1, 1, 2, 0, 0}, {256, 3, 1, 1, 2, 0, 1}};
    char n[ZOO_NAME];
    for (int i = 0; i < 5; i++) {
        x = fv_conv2d(m, x, .filters = c[i].f, .kernel = c[i].k, .stride = c[i].s,
                      .padding = c[i].p, .groups = c[i].g, .activation = FV_ACT_RELU,
                      .name = fv_zoo_fmt(n, "conv%d", i + 1));
        if (c[i].lrn)
            x = fv_lrn(m, x, .size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 2,
                       .name = fv_zoo_fmt(n, "norm%d", i + 1));
        if (c[i].pool)
            x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .name = fv_zoo_fmt(n, "pool%d", i + 1));
    }
    return fc678(m, x, a);
}

/* The course's AlexNet variant (lecture 004's Keras table): 96 11x11/4, BN, pool, 256 5x5 same,
 * BN, pool, 384 3x3 same, BN, 384 1x1, BN, 256 1x1, BN, pool, fc 4096, dropout, fc 4096,
 * dropout, classes; ReLU after every convolution and hidden dense layer; 227x227 input. */
static int alexnet_bn(fv_model *m, int x, const fv_zoo_args *a)
{
    static const struct {
        int f, k, p, pool;
    } c[5] = {{96, 11, 0, 1}, {256, 5, 2, 1}, {384, 3, 1, 0}, {384, 1, 0, 0}, {256, 1, 0, 1}};
    char n[ZOO_NAME];
    for (int i = 0; i < 5; i++) {
        x = fv_conv2d(m, x, .filters = c[i].f, .kernel = c[i].k, .stride = i == 0 ? 4 : 1,
                      .padding = c[i].p, .activation = FV_ACT_RELU,
                      .name = fv_zoo_fmt(n, "conv%d", i + 1));
        x = fv_batchnorm(m, x, .eps = 1e-3f, .momentum = 0.01f, .name = fv_zoo_fmt(n, "bn%d", i + 1));
        if (c[i].pool)
            x = fv_maxpool2d(m, x, .size = 3, .stride = 2);
    }
    if (a->no_top)
        return no_top_pool(m, x);
    x = fv_dense(m, fv_flatten(m, x), .units = 4096, .activation = FV_ACT_RELU, .name = "fc1");
    x = fv_dense(m, fv_dropout(m, x, .rate = a->dropout), .units = 4096,
                 .activation = FV_ACT_RELU, .name = "fc2");
    return fv_dense(m, fv_dropout(m, x, .rate = a->dropout), .units = a->num_classes,
                    .name = "fc3");
}

/* Zeiler & Fergus 2013: 96 7x7/2, 3x3/2 pool, LRN; 256 5x5/2, pool, LRN; 384, 384, 256 3x3;
 * pool; fc 4096, 4096; 224 -> 110 -> 55 -> 26 -> 13 -> 6 as in their Figure 3. */
static int zfnet(fv_model *m, int x, const fv_zoo_args *a)
{
    static const struct {
        int f, k, s, p, lrn, pool;
    } c[5] = {{96, 7, 2, 1, 1, 1}, {256, 5, 2, 0, 1, 1}, {384, 3, 1, 1, 0, 0},
              {384, 3, 1, 1, 0, 0}, {256, 3, 1, 1, 0, 1}};
    char n[ZOO_NAME];
    for (int i = 0; i < 5; i++) {
        x = fv_conv2d(m, x, .filters = c[i].f, .kernel = c[i].k, .stride = c[i].s,
                      .padding = c[i].p, .activation = FV_ACT_RELU,
                      .name = fv_zoo_fmt(n, "conv%d", i + 1));
        if (c[i].pool)
            x = fv_maxpool2d(m, x, .size = 3, .stride = 2, .ceil_mode = 1,
                             .name = fv_zoo_fmt(n, "pool%d", i + 1));
        if (c[i].lrn)
            x = fv_lrn(m, x, .size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 2,
                       .name = fv_zoo_fmt(n, "norm%d", i + 1));
    }
    return fc678(m, x, a);
}

/* ---------------------------------------------------------------- VGG */

/* Simonyan & Zisserman 2014, Table 1: 3 = 3x3 conv, 1 = 1x1 conv (config C), L = LRN (A-LRN),
 * M = max pool; the channel count doubles after each pool up to 512. */
static const char *const vgg_cfg[6] = {
    "3M3M33M33M33M", "3LM3M33M33M33M", "33M33M33M33M33M", "33M33M331M331M331M",
    "33M33M333M333M333M", "33M33M3333M3333M3333M",
};

static int vgg(fv_model *m, int x, const fv_zoo_args *a, int cfg, int bn)
{
    char n[ZOO_NAME];
    int idx = 0, ch = 64;
    for (const char *p = vgg_cfg[cfg]; *p; p++) {
        if (*p == 'M') {
            x = fv_maxpool2d(m, x, .size = 2, .name = fv_zoo_fmt(n, "features.%d", idx++));
            ch = ch < 512 ? ch * 2 : 512;
        } else if (*p == 'L') {
            x = fv_lrn(m, x, .size = 5, .alpha = 1e-4f, .beta = 0.75f, .k = 2,
                       .name = fv_zoo_fmt(n, "features.%d", idx++));
        } else {
            int k = *p == '1' ? 1 : 3;
            x = fv_conv2d(m, x, .filters = ch, .kernel = k, .padding = k / 2,
                          .activation = bn ? FV_ACT_NONE : FV_ACT_RELU,
                          .name = fv_zoo_fmt(n, "features.%d", idx));
            if (bn)
                x = fv_zoo_bn_act(m, x, fv_zoo_fmt(n, "features.%d", idx + 1), 1e-5f, FV_ACT_RELU);
            idx += bn ? 3 : 2;
        }
    }
    if (a->no_top)
        return no_top_pool(m, x);
    x = fv_zoo_adaptive_avg(m, x, 7, 7, "avgpool");
    x = fv_flatten(m, x); /* torchvision's VGG head: fc, relu, dropout (classifier.0 ... .6) */
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "classifier.0");
    x = fv_dropout(m, x, .rate = a->dropout, .name = "classifier.2");
    x = fv_dense(m, x, .units = 4096, .activation = FV_ACT_RELU, .name = "classifier.3");
    x = fv_dropout(m, x, .rate = a->dropout, .name = "classifier.5");
    return fv_dense(m, x, .units = a->num_classes, .name = "classifier.6");
}

/* ---------------------------------------------------------------- the table */

typedef int (*zoo_fn)(fv_model *m, int x, const fv_zoo_args *a);

static int vgg_a(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 0, a->batch_norm); }
static int vgg_a_lrn(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 1, 0); }
static int vgg_b(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 2, a->batch_norm); }
static int vgg_c(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 3, a->batch_norm); }
static int vgg_d(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 4, a->batch_norm); }
static int vgg_e(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 5, a->batch_norm); }
static int vgg11_bn(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 0, 1); }
static int vgg13_bn(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 2, 1); }
static int vgg16_bn(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 4, 1); }
static int vgg19_bn(fv_model *m, int x, const fv_zoo_args *a) { return vgg(m, x, a, 5, 1); }

static const struct {
    const char *name;
    zoo_fn fn;
    int c, h;      /* default input: c x h x h */
    float dropout; /* default dropout */
    int classes;   /* default classes (0: ImageNet's 1000) */
    int w;         /* default input width when not the height */
} table[] = {
    {"lenet5", lenet5, 1, 28, 0, 10, 0},
    {"alexnet", alexnet, 3, 224, 0.5f, 0, 0},
    {"alexnet_original", alexnet_original, 3, 227, 0.5f, 0, 0},
    {"alexnet_bn", alexnet_bn, 3, 227, 0.5f, 0, 0},
    {"zfnet", zfnet, 3, 224, 0.5f, 0, 0},
    {"vgg11", vgg_a, 3, 224, 0.5f, 0, 0},
    {"vgg11_bn", vgg11_bn, 3, 224, 0.5f, 0, 0},
    {"vgg13", vgg_b, 3, 224, 0.5f, 0, 0},
    {"vgg13_bn", vgg13_bn, 3, 224, 0.5f, 0, 0},
    {"vgg16", vgg_d, 3, 224, 0.5f, 0, 0},
    {"vgg16_bn", vgg16_bn, 3, 224, 0.5f, 0, 0},
    {"vgg19", vgg_e, 3, 224, 0.5f, 0, 0},
    {"vgg19_bn", vgg19_bn, 3, 224, 0.5f, 0, 0},
    {"vgg_a", vgg_a, 3, 224, 0.5f, 0, 0},
    {"vgg_a_lrn", vgg_a_lrn, 3, 224, 0.5f, 0, 0},
    {"vgg_b", vgg_b, 3, 224, 0.5f, 0, 0},
    {"vgg_c", vgg_c, 3, 224, 0.5f, 0, 0},
    {"vgg_d", vgg_d, 3, 224, 0.5f, 0, 0},
    {"vgg_e", vgg_e, 3, 224, 0.5f, 0, 0},
    {"googlenet", fv_zoo_googlenet, 3, 224, 0.2f, 0, 0},
    {"inception_v3", fv_zoo_inception_v3, 3, 299, 0.5f, 0, 0},
    {"resnet18", fv_zoo_resnet18, 3, 224, 0, 0, 0},
    {"resnet34", fv_zoo_resnet34, 3, 224, 0, 0, 0},
    {"resnet50", fv_zoo_resnet50, 3, 224, 0, 0, 0},
    {"resnet101", fv_zoo_resnet101, 3, 224, 0, 0, 0},
    {"resnet152", fv_zoo_resnet152, 3, 224, 0, 0, 0},
    {"resnet20", fv_zoo_resnet20, 3, 32, 0, 10, 0},
    {"resnet18_cifar", fv_zoo_resnet18_cifar, 3, 32, 0, 10, 0},
    {"mobilenet_v1", fv_zoo_mobilenet_v1, 3, 224, 0.001f, 0, 0},
    {"mobilenet_v2", fv_zoo_mobilenet_v2, 3, 224, 0.2f, 0, 0},
    {"nasnet_mobile", fv_zoo_nasnet_mobile, 3, 224, 0, 0, 0},
    /* segmentation (zoo_seg.c): M2NIST's 1x64x84 scenes and 11 classes */
    {"fcn32s", fv_zoo_fcn32s, 1, 64, 0, 11, 84},
    {"fcn16s", fv_zoo_fcn16s, 1, 64, 0, 11, 84},
    {"fcn8s", fv_zoo_fcn8s, 1, 64, 0, 11, 84},
    {"unet", fv_zoo_unet, 1, 64, 0, 11, 84},
};
enum { NZOO = sizeof table / sizeof table[0] };

const char *fv_zoo_name(int i)
{
    return i >= 0 && i < NZOO ? table[i].name : NULL;
}

static fv_status check_args(const char *arch, const fv_zoo_args *a)
{
    if (a->num_classes < 1 || a->channels < 1 || a->height < 1 || a->width < 1 ||
        a->height > 4096 || a->width > 4096 || a->channels > 4096)
        return fv_err(FV_ERR_INVALID, "zoo '%s': classes=%d and input %dx%dx%d must be positive "
                      "(sides up to 4096)", arch, a->num_classes, a->channels, a->height, a->width);
    if (!(a->width_mult > 0 && a->width_mult <= 4) || !(a->dropout >= 0 && a->dropout < 1))
        return fv_err(FV_ERR_INVALID, "zoo '%s': width_mult=%g must be in (0, 4] and dropout=%g "
                      "in [0, 1)", arch, (double)a->width_mult, (double)a->dropout);
    fv_act act = a->activation; /* resnet20's only, and one value per element */
    if (act != FV_ACT_NONE && (strcmp(arch, "resnet20") != 0 || (int)act < 0 ||
                               act >= FV_ACT__COUNT || act == FV_ACT_SOFTMAX ||
                               act == FV_ACT_LOG_SOFTMAX))
        return fv_err(FV_ERR_INVALID, "zoo '%s': activation=%d: only resnet20 takes one, an "
                      "elementwise FV_ACT_*", arch, (int)act);
    return FV_OK;
}

/* Network k built for input (channels, h, w), or NULL. */
static fv_model *build(int k, const fv_zoo_args *a, int h, int w)
{
    fv_model *m = fv_model_new(table[k].name);
    if (!m)
        return NULL;
    m->no_size_search = 1; /* the whole network is searched, not the failing layer */
    int x = fv_input(m, .ndim = 3, .dims = {a->channels, h, w}, .name = "input");
    if (x < 0 || table[k].fn(m, x, a) < 0) {
        fv_model_free(m);
        return NULL;
    }
    m->no_size_search = 0; /* layers a caller adds are explained as usual */
    return m;
}

/* The smallest side s for which the network builds at (c, max(h, s), max(w, s)), searched by
 * doubling and bisection (its feature maps grow with its input); 0 when none up to 4096 does. */
static int smallest_side(int k, const fv_zoo_args *a)
{
    int lo = a->height < a->width ? a->height : a->width, hi = lo, found = 0;
    while (!found && hi < 4096) {
        lo = hi, hi = 2 * hi < 4096 ? 2 * hi : 4096;
        fv_model *m = build(k, a, a->height > hi ? a->height : hi, a->width > hi ? a->width : hi);
        found = m != NULL;
        fv_model_free(m);
    }
    while (found && hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        fv_model *m = build(k, a, a->height > mid ? a->height : mid,
                            a->width > mid ? a->width : mid);
        *(m ? &hi : &lo) = mid;
        fv_model_free(m);
    }
    return found ? hi : 0;
}

fv_model *fv_zoo_(const char *arch, fv_zoo_args a)
{
    int k = 0;
    while (k < NZOO && (!arch || strcmp(arch, table[k].name) != 0))
        k++;
    if (k == NZOO) {
        fv_err(FV_ERR_INVALID, "zoo: unknown architecture '%s' (fovea zoo lists them)",
               arch ? arch : "(null)");
        return NULL;
    }
    a.num_classes = a.num_classes ? a.num_classes : table[k].classes ? table[k].classes : 1000;
    a.channels = a.channels ? a.channels : table[k].c;
    a.height = a.height ? a.height : table[k].h;
    a.width = a.width ? a.width : table[k].w && a.height == table[k].h ? table[k].w : a.height;
    a.width_mult = a.width_mult != 0 ? a.width_mult : 1;
    a.dropout = a.dropout != 0 ? a.dropout : table[k].dropout;
    if (a.dropout < 0) /* -1: no dropout */
        a.dropout = 0;
    if (check_args(arch, &a) != FV_OK)
        return NULL;
    fv_model *m = build(k, &a, a.height, a.width);
    if (m || fv_last_status() == FV_ERR_NOMEM)
        return m;
    char msg[512], hint[160] = "";
    snprintf(msg, sizeof msg, "%s", fv_last_error());
    int s = smallest_side(k, &a);
    if (s > 0)
        snprintf(hint, sizeof hint, "; the smallest input %s accepts is %dx%dx%d", arch,
                 a.channels, a.height > s ? a.height : s, a.width > s ? a.width : s);
    fv_err(FV_ERR_SHAPE, "zoo '%s' at %dx%dx%d: %s%s", arch, a.channels, a.height, a.width, msg,
           hint);
    return NULL;
}
