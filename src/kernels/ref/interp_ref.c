/* interp_ref.c - the taps of resizing by interpolation (coordinate transforms, nearest rounding,
 * linear and Keys' cubic weights, exclude_outside), and the kernel template interp_ref.inc
 * instantiated for float (_f32) and double (_f64). */
#include "kernels/ref/interp_ref.h"

#include <math.h>

enum { NEAREST = 0, LINEAR, CUBIC };
enum { HALF_PIXEL = 0, PYTORCH_HALF_PIXEL, ALIGN_CORNERS, ASYMMETRIC, TF_HALF_PIXEL_FOR_NN };
enum { ROUND_PREFER_FLOOR = 0, ROUND_PREFER_CEIL, FLOOR, CEIL };

int fv_interp_ntaps(int mode)
{
    return mode == CUBIC ? 4 : mode == LINEAR ? 2 : 1;
}

double fv_interp_coord(int coord, int o, int in, double len, double scale)
{
    switch (coord) {
    case PYTORCH_HALF_PIXEL:
        return len > 1 ? (o + 0.5) / scale - 0.5 : 0;
    case ALIGN_CORNERS:
        return len > 1 ? (double)o * (in - 1) / (len - 1) : 0;
    case ASYMMETRIC:
        return o / scale;
    case TF_HALF_PIXEL_FOR_NN:
        return (o + 0.5) / scale;
    default: /* half_pixel */
        return (o + 0.5) / scale - 0.5;
    }
}

/* The input cell nearest to coordinate c by rounding rule r (an integral c is itself). */
static double nearest_cell(double c, int r)
{
    double f = floor(c), frac = c - f;
    if (frac == 0)
        return f;
    switch (r) {
    case ROUND_PREFER_CEIL:
        return frac < 0.5 ? f : f + 1;
    case FLOOR:
        return f;
    case CEIL:
        return f + 1;
    default: /* round_prefer_floor */
        return frac <= 0.5 ? f : f + 1;
    }
}

/* Keys' cubic convolution kernel with coefficient a at distance d. */
static double cubic(double d, double a)
{
    d = fabs(d);
    if (d <= 1)
        return ((a + 2) * d - (a + 3)) * d * d + 1;
    if (d < 2)
        return ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
    return 0;
}

static int clamp_cell(double c, int in)
{
    return c < 0 ? 0 : c > in - 1 ? in - 1 : (int)c;
}

void fv_interp_taps(const fv_interp_spec *s, int in, int out, double scale, int32_t *idx,
                    double *w)
{
    int nt = fv_interp_ntaps(s->mode);
    double len = scale > 0 ? in * scale : out; /* ONNX's length_resized: before the floor */
    scale = scale > 0 ? scale : (double)out / in;
    for (int o = 0; o < out; o++) {
        double c = fv_interp_coord(s->coord, o, in, len, scale);
        int32_t *ti = idx + (int64_t)o * nt;
        double *tw = w + (int64_t)o * nt;
        if (s->mode == NEAREST) {
            ti[0] = clamp_cell(nearest_cell(c, s->nearest), in);
            tw[0] = 1;
            continue;
        }
        double f = floor(c), t = c - f, sum = 0;
        double first = nt == 4 ? f - 1 : f; /* the taps are first .. first + nt - 1 */
        for (int k = 0; k < nt; k++) {
            double cell = first + k;
            tw[k] = nt == 4 ? cubic(t - (cell - f), s->cubic_a) : k == 0 ? 1 - t : t;
            if (s->exclude && (cell < 0 || cell > in - 1))
                tw[k] = 0;
            ti[k] = clamp_cell(cell, in);
            sum += tw[k];
        }
        for (int k = 0; s->exclude && sum != 0 && k < nt; k++)
            tw[k] /= sum;
    }
}

#define FV_REF_TEMPLATE "kernels/ref/interp_ref.inc"
#include "kernels/ref/instantiate.h"
