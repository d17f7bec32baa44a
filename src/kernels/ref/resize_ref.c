/* resize_ref.c - the source cell of a padded axis (fv_pad_source), and the resize kernel template
 * resize_ref.inc instantiated for float (_f32) and double (_f64). */
#include "kernels/ref/resize_ref.h"

#include <math.h>

int fv_pad_source(int o, int n, int before, int after, int mode)
{
    int start = before < 0 ? -before : 0, len = n - start - (after < 0 ? -after : 0);
    int j = o - (before > 0 ? before : 0);
    if (j >= 0 && j < len)
        return start + j;
    if (mode == 0 || len < 1) /* constant */
        return -1;
    if (mode == 2) /* edge */
        return start + (j < 0 ? 0 : len - 1);
    j = j < 0 ? -j : 2 * (len - 1) - j; /* reflect: about the edge cell */
    return j >= 0 && j < len ? start + j : -1;
}

#define FV_REF_TEMPLATE "kernels/ref/resize_ref.inc"
#include "kernels/ref/instantiate.h"
