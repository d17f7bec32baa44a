/* proposals_draw.c - region proposals drawn on their image: the image as the background of a
 * PNG, the boxes outlined in the series palette (the first, best-ranked ones drawn last, on top). */
#include "viz/viz.h"

#include <math.h>

/* The image's pixels ((C, H, W) or (1, C, H, W) in [0, 1], 1 or 3 channels) onto the canvas. */
static fv_status paint_image(viz_canvas *c, const fv_tensor *img, int ch, int h, int w)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return fv_err(FV_ERR_NOMEM, "proposals overlay: cannot create a %dx%d image", w, h);
    }
    cairo_surface_flush(s);
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    size_t np = (size_t)h * w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t px = 0;
            for (int k = 0; k < 3; k++) {
                float v = img->data[(size_t)(ch == 3 ? k : 0) * np + (size_t)y * w + x];
                v = isfinite(v) ? (v < 0 ? 0 : v > 1 ? 1 : v) : 0;
                px = px << 8 | (uint32_t)lroundf(v * 255);
            }
            *(uint32_t *)(d + (size_t)y * stride + (size_t)x * 4) = px;
        }
    cairo_surface_mark_dirty(s);
    cairo_set_source_surface(c->cr, s, 0, 0);
    cairo_paint(c->cr);
    cairo_surface_destroy(s);
    return FV_OK;
}

fv_status fv_draw_proposals(const char *path, const fv_tensor *img, const fv_box *boxes,
                            int64_t n)
{
    if (!img || !(img->ndim == 3 || (img->ndim == 4 && img->dims[0] == 1)))
        return fv_err(FV_ERR_SHAPE, "%s: the overlay needs a (C, H, W) image", path);
    int nd = img->ndim;
    int64_t ch = img->dims[nd - 3], h = img->dims[nd - 2], w = img->dims[nd - 1];
    if ((ch != 1 && ch != 3) || h < 1 || w < 1 || h > 16384 || w > 16384)
        return fv_err(FV_ERR_SHAPE, "%s: the overlay needs a 1- or 3-channel image of 1..16384 px",
                      path);
    if (n < 0 || (n > 0 && !boxes))
        return fv_err(FV_ERR_INVALID, "%s: no boxes to draw", path);
    viz_canvas c;
    /* the canvas is at least 16 px; a smaller image sits in its top-left corner */
    FV_TRY(fv_viz_open(&c, path, w < 16 ? 16 : (int)w, h < 16 ? 16 : (int)h));
    fv_status st = paint_image(&c, img, (int)ch, (int)h, (int)w);
    if (st != FV_OK) {
        fv_viz_abort(&c);
        return st;
    }
    cairo_set_line_width(c.cr, 2);
    for (int64_t i = n - 1; i >= 0; i--) {
        fv_box b = boxes[i];
        if (!(isfinite(b.x1) && isfinite(b.y1) && isfinite(b.x2) && isfinite(b.y2)))
            continue;
        fv_viz_color(&c, (int)(i % 10));
        cairo_rectangle(c.cr, b.x1 + 1, b.y1 + 1, fmax(0, b.x2 - b.x1 - 2),
                        fmax(0, b.y2 - b.y1 - 2));
        cairo_stroke(c.cr);
    }
    return fv_viz_close(&c);
}
