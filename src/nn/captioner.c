/* captioner.c - the image captioner (fovea.h): the CNN encoder + LSTM decoder built with the
 * layer API (saved and loaded as any model file), packing images and captions into its one input (image rows, then a token row), greedy
 * and beam-search decoding by forward passes over the caption so far, and corpus BLEU-4. */
#include "core/internal.h"
#include "kernels/ref/act_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BEAM 64
#define MAX_WORDS 256

/* The encoder: three conv 3x3 (same) + ReLU + max-pool stages over the image rows of x, then
 * h0 (dense + tanh) and c0 (dense) of `units` each; -1 on an error. */
static int encoder(fv_model *m, int x, int units, int *c0)
{
    static const char *const conv[] = {"conv1", "conv2", "conv3"}, *pool[] = {"pool1", "pool2",
                                                                              "pool3"};
    int at = fv_cropping2d(m, x, .bottom = 1, .name = "image");
    for (int k = 0; k < 3; k++) {
        at = fv_conv2d(m, at, .filters = 16 << k, .kernel = 3, .same = 1,
                       .activation = FV_ACT_RELU, .name = conv[k]);
        at = fv_maxpool2d(m, at, .size = 2, .name = pool[k]);
    }
    int f = fv_flatten(m, at, .name = "features");
    *c0 = fv_dense(m, f, .units = units, .name = "c0");
    return fv_dense(m, f, .units = units, .activation = FV_ACT_TANH, .name = "h0");
}

fv_model *fv_captioner_new_(int height, int width, int vocab, fv_captioner_args a)
{
    int units = a.units ? a.units : 256, embed = a.embed ? a.embed : 64;
    int steps = a.steps ? a.steps : 14;
    if (height < 8 || width < 8 || height > 1024 || width > 1024 || steps < 2 ||
        steps > width || vocab < 4 || units < 1 || embed < 1) {
        fv_err(FV_ERR_INVALID, "captioner: %dx%d images, %d steps, vocabulary %d, %d units, "
               "embedding %d (images 8..1024, steps 2..width, vocabulary >= 4)", height, width,
               steps, vocab, units, embed);
        return NULL;
    }
    fv_model *m = fv_model_new("captioner");
    int x = m ? fv_input(m, .ndim = 3, .dims = {1, height + 1, width}, .name = "x") : -1;
    int c0 = -1, h0 = x >= 0 ? encoder(m, x, units, &c0) : -1;
    /* the decoder: the token row's first `steps` values */
    int t = h0 >= 0 ? fv_cropping2d(m, x, .top = height, .right = width - steps,
                                    .name = "token_row") : -1;
    t = t >= 0 ? fv_reshape(m, t, .ndim = 1, .dims = {steps}, .name = "tokens") : -1;
    t = t >= 0 ? fv_embedding(m, t, .vocab = vocab, .dim = embed, .name = "embed") : -1;
    t = t >= 0 ? fv_rnn_state(m, t, h0, c0, .cell = FV_RNN_LSTM, .units = units,
                              .return_sequences = 1, .name = "lstm") : -1;
    t = t >= 0 ? fv_dense(m, t, .units = vocab, .per_step = 1, .name = "logits") : -1;
    if (t < 0)
        return fv_model_free(m), NULL;
    return m;
}

/* ---------------------------------------------------------------- geometry and packing */

typedef struct geometry {
    int h, w, steps, vocab;
} geometry;

/* The model's image size, steps and vocabulary: input (1, H + 1, W), output (steps, vocab). */
static fv_status geometry_of(const fv_model *m, geometry *g)
{
    const fv_node *in = &m->nodes[m->input_node];
    const fv_node *out = &m->nodes[m->output_node >= 0 ? m->output_node : m->nnodes - 1];
    if (!m->compiled || in->ndim != 3 || in->dims[0] != 1 || out->ndim != 2 ||
        out->dims[0] > in->dims[2] || in->dims[1] < 2)
        return fv_err(FV_ERR_SHAPE, "model '%s': not a compiled captioner (input (1, H + 1, W), "
                      "output (steps, vocabulary))", m->name);
    *g = (geometry){.h = (int)in->dims[1] - 1, .w = (int)in->dims[2],
                    .steps = (int)out->dims[0], .vocab = (int)out->dims[1]};
    return FV_OK;
}

int fv_captioner_steps(const fv_model *m)
{
    geometry g = {0};
    return geometry_of(m, &g) == FV_OK ? g.steps : 0;
}

/* Sample i's input: the image, then the token row (tokens at its start, the rest 0). */
static void pack_image(const geometry *g, const float *image, float *x)
{
    memcpy(x, image, sizeof(float) * (size_t)g->h * (size_t)g->w);
    memset(x + (size_t)g->h * (size_t)g->w, 0, sizeof(float) * (size_t)g->w);
}

static float *token_row(const geometry *g, float *x, int i)
{
    return x + (size_t)i * (size_t)(g->h + 1) * (size_t)g->w + (size_t)g->h * (size_t)g->w;
}

fv_status fv_captioner_pack(const fv_model *m, const fv_vocab *v, const float *images,
                            char *const *captions, int n, float *x, float *y)
{
    geometry g = {0};
    FV_TRY(geometry_of(m, &g));
    if (v->size != g.vocab)
        return fv_err(FV_ERR_SHAPE, "model '%s': a vocabulary of %d tokens, but the model "
                      "predicts %d", m->name, v->size, g.vocab);
    for (int i = 0; i < n; i++) {
        float *row = token_row(&g, x, i), *t = y + (size_t)i * (size_t)g.steps;
        int len;
        pack_image(&g, images + (size_t)i * (size_t)g.h * (size_t)g.w,
                   x + (size_t)i * (size_t)(g.h + 1) * (size_t)g.w);
        FV_TRY(fv_caption_encode(v, captions[i], g.steps, t, &len));
        row[0] = 1; /* <start>, then the words: the targets shifted by one */
        memcpy(row + 1, t, sizeof(float) * (size_t)(len - 1));
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- decoding */

fv_status fv_captioner_greedy(fv_model *m, const float *images, int n, int *tokens)
{
    geometry g = {0};
    FV_TRY(geometry_of(m, &g));
    size_t per = (size_t)(g.h + 1) * (size_t)g.w;
    float *x = fv_malloc(sizeof(float) * per * (size_t)n, "captioner input");
    char *done = fv_calloc((size_t)n, 1, "captioner decoding");
    if (!x || !done)
        return fv_free(x), fv_free(done), FV_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        pack_image(&g, images + (size_t)i * (size_t)g.h * (size_t)g.w, x + i * per);
        token_row(&g, x, i)[0] = 1;
    }
    fv_status st = FV_OK;
    int live = n;
    for (int t = 0; st == FV_OK && t < g.steps && live > 0; t++) {
        st = fv_model_forward(m, x, n);
        const float *z = st == FV_OK ? fv_model_node_output(m, -1) : NULL;
        st = st == FV_OK && !z ? FV_ERR_STATE : st;
        for (int i = 0; st == FV_OK && i < n; i++) {
            int *tok = tokens + (size_t)i * (size_t)g.steps;
            if (t > 0 && done[i]) { /* ended: pad */
                tok[t] = 0;
                continue;
            }
            const float *zi = z + ((size_t)i * (size_t)g.steps + (size_t)t) * (size_t)g.vocab;
            int best = 0;
            for (int j = 1; j < g.vocab; j++)
                best = zi[j] > zi[best] ? j : best;
            tok[t] = best;
            done[i] = best == 2;
            live -= done[i];
            if (t + 1 < g.steps)
                token_row(&g, x, i)[t + 1] = (float)tok[t];
        }
    }
    for (int i = 0; st == FV_OK && i < n; i++) /* stopped early: pad the rest */
        for (int t = 0, ended = 0; t < g.steps; t++) {
            int *tok = tokens + (size_t)i * (size_t)g.steps;
            tok[t] = ended ? 0 : tok[t];
            ended = ended || tok[t] == 2;
        }
    fv_free(x), fv_free(done);
    return st;
}

typedef struct hyp {
    int tok[MAX_WORDS];
    double logp;
    int len, done;
} hyp;

/* The length-normalised score of a hypothesis. */
static double norm_score(const hyp *h)
{
    return h->len ? h->logp / h->len : 0;
}

/* Inserts candidate c into the best-first list of at most k (by the raw log-probability among
 * live hypotheses, as a beam keeps them). */
static void keep_best(hyp *list, int *n, int k, const hyp *c)
{
    int at = *n;
    while (at > 0 && list[at - 1].logp < c->logp)
        at--;
    if (at >= k)
        return;
    int last = *n < k ? *n : k - 1;
    memmove(list + at + 1, list + at, sizeof *list * (size_t)(last - at));
    list[at] = *c;
    *n = *n < k ? *n + 1 : k;
}

/* Step t of the beam: every live hypothesis extended by each token into next. */
static void extend(const geometry *g, const float *z, const hyp *beam, int nb, int k, hyp *next,
                   int *nn, float *lp)
{
    *nn = 0;
    for (int b = 0; b < nb; b++) {
        if (beam[b].done) {
            keep_best(next, nn, k, &beam[b]);
            continue;
        }
        int t = beam[b].len;
        fv_ref_log_softmax_fwd_f32(z + ((size_t)b * (size_t)g->steps + (size_t)t) *
                                           (size_t)g->vocab, lp, 1, g->vocab);
        for (int j = 0; j < g->vocab; j++) {
            hyp c = beam[b];
            c.tok[t] = j, c.len = t + 1, c.logp += lp[j];
            c.done = j == 2 || c.len == g->steps;
            keep_best(next, nn, k, &c);
        }
    }
}

fv_status fv_captioner_beam(fv_model *m, const float *image, int beam, int *tokens,
                            double *score)
{
    geometry g = {0};
    FV_TRY(geometry_of(m, &g));
    if (beam < 1 || beam > MAX_BEAM || g.steps > MAX_WORDS)
        return fv_err(FV_ERR_INVALID, "captioner: beam width %d (1..%d)", beam, MAX_BEAM);
    size_t per = (size_t)(g.h + 1) * (size_t)g.w;
    float *x = fv_malloc(sizeof(float) * per * (size_t)beam, "captioner input");
    hyp *cur = fv_calloc((size_t)beam, sizeof *cur, "beam"),
        *next = fv_calloc((size_t)beam, sizeof *next, "beam");
    float *lp = fv_malloc(sizeof(float) * (size_t)g.vocab, "beam");
    fv_status st = x && cur && next && lp ? FV_OK : FV_ERR_NOMEM;
    int nb = 1, all_done = 0;
    for (int t = 0; st == FV_OK && t < g.steps && !all_done; t++) {
        for (int b = 0; b < nb; b++) { /* the hypotheses as a batch */
            pack_image(&g, image, x + b * per);
            float *row = token_row(&g, x, b);
            row[0] = 1;
            for (int s = 0; s < cur[b].len && s + 1 < g.steps; s++)
                row[s + 1] = (float)cur[b].tok[s];
        }
        st = fv_model_forward(m, x, nb);
        const float *z = st == FV_OK ? fv_model_node_output(m, -1) : NULL;
        st = st == FV_OK && !z ? FV_ERR_STATE : st;
        if (st != FV_OK)
            break;
        int nn;
        extend(&g, z, cur, nb, beam, next, &nn, lp);
        hyp *sw = cur;
        cur = next, next = sw, nb = nn, all_done = 1;
        for (int b = 0; b < nb; b++)
            all_done = all_done && cur[b].done;
    }
    if (st == FV_OK) {
        int best = 0;
        for (int b = 1; b < nb; b++)
            best = norm_score(&cur[b]) > norm_score(&cur[best]) ? b : best;
        for (int t = 0; t < g.steps; t++)
            tokens[t] = t < cur[best].len ? cur[best].tok[t] : 0;
        *score = norm_score(&cur[best]);
    }
    fv_free(x), fv_free(cur), fv_free(next), fv_free(lp);
    return st;
}

/* ---------------------------------------------------------------- BLEU-4 */

typedef struct words {
    const char *w[MAX_WORDS];
    int len[MAX_WORDS], n;
} words;

static void split_words(const char *s, words *o)
{
    o->n = 0;
    for (const char *p = s; *p && o->n < MAX_WORDS;) {
        while (*p == ' ')
            p++;
        size_t l = strcspn(p, " ");
        if (!l)
            break;
        o->w[o->n] = p, o->len[o->n++] = (int)l;
        p += l;
    }
}

static int same_gram(const words *a, int i, const words *b, int j, int k)
{
    for (int q = 0; q < k; q++)
        if (a->len[i + q] != b->len[j + q] || memcmp(a->w[i + q], b->w[j + q],
                                                     (size_t)a->len[i + q]) != 0)
            return 0;
    return 1;
}

/* Occurrences of a's k-gram at i in s. */
static int count_gram(const words *a, int i, const words *s, int k)
{
    int c = 0;
    for (int j = 0; j + k <= s->n; j++)
        c += same_gram(a, i, s, j, k);
    return c;
}

/* The clipped matches of h's k-grams in r: each distinct k-gram counts min(in h, in r). */
static int clipped(const words *h, const words *r, int k)
{
    int m = 0;
    for (int i = 0; i + k <= h->n; i++) {
        int first = 1;
        for (int p = 0; p < i && first; p++)
            first = !same_gram(h, p, h, i, k);
        if (first) {
            int ch = count_gram(h, i, h, k), cr = count_gram(h, i, r, k);
            m += ch < cr ? ch : cr;
        }
    }
    return m;
}

double fv_bleu4(const char *const *hyp_text, const char *const *ref_text, int64_t n)
{
    double match[4] = {0}, total[4] = {0}, c = 0, r = 0;
    static _Thread_local words h, ref;
    for (int64_t i = 0; i < n; i++) {
        split_words(hyp_text[i], &h);
        split_words(ref_text[i], &ref);
        c += h.n, r += ref.n;
        for (int k = 1; k <= 4; k++) {
            match[k - 1] += clipped(&h, &ref, k);
            total[k - 1] += h.n >= k ? h.n - k + 1 : 0;
        }
    }
    double logp = 0;
    for (int k = 0; k < 4; k++) {
        if (match[k] == 0 || total[k] == 0)
            return 0;
        logp += log(match[k] / total[k]) / 4;
    }
    double bp = c > r ? 1 : exp(1 - r / c);
    return bp * exp(logp);
}
