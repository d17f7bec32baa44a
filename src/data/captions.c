/* captions.c - the captioned digit scenes (fv_caption_scenes, fovea.h): 1 to 4 MNIST digits in
 * the cells of a 2 x 2 grid on a 64 x 64 canvas (each shifted 0..4 pixels in its cell), captioned
 * in reading order (top row left to right, then the bottom row) with a few words of spatial
 * relation: "three digits : 7 left of 2 , then 9". Scene i comes from its own stream (seed, i), as
 * m2nist.c's. Also the vocabulary (written and read, one token a line) and the captions file
 * (one "FILE caption" line an image) that store a set on disk with PNG images. */
#include "core/internal.h"
#include "data/data.h"
#include "io/io.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CELL 32
#define JITTER 4
#define MAX_LINE 1024
#define MAX_VOCAB 65536

static const char *const grammar[] = {
    "<pad>", "<start>", "<end>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "one", "two",
    "three", "four", "digit", "digits", ":", "left", "of", "above", ",", "then"};
static const char *const counts[] = {"one", "two", "three", "four"};

/* ---------------------------------------------------------------- vocabulary */

void fv_vocab_free(fv_vocab *v)
{
    if (!v)
        return;
    for (int i = 0; i < v->size; i++)
        fv_free(v->words[i]);
    fv_free(v->words);
    fv_free(v);
}

static fv_vocab *vocab_of(const char *const *words, int n)
{
    fv_vocab *v = fv_calloc(1, sizeof *v, "vocabulary");
    if (v && !(v->words = fv_calloc((size_t)n, sizeof(char *), "vocabulary")))
        return fv_vocab_free(v), NULL;
    for (int i = 0; v && i < n; i++, v->size++)
        if (!(v->words[i] = fv_strdup(words[i], "vocabulary word")))
            return fv_vocab_free(v), NULL;
    return v;
}

fv_vocab *fv_vocab_default(void)
{
    return vocab_of(grammar, (int)(sizeof grammar / sizeof *grammar));
}

int fv_vocab_index(const fv_vocab *v, const char *word, size_t len)
{
    for (int i = 0; v && i < v->size; i++)
        if (strlen(v->words[i]) == len && memcmp(v->words[i], word, len) == 0)
            return i;
    return -1;
}

/* A token: printable ASCII other than space, at most 63 bytes. */
static int token_ok(const char *w, size_t len)
{
    if (len < 1 || len > 63)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (w[i] <= ' ' || w[i] > '~')
            return 0;
    return 1;
}

/* Line `line` of a vocabulary: a valid token not seen before. */
static fv_status vocab_line(const char *name, int line, const char *w, size_t len,
                            const char **words, int n)
{
    if (!token_ok(w, len))
        return fv_err(FV_ERR_FORMAT, "%s line %d: '%.*s' is no token (1..63 printable "
                      "characters, no spaces)", name, line, (int)(len < 63 ? len : 63), w);
    for (int i = 0; i < n; i++)
        if (strlen(words[i]) == len && memcmp(words[i], w, len) == 0)
            return fv_err(FV_ERR_FORMAT, "%s line %d: token '%.*s' is listed twice", name, line,
                          (int)len, w);
    return FV_OK;
}

/* The start of the next line after text[*at], its length without "\n" or "\r\n". */
static size_t next_line(const char *text, size_t len, size_t *at, const char **s)
{
    *s = text + *at;
    size_t e = *at;
    while (e < len && text[e] != '\n')
        e++;
    size_t n = e - *at;
    *at = e < len ? e + 1 : e;
    return n && (*s)[n - 1] == '\r' ? n - 1 : n;
}

fv_vocab *fv_vocab_parse(const char *text, size_t len, const char *name)
{
    const char **words = fv_calloc(MAX_VOCAB, sizeof(char *), "vocabulary");
    char *copy = fv_malloc(len + 1, "vocabulary");
    int n = 0, line = 0;
    fv_status st = words && copy ? FV_OK : FV_ERR_NOMEM;
    if (copy)
        memcpy(copy, text, len), copy[len] = 0;
    for (size_t at = 0; st == FV_OK && at < len;) {
        const char *w;
        size_t wl = next_line(copy, len, &at, &w);
        line++;
        if (wl == 0 && at >= len)
            break; /* a last empty line */
        if (n == MAX_VOCAB)
            st = fv_err(FV_ERR_FORMAT, "%s: more than %d tokens", name, MAX_VOCAB);
        else if ((st = vocab_line(name, line, w, wl, words, n)) == FV_OK)
            copy[w - copy + (ptrdiff_t)wl] = 0, words[n++] = w;
    }
    if (st == FV_OK && (n < 3 || strcmp(words[0], "<pad>") || strcmp(words[1], "<start>") ||
                        strcmp(words[2], "<end>")))
        st = fv_err(FV_ERR_FORMAT, "%s: a vocabulary starts with <pad>, <start>, <end> (lines "
                    "1-3), then the words", name);
    fv_vocab *v = st == FV_OK ? vocab_of(words, n) : NULL;
    fv_free(words), fv_free(copy);
    return v;
}

fv_vocab *fv_vocab_read(const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (fv_read_file(path, (size_t)MAX_VOCAB * 66, &buf, &len) != FV_OK)
        return NULL;
    fv_vocab *v = fv_vocab_parse((const char *)buf, len, path);
    fv_free(buf);
    return v;
}

fv_status fv_vocab_write(const fv_vocab *v, const char *path)
{
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    for (int i = 0; i < v->size; i++)
        fprintf(af.f, "%s\n", v->words[i]);
    return fv_atomic_commit(&af);
}

/* ---------------------------------------------------------------- captions as tokens */

fv_status fv_caption_encode(const fv_vocab *v, const char *caption, int steps, float *tokens,
                            int *len)
{
    int n = 0;
    for (const char *p = caption; *p;) {
        while (*p == ' ')
            p++;
        size_t wl = strcspn(p, " ");
        if (!wl)
            break;
        int k = fv_vocab_index(v, p, wl);
        if (k < 3)
            return fv_err(FV_ERR_INVALID, "caption '%.80s': token '%.*s' is %s", caption,
                          (int)(wl < 63 ? wl : 63), p, k < 0 ? "not in the vocabulary" :
                          "a special token");
        if (n + 1 >= steps)
            return fv_err(FV_ERR_INVALID, "caption '%.80s': longer than the model's %d steps "
                          "(%d words and <end>)", caption, steps, steps - 1);
        tokens[n++] = (float)k;
        p += wl;
    }
    if (!n)
        return fv_err(FV_ERR_INVALID, "caption: empty");
    tokens[n++] = 2; /* <end> */
    for (int i = n; i < steps; i++)
        tokens[i] = 0;
    *len = n;
    return FV_OK;
}

void fv_caption_decode(const fv_vocab *v, const int *tokens, int n, char *out, size_t size)
{
    size_t at = 0;
    out[0] = 0;
    for (int i = 0; i < n && tokens[i] != 2; i++) {
        if (tokens[i] < 3 || tokens[i] >= v->size)
            continue;
        int w = snprintf(out + at, size - at, "%s%s", at ? " " : "", v->words[tokens[i]]);
        if (w < 0 || (size_t)w >= size - at)
            break;
        at += (size_t)w;
    }
}

/* ---------------------------------------------------------------- the scenes */

/* The caption of digits lab[c] in cells c (0 TL, 1 TR, 2 BL, 3 BR; -1 empty). */
static void caption_of(const int *lab, char *out, size_t size)
{
    int cells[4], k = 0;
    for (int c = 0; c < 4; c++)
        if (lab[c] >= 0)
            cells[k++] = c;
    int at = snprintf(out, size, "%s %s :", counts[k - 1], k == 1 ? "digit" : "digits");
    for (int i = 0; i < k && at > 0 && (size_t)at < size; i++) {
        const char *rel = "";
        if (i > 0)
            rel = cells[i] / 2 == cells[i - 1] / 2 ? " left of" :
                  cells[i] == cells[i - 1] + 2 ? " above" : " , then";
        /* the relation belongs between the previous digit and this one */
        at += snprintf(out + at, size - (size_t)at, "%s %d", rel, lab[cells[i]]);
    }
}

static fv_status check_digits(const fv_dataset *d)
{
    if (fv_digits_check(d, "caption scenes") != FV_OK)
        return FV_ERR_SHAPE;
    if (d->x->dims[2] + JITTER > CELL || d->x->dims[3] > CELL)
        return fv_err(FV_ERR_SHAPE, "caption scenes: the digits must be (N, 1, H, W) images of "
                      "at most %dx%d with labels", CELL - JITTER, CELL - JITTER);
    return FV_OK;
}

/* Scene `index` into pixels (64 x 64) and its caption. */
static fv_status make(const fv_dataset *d, uint64_t seed, int64_t index, float *pixels,
                      char *caption, size_t size)
{
    fv_rng r;
    fv_rng_seed(&r, seed);
    fv_rng_seed(&r, fv_rng_next(&r) + (uint64_t)index * 0x9E3779B97F4A7C15ull);
    int64_t n = d->x->dims[0], h = d->x->dims[2], w = d->x->dims[3], side = 2 * CELL;
    memset(pixels, 0, sizeof(float) * (size_t)(side * side));
    int lab[4] = {-1, -1, -1, -1}, order[4] = {0, 1, 2, 3};
    int count = 1 + (int)fv_rng_below(&r, 4);
    for (int k = 0; k < count; k++) { /* a partial shuffle picks the cells */
        int j = k + (int)fv_rng_below(&r, (uint64_t)(4 - k)), c = order[j];
        order[j] = order[k], order[k] = c;
        int64_t s = (int64_t)fv_rng_below(&r, (uint64_t)n);
        float l = d->y->data[s];
        if (!(l >= 0 && l <= 9 && l == floorf(l)))
            return fv_err(FV_ERR_INVALID, "caption scenes: digit %lld's label %g is not 0..9",
                          (long long)s, (double)l);
        lab[c] = (int)l;
        int64_t y0 = (c / 2) * CELL + (int64_t)fv_rng_below(&r, JITTER + 1);
        int64_t x0 = (c % 2) * CELL + (int64_t)fv_rng_below(&r, JITTER + 1);
        const float *p = d->x->data + s * h * w;
        for (int64_t i = 0; i < h; i++)
            for (int64_t jx = 0; jx < w; jx++)
                pixels[(y0 + i) * side + x0 + jx] = p[i * w + jx];
    }
    caption_of(lab, caption, size);
    return FV_OK;
}

void fv_caption_set_free(fv_caption_set *s)
{
    if (!s)
        return;
    for (int64_t i = 0; s->captions && i < s->n; i++)
        fv_free(s->captions[i]);
    fv_free(s->captions);
    fv_tensor_free(s->images);
    fv_free(s);
}

/* An empty set of n images h x w. */
static fv_caption_set *set_new(int64_t n, int64_t h, int64_t w)
{
    fv_caption_set *s = fv_calloc(1, sizeof *s, "caption set");
    if (!s)
        return NULL;
    s->n = n;
    s->captions = fv_calloc((size_t)n, sizeof(char *), "captions");
    s->images = s->captions ? fv_tensor_new4(n, 1, h, w) : NULL;
    if (!s->images)
        return fv_caption_set_free(s), NULL;
    return s;
}

fv_caption_set *fv_caption_scenes_(const fv_dataset *digits, int64_t first, int64_t n,
                                   fv_caption_args a)
{
    if (check_digits(digits) != FV_OK)
        return NULL;
    if (first < 0 || n < 1 || n > 10000000) {
        fv_err(FV_ERR_INVALID, "caption scenes: %lld + %lld (first >= 0, 1..10^7 scenes)",
               (long long)first, (long long)n);
        return NULL;
    }
    int64_t side = 2 * CELL;
    if (fv_data_check("caption scenes", (uint64_t)n * (uint64_t)(side * side) * sizeof(float)))
        return NULL;
    fv_caption_set *s = set_new(n, side, side);
    fv_status st = s ? FV_OK : FV_ERR_NOMEM;
    for (int64_t i = 0; st == FV_OK && i < n; i++) {
        char c[160];
        st = make(digits, a.seed, first + i, s->images->data + i * side * side, c, sizeof c);
        if (st == FV_OK && !(s->captions[i] = fv_strdup(c, "caption")))
            st = FV_ERR_NOMEM;
    }
    if (st != FV_OK)
        return fv_caption_set_free(s), NULL;
    return s;
}

/* ---------------------------------------------------------------- sets on disk */

/* Line `line` of a captions file: "FILE caption", FILE a plain name (no folders), every word of
 * the caption in the vocabulary; the name and caption are copied out. */
static fv_status caption_line(const char *name, int line, const char *s, size_t len,
                              const fv_vocab *v, char *file, char *cap)
{
    size_t fl = 0;
    while (fl < len && s[fl] != ' ' && s[fl] != '\t')
        fl++;
    if (!token_ok(s, fl) || memchr(s, '/', fl) || (fl <= 2 && s[0] == '.'))
        return fv_err(FV_ERR_FORMAT, "%s line %d: '%.*s' is no image file name", name, line,
                      (int)(fl < 63 ? fl : 63), s);
    memcpy(file, s, fl), file[fl] = 0;
    size_t at = 0;
    for (size_t i = fl; i < len; i++) /* the words, single spaces between */
        if (s[i] != ' ' && s[i] != '\t') {
            if (at && (s[i - 1] == ' ' || s[i - 1] == '\t'))
                cap[at++] = ' ';
            cap[at++] = s[i];
        }
    cap[at] = 0;
    float tok[MAX_LINE];
    int n;
    if (fv_caption_encode(v, cap, MAX_LINE, tok, &n) != FV_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", fv_last_error());
        return fv_err(FV_ERR_FORMAT, "%s line %d (%s): %s", name, line, file, why);
    }
    return FV_OK;
}

void fv_captions_free(char **files, char **captions, int64_t count)
{
    for (int64_t i = 0; i < count; i++)
        fv_free(files ? files[i] : NULL), fv_free(captions ? captions[i] : NULL);
    fv_free(files), fv_free(captions);
}

fv_status fv_captions_parse(const char *text, size_t len, const char *name, const fv_vocab *v,
                            char ***files, char ***caps, int64_t *count)
{
    int64_t n = 0, cap = 0;
    char **f = NULL, **c = NULL;
    fv_status st = FV_OK;
    int line = 0;
    for (size_t at = 0; st == FV_OK && at < len;) {
        const char *s;
        size_t sl = next_line(text, len, &at, &s);
        line++;
        if (sl == 0 && at >= len)
            break;
        if (sl >= MAX_LINE) {
            st = fv_err(FV_ERR_FORMAT, "%s line %d: longer than %d bytes", name, line, MAX_LINE);
            break;
        }
        if (n == cap) {
            int64_t old = cap;
            cap = cap ? 2 * cap : 64;
            char **nf = fv_realloc(f, (size_t)old * sizeof *f, (size_t)cap * sizeof *f,
                                   "captions");
            f = nf ? nf : f;
            char **nc = nf ? fv_realloc(c, (size_t)old * sizeof *c, (size_t)cap * sizeof *c,
                                        "captions") : NULL;
            c = nc ? nc : c;
            if (!nf || !nc) {
                st = FV_ERR_NOMEM;
                break;
            }
        }
        char file[MAX_LINE], words[MAX_LINE];
        st = caption_line(name, line, s, sl, v, file, words);
        if (st == FV_OK) {
            f[n] = fv_strdup(file, "file name");
            c[n] = f[n] ? fv_strdup(words, "caption") : NULL;
            st = c[n] ? FV_OK : (fv_free(f[n]), FV_ERR_NOMEM);
            n += st == FV_OK;
        }
    }
    if (st == FV_OK && n == 0)
        st = fv_err(FV_ERR_FORMAT, "%s: no captions", name);
    if (st != FV_OK) {
        fv_captions_free(f, c, n);
        return st;
    }
    *files = f, *caps = c, *count = n;
    return FV_OK;
}

fv_status fv_caption_image_save(const fv_caption_set *s, int64_t i, const char *path)
{
    int64_t h = s->images->dims[2], w = s->images->dims[3];
    if (i < 0 || i >= s->n)
        return fv_err(FV_ERR_INVALID, "caption set: no image %lld (%lld images)", (long long)i,
                      (long long)s->n);
    fv_tensor *img = fv_tensor_new(3, (int64_t[]){1, h, w});
    if (!img)
        return FV_ERR_NOMEM;
    memcpy(img->data, s->images->data + i * h * w, sizeof(float) * (size_t)(h * w));
    fv_status st = fv_png_save(path, img);
    fv_tensor_free(img);
    return st;
}

fv_status fv_caption_set_write(const fv_caption_set *s, const fv_vocab *v, const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/vocab.txt", dir);
    FV_TRY(fv_vocab_write(v, path));
    for (int64_t i = 0; i < s->n; i++) {
        snprintf(path, sizeof path, "%s/%06lld.png", dir, (long long)i);
        FV_TRY(fv_caption_image_save(s, i, path));
    }
    fv_atomic_file af;
    snprintf(path, sizeof path, "%s/captions.txt", dir);
    FV_TRY(fv_atomic_open(&af, path));
    for (int64_t i = 0; i < s->n; i++)
        fprintf(af.f, "%06lld.png %s\n", (long long)i, s->captions[i]);
    return fv_atomic_commit(&af);
}

/* Image i of the set from dir/file: gray, the size of the first. */
static fv_status load_image(fv_caption_set **s, const char *dir, const char *file, int64_t i,
                            int64_t n)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    fv_tensor *img = fv_image_load(path);
    if (!img)
        return fv_err(FV_ERR_IO, "%s/captions.txt: image %lld '%s' does not match: %s", dir,
                      (long long)i + 1, file, fv_last_error());
    fv_status st = FV_OK;
    if (!*s && !(*s = set_new(n, img->dims[2], img->dims[3])))
        st = FV_ERR_NOMEM;
    int64_t h = st == FV_OK ? (*s)->images->dims[2] : 0, w = h ? (*s)->images->dims[3] : 0;
    if (st == FV_OK && (img->dims[1] != 1 || img->dims[2] != h || img->dims[3] != w))
        st = fv_err(FV_ERR_SHAPE, "%s/captions.txt: image '%s' is %lldx%lldx%lld, not the "
                    "set's 1x%lldx%lld (gray)", dir, file, (long long)img->dims[1],
                    (long long)img->dims[2], (long long)img->dims[3], (long long)h,
                    (long long)w);
    if (st == FV_OK)
        memcpy((*s)->images->data + i * h * w, img->data, sizeof(float) * (size_t)(h * w));
    fv_tensor_free(img);
    return st;
}

fv_caption_set *fv_caption_set_read(const char *dir, const fv_vocab *v)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/captions.txt", dir);
    unsigned char *buf = NULL;
    size_t len = 0;
    char **files = NULL, **caps = NULL;
    int64_t n = 0;
    if (fv_read_file(path, (size_t)1 << 30, &buf, &len) != FV_OK)
        return NULL;
    fv_status st = fv_captions_parse((const char *)buf, len, path, v, &files, &caps, &n);
    fv_free(buf);
    fv_caption_set *s = NULL;
    for (int64_t i = 0; st == FV_OK && i < n; i++)
        st = load_image(&s, dir, files[i], i, n);
    for (int64_t i = 0; i < n; i++) {
        fv_free(files[i]);
        if (st == FV_OK)
            s->captions[i] = caps[i];
        else
            fv_free(caps[i]);
    }
    fv_free(files), fv_free(caps);
    if (st != FV_OK)
        return fv_caption_set_free(s), NULL;
    return s;
}
