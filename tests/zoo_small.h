/* zoo_small.h - the small input side each zoo network is tested at: 67 for the AlexNet family
 * and ZFNet (their strides need it), LeNet-5's own 28, else 32. */
#ifndef FV_ZOO_SMALL_H
#define FV_ZOO_SMALL_H

#include <string.h>

static int zoo_small_side(const char *n)
{
    if (strncmp(n, "alexnet", 7) == 0 || strcmp(n, "zfnet") == 0)
        return 67;
    return strcmp(n, "lenet5") == 0 ? 28 : 32;
}

#endif
