/* png_mem.h - libpng reading from memory with fovea's allocator and one-line errors: the
 * callbacks the image decoder (png.c) and the mask decoder (mask.c) share. */
#ifndef FV_PNG_MEM_H
#define FV_PNG_MEM_H

#include <png.h>
#include <stddef.h>

typedef struct fv_png_mem {
    const char *name;         /* the file, for messages */
    const char *what;         /* what allocations are for ("PNG decoder") */
    const unsigned char *buf; /* the whole file */
    size_t len, pos;
    int nomem;                /* an allocation failed: fv_malloc's error stands */
    char msg[200];            /* libpng's error, set before it jumps back */
} fv_png_mem;

/* A read struct over m: errors longjmp with m->msg set, reads past the end are errors,
 * allocations go through fv_malloc. NULL when it cannot be made. */
png_structp fv_png_mem_reader(fv_png_mem *m);

#endif /* FV_PNG_MEM_H */
