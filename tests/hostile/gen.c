/* gen.c - the generators' common ground: the seeded random stream, file and folder helpers,
 * byte buffers, gzip (including cheap multi-gigabyte streams of zeros), IDX files and a small
 * learnable 8x8 data set, and the byte-level mutations of the long run. */
#include "hostile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

uint64_t h_seed = 16;
int h_mutations = 3, h_long;
char h_fix[2048];

static uint64_t rng_state;

void h_rng_seed(uint64_t s) { rng_state = s ^ 0x9e3779b97f4a7c15ull; }

uint64_t h_rand(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint32_t h_below(uint32_t n) { return n ? (uint32_t)(h_rand() % n) : 0; }

void h_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fv_hostile: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* ---------------------------------------------------------------- files */

void mk_dirs(const char *path)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            h_die("mkdir %s: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        h_die("mkdir %s: %s", buf, strerror(errno));
}

static void parent_dirs(const char *path)
{
    char buf[8192];
    snprintf(buf, sizeof buf, "%s", path);
    char *s = strrchr(buf, '/');
    if (s && s != buf) {
        *s = '\0';
        mk_dirs(buf);
    }
}

void w_file(const char *path, const void *data, size_t len)
{
    parent_dirs(path);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        h_die("write %s: %s", path, strerror(errno));
}

void w_text(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        h_die("out of memory");
    w_file(path, s, (size_t)n);
    free(s);
}

unsigned char *r_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        h_die("read %s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    unsigned char *p = malloc(cap);
    for (size_t k; p && (k = fread(p + n, 1, cap - n, f)) > 0;)
        if ((n += k) == cap)
            p = realloc(p, cap *= 2);
    fclose(f);
    if (!p)
        h_die("out of memory");
    *len = n;
    return p;
}

void w_sparse(const char *path, uint64_t size)
{
    parent_dirs(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0 || close(fd) != 0)
        h_die("sparse %s: %s", path, strerror(errno));
}

void mk_fifo(const char *path)
{
    parent_dirs(path);
    if (mkfifo(path, 0666) != 0)
        h_die("mkfifo %s: %s", path, strerror(errno));
}

void mk_loop(const char *path)
{
    parent_dirs(path);
    const char *base = strrchr(path, '/');
    if (symlink(base ? base + 1 : path, path) != 0)
        h_die("symlink %s: %s", path, strerror(errno));
}

void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *p = r_file(from, &n);
    w_file(to, p, n);
    free(p);
}

const char *fix_path(const char *name)
{
    static char buf[4200];
    snprintf(buf, sizeof buf, "%s/%s", h_fix, name);
    return buf;
}

void fix_copy(const char *name, const char *to) { copy_file(fix_path(name), to); }

/* ---------------------------------------------------------------- buffers */

void hb_put(h_buf *b, const void *data, size_t len)
{
    if (b->n + len > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len)
            cap *= 2;
        if (!(b->p = realloc(b->p, cap)))
            h_die("out of memory");
        b->cap = cap;
    }
    if (len)
        memcpy(b->p + b->n, data, len);
    b->n += len;
}

void hb_u32be(h_buf *b, uint32_t v)
{
    unsigned char q[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    hb_put(b, q, 4);
}

void hb_free(h_buf *b)
{
    free(b->p);
    *b = (h_buf){0};
}

/* ---------------------------------------------------------------- gzip */

static const unsigned char gz_head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3};

static void gz_trailer(h_buf *out, uLong crc, uint64_t size)
{
    unsigned char t[8];
    for (int i = 0; i < 4; i++)
        t[i] = (unsigned char)(crc >> (8 * i)), t[4 + i] = (unsigned char)(size >> (8 * i));
    hb_put(out, t, 8);
}

/* Raw deflate of data with `flush`, appended to out. */
static void deflate_into(z_stream *z, const unsigned char *data, size_t len, int flush,
                         h_buf *out)
{
    unsigned char tmp[1 << 16];
    z->next_in = (unsigned char *)data;
    z->avail_in = (uInt)len;
    do {
        z->next_out = tmp;
        z->avail_out = sizeof tmp;
        int rc = deflate(z, flush);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            h_die("deflate: %d", rc);
        hb_put(out, tmp, sizeof tmp - z->avail_out);
    } while (z->avail_out == 0 || z->avail_in > 0);
}

void gz_bytes(const unsigned char *data, size_t len, h_buf *out)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        h_die("deflateInit2");
    hb_put(out, gz_head, sizeof gz_head);
    deflate_into(&z, data, len, Z_FINISH, out);
    deflateEnd(&z);
    gz_trailer(out, crc32(crc32(0, NULL, 0), data, (uInt)len), len);
}

void gz_zeros(const unsigned char *head, size_t hlen, uint64_t zeros, h_buf *out)
{
    enum { CHUNK = 1 << 20 };
    unsigned char *zero = calloc(CHUNK, 1);
    h_buf block = {0};
    z_stream z = {0};
    if (!zero || deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        h_die("gz_zeros: setup");
    hb_put(out, gz_head, sizeof gz_head);
    deflate_into(&z, head, hlen, Z_FULL_FLUSH, out);
    /* after a full flush a block stands alone, so one compressed megabyte can be repeated */
    deflate_into(&z, zero, CHUNK, Z_FULL_FLUSH, &block);
    uLong crc = crc32(crc32(0, NULL, 0), head, (uInt)hlen);
    uLong crc_chunk = crc32(crc32(0, NULL, 0), zero, CHUNK);
    uint64_t k = zeros / CHUNK, rest = zeros % CHUNK;
    for (uint64_t i = 0; i < k; i++) {
        hb_put(out, block.p, block.n);
        crc = crc32_combine(crc, crc_chunk, CHUNK);
    }
    deflate_into(&z, zero, (size_t)rest, Z_FINISH, out);
    crc = crc32_combine(crc, crc32(crc32(0, NULL, 0), zero, (uInt)rest), (z_off_t)rest);
    deflateEnd(&z);
    gz_trailer(out, crc, hlen + zeros);
    hb_free(&block);
    free(zero);
}

void zlib_zeros(uint64_t zeros, h_buf *out)
{
    h_buf gz = {0};
    gz_zeros((const unsigned char *)"", 0, zeros, &gz);
    hb_put(out, "\x78\xda", 2);
    hb_put(out, gz.p + 10, gz.n - 18); /* the deflate blocks, without gzip's framing */
    hb_u32be(out, (uint32_t)((zeros % 65521) << 16 | 1)); /* Adler-32 of zeros */
    hb_free(&gz);
}

/* ---------------------------------------------------------------- IDX */

void idx_header(h_buf *b, int type, int ndim, const uint32_t *dims)
{
    unsigned char m[4] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    hb_put(b, m, 4);
    for (int i = 0; i < ndim; i++)
        hb_u32be(b, dims[i]);
}

void class_pattern(int k, unsigned char *px)
{
    for (int i = 0; i < 64; i++) {
        int y = i / 8, x = i % 8;
        int on = k < 8 ? y == k : x == (k - 8) % 8; /* a bright row per class, then columns */
        px[i] = (unsigned char)(on ? 200 + h_below(56) : h_below(40));
    }
}

static void idx_split(const char *dir, const char *split, int n, int classes)
{
    h_buf im = {0}, lb = {0};
    uint32_t d3[3] = {(uint32_t)n, 8, 8}, d1[1] = {(uint32_t)n};
    idx_header(&im, 8, 3, d3);
    idx_header(&lb, 8, 1, d1);
    for (int i = 0; i < n; i++) {
        unsigned char px[64], k = (unsigned char)(i % classes);
        class_pattern(k, px);
        hb_put(&im, px, 64);
        hb_put(&lb, &k, 1);
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte", dir, split);
    w_file(p, im.p, im.n);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte", dir, split);
    w_file(p, lb.p, lb.n);
    hb_free(&im), hb_free(&lb);
}

void idx_dataset(const char *dir, int n_train, int n_test, int classes, int test_classes)
{
    mk_dirs(dir);
    idx_split(dir, "train", n_train, classes);
    idx_split(dir, "t10k", n_test, test_classes);
}

/* ---------------------------------------------------------------- mutations */

static const uint32_t interesting[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff,
                                       0x80000000u, 0xffffffffu, 65500, 8192};

static void mutate_once(unsigned char **pp, size_t *n)
{
    unsigned char *p = *pp;
    size_t len = *n, at = len ? h_below((uint32_t)len) : 0;
    switch (h_below(7)) {
    case 0: /* flip bits */
        for (int i = 1 + (int)h_below(8); i > 0 && len; i--)
            p[h_below((uint32_t)len)] ^= (unsigned char)(1u << h_below(8));
        break;
    case 1: /* truncate */
        *n = at;
        break;
    case 2: { /* an interesting 32-bit value, big- or little-endian */
        uint32_t v = interesting[h_below(sizeof interesting / sizeof *interesting)];
        int be = (int)h_below(2);
        for (int i = 0; i < 4 && at + (size_t)i < len; i++)
            p[at + (size_t)i] = (unsigned char)(v >> (be ? 24 - 8 * i : 8 * i));
        break;
    }
    case 3: /* random bytes over a range */
        for (size_t i = at, e = at + 1 + h_below(32); i < e && i < len; i++)
            p[i] = (unsigned char)h_rand();
        break;
    case 4:   /* duplicate a range */
    case 5: { /* insert random bytes */
        size_t k = 1 + h_below(64), from = len ? h_below((uint32_t)len) : 0;
        if (from + k > len)
            k = len - from;
        unsigned char *q = malloc(len + k + 1);
        if (!q)
            h_die("out of memory");
        memcpy(q, p, at);
        for (size_t i = 0; i < k; i++)
            q[at + i] = h_below(2) ? p[from + i] : (unsigned char)h_rand();
        memcpy(q + at + k, p + at, len - at);
        free(p);
        *pp = q, *n = len + k;
        break;
    }
    default: /* zero a range */
        for (size_t i = at, e = at + 1 + h_below(256); i < e && i < len; i++)
            p[i] = 0;
        break;
    }
}

void mutate(unsigned char **p, size_t *n)
{
    for (int k = 1 + (int)h_below(3); k > 0; k--)
        mutate_once(p, n);
}
