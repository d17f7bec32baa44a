/* validation.c - the data `fovea train` fits on and the validation set that early stopping,
 * plateau schedules and the best checkpoint watch: a share of the training split held out per
 * class (--val-split F, default DEFAULT_VAL_SPLIT, drawn by --seed) or a folder of its own
 * (--val DIR). Never the test split, which train uses once, after training. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether a and b are the same folder. */
static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* The training class named s, or -1. */
static int class_index(const fv_dataset *train, const char *s)
{
    for (int j = 0; train->class_names && j < train->num_classes; j++)
        if (train->class_names[j] && strcmp(train->class_names[j], s) == 0)
            return j;
    return -1;
}

/* val's labels as the training data's classes: matched by name when every class of val has a
 * namesake in training (a validation folder may lack a class, which shifts its own indices),
 * else kept as they are when both have as many classes (MNIST-format files name their classes
 * by their folder). Returns 0, or 1 after printing why. */
static int match_classes(const fv_dataset *train, fv_dataset *val, const char *dir)
{
    int k = val->num_classes, *map = malloc(sizeof(int) * (size_t)(k > 0 ? k : 1)), c = 0;
    if (!map)
        return fail("out of memory");
    for (c = 0; c < k && val->class_names; c++)
        if ((map[c] = class_index(train, val->class_names[c])) < 0)
            break;
    if (c == k && val->class_names) {
        for (int64_t i = 0; val->y && i < val->y->dims[0]; i++)
            val->y->data[i] = (float)map[(int)val->y->data[i]];
    }
    free(map);
    if ((c == k && val->class_names) || k == train->num_classes)
        return 0;
    char msg[1300];
    if (val->class_names && c < k)
        snprintf(msg, sizeof msg, "--val %s: class '%.200s' is not one of the %d classes of the "
                 "training data", dir, val->class_names[c], train->num_classes);
    else
        snprintf(msg, sizeof msg, "--val %s: %d classes, the training data has %d", dir, k,
                 train->num_classes);
    return fail(msg);
}

/* --val DIR: read as --data's test split, not from the --data folder itself. */
static int load_val_dir(const opts *o, const fv_dataset *train, fv_dataset **val)
{
    char msg[1200];
    const char *data = o->data ? o->data : fv_default_data_dir();
    if (same_dir(o->val_dir, data)) {
        snprintf(msg, sizeof msg, "--val %s is the --data folder, whose test split would be the "
                 "validation set: give a folder of its own, or --val-split F", o->val_dir);
        return fail(msg);
    }
    opts vo = *o;
    vo.data = o->val_dir;
    if (!(*val = load_data(&vo, 0)))
        return fail_lib();
    return match_classes(train, *val, o->val_dir);
}

/* Classification data: one class index per sample, so the split keeps every class's share. */
static int stratifiable(const fv_dataset *d)
{
    return d->num_classes > 0 && d->y && fv_tensor_numel(d->y) == d->x->dims[0];
}

int load_train_val(const opts *o, const data_src *src, fv_dataset **train, fv_dataset **val,
                   split_info *info)
{
    *train = *val = NULL;
    *info = (split_info){0};
    fv_dataset *all = load_data_src(o, src, 1);
    if (all && o->per_class) { /* --per-class N: N of each class, before the validation share */
        fv_dataset *few = fv_dataset_take_per_class(all, o->per_class, (uint64_t)o->seed);
        fv_dataset_free(all);
        all = few;
    }
    if (!all)
        return fail_lib();
    double f = o->val_split < 0 ? DEFAULT_VAL_SPLIT : o->val_split;
    if (o->val_dir) {
        *train = all;
        info->val_dir = o->val_dir;
        if (load_val_dir(o, all, val) != 0)
            return 1;
    } else if (f > 0) {
        fv_status st = fv_dataset_split(all, f, (uint64_t)o->seed, stratifiable(all), train, val);
        if (st == FV_ERR_INVALID && o->val_split < 0) {
            *train = all, all = NULL; /* too few images to spare the default share: none */
        } else if (st != FV_OK) {
            fv_dataset_free(all);
            return fail_lib();
        } else {
            info->fraction = f;
        }
        fv_dataset_free(all);
    } else {
        *train = all;
    }
    info->train = (*train)->x->dims[0];
    info->val = *val ? (*val)->x->dims[0] : 0;
    return 0;
}
