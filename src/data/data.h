/* data.h - what the data loaders share and nothing else uses: the from-memory decoders (IDX,
 * PNG, JPEG; also fed bytes by the fuzz targets and the mutation test), the cap on decoded data,
 * buffers that grow only as decoded bytes arrive, tensors over such buffers, class-name lists, and
 * the loaders that stop after the first n samples (fv_dataset_load_dir_n picks among them). */
#ifndef FV_DATA_H
#define FV_DATA_H

#include "io/io.h"

#include <stdio.h>

/* An IDX file (plain, or gzip-compressed) from bytes. */
fv_tensor *fv_idx_decode(const char *name, const unsigned char *buf, size_t len);
/* Its first `limit` records (along the first dimension; 0: all, and then nothing may follow the
 * data); *total (or NULL) the number its header promises. The data must fit fv_data_limit(). */
fv_tensor *fv_idx_decode_n(const char *name, const unsigned char *buf, size_t len, int64_t limit,
                           int64_t *total);
/* The same from a file. */
fv_tensor *fv_idx_load_n(const char *path, int64_t limit, int64_t *total);

/* A PNG from bytes, refusing images of more than max_pixels pixels (0: the default limit). */
fv_tensor *fv_png_decode(const char *name, const unsigned char *buf, size_t len,
                         int64_t max_pixels);

/* A JPEG from bytes (gray or RGB; CMYK refused), the same way; libjpeg's warnings are errors. */
fv_tensor *fv_jpeg_decode(const char *name, const unsigned char *buf, size_t len,
                          int64_t max_pixels);

/* A PNG or a JPEG from bytes, told apart by their signatures (not by the name). */
fv_tensor *fv_image_decode(const char *name, const unsigned char *buf, size_t len,
                           int64_t max_pixels);
/* One of the decoders above. */
typedef fv_tensor *(*fv_image_decoder)(const char *name, const unsigned char *buf, size_t len,
                                       int64_t max_pixels);
/* The image in the file at path (at most 256 MiB) through `decode`, with the default pixel
 * limit; errors name the path (fv_png_load, fv_jpeg_load, fv_image_load). */
fv_tensor *fv_image_file(const char *path, fv_image_decoder decode);

/* Converts an image (ic, ih, iw) into dst (c, h, w): the same channels, gray -> RGB by
 * repetition or RGB -> gray by ITU-R 601 luma (as PIL's convert("L")), and resized bilinearly
 * with half-pixel centers (PyTorch's align_corners=False; no antialiasing, so a large reduction
 * aliases). The caller checks the shapes (fv_resample_check). */
void fv_image_resample(const float *src, int ic, int64_t ih, int64_t iw, float *dst, int c,
                       int64_t h, int64_t w);
/* FV_OK when (sc, sh, sw) images convert to (c, h, w) as above (sides 1..32768); else an error
 * naming `what` and both shapes. */
fv_status fv_resample_check(const char *what, int64_t sc, int64_t sh, int64_t sw, int64_t c,
                            int64_t h, int64_t w);

/* Whether dir, or dir/train, dir/test or dir/val, has a sub-folder holding a .png/.jpg/.jpeg
 * file (clears the last error). */
int fv_is_image_folder(const char *dir);

/* FV_OK when `bytes` of decoded data are within fv_data_limit(); else an error naming `what`, the
 * size and the limit (and an unparsable FOVEA_MAX_DATA_MB is an error naming it). */
fv_status fv_data_check(const char *what, uint64_t bytes);

/* FV_OK when d holds N >= 1 labelled (N, 1, H, W) digit images, the source the scene generators
 * draw from; else an error naming `who`. */
fv_status fv_digits_check(const fv_dataset *d, const char *who);

/* A byte buffer grown geometrically, up to a known final size, as data arrives. */
typedef struct fv_grow {
    unsigned char *p;
    size_t len, cap;
} fv_grow;
/* Makes room for `need` bytes in all (never more than `most`, the final size); frees nothing on
 * failure (free g->p with fv_free). */
fv_status fv_grow_to(fv_grow *g, size_t need, size_t most, const char *what);

/* A tensor owning `data` (fv_malloc'd, numel floats); frees data when it cannot be made. */
fv_tensor *fv_tensor_adopt(float *data, int ndim, const int64_t *dims);

/* An IDX file's dimensions (ndim of them into dims[4]) and the largest of all its data bytes in
 * *max (-1: no data): the whole file is read in pieces and checked as fv_idx_load checks it, but
 * nothing is allocated for the data. For counting classes from a labels file. */
fv_status fv_idx_scan(const char *path, int *ndim, int64_t *dims, int *max);

/* n class names (fv_malloc'd array of fv_malloc'd strings): std[k] for k < nstd (where not
 * NULL), else "class k". fv_class_names is this over a data set's names. */
char **fv_names_default(int n, const char *const *std, int nstd);
/* Makes s valid UTF-8 in place: each byte of an invalid sequence, and each control character
 * (U+0000-U+001F, U+007F-U+009F), becomes '?'. */
void fv_name_sanitize(char *s);
/* The names in a text file, one a line ('\r' and surrounding blanks dropped, empty lines at the
 * end ignored, each sanitized); expect > 0: exactly that many, else an error naming the file. */
fv_status fv_names_read(const char *path, int expect, char ***names, int *n);
void fv_names_free(char **names, int n);
/* Whether dir/name exists (any kind of file). */
int fv_data_exists(const char *dir, const char *name);

/* The loaders of fv_dataset_load_dir_n: only the first `limit` samples (0: all). */
fv_dataset *fv_mnist_load_n(const char *dir, int train, int64_t limit);
fv_dataset *fv_cifar_load_n(const char *dir, int cifar100, int train, int64_t limit);
/* An image folder's split: dir/train, or dir/test (else dir/val), when that is an image folder,
 * else dir; at (c, h, w), 0s taken from the training split's first image (then every image must
 * have its size), a test split labelled with the training split's classes. */
fv_dataset *fv_image_folder_load_split_n(const char *dir, int train, int64_t limit, int c, int h,
                                         int w);

/* Vector data (csv.c, npy.c): the readers of an open stream, for the file loaders and the fuzz
 * targets (fmemopen); `name` names the input in every error. */
fv_dataset *fv_csv_read(FILE *f, const char *name, const fv_vec_args *a);
/* An .npy array's dtype ('f' float, 'i' signed, 'u' unsigned) and its shape on disk. */
typedef struct fv_npy_info {
    char kind;
    int itemsize, ndim;
    int64_t dims[FV_MAX_DIMS];
} fv_npy_info;
/* The array of an .npy stream of `size` bytes as float (values as stored: no scaling), its first
 * `limit` rows (0: all); the whole file must still be exactly as long as its header says. */
fv_tensor *fv_npy_read(FILE *f, uint64_t size, const char *name, int64_t limit, fv_npy_info *info);
/* The data set of x and y read by fv_npy_read (both taken: freed on error), as
 * fv_dataset_load_npy makes it. */
fv_dataset *fv_npy_dataset(fv_tensor *x, const fv_npy_info *xi, const char *xname, fv_tensor *y,
                           const fv_npy_info *yi, const char *yname, const fv_vec_args *a);
/* A regular file opened for reading without blocking (a FIFO or device is refused at once);
 * its size into *size. NULL with an error naming the path. */
FILE *fv_open_regular(const char *path, uint64_t *size);
/* n class names "0", "1", ... (as fv_names_default makes them), or NULL. */
char **fv_names_numbered(int n);
/* A labelled data set over x and y (taken: freed on error), named `name`. */
fv_dataset *fv_dataset_new(fv_tensor *x, fv_tensor *y, int classes, const char *name);
/* The same over x and a y that may be NULL (a data set without targets). */
fv_dataset *fv_dataset_adopt(fv_tensor *x, fv_tensor *y, int classes, const char *name);

#endif /* FV_DATA_H */
