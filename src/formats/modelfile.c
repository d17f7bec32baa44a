/* modelfile.c - the model text format (models/NAME.fv, see docs/model-format.md): one layer per
 * line with Keras layer names and key=value arguments. Owns fv_model_parse (text to model: each
 * line's keyword and keys are found in the ops' schemas, its values parsed by their type into the
 * layer function's arguments, and the layer built by fv_layer_add) and fv_model_load_file. Every
 * error is one line "<file>:<line>: <problem>"; the partially built model is freed. */
#include "formats/darknet.h"
#include "formats/readers.h"
#include "io/io.h"
#include "ops/schema.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MF_LINE_MAX 65536        /* characters in one line, newline excluded (a segment
                                  * softmax's lengths: up to FV_SEGMENTS_MAX numbers) */
#define MF_FILE_MAX (16u << 20) /* bytes in one model file */
#define MF_MAX_LAYERS 10000     /* layer lines in one model (name lookups are linear) */

/* ---------------------------------------------------------------- small helpers */

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

/* ASCII case-insensitive equality (layer types, argument keys and keyword values). */
static bool ci_eq(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* The next blank-separated token of *p (NUL-terminated in place), or NULL at the end. */
static char *next_token(char **p)
{
    char *s = *p;
    while (is_blank(*s))
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    char *t = s;
    while (*s && !is_blank(*s))
        s++;
    if (*s)
        *s++ = '\0';
    *p = s;
    return t;
}

/* A whole-string decimal integer in [lo, hi]: no sign other than '-', no spaces, no overflow. */
static bool parse_int(const char *s, long long lo, long long hi, long long *out)
{
    if (!(*s == '-' || (*s >= '0' && *s <= '9')))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* A whole-string finite decimal number: [-]digits[.digits][(e|E)[+|-]digits], at least one
 * mantissa digit. The syntax is checked first because strtod also takes hexadecimal floats
 * ("0x1p-2"), "inf" and "nan", which the format does not allow. */
static bool parse_num(const char *s, double *out)
{
    const char *p = s + (*s == '-');
    size_t digits = strspn(p, "0123456789");
    p += digits;
    if (*p == '.') {
        size_t frac = strspn(p + 1, "0123456789");
        digits += frac;
        p += 1 + frac;
    }
    if (digits && (*p == 'e' || *p == 'E')) {
        p += 1 + (p[1] == '+' || p[1] == '-');
        size_t exp = strspn(p, "0123456789");
        p += exp;
        digits = exp ? digits : 0;
    }
    if (!digits || *p)
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Splits "a,b,c" (optionally inside one pair of () or []) in place into at most max non-empty
 * parts; returns the count or -1. */
static int split_list(char *s, char **parts, int max)
{
    size_t len = strlen(s);
    if (len >= 2 && ((s[0] == '(' && s[len - 1] == ')') || (s[0] == '[' && s[len - 1] == ']'))) {
        s[len - 1] = '\0';
        s++;
    }
    int n = 0;
    for (;;) {
        char *comma = strchr(s, ',');
        if (comma)
            *comma = '\0';
        if (!*s || n == max)
            return -1;
        parts[n++] = s;
        if (!comma)
            return n;
        s = comma + 1;
    }
}

/* ---------------------------------------------------------------- argument values */

/* What a line gives besides its layer's arguments. */
typedef struct line_vals {
    fv_spec s;      /* the arguments, as the layer function takes them */
    int nin;        /* names in inputs= (0: none given) */
    const char *inputs[FV_MAX_IN];
    char bad_init[96]; /* "init=VALUE" of an unknown initializer, reported with the layer's name */
    int *ints;         /* an FV_FT_INTS argument's values (fv_malloc'd; freed after the line) */
} line_vals;

/* 1 to 4 integers, each >= 1 or (where allow_infer) -1 at most once. */
static bool parse_shape(int *ndim, int64_t *dims, char *s, bool allow_infer)
{
    char *parts[4];
    int n = split_list(s, parts, 4), inferred = 0;
    if (n < 1)
        return false;
    for (int i = 0; i < n; i++) {
        long long v;
        if (!parse_int(parts[i], allow_infer ? -1 : 1, INT_MAX, &v) || v == 0)
            return false;
        inferred += v == -1;
        dims[i] = v;
    }
    *ndim = n;
    return inferred <= 1;
}

/* A number that stays finite and in range after rounding to float (lo/hi inclusive per flags):
 * 1e39 is a finite double but an infinite float. */
static bool parse_float_in(char *s, double lo, bool lo_incl, double hi, bool hi_incl, float *out)
{
    double d;
    if (!parse_num(s, &d))
        return false;
    float f = (float)d;
    if (!isfinite(f) || !(lo_incl ? f >= lo : f > lo) || !(hi_incl ? f <= hi : f < hi))
        return false;
    *out = f;
    return true;
}

/* N or H,W: one or two integers in [lo, hi]. */
static bool parse_pair(char *s, long long lo, long long hi, long long hw[2])
{
    char *parts[2];
    int n = split_list(s, parts, 2);
    return n >= 1 && parse_int(parts[0], lo, hi, &hw[0]) && parse_int(parts[n - 1], lo, hi, &hw[1]);
}

/* "positive integers", "integers >= 0" or "integers in 1..1024". */
static const char *ints_in(const fv_field *f, char *buf, size_t cap)
{
    if (f->hi < INT_MAX)
        snprintf(buf, cap, "integers in %g..%g", f->lo, f->hi);
    else
        snprintf(buf, cap, f->lo >= 1 ? "positive integers" : "integers >= %g", f->lo);
    return buf;
}

/* What a real-valued field expects, for messages. */
static const char *reals_in(const fv_field *f, char *buf, size_t cap)
{
    bool lo_open = f->flags & FV_F_LO_OPEN;
    if (isinf(f->lo) && isinf(f->hi))
        snprintf(buf, cap, "expected a number that is finite as a float (magnitude below "
                 "3.4e38)");
    else if (!isinf(f->hi))
        snprintf(buf, cap, "expected a number in %c%g, %g%c", lo_open ? '(' : '[', f->lo, f->hi,
                 f->flags & FV_F_HI_OPEN ? ')' : ']');
    else if (f->lo == 0)
        snprintf(buf, cap, "expected a %s number that is finite as a float (below 3.4e38)",
                 lo_open ? "positive" : "non-negative");
    else
        snprintf(buf, cap, "expected a number %s %g that is finite as a float (below 3.4e38)",
                 lo_open ? ">" : ">=", f->lo);
    return buf;
}

/* "expected A or B", "expected A, B or C" */
static const char *one_of(const char *const *words, char *buf, size_t cap)
{
    size_t n = 0, k = 0;
    while (words[n])
        n++;
    k += (size_t)snprintf(buf, cap, "expected");
    for (size_t i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i == 0 ? " " : i + 1 == n ? " or " : ", ",
                              words[i]);
    return buf;
}

/* An activation's name (case-insensitive; `none` is `linear`), or -1. */
static int act_of_name(const char *s)
{
    if (ci_eq(s, "none"))
        return FV_ACT_NONE;
    for (int i = 0; i < FV_ACT__COUNT; i++)
        if (ci_eq(s, fv_act_name((fv_act)i)))
            return i;
    return -1;
}

/* "unknown activation (expected linear, relu, ... or log_softmax)" */
static const char *unknown_act(char *buf, size_t cap)
{
    const char *names[FV_ACT__COUNT + 1];
    for (int i = 0; i < FV_ACT__COUNT; i++)
        names[i] = fv_act_name((fv_act)i);
    names[FV_ACT__COUNT] = NULL;
    char list[400];
    snprintf(buf, cap, "unknown activation (%s)", one_of(names, list, sizeof list));
    return buf;
}

/* "expected glorot_uniform, ..., ones or constant" */
static const char *known_inits(char *buf, size_t cap)
{
    const char *names[FV_INIT__COUNT];
    for (int i = 1; i < FV_INIT__COUNT; i++)
        names[i - 1] = fv_init_name((fv_init)i);
    names[FV_INIT__COUNT - 1] = NULL;
    return one_of(names, buf, cap);
}

static const char *parse_bool(const fv_field *f, char *v, int *out)
{
    int b;
    if (ci_eq(v, "true") || strcmp(v, "1") == 0)
        b = 1;
    else if (ci_eq(v, "false") || strcmp(v, "0") == 0)
        b = 0;
    else
        return "expected true or false";
    *out = f->flags & FV_F_TEXT_NOT ? !b : b;
    return NULL;
}

static const char *parse_padding(const fv_field *f, char *v, fv_spec *s)
{
    long long n;
    int *pad = fv_field_at(s, f->arg), *same = fv_field_at(s, f->arg_h);
    if (ci_eq(v, "valid"))
        n = 0;
    else if (same && ci_eq(v, "same"))
        n = 0, *same = 1;
    else if (!same && ci_eq(v, "same"))
        return "expected valid or an integer >= 0 (this layer has no padding=same)";
    else if (!parse_int(v, 0, INT_MAX, &n))
        return same ? "expected valid, same or an integer >= 0"
                    : "expected valid or an integer >= 0";
    *pad = (int)n;
    return NULL;
}

/* N (every side), V,H (top and bottom, left and right) or T,B,L,R into the sides after `all`. */
static const char *parse_sides(const fv_field *f, char *v, fv_spec *s)
{
    char *parts[4];
    long long x[4];
    int n = split_list(v, parts, 4), *out = (int *)fv_field_at(s, f->arg) + 1;
    if (n != 1 && n != 2 && n != 4)
        return "expected N, V,H or T,B,L,R (integers >= 0)";
    for (int i = 0; i < n; i++)
        if (!parse_int(parts[i], (long long)f->lo, (long long)f->hi, &x[i]))
            return "expected N, V,H or T,B,L,R (integers >= 0)";
    for (int i = 0; i < 4; i++)
        out[i] = (int)(n == 1 ? x[0] : n == 2 ? x[i / 2] : x[i]);
    return NULL;
}

/* R or RH,RW, each in (0, 1), kept in double (the output is floor(in * R), as in PyTorch). */
/* R or RH,RW, each in the field's range. */
static const char *parse_ratio(const fv_field *f, char *v, fv_spec *s, char *buf, size_t cap)
{
    char *parts[2], range[64];
    int n = split_list(v, parts, 2);
    double r[2];
    for (int i = 0; i < 2; i++)
        if (n < 1 || !parse_num(parts[i < n ? i : 0], &r[i]) || !fv_field_in_range(f, r[i])) {
            snprintf(buf, cap, "expected R or RH,RW, numbers %s",
                     fv_field_range(f, range, sizeof range));
            return buf;
        }
    *(double *)fv_field_at(s, f->arg_h) = r[0];
    *(double *)fv_field_at(s, f->arg_w) = r[1];
    return NULL;
}

static const char *parse_real(const fv_field *f, char *v, fv_spec *s, char *buf, size_t cap)
{
    float x;
    if (!parse_float_in(v, f->lo, !(f->flags & FV_F_LO_OPEN), f->hi, !(f->flags & FV_F_HI_OPEN),
                        &x))
        return reals_in(f, buf, cap);
    if (f->flags & FV_F_COMPLEMENT) { /* 1 - x must stay in range after rounding too */
        x = 1.0f - x;
        if (!(x > 0.0f))
            return reals_in(f, buf, cap);
    }
    *(float *)fv_field_at(s, f->arg) = x;
    return NULL;
}

/* Parses value v of field f into s; NULL, or what was expected (in buf when composed). */
static const char *parse_field(const fv_field *f, char *v, fv_spec *s, char *buf, size_t cap)
{
    int *arg = fv_field_at(s, f->arg);
    long long n, hw[2];
    char what[64];
    switch (f->type) {
    case FV_FT_INT:
        if (!parse_int(v, (long long)f->lo, (long long)f->hi, &n)) {
            if (f->hi >= INT_MAX && f->lo >= 1)
                return "expected a positive integer";
            if (f->hi >= INT_MAX)
                snprintf(buf, cap, "expected an integer >= %g", f->lo);
            else
                snprintf(buf, cap, "expected an integer in %g..%g", f->lo, f->hi);
            return buf;
        }
        *arg = (int)n;
        return NULL;
    case FV_FT_AXIS:
        if (!parse_int(v, (long long)f->lo, (long long)f->hi, &n)) {
            snprintf(buf, cap, "expected an integer axis in %g..%g", f->lo, f->hi);
            return buf;
        }
        *arg = (int)n;
        return NULL;
    case FV_FT_PAIR:
        if (!parse_pair(v, (long long)f->lo, (long long)f->hi, hw)) {
            snprintf(buf, cap, "expected N or H,W (%s)", ints_in(f, what, sizeof what));
            return buf;
        }
        *(int *)fv_field_at(s, f->arg_h) = (int)hw[0];
        *(int *)fv_field_at(s, f->arg_w) = (int)hw[1];
        return NULL;
    case FV_FT_SQUARE:
        if (!parse_pair(v, (long long)f->lo, (long long)f->hi, hw) || hw[0] != hw[1]) {
            snprintf(buf, cap, "expected %s (or N,N with equal values)",
                     f->lo >= 1 ? "a positive integer N" : "an integer N >= 0");
            return buf;
        }
        *arg = (int)hw[0];
        return NULL;
    case FV_FT_FLOAT:
    case FV_FT_REG:
        return parse_real(f, v, s, buf, cap);
    case FV_FT_RATIO:
        return parse_ratio(f, v, s, buf, cap);
    case FV_FT_BOOL:
        return parse_bool(f, v, arg);
    case FV_FT_CHOICE:
        for (int i = 0; f->words[i]; i++)
            if (ci_eq(v, f->words[i])) {
                *arg = i;
                return NULL;
            }
        return one_of(f->words, buf, cap);
    case FV_FT_PADDING:
        return parse_padding(f, v, s);
    case FV_FT_SIDES:
        return parse_sides(f, v, s);
    case FV_FT_SHAPE:
        if (!parse_shape(arg, fv_field_at(s, f->arg_h), v, f->lo < 0))
            return f->lo < 0 ? "expected 1 to 4 positive integers, one of which may be -1"
                             : "expected 1 to 4 positive integers, e.g. C,H,W";
        return NULL;
    case FV_FT_ACT:
    case FV_FT_ACT_KIND:
        *arg = act_of_name(v);
        if (*arg < 0)
            return unknown_act(buf, cap);
        if (*arg == FV_ACT_NONE && f->type == FV_FT_ACT_KIND)
            return "the activation layer needs a non-linear activation";
        return NULL;
    case FV_FT_INIT:
        *arg = fv_init_from_name(v);
        return *arg < 0 ? "not an initializer" : NULL;
    case FV_FT_INTS: /* parse_ints, which needs the line's storage */
        break;
    }
    return "an argument of an unknown type";
}

/* An FV_FT_INTS value: 1 to FV_SEGMENTS_MAX comma-separated integers in lo..hi, into v->ints. */
static const char *parse_ints(const fv_field *f, char *text, line_vals *v, char *buf, size_t cap)
{
    int n = 1;
    for (const char *c = text; *c; c++)
        n += *c == ',';
    if (v->ints || n > FV_SEGMENTS_MAX) {
        snprintf(buf, cap, "expected at most %d integers", FV_SEGMENTS_MAX);
        return v->ints ? "given twice" : buf;
    }
    char **parts = fv_malloc(sizeof(char *) * (size_t)n, "model file");
    v->ints = fv_malloc(sizeof(int) * (size_t)n, "model file");
    if (!parts || !v->ints) {
        fv_free(parts);
        return "out of memory";
    }
    int got = split_list(text, parts, n);
    long long x = 0;
    for (int i = 0; got == n && i < n; i++) {
        if (!parse_int(parts[i], (long long)f->lo, (long long)f->hi, &x))
            got = -1;
        v->ints[i] = (int)x;
    }
    fv_free(parts);
    if (got != n) {
        snprintf(buf, cap, "expected comma-separated integers in %g..%g", f->lo, f->hi);
        return buf;
    }
    *(int *)fv_field_at(&v->s, f->arg) = n;
    *(const int **)fv_field_at(&v->s, f->arg_h) = v->ints;
    return NULL;
}

static const char *p_name(char *s, const char **out)
{
    if (!*s || strchr(s, ','))
        return "expected a name without ','";
    if (!fv_utf8_valid(s, false))
        return "a name must be UTF-8 text without control characters";
    *out = s;
    return NULL;
}

static const char *p_inputs(char *s, line_vals *v)
{
    char *parts[FV_MAX_IN];
    int n = split_list(s, parts, FV_MAX_IN);
    if (n < 1)
        return "expected a,b,... naming 1 to 8 earlier layers";
    v->nin = n;
    for (int i = 0; i < n; i++)
        v->inputs[i] = parts[i];
    return NULL;
}

/* ---------------------------------------------------------------- parsing lines */

typedef struct parser {
    const char *file;
    int line;       /* 0: one line of fv_layer_text, named without a number */
    fv_model *m;
    int layers;
    bool have_input, have_model_line;
    int last;       /* what a line without inputs= reads (FV_LAST: the node added last) */
    int id;         /* the node the last layer line added */
} parser;

/* One line's layer: the schema, the form and its keyword. */
typedef struct layer_line {
    const fv_schema *sc;
    int k;
    const char *word; /* the form's keyword, for messages */
} layer_line;

/* Arguments given on a line: bit i for field i of the schema (schemas have fewer than 62). */
#define SEEN_NAME ((uint64_t)1 << 62)
#define SEEN_INPUTS ((uint64_t)1 << 63)

/* Sets "<file>:<line>: <problem>" and returns s. */
static fv_status __attribute__((format(printf, 3, 4)))
perr(const parser *p, fv_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int line = !p->line && p->have_input ? 0 : p->line > 0 ? p->line : 1;
    s = fv_file_line_verr(s, p->file, line, fmt, ap);
    va_end(ap);
    return s;
}

/* Whether the text gives field f of form k. */
static bool text_field(const fv_field *f, int k)
{
    return fv_field_in_form(f, k) && !(f->flags & FV_F_C_ONLY);
}

/* The field of the line's form named key (or its alias), or -1. */
static int find_field(const layer_line *l, const char *key)
{
    for (int i = 0; i < l->sc->nfields; i++) {
        const fv_field *f = &l->sc->fields[i];
        if (text_field(f, l->k) && (ci_eq(key, f->key) || (f->alias && ci_eq(key, f->alias))))
            return i;
    }
    return -1;
}

/* Field i given twice, or with another that sets the same argument (momentum, keras_momentum). */
static fv_status check_once(parser *p, const layer_line *l, int i, uint64_t seen)
{
    const fv_field *f = &l->sc->fields[i];
    if (seen & ((uint64_t)1 << i))
        return perr(p, FV_ERR_FORMAT, "%s: argument '%s' given twice", l->word, f->key);
    for (int j = 0; j < l->sc->nfields; j++) {
        const fv_field *g = &l->sc->fields[j];
        if (j != i && (seen & ((uint64_t)1 << j)) && g->arg == f->arg)
            return perr(p, FV_ERR_FORMAT, "%s: give %s or %s, not both", l->word,
                        (j < i ? g : f)->key, (j < i ? f : g)->key);
    }
    return FV_OK;
}

/* key=value into v, checking that the layer takes the key and that it is not given twice. */
static fv_status parse_arg(parser *p, const layer_line *l, char *tok, line_vals *v,
                           uint64_t *seen)
{
    char *eq = strchr(tok, '=');
    if (!eq)
        return perr(p, FV_ERR_FORMAT, "%s: expected key=value, got '%.80s'", l->word, tok);
    *eq = '\0';
    char shown[84], buf[480]; /* the value as written, for messages (parsers split it in place) */
    snprintf(shown, sizeof shown, "%s", eq + 1);
    const char *want;
    uint64_t bit;
    bool inputs_ok = l->sc->op != FV_OP_INPUT;
    if (ci_eq(tok, "name") || (inputs_ok && ci_eq(tok, "inputs"))) {
        bit = ci_eq(tok, "name") ? SEEN_NAME : SEEN_INPUTS;
        if (*seen & bit)
            return perr(p, FV_ERR_FORMAT, "%s: argument '%s' given twice", l->word,
                        bit == SEEN_NAME ? "name" : "inputs");
        want = bit == SEEN_NAME ? p_name(eq + 1, &v->s.name) : p_inputs(eq + 1, v);
    } else {
        int i = find_field(l, tok);
        if (i < 0)
            return perr(p, FV_ERR_FORMAT, "unknown argument '%.80s' for %s", tok, l->word);
        FV_TRY(check_once(p, l, i, *seen));
        bit = (uint64_t)1 << i;
        want = l->sc->fields[i].type == FV_FT_INTS
                   ? parse_ints(&l->sc->fields[i], eq + 1, v, buf, sizeof buf)
                   : parse_field(&l->sc->fields[i], eq + 1, &v->s, buf, sizeof buf);
        if (want && l->sc->fields[i].type == FV_FT_INIT) { /* reported once the name is known */
            if (!v->bad_init[0])
                snprintf(v->bad_init, sizeof v->bad_init, "%s=%s", tok, shown);
            want = NULL;
        }
    }
    *seen |= bit;
    return want ? perr(p, FV_ERR_INVALID, "%s=%s: %s", tok, shown, want) : FV_OK;
}

/* The first missing required argument's key, or NULL. */
static const char *missing_arg(const layer_line *l, uint64_t seen)
{
    if (l->sc->min_in > 1 && !(seen & SEEN_INPUTS))
        return "inputs";
    for (int i = 0; i < l->sc->nfields; i++) {
        const fv_field *f = &l->sc->fields[i];
        if ((f->flags & FV_F_REQUIRED) && text_field(f, l->k) && !(seen & ((uint64_t)1 << i)))
            return f->key;
    }
    return NULL;
}

/* The defaults of the text alone (zero_padding2d's 1 on every side): where nothing was given. */
static void text_defaults(const layer_line *l, fv_spec *s)
{
    for (int i = 0; i < l->sc->nfields; i++) {
        const fv_field *f = &l->sc->fields[i];
        bool zero = true;
        for (int axis = 0; axis < (f->type == FV_FT_SIDES ? 4 : 1); axis++)
            zero = zero && fv_field_value(f, s, axis) == 0;
        if ((f->flags & FV_F_TEXT_DEF) && text_field(f, l->k) && zero)
            *(int *)fv_field_at(s, f->arg) = (int)f->def;
    }
}

/* The node ids a line reads: its inputs= names, or the node added last. */
static fv_status resolve_inputs(parser *p, const layer_line *l, const line_vals *v, int *ins,
                                int *nin)
{
    int lo = l->sc->min_in ? l->sc->min_in : 1, hi = l->sc->max_in ? l->sc->max_in : 1;
    if (hi > 1 && (v->nin ? v->nin : 1) < lo) /* without inputs=: the node added last */
        return perr(p, FV_ERR_FORMAT, "%s needs at least two inputs (inputs=a,b)", l->word);
    if (hi == 1 && v->nin > 1)
        return perr(p, FV_ERR_FORMAT, "%s takes one input, got %d in inputs=", l->word, v->nin);
    if (v->nin > hi)
        return perr(p, FV_ERR_FORMAT, "%s takes %d inputs, got %d in inputs=", l->word, hi,
                    v->nin);
    *nin = v->nin ? v->nin : 1;
    ins[0] = p->last;
    for (int i = 0; i < v->nin; i++) {
        ins[i] = fv_model_find_output(p->m, v->inputs[i]); /* after its activation */
        if (ins[i] < 0)
            return perr(p, FV_ERR_INVALID, "unknown input '%.80s' (no earlier layer has that name)",
                        v->inputs[i]);
    }
    return FV_OK;
}

/* Builds the line's layer; errors of the layer functions keep their message. */
static fv_status build(parser *p, const layer_line *l, line_vals *v, const int *ins, int nin)
{
    const char *layer = v->s.name ? v->s.name : l->word;
    if ((l->sc->read && l->sc->read(p->m, &v->s, ins, layer) != FV_OK) ||
        (p->id = fv_layer_add(p->m, l->sc, ins, nin, &v->s)) < 0) {
        char why[400];
        snprintf(why, sizeof why, "%s", fv_last_error());
        return perr(p, FV_ERR_INVALID, "%s", why);
    }
    return FV_OK;
}

/* One layer line: the type word is already read; rest holds the arguments; v is zeroed. */
static fv_status parse_layer_into(parser *p, const layer_line *l, char *rest, line_vals *v);

static fv_status parse_layer(parser *p, const layer_line *l, char *rest)
{
    line_vals v;
    memset(&v, 0, sizeof v);
    fv_status st = parse_layer_into(p, l, rest, &v);
    fv_free(v.ints);
    return st;
}

static fv_status parse_layer_into(parser *p, const layer_line *l, char *rest, line_vals *vp)
{
    bool is_input = l->sc->op == FV_OP_INPUT;
    if (!is_input && !p->have_input)
        return perr(p, FV_ERR_FORMAT, "%s before the input line (a model starts with "
                    "'input shape=...')", l->word);
    if (is_input && p->have_input)
        return perr(p, FV_ERR_FORMAT, "a second input line (a model has one input)");
    if (p->layers == MF_MAX_LAYERS)
        return perr(p, FV_ERR_FORMAT, "too many layers (at most %d)", MF_MAX_LAYERS);
    line_vals *v = vp;
    v->s.form = l->sc->forms[l->k].value;
    uint64_t seen = 0;
    for (char *tok; (tok = next_token(&rest));)
        FV_TRY(parse_arg(p, l, tok, v, &seen));
    const char *missing = missing_arg(l, seen);
    if (missing)
        return perr(p, FV_ERR_FORMAT, "%s: missing required argument '%s'", l->word, missing);
    if (v->bad_init[0]) {
        char known[400];
        return perr(p, FV_ERR_INVALID, "layer '%s': %s is not an initializer (%s)",
                    v->s.name ? v->s.name : l->word, v->bad_init, known_inits(known, sizeof known));
    }
    text_defaults(l, &v->s);
    int ins[FV_MAX_IN], nin = 0;
    if (!is_input)
        FV_TRY(resolve_inputs(p, l, v, ins, &nin));
    if (v->s.name && fv_model_find_node(p->m, v->s.name) >= 0)
        return perr(p, FV_ERR_INVALID, "duplicate layer name '%.80s'", v->s.name);
    FV_TRY(build(p, l, v, ins, nin));
    p->have_input = true;
    p->layers++;
    return FV_OK;
}

/* Why a model name is unusable, or NULL. The name becomes a folder name (runs/NAME), a file
 * name and report text: UTF-8 without control characters, no path separators, not "." or "..". */
static const char *model_name_problem(const char *name)
{
    if (!fv_utf8_valid(name, false))
        return "must be UTF-8 text without control characters";
    if (strchr(name, '/') || strchr(name, '\\'))
        return "must not contain '/' or '\\' (it names the output folder)";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "must not be '.' or '..' (it names the output folder)";
    return NULL;
}

/* `model NAME`: before any layer, at most once. */
static fv_status parse_model_line(parser *p, char *rest)
{
    char *name = next_token(&rest);
    if (!name || next_token(&rest))
        return perr(p, FV_ERR_FORMAT, "expected 'model NAME' (one name without spaces)");
    if (p->layers || p->have_model_line)
        return perr(p, FV_ERR_FORMAT, "'model NAME' must come once, before the first layer");
    if (strlen(name) >= FV_NAME_LEN)
        return perr(p, FV_ERR_INVALID, "model name '%.40s...' is longer than %d characters", name,
                    FV_NAME_LEN - 1);
    const char *why = model_name_problem(name);
    if (why)
        return perr(p, FV_ERR_INVALID, "model name '%s' %s", name, why);
    snprintf(p->m->name, sizeof p->m->name, "%s", name);
    p->have_model_line = true;
    return FV_OK;
}

static fv_status parse_line(parser *p, const char *text, size_t len)
{
    if (len > MF_LINE_MAX)
        return perr(p, FV_ERR_FORMAT, "line too long (%zu characters; at most %d)", len,
                    MF_LINE_MAX);
    char buf[MF_LINE_MAX + 1];
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *hash = strchr(buf, '#');
    if (hash)
        *hash = '\0';
    char *rest = buf, *word = next_token(&rest);
    if (!word && !p->line)
        return perr(p, FV_ERR_FORMAT, "no layer in '%.80s'", text);
    if (!word)
        return FV_OK;
    if (ci_eq(word, "model") && p->line)
        return parse_model_line(p, rest);
    layer_line l;
    l.sc = fv_schema_find(word, &l.k);
    if (!l.sc)
        return perr(p, FV_ERR_FORMAT, "unknown layer '%.80s'", word);
    l.word = l.sc->forms[l.k].names[0];
    return parse_layer(p, &l, rest);
}

/* The file's base name without ".fv" (cut to FV_NAME_LEN - 1 bytes); "model" when there is none
 * or it is not a usable model name (model_name_problem; also a multibyte character cut). */
static void default_name(const char *file, char *out, size_t cap)
{
    const char *base = file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file ? file : "";
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".fv") == 0)
        n -= 3;
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), base);
    if (n == 0 || model_name_problem(out))
        snprintf(out, cap, "model");
}

fv_model *fv_model_parse(const char *text, const char *filename)
{
    if (!text) {
        fv_err(FV_ERR_INVALID, "%s: no model text (NULL)", filename ? filename : "<text>");
        return NULL;
    }
    char name[FV_NAME_LEN];
    default_name(filename, name, sizeof name);
    parser p = {.file = filename ? filename : "<text>", .m = fv_model_new(name), .last = FV_LAST};
    if (!p.m)
        return NULL;
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0) /* a UTF-8 byte-order mark */
        text += 3;
    fv_status s = FV_OK;
    while (*text && s == FV_OK) {
        p.line++;
        const char *nl = strchr(text, '\n');
        size_t len = nl ? (size_t)(nl - text) : strlen(text);
        s = parse_line(&p, text, len);
        text += nl ? len + 1 : len;
    }
    if (s == FV_OK && !p.have_input)
        s = perr(&p, FV_ERR_FORMAT, "no input line (a model starts with 'input shape=...')");
    if (s != FV_OK) {
        fv_model_free(p.m);
        return NULL;
    }
    return p.m;
}

int fv_layer_text(fv_model *m, int in, const char *line)
{
    if (!m || !line) {
        fv_err(FV_ERR_INVALID, "fv_layer_text: NULL %s", m ? "line" : "model");
        return -1;
    }
    if (fv_layer_reads_failure(m, &in, 1))
        return -1;
    parser p = {.file = "fv_layer_text", .m = m, .have_input = true, .last = in, .id = -1};
    fv_status s = strchr(line, '\n') ? perr(&p, FV_ERR_FORMAT, "one line expected")
                                     : parse_line(&p, line, strlen(line));
    if (s != FV_OK) {
        fv_layer_failed(m);
        return -1;
    }
    return p.id;
}

/* ---------------------------------------------------------------- files */

/* The whole file, NUL-terminated, into *out (length *len); errors name the path. Read through
 * fv_read_file: a FIFO or device is refused at once instead of blocking. */
static fv_status read_text(const char *path, char **out, size_t *len)
{
    unsigned char *buf = NULL;
    fv_status s = fv_read_file(path, MF_FILE_MAX, &buf, len);
    size_t n = strlen(path);
    const char *e = fv_last_error();
    if (s == FV_ERR_IO && strncmp(e, path, n) == 0 && strncmp(e + n, ": file larger than", 18) == 0)
        return fv_err(FV_ERR_FORMAT, "%s: larger than %u MiB (not a model file)", path,
                      MF_FILE_MAX >> 20);
    *out = (char *)buf;
    return s;
}

fv_model *fv_model_load_file(const char *path)
{
    if (!path) {
        fv_err(FV_ERR_INVALID, "fv_model_load_file: path is NULL");
        return NULL;
    }
    size_t plen = strlen(path);
    if (plen > 5 && ci_eq(path + plen - 5, ".onnx")) /* ONNX (onnx_import.c) */
        return fv_model_load_onnx(path);
    char *text = NULL;
    size_t len = 0;
    if (read_text(path, &text, &len) != FV_OK)
        return NULL;
    if (fv_darknet_text(text, len)) { /* a Darknet .cfg: formats/darknet_cfg.c */
        fv_model *m = fv_model_parse_darknet(text, len, path);
        fv_free(text);
        return m;
    }
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *c = text; c < nul; c++)
            line += *c == '\n';
        fv_err(FV_ERR_FORMAT, "%s:%d: NUL byte (not a text file)", path, line);
        fv_free(text);
        return NULL;
    }
    fv_model *m = fv_model_parse(text, path);
    fv_free(text);
    return m;
}
