/* grid.c - image grids with captions: N images (gray, RGB, or one channel through a heat color
 * map) scaled up by nearest-neighbour pixels into tiles of a grid, each with its caption below
 * and a title above, written as PNG or SVG. What filters, feature maps, saliency and Grad-CAM
 * maps and misclassified images are shown with. */
#include "viz/viz.h"

#include <math.h>
#include <string.h>

/* A perceptual dark-to-bright heat ramp (black, purple, red, orange, yellow, white). */
static void heat(double t, unsigned char rgb[3])
{
    static const double stops[6][3] = {{0, 0, 0},      {0.35, 0.05, 0.45}, {0.8, 0.1, 0.2},
                                       {0.98, 0.5, 0}, {1, 0.9, 0.2},      {1, 1, 1}};
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double f = t * 5;
    int i = f >= 5 ? 4 : (int)f;
    double u = f - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = (unsigned char)lround(255 * (stops[i][k] * (1 - u) + stops[i + 1][k] * u));
}

/* The value range a tile is shown with: its own min..max, the whole batch's, or fixed. */
static void tile_range(const fv_grid_args *a, const float *p, int64_t n, const float *all,
                       int64_t nall, double *lo, double *hi)
{
    if (a->vmin < a->vmax) {
        *lo = a->vmin, *hi = a->vmax;
        return;
    }
    const float *q = a->shared_scale ? all : p;
    int64_t m = a->shared_scale ? nall : n;
    *lo = INFINITY, *hi = -INFINITY;
    for (int64_t i = 0; i < m; i++)
        if (isfinite(q[i]))
            *lo = fmin(*lo, q[i]), *hi = fmax(*hi, q[i]);
    if (!(*lo < *hi))
        *hi = *lo + 1;
}

cairo_surface_t *fv_viz_image_surface(const float *p, int c, int h, int w, double lo, double hi,
                                      int heat_map)
{
    int64_t hw = (int64_t)h * w;
    cairo_surface_t *t = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(t) != CAIRO_STATUS_SUCCESS)
        return t;
    cairo_surface_flush(t);
    unsigned char *d = cairo_image_surface_get_data(t);
    int stride = cairo_image_surface_get_stride(t);
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            unsigned char rgb[3];
            for (int k = 0; k < 3; k++) {
                double v = (p[(c == 3 ? k : 0) * hw + (int64_t)i * w + j] - lo) / (hi - lo);
                rgb[k] = (unsigned char)lround(255 * (v > 0 ? (v < 1 ? v : 1) : 0)); /* NaN: 0 */
            }
            if (heat_map && c == 1)
                heat(rgb[0] / 255.0, rgb);
            uint32_t *px = (uint32_t *)(d + (int64_t)i * stride) + j;
            *px = (uint32_t)rgb[0] << 16 | (uint32_t)rgb[1] << 8 | rgb[2];
        }
    cairo_surface_mark_dirty(t);
    return t;
}

/* Image s of x as an RGB24 cairo surface. */
static cairo_surface_t *tile(const fv_tensor *x, int s, const fv_grid_args *a)
{
    int c = (int)x->dims[1], h = (int)x->dims[2], w = (int)x->dims[3];
    int64_t hw = (int64_t)h * w;
    const float *p = x->data + (int64_t)s * c * hw;
    double lo, hi;
    tile_range(a, p, c * hw, x->data, fv_tensor_numel(x), &lo, &hi);
    return fv_viz_image_surface(p, c, h, w, lo, hi, a->heat);
}

/* The font size, at most `size`, at which s fits in width w. */
static double fit_size(viz_canvas *c, const char *s, double w, double size)
{
    cairo_text_extents_t e;
    cairo_set_font_size(c->cr, size);
    cairo_text_extents(c->cr, s, &e);
    return e.width > w && e.width > 0 ? fmax(6, size * w / e.width) : size;
}

static fv_status check_grid(const char *path, const fv_tensor *x)
{
    if (!x || x->ndim != 4 || (x->dims[1] != 1 && x->dims[1] != 3) || x->dims[0] < 1 ||
        x->dims[0] > 4096 || x->dims[2] > 4096 || x->dims[3] > 4096)
        return fv_err(FV_ERR_SHAPE, "%s: an image grid takes (N, 1 or 3, H, W) images, N and "
                      "sides up to 4096", path);
    return FV_OK;
}

fv_status fv_image_grid_(const char *path, const fv_tensor *x, fv_grid_args a)
{
    FV_TRY(check_grid(path, x));
    int n = (int)x->dims[0], h = (int)x->dims[2], w = (int)x->dims[3];
    int cols = a.cols > 0 ? a.cols : (int)ceil(sqrt((double)n));
    cols = cols > n ? n : cols;
    int rows = (n + cols - 1) / cols;
    int scale = a.scale > 0 ? a.scale : (int)fmax(1, ceil(64.0 / fmax(h, w)));
    int tw = w * scale, th = h * scale, cap = a.captions ? 16 : 0, gap = 6;
    int title = a.title ? 28 : 0, cw = tw + gap;
    viz_canvas c;
    FV_TRY(fv_viz_open(&c, path, (int)fmax(cols * cw + gap, 200), title + rows * (th + cap + gap) + gap));
    cairo_set_source_rgb(c.cr, 0.1, 0.1, 0.1);
    if (a.title)
        fv_viz_text(&c, c.w / 2.0, 8, 14, 0.5, 0, a.title);
    for (int s = 0; s < n; s++) {
        cairo_surface_t *t = tile(x, s, &a);
        if (cairo_surface_status(t) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(t);
            fv_viz_abort(&c);
            return fv_err(FV_ERR_NOMEM, "%s: no memory for a %dx%d tile", path, w, h);
        }
        double x0 = gap + (s % cols) * cw, y0 = title + gap + (s / cols) * (th + cap + gap);
        cairo_save(c.cr);
        cairo_translate(c.cr, x0, y0);
        cairo_scale(c.cr, scale, scale);
        cairo_set_source_surface(c.cr, t, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(c.cr), CAIRO_FILTER_NEAREST);
        cairo_paint(c.cr);
        cairo_restore(c.cr);
        cairo_surface_destroy(t);
        if (a.captions && a.captions[s]) {
            cairo_set_source_rgb(c.cr, 0.1, 0.1, 0.1);
            fv_viz_text(&c, x0 + tw / 2.0, y0 + th + 2, fit_size(&c, a.captions[s], tw, 11), 0.5,
                     0, a.captions[s]);
        }
    }
    return fv_viz_close(&c);
}
