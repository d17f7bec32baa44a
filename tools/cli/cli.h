/* cli.h - what the command files of the fovea CLI share: the parsed options, the one-line
 * failure, model and data loading, output folders and the default class names. */
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
    int classes, in_c, in_h, in_w, aux, stride_first, no_top; /* zoo networks */
    double alpha;
    double lr, momentum, clip_norm;
    /* transfer learning (train): --weights is the starting point */
    const char *freeze, *freeze_to;
    int skip_mismatched, new_head, finetune_epochs, per_class;
    double finetune_lr;
} opts;

/* Where a command's data come from and how they are normalized: --data, or the data set a
 * weights file names when it is found here; its normalization, else NORM_MEAN / NORM_STD. */
typedef struct data_src {
    const char *dir; /* NULL: the default data */
    char buf[1000];
    float mean, std;
} data_src;

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
int is_zoo(const char *path);
fv_model *open_model(const opts *o, const char *path, int c, int h, int w, int classes);
fv_model *load_compiled(const opts *o, const char *path, int c, int h, int w, int classes);
int compile_cli(const opts *o, fv_model *m);
fv_optimizer optimizer_for(const opts *o, double lr);
int is_model_arg(const char *arg);
fv_model *load_trained(const opts *o, const char *path, const fv_weights_info *info, int c,
                       int h, int w, int classes);
fv_weights_info *weights_info(const opts *o);
void data_source(const opts *o, const fv_weights_info *info, data_src *s);
const char *data_name(const data_src *s, char *buf, size_t len);
fv_dataset *load_data_src(const opts *o, const data_src *s, int train);
fv_dataset *load_data(const opts *o, int train);
void default_out(const char *name, char *out, size_t len);
int make_dir(const char *path);
const char *class_name(int k, int64_t classes);

/* isa.c: --isa LEVEL (taken out of argv) or FOVEA_ISA applied; the levels printed. */
int apply_isa(int *argc, char **argv);
void print_isa(void);

/* eval.c: every metric of the class probabilities `out` and its figures into dir (the
 * library's fv_evaluation_write), the headline printed. */
int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir);

#endif /* FV_CLI_H */
