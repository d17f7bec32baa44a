/* zoo_small.h - the small input side each zoo network is tested at: 67 for the AlexNet family
 * and ZFNet (their strides need it), 75 for Inception v3 (torchvision's smallest; without the
 * auxiliary head, which needs 299), LeNet-5's own 28, else 32; and the network built at it. */
#ifndef FV_ZOO_SMALL_H
#define FV_ZOO_SMALL_H

#include "fovea.h"

#include <stdio.h>
#include <string.h>

static int zoo_small_side(const char *n)
{
    if (strncmp(n, "alexnet", 7) == 0 || strcmp(n, "zfnet") == 0)
        return 67;
    if (strcmp(n, "inception_v3") == 0)
        return 75;
    return strcmp(n, "lenet5") == 0 ? 28 : 32;
}

/* Zoo network n at its small side with 10 classes and 1 channel (GoogLeNet with its auxiliary
 * heads), or NULL after printing why. */
static inline fv_model *zoo_small_build(const char *n)
{
    int side = zoo_small_side(n);
    fv_model *m = fv_zoo(n, .num_classes = 10, .channels = 1, .height = side,
                         .aux_logits = strcmp(n, "googlenet") == 0);
    if (!m)
        fprintf(stderr, "%s at %d: %s\n", n, side, fv_last_error());
    return m;
}

#endif
