/* resize_ref.c - instantiates the resize kernel template resize_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/resize_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/resize_ref.inc"
#include "kernels/ref/instantiate.h"
