/* act_ref.c - instantiates the activation kernel template act_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/act_ref.h"

#include "fovea.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/act_ref.inc"
#include "kernels/ref/instantiate.h"
