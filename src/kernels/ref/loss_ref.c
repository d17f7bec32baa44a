/* loss_ref.c - instantiates the loss kernel template loss_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/loss_ref.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/loss_ref.inc"
#include "kernels/ref/instantiate.h"
