/* isa_levels.h - runs a kernel test at every instruction-set level this CPU supports that a
 * kernel family has its own code for (core/cpu.h, kernels/isa.h): one loop over the levels,
 *     for (int l = t_isa_first(FAMILY); l >= 0; l = t_isa_next(FAMILY, l)) ...
 * each step putting its level in force (fv_isa_force); the loop's end restores the level that
 * was in force before (FOVEA_ISA's, or the best). Levels a family runs as a lower one's code (the
 * VNNI levels today) are skipped: that code is tested at its own level. */
#ifndef FV_TEST_ISA_LEVELS_H
#define FV_TEST_ISA_LEVELS_H

#include "kernels/isa.h"

static fv_isa t_isa_saved;

/* Puts the first level after `prev` that f runs as its own in force and returns it; -1 (and the
 * saved level back in force) past the last. */
static inline int t_isa_next(fv_kfamily f, int prev)
{
    for (int l = prev + 1; l < FV_ISA_COUNT; l++)
        if (fv_isa_force((fv_isa)l) && fv_kernel_isa(f) == (fv_isa)l)
            return l;
    fv_isa_force(t_isa_saved);
    return -1;
}

static inline int t_isa_first(fv_kfamily f)
{
    t_isa_saved = fv_isa_active();
    return t_isa_next(f, -1);
}

/* The level in force, for messages. */
static inline const char *t_isa_name(void) { return fv_isa_level_name(fv_isa_active()); }

#endif
