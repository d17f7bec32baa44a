/* isa.c - the global --isa option and the printout of the instruction sets each kernel family
 * runs (`fovea --version`, `fovea bench`). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

/* Applies --isa LEVEL (global: anywhere on the line, taken out of argv; the last one wins), else
 * FOVEA_ISA. An unknown name is an error for both (the library alone would ignore FOVEA_ISA's);
 * a level this CPU lacks is an error for --isa, and clamped to the best below it for FOVEA_ISA
 * (a setting that outlives one machine, as the library does). */
int apply_isa(int *argc, char **argv)
{
    const char *level = NULL, *from = "--isa";
    for (int i = 1; i < *argc; i++)
        if (strcmp(argv[i], "--isa") == 0) {
            if (i + 1 == *argc)
                return fail("option --isa needs a value");
            level = argv[i + 1];
            memmove(argv + i, argv + i + 2, sizeof *argv * (size_t)(*argc - i - 1)); /* + NULL */
            *argc -= 2, i--;
        }
    if (!level)
        level = getenv("FOVEA_ISA"), from = "FOVEA_ISA";
    if (!level || !*level)
        return 0;
    char msg[512];
    if (fv_isa_set(level) != FV_OK) {
        snprintf(msg, sizeof msg, "%s: %s", from, fv_last_error());
        return fail(msg);
    }
    if (*from == '-' && strcmp(level, "auto") != 0 && strcmp(level, fv_isa_name(NULL)) != 0) {
        snprintf(msg, sizeof msg, "--isa: ISA level '%s': this CPU lacks it (its best is %s)",
                 level, fv_isa_name("cpu"));
        return fail(msg);
    }
    return 0;
}

/* The CPU's best level, the level in force and each kernel family's, starred where the family
 * has no code for the level in force and runs its best level below it. */
void print_isa(void)
{
    const char *in_force = fv_isa_name(NULL);
    int below = 0;
    printf("cpu: %s\nisa: cpu %s, in force %s\nkernels:", fv_cpu_name(), fv_isa_name("cpu"),
           in_force);
    for (int i = 0; fv_isa_family(i); i++) {
        const char *l = fv_isa_name(fv_isa_family(i));
        int b = strcmp(l, in_force) != 0;
        printf("%s %s %s%s", i ? "," : "", fv_isa_family(i), l, b ? "*" : "");
        below |= b;
    }
    printf("\n");
    if (below)
        printf("  * no %s code: the best level below it\n", in_force);
}
