/* cifar.c - CIFAR-10 and CIFAR-100 binary batches (the format of the "binary version" archives):
 * fixed-size records of label byte(s) then 3 x 32 x 32 pixel bytes in channel planes. Every file
 * must hold a whole number of records and every label must be in range. Also the folder loader
 * that picks MNIST-format or CIFAR files by name, else an image folder (imagefolder.c). */
#include "io/io.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PIXELS 3072
#define MAX_BATCH_FILE ((size_t)1 << 30)

/* Appends the records of one file to x/y (capacity grown as needed). */
static fv_status read_batch(const char *path, int label_bytes, int classes, fv_tensor **x,
                            fv_tensor **y)
{
    unsigned char *buf;
    size_t len, rec = (size_t)label_bytes + PIXELS;
    FV_TRY(fv_read_file(path, MAX_BATCH_FILE, &buf, &len));
    if (len == 0 || len % rec) {
        fv_free(buf);
        return fv_err(FV_ERR_FORMAT, "%s: %zu bytes is not a whole number of %zu-byte CIFAR "
                      "records", path, len, rec);
    }
    int64_t old = *x ? (*x)->dims[0] : 0, n = (int64_t)(len / rec);
    fv_tensor *nx = fv_tensor_new4(old + n, 3, 32, 32);
    int64_t yd[1] = {old + n};
    fv_tensor *ny = nx ? fv_tensor_new(1, yd) : NULL;
    fv_status st = ny ? FV_OK : FV_ERR_NOMEM;
    for (int64_t i = 0; st == FV_OK && i < n; i++) {
        const unsigned char *r = buf + (size_t)i * rec;
        int label = r[label_bytes - 1];
        if (label >= classes) {
            st = fv_err(FV_ERR_FORMAT, "%s: record %lld has label %d (expected < %d)", path,
                        (long long)i, label, classes);
            break;
        }
        ny->data[old + i] = (float)label;
        for (int k = 0; k < PIXELS; k++)
            nx->data[(old + i) * PIXELS + k] = r[label_bytes + k] / 255.0f;
    }
    if (st == FV_OK && old) {
        memcpy(nx->data, (*x)->data, sizeof(float) * (size_t)(old * PIXELS));
        memcpy(ny->data, (*y)->data, sizeof(float) * (size_t)old);
    }
    fv_free(buf);
    if (st != FV_OK) {
        fv_tensor_free(nx), fv_tensor_free(ny);
        return st;
    }
    fv_tensor_free(*x), fv_tensor_free(*y);
    *x = nx, *y = ny;
    return FV_OK;
}

static fv_dataset *load_files(const char *dir, const char *const *names, int nfiles,
                              int label_bytes, int classes, const char *what)
{
    fv_tensor *x = NULL, *y = NULL;
    char path[1100];
    for (int i = 0; i < nfiles; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (read_batch(path, label_bytes, classes, &x, &y) != FV_OK) {
            fv_tensor_free(x), fv_tensor_free(y);
            return NULL;
        }
    }
    fv_dataset *d = fv_calloc(1, sizeof *d, "data set");
    if (!d) {
        fv_tensor_free(x), fv_tensor_free(y);
        return NULL;
    }
    d->x = x, d->y = y, d->num_classes = classes;
    snprintf(d->name, sizeof d->name, "%s", what);
    return d;
}

fv_dataset *fv_dataset_load_cifar10(const char *dir, int train)
{
    static const char *const tr[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                      "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const te[1] = {"test_batch.bin"};
    return train ? load_files(dir, tr, 5, 1, 10, "cifar10-train")
                 : load_files(dir, te, 1, 1, 10, "cifar10-test");
}

fv_dataset *fv_dataset_load_cifar100(const char *dir, int train)
{
    static const char *const tr[1] = {"train.bin"}, *const te[1] = {"test.bin"};
    return load_files(dir, train ? tr : te, 1, 2, 100, train ? "cifar100-train" : "cifar100-test");
}

static int exists(const char *dir, const char *name)
{
    char path[1100];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

fv_dataset *fv_dataset_load_dir(const char *dir, int train)
{
    const char *d = dir ? dir : fv_default_data_dir();
    if (exists(d, "data_batch_1.bin") || exists(d, "test_batch.bin"))
        return fv_dataset_load_cifar10(d, train);
    if (exists(d, "train.bin") || exists(d, "test.bin"))
        return fv_dataset_load_cifar100(d, train);
    static const char *const idx[4] = {"train-images-idx3-ubyte", "train-images-idx3-ubyte.gz",
                                       "t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"};
    int has_idx = 0;
    for (int i = 0; i < 4; i++)
        has_idx |= exists(d, idx[i]);
    if (!has_idx && fv_is_image_folder(d))
        return fv_image_folder_load_split(d, train);
    return fv_dataset_load_mnist_dir(d, train);
}
