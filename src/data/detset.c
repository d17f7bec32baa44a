/* detset.c - the detection data set (fv_detset): allocation and freeing, growing box lists,
 * class lookup, the box check every reader applies, and decoding one of its images. */
#include "data/det.h"

#include <math.h>
#include <string.h>

fv_status fv_det_push(fv_det_annotation *img, const fv_det_object *o)
{
    int n = img->nobjects;
    if (n == 1 << 24)
        return fv_err(FV_ERR_INVALID, "more than %d boxes in one image", 1 << 24);
    if ((n & (n - 1)) == 0) { /* 0, 1, 2, 4, ...: full */
        size_t cap = n ? 2 * (size_t)n : 4;
        fv_det_object *p = fv_realloc(img->objects, (size_t)n * sizeof *p, cap * sizeof *p,
                                      "boxes");
        if (!p)
            return FV_ERR_NOMEM;
        img->objects = p;
    }
    img->objects[img->nobjects++] = *o;
    return FV_OK;
}

int fv_det_class_find(char *const *names, int n, const char *name)
{
    for (int k = 0; k < n; k++)
        if (strcmp(names[k], name) == 0)
            return k;
    return -1;
}

fv_status fv_det_check_box(const char *file, int k, fv_box b, int w, int h)
{
    if (!(isfinite(b.x1) && isfinite(b.y1) && isfinite(b.x2) && isfinite(b.y2)))
        return fv_err(FV_ERR_INVALID, "%s: object %d: a box corner is not a finite number", file,
                      k);
    if (b.x2 < b.x1 || b.y2 < b.y1)
        return fv_err(FV_ERR_INVALID, "%s: object %d: box (%g, %g, %g, %g) has a negative size",
                      file, k, b.x1, b.y1, b.x2, b.y2);
    if (b.x1 < 0 || b.y1 < 0 || b.x2 > w || b.y2 > h)
        return fv_err(FV_ERR_INVALID, "%s: object %d: box (%g, %g, %g, %g) is outside the "
                      "%dx%d image", file, k, b.x1, b.y1, b.x2, b.y2, w, h);
    return FV_OK;
}

fv_detset *fv_detset_alloc(int64_t n, char *const *names, int nnames, const char *name)
{
    fv_detset *d = fv_calloc(1, sizeof *d, "detection set");
    if (!d)
        return NULL;
    snprintf(d->name, sizeof d->name, "%s", name);
    if (n > 0 && !(d->images = fv_calloc((size_t)n, sizeof *d->images, "detection images")))
        goto fail;
    d->nimages = n;
    if (nnames > 0) {
        if (!(d->class_names = fv_calloc((size_t)nnames, sizeof(char *), "class names")))
            goto fail;
        d->num_classes = nnames;
        for (int k = 0; k < nnames; k++)
            if (!(d->class_names[k] = fv_strdup(names[k], "class name")))
                goto fail;
    }
    return d;
fail:
    fv_detset_free(d);
    return NULL;
}

void fv_det_annotation_clear(fv_det_annotation *img)
{
    if (!img)
        return;
    fv_free(img->file);
    fv_free(img->objects);
    *img = (fv_det_annotation){0};
}

void fv_detset_free(fv_detset *d)
{
    if (!d)
        return;
    for (int64_t i = 0; i < d->nimages && d->images; i++)
        fv_det_annotation_clear(&d->images[i]);
    fv_free(d->images);
    for (int k = 0; k < d->num_classes && d->class_names; k++)
        fv_free(d->class_names[k]);
    fv_free(d->class_names);
    fv_free(d);
}

int64_t fv_detset_count(const fv_detset *d)
{
    int64_t n = 0;
    for (int64_t i = 0; d && i < d->nimages; i++)
        n += d->images[i].nobjects;
    return n;
}

int64_t fv_detset_truths(const fv_detset *d, int64_t i, fv_det_truth *out, int64_t cap)
{
    if (!d || i < 0 || i >= d->nimages)
        return -1;
    const fv_det_annotation *m = &d->images[i];
    for (int k = 0; k < m->nobjects && k < cap; k++) {
        const fv_det_object *o = &m->objects[k];
        out[k] = (fv_det_truth){.box = o->box, .cls = o->cls, .difficult = o->difficult,
                                .crowd = o->iscrowd, .area = o->area};
    }
    return m->nobjects;
}

fv_tensor *fv_detset_image(const fv_detset *d, int64_t i)
{
    if (!d || i < 0 || i >= d->nimages || !d->images[i].file) {
        fv_err(FV_ERR_INVALID, "detection set: no image %lld", (long long)i);
        return NULL;
    }
    const fv_det_annotation *m = &d->images[i];
    fv_tensor *t = fv_image_load(m->file);
    if (t && (t->dims[2] != m->height || t->dims[3] != m->width)) {
        fv_err(FV_ERR_SHAPE, "%s: the image is %lldx%lld, its annotation says %dx%d", m->file,
               (long long)t->dims[3], (long long)t->dims[2], m->width, m->height);
        fv_tensor_free(t);
        return NULL;
    }
    return t;
}
