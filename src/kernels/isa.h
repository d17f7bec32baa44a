/* isa.h - the kernel families' instruction-set dispatch (isa.c): the levels (core/cpu.h) each
 * family has code for, the level a family runs at now, and the target attributes that compile a
 * function for a level. Every kernel picks its variant through fv_kernel_isa; none asks the CPU
 * itself, so FOVEA_ISA, fv_isa_set and the tests' fv_isa_force reach all of them. */
#ifndef FV_KERNELS_ISA_H
#define FV_KERNELS_ISA_H

#include "core/cpu.h"

typedef enum fv_kfamily {
    FV_KF_GEMM,      /* fv_sgemm's micro-kernels and packing (gemm.c) */
    FV_KF_WINOGRAD,  /* the Winograd tile transforms (winograd.c) */
    FV_KF_ELTWISE,   /* activations, batch norm, dropout, SGD / Adam (eltwise.c), the convolution
                      * epilogue (conv_fast.c) */
    FV_KF_POOL,      /* the max pooling forwards (pool.c) */
    FV_KF_GEMV,      /* dense rows at small batches (gemv.c) */
    FV_KF_DEPTHWISE, /* the 3x3 depthwise planes (depthwise.c) */
    FV_KF_KNN,       /* the k-NN L1 distance tiles (nn/knn.c) */
    FV_KF_QGEMM,     /* the int8 GEMM tiles of quantized inference (qgemm.c, qgemm_x86.c) */
    FV_KF_COUNT
} fv_kfamily;

/* The level family f runs at now: the level in force, or the best one below it that f has
 * code for (only qgemm has VNNI code: elsewhere avx512_vnni runs avx512's, avx_vnni avx2's; qgemm
 * has no plain avx512 code, so avx512 runs its avx2 kernel). */
fv_isa fv_kernel_isa(fv_kfamily f);
/* The FV_ISA_BITs of the levels family f has code for in this build. */
unsigned fv_kernel_levels(fv_kfamily f);

/* Compiles a function for a level: its whole feature set, the same in every family, so a
 * function runs wherever fv_isa_supported says the level does. */
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FV_ISA_X86 1
#define FV_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define FV_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#endif

/* Of a family's variants (tables of functions), the one for the level family f runs at now:
 * FV_ISA_PICK(FV_KF_GEMM, &v_generic, &v_avx2, &v_avx512). Off x86 only the generic one exists
 * (the others are not evaluated). */
#ifdef FV_ISA_X86
static inline const void *fv_isa_pick(fv_kfamily f, const void *generic, const void *avx2,
                                      const void *avx512)
{
    switch (fv_kernel_isa(f)) {
    case FV_ISA_AVX512: return avx512;
    case FV_ISA_AVX2: return avx2;
    default: return generic;
    }
}
#define FV_ISA_PICK(f, generic, avx2, avx512) fv_isa_pick((f), (generic), (avx2), (avx512))
#else
#define FV_ISA_PICK(f, generic, avx2, avx512) ((const void *)(generic))
#endif

#endif
