/* readers.h - what the model readers (modelfile.c's .fv text, darknet_cfg.c, onnx_import.c)
 * share: a file read whole under a size limit and handed to the reader of its bytes, and
 * "<file>:<line>: <problem>" errors kept to one clean line. */
#ifndef FV_FORMATS_READERS_H
#define FV_FORMATS_READERS_H

#include "core/internal.h"

#include <stdarg.h>

/* A reader of a model file's bytes; name is the file, for messages and the model's name. */
typedef fv_model *(*fv_model_reader)(const void *data, size_t len, const char *name);

/* The model in the file at path, read whole when it holds at most max bytes, by read; NULL with
 * the error set. api names the public call in the message for a NULL path. */
fv_model *fv_model_load_with(const char *path, const char *api, size_t max, fv_model_reader read);

/* Sets "<file>:<line>: <problem>" (line <= 0: "<file>: <problem>"), the problem printed from
 * fmt with its control characters and broken UTF-8 made printable, and returns s. */
fv_status fv_file_line_verr(fv_status s, const char *file, int line, const char *fmt, va_list ap);

/* The base name of file (after its last '/'), *len its length without the extension ext when
 * it ends so and more is left: what a reader names its model after. */
const char *fv_file_stem(const char *file, const char *ext, size_t *len);

#endif /* FV_FORMATS_READERS_H */
