/* classnames.c - the class names a data set carries: read from a text file beside the data (one
 * name a line), or a format's standard names, or "class k"; names from files and folder names made
 * valid UTF-8 without control characters (they go into JSON, SVG and figures). */
#include "data/data.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define NAMES_MAX_FILE ((size_t)1 << 20)
#define NAME_MAX_CHARS 255
#define NAMES_MAX 65536

void fv_names_free(char **names, int n)
{
    for (int k = 0; names && k < n; k++)
        fv_free(names[k]);
    fv_free(names);
}

char **fv_names_default(int n, const char *const *std, int nstd)
{
    char **v = fv_calloc((size_t)(n > 0 ? n : 1), sizeof *v, "class names");
    for (int k = 0; v && k < n; k++) {
        char buf[32];
        snprintf(buf, sizeof buf, "class %d", k);
        if (!(v[k] = fv_strdup(k < nstd && std[k] ? std[k] : buf, "class name"))) {
            fv_names_free(v, k);
            return NULL;
        }
    }
    return v;
}

char **fv_class_names(const fv_dataset *d, int64_t k)
{
    if (k < 0 || k > NAMES_MAX) {
        fv_err(FV_ERR_INVALID, "class names: %lld classes (0 to %d)", (long long)k, NAMES_MAX);
        return NULL;
    }
    return fv_names_default((int)k, d ? (const char *const *)d->class_names : NULL,
                            d && d->class_names ? d->num_classes : 0);
}

void fv_class_names_free(char **names, int64_t k) { fv_names_free(names, (int)k); }

/* The length of the UTF-8 sequence that the lead byte c starts (1-4; 1 for a stray byte). */
static int seq_len(unsigned char c)
{
    return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF8 ? 4 : 1;
}

void fv_name_sanitize(char *s)
{
    char *out = s;
    while (*s) {
        char seq[5] = {0};
        int n = seq_len((unsigned char)*s);
        strncpy(seq, s, (size_t)n); /* stops at the name's end: then invalid */
        if (fv_utf8_valid(seq, false)) {
            memmove(out, s, (size_t)n);
            out += n, s += n;
        } else { /* a control character as one '?', each byte of an invalid sequence as one */
            *out++ = '?';
            s += fv_utf8_valid(seq, true) ? n : 1;
        }
    }
    *out = '\0';
}

static int blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* Splits text into trimmed lines (in place); *n counts them up to the last non-empty one. */
static fv_status split_lines(const char *path, char *text, char **line, int *n)
{
    int count = 0, used = 0;
    for (char *s = text; s;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        while (blank(*s))
            s++;
        size_t len = strlen(s);
        while (len && blank(s[len - 1]))
            s[--len] = '\0';
        if (count == NAMES_MAX)
            return fv_err(FV_ERR_FORMAT, "%s: more than %d class names", path, NAMES_MAX);
        if (len > NAME_MAX_CHARS)
            return fv_err(FV_ERR_FORMAT, "%s: line %d: a class name of more than %d characters",
                          path, count + 1, NAME_MAX_CHARS);
        line[count++] = s;
        used = len ? count : used;
        s = nl ? nl + 1 : NULL;
    }
    for (int k = 0; k < used; k++)
        if (!line[k][0])
            return fv_err(FV_ERR_FORMAT, "%s: line %d is empty (one class name a line)", path,
                          k + 1);
    *n = used;
    return FV_OK;
}

static fv_status parse_names(const char *path, char *text, int expect, char ***names, int *n)
{
    char **line = fv_malloc(sizeof *line * NAMES_MAX, "class name lines");
    if (!line)
        return FV_ERR_NOMEM;
    fv_status st = split_lines(path, text, line, n);
    if (st == FV_OK && *n == 0)
        st = fv_err(FV_ERR_FORMAT, "%s: no class names", path);
    if (st == FV_OK && expect > 0 && *n != expect)
        st = fv_err(FV_ERR_FORMAT, "%s: %d class names, expected %d", path, *n, expect);
    if (st == FV_OK && !(*names = fv_names_default(*n, (const char *const *)line, *n)))
        st = FV_ERR_NOMEM;
    for (int k = 0; st == FV_OK && k < *n; k++)
        fv_name_sanitize((*names)[k]);
    fv_free(line);
    return st;
}

fv_status fv_names_read(const char *path, int expect, char ***names, int *n)
{
    unsigned char *buf;
    size_t len;
    *names = NULL, *n = 0;
    FV_TRY(fv_read_file(path, NAMES_MAX_FILE, &buf, &len));
    if (memchr(buf, '\0', len)) {
        fv_free(buf);
        return fv_err(FV_ERR_FORMAT, "%s: not a text file of class names", path);
    }
    fv_status st = parse_names(path, (char *)buf, expect, names, n);
    fv_free(buf);
    return st;
}

int fv_data_exists(const char *dir, const char *name)
{
    char path[1100];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return 0;
    return stat(path, &st) == 0;
}
