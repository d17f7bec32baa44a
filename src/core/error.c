/* error.c - the thread-local last-error message and the hookable allocator. */
#include "core/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[512];
static _Thread_local fv_status last_status;

fv_status fv_err(fv_status s, const char *fmt, ...)
{
    last_status = s;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    /* one line: newlines in names from files must not break the message */
    for (char *p = last_error; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return s;
}

const char *fv_last_error(void) { return last_error; }

fv_status fv_last_status(void) { return last_status; }

void fv_clear_error(void)
{
    last_error[0] = '\0';
    last_status = FV_OK;
}

const char *fv_status_name(fv_status s)
{
    switch (s) {
    case FV_OK: return "ok";
    case FV_ERR_INVALID: return "invalid argument";
    case FV_ERR_SHAPE: return "shape error";
    case FV_ERR_IO: return "I/O error";
    case FV_ERR_FORMAT: return "format error";
    case FV_ERR_NOMEM: return "out of memory";
    case FV_ERR_NUMERIC: return "numeric error";
    case FV_ERR_STATE: return "state error";
    }
    return "unknown error";
}

static void *libc_alloc(size_t size, void *ctx)
{
    (void)ctx;
    return malloc(size);
}
static void libc_release(void *ptr, void *ctx)
{
    (void)ctx;
    free(ptr);
}
static fv_allocator allocator = {libc_alloc, libc_release, NULL};

void fv_set_allocator(const fv_allocator *a)
{
    if (a)
        allocator = *a;
    else
        allocator = (fv_allocator){libc_alloc, libc_release, NULL};
}

void *fv_malloc(size_t size, const char *what)
{
    void *p = allocator.alloc(size ? size : 1, allocator.ctx);
    if (!p)
        fv_err(FV_ERR_NOMEM, "out of memory allocating %zu bytes for %s", size, what);
    return p;
}

void *fv_calloc(size_t count, size_t size, const char *what)
{
    if (size && count > SIZE_MAX / size) {
        fv_err(FV_ERR_NOMEM, "out of memory: %zu x %zu bytes for %s overflows", count, size, what);
        return NULL;
    }
    void *p = fv_malloc(count * size, what);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *fv_realloc(void *ptr, size_t old_size, size_t new_size, const char *what)
{
    void *p = fv_malloc(new_size, what);
    if (!p)
        return NULL;
    if (ptr) {
        memcpy(p, ptr, old_size < new_size ? old_size : new_size);
        fv_free(ptr);
    }
    return p;
}

void fv_free(void *ptr)
{
    if (ptr)
        allocator.release(ptr, allocator.ctx);
}

char *fv_strdup(const char *s, const char *what)
{
    size_t n = strlen(s) + 1;
    char *p = fv_malloc(n, what);
    if (p)
        memcpy(p, s, n);
    return p;
}

void *fv_grow_table(void *items, int *cap, int count, size_t size, int first, const char *what)
{
    if (count < *cap)
        return items;
    int ncap = *cap ? 2 * *cap : first;
    void *p = fv_realloc(items, size * (size_t)*cap, size * (size_t)ncap, what);
    if (p)
        *cap = ncap;
    return p;
}
