/* permute_ref.c - instantiates the axis permutation kernel template permute_ref.inc for float
 * (_f32) and double (_f64). */
#include "kernels/ref/permute_ref.h"

#define REAL float
#define FV_SFX(name) name##_f32
#include "kernels/ref/permute_ref.inc"
#undef REAL
#undef FV_SFX

#define REAL double
#define FV_SFX(name) name##_f64
#include "kernels/ref/permute_ref.inc"
#undef REAL
#undef FV_SFX
