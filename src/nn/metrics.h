/* metrics.h - what metrics.c (classification figures, calibration), metrics_curves.c (ROC and
 * precision-recall curves, AUC, average precision), metrics_write.c (JSON, CSV) and
 * metrics_regression.c share. */
#ifndef FV_METRICS_H
#define FV_METRICS_H

#include "core/internal.h"

struct cJSON;

/* Validates the inputs of every metrics function; errors name the sample and class. */
fv_status fv_metrics_check(const double *scores, const int *labels, int64_t n, int k);

/* Fills m->auc, auc_macro, auc_micro, ap, ap_macro and ap_micro (inputs already checked). */
fv_status fv_metrics_ranking(const double *scores, const int *labels, fv_metrics *m);

/* Prints root (taken and freed; NULL: building it ran out of memory) to the file at path,
 * atomically, with a final newline: the metrics JSON files. */
fv_status fv_metrics_json_to_file(struct cJSON *root, const char *path);

/* Adds item to obj under key; 0 when it cannot (item NULL: building it ran out of memory, or
 * adding it failed; the item is freed), so a JSON object is built as one chain of &&. */
int fv_json_put(struct cJSON *obj, const char *key, struct cJSON *item);

/* A probabilities CSV (fv_probs_read's format) from len bytes of text; text[len] must be a NUL
 * (the fuzz target feeds it bytes). Errors start with `name`. */
fv_status fv_probs_decode(const char *name, const char *text, size_t len, fv_probs *out);

#endif /* FV_METRICS_H */
