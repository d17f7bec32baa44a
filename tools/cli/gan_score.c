/* gan_score.c - `fovea gan-score`: the GAN quality measure of a generator (G.safetensors from
 * `fovea gan`) or of saved samples (.npy, e.g. bench/torch_dcgan.py's), through a classifier of
 * the same data set (models/gan_metric28.fv trained by `fovea train`): the Frechet distance of
 * its penultimate features of N generated and N real test images, its Inception Score, the
 * class histogram of the generated images (mode collapse) and, with --conditional, how often
 * the classifier agrees with the class asked for (the generator's i mod k, the samples' labels); the same distance
 * and score of N real training images against the test images are the floor. Generated images
 * are quantized to 8 bits, as real ones are. Prints a table; -o FILE.json writes the numbers. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct score_opts {
    const char *classifier, *generator, *samples, *labels, *data, *out, *dir;
    int n, seed, latent, conditional, threads;
} score_opts;

/* One option and its value into o: 0 taken, 1 unknown, 2 a bad value. */
static int take_opt(score_opts *o, const char *a, const char *v)
{
    const char **path = strcmp(a, "--classifier") == 0  ? &o->classifier
                        : strcmp(a, "--generator") == 0 ? &o->generator
                        : strcmp(a, "--samples") == 0   ? &o->samples
                        : strcmp(a, "--labels") == 0    ? &o->labels
                        : strcmp(a, "--data") == 0      ? &o->data
                        : strcmp(a, "-o") == 0          ? &o->out
                                                        : NULL;
    if (path) {
        *path = v;
        return strlen(v) > PATH_OPT_MAX ? 2 : 0;
    }
    const struct {
        const char *name;
        int lo, hi, *at;
    } ints[] = {{"-n", 2, 1000000, &o->n}, {"--seed", 0, 1 << 30, &o->seed},
                {"--latent", 1, 4096, &o->latent}, {"--threads", 0, 1024, &o->threads}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (strcmp(a, ints[i].name) == 0)
            return cli_parse_int(v, ints[i].lo, ints[i].hi, ints[i].at) ? 2 : 0;
    return 1;
}

static int parse_score_opts(int argc, char **argv, score_opts *o)
{
    *o = (score_opts){.n = 10000, .seed = 1, .latent = 100};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--conditional") == 0) {
            o->conditional = 1;
            continue;
        }
        int r = v ? take_opt(o, a, v) : 2;
        if (r) {
            fprintf(stderr, r == 1 ? "fovea: gan-score: unknown option '%s'\n"
                                   : "fovea: gan-score: bad or missing value for '%s'\n", a);
            return -1;
        }
        i++;
    }
    if (!o->classifier || !o->generator == !o->samples || !o->samples != !o->labels) {
        fprintf(stderr, "fovea: gan-score: needs --classifier W and one of --generator G or "
                "--samples X.npy --labels Y.npy\n");
        return -1;
    }
    o->dir = gan_data_dir(o->data);
    if (fv_set_num_threads(o->threads) != FV_OK) {
        fail_lib();
        return -1;
    }
    return 0;
}

/* One image set as the classifier sees it: features, probabilities, the argmax classes. */
typedef struct view {
    float *f, *p;
    int64_t n;
    int dim, k;
    double *mean, *cov;
} view;

static void view_free(view *v)
{
    free(v->f), free(v->p), free(v->mean), free(v->cov);
}

/* x: n images of pixels in [0, 1], normalized here as the classifier was trained. */
static int look(fv_model *cls, const fv_weights_info *info, float *x, int64_t n, view *v)
{
    float mean = info->has_normalization ? info->mean : NORM_MEAN;
    float std = info->has_normalization ? info->std : NORM_STD;
    for (int64_t i = 0; i < n * 784; i++)
        x[i] = (x[i] - mean) / std;
    *v = (view){.n = n};
    if (fv_gan_features(cls, x, n, &v->f, &v->dim, &v->p, &v->k) != FV_OK)
        return fail_lib();
    v->mean = malloc(sizeof(double) * (size_t)v->dim);
    v->cov = malloc(sizeof(double) * (size_t)v->dim * (size_t)v->dim);
    if (!v->mean || !v->cov)
        return fail("gan-score: out of memory");
    return fv_feature_moments(v->f, n, v->dim, v->mean, v->cov) != FV_OK ? fail_lib() : 0;
}

/* The first n images of a split of the data, in [0, 1]. */
static int real_view(const score_opts *o, fv_model *cls, const fv_weights_info *info, int train,
                     view *v)
{
    fv_dataset *d = fv_dataset_load_dir_n(o->dir, train, o->n);
    if (!d)
        return fail_lib();
    int r = d->x->dims[0] < 2 || d->x->dims[1] * d->x->dims[2] * d->x->dims[3] != 784
                ? fail("gan-score: the data must hold 1x28x28 images")
                : look(cls, info, d->x->data, d->x->dims[0], v);
    fv_dataset_free(d);
    return r;
}

/* G in [-1, 1] to pixels in [0, 1], rounded to 8 bits. */
static void quantize(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        float p = (x[i] + 1) * 0.5f;
        p = p < 0 ? 0 : p > 1 ? 1 : p;
        x[i] = roundf(p * 255.0f) / 255.0f;
    }
}

/* The generator: from its weights file's architecture, or (a checkpoint, which has none) the
 * DCGAN builder's network with the file's weights. */
static fv_model *generator(const score_opts *o, int classes)
{
    fv_weights_info *info = fv_weights_info_read(o->generator);
    if (!info)
        return NULL;
    int has_arch = info->architecture != NULL;
    fv_weights_info_free(info);
    if (has_arch)
        return fv_model_from_weights(o->generator, .loss = FV_LOSS_NONE);
    fv_model *g = classes ? fv_cdcgan_generator(o->latent, classes, 0)
                          : fv_dcgan_generator(o->latent, 0);
    if (g && fv_model_load_weights(g, o->generator) != FV_OK) {
        fv_model_free(g);
        return NULL;
    }
    return g;
}

/* n samples of the generator on seeded noise; conditional: sample i of class i mod k. */
static float *generate(const score_opts *o, int classes, int *labels)
{
    fv_model *g = generator(o, classes);
    float *x = malloc(sizeof(float) * (size_t)o->n * 784);
    float *z = malloc(sizeof(float) * (size_t)o->n * (size_t)o->latent);
    fv_status s = !g ? FV_ERR_INVALID : x && z ? FV_OK : FV_ERR_NOMEM; /* !g: said why */
    if (s == FV_OK) {
        fv_rng r;
        fv_rng_seed(&r, (uint64_t)o->seed);
        for (int64_t i = 0; i < (int64_t)o->n * o->latent; i++)
            z[i] = (float)fv_rng_normal(&r);
        for (int i = 0; i < o->n; i++)
            labels[i] = classes ? i % classes : 0;
        s = fv_gan_generate(g, z, classes ? labels : NULL, classes, o->n, x);
    }
    if (s == FV_OK)
        quantize(x, (int64_t)o->n * 784);
    fv_model_free(g), free(z);
    if (s != FV_OK) {
        free(x);
        if (s == FV_ERR_NOMEM)
            fail("gan-score: out of memory");
        else
            fail_lib();
        return NULL;
    }
    return x;
}

/* --samples X.npy (|u1 pixels, or floats in [0, 1]) and their --labels (the classes asked for;
 * read with --conditional). */
static float *load_samples(score_opts *o, int *labels)
{
    fv_dataset *d = fv_dataset_load_npy(o->samples, o->labels, .limit = o->n);
    if (!d) {
        fail_lib();
        return NULL;
    }
    int64_t n = d->x->dims[0], size = n ? fv_tensor_numel(d->x) / n : 0;
    float *x = NULL;
    if (size != 784 || n < 2)
        fprintf(stderr, "fovea: gan-score: %s: %lld samples of %lld values (need 1x28x28)\n",
                o->samples, (long long)n, (long long)size);
    else if ((x = malloc(sizeof(float) * (size_t)n * 784)) != NULL) {
        memcpy(x, d->x->data, sizeof(float) * (size_t)n * 784);
        for (int64_t i = 0; i < n; i++)
            labels[i] = (int)d->y->data[i];
        o->n = (int)n;
    }
    fv_dataset_free(d);
    return x;
}

/* The classes the classifier gives the generated images, and its agreement with the labels. */
static void histogram(const view *v, const int *labels, int64_t *count, int64_t *agree,
                      int64_t *asked)
{
    for (int64_t i = 0; i < v->n; i++) {
        const float *p = v->p + i * v->k;
        int best = 0;
        for (int j = 1; j < v->k; j++)
            best = p[j] > p[best] ? j : best;
        count[best]++;
        if (labels && labels[i] >= 0 && labels[i] < v->k) {
            asked[labels[i]]++;
            agree[labels[i]] += best == labels[i];
        }
    }
}

typedef struct scores {
    double fd, is, fd_floor, is_train, is_test;
} scores;

static int report(const score_opts *o, const scores *s, const view *fake, const int *labels,
                  int labelled)
{
    int k = fake->k;
    int64_t *c = calloc((size_t)k * 3, sizeof(int64_t)), *agree = c + k, *asked = agree + k;
    if (!c)
        return fail("gan-score: out of memory");
    histogram(fake, labelled ? labels : NULL, c, agree, asked);
    FILE *f = o->out ? fopen(o->out, "w") : NULL;
    if (o->out && !f) {
        free(c);
        return fail("gan-score: cannot write -o");
    }
    printf("%lld generated vs %lld real test images\n", (long long)fake->n, (long long)fake->n);
    printf("Frechet distance %.3f (floor, real train vs test: %.3f)\n", s->fd, s->fd_floor);
    printf("Inception Score %.3f (real train %.3f, real test %.3f)\n", s->is, s->is_train,
           s->is_test);
    printf("class histogram:");
    int empty = 0;
    for (int j = 0; j < k; j++)
        printf(" %lld", (long long)c[j]), empty += c[j] == 0;
    printf("  (%d of %d classes generated)\n", k - empty, k);
    if (f)
        fprintf(f, "{\"n\": %lld, \"frechet_distance\": %.6f, \"frechet_floor\": %.6f, "
                "\"inception_score\": %.6f, \"inception_train\": %.6f, \"inception_test\": %.6f, "
                "\"histogram\": [", (long long)fake->n, s->fd, s->fd_floor, s->is, s->is_train,
                s->is_test);
    for (int j = 0; f && j < k; j++)
        fprintf(f, "%s%lld", j ? ", " : "", (long long)c[j]);
    if (labelled) {
        double worst = 1;
        printf("agreement with the class asked for:");
        for (int j = 0; j < k; j++) {
            double a = asked[j] ? (double)agree[j] / (double)asked[j] : 0;
            worst = a < worst ? a : worst;
            printf(" %.1f%%", 100 * a);
        }
        printf("  (lowest %.1f%%)\n", 100 * worst);
        for (int j = 0; f && j < k; j++)
            fprintf(f, "%s%.6f", j ? ", " : "], \"agreement\": [",
                    asked[j] ? (double)agree[j] / (double)asked[j] : 0.0);
    }
    int bad = 0;
    if (f) {
        fprintf(f, "]}\n");
        bad = fclose(f) != 0 ? fail("gan-score: cannot write -o") : 0;
    }
    free(c);
    return bad;
}

static int frechet(const view *a, const view *b, double *fd)
{
    return fv_frechet_distance(a->mean, a->cov, b->mean, b->cov, a->dim, fd) != FV_OK
               ? fail_lib()
               : 0;
}

static int score(score_opts *o, fv_model *cls, const fv_weights_info *info, int *labels)
{
    int classes = o->conditional ? info->num_classes : 0;
    float *x = o->generator ? generate(o, classes, labels) : load_samples(o, labels);
    if (!x)
        return 1;
    view fake = {0}, test = {0}, train = {0};
    scores s = {0};
    int r = look(cls, info, x, o->n, &fake);
    r = r ? r : real_view(o, cls, info, 0, &test);
    r = r ? r : real_view(o, cls, info, 1, &train);
    r = r ? r : frechet(&fake, &test, &s.fd);
    r = r ? r : frechet(&train, &test, &s.fd_floor);
    if (!r && (fv_inception_score(fake.p, fake.n, fake.k, &s.is) != FV_OK ||
               fv_inception_score(train.p, train.n, train.k, &s.is_train) != FV_OK ||
               fv_inception_score(test.p, test.n, test.k, &s.is_test) != FV_OK))
        r = fail_lib();
    r = r ? r : report(o, &s, &fake, labels, classes > 0);
    free(x), view_free(&fake), view_free(&test), view_free(&train);
    return r;
}

int cmd_gan_score(int argc, char **argv)
{
    score_opts o;
    if (parse_score_opts(argc, argv, &o) != 0)
        return 1;
    fv_weights_info *info = fv_weights_info_read(o.classifier);
    fv_model *cls = info ? fv_model_from_weights(o.classifier) : NULL;
    int *labels = malloc(sizeof(int) * (size_t)o.n);
    int r = !info || !cls ? fail_lib() : !labels ? fail("gan-score: out of memory") : 0;
    r = r ? r : score(&o, cls, info, labels);
    fv_model_free(cls), fv_weights_info_free(info), free(labels);
    return r;
}
