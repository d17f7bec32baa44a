/* probs.c - per-image class probabilities as CSV ("index,label,p_0,...,p_{k-1}", a row per
 * image): written by `fovea eval`, read back by `fovea ensemble` to average several models. The
 * reader is strict: anything but that layout is a one-line error naming the file and line. */
#include "io/io.h"
#include "nn/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROBS_MAX_CLASSES (1 << 20)
#define PROBS_SUM_TOLERANCE 1e-3 /* a row's sum may differ from 1 by this (float softmax: ~1e-6) */

void fv_probs_free(fv_probs *p)
{
    if (!p)
        return;
    fv_free(p->labels);
    fv_free(p->p);
    *p = (fv_probs){0};
}

fv_status fv_probs_write(const char *path, const float *p, const int *labels, int64_t n, int k)
{
    if (k < 1 || n < 0)
        return fv_err(FV_ERR_INVALID, "%s: %lld rows of %d probabilities", path, (long long)n, k);
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    fputs("index,label", af.f);
    for (int c = 0; c < k; c++)
        fprintf(af.f, ",p_%d", c);
    fputc('\n', af.f);
    for (int64_t i = 0; i < n; i++) {
        fprintf(af.f, "%lld,%d", (long long)i, labels[i]);
        for (int c = 0; c < k; c++) /* 9 digits: read back, the same float */
            fprintf(af.f, ",%.9g", (double)p[i * k + c]);
        fputc('\n', af.f);
    }
    return fv_atomic_commit(&af);
}

/* ---------------------------------------------------------------- reading */

typedef struct cursor {
    const char *name;
    const char *s, *end; /* the rest of the text; *end is a NUL */
    int64_t line;        /* 1-based number of the line at s */
} cursor;

/* The end of the line at c->s: its '\n' (or the text's end), before a '\r'. */
static const char *line_end(const cursor *c)
{
    const char *nl = memchr(c->s, '\n', (size_t)(c->end - c->s)), *le = nl ? nl : c->end;
    return le > c->s && le[-1] == '\r' ? le - 1 : le;
}

static void next_line(cursor *c)
{
    const char *nl = memchr(c->s, '\n', (size_t)(c->end - c->s));
    c->s = nl ? nl + 1 : c->end;
    c->line++;
}

/* Digits (1 to 18) at *p, ending at a ',' or the line's end le. */
static int read_uint(const char **p, const char *le, int64_t *v)
{
    const char *s = *p;
    int64_t x = 0;
    while (s < le && *s >= '0' && *s <= '9' && s - *p < 18)
        x = 10 * x + (*s++ - '0');
    if (s == *p || (s < le && *s != ','))
        return -1;
    *p = s, *v = x;
    return 0;
}

static fv_status parse_header(cursor *c, int *k)
{
    const char *le = line_end(c), *p;
    if (le - c->s < 11 || memcmp(c->s, "index,label", 11) != 0)
        return fv_err(FV_ERR_FORMAT, "%s: line 1: the header must be index,label,p_0,p_1,...",
                      c->name);
    p = c->s + 11;
    for (*k = 0; p < le; (*k)++) {
        char want[24];
        int wl = snprintf(want, sizeof want, ",p_%d", *k);
        if (*k == PROBS_MAX_CLASSES)
            return fv_err(FV_ERR_FORMAT, "%s: line 1: more than %d classes", c->name,
                          PROBS_MAX_CLASSES);
        if (le - p < wl || memcmp(p, want, (size_t)wl) != 0 || (p + wl < le && p[wl] != ','))
            return fv_err(FV_ERR_FORMAT, "%s: line 1: column %d must be p_%d", c->name, *k + 3,
                          *k);
        p += wl;
    }
    if (*k == 0)
        return fv_err(FV_ERR_FORMAT, "%s: line 1: no probability columns (p_0, p_1, ...)",
                      c->name);
    next_line(c);
    return FV_OK;
}

/* Probability j of the row at *p (after its ','), into *v. */
static fv_status read_prob(const cursor *c, const char **p, const char *le, int j, float *v)
{
    const char *s = *p;
    char *e = NULL;
    /* a digit, '.' or '-' first: strtof would skip blanks (and a newline) and read words */
    if ((*s >= '0' && *s <= '9') || *s == '.' || *s == '-')
        *v = strtof(s, &e);
    if (!e || e == s || e > le || (e < le && *e != ','))
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: p_%d is not a number", c->name,
                      (long long)c->line, j);
    if (!(*v >= 0 && *v <= 1))
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: p_%d is not a probability in [0, 1]",
                      c->name, (long long)c->line, j);
    *p = e;
    return FV_OK;
}

/* Row r: its index r, a label in [0, k) and k probabilities summing to 1. */
static fv_status parse_row(cursor *c, int k, int64_t r, int *label, float *prob)
{
    const char *p = c->s, *le = line_end(c);
    long long ln = (long long)c->line;
    int64_t idx, lab;
    if (p == le)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld is empty", c->name, ln);
    if (read_uint(&p, le, &idx) != 0 || idx != r)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: the index must be %lld", c->name, ln,
                      (long long)r);
    if (p < le)
        p++; /* the ',' read_uint stopped at */
    if (read_uint(&p, le, &lab) != 0 || lab >= k)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: the label must be a class index in [0, %d)",
                      c->name, ln, k);
    double sum = 0;
    for (int j = 0; j < k; j++) {
        if (p == le)
            return fv_err(FV_ERR_FORMAT, "%s: line %lld: %d probabilities, expected %d", c->name,
                          ln, j, k);
        p++;
        FV_TRY(read_prob(c, &p, le, j, &prob[j]));
        sum += prob[j];
    }
    if (p != le)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: more than %d probabilities", c->name, ln, k);
    if (!(fabs(sum - 1) <= PROBS_SUM_TOLERANCE))
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: the probabilities sum to %.6g, not 1",
                      c->name, ln, sum);
    *label = (int)lab;
    next_line(c);
    return FV_OK;
}

/* The most rows the rest of the text can hold: its lines, and no more than a row of k
 * one-character values takes (2k + 3 bytes with its newline), so that memory follows the size. */
static int64_t row_bound(const cursor *c, int k)
{
    int64_t lines = 0, len = c->end - c->s;
    for (const char *s = c->s; (s = memchr(s, '\n', (size_t)(c->end - s))) != NULL; s++)
        lines++;
    lines += len > 0 && c->end[-1] != '\n';
    int64_t most = (len + 1) / (2 * (int64_t)k + 2) + 1;
    return lines < most ? lines : most;
}

fv_status fv_probs_decode(const char *name, const char *text, size_t len, fv_probs *out)
{
    *out = (fv_probs){0};
    cursor c = {name, text, text + len, 1};
    if (memchr(text, '\0', len))
        return fv_err(FV_ERR_FORMAT, "%s: not a text file (a NUL byte)", name);
    int k = 0;
    FV_TRY(parse_header(&c, &k));
    int64_t cap = row_bound(&c, k), n = 0;
    if (cap == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no rows after the header", name);
    out->labels = fv_malloc(sizeof(int) * (size_t)cap, "probability labels");
    out->p = out->labels ? fv_malloc(sizeof(float) * (size_t)(cap * k), "probabilities") : NULL;
    fv_status st = out->p ? FV_OK : FV_ERR_NOMEM;
    for (; st == FV_OK && c.s < c.end; n++)
        st = n == cap ? fv_err(FV_ERR_FORMAT, "%s: line %lld: too many rows", name,
                               (long long)c.line)
                      : parse_row(&c, k, n, &out->labels[n], &out->p[n * k]);
    if (st != FV_OK) {
        fv_probs_free(out);
        return st;
    }
    out->n = n, out->k = k;
    return FV_OK;
}

fv_status fv_probs_read(const char *path, fv_probs *out)
{
    unsigned char *buf;
    size_t len;
    *out = (fv_probs){0};
    FV_TRY(fv_read_file(path, fv_data_limit(), &buf, &len));
    fv_status st = fv_probs_decode(path, (const char *)buf, len, out);
    fv_free(buf);
    return st;
}
