/* cifar.c - CIFAR-10 and CIFAR-100 binary batches (the format of the "binary version" archives):
 * fixed-size records of label byte(s) then 3 x 32 x 32 pixel bytes in channel planes, all of them
 * or the first n. Every file read whole must hold a whole number of records and every label read
 * must be in range; the sizes are taken from the files before the one allocation, which must fit
 * the cap on decoded data. Class names come from the archive's batches.meta.txt or
 * fine_label_names.txt when present. Also the folder loader that picks MNIST-format or CIFAR files
 * by name, else an image folder (imagefolder.c), else an error saying what it looked for. */
#include "data/data.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define PIXELS 3072
#define MAX_BATCH_FILE ((size_t)1 << 30)
#define MAX_FILES 5

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                              "dog",      "frog",       "horse", "ship", "truck"};

typedef struct cifar_spec {
    const char *const *files;
    int nfiles, label_bytes, classes;
    const char *what, *names_file; /* the data set's name; the class-names file in the folder */
    const char *const *std;        /* the standard names (std_n of them), or NULL */
    int std_n;
} cifar_spec;

/* The plan: how many records to take from each file, from their sizes. */
typedef struct cifar_plan {
    char path[MAX_FILES][1100];
    size_t size[MAX_FILES];
    int64_t take[MAX_FILES], total;
    int used;
} cifar_plan;

static fv_status plan_file(const cifar_spec *s, cifar_plan *p, int i, int64_t want)
{
    size_t rec = (size_t)s->label_bytes + PIXELS;
    struct stat st;
    if (stat(p->path[i], &st) != 0)
        return fv_err(FV_ERR_IO, "%s: %s", p->path[i], strerror(errno));
    if (!S_ISREG(st.st_mode))
        return fv_err(FV_ERR_IO, "%s: not a regular file", p->path[i]);
    size_t len = (size_t)st.st_size;
    int64_t n = (int64_t)(len / rec);
    p->size[i] = len;
    p->take[i] = n < want ? n : want;
    if (len == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no images", p->path[i]);
    if (want > n && len % rec) /* read to its end: it must be whole */
        return fv_err(FV_ERR_FORMAT, "%s: %zu bytes is not a whole number of %zu-byte CIFAR "
                      "records", p->path[i], len, rec);
    return FV_OK;
}

static fv_status make_plan(const char *dir, const cifar_spec *s, int64_t limit, cifar_plan *p)
{
    p->total = 0, p->used = 0;
    int64_t want = limit > 0 ? limit : INT64_MAX;
    for (int i = 0; i < s->nfiles && p->total < want; i++) {
        if (snprintf(p->path[i], sizeof p->path[i], "%s/%s", dir, s->files[i]) >=
            (int)sizeof p->path[i])
            return fv_err(FV_ERR_INVALID, "%s: path too long", dir);
        FV_TRY(plan_file(s, p, i, want - p->total));
        p->total += p->take[i], p->used = i + 1;
    }
    char what[1200];
    snprintf(what, sizeof what, "%s: %lld CIFAR images", dir, (long long)p->total);
    return fv_data_check(what, (uint64_t)p->total * PIXELS * sizeof(float));
}

/* Decodes the first p->take[i] records of file i into x and y from sample `at`. */
static fv_status read_file(const cifar_spec *s, const cifar_plan *p, int i, int64_t at,
                           fv_tensor *x, fv_tensor *y)
{
    unsigned char *buf;
    size_t len, rec = (size_t)s->label_bytes + PIXELS;
    FV_TRY(fv_read_file(p->path[i], MAX_BATCH_FILE, &buf, &len));
    fv_status st = FV_OK;
    if (len != p->size[i])
        st = fv_err(FV_ERR_IO, "%s: changed while being read", p->path[i]);
    for (int64_t r = 0; st == FV_OK && r < p->take[i]; r++) {
        const unsigned char *b = buf + (size_t)r * rec;
        int label = b[s->label_bytes - 1];
        if (label >= s->classes) {
            st = fv_err(FV_ERR_FORMAT, "%s: record %lld has label %d (expected < %d)", p->path[i],
                        (long long)r, label, s->classes);
            break;
        }
        y->data[at + r] = (float)label;
        float *dst = x->data + (at + r) * PIXELS;
        for (int k = 0; k < PIXELS; k++)
            dst[k] = b[s->label_bytes + k] / 255.0f;
    }
    fv_free(buf);
    return st;
}

/* The names file in dir when present, else the standard names. */
static fv_status class_names(const char *dir, const cifar_spec *s, char ***names)
{
    if (!fv_data_exists(dir, s->names_file)) {
        *names = fv_names_default(s->classes, s->std, s->std_n);
        return *names ? FV_OK : FV_ERR_NOMEM;
    }
    char path[1100];
    int n;
    snprintf(path, sizeof path, "%s/%s", dir, s->names_file);
    return fv_names_read(path, s->classes, names, &n);
}

static fv_dataset *load_files(const char *dir, const cifar_spec *s, int64_t limit)
{
    cifar_plan *p = fv_calloc(1, sizeof *p, "CIFAR plan");
    fv_dataset *d = p ? fv_calloc(1, sizeof *d, "data set") : NULL;
    fv_status st = d ? make_plan(dir, s, limit, p) : FV_ERR_NOMEM;
    if (st == FV_OK) {
        int64_t xd[4] = {p->total, 3, 32, 32}, yd[1] = {p->total};
        d->num_classes = s->classes;
        snprintf(d->name, sizeof d->name, "%s", s->what);
        d->x = fv_tensor_adopt(fv_malloc(sizeof(float) * (size_t)(p->total * PIXELS), "CIFAR "
                                         "images"), 4, xd);
        d->y = d->x ? fv_tensor_adopt(fv_malloc(sizeof(float) * (size_t)p->total, "CIFAR labels"),
                                      1, yd)
                    : NULL;
        st = d->y ? class_names(dir, s, &d->class_names) : FV_ERR_NOMEM;
    }
    int64_t at = 0;
    for (int i = 0; st == FV_OK && i < p->used; at += p->take[i], i++)
        st = read_file(s, p, i, at, d->x, d->y);
    fv_free(p);
    if (st != FV_OK) {
        fv_dataset_free(d);
        return NULL;
    }
    return d;
}

fv_dataset *fv_cifar_load_n(const char *dir, int cifar100, int train, int64_t limit)
{
    static const char *const tr10[5] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
    static const char *const te10[1] = {"test_batch.bin"};
    static const char *const tr100[1] = {"train.bin"}, *const te100[1] = {"test.bin"};
    cifar_spec s = {.label_bytes = 1, .classes = 10, .names_file = "batches.meta.txt",
                    .std = cifar10_names, .std_n = 10};
    if (cifar100)
        s = (cifar_spec){.label_bytes = 2, .classes = 100, .names_file = "fine_label_names.txt"};
    s.files = cifar100 ? (train ? tr100 : te100) : (train ? tr10 : te10);
    s.nfiles = !cifar100 && train ? 5 : 1;
    s.what = cifar100 ? (train ? "cifar100-train" : "cifar100-test")
                      : (train ? "cifar10-train" : "cifar10-test");
    return load_files(dir, &s, limit);
}

fv_dataset *fv_dataset_load_cifar10(const char *dir, int train)
{
    return fv_cifar_load_n(dir, 0, train, 0);
}

fv_dataset *fv_dataset_load_cifar100(const char *dir, int train)
{
    return fv_cifar_load_n(dir, 1, train, 0);
}

/* Whether dir holds any MNIST-format file. */
static int has_mnist(const char *d)
{
    static const char *const stems[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char gz[64];
    int found = 0;
    for (int i = 0; i < 4 && !found; i++) {
        snprintf(gz, sizeof gz, "%s.gz", stems[i]);
        found = fv_data_exists(d, stems[i]) || fv_data_exists(d, gz);
    }
    return found;
}

/* A folder that exists but holds no known data: an error saying what was looked for (a missing
 * folder is left to the MNIST loader, whose message says how to install the default data). */
static fv_status nothing_there(const char *d)
{
    struct stat st;
    if (stat(d, &st) != 0)
        return FV_OK;
    if (!S_ISDIR(st.st_mode))
        return fv_err(FV_ERR_IO, "%s: not a folder", d);
    return fv_err(FV_ERR_FORMAT, "%s: no MNIST-format files, CIFAR batches or class folders of "
                  "images", d);
}

static fv_dataset *load_any(const char *d, int train, int64_t limit, const int *chw)
{
    if (fv_data_exists(d, "data_batch_1.bin") || fv_data_exists(d, "test_batch.bin"))
        return fv_cifar_load_n(d, 0, train, limit);
    if (fv_data_exists(d, "train.bin") || fv_data_exists(d, "test.bin"))
        return fv_cifar_load_n(d, 1, train, limit);
    if (has_mnist(d))
        return fv_mnist_load_n(d, train, limit);
    if (fv_is_image_folder(d))
        return fv_image_folder_load_split_n(d, train, limit, chw[0], chw[1], chw[2]);
    return nothing_there(d) == FV_OK ? fv_mnist_load_n(d, train, limit) : NULL;
}

fv_dataset *fv_dataset_load_dir_size(const char *dir, int train, int64_t limit, int channels,
                                     int height, int width)
{
    const char *d = dir ? dir : fv_default_data_dir();
    if (limit < 0) {
        fv_err(FV_ERR_INVALID, "%s: a limit of %lld samples (0: all)", d, (long long)limit);
        return NULL;
    }
    const int chw[3] = {channels, height, width};
    fv_dataset *ds = load_any(d, train, limit, chw);
    if (ds && ds->x->dims[0] == 0) {
        fv_err(FV_ERR_FORMAT, "%s: no images", d);
        fv_dataset_free(ds);
        return NULL;
    }
    return ds;
}

fv_dataset *fv_dataset_load_dir_n(const char *dir, int train, int64_t limit)
{
    return fv_dataset_load_dir_size(dir, train, limit, 0, 0, 0);
}

fv_dataset *fv_dataset_load_dir(const char *dir, int train)
{
    return fv_dataset_load_dir_n(dir, train, 0);
}
