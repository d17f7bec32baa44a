/* norm_ref.c - instantiates the global-pooling and LRN kernel template norm_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/norm_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/norm_ref.inc"
#include "kernels/ref/instantiate.h"
