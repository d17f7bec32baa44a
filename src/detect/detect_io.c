/* detect_io.c - a detector as a folder: DIR/detector.json (the architecture, every setting, the
 * class names and the models' names; cJSON), and per model DIR/NAME.fv (its text) and
 * DIR/NAME.safetensors (its weights), all written atomically. Loading rebuilds the detector from
 * the settings, checks each saved model text against the rebuilt model's (so weights never go
 * into a network of another shape) and reads the weights. */
#include "detect/detect.h"

#include "core/internal.h"
#include "io/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DET_JSON_MAX (1u << 20)

static fv_status make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return fv_err(FV_ERR_IO, "%s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fv_err(FV_ERR_IO, "%s: not a folder", dir);
    return FV_OK;
}

static cJSON *settings_json(const fv_detector *d)
{
    const fv_detector_args *a = &d->args;
    cJSON *j = cJSON_CreateObject(), *models = cJSON_CreateArray(), *names = NULL;
    cJSON_AddStringToObject(j, "format", "fovea detector");
    cJSON_AddNumberToObject(j, "version", 1);
    cJSON_AddStringToObject(j, "arch", d->impl->name);
    cJSON_AddNumberToObject(j, "num_classes", a->num_classes);
    cJSON_AddNumberToObject(j, "channels", a->channels);
    cJSON_AddNumberToObject(j, "height", a->height);
    cJSON_AddNumberToObject(j, "width", a->width);
    cJSON_AddNumberToObject(j, "max_dets", a->max_dets);
    cJSON_AddNumberToObject(j, "score_threshold", a->score_threshold);
    cJSON_AddNumberToObject(j, "nms_iou", a->nms_iou);
    cJSON_AddNumberToObject(j, "seed", (double)(a->seed & ((1ull << 53) - 1)));
    if (d->names && (names = cJSON_CreateArray()))
        for (int c = 0; c < a->num_classes; c++)
            cJSON_AddItemToArray(names, cJSON_CreateString(d->names[c]));
    if (names)
        cJSON_AddItemToObject(j, "class_names", names);
    for (int i = 0; i < d->nmodels; i++)
        cJSON_AddItemToArray(models, cJSON_CreateString(fv_model_name(d->models[i])));
    cJSON_AddItemToObject(j, "models", models);
    return j;
}

fv_status fv_detector_save(const fv_detector *d, const char *dir)
{
    if (!d || !dir)
        return fv_err(FV_ERR_INVALID, "detector save: NULL argument");
    if (strlen(dir) > 900)
        return fv_err(FV_ERR_INVALID, "detector save: folder name too long");
    FV_TRY(make_dir(dir));
    char path[1024];
    for (int i = 0; i < d->nmodels; i++) {
        snprintf(path, sizeof path, "%s/%s.fv", dir, fv_model_name(d->models[i]));
        FV_TRY(fv_model_save_file(d->models[i], path));
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, fv_model_name(d->models[i]));
        FV_TRY(fv_model_save_weights(d->models[i], path));
    }
    cJSON *j = settings_json(d);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return fv_err(FV_ERR_NOMEM, "detector save: out of memory writing the settings");
    snprintf(path, sizeof path, "%s/detector.json", dir);
    fv_atomic_file af;
    fv_status st = fv_atomic_open(&af, path);
    if (st == FV_OK) {
        fputs(text, af.f), fputc('\n', af.f);
        st = fv_atomic_commit(&af);
    }
    cJSON_free(text);
    return st;
}

/* ---------------------------------------------------------------- loading */

/* A whole number field within [lo, hi] into *out (absent: left as is). */
static fv_status int_field(const cJSON *j, const char *key, int lo, int hi, int *out,
                           const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v)
        return FV_OK;
    double x = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(x >= lo && x <= hi && x == (double)(int)x))
        return fv_err(FV_ERR_FORMAT, "%s: '%s' must be a whole number in [%d, %d]", path, key, lo,
                      hi);
    *out = (int)x;
    return FV_OK;
}

static fv_status float_field(const cJSON *j, const char *key, float *out, const char *path)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!v)
        return FV_OK;
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1))
        return fv_err(FV_ERR_FORMAT, "%s: '%s' must be a number in [0, 1]", path, key);
    *out = (float)v->valuedouble;
    return FV_OK;
}

static fv_status read_args(const cJSON *j, fv_detector_args *a, const char ***names,
                           const char *path)
{
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j, "arch");
    if (!cJSON_IsObject(j) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "fovea detector"))
        return fv_err(FV_ERR_FORMAT, "%s: not a fovea detector's settings", path);
    if (!cJSON_IsString(arch))
        return fv_err(FV_ERR_FORMAT, "%s: 'arch' missing or not a string", path);
    a->arch = arch->valuestring;
    FV_TRY(int_field(j, "num_classes", 1, 1000, &a->num_classes, path));
    FV_TRY(int_field(j, "channels", 1, 3, &a->channels, path));
    FV_TRY(int_field(j, "height", 16, 4096, &a->height, path));
    FV_TRY(int_field(j, "width", 16, 4096, &a->width, path));
    FV_TRY(int_field(j, "max_dets", 1, 100000, &a->max_dets, path));
    FV_TRY(float_field(j, "score_threshold", &a->score_threshold, path));
    FV_TRY(float_field(j, "nms_iou", &a->nms_iou, path));
    int seed = 0;
    FV_TRY(int_field(j, "seed", 0, 2147483647, &seed, path));
    a->seed = (uint64_t)seed;
    const cJSON *cn = cJSON_GetObjectItemCaseSensitive(j, "class_names");
    if (!cn)
        return FV_OK;
    if (!cJSON_IsArray(cn) || cJSON_GetArraySize(cn) != a->num_classes)
        return fv_err(FV_ERR_FORMAT, "%s: 'class_names' must be %d strings", path,
                      a->num_classes);
    *names = fv_calloc((size_t)a->num_classes, sizeof(char *), "detector: class names");
    if (!*names)
        return fv_last_status();
    int c = 0;
    for (const cJSON *v = cn->child; v; v = v->next, c++) {
        if (!cJSON_IsString(v))
            return fv_err(FV_ERR_FORMAT, "%s: class name %d is not a string", path, c);
        (*names)[c] = v->valuestring;
    }
    a->class_names = *names;
    return FV_OK;
}

/* The saved models' names must be the rebuilt detector's, in order. */
static fv_status check_models(const fv_detector *d, const cJSON *j, const char *path)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "models");
    if (!cJSON_IsArray(m) || cJSON_GetArraySize(m) != d->nmodels)
        return fv_err(FV_ERR_FORMAT, "%s: 'models' must list the %d models of %s", path,
                      d->nmodels, d->impl->name);
    int i = 0;
    for (const cJSON *v = m->child; v; v = v->next, i++)
        if (!cJSON_IsString(v) || strcmp(v->valuestring, fv_model_name(d->models[i])) != 0)
            return fv_err(FV_ERR_FORMAT, "%s: model %d is not '%s'", path, i,
                          fv_model_name(d->models[i]));
    return FV_OK;
}

/* DIR/NAME.fv must describe the model the settings rebuilt; then its weights are read. */
static fv_status load_model(fv_model *m, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.fv", dir, fv_model_name(m));
    unsigned char *saved;
    size_t len;
    FV_TRY(fv_read_file(path, 64u << 20, &saved, &len));
    char *built = fv_model_to_text(m);
    int same = built && strcmp((const char *)saved, built) == 0;
    fv_free(saved);
    free(built);
    if (!same)
        return fv_err(FV_ERR_FORMAT, "%s: not the model this detector's settings build (saved "
                      "by another version, or edited)", path);
    snprintf(path, sizeof path, "%s/%s.safetensors", dir, fv_model_name(m));
    return fv_model_load_weights(m, path);
}

fv_detector *fv_detector_load(const char *dir)
{
    if (!dir || strlen(dir) > 900) {
        fv_err(FV_ERR_INVALID, "detector load: no folder, or its name is too long");
        return NULL;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/detector.json", dir);
    unsigned char *buf;
    size_t len;
    if (fv_read_file(path, DET_JSON_MAX, &buf, &len) != FV_OK)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    fv_free(buf);
    if (!j) {
        fv_err(FV_ERR_FORMAT, "%s: malformed JSON", path);
        return NULL;
    }
    fv_detector_args a = {0};
    const char **names = NULL;
    fv_detector *d = NULL;
    if (read_args(j, &a, &names, path) == FV_OK && (d = fv_detector_new_(a)) &&
        check_models(d, j, path) == FV_OK) {
        for (int i = 0; d && i < d->nmodels; i++)
            if (load_model(d->models[i], dir) != FV_OK)
                fv_detector_free(d), d = NULL;
    } else if (d) {
        fv_detector_free(d), d = NULL;
    }
    fv_free(names);
    cJSON_Delete(j);
    return d;
}
