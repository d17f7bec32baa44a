/* vecset.c - what the vector-data loaders (csv.c, npy.c) share: opening a regular file without
 * blocking and making a data set over loaded tensors (dataset.c's loaders make theirs here too;
 * splits: split.c). */
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

fv_dataset *fv_dataset_adopt(fv_tensor *x, fv_tensor *y, int classes, const char *name)
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

fv_dataset *fv_dataset_new(fv_tensor *x, fv_tensor *y, int classes, const char *name)
{
    if (!x || !y) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    return fv_dataset_adopt(x, y, classes, name);
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

