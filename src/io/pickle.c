/* pickle.c - the restricted pickle interpreter of PyTorch checkpoints (pickle.h). It knows the
 * opcodes torch.save's pickler (protocol 2) writes for a state dict and for the plain values of a
 * checkpoint around one (epochs, optimizer settings), and five kinds of globals: OrderedDict, the
 * tensor and parameter rebuilders, and the storage classes (only as the dtype of a persistent id).
 * Nothing is imported or called: REDUCE of an allowed global builds the value it would build, any
 * other opcode or global is refused with its offset. Memory is bounded by the pickle's size: each
 * opcode makes at most one object, and the stack, the memo and the nesting of marks have limits. */
#include "io/pickle.h"

#include "io/io.h"

#include <string.h>

#define PK_MAX_MARKS 1024        /* nesting of MARKs (torch's state dicts use 3) */
#define PK_MAX_MEMO (1u << 22)   /* memo indices */
#define PK_MAX_OBJS (1u << 22)   /* values made (~100 bytes each; a state dict: ~12 a tensor) */

enum { G_ODICT, G_TENSOR, G_PARAM, G_STORAGE }; /* the allowed globals (fv_pk_obj.i) */

struct fv_pk {
    const char *name;
    const unsigned char *buf;
    size_t len, pos, at; /* at: where the current opcode starts */
    fv_pk_obj **objs;    /* everything allocated, for fv_pk_free */
    size_t nobjs, capobjs;
    fv_pk_obj **stack;
    size_t sp, capstack;
    size_t marks[PK_MAX_MARKS];
    int nmarks;
    fv_pk_obj **memo;
    size_t capmemo, nmemo; /* nmemo: slots set (MEMOIZE's next index) */
};

static const struct {
    const char *cls;
    int size;
} pk_dtypes[] = {
    [FV_PK_F32] = {"FloatStorage", 4},  [FV_PK_F16] = {"HalfStorage", 2},
    [FV_PK_BF16] = {"BFloat16Storage", 2}, [FV_PK_F64] = {"DoubleStorage", 8},
    [FV_PK_I64] = {"LongStorage", 8},   [FV_PK_I32] = {"IntStorage", 4},
    [FV_PK_I16] = {"ShortStorage", 2},  [FV_PK_I8] = {"CharStorage", 1},
    [FV_PK_U8] = {"ByteStorage", 1},    [FV_PK_BOOL_T] = {"BoolStorage", 1},
};
#define PK_NDTYPES ((int)(sizeof pk_dtypes / sizeof pk_dtypes[0]))

int fv_pk_dtype_size(int dtype) { return pk_dtypes[dtype].size; }
const char *fv_pk_dtype_name(int dtype) { return pk_dtypes[dtype].cls; }

static fv_status bad(const fv_pk *pk, const char *what)
{
    return fv_err(FV_ERR_FORMAT, "%s: pickle opcode at byte %zu: %s", pk->name, pk->at, what);
}

/* ---------------------------------------------------------------- objects */

/* Room for one more pointer in *a, which holds n of *cap (doubling from 64); false: out of
 * memory (the error is set). */
static bool room(fv_pk_obj ***a, size_t *cap, size_t n, const char *what)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? 2 * *cap : 64;
    fv_pk_obj **p = fv_realloc(*a, *cap * sizeof *p, ncap * sizeof *p, what);
    if (!p)
        return false;
    *a = p, *cap = ncap;
    return true;
}

static fv_pk_obj *obj_new(fv_pk *pk, fv_pk_kind kind)
{
    if (pk->nobjs >= PK_MAX_OBJS) {
        bad(pk, "more than 2^22 values");
        return NULL;
    }
    if (!room(&pk->objs, &pk->capobjs, pk->nobjs, "pickle objects"))
        return NULL;
    fv_pk_obj *o = fv_calloc(1, sizeof *o, "pickle object");
    if (o) {
        o->kind = kind;
        pk->objs[pk->nobjs++] = o;
    }
    return o;
}

void fv_pk_free(fv_pk *pk)
{
    if (!pk)
        return;
    for (size_t i = 0; i < pk->nobjs; i++) {
        fv_free(pk->objs[i]->s);
        fv_free(pk->objs[i]->items);
        fv_free(pk->objs[i]->sizes);
        fv_free(pk->objs[i]);
    }
    fv_free(pk->objs);
    fv_free(pk->stack);
    fv_free(pk->memo);
    fv_free(pk);
}

static fv_status add_item(const fv_pk *pk, fv_pk_obj *o, fv_pk_obj *item)
{
    if (o->n == o->cap) {
        if (o->cap > (1 << 28))
            return bad(pk, "a container of over 2^28 items");
        int cap = o->cap ? 2 * o->cap : 4;
        fv_pk_obj **it = fv_realloc(o->items, (size_t)o->cap * sizeof *it,
                                    (size_t)cap * sizeof *it, "pickle container");
        if (!it)
            return FV_ERR_NOMEM;
        o->items = it, o->cap = cap;
    }
    o->items[o->n++] = item;
    return FV_OK;
}

const fv_pk_obj *fv_pk_dict_get(const fv_pk_obj *d, const char *key)
{
    if (!d || d->kind != FV_PK_DICT)
        return NULL;
    const fv_pk_obj *found = NULL; /* the last one, as Python's dict keeps */
    for (int i = 0; i + 1 < d->n; i += 2)
        if (d->items[i]->kind == FV_PK_STR && strcmp(d->items[i]->s, key) == 0)
            found = d->items[i + 1];
    return found;
}

/* ---------------------------------------------------------------- the stack */

static fv_status push(fv_pk *pk, fv_pk_obj *o)
{
    if (!o)
        return fv_last_status(); /* out of memory, or too many values */
    if (!room(&pk->stack, &pk->capstack, pk->sp, "pickle stack"))
        return FV_ERR_NOMEM;
    pk->stack[pk->sp++] = o;
    return FV_OK;
}

/* The lowest stack position pop may reach: the last mark's. */
static size_t floor_of(const fv_pk *pk) { return pk->nmarks ? pk->marks[pk->nmarks - 1] : 0; }

static fv_status pop(fv_pk *pk, fv_pk_obj **o)
{
    if (pk->sp <= floor_of(pk))
        return bad(pk, "stack underflow");
    *o = pk->stack[--pk->sp];
    return FV_OK;
}

static fv_status top(fv_pk *pk, fv_pk_obj **o)
{
    if (pk->sp <= floor_of(pk))
        return bad(pk, "stack underflow");
    *o = pk->stack[pk->sp - 1];
    return FV_OK;
}

/* Pops the last mark: *from gets its stack position (the items above it are the marked ones). */
static fv_status pop_mark(fv_pk *pk, size_t *from)
{
    if (!pk->nmarks)
        return bad(pk, "no MARK to pop to");
    *from = pk->marks[--pk->nmarks];
    return FV_OK;
}

/* ---------------------------------------------------------------- operands */

static fv_status take(fv_pk *pk, size_t n, const unsigned char **p)
{
    if (n > pk->len - pk->pos)
        return fv_err(FV_ERR_FORMAT, "%s: pickle opcode at byte %zu needs %zu bytes, %zu are left",
                      pk->name, pk->at, n, pk->len - pk->pos);
    *p = pk->buf + pk->pos;
    pk->pos += n;
    return FV_OK;
}

static fv_status take_le(fv_pk *pk, int n, uint64_t *v)
{
    const unsigned char *p = NULL;
    FV_TRY(take(pk, (size_t)n, &p));
    *v = 0;
    for (int i = n - 1; i >= 0; i--)
        *v = *v << 8 | p[i];
    return FV_OK;
}

static fv_status push_int(fv_pk *pk, int64_t v)
{
    fv_pk_obj *o = obj_new(pk, FV_PK_INT);
    if (o)
        o->i = v;
    return push(pk, o);
}

/* LONG1: n little-endian two's complement bytes; more than 8 is too large for a state dict. */
static fv_status op_long1(fv_pk *pk)
{
    uint64_t n = 0, v = 0;
    FV_TRY(take_le(pk, 1, &n));
    if (n > 8)
        return bad(pk, "LONG1 of more than 8 bytes");
    FV_TRY(take_le(pk, (int)n, &v));
    if (n && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~(uint64_t)0 << (8 * n); /* sign extension */
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return push_int(pk, s);
}

static fv_status op_binfloat(fv_pk *pk)
{
    const unsigned char *p = NULL;
    FV_TRY(take(pk, 8, &p));
    uint64_t u = 0;
    for (int i = 0; i < 8; i++) /* big-endian */
        u = u << 8 | p[i];
    fv_pk_obj *o = obj_new(pk, FV_PK_FLOAT);
    if (o)
        memcpy(&o->f, &u, sizeof o->f);
    return push(pk, o);
}

static fv_status op_string(fv_pk *pk, int lenbytes)
{
    uint64_t n = 0;
    const unsigned char *p = NULL;
    FV_TRY(take_le(pk, lenbytes, &n));
    if (n > pk->len - pk->pos)
        return fv_err(FV_ERR_FORMAT, "%s: pickle string at byte %zu claims %llu bytes, %zu are "
                      "left", pk->name, pk->at, (unsigned long long)n, pk->len - pk->pos);
    FV_TRY(take(pk, (size_t)n, &p));
    fv_pk_obj *o = obj_new(pk, FV_PK_STR);
    if (!o || !(o->s = fv_malloc((size_t)n + 1, "pickle string")))
        return FV_ERR_NOMEM;
    memcpy(o->s, p, (size_t)n);
    o->s[n] = 0;
    o->len = (size_t)n;
    return push(pk, o);
}

/* ---------------------------------------------------------------- containers */

/* A tuple of the items from stack position `from` up (which are popped). */
static fv_status make_tuple(fv_pk *pk, size_t from)
{
    fv_pk_obj *t = obj_new(pk, FV_PK_TUPLE);
    if (!t)
        return FV_ERR_NOMEM;
    for (size_t i = from; i < pk->sp; i++)
        FV_TRY(add_item(pk, t, pk->stack[i]));
    pk->sp = from;
    return push(pk, t);
}

static fv_status op_tuple_n(fv_pk *pk, size_t n)
{
    if (pk->sp - floor_of(pk) < n)
        return bad(pk, "stack underflow");
    return make_tuple(pk, pk->sp - n);
}

/* SETITEM(S), APPEND(S): the items from `from` up go into the container below them. */
static fv_status fill(fv_pk *pk, size_t from, int pairs)
{
    if (from == 0 || from <= floor_of(pk) || (pairs && (pk->sp - from) % 2))
        return bad(pk, pairs ? "SETITEM(S) without a dict and key/value pairs"
                             : "APPEND(S) without a list");
    fv_pk_obj *c = pk->stack[from - 1];
    if (c->kind != (pairs ? FV_PK_DICT : FV_PK_LIST))
        return bad(pk, pairs ? "SETITEM(S) on something not a dict" : "APPEND(S) on something "
                   "not a list");
    for (size_t i = from; i < pk->sp; i++)
        FV_TRY(add_item(pk, c, pk->stack[i]));
    pk->sp = from;
    return FV_OK;
}

/* ---------------------------------------------------------------- the memo */

static fv_status memo_put(fv_pk *pk, uint64_t idx)
{
    fv_pk_obj *o = NULL;
    FV_TRY(top(pk, &o));
    if (idx >= PK_MAX_MEMO || idx > pk->len) /* torch's indices count up from 0 */
        return bad(pk, "memo index too large");
    if (idx >= pk->capmemo) {
        size_t cap = pk->capmemo ? pk->capmemo : 64;
        while (cap <= idx)
            cap *= 2;
        fv_pk_obj **m = fv_realloc(pk->memo, pk->capmemo * sizeof *m, cap * sizeof *m,
                                   "pickle memo");
        if (!m)
            return FV_ERR_NOMEM;
        memset(m + pk->capmemo, 0, (cap - pk->capmemo) * sizeof *m);
        pk->memo = m, pk->capmemo = cap;
    }
    pk->nmemo += !pk->memo[idx];
    pk->memo[idx] = o;
    return FV_OK;
}

static fv_status memo_get(fv_pk *pk, uint64_t idx)
{
    if (idx >= pk->capmemo || !pk->memo[idx])
        return bad(pk, "memo index not set");
    return push(pk, pk->memo[idx]);
}

/* ---------------------------------------------------------------- globals */

static fv_status push_global(fv_pk *pk, const char *mod, const char *name);

static fv_status op_global(fv_pk *pk)
{
    const unsigned char *p = pk->buf + pk->pos, *end = pk->buf + pk->len;
    const unsigned char *nl1 = memchr(p, '\n', (size_t)(end - p));
    const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1)) : NULL;
    if (!nl2 || nl2 - p > 200)
        return bad(pk, "GLOBAL without a module and name line");
    char mod[128], name[128];
    size_t nm = (size_t)(nl1 - p), nn = (size_t)(nl2 - nl1 - 1);
    if (nm >= sizeof mod || nn >= sizeof name)
        return bad(pk, "GLOBAL name too long");
    memcpy(mod, p, nm), mod[nm] = 0;
    memcpy(name, nl1 + 1, nn), name[nn] = 0;
    pk->pos = (size_t)(nl2 + 1 - pk->buf);
    return push_global(pk, mod, name);
}

/* STACK_GLOBAL (protocol 4): module and name strings from the stack. */
static fv_status op_stack_global(fv_pk *pk)
{
    fv_pk_obj *name = NULL, *mod = NULL;
    FV_TRY(pop(pk, &name));
    FV_TRY(pop(pk, &mod));
    if (name->kind != FV_PK_STR || mod->kind != FV_PK_STR || name->len > 127 || mod->len > 127 ||
        strlen(name->s) != name->len || strlen(mod->s) != mod->len)
        return bad(pk, "STACK_GLOBAL without module and name strings");
    return push_global(pk, mod->s, name->s);
}

/* Module and name as one of the allowed globals, pushed; anything else is refused. */
static fv_status push_global(fv_pk *pk, const char *mod, const char *name)
{
    int which = -1, dtype = 0;
    if (strcmp(mod, "collections") == 0 && strcmp(name, "OrderedDict") == 0)
        which = G_ODICT;
    else if (strcmp(mod, "torch._utils") == 0 && strcmp(name, "_rebuild_tensor_v2") == 0)
        which = G_TENSOR;
    else if (strcmp(mod, "torch._utils") == 0 && strcmp(name, "_rebuild_parameter") == 0)
        which = G_PARAM;
    for (int d = 0; which < 0 && strcmp(mod, "torch") == 0 && d < PK_NDTYPES; d++)
        if (strcmp(name, pk_dtypes[d].cls) == 0)
            which = G_STORAGE, dtype = d;
    if (which < 0)
        return fv_err(FV_ERR_FORMAT, "%s: pickle GLOBAL '%s.%s' at byte %zu is not allowed (a "
                      "state dict holds tensors and plain values only)", pk->name,
                      fv_printable(mod, (char[132]){0}, 132),
                      fv_printable(name, (char[132]){0}, 132), pk->at);
    fv_pk_obj *g = obj_new(pk, FV_PK_GLOBAL);
    if (g)
        g->i = which, g->dtype = dtype;
    return push(pk, g);
}

/* sizes or strides: a tuple of at most FV_PK_MAX_DIMS non-negative ints. */
static fv_status dims_of(fv_pk *pk, const fv_pk_obj *t, int64_t *out, int *n)
{
    if (t->kind != FV_PK_TUPLE || t->n > FV_PK_MAX_DIMS)
        return bad(pk, "tensor sizes/strides: not a tuple of at most 8 ints");
    for (int i = 0; i < t->n; i++) {
        if (t->items[i]->kind != FV_PK_INT || t->items[i]->i < 0)
            return bad(pk, "tensor sizes/strides: not a tuple of non-negative ints");
        out[i] = t->items[i]->i;
    }
    *n = t->n;
    return FV_OK;
}

/* _rebuild_tensor_v2(storage, offset, sizes, strides, requires_grad, hooks[, metadata]). */
static fv_status rebuild_tensor(fv_pk *pk, const fv_pk_obj *a)
{
    if (a->n < 4 || a->n > 7 || a->items[0]->kind != FV_PK_STORAGE ||
        a->items[1]->kind != FV_PK_INT || a->items[1]->i < 0)
        return bad(pk, "_rebuild_tensor_v2 without (storage, offset, sizes, strides, ...)");
    fv_pk_obj *t = obj_new(pk, FV_PK_TENSOR);
    if (!t || !(t->sizes = fv_calloc(2 * FV_PK_MAX_DIMS, sizeof *t->sizes, "tensor view")))
        return fv_last_status();
    t->strides = t->sizes + FV_PK_MAX_DIMS;
    int ns;
    FV_TRY(dims_of(pk, a->items[2], t->sizes, &t->ndim));
    FV_TRY(dims_of(pk, a->items[3], t->strides, &ns));
    if (ns != t->ndim)
        return bad(pk, "_rebuild_tensor_v2: sizes and strides differ in length");
    t->storage = a->items[0];
    t->dtype = t->storage->dtype;
    t->offset = a->items[1]->i;
    return push(pk, t);
}

static fv_status op_reduce(fv_pk *pk)
{
    fv_pk_obj *args = NULL, *fn = NULL;
    FV_TRY(pop(pk, &args));
    FV_TRY(pop(pk, &fn));
    if (fn->kind != FV_PK_GLOBAL || args->kind != FV_PK_TUPLE)
        return bad(pk, "REDUCE of something not an allowed global with a tuple");
    if (fn->i == G_ODICT) {
        if (args->n)
            return bad(pk, "OrderedDict with arguments");
        return push(pk, obj_new(pk, FV_PK_DICT));
    }
    if (fn->i == G_TENSOR)
        return rebuild_tensor(pk, args);
    if (fn->i == G_PARAM) { /* _rebuild_parameter(data, requires_grad, hooks): the data */
        if (args->n != 3 || args->items[0]->kind != FV_PK_TENSOR)
            return bad(pk, "_rebuild_parameter without (tensor, requires_grad, hooks)");
        return push(pk, args->items[0]);
    }
    return bad(pk, "REDUCE of a storage class");
}

/* BINPERSID: ('storage', torch.<T>Storage, key, location, numel) names the storage data/<key>. */
static fv_status op_persid(fv_pk *pk)
{
    fv_pk_obj *pid = NULL;
    FV_TRY(pop(pk, &pid));
    fv_pk_obj **it = pid->items;
    if (pid->kind != FV_PK_TUPLE || pid->n != 5 || it[0]->kind != FV_PK_STR ||
        strcmp(it[0]->s, "storage") != 0 || it[1]->kind != FV_PK_GLOBAL ||
        it[1]->i != G_STORAGE || it[2]->kind != FV_PK_STR || it[4]->kind != FV_PK_INT ||
        it[4]->i < 0 || it[4]->i > ((int64_t)1 << 53))
        return bad(pk, "BINPERSID without ('storage', type, key, location, numel <= 2^53)");
    fv_pk_obj *s = obj_new(pk, FV_PK_STORAGE);
    if (!s || !(s->s = fv_strdup(it[2]->s, "storage key")))
        return FV_ERR_NOMEM;
    s->len = it[2]->len;
    s->dtype = it[1]->dtype;
    s->i = it[4]->i;
    return push(pk, s);
}

/* BUILD: the state of an OrderedDict (its _metadata) is dropped; nothing else is built. */
static fv_status op_build(fv_pk *pk)
{
    fv_pk_obj *state = NULL, *o = NULL;
    FV_TRY(pop(pk, &state));
    FV_TRY(top(pk, &o));
    return o->kind == FV_PK_DICT ? FV_OK : bad(pk, "BUILD of something not an OrderedDict");
}

/* ---------------------------------------------------------------- the loop */

static fv_status op_mark(fv_pk *pk)
{
    if (pk->nmarks == PK_MAX_MARKS)
        return bad(pk, "MARKs nested too deep");
    pk->marks[pk->nmarks++] = pk->sp;
    return FV_OK;
}

static fv_status push_kind(fv_pk *pk, fv_pk_kind k, int64_t v)
{
    fv_pk_obj *o = obj_new(pk, k);
    if (o)
        o->i = v;
    return push(pk, o);
}

/* One opcode (not STOP). */
static fv_status step(fv_pk *pk, unsigned op)
{
    uint64_t v = 0;
    size_t from = 0;
    switch (op) {
    case 0x80: /* PROTO */
        FV_TRY(take_le(pk, 1, &v));
        return v >= 2 && v <= 4 ? FV_OK : bad(pk, "pickle protocol other than 2 to 4");
    case 0x95: /* FRAME: a length hint, checked */
        FV_TRY(take_le(pk, 8, &v));
        return v <= pk->len - pk->pos ? FV_OK : bad(pk, "FRAME longer than the pickle");
    case '}': return push_kind(pk, FV_PK_DICT, 0);
    case ']': return push_kind(pk, FV_PK_LIST, 0);
    case ')': return make_tuple(pk, pk->sp);
    case '(': return op_mark(pk);
    case 'N': return push_kind(pk, FV_PK_NONE, 0);
    case 0x88: return push_kind(pk, FV_PK_BOOL, 1);
    case 0x89: return push_kind(pk, FV_PK_BOOL, 0);
    case 'X': return op_string(pk, 4);
    case 0x8c: return op_string(pk, 1);
    case 'K': FV_TRY(take_le(pk, 1, &v)); return push_int(pk, (int64_t)v);
    case 'M': FV_TRY(take_le(pk, 2, &v)); return push_int(pk, (int64_t)v);
    case 'J': FV_TRY(take_le(pk, 4, &v)); return push_int(pk, (int32_t)(uint32_t)v);
    case 0x8a: return op_long1(pk);
    case 'G': return op_binfloat(pk);
    case 't': FV_TRY(pop_mark(pk, &from)); return make_tuple(pk, from);
    case 0x85: return op_tuple_n(pk, 1);
    case 0x86: return op_tuple_n(pk, 2);
    case 0x87: return op_tuple_n(pk, 3);
    case 's': return fill(pk, pk->sp >= 2 ? pk->sp - 2 : 0, 1);
    case 'u': FV_TRY(pop_mark(pk, &from)); return fill(pk, from, 1);
    case 'a': return fill(pk, pk->sp >= 1 ? pk->sp - 1 : 0, 0);
    case 'e': FV_TRY(pop_mark(pk, &from)); return fill(pk, from, 0);
    case 'q': FV_TRY(take_le(pk, 1, &v)); return memo_put(pk, v);
    case 'r': FV_TRY(take_le(pk, 4, &v)); return memo_put(pk, v);
    case 0x94: return memo_put(pk, pk->nmemo); /* MEMOIZE: the next index */
    case 'h': FV_TRY(take_le(pk, 1, &v)); return memo_get(pk, v);
    case 'j': FV_TRY(take_le(pk, 4, &v)); return memo_get(pk, v);
    case 'c': return op_global(pk);
    case 0x93: return op_stack_global(pk);
    case 'R': return op_reduce(pk);
    case 'Q': return op_persid(pk);
    case 'b': return op_build(pk);
    default:
        return fv_err(FV_ERR_FORMAT, "%s: pickle opcode 0x%02x at byte %zu is not allowed in a "
                      "state dict", pk->name, op, pk->at);
    }
}

fv_status fv_pk_run(const char *name, const unsigned char *buf, size_t len, fv_pk **out_pk,
                    fv_pk_obj **out)
{
    fv_pk *pk = fv_calloc(1, sizeof *pk, "pickle interpreter");
    *out_pk = pk;
    *out = NULL;
    if (!pk)
        return FV_ERR_NOMEM;
    pk->name = name, pk->buf = buf, pk->len = len;
    while (pk->pos < pk->len) {
        pk->at = pk->pos;
        unsigned op = buf[pk->pos++];
        if (op == '.') { /* STOP: exactly one value left, no open mark */
            if (pk->sp != 1 || pk->nmarks)
                return bad(pk, "STOP with other than one value on the stack");
            *out = pk->stack[0];
            return FV_OK;
        }
        FV_TRY(step(pk, op));
    }
    return fv_err(FV_ERR_FORMAT, "%s: the pickle ends at byte %zu without STOP", name, len);
}
