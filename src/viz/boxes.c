/* boxes.c - detection boxes drawn on images: each box's outline in its class's colour with a
 * label (class name, and score when given) on a filled tag above it; one image, or a grid of
 * images with their boxes (the scene generator's preview, the detectors' reports). */
#include "viz/viz.h"

#include <math.h>
#include <stdio.h>

static fv_status check_image(const char *path, const fv_tensor *img, int *c, int *h, int *w)
{
    int off = img && img->ndim == 4 ? 1 : 0;
    *c = *h = *w = 0;
    if (!img || (img->ndim != 3 && img->ndim != 4) || (off && img->dims[0] != 1) ||
        (img->dims[off] != 1 && img->dims[off] != 3) || img->dims[off + 1] < 1 ||
        img->dims[off + 2] < 1 || img->dims[off + 1] > 8192 || img->dims[off + 2] > 8192)
        return fv_err(FV_ERR_SHAPE, "%s: boxes are drawn on a (1 or 3, H, W) image, sides up to "
                      "8192", path);
    *c = (int)img->dims[off], *h = (int)img->dims[off + 1], *w = (int)img->dims[off + 2];
    return FV_OK;
}

/* The image at (x0, y0) magnified by scale, its boxes and labels over it. */
static fv_status draw_one(viz_canvas *c, double x0, double y0, const fv_tensor *img,
                          const fv_det_object *objs, int n, const char *const *names,
                          const float *scores, double scale, const char *path)
{
    int ch = 0, h = 0, w = 0;
    FV_TRY(check_image(path, img, &ch, &h, &w));
    cairo_surface_t *t = fv_viz_image_surface(img->data, ch, h, w, 0, 1, 0);
    if (cairo_surface_status(t) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(t);
        return fv_err(FV_ERR_NOMEM, "%s: no memory for a %dx%d image", path, w, h);
    }
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, t, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(t);
    double fs = fmax(8, fmin(12, 0.05 * h * scale));
    for (int k = 0; k < n; k++) {
        const fv_det_object *o = &objs[k];
        double bx = x0 + o->box.x1 * scale, by = y0 + o->box.y1 * scale;
        double bw = (o->box.x2 - o->box.x1) * scale, bh = (o->box.y2 - o->box.y1) * scale;
        fv_viz_color(c, o->cls < 0 ? 0 : o->cls % 10);
        cairo_set_line_width(cr, 1.5);
        cairo_rectangle(cr, bx, by, bw, bh);
        cairo_stroke(cr);
        char label[160];
        const char *nm = names && o->cls >= 0 && names[o->cls] ? names[o->cls] : NULL;
        int len = nm ? snprintf(label, sizeof label, "%.120s", nm)
                     : snprintf(label, sizeof label, "%d", o->cls);
        if (scores)
            snprintf(label + len, sizeof label - (size_t)len, " %.2f", (double)scores[k]);
        cairo_text_extents_t e;
        cairo_set_font_size(cr, fs);
        cairo_text_extents(cr, label, &e);
        double ty = by - fs - 2 >= y0 ? by - fs - 2 : by; /* above the box, else inside it */
        cairo_rectangle(cr, bx, ty, e.x_advance + 4, fs + 2);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        fv_viz_text(c, bx + 2, ty + 1, fs, 0, 0, label);
    }
    return FV_OK;
}

fv_status fv_draw_boxes(const char *path, const fv_tensor *img, const fv_det_object *objs, int n,
                        const char *const *names, const float *scores, int scale)
{
    int ch = 0, h = 0, w = 0;
    FV_TRY(check_image(path, img, &ch, &h, &w));
    if (n < 0 || (n > 0 && !objs) || scale < 0 || scale > 16)
        return fv_err(FV_ERR_INVALID, "%s: %d boxes at scale %d (0..16)", path, n, scale);
    int s = scale ? scale : 1;
    viz_canvas c;
    FV_TRY(fv_viz_open(&c, path, w * s, h * s));
    fv_status st = draw_one(&c, 0, 0, img, objs, n, names, scores, s, path);
    if (st != FV_OK) {
        fv_viz_abort(&c);
        return st;
    }
    return fv_viz_close(&c);
}

fv_status fv_draw_boxes_grid(const char *path, const fv_tensor *const *imgs,
                             const fv_det_annotation *anns, int n, const char *const *names,
                             int cols, int scale)
{
    if (n < 1 || n > 1024 || !imgs || !anns || scale < 0 || scale > 16)
        return fv_err(FV_ERR_INVALID, "%s: a grid of 1 to 1024 images with boxes, scale 0..16",
                      path);
    int ch = 0, h = 0, w = 0, s = scale ? scale : 1, gap = 6;
    for (int i = 0; i < n; i++) { /* tiles as large as the largest image */
        int hi = 0, wi = 0;
        FV_TRY(check_image(path, imgs[i], &ch, &hi, &wi));
        h = hi > h ? hi : h, w = wi > w ? wi : w;
    }
    cols = cols > 0 ? (cols < n ? cols : n) : (int)ceil(sqrt((double)n));
    int rows = (n + cols - 1) / cols;
    viz_canvas c;
    FV_TRY(fv_viz_open(&c, path, cols * (w * s + gap) + gap, rows * (h * s + gap) + gap));
    for (int i = 0; i < n; i++) {
        fv_status st = draw_one(&c, gap + (i % cols) * (w * s + gap),
                                gap + (i / cols) * (h * s + gap), imgs[i], anns[i].objects,
                                anns[i].nobjects, names, NULL, s, path);
        if (st != FV_OK) {
            fv_viz_abort(&c);
            return st;
        }
    }
    return fv_viz_close(&c);
}
