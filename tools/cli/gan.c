/* gan.c - `fovea gan`: a DCGAN (the library's fv_dcgan_generator / fv_dcgan_discriminator, or
 * with --conditional the class-conditional pair) trained on Fashion-MNIST or MNIST with the chosen
 * loss; per epoch a sample grid of G on fixed noise (OUT/samples_eNNN.png; conditional: a row per
 * class), both losses and D's mean scores (OUT/history.csv, and the curves OUT/losses.png,
 * OUT/scores.png) and a checkpoint of G, D, their optimizers and the RNG (OUT/G.ckpt.safetensors,
 * D.ckpt.safetensors; --resume continues from it bit for bit); at the end a latent interpolation
 * grid (OUT/interpolation.png), G's and D's weights (OUT/G.safetensors, OUT/D.safetensors) and
 * OUT/report.html with the grids, the curves and the settings. Parses its own options, as detect
 * does. */
#include "cli.h"

#include <errno.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gan_opts {
    const char *data, *out, *loss, *dir; /* dir: the folder --data resolved to */
    int epochs, batch, limit, latent, seed, quiet, steps, conditional, resume, threads;
    int classes;          /* conditional: the data set's (at most 100), else 0 */
    char class_list[600]; /* conditional: "0 name, 1 name, ..." for the report */
} gan_opts;

static int parse_gan_opts(int argc, char **argv, gan_opts *o)
{
    *o = (gan_opts){.loss = "ns", .epochs = 5, .batch = 64, .latent = 100, .seed = 1};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "--conditional") == 0 ||
            strcmp(a, "--resume") == 0) {
            *(a[2] == 'q' ? &o->quiet : a[2] == 'c' ? &o->conditional : &o->resume) = 1;
            continue;
        }
        if (!v)
            bad = 1;
        else if (strcmp(a, "--data") == 0)
            o->data = v, bad = strlen(v) > PATH_OPT_MAX;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--out") == 0)
            o->out = v, bad = strlen(v) > PATH_OPT_MAX;
        else if (strcmp(a, "--loss") == 0)
            o->loss = v, bad = fv_gan_loss_from_name(v) < 0;
        else if (strcmp(a, "--epochs") == 0)
            bad = cli_parse_int(v, 1, 100000, &o->epochs);
        else if (strcmp(a, "--batch") == 0)
            bad = cli_parse_int(v, 1, 4096, &o->batch);
        else if (strcmp(a, "--limit") == 0)
            bad = cli_parse_int(v, 1, 100000000, &o->limit);
        else if (strcmp(a, "--steps") == 0)
            bad = cli_parse_int(v, 1, 100000000, &o->steps);
        else if (strcmp(a, "--latent") == 0)
            bad = cli_parse_int(v, 1, 4096, &o->latent);
        else if (strcmp(a, "--seed") == 0)
            bad = cli_parse_int(v, 0, 1 << 30, &o->seed);
        else if (strcmp(a, "--threads") == 0)
            bad = cli_parse_int(v, 0, 1024, &o->threads) || fv_set_num_threads(o->threads);
        else {
            fprintf(stderr, "fovea: gan: unknown option '%s'\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "fovea: gan: bad or missing value for '%s'\n", a);
            return -1;
        }
        i++;
    }
    if (!o->out) {
        fprintf(stderr, "fovea: gan: --out DIR is required\n");
        return -1;
    }
    return 0;
}

const char *gan_data_dir(const char *data)
{
    return !data || strcmp(data, "fashion") == 0 ? fv_default_data_dir()
           : strcmp(data, "mnist") == 0          ? "data/mnist"
                                                 : data;
}

/* --data mnist: data/mnist (scripts/get-mnist.sh); fashion or none: the default Fashion-MNIST;
 * else a folder of MNIST-format files. Pixels mapped to [-1, 1], G's tanh range. */
static fv_dataset *gan_data(gan_opts *o)
{
    const char *dir = o->dir = gan_data_dir(o->data);
    fv_dataset *d = fv_dataset_load_dir_n(dir, 1, o->limit);
    if (!d) {
        fail_lib();
        return NULL;
    }
    if (d->x->ndim != 4 || d->x->dims[1] != 1 || d->x->dims[2] != 28 || d->x->dims[3] != 28) {
        fprintf(stderr, "fovea: gan: %s: the DCGAN takes 1x28x28 images\n", dir);
        fv_dataset_free(d);
        return NULL;
    }
    int64_t total = d->x->dims[0] * 784;
    for (int64_t i = 0; i < total; i++)
        d->x->data[i] = d->x->data[i] * 2 - 1;
    return d;
}

static int write_history(const char *out, const fv_gan_epoch *h, int epochs)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/history.csv", out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fail("gan: cannot write history.csv");
    fprintf(f, "epoch,loss_d,loss_g,d_real,d_fake,seconds\n");
    for (int e = 0; e < epochs; e++)
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f,%.3f\n", e + 1, h[e].loss_d, h[e].loss_g,
                h[e].d_real, h[e].d_fake, h[e].seconds);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return fail("gan: cannot write history.csv");
    return 0;
}

/* The curves of both losses and of D's mean scores over the epochs. */
static int write_curves(const char *out, const fv_gan_epoch *h, int epochs)
{
    double *x = malloc(sizeof(double) * (size_t)epochs * 5);
    if (!x)
        return fail("gan: out of memory");
    double *ld = x + epochs, *lg = ld + epochs, *dr = lg + epochs, *df = dr + epochs;
    for (int e = 0; e < epochs; e++)
        x[e] = e + 1, ld[e] = h[e].loss_d, lg[e] = h[e].loss_g, dr[e] = h[e].d_real,
        df[e] = h[e].d_fake;
    char p1[1100], p2[1100];
    snprintf(p1, sizeof p1, "%s/losses.png", out);
    snprintf(p2, sizeof p2, "%s/scores.png", out);
    fv_series ls[2] = {{"D loss", x, ld, epochs}, {"G loss", x, lg, epochs}};
    fv_series ss[2] = {{"D(x)", x, dr, epochs}, {"D(G(z))", x, df, epochs}};
    int r = fv_plot_lines(p1, ls, 2, .title = "GAN losses (mean over each epoch)",
                          .xlabel = "epoch", .ylabel = "loss") != FV_OK ||
            fv_plot_lines(p2, ss, 2, .title = "D's mean score on real and generated images",
                          .xlabel = "epoch", .ylabel = "score") != FV_OK;
    free(x);
    return r ? fail_lib() : 0;
}

/* G in evaluation mode (running statistics) on the noise z (and labels when conditional), as an
 * 8-column grid in [-1, 1]. */
static int grid_of(fv_model *g, const fv_tensor *z, const int *labels, int classes,
                   const char *path, const char *title)
{
    int n = (int)z->dims[0];
    fv_tensor *img = fv_tensor_new4(n, 1, 28, 28);
    fv_status s = img ? fv_gan_generate(g, z->data, labels, classes, n, img->data) : FV_ERR_NOMEM;
    if (s == FV_OK)
        s = fv_image_grid(path, img, .title = title, .cols = 8, .scale = 2, .vmin = -1,
                          .vmax = 1);
    fv_tensor_free(img);
    return s != FV_OK ? fail_lib() : 0;
}

/* The noise of a grid: 8 columns, `rows` rows; conditional: row r shows class r (all of them)
 * for the fixed noise vectors 0..7, so a column keeps its noise across the classes. Else the
 * first 64 fixed noise vectors. labels (rows x 8) is filled when conditional. */
static fv_tensor *grid_noise(const gan_opts *o, const fv_tensor *zfix, int *rows, int *labels)
{
    *rows = o->classes ? o->classes : 8;
    fv_tensor *z = fv_tensor_new(2, (int64_t[]){*rows * 8, o->latent});
    for (int i = 0; z && i < *rows * 8; i++) {
        int src = o->classes ? i % 8 : i;
        memcpy(z->data + (size_t)i * (size_t)o->latent, zfix->data + (size_t)src * (size_t)o->latent,
               sizeof(float) * (size_t)o->latent);
        if (o->classes)
            labels[i] = i / 8;
    }
    return z;
}

/* The fixed-noise sample grid of an epoch. */
static int sample_grid(fv_model *g, const gan_opts *o, const fv_tensor *zfix, int epoch)
{
    char path[1100], title[96];
    int rows, labels[8 * 100];
    snprintf(path, sizeof path, "%s/samples_e%03d.png", o->out, epoch);
    snprintf(title, sizeof title, "epoch %d, fixed noise%s", epoch,
             o->classes ? " (row k: class k)" : "");
    fv_tensor *z = grid_noise(o, zfix, &rows, labels);
    int bad = z ? grid_of(g, z, o->classes ? labels : NULL, o->classes, path, title) : fail_lib();
    fv_tensor_free(z);
    return bad;
}

/* The latent interpolation grid: row r walks linearly in 8 steps from fixed noise vector 2r to
 * vector 2r + 1 (Radford et al.'s walk in z), G in evaluation mode; conditional: row r of class
 * r mod classes. */
static int interpolation_grid(fv_model *g, const gan_opts *o, const fv_tensor *zfix)
{
    int latent = o->latent, labels[64];
    fv_tensor *z = fv_tensor_new(2, (int64_t[]){64, latent});
    if (!z)
        return fail_lib();
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++) {
            const float *a = zfix->data + (size_t)(2 * r) * (size_t)latent, *b = a + latent;
            float t = (float)c / 7.0f, *dst = z->data + (size_t)(r * 8 + c) * (size_t)latent;
            for (int i = 0; i < latent; i++)
                dst[i] = (1 - t) * a[i] + t * b[i];
            labels[r * 8 + c] = o->classes ? r % o->classes : 0;
        }
    char path[1100];
    snprintf(path, sizeof path, "%s/interpolation.png", o->out);
    int bad = grid_of(g, z, o->classes ? labels : NULL, o->classes, path,
                      "latent interpolation (rows: from one noise vector to another)");
    fv_tensor_free(z);
    return bad;
}

static void draw_noise(fv_rng *r, float *z, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        z[i] = (float)fv_rng_normal(r);
}

/* One epoch: the images in a seeded order, whole batches only; the means of the step numbers. */
static int train_epoch(fv_model *g, fv_model *d, const gan_opts *o, const fv_dataset *data,
                       fv_rng *rng, float *real, float *z, int64_t *idx, fv_gan_epoch *row)
{
    int labels[4096];
    int64_t n = data->x->dims[0], steps = n / o->batch;
    if (o->steps && o->steps < steps)
        steps = o->steps;
    fv_rng_permutation(rng, idx, n);
    *row = (fv_gan_epoch){0};
    for (int64_t s = 0; s < steps; s++) {
        for (int i = 0; i < o->batch; i++) {
            int64_t k = idx[s * o->batch + i];
            memcpy(real + (size_t)i * 784, data->x->data + k * 784, sizeof(float) * 784);
            labels[i] = (int)data->y->data[k];
        }
        draw_noise(rng, z, (int64_t)o->batch * o->latent);
        fv_gan_stats st;
        if (fv_gan_step_cond(g, d, (fv_gan_loss)fv_gan_loss_from_name(o->loss), real,
                             o->classes ? labels : NULL, o->classes, z, o->batch, &st) != FV_OK)
            return fail_lib();
        row->loss_d += st.loss_d / (double)steps, row->loss_g += st.loss_g / (double)steps;
        row->d_real += st.d_real / (double)steps, row->d_fake += st.d_fake / (double)steps;
    }
    return 0;
}

static int save_models(const fv_model *g, const fv_model *d, const char *out)
{
    char pg[1100], pd[1100];
    snprintf(pg, sizeof pg, "%s/G.safetensors", out);
    snprintf(pd, sizeof pd, "%s/D.safetensors", out);
    if (fv_model_save_weights(g, pg) != FV_OK || fv_model_save_weights(d, pd) != FV_OK)
        return fail_lib();
    return 0;
}

/* OUT/report.html: the settings, the per-epoch numbers, the first and last grids, the
 * interpolation, the curves. */
/* The report's text: a row of numbers per epoch. */
static char *history_text(const fv_gan_epoch *h, int epochs)
{
    size_t len = 80 + 64 * (size_t)epochs, at = 0;
    char *text = malloc(len);
    if (!text)
        return NULL;
    at += (size_t)snprintf(text, len, "epoch     D loss     G loss       D(x)    D(G(z))\n");
    for (int e = 0; e < epochs && at < len; e++)
        at += (size_t)snprintf(text + at, len - at, "%5d %10.4f %10.4f %10.4f %10.4f\n", e + 1,
                               h[e].loss_d, h[e].loss_g, h[e].d_real, h[e].d_fake);
    return text;
}

static int write_report(const gan_opts *o, const fv_gan_epoch *h, int64_t images)
{
    char g1[1100], gl[1100], ip[1100], lp[1100], sp[1100], rp[1100], t[3][96], cap[2][720];
    double seconds = 0;
    for (int e = 0; e < o->epochs; e++)
        seconds += h[e].seconds;
    snprintf(g1, sizeof g1, "%s/samples_e001.png", o->out);
    snprintf(gl, sizeof gl, "%s/samples_e%03d.png", o->out, o->epochs);
    snprintf(ip, sizeof ip, "%s/interpolation.png", o->out);
    snprintf(lp, sizeof lp, "%s/losses.png", o->out);
    snprintf(sp, sizeof sp, "%s/scores.png", o->out);
    snprintf(rp, sizeof rp, "%s/report.html", o->out);
    snprintf(t[0], sizeof t[0], "%lld images, batches of %d", (long long)images, o->batch);
    snprintf(t[1], sizeof t[1], "%d epochs, %.1f s", o->epochs, seconds);
    snprintf(t[2], sizeof t[2], "%d (N(0, 1)), seed %d", o->latent, o->seed);
    const char *rows = o->classes ? " (class-conditional rows: row k is class k; " : "";
    snprintf(cap[0], sizeof cap[0], "G on fixed noise after epoch 1%s%s%s", rows, o->class_list,
             o->classes ? ")" : "");
    snprintf(cap[1], sizeof cap[1], "G on the same noise after epoch %d%s%s%s", o->epochs, rows,
             o->class_list, o->classes ? ")" : "");
    const char *params[] = {"networks", o->classes ? "class-conditional DCGAN 28x28 (one-hot "
                            "label after z, label planes after the image)"
                            : "DCGAN 28x28 (models/dcgan_g28.fv, dcgan_d28.fv)",
                            "loss", o->loss, "optimizer", "Adam 2e-4, beta1 0.5 (G and D)",
                            "data", o->dir, "training set", t[0], "training", t[1],
                            "noise", t[2], "CPU", fv_cpu_name(), NULL};
    const char *images_[] = {g1, gl, ip, lp, sp, NULL};
    const char *captions[] = {cap[0], cap[1], "linear walks in z between pairs of noise vectors",
                              "both losses (means over each epoch)",
                              "D's mean score on real (D(x)) and generated (D(G(z))) images"};
    char *text = history_text(h, o->epochs);
    if (!text)
        return fail("gan: out of memory");
    fv_report r = {.title = o->classes ? "fovea: conditional DCGAN" : "fovea: DCGAN",
                   .params = params, .images = images_, .captions = captions, .summary = text};
    int bad = fv_report_write(rp, &r) != FV_OK;
    free(text);
    return bad ? fail_lib() : 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --resume: the epochs done and the RNG from OUT's checkpoint, when there is one. */
static int resume_from(const gan_opts *o, fv_model *g, fv_model *d, fv_rng *rng,
                       fv_gan_epoch *hist, int *start)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/G.ckpt.safetensors", o->out);
    *start = 0;
    struct stat st;
    if (!o->resume || stat(path, &st) != 0)
        return 0;
    if (fv_gan_checkpoint_load(g, d, o->out, o->epochs, start, rng, hist) != FV_OK)
        return fail_lib();
    if (!o->quiet)
        printf("resumed after epoch %d\n", *start);
    return 0;
}

/* One epoch and what follows it: the grid, history.csv, the checkpoint, the printed line. */
static int epoch(fv_model *g, fv_model *d, const gan_opts *o, const fv_dataset *data,
                 fv_rng *rng, const fv_tensor *zfix, float *real, float *z, int64_t *idx,
                 fv_gan_epoch *hist, int e)
{
    double t = now_s();
    clock_t c = clock();
    int r = train_epoch(g, d, o, data, rng, real, z, idx, &hist[e]);
    hist[e].seconds = now_s() - t; /* the training steps alone, without the figures */
    double cpu = (double)(clock() - c) / CLOCKS_PER_SEC; /* all threads' */
    r = r ? r : sample_grid(g, o, zfix, e + 1);
    r = r ? r : write_history(o->out, hist, e + 1);
    if (!r && fv_gan_checkpoint_save(g, d, o->out, e + 1, rng, hist) != FV_OK)
        r = fail_lib();
    if (!r && !o->quiet)
        printf("epoch %d/%d: D loss %.4f, G loss %.4f, D(x) %.4f, D(G(z)) %.4f, %.1f s (%.1f s "
               "CPU)\n", e + 1, o->epochs, hist[e].loss_d, hist[e].loss_g, hist[e].d_real,
               hist[e].d_fake, hist[e].seconds, cpu);
    return r;
}

static int train(const gan_opts *o, const fv_dataset *data, fv_model *g, fv_model *d)
{
    if (data->x->dims[0] < o->batch) {
        fprintf(stderr, "fovea: gan: %lld images, fewer than one batch of %d\n",
                (long long)data->x->dims[0], o->batch);
        return 1;
    }
    fv_rng rng, fixed;
    fv_rng_seed(&rng, (uint64_t)o->seed), fv_rng_seed(&fixed, (uint64_t)o->seed + 1000003u);
    fv_tensor *zfix = fv_tensor_new(2, (int64_t[]){64, o->latent});
    float *real = malloc(sizeof(float) * (size_t)o->batch * 784);
    float *z = malloc(sizeof(float) * (size_t)o->batch * (size_t)o->latent);
    int64_t *idx = malloc(sizeof(int64_t) * (size_t)data->x->dims[0]);
    fv_gan_epoch *hist = calloc((size_t)o->epochs, sizeof *hist);
    int r = !zfix || !real || !z || !idx || !hist ? fail("gan: out of memory") : 0, start = 0;
    if (!r)
        draw_noise(&fixed, zfix->data, 64 * (int64_t)o->latent);
    r = r ? r : resume_from(o, g, d, &rng, hist, &start);
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    for (int e = start; e < o->epochs && !r; e++)
        r = epoch(g, d, o, data, &rng, zfix, real, z, idx, hist, e);
    r = r ? r : write_curves(o->out, hist, o->epochs);
    r = r ? r : interpolation_grid(g, o, zfix);
    r = r ? r : save_models(g, d, o->out);
    r = r ? r : write_report(o, hist, data->x->dims[0]);
    fv_tensor_free(zfix), free(real), free(z), free(idx), free(hist);
    return r;
}

/* --conditional: the data set's classes, listed for the report. */
static int set_classes(gan_opts *o, const fv_dataset *data)
{
    if (!o->conditional)
        return 0;
    if (data->num_classes < 2 || data->num_classes > 100) {
        fprintf(stderr, "fovea: gan: --conditional needs 2 to 100 classes, %s has %d\n", o->dir,
                data->num_classes);
        return 1;
    }
    o->classes = data->num_classes;
    size_t at = 0;
    for (int k = 0; k < o->classes && at < sizeof o->class_list; k++)
        at += (size_t)snprintf(o->class_list + at, sizeof o->class_list - at, "%s%d %s",
                               k ? ", " : "", k, data->class_names ? data->class_names[k] : "");
    return 0;
}

int cmd_gan(int argc, char **argv)
{
    gan_opts o;
    if (parse_gan_opts(argc, argv, &o) != 0)
        return 1;
    if (make_dir(o.out) != 0)
        return fail("gan: cannot create --out folder");
    fv_dataset *data = gan_data(&o);
    if (!data || set_classes(&o, data)) {
        fv_dataset_free(data);
        return 1; /* said why */
    }
    fv_model *g = o.classes ? fv_cdcgan_generator(o.latent, o.classes, (uint64_t)o.seed)
                            : fv_dcgan_generator(o.latent, (uint64_t)o.seed);
    fv_model *d = o.classes ? fv_cdcgan_discriminator(o.classes, (uint64_t)o.seed + 1)
                            : fv_dcgan_discriminator((uint64_t)o.seed + 1);
    int r = !g || !d ? fail_lib() : train(&o, data, g, d);
    if (!r && !o.quiet)
        printf("wrote %s/G.safetensors, D.safetensors, G.ckpt.safetensors, D.ckpt.safetensors, "
               "history.csv, samples_e*.png, report.html\n", o.out);
    fv_model_free(g), fv_model_free(d), fv_dataset_free(data);
    return r;
}
