/* check.c - what the runner checks in a case's folder after fovea ran: a snapshot of every entry
 * before and after, so that writes outside the allowed output folders, temporary files left
 * behind, removed inputs and half-written outputs (a safetensors file whose header or data is cut
 * short, a PNG without IEND, JSON that does not parse or is not UTF-8, non-finite weights) are
 * found whatever the command was. */
#include "hostile.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void why_add(char *why, size_t len, const char *fmt, ...)
{
    size_t n = strlen(why);
    if (n + 8 >= len)
        return;
    if (n)
        n += (size_t)snprintf(why + n, len - n, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + n, len - n, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------- snapshots */

static void snap_add(h_snap *s, const char *path, const struct stat *st)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        if (!(s->e = realloc(s->e, sizeof *s->e * (size_t)s->cap)))
            h_die("out of memory");
    }
    s->e[s->n++] = (h_entry_st){strdup(path), st->st_mode, (long long)st->st_size,
                                (long long)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec,
                                (long long)st->st_ino};
}

static void walk(const char *root, const char *rel, h_snap *s, int depth)
{
    char dir[8192];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[8192], full[8192];
        struct stat st;
        if (snprintf(path, sizeof path, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
                (int)sizeof path ||
            snprintf(full, sizeof full, "%s/%s", root, path) >= (int)sizeof full ||
            lstat(full, &st) != 0)
            continue;
        snap_add(s, path, &st);
        if (S_ISDIR(st.st_mode) && depth < 64)
            walk(root, path, s, depth + 1);
    }
    closedir(d);
}

void snap_take(const char *root, h_snap *s)
{
    *s = (h_snap){0};
    walk(root, "", s, 0);
}

void snap_free(h_snap *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->e[i].path);
    free(s->e);
    *s = (h_snap){0};
}

static const h_entry_st *snap_find(const h_snap *s, const char *path)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->e[i].path, path))
            return &s->e[i];
    return NULL;
}

/* ---------------------------------------------------------------- output validation */

static int utf8_ok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = p[i];
        int k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2
                : (c & 0xf8) == 0xf0 ? 3 : -1;
        if (k < 0 || (k == 1 && c < 0xc2) || (size_t)k >= n - i)
            return 0;
        for (int j = 1; j <= k; j++)
            if ((p[i + (size_t)j] & 0xc0) != 0x80)
                return 0;
        i += (size_t)k + 1;
    }
    return 1;
}

static int ends_with(const unsigned char *p, size_t n, const char *tail)
{
    while (n && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == ' '))
        n--;
    size_t k = strlen(tail);
    return n >= k && !memcmp(p + n - k, tail, k);
}

/* Parameters (and the optimizer's state) must be finite; the packed state words need not be. */
static int holds_params(const char *name)
{
    return strncmp(name, "__", 2) != 0 || !strcmp(name, "__best") || !strcmp(name, "__opt.state");
}

static const char *check_st(const unsigned char *p, size_t n)
{
    uint64_t h = 0;
    for (int i = 7; n >= 8 && i >= 0; i--)
        h = h << 8 | p[i];
    if (n < 8 || h > n - 8)
        return "header cut short";
    if (!utf8_ok(p + 8, (size_t)h))
        return "header is not valid UTF-8";
    cJSON *j = cJSON_ParseWithLength((const char *)p + 8, (size_t)h);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return "header is not a JSON object";
    }
    const char *bad = NULL;
    uint64_t end = 0, dlen = n - 8 - h;
    for (cJSON *t = j->child; t && !bad; t = t->next) {
        cJSON *off = cJSON_GetObjectItem(t, "data_offsets");
        if (!strcmp(t->string, "__metadata__"))
            continue;
        if (cJSON_GetArraySize(off) != 2)
            bad = "a tensor without data_offsets";
        else {
            uint64_t b = (uint64_t)cJSON_GetArrayItem(off, 0)->valuedouble,
                     e = (uint64_t)cJSON_GetArrayItem(off, 1)->valuedouble;
            end = e > end ? e : end;
            const char *dt = cJSON_GetStringValue(cJSON_GetObjectItem(t, "dtype"));
            if (e > dlen || b > e)
                bad = "data cut short";
            else if (dt && !strcmp(dt, "F32") && holds_params(t->string))
                for (uint64_t a = b; a + 4 <= e && !bad; a += 4) {
                    float v;
                    memcpy(&v, p + 8 + h + a, 4);
                    bad = isfinite(v) ? NULL : "non-finite weights saved";
                }
        }
    }
    if (!bad && end != dlen)
        bad = "data length differs from the header's offsets";
    cJSON_Delete(j);
    return bad;
}

/* Why a finished output file is not whole, or NULL. */
static const char *check_output(const char *path)
{
    const char *ext = strrchr(path, '.');
    if (!ext || strchr(ext, '/'))
        return NULL;
    static const char *const known[] = {".safetensors", ".png", ".svg", ".html", ".json", ".csv",
                                        ".fv"};
    int k = 0;
    while (k < 7 && strcmp(ext, known[k]))
        k++;
    if (k == 7)
        return NULL;
    size_t n;
    unsigned char *p = r_file(path, &n);
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    const char *bad = NULL;
    if (k == 0)
        bad = check_st(p, n);
    else if (k == 1)
        bad = n < 20 || memcmp(p + n - 12, iend, 12) ? "PNG does not end with IEND" : NULL;
    else if (k == 2)
        bad = !ends_with(p, n, "</svg>") ? "SVG does not end with </svg>" : NULL;
    else if (k == 3)
        bad = !ends_with(p, n, "</html>") ? "HTML does not end with </html>" : NULL;
    else if (k == 4) {
        cJSON *j = cJSON_ParseWithLength((const char *)p, n);
        bad = !j ? "JSON does not parse" : !utf8_ok(p, n) ? "JSON is not valid UTF-8" : NULL;
        cJSON_Delete(j);
    } else
        bad = n && p[n - 1] != '\n' ? "last line has no newline" : NULL;
    free(p);
    return bad;
}

/* ---------------------------------------------------------------- the comparison */

static int under(const char *path, char *const *outs, int nouts)
{
    for (int i = 0; i < nouts; i++) {
        size_t k = strlen(outs[i]);
        if (!strncmp(path, outs[i], k) && (path[k] == '/' || path[k] == '\0'))
            return 1;
    }
    return 0;
}

/* A folder on the way to an allowed output folder (made by mkdir -p). */
static int above(const char *path, char *const *outs, int nouts)
{
    size_t k = strlen(path);
    for (int i = 0; i < nouts; i++)
        if (!strncmp(outs[i], path, k) && outs[i][k] == '/')
            return 1;
    return 0;
}

/* A path in a message: long ones as their first and last 60 characters. */
static const char *shorten(const char *p, char *buf, size_t len)
{
    size_t n = strlen(p);
    if (n <= 130)
        return p;
    snprintf(buf, len, "%.60s...(%zu characters)...%s", p, n, p + n - 60);
    return buf;
}

static int changed(const h_entry_st *a, const h_entry_st *b)
{
    if (S_ISDIR(a->mode) && S_ISDIR(b->mode))
        return 0; /* a folder's time changes with its entries */
    return a->mode != b->mode || a->size != b->size || a->mtime_ns != b->mtime_ns ||
           a->ino != b->ino;
}

void snap_check(const char *root, const h_snap *before, char *const *outs, int nouts, char *why,
                size_t len)
{
    h_snap now;
    snap_take(root, &now);
    int outside = 0;
    for (int i = 0; i < now.n; i++) {
        const h_entry_st *e = &now.e[i], *old = snap_find(before, e->path);
        const char *base = strrchr(e->path, '/');
        base = base ? base + 1 : e->path;
        if (strstr(base, ".tmp."))
            why_add(why, len, "temporary file left: %s", e->path);
        if (old && !changed(old, e))
            continue;
        char sh[200];
        if (S_ISDIR(e->mode) && above(e->path, outs, nouts))
            continue;
        if (!under(e->path, outs, nouts)) {
            if (outside++ < 2)
                why_add(why, len, "%s outside the output folder: %s", old ? "changed" : "wrote",
                        shorten(e->path, sh, sizeof sh));
            continue;
        }
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", root, e->path);
        const char *bad = S_ISREG(e->mode) ? check_output(full) : NULL;
        if (bad)
            why_add(why, len, "bad output %s: %s", e->path, bad);
    }
    for (int i = 0; i < before->n; i++) {
        const char *p = before->e[i].path;
        if (!snap_find(&now, p) && !under(p, outs, nouts) && !strstr(p, ".tmp."))
            why_add(why, len, "removed an input: %s", p);
    }
    snap_free(&now);
}

/* ---------------------------------------------------------------- cleanup */

void rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        chmod(path, 0700);
        DIR *d = opendir(path);
        for (struct dirent *e; d && (e = readdir(d));) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            rm_tree(p);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}
