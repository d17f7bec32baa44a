/* adaptive_ref.c - instantiates the adaptive pooling kernel template adaptive_ref.inc for float
 * (_f32) and double (_f64). */
#include "kernels/ref/adaptive_ref.h"

#define FV_REF_TEMPLATE "kernels/ref/adaptive_ref.inc"
#include "kernels/ref/instantiate.h"
