/* io.h - the low-level file helpers of everything that reads or writes files: whole-file reads,
 * atomic writes (temporary name + rename), the safetensors container, and checks of names that
 * come from files. Knows no model: model files are formats/, data sets data/. */
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

/* Safetensors files in general (weights, checkpoints, test goldens). fv_st_open reads and validates
 * the header (the tensors must tile the data exactly) and keeps the file open until fv_st_close;
 * fv_st_get reads just that tensor from it. */
typedef struct fv_st_file fv_st_file;
fv_st_file *fv_st_open(const char *path);
void fv_st_close(fv_st_file *f);
int fv_st_count(const fv_st_file *f);
const char *fv_st_name(const fv_st_file *f, int i);
/* A tensor by name as float32 (F32 or F64 on disk), or NULL with an error if absent. */
fv_tensor *fv_st_get(const fv_st_file *f, const char *name);
/* Writes n named tensors as F32 (atomic). */
fv_status fv_st_save(const char *path, int n, const char *const *names, const fv_tensor *const *ts);
/* The same with __metadata__ from meta: key, value, key, value, ..., NULL (NULL: none); keys
 * non-empty, keys and values valid UTF-8. */
fv_status fv_st_save_meta(const char *path, int n, const char *const *names,
                          const fv_tensor *const *ts, const char *const *meta);
/* The same with the tensors flagged in i8 (NULL: none) written as I8: their values must be
 * integers in [-128, 127] (else an error naming the tensor). */
fv_status fv_st_save_i8(const char *path, int n, const char *const *names,
                        const fv_tensor *const *ts, const unsigned char *i8,
                        const char *const *meta);
/* Reads tensor i, which must have dtype I8 (else an error naming it), into dst (its element
 * count of bytes). */
fv_status fv_st_read_i8(const fv_st_file *f, int i, int8_t *dst);
/* Whether tensor i has dtype I8 (no error is set). */
int fv_st_is_i8(const fv_st_file *f, int i);
/* The __metadata__ value of `key`, or NULL when the file has none (no error is set). */
const char *fv_st_meta(const fv_st_file *f, const char *key);
/* A safetensors file from bytes; `name` is used in error messages. The bytes are copied. */
fv_st_file *fv_st_open_mem(const char *name, const unsigned char *buf, size_t len);

/* A safetensors file over tensors another reader has decoded (PyTorch's .pt): `data` (fv_malloc'd,
 * taken over, freed also on error) holds them; each part gives a name, a dtype of the format
 * ("F32", "I64", ...), a shape and its byte range, which must tile data exactly. */
typedef struct fv_st_part {
    const char *name;
    const char *dtype;
    int ndim;
    int64_t dims[FV_MAX_DIMS];
    uint64_t begin, end;
} fv_st_part;
fv_st_file *fv_st_from_parts(const char *name, unsigned char *data, size_t len, int n,
                             const fv_st_part *parts);

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

/* Writes to path through "path.tmp.<pid>" and rename, so a reader never sees a partial file. */
typedef struct fv_atomic_file {
    FILE *f;
    char path[1024];
    char tmp[1100];
} fv_atomic_file;
fv_status fv_atomic_open(fv_atomic_file *af, const char *path);
fv_status fv_atomic_commit(fv_atomic_file *af); /* fclose + rename; removes the temporary on error */
void fv_atomic_abort(fv_atomic_file *af);
/* The whole file at once: size bytes of buf written to path through the temporary. */
fv_status fv_atomic_write(const char *path, const void *buf, size_t size);

#endif /* FV_IO_H */
