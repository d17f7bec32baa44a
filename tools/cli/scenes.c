/* scenes.c - `fovea scenes`: the MNIST detection set (TDT4265's setup) written in VOC layout
 * (fv_scenes_write_voc), train scenes from the digits' training split and test scenes from
 * their test split, then read back through the VOC reader and previewed: OUT/preview.png, the
 * first training scenes with their boxes and classes drawn. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PREVIEW 16

/* The digits' folder: --data (a folder or a name under data/), else data/mnist, else the
 * default data (Fashion-MNIST) with a note saying so. */
static const char *digits_dir(const opts *o, data_src *src)
{
    struct stat st;
    if (o->data || stat("data/mnist", &st) != 0 || !S_ISDIR(st.st_mode)) {
        data_source(o, NULL, src);
        if (!o->data)
            fprintf(stderr, "fovea: note: data/mnist not found (scripts/get-mnist.sh fetches "
                    "MNIST); using %s\n", fv_default_data_dir());
        return src->dir ? src->dir : fv_default_data_dir();
    }
    return "data/mnist";
}

/* The scenes' count of a split: --train N / --test N, else the default. */
static int count_of(const char *v, int dflt, int *n)
{
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : dflt;
    if (v && (errno || end == v || *end || x < 0 || x > 10000000))
        return -1;
    *n = (int)x;
    return 0;
}

/* Writes one split's scenes; 0 or 1 after printing why. */
static int write_split(const opts *o, const char *dir, const char *split, int n, int train,
                       fv_scene_args a)
{
    if (n == 0)
        return 0;
    fv_dataset *d = fv_dataset_load_dir(dir, train);
    if (!d)
        return fail_lib();
    a.seed = (uint64_t)o->seed + (train ? 0 : 1); /* the test scenes draw their own stream */
    clock_t t0 = clock();
    fv_status s = fv_scenes_write_voc_(o->out, split, d, n, a);
    fv_dataset_free(d);
    if (s != FV_OK)
        return fail_lib();
    if (!o->quiet)
        printf("%s: %d scenes (%.1f s)\n", split, n, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return 0;
}

/* Reads a split back through the VOC reader: its box count printed, the first scenes drawn. */
static int check_split(const opts *o, const char *split, int preview)
{
    fv_detset *d = fv_detset_load_voc(o->out, .split = split);
    if (!d)
        return fail_lib();
    if (!o->quiet)
        printf("%s: %lld images, %lld boxes, %d classes (read back as VOC)\n", split,
               (long long)d->nimages, (long long)fv_detset_count(d), d->num_classes);
    int n = preview && d->nimages > 0 ? (int)(d->nimages < PREVIEW ? d->nimages : PREVIEW) : 0;
    fv_tensor *img[PREVIEW] = {0};
    int bad = 0;
    for (int i = 0; i < n && !bad; i++)
        bad = !(img[i] = fv_detset_image(d, i));
    char path[1100];
    snprintf(path, sizeof path, "%s/preview.png", o->out);
    if (!bad && n > 0)
        bad = fv_draw_boxes_grid(path, (const fv_tensor *const *)img, d->images, n,
                                 (const char *const *)d->class_names, 4, 0) != FV_OK;
    for (int i = 0; i < n; i++)
        fv_tensor_free(img[i]);
    fv_detset_free(d);
    if (bad)
        return fail_lib();
    if (n > 0 && !o->quiet)
        printf("preview: %s\n", path);
    return 0;
}

int cmd_scenes(const opts *o)
{
    int ntrain, ntest;
    if (!o->out)
        return fail("scenes: --out DIR is required");
    if (count_of(o->scene_train, 10000, &ntrain) != 0 || count_of(o->test, 1000, &ntest) != 0)
        return fail("scenes: --train and --test take a count in 0..10000000");
    fv_scene_args a = {.size = o->scene_size};
    data_src src;
    const char *dir = digits_dir(o, &src);
    if (write_split(o, dir, "train", ntrain, 1, a) || write_split(o, dir, "test", ntest, 0, a))
        return 1;
    if ((ntrain && check_split(o, "train", 1)) || (ntest && check_split(o, "test", !ntrain)))
        return 1;
    return 0;
}
