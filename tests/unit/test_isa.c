/* test_isa.c - the instruction-set levels (core/cpu.c, kernels/isa.c): detection agrees with the
 * compiler's own CPU probe (__builtin_cpu_supports, which also asks the OS); FOVEA_ISA at first
 * use (in forked children, each a fresh detection): a level put in force, one the CPU lacks
 * clamped to the best below it, an unknown name ignored; fv_isa_set the same way (an unknown name
 * is its error, nothing changes) and fv_isa_force (no clamp: a level the CPU lacks is refused); each kernel family's level (the one in
 * force, or the best below it that the family has code for); fv_isa_name and fv_isa_family. */
#include "core/cpu.h"
#include "fovea.h"
#include "kernels/isa.h"
#include "test.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* The level in force in a fresh process with FOVEA_ISA = value (NULL: unset), or -1. */
static int level_with_env(const char *value)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (value)
            setenv("FOVEA_ISA", value, 1);
        else
            unsetenv("FOVEA_ISA");
        _exit((int)fv_isa_active());
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Run first, and all children before this process detects anything itself: they must not
 * inherit a detection already made. */
TEST(environment_sets_the_level)
{
    int best = level_with_env(NULL), got[FV_ISA_COUNT];
    CHECK(level_with_env("") == best && level_with_env("auto") == best);
    CHECK(level_with_env("nosuch") == best);
    for (int l = 0; l < FV_ISA_COUNT; l++)
        got[l] = level_with_env(fv_isa_level_name((fv_isa)l));
    CHECK(best == (int)fv_isa_detected());
    CHECK(got[FV_ISA_GENERIC] == FV_ISA_GENERIC);
    for (int l = 0; l < FV_ISA_COUNT; l++) {
        /* the level itself when supported, else the best supported one below it */
        fv_isa want = (fv_isa)l;
        while (!fv_isa_supported(want))
            want = fv_isa_lower(want);
        if (got[l] != (int)want) {
            fprintf(stderr, "  FOVEA_ISA=%s: %d, want %d\n", fv_isa_level_name((fv_isa)l),
                    got[l], (int)want);
            t_cur_failed = 1;
        }
    }
}

TEST(detection_matches_the_compiler)
{
    CHECK(fv_isa_supported(FV_ISA_GENERIC));
    CHECK(fv_isa_supported(fv_isa_detected()));
    for (int l = fv_isa_detected() + 1; l < FV_ISA_COUNT; l++)
        CHECK(!fv_isa_supported((fv_isa)l));
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    int avx512 = avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    CHECK(fv_isa_supported(FV_ISA_AVX2) == avx2);
    CHECK(fv_isa_supported(FV_ISA_AVX512) == avx512);
    CHECK(fv_isa_supported(FV_ISA_AVX512_VNNI) ==
          (avx512 && __builtin_cpu_supports("avx512vnni")));
#ifndef __clang__ /* clang 14 does not know the name */
    CHECK(fv_isa_supported(FV_ISA_AVX_VNNI) == (avx2 && __builtin_cpu_supports("avxvnni")));
#endif
#endif
    printf("  this CPU: %s\n", fv_isa_level_name(fv_isa_detected()));
}

TEST(levels_fall_back_in_order)
{
    CHECK(fv_isa_lower(FV_ISA_GENERIC) == FV_ISA_GENERIC);
    CHECK(fv_isa_lower(FV_ISA_AVX2) == FV_ISA_GENERIC);
    CHECK(fv_isa_lower(FV_ISA_AVX_VNNI) == FV_ISA_AVX2);
    CHECK(fv_isa_lower(FV_ISA_AVX512) == FV_ISA_AVX2);
    CHECK(fv_isa_lower(FV_ISA_AVX512_VNNI) == FV_ISA_AVX512);
    unsigned simd = FV_ISA_BIT(FV_ISA_GENERIC) | FV_ISA_BIT(FV_ISA_AVX2) |
                    FV_ISA_BIT(FV_ISA_AVX512);
    CHECK(fv_isa_resolve(FV_ISA_AVX512_VNNI, simd) == FV_ISA_AVX512);
    CHECK(fv_isa_resolve(FV_ISA_AVX_VNNI, simd) == FV_ISA_AVX2);
    CHECK(fv_isa_resolve(FV_ISA_AVX512, FV_ISA_BIT(FV_ISA_AVX2)) == FV_ISA_AVX2);
    CHECK(fv_isa_resolve(FV_ISA_AVX512, 0) == FV_ISA_GENERIC);
    /* a supported level's fallbacks are supported */
    for (int l = 0; l < FV_ISA_COUNT; l++)
        if (fv_isa_supported((fv_isa)l))
            CHECK(fv_isa_supported(fv_isa_lower((fv_isa)l)));
}

TEST(set_and_force)
{
    fv_isa was = fv_isa_active();
    CHECK_STATUS(fv_isa_set("generic"), FV_OK);
    CHECK(fv_isa_active() == FV_ISA_GENERIC && strcmp(fv_isa_name(NULL), "generic") == 0);
    CHECK_STATUS(fv_isa_set("sse9"), FV_ERR_INVALID);
    CHECK_ERR_HAS("ISA level 'sse9': unknown");
    CHECK(fv_isa_active() == FV_ISA_GENERIC);
    for (int l = 0; l < FV_ISA_COUNT; l++) {
        /* the level itself when supported, else the best supported one below it */
        fv_isa want = (fv_isa)l;
        while (!fv_isa_supported(want))
            want = fv_isa_lower(want);
        CHECK_STATUS(fv_isa_set(fv_isa_level_name((fv_isa)l)), FV_OK);
        CHECK(fv_isa_active() == want);
        CHECK_STATUS(fv_isa_set("generic"), FV_OK);
        CHECK(fv_isa_force((fv_isa)l) == (want == (fv_isa)l)); /* force: no clamp */
        CHECK(fv_isa_active() == (want == (fv_isa)l ? want : FV_ISA_GENERIC));
    }
    CHECK_STATUS(fv_isa_set(NULL), FV_OK);
    CHECK(fv_isa_active() == fv_isa_detected());
    CHECK_STATUS(fv_isa_set("auto"), FV_OK);
    CHECK(fv_isa_active() == fv_isa_detected());
    CHECK(fv_isa_force(was));
}

/* Each family at each supported level runs that level, or the best below it it has code for. */
TEST(families_follow_the_level)
{
    fv_isa was = fv_isa_active();
    int n = 0;
    for (; fv_isa_family(n); n++)
        CHECK(fv_isa_name(fv_isa_family(n)) != NULL);
    CHECK(n == FV_KF_COUNT && fv_isa_family(-1) == NULL);
    CHECK(fv_isa_name("nosuch") == NULL);
    CHECK(strcmp(fv_isa_name("cpu"), fv_isa_level_name(fv_isa_detected())) == 0);
    for (int l = 0; l < FV_ISA_COUNT; l++) {
        if (!fv_isa_force((fv_isa)l))
            continue;
        for (int f = 0; f < FV_KF_COUNT; f++) {
            fv_isa k = fv_kernel_isa((fv_kfamily)f);
            CHECK(fv_kernel_levels((fv_kfamily)f) & FV_ISA_BIT(k));
            CHECK(k == fv_isa_resolve((fv_isa)l, fv_kernel_levels((fv_kfamily)f)));
            CHECK(strcmp(fv_isa_name(fv_isa_family(f)), fv_isa_level_name(k)) == 0);
        }
    }
    CHECK(fv_isa_force(FV_ISA_GENERIC));
    for (int f = 0; f < FV_KF_COUNT; f++)
        CHECK(fv_kernel_isa((fv_kfamily)f) == FV_ISA_GENERIC);
    CHECK(fv_isa_force(was));
}

int main(void)
{
    RUN(environment_sets_the_level);
    RUN(detection_matches_the_compiler);
    RUN(levels_fall_back_in_order);
    RUN(set_and_force);
    RUN(families_follow_the_level);
    TEST_MAIN_END();
}
