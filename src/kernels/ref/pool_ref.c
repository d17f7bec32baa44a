/* pool_ref.c - instantiates the pooling kernel template pool_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/pool_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/pool_ref.inc"
#include "kernels/ref/instantiate.h"
