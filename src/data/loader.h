/* loader.h - the batch loader fit trains from: gathers a batch's rows in a given order (resizing
 * images to the model's input when asked), turns class indices into one-hot rows when the loss
 * wants distributions, augments and mixes, all on a background thread that prepares the next
 * batch while the current one trains. Internal. */
#ifndef FV_DATA_LOADER_H
#define FV_DATA_LOADER_H

#include "core/internal.h"

typedef struct fv_loader fv_loader;

typedef struct fv_loader_cfg {
    const fv_tensor *x, *y;    /* the data set (y may be NULL) */
    const int64_t *order;      /* sample order, or NULL for the stored order */
    int64_t n;                 /* samples */
    int batch;                 /* samples per batch (the last may be short) */
    int64_t x_size;            /* values per sample */
    int64_t y_size;            /* values per stored target (1: a class index) */
    int64_t t_size;            /* values per fed target: y_size, or the classes for one-hot */
    const fv_augment *augment; /* NULL or nothing on: no augmentation */
    int c, h, w;               /* the image shape, when augmenting or resizing */
    int sc, sh, sw;            /* > 0: the stored samples are (sc, sh, sw) images, converted to
                                  (c, h, w) as they are gathered (fv_image_resample) */
    uint64_t key;              /* batch b draws its augmentation from the stream seeded key + b */
} fv_loader_cfg;

/* Copies rows order[start..start+n) (or start.. when order is NULL) into x (resampled when sc > 0)
 * and t, expanding class indices to one-hot rows when t_size > y_size == 1. */
void fv_gather_rows(const fv_loader_cfg *c, int64_t start, int n, float *x, float *t);

/* Starts the background thread; cfg (and what it points to) must outlive the loader. */
fv_status fv_loader_start(fv_loader **out, const fv_loader_cfg *cfg);
/* The next batch into x (batch * x_size) and t (batch * t_size); *cnt its size. */
fv_status fv_loader_next(fv_loader *l, float *x, float *t, int *cnt);
/* Stops the thread (at any point) and frees the loader. NULL is a no-op. */
void fv_loader_stop(fv_loader *l);

#endif
