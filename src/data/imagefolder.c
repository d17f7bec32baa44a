/* imagefolder.c - labelled images from a folder tree (Keras' image_dataset_from_directory,
 * torchvision's ImageFolder): ROOT/<class>/<image>, classes and files in strcmp order, PNG and
 * JPEG told apart by content, every image converted and resized to one (C, H, W) by fv_image_fit
 * (a target size, or the first image's, which then every image must have), all of them or the
 * first n, their decoded size checked against the cap before allocating.
 * Also the splits fv_dataset_load_dir finds in such a tree (ROOT/train, ROOT/test or ROOT/val);
 * a test split is labelled with the training split's classes. */
#include "data/data.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_SIDE 32768       /* a larger requested height or width is a mistake */
#define MAX_ENTRIES 10000000 /* files in one folder */

typedef struct names {
    char **v;
    int n, cap;
} names;

/* The tree: class names, then every image's path, class by class (class k ends at end[k]); and,
 * for a test split, the training split's classes (train) and each class's label among them. */
typedef struct listing {
    names classes, files, train;
    int *end, *label;
} listing;

static void names_free(names *s)
{
    for (int i = 0; i < s->n; i++)
        fv_free(s->v[i]);
    fv_free(s->v);
    *s = (names){0};
}

/* Appends s (taking ownership; NULL means out of memory and is freed nowhere). */
static fv_status names_push(names *s, char *str)
{
    if (!str)
        return FV_ERR_NOMEM;
    char **v = fv_grow_table(s->v, &s->cap, s->n, sizeof *v, 16, "names");
    if (!v) {
        fv_free(str);
        return FV_ERR_NOMEM;
    }
    s->v = v;
    s->v[s->n++] = str;
    return FV_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a/b" (fv_malloc'd), or NULL when out of memory. */
static char *join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = fv_malloc(na + nb + 2, "path");
    if (p) {
        memcpy(p, a, na);
        p[na] = '/';
        memcpy(p + na + 1, b, nb + 1);
    }
    return p;
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") ||
                   !strcasecmp(dot, ".jpeg"));
}

/* Whether dir/name is a folder (want_dirs) or a regular file with an image extension; -1: out of
 * memory. */
static int wanted(const char *dir, const char *name, int want_dirs)
{
    if (name[0] == '.' || (!want_dirs && !has_image_ext(name)))
        return 0;
    char *p = join(dir, name);
    if (!p)
        return -1;
    struct stat st;
    int ok = stat(p, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
    fv_free(p);
    return ok;
}

/* The sub-folders (want_dirs) or image files of dir, sorted with strcmp. */
static fv_status list_dir(const char *dir, int want_dirs, names *out)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return fv_err(FV_ERR_IO, "%s: %s", dir, strerror(errno));
    fv_status st = FV_OK;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(dp);
        if (!e) {
            if (errno)
                st = fv_err(FV_ERR_IO, "%s: cannot list: %s", dir, strerror(errno));
            break;
        }
        int w = wanted(dir, e->d_name, want_dirs);
        if (w < 0) {
            st = FV_ERR_NOMEM;
            break;
        }
        if (w == 0)
            continue;
        if (out->n >= MAX_ENTRIES) {
            st = fv_err(FV_ERR_INVALID, "%s: more than %d entries", dir, MAX_ENTRIES);
            break;
        }
        if ((st = names_push(out, fv_strdup(e->d_name, "file name"))) != FV_OK)
            break;
    }
    closedir(dp);
    if (st == FV_OK && out->n > 1)
        qsort(out->v, (size_t)out->n, sizeof *out->v, cmp_str);
    return st;
}

/* The image paths of class folder root/cls, appended to L->files. */
static fv_status scan_class(const char *root, const char *cls, listing *L)
{
    char *dir = join(root, cls);
    names files = {0};
    fv_status st = dir ? list_dir(dir, 0, &files) : FV_ERR_NOMEM;
    if (st == FV_OK && files.n == 0)
        st = fv_err(FV_ERR_FORMAT, "%s: class folder has no .png, .jpg or .jpeg files", dir);
    for (int i = 0; st == FV_OK && i < files.n; i++)
        st = files.n > MAX_ENTRIES - L->files.n
                 ? fv_err(FV_ERR_INVALID, "%s: more than %d images", root, MAX_ENTRIES)
                 : names_push(&L->files, join(dir, files.v[i]));
    names_free(&files);
    fv_free(dir);
    return st;
}

static void listing_free(listing *L)
{
    names_free(&L->classes);
    names_free(&L->files);
    names_free(&L->train);
    fv_free(L->end);
    fv_free(L->label);
    L->end = L->label = NULL;
}

static fv_status list_classes(const char *root, listing *L)
{
    FV_TRY(list_dir(root, 1, &L->classes));
    if (L->classes.n == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no class folders (expected one sub-folder of images "
                      "per class)", root);
    return FV_OK;
}

static fv_status scan(const char *root, listing *L)
{
    FV_TRY(list_classes(root, L));
    if (!(L->end = fv_calloc((size_t)L->classes.n, sizeof *L->end, "class ends")))
        return FV_ERR_NOMEM;
    for (int k = 0; k < L->classes.n; k++) {
        FV_TRY(scan_class(root, L->classes.v[k], L));
        L->end[k] = L->files.n;
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- loading */

static fv_status check_args(const char *dir, int c, int h, int w)
{
    if (!dir || !*dir)
        return fv_err(FV_ERR_INVALID, "image folder: no directory given");
    if (c != 0 && c != 1 && c != 3)
        return fv_err(FV_ERR_INVALID, "%s: channels must be 1 or 3 (0: the first image's), got %d",
                      dir, c);
    if (h < 0 || w < 0 || h > MAX_SIDE || w > MAX_SIDE)
        return fv_err(FV_ERR_INVALID, "%s: image size %dx%d is not in 1..%d (0: the first "
                      "image's)", dir, h, w, MAX_SIDE);
    return FV_OK;
}

/* Converts img to (c, h, w) into dst; an error names the file. Frees img. */
static fv_status fit_into(const char *path, fv_tensor *img, int c, int h, int w, float *dst)
{
    fv_tensor *t = img ? fv_image_fit(img, c, h, w) : NULL;
    fv_tensor_free(img);
    if (!t) {
        if (strncmp(fv_last_error(), path, strlen(path)) != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", fv_last_error());
            return fv_err(FV_ERR_FORMAT, "%s: %s", path, msg);
        }
        return FV_ERR_FORMAT;
    }
    memcpy(dst, t->data, (size_t)c * h * w * sizeof *dst);
    fv_tensor_free(t);
    return FV_OK;
}

/* Fills 0s in (c, h, w) from the decoded first image. */
static void resolve_shape(const fv_tensor *img, int *c, int *h, int *w)
{
    *c = *c ? *c : (int)img->dims[1];
    *h = *h ? *h : (int)img->dims[2];
    *w = *w ? *w : (int)img->dims[3];
}

/* Checks the decoded size of n images of (c, h, w) against the cap; allocates x and y. */
static fv_status alloc_set(const char *dir, fv_dataset *d, int64_t n, int c, int h, int w)
{
    char what[1200];
    snprintf(what, sizeof what, "%s: %lld images of %dx%dx%d", dir, (long long)n, c, h, w);
    FV_TRY(fv_data_check(what, (uint64_t)n * (uint64_t)c * (uint64_t)h * (uint64_t)w *
                                   sizeof(float)));
    int64_t xd[4] = {n, c, h, w}, yd[1] = {n};
    size_t xs = sizeof(float) * (size_t)(n * c * h * w);
    if (!(d->x = fv_tensor_adopt(fv_malloc(xs, "image folder"), 4, xd)) ||
        !(d->y = fv_tensor_adopt(fv_malloc(sizeof(float) * (size_t)n, "labels"), 1, yd)))
        return FV_ERR_NOMEM;
    return FV_OK;
}

/* The class names and count (moved out of L): the training split's when labelling by them; the
 * folder names made valid UTF-8 (the files were found and matched by their raw names). */
static void take_classes(fv_dataset *d, listing *L)
{
    names *own = L->train.n ? &L->train : &L->classes;
    d->num_classes = own->n;
    d->class_names = own->v, *own = (names){0};
    for (int k = 0; k < d->num_classes; k++)
        fv_name_sanitize(d->class_names[k]);
}

/* Without a target size every image must have the first training image's size (ref): resizing
 * mixed sizes to the first is a choice the caller makes. Frees img on error. */
static fv_status same_size(const char *path, fv_tensor *img, const int64_t *ref)
{
    if (!img || !ref || (img->dims[2] == ref[0] && img->dims[3] == ref[1]))
        return FV_OK;
    fv_err(FV_ERR_FORMAT, "%s: a %lldx%lld image among %lldx%lld ones (the first training "
           "image's size): images of mixed sizes need a target size (fovea --resize H,W; the "
           "height and width of fv_dataset_load_image_folder)", path, (long long)img->dims[2],
           (long long)img->dims[3], (long long)ref[0], (long long)ref[1]);
    fv_tensor_free(img);
    return FV_ERR_FORMAT;
}

/* Decodes the first n images into d from image i = 0 (already decoded: first); ref (or NULL):
 * the size every image must have. */
static fv_status fill_set(fv_dataset *d, listing *L, fv_tensor *first, int64_t n,
                          const int64_t *ref)
{
    int c = (int)d->x->dims[1], h = (int)d->x->dims[2], w = (int)d->x->dims[3];
    int64_t size = (int64_t)c * h * w;
    for (int64_t i = 0, k = 0; i < n; i++) {
        const char *path = L->files.v[i];
        fv_tensor *img = i == 0 ? first : fv_image_load(path);
        FV_TRY(same_size(path, img, ref));
        FV_TRY(fit_into(path, img, c, h, w, d->x->data + i * size));
        while (i >= L->end[k]) /* classes are never empty */
            k++;
        d->y->data[i] = (float)(L->label ? L->label[k] : k);
    }
    return FV_OK;
}

/* x, y and the class names for the first `limit` (0: all) images of the scanned tree; ref as for
 * fill_set, else the first image's size when the size is (partly) taken from it. */
static fv_dataset *load_listing(const char *dir, listing *L, int c, int h, int w, int64_t limit,
                                const int64_t *ref)
{
    int64_t own[2];
    int64_t n = limit > 0 && limit < L->files.n ? limit : L->files.n;
    if (n == 0) {
        fv_err(FV_ERR_FORMAT, "%s: no images", dir);
        return NULL;
    }
    fv_tensor *first = fv_image_load(L->files.v[0]);
    if (!first)
        return NULL;
    if (!ref && (h == 0 || w == 0))
        own[0] = first->dims[2], own[1] = first->dims[3], ref = own;
    resolve_shape(first, &c, &h, &w);
    fv_dataset *d = fv_calloc(1, sizeof *d, "data set");
    fv_status st = d ? alloc_set(dir, d, n, c, h, w) : FV_ERR_NOMEM;
    if (st != FV_OK) {
        fv_tensor_free(first);
        fv_dataset_free(d);
        return NULL;
    }
    take_classes(d, L);
    fv_folder_name(dir, d->name, sizeof d->name);
    if (fill_set(d, L, first, n, ref) != FV_OK) {
        fv_dataset_free(d);
        return NULL;
    }
    return d;
}

static int find_name(const names *s, const char *name)
{
    char *const *hit = bsearch(&name, s->v, (size_t)s->n, sizeof *s->v, cmp_str);
    return hit ? (int)(hit - s->v) : -1;
}

/* Labels L's classes by the training split's (train_root's class folders). */
static fv_status label_by(const char *root, const char *train_root, listing *L)
{
    listing T = {0};
    fv_status st = list_classes(train_root, &T);
    if (st == FV_OK && !(L->label = fv_calloc((size_t)L->classes.n, sizeof *L->label, "labels")))
        st = FV_ERR_NOMEM;
    for (int k = 0; st == FV_OK && k < L->classes.n; k++)
        if ((L->label[k] = find_name(&T.classes, L->classes.v[k])) < 0)
            st = fv_err(FV_ERR_FORMAT, "%s/%s: class folder '%s' is not a class of the training "
                        "split %s", root, L->classes.v[k], L->classes.v[k], train_root);
    if (st == FV_OK)
        L->train = T.classes, T.classes = (names){0};
    listing_free(&T);
    return st;
}

/* The tree at dir, labelled by train_root's classes when that is not NULL; ref as for
 * load_listing. */
static fv_dataset *load_tree(const char *dir, int c, int h, int w, int64_t limit,
                             const char *train_root, const int64_t *ref)
{
    if (check_args(dir, c, h, w) != FV_OK)
        return NULL;
    listing L = {0};
    fv_dataset *d = NULL;
    if (scan(dir, &L) == FV_OK && (!train_root || label_by(dir, train_root, &L) == FV_OK))
        d = load_listing(dir, &L, c, h, w, limit, ref);
    listing_free(&L);
    return d;
}

fv_dataset *fv_dataset_load_image_folder(const char *dir, int channels, int height, int width)
{
    return load_tree(dir, channels, height, width, 0, NULL, NULL);
}

/* ---------------------------------------------------------------- splits (fv_dataset_load_dir) */

/* Whether dir has a sub-folder holding an image file. */
static int holds_classes(const char *dir)
{
    names classes = {0};
    int found = 0;
    if (list_dir(dir, 1, &classes) == FV_OK)
        for (int k = 0; !found && k < classes.n; k++) {
            char *p = join(dir, classes.v[k]);
            names files = {0};
            found = p && list_dir(p, 0, &files) == FV_OK && files.n > 0;
            names_free(&files);
            fv_free(p);
        }
    names_free(&classes);
    fv_clear_error();
    return found;
}

/* dir/train, or dir/test (else dir/val), when that holds classes; else dir. NULL: no memory. */
static char *split_root(const char *dir, int train)
{
    const char *const cand[2] = {train ? "train" : "test", train ? NULL : "val"};
    for (int i = 0; i < 2 && cand[i]; i++) {
        char *p = join(dir, cand[i]);
        if (!p || holds_classes(p))
            return p;
        fv_free(p);
    }
    return fv_strdup(dir, "path");
}

int fv_is_image_folder(const char *dir)
{
    static const char *const splits[3] = {"train", "test", "val"};
    int found = holds_classes(dir);
    for (int i = 0; !found && i < 3; i++) {
        char *p = join(dir, splits[i]);
        found = p && holds_classes(p);
        fv_free(p);
    }
    return found;
}

/* The tree's first image (class 0's first file), decoded, without listing the rest. */
static fv_tensor *first_image(const char *root)
{
    listing L = {0};
    fv_tensor *t = NULL;
    if (list_classes(root, &L) == FV_OK && scan_class(root, L.classes.v[0], &L) == FV_OK)
        t = fv_image_load(L.files.v[0]);
    listing_free(&L);
    return t;
}

fv_dataset *fv_image_folder_load_split_n(const char *dir, int train, int64_t limit, int c, int h,
                                         int w)
{
    char *tr = split_root(dir, 1), *root = tr ? split_root(dir, train) : NULL;
    fv_tensor *first = NULL;
    fv_dataset *d = NULL;
    int strict = h == 0 || w == 0, ok = check_args(dir, c, h, w) == FV_OK;
    if (ok && root && strcmp(root, dir) == 0 && strcmp(tr, dir) != 0) /* train/ alone */
        fv_err(FV_ERR_FORMAT, "%s: the image folder has a train split but no test or val folder "
               "of class folders", dir);
    else if (ok && root)
        first = first_image(tr);
    if (first) {
        int64_t ref[2] = {first->dims[2], first->dims[3]};
        resolve_shape(first, &c, &h, &w);
        d = load_tree(root, c, h, w, limit, strcmp(root, tr) ? tr : NULL, strict ? ref : NULL);
    }
    fv_tensor_free(first);
    fv_free(tr), fv_free(root);
    return d;
}
