/* readers.c - the helpers the model readers share (formats/readers.h). */
#include "formats/readers.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>

fv_model *fv_model_load_with(const char *path, const char *api, size_t max, fv_model_reader read)
{
    if (!path) {
        fv_err(FV_ERR_INVALID, "%s: path is NULL", api);
        return NULL;
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    if (fv_read_file(path, max, &buf, &len) != FV_OK)
        return NULL;
    fv_model *m = read(buf, len, path);
    fv_free(buf);
    return m;
}

fv_status fv_file_line_verr(fv_status s, const char *file, int line, const char *fmt, va_list ap)
{
    char msg[480], shown[480];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* a file's text may hold control characters or broken UTF-8: the message stays one line */
    fv_printable(msg, shown, sizeof shown);
    if (line <= 0)
        return fv_err(s, "%s: %s", file, shown);
    return fv_err(s, "%s:%d: %s", file, line, shown);
}

const char *fv_file_stem(const char *file, const char *ext, size_t *len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base), e = strlen(ext);
    if (n > e && strcmp(base + n - e, ext) == 0)
        n -= e;
    *len = n;
    return base;
}
