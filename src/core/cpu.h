/* cpu.h - the CPU's instruction-set levels (cpu.c): what this CPU and OS support, detected once
 * (CPUID, and XGETBV for the OS saving the wide registers), the level in force (the best one, or
 * FOVEA_ISA, or fv_isa_set / fv_isa_force), and the walk down to the best level a kernel family
 * has code for. Below everything else: it knows no kernel and no op (kernels/isa.h names the
 * families). */
#ifndef FV_CORE_CPU_H
#define FV_CORE_CPU_H

/* The levels, each implying the features of the ones it falls back to (fv_isa_lower):
 *   generic      portable C, the compiler's baseline target
 *   avx2         AVX2 + FMA                                     -> generic
 *   avx_vnni     avx2 + AVX-VNNI (VEX-encoded int8 dot products) -> avx2
 *   avx512       avx2 + AVX-512 F, BW, DQ and VL                 -> avx2
 *   avx512_vnni  avx512 + AVX-512 VNNI                           -> avx512
 * Numbered so that a larger value is the better choice when several are present (a CPU with both
 * VNNI forms is best run at avx512_vnni). */
typedef enum fv_isa {
    FV_ISA_GENERIC = 0,
    FV_ISA_AVX2,
    FV_ISA_AVX_VNNI,
    FV_ISA_AVX512,
    FV_ISA_AVX512_VNNI,
    FV_ISA_COUNT
} fv_isa;

#define FV_ISA_BIT(level) (1u << (level))

/* The level `level` falls back to (generic falls back to itself). */
fv_isa fv_isa_lower(fv_isa level);
/* The first level at or below `level` (following fv_isa_lower) in the set `have` of FV_ISA_BITs;
 * generic when none is (every family has generic code). */
fv_isa fv_isa_resolve(fv_isa level, unsigned have);
/* Whether this CPU and OS can run `level`. */
int fv_isa_supported(fv_isa level);
/* The best level this CPU and OS support. */
fv_isa fv_isa_detected(void);
/* The level in force: fv_isa_force's or fv_isa_set's if called, else FOVEA_ISA's (clamped to the
 * best supported level at or below it, as fv_isa_set does; an unknown name counts as unset), else
 * the best. */
fv_isa fv_isa_active(void);
/* Puts `level` in force for later kernel calls (tests, benchmarks; not thread-safe: call it
 * while no kernel runs). Returns 0 and changes nothing when this CPU lacks it. */
int fv_isa_force(fv_isa level);
/* "generic", "avx2", "avx_vnni", "avx512", "avx512_vnni". */
const char *fv_isa_level_name(fv_isa level);

#endif
