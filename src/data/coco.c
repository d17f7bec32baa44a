/* coco.c - COCO instances files (instances_*.json) read with cJSON into an fv_detset: images,
 * categories mapped to contiguous class indices in id order, annotations' bbox [x, y, w, h] as
 * corners with iscrowd and area. Segmentations are not read. */
#include "data/det.h"

#include <cjson/cJSON.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An id and the index it maps to, sorted by id for bsearch. */
typedef struct id_map {
    double id;
    int64_t index;
} id_map;

static int cmp_id(const void *a, const void *b)
{
    double x = ((const id_map *)a)->id, y = ((const id_map *)b)->id;
    return (x > y) - (x < y);
}

static int64_t find_id(const id_map *m, int64_t n, double id)
{
    id_map key = {id, 0};
    const id_map *p = bsearch(&key, m, (size_t)n, sizeof *m, cmp_id);
    return p ? p->index : -1;
}

/* Member `key` of o as a whole number (|v| < 2^53) into *v. */
static fv_status whole(const char *file, const char *what, int64_t i, const cJSON *o,
                       const char *key, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || x->valuedouble != floor(x->valuedouble) ||
        fabs(x->valuedouble) >= 9007199254740992.0)
        return fv_err(FV_ERR_INVALID, "%s: %s %lld: \"%s\" is not a whole number", file, what,
                      (long long)i, key);
    *v = x->valuedouble;
    return FV_OK;
}

/* Sorts m (n ids) and fails on a repeated id. */
static fv_status sort_ids(const char *file, const char *what, id_map *m, int64_t n)
{
    qsort(m, (size_t)n, sizeof *m, cmp_id);
    for (int64_t i = 1; i < n; i++)
        if (m[i].id == m[i - 1].id)
            return fv_err(FV_ERR_INVALID, "%s: %s id %.0f appears twice", file, what, m[i].id);
    return FV_OK;
}

/* The array `key` of root (its length into *n). */
static const cJSON *array_of(const char *file, const cJSON *root, const char *key, int64_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!cJSON_IsArray(a)) {
        fv_err(FV_ERR_INVALID, "%s: no \"%s\" array", file, key);
        return NULL;
    }
    *n = cJSON_GetArraySize(a);
    return a;
}

/* Categories -> class indices: cats[] (id -> class, -1 for dropped ones), names in id order. */
typedef struct coco_ctx {
    const char *file, *image_dir;
    const fv_det_args *a;
    id_map *cats, *imgs;
    int64_t ncats, nimgs;
    fv_detset *d;
} coco_ctx;

static fv_status read_categories(coco_ctx *c, const cJSON *root)
{
    const cJSON *arr = array_of(c->file, root, "categories", &c->ncats);
    if (!arr)
        return FV_ERR_INVALID;
    if (!(c->cats = fv_calloc((size_t)c->ncats + 1, sizeof *c->cats, "categories")))
        return FV_ERR_NOMEM;
    const char **names = fv_calloc((size_t)c->ncats + 1, sizeof *names, "category names");
    if (!names)
        return FV_ERR_NOMEM;
    fv_status s = FV_OK;
    int64_t i = 0;
    for (const cJSON *o = arr->child; o && s == FV_OK; o = o->next, i++) {
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
        s = whole(c->file, "category", i, o, "id", &c->cats[i].id);
        if (s == FV_OK && (!cJSON_IsString(nm) || !nm->valuestring[0]))
            s = fv_err(FV_ERR_INVALID, "%s: category %lld has no \"name\"", c->file,
                       (long long)i);
        names[i] = s == FV_OK ? nm->valuestring : NULL;
        c->cats[i].index = i; /* for now: the category's position */
    }
    if (s == FV_OK)
        s = sort_ids(c->file, "category", c->cats, c->ncats);
    /* classes: a's list (each category's name must be in it), else the names in id order */
    const char **order = s == FV_OK ? fv_calloc((size_t)c->ncats + 1, sizeof *order, "classes")
                                    : NULL;
    int nk = 0;
    for (int64_t k = 0; s == FV_OK && order && k < c->ncats; k++) {
        const char *nm = names[c->cats[k].index];
        if (strcmp(nm, "_background_") == 0) {
            c->cats[k].index = -1; /* labelme's background is no class */
            continue;
        }
        if (c->a->classes) {
            int cls = fv_det_class_find((char *const *)c->a->classes, c->a->num_classes, nm);
            if (cls < 0) {
                char b[256];
                snprintf(b, sizeof b, "%s", nm);
                fv_name_sanitize(b);
                s = fv_err(FV_ERR_INVALID, "%s: category '%s' (id %.0f) is not in the class list",
                           c->file, b, c->cats[k].id);
            }
            c->cats[k].index = cls;
        } else {
            order[nk] = nm;
            c->cats[k].index = nk++;
        }
    }
    if (s == FV_OK && !order)
        s = FV_ERR_NOMEM;
    if (s == FV_OK && c->a->classes && c->a->num_classes < 1)
        s = fv_err(FV_ERR_INVALID, "a class list needs num_classes >= 1");
    if (s == FV_OK && !c->a->classes && nk == 0)
        s = fv_err(FV_ERR_INVALID, "%s: no categories", c->file);
    if (s == FV_OK) {
        const char *slash = strrchr(c->file, '/');
        c->d = c->a->classes
                   ? fv_detset_alloc(0, (char *const *)c->a->classes, c->a->num_classes,
                                     slash ? slash + 1 : c->file)
                   : fv_detset_alloc(0, (char *const *)order, nk, slash ? slash + 1 : c->file);
        s = c->d ? FV_OK : FV_ERR_NOMEM;
    }
    for (int k = 0; s == FV_OK && k < c->d->num_classes; k++)
        fv_name_sanitize(c->d->class_names[k]);
    fv_free(order);
    fv_free(names);
    return s;
}

static fv_status read_image(coco_ctx *c, int64_t i, const cJSON *o, fv_det_annotation *m)
{
    double w = 0, h = 0;
    FV_TRY(whole(c->file, "image", i, o, "id", &c->imgs[i].id));
    FV_TRY(whole(c->file, "image", i, o, "width", &w));
    FV_TRY(whole(c->file, "image", i, o, "height", &h));
    if (w < 1 || h < 1 || w > 65536 || h > 65536)
        return fv_err(FV_ERR_INVALID, "%s: image %lld: %gx%g is not an image size (sides 1 to "
                      "65536)", c->file, (long long)i, w, h);
    c->imgs[i].index = i;
    m->id = (int64_t)c->imgs[i].id, m->width = (int)w, m->height = (int)h;
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "file_name");
    if (!cJSON_IsString(fn) || !fn->valuestring[0] || strlen(fn->valuestring) > 1023)
        return fv_err(FV_ERR_INVALID, "%s: image %lld has no \"file_name\" (at most 1023 bytes)",
                      c->file, (long long)i);
    char path[2200];
    snprintf(path, sizeof path, "%s/%s", c->image_dir ? c->image_dir : ".", fn->valuestring);
    struct stat st;
    if (c->image_dir && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) {
        char b[1024];
        snprintf(b, sizeof b, "%s", fn->valuestring);
        fv_name_sanitize(b);
        return fv_err(FV_ERR_IO, "%s: image %lld: '%s' not found (looked in %s)", c->file,
                      (long long)i, b, c->image_dir);
    }
    return (m->file = fv_strdup(path, "image path")) ? FV_OK : FV_ERR_NOMEM;
}

static fv_status read_images(coco_ctx *c, const cJSON *root)
{
    const cJSON *arr = array_of(c->file, root, "images", &c->nimgs);
    if (!arr)
        return FV_ERR_INVALID;
    int64_t n = c->a->limit > 0 && c->a->limit < c->nimgs ? c->a->limit : c->nimgs;
    if (!(c->imgs = fv_calloc((size_t)c->nimgs + 1, sizeof *c->imgs, "image ids")))
        return FV_ERR_NOMEM;
    if (n > 0 && !(c->d->images = fv_calloc((size_t)n, sizeof *c->d->images, "images")))
        return FV_ERR_NOMEM;
    c->d->nimages = n;
    int64_t i = 0;
    for (const cJSON *o = arr->child; o; o = o->next, i++) {
        fv_det_annotation scratch = {0}; /* images past the limit: ids only */
        fv_status s = read_image(c, i, o, i < n ? &c->d->images[i] : &scratch);
        fv_det_annotation_clear(&scratch);
        FV_TRY(s);
    }
    return sort_ids(c->file, "image", c->imgs, c->nimgs);
}

static fv_status read_annotation(coco_ctx *c, int64_t i, const cJSON *o)
{
    double img_id = 0, cat_id = 0;
    FV_TRY(whole(c->file, "annotation", i, o, "image_id", &img_id));
    FV_TRY(whole(c->file, "annotation", i, o, "category_id", &cat_id));
    int64_t im = find_id(c->imgs, c->nimgs, img_id), ck = find_id(c->cats, c->ncats, cat_id);
    if (im < 0)
        return fv_err(FV_ERR_INVALID, "%s: annotation %lld: image_id %.0f is not among the "
                      "images", c->file, (long long)i, img_id);
    if (ck < 0)
        return fv_err(FV_ERR_INVALID, "%s: annotation %lld: category_id %.0f is not in the "
                      "class list", c->file, (long long)i, cat_id);
    if (im >= c->d->nimages)
        return FV_OK; /* an image past the limit */
    const cJSON *bb = cJSON_GetObjectItemCaseSensitive(o, "bbox");
    double v[4];
    int k = 0;
    for (const cJSON *x = cJSON_IsArray(bb) ? bb->child : NULL; x && k < 5; x = x->next, k++)
        if (k < 4 && cJSON_IsNumber(x))
            v[k] = x->valuedouble;
        else
            k = 5;
    if (k != 4)
        return fv_err(FV_ERR_INVALID, "%s: annotation %lld: \"bbox\" is not [x, y, w, h]",
                      c->file, (long long)i);
    fv_det_annotation *m = &c->d->images[im];
    fv_det_object ob = {.box = {(float)v[0], (float)v[1], (float)(v[0] + v[2]),
                                (float)(v[1] + v[3])}};
    char what[2300];
    snprintf(what, sizeof what, "%s: annotation %lld (image %.0f)", c->file, (long long)i,
             img_id);
    if (v[2] < 0 || v[3] < 0)
        return fv_err(FV_ERR_INVALID, "%s: box [%g, %g, %g, %g] has a negative size", what, v[0],
                      v[1], v[2], v[3]);
    FV_TRY(fv_det_check_box(what, m->nobjects + 1, ob.box, m->width, m->height));
    const cJSON *area = cJSON_GetObjectItemCaseSensitive(o, "area"),
                *crowd = cJSON_GetObjectItemCaseSensitive(o, "iscrowd");
    ob.area = cJSON_IsNumber(area) && isfinite(area->valuedouble) && area->valuedouble >= 0
                  ? (float)area->valuedouble
                  : (float)fv_box_area(ob.box);
    if (crowd && !(cJSON_IsNumber(crowd) && (crowd->valuedouble == 0 || crowd->valuedouble == 1)))
        return fv_err(FV_ERR_INVALID, "%s: \"iscrowd\" is not 0 or 1", what);
    ob.iscrowd = crowd && crowd->valuedouble == 1;
    ob.cls = (int)ck;
    return ck < 0 ? FV_OK : fv_det_push(m, &ob);
}

static fv_status read_all(coco_ctx *c, const cJSON *root)
{
    if (!cJSON_IsObject(root))
        return fv_err(FV_ERR_INVALID, "%s: not a JSON object", c->file);
    FV_TRY(read_categories(c, root));
    FV_TRY(read_images(c, root));
    int64_t n;
    const cJSON *arr = array_of(c->file, root, "annotations", &n);
    if (!arr)
        return FV_ERR_INVALID;
    int64_t i = 0;
    for (const cJSON *o = arr->child; o; o = o->next, i++)
        FV_TRY(read_annotation(c, i, o));
    return FV_OK;
}

fv_detset *fv_coco_parse(const char *name, const char *buf, size_t len, const fv_det_args *a,
                         const char *image_dir)
{
    if (fv_data_check(name, (uint64_t)len * 8) != FV_OK)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(buf, len);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        long off = e && e >= buf && e <= buf + len ? (long)(e - buf) : -1;
        fv_err(FV_ERR_INVALID, "%s: malformed JSON (near byte %ld)", name, off);
        return NULL;
    }
    coco_ctx c = {.file = name, .image_dir = image_dir, .a = a};
    fv_status s = read_all(&c, root);
    cJSON_Delete(root);
    fv_free(c.cats);
    fv_free(c.imgs);
    if (s != FV_OK) {
        fv_detset_free(c.d);
        return NULL;
    }
    return c.d;
}

fv_detset *fv_detset_load_coco_(const char *path, fv_det_args a)
{
    if (!path) {
        fv_err(FV_ERR_INVALID, "COCO: no path");
        return NULL;
    }
    unsigned char *buf;
    size_t len, most = fv_data_limit() / 8;
    if (fv_read_file(path, most, &buf, &len) != FV_OK)
        return NULL;
    char dir[1100];
    const char *slash = strrchr(path, '/');
    if (a.images)
        snprintf(dir, sizeof dir, "%s", a.images);
    else
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    if (!dir[0])
        snprintf(dir, sizeof dir, "/");
    fv_detset *d = fv_coco_parse(path, (const char *)buf, len, &a, dir);
    fv_free(buf);
    return d;
}
