/* vecset.c - what the vector-data loaders (csv.c, npy.c) share: opening a regular file without
 * blocking, making a data set over loaded tensors, and splitting a set into training and test
 * parts by a seeded permutation. */
#include "data/data.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

FILE *fv_open_regular(const char *path, uint64_t *size)
{
    if (!path || !*path) {
        fv_err(FV_ERR_INVALID, "empty file name");
        return NULL;
    }
    /* O_NONBLOCK: opening a FIFO without a writer would block; it is refused below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    FILE *f = NULL;
    if (fstat(fd, &sb) != 0)
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(sb.st_mode))
        fv_err(FV_ERR_IO, "%s: not a regular file", path);
    else if (!(f = fdopen(fd, "rb")))
        fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
    if (!f) {
        close(fd);
        return NULL;
    }
    *size = (uint64_t)sb.st_size;
    return f;
}

fv_dataset *fv_dataset_new(fv_tensor *x, fv_tensor *y, int classes, const char *name)
{
    fv_dataset *d = x && y ? fv_calloc(1, sizeof *d, "data set") : NULL;
    if (!d) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    d->x = x, d->y = y, d->num_classes = classes;
    snprintf(d->name, sizeof d->name, "%s", name ? name : "");
    return d;
}

char **fv_names_numbered(int n)
{
    char **v = fv_calloc((size_t)(n > 0 ? n : 1), sizeof *v, "class names");
    for (int k = 0; v && k < n; k++) {
        char buf[16];
        snprintf(buf, sizeof buf, "%d", k);
        if (!(v[k] = fv_strdup(buf, "class name"))) {
            fv_names_free(v, k);
            return NULL;
        }
    }
    return v;
}

/* The rows of t whose flag in pick equals want, in order (n of them), as a new tensor. */
static fv_tensor *pick_rows(const fv_tensor *t, const unsigned char *pick, int want, int64_t n)
{
    int64_t dims[FV_MAX_DIMS], rows = t->dims[0], per = rows ? fv_tensor_numel(t) / rows : 0;
    memcpy(dims, t->dims, sizeof dims);
    dims[0] = n;
    fv_tensor *o = fv_tensor_new(t->ndim, dims);
    for (int64_t i = 0, j = 0; o && i < rows; i++)
        if (pick[i] == want)
            memcpy(o->data + j++ * per, t->data + i * per, sizeof(float) * (size_t)per);
    return o;
}

/* The samples of d flagged `want` (n of them), with d's classes and their names. */
static fv_dataset *pick_set(const fv_dataset *d, const unsigned char *pick, int want, int64_t n)
{
    fv_dataset *s = fv_dataset_new(pick_rows(d->x, pick, want, n),
                                   pick_rows(d->y, pick, want, n), d->num_classes, d->name);
    if (!s || !d->class_names)
        return s;
    s->class_names = fv_calloc((size_t)(d->num_classes > 0 ? d->num_classes : 1),
                               sizeof(char *), "class names");
    for (int k = 0; s->class_names && k < d->num_classes; k++)
        if (!(s->class_names[k] = fv_strdup(d->class_names[k] ? d->class_names[k] : "",
                                            "class name"))) {
            fv_dataset_free(s);
            return NULL;
        }
    if (!s->class_names) {
        fv_dataset_free(s);
        return NULL;
    }
    return s;
}

fv_status fv_dataset_split(const fv_dataset *d, double test_fraction, uint64_t seed,
                           fv_dataset **train, fv_dataset **test)
{
    *train = *test = NULL;
    if (!d || !d->x || !d->y)
        return fv_err(FV_ERR_INVALID, "split: no data set");
    int64_t n = d->x->dims[0], nt = (int64_t)(test_fraction * (double)n + 0.5);
    if (!(test_fraction > 0 && test_fraction < 1))
        return fv_err(FV_ERR_INVALID, "split: test fraction %g is not in (0, 1)", test_fraction);
    if (nt < 1 || nt >= n)
        return fv_err(FV_ERR_INVALID, "data set '%s': %lld samples are too few to split %g of "
                      "them off as a test set", d->name, (long long)n, test_fraction);
    int64_t *perm = fv_malloc(sizeof(int64_t) * (size_t)n, "split permutation");
    unsigned char *pick = fv_calloc((size_t)n, 1, "split flags");
    fv_status st = perm && pick ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK) {
        fv_rng r;
        fv_rng_seed(&r, seed);
        fv_rng_permutation(&r, perm, n);
        for (int64_t i = 0; i < nt; i++)
            pick[perm[i]] = 1;
        *train = pick_set(d, pick, 0, n - nt);
        *test = *train ? pick_set(d, pick, 1, nt) : NULL;
        if (!*test) {
            fv_dataset_free(*train);
            *train = NULL;
            st = fv_last_status() != FV_OK ? fv_last_status() : FV_ERR_NOMEM;
        }
    }
    fv_free(perm);
    fv_free(pick);
    return st;
}
