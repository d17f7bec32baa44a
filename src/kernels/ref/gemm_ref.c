/* gemm_ref.c - instantiates gemm_ref.inc for float (_f32, the dense layer on fv_sgemm) and double
 * (_f64, everything on the reference GEMM). */
#include "kernels/ref/gemm_ref.h"

#include "kernels/kernels.h"

#define REAL float
#define FV_SFX(name) name##_f32
#define FV_GEMM fv_sgemm
#include "kernels/ref/gemm_ref.inc"
#undef REAL
#undef FV_SFX
#undef FV_GEMM

#define REAL double
#define FV_SFX(name) name##_f64
#define FV_GEMM fv_ref_gemm_f64
#include "kernels/ref/gemm_ref.inc"
#undef REAL
#undef FV_SFX
#undef FV_GEMM
