/* io.h - internal file-reading helpers and from-memory parser entry points shared by io/ and data/
 * (and by the fuzz targets and the mutation test, which feed the parsers bytes without files). */
#ifndef FV_IO_H
#define FV_IO_H

#include "core/internal.h"

/* Reads a whole regular file into *buf (fv_malloc'd, one spare NUL byte after *len bytes). Opens
 * without blocking, so a FIFO or device is refused at once instead of hanging the reader.
 * Errors: "<path>: <strerror>", "<path>: not a regular file", "<path>: file larger than N bytes". */
fv_status fv_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len);

/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) and,
 * unless controls_ok, free of control characters (U+0000-U+001F, U+007F-U+009F). */
bool fv_utf8_valid(const char *s, bool controls_ok);

/* s for a one-line message: control characters and bytes that are not valid UTF-8 become
 * "\xNN", the rest is copied; truncated to fit out[cap]. Returns out. */
char *fv_printable(const char *s, char *out, size_t cap);

/* A safetensors file from bytes; `name` is used in error messages. The bytes are copied. */
fv_st_file *fv_st_open_mem(const char *name, const unsigned char *buf, size_t len);

/* Reading a safetensors file tensor by tensor (fv_st_open keeps the file open and reads only the
 * requested tensors; i is an index as for fv_st_name). */
/* The name f was opened with (for messages). */
const char *fv_st_path(const fv_st_file *f);
/* The index of tensor `name`, or -1 (no error is set). */
int fv_st_find(const fv_st_file *f, const char *name);
/* Tensor i's shape: returns its ndim (0 for a scalar) and fills dims. */
int fv_st_shape(const fv_st_file *f, int i, int64_t dims[FV_MAX_DIMS]);
/* FV_OK when fovea reads tensor i's dtype, else "<file>: tensor 'X' has dtype F16; fovea reads F32
 * and F64". */
fv_status fv_st_check_dtype(const fv_st_file *f, int i);
/* Reads tensor i's values (as many as its shape holds) as float32 into dst. */
fv_status fv_st_read(const fv_st_file *f, int i, float *dst);
/* Loads every parameter of m from the open file f (as fv_model_load_weights). */
fv_status fv_model_load_weights_st(fv_model *m, const fv_st_file *f);

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

/* Whether dir, or dir/train, dir/test or dir/val, has a sub-folder holding a .png/.jpg/.jpeg
 * file (clears the last error). */
int fv_is_image_folder(const char *dir);

#endif /* FV_IO_H */
