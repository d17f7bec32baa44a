/* atomic.c - atomic file writes ("<path>.tmp.<pid>", flush, fsync, close, rename: a reader never
 * sees a half-written file; the temporaries that killed processes left for the same path are
 * removed when it is written again) and whole-file reads for the parsers (io.h), which open
 * without blocking and refuse anything but a regular file (a FIFO would hang the reader). */
#include "io/io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The process id that `name` gives as "<base>.tmp.<pid>", or 0 when it is not such a name. */
static long tmp_pid(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0)
        return 0;
    const char *d = name + blen + 5;
    if (*d < '1' || *d > '9' || strlen(d) > 9)
        return 0;
    for (const char *c = d; *c; c++)
        if (*c < '0' || *c > '9')
            return 0;
    return strtol(d, NULL, 10);
}

/* Removes "<path>.tmp.<pid>" files of processes that no longer exist (kill -9, a crash): only
 * where kill(pid, 0) says there is no such process, never a live writer's (nor one whose owner
 * we may not signal). Best effort: a folder we cannot read is left alone. */
static void remove_stale_tmps(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    char dir[1024];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    size_t blen = strlen(base);
    for (struct dirent *e; (e = readdir(dp));) {
        long pid = tmp_pid(e->d_name, base, blen);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char stale[1100];
        snprintf(stale, sizeof stale, "%s.tmp.%ld", path, pid);
        struct stat sb;
        if (lstat(stale, &sb) == 0 && S_ISREG(sb.st_mode))
            remove(stale);
    }
    closedir(dp);
}

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
    remove_stale_tmps(path);
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

fv_status fv_atomic_write(const char *path, const void *buf, size_t size)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    if (fwrite(buf, 1, size, af.f) != size) {
        fv_atomic_abort(&af);
        return fv_err(FV_ERR_IO, "%s: write failed", path);
    }
    return fv_atomic_commit(&af);
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
    /* O_NONBLOCK: opening a FIFO without a writer would block; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return fv_err(FV_ERR_IO, "%s: %s", path, strerror(e));
    }
    struct stat sb;
    fv_status st = FV_OK;
    if (fstat(fd, &sb) != 0)
        st = fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        st = fv_err(FV_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)sb.st_size > (uint64_t)max_bytes)
        st = fv_err(FV_ERR_IO, "%s: file larger than %zu bytes (%lld)", path, max_bytes,
                    (long long)sb.st_size);
    FILE *f = NULL;
    if (st == FV_OK && !(f = fdopen(fd, "rb")))
        st = fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    if (f)
        st = read_all(path, f, (size_t)sb.st_size, max_bytes, buf, len);
    if (f)
        fclose(f);
    else
        close(fd);
    return st;
}
