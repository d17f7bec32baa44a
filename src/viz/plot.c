/* plot.c - figures a person can open: line plots (training curves, ROC and precision-recall
 * curves) with axes, ticks, labels and a legend; a reliability diagram (bars against the
 * diagonal); a confusion-matrix heat map with the counts written in its cells. Drawn with cairo
 * (lines, text, anti-aliasing) onto a PNG or SVG surface chosen by the file's extension and
 * written atomically through a stream. */
#include "viz/viz.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <math.h>
#include <string.h>

#define FV_PI 3.14159265358979323846

/* ---------------------------------------------------------------- canvas */

static cairo_status_t to_file(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, (FILE *)closure) == len ? CAIRO_STATUS_SUCCESS
                                                       : CAIRO_STATUS_WRITE_ERROR;
}

static int is_svg(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && (strcmp(path + n - 4, ".svg") == 0 || strcmp(path + n - 4, ".SVG") == 0);
}

fv_status fv_viz_open(viz_canvas *c, const char *path, int w, int h)
{
    memset(c, 0, sizeof *c);
    size_t n = strlen(path);
    int png = n > 4 && (strcmp(path + n - 4, ".png") == 0 || strcmp(path + n - 4, ".PNG") == 0);
    if (!png && !is_svg(path))
        return fv_err(FV_ERR_INVALID, "%s: figures are written as .png or .svg", path);
    if (w < 16 || h < 16 || w > 16384 || h > 16384)
        return fv_err(FV_ERR_INVALID, "%s: figure size %dx%d out of range (16..16384)", path, w, h);
    FV_TRY(fv_atomic_open(&c->file, path));
    c->svg = !png;
    c->w = w, c->h = h;
    c->surface = c->svg ? cairo_svg_surface_create_for_stream(to_file, c->file.f, w, h)
                        : cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        fv_viz_abort(c);
        return fv_err(FV_ERR_NOMEM, "%s: cannot create a %dx%d drawing", path, w, h);
    }
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_select_font_face(c->cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    return FV_OK;
}

void fv_viz_abort(viz_canvas *c)
{
    if (c->cr)
        cairo_destroy(c->cr);
    if (c->surface)
        cairo_surface_destroy(c->surface);
    c->cr = NULL, c->surface = NULL;
    fv_atomic_abort(&c->file);
}

fv_status fv_viz_close(viz_canvas *c)
{
    cairo_status_t s = cairo_status(c->cr);
    cairo_destroy(c->cr);
    c->cr = NULL;
    if (s == CAIRO_STATUS_SUCCESS && !c->svg)
        s = cairo_surface_write_to_png_stream(c->surface, to_file, c->file.f);
    cairo_surface_finish(c->surface); /* an SVG is written out here */
    if (s == CAIRO_STATUS_SUCCESS)
        s = cairo_surface_status(c->surface);
    cairo_surface_destroy(c->surface);
    c->surface = NULL;
    if (s != CAIRO_STATUS_SUCCESS) {
        fv_atomic_abort(&c->file);
        return fv_err(FV_ERR_IO, "%s: drawing failed: %s", c->file.path,
                      cairo_status_to_string(s));
    }
    return fv_atomic_commit(&c->file);
}

/* Text with its anchor: ax, ay in {0, 0.5, 1} of its width / height from (x, y). */
void fv_viz_text(viz_canvas *c, double x, double y, double size, double ax, double ay,
              const char *s)
{
    cairo_text_extents_t e;
    cairo_set_font_size(c->cr, size);
    cairo_text_extents(c->cr, s, &e);
    cairo_move_to(c->cr, x - ax * e.width - e.x_bearing, y - ay * e.height - e.y_bearing);
    cairo_show_text(c->cr, s);
}

/* A distinct color per series (the Tableau 10 palette). */
void fv_viz_color(viz_canvas *c, int i)
{
    static const double pal[10][3] = {
        {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
        {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
        {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81}};
    if (i == 10) /* an eleventh series (the micro average beside ten classes) in black */
        cairo_set_source_rgb(c->cr, 0, 0, 0);
    else
        cairo_set_source_rgb(c->cr, pal[i % 10][0], pal[i % 10][1], pal[i % 10][2]);
}

/* ---------------------------------------------------------------- axes */

/* A "nice" tick step (1, 2 or 5 times a power of ten) giving about 5 intervals. */
static double tick_step(double span)
{
    double raw = span / 5, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void fit_range(const fv_series *s, int ns, int axis, double *lo, double *hi)
{
    if (*lo < *hi)
        return;
    *lo = INFINITY, *hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = axis ? s[k].y[i] : s[k].x[i];
            if (isfinite(v))
                *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
    if (!(*lo <= *hi))
        *lo = 0, *hi = 1;
    if (*hi - *lo < 1e-12)
        *lo -= 0.5, *hi += 0.5;
    double pad = (*hi - *lo) * 0.04;
    *lo -= pad, *hi += pad;
}

double fv_viz_x(const viz_axes *a, double v)
{
    return a->left + (v - a->x0) / (a->x1 - a->x0) * (a->right - a->left);
}

double fv_viz_y(const viz_axes *a, double v)
{
    return a->bottom - (v - a->y0) / (a->y1 - a->y0) * (a->bottom - a->top);
}

static void fmt_tick(double v, double step, char *buf, size_t len)
{
    int dec = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, len, "%.*f", dec > 6 ? 6 : dec, fabs(v) < step * 1e-9 ? 0.0 : v);
}

/* Frame, grid, ticks and labels for the range in a; title and axis labels from p. */
void fv_viz_axes_draw(viz_canvas *c, const viz_axes *a, const fv_plot_args *p)
{
    cairo_t *cr = c->cr;
    char buf[32];
    cairo_set_line_width(cr, 1);
    double sx = tick_step(a->x1 - a->x0), sy = tick_step(a->y1 - a->y0);
    for (int axis = 0; axis < 2; axis++) {
        double lo = axis ? a->y0 : a->x0, hi = axis ? a->y1 : a->x1, st = axis ? sy : sx;
        for (double v = ceil(lo / st - 1e-9) * st; v <= hi + st * 1e-9; v += st) {
            double px = axis ? a->left : fv_viz_x(a, v), py = axis ? fv_viz_y(a, v) : a->bottom;
            cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
            cairo_move_to(cr, axis ? a->left : px, axis ? py : a->top);
            cairo_line_to(cr, axis ? a->right : px, axis ? py : a->bottom);
            cairo_stroke(cr);
            cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
            fmt_tick(v, st, buf, sizeof buf);
            if (axis)
                fv_viz_text(c, px - 6, py, 12, 1, 0.5, buf);
            else
                fv_viz_text(c, px, py + 6, 12, 0.5, 0, buf);
        }
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, a->left, a->top, a->right - a->left, a->bottom - a->top);
    cairo_stroke(cr);
    if (p->title)
        fv_viz_text(c, (a->left + a->right) / 2, 14, 16, 0.5, 0, p->title);
    if (p->xlabel)
        fv_viz_text(c, (a->left + a->right) / 2, c->h - 8, 13, 0.5, 1, p->xlabel);
    if (p->ylabel) {
        cairo_save(cr);
        cairo_translate(cr, 16, (a->top + a->bottom) / 2);
        cairo_rotate(cr, -FV_PI / 2);
        fv_viz_text(c, 0, 0, 13, 0.5, 0.5, p->ylabel);
        cairo_restore(cr);
    }
}

/* The plot area of canvas c, leaving `legend` pixels on the right for the legend. */
static viz_axes layout(const viz_canvas *c, double legend, double x0, double x1, double y0,
                       double y1)
{
    return (viz_axes){.left = 70, .right = c->w - 20 - legend, .top = 40, .bottom = c->h - 50,
                      .x0 = x0, .x1 = x1, .y0 = y0, .y1 = y1};
}

/* ---------------------------------------------------------------- line plots */

/* The dashed y = x line from v = lo to v = hi (chance in ROC, perfect calibration). */
static void diagonal(cairo_t *cr, const viz_axes *a, double lo, double hi)
{
    double d[] = {4, 4};
    cairo_set_source_rgb(cr, 0.5, 0.5, 0.5);
    cairo_set_dash(cr, d, 2, 0);
    cairo_move_to(cr, fv_viz_x(a, lo), fv_viz_y(a, lo));
    cairo_line_to(cr, fv_viz_x(a, hi), fv_viz_y(a, hi));
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
}

/* The width the legend of ns series takes right of the plot (0: no legend): its longest label at
 * about 7.5 pixels a character (12-point sans), the line sample and margins. */
static double legend_width(const fv_series *s, int ns)
{
    size_t w = 0;
    for (int k = 0; k < ns; k++)
        w = s[k].label && strlen(s[k].label) > w ? strlen(s[k].label) : w;
    return ns > 1 || (ns == 1 && s[0].label) ? 56 + 7.5 * (double)(w < 48 ? w : 48) : 0;
}

/* The legend in the margin right of the plot area, so that it never covers a curve; at the top,
 * or at the bottom when bottom is set. */
static void legend(viz_canvas *c, const viz_axes *a, const fv_series *s, int ns, int bottom)
{
    double row = 18, bh = ns * row + 8, x = a->right + 10;
    double y = bottom ? a->bottom - bh : a->top;
    cairo_set_source_rgb(c->cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(c->cr, 1);
    cairo_rectangle(c->cr, x, y, c->w - x - 6, bh);
    cairo_stroke(c->cr);
    for (int k = 0; k < ns; k++) {
        double ly = y + 4 + row * (k + 0.5);
        fv_viz_color(c, k);
        cairo_set_line_width(c->cr, 2);
        cairo_move_to(c->cr, x + 6, ly);
        cairo_line_to(c->cr, x + 28, ly);
        cairo_stroke(c->cr);
        cairo_set_source_rgb(c->cr, 0.1, 0.1, 0.1);
        fv_viz_text(c, x + 34, ly, 12, 0, 0.5, s[k].label ? s[k].label : "");
    }
}

static fv_status check_series(const char *path, const fv_series *s, int ns)
{
    if (ns < 1 || ns > 64)
        return fv_err(FV_ERR_INVALID, "%s: %d series (1 to 64)", path, ns);
    for (int k = 0; k < ns; k++)
        if (s[k].n < 1 || !s[k].x || !s[k].y)
            return fv_err(FV_ERR_INVALID, "%s: series %d ('%s') has no points", path, k,
                          s[k].label ? s[k].label : "");
    return FV_OK;
}

fv_status fv_plot_lines_(const char *path, const fv_series *s, int ns, fv_plot_args p)
{
    FV_TRY(check_series(path, s, ns));
    viz_canvas c;
    double lw = legend_width(s, ns); /* a default canvas widens by the legend; a given one does not */
    FV_TRY(fv_viz_open(&c, path, p.width ? p.width : 640 + (int)lw, p.height ? p.height : 480));
    double x0 = p.xmin, x1 = p.xmax, y0 = p.ymin, y1 = p.ymax;
    fit_range(s, ns, 0, &x0, &x1);
    fit_range(s, ns, 1, &y0, &y1);
    viz_axes a = layout(&c, lw, x0, x1, y0, y1);
    fv_viz_axes_draw(&c, &a, &p);
    cairo_t *cr = c.cr;
    cairo_save(cr);
    cairo_rectangle(cr, a.left, a.top, a.right - a.left, a.bottom - a.top);
    cairo_clip(cr);
    if (p.diagonal)
        diagonal(cr, &a, fmax(x0, y0), fmin(x1, y1));
    for (int k = 0; k < ns; k++) {
        fv_viz_color(&c, k);
        cairo_set_line_width(cr, 2);
        for (int i = 0; i < s[k].n; i++)
            (i ? cairo_line_to : cairo_move_to)(cr, fv_viz_x(&a, s[k].x[i]), fv_viz_y(&a, s[k].y[i]));
        if (s[k].n == 1) /* a lone point as a dot */
            cairo_arc(cr, fv_viz_x(&a, s[k].x[0]), fv_viz_y(&a, s[k].y[0]), 3, 0, 2 * FV_PI);
        cairo_stroke(cr);
    }
    cairo_restore(cr);
    if (lw > 0)
        legend(&c, &a, s, ns, p.legend_bottom);
    return fv_viz_close(&c);
}

/* ---------------------------------------------------------------- reliability diagram */

fv_status fv_plot_reliability_(const char *path, const double *conf, const double *acc,
                               const int64_t *count, int bins, fv_plot_args p)
{
    if (bins < 1 || bins > 1000)
        return fv_err(FV_ERR_INVALID, "%s: %d bins (1 to 1000)", path, bins);
    viz_canvas c;
    fv_series key[2] = {{.label = "accuracy"}, {.label = "mean confidence"}};
    double lw = legend_width(key, 2);
    FV_TRY(fv_viz_open(&c, path, p.width ? p.width : 560 + (int)lw, p.height ? p.height : 520));
    viz_axes a = layout(&c, lw, 0, 1, 0, 1);
    p.xlabel = p.xlabel ? p.xlabel : "confidence";
    p.ylabel = p.ylabel ? p.ylabel : "accuracy";
    fv_viz_axes_draw(&c, &a, &p);
    cairo_t *cr = c.cr;
    for (int b = 0; b < bins; b++) {
        if (!count[b])
            continue;
        double l = fv_viz_x(&a, (double)b / bins), r = fv_viz_x(&a, (double)(b + 1) / bins);
        cairo_set_source_rgba(cr, 0.12, 0.47, 0.71, 0.8); /* accuracy */
        cairo_rectangle(cr, l + 1, fv_viz_y(&a, acc[b]), r - l - 2, fv_viz_y(&a, 0) - fv_viz_y(&a, acc[b]));
        cairo_fill(cr);
        fv_viz_color(&c, 1); /* the bin's mean confidence, as the legend's second entry */
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, l + 1, fv_viz_y(&a, conf[b]));
        cairo_line_to(cr, r - 1, fv_viz_y(&a, conf[b]));
        cairo_stroke(cr);
    }
    diagonal(cr, &a, 0, 1);
    legend(&c, &a, key, 2, 0);
    return fv_viz_close(&c);
}

/* ---------------------------------------------------------------- confusion matrix */

fv_status fv_plot_confusion_(const char *path, const int64_t *counts, int k,
                             const char *const *names, fv_plot_args p)
{
    if (k < 1 || k > 4096)
        return fv_err(FV_ERR_INVALID, "%s: %d classes (1 to 4096)", path, k);
    /* cells shrink with k (numbers from 24 pixels, names too); the figure stays under ~4,300 px */
    int cell = k <= 10 ? 52 : k <= 30 ? 24 : k <= 200 ? 8 : k <= 1000 ? 4 : 1, margin = 130;
    viz_canvas c;
    FV_TRY(fv_viz_open(&c, path, p.width ? p.width : margin + k * cell + 30,
                    p.height ? p.height : 40 + k * cell + (cell >= 24 ? 100 : 30)));
    cairo_t *cr = c.cr;
    int64_t top = 1;
    for (int i = 0; i < k * k; i++)
        top = counts[i] > top ? counts[i] : top;
    char buf[32];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
            double v = (double)counts[i * k + j] / (double)top, x = margin + j * cell;
            double y = 40 + i * cell;
            cairo_set_source_rgb(cr, 1 - 0.88 * v, 1 - 0.53 * v, 1 - 0.29 * v); /* white->blue */
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            if (cell >= 24) {
                snprintf(buf, sizeof buf, "%lld", (long long)counts[i * k + j]);
                cairo_set_source_rgb(cr, v > 0.5 ? 1 : 0.1, v > 0.5 ? 1 : 0.1, v > 0.5 ? 1 : 0.1);
                fv_viz_text(&c, x + cell / 2.0, y + cell / 2.0, cell >= 40 ? 12 : 8, 0.5, 0.5, buf);
            }
        }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    for (int i = 0; i < k && cell >= 24; i++) {
        char def[16];
        snprintf(def, sizeof def, "%d", i);
        const char *nm = names && names[i] ? names[i] : def;
        fv_viz_text(&c, margin - 6, 40 + (i + 0.5) * cell, 11, 1, 0.5, nm);
        cairo_save(cr);
        cairo_translate(cr, margin + (i + 0.5) * cell, 40 + k * cell + 6);
        cairo_rotate(cr, FV_PI / 4);
        fv_viz_text(&c, 0, 0, 11, 0, 0.5, nm);
        cairo_restore(cr);
    }
    fv_viz_text(&c, margin + k * cell / 2.0, 14, 16, 0.5, 0, p.title ? p.title : "confusion matrix");
    fv_viz_text(&c, 8, 40 + k * cell / 2.0, 12, 0, 0.5, "true");
    fv_viz_text(&c, margin + k * cell / 2.0, c.h - 6, 12, 0.5, 1, "predicted");
    return fv_viz_close(&c);
}
