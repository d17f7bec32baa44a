/* boxes.c - box geometry every detection part shares: area and intersection over union. */
#include "core/internal.h"

#include <math.h>

double fv_box_area(fv_box b)
{
    return fmax(0.0, (double)b.x2 - b.x1) * fmax(0.0, (double)b.y2 - b.y1);
}

double fv_box_iou(fv_box a, fv_box b)
{
    fv_box i = {fmaxf(a.x1, b.x1), fmaxf(a.y1, b.y1), fminf(a.x2, b.x2), fminf(a.y2, b.y2)};
    double inter = fv_box_area(i), uni = fv_box_area(a) + fv_box_area(b) - inter;
    return uni > 0 ? inter / uni : 0.0;
}
