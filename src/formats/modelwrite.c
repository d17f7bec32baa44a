/* modelwrite.c - the writer of the model text format (docs/model-format.md), the inverse of
 * modelfile.c's parser. Owns fv_model_to_text (one line per visible layer in node order: each
 * node's form and arguments recovered from its attributes through its op's schema, folded
 * activations written back as activation=, every argument that differs from its default) and
 * fv_model_save_file (atomic). A node the format cannot express is an error naming
 * the layer and its op, never a line that would parse into something else. */
#include "core/internal.h"
#include "io/io.h"
#include "ops/schema.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CHARS 65536 /* the parser's limit per line */

/* ---------------------------------------------------------------- one line */

typedef struct line {
    char s[LINE_CHARS + 2];
    size_t n; /* past LINE_CHARS: too long */
} line;

static void __attribute__((format(printf, 2, 3))) add(line *l, const char *fmt, ...)
{
    size_t room = sizeof l->s - l->n;
    if (room <= 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(l->s + l->n, room, fmt, ap);
    va_end(ap);
    l->n = k < 0 || (size_t)k >= room ? sizeof l->s - 1 : l->n + (size_t)k;
}

/* " key=N" or " key=H,W". */
static void add_pair(line *l, const char *key, int h, int w)
{
    if (h == w)
        add(l, " %s=%d", key, h);
    else
        add(l, " %s=%d,%d", key, h, w);
}

/* " key=V": the shortest %g form (at most %.9g) that reads back, as the parser reads it
 * (strtod, then rounding to float), to exactly v. */
static void add_float(line *l, const char *key, float v)
{
    char b[40];
    for (int p = 6; p <= 9; p++) {
        snprintf(b, sizeof b, "%.*g", p, (double)v);
        if ((float)strtod(b, NULL) == v)
            break;
    }
    add(l, " %s=%s", key, b);
}

/* The same for a double kept as a double (fractional pooling's ratios): at most %.17g. */
static void add_double(line *l, double v)
{
    char b[40];
    for (int p = 15; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, v);
        if (strtod(b, NULL) == v)
            break;
    }
    add(l, "%s", b);
}

/* ---------------------------------------------------------------- the arguments of a node */

static int attr_int(const fv_node *n, int off)
{
    return *(const int *)fv_field_at(&n->a, off);
}

/* Whether v is a value field f's text reads back (0 counts where it means "absent"). */
static bool in_range(const fv_field *f, double v)
{
    return fv_field_in_range(f, v) || (v == 0 && (f->flags & FV_F_OPTIONAL));
}

/* The number of words of choice field f. */
static int choices(const fv_field *f)
{
    int n = 0;
    while (f->words[n])
        n++;
    return n;
}

/* Field f's argument from node n's attributes, 0 where it is the default; NULL, or why the
 * text cannot say it (why has room for FV_NAME_LEN + 96 bytes). */
static const char *field_from(const fv_schema *sc, const fv_field *f, const fv_node *n,
                              fv_spec *s, char *why)
{
    int *arg = fv_field_at(s, f->arg);
    const void *base = f->type == FV_FT_REG      ? (const void *)&n->reg
                       : f->flags & FV_F_INIT ? (const void *)&n->init
                                              : (const void *)&n->a;
    const void *p = fv_field_at(base, f->attr);
    int h = 0, w = 0;
    if (f->type == FV_FT_PAIR || f->type == FV_FT_SQUARE || f->type == FV_FT_PADDING)
        h = *(const int *)p, w = attr_int(n, f->attr_w);
    switch (f->type) {
    case FV_FT_INIT:
        h = *(const int *)p;
        if (h < 0 || h >= FV_INIT__COUNT)
            break;
        *arg = h;
        return NULL;
    case FV_FT_INT:
    case FV_FT_AXIS:
    case FV_FT_CHOICE:
        h = *(const int *)p;
        if (f->type == FV_FT_CHOICE ? h < 0 || h >= choices(f) : !in_range(f, h))
            break;
        *arg = h == f->def ? 0 : h;
        return NULL;
    case FV_FT_PAIR:
        if (!in_range(f, h) || !in_range(f, w))
            break;
        if (h != w)
            *(int *)fv_field_at(s, f->arg_h) = h, *(int *)fv_field_at(s, f->arg_w) = w;
        else
            *arg = h == f->def ? 0 : h;
        return NULL;
    case FV_FT_SQUARE: {
        const fv_field *src = f->def_from ? &sc->fields[f->def_from - 1] : NULL;
        if (src && h == attr_int(n, src->attr) && w == attr_int(n, src->attr_w))
            return NULL;
        if (h != w) {
            snprintf(why, 96, "%s differ between height and width (the format has one value)",
                     f->key);
            return why;
        }
        if (!in_range(f, h))
            break;
        *arg = h == f->def && !src ? 0 : h;
        return NULL;
    }
    case FV_FT_PADDING:
        if (h != w && f->arg_h) {
            *(int *)fv_field_at(s, f->arg_h) = 1; /* the op's unwrite checks it is `same` */
            return NULL;
        }
        if (h != w) {
            snprintf(why, 96, "%s differs between height and width", f->key);
            return why;
        }
        if (!in_range(f, h))
            break;
        *arg = h;
        return NULL;
    case FV_FT_FLOAT:
    case FV_FT_REG: {
        float v = *(const float *)p;
        if (!in_range(f, v))
            break;
        *(float *)arg = v == (float)f->def ? 0.0f : v;
        return NULL;
    }
    case FV_FT_RATIO:
        *(double *)fv_field_at(s, f->arg_h) = *(const double *)p;
        *(double *)fv_field_at(s, f->arg_w) = *(const double *)fv_field_at(&n->a, f->attr_w);
        return NULL;
    case FV_FT_BOOL:
        *arg = f->flags & FV_F_ATTR_NOT ? !*(const int *)p : *(const int *)p != 0;
        return NULL;
    case FV_FT_SIDES:
        memcpy(arg + 1, p, sizeof(int) * 4);
        return NULL;
    case FV_FT_SHAPE:
        *arg = *(const int *)p;
        memcpy(fv_field_at(s, f->arg_h), fv_field_at(&n->a, f->attr_w), sizeof(int64_t) * 4);
        return NULL;
    case FV_FT_INTS:
        *arg = *(const int *)p;
        *(const int **)fv_field_at(s, f->arg_h) = *(const int *const *)fv_field_at(&n->a,
                                                                                   f->attr_w);
        return NULL;
    default: /* activations: from the nodes (the op's unwrite, the folded node) */
        return NULL;
    }
    snprintf(why, 96, "%s is outside the range the format reads", f->key);
    return why;
}

/* Whether a C-only argument of node n is at its default (the text cannot give another). */
static bool c_only_default(const fv_field *f, const fv_node *n)
{
    if (f->type == FV_FT_PAIR || f->type == FV_FT_SQUARE || f->type == FV_FT_PADDING)
        return attr_int(n, f->attr) == f->def && attr_int(n, f->attr_w) == f->def;
    return f->type == FV_FT_FLOAT ? *(const float *)fv_field_at(&n->a, f->attr) == (float)f->def
                                  : attr_int(n, f->attr) == f->def;
}

/* The form and arguments that rebuild node n: each attribute's inverse, then the op's. */
static const char *node_spec(const fv_model *m, const fv_node *n, const fv_schema *sc, fv_spec *s,
                             int *k, char *why)
{
    memset(s, 0, sizeof *s);
    *k = fv_node_form(n);
    if (*k < 0)
        return "a kind its layer does not have";
    s->form = sc->forms[*k].value;
    for (int i = 0; i < sc->nfields; i++) {
        const fv_field *f = &sc->fields[i];
        if (!fv_field_in_form(f, *k) || !f->attr || (f->flags & FV_F_READ_ONLY))
            continue;
        const char *bad = NULL;
        if (!(f->flags & FV_F_C_ONLY)) {
            bad = field_from(sc, f, n, s, why);
        } else if (!c_only_default(f, n)) {
            snprintf(why, 96, "a %.40s, which the text format has not for this layer", f->key);
            bad = why;
        }
        if (bad)
            return bad;
    }
    const char *bad = sc->unwrite ? sc->unwrite(m, n, s) : NULL;
    *k = fv_schema_form(sc, s->form);
    return bad ? bad : *k < 0 ? "a kind its layer does not have" : NULL;
}

/* ---------------------------------------------------------------- printing arguments */

static const char *add_folded_act(line *l, const fv_node *h);
static bool folded(const fv_model *m, int i);

/* The int at offset off of s (0: none, 0). */
static int spec_int(const fv_spec *s, int off)
{
    return off ? *(const int *)fv_field_at(s, off) : 0;
}

/* Whether field f is at its default in s (so left out). */
static bool unset(const fv_field *f, const fv_spec *s)
{
    const int *a = fv_field_at(s, f->arg);
    switch (f->type) {
    case FV_FT_PAIR:
        return !a[0] && !spec_int(s, f->arg_h) && !spec_int(s, f->arg_w);
    case FV_FT_RATIO:
        return *(double *)fv_field_at(s, f->arg_h) == 0;
    case FV_FT_PADDING:
        return !a[0] && !spec_int(s, f->arg_h);
    case FV_FT_FLOAT:
    case FV_FT_REG:
        return *(const float *)a == 0.0f;
    case FV_FT_SIDES: {
        int d = f->flags & FV_F_TEXT_DEF ? (int)f->def : 0;
        return a[1] == d && a[2] == d && a[3] == d && a[4] == d;
    }
    default:
        return !a[0];
    }
}

static void add_field(line *l, const fv_field *f, const fv_spec *s)
{
    const int *a = fv_field_at(s, f->arg);
    switch (f->type) {
    case FV_FT_PAIR:
        if (spec_int(s, f->arg_h))
            add_pair(l, f->key, spec_int(s, f->arg_h), spec_int(s, f->arg_w));
        else
            add(l, " %s=%d", f->key, a[0]);
        break;
    case FV_FT_FLOAT:
    case FV_FT_REG:
        add_float(l, f->key, *(const float *)a);
        break;
    case FV_FT_RATIO: {
        double rh = *(double *)fv_field_at(s, f->arg_h), rw = *(double *)fv_field_at(s, f->arg_w);
        add(l, " %s=", f->key);
        add_double(l, rh);
        if (rw != rh) {
            add(l, ",");
            add_double(l, rw);
        }
        break;
    }
    case FV_FT_BOOL:
        add(l, " %s=%s", f->key, f->flags & FV_F_TEXT_NOT ? "false" : "true");
        break;
    case FV_FT_CHOICE:
        add(l, " %s=%s", f->key, f->words[a[0]]);
        break;
    case FV_FT_PADDING:
        if (spec_int(s, f->arg_h))
            add(l, " %s=same", f->key);
        else
            add(l, " %s=%d", f->key, a[0]);
        break;
    case FV_FT_SIDES: /* N, V,H or T,B,L,R */
        if (a[1] == a[2] && a[3] == a[4])
            add_pair(l, f->key, a[1], a[3]);
        else
            add(l, " %s=%d,%d,%d,%d", f->key, a[1], a[2], a[3], a[4]);
        break;
    case FV_FT_SHAPE: {
        const int64_t *d = fv_field_at(s, f->arg_h);
        add(l, " %s=%lld", f->key, (long long)d[0]);
        for (int i = 1; i < a[0]; i++)
            add(l, ",%lld", (long long)d[i]);
        break;
    }
    case FV_FT_INTS: {
        const int *v = *(const int *const *)fv_field_at(s, f->arg_h);
        add(l, " %s=%d", f->key, v[0]);
        for (int i = 1; i < a[0]; i++)
            add(l, ",%d", v[i]);
        break;
    }
    case FV_FT_ACT_KIND:
        add(l, " %s=%s", f->key, fv_act_name((fv_act)a[0]));
        break;
    case FV_FT_INIT:
        add(l, " %s=%s", f->key, fv_init_name((fv_init)a[0]));
        break;
    default: /* ints, axes, squares */
        add(l, " %s=%d", f->key, a[0]);
    }
}

/* "keyword args" of node i; NULL or why the format cannot express it. */
static const char *add_layer(line *l, const fv_model *m, int i, const fv_schema *sc, char *why)
{
    const fv_node *n = &m->nodes[i];
    fv_spec s;
    int k;
    const char *bad = node_spec(m, n, sc, &s, &k, why);
    if (bad)
        return bad;
    add(l, "%s", sc->forms[k].names[0]);
    bool act = false, reg = false, init = false;
    for (int j = 0; j < sc->nfields; j++) {
        const fv_field *f = &sc->fields[j];
        if (!fv_field_in_form(f, k) || (f->flags & (FV_F_C_ONLY | FV_F_READ_ONLY)))
            continue;
        act |= f->type == FV_FT_ACT, reg |= f->type == FV_FT_REG, init |= f->type == FV_FT_INIT;
        if (f->type == FV_FT_ACT && folded(m, i) && (bad = add_folded_act(l, &m->nodes[i + 1])))
            return bad;
        if (f->type != FV_FT_ACT && ((f->flags & FV_F_REQUIRED) || !unset(f, &s)))
            add_field(l, f, &s);
    }
    if (folded(m, i) && !act)
        return "an activation folded into a layer that takes no activation=";
    if (!reg && (n->reg.l1 != 0 || n->reg.l2 != 0 || n->reg.max_norm != 0))
        return "a kernel regularizer (the layer takes none)";
    if (!init && memcmp(&n->init, &(fv_init_spec){0}, sizeof n->init) != 0)
        return "a choice of initializers (the layer takes none)";
    return NULL;
}

/* " activation=NAME" for the hidden activation node h folded into its layer. */
static const char *add_folded_act(line *l, const fv_node *h)
{
    float alpha;
    fv_act act = fv_node_act(h, &alpha);
    if (act <= FV_ACT_NONE || act >= FV_ACT__COUNT || alpha != fv_act_default_alpha(act))
        return "a folded activation of an unknown kind or a non-default alpha";
    add(l, " activation=%s", fv_act_name(act));
    return NULL;
}

/* ---------------------------------------------------------------- the model */

typedef struct writer {
    const fv_model *m;
    char *text; /* malloc'ed: the caller frees it with free() */
    size_t len, cap;
    int last;   /* the node a line without inputs= reads (the node added last) */
    bool have_input;
    char why[FV_NAME_LEN + 96];
} writer;

static fv_status put(writer *w, const char *s, size_t len)
{
    if (w->len + len + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + len + 1)
            cap *= 2;
        char *p = realloc(w->text, cap);
        if (!p)
            return fv_err(FV_ERR_NOMEM, "out of memory allocating %zu bytes for model text", cap);
        w->text = p;
        w->cap = cap;
    }
    memcpy(w->text + w->len, s, len);
    w->len += len;
    w->text[w->len] = '\0';
    return FV_OK;
}

/* Whether node i's output is only reachable after its folded activation (node i + 1), as
 * fv_model_find_output resolves names. */
static bool folded(const fv_model *m, int i)
{
    return i + 1 < m->nnodes && m->nodes[i + 1].hidden && m->nodes[i + 1].nin == 1 &&
           m->nodes[i + 1].in[0] == i;
}

/* Losses and the target input belong to compile, not to the text. */
static bool skipped(const fv_model *m, int i)
{
    return i == m->target_node || i == m->loss_node ||
           (fv_op_table[m->nodes[i].op]->flags & FV_OPF_LOSS);
}

/* A name the parser reads back as one token: no blank, '#' or ','. */
static bool name_ok(const char *s)
{
    return *s && !strpbrk(s, " \t\r\n\v\f#,");
}

/* The name that refers to node id's output in inputs=, or NULL (with w->why) when none does. */
static const char *ref_name(writer *w, int id)
{
    const fv_model *m = w->m;
    if (skipped(m, id)) {
        snprintf(w->why, sizeof w->why, "reads '%s', which is not a layer", m->nodes[id].name);
        return NULL;
    }
    if (folded(m, id)) {
        snprintf(w->why, sizeof w->why, "reads layer '%s' before its activation",
                 m->nodes[id].name);
        return NULL;
    }
    return m->nodes[id].hidden ? m->nodes[m->nodes[id].in[0]].name : m->nodes[id].name;
}

/* " inputs=a,b" unless the layer reads the node added last alone; NULL or why not (the layer
 * takes lo..hi inputs). */
static const char *add_inputs(writer *w, line *l, const fv_node *n, int lo, int hi)
{
    if (n->nin < lo || n->nin > hi)
        return n->nin < lo ? "fewer than two inputs" : "more than one input";
    if (n->nin == 1 && n->in[0] == w->last)
        return NULL;
    line v = {.n = 0};
    for (int i = 0; i < n->nin; i++) {
        const char *r = ref_name(w, n->in[i]);
        if (!r)
            return w->why;
        add(&v, "%s%s", i ? "," : "", r);
    }
    /* the parser strips one pair of () or [] around the list: protect names that have them */
    char open = v.s[0], close = v.n ? v.s[v.n - 1] : 0;
    bool wrap = (open == '(' && close == ')') || (open == '[' && close == ']');
    add(l, wrap ? " inputs=(%s)" : " inputs=%s", v.s);
    return v.n > LINE_CHARS ? "too many characters in inputs=" : NULL;
}

/* The line of visible node i (and of its folded activation, node i + 1). */
static const char *layer_line(writer *w, int i, line *l)
{
    const fv_model *m = w->m;
    const fv_node *n = &m->nodes[i];
    const fv_schema *sc = (unsigned)n->op < FV_OP__COUNT ? fv_op_table[n->op]->schema : NULL;
    if (!sc)
        return "the text format has no layer for this op";
    if (n->hidden)
        return "a folded activation that does not follow its layer";
    if (n->op == FV_OP_INPUT && (w->have_input || i != m->input_node))
        return "a second input (the text format has one)";
    if (!name_ok(n->name))
        return "a name with a blank, '#' or ',' (not one token of the text format)";
    const char *why = add_layer(l, m, i, sc, w->why);
    if (why)
        return why;
    add(l, " name=%s", n->name);
    if (n->op != FV_OP_INPUT &&
        (why = add_inputs(w, l, n, sc->min_in ? sc->min_in : 1, sc->max_in ? sc->max_in : 1)))
        return why;
    return l->n > LINE_CHARS ? "a line longer than 65536 characters" : NULL;
}

static fv_status write_layer(writer *w, int i)
{
    const fv_model *m = w->m;
    const fv_node *n = &m->nodes[i];
    line l = {.n = 0};
    const char *why = layer_line(w, i, &l);
    if (why) {
        const fv_op_def *od = (unsigned)n->op < FV_OP__COUNT ? fv_op_table[n->op] : NULL;
        return fv_err(FV_ERR_INVALID, "cannot write model '%s' as text: layer '%s' (%s): %s",
                      m->name, n->name, od ? od->name : "unknown op", why);
    }
    w->have_input |= n->op == FV_OP_INPUT;
    w->last = folded(m, i) ? i + 1 : i;
    add(&l, "\n");
    return put(w, l.s, l.n);
}

/* "1,234,567" */
static void grouped(int64_t v, char *out, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)v), k = 0;
    for (int i = 0; i < n && (size_t)k + 2 < cap; i++) {
        if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    out[k] = '\0';
}

/* The header comment and the model line. Counts use the parameters' own trainable flag (not
 * freezing), so a model and its parsed text agree. */
static fv_status write_header(writer *w)
{
    const fv_model *m = w->m;
    if (!name_ok(m->name))
        return fv_err(FV_ERR_INVALID, "cannot write model '%s' as text: the model name has a "
                      "blank, '#' or ',' (not one token of the text format)", m->name);
    int64_t total = 0, trainable = 0;
    for (int i = 0; i < m->nparams; i++) {
        total += m->params[i].numel;
        trainable += m->params[i].trainable ? m->params[i].numel : 0;
    }
    char t[32], tr[32], nt[32];
    grouped(total, t, sizeof t);
    grouped(trainable, tr, sizeof tr);
    grouped(total - trainable, nt, sizeof nt);
    line l = {.n = 0};
    add(&l, "# written by fovea: model %s, %s parameters (%s trainable, %s non-trainable)\n"
        "model %s\n", m->name, t, tr, nt, m->name);
    return put(w, l.s, l.n);
}

/* The text of m into *out (malloc'ed), or an error. */
static fv_status to_text(const fv_model *m, char **out)
{
    *out = NULL;
    if (!m)
        return fv_err(FV_ERR_INVALID, "fv_model_to_text: model is NULL");
    writer w = {.m = m, .last = -1};
    fv_status s = write_header(&w);
    for (int i = 0; i < m->nnodes && s == FV_OK; i++) {
        if (skipped(m, i) || (i > 0 && m->nodes[i].hidden && folded(m, i - 1)))
            continue; /* not a layer, or written on its layer's line */
        s = write_layer(&w, i);
    }
    if (s == FV_OK && !w.have_input)
        s = fv_err(FV_ERR_INVALID, "cannot write model '%s' as text: it has no input layer",
                   m->name);
    if (s != FV_OK)
        free(w.text);
    else
        *out = w.text;
    return s;
}

char *fv_model_to_text(const fv_model *m)
{
    char *text;
    return to_text(m, &text) == FV_OK ? text : NULL;
}

fv_status fv_model_save_file(const fv_model *m, const char *path)
{
    if (!path)
        return fv_err(FV_ERR_INVALID, "fv_model_save_file: path is NULL");
    char *text;
    FV_TRY(to_text(m, &text));
    fv_status s = fv_atomic_write(path, text, strlen(text));
    free(text);
    return s;
}
