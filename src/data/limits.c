/* limits.c - the cap on decoded data (fv_set_data_limit, else FOVEA_MAX_DATA_MB, else 2048 MiB),
 * checked by every loader before it allocates; buffers that grow only as decoded bytes arrive,
 * so a file that promises more than it holds costs memory in proportion to what it holds; and the
 * shape check of the digit sets the scene generators draw from. */
#include "data/data.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT_MB 2048u
#define MIB ((uint64_t)1 << 20)

static size_t set_limit; /* 0: the environment's or the default */

void fv_set_data_limit(size_t bytes) { set_limit = bytes; }

/* FOVEA_MAX_DATA_MB in bytes; 0 when unset or (*bad set) unparsable. */
static size_t env_limit(int *bad)
{
    const char *s = getenv("FOVEA_MAX_DATA_MB");
    *bad = 0;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    unsigned long long mb = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-' || mb == 0 || mb > SIZE_MAX / MIB) {
        *bad = 1;
        return 0;
    }
    return (size_t)(mb * MIB);
}

size_t fv_data_limit(void)
{
    int bad;
    size_t env = env_limit(&bad);
    return set_limit ? set_limit : env ? env : (size_t)(DEFAULT_LIMIT_MB * MIB);
}

fv_status fv_data_check(const char *what, uint64_t bytes)
{
    int bad;
    env_limit(&bad);
    if (!set_limit && bad)
        return fv_err(FV_ERR_INVALID, "FOVEA_MAX_DATA_MB=%s is not a whole number of MiB in "
                      "1..%llu", getenv("FOVEA_MAX_DATA_MB"),
                      (unsigned long long)(SIZE_MAX / MIB));
    uint64_t cap = fv_data_limit();
    if (bytes <= cap)
        return FV_OK;
    return fv_err(FV_ERR_NOMEM, "%s: %.1f MiB of decoded data is more than the limit of %.1f MiB "
                  "(FOVEA_MAX_DATA_MB or fv_set_data_limit raise it)", what,
                  (double)bytes / (double)MIB, (double)cap / (double)MIB);
}

fv_status fv_grow_to(fv_grow *g, size_t need, size_t most, const char *what)
{
    if (need <= g->cap)
        return FV_OK;
    size_t cap = g->cap ? g->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : 2 * cap;
    cap = cap < most ? cap : most;
    cap = cap > need ? cap : need;
    unsigned char *p = fv_realloc(g->p, g->len, cap, what);
    if (!p)
        return FV_ERR_NOMEM;
    g->p = p, g->cap = cap;
    return FV_OK;
}

fv_tensor *fv_tensor_adopt(float *data, int ndim, const int64_t *dims)
{
    fv_tensor *t = data ? fv_calloc(1, sizeof *t, "tensor header") : NULL;
    if (!t) {
        fv_free(data);
        return NULL;
    }
    fv_tensor_set_shape(t, ndim, dims);
    t->data = data;
    t->owns = 1;
    return t;
}

fv_status fv_digits_check(const fv_dataset *d, const char *who)
{
    if (!d || !d->x || !d->y || d->x->ndim != 4 || d->x->dims[1] != 1 || d->x->dims[0] < 1 ||
        d->y->dims[0] != d->x->dims[0])
        return fv_err(FV_ERR_SHAPE, "%s: the digits must be (N, 1, H, W) images with labels", who);
    return FV_OK;
}
