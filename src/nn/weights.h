/* weights.h - weights files inside the library (nn/weights.c): the __metadata__ a model carries
 * (fv_model_set_meta's class names, normalization, data set; its input shape and architecture
 * text) as safetensors key/value pairs, and writing the parameters with them. formats/ adds the
 * architecture text, which only it can make. */
#ifndef FV_NN_WEIGHTS_H
#define FV_NN_WEIGHTS_H

#include "core/internal.h"
#include "io/io.h"

/* The metadata keys of a weights file (all values strings, JSON where structured). */
#define FV_META_VERSION "fovea_version"
#define FV_META_ARCH "architecture"     /* the model text format (fv_model_to_text) */
#define FV_META_CLASSES "class_names"   /* a JSON array of strings, one per output */
#define FV_META_INPUT "input_shape"     /* a JSON array of one sample's dimensions */
#define FV_META_NORM "normalization"    /* {"mean": m, "std": s}: x' = (x - m) / s */
#define FV_META_DATASET "dataset"       /* the training data set's name */

/* Key, value, ..., NULL for fv_st_save_meta; `owned` the strings to free. */
typedef struct fv_meta_pairs {
    const char *kv[24];
    char *owned[8];
    int n, nowned;
} fv_meta_pairs;
/* The model's metadata; arch: the architecture text (NULL: the one cached by fv_model_set_meta,
 * if any). Free with fv_meta_pairs_free (also after an error). */
fv_status fv_meta_pairs_of(const fv_model *m, const char *arch, fv_meta_pairs *p);
void fv_meta_pairs_free(fv_meta_pairs *p);
/* Adds key = value (not copied: it must outlive p's use). */
fv_status fv_meta_pairs_add(fv_meta_pairs *p, const char *key, const char *value);
/* A tensor viewing parameter i of m (its data in the model's slab). */
void fv_param_view(const fv_model *m, int i, fv_tensor *v);

/* Int8 model files (quantize.c): the metadata key marking one (its value the format's version,
 * FV_INT8_VERSION), the writer and the loader fv_model_load_weights_st hands such a file to. */
#define FV_META_INT8 "fovea_int8"
#define FV_INT8_VERSION "1"
fv_status fv_quant_write(const fv_model *m, const char *path, const char *arch);
fv_status fv_quant_load_st(fv_model *m, const fv_st_file *f);

/* The parameters as safetensors with the model's metadata (architecture text `arch`, or NULL). */
fv_status fv_weights_write(const fv_model *m, const char *path, const char *arch);

#endif /* FV_NN_WEIGHTS_H */
