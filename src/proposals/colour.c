/* colour.c - what selective search measures of pixels and regions: the colour spaces (8-bit
 * scales, as OpenCV converts), colour and texture bin indices per pixel (Uijlings et al.: 25 colour
 * bins, Gaussian derivatives in 8 orientations x 10 bins per channel) and the similarities. */
#include "proposals/proposals.h"

#include <math.h>
#include <string.h>

float fv_ss_channel_max(fv_ss_space s, int ch)
{
    return (s == FV_SS_HSV && ch == 0) || s == FV_SS_HUE ? 180.0f : 255.0f;
}

/* Hue in degrees [0, 360), saturation and value in [0, 1]. */
static void hsv(double r, double g, double b, double *h, double *s, double *v)
{
    double mx = fmax(r, fmax(g, b)), mn = fmin(r, fmin(g, b)), d = mx - mn;
    *v = mx;
    *s = mx > 0 ? d / mx : 0;
    double hh = 0;
    if (d > 0)
        hh = mx == r ? 60 * (g - b) / d : mx == g ? 120 + 60 * (b - r) / d : 240 + 60 * (r - g) / d;
    *h = hh < 0 ? hh + 360 : hh;
}

static double srgb_linear(double v)
{
    return v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4);
}

static double lab_f(double t)
{
    return t > 0.008856 ? cbrt(t) : 7.787 * t + 16.0 / 116.0;
}

/* CIE L*a*b* (D65) of sRGB in [0, 1], scaled to 8 bits: L * 255 / 100, a + 128, b + 128. */
static void lab(double r, double g, double b, float *o)
{
    r = srgb_linear(r), g = srgb_linear(g), b = srgb_linear(b);
    double x = (0.412453 * r + 0.357580 * g + 0.180423 * b) / 0.950456;
    double y = 0.212671 * r + 0.715160 * g + 0.072169 * b;
    double z = (0.019334 * r + 0.119193 * g + 0.950227 * b) / 1.088754;
    double fy = lab_f(y), l = y > 0.008856 ? 116 * fy - 16 : 903.3 * y;
    o[0] = (float)(l * 255 / 100);
    o[1] = (float)(500 * (lab_f(x) - fy) + 128);
    o[2] = (float)(200 * (fy - lab_f(z)) + 128);
}

/* One pixel of rgb ([0, 1]) in space s: o gets the channels. */
static void convert_pixel(fv_ss_space s, double r, double g, double b, float *o)
{
    double h, sa, v, sum = r + g + b;
    switch (s) {
    case FV_SS_RGB:
        o[0] = (float)(r * 255), o[1] = (float)(g * 255), o[2] = (float)(b * 255);
        break;
    case FV_SS_HSV:
        hsv(r, g, b, &h, &sa, &v);
        o[0] = (float)(h / 2), o[1] = (float)(sa * 255), o[2] = (float)(v * 255);
        break;
    case FV_SS_LAB:
        lab(r, g, b, o);
        break;
    case FV_SS_RGI:
        o[0] = (float)(sum > 0 ? r / sum * 255 : 0);
        o[1] = (float)(sum > 0 ? g / sum * 255 : 0);
        o[2] = (float)(sum / 3 * 255);
        break;
    case FV_SS_HUE:
        hsv(r, g, b, &h, &sa, &v);
        o[0] = (float)(h / 2);
        break;
    case FV_SS_GRAY:
        o[0] = (float)((0.299 * r + 0.587 * g + 0.114 * b) * 255);
        break;
    }
}

fv_status fv_ss_convert(const fv_ss_image *rgb, fv_ss_space s, fv_ss_image *out)
{
    int c = s == FV_SS_HUE || s == FV_SS_GRAY ? 1 : 3;
    size_t np = (size_t)rgb->h * rgb->w;
    *out = (fv_ss_image){c, rgb->h, rgb->w, fv_malloc(sizeof(float) * np * c, "a colour space")};
    if (!out->v)
        return FV_ERR_NOMEM;
    for (size_t p = 0; p < np; p++) {
        float o[3];
        convert_pixel(s, rgb->v[p], rgb->v[np + p], rgb->v[2 * np + p], o);
        for (int k = 0; k < c; k++)
            out->v[k * np + p] = o[k];
    }
    return FV_OK;
}

static uint8_t bin_of(float v, float top, int bins)
{
    int b = top > 0 ? (int)(v / top * bins) : 0;
    return (uint8_t)(b < 0 ? 0 : b >= bins ? bins - 1 : b);
}

/* Texture bins of one plane: derivative-of-Gaussian (sigma 1) gradients gx, gy, then for each
 * orientation o * 45 degrees the positive part of the directional derivative, binned on [0, the
 * largest of them all]. */
static void texture_plane(const float *p, int h, int w, float *gx, float *gy, float *tmp,
                          uint8_t *out)
{
    enum { R = 4 };
    float g[2 * R + 1], d[2 * R + 1];
    double sum = 0;
    for (int i = -R; i <= R; i++)
        sum += g[i + R] = (float)exp(-0.5 * i * i);
    for (int i = -R; i <= R; i++)
        g[i + R] = (float)(g[i + R] / sum), d[i + R] = (float)(i * g[i + R]);
    /* d[] as a correlation kernel gives +d/dx for an increasing ramp */
    fv_ss_convolve(tmp, p, h, w, d, R, 1);
    fv_ss_convolve(gx, tmp, h, w, g, R, 0);
    fv_ss_convolve(tmp, p, h, w, g, R, 1);
    fv_ss_convolve(gy, tmp, h, w, d, R, 0);
    size_t np = (size_t)h * w;
    float mx = 0; /* one scale for all orientations: a flat direction's rounding noise bins 0 */
    for (int o = 0; o < FV_SS_TEX_ORIENT; o++) {
        double th = o * 3.14159265358979323846 / 4, co = cos(th), si = sin(th);
        for (size_t q = 0; q < np; q++) {
            float v = (float)(co * gx[q] + si * gy[q]);
            mx = v > mx ? v : mx;
        }
    }
    for (int o = 0; o < FV_SS_TEX_ORIENT; o++) {
        double th = o * 3.14159265358979323846 / 4, co = cos(th), si = sin(th);
        for (size_t q = 0; q < np; q++) {
            float v = (float)(co * gx[q] + si * gy[q]);
            out[o * np + q] = bin_of(v > 0 ? v : 0, mx, FV_SS_TEX_BINS);
        }
    }
}

fv_status fv_ss_bins_make(const fv_ss_image *im, fv_ss_space s, fv_ss_bins *b)
{
    size_t np = (size_t)im->h * im->w;
    *b = (fv_ss_bins){im->c, im->h, im->w, NULL, NULL};
    b->col = fv_malloc(np * im->c, "colour bins");
    b->tex = fv_malloc(np * im->c * FV_SS_TEX_ORIENT, "texture bins");
    float *f = fv_malloc(sizeof(float) * np * 3, "texture gradients");
    if (!b->col || !b->tex || !f) {
        fv_free(f);
        fv_ss_bins_free(b);
        return FV_ERR_NOMEM;
    }
    for (int c = 0; c < im->c; c++) {
        const float *p = im->v + c * np;
        float top = fv_ss_channel_max(s, c);
        for (size_t q = 0; q < np; q++)
            b->col[c * np + q] = bin_of(p[q], top, FV_SS_COLOUR_BINS);
        texture_plane(p, im->h, im->w, f, f + np, f + 2 * np,
                      b->tex + (size_t)c * FV_SS_TEX_ORIENT * np);
    }
    fv_free(f);
    return FV_OK;
}

void fv_ss_bins_free(fv_ss_bins *b)
{
    fv_free(b->col), fv_free(b->tex);
    b->col = b->tex = NULL;
}

double fv_ss_sim_hist(const float *a, const float *b, int len)
{
    double s = 0;
    for (int i = 0; i < len; i++)
        s += a[i] < b[i] ? a[i] : b[i];
    return s;
}

double fv_ss_sim_size(const fv_ss_region *a, const fv_ss_region *b, int64_t im_size)
{
    return 1.0 - (double)(a->size + b->size) / (double)im_size;
}

double fv_ss_sim_fill(const fv_ss_region *a, const fv_ss_region *b, int64_t im_size)
{
    int x1 = a->x1 < b->x1 ? a->x1 : b->x1, y1 = a->y1 < b->y1 ? a->y1 : b->y1;
    int x2 = a->x2 > b->x2 ? a->x2 : b->x2, y2 = a->y2 > b->y2 ? a->y2 : b->y2;
    double bb = (double)(x2 - x1 + 1) * (y2 - y1 + 1);
    return 1.0 - (bb - (double)a->size - (double)b->size) / (double)im_size;
}
