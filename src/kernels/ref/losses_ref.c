/* losses_ref.c - instantiates the loss catalogue template losses_ref.inc for float (_f32) and double
 * (_f64). */
#include "kernels/ref/losses_ref.h"

#include "fovea.h"

#include <math.h>

int fv_loss_is_sparse(int kind)
{
    return kind == FV_LOSS_SOFTMAX_CE || kind == FV_LOSS_SPARSE_CE_PROBS || kind == FV_LOSS_HINGE;
}

int fv_loss_is_pixel(int kind)
{
    return kind == FV_LOSS_PIXEL_CE || kind == FV_LOSS_DICE || kind == FV_LOSS_PIXEL_BCE ||
           kind == FV_LOSS_SEQUENCE_CE;
}

#define FV_REF_TEMPLATE "kernels/ref/losses_ref.inc"
#include "kernels/ref/instantiate.h"
