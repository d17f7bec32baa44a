/* failalloc.h - an allocator for out-of-memory tests: install {failing_alloc, plain_free, NULL}
 * with fv_set_allocator and set fail_after = k: k allocations succeed, every later one fails. */
#ifndef FV_FAILALLOC_H
#define FV_FAILALLOC_H

#include <stdlib.h>

static int fail_after;

static void *failing_alloc(size_t size, void *ctx)
{
    (void)ctx;
    return fail_after-- > 0 ? malloc(size) : NULL;
}

static void plain_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

#endif
