/* csv.c - CSV files as data sets (fv_dataset_load_csv): an RFC 4180 tokenizer over a buffered
 * stream that keeps line numbers (quoted fields may span lines), decimal numbers for the features,
 * and real targets or class labels (whole numbers, else names) from the target column. Bounded:
 * a record holds at most 16 MiB and 2^20 columns, the decoded rows at most the data limit,
 * checked as they arrive, so a hostile file costs memory in proportion to what it holds. */
#include "data/data.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF 65536
#define CSV_MAX_RECORD ((size_t)16 << 20)
#define CSV_MAX_COLUMNS (1 << 20)
#define CSV_MAX_CLASSES 65536
#define CSV_MAX_LABEL 255

/* One record: its fields unquoted, each NUL-terminated in text. */
typedef struct rec {
    fv_grow text;
    size_t *start; /* field k at text.p + start[k] */
    int nf, fcap;
    int quoted;    /* some field was quoted */
    int64_t line;  /* the line the record starts on */
} rec;

/* A distinct class label: its text, where it first appears, whether it is a number, and its
 * value when that is a whole number in [0, CSV_MAX_CLASSES) (else -1). */
typedef struct label {
    char *s;
    int64_t line;
    int isnum, num;
} label;

typedef struct csv {
    FILE *f;
    const char *name;
    const fv_vec_args *a;
    unsigned char *buf;
    size_t pos, len;
    int64_t line;  /* the line being read, from 1 */
    int64_t line1; /* the first record's line */
    rec r, head;   /* the record being read; the header (nf 0: none) */
    int ncols, target;
    int64_t rows;
    fv_grow x, y;  /* rows x (ncols - 1) floats; a float target or an int label id per row */
    label *lab;
    int nlab, labcap, hcap;
    int *hash;     /* open addressing: label index + 1, 0 empty */
} csv;

/* ---------------------------------------------------------------- tokenizer */

/* The next byte, EOF at the end, -2 on a read error. */
static int next_byte(csv *c)
{
    if (c->pos == c->len) {
        c->pos = 0;
        c->len = fread(c->buf, 1, CSV_BUF, c->f);
        if (c->len == 0)
            return ferror(c->f) ? -2 : EOF;
    }
    return c->buf[c->pos++];
}

static int peek_byte(csv *c)
{
    int ch = next_byte(c);
    if (ch >= 0)
        c->pos--;
    return ch;
}

static fv_status put(csv *c, char ch)
{
    rec *r = &c->r;
    if (r->text.len >= CSV_MAX_RECORD)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: a record longer than %zu MiB", c->name,
                      (long long)r->line, CSV_MAX_RECORD >> 20);
    FV_TRY(fv_grow_to(&r->text, r->text.len + 1, CSV_MAX_RECORD + 1, "CSV record"));
    r->text.p[r->text.len++] = (unsigned char)ch;
    return FV_OK;
}

static fv_status field_begin(csv *c)
{
    rec *r = &c->r;
    if (r->nf == CSV_MAX_COLUMNS)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld: more than %d columns", c->name,
                      (long long)r->line, CSV_MAX_COLUMNS);
    size_t *p = fv_grow_table(r->start, &r->fcap, r->nf, sizeof *p, 64, "CSV fields");
    if (!p)
        return FV_ERR_NOMEM;
    r->start = p;
    r->start[r->nf++] = r->text.len;
    return FV_OK;
}

/* Ends the last field: blanks after an unquoted one dropped, then its NUL. */
static fv_status field_end(csv *c, int quoted)
{
    rec *r = &c->r;
    size_t s = r->start[r->nf - 1];
    while (!quoted && r->text.len > s &&
           (r->text.p[r->text.len - 1] == ' ' || r->text.p[r->text.len - 1] == '\t'))
        r->text.len--;
    return put(c, '\0');
}

static const char *field(const rec *r, int k) { return (const char *)r->text.p + r->start[k]; }

enum { START, PLAIN, QUOTED, AFTER };

/* A line end (LF, CRLF or CR) just read as ch: counted once. */
static void newline(csv *c, int ch)
{
    if (ch == '\r' && peek_byte(c) == '\n')
        next_byte(c);
    c->line++;
}

/* One physical record into c->r; *got 0 at the end of the input. */
static fv_status read_one(csv *c, int *got)
{
    rec *r = &c->r;
    r->text.len = 0, r->nf = 0, r->quoted = 0, r->line = c->line;
    int st = START, quoted = 0;
    int64_t qline = 0;
    *got = 0;
    FV_TRY(field_begin(c));
    for (;;) {
        int ch = next_byte(c);
        if (ch == -2)
            return fv_err(FV_ERR_IO, "%s: read error: %s", c->name, strerror(errno));
        if (ch == 0)
            return fv_err(FV_ERR_FORMAT, "%s: line %lld: a NUL byte (not a text file)", c->name,
                          (long long)c->line);
        if (st == QUOTED) {
            if (ch == EOF)
                return fv_err(FV_ERR_FORMAT, "%s: the quote opened on line %lld is never closed "
                              "(the file ends inside it)", c->name, (long long)qline);
            if (ch == '"' && peek_byte(c) != '"') {
                st = AFTER;
                continue;
            }
            if (ch == '"')
                next_byte(c); /* "" is one quote */
            if (ch == '\n' || ch == '\r')
                newline(c, ch), ch = '\n';
            FV_TRY(put(c, (char)ch));
            continue;
        }
        if (ch == EOF || ch == '\n' || ch == '\r') {
            if (ch != EOF)
                newline(c, ch);
            FV_TRY(field_end(c, quoted));
            *got = ch != EOF || r->nf > 1 || r->quoted || field(r, 0)[0];
            return FV_OK;
        }
        if (ch == ',') {
            FV_TRY(field_end(c, quoted));
            FV_TRY(field_begin(c));
            st = START, quoted = 0;
            continue;
        }
        if (st == AFTER && ch != ' ' && ch != '\t')
            return fv_err(FV_ERR_FORMAT, "%s: line %lld, column %d: text after a closing quote",
                          c->name, (long long)c->line, r->nf);
        if (st == AFTER || (st == START && (ch == ' ' || ch == '\t')))
            continue;
        if (st == START && ch == '"') {
            st = QUOTED, quoted = r->quoted = 1, qline = c->line;
            continue;
        }
        st = PLAIN;
        FV_TRY(put(c, (char)ch));
    }
}

/* The next record that is not a blank line; *got 0 at the end. */
static fv_status read_record(csv *c, int *got)
{
    do
        FV_TRY(read_one(c, got));
    while (*got && c->r.nf == 1 && !c->r.quoted && !field(&c->r, 0)[0]);
    return FV_OK;
}

/* ---------------------------------------------------------------- cells */

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* Whether s (after a sign) spells NaN or infinity in any case. */
static int non_finite_word(const char *s)
{
    s += *s == '+' || *s == '-';
    static const char *const w[] = {"nan", "inf", "infinity"};
    for (int i = 0; i < 3; i++) {
        size_t k = 0;
        while (w[i][k] && (s[k] | 0x20) == w[i][k])
            k++;
        if (!w[i][k] && !s[k])
            return 1;
    }
    return 0;
}

/* A decimal number ([sign] digits [. digits] [e [sign] digits]) finite as a float into *v; else
 * NULL and *why says what s is instead. */
static int parse_number(const char *s, double *v, const char **why)
{
    const char *p = s + (*s == '+' || *s == '-');
    int digits = 0;
    for (; is_digit(*p); p++)
        digits++;
    if (*p == '.')
        for (p++; is_digit(*p); p++)
            digits++;
    if (digits && (*p == 'e' || *p == 'E')) {
        p++;
        p += *p == '+' || *p == '-';
        if (!is_digit(*p))
            digits = 0;
        while (is_digit(*p))
            p++;
    }
    if (!digits || *p) {
        *why = non_finite_word(s) ? "not finite (NaN and Inf are not supported)" : "not a number";
        return 0;
    }
    double d = strtod(s, NULL); /* the syntax is checked: decimal, nothing else */
    if (!isfinite((float)d)) {
        *why = "beyond the range of float";
        return 0;
    }
    *v = d;
    return 1;
}

/* "PATH: line L, column C (NAME): what" for cell k of the current record. */
static fv_status cell_err(const csv *c, int k, const char *what)
{
    char hn[80] = "", h[64];
    if (c->head.nf)
        snprintf(hn, sizeof hn, " (%s)", fv_printable(field(&c->head, k), h, sizeof h));
    return fv_err(FV_ERR_FORMAT, "%s: line %lld, column %d%s: %s", c->name,
                  (long long)c->r.line, k + 1, hn, what);
}

/* cell_err with "'CELL' is what" (an empty cell: "an empty cell ..."). */
static fv_status cell_is(const csv *c, int k, const char *what)
{
    char msg[160], shown[48];
    const char *s = field(&c->r, k);
    if (!*s)
        return cell_err(c, k, "an empty cell (missing values are not supported)");
    snprintf(msg, sizeof msg, "'%s' is %s", fv_printable(s, shown, sizeof shown), what);
    return cell_err(c, k, msg);
}

/* Cell k as a number; an error naming it otherwise. */
static fv_status cell_number(const csv *c, int k, float *out)
{
    double v;
    const char *why;
    if (!parse_number(field(&c->r, k), &v, &why))
        return cell_is(c, k, why);
    *out = (float)v;
    return FV_OK;
}

/* ---------------------------------------------------------------- labels */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Label i into the table h of cap slots (a power of two, never full). */
static void insert(int *h, int cap, const label *lab, int i)
{
    uint32_t j = hash_str(lab[i].s) & (uint32_t)(cap - 1);
    while (h[j])
        j = (j + 1) & (uint32_t)(cap - 1);
    h[j] = i + 1;
}

/* A table of cap slots holding every label. */
static fv_status rehash(csv *c, int cap)
{
    int *h = fv_calloc((size_t)cap, sizeof(int), "CSV label table");
    if (!h)
        return FV_ERR_NOMEM;
    for (int i = 0; i < c->nlab; i++)
        insert(h, cap, c->lab, i);
    fv_free(c->hash);
    c->hash = h, c->hcap = cap;
    return FV_OK;
}

/* A new distinct label s, first seen in cell k; its index into *id. */
static fv_status add_label(csv *c, int k, const char *s, int *id)
{
    if (c->nlab == CSV_MAX_CLASSES)
        return cell_is(c, k, "a label beyond the 65536 classes that may be told apart");
    label *p = fv_grow_table(c->lab, &c->labcap, c->nlab, sizeof *p, 16, "CSV labels");
    if (!p)
        return FV_ERR_NOMEM;
    c->lab = p;
    double v;
    const char *why;
    label *l = &c->lab[c->nlab];
    l->isnum = parse_number(s, &v, &why);
    l->num = l->isnum && v >= 0 && v < CSV_MAX_CLASSES && v == floor(v) ? (int)v : -1;
    l->line = c->r.line;
    if (!(l->s = fv_strdup(s, "CSV label")))
        return FV_ERR_NOMEM;
    *id = c->nlab++;
    if (2 * c->nlab > c->hcap) /* at most half full */
        return rehash(c, c->hcap ? 2 * c->hcap : 64);
    insert(c->hash, c->hcap, c->lab, *id);
    return FV_OK;
}

/* The label of cell k as an index into c->lab (a new one for a new text). */
static fv_status cell_label(csv *c, int k, int *id)
{
    const char *s = field(&c->r, k);
    if (!*s)
        return cell_err(c, k, "an empty label (missing values are not supported)");
    if (strlen(s) > CSV_MAX_LABEL)
        return cell_is(c, k, "a label longer than 255 bytes");
    if (c->hcap) {
        uint32_t j = hash_str(s) & (uint32_t)(c->hcap - 1);
        for (; c->hash[j]; j = (j + 1) & (uint32_t)(c->hcap - 1))
            if (strcmp(c->lab[c->hash[j] - 1].s, s) == 0) {
                *id = c->hash[j] - 1;
                return FV_OK;
            }
    }
    return add_label(c, k, s, id);
}

/* A name and its index, sorted by name. */
typedef struct named {
    const char *s;
    int i;
} named;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const named *)a)->s, ((const named *)b)->s);
}

/* The n names (names[i], or lab[i].s when names is NULL) sorted, with their indices
 * (fv_malloc'd), or NULL. */
static named *sorted(char *const *names, const label *lab, int n)
{
    named *v = fv_malloc(sizeof(named) * (size_t)(n > 0 ? n : 1), "sorted names");
    for (int i = 0; v && i < n; i++)
        v[i] = (named){names ? names[i] : lab[i].s, i};
    if (v)
        qsort(v, (size_t)n, sizeof *v, by_name);
    return v;
}

/* map[label] = the class of given set g: the class of that name, else a whole number below its
 * count. */
static fv_status classes_of_set(const csv *c, const fv_dataset *g, int *map)
{
    int K = g->num_classes, nk = g->class_names ? K : 0;
    named *v = sorted(g->class_names, NULL, nk);
    if (!v)
        return FV_ERR_NOMEM;
    fv_status st = FV_OK;
    for (int i = 0; i < c->nlab && st == FV_OK; i++) {
        named key = {c->lab[i].s, 0};
        const named *hit = nk ? bsearch(&key, v, (size_t)nk, sizeof *v, by_name) : NULL;
        map[i] = hit ? hit->i : c->lab[i].num < K ? c->lab[i].num : -1;
        if (map[i] < 0) {
            char shown[48], gn[48];
            st = fv_err(FV_ERR_FORMAT, "%s: line %lld, column %d: label '%s' is not one of the "
                        "%d classes of '%s'", c->name, (long long)c->lab[i].line, c->target + 1,
                        fv_printable(c->lab[i].s, shown, sizeof shown), K,
                        fv_printable(g->name, gn, sizeof gn));
        }
    }
    fv_free(v);
    return st;
}

/* map[label] = its class; *names (fv_malloc'd) and *n the classes. */
static fv_status resolve_classes(csv *c, int *map, char ***names, int *n)
{
    const fv_dataset *g = c->a->classes;
    int whole = 1, numeric = 1, mx = -1, odd = -1;
    for (int i = 0; i < c->nlab; i++) {
        whole &= c->lab[i].num >= 0, numeric &= c->lab[i].isnum;
        mx = c->lab[i].num > mx ? c->lab[i].num : mx;
        odd = odd < 0 && c->lab[i].num < 0 ? i : odd;
    }
    if (!g && numeric && !whole) { /* numbers, but not all class indices: real targets? */
        char shown[48];
        return fv_err(FV_ERR_FORMAT, "%s: line %lld, column %d: label '%s' is not a class index "
                      "(numeric labels must be whole numbers in 0 .. %d; real targets are "
                      "regression)", c->name, (long long)c->lab[odd].line, c->target + 1,
                      fv_printable(c->lab[odd].s, shown, sizeof shown), CSV_MAX_CLASSES - 1);
    }
    if (g) {
        *n = g->num_classes;
        FV_TRY(classes_of_set(c, g, map));
        *names = g->class_names ? fv_names_default(*n, (const char *const *)g->class_names, *n)
                                : NULL;
        return *names || !g->class_names ? FV_OK : FV_ERR_NOMEM;
    }
    if (whole) { /* class k is the number k */
        for (int i = 0; i < c->nlab; i++)
            map[i] = c->lab[i].num;
        *n = mx + 1;
        return (*names = fv_names_numbered(*n)) ? FV_OK : FV_ERR_NOMEM;
    }
    named *v = sorted(NULL, c->lab, c->nlab);
    if (!v || !(*names = fv_calloc((size_t)c->nlab, sizeof(char *), "class names"))) {
        fv_free(v);
        return FV_ERR_NOMEM;
    }
    *n = c->nlab;
    for (int k = 0; k < c->nlab; k++) { /* the k-th name in strcmp order is class k */
        map[v[k].i] = k;
        (*names)[k] = c->lab[v[k].i].s, c->lab[v[k].i].s = NULL; /* taken */
        fv_name_sanitize((*names)[k]);
    }
    fv_free(v);
    return FV_OK;
}

/* ---------------------------------------------------------------- the table */

/* The target column's index from a->target (a header name when there may be a header, else an
 * index); *named when it was found by name. */
static fv_status find_target(csv *c, int *named)
{
    const char *t = c->a->target;
    *named = 0;
    if (!t) {
        c->target = c->ncols - 1;
        return FV_OK;
    }
    for (int k = 0; c->a->header >= 0 && k < c->ncols; k++)
        if (strcmp(field(&c->r, k), t) == 0) {
            c->target = k, *named = 1;
            return FV_OK;
        }
    char *end, shown[48];
    errno = 0;
    long v = strtol(t, &end, 10);
    if (!*t || *end || errno)
        return fv_err(FV_ERR_INVALID, "%s: no column named '%s' on line %lld%s", c->name,
                      fv_printable(t, shown, sizeof shown), (long long)c->r.line,
                      c->a->header < 0 ? " (no header: give the target as an index)" : "");
    if (v < -(long)c->ncols || v >= c->ncols)
        return fv_err(FV_ERR_INVALID, "%s: target column %ld is out of range: the file has %d "
                      "columns", c->name, v, c->ncols);
    c->target = (int)(v < 0 ? c->ncols + v : v);
    return FV_OK;
}

/* Whether the first record is a header (a->header 0: a cell other than the target's that is
 * neither empty nor a number). */
static int is_header(const csv *c, int named)
{
    if (c->a->header)
        return c->a->header > 0;
    if (named)
        return 1;
    double v;
    const char *why;
    for (int k = 0; k < c->ncols; k++)
        if (k != c->target && field(&c->r, k)[0] && !parse_number(field(&c->r, k), &v, &why))
            return 1;
    return 0;
}

/* Room for one more row in x and y, the data limit checked first. */
static fv_status room_for_row(csv *c)
{
    size_t fx = sizeof(float) * (size_t)(c->ncols - 1), need = fx * (size_t)(c->rows + 1);
    if (need > c->x.cap || 4 * (size_t)(c->rows + 1) > c->y.cap) {
        FV_TRY(fv_data_check(c->name, (uint64_t)(fx + 4) * (uint64_t)(c->rows + 1)));
        size_t most = fv_data_limit();
        FV_TRY(fv_grow_to(&c->x, need, most > need ? most : need, "CSV data"));
        FV_TRY(fv_grow_to(&c->y, 4 * (size_t)(c->rows + 1), most, "CSV targets"));
    }
    return FV_OK;
}

/* The current record as a row: features into x, the target or label id into y. */
static fv_status add_row(csv *c)
{
    if (c->r.nf != c->ncols)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld has %d fields, expected %d (as on line %lld)",
                      c->name, (long long)c->r.line, c->r.nf, c->ncols,
                      (long long)c->line1);
    FV_TRY(room_for_row(c));
    float *x = (float *)(void *)c->x.p + (size_t)c->rows * (size_t)(c->ncols - 1);
    for (int k = 0; k < c->ncols; k++)
        if (k != c->target)
            FV_TRY(cell_number(c, k, x++));
    float t = 0;
    int id = 0;
    if (c->a->regression)
        FV_TRY(cell_number(c, c->target, &t));
    else
        FV_TRY(cell_label(c, c->target, &id));
    /* y holds a float target or an int label id per row (made class indices at the end) */
    memcpy(c->y.p + 4 * (size_t)c->rows, c->a->regression ? (void *)&t : (void *)&id, 4);
    c->rows++;
    c->x.len = sizeof(float) * (size_t)(c->ncols - 1) * (size_t)c->rows;
    c->y.len = 4 * (size_t)c->rows;
    return FV_OK;
}

/* Reads the header (if any) and every row. */
static fv_status read_rows(csv *c)
{
    int got, named;
    /* a UTF-8 byte-order mark (the first read fills the buffer with all of it, if any) */
    if (peek_byte(c) == 0xEF && c->len >= 3 && memcmp(c->buf, "\xEF\xBB\xBF", 3) == 0)
        c->pos = 3;
    FV_TRY(read_record(c, &got));
    if (!got)
        return fv_err(FV_ERR_FORMAT, "%s: empty file", c->name);
    c->ncols = c->r.nf, c->line1 = c->r.line;
    if (c->ncols < 2)
        return fv_err(FV_ERR_FORMAT, "%s: line %lld has 1 column: a CSV data set needs a "
                      "feature column and the target", c->name, (long long)c->r.line);
    FV_TRY(find_target(c, &named));
    if (is_header(c, named)) {
        rec t = c->head;
        c->head = c->r, c->r = t;
        FV_TRY(read_record(c, &got));
    }
    for (; got && (c->a->limit <= 0 || c->rows < c->a->limit);) {
        FV_TRY(add_row(c));
        FV_TRY(read_record(c, &got));
    }
    if (c->rows == 0)
        return fv_err(FV_ERR_FORMAT, "%s: no data rows", c->name);
    return FV_OK;
}

/* The data set of the rows read: x (N, F), y class indices (N) or targets (N, 1). */
static fv_dataset *make_set(csv *c)
{
    int64_t dx[2] = {c->rows, c->ncols - 1}, dy[2] = {c->rows, 1};
    float *y = (float *)(void *)c->y.p;
    char **names = NULL;
    int n = 0;
    if (!c->a->regression) {
        int *map = fv_malloc(sizeof(int) * (size_t)c->nlab, "class map");
        if (!map || resolve_classes(c, map, &names, &n) != FV_OK) {
            fv_free(map);
            return NULL;
        }
        for (int64_t i = 0; i < c->rows; i++) {
            int id;
            memcpy(&id, c->y.p + 4 * (size_t)i, 4);
            float k = (float)map[id];
            memcpy(c->y.p + 4 * (size_t)i, &k, 4);
        }
        fv_free(map);
    }
    fv_tensor *tx = fv_tensor_adopt((float *)(void *)c->x.p, 2, dx);
    c->x.p = NULL;
    fv_tensor *ty = fv_tensor_adopt(y, c->a->regression ? 2 : 1, dy);
    c->y.p = NULL;
    const char *base = strrchr(c->name, '/');
    fv_dataset *d = fv_dataset_new(tx, ty, n, base ? base + 1 : c->name);
    if (d)
        d->class_names = names;
    else
        fv_names_free(names, n);
    return d;
}

static void csv_free(csv *c)
{
    fv_free(c->buf);
    fv_free(c->r.text.p), fv_free(c->r.start);
    fv_free(c->head.text.p), fv_free(c->head.start);
    fv_free(c->x.p), fv_free(c->y.p);
    for (int i = 0; i < c->nlab; i++)
        fv_free(c->lab[i].s);
    fv_free(c->lab), fv_free(c->hash);
}

fv_dataset *fv_csv_read(FILE *f, const char *name, const fv_vec_args *a)
{
    csv c = {.f = f, .name = name, .a = a, .line = 1};
    fv_dataset *d = NULL;
    if ((c.buf = fv_malloc(CSV_BUF, "CSV read buffer")) && read_rows(&c) == FV_OK)
        d = make_set(&c);
    csv_free(&c);
    return d;
}

fv_dataset *fv_dataset_load_csv_(const char *path, fv_vec_args a)
{
    uint64_t size;
    FILE *f = fv_open_regular(path, &size);
    if (!f)
        return NULL;
    fv_dataset *d = fv_csv_read(f, path, &a);
    fclose(f);
    return d;
}
