/* scenes.c - MNIST detection scenes (the NTNU TDT4265 course's set): digits resized to random
 * squares, placed on a black canvas without overlapping much (IoU below a bound), composed by
 * per-pixel max, with tight boxes; and a set of them written in VOC layout. Every scene is drawn
 * from its own stream (the seed and its index), so it is the same on every machine and any
 * scene can be made alone. */
#include "data/det.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static fv_scene_args defaults(fv_scene_args a)
{
    a.size = a.size ? a.size : 300;
    a.min_side = a.min_side ? a.min_side : 15;
    a.max_side = a.max_side ? a.max_side : 100;
    a.max_digits = a.max_digits ? a.max_digits : 19;
    a.max_iou = a.max_iou > 0 ? a.max_iou : 0.25;
    a.max_tries = a.max_tries ? a.max_tries : 100;
    return a;
}

static fv_status check(const fv_dataset *d, const fv_scene_args *a)
{
    if (fv_digits_check(d, "scenes") != FV_OK)
        return FV_ERR_SHAPE;
    if (d->num_classes < 1)
        return fv_err(FV_ERR_SHAPE, "scenes: the digits must be (N, 1, H, W) images with class "
                      "labels");
    if (a->min_side < 1 || a->min_side > a->max_side || a->max_side > a->size ||
        a->size > 8192 || a->max_digits < 0 || a->max_digits > 1000 || a->max_iou > 1 ||
        a->max_tries < 1)
        return fv_err(FV_ERR_INVALID, "scenes: digit sides %d..%d on a %d canvas, up to %d "
                      "digits, IoU bound %g, %d tries: sides must be 1 <= min <= max <= canvas "
                      "<= 8192, digits 0..1000, the bound in (0, 1], tries >= 1", a->min_side,
                      a->max_side, a->size, a->max_digits, a->max_iou, a->max_tries);
    return FV_OK;
}

/* The rows and columns of a side x side patch holding non-zero pixels: r0..r1, c0..c1
 * (inclusive); 0 when there are none. */
static int extent(const float *p, int side, int *r0, int *r1, int *c0, int *c1)
{
    *r0 = *c0 = side, *r1 = *c1 = -1;
    for (int i = 0; i < side; i++)
        for (int j = 0; j < side; j++)
            if (p[i * side + j] > 0) {
                *r0 = i < *r0 ? i : *r0, *r1 = i;
                *c0 = j < *c0 ? j : *c0, *c1 = j > *c1 ? j : *c1;
            }
    return *r1 >= 0;
}

/* Places one digit (the patch, tight rows/columns e) if a position within max_tries keeps its
 * box's IoU with every earlier box below the bound. */
static fv_status place(const fv_scene_args *a, fv_rng *r, const float *patch, int side,
                       const int e[4], int cls, float *pixels, fv_det_annotation *img)
{
    for (int t = 0; t < a->max_tries; t++) {
        int x0 = (int)fv_rng_below(r, (uint64_t)(a->size - side + 1));
        int y0 = (int)fv_rng_below(r, (uint64_t)(a->size - side + 1));
        fv_box b = {(float)(x0 + e[2]), (float)(y0 + e[0]), (float)(x0 + e[3] + 1),
                    (float)(y0 + e[1] + 1)};
        int ok = 1;
        for (int k = 0; k < img->nobjects && ok; k++)
            ok = fv_box_iou(b, img->objects[k].box) < a->max_iou;
        if (!ok)
            continue;
        for (int i = 0; i < side; i++)
            for (int j = 0; j < side; j++) {
                float *q = &pixels[(int64_t)(y0 + i) * a->size + x0 + j];
                float v = patch[i * side + j];
                *q = v > *q ? v : *q;
            }
        fv_det_object o = {.box = b, .cls = cls, .area = (float)fv_box_area(b)};
        return fv_det_push(img, &o);
    }
    return FV_OK; /* no room: this digit is left out */
}

static fv_status make(const fv_dataset *d, int64_t index, float *pixels, fv_det_annotation *img,
                      const fv_scene_args *a, float *patch)
{
    fv_rng r;
    fv_rng_seed(&r, a->seed);
    fv_rng_seed(&r, fv_rng_next(&r) + (uint64_t)index * 0x9E3779B97F4A7C15ull);
    memset(pixels, 0, (size_t)a->size * (size_t)a->size * sizeof *pixels);
    *img = (fv_det_annotation){.id = index, .width = a->size, .height = a->size, .depth = 1};
    int64_t n = d->x->dims[0], h = d->x->dims[2], w = d->x->dims[3];
    int count = (int)fv_rng_below(&r, (uint64_t)a->max_digits + 1);
    for (int k = 0; k < count; k++) {
        int64_t j = (int64_t)fv_rng_below(&r, (uint64_t)n);
        int side = a->min_side + (int)fv_rng_below(&r, (uint64_t)(a->max_side - a->min_side + 1));
        float lab = d->y->data[j];
        if (!(lab >= 0 && lab < (float)d->num_classes))
            return fv_err(FV_ERR_INVALID, "scenes: digit %lld's label %g is not a class of %d",
                          (long long)j, (double)lab, d->num_classes);
        fv_image_resample(d->x->data + j * h * w, 1, h, w, patch, 1, side, side);
        int e[4];
        if (extent(patch, side, &e[0], &e[1], &e[2], &e[3]))
            FV_TRY(place(a, &r, patch, side, e, (int)lab, pixels, img));
    }
    return FV_OK;
}

fv_status fv_scene_make_(const fv_dataset *digits, int64_t index, float *pixels,
                         fv_det_annotation *img, fv_scene_args a)
{
    a = defaults(a);
    *img = (fv_det_annotation){0};
    FV_TRY(check(digits, &a));
    FV_TRY(fv_resample_check("scenes: a digit", 1, digits->x->dims[2], digits->x->dims[3], 1,
                             a.max_side, a.max_side));
    float *patch = fv_malloc((size_t)a.max_side * (size_t)a.max_side * sizeof *patch, "digit");
    if (!patch)
        return FV_ERR_NOMEM;
    fv_status s = make(digits, index, pixels, img, &a, patch);
    fv_free(patch);
    if (s != FV_OK)
        fv_det_annotation_clear(img);
    return s;
}

static fv_status make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0 || errno == EEXIST)
        return FV_OK;
    return fv_err(FV_ERR_IO, "%s: %s", path, strerror(errno));
}

/* The folders of a VOC layout under dir. */
static fv_status make_dirs(const char *dir)
{
    static const char *const sub[] = {"", "/Annotations", "/JPEGImages", "/ImageSets",
                                      "/ImageSets/Main"};
    char p[1100];
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        if (snprintf(p, sizeof p, "%s%s", dir, sub[i]) >= (int)sizeof p)
            return fv_err(FV_ERR_INVALID, "%s: path too long", dir);
        FV_TRY(make_dir(p));
    }
    return FV_OK;
}

/* One line per string into path (atomic). */
static fv_status write_lines(const char *path, char *const *s, int64_t n)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    for (int64_t i = 0; i < n; i++)
        fprintf(af.f, "%s\n", s[i]);
    return fv_atomic_commit(&af);
}

/* Scene i as JPEGImages/ID.png and Annotations/ID.xml. */
static fv_status write_scene(const char *dir, const char *id, const fv_dataset *digits, int64_t i,
                             fv_tensor *canvas, char *const *names, const fv_scene_args *a)
{
    fv_det_annotation img;
    FV_TRY(fv_scene_make_(digits, i, canvas->data, &img, *a));
    char png[1200], xml[1200], fn[80];
    snprintf(fn, sizeof fn, "%s.png", id);
    snprintf(png, sizeof png, "%s/JPEGImages/%s", dir, fn);
    snprintf(xml, sizeof xml, "%s/Annotations/%s.xml", dir, id);
    fv_status s = fv_png_save(png, canvas);
    if (s == FV_OK)
        s = fv_voc_write(xml, fn, &img, names, digits->num_classes);
    fv_det_annotation_clear(&img);
    return s;
}

fv_status fv_scenes_write_voc_(const char *dir, const char *split, const fv_dataset *digits,
                               int64_t n, fv_scene_args a)
{
    a = defaults(a);
    FV_TRY(check(digits, &a));
    if (!dir || !split || !split[0] || strlen(split) > 32 || strchr(split, '/') || n < 0 ||
        n > 10000000 || strlen(dir) > 1000)
        return fv_err(FV_ERR_INVALID, "scenes: a folder (at most 1000 bytes), a split name "
                      "(1 to 32 bytes, no '/') and 0 to 10,000,000 scenes");
    FV_TRY(make_dirs(dir));
    char **names = digits->class_names ? NULL : fv_names_numbered(digits->num_classes);
    char *const *nm = digits->class_names ? digits->class_names : names;
    char **ids = fv_calloc((size_t)n + 1, sizeof *ids, "scene ids");
    fv_tensor *canvas = fv_tensor_new4(1, 1, a.size, a.size);
    fv_status s = nm && ids && canvas ? FV_OK : FV_ERR_NOMEM;
    for (int64_t i = 0; s == FV_OK && i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s_%06lld", split, (long long)i);
        if (!(ids[i] = fv_strdup(id, "scene id")))
            s = FV_ERR_NOMEM;
        else
            s = write_scene(dir, id, digits, i, canvas, nm, &a);
    }
    char p[1200];
    if (s == FV_OK) {
        snprintf(p, sizeof p, "%s/ImageSets/Main/%s.txt", dir, split);
        s = write_lines(p, ids, n);
    }
    if (s == FV_OK) {
        snprintf(p, sizeof p, "%s/class_names.txt", dir);
        s = write_lines(p, nm, digits->num_classes);
    }
    fv_tensor_free(canvas);
    for (int64_t i = 0; ids && i < n; i++)
        fv_free(ids[i]);
    fv_free(ids);
    if (names)
        fv_names_free(names, digits->num_classes);
    return s;
}
