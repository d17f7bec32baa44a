/* det.h - what the detection-data files share (detset.c, voc.c, coco.c, scenes.c) and the fuzz
 * targets call: growing box lists, class lookup, the box check, and the in-memory readers. */
#ifndef FV_DET_H
#define FV_DET_H

#include "data/data.h"

/* Largest VOC XML file read (annotations are a few KB). */
#define FV_VOC_MAX_FILE ((size_t)16 << 20)

/* Appends o to img's objects (the array doubles as it fills). */
fv_status fv_det_push(fv_det_annotation *img, const fv_det_object *o);
/* The index of name among names[0..n), or -1. */
int fv_det_class_find(char *const *names, int n, const char *name);
/* FV_OK when b is a box of non-negative size inside a w x h image; else an error naming file,
 * the object (its 1-based number k) and the box. */
fv_status fv_det_check_box(const char *file, int k, fv_box b, int w, int h);
/* A set of n images (zeroed) and a copy of the class names (NULL: none yet). */
fv_detset *fv_detset_alloc(int64_t n, char *const *names, int nnames, const char *name);

/* One VOC annotation from bytes (name in every error): size and objects into *img (file
 * NULL), the <filename> text into *filename (fv_malloc'd). Classes must be in names[0..n). */
fv_status fv_voc_parse(const char *name, const unsigned char *buf, size_t len, char *const *names,
                       int n, fv_det_annotation *img, char **filename);
/* A COCO instances file from bytes: image files are image_dir/file_name and must exist, unless
 * image_dir is NULL (then nothing is looked up: the fuzz target). */
fv_detset *fv_coco_parse(const char *name, const char *buf, size_t len, const fv_det_args *a,
                         const char *image_dir);

/* Writes img's annotation (size, objects, names[cls]) as VOC XML naming image `filename`
 * (atomic); minima are written 1-based, so fv_voc_parse gives the boxes back. */
fv_status fv_voc_write(const char *path, const char *filename, const fv_det_annotation *img,
                       char *const *names, int nnames);

#endif /* FV_DET_H */
