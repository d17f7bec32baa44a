/* fv_pngcheck.c - a helper for the CLI tests: decodes PNG figures and checks each is at least
 * MIN_W x MIN_H pixels and not blank (its pixels are not all one value). Prints the first
 * problem and exits 1. Usage: fv_pngcheck MIN_W MIN_H FILE.png... */
#include "fovea.h"

#include <stdio.h>
#include <stdlib.h>

static int check(const char *path, long min_w, long min_h)
{
    fv_tensor *t = fv_png_load(path);
    if (!t) {
        fprintf(stderr, "%s\n", fv_last_error());
        return 1;
    }
    int64_t h = t->dims[2], w = t->dims[3], n = fv_tensor_numel(t), differ = 0;
    for (int64_t i = 1; i < n; i++)
        differ += t->data[i] != t->data[0];
    fv_tensor_free(t);
    if (w < min_w || h < min_h || differ < n / 100) {
        fprintf(stderr, "%s: %lldx%lld pixels, %lld differ from the first: too small or blank\n",
                path, (long long)w, (long long)h, (long long)differ);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: fv_pngcheck MIN_W MIN_H FILE.png...\n");
        return 2;
    }
    long min_w = atol(argv[1]), min_h = atol(argv[2]);
    for (int i = 3; i < argc; i++)
        if (check(argv[i], min_w, min_h))
            return 1;
    return 0;
}
