/* gan.c - generative adversarial networks on the custom training loop (nn/loop.c): the
 * discriminator losses and their logit gradients (non-saturating BCE-with-logits, LSGAN, hinge),
 * one alternating training step of a generator G and a discriminator D (two compiled models, G's
 * output feeding D's input without copies of parameters), unconditional or class-conditional
 * (one-hot label after z, label planes after the image), sampling G, and the DCGAN pair for 28x28
 * images (Radford et al. 2016 adapted to 28x28). */
#include "core/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- losses */

/* log(1 + e^x) without overflow. */
static double softplus(double x)
{
    return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

static double sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* The loss of logits s (n of them) all labelled `real` (target 1) or fake (target 0), from D's
 * side; ds (may be NULL) receives dL/ds of the mean. */
static double d_term(fv_gan_loss kind, const float *s, int n, int real, float *ds)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double x = s[i], l, g;
        switch (kind) {
        case FV_GAN_LSGAN: /* 0.5 (x - t)^2 */
            l = 0.5 * (x - real) * (x - real), g = x - real;
            break;
        case FV_GAN_HINGE: /* max(0, 1 - x) for real, max(0, 1 + x) for fake */
            l = real ? fmax(0.0, 1 - x) : fmax(0.0, 1 + x);
            g = real ? -(x < 1) : (x > -1);
            break;
        default: /* BCE with logits: softplus(-x) for real, softplus(x) for fake */
            l = real ? softplus(-x) : softplus(x), g = sigmoid(x) - real;
        }
        sum += l;
        if (ds)
            ds[i] = (float)(g / n);
    }
    return sum / n;
}

static fv_status check_loss(fv_gan_loss kind, const float *s, int n)
{
    if ((int)kind < 0 || kind >= FV_GAN_LOSS__COUNT)
        return fv_err(FV_ERR_INVALID, "GAN loss: unknown kind %d", (int)kind);
    if (!s || n < 1)
        return fv_err(FV_ERR_INVALID, "GAN loss: %d scores (need scores and n >= 1)", n);
    for (int i = 0; i < n; i++)
        if (!isfinite(s[i]))
            return fv_err(FV_ERR_NUMERIC, "GAN loss: score %d is not finite", i);
    return FV_OK;
}

fv_status fv_gan_loss_d(fv_gan_loss kind, const float *real, const float *fake, int n,
                        double *loss, float *dreal, float *dfake)
{
    FV_TRY(check_loss(kind, real, n));
    FV_TRY(check_loss(kind, fake, n));
    double l = d_term(kind, real, n, 1, dreal) + d_term(kind, fake, n, 0, dfake);
    if (loss)
        *loss = l;
    return FV_OK;
}

fv_status fv_gan_loss_g(fv_gan_loss kind, const float *fake, int n, double *loss, float *dfake)
{
    FV_TRY(check_loss(kind, fake, n));
    double l;
    if (kind == FV_GAN_HINGE) { /* -mean(x) */
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += fake[i];
            if (dfake)
                dfake[i] = -1.0f / (float)n;
        }
        l = -sum / n;
    } else { /* non-saturating: fake labelled real; LSGAN: fake pulled to 1 */
        l = d_term(kind, fake, n, 1, dfake);
    }
    if (loss)
        *loss = l;
    return FV_OK;
}

int fv_gan_loss_from_name(const char *name)
{
    static const char *names[FV_GAN_LOSS__COUNT] = {"ns", "lsgan", "hinge"};
    for (int i = 0; name && i < FV_GAN_LOSS__COUNT; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------- one step */

/* D's score as reported: the probability sigmoid(s) for the BCE loss, the raw score otherwise. */
static double mean_score(fv_gan_loss kind, const float *s, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += kind == FV_GAN_NS ? sigmoid(s[i]) : s[i];
    return sum / n;
}

/* What a conditional step adds (classes 0: none): G's input is z followed by the one-hot label,
 * D's input the image followed by `classes` planes, plane k all ones for label k. */
typedef struct cond {
    const int *labels;
    int classes;
    int64_t latent, image, plane; /* z's size, G's output size, one plane's size */
} cond;

static fv_status check_pair(const fv_model *g, const fv_model *d, cond *c)
{
    if (!g || !d || !g->compiled || !d->compiled)
        return fv_err(FV_ERR_STATE, "GAN step: G and D must be compiled models");
    if (g == d)
        return fv_err(FV_ERR_INVALID, "GAN step: G and D must be two models");
    const fv_node *din = &d->nodes[d->input_node];
    int64_t gout = g->nodes[g->output_node].size, gin = g->nodes[g->input_node].size;
    c->image = gout, c->latent = gin - c->classes;
    c->plane = din->ndim == 3 ? din->dims[1] * din->dims[2] : 0;
    if (c->classes > 0 && (c->latent < 1 || c->plane < 1))
        return fv_err(FV_ERR_SHAPE, "GAN step: conditional on %d classes needs G's input of more "
                      "than %d values (has %lld) and D's input C x H x W", c->classes, c->classes,
                      (long long)gin);
    if (gout + c->classes * c->plane != din->size)
        return fv_err(FV_ERR_SHAPE, "GAN step: G '%s' gives %lld values a sample%s, D '%s' takes "
                      "%lld", g->name, (long long)gout, c->classes ? " (plus the label planes)" : "",
                      d->name, (long long)din->size);
    if (d->nodes[d->output_node].size != 1)
        return fv_err(FV_ERR_SHAPE, "GAN step: D '%s' must give one score a sample, not %lld",
                      d->name, (long long)d->nodes[d->output_node].size);
    return FV_OK;
}

static fv_status d_half(fv_model *d, fv_gan_loss kind, const float *x, int n, int real,
                        float *ds, double *loss, double *score)
{
    FV_TRY(fv_model_forward(d, x, n));
    const float *s = fv_model_node_output(d, -1);
    if (!s)
        return FV_ERR_STATE;
    FV_TRY(check_loss(kind, s, n));
    *loss += d_term(kind, s, n, real, ds);
    *score = mean_score(kind, s, n);
    return fv_model_backward(d, 1, (int[]){-1}, (const float *const[]){ds}, NULL);
}

/* The D step on real and the detached fake batch: D's gradients of both halves, D steps. */
static fv_status d_part(fv_model *d, fv_gan_loss kind, const float *real, const float *fake,
                        int n, float *ds, fv_gan_stats *st)
{
    double ld = 0, dreal, dfake;
    fv_model_zero_grad(d);
    FV_TRY(d_half(d, kind, real, n, 1, ds, &ld, &dreal));
    FV_TRY(d_half(d, kind, fake, n, 0, ds, &ld, &dfake));
    FV_TRY(fv_model_step(d));
    st->loss_d = ld, st->d_real = dreal, st->d_fake = dfake;
    return FV_OK;
}

/* The G step: D's input gradient of the G loss on the fake batch (its image part) fed to G's
 * backward (G's forward that made the fake batch must still be in its buffers); D's gradients
 * dropped, D not stepped. dfake: room for G's output gradient. */
static fv_status g_part(fv_model *g, fv_model *d, fv_gan_loss kind, const float *fake,
                        const cond *c, int n, float *ds, float *dx, float *dfake, fv_gan_stats *st)
{
    FV_TRY(fv_model_forward(d, fake, n));
    const float *s = fv_model_node_output(d, -1);
    if (!s)
        return FV_ERR_STATE;
    FV_TRY(fv_gan_loss_g(kind, s, n, &st->loss_g, ds));
    st->d_fake_after = mean_score(kind, s, n);
    fv_status r = fv_model_backward(d, 1, (int[]){-1}, (const float *const[]){ds}, dx);
    fv_model_zero_grad(d); /* D never steps on the generator's loss */
    FV_TRY(r);
    int64_t din = c->image + c->classes * c->plane;
    for (int i = 0; i < n; i++) /* the label planes' gradient goes nowhere */
        memcpy(dfake + (size_t)i * (size_t)c->image, dx + (size_t)i * (size_t)din,
               sizeof(float) * (size_t)c->image);
    FV_TRY(fv_model_backward(g, 1, (int[]){-1}, (const float *const[]){dfake}, NULL));
    return fv_model_step(g);
}

/* x (n images) followed by each sample's label planes, into out (n x D's input size). */
static void with_planes(const cond *c, const float *x, int n, float *out)
{
    int64_t din = c->image + c->classes * c->plane;
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * (size_t)din;
        memcpy(o, x + (size_t)i * (size_t)c->image, sizeof(float) * (size_t)c->image);
        memset(o + c->image, 0, sizeof(float) * (size_t)(c->classes * c->plane));
        if (c->classes > 0) {
            float *p = o + c->image + (int64_t)c->labels[i] * c->plane;
            for (int64_t j = 0; j < c->plane; j++)
                p[j] = 1.0f;
        }
    }
}

/* z (n x latent) followed by each sample's one-hot label, into out (n x G's input size). */
static void with_one_hot(const cond *c, const float *z, int n, float *out)
{
    int64_t gin = c->latent + c->classes;
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * (size_t)gin;
        memcpy(o, z + (size_t)i * (size_t)c->latent, sizeof(float) * (size_t)c->latent);
        memset(o + c->latent, 0, sizeof(float) * (size_t)c->classes);
        if (c->classes > 0)
            o[c->latent + c->labels[i]] = 1.0f;
    }
}

static fv_status check_labels(const cond *c, int n)
{
    if (c->classes < 0 || (c->classes > 0 && !c->labels))
        return fv_err(FV_ERR_INVALID, "GAN: %d classes (need labels and classes >= 0)",
                      c->classes);
    for (int i = 0; c->classes > 0 && i < n; i++)
        if (c->labels[i] < 0 || c->labels[i] >= c->classes)
            return fv_err(FV_ERR_INVALID, "GAN: label %d of sample %d is not a class (0 to %d)",
                          c->labels[i], i, c->classes - 1);
    return FV_OK;
}

enum { PART_D = 1, PART_G = 2 };

/* The step's buffers: G's input, the real and fake batches as D takes them, D's input gradient,
 * G's output gradient, the scores' gradients. */
typedef struct bufs {
    float *gin, *real, *fake, *dx, *dfake, *ds;
} bufs;

static fv_status bufs_new(bufs *b, const cond *c, int n)
{
    size_t din = (size_t)(c->image + c->classes * c->plane) * (size_t)n;
    b->gin = malloc(sizeof(float) * (size_t)(c->latent + c->classes) * (size_t)n);
    b->real = malloc(sizeof(float) * din), b->fake = malloc(sizeof(float) * din);
    b->dx = malloc(sizeof(float) * din);
    b->dfake = malloc(sizeof(float) * (size_t)c->image * (size_t)n);
    b->ds = malloc(sizeof(float) * (size_t)n);
    if (!b->gin || !b->real || !b->fake || !b->dx || !b->dfake || !b->ds)
        return fv_err(FV_ERR_NOMEM, "GAN step: out of memory for %d samples", n);
    return FV_OK;
}

static void bufs_free(bufs *b)
{
    free(b->gin), free(b->real), free(b->fake), free(b->dx), free(b->dfake), free(b->ds);
}

/* G's forward on z (and the labels): the fake batch, copied with the label planes (D's passes
 * must not see G's buffers change), then the parts asked for. */
static fv_status run(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                     const float *z, int n, int parts, cond c, fv_gan_stats *out)
{
    FV_TRY(check_pair(g, d, &c));
    if ((int)kind < 0 || kind >= FV_GAN_LOSS__COUNT)
        return fv_err(FV_ERR_INVALID, "GAN step: unknown loss %d", (int)kind);
    if (((parts & PART_D) && !real) || !z || n < 1)
        return fv_err(FV_ERR_INVALID, "GAN step: %d samples (need real images, noise, n >= 1)",
                      n);
    FV_TRY(check_labels(&c, n));
    bufs b = {0};
    fv_gan_stats st = {0};
    fv_status s = bufs_new(&b, &c, n);
    if (s == FV_OK)
        with_one_hot(&c, z, n, b.gin), s = fv_model_forward(g, b.gin, n);
    const float *gy = s == FV_OK ? fv_model_node_output(g, -1) : NULL;
    if (s == FV_OK && !gy)
        s = FV_ERR_STATE;
    if (s == FV_OK)
        with_planes(&c, gy, n, b.fake);
    if (s == FV_OK && (parts & PART_D)) {
        with_planes(&c, real, n, b.real);
        s = d_part(d, kind, b.real, b.fake, n, b.ds, &st);
    }
    if (s == FV_OK && (parts & PART_G))
        s = g_part(g, d, kind, b.fake, &c, n, b.ds, b.dx, b.dfake, &st);
    bufs_free(&b);
    if (s == FV_OK && out)
        *out = st;
    return s;
}

fv_status fv_gan_step(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                      const float *z, int n, fv_gan_stats *st)
{
    return run(g, d, kind, real, z, n, PART_D | PART_G, (cond){0}, st);
}

fv_status fv_gan_step_d(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                        const float *z, int n, fv_gan_stats *st)
{
    return run(g, d, kind, real, z, n, PART_D, (cond){0}, st);
}

fv_status fv_gan_step_g(fv_model *g, fv_model *d, fv_gan_loss kind, const float *z, int n,
                        fv_gan_stats *st)
{
    return run(g, d, kind, NULL, z, n, PART_G, (cond){0}, st);
}

fv_status fv_gan_step_cond(fv_model *g, fv_model *d, fv_gan_loss kind, const float *real,
                           const int *labels, int classes, const float *z, int n,
                           fv_gan_stats *st)
{
    return run(g, d, kind, real, z, n, PART_D | PART_G, (cond){labels, classes, 0, 0, 0}, st);
}

/* ---------------------------------------------------------------- sampling */

fv_status fv_gan_generate(fv_model *g, const float *z, const int *labels, int classes, int n,
                          float *out)
{
    if (!g || !g->compiled || !z || !out || n < 1)
        return fv_err(FV_ERR_INVALID, "GAN generate: %d samples (need a compiled G, z, out)", n);
    cond c = {labels, classes, g->nodes[g->input_node].size - classes,
              g->nodes[g->output_node].size, 0};
    if (c.latent < 1)
        return fv_err(FV_ERR_SHAPE, "GAN generate: G '%s' takes %lld values, not more than the "
                      "%d classes", g->name, (long long)(c.latent + classes), classes);
    FV_TRY(check_labels(&c, n));
    enum { CHUNK = 256 };
    float *gin = malloc(sizeof(float) * (size_t)(c.latent + classes) * CHUNK);
    if (!gin)
        return fv_err(FV_ERR_NOMEM, "GAN generate: out of memory");
    int was = g->training;
    g->training = 0; /* batch norm's running statistics */
    fv_status s = FV_OK;
    for (int at = 0; at < n && s == FV_OK; at += CHUNK) {
        int k = n - at < CHUNK ? n - at : CHUNK;
        cond ck = c;
        ck.labels = labels ? labels + at : NULL;
        with_one_hot(&ck, z + (size_t)at * (size_t)c.latent, k, gin);
        s = fv_model_forward(g, gin, k);
        const float *y = s == FV_OK ? fv_model_node_output(g, -1) : NULL;
        if (s == FV_OK && !y)
            s = FV_ERR_STATE;
        if (s == FV_OK)
            memcpy(out + (size_t)at * (size_t)c.image, y,
                   sizeof(float) * (size_t)k * (size_t)c.image);
    }
    g->training = was;
    free(gin);
    return s;
}

/* ---------------------------------------------------------------- DCGAN for 28x28 */

/* DCGAN's initialisation: weights N(0, 0.02^2) (xavier_normal's std is gain sqrt(2 / fans), so
 * a constant std needs the gain per layer; a plain constant std is what Radford et al. use). */
static float gain_for(double fans)
{
    return (float)(0.02 / sqrt(2.0 / fans));
}

static int check_classes(int classes, const char *what)
{
    if (classes >= 0 && classes <= 1000)
        return 0;
    fv_err(FV_ERR_INVALID, "DCGAN %s: %d classes (0 to 1000)", what, classes);
    return -1;
}

/* The generator; classes > 0: its input is z followed by a one-hot label. */
static fv_model *generator(int latent, int classes, uint64_t seed)
{
    if (latent < 1 || latent > 4096) {
        fv_err(FV_ERR_INVALID, "DCGAN generator: latent size %d (1 to 4096)", latent);
        return NULL;
    }
    if (check_classes(classes, "generator"))
        return NULL;
    fv_model *m = fv_model_new(classes ? "cdcgan_g" : "dcgan_g");
    if (!m)
        return NULL;
    int x = fv_input(m, .ndim = 1, .dims = {latent + classes}, .name = "z");
    x = fv_dense(m, x, .units = 128 * 7 * 7, .no_bias = 1, .name = "fc",
                 .init = FV_INIT_XAVIER_NORMAL,
                 .init_gain = gain_for(latent + classes + 128 * 49));
    x = fv_reshape(m, x, .ndim = 3, .dims = {128, 7, 7});
    x = fv_relu(m, fv_batchnorm(m, x, .name = "bn0"));
    x = fv_conv2d_transpose(m, x, .filters = 64, .kernel = 4, .stride = 2, .padding = 1,
                            .no_bias = 1, .name = "up1", .init = FV_INIT_XAVIER_NORMAL,
                            .init_gain = gain_for((128 + 64) * 16));
    x = fv_relu(m, fv_batchnorm(m, x, .name = "bn1"));
    x = fv_conv2d_transpose(m, x, .filters = 1, .kernel = 4, .stride = 2, .padding = 1,
                            .name = "up2", .init = FV_INIT_XAVIER_NORMAL,
                            .init_gain = gain_for((64 + 1) * 16));
    fv_activation(m, x, FV_ACT_TANH, .name = "tanh");
    if (fv_model_compile(m, .loss = FV_LOSS_NONE,
                         .optimizer = fv_adam(.lr = 2e-4f, .beta1 = 0.5f), .seed = seed) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

/* The discriminator; classes > 0: its input is the image followed by `classes` label planes. */
static fv_model *discriminator(int classes, uint64_t seed)
{
    if (check_classes(classes, "discriminator"))
        return NULL;
    fv_model *m = fv_model_new(classes ? "cdcgan_d" : "dcgan_d");
    if (!m)
        return NULL;
    int x = fv_input(m, .ndim = 3, .dims = {1 + classes, 28, 28}, .name = "image");
    x = fv_conv2d(m, x, .filters = 64, .kernel = 4, .stride = 2, .padding = 1, .name = "conv1",
                  .init = FV_INIT_XAVIER_NORMAL, .init_gain = gain_for((1 + classes + 64) * 16));
    x = fv_activation(m, x, FV_ACT_LEAKY_RELU, .alpha = 0.2f);
    x = fv_conv2d(m, x, .filters = 128, .kernel = 4, .stride = 2, .padding = 1, .no_bias = 1,
                  .name = "conv2", .init = FV_INIT_XAVIER_NORMAL,
                  .init_gain = gain_for((64 + 128) * 16));
    x = fv_activation(m, fv_batchnorm(m, x, .name = "bn2"), FV_ACT_LEAKY_RELU, .alpha = 0.2f);
    fv_dense(m, fv_flatten(m, x), .units = 1, .name = "score", .init = FV_INIT_XAVIER_NORMAL,
             .init_gain = gain_for(128 * 49 + 1));
    if (fv_model_compile(m, .loss = FV_LOSS_NONE,
                         .optimizer = fv_adam(.lr = 2e-4f, .beta1 = 0.5f), .seed = seed) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

fv_model *fv_dcgan_generator(int latent, uint64_t seed)
{
    return generator(latent, 0, seed);
}

fv_model *fv_dcgan_discriminator(uint64_t seed)
{
    return discriminator(0, seed);
}

fv_model *fv_cdcgan_generator(int latent, int classes, uint64_t seed)
{
    return generator(latent, classes, seed);
}

fv_model *fv_cdcgan_discriminator(int classes, uint64_t seed)
{
    return discriminator(classes, seed);
}
