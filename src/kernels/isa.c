/* isa.c - the kernel families' table (names and the levels each has code for), the level each
 * runs at (fv_kernel_isa), and the public fv_isa_name / fv_isa_family over them. */
#include "kernels/isa.h"

#include "fovea.h"

#include <stddef.h>
#include <string.h>

#ifdef FV_ISA_X86
#define SIMD_LEVELS \
    (FV_ISA_BIT(FV_ISA_GENERIC) | FV_ISA_BIT(FV_ISA_AVX2) | FV_ISA_BIT(FV_ISA_AVX512))
/* int8 GEMM: vpmaddubsw (avx2, also run at avx512) and the two vpdpbusd forms */
#define QGEMM_LEVELS                                                                   \
    (FV_ISA_BIT(FV_ISA_GENERIC) | FV_ISA_BIT(FV_ISA_AVX2) | FV_ISA_BIT(FV_ISA_AVX_VNNI) | \
     FV_ISA_BIT(FV_ISA_AVX512_VNNI))
#else
#define SIMD_LEVELS FV_ISA_BIT(FV_ISA_GENERIC)
#define QGEMM_LEVELS FV_ISA_BIT(FV_ISA_GENERIC)
#endif

static const struct {
    const char *name;
    unsigned levels;
} g_families[FV_KF_COUNT] = {
    [FV_KF_GEMM] = {"gemm", SIMD_LEVELS},         [FV_KF_WINOGRAD] = {"winograd", SIMD_LEVELS},
    [FV_KF_ELTWISE] = {"eltwise", SIMD_LEVELS},   [FV_KF_POOL] = {"pool", SIMD_LEVELS},
    [FV_KF_GEMV] = {"gemv", SIMD_LEVELS},         [FV_KF_DEPTHWISE] = {"depthwise", SIMD_LEVELS},
    [FV_KF_KNN] = {"knn", SIMD_LEVELS},           [FV_KF_QGEMM] = {"qgemm", QGEMM_LEVELS},
};

fv_isa fv_kernel_isa(fv_kfamily f) { return fv_isa_resolve(fv_isa_active(), g_families[f].levels); }

unsigned fv_kernel_levels(fv_kfamily f) { return g_families[f].levels; }

const char *fv_isa_family(int i)
{
    return i >= 0 && i < FV_KF_COUNT ? g_families[i].name : NULL;
}

const char *fv_isa_name(const char *family)
{
    if (!family)
        return fv_isa_level_name(fv_isa_active());
    if (strcmp(family, "cpu") == 0)
        return fv_isa_level_name(fv_isa_detected());
    for (int i = 0; i < FV_KF_COUNT; i++)
        if (strcmp(family, g_families[i].name) == 0)
            return fv_isa_level_name(fv_kernel_isa((fv_kfamily)i));
    return NULL;
}
