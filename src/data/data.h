/* data.h - what the data loaders share and nothing else uses: the cap on decoded data, buffers
 * that grow only as decoded bytes arrive, tensors over such buffers, class-name lists, and the
 * loaders that stop after the first n samples (fv_dataset_load_dir_n picks among them). */
#ifndef FV_DATA_H
#define FV_DATA_H

#include "io/io.h"

/* FV_OK when `bytes` of decoded data are within fv_data_limit(); else an error naming `what`, the
 * size and the limit (and an unparsable FOVEA_MAX_DATA_MB is an error naming it). */
fv_status fv_data_check(const char *what, uint64_t bytes);

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

/* n class names (fv_malloc'd array of fv_malloc'd strings): std[k] for k < nstd, else "class k". */
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
 * else dir; at the channels and size of the training split's first image, a test split labelled
 * with the training split's classes. */
fv_dataset *fv_image_folder_load_split_n(const char *dir, int train, int64_t limit);

#endif /* FV_DATA_H */
