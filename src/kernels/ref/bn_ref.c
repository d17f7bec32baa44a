/* bn_ref.c - instantiates the batch-norm kernel template bn_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/bn_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/bn_ref.inc"
#include "kernels/ref/instantiate.h"
