/* schema.c - the generic layer builder over the ops' argument tables (schema.h): resolves every
 * argument to its default, checks its range (one message form for every layer), fills the
 * attributes, applies the op's cross-argument rule, adds the node, its kernel regularizer and
 * its folded activation. Also the lookups the text format and the summary use: forms by keyword,
 * a node's form. */
#include "ops/node.h"
#include "ops/schema.h"

#include <limits.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- lookups */

const char *const fv_fan_words[] = {"fan_in", "fan_out", NULL};

int fv_schema_form(const fv_schema *sc, int v)
{
    for (int k = 0; k < sc->nforms; k++)
        if (sc->forms[k].value == v)
            return k;
    return -1;
}

int fv_field_in_form(const fv_field *f, int k)
{
    return !f->forms || (f->forms & FV_FORM(k));
}

int fv_node_form(const fv_node *n)
{
    const fv_schema *sc = fv_op_table[n->op]->schema;
    if (!sc)
        return -1;
    if (sc->form_of)
        return fv_schema_form(sc, sc->form_of(n));
    if (sc->form_attr)
        return fv_schema_form(sc, *(const int *)fv_field_at(&n->a, sc->form_attr));
    return 0;
}

const char *fv_node_kind(const fv_node *n)
{
    const fv_op_def *d = fv_op_table[n->op];
    int k = fv_node_form(n);
    if (d->kind_of)
        return d->kind_of(n);
    return k >= 0 && d->schema->forms[k].kind ? d->schema->forms[k].kind : d->kind;
}

const fv_schema *fv_schema_at(int i)
{
    for (int op = 0, seen = 0; op < FV_OP__COUNT; op++) {
        const fv_schema *sc = fv_op_table[op]->schema;
        int first = sc != NULL;
        for (int o = 0; first && o < op; o++)
            first = fv_op_table[o]->schema != sc;
        if (first && seen++ == i)
            return sc;
    }
    return NULL;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }

static int ci_eq(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b))
        a++, b++;
    return *a == '\0' && *b == '\0';
}

const fv_schema *fv_schema_find(const char *word, int *form)
{
    const fv_schema *sc;
    for (int i = 0; (sc = fv_schema_at(i)); i++)
        for (int k = 0; k < sc->nforms; k++)
            for (int j = 0; j < 3 && sc->forms[k].names[j]; j++)
                if (ci_eq(word, sc->forms[k].names[j])) {
                    *form = k;
                    return sc;
                }
    return NULL;
}

/* ---------------------------------------------------------------- values and ranges */

static int arg_int(const fv_spec *s, int off)
{
    return off ? *(const int *)fv_field_at(s, off) : 0;
}

static double arg_num(const fv_field *f, const fv_spec *s, int off)
{
    if (!off)
        return 0;
    const void *p = fv_field_at(s, off);
    return f->type == FV_FT_FLOAT || f->type == FV_FT_REG ? *(const float *)p
           : f->type == FV_FT_RATIO                     ? *(const double *)p
                                                        : *(const int *)p;
}

double fv_field_value(const fv_field *f, const fv_spec *s, int axis)
{
    double v;
    switch (f->type) {
    case FV_FT_PAIR:
    case FV_FT_RATIO:
        v = arg_num(f, s, axis ? f->arg_w : f->arg_h);
        v = v != 0 ? v : arg_num(f, s, f->arg);
        return v != 0 ? v : f->def;
    case FV_FT_BOOL:
        v = arg_int(s, f->arg) != 0;
        return f->flags & FV_F_ATTR_NOT ? !v : v;
    case FV_FT_CHOICE: /* of two words: anything not 0 is the second */
        return f->words[2] ? arg_int(s, f->arg) : arg_int(s, f->arg) != 0;
    case FV_FT_SIDES: {
        const int *a = fv_field_at(s, f->arg); /* all, top, bottom, left, right */
        return a[1 + axis] ? a[1 + axis] : a[0];
    }
    default:
        v = arg_num(f, s, f->arg);
        return v != 0 ? v : f->def;
    }
}

const char *fv_field_range(const fv_field *f, char *buf, size_t cap)
{
    bool real = f->type == FV_FT_FLOAT || f->type == FV_FT_REG || f->type == FV_FT_RATIO;
    if (real && isinf(f->lo) && isinf(f->hi))
        snprintf(buf, cap, "finite");
    else if (!real && f->hi >= INT_MAX)
        snprintf(buf, cap, ">= %g", f->lo);
    else if (!real)
        snprintf(buf, cap, "in %g..%g", f->lo, f->hi);
    else if (isinf(f->hi))
        snprintf(buf, cap, "%s %g and finite", f->flags & FV_F_LO_OPEN ? ">" : ">=", f->lo);
    else
        snprintf(buf, cap, "in %c%g, %g%c", f->flags & FV_F_LO_OPEN ? '(' : '[', f->lo, f->hi,
                 f->flags & FV_F_HI_OPEN ? ')' : ']');
    return buf;
}

int fv_field_in_range(const fv_field *f, double v)
{
    bool lo = f->flags & FV_F_LO_OPEN ? v > f->lo : v >= f->lo;
    bool hi = f->flags & FV_F_HI_OPEN ? v < f->hi : v <= f->hi;
    return lo && hi && isfinite(v);
}

static int range_error(const fv_field *f, double v, const char *layer)
{
    char r[64];
    fv_err(FV_ERR_INVALID, "layer '%s': %s=%g must be %s", layer, f->key, v,
           fv_field_range(f, r, sizeof r));
    return -1;
}

/* The kernel regularizer's settings, checked together (one message names all three). */
static int check_reg(const fv_regularizer *r, const char *layer)
{
    if (!(r->l1 >= 0) || !(r->l2 >= 0) || !(r->max_norm >= 0) || isinf(r->l1) || isinf(r->l2) ||
        isinf(r->max_norm)) {
        fv_err(FV_ERR_INVALID, "layer '%s': l1=%g, l2=%g and max_norm=%g must be finite and >= 0",
               layer, (double)r->l1, (double)r->l2, (double)r->max_norm);
        return -1;
    }
    return 0;
}

/* The range check of one argument of s; 0 or -1 with an error. */
static int check_field(const fv_field *f, const fv_spec *s, const char *layer)
{
    switch (f->type) {
    case FV_FT_PAIR:
    case FV_FT_SIDES:
        for (int axis = 0; axis < (f->type == FV_FT_SIDES ? 4 : 2); axis++) {
            double v = fv_field_value(f, s, axis);
            if (!fv_field_in_range(f, v) && !(v == 0 && (f->flags & FV_F_OPTIONAL)))
                return range_error(f, v, layer);
        }
        return 0;
    case FV_FT_ACT:
    case FV_FT_ACT_KIND: {
        int act = arg_int(s, f->arg), lo = f->type == FV_FT_ACT ? FV_ACT_NONE : FV_ACT_RELU;
        if (act < lo || act >= FV_ACT__COUNT) {
            fv_err(FV_ERR_INVALID, "layer '%s': unknown activation %d", layer, act);
            return -1;
        }
        return 0;
    }
    case FV_FT_INIT: {
        int k = arg_int(s, f->arg);
        if (k < 0 || k >= FV_INIT__COUNT) {
            fv_err(FV_ERR_INVALID, "layer '%s': %s=%d is not an initializer", layer, f->key, k);
            return -1;
        }
        return 0;
    }
    case FV_FT_CHOICE: {
        int v = arg_int(s, f->arg), n = 0;
        while (f->words[n])
            n++;
        if (n > 2 && (v < 0 || v >= n)) {
            fv_err(FV_ERR_INVALID, "layer '%s': %s=%d is not one of its %d kinds (0..%d)", layer,
                   f->key, v, n, n - 1);
            return -1;
        }
        return 0;
    }
    case FV_FT_INT:
    case FV_FT_SQUARE:
    case FV_FT_FLOAT:
    case FV_FT_AXIS:
    case FV_FT_PADDING: {
        double v = fv_field_value(f, s, 0);
        bool absent = (f->def_from && !arg_int(s, f->arg)) ||
                      (v == 0 && (f->flags & FV_F_OPTIONAL));
        return absent || fv_field_in_range(f, v) ? 0 : range_error(f, v, layer);
    }
    case FV_FT_INTS: {
        int n = arg_int(s, f->arg);
        const int *v = *(const int *const *)fv_field_at(s, f->arg_h);
        if (n < 1 || n > FV_SEGMENTS_MAX || !v) {
            fv_err(FV_ERR_INVALID, "layer '%s': %s: %d values (expected 1..%d)", layer, f->key,
                   n, FV_SEGMENTS_MAX);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (!fv_field_in_range(f, v[i]))
                return range_error(f, v[i], layer);
        return 0;
    }
    default: /* booleans, shapes, ratios: checked by the op (finish, infer) */
        return 0;
    }
}

/* The regularizer the REG fields of form k give. */
static fv_regularizer spec_reg(const fv_schema *sc, int k, const fv_spec *s, bool *any)
{
    fv_regularizer r = {0, 0, 0};
    *any = false;
    for (int i = 0; i < sc->nfields; i++) {
        const fv_field *f = &sc->fields[i];
        if (f->type == FV_FT_REG && fv_field_in_form(f, k)) {
            *(float *)fv_field_at(&r, f->attr) = (float)fv_field_value(f, s, 0);
            *any = true;
        }
    }
    return r;
}

/* The fields of form k the C layer function has (the text's aliases of others excluded). */
static bool c_field(const fv_field *f, int k)
{
    return fv_field_in_form(f, k) && !(f->flags & FV_F_READ_ONLY);
}

static fv_init_spec spec_init(const fv_schema *sc, int k, const fv_spec *s, bool *any);

/* The initializer arguments' rules across each other (each is in range already). */
static int check_init(const fv_init_spec *in, const char *layer)
{
    const fv_init_rule *w = &in->weight, *b = &in->bias;
    int kind = w->kind ? w->kind : FV_INIT_GLOROT_UNIFORM;
    const char *name = fv_init_name((fv_init)kind);
    bool gained = kind == FV_INIT_GLOROT_UNIFORM || kind == FV_INIT_GLOROT_NORMAL ||
                  kind == FV_INIT_XAVIER_NORMAL || kind == FV_INIT_ORTHOGONAL;
    bool fanned = kind == FV_INIT_HE_UNIFORM || kind == FV_INIT_HE_NORMAL ||
                  kind == FV_INIT_KAIMING_NORMAL || kind == FV_INIT_LECUN_UNIFORM ||
                  kind == FV_INIT_LECUN_NORMAL;
    if (b->kind && b->kind != FV_INIT_ZEROS && b->kind != FV_INIT_ONES &&
        b->kind != FV_INIT_CONSTANT)
        fv_err(FV_ERR_INVALID, "layer '%s': bias_init=%s (a bias takes zeros, ones or constant)",
               layer, fv_init_name((fv_init)b->kind));
    else if (w->value != 0 && kind != FV_INIT_CONSTANT)
        fv_err(FV_ERR_INVALID, "layer '%s': init_value=%g needs init=constant (not %s)", layer,
               (double)w->value, name);
    else if (b->value != 0 && b->kind != FV_INIT_CONSTANT)
        fv_err(FV_ERR_INVALID, "layer '%s': bias_value=%g needs bias_init=constant", layer,
               (double)b->value);
    else if (w->gain != 1 && !gained)
        fv_err(FV_ERR_INVALID, "layer '%s': init_gain=%g applies to glorot, xavier and "
               "orthogonal initializers, not %s", layer, (double)w->gain, name);
    else if (w->fan_out && !fanned)
        fv_err(FV_ERR_INVALID, "layer '%s': init_mode=fan_out applies to he, kaiming and lecun "
               "initializers, not %s", layer, name);
    else
        return 0;
    return -1;
}

static int check_args(const fv_schema *sc, int k, const fv_spec *s, const char *layer)
{
    for (int i = 0; i < sc->nfields; i++) {
        const fv_field *f = &sc->fields[i];
        if (c_field(f, k) && f->type != FV_FT_REG && check_field(f, s, layer) < 0)
            return -1;
    }
    bool any;
    fv_init_spec in = spec_init(sc, k, s, &any);
    if (any && check_init(&in, layer) < 0)
        return -1;
    fv_regularizer r = spec_reg(sc, k, s, &any);
    return any ? check_reg(&r, layer) : 0;
}

/* ---------------------------------------------------------------- attributes */

/* Stores field f's resolved value at its offset in a: the attributes, or the node's
 * initializers for an FV_F_INIT field. */
static void to_attr(const fv_schema *sc, const fv_field *f, const fv_spec *s, void *a)
{
    void *p = fv_field_at(a, f->attr), *q = fv_field_at(a, f->attr_w);
    switch (f->type) {
    case FV_FT_FLOAT:
        *(float *)p = (float)fv_field_value(f, s, 0);
        break;
    case FV_FT_RATIO:
        *(double *)p = fv_field_value(f, s, 0), *(double *)q = fv_field_value(f, s, 1);
        break;
    case FV_FT_PAIR:
        *(int *)p = (int)fv_field_value(f, s, 0), *(int *)q = (int)fv_field_value(f, s, 1);
        break;
    case FV_FT_SQUARE: {
        const fv_field *src = f->def_from ? &sc->fields[f->def_from - 1] : NULL;
        int v = arg_int(s, f->arg);
        *(int *)p = v ? v : src ? *(int *)fv_field_at(a, src->attr) : (int)f->def;
        *(int *)q = v ? v : src ? *(int *)fv_field_at(a, src->attr_w) : (int)f->def;
        break;
    }
    case FV_FT_PADDING:
        *(int *)p = *(int *)q = (int)fv_field_value(f, s, 0);
        break;
    case FV_FT_SIDES:
        for (int i = 0; i < 4; i++)
            ((int *)p)[i] = (int)fv_field_value(f, s, i);
        break;
    case FV_FT_SHAPE:
        *(int *)p = arg_int(s, f->arg);
        memcpy(q, fv_field_at(s, f->arg_h), sizeof(int64_t) * 4);
        break;
    case FV_FT_INTS: /* the count and the pointer (the op's builder made it the model's) */
        *(int *)p = arg_int(s, f->arg);
        *(const int **)q = *(const int *const *)fv_field_at(s, f->arg_h);
        break;
    default: /* ints, axes, booleans, choices */
        *(int *)p = (int)fv_field_value(f, s, 0);
    }
}

/* The attributes of form k from s: every field's value, then the form's own. */
static void spec_attr(const fv_schema *sc, int k, const fv_spec *s, fv_attr *a)
{
    memset(a, 0, sizeof *a);
    /* pairs first: a square field may default to a pair's value (a pool's stride) */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < sc->nfields; i++) {
            const fv_field *f = &sc->fields[i];
            bool later = f->type == FV_FT_SQUARE && f->def_from;
            if (c_field(f, k) && f->attr && f->type != FV_FT_REG && !(f->flags & FV_F_INIT) &&
                later == (pass == 1))
                to_attr(sc, f, s, a);
        }
    if (sc->form_attr)
        *(int *)fv_field_at(a, sc->form_attr) = sc->forms[k].value;
}

/* The initializers the FV_F_INIT fields of form k give (gain 1 by default); the weight's
 * glorot_uniform and the bias's zeros, the ops' own, kept as FV_INIT_DEFAULT. */
static fv_init_spec spec_init(const fv_schema *sc, int k, const fv_spec *s, bool *any)
{
    fv_init_spec in;
    memset(&in, 0, sizeof in);
    *any = false;
    for (int i = 0; i < sc->nfields; i++) {
        const fv_field *f = &sc->fields[i];
        if ((f->flags & FV_F_INIT) && c_field(f, k)) {
            to_attr(sc, f, s, &in);
            *any = true;
        }
    }
    if (in.weight.kind == FV_INIT_GLOROT_UNIFORM)
        in.weight.kind = FV_INIT_DEFAULT;
    if (in.bias.kind == FV_INIT_ZEROS)
        in.bias.kind = FV_INIT_DEFAULT;
    return in;
}

/* The folded activation of form k, FV_ACT_NONE when none. */
static fv_act spec_act(const fv_schema *sc, int k, const fv_spec *s)
{
    for (int i = 0; i < sc->nfields; i++)
        if (sc->fields[i].type == FV_FT_ACT && fv_field_in_form(&sc->fields[i], k))
            return (fv_act)arg_int(s, sc->fields[i].arg);
    return FV_ACT_NONE;
}

/* ---------------------------------------------------------------- building */

/* Adds the activation after node id, folded into that layer's summary row; on failure removes
 * node id again. */
static int with_activation(fv_model *m, int id, fv_act act)
{
    if (id < 0 || act == FV_ACT_NONE)
        return id;
    fv_spec s = {.form = act};
    int a = fv_layer_add(m, &fv_act_schema, &id, 1, &s);
    if (a < 0) {
        m->nparams -= m->nodes[--m->nnodes].nparam;
        return -1;
    }
    m->nodes[a].hidden = 1;
    return a;
}

int fv_layer_build(fv_model *m, const fv_schema *sc, int k, const int *ins, int nin,
                   const fv_spec *s)
{
    const char *layer = s->name ? s->name : sc->forms[k].names[0];
    fv_attr a;
    spec_attr(sc, k, s, &a);
    if (sc->finish && sc->finish(s, &a, layer) != FV_OK)
        return -1;
    bool any;
    fv_regularizer reg = spec_reg(sc, k, s, &any);
    fv_init_spec init = spec_init(sc, k, s, &any);
    int counter = m->name_counter[sc->op];
    int id = fv_graph_add(m, sc->op, nin, ins, &a, s->name);
    if (id < 0)
        return -1;
    if (init.bias.kind != FV_INIT_DEFAULT && m->nodes[id].nparam < 2) {
        fv_err(FV_ERR_INVALID, "layer '%s': bias_init=%s, but the layer has no bias (use_bias="
               "false)", m->nodes[id].name, fv_init_name((fv_init)init.bias.kind));
        m->nparams -= m->nodes[--m->nnodes].nparam;
        m->name_counter[sc->op] = counter;
        return -1;
    }
    m->nodes[id].reg = reg;
    m->nodes[id].init = init;
    return with_activation(m, id, spec_act(sc, k, s));
}

int fv_layer_reads_failure(fv_model *m, const int *ins, int nin)
{
    for (int i = 0; m->first_status != FV_OK && ins && i < nin; i++)
        if (ins[i] == -1 || ins[i] == FV_LAST) { /* the chain's first error, not "node -1" */
            fv_err(m->first_status, "%s", m->first_error);
            return 1;
        }
    return 0;
}

void fv_layer_failed(fv_model *m)
{
    if (m->first_status != FV_OK)
        return;
    fv_status st = fv_last_status();
    m->first_status = st != FV_OK ? st : FV_ERR_INVALID;
    snprintf(m->first_error, sizeof m->first_error, "%s", fv_last_error());
}

static int add_checked(fv_model *m, const fv_schema *sc, const int *ins, int nin,
                       const fv_spec *s)
{
    int k = fv_schema_form(sc, s->form);
    const char *layer = s->name ? s->name : k >= 0 ? sc->forms[k].names[0] : "layer";
    if (k < 0) {
        fv_err(FV_ERR_INVALID, "layer '%s': unknown kind %d", layer, s->form);
        return -1;
    }
    int lo = sc->max_in < 0 ? 0 : sc->min_in ? sc->min_in : 1;
    int hi = sc->max_in < 0 ? 0 : sc->max_in ? sc->max_in : 1;
    if (nin < lo || nin > hi || (hi && !ins)) {
        fv_err(FV_ERR_INVALID, "layer '%s': %d inputs (expected %d..%d)", layer, nin, lo, hi);
        return -1;
    }
    if (check_args(sc, k, s, layer) < 0)
        return -1;
    if (sc->forms[k].add)
        return sc->forms[k].add(m, ins, nin, s);
    return fv_layer_build(m, sc, k, ins, nin, s);
}

int fv_layer_add(fv_model *m, const fv_schema *sc, const int *ins, int nin, const fv_spec *s)
{
    if (fv_layer_reads_failure(m, ins, nin))
        return -1;
    int id = add_checked(m, sc, ins, nin, s);
    if (id < 0)
        fv_layer_failed(m);
    return id;
}
