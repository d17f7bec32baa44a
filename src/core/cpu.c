/* cpu.c - the instruction-set levels of cpu.h: detection (once, on first use), the override
 * (FOVEA_ISA at detection, then fv_isa_set / fv_isa_force) and fv_isa_set's parsing. FOVEA_ISA
 * and fv_isa_set treat a level the same way: one this CPU lacks is clamped to the best it has
 * below it (a machine-independent setting, as in CI, means "at most this level"); the CLI's
 * --isa, an explicit request for one run, turns that into an error. A level
 * counts as supported only when the CPU has every feature in it and the OS saves the registers it
 * uses (XCR0's YMM state for avx2, its opmask and ZMM states for avx512): a kernel using them on
 * an OS that does not would fault. */
#include "core/cpu.h"
#include "core/internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define FV_CPU_X86 1
#endif

static const char *const g_names[FV_ISA_COUNT] = {"generic", "avx2", "avx_vnni", "avx512",
                                                   "avx512_vnni"};
static const fv_isa g_lower[FV_ISA_COUNT] = {FV_ISA_GENERIC, FV_ISA_GENERIC, FV_ISA_AVX2,
                                             FV_ISA_AVX2, FV_ISA_AVX512};

static unsigned g_supported = FV_ISA_BIT(FV_ISA_GENERIC); /* FV_ISA_BITs, set once by init */
static fv_isa g_detected = FV_ISA_GENERIC, g_active = FV_ISA_GENERIC;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

#ifdef FV_CPU_X86
static unsigned long long xcr0(void)
{
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (unsigned long long)hi << 32 | lo;
}

#define BIT(r, n) (((r) >> (n)) & 1u)

/* The FV_ISA_BITs this CPU and OS support. */
static unsigned detect(void)
{
    unsigned set = FV_ISA_BIT(FV_ISA_GENERIC), a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !BIT(c, 27) || !BIT(c, 28) || !BIT(c, 12))
        return set; /* no OSXSAVE, AVX or FMA */
    unsigned long long x = xcr0();
    if ((x & 0x6) != 0x6 || __get_cpuid_max(0, NULL) < 7)
        return set; /* the OS does not save the YMM registers */
    __cpuid_count(7, 0, a, b, c, d);
    unsigned max_sub = a, b7 = b, c7 = c, a71 = 0;
    if (max_sub >= 1) {
        __cpuid_count(7, 1, a, b, c, d);
        a71 = a;
    }
    if (!BIT(b7, 5))
        return set; /* no AVX2 */
    set |= FV_ISA_BIT(FV_ISA_AVX2);
    if (BIT(a71, 4))
        set |= FV_ISA_BIT(FV_ISA_AVX_VNNI);
    int avx512 = BIT(b7, 16) && BIT(b7, 17) && BIT(b7, 30) && BIT(b7, 31); /* F, DQ, BW, VL */
    if (!avx512 || (x & 0xE6) != 0xE6) /* + opmask, upper ZMM0-15, ZMM16-31 states */
        return set;
    set |= FV_ISA_BIT(FV_ISA_AVX512);
    if (BIT(c7, 11))
        set |= FV_ISA_BIT(FV_ISA_AVX512_VNNI);
    return set;
}
#else
static unsigned detect(void) { return FV_ISA_BIT(FV_ISA_GENERIC); }
#endif

/* The level named s (NULL, "" and "auto": -1, the best), or -2 for an unknown name. */
static int parse(const char *s)
{
    if (!s || !*s || strcmp(s, "auto") == 0)
        return -1;
    for (int l = 0; l < FV_ISA_COUNT; l++)
        if (strcmp(s, g_names[l]) == 0)
            return l;
    return -2;
}

/* The best supported level at or below `level`. */
static fv_isa clamp(fv_isa level)
{
    while (!(g_supported & FV_ISA_BIT(level)))
        level = g_lower[level];
    return level;
}

static void init(void)
{
    g_supported = detect();
    for (int l = 0; l < FV_ISA_COUNT; l++)
        if (g_supported & FV_ISA_BIT(l))
            g_detected = (fv_isa)l;
    int env = parse(getenv("FOVEA_ISA"));
    g_active = env >= 0 ? clamp((fv_isa)env) : g_detected;
}

fv_isa fv_isa_lower(fv_isa level) { return g_lower[level]; }

fv_isa fv_isa_resolve(fv_isa level, unsigned have)
{
    while (level != FV_ISA_GENERIC && !(have & FV_ISA_BIT(level)))
        level = g_lower[level];
    return level;
}

int fv_isa_supported(fv_isa level)
{
    pthread_once(&g_once, init);
    return level >= 0 && level < FV_ISA_COUNT && (g_supported & FV_ISA_BIT(level));
}

fv_isa fv_isa_detected(void)
{
    pthread_once(&g_once, init);
    return g_detected;
}

fv_isa fv_isa_active(void)
{
    pthread_once(&g_once, init);
    return g_active;
}

int fv_isa_force(fv_isa level)
{
    if (!fv_isa_supported(level))
        return 0;
    g_active = level;
    return 1;
}

const char *fv_isa_level_name(fv_isa level)
{
    return level >= 0 && level < FV_ISA_COUNT ? g_names[level] : "?";
}

fv_status fv_isa_set(const char *level)
{
    int l = parse(level);
    if (l == -2)
        return fv_err(FV_ERR_INVALID,
                      "ISA level '%s': unknown (generic, avx2, avx_vnni, avx512, avx512_vnni or "
                      "auto)", level);
    pthread_once(&g_once, init);
    g_active = l == -1 ? g_detected : clamp((fv_isa)l);
    return FV_OK;
}

/* The CPUID brand string ("AMD EPYC 9B45 ..."), blanks trimmed; "unknown CPU" without one. */
static char g_brand[49] = "unknown CPU";
static pthread_once_t g_brand_once = PTHREAD_ONCE_INIT;

static void read_brand(void)
{
#ifdef FV_CPU_X86
    unsigned r[12];
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) < 0x80000004u)
        return;
    for (unsigned i = 0; i < 3; i++)
        __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
    char s[49];
    memcpy(s, r, 48);
    s[48] = '\0';
    char *p = s, *e;
    while (*p == ' ')
        p++;
    for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\0'); e--)
        e[-1] = '\0';
    if (*p)
        memcpy(g_brand, p, strlen(p) + 1);
#endif
}

const char *fv_cpu_name(void)
{
    pthread_once(&g_brand_once, read_brand);
    return g_brand;
}
