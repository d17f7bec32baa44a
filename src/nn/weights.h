/* weights.h - weights files inside the library (nn/weights.c): the __metadata__ a model carries
 * (fv_model_set_meta's class names, normalization, data set; its input shape and architecture
 * text) as safetensors key/value pairs, and writing the parameters with them. formats/ adds the
 * architecture text, which only it can make. */
#ifndef FV_NN_WEIGHTS_H
#define FV_NN_WEIGHTS_H

#include "core/internal.h"

/* The metadata keys of a weights file (all values strings, JSON where structured). */
#define FV_META_VERSION "fovea_version"
#define FV_META_ARCH "architecture"     /* the model text format (fv_model_to_text) */
#define FV_META_CLASSES "class_names"   /* a JSON array of strings, one per output */
#define FV_META_INPUT "input_shape"     /* a JSON array of one sample's dimensions */
#define FV_META_NORM "normalization"    /* {"mean": m, "std": s}: x' = (x - m) / s */
#define FV_META_DATASET "dataset"       /* the training data set's name */

/* Key, value, ..., NULL for fv_st_save_meta; `owned` the strings to free. */
typedef struct fv_meta_pairs {
    const char *kv[16];
    char *owned[8];
    int n, nowned;
} fv_meta_pairs;
/* The model's metadata; arch: the architecture text (NULL: the one cached by fv_model_set_meta,
 * if any). Free with fv_meta_pairs_free (also after an error). */
fv_status fv_meta_pairs_of(const fv_model *m, const char *arch, fv_meta_pairs *p);
void fv_meta_pairs_free(fv_meta_pairs *p);

/* The parameters as safetensors with the model's metadata (architecture text `arch`, or NULL). */
fv_status fv_weights_write(const fv_model *m, const char *path, const char *arch);

#endif /* FV_NN_WEIGHTS_H */
