/* viz.h - what the figure writers share (internal): a cairo canvas on a PNG or SVG file written
 * atomically, text placement, the series palette and plot axes. */
#ifndef FV_VIZ_H
#define FV_VIZ_H

#include "io/io.h"

#include <cairo.h>

typedef struct viz_canvas {
    fv_atomic_file file;
    cairo_surface_t *surface;
    cairo_t *cr;
    int w, h, svg;
} viz_canvas;

/* The drawing area (pixels) and the data range it shows. */
typedef struct viz_axes {
    double left, right, top, bottom;
    double x0, x1, y0, y1;
} viz_axes;

/* A white w x h canvas for path (.png or .svg). */
fv_status fv_viz_open(viz_canvas *c, const char *path, int w, int h);
/* Writes the figure (atomically) and frees the canvas. */
fv_status fv_viz_close(viz_canvas *c);
/* Frees the canvas, writing nothing. */
void fv_viz_abort(viz_canvas *c);
/* Text of `size` px anchored at (x, y): ax, ay the fraction of its width / height left and above. */
void fv_viz_text(viz_canvas *c, double x, double y, double size, double ax, double ay, const char *s);
/* Sets the source color of series i. */
void fv_viz_color(viz_canvas *c, int i);
/* Data to pixel coordinates. */
double fv_viz_x(const viz_axes *a, double v);
double fv_viz_y(const viz_axes *a, double v);
/* Frame, grid, tick labels, title and axis labels. */
void fv_viz_axes_draw(viz_canvas *c, const viz_axes *a, const fv_plot_args *p);

/* The image (C, H, W) at p (C 1 or 3) as an RGB24 surface, values mapped from [lo, hi] to [0, 255]
 * and clamped (NaN: 0); heat_map: a one-channel image in the heat colours (grid.c). */
cairo_surface_t *fv_viz_image_surface(const float *p, int c, int h, int w, double lo, double hi,
                                      int heat_map);

#endif
