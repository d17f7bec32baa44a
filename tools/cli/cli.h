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
/* The share of the training data `train` holds out for validation unless told otherwise. */
#define DEFAULT_VAL_SPLIT 0.1

typedef struct opts {
    const char *model, *data, *out, *weights, *optimizer, *metrics_csv, *schedule;
    const char *image, *layer; /* visualize */
    const char *target, *labels, *test, *test_labels; /* vector data (vector.c) */
    fv_loss loss; /* --loss: softmax cross-entropy (default), mse, mae, huber */
    const char *val_dir;       /* train: --val DIR */
    double val_split;          /* train: --val-split F; -1: the default (DEFAULT_VAL_SPLIT) */
    int cls;
    int knn_k, knn_l1; /* knn */
    const char *pos[64];
    int npos, epochs, batch, limit, seed, quiet, threads, warmup, patience, resume, steps;
    fv_augment aug;
    int classes, in_c, in_h, in_w, aux, stride_first, no_top; /* zoo networks */
    int rs_h, rs_w; /* --resize H[,W]: images converted to the model's input of that size */
    double alpha;
    double lr, momentum, clip_norm;
    /* transfer learning (train): --weights is the starting point */
    const char *freeze, *freeze_to;
    int skip_mismatched, new_head, finetune_epochs, per_class;
    int compare_scratch; /* train: --compare-scratch */
    double finetune_lr;
    const char *onnx, *sample; /* export: --onnx FILE, --sample DIR */
    int opset;                 /* export: --opset N (0: 13) */
    const char *scene_train;   /* scenes: --train N (its --test N is `test`) */
    int scene_size;            /* scenes: --size S (0: 300) */
    const char *mode;          /* proposals: --mode fast|quality|single */
    int max_boxes;             /* proposals: --max N, the boxes written (0: all) */
    int sync_bn;               /* train under mpirun: --sync-bn */
    int calibrate;             /* quantize: --calibrate N images */
    const char *qmethod;       /* quantize: --method minmax|percentile */
    double percentile;         /* quantize: --percentile P (0: 99.99) */
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
int cmd_ensemble(const opts *o);
int cmd_import(const opts *o);
int cmd_export(const opts *o);
int cmd_proposals(const opts *o);
int cmd_quantize(const opts *o); /* quantize.c */
/* darknet.c: `fovea darknet`; predict's path for X.cfg --weights X.weights */
int cmd_darknet(const opts *o);
int darknet_predict(const opts *o);
int is_darknet_weights(const char *path);
int cmd_scenes(const opts *o); /* scenes.c */
/* common.c: strict option values (the whole string a number in range; -1 otherwise) */
int cli_parse_int(const char *s, int lo, int hi, int *out);
/* The options of a command that parses its own (segment, caption): words into pos (at most
 * maxpos), --quiet, and each "-x VALUE" handed to one, which sets *takes (1: it used the value,
 * -1: unknown option) and returns nonzero for a bad value. 0, or -1 after printing why. */
/* An int option of a table: its name, range and the field's offset in the options struct. */
typedef struct cli_int_opt {
    const char *name;
    int lo, hi;
    size_t at;
} cli_int_opt;
/* Option a of the table set from v: 0, 1 for a bad value, -1 when a is not in the table. */
int cli_int_option(void *o, const char *a, const char *v, const cli_int_opt *t, size_t n);
/* A string option of a table (alias may be NULL); path: at most PATH_OPT_MAX bytes. */
typedef struct cli_str_opt {
    const char *name, *alias;
    size_t at;
    int path;
} cli_str_opt;
/* Option a of the table set to v: 0, 1 for a path too long, -1 when a is not in the table. */
int cli_str_option(void *o, const char *a, const char *v, const cli_str_opt *t, size_t n);
/* A command's options: string and int tables, and --lr (a double in (0, 10) at lr_at). */
typedef struct cli_opt_table {
    const cli_str_opt *strs;
    size_t nstrs;
    const cli_int_opt *ints;
    size_t nints;
    size_t lr_at;
} cli_opt_table;
/* A cli_opt_fn over a table: *takes 1, or -1 for an option not in it; 1 for a bad value. */
int cli_table_option(void *o, const char *a, const char *v, const cli_opt_table *t, int *takes);
typedef int (*cli_opt_fn)(void *o, const char *a, const char *v, int *takes);
/* A run's model with its weights (DIR/model.fv, DIR/weights.safetensors), compiled (segment,
 * caption); NULL with the error. */
fv_model *cli_open_run(const char *dir);
/* The digits of MNIST's training or test split from --data, else data/mnist. */
fv_dataset *cli_mnist_split(const char *data, int train);
int cli_parse_own(int argc, char **argv, const char *cmd, void *o, cli_opt_fn one,
                  const char **pos, int *npos, int maxpos, int *quiet);
int cli_parse_double(const char *s, double *out);
/* common.c: the train / eval / predict commands (detect, segment): sets the threads and returns
 * which of the three the positional words name (0, 1, 2; "train" takes no more words); else
 * the exit status negated: -2 after a usage line ("fovea CMD: train, eval or predict"), -1
 * after the threads' error. */
int cli_subcommand(const char *cmd, const char *const *pos, int npos, int threads);
int cmd_detect(int argc, char **argv); /* detect.c: parses its own options */
int cmd_segment(int argc, char **argv); /* segment.c: parses its own options */
int cmd_caption(int argc, char **argv); /* caption.c: parses its own options */
int cmd_gan(int argc, char **argv);    /* gan.c: parses its own options */
int cmd_gan_score(int argc, char **argv); /* gan_score.c: parses its own options */
/* gan.c: --data of gan and gan-score: fashion or NULL the default Fashion-MNIST, mnist
 * data/mnist, else the folder itself */
const char *gan_data_dir(const char *data);

/* validation.c: the data `train` fits on and the validation set it watches, and where they come
 * from (the training report says which split each figure is from). */
typedef struct split_info {
    int64_t train, val, test; /* images in each split (val 0: no validation set) */
    double fraction;          /* the share of the training data held out (0: none or --val) */
    const char *val_dir;      /* --val DIR, or NULL */
} split_info;
/* *train and *val (NULL with --val-split 0) from --data's training split and --val-split or
 * --val; info's train, val, fraction and val_dir filled. Returns 0, or 1 after printing why. */
int load_train_val(const opts *o, const data_src *src, fv_dataset **train, fv_dataset **val,
                   split_info *info);

/* common.c */
int fail(const char *what); /* prints "fovea: what", returns 1 */
int fail_lib(void);         /* fail(fv_last_error()) */
int is_zoo(const char *path);
fv_model *open_model(const opts *o, const char *path, int c, int h, int w, int classes);
fv_model *load_compiled(const opts *o, const char *path, int c, int h, int w, int classes);
int compile_cli(const opts *o, fv_model *m);
fv_optimizer optimizer_for(const opts *o, double lr);
int is_model_arg(const char *arg);
/* Whether the first positional argument is a model file holding its weights (.onnx). */
int model_holds_weights(const opts *o);
fv_model *load_trained(const opts *o, const char *path, const fv_weights_info *info, int c,
                       int h, int w, int classes);
fv_weights_info *weights_info(const opts *o);
void data_source(const opts *o, const fv_weights_info *info, data_src *s);
/* The start of a command (cmd) that runs a trained model on data: the weights (or a model
 * holding them) must be given; their description, with the data to use in *s (data_source).
 * NULL after saying why not. */
fv_weights_info *trained_on(const opts *o, const char *cmd, data_src *s);
const char *data_name(const data_src *s, char *buf, size_t len);
fv_dataset *load_data_src(const opts *o, const data_src *s, int train);
fv_dataset *load_data(const opts *o, int train);
int fit_inputs(const opts *o, const char *path, fv_model *m, fv_dataset *lazy, fv_dataset *now);
void default_out(const char *name, char *out, size_t len);
int make_dir(const char *path);
const char *class_name(int k, int64_t classes);

/* vector.c: --data FILE.csv|FILE.npy, and regression's metrics. */
int is_vector_file(const char *path);
int is_regression(const opts *o);
int check_vector_opts(const opts *o); /* 0, or the failure printed and 1 */
fv_dataset *load_vector(const opts *o, int train);
int report_regression(fv_model *m, const fv_dataset *test, const char *dir);

/* isa.c: --isa LEVEL (taken out of argv) or FOVEA_ISA applied; the levels printed. */
int apply_isa(int *argc, char **argv);
void print_isa(void);

/* eval.c: every metric of the class probabilities `out` and its figures into dir (the
 * library's fv_evaluation_write), the headline printed. */
int report_metrics(const fv_dataset *test, const fv_tensor *out, const char *dir);
/* The metrics' headline and where their files are. */
void print_metrics(const fv_metrics *mt, const char *dir);

/* ensemble.c: DIR/probabilities.csv of probs (n x k) with d's labels (fv_probs_write). */
int write_probabilities(const fv_dataset *d, const fv_tensor *probs, const char *dir);

#endif /* FV_CLI_H */
