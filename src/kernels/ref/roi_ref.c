/* roi_ref.c - instantiates the RoI pooling kernel template roi_ref.inc for float (_f32) and
 * double (_f64). */
#include "kernels/ref/roi_ref.h"

#include <float.h>
#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/roi_ref.inc"
#include "kernels/ref/instantiate.h"
