/* gemm_ref.c - instantiates gemm_ref.inc for float (_f32, the dense layer on fv_sgemm) and double
 * (_f64, everything on the reference GEMM). */
#include "kernels/ref/gemm_ref.h"

#include "kernels/kernels.h"

#define FV_REF_TEMPLATE "kernels/ref/gemm_ref.inc"
#include "kernels/ref/instantiate.h"
