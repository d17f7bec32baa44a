/* common.c - what the commands share: the one-line failure, opening a model (a file, a zoo
 * network, or the architecture a weights file carries) and compiling it for the options, finding,
 * loading and normalizing data and fitting its images to the model's input, output folders and
 * class names. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fail(const char *what)
{
    fprintf(stderr, "fovea: %s\n", what && *what ? what : "unknown error");
    return 1;
}

int fail_lib(void) { return fail(fv_last_error()); }

/* A zoo name (a bare word, no such file and no ".fv"): the network for input (c, h, w) and `classes` (the
 * options win; 0: the network's defaults). */
int is_zoo(const char *path)
{
    struct stat st;
    size_t n = strlen(path);
    /* a bare word that is no file is a zoo name (fv_zoo names the unknown ones) */
    return stat(path, &st) != 0 && !(n > 3 && strcmp(path + n - 3, ".fv") == 0) &&
           !strchr(path, '/');
}

fv_model *open_model(const opts *o, const char *path, int c, int h, int w, int classes)
{
    if (!is_zoo(path))
        return fv_model_load_file(path);
    if (o->in_c)
        c = o->in_c, h = o->in_h, w = o->in_w;
    else if (o->rs_h)
        h = o->rs_h, w = o->rs_w;
    return fv_zoo(path, .num_classes = o->classes ? o->classes : classes, .channels = c,
                  .height = h, .width = w, .width_mult = (float)o->alpha, .aux_logits = o->aux,
                  .stride_first = o->stride_first, .no_top = o->no_top);
}

/* The optimizer of the options at learning rate lr (0: the optimizer's default). */
fv_optimizer optimizer_for(const opts *o, double lr)
{
    fv_optim_kind kind = (fv_optim_kind)fv_optim_from_name(o->optimizer);
    fv_optimizer opt = {.kind = kind, .lr = (float)lr, .clip_norm = (float)o->clip_norm};
    if (kind == FV_OPTIM_SGD) /* --momentum (default 0.9) is SGD's */
        opt.momentum = (float)o->momentum;
    return opt;
}

/* Compiles m for the options; non-zero (the error in fv_last_error) on failure. */
int compile_cli(const opts *o, fv_model *m)
{
    /* mixing blends targets: categorical CE on (one-hot) distributions, the same loss */
    int mixing = o->aug.mixup > 0 || o->aug.cutmix > 0;
    fv_loss loss = o->loss == FV_LOSS_SOFTMAX_CE && mixing ? FV_LOSS_CATEGORICAL_CE : o->loss;
    return fv_model_compile(m, .loss = loss, .optimizer = optimizer_for(o, o->lr),
                            .seed = (uint64_t)o->seed) != FV_OK;
}

/* The model for data of (c, h, w) images in `classes` classes (0: unknown), compiled. */
fv_model *load_compiled(const opts *o, const char *path, int c, int h, int w, int classes)
{
    fv_model *m = open_model(o, path, c, h, w, classes);
    if (m && compile_cli(o, m)) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* Whether a command's first argument names a model (MODEL.fv or a zoo network) rather than an
 * image: the model may be left out where the weights file carries the architecture. */
/* Whether path names a model file that holds its own weights (ONNX). */
static int holds_weights(const char *path)
{
    size_t n = strlen(path);
    return n > 5 && strcmp(path + n - 5, ".onnx") == 0;
}

int model_holds_weights(const opts *o)
{
    return o->npos > 0 && holds_weights(o->pos[0]);
}

int is_model_arg(const char *arg)
{
    size_t n = strlen(arg);
    if ((n > 3 && strcmp(arg + n - 3, ".fv") == 0) || holds_weights(arg))
        return 1;
    for (int i = 0; fv_zoo_name(i); i++)
        if (strcmp(arg, fv_zoo_name(i)) == 0)
            return 1;
    return 0;
}

/* --weights opened by weights_info and kept for load_trained, so the file is read once (a .pt
 * is read and decoded whole when opened); closed when load_trained has used it, or at exit. */
static fv_weights_file *kept_file;
static const char *kept_path;

static void close_kept(void)
{
    fv_weights_file_close(kept_file);
    kept_file = NULL, kept_path = NULL;
}

/* --weights' metadata, or NULL with the error. */
fv_weights_info *weights_info(const opts *o)
{
    /* a model holding its weights and no --weights: nothing described (the data set's defaults) */
    if (!o->weights && model_holds_weights(o))
        return fv_weights_info_new();
    static int registered;
    if (!registered)
        registered = atexit(close_kept) == 0;
    close_kept();
    if (!o->weights)
        return fv_weights_info_read(NULL); /* its error */
    fv_weights_file *f = fv_weights_file_open(o->weights);
    fv_weights_info *info = f ? fv_weights_file_info(f) : NULL;
    if (info)
        kept_file = f, kept_path = o->weights;
    else
        fv_weights_file_close(f);
    return info;
}

/* The open --weights file weights_info kept (NULL: none, then the path is opened). */
static fv_weights_file *kept_weights(const opts *o)
{
    return kept_file && o->weights && kept_path == o->weights ? kept_file : NULL;
}

/* A trained model: `path` (MODEL.fv or a network, built for (c, h, w) and `classes`) when given,
 * else the one the weights file describes; compiled, with every parameter of --weights loaded
 * and the file's class names checked against its outputs. */
fv_model *load_trained(const opts *o, const char *path, const fv_weights_info *info, int c,
                       int h, int w, int classes)
{
    char msg[1200];
    if (!path && !info->architecture) {
        snprintf(msg, sizeof msg, "%.1000s: the file does not describe its model (no "
                 "architecture in its metadata): give MODEL.fv", o->weights);
        fail(msg);
        return NULL;
    }
    fv_weights_file *kept = kept_weights(o);
    if (!path) { /* checked against the file's tensors before anything is allocated */
        fv_compile_args a = {.loss = o->loss, .optimizer = optimizer_for(o, o->lr),
                             .seed = (uint64_t)o->seed};
        fv_model *m = kept ? fv_model_from_weights_file_(kept, a)
                           : fv_model_from_weights_(o->weights, a);
        close_kept();
        if (!m)
            fail_lib();
        return m;
    }
    fv_model *m = load_compiled(o, path, c, h, w, classes);
    fv_status st = FV_OK;
    if (m && o->weights)
        st = kept ? fv_model_load_weights_file(m, kept) : fv_model_load_weights(m, o->weights);
    close_kept();
    if (!m || st != FV_OK) {
        fv_model_free(m);
        fail_lib();
        return NULL;
    }
    if (fv_model_set_meta(m, .class_names = (const char *const *)info->class_names,
                          .num_classes = info->num_classes, .mean = info->mean,
                          .std = info->std, .dataset = info->dataset) != FV_OK) {
        snprintf(msg, sizeof msg, "%.500s: %.600s", o->weights, fv_last_error());
        fv_model_free(m);
        fail(msg);
        return NULL;
    }
    return m;
}

/* A folder: dir itself when it is one; a bare word naming none: data/WORD (where
 * scripts/get-mnist.sh puts MNIST); NULL when neither is. */
static const char *find_dir(const char *dir, char *buf, size_t len)
{
    struct stat st;
    if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return dir;
    snprintf(buf, len, "data/%s", dir);
    if (!strchr(dir, '/') && stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
        return buf;
    return NULL;
}

/* The last component of a folder's path ("mnist" for data/mnist/). */
const char *data_name(const data_src *s, char *buf, size_t len)
{
    return fv_folder_name(s->dir ? s->dir : fv_default_data_dir(), buf, len);
}

fv_weights_info *trained_on(const opts *o, const char *cmd, data_src *s)
{
    if (!o->weights && !model_holds_weights(o)) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s needs --weights FILE (and MODEL.fv when the weights file "
                 "does not describe its model), or a MODEL.onnx", cmd);
        fail(msg);
        return NULL;
    }
    fv_weights_info *info = weights_info(o);
    if (!info)
        fail_lib();
    else
        data_source(o, info, s);
    return info;
}

void data_source(const opts *o, const fv_weights_info *info, data_src *s)
{
    s->mean = info && info->has_normalization ? info->mean : NORM_MEAN;
    s->std = info && info->has_normalization ? info->std : NORM_STD;
    s->dir = NULL;
    if (o->data) { /* a folder, or a name under data/; else as given, for the loader's error */
        const char *d = find_dir(o->data, s->buf, sizeof s->buf);
        s->dir = d ? d : o->data;
        return;
    }
    char def[256];
    data_src dflt = {.dir = NULL};
    if (!info || !info->dataset || strcmp(info->dataset, data_name(&dflt, def, sizeof def)) == 0)
        return; /* the default data */
    if ((s->dir = find_dir(info->dataset, s->buf, sizeof s->buf)))
        return;
    snprintf(s->buf, sizeof s->buf, "%s", info->dataset);
    if (strncmp(s->buf, "mnist-", 6) == 0 && fv_distortion_from_name(s->buf) >= 0) {
        s->dir = s->buf; /* a distorted MNIST set, made again */
        return;
    }
    fprintf(stderr, "fovea: note: the weights were trained on '%s', not found here (give "
            "--data DIR); using the default data\n", info->dataset);
}

/* --data mnist-r, mnist-rts, mnist-p, mnist-e (no such folder): the spatial transformer
 * paper's distorted MNIST, made from data/mnist's digits of the split (training seed 1, test
 * seed 2; --limit digits). -1: s is no such name. */
static int distorted_kind(const data_src *s)
{
    struct stat st;
    if (!s->dir || strncmp(s->dir, "mnist-", 6) != 0 || stat(s->dir, &st) == 0)
        return -1;
    return fv_distortion_from_name(s->dir);
}

static fv_dataset *load_distorted(const opts *o, int kind, int train)
{
    fv_dataset *digits = fv_dataset_load_dir_n("data/mnist", train, o->limit);
    if (!digits)
        return NULL; /* the error names data/mnist's files */
    fv_dataset *d = fv_dataset_distort(digits, (fv_distortion)kind, train ? 1 : 2);
    fv_dataset_free(digits);
    return d;
}

fv_dataset *load_data_src(const opts *o, const data_src *s, int train)
{
    if (s->dir && is_vector_file(s->dir))
        return load_vector(o, train); /* used as loaded: no image normalization */
    int kind = distorted_kind(s);
    if (kind >= 0) {
        fv_dataset *t = load_distorted(o, kind, train);
        if (t && fv_dataset_normalize(t, s->mean, s->std) != FV_OK)
            fv_dataset_free(t), t = NULL;
        return t;
    }
    /* --limit N: only the first N samples are read at all; an image folder's images are
     * decoded at the size asked for (--resize, --input), else all must have the first's */
    fv_dataset *d = fv_dataset_load_dir_size(s->dir, train, o->limit, o->in_c,
                                             o->rs_h ? o->rs_h : o->in_h,
                                             o->rs_h ? o->rs_w : o->in_w);
    if (!d)
        return NULL;
    if (fv_dataset_normalize(d, s->mean, s->std) != FV_OK) {
        fv_dataset_free(d);
        return NULL;
    }
    return d;
}

/* Whether d's images have the shape in (C, H, W). */
static int fits(const fv_dataset *d, const int64_t *in)
{
    const int64_t *x = d->x->dims;
    return d->x->ndim != 4 || (x[1] == in[0] && x[2] == in[1] && x[3] == in[2]);
}

/* Data whose images differ from the model's input (C, H, W) are converted when asked (--resize,
 * or --input for a zoo network): `lazy` (or NULL) batch by batch as the model reads it
 * (fv_model_resize_inputs: any size, no copy), `now` (or NULL: a set whose images figures show)
 * at once (fv_dataset_resize, within the data limit). Not asked, it is an error saying how. */
int fit_inputs(const opts *o, const char *path, fv_model *m, fv_dataset *lazy, fv_dataset *now)
{
    int64_t in[4];
    char msg[400];
    if (fv_node_shape(m, 0, in) != 3 || ((!lazy || fits(lazy, in)) && (!now || fits(now, in))))
        return 0;
    const int64_t *x = (lazy && !fits(lazy, in) ? lazy : now)->x->dims;
    if (!o->rs_h && !(o->in_c && is_zoo(path))) {
        snprintf(msg, sizeof msg, "the data's images are %lldx%lldx%lld but the model's input is "
                 "%lldx%lldx%lld: --resize %lld,%lld converts them", (long long)x[1],
                 (long long)x[2], (long long)x[3], (long long)in[0], (long long)in[1],
                 (long long)in[2], (long long)in[1], (long long)in[2]);
        return fail(msg);
    }
    if (o->rs_h && (o->rs_h != in[1] || o->rs_w != in[2])) {
        snprintf(msg, sizeof msg, "--resize %d,%d, but the model's input is %lldx%lldx%lld",
                 o->rs_h, o->rs_w, (long long)in[0], (long long)in[1], (long long)in[2]);
        return fail(msg);
    }
    if (lazy && fv_model_resize_inputs(m, 1) != FV_OK)
        return fail_lib();
    if (now && fv_dataset_resize(now, (int)in[0], (int)in[1], (int)in[2]) != FV_OK) {
        snprintf(msg, sizeof msg, "%s; --limit N resizes fewer test images", fv_last_error());
        return fail(msg);
    }
    return 0;
}

fv_dataset *load_data(const opts *o, int train)
{
    data_src s;
    data_source(o, NULL, &s);
    return load_data_src(o, &s, train);
}

/* runs/NAME for a model name as a safe folder name: letters, digits, '.', '-' and '_' kept, any
 * other byte (a '/', a space, UTF-8) made '_', no leading '.' (so "../../x" stays under runs/),
 * at most 64 characters. */
void default_out(const char *name, char *out, size_t len)
{
    char safe[65];
    size_t n = 0;
    for (; name && name[n] && n < sizeof safe - 1; n++) {
        unsigned char c = (unsigned char)name[n];
        safe[n] = (isalnum(c) && c < 128) || c == '-' || c == '_' || (c == '.' && n > 0)
                      ? (char)c
                      : '_';
    }
    safe[n] = '\0';
    snprintf(out, len, "runs/%s", n ? safe : "model");
}

int make_dir(const char *path)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The name of class k when neither a data set nor the weights file names it: "class k" (a
 * guess from the number of outputs would name any 10-class model's classes Fashion-MNIST's). */
const char *class_name(int k, int64_t classes)
{
    static char buf[32];
    (void)classes;
    snprintf(buf, sizeof buf, "class %d", k);
    return buf;
}

/* Strict number parsing for every command's options: the whole string (NULL: none) must be a
 * number in range; 0, or -1 leaving *out unchanged. */
int cli_parse_own(int argc, char **argv, const char *cmd, void *o, cli_opt_fn one,
                  const char **pos, int *npos, int maxpos, int *quiet)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 0;
        if (strcmp(a, "--quiet") == 0)
            *quiet = 1;
        else if (a[0] != '-') {
            bad = *npos == maxpos;
            if (!bad)
                pos[(*npos)++] = a;
        } else if (!v)
            bad = 1;
        else if ((bad = one(o, a, v, &takes)) == 0 && takes < 0) {
            fprintf(stderr, "fovea: %s: unknown option '%s'\n", cmd, a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "fovea: %s: bad or missing value for '%s'\n", cmd, a);
            return -1;
        }
        i += takes > 0;
    }
    return 0;
}

int cli_int_option(void *o, const char *a, const char *v, const cli_int_opt *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(a, t[k].name) == 0)
            return cli_parse_int(v, t[k].lo, t[k].hi, (int *)((char *)o + t[k].at)) != 0;
    return -1;
}

int cli_str_option(void *o, const char *a, const char *v, const cli_str_opt *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(a, t[k].name) == 0 || (t[k].alias && strcmp(a, t[k].alias) == 0)) {
            *(const char **)((char *)o + t[k].at) = v;
            return t[k].path && strlen(v) > PATH_OPT_MAX;
        }
    return -1;
}

int cli_table_option(void *o, const char *a, const char *v, const cli_opt_table *t, int *takes)
{
    *takes = 1;
    int bad = cli_str_option(o, a, v, t->strs, t->nstrs);
    if (bad < 0)
        bad = cli_int_option(o, a, v, t->ints, t->nints);
    if (bad >= 0)
        return bad;
    if (strcmp(a, "--lr") == 0) {
        char *end;
        double *lr = (double *)((char *)o + t->lr_at);
        *lr = strtod(v, &end);
        return end == v || *end || !(*lr > 0 && *lr < 10);
    }
    *takes = -1;
    return 0;
}

int cli_parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

/* A finite real number (any value). */
int cli_parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_subcommand(const char *cmd, const char *const *pos, int npos, int threads)
{
    if (fv_set_num_threads(threads) != FV_OK)
        return -fail_lib();
    const char *sub = npos > 0 ? pos[0] : "";
    if (strcmp(sub, "train") == 0 && npos == 1)
        return 0;
    if (strcmp(sub, "eval") == 0)
        return 1;
    if (strcmp(sub, "predict") == 0)
        return 2;
    fprintf(stderr, "fovea: %s: train, eval or predict (fovea %s --help)\n", cmd, cmd);
    return -2;
}

/* A run's model with its weights (DIR/model.fv, DIR/weights.safetensors), compiled. */
fv_model *cli_open_run(const char *dir)
{
    char p[1100];
    snprintf(p, sizeof p, "%s/model.fv", dir);
    fv_model *m = fv_model_load_file(p);
    snprintf(p, sizeof p, "%s/weights.safetensors", dir);
    if (m && (fv_model_compile(m) != FV_OK || fv_model_load_weights(m, p) != FV_OK)) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

fv_dataset *cli_mnist_split(const char *data, int train)
{
    return fv_dataset_load_mnist_dir(data ? data : "data/mnist", train);
}
