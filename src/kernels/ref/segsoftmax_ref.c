/* segsoftmax_ref.c - instantiates the segment softmax kernel template segsoftmax_ref.inc for
 * float (_f32) and double (_f64). */
#include "kernels/ref/segsoftmax_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/segsoftmax_ref.inc"
#include "kernels/ref/instantiate.h"
