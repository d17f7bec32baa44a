/* darknet_cfg.c - Darknet .cfg networks (pjreddie's Darknet, as Debian's `darknet` package
 * reads them): owns fv_model_parse_darknet / fv_model_load_darknet. The text is read as Darknet
 * reads it (blanks removed from every line, '#' and ';' comments, [section] headers, key=value
 * options), then each section after [net] becomes one Darknet layer built from public layer
 * calls, its row kept in the model's Darknet table (formats/darknet.h). Unknown sections and keys,
 * bad values and layers fovea does not build (detection heads, recurrent layers) are one-line
 * errors "<file>:<line>: [section] (layer N): <problem>". Node names: see docs/DESIGN.md
 * ("Darknet"): the layer's kind and Darknet's number ("conv_0", "max_1", "fc_8"), helpers with a
 * suffix ("conv_0_bn", "conv_0_leaky"). */
#include "formats/darknet.h"
#include "formats/readers.h"
#include "io/io.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DN_FILE_MAX (4u << 20) /* bytes in one .cfg */
#define DN_MAX_LAYERS 4096
#define DN_INT_MAX 65536        /* the largest width, filters, size, ... accepted */
#define DN_BN_EPS 1e-12f        /* see load_bn in darknet_weights.c: Darknet's sqrt(var) + 1e-6 */
#define DN_TREE_BYTES (64u << 20) /* a word tree file (9k.tree: 160 KiB) */

/* ---------------------------------------------------------------- the text */

typedef struct dn_kv {
    char *key, *val;
    int line, used;
} dn_kv;

typedef struct dn_sec {
    char *name;
    int line, first, nkv; /* its options: kv[first .. first + nkv) */
} dn_sec;

typedef struct dn_cfg {
    const char *file;
    char *text; /* a copy, cut into keys and values in place */
    dn_kv *kv;
    int nkv;
    dn_sec *sec;
    int nsec;
} dn_cfg;

static fv_status __attribute__((format(printf, 3, 4)))
cerr(const dn_cfg *c, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fv_status s = fv_file_line_verr(FV_ERR_FORMAT, c->file, line, fmt, ap);
    va_end(ap);
    return s;
}

/* Removes every blank of s in place, as Darknet's strip() does. */
static void strip(char *s)
{
    char *o = s;
    for (; *s; s++)
        if (!strchr(" \t\r\v\f", *s))
            *o++ = *s;
    *o = '\0';
}

static fv_status add_line(dn_cfg *c, char *s, int line)
{
    strip(s);
    if (!*s || *s == '#' || *s == ';')
        return FV_OK;
    if (*s == '[') {
        size_t n = strlen(s);
        if (n < 3 || s[n - 1] != ']')
            return cerr(c, line, "expected a section header like [convolutional], got '%.60s'", s);
        s[n - 1] = '\0';
        c->sec[c->nsec++] = (dn_sec){.name = s + 1, .line = line, .first = c->nkv};
        return FV_OK;
    }
    char *eq = strchr(s, '=');
    if (!eq || eq == s)
        return cerr(c, line, "expected key=value or [section], got '%.60s'", s);
    if (!c->nsec)
        return cerr(c, line, "option '%.60s' before the first section ([net])", s);
    *eq = '\0';
    dn_sec *sec = &c->sec[c->nsec - 1];
    for (int i = sec->first; i < c->nkv; i++)
        if (strcmp(c->kv[i].key, s) == 0) /* given twice: the first counts, as in Darknet */
            return FV_OK;
    c->kv[c->nkv++] = (dn_kv){.key = s, .val = eq + 1, .line = line};
    sec->nkv++;
    return FV_OK;
}

static void cfg_free(dn_cfg *c)
{
    fv_free(c->text);
    fv_free(c->kv);
    fv_free(c->sec);
}

static fv_status cfg_read(dn_cfg *c, const char *text, size_t len)
{
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return cerr(c, (int)lines, "NUL byte (not a text file)");
        lines += text[i] == '\n';
    }
    if (lines > 1000000)
        return cerr(c, 1, "more than 1000000 lines");
    c->text = fv_malloc(len + 1, "Darknet");
    c->kv = fv_malloc(sizeof(dn_kv) * lines, "Darknet");
    c->sec = fv_malloc(sizeof(dn_sec) * lines, "Darknet");
    if (!c->text || !c->kv || !c->sec)
        return fv_err(FV_ERR_NOMEM, "%s: out of memory", c->file);
    memcpy(c->text, text, len);
    c->text[len] = '\0';
    char *s = c->text;
    if (strncmp(s, "\xEF\xBB\xBF", 3) == 0)
        s += 3;
    for (int line = 1; s;) {
        char *nl = strchr(s, '\n');
        if (nl)
            *nl = '\0';
        FV_TRY(add_line(c, s, line++));
        s = nl ? nl + 1 : NULL;
    }
    if (!c->nsec)
        return cerr(c, 1, "no sections (a Darknet .cfg starts with [net])");
    if (strcmp(c->sec[0].name, "net") != 0 && strcmp(c->sec[0].name, "network") != 0)
        return cerr(c, c->sec[0].line, "the first section must be [net] or [network], got [%.40s]",
                    c->sec[0].name);
    return FV_OK;
}

/* ---------------------------------------------------------------- building */

typedef struct bld {
    dn_cfg *c;
    fv_model *m;
    dn_net *net;
    const dn_sec *s;
    int idx;  /* the Darknet layer being built */
    int cur;  /* the node the layer reads (the previous layer's output) */
    char nm[64]; /* the layer's node name */
} bld;

/* "<file>:<line>: [section] (layer N): ..." */
static fv_status __attribute__((format(printf, 3, 4)))
berr(const bld *b, int line, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (b->idx < 0)
        return cerr(b->c, line, "[%.40s]: %s", b->s->name, msg);
    return cerr(b->c, line, "[%.40s] (layer %d): %s", b->s->name, b->idx, msg);
}

/* A layer call's failure (-1), its message prefixed with where the section is. */
static fv_status lerr(const bld *b)
{
    char why[400];
    snprintf(why, sizeof why, "%s", fv_last_error());
    return berr(b, b->s->line, "%s", why);
}

static dn_kv *find_kv(const bld *b, const char *key)
{
    for (int i = 0; i < b->s->nkv; i++) {
        dn_kv *kv = &b->c->kv[b->s->first + i];
        if (strcmp(kv->key, key) == 0) {
            kv->used = 1;
            return kv;
        }
    }
    return NULL;
}

/* A whole-string decimal integer (Darknet's atoi would take "3x" as 3; this format does not). */
static bool strict_int(const char *s, long long *out)
{
    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static fv_status get_int(const bld *b, const char *key, int def, int lo, int hi, int *out)
{
    dn_kv *kv = find_kv(b, key);
    long long v;
    *out = def;
    if (!kv)
        return FV_OK;
    if (!strict_int(kv->val, &v) || v < lo || v > hi)
        return berr(b, kv->line, "%s=%.40s: expected an integer in %d..%d", key, kv->val, lo, hi);
    *out = (int)v;
    return FV_OK;
}

static fv_status get_float(const bld *b, const char *key, float def, float *out)
{
    dn_kv *kv = find_kv(b, key);
    *out = def;
    if (!kv)
        return FV_OK;
    char *end;
    errno = 0;
    double v = strtod(kv->val, &end);
    const char *p = kv->val + (*kv->val == '-' || *kv->val == '+');
    if (end == kv->val || *end || errno == ERANGE || !isfinite(v) || !strchr("0123456789.", *p) ||
        strpbrk(kv->val, "xXnN"))
        return berr(b, kv->line, "%s=%.40s: expected a finite number", key, kv->val);
    *out = (float)v;
    return FV_OK;
}

static const char *get_str(const bld *b, const char *key, const char *def, int *line)
{
    dn_kv *kv = find_kv(b, key);
    *line = kv ? kv->line : b->s->line;
    return kv ? kv->val : def;
}

/* Keys that only training uses (augmentation, schedules, losses): accepted and ignored. */
static void ignore(const bld *b, const char *const *keys)
{
    for (int i = 0; keys[i]; i++)
        find_kv(b, keys[i]);
}

/* A key of the section that nothing read is an error. */
static fv_status check_unused(const bld *b)
{
    for (int i = 0; i < b->s->nkv; i++) {
        const dn_kv *kv = &b->c->kv[b->s->first + i];
        if (!kv->used)
            return berr(b, kv->line, "unknown key '%.40s'", kv->key);
    }
    return FV_OK;
}

/* A key that must have a value other than those Darknet's inference ignores. */
static fv_status must_be(const bld *b, const char *key, float want, const char *why)
{
    float v;
    FV_TRY(get_float(b, key, want, &v));
    if (v != want) {
        dn_kv *kv = find_kv(b, key);
        return berr(b, kv->line, "%s=%.40s is not supported (%s)", key, kv->val, why);
    }
    return FV_OK;
}

/* ---------------------------------------------------------------- shapes and small nodes */

/* Node x's shape as Darknet's (c, h, w): a vector is (n, 1, 1). */
static void chw_of(const fv_model *m, int x, int *c, int *h, int *w)
{
    int64_t d[4];
    int nd = fv_node_shape(m, x, d);
    int64_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= d[i];
    *c = nd == 3 ? (int)d[0] : (int)n;
    *h = nd == 3 ? (int)d[1] : 1;
    *w = nd == 3 ? (int)d[2] : 1;
}

static bool is_map(const fv_model *m, int x)
{
    int64_t d[4];
    return fv_node_shape(m, x, d) == 3;
}

static const char *sub(bld *b, const char *suffix)
{
    static _Thread_local char buf[96];
    snprintf(buf, sizeof buf, "%s_%s", b->nm, suffix);
    return buf;
}

/* x as a map (c, h, w): a vector (n) becomes (n, 1, 1). */
static int as_map(bld *b, int x, const char *suffix)
{
    if (is_map(b->m, x))
        return x;
    int c, h, w;
    chw_of(b->m, x, &c, &h, &w);
    return fv_reshape(b->m, x, .ndim = 3, .dims = {c, 1, 1}, .name = sub(b, suffix));
}

/* x as a vector (Darknet's memory order is fovea's: (c, h, w) row-major). */
static int as_vec(bld *b, int x, const char *suffix)
{
    return is_map(b->m, x) ? fv_flatten(b->m, x, .name = sub(b, suffix)) : x;
}

/* scale x + shift per element, as a frozen 1x1 depthwise convolution (exact: one product and one
 * sum). For [crop]'s 2x - 1, a softmax temperature and the ramp activation's 1.1. */
static int affine(bld *b, int x, float scale, float shift, const char *suffix)
{
    int vec = !is_map(b->m, x);
    x = as_map(b, x, "map");
    if (x < 0)
        return -1;
    char name[96];
    snprintf(name, sizeof name, "%s", sub(b, suffix));
    int y = fv_depthwise_conv2d(b->m, x, 1, .kernel = 1, .no_bias = shift == 0,
                                .init = FV_INIT_CONSTANT, .init_value = scale,
                                .bias_init = shift != 0 ? FV_INIT_CONSTANT : FV_INIT_DEFAULT,
                                .bias_value = shift, .name = name);
    if (y < 0 || fv_model_set_trainable(b->m, name, 0) != FV_OK)
        return -1;
    return vec ? as_vec(b, y, "vec") : y;
}

/* The activation `name` after node x (named "<layer>_<activation>"); Darknet's own names. */
static int activate(bld *b, int x, const char *name, int line)
{
    fv_model *m = b->m;
    const char *nm = sub(b, name);
    if (strcmp(name, "linear") == 0)
        return x;
    if (strcmp(name, "relu") == 0)
        return fv_activation(m, x, FV_ACT_RELU, .name = nm);
    if (strcmp(name, "leaky") == 0)
        return fv_activation(m, x, FV_ACT_LEAKY_RELU, .alpha = 0.1f, .name = nm);
    if (strcmp(name, "logistic") == 0)
        return fv_activation(m, x, FV_ACT_SIGMOID, .name = nm);
    if (strcmp(name, "tanh") == 0)
        return fv_activation(m, x, FV_ACT_TANH, .name = nm);
    if (strcmp(name, "elu") == 0)
        return fv_activation(m, x, FV_ACT_ELU, .alpha = 1.0f, .name = nm);
    if (strcmp(name, "ramp") == 0) { /* x (x > 0) + 0.1 x = 1.1 leaky(x, 1/11) */
        int y = fv_activation(m, x, FV_ACT_LEAKY_RELU, .alpha = 1.0f / 11.0f, .name = nm);
        return y < 0 ? -1 : affine(b, y, 1.1f, 0.0f, "ramp_scale");
    }
    berr(b, line, "activation '%.40s' is not supported (linear, relu, leaky, logistic, tanh, elu "
         "or ramp)", name);
    return -2;
}

/* The layer's activation (key `activation`, default def) after x; -1 with the error set. */
static int act_key(bld *b, int x, const char *def)
{
    int line;
    const char *a = get_str(b, "activation", def, &line);
    if (x < 0)
        return -1;
    int y = activate(b, x, a, line);
    if (y == -1)
        lerr(b);
    return y < 0 ? -1 : y;
}

/* ---------------------------------------------------------------- the layers */

/* The tail of [convolutional] and [connected]: after their weight node x (negative: failed),
 * the batch norm when batch_normalize=1, then the activation (logistic unless given). */
static fv_status norm_act(bld *b, dn_layer *L, int x)
{
    if (x >= 0 && L->bn)
        x = L->bnnode = fv_batchnorm(b->m, x, .eps = DN_BN_EPS, .name = sub(b, "bn"));
    if (x < 0)
        return lerr(b);
    L->node = act_key(b, x, "logistic");
    return L->node < 0 ? FV_ERR_INVALID : FV_OK;
}

static fv_status conv_layer(bld *b, dn_layer *L)
{
    static const char *const train_keys[] = {"dot", NULL};
    int pad, padding;
    FV_TRY(get_int(b, "filters", 1, 1, DN_INT_MAX, &L->filters));
    FV_TRY(get_int(b, "size", 1, 1, 1024, &L->size));
    FV_TRY(get_int(b, "stride", 1, 1, 1024, &L->stride));
    FV_TRY(get_int(b, "pad", 0, 0, DN_INT_MAX, &pad));
    FV_TRY(get_int(b, "padding", 0, 0, 1024, &padding));
    FV_TRY(get_int(b, "groups", 1, 1, DN_INT_MAX, &L->groups));
    FV_TRY(get_int(b, "batch_normalize", 0, 0, 1, &L->bn));
    FV_TRY(must_be(b, "binary", 0, "binary weights"));
    FV_TRY(must_be(b, "xnor", 0, "XNOR networks"));
    FV_TRY(must_be(b, "flipped", 0, "transposed weights"));
    ignore(b, train_keys);
    if (pad)
        padding = L->size / 2;
    int x = as_map(b, b->cur, "map");
    if (x >= 0)
        x = L->wnode = fv_conv2d(b->m, x, .filters = L->filters, .kernel = L->size,
                                 .stride = L->stride, .padding = padding, .groups = L->groups,
                                 .no_bias = L->bn, .name = b->nm);
    return norm_act(b, L, x);
}

static fv_status max_layer(bld *b, dn_layer *L)
{
    int padding;
    FV_TRY(get_int(b, "stride", 1, 1, 1024, &L->stride));
    FV_TRY(get_int(b, "size", L->stride, 1, 1024, &L->size));
    FV_TRY(get_int(b, "padding", L->size - 1, 0, 2048, &padding));
    int x = as_map(b, b->cur, "map");
    /* Darknet: out = (in + padding - size) / stride + 1, the window starting padding / 2 before */
    if (x >= 0)
        x = fv_maxpool2d(b->m, x, .size = L->size, .stride = L->stride, .padding = padding / 2,
                         .pad_end = padding % 2, .name = b->nm);
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

static fv_status avg_layer(bld *b, dn_layer *L)
{
    int x = as_map(b, b->cur, "map");
    if (x >= 0)
        x = fv_global_avgpool2d(b->m, x, .name = b->nm);
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

static fv_status connected_layer(bld *b, dn_layer *L)
{
    FV_TRY(get_int(b, "output", 1, 1, 1 << 24, &L->filters));
    FV_TRY(get_int(b, "batch_normalize", 0, 0, 1, &L->bn));
    int x = as_vec(b, b->cur, "flat");
    if (x >= 0)
        x = L->wnode = fv_dense(b->m, x, .units = L->filters, .no_bias = L->bn, .name = b->nm);
    return norm_act(b, L, x);
}

static fv_status dropout_layer(bld *b, dn_layer *L)
{
    FV_TRY(get_float(b, "probability", 0.5f, &L->prob));
    if (!(L->prob >= 0 && L->prob < 1))
        return berr(b, b->s->line, "probability=%g: expected a number in [0, 1)", (double)L->prob);
    L->node = fv_dropout(b->m, b->cur, .rate = L->prob, .name = b->nm);
    return L->node < 0 ? lerr(b) : FV_OK;
}

/* [softmax] tree=FILE: Darknet's word tree, opened as Darknet's read_tree opens it (the path as
 * written: Debian's cfg names /usr/share/darknet/data/9k.tree), one softmax per group of
 * siblings (a segment softmax); the tree's classes must be the c inputs. Its parents are kept
 * for fv_model_darknet_hierarchy. */
static fv_status tree_softmax(bld *b, dn_layer *L, int x, int c, const char *path, int line)
{
    unsigned char *text = NULL;
    size_t len = 0;
    int *parent = NULL, *seg = NULL, n = 0, nseg = 0;
    if (fv_read_file(path, DN_TREE_BYTES, &text, &len) != FV_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", fv_last_error());
        return berr(b, line, "tree: cannot read the word tree (%s)", why);
    }
    fv_status st = fv_darknet_tree_parse((const char *)text, len, path, &parent, &n, &seg, &nseg);
    fv_free(text);
    if (st == FV_OK && n != c)
        st = berr(b, line, "tree: %.200s has %d classes, the layer %d inputs", path, n, c);
    else if (st != FV_OK) {
        char why[400];
        snprintf(why, sizeof why, "%s", fv_last_error());
        st = berr(b, line, "tree: %s", why);
    }
    if (st == FV_OK)
        x = fv_segment_softmax(b->m, x, .nsegments = nseg, .segments = seg, .name = b->nm);
    fv_free(seg);
    if (st == FV_OK && x < 0)
        st = lerr(b);
    if (st != FV_OK) {
        fv_free(parent);
        return st;
    }
    b->net->tree_parent = parent;
    b->net->tree_n = n;
    L->node = x;
    return FV_OK;
}

static fv_status softmax_layer(bld *b, dn_layer *L)
{
    static const char *const train_keys[] = {"noloss", NULL};
    float temp;
    int line;
    FV_TRY(get_int(b, "groups", 1, 1, DN_INT_MAX, &L->groups));
    FV_TRY(get_float(b, "temperature", 1, &temp));
    FV_TRY(must_be(b, "spatial", 0, "a softmax per position"));
    const char *tree = get_str(b, "tree", NULL, &line);
    ignore(b, train_keys);
    if (!(temp > 0))
        return berr(b, b->s->line, "temperature=%g: expected a positive number", (double)temp);
    int x = as_vec(b, b->cur, "flat"), c, h, w;
    if (x < 0)
        return lerr(b);
    chw_of(b->m, x, &c, &h, &w);
    if (!tree && c % L->groups)
        return berr(b, b->s->line, "groups=%d does not divide the %d inputs", L->groups, c);
    if (temp != 1 && (x = affine(b, x, 1.0f / temp, 0.0f, "temperature")) < 0) /* x / T */
        return lerr(b);
    fv_free(b->net->tree_parent); /* Darknet's net->hierarchy: this softmax's tree, or none */
    b->net->tree_parent = NULL;
    b->net->tree_n = 0;
    if (tree) /* its groups= is unused, as in Darknet */
        return tree_softmax(b, L, x, c, tree, line);
    if (L->groups == 1)
        x = fv_activation(b->m, x, FV_ACT_SOFTMAX, .name = b->nm);
    else { /* one softmax per group of consecutive inputs */
        x = fv_reshape(b->m, x, .ndim = 2, .dims = {L->groups, c / L->groups},
                       .name = sub(b, "groups"));
        if (x >= 0)
            x = fv_activation(b->m, x, FV_ACT_SOFTMAX, .name = sub(b, "softmax"));
        if (x >= 0)
            x = fv_flatten(b->m, x, .name = b->nm);
    }
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

/* A layer index of [route] layers= or [shortcut] from=: negative counts back from this layer. */
static fv_status layer_ref(const bld *b, const char *key, const char *s, int line, int *out)
{
    long long v;
    if (!strict_int(s, &v))
        return berr(b, line, "%s=%.40s: expected layer indices (negative: counted back)", key, s);
    long long abs_idx = v < 0 ? b->idx + v : v;
    if (abs_idx < 0 || abs_idx >= b->idx)
        return berr(b, line, "%s: layer %lld is not an earlier layer (this is layer %d)", key,
                    abs_idx, b->idx);
    *out = (int)abs_idx;
    return FV_OK;
}

static fv_status route_layer(bld *b, dn_layer *L)
{
    int line;
    const char *v = get_str(b, "layers", NULL, &line);
    if (!v)
        return berr(b, b->s->line, "missing key 'layers'");
    char buf[512];
    if (strlen(v) >= sizeof buf)
        return berr(b, line, "layers: longer than %zu characters", sizeof buf - 1);
    snprintf(buf, sizeof buf, "%s", v);
    for (char *p = buf, *comma; p; p = comma ? comma + 1 : NULL) {
        comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (L->nroute == DN_MAX_ROUTE)
            return berr(b, line, "layers: more than %d layers", DN_MAX_ROUTE);
        FV_TRY(layer_ref(b, "layers", p, line, &L->route[L->nroute++]));
    }
    int ins[DN_MAX_ROUTE], maps = 0;
    for (int i = 0; i < L->nroute; i++)
        maps += is_map(b->m, b->net->l[L->route[i]].node);
    for (int i = 0; i < L->nroute; i++) {
        const dn_layer *r = &b->net->l[L->route[i]];
        ins[i] = maps ? as_map(b, r->node, "map") : r->node;
        if (ins[i] < 0)
            return lerr(b);
        if (r->out_h != b->net->l[L->route[0]].out_h || r->out_w != b->net->l[L->route[0]].out_w)
            return berr(b, line, "layers: layer %d's %d x %d map does not match layer %d's %d x %d",
                        L->route[i], r->out_w, r->out_h, L->route[0],
                        b->net->l[L->route[0]].out_w, b->net->l[L->route[0]].out_h);
    }
    L->node = L->nroute == 1 ? ins[0] : fv_concat(b->m, L->nroute, ins, .name = b->nm);
    return L->node < 0 ? lerr(b) : FV_OK;
}

/* Channels [lo, hi) of map x (a permutation puts them where cropping2d crops). */
static int channels(bld *b, int x, int lo, int hi, const char *suffix)
{
    int c, h, w;
    chw_of(b->m, x, &c, &h, &w);
    char line[192];
    snprintf(line, sizeof line, "permute dims=2,1,3 name=%s", sub(b, suffix));
    int t = fv_layer_text(b->m, x, line);
    if (t < 0)
        return -1;
    char nm[128];
    snprintf(nm, sizeof nm, "%s_crop", sub(b, suffix));
    t = fv_cropping2d(b->m, t, .top = lo, .bottom = c - hi, .name = nm);
    if (t < 0)
        return -1;
    snprintf(line, sizeof line, "permute dims=2,1,3 name=%s_back", sub(b, suffix));
    return fv_layer_text(b->m, t, line);
}

/* Darknet's shortcut: the previous layer's output plus layer `from`'s, read every stride-th
 * position where `from` is larger, over the channels both have; the previous layer's other
 * channels pass unchanged. */
static fv_status shortcut_layer(bld *b, dn_layer *L)
{
    int line;
    const char *v = get_str(b, "from", NULL, &line);
    if (!v)
        return berr(b, b->s->line, "missing key 'from'");
    FV_TRY(layer_ref(b, "from", v, line, &L->route[0]));
    L->nroute = 1;
    FV_TRY(must_be(b, "alpha", 1, "a scaled sum"));
    FV_TRY(must_be(b, "beta", 1, "a scaled sum"));
    const dn_layer *f = &b->net->l[L->route[0]];
    int c2, h2, w2, prev = as_map(b, b->cur, "map"), from = as_map(b, f->node, "from");
    if (prev < 0 || from < 0)
        return lerr(b);
    chw_of(b->m, prev, &c2, &h2, &w2);
    int stride = f->out_w / w2, c1 = f->out_c;
    if (f->out_w < w2 || f->out_h < h2 || stride != f->out_h / h2 ||
        (f->out_w - 1) / stride + 1 < w2 || (f->out_h - 1) / stride + 1 < h2)
        return berr(b, line, "from: layer %d's %d x %d x %d map cannot be added to %d x %d x %d "
                    "(a smaller or unevenly strided map is not supported)", L->route[0],
                    f->out_w, f->out_h, f->out_c, w2, h2, c2);
    if (stride > 1)
        from = fv_maxpool2d(b->m, from, .size = 1, .stride = stride, .name = sub(b, "stride"));
    int hs = from < 0 ? 0 : (f->out_h - 1) / stride + 1, ws = (f->out_w - 1) / stride + 1;
    if (from >= 0 && (hs > h2 || ws > w2))
        from = fv_cropping2d(b->m, from, .bottom = hs - h2, .right = ws - w2, .name = sub(b, "fit"));
    if (from >= 0 && c1 > c2)
        from = channels(b, from, 0, c2, "from_ch");
    int x = -1;
    if (from >= 0 && c1 >= c2)
        x = fv_add(b->m, 2, ((int[]){prev, from}), .name = b->nm);
    else if (from >= 0) { /* the first c1 channels get the sum, the rest pass */
        int lo = channels(b, prev, 0, c1, "lo"), hi = lo < 0 ? -1 : channels(b, prev, c1, c2, "hi");
        int s = hi < 0 ? -1 : fv_add(b->m, 2, ((int[]){lo, from}), .name = sub(b, "sum"));
        x = s < 0 ? -1 : fv_concat(b->m, 2, ((int[]){s, hi}), .name = b->nm);
    }
    if (x < 0)
        return lerr(b);
    L->node = act_key(b, x, "linear");
    return L->node < 0 ? FV_ERR_INVALID : FV_OK;
}

static fv_status upsample_layer(bld *b, dn_layer *L)
{
    FV_TRY(get_int(b, "stride", 2, -1024, 1024, &L->stride));
    FV_TRY(must_be(b, "scale", 1, "a scaled output"));
    if (L->stride < 1)
        return berr(b, b->s->line, "stride=%d: only upsampling (stride >= 1) is supported",
                    L->stride);
    int x = as_map(b, b->cur, "map");
    if (x >= 0)
        x = fv_upsample2d(b->m, x, .size = L->stride, .name = b->nm);
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

/* [crop] at test time: the centre crop_height x crop_width, then 2x - 1 (x with noadjust=1). */
static fv_status crop_layer(bld *b, dn_layer *L)
{
    static const char *const train_keys[] = {"flip", "angle", "saturation", "exposure", "shift",
                                             NULL};
    int ch, cw, noadjust, c, h, w;
    FV_TRY(get_int(b, "crop_height", 1, 1, DN_INT_MAX, &ch));
    FV_TRY(get_int(b, "crop_width", 1, 1, DN_INT_MAX, &cw));
    FV_TRY(get_int(b, "noadjust", 0, 0, 1, &noadjust));
    ignore(b, train_keys);
    if (!is_map(b->m, b->cur))
        return berr(b, b->s->line, "a crop layer needs an image input");
    chw_of(b->m, b->cur, &c, &h, &w);
    if (ch > h || cw > w)
        return berr(b, b->s->line, "a %d x %d crop does not fit the %d x %d input", ch, cw, h, w);
    int dh = (h - ch) / 2, dw = (w - cw) / 2;
    int x = fv_cropping2d(b->m, b->cur, .top = dh, .bottom = h - ch - dh, .left = dw,
                          .right = w - cw - dw, .name = b->nm);
    if (x >= 0 && !noadjust)
        x = affine(b, x, 2.0f, -1.0f, "adjust");
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

/* [reorg] with extra=N (go.cfg's policy head): Darknet's output is the flattened input followed by
 * N zeros (its buffer is calloc'd and only the input is copied in), so a following softmax runs
 * over inputs + N values. Built as a reshape to one row, a constant zero padding of N cells on
 * its right and a flatten: exact. The space-to-depth reorg (no extra) is not built. */
static fv_status reorg_layer(bld *b, dn_layer *L)
{
    int reverse, flatten;
    FV_TRY(get_int(b, "stride", 1, 1, 1024, &L->stride));
    FV_TRY(get_int(b, "reverse", 0, 0, 1, &reverse));
    FV_TRY(get_int(b, "flatten", 0, 0, 1, &flatten));
    FV_TRY(get_int(b, "extra", 0, 0, DN_INT_MAX, &L->extra));
    if (flatten)
        return berr(b, b->s->line, "flatten=1 (a transposing reorg) is not supported");
    if (!L->extra)
        return berr(b, b->s->line, "a reorg without extra (space to depth) is not supported");
    int n = L->in_c * L->in_h * L->in_w;
    int x = fv_reshape(b->m, b->cur, .ndim = 3, .dims = {1, 1, n}, .name = sub(b, "row"));
    if (x >= 0)
        x = fv_zero_padding2d(b->m, x, .right = L->extra, .name = sub(b, "extra"));
    if (x >= 0)
        x = fv_flatten(b->m, x, .name = b->nm);
    L->node = x;
    return x < 0 ? lerr(b) : FV_OK;
}

static fv_status cost_layer(bld *b, dn_layer *L)
{
    static const char *const train_keys[] = {"type", "scale", "ratio", "noobj", "thresh", NULL};
    ignore(b, train_keys);
    L->node = b->cur; /* a loss: inference passes its input on */
    return FV_OK;
}

typedef struct dn_kind_def {
    const char *section, *node;
    dn_kind kind;
    fv_status (*build)(bld *, dn_layer *);
} dn_kind_def;

static const dn_kind_def kinds[] = {
    {"convolutional", "conv", DN_CONV, conv_layer},   {"conv", "conv", DN_CONV, conv_layer},
    {"maxpool", "max", DN_MAX, max_layer},            {"max", "max", DN_MAX, max_layer},
    {"avgpool", "avg", DN_AVG, avg_layer},            {"avg", "avg", DN_AVG, avg_layer},
    {"connected", "fc", DN_CONNECTED, connected_layer}, {"conn", "fc", DN_CONNECTED, connected_layer},
    {"dropout", "dropout", DN_DROPOUT, dropout_layer}, {"softmax", "softmax", DN_SOFTMAX, softmax_layer},
    {"soft", "softmax", DN_SOFTMAX, softmax_layer},   {"route", "route", DN_ROUTE, route_layer},
    {"shortcut", "res", DN_SHORTCUT, shortcut_layer}, {"upsample", "upsample", DN_UPSAMPLE, upsample_layer},
    {"crop", "crop", DN_CROP, crop_layer},            {"cost", "cost", DN_COST, cost_layer},
    {"reorg", "reorg", DN_REORG, reorg_layer},
};

/* Darknet's other sections: known, not built here. */
static const char *const detection[] = {"region", "yolo", "detection", NULL};
static const char *const other[] = {
    "local", "rnn", "gru", "lstm", "crnn", "deconvolutional", "deconv", "normalization",
    "lrn", "batchnorm", "activation", "logistic", "l2norm", "iseg", "xor", "network", "net", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static fv_status net_section(bld *b)
{
    static const char *const train_keys[] = {
        "batch", "subdivisions", "learning_rate", "momentum", "decay", "time_steps", "notruth",
        "random", "adam", "B1", "B2", "eps", "max_crop", "min_crop", "max_ratio", "min_ratio",
        "center", "clip", "angle", "aspect", "saturation", "exposure", "hue", "policy", "burn_in",
        "power", "step", "scale", "steps", "scales", "gamma", "max_batches", "seen", NULL};
    int w, h, c, inputs;
    b->idx = -1;
    FV_TRY(get_int(b, "width", 0, 0, DN_INT_MAX, &w));
    FV_TRY(get_int(b, "height", 0, 0, DN_INT_MAX, &h));
    FV_TRY(get_int(b, "channels", 0, 0, DN_INT_MAX, &c));
    FV_TRY(get_int(b, "inputs", 0, 0, 1 << 30, &inputs));
    ignore(b, train_keys);
    FV_TRY(check_unused(b));
    if (!w || !h || !c)
        return berr(b, b->s->line, "width, height and channels are needed (a network of "
                    "images; inputs= alone is a recurrent network's)");
    if (inputs && (int64_t)inputs != (int64_t)w * h * c)
        return berr(b, b->s->line, "inputs=%d is not width x height x channels", inputs);
    b->cur = fv_input(b->m, .ndim = 3, .dims = {c, h, w}, .name = "input");
    return b->cur < 0 ? lerr(b) : FV_OK;
}

static fv_status layer_section(bld *b)
{
    const dn_kind_def *k = NULL;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].section, b->s->name) == 0)
            k = &kinds[i];
    if (!k && in_list(detection, b->s->name))
        return berr(b, b->s->line, "a detection layer; fovea builds classification networks "
                    "only (detection is not supported yet)");
    if (!k && in_list(other, b->s->name))
        return berr(b, b->s->line, "this Darknet layer is not supported");
    if (!k)
        return berr(b, b->s->line, "unknown section");
    if (b->idx >= DN_MAX_LAYERS)
        return berr(b, b->s->line, "more than %d layers", DN_MAX_LAYERS);
    dn_layer *L = &b->net->l[b->idx];
    *L = (dn_layer){.kind = k->kind, .wnode = -1, .bnnode = -1, .node = -1};
    chw_of(b->m, b->cur, &L->in_c, &L->in_h, &L->in_w);
    snprintf(b->nm, sizeof b->nm, "%s_%d", k->node, b->idx);
    FV_TRY(k->build(b, L));
    FV_TRY(check_unused(b));
    chw_of(b->m, L->node, &L->out_c, &L->out_h, &L->out_w);
    b->cur = L->node;
    b->net->n = b->idx + 1;
    return FV_OK;
}

static void net_free(void *p)
{
    dn_net *n = p;
    if (n)
        fv_free(n->l), fv_free(n->tree_parent);
    fv_free(n);
}

const dn_net *fv_darknet_net(const fv_model *m)
{
    return m && m->ext_free == net_free ? m->ext : NULL;
}

int fv_model_is_darknet(const fv_model *m) { return fv_darknet_net(m) != NULL; }

/* The file's base name without ".cfg", or "darknet". */
static void model_name(const char *file, char *out, size_t cap)
{
    size_t n;
    const char *base = fv_file_stem(file, ".cfg", &n);
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), base);
    if (!n || !fv_utf8_valid(out, false) || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, cap, "darknet");
}

static fv_status build_all(dn_cfg *c, fv_model *m)
{
    dn_net *net = fv_malloc(sizeof *net, "Darknet");
    if (!net)
        return fv_err(FV_ERR_NOMEM, "%s: out of memory", c->file);
    net->n = 0;
    net->tree_parent = NULL;
    net->tree_n = 0;
    net->l = fv_malloc(sizeof(dn_layer) * (size_t)(c->nsec > 1 ? c->nsec - 1 : 1), "Darknet");
    m->ext = net;
    m->ext_free = net_free;
    if (!net->l)
        return fv_err(FV_ERR_NOMEM, "%s: out of memory", c->file);
    bld b = {.c = c, .m = m, .net = net, .s = &c->sec[0]};
    FV_TRY(net_section(&b));
    for (int i = 1; i < c->nsec; i++) {
        b.s = &c->sec[i];
        b.idx = i - 1;
        FV_TRY(layer_section(&b));
    }
    if (!net->n)
        return cerr(c, c->sec[0].line, "no layers after [net]");
    return FV_OK;
}

fv_model *fv_model_parse_darknet(const char *text, size_t len, const char *filename)
{
    const char *file = filename ? filename : "<cfg>";
    if (!text) {
        fv_err(FV_ERR_INVALID, "%s: no Darknet cfg text (NULL)", file);
        return NULL;
    }
    if (len > DN_FILE_MAX) {
        fv_err(FV_ERR_FORMAT, "%s: larger than %u MiB (not a Darknet cfg)", file,
               DN_FILE_MAX >> 20);
        return NULL;
    }
    char name[FV_NAME_LEN];
    model_name(file, name, sizeof name);
    dn_cfg c = {.file = file};
    fv_model *m = NULL;
    fv_status s = cfg_read(&c, text, len);
    if (s == FV_OK && !(m = fv_model_new(name)))
        s = FV_ERR_NOMEM;
    if (s == FV_OK)
        s = build_all(&c, m);
    cfg_free(&c);
    if (s != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static fv_model *parse_bytes(const void *data, size_t len, const char *name)
{
    return fv_model_parse_darknet(data, len, name);
}

fv_model *fv_model_load_darknet(const char *cfg_path)
{
    return fv_model_load_with(cfg_path, "fv_model_load_darknet", DN_FILE_MAX, parse_bytes);
}

int fv_darknet_text(const char *text, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    for (;;) { /* skip blank lines and comments */
        while (i < len && strchr(" \t\r\n\v\f", text[i]) && text[i])
            i++;
        if (i < len && (text[i] == '#' || text[i] == ';')) {
            while (i < len && text[i] != '\n')
                i++;
            continue;
        }
        break;
    }
    return (len - i >= 5 && memcmp(text + i, "[net]", 5) == 0) ||
           (len - i >= 9 && memcmp(text + i, "[network]", 9) == 0);
}
