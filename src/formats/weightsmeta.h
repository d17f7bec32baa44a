/* weightsmeta.h - a weights file's __metadata__ and its model from an open safetensors file
 * (formats/weightsmeta.c), for the public readers and the safetensors fuzz target. */
#ifndef FV_FORMATS_WEIGHTSMETA_H
#define FV_FORMATS_WEIGHTSMETA_H

#include "io/io.h"

/* The metadata of f as fv_weights_info_read gives it (NULL with a one-line error naming f). */
fv_weights_info *fv_weights_info_of(const fv_st_file *f);
/* The model f describes, as fv_model_from_weights builds it (NULL with the error). */
fv_model *fv_model_from_st(const fv_st_file *f, fv_compile_args a);

#endif /* FV_FORMATS_WEIGHTSMETA_H */
