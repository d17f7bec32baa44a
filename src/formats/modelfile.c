/* modelfile.c - the model text format (models/NAME.fv, see docs/model-format.md): one layer per
 * line with Keras layer names and key=value arguments. Owns fv_model_parse (text to model through
 * the public layer functions) and fv_model_load_file. Every error is one line "<file>:<line>:
 * <problem>"; the partially built model is freed. */
#include "io/io.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define MF_LINE_MAX 1024         /* characters in one line, newline excluded */
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

typedef struct name_list {
    int n;
    const char *v[FV_MAX_IN];
} name_list;

typedef struct shape_arg {
    int ndim;
    int64_t dims[4];
} shape_arg;

/* Everything one line can set; zero means "not given" (the layer functions' defaults). */
typedef struct line_vals {
    int filters, units, groups, stride, dilation, no_bias, axis, pool_padding;
    int kernel[2];  /* kernel_size: H, W */
    int pool[2];    /* pool_size: H, W */
    int padding[2]; /* conv padding: N, same */
    fv_act act;
    float rate, momentum, eps, alpha, beta, k, l1, l2, max_norm, power;
    int lrn_size, output_padding, bilinear, pieces, shared, ceil_mode, exclude_pad, depth_mult;
    int sides[4]; /* zero padding / cropping: top, bottom, left, right */
    int frac_kernel[2], out_size[2], random; /* fractional max pooling */
    double ratio[2];
    shape_arg shape;
    const char *name;
    name_list inputs;
} line_vals;

/* Each parser stores a value into its field and returns NULL, or returns what was expected. */
typedef const char *(*value_parser)(void *field, char *s);

static const char *p_positive(void *field, char *s)
{
    long long v;
    if (!parse_int(s, 1, INT_MAX, &v))
        return "expected a positive integer";
    *(int *)field = (int)v;
    return NULL;
}

static const char *p_pair(void *field, char *s)
{
    char *parts[2];
    int n = split_list(s, parts, 2);
    long long h, w;
    if (n < 1 || !parse_int(parts[0], 1, INT_MAX, &h) ||
        !parse_int(parts[n - 1], 1, INT_MAX, &w))
        return "expected N or H,W (positive integers)";
    ((int *)field)[0] = (int)h;
    ((int *)field)[1] = (int)w;
    return NULL;
}

/* Strides and dilation: N, or N,N with equal values (one value serves both axes). */
static const char *p_square(void *field, char *s)
{
    int hw[2];
    if (p_pair(hw, s) || hw[0] != hw[1])
        return "expected a positive integer N (or N,N with equal values)";
    *(int *)field = hw[0];
    return NULL;
}

static const char *p_conv_padding(void *field, char *s)
{
    int *pad = field; /* pad[0]: zero padding, pad[1]: same */
    long long v;
    if (ci_eq(s, "valid"))
        pad[0] = pad[1] = 0;
    else if (ci_eq(s, "same"))
        pad[0] = 0, pad[1] = 1;
    else if (parse_int(s, 0, INT_MAX, &v))
        pad[0] = (int)v, pad[1] = 0;
    else
        return "expected valid, same or an integer >= 0";
    return NULL;
}

static const char *p_pool_padding(void *field, char *s)
{
    long long v;
    if (ci_eq(s, "valid"))
        v = 0;
    else if (!parse_int(s, 0, INT_MAX, &v))
        return "expected valid or an integer >= 0";
    *(int *)field = (int)v;
    return NULL;
}

static const char *p_use_bias(void *field, char *s)
{
    if (ci_eq(s, "true") || strcmp(s, "1") == 0)
        *(int *)field = 0;
    else if (ci_eq(s, "false") || strcmp(s, "0") == 0)
        *(int *)field = 1;
    else
        return "expected true or false";
    return NULL;
}

static const char *p_activation(void *field, char *s)
{
    for (int i = 0; i < FV_ACT__COUNT; i++)
        if (ci_eq(s, fv_act_name((fv_act)i))) {
            *(fv_act *)field = (fv_act)i;
            return NULL;
        }
    if (!ci_eq(s, "none"))
        return "unknown activation (expected linear, relu, sigmoid, tanh, softmax, leaky_relu, "
               "elu, selu, gelu, silu, softplus, hard_sigmoid, hard_swish, relu6 or log_softmax)";
    *(fv_act *)field = FV_ACT_NONE;
    return NULL;
}

static const char *p_axis(void *field, char *s)
{
    long long v;
    if (!parse_int(s, -4, 3, &v))
        return "expected an integer axis in -4..3";
    *(int *)field = (int)v;
    return NULL;
}

static const char *p_name(void *field, char *s)
{
    if (!*s || strchr(s, ','))
        return "expected a name without ','";
    if (!fv_utf8_valid(s, false))
        return "a name must be UTF-8 text without control characters";
    *(const char **)field = s;
    return NULL;
}

static const char *p_inputs(void *field, char *s)
{
    name_list *l = field;
    char *parts[FV_MAX_IN];
    int n = split_list(s, parts, FV_MAX_IN);
    if (n < 1)
        return "expected a,b,... naming 1 to 8 earlier layers";
    l->n = n;
    for (int i = 0; i < n; i++)
        l->v[i] = parts[i];
    return NULL;
}

/* 1 to 4 integers, each >= 1 or (where allow_infer) -1 at most once. */
static bool parse_shape(shape_arg *out, char *s, bool allow_infer)
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
        out->dims[i] = v;
    }
    out->ndim = n;
    return inferred <= 1;
}

static const char *p_shape(void *field, char *s)
{
    return parse_shape(field, s, false) ? NULL : "expected 1 to 4 positive integers, e.g. C,H,W";
}

static const char *p_target_shape(void *field, char *s)
{
    return parse_shape(field, s, true)
               ? NULL
               : "expected 1 to 4 positive integers, one of which may be -1";
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

static const char *p_rate(void *field, char *s)
{
    return parse_float_in(s, 0, true, 1, false, field) ? NULL : "expected a number in [0, 1)";
}

static const char *p_momentum(void *field, char *s)
{
    return parse_float_in(s, 0, false, 1, true, field) ? NULL : "expected a number in (0, 1]";
}

/* Keras's momentum is the weight of the old running value: PyTorch's is 1 minus it. */
static const char *p_keras_momentum(void *field, char *s)
{
    float k;
    if (!parse_float_in(s, 0, true, 1, false, &k) || !(1.0f - k > 0.0f))
        return "expected a number in [0, 1)";
    *(float *)field = 1.0f - k;
    return NULL;
}

static const char *p_epsilon(void *field, char *s)
{
    return parse_float_in(s, 0, false, HUGE_VAL, true, field)
               ? NULL
               : "expected a positive number that is finite as a float (below 3.4e38)";
}

static const char *p_nonneg(void *field, char *s)
{
    long long v;
    if (!parse_int(s, 0, INT_MAX, &v))
        return "expected an integer >= 0";
    *(int *)field = (int)v;
    return NULL;
}

static const char *p_interpolation(void *field, char *s)
{
    if (ci_eq(s, "nearest") || ci_eq(s, "bilinear")) {
        *(int *)field = ci_eq(s, "bilinear");
        return NULL;
    }
    return "expected nearest or bilinear";
}

/* N (every side), V,H (top and bottom, left and right) or T,B,L,R. */
static const char *p_sides(void *field, char *s)
{
    char *parts[4];
    long long v[4];
    int n = split_list(s, parts, 4), *out = field;
    if (n != 1 && n != 2 && n != 4)
        return "expected N, V,H or T,B,L,R (integers >= 0)";
    for (int i = 0; i < n; i++)
        if (!parse_int(parts[i], 0, 1 << 20, &v[i]))
            return "expected N, V,H or T,B,L,R (integers >= 0)";
    for (int i = 0; i < 4; i++)
        out[i] = (int)(n == 1 ? v[0] : n == 2 ? v[i / 2] : v[i]);
    return NULL;
}

static const char *p_bool(void *field, char *s)
{
    if (ci_eq(s, "true") || strcmp(s, "1") == 0)
        *(int *)field = 1;
    else if (ci_eq(s, "false") || strcmp(s, "0") == 0)
        *(int *)field = 0;
    else
        return "expected true or false";
    return NULL;
}

/* N or H,W, integers >= 0 (fractional pooling's window; 0: disjoint regions). */
static const char *p_pair_nonneg(void *field, char *s)
{
    char *parts[2];
    int n = split_list(s, parts, 2);
    long long h, w;
    if (n < 1 || !parse_int(parts[0], 0, INT_MAX, &h) || !parse_int(parts[n - 1], 0, INT_MAX, &w))
        return "expected N or H,W (integers >= 0)";
    ((int *)field)[0] = (int)h;
    ((int *)field)[1] = (int)w;
    return NULL;
}

/* R or RH,RW, each in (0, 1), kept in double (the output is floor(in * R), as in PyTorch). */
static const char *p_ratio(void *field, char *s)
{
    char *parts[2];
    int n = split_list(s, parts, 2);
    double r[2];
    for (int i = 0; i < 2; i++)
        if (n < 1 || !parse_num(parts[i < n ? i : 0], &r[i]) || !(r[i] > 0 && r[i] < 1))
            return "expected R or RH,RW, numbers in (0, 1)";
    ((double *)field)[0] = r[0];
    ((double *)field)[1] = r[1];
    return NULL;
}

static const char *p_sequence(void *field, char *s)
{
    if (!ci_eq(s, "pseudorandom") && !ci_eq(s, "random"))
        return "expected pseudorandom or random";
    *(int *)field = ci_eq(s, "random");
    return NULL;
}

static const char *p_alpha(void *field, char *s)
{
    return parse_float_in(s, 0, true, HUGE_VAL, true, field)
               ? NULL
               : "expected a non-negative number that is finite as a float (below 3.4e38)";
}

/* ---------------------------------------------------------------- argument table */

typedef enum arg_id {
    A_NAME, A_INPUTS, A_FILTERS, A_KERNEL, A_STRIDES, A_PADDING, A_POOL_PADDING, A_DILATION,
    A_GROUPS, A_USE_BIAS, A_ACTIVATION, A_UNITS, A_POOL_SIZE, A_SHAPE, A_TARGET_SHAPE, A_AXIS,
    A_RATE, A_MOMENTUM, A_KERAS_MOMENTUM, A_EPSILON, A_ALPHA, A_LRN_SIZE, A_BETA, A_K, A_OUTPUT_PADDING, A_INTERPOLATION, A_SIDES_PAD, A_SIDES_CROP,
    A_L1, A_L2, A_MAX_NORM, A_PIECES, A_SHARED, A_CEIL, A_INCLUDE_PAD, A_DEPTH_MULT, A_POWER,
    A_FRAC_KERNEL, A_OUTPUT_SIZE, A_OUTPUT_RATIO, A_SEQUENCE, A__COUNT
} arg_id;
_Static_assert(A__COUNT <= 64, "a layer's allowed arguments are bits of a uint64_t");

#define BIT(a) ((uint64_t)1 << (a))

typedef struct arg_def {
    const char *key, *alias;
    value_parser parse;
    size_t off; /* of the field in line_vals */
} arg_def;

#define ARG(key, alias, fn, field) {key, alias, fn, offsetof(line_vals, field)}
static const arg_def arg_defs[A__COUNT] = {
    [A_NAME] = ARG("name", NULL, p_name, name),
    [A_INPUTS] = ARG("inputs", NULL, p_inputs, inputs),
    [A_FILTERS] = ARG("filters", NULL, p_positive, filters),
    [A_KERNEL] = ARG("kernel_size", "kernel", p_pair, kernel),
    [A_STRIDES] = ARG("strides", "stride", p_square, stride),
    [A_PADDING] = ARG("padding", NULL, p_conv_padding, padding),
    [A_POOL_PADDING] = ARG("padding", NULL, p_pool_padding, pool_padding),
    [A_DILATION] = ARG("dilation_rate", "dilation", p_square, dilation),
    [A_GROUPS] = ARG("groups", NULL, p_positive, groups),
    [A_USE_BIAS] = ARG("use_bias", NULL, p_use_bias, no_bias),
    [A_ACTIVATION] = ARG("activation", NULL, p_activation, act),
    [A_UNITS] = ARG("units", NULL, p_positive, units),
    [A_POOL_SIZE] = ARG("pool_size", "size", p_pair, pool),
    [A_SHAPE] = ARG("shape", "input_shape", p_shape, shape),
    [A_TARGET_SHAPE] = ARG("target_shape", "shape", p_target_shape, shape),
    [A_AXIS] = ARG("axis", NULL, p_axis, axis),
    [A_RATE] = ARG("rate", NULL, p_rate, rate),
    [A_MOMENTUM] = ARG("momentum", NULL, p_momentum, momentum),
    [A_KERAS_MOMENTUM] = ARG("keras_momentum", NULL, p_keras_momentum, momentum),
    [A_EPSILON] = ARG("epsilon", "eps", p_epsilon, eps),
    [A_ALPHA] = ARG("alpha", "negative_slope", p_alpha, alpha),
    [A_LRN_SIZE] = ARG("size", "depth", p_positive, lrn_size),
    [A_BETA] = ARG("beta", NULL, p_epsilon, beta),
    [A_K] = ARG("k", "bias", p_epsilon, k),
    [A_OUTPUT_PADDING] = ARG("output_padding", NULL, p_nonneg, output_padding),
    [A_INTERPOLATION] = ARG("interpolation", NULL, p_interpolation, bilinear),
    [A_SIDES_PAD] = ARG("padding", NULL, p_sides, sides),
    [A_SIDES_CROP] = ARG("cropping", NULL, p_sides, sides),
    [A_L1] = ARG("l1", "kernel_l1", p_alpha, l1),
    [A_L2] = ARG("l2", "kernel_l2", p_alpha, l2),
    [A_MAX_NORM] = ARG("max_norm", NULL, p_alpha, max_norm),
    [A_PIECES] = ARG("pieces", "k", p_positive, pieces),
    [A_SHARED] = ARG("shared", NULL, p_bool, shared),
    [A_CEIL] = ARG("ceil_mode", NULL, p_bool, ceil_mode),
    [A_DEPTH_MULT] = ARG("depth_multiplier", NULL, p_positive, depth_mult),
    [A_POWER] = ARG("power", "norm_type", p_epsilon, power),
    [A_FRAC_KERNEL] = ARG("kernel_size", "pool_size", p_pair_nonneg, frac_kernel),
    [A_OUTPUT_SIZE] = ARG("output_size", NULL, p_pair, out_size),
    [A_OUTPUT_RATIO] = ARG("output_ratio", NULL, p_ratio, ratio),
    [A_SEQUENCE] = ARG("sequence", NULL, p_sequence, random),
    /* p_use_bias stores the negation: count_include_pad=false sets exclude_pad */
    [A_INCLUDE_PAD] = ARG("count_include_pad", NULL, p_use_bias, exclude_pad),
};

/* ---------------------------------------------------------------- layer table */

struct layer_def;
/* Adds the layer reading ins[0..nin); returns the node id or -1 with fv_last_error set. */
typedef int (*layer_builder)(fv_model *m, const line_vals *v, const int *ins, int nin,
                             const struct layer_def *d);

typedef struct layer_def {
    const char *names[3]; /* the canonical name first, then Keras class names */
    uint64_t allowed, required;
    bool multi; /* reads 2..FV_MAX_IN inputs (add, concat) */
    fv_act act; /* the activation of relu/sigmoid/tanh/softmax lines */
    layer_builder build;
} layer_def;

static int b_input(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)ins, (void)nin, (void)d;
    fv_input_args a = {.ndim = v->shape.ndim, .name = v->name};
    memcpy(a.dims, v->shape.dims, sizeof a.dims);
    return fv_input_(m, a);
}

static int b_conv2d(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_conv2d_(m, ins[0],
                      (fv_conv2d_args){.filters = v->filters, .kernel_h = v->kernel[0],
                                       .kernel_w = v->kernel[1], .stride = v->stride,
                                       .padding = v->padding[0], .same = v->padding[1],
                                       .dilation = v->dilation, .groups = v->groups,
                                       .no_bias = v->no_bias, .activation = v->act,
                                       .name = v->name, .l1 = v->l1, .l2 = v->l2,
                                       .max_norm = v->max_norm});
}

static fv_conv2d_args conv_args(const line_vals *v)
{
    return (fv_conv2d_args){.filters = v->filters, .kernel_h = v->kernel[0],
                            .kernel_w = v->kernel[1], .stride = v->stride,
                            .padding = v->padding[0], .same = v->padding[1],
                            .dilation = v->dilation, .no_bias = v->no_bias, .activation = v->act,
                            .name = v->name, .l1 = v->l1, .l2 = v->l2, .max_norm = v->max_norm};
}

static int b_depthwise(fv_model *m, const line_vals *v, const int *ins, int nin,
                       const layer_def *d)
{
    (void)nin;
    if (strcmp(d->names[0], "depthwise_conv2d") == 0)
        return fv_depthwise_conv2d_(m, ins[0], conv_args(v), v->depth_mult);
    return fv_separable_conv2d_(m, ins[0], conv_args(v), v->depth_mult);
}

static int b_conv2d_transpose(fv_model *m, const line_vals *v, const int *ins, int nin,
                              const layer_def *d)
{
    (void)nin, (void)d;
    if (v->padding[1]) {
        fv_err(FV_ERR_INVALID, "padding=same: give a transposed convolution's padding as a number");
        return -1;
    }
    return fv_conv2d_transpose_(
        m, ins[0],
        (fv_conv2d_transpose_args){.filters = v->filters, .kernel_h = v->kernel[0],
                                   .kernel_w = v->kernel[1], .stride = v->stride,
                                   .padding = v->padding[0], .output_padding = v->output_padding,
                                   .dilation = v->dilation, .groups = v->groups,
                                   .no_bias = v->no_bias, .activation = v->act, .name = v->name});
}

static int b_dense(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_dense_(m, ins[0],
                     (fv_dense_args){.units = v->units, .no_bias = v->no_bias,
                                     .activation = v->act, .name = v->name, .l1 = v->l1,
                                     .l2 = v->l2, .max_norm = v->max_norm});
}

static fv_pool2d_args pool_args(const line_vals *v)
{
    return (fv_pool2d_args){.size_h = v->pool[0], .size_w = v->pool[1], .stride = v->stride,
                            .padding = v->pool_padding, .name = v->name,
                            .ceil_mode = v->ceil_mode, .exclude_pad = v->exclude_pad};
}

static int b_unpool(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)d;
    if (nin != 2) {
        fv_err(FV_ERR_INVALID, "maxunpool2d takes inputs=VALUES,MAXPOOL (2 inputs), got %d", nin);
        return -1;
    }
    return fv_maxunpool2d_(m, ins[0], ins[1], v->name);
}

static int b_lppool(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_lppool2d_(m, ins[0], v->power != 0 ? v->power : 2.0f, pool_args(v));
}

static int b_fracpool(fv_model *m, const line_vals *v, const int *ins, int nin,
                      const layer_def *d)
{
    (void)nin, (void)d;
    return fv_fractional_maxpool2d_(
        m, ins[0],
        (fv_fracpool_args){.size_h = v->frac_kernel[0], .size_w = v->frac_kernel[1],
                           .output_h = v->out_size[0], .output_w = v->out_size[1],
                           .ratio_h = v->ratio[0], .ratio_w = v->ratio[1], .random = v->random,
                           .name = v->name});
}

static int b_adaptive(fv_model *m, const line_vals *v, const int *ins, int nin,
                      const layer_def *d)
{
    (void)nin, (void)d;
    return fv_adaptive_avgpool2d_(m, ins[0],
                                  (fv_adaptive_args){.output_h = v->out_size[0],
                                                     .output_w = v->out_size[1], .name = v->name});
}

static int b_maxpool(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_maxpool2d_(m, ins[0], pool_args(v));
}

static int b_avgpool(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_avgpool2d_(m, ins[0], pool_args(v));
}

/* `activation activation=X` and the one-activation layers (relu, sigmoid, tanh, softmax). */
static int b_activation(fv_model *m, const line_vals *v, const int *ins, int nin,
                        const layer_def *d)
{
    (void)nin;
    fv_act act = d->act != FV_ACT_NONE ? d->act : v->act;
    if (act == FV_ACT_NONE) {
        fv_err(FV_ERR_INVALID, "activation=%s: the activation layer needs a non-linear "
               "activation", fv_act_name(act));
        return -1;
    }
    return fv_activation_(m, ins[0], act, (fv_layer_args){.name = v->name, .alpha = v->alpha});
}

static int b_global_avgpool(fv_model *m, const line_vals *v, const int *ins, int nin,
                            const layer_def *d)
{
    (void)nin, (void)d;
    return fv_global_avgpool2d_(m, ins[0], (fv_layer_args){.name = v->name});
}

static int b_global_maxpool(fv_model *m, const line_vals *v, const int *ins, int nin,
                            const layer_def *d)
{
    (void)nin, (void)d;
    return fv_global_maxpool2d_(m, ins[0], (fv_layer_args){.name = v->name});
}

static int b_lrn(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_lrn_(m, ins[0], (fv_lrn_args){.size = v->lrn_size, .alpha = v->alpha,
                                            .beta = v->beta, .k = v->k, .name = v->name});
}

static int b_upsample(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_upsample2d_(m, ins[0], (fv_upsample_args){.size_h = v->pool[0] ? v->pool[0] : 2,
                                                        .size_w = v->pool[1] ? v->pool[1] : 2,
                                                        .bilinear = v->bilinear, .name = v->name});
}

static int b_pad_crop(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin;
    fv_pad_args a = {.top = v->sides[0], .bottom = v->sides[1], .left = v->sides[2],
                     .right = v->sides[3], .all = 0, .name = v->name};
    bool crop = strcmp(d->names[0], "cropping2d") == 0;
    if (!crop && !(v->sides[0] | v->sides[1] | v->sides[2] | v->sides[3]))
        a.all = 1; /* Keras' default padding=1 */
    return crop ? fv_cropping2d_(m, ins[0], a) : fv_zero_padding2d_(m, ins[0], a);
}

static int b_norm(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin;
    fv_norm_args a = {.groups = v->groups, .eps = v->eps, .name = v->name};
    if (strcmp(d->names[0], "group_norm") == 0)
        return fv_group_norm_(m, ins[0], a);
    return strcmp(d->names[0], "layer_norm") == 0 ? fv_layer_norm_(m, ins[0], a)
                                                  : fv_instance_norm_(m, ins[0], a);
}

static int b_prelu(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin;
    fv_prelu_args a = {.shared = v->shared, .pieces = v->pieces, .name = v->name};
    return strcmp(d->names[0], "prelu") == 0 ? fv_prelu_(m, ins[0], a) : fv_maxout_(m, ins[0], a);
}

static int b_flatten(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_flatten_(m, ins[0], (fv_layer_args){.name = v->name});
}

static int b_reshape(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    fv_reshape_args a = {.ndim = v->shape.ndim, .name = v->name};
    memcpy(a.dims, v->shape.dims, sizeof a.dims);
    return fv_reshape_(m, ins[0], a);
}

static int b_add(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)d;
    return fv_add_(m, nin, ins, (fv_layer_args){.name = v->name});
}

/* A negative axis counts from the end of the first input's shape, as in Keras and NumPy. */
static int b_concat(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)d;
    int64_t dims[4];
    int ndim = fv_node_shape(m, ins[0], dims), axis = v->axis < 0 ? v->axis + ndim : v->axis;
    if (axis < 0 || axis >= ndim) {
        fv_err(FV_ERR_SHAPE, "layer '%s': axis=%d is out of range for inputs of %d dimensions",
               v->name ? v->name : "concat", v->axis, ndim);
        return -1;
    }
    return fv_concat_(m, nin, ins, (fv_concat_args){.axis = axis, .name = v->name});
}

static int b_dropout(fv_model *m, const line_vals *v, const int *ins, int nin, const layer_def *d)
{
    (void)nin, (void)d;
    return fv_dropout_(m, ins[0], (fv_dropout_args){.rate = v->rate, .name = v->name,
                                                    .spatial = d->names[0][0] == 's'});
}

static int b_batchnorm(fv_model *m, const line_vals *v, const int *ins, int nin,
                       const layer_def *d)
{
    (void)nin, (void)d;
    return fv_batchnorm_(m, ins[0], (fv_batchnorm_args){.momentum = v->momentum, .eps = v->eps,
                                                        .name = v->name});
}

#define ONE (BIT(A_NAME) | BIT(A_INPUTS))
#define REG_ARGS (BIT(A_L1) | BIT(A_L2) | BIT(A_MAX_NORM))
#define CONV_ARGS                                                                        \
    (BIT(A_FILTERS) | BIT(A_KERNEL) | BIT(A_STRIDES) | BIT(A_PADDING) | BIT(A_DILATION) | \
     BIT(A_GROUPS) | BIT(A_USE_BIAS) | BIT(A_ACTIVATION) | REG_ARGS)
#define POOL_ARGS (BIT(A_POOL_SIZE) | BIT(A_STRIDES) | BIT(A_POOL_PADDING) | BIT(A_CEIL))
#define BN_ARGS (BIT(A_MOMENTUM) | BIT(A_KERAS_MOMENTUM) | BIT(A_EPSILON))

static const layer_def layer_defs[] = {
    {{"input", "InputLayer"}, BIT(A_NAME) | BIT(A_SHAPE), BIT(A_SHAPE), false, 0, b_input},
    {{"conv2d"}, ONE | CONV_ARGS, BIT(A_FILTERS) | BIT(A_KERNEL), false, 0, b_conv2d},
    {{"depthwise_conv2d", "DepthwiseConv2D"},
     (ONE | CONV_ARGS | BIT(A_DEPTH_MULT)) & ~(BIT(A_FILTERS) | BIT(A_GROUPS)), BIT(A_KERNEL),
     false, 0, b_depthwise},
    {{"separable_conv2d", "SeparableConv2D"}, (ONE | CONV_ARGS | BIT(A_DEPTH_MULT)) & ~BIT(A_GROUPS),
     BIT(A_FILTERS) | BIT(A_KERNEL), false, 0, b_depthwise},
    {{"conv2d_transpose", "Conv2DTranspose", "ConvTranspose2d"},
     (ONE | CONV_ARGS | BIT(A_OUTPUT_PADDING)) & ~REG_ARGS, BIT(A_FILTERS) | BIT(A_KERNEL), false, 0,
     b_conv2d_transpose},
    {{"dense"}, ONE | BIT(A_UNITS) | BIT(A_USE_BIAS) | BIT(A_ACTIVATION) | REG_ARGS, BIT(A_UNITS),
     false, 0,
     b_dense},
    {{"maxpool2d", "MaxPooling2D", "MaxPool2D"}, ONE | POOL_ARGS, 0, false, 0, b_maxpool},
    {{"maxunpool2d", "MaxUnpool2d"}, ONE, BIT(A_INPUTS), true, 0, b_unpool},
    {{"lppool2d", "LPPool2d"}, ONE | BIT(A_POOL_SIZE) | BIT(A_STRIDES) | BIT(A_CEIL) | BIT(A_POWER),
     0, false, 0, b_lppool},
    {{"fractional_maxpool2d", "FractionalMaxPool2d"},
     ONE | BIT(A_FRAC_KERNEL) | BIT(A_OUTPUT_SIZE) | BIT(A_OUTPUT_RATIO) | BIT(A_SEQUENCE), 0,
     false, 0, b_fracpool},
    {{"avgpool2d", "AveragePooling2D", "AvgPool2D"}, ONE | POOL_ARGS | BIT(A_INCLUDE_PAD), 0, false,
     0, b_avgpool},
    {{"activation"}, ONE | BIT(A_ACTIVATION) | BIT(A_ALPHA), BIT(A_ACTIVATION), false, 0,
     b_activation},
    {{"relu"}, ONE, 0, false, FV_ACT_RELU, b_activation},
    {{"sigmoid"}, ONE, 0, false, FV_ACT_SIGMOID, b_activation},
    {{"tanh"}, ONE, 0, false, FV_ACT_TANH, b_activation},
    {{"softmax"}, ONE, 0, false, FV_ACT_SOFTMAX, b_activation},
    {{"leaky_relu", "LeakyReLU"}, ONE | BIT(A_ALPHA), 0, false, FV_ACT_LEAKY_RELU, b_activation},
    {{"elu", "ELU"}, ONE | BIT(A_ALPHA), 0, false, FV_ACT_ELU, b_activation},
    {{"selu", "SELU"}, ONE, 0, false, FV_ACT_SELU, b_activation},
    {{"gelu", "GELU"}, ONE, 0, false, FV_ACT_GELU, b_activation},
    {{"silu", "swish", "SiLU"}, ONE, 0, false, FV_ACT_SILU, b_activation},
    {{"softplus", "Softplus"}, ONE, 0, false, FV_ACT_SOFTPLUS, b_activation},
    {{"hard_sigmoid", "HardSigmoid"}, ONE, 0, false, FV_ACT_HARD_SIGMOID, b_activation},
    {{"hard_swish", "HardSwish"}, ONE, 0, false, FV_ACT_HARD_SWISH, b_activation},
    {{"relu6", "ReLU6"}, ONE, 0, false, FV_ACT_RELU6, b_activation},
    {{"log_softmax", "LogSoftmax"}, ONE, 0, false, FV_ACT_LOG_SOFTMAX, b_activation},
    {{"flatten"}, ONE, 0, false, 0, b_flatten},
    {{"prelu", "PReLU"}, ONE | BIT(A_SHARED), 0, false, 0, b_prelu},
    {{"maxout", "Maxout"}, ONE | BIT(A_PIECES), BIT(A_PIECES), false, 0, b_prelu},
    {{"group_norm", "GroupNormalization", "GroupNorm"}, ONE | BIT(A_GROUPS) | BIT(A_EPSILON),
     BIT(A_GROUPS), false, 0, b_norm},
    {{"instance_norm", "InstanceNormalization", "InstanceNorm2d"}, ONE | BIT(A_EPSILON), 0, false,
     0, b_norm},
    {{"layer_norm", "LayerNormalization", "LayerNorm"}, ONE | BIT(A_EPSILON), 0, false, 0,
     b_norm},
    {{"upsample2d", "UpSampling2D", "Upsample"}, ONE | BIT(A_POOL_SIZE) | BIT(A_INTERPOLATION), 0,
     false, 0, b_upsample},
    {{"zero_padding2d", "ZeroPadding2D"}, ONE | BIT(A_SIDES_PAD), 0, false, 0, b_pad_crop},
    {{"cropping2d", "Cropping2D"}, ONE | BIT(A_SIDES_CROP), BIT(A_SIDES_CROP), false, 0,
     b_pad_crop},
    {{"global_avgpool2d", "GlobalAveragePooling2D"}, ONE, 0, false, 0, b_global_avgpool},
    {{"adaptive_avgpool2d", "AdaptiveAvgPool2d"}, ONE | BIT(A_OUTPUT_SIZE), BIT(A_OUTPUT_SIZE),
     false, 0, b_adaptive},
    {{"global_maxpool2d", "GlobalMaxPooling2D"}, ONE, 0, false, 0, b_global_maxpool},
    {{"lrn", "LocalResponseNorm", "LRN"},
     ONE | BIT(A_LRN_SIZE) | BIT(A_ALPHA) | BIT(A_BETA) | BIT(A_K), BIT(A_LRN_SIZE), false, 0,
     b_lrn},
    {{"reshape"}, ONE | BIT(A_TARGET_SHAPE), BIT(A_TARGET_SHAPE), false, 0, b_reshape},
    {{"add"}, ONE, BIT(A_INPUTS), true, 0, b_add},
    {{"concat", "Concatenate"}, ONE | BIT(A_AXIS), BIT(A_INPUTS), true, 0, b_concat},
    {{"dropout"}, ONE | BIT(A_RATE), BIT(A_RATE), false, 0, b_dropout},
    {{"spatial_dropout2d", "SpatialDropout2D", "Dropout2d"}, ONE | BIT(A_RATE), BIT(A_RATE), false,
     0, b_dropout},
    {{"batchnorm", "BatchNormalization"}, ONE | BN_ARGS, 0, false, 0, b_batchnorm},
};

static const layer_def *find_layer(const char *word)
{
    for (size_t i = 0; i < sizeof layer_defs / sizeof layer_defs[0]; i++)
        for (int k = 0; k < 3 && layer_defs[i].names[k]; k++)
            if (ci_eq(word, layer_defs[i].names[k]))
                return &layer_defs[i];
    return NULL;
}

/* ---------------------------------------------------------------- parsing lines */

typedef struct parser {
    const char *file;
    int line;
    fv_model *m;
    int layers;
    bool have_input, have_model_line;
} parser;

/* Sets "<file>:<line>: <problem>" and returns s. */
static fv_status __attribute__((format(printf, 3, 4)))
perr(const parser *p, fv_status s, const char *fmt, ...)
{
    char msg[480], shown[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* the text may hold control characters or broken UTF-8: the message stays one clean line */
    return fv_err(s, "%s:%d: %s", p->file, p->line > 0 ? p->line : 1,
                  fv_printable(msg, shown, sizeof shown));
}

/* key=value into v, checking that the layer takes the key and that it is not given twice. */
static fv_status parse_arg(parser *p, const layer_def *d, char *tok, line_vals *v, uint64_t *seen)
{
    char *eq = strchr(tok, '=');
    if (!eq)
        return perr(p, FV_ERR_FORMAT, "%s: expected key=value, got '%.80s'", d->names[0], tok);
    *eq = '\0';
    char shown[84]; /* the value as written, for messages (parsers split it in place) */
    snprintf(shown, sizeof shown, "%s", eq + 1);
    for (int a = 0; a < A__COUNT; a++) {
        const arg_def *ad = &arg_defs[a];
        bool named = ci_eq(tok, ad->key) || (ad->alias && ci_eq(tok, ad->alias));
        if (!named || !(d->allowed & BIT(a)))
            continue;
        if (*seen & BIT(a))
            return perr(p, FV_ERR_FORMAT, "%s: argument '%s' given twice", d->names[0], ad->key);
        if ((a == A_MOMENTUM || a == A_KERAS_MOMENTUM) &&
            (*seen & (BIT(A_MOMENTUM) | BIT(A_KERAS_MOMENTUM))))
            return perr(p, FV_ERR_FORMAT, "%s: give momentum or keras_momentum, not both",
                        d->names[0]);
        *seen |= BIT(a);
        const char *want = ad->parse((char *)v + ad->off, eq + 1);
        if (want)
            return perr(p, FV_ERR_INVALID, "%s=%s: %s", tok, shown, want);
        return FV_OK;
    }
    return perr(p, FV_ERR_FORMAT, "unknown argument '%.80s' for %s", tok, d->names[0]);
}

/* The node ids a line reads: its inputs= names, or the node added last. */
static fv_status resolve_inputs(parser *p, const layer_def *d, const line_vals *v, int *ins,
                                int *nin)
{
    if (d->multi && v->inputs.n < 2)
        return perr(p, FV_ERR_FORMAT, "%s needs at least two inputs (inputs=a,b)", d->names[0]);
    if (!d->multi && v->inputs.n > 1)
        return perr(p, FV_ERR_FORMAT, "%s takes one input, got %d in inputs=", d->names[0],
                    v->inputs.n);
    *nin = v->inputs.n ? v->inputs.n : 1;
    ins[0] = FV_LAST;
    for (int i = 0; i < v->inputs.n; i++) {
        ins[i] = fv_model_find_node(p->m, v->inputs.v[i]);
        if (ins[i] < 0)
            return perr(p, FV_ERR_INVALID, "unknown input '%.80s' (no earlier layer has that name)",
                        v->inputs.v[i]);
    }
    return FV_OK;
}

/* The first missing required argument's key, or NULL. */
static const char *missing_arg(const layer_def *d, uint64_t seen)
{
    for (int a = 0; a < A__COUNT; a++)
        if ((d->required & BIT(a)) && !(seen & BIT(a)))
            return arg_defs[a].key;
    return NULL;
}

/* One layer line: the type word is already read; rest holds the arguments. */
static fv_status parse_layer(parser *p, const layer_def *d, char *rest)
{
    bool is_input = d->build == b_input;
    if (!is_input && !p->have_input)
        return perr(p, FV_ERR_FORMAT, "%s before the input line (a model starts with "
                    "'input shape=...')", d->names[0]);
    if (is_input && p->have_input)
        return perr(p, FV_ERR_FORMAT, "a second input line (a model has one input)");
    if (p->layers == MF_MAX_LAYERS)
        return perr(p, FV_ERR_FORMAT, "too many layers (at most %d)", MF_MAX_LAYERS);
    line_vals v;
    memset(&v, 0, sizeof v);
    uint64_t seen = 0;
    for (char *tok; (tok = next_token(&rest));)
        FV_TRY(parse_arg(p, d, tok, &v, &seen));
    const char *missing = missing_arg(d, seen);
    if (missing)
        return perr(p, FV_ERR_FORMAT, "%s: missing required argument '%s'", d->names[0], missing);
    int ins[FV_MAX_IN], nin = 0;
    if (!is_input)
        FV_TRY(resolve_inputs(p, d, &v, ins, &nin));
    if (v.name && fv_model_find_node(p->m, v.name) >= 0)
        return perr(p, FV_ERR_INVALID, "duplicate layer name '%.80s'", v.name);
    if (d->build(p->m, &v, ins, nin, d) < 0) {
        char why[400];
        snprintf(why, sizeof why, "%s", fv_last_error());
        return perr(p, FV_ERR_INVALID, "%s", why);
    }
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
    if (!word)
        return FV_OK;
    if (ci_eq(word, "model"))
        return parse_model_line(p, rest);
    const layer_def *d = find_layer(word);
    if (!d)
        return perr(p, FV_ERR_FORMAT, "unknown layer '%.80s'", word);
    return parse_layer(p, d, rest);
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
    parser p = {.file = filename ? filename : "<text>", .m = fv_model_new(name)};
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
    char *text = NULL;
    size_t len = 0;
    if (read_text(path, &text, &len) != FV_OK)
        return NULL;
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
