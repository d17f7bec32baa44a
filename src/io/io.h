/* io.h - the low-level file helpers of everything that reads or writes files: whole-file reads,
 * atomic writes (temporary name + rename), the safetensors container, and checks of names that
 * come from files. Knows no model: model files are formats/, data sets data/. */
#ifndef FV_IO_H
#define FV_IO_H

#include "core/internal.h"

/* Reads a whole regular file into *buf (fv_malloc'd, one spare NUL byte after *len bytes). Opens
 * without blocking, so a FIFO or device is refused at once instead of hanging the reader.
 * Errors: "<path>: <strerror>", "<path>: not a regular file", "<path>: file larger than N bytes". */
fv_status fv_read_file(const char *path, size_t max_bytes, unsigned char **buf, size_t *len);

/* Whether s is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF) and,
 * unless controls_ok, free of control characters (U+0000-U+001F, U+007F-U+009F). */
bool fv_utf8_valid(const char *s, bool controls_ok);

/* s for a one-line message: control characters and bytes that are not valid UTF-8 become
 * "\xNN", the rest is copied; truncated to fit out[cap]. Returns out. */
char *fv_printable(const char *s, char *out, size_t cap);

/* A safetensors file from bytes; `name` is used in error messages. The bytes are copied. */
fv_st_file *fv_st_open_mem(const char *name, const unsigned char *buf, size_t len);

#endif /* FV_IO_H */
