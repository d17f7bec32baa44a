/* idx.c - the IDX format of MNIST and Fashion-MNIST (big-endian magic and dimensions, then unsigned
 * bytes), plain or gzip-compressed, decoded from memory into a float tensor of the raw values, all
 * of them or the first n records. Sizes are checked before anything large is allocated: the data
 * must fit the cap on decoded data (data/limits.c), a plain file must hold exactly the data its
 * header promises, a gzip stream cannot promise more than deflate's maximum ratio lets its bytes
 * hold, and it is inflated in pieces into memory that grows only as data arrives. */
#include "data/data.h"

#include <limits.h>
#include <string.h>
#include <zlib.h>

#define IDX_MAX_FILE ((size_t)1 << 32)      /* 4 GiB on disk */
#define IDX_MAX_VALUES ((uint64_t)1 << 32)  /* 4 Gi values */
#define DEFLATE_MAX_RATIO 1032u             /* deflate expands at most ~1032:1 */

/* A byte stream over the file's bytes: plain, or inflated on the fly. */
typedef struct idx_src {
    const char *name;
    const unsigned char *buf;
    size_t len, pos;
    int gz, zinit, zend;
    z_stream z;
} idx_src;

static fv_status src_init(idx_src *s, const char *name, const unsigned char *buf, size_t len)
{
    memset(s, 0, sizeof *s);
    s->name = name;
    s->buf = buf;
    s->len = len;
    s->gz = len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
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

/* Reads up to n bytes; fewer only at the end of the data. */
static fv_status src_read(idx_src *s, unsigned char *dst, size_t n, size_t *got)
{
    if (s->gz)
        return inflate_some(s, dst, n, got);
    *got = s->len - s->pos < n ? s->len - s->pos : n;
    memcpy(dst, s->buf + s->pos, *got);
    s->pos += *got;
    return FV_OK;
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

/* A plain file: its remaining bytes must be the data (or, with a limit, begin with it). */
static float *plain_data(idx_src *s, uint64_t want, int whole)
{
    uint64_t have = s->len - s->pos;
    if (want > have || (whole && want < have)) {
        if (want > have)
            truncated(s, want, have);
        else
            trailing(s, want);
        return NULL;
    }
    float *v = fv_malloc(sizeof(float) * (size_t)(want ? want : 1), "IDX data");
    return v ? to_floats(s->buf + s->pos, (size_t)want, v) : NULL;
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
    if (want > (uint64_t)s->len * DEFLATE_MAX_RATIO + 4096) {
        fv_err(FV_ERR_FORMAT, "%s: truncated: its header promises %llu bytes of data, more than "
               "%zu compressed bytes can hold", s->name, (unsigned long long)want, s->len);
        return NULL;
    }
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
    if (fv_data_check(s->name, want * sizeof(float)) != FV_OK)
        return NULL;
    float *v = s->gz ? gz_data(s, want, whole) : plain_data(s, want, whole);
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
    unsigned char *buf;
    size_t len;
    if (fv_read_file(path, IDX_MAX_FILE, &buf, &len) != FV_OK)
        return NULL;
    fv_tensor *t = fv_idx_decode_n(path, buf, len, limit, total);
    fv_free(buf);
    return t;
}

fv_tensor *fv_idx_load(const char *path) { return fv_idx_load_n(path, 0, NULL); }
