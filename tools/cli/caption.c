/* caption.c - `fovea caption`: an image captioner (CNN encoder, LSTM decoder; fv_captioner_new)
 * trained with teacher forcing on captioned digit scenes made on the fly from MNIST (training
 * scenes from its training digits with seed 1, held-out scenes from its test digits with seed
 * 2), evaluated by exact-caption accuracy and corpus BLEU-4 with greedy and beam search
 * (DIR/model.fv, DIR/weights.safetensors, DIR/vocab.txt, DIR/metrics.json, DIR/report.html with
 * test scenes and their captions); a saved run evaluated; one image captioned; a set written to
 * disk (OUT/train and OUT/test: PNG images, captions.txt, vocab.txt). Parses its own options, as segment does. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHOWN 8
#define CAP_MAX 512

typedef struct cap_opts {
    int train, test, epochs, batch, units, beam; /* the run */
    int seed, threads, quiet;
    double lr;
    const char *out, *data, *weights, *captions;
    int npos;
    const char *pos[4];
} cap_opts;

/* The test set's captions, greedy and beam, and their scores. */
typedef struct cap_eval {
    int64_t n;
    char **greedy, **beam; /* n captions each */
    double exact[2], bleu[2], seconds[2];
} cap_eval;

static int parse_one(void *p, const char *a, const char *v, int *takes)
{
    static const cli_str_opt paths[] = {{"--out", "-o", offsetof(cap_opts, out), 1},
                                        {"--data", NULL, offsetof(cap_opts, data), 1},
                                        {"--weights", NULL, offsetof(cap_opts, weights), 1},
                                        {"--captions", NULL, offsetof(cap_opts, captions), 1}};
    static const cli_int_opt ints[] = {{"--train", 1, 10000000, offsetof(cap_opts, train)},
                {"--test", 1, 10000000, offsetof(cap_opts, test)},
                {"--epochs", 1, 100000, offsetof(cap_opts, epochs)},
                {"--batch", 1, 4096, offsetof(cap_opts, batch)},
                {"--seed", 0, 1 << 30, offsetof(cap_opts, seed)},
                {"--threads", 0, 1024, offsetof(cap_opts, threads)},
                {"--beam", 1, 64, offsetof(cap_opts, beam)},
                {"--units", 1, 4096, offsetof(cap_opts, units)}};
    static const cli_opt_table table = {paths, sizeof paths / sizeof *paths, ints,
                                        sizeof ints / sizeof *ints, offsetof(cap_opts, lr)};
    return cli_table_option(p, a, v, &table, takes);
}

static int parse_cap_opts(int argc, char **argv, cap_opts *o)
{
    *o = (cap_opts){.train = 20000, .test = 1000, .epochs = 5, .batch = 32, .seed = 1,
                    .beam = 3, .units = 256, .lr = 1e-3};
    return cli_parse_own(argc, argv, "caption", o, parse_one, o->pos, &o->npos, 4, &o->quiet);
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* The scenes of one split, or the set of --captions DIR for the test split. */
static fv_caption_set *scenes(const cap_opts *o, const fv_vocab *v, int train, int n)
{
    if (!train && o->captions)
        return fv_caption_set_read(o->captions, v);
    fv_dataset *d = cli_mnist_split(o->data, train);
    fv_caption_set *s = d ? fv_caption_scenes(d, 0, n, .seed = train ? 1 : 2) : NULL;
    fv_dataset_free(d);
    return s;
}

/* ---------------------------------------------------------------- evaluation */

static void eval_clear(cap_eval *e)
{
    for (int64_t i = 0; i < e->n; i++) {
        free(e->greedy ? e->greedy[i] : NULL);
        free(e->beam ? e->beam[i] : NULL);
    }
    free(e->greedy), free(e->beam);
}

static double exact(char *const *hyp, char *const *ref, int64_t n)
{
    int64_t k = 0;
    for (int64_t i = 0; i < n; i++)
        k += strcmp(hyp[i], ref[i]) == 0;
    return (double)k / (double)n;
}

/* The captions of every test image, greedy (batches of 100) and with beam search. */
static int decode_all(fv_model *m, const fv_vocab *v, const fv_caption_set *s, int beam,
                      cap_eval *e)
{
    int steps = fv_captioner_steps(m);
    int64_t hw = s->images->dims[2] * s->images->dims[3];
    int *tok = malloc(sizeof(int) * 100 * (size_t)steps);
    e->n = s->n;
    e->greedy = calloc((size_t)s->n, sizeof(char *));
    e->beam = calloc((size_t)s->n, sizeof(char *));
    char buf[CAP_MAX];
    double t0 = now_s();
    for (int64_t i = 0; tok && e->greedy && e->beam && i < s->n; i += 100) {
        int b = (int)(s->n - i < 100 ? s->n - i : 100);
        if (fv_captioner_greedy(m, s->images->data + i * hw, b, tok) != FV_OK)
            return free(tok), 1;
        for (int j = 0; j < b; j++) {
            fv_caption_decode(v, tok + j * steps, steps, buf, sizeof buf);
            if (!(e->greedy[i + j] = strdup(buf)))
                return free(tok), 1;
        }
    }
    e->seconds[0] = now_s() - t0, t0 = now_s();
    for (int64_t i = 0; tok && e->beam && i < s->n; i++) {
        double score;
        if (fv_captioner_beam(m, s->images->data + i * hw, beam, tok, &score) != FV_OK)
            return free(tok), 1;
        fv_caption_decode(v, tok, steps, buf, sizeof buf);
        if (!(e->beam[i] = strdup(buf)))
            return free(tok), 1;
    }
    e->seconds[1] = now_s() - t0;
    free(tok);
    if (!e->greedy || !e->beam || !e->beam[s->n - 1])
        return fprintf(stderr, "fovea: caption: out of memory\n"), -1;
    for (int k = 0; k < 2; k++) {
        char **h = k ? e->beam : e->greedy;
        e->exact[k] = exact(h, s->captions, s->n);
        e->bleu[k] = fv_bleu4((const char *const *)h, (const char *const *)s->captions, s->n);
    }
    return 0;
}

static void print_eval(FILE *f, const cap_eval *e, int beam)
{
    fprintf(f, "Captions of %lld held-out scenes\n", (long long)e->n);
    fprintf(f, "  greedy:      exact-caption accuracy %.4f, BLEU-4 %.4f (%.1f s)\n", e->exact[0],
            e->bleu[0], e->seconds[0]);
    fprintf(f, "  beam (k=%d): exact-caption accuracy %.4f, BLEU-4 %.4f (%.1f s)\n", beam,
            e->exact[1], e->bleu[1], e->seconds[1]);
}

static int write_json(const char *path, const cap_eval *e, int beam)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return fprintf(stderr, "fovea: %s: %s\n", path, strerror(errno)), 1;
    fprintf(f, "{\"scenes\": %lld, \"greedy\": {\"exact\": %.6f, \"bleu4\": %.6f},\n"
            " \"beam\": {\"width\": %d, \"exact\": %.6f, \"bleu4\": %.6f}}\n", (long long)e->n,
            e->exact[0], e->bleu[0], beam, e->exact[1], e->bleu[1]);
    return fclose(f) != 0;
}

/* ---------------------------------------------------------------- report */

static int write_report(const cap_opts *o, const fv_caption_set *te, const cap_eval *e,
                        const fv_epoch_metrics *h, int epochs, double seconds, fv_model *m)
{
    char paths[SHOWN][1100], caps[SHOWN][3 * CAP_MAX + 64], rpath[1100], t[3][128];
    const char *images[SHOWN + 1] = {0}, *captions[SHOWN] = {0};
    int shown = te->n < SHOWN ? (int)te->n : SHOWN;
    for (int i = 0; i < shown; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/scene%d.png", o->out, i);
        if (fv_caption_image_save(te, i, paths[i]) != FV_OK)
            return fail_lib();
        snprintf(caps[i], sizeof caps[i], "greedy: %s | beam: %s | truth: %s", e->greedy[i],
                 e->beam[i], te->captions[i]);
        images[i] = paths[i], captions[i] = caps[i];
    }
    snprintf(rpath, sizeof rpath, "%s/report.html", o->out);
    snprintf(t[0], sizeof t[0], "%d training, %lld test scenes (64x64, 1-4 digits)", o->train,
             (long long)te->n);
    snprintf(t[1], sizeof t[1], "%.0f s (%d epochs of batches of %d, Adam lr %g)", seconds,
             epochs, o->batch, o->lr);
    snprintf(t[2], sizeof t[2], "greedy exact %.4f BLEU-4 %.4f; beam %d exact %.4f BLEU-4 %.4f",
             e->exact[0], e->bleu[0], o->beam, e->exact[1], e->bleu[1]);
    const char *params[] = {"data", t[0], "training", t[1], "test captions", t[2], "CPU",
                            fv_cpu_name(), NULL};
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f)
        fv_model_summary(m, f), fclose(f);
    fv_report r = {.title = "fovea: image captioning of digit scenes", .params = params,
                   .images = images, .captions = captions, .history = h, .epochs = epochs,
                   .summary = text};
    int bad = !text || fv_report_write(rpath, &r) != FV_OK;
    free(text);
    return bad ? fail_lib() : 0;
}

/* ---------------------------------------------------------------- train / eval / predict */

/* One epoch over the set in a seeded order; the mean loss into h. */
static int epoch(fv_model *m, const fv_vocab *v, const fv_caption_set *s, int batch, int ep,
                 float *x, float *y, fv_epoch_metrics *h)
{
    int64_t hw = s->images->dims[2] * s->images->dims[3];
    int64_t *order = malloc(sizeof(int64_t) * (size_t)s->n);
    float *imgs = malloc(sizeof(float) * (size_t)(hw * batch));
    char **caps = malloc(sizeof(char *) * (size_t)batch);
    if (!order || !imgs || !caps)
        return free(order), free(imgs), free(caps), fail("caption: out of memory"), -1;
    fv_rng r;
    fv_rng_seed(&r, (uint64_t)ep);
    fv_rng_permutation(&r, order, s->n);
    double t0 = now_s(), sum = 0;
    int64_t seen = 0;
    int rc = 0;
    for (int64_t i = 0; !rc && i < s->n; i += batch) {
        int b = (int)(s->n - i < batch ? s->n - i : batch);
        for (int j = 0; j < b; j++) {
            memcpy(imgs + j * hw, s->images->data + order[i + j] * hw, sizeof(float) * (size_t)hw);
            caps[j] = s->captions[order[i + j]];
        }
        double loss = 0;
        int correct;
        rc = fv_captioner_pack(m, v, imgs, caps, b, x, y) != FV_OK ||
             fv_model_train_batch(m, x, y, b, &loss, &correct) != FV_OK;
        sum += loss * b, seen += b;
    }
    *h = (fv_epoch_metrics){.epoch = ep, .loss = sum / (double)seen, .accuracy = NAN,
                            .val_loss = NAN, .val_accuracy = NAN,
                            .seconds = now_s() - t0};
    free(order), free(imgs), free(caps);
    return rc;
}

static int fit(const cap_opts *o, fv_model *m, const fv_vocab *v, const fv_caption_set *tr,
               fv_epoch_metrics *h, double *seconds)
{
    if (fv_model_compile(m, .loss = FV_LOSS_SEQUENCE_CE, .use_ignore_label = 1,
                         .ignore_label = 0, .optimizer = fv_adam(.lr = (float)o->lr,
                                                                 .clip_norm = 1),
                         .seed = (uint64_t)o->seed) != FV_OK)
        return 1;
    int64_t hw = tr->images->dims[2] * tr->images->dims[3];
    int steps = fv_captioner_steps(m);
    float *x = malloc(sizeof(float) * (size_t)((hw + tr->images->dims[3]) * o->batch));
    float *y = malloc(sizeof(float) * (size_t)(steps * o->batch));
    int rc = !x || !y;
    double t0 = now_s();
    for (int e = 1; !rc && e <= o->epochs; e++) {
        rc = epoch(m, v, tr, o->batch, e + o->seed * 1000, x, y, &h[e - 1]);
        h[e - 1].epoch = e;
        if (!rc && !o->quiet)
            fprintf(stderr, "epoch %d/%d: loss %.4f (%.0f s)\n", e, o->epochs, h[e - 1].loss,
                    h[e - 1].seconds);
    }
    *seconds = now_s() - t0;
    free(x), free(y);
    return rc;
}

static void run_path(char *p, size_t size, const char *dir, const char *file)
{
    snprintf(p, size, "%s/%s", dir, file);
}

static int cap_train(const cap_opts *o)
{
    if (!o->out)
        return fail("caption train: -o DIR is required");
    if (make_dir(o->out) != 0)
        return fail("caption train: cannot make the output folder");
    fv_vocab *v = fv_vocab_default();
    fv_caption_set *tr = v ? scenes(o, v, 1, o->train) : NULL;
    fv_caption_set *te = tr ? scenes(o, v, 0, o->test) : NULL;
    fv_model *m = te ? fv_captioner_new(64, 64, v->size, .units = o->units) : NULL;
    fv_epoch_metrics *h = calloc((size_t)o->epochs, sizeof *h);
    cap_eval e = {0};
    double seconds = 0;
    char mp[1100], wp[1100], vp[1100], jp[1100];
    run_path(mp, sizeof mp, o->out, "model.fv"), run_path(wp, sizeof wp, o->out,
                                                          "weights.safetensors");
    run_path(vp, sizeof vp, o->out, "vocab.txt"), run_path(jp, sizeof jp, o->out,
                                                           "metrics.json");
    int rc = !m || !h || fit(o, m, v, tr, h, &seconds) || fv_model_save_file(m, mp) != FV_OK ||
             fv_model_save_weights(m, wp) != FV_OK || fv_vocab_write(v, vp) != FV_OK ||
             decode_all(m, v, te, o->beam, &e);
    rc = rc ? fail_lib() : write_json(jp, &e, o->beam);
    rc = rc ? rc : write_report(o, te, &e, h, o->epochs, seconds, m);
    if (!rc && !o->quiet) {
        print_eval(stdout, &e, o->beam);
        printf("training %.0f s; %s/report.html\n", seconds, o->out);
    }
    eval_clear(&e), free(h), fv_model_free(m), fv_caption_set_free(tr);
    fv_caption_set_free(te), fv_vocab_free(v);
    return rc;
}

/* A run's model, weights and vocabulary. */
static fv_model *open_run(const char *dir, fv_vocab **v)
{
    char p[1100];
    run_path(p, sizeof p, dir, "vocab.txt");
    if (!(*v = fv_vocab_read(p)))
        return NULL;
    return cli_open_run(dir);
}

static int cap_eval_cmd(const cap_opts *o)
{
    if (o->npos != 2 || strlen(o->pos[1]) > PATH_OPT_MAX)
        return fail("usage: fovea caption eval DIR [--test N] [--beam K] [--captions SET]");
    fv_vocab *v = NULL;
    fv_model *m = open_run(o->pos[1], &v);
    fv_caption_set *te = m ? scenes(o, v, 0, o->test) : NULL;
    cap_eval e = {0};
    int rc = !te || decode_all(m, v, te, o->beam, &e) ? fail_lib() : 0;
    rc = rc || !o->out ? rc : write_json(o->out, &e, o->beam);
    if (!rc)
        print_eval(stdout, &e, o->beam);
    eval_clear(&e), fv_model_free(m), fv_caption_set_free(te), fv_vocab_free(v);
    return rc;
}

static int cap_predict(const cap_opts *o, const char *dir, const char *image)
{
    fv_vocab *v = NULL;
    fv_model *m = open_run(dir, &v);
    fv_tensor *img = m ? fv_image_load(image) : NULL, *fit_img = NULL;
    int steps = m ? fv_captioner_steps(m) : 0;
    int *tok = m ? malloc(sizeof(int) * (size_t)steps) : NULL;
    double score = 0;
    int rc = !img || !tok || !(fit_img = fv_image_fit(img, 1, 64, 64)) ||
             fv_captioner_beam(m, fit_img->data, o->beam, tok, &score) != FV_OK;
    if (rc)
        rc = fail_lib();
    else {
        char buf[CAP_MAX];
        fv_caption_decode(v, tok, steps, buf, sizeof buf);
        printf("%s\n", buf);
        if (!o->quiet)
            fprintf(stderr, "(beam %d, length-normalised log-probability %.4f)\n", o->beam,
                    score);
    }
    free(tok), fv_tensor_free(img), fv_tensor_free(fit_img), fv_model_free(m), fv_vocab_free(v);
    return rc;
}

/* One split's scenes as a set in out/name. */
static int write_split(const cap_opts *o, const fv_vocab *v, int train, int n, const char *name)
{
    char dir[1100];
    run_path(dir, sizeof dir, o->out, name);
    if (make_dir(dir) != 0)
        return fail("caption write: cannot make the split's folder");
    fv_caption_set *s = scenes(o, v, train, n);
    int rc = !s || fv_caption_set_write(s, v, dir) != FV_OK ? fail_lib() : 0;
    fv_caption_set_free(s);
    return rc;
}

/* The training and held-out scenes on disk (OUT/train, OUT/test), for other tools (PyTorch). */
static int cap_write(const cap_opts *o)
{
    if (!o->out || make_dir(o->out) != 0)
        return fail("caption write: -o DIR (a folder that can be made) is required");
    fv_vocab *v = fv_vocab_default();
    int rc = !v ? fail_lib() : write_split(o, v, 1, o->train, "train");
    rc = rc ? rc : write_split(o, v, 0, o->test, "test");
    fv_vocab_free(v);
    return rc;
}

/* `caption predict DIR IMAGE` */
static int cap_predict_cmd(const cap_opts *o)
{
    return cap_predict(o, o->pos[1], o->pos[2]);
}

int cmd_caption(int argc, char **argv)
{
    static const struct {
        const char *name;
        int words; /* the positional words it takes, itself included; 0: any */
        int (*run)(const cap_opts *);
    } subs[] = {{"train", 1, cap_train}, {"eval", 0, cap_eval_cmd}, {"write", 1, cap_write},
                {"predict", 3, cap_predict_cmd}};
    cap_opts o;
    if (parse_cap_opts(argc, argv, &o) != 0)
        return 2;
    if (fv_set_num_threads(o.threads) != FV_OK)
        return fail_lib();
    for (size_t k = 0; o.npos > 0 && k < sizeof subs / sizeof *subs; k++)
        if (strcmp(o.pos[0], subs[k].name) == 0 && (!subs[k].words || o.npos == subs[k].words))
            return subs[k].run(&o);
    if (o.npos == 1 && o.weights) /* caption IMAGE --weights DIR */
        return cap_predict(&o, o.weights, o.pos[0]);
    fprintf(stderr, "fovea: caption: train, eval, write, predict DIR IMAGE, or IMAGE --weights "
            "DIR (fovea caption --help)\n");
    return 2;
}
