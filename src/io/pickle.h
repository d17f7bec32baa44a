/* pickle.h - a restricted pickle interpreter for PyTorch state dicts (data.pkl of a torch.save zip
 * file): only the opcodes and globals a state dict (or a checkpoint dict around one) needs; any
 * other opcode or global is an error naming it and its byte offset, and nothing is ever executed.
 * The result is a tree of plain values (None, bools, ints, floats, strings, tuples, lists, dicts),
 * storages (the persistent ids of data/N) and tensors (a storage view: offset, sizes, strides). */
#ifndef FV_PICKLE_H
#define FV_PICKLE_H

#include "core/internal.h"

#define FV_PK_MAX_DIMS 8 /* a tensor view with more dimensions is refused */

typedef enum fv_pk_kind {
    FV_PK_NONE, FV_PK_BOOL, FV_PK_INT, FV_PK_FLOAT, FV_PK_STR, FV_PK_TUPLE, FV_PK_LIST,
    FV_PK_DICT, FV_PK_GLOBAL, FV_PK_STORAGE, FV_PK_TENSOR, FV_PK_MARK
} fv_pk_kind;

/* The element types of PyTorch's storages (torch.FloatStorage, ...). */
typedef enum fv_pk_dtype {
    FV_PK_F32, FV_PK_F16, FV_PK_BF16, FV_PK_F64, FV_PK_I64, FV_PK_I32, FV_PK_I16, FV_PK_I8,
    FV_PK_U8, FV_PK_BOOL_T
} fv_pk_dtype;

typedef struct fv_pk_obj fv_pk_obj;
struct fv_pk_obj {
    fv_pk_kind kind;
    int64_t i;        /* BOOL, INT; GLOBAL: which allowed global; STORAGE: its element count */
    double f;         /* FLOAT */
    char *s;          /* STR (NUL-terminated, UTF-8 as the pickle says); STORAGE: its key */
    size_t len;       /* STR: bytes */
    fv_pk_obj **items; /* TUPLE, LIST: n items; DICT: n (key, value) pairs as 2 n items */
    int n, cap;
    int dtype;        /* STORAGE, TENSOR: an fv_pk_dtype */
    fv_pk_obj *storage; /* TENSOR: its storage */
    int64_t offset;   /* TENSOR: storage offset, in elements */
    int ndim;         /* TENSOR */
    int64_t *sizes, *strides; /* TENSOR: ndim each (one allocation, owned by sizes) */
};

/* The interpreter's objects, freed together by fv_pk_free. */
typedef struct fv_pk fv_pk;

/* Runs the pickle buf[0..len) (`name` in messages) up to STOP; *out: the value it built, owned by
 * the fv_pk (*pk, freed with fv_pk_free also on error). */
fv_status fv_pk_run(const char *name, const unsigned char *buf, size_t len, fv_pk **pk,
                    fv_pk_obj **out);
void fv_pk_free(fv_pk *pk);

/* The value of the string key `key` in dict d, or NULL. */
const fv_pk_obj *fv_pk_dict_get(const fv_pk_obj *d, const char *key);
/* The bytes per element of a storage dtype, and its name as the storage class (for messages). */
int fv_pk_dtype_size(int dtype);
const char *fv_pk_dtype_name(int dtype);

#endif /* FV_PICKLE_H */
