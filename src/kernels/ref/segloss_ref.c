/* segloss_ref.c - instantiates the per-pixel loss template segloss_ref.inc for float (_f32) and
 * double (_f64). */
#include "kernels/ref/segloss_ref.h"

#include "fovea.h"

#include <math.h>

#define FV_REF_TEMPLATE "kernels/ref/segloss_ref.inc"
#include "kernels/ref/instantiate.h"
