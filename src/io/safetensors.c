/* safetensors.c - the safetensors format (8-byte little-endian header length, JSON header, data
 * buffer): a validating reader and an atomic F32 writer. The reader reads the length and the
 * header (bounded), checks every field against the file's size and that the tensors tile the data
 * buffer exactly (no holes, no overlaps: no bytes a reader could interpret otherwise), then reads
 * each tensor on request straight from the open file, so memory is bounded by the tensors read,
 * never by the file. Values are decoded byte by byte, so the code does not depend on the host's
 * byte order. Int8 tensors (quantized weights) are written and read as raw bytes (I8). */
#include "io/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u * 1000u * 1000u) /* 100 MB, as the reference implementation */
#define ST_CHUNK ((size_t)1 << 18)            /* bytes read at a time when decoding a tensor */
/* A tensor name (from a file) for a one-line message: controls and invalid UTF-8 escaped. */
#define SHOW(name) fv_printable((name), (char[204]){0}, 204)

typedef struct st_dtype {
    const char *name;
    int size;     /* bytes per element */
    int readable; /* fv_st_get converts it to float32 */
} st_dtype;

/* The dtypes of the format; other strings in a header are errors. */
static const st_dtype st_dtypes[] = {
    {"F32", 4, 1},  {"F64", 8, 1},  {"F16", 2, 0},     {"BF16", 2, 0},    {"I8", 1, 0},
    {"U8", 1, 0},   {"I16", 2, 0},  {"U16", 2, 0},     {"I32", 4, 0},     {"U32", 4, 0},
    {"I64", 8, 0},  {"U64", 8, 0},  {"BOOL", 1, 0},    {"F8_E4M3", 1, 0}, {"F8_E5M2", 1, 0},
};
#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

typedef struct st_entry {
    char *name;
    int dtype; /* index into st_dtypes */
    int ndim;  /* 0 for a scalar */
    int64_t dims[FV_MAX_DIMS];
    uint64_t begin, end; /* relative to the data buffer */
} st_entry;

struct fv_st_file {
    char *path;
    int fd;             /* the open file (fv_st_open), or -1 */
    unsigned char *mem; /* or the bytes (fv_st_open_mem) */
    uint64_t size;      /* of the file or the bytes */
    uint64_t data_at;   /* where the data buffer starts: 8 + the header length */
    uint64_t data_len;
    int n;
    st_entry *e;  /* in header order */
    int *sorted;  /* entry indices sorted by name, for lookup */
    int nmeta;
    char **meta;  /* __metadata__: key, value, key, value, ... (2 nmeta strings) */
};

static uint64_t load_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void store_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

void fv_st_close(fv_st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        fv_free(f->e[i].name);
    fv_free(f->e);
    fv_free(f->sorted);
    for (int i = 0; i < 2 * f->nmeta; i++)
        fv_free(f->meta[i]);
    fv_free(f->meta);
    fv_free(f->mem);
    if (f->fd >= 0)
        close(f->fd);
    fv_free(f->path);
    fv_free(f);
}

/* ---------------------------------------------------------------- header parsing */

/* A JSON number that is an integer in [0, 2^53]. */
static int json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || d != floor(d))
        return 0;
    *out = (uint64_t)d;
    return 1;
}

static fv_status parse_dtype(const char *path, const char *name, const cJSON *obj, int *dtype)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    if (!cJSON_IsString(j))
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has no dtype string", path, SHOW(name));
    for (int i = 0; i < ST_NDTYPES; i++)
        if (strcmp(j->valuestring, st_dtypes[i].name) == 0) {
            *dtype = i;
            return FV_OK;
        }
    return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has unknown dtype '%s'", path, SHOW(name),
                  fv_printable(j->valuestring, (char[36]){0}, 36));
}

/* Fills e->ndim and e->dims; *numel gets the element count (checked against overflow). */
static fv_status parse_shape(const char *path, const cJSON *obj, st_entry *e, uint64_t *numel)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "shape");
    if (!cJSON_IsArray(j))
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has no shape list", path,
                      SHOW(e->name));
    int nd = cJSON_GetArraySize(j);
    if (nd > FV_MAX_DIMS)
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has %d dimensions (at most %d)",
                      path, SHOW(e->name), nd, FV_MAX_DIMS);
    uint64_t n = 1;
    int k = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, j) {
        uint64_t v;
        if (!json_uint(d, &v))
            return fv_err(FV_ERR_FORMAT,
                          "%s: tensor '%s': shape entries must be non-negative integers",
                          path, SHOW(e->name));
        if (v && n > ((uint64_t)1 << 53) / v)
            return fv_err(FV_ERR_FORMAT, "%s: tensor '%s': shape is too large", path,
                          SHOW(e->name));
        n *= v;
        e->dims[k++] = (int64_t)v;
    }
    e->ndim = nd;
    *numel = n;
    return FV_OK;
}

static fv_status parse_offsets(const char *path, const cJSON *obj, uint64_t data_len, st_entry *e)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, "data_offsets");
    if (!cJSON_IsArray(j) || cJSON_GetArraySize(j) != 2 ||
        !json_uint(cJSON_GetArrayItem(j, 0), &e->begin) ||
        !json_uint(cJSON_GetArrayItem(j, 1), &e->end))
        return fv_err(FV_ERR_FORMAT,
                      "%s: tensor '%s': data_offsets must be [begin, end] integers", path,
                      SHOW(e->name));
    if (e->begin > e->end || e->end > data_len)
        return fv_err(FV_ERR_FORMAT,
                      "%s: tensor '%s' data_offsets [%llu, %llu] out of range of the "
                      "%llu-byte data buffer",
                      path, SHOW(e->name), (unsigned long long)e->begin, (unsigned long long)e->end,
                      (unsigned long long)data_len);
    return FV_OK;
}

static fv_status parse_entry(const char *path, const cJSON *obj, uint64_t data_len, st_entry *e)
{
    if (!cJSON_IsObject(obj))
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' is not a JSON object", path,
                      SHOW(e->name));
    uint64_t numel = 0;
    FV_TRY(parse_dtype(path, e->name, obj, &e->dtype));
    FV_TRY(parse_shape(path, obj, e, &numel));
    FV_TRY(parse_offsets(path, obj, data_len, e));
    uint64_t size = (uint64_t)st_dtypes[e->dtype].size;
    if (e->end - e->begin != numel * size) {
        char s[160];
        return fv_err(FV_ERR_FORMAT,
                      "%s: tensor '%s' data_offsets [%llu, %llu] do not match shape %s "
                      "of %s",
                      path, SHOW(e->name), (unsigned long long)e->begin, (unsigned long long)e->end,
                      fv_shape_str(e->ndim, e->dims, s, sizeof s), st_dtypes[e->dtype].name);
    }
    return FV_OK;
}

/* __metadata__: a JSON object of strings, kept as key/value copies. */
static fv_status take_metadata(fv_st_file *f, const cJSON *meta)
{
    if (f->meta)
        return fv_err(FV_ERR_FORMAT, "%s: __metadata__ given twice", f->path);
    int ok = cJSON_IsObject(meta);
    const cJSON *m;
    if (ok) {
        cJSON_ArrayForEach(m, meta) {
            ok = ok && cJSON_IsString(m) && m->valuestring;
        }
    }
    if (!ok)
        return fv_err(FV_ERR_FORMAT, "%s: __metadata__ must map strings to strings", f->path);
    int n = cJSON_GetArraySize(meta);
    if (!(f->meta = fv_calloc(2 * (size_t)n + 1, sizeof *f->meta, "safetensors metadata")))
        return FV_ERR_NOMEM;
    cJSON_ArrayForEach(m, meta) {
        char **kv = &f->meta[2 * f->nmeta];
        if (!(kv[0] = fv_strdup(m->string, "metadata key")) ||
            !(kv[1] = fv_strdup(m->valuestring, "metadata value"))) {
            f->nmeta++; /* what was copied is freed with f */
            return FV_ERR_NOMEM;
        }
        f->nmeta++;
    }
    return FV_OK;
}

/* qsort context: the entries being sorted (qsort has no context argument in C11). */
static _Thread_local const st_entry *sort_entries;

static int cmp_index(const void *a, const void *b)
{
    return strcmp(sort_entries[*(const int *)a].name, sort_entries[*(const int *)b].name);
}

static fv_status build_index(fv_st_file *f)
{
    f->sorted = fv_calloc((size_t)f->n + 1, sizeof *f->sorted, "safetensors index");
    if (!f->sorted)
        return FV_ERR_NOMEM;
    for (int i = 0; i < f->n; i++)
        f->sorted[i] = i;
    sort_entries = f->e;
    qsort(f->sorted, (size_t)f->n, sizeof *f->sorted, cmp_index);
    for (int i = 1; i < f->n; i++)
        if (strcmp(f->e[f->sorted[i - 1]].name, f->e[f->sorted[i]].name) == 0)
            return fv_err(FV_ERR_FORMAT, "%s: duplicate tensor '%s'", f->path,
                          SHOW(f->e[f->sorted[i]].name));
    return FV_OK;
}

static int cmp_range(const void *a, const void *b)
{
    const st_entry *x = &sort_entries[*(const int *)a], *y = &sort_entries[*(const int *)b];
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors' byte ranges, sorted by begin, must tile the data buffer exactly, as the format
 * requires: a hole or an overlap would hold bytes that readers could interpret differently. */
static fv_status check_tiling(const fv_st_file *f)
{
    int *order = fv_calloc((size_t)f->n + 1, sizeof *order, "safetensors ranges");
    if (!order)
        return FV_ERR_NOMEM;
    for (int i = 0; i < f->n; i++)
        order[i] = i;
    sort_entries = f->e;
    qsort(order, (size_t)f->n, sizeof *order, cmp_range);
    uint64_t at = 0; /* where the tensors so far end */
    fv_status st = FV_OK;
    for (int i = 0; i < f->n && st == FV_OK; i++) {
        const st_entry *e = &f->e[order[i]];
        if (e->begin < at)
            st = fv_err(FV_ERR_FORMAT, "%s: tensor '%s' data_offsets [%llu, %llu] overlap tensor "
                        "'%s' (which ends at %llu)", f->path, SHOW(e->name),
                        (unsigned long long)e->begin, (unsigned long long)e->end,
                        SHOW(f->e[order[i - 1]].name), (unsigned long long)at);
        else if (e->begin > at)
            st = fv_err(FV_ERR_FORMAT, "%s: tensor '%s' data_offsets [%llu, %llu] leave bytes "
                        "[%llu, %llu) of the data buffer unused", f->path, SHOW(e->name),
                        (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)at, (unsigned long long)e->begin);
        at = e->end;
    }
    if (st == FV_OK && at != f->data_len)
        st = f->n ? fv_err(FV_ERR_FORMAT, "%s: %llu bytes after the last tensor '%s' are not part "
                           "of any tensor", f->path, (unsigned long long)(f->data_len - at),
                           SHOW(f->e[order[f->n - 1]].name))
                  : fv_err(FV_ERR_FORMAT, "%s: %llu data bytes but no tensors", f->path,
                           (unsigned long long)f->data_len);
    fv_free(order);
    return st;
}

/* Fills f->e from the parsed header object. */
static fv_status parse_entries(fv_st_file *f, const cJSON *root)
{
    int count = cJSON_GetArraySize(root);
    f->e = fv_calloc((size_t)count + 1, sizeof *f->e, "safetensors entries");
    if (!f->e)
        return FV_ERR_NOMEM;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (strcmp(item->string, "__metadata__") == 0) {
            FV_TRY(take_metadata(f, item));
            continue;
        }
        st_entry *e = &f->e[f->n];
        if (!(e->name = fv_strdup(item->string, "tensor name")))
            return FV_ERR_NOMEM;
        f->n++;
        FV_TRY(parse_entry(f->path, item, f->data_len, e));
    }
    FV_TRY(build_index(f));
    return check_tiling(f);
}

/* Parses the JSON header text hdr[0..n) (NUL-terminated copy). */
static fv_status parse_header(fv_st_file *f, const char *hdr, size_t n)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(hdr, n, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t pos = at && at >= hdr && at <= hdr + n ? (size_t)(at - hdr) : n;
        return fv_err(FV_ERR_FORMAT, "%s: invalid JSON in the header (near byte %zu of %zu)",
                      f->path, pos, n);
    }
    fv_status st = FV_OK;
    for (const char *p = end; p && p < hdr + n && st == FV_OK; p++)
        if (!strchr(" \t\r\n", *p) || !*p)
            st = fv_err(FV_ERR_FORMAT, "%s: unexpected bytes after the JSON header (byte %zu)",
                        f->path, (size_t)(p - hdr));
    if (st == FV_OK && !cJSON_IsObject(root))
        st = fv_err(FV_ERR_FORMAT, "%s: the header is not a JSON object", f->path);
    if (st == FV_OK)
        st = parse_entries(f, root);
    cJSON_Delete(root);
    return st;
}

/* Reads bytes [at, at + n) of f. The sizes were checked against f->size when f was opened, so a
 * file that ends early has shrunk since. */
static fv_status read_at(const fv_st_file *f, uint64_t at, void *dst, size_t n)
{
    FV_CHECK(at <= f->size && n <= f->size - at);
    if (f->fd < 0) {
        if (n)
            memcpy(dst, f->mem + at, n);
        return FV_OK;
    }
    unsigned char *p = dst;
    while (n) {
        ssize_t k = pread(f->fd, p, n < ((size_t)1 << 30) ? n : (size_t)1 << 30, (off_t)at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return fv_err(FV_ERR_IO, "%s: read failed: %s", f->path, strerror(errno));
        if (k == 0)
            return fv_err(FV_ERR_IO, "%s: the file ends at byte %llu, before the %llu bytes it "
                          "had when opened (was it cut short meanwhile?)", f->path,
                          (unsigned long long)at, (unsigned long long)f->size);
        p += k, at += (uint64_t)k, n -= (size_t)k;
    }
    return FV_OK;
}

/* Checks the length prefix against the size, then reads and parses the header (only). */
static fv_status parse_file(fv_st_file *f)
{
    uint64_t len = f->size;
    if (len < 8)
        return fv_err(FV_ERR_FORMAT, "%s: file too short for a safetensors header (%llu bytes)",
                      f->path, (unsigned long long)len);
    unsigned char len8[8];
    FV_TRY(read_at(f, 0, len8, 8));
    uint64_t n = load_le64(len8);
    if (n > ST_MAX_HEADER)
        return fv_err(FV_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes",
                      f->path, (unsigned long long)n, ST_MAX_HEADER);
    if (n > len - 8)
        return fv_err(FV_ERR_FORMAT, "%s: header length %llu exceeds file size %llu", f->path,
                      (unsigned long long)n, (unsigned long long)len);
    f->data_at = 8 + n;
    f->data_len = len - 8 - n;
    char *hdr = fv_malloc((size_t)n + 1, "safetensors header");
    if (!hdr)
        return FV_ERR_NOMEM;
    fv_status st = read_at(f, 8, hdr, (size_t)n);
    hdr[n] = 0;
    if (st == FV_OK)
        st = parse_header(f, hdr, (size_t)n);
    fv_free(hdr);
    return st;
}

static fv_st_file *st_new(const char *name)
{
    fv_st_file *f = fv_calloc(1, sizeof *f, "safetensors file");
    if (!f)
        return NULL;
    f->fd = -1;
    if (!(f->path = fv_strdup(name, "file name"))) {
        fv_free(f);
        return NULL;
    }
    return f;
}

fv_st_file *fv_st_open_mem(const char *name, const unsigned char *buf, size_t len)
{
    fv_st_file *f = st_new(name ? name : "<memory>");
    if (!f || !(f->mem = fv_malloc(len, "safetensors bytes"))) {
        fv_st_close(f);
        return NULL;
    }
    if (len)
        memcpy(f->mem, buf, len);
    f->size = len;
    if (parse_file(f) != FV_OK) {
        fv_st_close(f);
        return NULL;
    }
    return f;
}

fv_st_file *fv_st_from_parts(const char *name, unsigned char *data, size_t len, int n,
                             const fv_st_part *parts)
{
    fv_st_file *f = st_new(name ? name : "<memory>");
    if (!f) {
        fv_free(data);
        return NULL;
    }
    f->mem = data, f->size = f->data_len = len;
    f->e = fv_calloc((size_t)n + 1, sizeof *f->e, "safetensors entries");
    fv_status st = f->e ? FV_OK : FV_ERR_NOMEM;
    for (int i = 0; st == FV_OK && i < n; i++) {
        st_entry *e = &f->e[f->n];
        const fv_st_part *p = &parts[i];
        if (!(e->name = fv_strdup(p->name, "tensor name"))) {
            st = FV_ERR_NOMEM;
            break;
        }
        f->n++;
        e->dtype = -1;
        for (int d = 0; d < ST_NDTYPES; d++)
            e->dtype = strcmp(p->dtype, st_dtypes[d].name) == 0 ? d : e->dtype;
        uint64_t numel = 1;
        for (int d = 0; p->ndim <= FV_MAX_DIMS && d < p->ndim; d++)
            numel *= (uint64_t)(e->dims[d] = p->dims[d]);
        e->ndim = p->ndim, e->begin = p->begin, e->end = p->end;
        if (e->dtype < 0 || p->ndim > FV_MAX_DIMS || e->begin > e->end || e->end > len ||
            e->end - e->begin != numel * (uint64_t)st_dtypes[e->dtype].size)
            st = fv_err(FV_ERR_STATE, "%s: tensor '%s': internal error: inconsistent part",
                        f->path, SHOW(e->name));
    }
    if (st == FV_OK)
        st = build_index(f);
    if (st == FV_OK)
        st = check_tiling(f);
    if (st != FV_OK) {
        fv_st_close(f);
        return NULL;
    }
    return f;
}

/* Opens path for reading without blocking (a FIFO without a writer would hang the open) and
 * refuses anything but a regular file; f->fd and f->size on success. */
static fv_status open_regular(fv_st_file *f, const char *path)
{
    f->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (f->fd < 0)
        return fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(f->fd, &sb) != 0)
        return fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return fv_err(FV_ERR_IO, "%s: not a regular file", path);
    f->size = (uint64_t)sb.st_size;
    return FV_OK;
}

fv_st_file *fv_st_open(const char *path)
{
    if (!path || !*path) {
        fv_err(FV_ERR_INVALID, "empty file name");
        return NULL;
    }
    fv_st_file *f = st_new(path);
    if (f && (open_regular(f, path) != FV_OK || parse_file(f) != FV_OK)) {
        fv_st_close(f);
        return NULL;
    }
    return f;
}

/* ---------------------------------------------------------------- access */

int fv_st_count(const fv_st_file *f) { return f ? f->n : 0; }

const char *fv_st_name(const fv_st_file *f, int i)
{
    return f && i >= 0 && i < f->n ? f->e[i].name : NULL;
}

const char *fv_st_path(const fv_st_file *f) { return f ? f->path : NULL; }

int fv_st_find(const fv_st_file *f, const char *name)
{
    int lo = 0, hi = f && name ? f->n - 1 : -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->e[f->sorted[mid]].name);
        if (c == 0)
            return f->sorted[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

const char *fv_st_meta(const fv_st_file *f, const char *key)
{
    for (int i = 0; f && key && i < f->nmeta; i++)
        if (strcmp(f->meta[2 * i], key) == 0)
            return f->meta[2 * i + 1];
    return NULL;
}

int fv_st_shape(const fv_st_file *f, int i, int64_t dims[FV_MAX_DIMS])
{
    const st_entry *e = &f->e[i];
    memcpy(dims, e->dims, sizeof e->dims);
    return e->ndim;
}

fv_status fv_st_check_dtype(const fv_st_file *f, int i)
{
    const st_entry *e = &f->e[i];
    if (st_dtypes[e->dtype].readable)
        return FV_OK;
    return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has dtype %s; fovea reads F32 and F64",
                  f->path, SHOW(e->name), st_dtypes[e->dtype].name);
}

int fv_st_is_i8(const fv_st_file *f, int i)
{
    return strcmp(st_dtypes[f->e[i].dtype].name, "I8") == 0;
}

fv_status fv_st_read_i8(const fv_st_file *f, int i, int8_t *dst)
{
    const st_entry *e = &f->e[i];
    if (!fv_st_is_i8(f, i))
        return fv_err(FV_ERR_FORMAT, "%s: tensor '%s' has dtype %s, expected I8", f->path,
                      SHOW(e->name), st_dtypes[e->dtype].name);
    return read_at(f, f->data_at + e->begin, dst, (size_t)(e->end - e->begin));
}

/* n values of e's dtype (F32 or F64, little-endian) at p as float32. */
static void decode(const st_entry *e, const unsigned char *p, float *out, size_t n)
{
    if (st_dtypes[e->dtype].size == 4) {
        for (size_t i = 0; i < n; i++, p += 4) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                         (uint32_t)p[3] << 24;
            memcpy(&out[i], &u, 4);
        }
    } else {
        for (size_t i = 0; i < n; i++, p += 8) {
            uint64_t u = load_le64(p);
            double d;
            memcpy(&d, &u, 8);
            out[i] = (float)d;
        }
    }
}

fv_status fv_st_read(const fv_st_file *f, int i, float *dst)
{
    FV_TRY(fv_st_check_dtype(f, i));
    const st_entry *e = &f->e[i];
    size_t size = (size_t)st_dtypes[e->dtype].size;
    uint64_t total = e->end - e->begin, done = 0;
    size_t cap = total < ST_CHUNK ? (size_t)total : ST_CHUNK; /* ST_CHUNK: a multiple of 8 */
    unsigned char *chunk = fv_malloc(cap, "safetensors read buffer");
    if (!chunk)
        return FV_ERR_NOMEM;
    fv_status st = FV_OK;
    while (st == FV_OK && done < total) {
        size_t k = total - done < cap ? (size_t)(total - done) : cap;
        st = read_at(f, f->data_at + e->begin + done, chunk, k);
        if (st == FV_OK)
            decode(e, chunk, dst + done / size, k / size);
        done += k;
    }
    fv_free(chunk);
    return st;
}

fv_tensor *fv_st_get(const fv_st_file *f, const char *name)
{
    if (!f || !name) {
        fv_err(FV_ERR_INVALID, "safetensors get: NULL file or name");
        return NULL;
    }
    int i = fv_st_find(f, name);
    if (i < 0) {
        fv_err(FV_ERR_INVALID, "%s: no tensor '%s'", f->path, SHOW(name));
        return NULL;
    }
    if (fv_st_check_dtype(f, i) != FV_OK)
        return NULL;
    int64_t dims[FV_MAX_DIMS], one = 1;
    int nd = fv_st_shape(f, i, dims);
    fv_tensor *t = nd ? fv_tensor_new(nd, dims) : fv_tensor_new(1, &one);
    if (t && fv_st_read(f, i, t->data) != FV_OK) {
        fv_tensor_free(t);
        return NULL;
    }
    return t;
}

/* ---------------------------------------------------------------- writing */

typedef struct strbuf {
    char *s;
    size_t len, cap;
    fv_status st;
} strbuf;

static void sb_put(strbuf *b, const char *s, size_t n)
{
    if (b->st != FV_OK)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = 2 * (b->len + n + 1) + 64;
        char *p = fv_realloc(b->s, b->len, cap, "safetensors header");
        if (!p) {
            b->st = FV_ERR_NOMEM;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_str(strbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_fmt_u64(strbuf *b, const char *before, unsigned long long v)
{
    char tmp[48];
    int k = snprintf(tmp, sizeof tmp, "%s%llu", before, v);
    sb_put(b, tmp, (size_t)k);
}

/* A JSON string literal (names are valid UTF-8, check_inputs; control characters escaped). */
static void sb_json_string(strbuf *b, const char *s)
{
    sb_str(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            sb_put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, (const char *)p, 1);
        }
    }
    sb_str(b, "\"");
}

/* "__metadata__":{"k":"v",...}, from meta (key, value, ..., NULL), and a comma when tensors
 * follow. */
static void build_meta(strbuf *b, const char *const *meta, int n)
{
    if (!meta || !meta[0])
        return;
    sb_str(b, "\"__metadata__\":{");
    for (int i = 0; meta[i]; i += 2) {
        sb_str(b, i ? "," : "");
        sb_json_string(b, meta[i]);
        sb_str(b, ":");
        sb_json_string(b, meta[i + 1]);
    }
    sb_str(b, n ? "}," : "}");
}

/* The JSON header for tensors laid out back to back, padded with spaces to a multiple of 8. */
static fv_status build_header(strbuf *b, int n, const char *const *names,
                              const fv_tensor *const *ts, const unsigned char *i8,
                              const char *const *meta)
{
    uint64_t off = 0;
    sb_str(b, "{");
    build_meta(b, meta, n);
    for (int i = 0; i < n; i++) {
        const fv_tensor *t = ts[i];
        int is_i8 = i8 && i8[i];
        uint64_t bytes = (uint64_t)fv_tensor_numel(t) * (is_i8 ? 1 : 4);
        sb_str(b, i ? "," : "");
        sb_json_string(b, names[i]);
        sb_str(b, is_i8 ? ":{\"dtype\":\"I8\",\"shape\":[" : ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            sb_fmt_u64(b, d ? "," : "", (unsigned long long)t->dims[d]);
        sb_fmt_u64(b, "],\"data_offsets\":[", (unsigned long long)off);
        sb_fmt_u64(b, ",", (unsigned long long)(off + bytes));
        sb_str(b, "]}");
        off += bytes;
    }
    sb_str(b, "}");
    while (b->st == FV_OK && b->len % 8)
        sb_str(b, " ");
    return b->st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static fv_status check_unique(const char *path, int n, const char *const *names)
{
    const char **s = fv_calloc((size_t)n + 1, sizeof *s, "tensor names");
    if (!s)
        return FV_ERR_NOMEM;
    memcpy(s, names, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str);
    fv_status st = FV_OK;
    for (int i = 1; i < n && st == FV_OK; i++)
        if (strcmp(s[i - 1], s[i]) == 0)
            st = fv_err(FV_ERR_INVALID, "%s: duplicate tensor name '%s'", path, SHOW(s[i]));
    fv_free(s);
    return st;
}

/* Metadata keys non-empty, keys and values valid UTF-8 (JSON strings; controls are escaped). */
static fv_status check_meta(const char *path, const char *const *meta)
{
    char shown[256];
    for (int i = 0; meta && meta[i]; i += 2) {
        if (!*meta[i] || !meta[i + 1])
            return fv_err(FV_ERR_INVALID, "%s: metadata entry %d has an empty key or no value",
                          path, i / 2);
        const char *bad = !fv_utf8_valid(meta[i], true)       ? meta[i]
                          : !fv_utf8_valid(meta[i + 1], true) ? meta[i + 1]
                                                              : NULL;
        if (bad)
            return fv_err(FV_ERR_INVALID, "%s: metadata '%s' is not valid UTF-8", path,
                          fv_printable(bad, shown, 64));
    }
    return FV_OK;
}

static fv_status check_inputs(const char *path, int n, const char *const *names,
                              const fv_tensor *const *ts)
{
    if (!path || n < 0 || (n > 0 && (!names || !ts)))
        return fv_err(FV_ERR_INVALID, "safetensors save: bad arguments");
    for (int i = 0; i < n; i++) {
        if (!names[i] || !*names[i] || strcmp(names[i], "__metadata__") == 0)
            return fv_err(FV_ERR_INVALID, "%s: tensor %d has an empty or reserved name", path, i);
        char shown[256];
        /* JSON strings are UTF-8: a header with other bytes is rejected by strict readers */
        if (!fv_utf8_valid(names[i], true))
            return fv_err(FV_ERR_INVALID, "%s: tensor name '%s' is not valid UTF-8", path,
                          fv_printable(names[i], shown, sizeof shown));
        if (!ts[i] || !ts[i]->data || ts[i]->ndim < 1 || ts[i]->ndim > FV_MAX_DIMS)
            return fv_err(FV_ERR_INVALID, "%s: tensor '%s' is missing or has no shape",
                          path, SHOW(names[i]));
        for (int d = 0; d < ts[i]->ndim; d++)
            if (ts[i]->dims[d] < 0)
                return fv_err(FV_ERR_INVALID, "%s: tensor '%s' has a negative dimension",
                              path, SHOW(names[i]));
        if (!fv_tensor_is_contiguous(ts[i]))
            return fv_err(FV_ERR_INVALID, "%s: tensor '%s' is not contiguous", path,
                          SHOW(names[i]));
    }
    return check_unique(path, n, names);
}

/* Writes t's values as little-endian F32. */
static int write_f32(FILE *out, const fv_tensor *t)
{
    unsigned char chunk[4096];
    int64_t n = fv_tensor_numel(t), k = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &t->data[i], 4);
        for (int j = 0; j < 4; j++)
            chunk[k++] = (unsigned char)(u >> (8 * j));
        if (k == (int64_t)sizeof chunk || i == n - 1) {
            if (fwrite(chunk, 1, (size_t)k, out) != (size_t)k)
                return 0;
            k = 0;
        }
    }
    return 1;
}

fv_status fv_st_save(const char *path, int n, const char *const *names,
                     const fv_tensor *const *ts)
{
    return fv_st_save_meta(path, n, names, ts, NULL);
}

/* Writes t's values, integers in [-128, 127] (checked by the caller), as I8 bytes. */
static int write_i8(FILE *out, const fv_tensor *t)
{
    unsigned char chunk[4096];
    int64_t n = fv_tensor_numel(t), k = 0;
    for (int64_t i = 0; i < n; i++) {
        chunk[k++] = (unsigned char)(int8_t)t->data[i];
        if (k == (int64_t)sizeof chunk || i == n - 1) {
            if (fwrite(chunk, 1, (size_t)k, out) != (size_t)k)
                return 0;
            k = 0;
        }
    }
    return 1;
}

/* Tensors flagged i8 hold integers in [-128, 127]. */
static fv_status check_i8(const char *path, int n, const char *const *names,
                          const fv_tensor *const *ts, const unsigned char *i8)
{
    for (int i = 0; i8 && i < n; i++)
        for (int64_t j = 0; i8[i] && j < fv_tensor_numel(ts[i]); j++) {
            float v = ts[i]->data[j];
            if (!(v >= -128 && v <= 127) || v != (float)(int)v)
                return fv_err(FV_ERR_INVALID, "%s: tensor '%s' value %lld is %g, not an int8",
                              path, SHOW(names[i]), (long long)j, (double)v);
        }
    return FV_OK;
}

fv_status fv_st_save_meta(const char *path, int n, const char *const *names,
                          const fv_tensor *const *ts, const char *const *meta)
{
    return fv_st_save_i8(path, n, names, ts, NULL, meta);
}

fv_status fv_st_save_i8(const char *path, int n, const char *const *names,
                        const fv_tensor *const *ts, const unsigned char *i8,
                        const char *const *meta)
{
    FV_TRY(check_inputs(path, n, names, ts));
    FV_TRY(check_meta(path, meta));
    FV_TRY(check_i8(path, n, names, ts, i8));
    strbuf b = {0};
    fv_status st = build_header(&b, n, names, ts, i8, meta);
    fv_atomic_file af;
    if (st == FV_OK)
        st = fv_atomic_open(&af, path);
    if (st != FV_OK) {
        fv_free(b.s);
        return st;
    }
    unsigned char len8[8];
    store_le64(len8, b.len);
    errno = 0;
    int ok = fwrite(len8, 1, 8, af.f) == 8 && fwrite(b.s, 1, b.len, af.f) == b.len;
    for (int i = 0; ok && i < n; i++)
        ok = i8 && i8[i] ? write_i8(af.f, ts[i]) : write_f32(af.f, ts[i]);
    fv_free(b.s);
    if (!ok) {
        int e = errno;
        fv_atomic_abort(&af);
        return fv_err(FV_ERR_IO, "%s: write failed: %s", path, strerror(e ? e : EIO));
    }
    return fv_atomic_commit(&af);
}
