/* permute_ref.c - instantiates the axis permutation kernel template permute_ref.inc for float
 * (_f32) and double (_f64). */
#include "kernels/ref/permute_ref.h"

#define FV_REF_TEMPLATE "kernels/ref/permute_ref.inc"
#include "kernels/ref/instantiate.h"
