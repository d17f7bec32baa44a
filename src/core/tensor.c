/* tensor.c - float32 N-d tensors: creation, views (rows, reshape), shape strings. */
#include "core/internal.h"

#include <string.h>

void fv_tensor_set_shape(fv_tensor *t, int ndim, const int64_t *dims)
{
    int64_t s = 1;
    t->ndim = ndim;
    for (int i = ndim - 1; i >= 0; i--) {
        t->dims[i] = dims[i];
        t->strides[i] = s;
        s *= dims[i];
    }
}

static fv_status check_dims(int ndim, const int64_t *dims, int64_t *numel)
{
    if (ndim < 1 || ndim > FV_MAX_DIMS)
        return fv_err(FV_ERR_SHAPE, "tensor: %d dimensions (expected 1..%d)", ndim, FV_MAX_DIMS);
    /* the product of the non-zero dimensions bounds every stride, even when numel is 0 */
    int64_t n = 1, nz = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return fv_err(FV_ERR_SHAPE, "tensor: dimension %d is negative (%lld)", i,
                          (long long)dims[i]);
        if (dims[i] && nz > INT64_MAX / 4 / dims[i])
            return fv_err(FV_ERR_SHAPE, "tensor: shape too large");
        nz *= dims[i] ? dims[i] : 1;
        n *= dims[i];
    }
    *numel = n;
    return FV_OK;
}

fv_tensor *fv_tensor_new(int ndim, const int64_t *dims)
{
    int64_t n = 0;
    if (check_dims(ndim, dims, &n) != FV_OK)
        return NULL;
    fv_tensor *t = fv_calloc(1, sizeof *t, "tensor header");
    if (!t)
        return NULL;
    t->data = fv_calloc((size_t)n, sizeof(float), "tensor data");
    if (!t->data) {
        fv_free(t);
        return NULL;
    }
    fv_tensor_set_shape(t, ndim, dims);
    t->owns = 1;
    return t;
}

fv_tensor *fv_tensor_new4(int64_t n, int64_t c, int64_t h, int64_t w)
{
    int64_t d[4] = {n, c, h, w};
    return fv_tensor_new(4, d);
}

fv_tensor *fv_tensor_clone(const fv_tensor *t)
{
    if (!fv_tensor_is_contiguous(t)) {
        fv_err(FV_ERR_INVALID, "tensor clone: source is not contiguous");
        return NULL;
    }
    fv_tensor *c = fv_tensor_new(t->ndim, t->dims);
    if (c)
        memcpy(c->data, t->data, (size_t)fv_tensor_numel(t) * sizeof(float));
    return c;
}

fv_tensor *fv_tensor_rows(const fv_tensor *t, int64_t start, int64_t count)
{
    if (start < 0 || count < 0 || start + count > t->dims[0]) {
        fv_err(FV_ERR_INVALID, "tensor rows [%lld, %lld) out of range 0..%lld", (long long)start,
               (long long)(start + count), (long long)t->dims[0]);
        return NULL;
    }
    fv_tensor *v = fv_calloc(1, sizeof *v, "tensor view");
    if (!v)
        return NULL;
    *v = *t;
    v->dims[0] = count;
    v->data = t->data + start * t->strides[0];
    v->owns = 0;
    return v;
}

fv_tensor *fv_tensor_reshape(const fv_tensor *t, int ndim, const int64_t *dims)
{
    int64_t n;
    if (check_dims(ndim, dims, &n) != FV_OK)
        return NULL;
    if (!fv_tensor_is_contiguous(t)) {
        fv_err(FV_ERR_INVALID, "tensor reshape: source is not contiguous");
        return NULL;
    }
    if (n != fv_tensor_numel(t)) {
        char a[96], b[96];
        fv_err(FV_ERR_SHAPE, "tensor reshape: %s has %lld elements, %s needs %lld",
               fv_shape_str(t->ndim, t->dims, a, sizeof a), (long long)fv_tensor_numel(t),
               fv_shape_str(ndim, dims, b, sizeof b), (long long)n);
        return NULL;
    }
    fv_tensor *v = fv_calloc(1, sizeof *v, "tensor view");
    if (!v)
        return NULL;
    fv_tensor_set_shape(v, ndim, dims);
    v->data = t->data;
    v->owns = 0;
    return v;
}

void fv_tensor_free(fv_tensor *t)
{
    if (!t)
        return;
    if (t->owns)
        fv_free(t->data);
    fv_free(t);
}

int64_t fv_tensor_numel(const fv_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++)
        n *= t->dims[i];
    return n;
}

int fv_tensor_is_contiguous(const fv_tensor *t)
{
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->dims[i] != 1 && t->strides[i] != s)
            return 0;
        s *= t->dims[i];
    }
    return 1;
}

const char *fv_shape_str(int ndim, const int64_t *dims, char *buf, size_t len)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, len - o, "(");
    for (int i = 0; i < ndim && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, i ? ", %lld" : "%lld", (long long)dims[i]);
    if (o < len)
        snprintf(buf + o, len - o, ")");
    return buf;
}
