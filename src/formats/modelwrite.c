/* modelwrite.c - the writer of the model text format (docs/model-format.md), the inverse of
 * modelfile.c's parser. Owns fv_model_to_text (one line per visible layer in node order, folded
 * activations written back as activation=, every attribute that differs from the parser's
 * default) and fv_model_save_file (atomic). A node the format cannot express is an error naming
 * the layer and its op, never a line that would parse into something else. */
#include "core/internal.h"
#include "io/io.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CHARS 1024 /* the parser's limit per line */

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

/* ---------------------------------------------------------------- layers, one writer per op */

/* Each writer appends "keyword args" for node n and returns NULL, or why the format cannot
 * express the node. */
typedef const char *(*op_writer)(line *l, const fv_model *m, const fv_node *n);

static const char *w_input(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "input shape=%lld", (long long)n->dims[0]);
    for (int i = 1; i < n->ndim; i++)
        add(l, ",%lld", (long long)n->dims[i]);
    return NULL;
}

/* The kernel regularizer (conv2d, dense): l1, l2, max_norm where set. */
static const char *add_reg(line *l, const fv_node *n)
{
    const fv_regularizer *r = &n->reg;
    if (!(r->l1 >= 0 && r->l2 >= 0 && r->max_norm >= 0) || isinf(r->l1) || isinf(r->l2) ||
        isinf(r->max_norm))
        return "a regularizer setting that is negative or not finite";
    if (r->l1 != 0)
        add_float(l, "l1", r->l1);
    if (r->l2 != 0)
        add_float(l, "l2", r->l2);
    if (r->max_norm != 0)
        add_float(l, "max_norm", r->max_norm);
    return NULL;
}

/* Whether padding=same gives this (stride 1, odd kernels, half the dilated kernel). */
static bool conv_same(const fv_conv_attr *c)
{
    return c->sh == 1 && c->kh % 2 == 1 && c->kw % 2 == 1 && c->ph == c->dh * (c->kh - 1) / 2 &&
           c->pw == c->dw * (c->kw - 1) / 2;
}

/* conv2d (also depthwise and separable halves: groups) and conv2d_transpose. */
static const char *w_conv(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_conv_attr *c = &n->a.conv;
    bool t = n->op == FV_OP_CONV2D_TRANSPOSE;
    if (c->sh != c->sw || c->dh != c->dw)
        return "strides or dilation differ between height and width (the format has one value)";
    add(l, "%s filters=%d", t ? "conv2d_transpose" : "conv2d", c->filters);
    add_pair(l, "kernel_size", c->kh, c->kw);
    if (c->sh != 1)
        add(l, " strides=%d", c->sh);
    if (c->ph != c->pw && (t || !conv_same(c)))
        return "padding differs between height and width and is not padding=same";
    if (c->ph != c->pw)
        add(l, " padding=same");
    else if (c->ph)
        add(l, " padding=%d", c->ph);
    if (c->dh != 1)
        add(l, " dilation_rate=%d", c->dh);
    if (c->groups != 1)
        add(l, " groups=%d", c->groups);
    if (!c->bias)
        add(l, " use_bias=false");
    if (!t)
        return add_reg(l, n);
    if (n->a.convt.oph != n->a.convt.opw)
        return "output padding differs between height and width";
    if (n->a.convt.oph)
        add(l, " output_padding=%d", n->a.convt.oph);
    if (n->reg.l1 != 0 || n->reg.l2 != 0 || n->reg.max_norm != 0)
        return "a kernel regularizer (conv2d_transpose takes none)";
    return NULL;
}

static const char *w_dense(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "dense units=%d", n->a.dense.units);
    if (!n->a.dense.bias)
        add(l, " use_bias=false");
    return add_reg(l, n);
}

/* maxpool2d, avgpool2d, lppool2d: the stride defaults to the window, the size to 2. */
static const char *w_pool(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_pool_attr *p = &n->a.pool;
    add(l, "%s", n->op == FV_OP_MAXPOOL2D ? "maxpool2d"
                 : n->op == FV_OP_AVGPOOL2D ? "avgpool2d" : "lppool2d");
    if (p->kh != 2 || p->kw != 2)
        add_pair(l, "pool_size", p->kh, p->kw);
    if (p->sh != p->kh || p->sw != p->kw) {
        if (p->sh != p->sw)
            return "strides differ between height and width and are not the window";
        add(l, " strides=%d", p->sh);
    }
    if (p->ph != p->pw || (p->ph && n->op == FV_OP_LPPOOL))
        return "padding differs between height and width (or pads an lppool2d)";
    if (p->ph)
        add(l, " padding=%d", p->ph);
    if (p->ceil_mode)
        add(l, " ceil_mode=true");
    /* exclude_pad changes nothing in max and LP pooling (no padded cells are averaged) */
    if (n->op == FV_OP_AVGPOOL2D && p->exclude_pad)
        add(l, " count_include_pad=false");
    if (n->op == FV_OP_LPPOOL && !(p->power > 0 && isfinite(p->power)))
        return "a power that is not a positive number";
    if (n->op == FV_OP_LPPOOL && p->power != 2.0f)
        add_float(l, "power", p->power);
    return NULL;
}

static const char *w_fracpool(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_frac_attr *f = &n->a.frac;
    add(l, "fractional_maxpool2d");
    if (f->kh || f->kw)
        add_pair(l, "kernel_size", f->kh, f->kw);
    if (f->oh || f->ow) {
        add_pair(l, "output_size", f->oh, f->ow);
    } else {
        add(l, " output_ratio=");
        add_double(l, f->rh);
        if (f->rw != f->rh) {
            add(l, ",");
            add_double(l, f->rw);
        }
    }
    if (f->random)
        add(l, " sequence=random");
    return NULL;
}

static const char *w_adaptive(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "adaptive_avgpool2d");
    add_pair(l, "output_size", n->a.adaptive.oh, n->a.adaptive.ow);
    return NULL;
}

static const char *w_lrn(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_lrn_attr *a = &n->a.lrn;
    add(l, "lrn size=%d", a->size);
    if (a->alpha != 1e-4f)
        add_float(l, "alpha", a->alpha);
    if (a->beta != 0.75f)
        add_float(l, "beta", a->beta);
    if (a->k != 1.0f)
        add_float(l, "k", a->k);
    return NULL;
}

static const char *w_upsample(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_resize_attr *r = &n->a.resize;
    add(l, "upsample2d");
    if (r->sh != 2 || r->sw != 2)
        add_pair(l, "size", r->sh, r->sw);
    if (r->bilinear)
        add(l, " interpolation=bilinear");
    return NULL;
}

/* Zero padding (amounts > 0) or cropping (< 0; all zero: cropping=0, as padding's default is
 * 1), as N, V,H or T,B,L,R. */
static const char *w_pad_crop(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_resize_attr *r = &n->a.resize;
    int v[4] = {r->top, r->bottom, r->left, r->right};
    bool pad = v[0] > 0 || v[1] > 0 || v[2] > 0 || v[3] > 0;
    for (int i = 0; i < 4; i++) {
        if (pad ? v[i] < 0 : v[i] > 0)
            return "padding some sides and cropping others";
        v[i] = pad ? v[i] : -v[i];
    }
    add(l, "%s", pad ? "zero_padding2d" : "cropping2d");
    if (pad && v[0] == 1 && v[1] == 1 && v[2] == 1 && v[3] == 1)
        return NULL; /* padding's default */
    const char *key = pad ? "padding" : "cropping";
    if (v[0] == v[1] && v[2] == v[3])
        add_pair(l, key, v[0], v[2]);
    else
        add(l, " %s=%d,%d,%d,%d", key, v[0], v[1], v[2], v[3]);
    return NULL;
}

static const char *w_gnorm(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_gnorm_attr *g = &n->a.gnorm;
    if (g->kind < 0 || g->kind > 2)
        return "an unknown normalization kind";
    add(l, "%s", g->kind == 0 ? "group_norm" : g->kind == 1 ? "instance_norm" : "layer_norm");
    if (g->kind == 0)
        add(l, " groups=%d", g->groups);
    if (g->eps != 1e-5f)
        add_float(l, "epsilon", g->eps);
    return NULL;
}

static const char *w_prelu(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "prelu%s", n->a.maxout.shared ? " shared=true" : "");
    return NULL;
}

static const char *w_maxout(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "maxout pieces=%d", n->a.maxout.pieces);
    return NULL;
}

static const char *w_reshape(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    const fv_reshape_attr *r = &n->a.reshape;
    add(l, "reshape target_shape=%lld", (long long)r->dims[0]);
    for (int i = 1; i < r->ndim; i++)
        add(l, ",%lld", (long long)r->dims[i]);
    return NULL;
}

/* The axis as a non-negative index (the layer function keeps a negative one as given). */
static const char *w_concat(line *l, const fv_model *m, const fv_node *n)
{
    int axis = n->a.concat.axis;
    axis = axis < 0 ? axis + m->nodes[n->in[0]].ndim : axis;
    add(l, "concat");
    if (axis)
        add(l, " axis=%d", axis);
    return NULL;
}

static const char *w_dropout(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "%s", n->a.dropout.spatial ? "spatial_dropout2d" : "dropout");
    add_float(l, "rate", n->a.dropout.rate);
    return NULL;
}

static const char *w_batchnorm(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    add(l, "batchnorm");
    if (n->a.bn.momentum != 0.1f)
        add_float(l, "momentum", n->a.bn.momentum);
    if (n->a.bn.eps != 1e-5f)
        add_float(l, "epsilon", n->a.bn.eps);
    return NULL;
}

/* Layers without arguments: the op's own name is the keyword. */
static const char *w_plain(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    static const struct {
        fv_op op;
        const char *word;
    } words[] = {
        {FV_OP_FLATTEN, "flatten"},       {FV_OP_ADD, "add"},
        {FV_OP_GLOBAL_AVGPOOL, "global_avgpool2d"}, {FV_OP_GLOBAL_MAXPOOL, "global_maxpool2d"},
        {FV_OP_MAXUNPOOL, "maxunpool2d"},
    };
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (words[i].op == n->op) {
            add(l, "%s", words[i].word);
            return NULL;
        }
    return "no keyword";
}

/* ---------------------------------------------------------------- activations */

/* The activation an activation node computes, and its alpha. */
static fv_act act_of(const fv_node *n, float *alpha)
{
    *alpha = 0;
    switch (n->op) {
    case FV_OP_RELU: return FV_ACT_RELU;
    case FV_OP_SIGMOID: return FV_ACT_SIGMOID;
    case FV_OP_TANH: return FV_ACT_TANH;
    case FV_OP_SOFTMAX: return FV_ACT_SOFTMAX;
    default: *alpha = n->a.eltwise.alpha; return (fv_act)n->a.eltwise.act;
    }
}

/* The alpha the layer functions give a kind when none is set (fv_activation_'s rule). */
static float default_alpha(const fv_node *n, fv_act act)
{
    return n->op != FV_OP_ELTWISE ? 0.0f : act == FV_ACT_LEAKY_RELU ? 0.01f : 1.0f;
}

/* A standalone activation: its own keyword (relu, leaky_relu alpha=...), or
 * `activation activation=NAME alpha=...` for an alpha on a kind that has none. */
static const char *w_act(line *l, const fv_model *m, const fv_node *n)
{
    (void)m;
    float alpha;
    fv_act act = act_of(n, &alpha);
    if (act <= FV_ACT_NONE || act >= FV_ACT__COUNT)
        return "an unknown activation kind";
    if (alpha == default_alpha(n, act)) {
        add(l, "%s", fv_act_name(act));
        return NULL;
    }
    if (!(alpha > 0) || isinf(alpha))
        return "an alpha that is not a positive number";
    if (act == FV_ACT_LEAKY_RELU || act == FV_ACT_ELU)
        add(l, "%s", fv_act_name(act));
    else
        add(l, "activation activation=%s", fv_act_name(act));
    add_float(l, "alpha", alpha);
    return NULL;
}

/* " activation=NAME" for the hidden activation node h folded into its layer. */
static const char *add_folded_act(line *l, const fv_node *h, bool takes_act)
{
    float alpha;
    fv_act act = act_of(h, &alpha);
    if (!takes_act)
        return "an activation folded into a layer that takes no activation=";
    if (act <= FV_ACT_NONE || act >= FV_ACT__COUNT || alpha != default_alpha(h, act))
        return "a folded activation of an unknown kind or a non-default alpha";
    add(l, " activation=%s", fv_act_name(act));
    return NULL;
}

/* ---------------------------------------------------------------- the op table */

typedef struct op_def {
    op_writer write;
    bool multi;     /* always lists its inputs (add, concat, maxunpool2d) */
    bool takes_act; /* has activation= (a folded activation node may follow) */
} op_def;

static const op_def op_defs[FV_OP__COUNT] = {
    [FV_OP_INPUT] = {w_input, false, false},
    [FV_OP_CONV2D] = {w_conv, false, true},
    [FV_OP_CONV2D_TRANSPOSE] = {w_conv, false, true},
    [FV_OP_DENSE] = {w_dense, false, true},
    [FV_OP_MAXPOOL2D] = {w_pool, false, false},
    [FV_OP_AVGPOOL2D] = {w_pool, false, false},
    [FV_OP_LPPOOL] = {w_pool, false, false},
    [FV_OP_FRACPOOL] = {w_fracpool, false, false},
    [FV_OP_ADAPTIVE_AVGPOOL] = {w_adaptive, false, false},
    [FV_OP_GLOBAL_AVGPOOL] = {w_plain, false, false},
    [FV_OP_GLOBAL_MAXPOOL] = {w_plain, false, false},
    [FV_OP_MAXUNPOOL] = {w_plain, true, false},
    [FV_OP_LRN] = {w_lrn, false, false},
    [FV_OP_UPSAMPLE] = {w_upsample, false, false},
    [FV_OP_PAD_CROP] = {w_pad_crop, false, false},
    [FV_OP_GROUP_NORM] = {w_gnorm, false, false},
    [FV_OP_PRELU] = {w_prelu, false, false},
    [FV_OP_MAXOUT] = {w_maxout, false, false},
    [FV_OP_FLATTEN] = {w_plain, false, false},
    [FV_OP_RESHAPE] = {w_reshape, false, false},
    [FV_OP_ADD] = {w_plain, true, false},
    [FV_OP_CONCAT] = {w_concat, true, false},
    [FV_OP_DROPOUT] = {w_dropout, false, false},
    [FV_OP_BATCHNORM] = {w_batchnorm, false, false},
    [FV_OP_RELU] = {w_act, false, false},
    [FV_OP_SIGMOID] = {w_act, false, false},
    [FV_OP_TANH] = {w_act, false, false},
    [FV_OP_SOFTMAX] = {w_act, false, false},
    [FV_OP_ELTWISE] = {w_act, false, false},
    /* the losses and the compiled model's target input are skipped, not written */
};

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
 * fv_model_find_node resolves names. */
static bool folded(const fv_model *m, int i)
{
    return i + 1 < m->nnodes && m->nodes[i + 1].hidden && m->nodes[i + 1].nin == 1 &&
           m->nodes[i + 1].in[0] == i;
}

/* Losses and the target input belong to compile, not to the text. */
static bool skipped(const fv_model *m, int i)
{
    fv_op op = m->nodes[i].op;
    return i == m->target_node || i == m->loss_node || op == FV_OP_SOFTMAX_CE ||
           op == FV_OP_MSE || op == FV_OP_LOSS;
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

/* " inputs=a,b" unless the layer reads the node added last; NULL or why not. */
static const char *add_inputs(writer *w, line *l, const fv_node *n, bool multi)
{
    if (multi ? n->nin < 2 : n->nin != 1)
        return multi ? "fewer than two inputs" : "more than one input";
    if (!multi && n->in[0] == w->last)
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
    const op_def *d = (unsigned)n->op < FV_OP__COUNT ? &op_defs[n->op] : NULL;
    if (!d || !d->write)
        return "the text format has no layer for this op";
    if (n->hidden)
        return "a folded activation that does not follow its layer";
    if (n->op == FV_OP_INPUT && (w->have_input || i != m->input_node))
        return "a second input (the text format has one)";
    if (!name_ok(n->name))
        return "a name with a blank, '#' or ',' (not one token of the text format)";
    const char *why = d->write(l, m, n);
    if (!why && folded(m, i))
        why = add_folded_act(l, &m->nodes[i + 1], d->takes_act);
    if (why)
        return why;
    add(l, " name=%s", n->name);
    if (n->op != FV_OP_INPUT && (why = add_inputs(w, l, n, d->multi)))
        return why;
    return l->n > LINE_CHARS ? "a line longer than 1024 characters" : NULL;
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
    fv_atomic_file af;
    fv_status s = fv_atomic_open(&af, path);
    if (s == FV_OK) {
        size_t len = strlen(text);
        if (fwrite(text, 1, len, af.f) != len) {
            fv_atomic_abort(&af);
            s = fv_err(FV_ERR_IO, "%s: write failed", path);
        } else {
            s = fv_atomic_commit(&af);
        }
    }
    free(text);
    return s;
}
