/* torch_pt.c - PyTorch checkpoints (torch_pt.h): the zip archive of torch.save (PyTorch >= 1.6)
 * read with libzip, the pickle data.pkl run by the restricted interpreter (pickle.c), the state
 * dict found in it, and its tensors gathered from their storages (data/<key>) into one buffer,
 * converted to what fovea reads, as an in-memory safetensors file. Everything a file claims is
 * checked before it is used: entry count and names, each entry's size against the archive's, each
 * storage's size against its persistent id, each tensor view against its storage; the tensors
 * gathered are bounded by a multiple of the archive's size. Values are decoded byte by byte
 * (little-endian, as torch.save writes them; a 'byteorder' other than "little" is refused). */
#include "io/torch_pt.h"

#include "io/pickle.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#define PT_MAX_ENTRIES 1000000
#define PT_MAX_NAME 1024
/* The tensors gathered, at most this many times the archive's bytes: float16 doubles in float32,
 * and a few views may share one storage (tied weights). */
#define PT_GROWTH 8
#define SHOW(name) fv_printable((name), (char[204]){0}, 204)

typedef struct pt_reader {
    const char *path;
    zip_t *z;
    uint64_t size;  /* of the archive */
    char prefix[PT_MAX_NAME]; /* the folder of data.pkl, "archive" or the file's stem */
    fv_pk *pk;
} pt_reader;

/* A tensor of the state dict: its name (in the pickle's memory) and view. */
typedef struct pt_tensor {
    const char *name;
    const fv_pk_obj *t;
    uint64_t bytes;     /* in the output */
} pt_tensor;

/* ---------------------------------------------------------------- the archive */

static fv_status zip_fail(const pt_reader *r, zip_error_t *e, const char *what)
{
    fv_status st = fv_err(FV_ERR_FORMAT, "%s: %s: %s", r->path, what, zip_error_strerror(e));
    zip_error_fini(e);
    return st;
}

/* Entry names hold no path tricks: not absolute, no "..", no backslashes or control bytes. */
static int safe_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= PT_MAX_NAME || s[0] == '/' || strstr(s, "..") || strchr(s, '\\'))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return 0;
    return 1;
}

/* Checks every entry's name and finds "<prefix>/data.pkl". */
static fv_status scan_entries(pt_reader *r)
{
    zip_int64_t n = zip_get_num_entries(r->z, 0);
    if (n < 0 || n > PT_MAX_ENTRIES)
        return fv_err(FV_ERR_FORMAT, "%s: %lld zip entries (at most %d)", r->path, (long long)n,
                      PT_MAX_ENTRIES);
    int found = 0, script = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(r->z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
        if (!name || !safe_name(name))
            return fv_err(FV_ERR_FORMAT, "%s: zip entry %lld has an unsafe name '%s'", r->path,
                          (long long)i, SHOW(name ? name : ""));
        const char *slash = strchr(name, '/');
        if (slash && strcmp(slash, "/constants.pkl") == 0)
            script = 1;
        if (!found && slash && slash > name && strcmp(slash, "/data.pkl") == 0) {
            memcpy(r->prefix, name, (size_t)(slash - name));
            r->prefix[slash - name] = 0;
            found = 1;
        }
    }
    if (script)
        return fv_err(FV_ERR_FORMAT, "%s: a TorchScript archive (torch.jit.save), not a "
                      "torch.save state dict: save model.state_dict() with torch.save", r->path);
    if (!found)
        return fv_err(FV_ERR_FORMAT, "%s: a zip file without <name>/data.pkl: not a torch.save "
                      "checkpoint", r->path);
    return FV_OK;
}

/* Entry <prefix>/<rel> whole (fv_malloc'd, a NUL after it); *len its size. Absent: FV_OK with
 * *buf NULL when `optional`, else an error. */
static fv_status read_entry(const pt_reader *r, const char *rel, int optional,
                            unsigned char **buf, size_t *len)
{
    char name[2 * PT_MAX_NAME];
    snprintf(name, sizeof name, "%s/%s", r->prefix, rel);
    *buf = NULL, *len = 0;
    zip_int64_t i = zip_name_locate(r->z, name, ZIP_FL_ENC_RAW);
    if (i < 0)
        return optional ? FV_OK : fv_err(FV_ERR_FORMAT, "%s: no entry '%s'", r->path, SHOW(name));
    zip_stat_t sb;
    if (zip_stat_index(r->z, (zip_uint64_t)i, 0, &sb) != 0 || !(sb.valid & ZIP_STAT_SIZE))
        return fv_err(FV_ERR_FORMAT, "%s: entry '%s' has no size", r->path, SHOW(name));
    if (sb.size > r->size) /* stored entries (torch's) never are; this is a zip bomb */
        return fv_err(FV_ERR_FORMAT, "%s: entry '%s' claims %llu bytes, more than the %llu-byte "
                      "archive", r->path, SHOW(name), (unsigned long long)sb.size,
                      (unsigned long long)r->size);
    unsigned char *b = fv_malloc((size_t)sb.size + 1, "torch.save entry");
    zip_file_t *zf = b ? zip_fopen_index(r->z, (zip_uint64_t)i, 0) : NULL;
    zip_int64_t got = zf ? zip_fread(zf, b, sb.size) : -1;
    char why[200];
    snprintf(why, sizeof why, "%s", zf ? zip_file_strerror(zf) : zip_strerror(r->z));
    if (zf)
        zip_fclose(zf);
    if (!b)
        return FV_ERR_NOMEM;
    if (got < 0 || (zip_uint64_t)got != sb.size) {
        fv_free(b);
        return fv_err(FV_ERR_FORMAT, "%s: entry '%s' could not be read (%s)", r->path,
                      SHOW(name), got < 0 ? why : "shorter than its size");
    }
    b[sb.size] = 0;
    *buf = b, *len = (size_t)sb.size;
    return FV_OK;
}

static fv_status check_byteorder(const pt_reader *r)
{
    unsigned char *b;
    size_t n;
    FV_TRY(read_entry(r, "byteorder", 1, &b, &n));
    int little = !b || (n == 6 && memcmp(b, "little", 6) == 0);
    fv_free(b);
    return little ? FV_OK : fv_err(FV_ERR_FORMAT, "%s: a big-endian checkpoint (byteorder is "
                                   "not 'little'): fovea reads little-endian ones", r->path);
}

/* ---------------------------------------------------------------- the state dict */

static int has_tensor(const fv_pk_obj *d)
{
    for (int i = 1; d && d->kind == FV_PK_DICT && i < d->n; i += 2)
        if (d->items[i]->kind == FV_PK_TENSOR)
            return 1;
    return 0;
}

/* The dict of tensors: the top level's, or a checkpoint's under one of the usual keys. */
static fv_status state_dict_of(const pt_reader *r, const fv_pk_obj *root, const fv_pk_obj **sd)
{
    static const char *const keys[] = {"state_dict", "model_state_dict", "model", "net"};
    if (root->kind != FV_PK_DICT)
        return fv_err(FV_ERR_FORMAT, "%s: torch.save of something not a dict (a state dict is "
                      "one)", r->path);
    *sd = root;
    for (size_t k = 0; !has_tensor(*sd) && k < sizeof keys / sizeof keys[0]; k++)
        *sd = fv_pk_dict_get(root, keys[k]);
    if (!has_tensor(*sd))
        return fv_err(FV_ERR_FORMAT, "%s: no tensors in the dict nor under 'state_dict', "
                      "'model_state_dict', 'model' or 'net'", r->path);
    return FV_OK;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* The tensors of sd with string names (BatchNorm's counters left out), 'module.' dropped when
 * every name has it; *n their count. */
static fv_status collect(const pt_reader *r, const fv_pk_obj *sd, pt_tensor **out, int *n)
{
    pt_tensor *t = fv_calloc((size_t)sd->n / 2 + 1, sizeof *t, "state dict tensors");
    if (!t)
        return FV_ERR_NOMEM;
    int k = 0, prefixed = 1;
    for (int i = 0; i + 1 < sd->n; i += 2) {
        const fv_pk_obj *key = sd->items[i], *v = sd->items[i + 1];
        if (v->kind != FV_PK_TENSOR || key->kind != FV_PK_STR ||
            ends_with(key->s, "num_batches_tracked"))
            continue;
        if (strlen(key->s) != key->len || !key->len) {
            fv_free(t);
            return fv_err(FV_ERR_FORMAT, "%s: a tensor name that is empty or holds a NUL byte",
                          r->path);
        }
        t[k++] = (pt_tensor){.name = key->s, .t = v};
        prefixed &= strncmp(key->s, "module.", 7) == 0 && key->s[7];
    }
    for (int i = 0; prefixed && i < k; i++)
        t[i].name += 7;
    *out = t, *n = k;
    return FV_OK;
}

/* ---------------------------------------------------------------- tensor views */

static int out_size(int dtype) /* floats become F32, integers stay as they are */
{
    return dtype <= FV_PK_F64 ? 4 : fv_pk_dtype_size(dtype);
}

static const char *out_dtype(int dtype)
{
    static const char *const names[] = {
        [FV_PK_F32] = "F32", [FV_PK_F16] = "F32", [FV_PK_BF16] = "F32", [FV_PK_F64] = "F32",
        [FV_PK_I64] = "I64", [FV_PK_I32] = "I32", [FV_PK_I16] = "I16", [FV_PK_I8] = "I8",
        [FV_PK_U8] = "U8",   [FV_PK_BOOL_T] = "BOOL"};
    return names[dtype];
}

/* Checks t's view against its storage's declared element count; its output size in *bytes. */
static fv_status check_view(const pt_reader *r, pt_tensor *pt)
{
    const fv_pk_obj *t = pt->t;
    if (t->ndim > FV_MAX_DIMS)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (at most %d)", r->path,
                      SHOW(pt->name), t->ndim, FV_MAX_DIMS);
    uint64_t numel = 1, last = (uint64_t)t->offset, cap = (uint64_t)1 << 53;
    for (int d = 0; d < t->ndim; d++) {
        uint64_t s = (uint64_t)t->sizes[d], step = (uint64_t)t->strides[d];
        if (s && numel > cap / s)
            return fv_err(FV_ERR_FORMAT, "%s: tensor '%s': shape too large", r->path,
                          SHOW(pt->name));
        numel *= s;
        if (s && step && (s - 1 > cap / step || last > cap - (s - 1) * step))
            return fv_err(FV_ERR_FORMAT, "%s: tensor '%s': strides too large", r->path,
                          SHOW(pt->name));
        last += s ? (s - 1) * step : 0;
    }
    uint64_t have = (uint64_t)t->storage->i;
    if (numel && last >= have)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' (offset %lld) reaches element %llu of "
                      "storage '%s', which holds %llu", r->path, SHOW(pt->name),
                      (long long)t->offset, (unsigned long long)last,
                      SHOW(t->storage->s), (unsigned long long)have);
    pt->bytes = numel * (uint64_t)out_size(t->dtype);
    return FV_OK;
}

static float half_to_float(unsigned h)
{
    unsigned sign = (h >> 15) & 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    float v;
    if (e == 0)
        v = (float)m * 0x1p-24f; /* subnormal (or zero) */
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexpf((float)(m | 0x400), (int)e - 25);
    return sign ? -v : v;
}

/* One element of dtype at p, written to q in the output's format. */
static void convert(int dtype, const unsigned char *p, unsigned char *q)
{
    uint32_t u;
    float f;
    switch (dtype) {
    case FV_PK_F32: memcpy(q, p, 4); return; /* little-endian in and out */
    case FV_PK_F16: f = half_to_float((unsigned)p[0] | (unsigned)p[1] << 8); break;
    case FV_PK_BF16: u = ((uint32_t)p[0] | (uint32_t)p[1] << 8) << 16; memcpy(&f, &u, 4); break;
    case FV_PK_F64: {
        uint64_t w = 0;
        double d;
        for (int i = 7; i >= 0; i--)
            w = w << 8 | p[i];
        memcpy(&d, &w, 8);
        f = (float)d;
        break;
    }
    default: memcpy(q, p, (size_t)fv_pk_dtype_size(dtype)); return;
    }
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        q[i] = (unsigned char)(u >> (8 * i));
}

/* t's elements, in row-major order of its view, from the storage bytes s into q. */
static void gather(const fv_pk_obj *t, const unsigned char *s, unsigned char *q)
{
    int in = fv_pk_dtype_size(t->dtype), out = out_size(t->dtype), nd = t->ndim;
    int64_t idx[FV_MAX_DIMS] = {0}, numel = 1;
    for (int d = 0; d < nd; d++)
        numel *= t->sizes[d];
    int64_t at = t->offset;
    for (int64_t k = 0; k < numel; k++, q += out) {
        convert(t->dtype, s + (size_t)at * (size_t)in, q);
        for (int d = nd - 1; d >= 0; d--) { /* the next index, as an odometer */
            at += t->strides[d];
            if (++idx[d] < t->sizes[d])
                break;
            at -= t->strides[d] * t->sizes[d];
            idx[d] = 0;
        }
    }
}

/* ---------------------------------------------------------------- storages */

static _Thread_local const pt_tensor *sort_tensors;

static int by_storage(const void *a, const void *b)
{
    const pt_tensor *x = &sort_tensors[*(const int *)a], *y = &sort_tensors[*(const int *)b];
    return strcmp(x->t->storage->s, y->t->storage->s);
}

static int safe_key(const char *k)
{
    size_t n = strspn(k, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_");
    return n && n <= 64 && !k[n];
}

/* Storage data/<key> of tensor t whole; its size must be what the persistent id says. */
static fv_status read_storage(const pt_reader *r, const fv_pk_obj *t, unsigned char **buf)
{
    const fv_pk_obj *s = t->storage;
    if (!safe_key(s->s))
        return fv_err(FV_ERR_FORMAT, "%s: storage key '%s' is not a plain name", r->path,
                      SHOW(s->s));
    char rel[96];
    snprintf(rel, sizeof rel, "data/%s", s->s);
    size_t len;
    FV_TRY(read_entry(r, rel, 0, buf, &len));
    uint64_t want = (uint64_t)s->i * (uint64_t)fv_pk_dtype_size(s->dtype);
    if (len == want && (uint64_t)s->i <= ((uint64_t)1 << 53))
        return FV_OK;
    fv_free(*buf);
    *buf = NULL;
    return fv_err(FV_ERR_FORMAT, "%s: storage '%s' holds %zu bytes; the checkpoint says %lld "
                  "elements of %s", r->path, SHOW(rel), len, (long long)s->i,
                  fv_pk_dtype_name(s->dtype));
}

/* Gathers every tensor into data (at[i]: tensor i's place), each storage read once. */
static fv_status gather_all(const pt_reader *r, const pt_tensor *ts, int n, const uint64_t *at,
                            unsigned char *data)
{
    int *order = fv_calloc((size_t)n + 1, sizeof *order, "tensor order");
    if (!order)
        return FV_ERR_NOMEM;
    for (int i = 0; i < n; i++)
        order[i] = i;
    sort_tensors = ts;
    qsort(order, (size_t)n, sizeof *order, by_storage);
    unsigned char *s = NULL;
    uint64_t read = 0; /* storage bytes */
    fv_status st = FV_OK;
    for (int k = 0; st == FV_OK && k < n; k++) {
        const fv_pk_obj *t = ts[order[k]].t, *prev = k ? ts[order[k - 1]].t : NULL;
        int same = prev && strcmp(prev->storage->s, t->storage->s) == 0;
        if (same && prev->storage->dtype != t->storage->dtype)
            st = fv_err(FV_ERR_FORMAT, "%s: storage '%s' is both %s and %s", r->path,
                        SHOW(t->storage->s), fv_pk_dtype_name(prev->storage->dtype),
                        fv_pk_dtype_name(t->storage->dtype));
        else if (same && prev->storage->i != t->storage->i)
            st = fv_err(FV_ERR_FORMAT, "%s: storage '%s' has two element counts", r->path,
                        SHOW(t->storage->s));
        if (st == FV_OK && !same) {
            fv_free(s);
            s = NULL;
            read += (uint64_t)t->storage->i * (uint64_t)fv_pk_dtype_size(t->dtype);
            st = read > PT_GROWTH * r->size + 4096 /* zip entries may share their bytes */
                     ? fv_err(FV_ERR_FORMAT, "%s: its storages would read over %d times the "
                              "file's %llu bytes", r->path, PT_GROWTH,
                              (unsigned long long)r->size)
                     : read_storage(r, t, &s);
        }
        if (st == FV_OK)
            gather(t, s, data + at[order[k]]);
    }
    fv_free(s);
    fv_free(order);
    return st;
}

/* ---------------------------------------------------------------- the whole file */

/* The state dict's tensors as a safetensors file (in memory). */
static fv_st_file *to_st(const pt_reader *r, const pt_tensor *ts, int n)
{
    fv_st_part *parts = fv_calloc((size_t)n + 1, sizeof *parts, "tensor parts");
    uint64_t *at = fv_calloc((size_t)n + 1, sizeof *at, "tensor offsets");
    uint64_t total = 0;
    fv_status st = parts && at ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; st == FV_OK && i < n; i++) {
        const fv_pk_obj *t = ts[i].t;
        fv_st_part *p = &parts[i];
        p->name = ts[i].name, p->dtype = out_dtype(t->dtype), p->ndim = t->ndim;
        memcpy(p->dims, t->sizes, sizeof p->dims[0] * (size_t)t->ndim); /* ndim <= FV_MAX_DIMS */
        at[i] = p->begin = total;
        p->end = total += ts[i].bytes;
        if (total > PT_GROWTH * r->size + 4096)
            st = fv_err(FV_ERR_FORMAT, "%s: its tensors would take over %d times the file's "
                        "%llu bytes (views of shared storages?)", r->path, PT_GROWTH,
                        (unsigned long long)r->size);
    }
    unsigned char *data = st == FV_OK ? fv_malloc((size_t)total + 1, "tensors") : NULL;
    if (st == FV_OK && !data)
        st = FV_ERR_NOMEM;
    if (st == FV_OK)
        st = gather_all(r, ts, n, at, data);
    fv_st_file *f = NULL;
    if (st == FV_OK)
        f = fv_st_from_parts(r->path, data, (size_t)total, n, parts); /* takes data */
    else
        fv_free(data);
    fv_free(parts);
    fv_free(at);
    return f;
}

/* The opened archive to a safetensors file. */
static fv_st_file *read_archive(pt_reader *r)
{
    unsigned char *pkl = NULL;
    size_t len = 0;
    fv_pk_obj *root = NULL;
    const fv_pk_obj *sd = NULL;
    pt_tensor *ts = NULL;
    int n = 0;
    char name[PT_MAX_NAME + 240];
    fv_status st = scan_entries(r);
    if (st == FV_OK)
        st = check_byteorder(r);
    if (st == FV_OK)
        st = read_entry(r, "data.pkl", 0, &pkl, &len);
    if (st == FV_OK) {
        snprintf(name, sizeof name, "%s: %s/data.pkl", r->path, SHOW(r->prefix));
        st = fv_pk_run(name, pkl, len, &r->pk, &root);
    }
    if (st == FV_OK)
        st = state_dict_of(r, root, &sd);
    if (st == FV_OK)
        st = collect(r, sd, &ts, &n);
    for (int i = 0; st == FV_OK && i < n; i++)
        st = check_view(r, &ts[i]);
    fv_st_file *f = st == FV_OK ? to_st(r, ts, n) : NULL;
    fv_free(ts);
    fv_free(pkl);
    return f;
}

static void reader_close(pt_reader *r)
{
    fv_pk_free(r->pk);
    if (r->z)
        zip_discard(r->z); /* read-only: nothing to write back */
}

fv_st_file *fv_pt_open_mem(const char *name, const unsigned char *buf, size_t len)
{
    pt_reader r = {.path = name ? name : "<memory>", .size = len};
    zip_error_t e;
    zip_error_init(&e);
    zip_source_t *src = zip_source_buffer_create(buf, len, 0, &e);
    if (src && !(r.z = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &e)))
        zip_source_free(src);
    if (!r.z) {
        zip_fail(&r, &e, "not a readable zip archive");
        return NULL;
    }
    zip_error_fini(&e);
    fv_st_file *f = read_archive(&r);
    reader_close(&r);
    return f;
}

/* Opens path without blocking (a FIFO would hang) and only as a regular file: *fd, *size. */
static fv_status open_regular(const char *path, int *fd, uint64_t *size)
{
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    if (*fd < 0 || fstat(*fd, &sb) != 0)
        return fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return fv_err(FV_ERR_IO, "%s: not a regular file", path);
    *size = (uint64_t)sb.st_size;
    return FV_OK;
}

/* The archive on open regular file fd of `size` bytes (fd is the reader's, closed in all
 * cases). */
static fv_st_file *pt_from_fd(const char *path, int fd, uint64_t size)
{
    pt_reader r = {.path = path, .size = size};
    int code = 0;
    if (!(r.z = zip_fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &code))) {
        zip_error_t e;
        zip_error_init_with_code(&e, code);
        zip_fail(&r, &e, "not a readable zip archive");
        close(fd);
        return NULL;
    }
    fv_st_file *f = read_archive(&r); /* zip_discard closes fd */
    reader_close(&r);
    return f;
}

fv_st_file *fv_pt_open(const char *path)
{
    int fd;
    uint64_t size = 0;
    if (open_regular(path, &fd, &size) != FV_OK) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    return pt_from_fd(path, fd, size);
}

fv_st_file *fv_weights_open(const char *path)
{
    /* the legacy format opens with a pickled magic number: PROTO 2, LONG1 of 10 bytes */
    static const unsigned char legacy[14] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c,
                                             0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    unsigned char head[14] = {0};
    int fd = path ? open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
    struct stat sb;
    ssize_t got = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? pread(fd, head, 14, 0)
                                                                        : 0;
    if (got >= 4 && memcmp(head, "PK\3\4", 4) == 0) /* a zip: read through this open file */
        return pt_from_fd(path, fd, (uint64_t)sb.st_size);
    if (fd >= 0)
        close(fd);
    if (got == 14 && memcmp(head, legacy, 14) == 0) {
        fv_err(FV_ERR_FORMAT, "%s: legacy torch.save format: re-save with torch.save(..., "
               "_use_new_zipfile_serialization=True)", path);
        return NULL;
    }
    return fv_st_open(path); /* safetensors, and its errors for anything else */
}
