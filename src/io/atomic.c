/* atomic.c - atomic file writes ("<path>.tmp.<pid>", flush, fsync, close, rename: a reader never
 * sees a half-written file) and whole-file reads for the parsers (io.h). */
#include "io/io.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

fv_status fv_atomic_open(fv_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    if (!path || !*path)
        return fv_err(FV_ERR_INVALID, "atomic write: empty path");
    size_t n = strlen(path);
    if (n >= sizeof af->path)
        return fv_err(FV_ERR_INVALID, "%.64s...: path longer than %zu bytes", path,
                      sizeof af->path - 1);
    memcpy(af->path, path, n + 1);
    snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%ld", path, (long)getpid());
    af->f = fopen(af->tmp, "wb");
    if (!af->f) {
        int e = errno;
        return fv_err(FV_ERR_IO, "%s: cannot write: %s", path, strerror(e));
    }
    return FV_OK;
}

/* Removes the temporary and reports the failed step. */
static fv_status commit_failed(fv_atomic_file *af, const char *step, int e)
{
    remove(af->tmp);
    af->f = NULL;
    return fv_err(FV_ERR_IO, "%s: %s failed: %s", af->path, step, strerror(e ? e : EIO));
}

fv_status fv_atomic_commit(fv_atomic_file *af)
{
    if (!af->f)
        return fv_err(FV_ERR_STATE, "%s: atomic commit without an open file", af->path);
    FILE *f = af->f;
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) {
        int e = errno;
        fclose(f);
        return commit_failed(af, "write", e);
    }
    /* EINVAL/EROFS: the file system cannot sync (pipes, special files); the data is flushed */
    if (fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        fclose(f);
        return commit_failed(af, "fsync", e);
    }
    if (fclose(f) != 0)
        return commit_failed(af, "close", errno);
    if (rename(af->tmp, af->path) != 0)
        return commit_failed(af, "rename", errno);
    af->f = NULL;
    return FV_OK;
}

void fv_atomic_abort(fv_atomic_file *af)
{
    if (!af || !af->f)
        return;
    fclose(af->f);
    remove(af->tmp);
    af->f = NULL;
}

/* Reads what `f` holds: `size` bytes expected, but the file may change under us, so read until
 * end of file (one spare byte detects growth) and allow at most max_bytes. */
static fv_status read_all(const char *path, FILE *f, size_t size, size_t max_bytes,
                          unsigned char **buf, size_t *len)
{
    size_t cap = size + 2, n = 0; /* room for one byte more than expected, and the NUL */
    unsigned char *b = fv_malloc(cap, "file contents");
    if (!b)
        return FV_ERR_NOMEM;
    for (;;) {
        n += fread(b + n, 1, cap - 1 - n, f);
        if (ferror(f)) {
            int e = errno;
            fv_free(b);
            return fv_err(FV_ERR_IO, "%s: read failed: %s", path, strerror(e ? e : EIO));
        }
        if (n < cap - 1 || feof(f))
            break;
        if (n > max_bytes) {
            fv_free(b);
            return fv_err(FV_ERR_IO, "%s: file larger than %zu bytes", path, max_bytes);
        }
        size_t ncap = n > max_bytes / 2 ? max_bytes + 2 : 2 * cap;
        unsigned char *nb = fv_realloc(b, n, ncap, "file contents");
        if (!nb) {
            fv_free(b);
            return FV_ERR_NOMEM;
        }
        b = nb;
        cap = ncap;
    }
    if (n > max_bytes) {
        fv_free(b);
        return fv_err(FV_ERR_IO, "%s: file larger than %zu bytes", path, max_bytes);
    }
    b[n] = 0;
    *buf = b;
    *len = n;
    return FV_OK;
}

fv_status fv_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    if (!path || !*path)
        return fv_err(FV_ERR_INVALID, "empty file name");
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return fv_err(FV_ERR_IO, "%s: %s", path, strerror(e));
    }
    struct stat sb;
    fv_status st = FV_OK;
    if (fstat(fileno(f), &sb) != 0)
        st = fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = fv_err(FV_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > (uint64_t)max_bytes)
        st = fv_err(FV_ERR_IO, "%s: file larger than %zu bytes (%lld)", path, max_bytes,
                    (long long)sb.st_size);
    if (st == FV_OK)
        st = read_all(path, f, (size_t)sb.st_size, max_bytes, buf, len);
    fclose(f);
    return st;
}
