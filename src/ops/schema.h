/* schema.h - a layer's arguments as data in its op definition (fv_op_def.schema): the text
 * format's keys, where each argument lands in the layer function's argument struct and in the
 * node's attributes, its default and valid range, and a line of documentation. One table per op
 * drives the C layer functions' defaults and checks (fv_layer_add, schema.c), the .fv reader and
 * writer (io/modelfile.c, io/modelwrite.c), the summary's type name and the argument tables of
 * docs/model-format.md (tests/unit/test_format_doc.c). */
#ifndef FV_SCHEMA_H
#define FV_SCHEMA_H

#include "core/internal.h"

#include <stddef.h>

/* The kind of value an argument holds; the text syntax and the C storage follow from it. */
typedef enum fv_ftype {
    FV_FT_INT,      /* int; text: a decimal integer */
    FV_FT_PAIR,     /* two ints (height, width); text N or H,W; arg: N, with arg_h / arg_w
                     * (when not 0) overriding it per axis; attr and attr_w */
    FV_FT_SQUARE,   /* one int for both axes (attr, attr_w); text N or N,N with equal values */
    FV_FT_FLOAT,    /* float; text a finite decimal number, range checked after rounding */
    FV_FT_REG,      /* a float of the kernel regularizer: attr is an offset in fv_regularizer */
    FV_FT_RATIO,    /* two doubles at arg (arg_w the second; attr, attr_w); text R or RH,RW */
    FV_FT_BOOL,     /* int 0 / 1; text true, false, 1 or 0 */
    FV_FT_CHOICE,   /* int: the index of a word (of two words: 0 the first, anything else the
                     * second); text a word */
    FV_FT_PADDING,  /* int padding (arg) and int same (arg_h, 0: no `same`); attr ph, attr_w pw;
                     * text valid, same or N */
    FV_FT_SIDES,    /* ints all, top, bottom, left, right (arg: all, the sides follow); attr
                     * the four sides; text N, V,H or T,B,L,R */
    FV_FT_SHAPE,    /* int ndim (arg, attr) and int64_t dims[4] (arg_h, attr_w); text 1 to 4
                     * integers (lo -1: one may be -1) */
    FV_FT_AXIS,     /* int; text an integer in lo..hi */
    FV_FT_ACT,      /* an fv_act folded into the layer as a node of its own (no attribute) */
    FV_FT_ACT_KIND, /* an fv_act other than none: the kind of the activation layer itself */
    FV_FT_INIT,     /* int: an fv_init; text its name (fv_init_from_name) */
    FV_FT_INTS,     /* int count (arg, attr) and const int *values (arg_h, attr_w; in the node:
                     * the model's copy, fv_model_keep_ints); text 1 to FV_SEGMENTS_MAX
                     * comma-separated integers in lo..hi */
} fv_ftype;

enum {
    FV_F_REQUIRED = 1 << 0,  /* no default: the text must give it, the C value must be in range */
    FV_F_LO_OPEN = 1 << 1,   /* the range excludes lo (floats) */
    FV_F_HI_OPEN = 1 << 2,   /* the range excludes hi (floats) */
    FV_F_TEXT_NOT = 1 << 3,  /* the text's true is the argument's 0 (use_bias=false: no_bias) */
    FV_F_ATTR_NOT = 1 << 4,  /* the attribute is the argument negated (bias = !no_bias) */
    FV_F_C_ONLY = 1 << 5,    /* an argument of the C function that the text format lacks */
    FV_F_READ_ONLY = 1 << 6, /* read from text, never written (another key writes its value) */
    FV_F_COMPLEMENT = 1 << 7, /* the text value v lands as 1 - v (keras_momentum) */
    FV_F_TEXT_DEF = 1 << 8,  /* the default applies to the text only (the C default is 0) */
    FV_F_OPTIONAL = 1 << 9,  /* 0 means absent (no default): only given values are checked */
    FV_F_INIT = 1 << 10,     /* attr is an offset in the node's fv_init_spec (FV_INI), not fv_attr */
};

/* One argument of a layer. Offsets are 1 + offsetof (0: none): FV_ARG in fv_spec, FV_AT in
 * fv_attr (FV_FT_REG: in fv_regularizer). */
typedef struct fv_field {
    const char *key, *alias; /* the text keys; the alias is read, never written */
    fv_ftype type;
    unsigned flags;
    unsigned forms;          /* bit k: the op's form k takes it (0: every form) */
    double def, lo, hi;      /* the default where the argument is 0, and the valid range */
    int arg, arg_h, arg_w;   /* where the argument lands in fv_spec */
    int attr, attr_w;        /* where the attribute lands in fv_attr */
    int def_from;            /* 1 + the index of the field whose value is the default (0: def) */
    const char *const *words; /* FV_FT_CHOICE: NULL-terminated */
    const char *doc;         /* what the value is (the doc's value column) */
    const char *def_doc;     /* the doc's default column where the number does not say it */
} fv_field;

#define FV_ARG(member) (1 + (int)offsetof(fv_spec, member))
#define FV_AT(member) (1 + (int)offsetof(fv_attr, member))
#define FV_REG(member) (1 + (int)offsetof(fv_regularizer, member))
#define FV_INI(member) (1 + (int)offsetof(fv_init_spec, member))
#define FV_FORM(k) (1u << (k))

static inline void *fv_field_at(const void *base, int off)
{
    return off ? (char *)base + off - 1 : NULL;
}

/* The initializer arguments of a layer whose weight is its parameter 0 and bias its parameter 1,
 * S its argument struct in fv_spec (a.conv2d, a.dense, ...), with the doc column's texts. The
 * builder checks them together (schema.c) and keeps them in the node (fv_node.init). */
#define FV_INIT_FIELDS_DOC(S, d_init, d_gain, d_mode, d_value, d_bias, d_bias_value)           \
    {.key = "init", .alias = "kernel_initializer", .type = FV_FT_INIT, .flags = FV_F_INIT,     \
     .arg = FV_ARG(S.init), .attr = FV_INI(weight.kind), .doc = d_init,                        \
     .def_doc = "`glorot_uniform`"},                                                           \
    {.key = "init_gain", .type = FV_FT_FLOAT, .flags = FV_F_INIT | FV_F_LO_OPEN, .def = 1,     \
     .lo = 0, .hi = INFINITY, .arg = FV_ARG(S.init_gain), .attr = FV_INI(weight.gain),         \
     .doc = d_gain},                                                                           \
    {.key = "init_mode", .type = FV_FT_CHOICE, .flags = FV_F_INIT, .words = fv_fan_words,      \
     .arg = FV_ARG(S.init_fan_out), .attr = FV_INI(weight.fan_out), .doc = d_mode},            \
    {.key = "init_value", .type = FV_FT_FLOAT, .flags = FV_F_INIT, .lo = -INFINITY,            \
     .hi = INFINITY, .arg = FV_ARG(S.init_value), .attr = FV_INI(weight.value),                \
     .doc = d_value},                                                                          \
    {.key = "bias_init", .alias = "bias_initializer", .type = FV_FT_INIT, .flags = FV_F_INIT,  \
     .arg = FV_ARG(S.bias_init), .attr = FV_INI(bias.kind), .doc = d_bias,                     \
     .def_doc = "`zeros`"},                                                                    \
    {.key = "bias_value", .type = FV_FT_FLOAT, .flags = FV_F_INIT, .lo = -INFINITY,            \
     .hi = INFINITY, .arg = FV_ARG(S.bias_value), .attr = FV_INI(bias.value),                  \
     .doc = d_bias_value}
#define FV_INIT_FIELDS(S)                                                                      \
    FV_INIT_FIELDS_DOC(S,                                                                      \
        "the weight's initializer: a name of the table of initializers below",                \
        "number > 0: the gain of `glorot_*`, `xavier_normal` and `orthogonal`",               \
        "`fan_in` or `fan_out`: the fan `he_*`, `kaiming_normal` and `lecun_*` scale by",     \
        "finite number: the weight's value with `init=constant`",                             \
        "the bias's initializer: `zeros`, `ones` or `constant`",                              \
        "finite number: the bias's value with `bias_init=constant`")
#define FV_INIT_FIELDS_AS_CONV(S)                                                              \
    FV_INIT_FIELDS_DOC(S, "as for `conv2d`", "as for `conv2d`", "as for `conv2d`",             \
                       "as for `conv2d`", "as for `conv2d`", "as for `conv2d`")
/* The words of init_mode. */
extern const char *const fv_fan_words[];

/* The binary op's arguments (binary.c): what fv_binary_ and fv_binary_const_ take. */
typedef struct fv_binary_spec {
    int op;          /* an fv_binary_op */
    int const_first; /* the constant is the left operand */
    int ndim;        /* the constant's shape (0: two inputs, no constant) */
    int64_t dims[4];
    float value;     /* every value of the constant (0: zeros, or the values given or loaded) */
    const float *values; /* fv_binary_const's values (NULL: value) */
} fv_binary_spec;

/* What a layer function builds a layer from: its public argument struct, the arguments some
 * layer functions take beside it, and the form. Zero means "not given": the default. */
typedef struct fv_spec {
    union {
        fv_input_args input;
        fv_conv2d_args conv2d;
        fv_conv2d_transpose_args convt;
        fv_dense_args dense;
        fv_pool2d_args pool;
        fv_fracpool_args frac;
        fv_adaptive_args adaptive;
        fv_lrn_args lrn;
        fv_upsample_args upsample;
        fv_pad_args pad;
        fv_resize_args resize;
        fv_norm_args norm;
        fv_prelu_args prelu;
        fv_layer_args layer;
        fv_reshape_args reshape;
        fv_concat_args concat;
        fv_dropout_args dropout;
        fv_batchnorm_args bn;
        fv_binary_spec binary;
        fv_segment_softmax_args segsoftmax;
        fv_sampler_args grid;
        fv_rnn_args rnn;
        fv_embedding_args embedding;
    } a;
    const char *name; /* the layer's name (NULL: automatic) */
    int form;         /* the form's value (fv_form.value) */
    fv_act act;       /* fv_activation's kind */
    float power;      /* fv_lppool2d's p */
    int multiplier;   /* fv_depthwise_conv2d's depth multiplier */
} fv_spec;

/* One spelling of a layer in the text format: a keyword and the layer it builds. */
typedef struct fv_form {
    const char *names[3]; /* the keyword, then other spellings (Keras, PyTorch classes) */
    const char *kind;     /* the summary's type (NULL: the op's kind) */
    int value;            /* what it records (fv_schema.form_attr; fv_spec.form) */
    /* builds a layer the generic way cannot (NULL: fv_layer_add's generic path) */
    int (*add)(fv_model *m, const int *ins, int nin, const fv_spec *s);
    const char *doc; /* what it computes, where a table of kinds shows it (activations) */
} fv_form;

/* A schema's op with its form and field tables, the lengths counted from the arrays so that no
 * count is kept in step by hand: {FV_SCHEMA_TABLES(FV_OP_X, x_forms, x_fields), .finish = ...}. */
#define FV_SCHEMA_TABLES(op_, forms_, fields_)                                                  \
    .op = (op_), .forms = (forms_), .nforms = (int)(sizeof(forms_) / sizeof((forms_)[0])),      \
    .fields = (fields_), .nfields = (int)(sizeof(fields_) / sizeof((fields_)[0]))

struct fv_schema {
    fv_op op;               /* the op the generic path adds */
    const fv_form *forms;
    int nforms;
    const fv_field *fields;
    int nfields;
    int form_attr;          /* FV_AT of the int recording the form's value (0: none) */
    int min_in, max_in;     /* inputs (0: one; max_in -1: none) */
    /* Rules across arguments and derived attributes, after defaults and ranges (NULL: none). */
    fv_status (*finish)(const fv_spec *s, fv_attr *a, const char *layer);
    /* The text format only: adjusts what a line gave before it is built (NULL: none). */
    fv_status (*read)(fv_model *m, fv_spec *s, const int *ins, const char *layer);
    /* The writer: adjusts the arguments the generic inverse found for node n, or says why the
     * format cannot express n (NULL: nothing to adjust). */
    const char *(*unwrite)(const fv_model *m, const fv_node *n, fv_spec *s);
    /* The form node n was built as (NULL: by form_attr, else form 0); returns its value. */
    int (*form_of)(const fv_node *n);
};

/* Adds the layer spec s describes, as form s->form of schema sc, reading ins[0..nin): defaults
 * and range checks of every argument, then the form's builder or the generic one (attributes,
 * the schema's finish rule, the node, its regularizer and folded activation). Returns the node
 * id (the folded activation's when there is one) or -1 with an error naming the layer. The
 * model keeps the first failure (m->first_status); a call that reads a failed call's result
 * (-1, or FV_LAST after a failure) fails with that error again. */
int fv_layer_add(fv_model *m, const fv_schema *sc, const int *ins, int nin, const fv_spec *s);
/* Whether ins reads a failed layer call's result while the model has a failure; then the error
 * is that failure's again. */
int fv_layer_reads_failure(fv_model *m, const int *ins, int nin);
/* Records the last error as the model's first failure, unless it has one. */
void fv_layer_failed(fv_model *m);
/* The generic path alone, for form k (forms' builders call it). */
int fv_layer_build(fv_model *m, const fv_schema *sc, int k, const int *ins, int nin,
                   const fv_spec *s);

/* The index of the form of sc with value v, or -1. */
int fv_schema_form(const fv_schema *sc, int v);
/* Whether form k takes field f (and the text format has it). */
int fv_field_in_form(const fv_field *f, int k);
/* The form index of node n. */
int fv_node_form(const fv_node *n);
/* The summary's type of node n: its form's kind (Keras class), else the op's. */
const char *fv_node_kind(const fv_node *n);
/* Finds the schema and form of a text keyword (ASCII case-insensitive); NULL if none. */
const fv_schema *fv_schema_find(const char *word, int *form);
/* The i-th distinct schema of the op table (NULL past the end): every layer the text has. */
const fv_schema *fv_schema_at(int i);
/* The value field f of spec s gives its attribute, as a double: the default where the argument
 * is 0, negated where FV_F_ATTR_NOT; axis picks height (0) or width (1) of a pair, a side (0..3)
 * of FV_FT_SIDES. */
double fv_field_value(const fv_field *f, const fv_spec *s, int axis);
/* Whether v is in f's range (a finite number). */
int fv_field_in_range(const fv_field *f, double v);
/* The range of f in words: ">= 1", "in [0, 1)", "> 0 and finite", ... */
const char *fv_field_range(const fv_field *f, char *buf, size_t cap);

/* The activation family: the kind node n computes (FV_ACT_NONE: n is no activation) and its
 * alpha (activation.c). */
fv_act fv_node_act(const fv_node *n, float *alpha);
/* The op that computes activation act: the kind's own op, else FV_OP_ELTWISE. */
fv_op fv_act_op(fv_act act);
/* The alpha (beta) act gets when none is given. */
float fv_act_default_alpha(fv_act act);
float fv_act_default_beta(fv_act act);
/* The form of the activation layers that checks act's parameters: the kind's own keyword where
 * it has parameters of its own (leaky_relu, elu, selu, hard_sigmoid, clip), else form 0. */
int fv_act_form(fv_act act);
/* The activation layers' schema (one for the five ops of the family). */
extern const fv_schema fv_act_schema;

#endif
