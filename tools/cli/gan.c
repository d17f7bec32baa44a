/* gan.c - `fovea gan`: a DCGAN (the library's fv_dcgan_generator / fv_dcgan_discriminator)
 * trained on Fashion-MNIST or MNIST with the chosen loss; per epoch a sample grid of G on fixed
 * noise (OUT/samples_eNNN.png), both losses and D's mean scores (OUT/history.csv, and the curves
 * OUT/losses.png, OUT/scores.png); at the end a latent interpolation grid (OUT/interpolation.png),
 * G's and D's weights (OUT/G.safetensors, OUT/D.safetensors) and OUT/report.html with the grids,
 * the curves and the settings. Parses its own options, as detect does. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gan_opts {
    const char *data, *out, *loss, *dir; /* dir: the folder --data resolved to */
    int epochs, batch, limit, latent, seed, quiet, steps;
} gan_opts;

static int parse_gan_opts(int argc, char **argv, gan_opts *o)
{
    *o = (gan_opts){.loss = "ns", .epochs = 5, .batch = 64, .latent = 100, .seed = 1};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
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

/* --data mnist: data/mnist (scripts/get-mnist.sh); fashion or none: the default Fashion-MNIST;
 * else a folder of MNIST-format files. Pixels mapped to [-1, 1], G's tanh range. */
static fv_dataset *gan_data(gan_opts *o)
{
    const char *dir = o->dir = !o->data || strcmp(o->data, "fashion") == 0 ? fv_default_data_dir()
                      : strcmp(o->data, "mnist") == 0             ? "data/mnist"
                                                                  : o->data;
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

typedef struct epoch_row {
    double loss_d, loss_g, d_real, d_fake;
} epoch_row;

static int write_history(const char *out, const epoch_row *h, int epochs)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof path, "%s/history.csv", out);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return fail("gan: cannot write history.csv");
    fprintf(f, "epoch,loss_d,loss_g,d_real,d_fake\n");
    for (int e = 0; e < epochs; e++)
        fprintf(f, "%d,%.6f,%.6f,%.6f,%.6f\n", e + 1, h[e].loss_d, h[e].loss_g, h[e].d_real,
                h[e].d_fake);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return fail("gan: cannot write history.csv");
    return 0;
}

/* The curves of both losses and of D's mean scores over the epochs. */
static int write_curves(const char *out, const epoch_row *h, int epochs)
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

/* G in evaluation mode (running statistics) on the noise z, as an 8-column grid in [-1, 1]. */
static int grid_of(fv_model *g, const fv_tensor *z, const char *path, const char *title)
{
    fv_tensor *y = NULL;
    fv_model_set_training(g, 0);
    fv_status s = fv_model_predict(g, z, &y);
    fv_model_set_training(g, 1);
    if (s != FV_OK)
        return fail_lib();
    fv_tensor *img = fv_tensor_new4(y->dims[0], 1, 28, 28);
    s = img ? FV_OK : FV_ERR_NOMEM;
    if (img) {
        memcpy(img->data, y->data, sizeof(float) * (size_t)y->dims[0] * 784);
        s = fv_image_grid(path, img, .title = title, .cols = 8, .scale = 2, .vmin = -1,
                          .vmax = 1);
    }
    fv_tensor_free(img), fv_tensor_free(y);
    return s != FV_OK ? fail_lib() : 0;
}

/* The fixed-noise sample grid of an epoch. */
static int sample_grid(fv_model *g, const fv_tensor *z, const char *out, int epoch)
{
    char path[1100], title[64];
    snprintf(path, sizeof path, "%s/samples_e%03d.png", out, epoch);
    snprintf(title, sizeof title, "epoch %d, fixed noise", epoch);
    return grid_of(g, z, path, title);
}

/* The latent interpolation grid: row r walks linearly in 8 steps from fixed noise vector 2r to
 * vector 2r + 1 (Radford et al.'s walk in z), G in evaluation mode. */
static int interpolation_grid(fv_model *g, const fv_tensor *zfix, const char *out, int latent)
{
    fv_tensor *z = fv_tensor_new(2, (int64_t[]){64, latent});
    if (!z)
        return fail_lib();
    for (int r = 0; r < 8; r++)
        for (int c = 0; c < 8; c++) {
            const float *a = zfix->data + (size_t)(2 * r) * (size_t)latent, *b = a + latent;
            float t = (float)c / 7.0f, *dst = z->data + (size_t)(r * 8 + c) * (size_t)latent;
            for (int i = 0; i < latent; i++)
                dst[i] = (1 - t) * a[i] + t * b[i];
        }
    char path[1100];
    snprintf(path, sizeof path, "%s/interpolation.png", out);
    int bad = grid_of(g, z, path, "latent interpolation (rows: from one noise vector to another)");
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
                       fv_rng *rng, float *real, float *z, int64_t *idx, epoch_row *row)
{
    int64_t n = data->x->dims[0], steps = n / o->batch;
    if (o->steps && o->steps < steps)
        steps = o->steps;
    fv_rng_permutation(rng, idx, n);
    *row = (epoch_row){0};
    for (int64_t s = 0; s < steps; s++) {
        for (int i = 0; i < o->batch; i++)
            memcpy(real + (size_t)i * 784, data->x->data + idx[s * o->batch + i] * 784,
                   sizeof(float) * 784);
        draw_noise(rng, z, (int64_t)o->batch * o->latent);
        fv_gan_stats st;
        if (fv_gan_step(g, d, (fv_gan_loss)fv_gan_loss_from_name(o->loss), real, z, o->batch,
                        &st) != FV_OK)
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
static int write_report(const gan_opts *o, const epoch_row *h, double seconds, int64_t images)
{
    char g1[1100], gl[1100], ip[1100], lp[1100], sp[1100], rp[1100], t[3][96], cap[2][64];
    snprintf(g1, sizeof g1, "%s/samples_e001.png", o->out);
    snprintf(gl, sizeof gl, "%s/samples_e%03d.png", o->out, o->epochs);
    snprintf(ip, sizeof ip, "%s/interpolation.png", o->out);
    snprintf(lp, sizeof lp, "%s/losses.png", o->out);
    snprintf(sp, sizeof sp, "%s/scores.png", o->out);
    snprintf(rp, sizeof rp, "%s/report.html", o->out);
    snprintf(t[0], sizeof t[0], "%lld images, batches of %d", (long long)images, o->batch);
    snprintf(t[1], sizeof t[1], "%d epochs, %.1f s", o->epochs, seconds);
    snprintf(t[2], sizeof t[2], "%d (N(0, 1)), seed %d", o->latent, o->seed);
    snprintf(cap[0], sizeof cap[0], "G on fixed noise after epoch 1");
    snprintf(cap[1], sizeof cap[1], "G on the same noise after epoch %d", o->epochs);
    const char *params[] = {"networks", "DCGAN 28x28 (models/dcgan_g28.fv, dcgan_d28.fv)",
                            "loss", o->loss, "optimizer", "Adam 2e-4, beta1 0.5 (G and D)",
                            "data", o->dir, "training set", t[0], "training", t[1],
                            "noise", t[2], "CPU", fv_cpu_name(), NULL};
    const char *images_[] = {g1, gl, ip, lp, sp, NULL};
    const char *captions[] = {cap[0], cap[1], "linear walks in z between pairs of noise vectors",
                              "both losses (means over each epoch)",
                              "D's mean score on real (D(x)) and generated (D(G(z))) images"};
    size_t len = 80 + 64 * (size_t)o->epochs, at = 0;
    char *text = malloc(len);
    if (!text)
        return fail("gan: out of memory");
    at += (size_t)snprintf(text, len, "epoch     D loss     G loss       D(x)    D(G(z))\n");
    for (int e = 0; e < o->epochs && at < len; e++)
        at += (size_t)snprintf(text + at, len - at, "%5d %10.4f %10.4f %10.4f %10.4f\n", e + 1,
                               h[e].loss_d, h[e].loss_g, h[e].d_real, h[e].d_fake);
    fv_report r = {.title = "fovea: DCGAN", .params = params, .images = images_,
                   .captions = captions, .summary = text};
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
    epoch_row *hist = calloc((size_t)o->epochs, sizeof *hist);
    int r = !zfix || !real || !z || !idx || !hist ? fail("gan: out of memory") : 0;
    if (!r)
        draw_noise(&fixed, zfix->data, 64 * (int64_t)o->latent);
    fv_model_set_training(g, 1), fv_model_set_training(d, 1);
    double seconds = 0;
    for (int e = 0; e < o->epochs && !r; e++) {
        double t = now_s();
        r = train_epoch(g, d, o, data, &rng, real, z, idx, &hist[e]);
        seconds += now_s() - t; /* the training steps alone, without the figures */
        r = r ? r : sample_grid(g, zfix, o->out, e + 1);
        r = r ? r : write_history(o->out, hist, e + 1);
        if (!r && !o->quiet)
            printf("epoch %d/%d: D loss %.4f, G loss %.4f, D(x) %.4f, D(G(z)) %.4f\n", e + 1,
                   o->epochs, hist[e].loss_d, hist[e].loss_g, hist[e].d_real, hist[e].d_fake);
    }
    r = r ? r : write_curves(o->out, hist, o->epochs);
    r = r ? r : interpolation_grid(g, zfix, o->out, o->latent);
    r = r ? r : save_models(g, d, o->out);
    r = r ? r : write_report(o, hist, seconds, data->x->dims[0]);
    fv_tensor_free(zfix), free(real), free(z), free(idx), free(hist);
    return r;
}

int cmd_gan(int argc, char **argv)
{
    gan_opts o;
    if (parse_gan_opts(argc, argv, &o) != 0)
        return 1;
    if (make_dir(o.out) != 0)
        return fail("gan: cannot create --out folder");
    fv_dataset *data = gan_data(&o);
    if (!data)
        return 1; /* said why */
    fv_model *g = fv_dcgan_generator(o.latent, (uint64_t)o.seed);
    fv_model *d = fv_dcgan_discriminator((uint64_t)o.seed + 1);
    int r = !g || !d ? fail_lib() : train(&o, data, g, d);
    if (!r && !o.quiet)
        printf("wrote %s/G.safetensors, D.safetensors, history.csv, samples_e*.png, "
               "report.html\n", o.out);
    fv_model_free(g), fv_model_free(d), fv_dataset_free(data);
    return r;
}
