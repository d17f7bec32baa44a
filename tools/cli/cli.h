/* cli.h - what the command files of the fovea CLI share: the parsed options, the one-line
 * failure, model and data loading, output folders, class names and the figures that both
 * `visualize` and the training report draw. */
#ifndef FV_CLI_H
#define FV_CLI_H

#include "fovea.h"

#include <stdint.h>
#include <stdio.h>

#define DEFAULT_MODEL "models/lenet5.fv"
/* The longest --out, --data or --weights: output paths are composed in 1100-byte buffers. */
#define PATH_OPT_MAX 960
/* Pixels in [0, 1] mapped to [-1, 1]: the same fixed normalization for training and prediction. */
#define NORM_MEAN 0.5f
#define NORM_STD 0.5f

typedef struct opts {
    const char *model, *data, *out, *weights, *optimizer, *metrics_csv, *schedule;
    const char *image, *layer; /* visualize */
    int cls;
    int knn_k, knn_l1; /* knn */
    const char *pos[64];
    int npos, epochs, batch, limit, seed, quiet, threads, warmup, patience, resume, steps;
    fv_augment aug;
    int classes, in_c, in_h, in_w, aux, stride_first; /* zoo networks */
    int rs_h, rs_w; /* --resize H[,W]: images converted to the model's input of that size */
    double alpha;
    double lr, momentum, clip_norm;
} opts;

/* The commands, one file each; each returns the process's exit status. */
int cmd_train(const opts *o);
int cmd_eval(const opts *o);
int cmd_predict(const opts *o);
int cmd_summary(const opts *o);
int cmd_zoo(const opts *o);
int cmd_visualize(const opts *o);
int cmd_knn(const opts *o);
int cmd_bench(const opts *o);

/* common.c */
int fail(const char *what); /* prints "fovea: what", returns 1 */
int fail_lib(void);         /* fail(fv_last_error()) */
fv_schedule schedule_for(const opts *o, int64_t n);
int is_zoo(const char *path);
fv_model *open_model(const opts *o, const char *path, int c, int h, int w, int classes);
fv_model *load_compiled(const opts *o, const char *path, int c, int h, int w, int classes);
fv_dataset *load_data(const opts *o, int train);
int fit_inputs(const opts *o, const char *path, fv_model *m, fv_dataset *lazy, fv_dataset *now);
void default_out(const char *name, char *out, size_t len);
int make_dir(const char *path);
const char *class_name(int k, int64_t classes);
char **names_for(const fv_dataset *d, int64_t k);
void free_names(char **v, int64_t k);

/* isa.c: --isa LEVEL (taken out of argv) or FOVEA_ISA applied; the levels printed. */
int apply_isa(int *argc, char **argv);
void print_isa(void);

/* eval.c: every metric and its figures into dir; *keep (or NULL) takes the metrics. */
int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir,
                   fv_metrics **keep);

/* figures.c */
void conv_layers(const fv_model *m, int *first, int *last_map);
fv_tensor *as_batch(const float *data, const int64_t *chw);
int write_filters(fv_model *m, int layer, const char *path);
int write_maps(fv_model *m, const fv_tensor *img, int layer, const char *path);
int write_saliency(fv_model *m, const fv_tensor *img, int cls, int layer, const char *path,
                   const fv_dataset *test);
int write_deconv(fv_model *m, const fv_tensor *img, int layer, const char *path);
int write_class_models(fv_model *m, const fv_dataset *test, const int64_t *chw,
                       const char *path);
int write_misclassified(const fv_tensor *out, const fv_dataset *test, const char *path,
                        int *wrote);
int write_mistakes(fv_model *m, const fv_dataset *test, const char *path, int *wrote);

/* report.c: OUT/report.html after training, with the test metrics and figures. */
int write_report(fv_model *m, const fv_dataset *test, const char *out, const opts *o,
                 const fv_epoch_metrics *hist, int ran, double secs);

#endif /* FV_CLI_H */
