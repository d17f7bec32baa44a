/* slurp.h - a whole file read into memory, for the unit tests (through testfs.h) and the test
 * tools that need no scratch folder (tests/tools/). */
#ifndef FV_SLURP_H
#define FV_SLURP_H

#include <stdio.h>
#include <stdlib.h>

/* The whole file into a malloc'd buffer (*len bytes, then a '\0'), or NULL. */
static inline unsigned char *t_slurp(const char *path, long *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)*len + 1);
    if (b && fread(b, 1, (size_t)*len, f) != (size_t)*len) {
        free(b);
        b = NULL;
    }
    if (b)
        b[*len] = '\0';
    fclose(f);
    return b;
}

#endif
