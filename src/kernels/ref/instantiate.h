/* instantiate.h - compiles one reference-kernel template twice: for float (REAL float, names
 * suffixed _f32, FV_GEMM fv_sgemm: the fast GEMM) and for double (_f64, FV_GEMM fv_ref_gemm_f64:
 * the gradient checks' oracle). A ref/x_ref.c defines FV_REF_TEMPLATE as its template's path in
 * quotes and includes this; no include guard, since that is its whole job. */
#ifndef FV_REF_TEMPLATE
#error "define FV_REF_TEMPLATE (the template's path in quotes) before including instantiate.h"
#endif

#define REAL float
#define FV_SFX(name) name##_f32
#define FV_GEMM fv_sgemm
#include FV_REF_TEMPLATE
#undef REAL
#undef FV_SFX
#undef FV_GEMM

#define REAL double
#define FV_SFX(name) name##_f64
#define FV_GEMM fv_ref_gemm_f64
#include FV_REF_TEMPLATE
#undef REAL
#undef FV_SFX
#undef FV_GEMM

#undef FV_REF_TEMPLATE
