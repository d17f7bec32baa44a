/* idx.c - the IDX format of MNIST and Fashion-MNIST (big-endian magic and dimensions, then unsigned
 * bytes), plain or gzip-compressed, decoded into a float tensor of the raw values, all of them or
 * the first n records; and the largest value of a whole file (for counting classes from labels).
 * Sizes are checked before the data is read or anything large is allocated: the data must fit the
 * cap on decoded data (data/limits.c), a plain file must hold exactly the data its header promises
 * (and is read from the file only as far as needed, straight into the tensor), a gzip stream
 * cannot promise more than deflate's maximum ratio lets its bytes hold, and it is inflated in
 * pieces into memory that grows only as data arrives. */
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAX_FILE ((size_t)1 << 32)      /* 4 GiB on disk */
#define IDX_MAX_VALUES ((uint64_t)1 << 32)  /* 4 Gi values */
#define DEFLATE_MAX_RATIO 1032u             /* deflate expands at most ~1032:1 */

/* A byte stream over the file's bytes: in memory (plain, or inflated on the fly), or a plain file
 * read at its descriptor as far as the reader asks. */
typedef struct idx_src {
    const char *name;
    const unsigned char *buf; /* the bytes in memory, or NULL: read at fd */
    unsigned char *owned;     /* buf when it is the source's (a gzip file's bytes) */
    int fd;
    size_t len, pos; /* len: all the bytes (the file's size) */
    int gz, zinit, zend;
    z_stream z;
} idx_src;

static fv_status src_init(idx_src *s, const char *name, const unsigned char *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->buf = buf;
    s->fd = -1;
    s->len = len;
    s->gz = buf && len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
    if (!s->gz)
        return FV_OK;
    if (inflateInit2(&s->z, 15 + 16) != Z_OK) /* gzip wrapper only */
        return fv_err(FV_ERR_NOMEM, "%s: cannot start gzip decompression", name);
    s->zinit = 1;
    return FV_OK;
}

static void src_close(idx_src *s)
{
    if (s->zinit)
        inflateEnd(&s->z);
    s->zinit = 0;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    fv_free(s->owned);
    s->owned = NULL;
}

/* After a gzip member ends: continue when another member follows (as gzip does). */
static int next_member(idx_src *s)
{
    size_t at = s->pos - s->z.avail_in;
    if (s->len - at < 2 || s->buf[at] != 0x1f || s->buf[at + 1] != 0x8b)
        return 0;
    return inflateReset(&s->z) == Z_OK;
}

/* Inflates up to n bytes into dst; *got is what came out. */
static fv_status inflate_some(idx_src *s, unsigned char *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n && !s->zend) {
        if (s->z.avail_in == 0 && s->pos < s->len) {
            size_t k = s->len - s->pos < UINT_MAX ? s->len - s->pos : UINT_MAX;
            s->z.next_in = (unsigned char *)(s->buf + s->pos);
            s->z.avail_in = (uInt)k;
            s->pos += k;
        }
        size_t want = n - *got < UINT_MAX ? n - *got : UINT_MAX;
        s->z.next_out = dst + *got;
        s->z.avail_out = (uInt)want;
        int rc = inflate(&s->z, Z_NO_FLUSH);
        *got += want - s->z.avail_out;
        if (rc == Z_STREAM_END)
            s->zend = !next_member(s);
        else if (rc == Z_BUF_ERROR && s->z.avail_in == 0 && s->pos >= s->len)
            break; /* input exhausted: truncated */
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return fv_err(FV_ERR_FORMAT, "%s: corrupt gzip data: %s", s->name,
                          s->z.msg ? s->z.msg : zError(rc));
    }
    return FV_OK;
}

/* Reads up to n bytes of the file at s->pos; fewer only where it ends (or shrank). */
static fv_status file_read(idx_src *s, unsigned char *dst, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = pread(s->fd, dst + *got, n - *got, (off_t)(s->pos + *got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return fv_err(FV_ERR_IO, "%s: %s", s->name, strerror(errno));
        if (r == 0)
            break;
        *got += (size_t)r;
    }
    return FV_OK;
}

/* Reads up to n bytes; fewer only at the end of the data. */
static fv_status src_read(idx_src *s, unsigned char *dst, size_t n, size_t *got)
{
    if (s->gz)
        return inflate_some(s, dst, n, got);
    n = s->len - s->pos < n ? s->len - s->pos : n;
    if (s->buf)
        memcpy(dst, s->buf + s->pos, *got = n);
    else
        FV_TRY(file_read(s, dst, n, got));
    s->pos += *got;
    return FV_OK;
}

/* A regular file opened without blocking (a FIFO or device is refused at once), as fv_read_file
 * does; -1 on error. */
static int open_regular(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        fv_err(FV_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > (uint64_t)IDX_MAX_FILE)
        fv_err(FV_ERR_IO, "%s: file larger than %zu bytes (%lld)", path, IDX_MAX_FILE,
               (long long)sb.st_size);
    else {
        *size = (size_t)sb.st_size;
        return fd;
    }
    close(fd);
    return -1;
}

/* The file at path: a plain one read at its descriptor, a gzip one (its compressed bytes bounded
 * by the file-size limit) read whole and inflated as it is read. Close with src_close. */
static fv_status src_open(idx_src *s, const char *path)
{
    size_t size, got;
    src_init(s, path, NULL, 0);
    int fd = open_regular(path, &size);
    if (fd < 0)
        return FV_ERR_IO;
    s->fd = fd, s->len = size;
    unsigned char m[2];
    FV_TRY(file_read(s, m, 2, &got));
    if (got < 2 || m[0] != 0x1f || m[1] != 0x8b)
        return FV_OK;
    close(fd);
    s->fd = -1;
    unsigned char *buf;
    FV_TRY(fv_read_file(path, IDX_MAX_FILE, &buf, &size));
    fv_status st = src_init(s, path, buf, size);
    s->owned = buf;
    return st;
}

/* ---------------------------------------------------------------- header */

typedef struct idx_header {
    int ndim;
    int64_t dims[4];
    uint64_t count; /* product of dims */
} idx_header;

static fv_status read_magic(idx_src *s, int *ndim)
{
    unsigned char m[4];
    size_t got;
    FV_TRY(src_read(s, m, 4, &got));
    if (got < 4)
        return fv_err(FV_ERR_FORMAT, "%s: truncated header: %zu of 4 magic bytes", s->name, got);
    unsigned magic = (unsigned)m[0] << 24 | (unsigned)m[1] << 16 | (unsigned)m[2] << 8 | m[3];
    int type = m[2];
    int known = type == 0x08 || type == 0x09 || (type >= 0x0b && type <= 0x0e);
    if (m[0] || m[1] || !known)
        return fv_err(FV_ERR_FORMAT, "%s: not an IDX file (magic 0x%08x)", s->name, magic);
    if (type != 0x08)
        return fv_err(FV_ERR_FORMAT,
                      "%s: unsupported IDX data type 0x%02x (fovea reads unsigned bytes, 0x08)",
                      s->name, (unsigned)type);
    if (m[3] < 1 || m[3] > 4)
        return fv_err(FV_ERR_FORMAT, "%s: IDX file with %d dimensions (fovea reads 1 to 4)",
                      s->name, m[3]);
    *ndim = m[3];
    return FV_OK;
}

static fv_status read_header(idx_src *s, idx_header *h)
{
    FV_TRY(read_magic(s, &h->ndim));
    unsigned char d[16];
    size_t need = 4 * (size_t)h->ndim, got;
    FV_TRY(src_read(s, d, need, &got));
    if (got < need)
        return fv_err(FV_ERR_FORMAT, "%s: truncated header: %zu of %zu dimension bytes", s->name,
                      got, need);
    /* nz, the product of the non-zero dimensions, bounds the strides even of an empty file */
    uint64_t nz = 1;
    h->count = 1;
    for (int i = 0; i < h->ndim; i++) {
        const unsigned char *p = d + 4 * i;
        h->dims[i] = (int64_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
                               (uint32_t)p[2] << 8 | p[3]);
        if (h->dims[i] && nz > IDX_MAX_VALUES / (uint64_t)h->dims[i])
            nz = IDX_MAX_VALUES + 1;
        else if (h->dims[i])
            nz *= (uint64_t)h->dims[i];
        h->count *= (uint64_t)h->dims[i];
    }
    if (nz > IDX_MAX_VALUES) {
        char b[96];
        return fv_err(FV_ERR_FORMAT, "%s: absurd IDX dimensions %s (more than %llu values)",
                      s->name, fv_shape_str(h->ndim, h->dims, b, sizeof b),
                      (unsigned long long)IDX_MAX_VALUES);
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- data */

#define PIECE 16384 /* bytes inflated at a time */

static fv_status truncated(const idx_src *s, uint64_t want, uint64_t got)
{
    return fv_err(FV_ERR_FORMAT, "%s: truncated: expected %llu bytes of data, got %llu", s->name,
                  (unsigned long long)want, (unsigned long long)got);
}

static fv_status trailing(const idx_src *s, uint64_t want)
{
    return fv_err(FV_ERR_FORMAT, "%s: more data than the %llu bytes its header promises",
                  s->name, (unsigned long long)want);
}

static float *to_floats(const unsigned char *b, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)b[i];
    return dst;
}

/* Whether the source can hold `want` bytes of data (of all its data when `whole`), before any is
 * read: a plain file's remaining bytes must be the data (or, with a limit, begin with it); a gzip
 * stream's bytes must be able to inflate to it. */
static fv_status check_size(const idx_src *s, uint64_t want, int whole)
{
    if (s->gz) {
        if (want > (uint64_t)s->len * DEFLATE_MAX_RATIO + 4096)
            return fv_err(FV_ERR_FORMAT, "%s: truncated: its header promises %llu bytes of data, "
                          "more than %zu compressed bytes can hold", s->name,
                          (unsigned long long)want, s->len);
        return FV_OK;
    }
    uint64_t have = s->len - s->pos;
    if (want > have)
        return truncated(s, want, have);
    return whole && want < have ? trailing(s, want) : FV_OK;
}

/* The next `want` bytes (known to be there, unless the file shrank) as floats into dst. */
static fv_status read_floats(idx_src *s, uint64_t want, float *dst)
{
    unsigned char piece[PIECE];
    for (uint64_t done = 0; done < want;) {
        size_t n = want - done < PIECE ? (size_t)(want - done) : PIECE, got;
        FV_TRY(src_read(s, piece, n, &got));
        if (got < n)
            return truncated(s, want, done + got);
        to_floats(piece, n, dst + done);
        done += n;
    }
    return FV_OK;
}

/* A plain file's data, read only now that its size is known to be right. */
static float *plain_data(idx_src *s, uint64_t want)
{
    float *v = fv_malloc(sizeof(float) * (size_t)(want ? want : 1), "IDX data");
    if (v && read_floats(s, want, v) != FV_OK) {
        fv_free(v);
        return NULL;
    }
    return v;
}

/* After all `want` bytes: nothing may follow (inflating on drives over the trailer's CRC). */
static fv_status gz_end(idx_src *s, uint64_t want)
{
    unsigned char probe;
    size_t extra;
    FV_TRY(src_read(s, &probe, 1, &extra));
    return extra ? trailing(s, want) : FV_OK;
}

/* A gzip stream inflated piece by piece into floats that grow as the pieces arrive. */
static fv_status gz_fill(idx_src *s, uint64_t want, fv_grow *g)
{
    unsigned char piece[PIECE];
    uint64_t done = 0;
    while (done < want) {
        size_t n = want - done < PIECE ? (size_t)(want - done) : PIECE, got;
        FV_TRY(src_read(s, piece, n, &got));
        if (got == 0)
            return truncated(s, want, done);
        FV_TRY(fv_grow_to(g, sizeof(float) * (size_t)(done + got), sizeof(float) * (size_t)want,
                          "IDX data"));
        to_floats(piece, got, (float *)g->p + done);
        done += got, g->len = sizeof(float) * (size_t)done;
    }
    return FV_OK;
}

static float *gz_data(idx_src *s, uint64_t want, int whole)
{
    fv_grow g = {0};
    fv_status st = want ? gz_fill(s, want, &g) : fv_grow_to(&g, sizeof(float), sizeof(float),
                                                            "IDX data");
    if (st == FV_OK && whole)
        st = gz_end(s, want);
    if (st != FV_OK) {
        fv_free(g.p);
        return NULL;
    }
    return (float *)g.p;
}

/* The first `limit` records (0: all); *total the records the header promises. */
static fv_tensor *decode(idx_src *s, int64_t limit, int64_t *total)
{
    idx_header h;
    if (read_header(s, &h) != FV_OK)
        return NULL;
    if (total)
        *total = h.dims[0];
    int whole = limit <= 0 || limit >= h.dims[0];
    int64_t dims[4];
    memcpy(dims, h.dims, sizeof dims);
    dims[0] = whole ? h.dims[0] : limit;
    uint64_t want = (uint64_t)dims[0];
    for (int i = 1; i < h.ndim; i++)
        want *= (uint64_t)h.dims[i];
    if (fv_data_check(s->name, want * sizeof(float)) != FV_OK ||
        check_size(s, want, whole) != FV_OK)
        return NULL;
    float *v = s->gz ? gz_data(s, want, whole) : plain_data(s, want);
    return v ? fv_tensor_adopt(v, h.ndim, dims) : NULL;
}

fv_tensor *fv_idx_decode_n(const char *name, const unsigned char *buf, size_t len, int64_t limit,
                           int64_t *total)
{
    idx_src s;
    if (!name)
        name = "<memory>";
    if (src_init(&s, name, buf, len) != FV_OK)
        return NULL;
    fv_tensor *t = decode(&s, limit, total);
    src_close(&s);
    return t;
}

fv_tensor *fv_idx_decode(const char *name, const unsigned char *buf, size_t len)
{
    return fv_idx_decode_n(name, buf, len, 0, NULL);
}

fv_tensor *fv_idx_load_n(const char *path, int64_t limit, int64_t *total)
{
    idx_src s;
    fv_tensor *t = src_open(&s, path) == FV_OK ? decode(&s, limit, total) : NULL;
    src_close(&s);
    return t;
}

fv_tensor *fv_idx_load(const char *path) { return fv_idx_load_n(path, 0, NULL); }

/* Every data byte of the whole stream, read in pieces; *max the largest (-1: none). */
static fv_status scan_max(idx_src *s, const idx_header *h, int *max)
{
    FV_TRY(check_size(s, h->count, 1));
    unsigned char piece[PIECE];
    *max = -1;
    for (uint64_t done = 0; done < h->count;) {
        size_t n = h->count - done < PIECE ? (size_t)(h->count - done) : PIECE, got;
        FV_TRY(src_read(s, piece, n, &got));
        if (got == 0)
            return truncated(s, h->count, done);
        for (size_t i = 0; i < got; i++)
            *max = piece[i] > *max ? piece[i] : *max;
        done += got;
    }
    return s->gz ? gz_end(s, h->count) : FV_OK;
}

fv_status fv_idx_scan(const char *path, int *ndim, int64_t *dims, int *max)
{
    idx_src s;
    idx_header h;
    fv_status st = src_open(&s, path);
    if (st == FV_OK)
        st = read_header(&s, &h);
    if (st == FV_OK) {
        *ndim = h.ndim;
        memcpy(dims, h.dims, sizeof(int64_t) * (size_t)h.ndim);
        st = scan_max(&s, &h, max);
    }
    src_close(&s);
    return st;
}
