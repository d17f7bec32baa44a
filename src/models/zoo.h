/* zoo.h - what the model-zoo builders share (internal): name formatting, convolution + batch
 * norm + activation blocks, adaptive pooling, and the builders of zoo_modern.c,
 * zoo_inception.c and zoo_nasnet.c that zoo.c's table lists. */
#ifndef FV_MODELS_ZOO_H
#define FV_MODELS_ZOO_H

#include "core/internal.h"

#define ZOO_NAME 64

/* printf into buf (ZOO_NAME bytes); returns buf. */
const char *fv_zoo_fmt(char *buf, const char *fmt, ...);
/* A convolution without bias (`pad` zero padding, `groups` groups) then batch norm and act, the
 * unit every modern network here is made of. */
int fv_zoo_conv_bn(fv_model *m, int in, const char *conv_name, const char *bn_name, int filters,
                int k, int stride, int pad, int groups, float eps, fv_act act);
/* Batch norm (PyTorch momentum 0.1) named bn_name, then act (FV_ACT_NONE: none). */
int fv_zoo_bn_act(fv_model *m, int in, const char *bn_name, float eps, fv_act act);
/* PyTorch's AdaptiveAvgPool2d((oh, ow)): nothing when the map already has that size. */
int fv_zoo_adaptive_avg(fv_model *m, int in, int oh, int ow, const char *name);

int fv_zoo_googlenet(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet18(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet18_cifar(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet34(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet50(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet101(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet152(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_resnet20(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_mobilenet_v1(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_mobilenet_v2(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_inception_v3(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_nasnet_mobile(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_fcn32s(fv_model *m, int x, const fv_zoo_args *a); /* zoo_seg.c */
int fv_zoo_fcn16s(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_fcn8s(fv_model *m, int x, const fv_zoo_args *a);
int fv_zoo_unet(fv_model *m, int x, const fv_zoo_args *a);

#endif
