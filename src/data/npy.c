/* npy.c - NumPy .npy files as data sets (fv_dataset_load_npy): the header (format 1.0, 2.0 or
 * 3.0; a Python dict literal with exactly 'descr', 'fortran_order' and 'shape'), checked against
 * the file's size before anything is allocated, then the data converted to float as it streams
 * in (little-endian f4, f8, i4, i8 and u1), every value finite as a float. */
#include "data/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define NPY_MAX_HEADER 65536
#define NPY_CHUNK 65536
#define NPY_MAX_CLASSES 65536

/* ---------------------------------------------------------------- the header */

typedef struct hdr {
    const char *p, *name;
    char descr[16];
    int fortran, have; /* have: bit 0 descr, 1 fortran_order, 2 shape */
    fv_npy_info *info;
} hdr;

static void skip_ws(hdr *h)
{
    while (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r')
        h->p++;
}

static fv_status bad(const hdr *h, const char *what)
{
    return fv_err(FV_ERR_FORMAT, "%s: malformed .npy header: %s", h->name, what);
}

/* A quoted string ('...' or "...", no escapes) into out[cap]. */
static fv_status string(hdr *h, char *out, size_t cap, const char *what)
{
    char q = *h->p;
    if (q != '\'' && q != '"')
        return bad(h, what);
    const char *s = ++h->p, *e = strchr(s, q);
    if (!e)
        return bad(h, "an unterminated string");
    size_t n = (size_t)(e - s);
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    if (n >= cap)
        out[0] = '\0'; /* too long for any key or dtype: matches none */
    h->p = e + 1;
    return FV_OK;
}

/* A whole number (a Python 2 'L' suffix allowed) of at most 2^62. */
static fv_status dim(hdr *h, int64_t *v)
{
    if (!(*h->p >= '0' && *h->p <= '9'))
        return bad(h, "a shape entry that is not a whole number");
    for (*v = 0; *h->p >= '0' && *h->p <= '9'; h->p++) {
        if (*v > ((int64_t)1 << 62) / 10)
            return fv_err(FV_ERR_FORMAT, "%s: a dimension of the shape is too large", h->name);
        *v = *v * 10 + (*h->p - '0');
    }
    h->p += *h->p == 'L';
    return FV_OK;
}

/* (d0, d1, ...) with an optional trailing comma; () is a scalar. */
static fv_status shape(hdr *h)
{
    fv_npy_info *in = h->info;
    if (*h->p != '(')
        return bad(h, "'shape' is not a tuple");
    h->p++;
    for (in->ndim = 0;;) {
        skip_ws(h);
        if (*h->p == ')')
            break;
        if (in->ndim == FV_MAX_DIMS)
            return fv_err(FV_ERR_FORMAT, "%s: more than %d dimensions", h->name, FV_MAX_DIMS);
        FV_TRY(dim(h, &in->dims[in->ndim++]));
        skip_ws(h);
        if (*h->p == ',')
            h->p++;
        else if (*h->p != ')')
            return bad(h, "'shape' is not a tuple of whole numbers");
    }
    h->p++;
    return FV_OK;
}

static fv_status value(hdr *h, const char *key)
{
    int bit = strcmp(key, "descr") == 0 ? 1 : strcmp(key, "fortran_order") == 0 ? 2
              : strcmp(key, "shape") == 0 ? 4 : 0;
    char shown[48];
    if (!bit)
        return fv_err(FV_ERR_FORMAT, "%s: malformed .npy header: unknown key '%s'", h->name,
                      fv_printable(key, shown, sizeof shown));
    if (h->have & bit)
        return fv_err(FV_ERR_FORMAT, "%s: malformed .npy header: '%s' given twice", h->name, key);
    h->have |= bit;
    if (bit == 1)
        return *h->p == '[' ? fv_err(FV_ERR_FORMAT, "%s: structured dtypes are not supported",
                                     h->name)
                            : string(h, h->descr, sizeof h->descr, "'descr' is not a string");
    if (bit == 4)
        return shape(h);
    int t = strncmp(h->p, "True", 4) == 0, f = strncmp(h->p, "False", 5) == 0;
    if (!t && !f)
        return bad(h, "'fortran_order' is not True or False");
    h->fortran = t;
    h->p += t ? 4 : 5;
    return FV_OK;
}

/* The dict, then nothing but blanks. */
static fv_status dict(hdr *h)
{
    char key[32];
    skip_ws(h);
    if (*h->p++ != '{')
        return bad(h, "not a dict");
    for (;;) {
        skip_ws(h);
        if (*h->p == '}')
            break;
        FV_TRY(string(h, key, sizeof key, "a key that is not a string"));
        skip_ws(h);
        if (*h->p++ != ':')
            return bad(h, "a key without ':'");
        skip_ws(h);
        FV_TRY(value(h, key));
        skip_ws(h);
        if (*h->p == ',')
            h->p++;
        else if (*h->p != '}')
            return bad(h, "entries not separated by ','");
    }
    h->p++;
    skip_ws(h);
    if (*h->p)
        return bad(h, "text after the dict");
    if (h->have != 7)
        return bad(h, !(h->have & 1) ? "no 'descr'" : !(h->have & 2) ? "no 'fortran_order'"
                                                                     : "no 'shape'");
    return FV_OK;
}

/* The dtype of descr into info. */
static fv_status dtype(const hdr *h)
{
    static const struct {
        const char *d;
        char kind;
        int size;
    } t[] = {{"<f4", 'f', 4}, {"<f8", 'f', 8}, {"|u1", 'u', 1}, {"<u1", 'u', 1},
             {"<i4", 'i', 4}, {"<i8", 'i', 8}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(h->descr, t[i].d) == 0) {
            h->info->kind = t[i].kind, h->info->itemsize = t[i].size;
            return FV_OK;
        }
    char shown[48];
    fv_printable(h->descr, shown, sizeof shown);
    if (h->descr[0] == '>')
        return fv_err(FV_ERR_FORMAT, "%s: big-endian dtype '%s' is not supported (save it as "
                      "little-endian: a.astype('<%s'))", h->name, shown, shown + 1);
    return fv_err(FV_ERR_FORMAT, "%s: dtype '%s' is not supported (<f4, <f8, |u1, <i4 and <i8 "
                  "are)", h->name, shown);
}

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Reads and checks the header; *off the data's offset, *bytes its length (the file's rest). */
static fv_status read_header(FILE *f, uint64_t size, const char *name, fv_npy_info *info,
                             uint64_t *off, uint64_t *bytes)
{
    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, f);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6) != 0)
        return fv_err(FV_ERR_FORMAT, "%s: not a NumPy .npy file (no \\x93NUMPY signature)",
                      name);
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0)
        return fv_err(FV_ERR_FORMAT, "%s: .npy format version %d.%d is not supported (1.0, 2.0 "
                      "and 3.0 are)", name, pre[6], pre[7]);
    uint64_t hlen = (uint64_t)pre[8] | (uint64_t)pre[9] << 8;
    *off = 10;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2)
            return fv_err(FV_ERR_FORMAT, "%s: truncated .npy header", name);
        hlen = le32(pre + 8), *off = 12;
    }
    if (hlen > NPY_MAX_HEADER)
        return fv_err(FV_ERR_FORMAT, "%s: a .npy header of %llu bytes (at most %d are read)",
                      name, (unsigned long long)hlen, NPY_MAX_HEADER);
    if (size < *off || hlen > size - *off) /* (size: the file's length when it was opened) */
        return fv_err(FV_ERR_FORMAT, "%s: truncated: the header claims %llu bytes, the file "
                      "holds %llu after the signature", name, (unsigned long long)hlen,
                      (unsigned long long)(size > *off ? size - *off : 0));
    char *text = fv_malloc((size_t)hlen + 1, "npy header");
    if (!text)
        return FV_ERR_NOMEM;
    fv_status st = FV_OK;
    if (fread(text, 1, (size_t)hlen, f) != hlen)
        st = fv_err(FV_ERR_IO, "%s: read error in the header", name);
    text[hlen] = '\0';
    if (st == FV_OK && strlen(text) != hlen)
        st = fv_err(FV_ERR_FORMAT, "%s: malformed .npy header: a NUL byte", name);
    hdr h = {.p = text, .name = name, .info = info};
    if (st == FV_OK && (st = dict(&h)) == FV_OK && (st = dtype(&h)) == FV_OK && h.fortran)
        st = fv_err(FV_ERR_FORMAT, "%s: Fortran-order (column-major) arrays are not supported "
                    "(save np.ascontiguousarray(a))", name);
    fv_free(text);
    *off += hlen;
    *bytes = size - *off;
    return st;
}

/* ---------------------------------------------------------------- the data */

static double decode(const unsigned char *b, char kind, int size)
{
    uint64_t u = size == 1 ? b[0] : size == 4 ? le32(b) : le32(b) | (uint64_t)le32(b + 4) << 32;
    if (kind == 'u')
        return (double)u;
    if (kind == 'i')
        return size == 4 ? (double)(int32_t)(uint32_t)u : (double)(int64_t)u;
    if (size == 4) {
        uint32_t w = (uint32_t)u;
        float v;
        memcpy(&v, &w, 4);
        return v;
    }
    double v;
    memcpy(&v, &u, 8);
    return v;
}

/* The shape as text, "(3, 4)". */
static const char *shape_str(const fv_npy_info *in, char *buf, size_t cap)
{
    return fv_shape_str(in->ndim, in->dims, buf, cap);
}

/* n values from f into dst, each finite as a float. */
static fv_status read_values(FILE *f, const char *name, const fv_npy_info *in, float *dst,
                             int64_t n)
{
    unsigned char *buf = fv_malloc(NPY_CHUNK, "npy read buffer");
    if (!buf)
        return FV_ERR_NOMEM;
    fv_status st = FV_OK;
    int64_t per = NPY_CHUNK / in->itemsize;
    for (int64_t i = 0; i < n && st == FV_OK;) {
        int64_t m = n - i < per ? n - i : per;
        if (fread(buf, (size_t)in->itemsize, (size_t)m, f) != (size_t)m) {
            st = fv_err(FV_ERR_IO, "%s: truncated or unreadable data", name);
            break;
        }
        for (int64_t j = 0; j < m && st == FV_OK; j++, i++) {
            double v = decode(buf + j * in->itemsize, in->kind, in->itemsize);
            dst[i] = (float)v;
            if (!isfinite(dst[i]))
                st = fv_err(FV_ERR_NUMERIC, "%s: value %lld is %s", name, (long long)i,
                            isnan(v) ? "NaN" : isinf(v) ? "infinite"
                                                        : "beyond the range of float");
        }
    }
    fv_free(buf);
    return st;
}

/* The data's bytes by the shape: numel * itemsize, UINT64_MAX when that overflows. */
static uint64_t data_bytes(const fv_npy_info *in)
{
    uint64_t n = (uint64_t)in->itemsize;
    int over = 0;
    for (int i = 0; i < in->ndim; i++) {
        uint64_t d = (uint64_t)in->dims[i];
        if (d == 0)
            return 0;
        over |= n > UINT64_MAX / d;
        n = over ? n : n * d;
    }
    return over ? UINT64_MAX : n;
}

fv_tensor *fv_npy_read(FILE *f, uint64_t size, const char *name, int64_t limit, fv_npy_info *info)
{
    uint64_t off = 0, bytes = 0;
    char s[96];
    memset(info, 0, sizeof *info);
    if (read_header(f, size, name, info, &off, &bytes) != FV_OK)
        return NULL;
    if (info->ndim == 0) { /* no tensor of fovea's has 0 dimensions, and no data set is one value */
        fv_err(FV_ERR_SHAPE, "%s: a scalar (shape ()); data must be an array (N, ...)", name);
        return NULL;
    }
    uint64_t need = data_bytes(info), numel = need / (uint64_t)info->itemsize;
    if (need != bytes) {
        char nb[32];
        if (need == UINT64_MAX)
            snprintf(nb, sizeof nb, "more than 2^64");
        else
            snprintf(nb, sizeof nb, "%llu", (unsigned long long)need);
        fv_err(FV_ERR_FORMAT, "%s: shape %s of %d-byte values needs %s bytes of data, the file "
               "holds %llu%s", name, shape_str(info, s, sizeof s), info->itemsize, nb,
               (unsigned long long)bytes, need > bytes ? " (truncated)" : "");
        return NULL;
    }
    int64_t dims[FV_MAX_DIMS];
    memcpy(dims, info->dims, sizeof dims);
    if (info->ndim && limit > 0 && limit < dims[0]) { /* only the first `limit` rows */
        numel = dims[0] ? numel / (uint64_t)dims[0] * (uint64_t)limit : 0;
        dims[0] = limit;
    }
    if (fv_data_check(name, numel * sizeof(float)) != FV_OK)
        return NULL;
    float *data = fv_malloc(sizeof(float) * (size_t)(numel ? numel : 1), "npy data");
    if (!data || read_values(f, name, info, data, (int64_t)numel) != FV_OK) {
        fv_free(data);
        return NULL;
    }
    return fv_tensor_adopt(data, info->ndim, dims);
}

/* ---------------------------------------------------------------- the data set */

/* The labels of y (N) as class indices: whole numbers below the classes (a->classes' count, or
 * NPY_MAX_CLASSES); *n = a->classes' count, else the largest + 1. */
static fv_status class_labels(const fv_tensor *y, const char *yname, const fv_vec_args *a,
                              int *n)
{
    int64_t cap = a->classes ? a->classes->num_classes : NPY_MAX_CLASSES;
    int mx = -1;
    for (int64_t i = 0; i < y->dims[0]; i++) {
        float v = y->data[i];
        if (!(v >= 0 && v < (float)cap && v == floorf(v)))
            return fv_err(FV_ERR_INVALID, "%s: label %lld is %g, not a class index (a whole "
                          "number in 0 .. %lld%s%s)%s", yname, (long long)i, (double)v,
                          (long long)cap - 1, a->classes ? ": the classes of " : "",
                          a->classes ? a->classes->name : "",
                          v == floorf(v) ? "" : "; real targets need regression");
        mx = (int)v > mx ? (int)v : mx;
    }
    *n = a->classes ? a->classes->num_classes : mx + 1;
    return FV_OK;
}

/* Checks and shapes x and y for the set: x (N, ...), y (N) labels or (N, k) targets. */
static fv_status shape_pair(fv_tensor *x, const fv_npy_info *xi, const char *xname,
                            fv_tensor *y, const fv_npy_info *yi, const char *yname,
                            const fv_vec_args *a)
{
    char s[96];
    if (xi->ndim == 0)
        return fv_err(FV_ERR_SHAPE, "%s: a scalar; samples must be an array (N, ...)", xname);
    if (yi->ndim == 0 || xi->dims[0] != yi->dims[0])
        return fv_err(FV_ERR_SHAPE, "%s has %lld samples but %s has %lld rows", xname,
                      (long long)xi->dims[0], yname, yi->ndim ? (long long)yi->dims[0] : 0LL);
    if (x->dims[0] == 0)
        return fv_err(FV_ERR_SHAPE, "%s: no samples", xname);
    if (fv_tensor_numel(x) == 0)
        return fv_err(FV_ERR_SHAPE, "%s: samples of shape %s hold no values", xname,
                      shape_str(xi, s, sizeof s));
    if (x->ndim == 1)
        x->ndim = 2, x->dims[1] = 1, x->strides[1] = 1, x->strides[0] = 1;
    int per = yi->ndim == 1 ? 1 : yi->ndim == 2 ? (int)yi->dims[1] : -1;
    if (a->regression ? per < 1 : per != 1)
        return fv_err(FV_ERR_SHAPE, "%s: %s must be (N)%s, got %s", yname,
                      a->regression ? "regression targets" : "class labels",
                      a->regression ? " or (N, k)" : " or (N, 1)", shape_str(yi, s, sizeof s));
    y->ndim = a->regression ? 2 : 1; /* (N, k) targets, (N) labels */
    y->dims[1] = per, y->strides[0] = per, y->strides[1] = 1;
    return FV_OK;
}

fv_dataset *fv_npy_dataset(fv_tensor *x, const fv_npy_info *xi, const char *xname, fv_tensor *y,
                           const fv_npy_info *yi, const char *yname, const fv_vec_args *a)
{
    int n = 0;
    char **names = NULL;
    if (shape_pair(x, xi, xname, y, yi, yname, a) != FV_OK ||
        (!a->regression && class_labels(y, yname, a, &n) != FV_OK)) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    if (xi->kind == 'u') /* bytes are pixels: [0, 1] as the image loaders give them */
        for (int64_t i = 0, m = fv_tensor_numel(x); i < m; i++)
            x->data[i] /= 255.0f;
    const fv_dataset *g = a->classes;
    if (!a->regression && !(names = g && g->class_names
                                        ? fv_names_default(n, (const char *const *)g->class_names,
                                                           n)
                                        : fv_names_numbered(n))) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    const char *base = strrchr(xname, '/');
    fv_dataset *d = fv_dataset_new(x, y, n, base ? base + 1 : xname);
    if (d)
        d->class_names = names;
    else
        fv_names_free(names, n);
    return d;
}

/* One .npy file's array. */
static fv_tensor *load_one(const char *path, int64_t limit, fv_npy_info *info)
{
    uint64_t size;
    FILE *f = fv_open_regular(path, &size);
    if (!f)
        return NULL;
    fv_tensor *t = fv_npy_read(f, size, path, limit, info);
    fclose(f);
    return t;
}

fv_dataset *fv_dataset_load_npy_(const char *x_path, const char *y_path, fv_vec_args a)
{
    if (!x_path || !y_path) {
        fv_err(FV_ERR_INVALID, "%s: NumPy samples need a file of labels or targets too",
               x_path ? x_path : "(no file)");
        return NULL;
    }
    fv_npy_info xi, yi;
    fv_tensor *x = load_one(x_path, a.limit, &xi), *y = x ? load_one(y_path, a.limit, &yi) : NULL;
    if (!y) {
        fv_tensor_free(x);
        return NULL;
    }
    return fv_npy_dataset(x, &xi, x_path, y, &yi, y_path, &a);
}
