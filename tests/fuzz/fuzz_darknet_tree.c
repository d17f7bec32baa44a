/* fuzz_darknet_tree.c - libFuzzer target for Darknet word trees ([softmax] tree=FILE): any bytes
 * through fv_darknet_tree_parse must give parents and groups or one line "fuzz.tree...", never a
 * crash, a leak or undefined behaviour. Parsed trees are checked: the groups cover every class
 * once, each parent is -1 or a class. Built with -DFV_FUZZ=ON (clang); seeds:
 * corpus/fuzz_darknet_tree. */
#include "formats/darknet.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    int *parent = NULL, *seg = NULL, n = 0, nseg = 0;
    fv_status st = fv_darknet_tree_parse((const char *)data, size, "fuzz.tree", &parent, &n, &seg,
                                         &nseg);
    if (st != FV_OK) {
        if (strncmp(fv_last_error(), "fuzz.tree", 9) != 0 || strchr(fv_last_error(), '\n'))
            abort();
    } else {
        long total = 0;
        for (int k = 0; k < nseg; k++) {
            if (seg[k] < 1)
                abort();
            total += seg[k];
        }
        if (n < 1 || total != n)
            abort();
        for (int i = 0; i < n; i++)
            if (parent[i] < -1 || parent[i] >= n)
                abort();
    }
    fv_free(parent);
    fv_free(seg);
    return 0;
}
