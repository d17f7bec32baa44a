/* png_mem.h - libpng reading from memory with fovea's allocator and one-line errors, and
 * writing through a temporary file: what the image codec (png.c) and the mask codec (mask.c)
 * share. */
#ifndef FV_PNG_MEM_H
#define FV_PNG_MEM_H

#include "fovea.h"

#include <png.h>
#include <stddef.h>
#include <stdint.h>

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

/* A decoder's steps on its own state dec, run under libpng's error jump: after the header is
 * read (checks, and the transforms to set), and the rows (in `passes` interlace passes). */
typedef fv_status (*fv_png_header_fn)(void *dec);
typedef fv_status (*fv_png_rows_fn)(void *dec, int passes);
/* The decoders' one frame with setjmp: makes the read and info structs over m into *png and
 * *info (free them with fv_png_mem_end, whatever this returns), reads the header (ancillary
 * chunks skipped unbuffered, at most 1 MiB buffered or inflated per chunk), runs header(dec),
 * turns on interlace handling and updates the info, then rows(dec, passes); a libpng error
 * becomes "<name>: corrupt PNG: <why>" (or the allocation failure it was). */
fv_status fv_png_mem_decode(fv_png_mem *m, png_structp *png, png_infop *info,
                            fv_png_header_fn header, fv_png_rows_fn rows, void *dec);
void fv_png_mem_end(png_structp *png, png_infop *info);
/* The limits of a header just read: at most max_pixels pixels, and no more raw bytes than the
 * file's compressed data can hold (deflate expands at most ~1032:1). */
fv_status fv_png_mem_limits(png_structp png, png_infop info, const fv_png_mem *m,
                            int64_t max_pixels);

/* Writes a w x h PNG of px (the simplified API's layout for format; map: a 256-entry RGB
 * colormap, or NULL) to path through a temporary file; "<path>: cannot write <what>: <why>" if
 * libpng fails. */
fv_status fv_png_write_file(const char *path, png_uint_32 w, png_uint_32 h, png_uint_32 format,
                            const unsigned char *px, const unsigned char *map, const char *what);

#endif /* FV_PNG_MEM_H */
