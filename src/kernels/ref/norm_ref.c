/* norm_ref.c - instantiates the global-pooling and LRN kernel template norm_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/norm_ref.h"

#include <math.h>

#define REAL float
#define FV_SFX(name) name##_f32
#include "kernels/ref/norm_ref.inc"
#undef REAL
#undef FV_SFX

#define REAL double
#define FV_SFX(name) name##_f64
#include "kernels/ref/norm_ref.inc"
#undef REAL
#undef FV_SFX
