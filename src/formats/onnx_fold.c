/* onnx_fold.c - constant folding of what exporters wrap around a network: the shape glue of
 * PyTorch's x.view(x.size(0), -1) and torch.flatten (Shape, Gather, Unsqueeze, Squeeze, Concat,
 * ConstantOfShape, Cast, Slice, Reshape, Flatten, Transpose, arithmetic on shapes) and
 * Constant / Identity, computed at load time on constants in which the batch size is a symbol
 * (OX_BATCH): it may be moved and copied, never computed with. */
#include "formats/onnx_internal.h"

#include <string.h>

int64_t fv_ox_int_at(const ox_tensor *t, int64_t k)
{
    return t->isint ? t->i[k] : (int64_t)t->f[k];
}

/* Element k of t as double (the batch symbol refused by callers first). */
static double num_at(const ox_tensor *t, int64_t k)
{
    return t->isint ? (double)t->i[k] : (double)t->f[k];
}

static bool has_batch(const ox_tensor *t)
{
    for (int64_t k = 0; t->isint && k < t->numel; k++)
        if (t->i[k] == OX_BATCH)
            return true;
    return false;
}

/* Copies element s of src to element d of dst (same kind). */
static void put(ox_tensor *dst, int64_t d, const ox_tensor *src, int64_t s)
{
    if (dst->isint)
        dst->i[d] = src->i[s];
    else
        dst->f[d] = src->f[s];
}

static fv_status set_const(ox_ctx *c, const ox_node *n, int k, const ox_tensor *t)
{
    ox_val v = {.kind = OX_CONST, .t = *t};
    return fv_ox_set_val(c, n, k, &v);
}

/* Row-major strides of dims. */
static void strides_of(int ndim, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int k = ndim - 1; k >= 0; k--)
        st[k] = s, s *= dims[k];
}

static fv_status axis_of(ox_ctx *c, const ox_node *n, int64_t a, int rank, int *out)
{
    *out = 0;
    if (a < -rank || a >= rank)
        return fv_ox_err(c, n, FV_ERR_INVALID, "axis %lld is outside a rank-%d tensor",
                         (long long)a, rank);
    *out = (int)(a < 0 ? a + rank : a);
    return FV_OK;
}

/* ---------------------------------------------------------------- the ops */

static fv_status fold_constant(ox_ctx *c, const ox_node *n)
{
    ox_tensor t;
    const FvOnnx__AttributeProto *a;
    if ((a = fv_ox_attr(n, "value")) && a->t) {
        FV_TRY(fv_ox_tensor(c, a->t, n->out[0], &t));
    } else if ((a = fv_ox_attr(n, "value_float")) && a->has_f) {
        FV_TRY(fv_ox_new_tensor(c, &t, 0, NULL, 0));
        t.f[0] = a->f;
    } else if ((a = fv_ox_attr(n, "value_int")) && a->has_i) {
        FV_TRY(fv_ox_new_tensor(c, &t, 0, NULL, 1));
        t.i[0] = a->i;
    } else if ((a = fv_ox_attr(n, "value_floats"))) {
        int64_t d = (int64_t)a->n_floats;
        FV_TRY(fv_ox_new_tensor(c, &t, 1, &d, 0));
        if (a->n_floats)
            memcpy(t.f, a->floats, sizeof(float) * a->n_floats);
    } else if ((a = fv_ox_attr(n, "value_ints"))) {
        int64_t d = (int64_t)a->n_ints;
        FV_TRY(fv_ox_new_tensor(c, &t, 1, &d, 1));
        if (a->n_ints)
            memcpy(t.i, a->ints, sizeof(int64_t) * a->n_ints);
    } else {
        return fv_ox_err(c, n, FV_ERR_INVALID, "no value attribute fovea reads (value, "
                         "value_float(s), value_int(s))");
    }
    return set_const(c, n, 0, &t);
}

static fv_status fold_shape(ox_ctx *c, const ox_node *n, const ox_val *x)
{
    int64_t dims[OX_MAXR + 1];
    int r;
    if (x->kind == OX_NODE) {
        r = fv_ox_node_shape(c, x->node, dims);
    } else {
        r = x->t.ndim;
        memcpy(dims, x->t.dims, sizeof(int64_t) * (size_t)r);
    }
    int64_t start = fv_ox_attr_i(n, "start", 0), end = fv_ox_attr_i(n, "end", r);
    start = start < 0 ? start + r : start, end = end < 0 ? end + r : end;
    start = start < 0 ? 0 : start > r ? r : start, end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, 1, &len, 1));
    memcpy(t.i, dims + start, sizeof(int64_t) * (size_t)len);
    return set_const(c, n, 0, &t);
}

static fv_status fold_gather(ox_ctx *c, const ox_node *n, const ox_tensor *d,
                             const ox_tensor *ix)
{
    int ax;
    FV_TRY(axis_of(c, n, fv_ox_attr_i(n, "axis", 0), d->ndim, &ax));
    if (!ix->isint || d->ndim + ix->ndim - 1 > OX_MAXR)
        return fv_ox_err(c, n, FV_ERR_INVALID, "indices must be integers (rank at most %d)",
                         OX_MAXR);
    int64_t dims[OX_MAXR], outer = 1, inner = 1, r = 0;
    for (int k = 0; k < ax; k++)
        dims[r++] = d->dims[k], outer *= d->dims[k];
    for (int k = 0; k < ix->ndim; k++)
        dims[r++] = ix->dims[k];
    for (int k = ax + 1; k < d->ndim; k++)
        dims[r++] = d->dims[k], inner *= d->dims[k];
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, (int)r, dims, d->isint));
    int64_t na = d->dims[ax];
    for (int64_t o = 0, q = 0; o < outer; o++)
        for (int64_t j = 0; j < ix->numel; j++) {
            int64_t g = ix->i[j] < 0 ? ix->i[j] + na : ix->i[j];
            if (g < 0 || g >= na)
                return fv_ox_err(c, n, FV_ERR_INVALID, "index %lld is outside an axis of %lld",
                                 (long long)ix->i[j], (long long)na);
            for (int64_t i = 0; i < inner; i++)
                put(&t, q++, d, (o * na + g) * inner + i);
        }
    return set_const(c, n, 0, &t);
}

/* The axes of Squeeze / Unsqueeze: an attribute before opset 13, an input from 13. */
static int axes_of(ox_ctx *c, const ox_node *n, int64_t *axes)
{
    if (n->opset < 13)
        return fv_ox_attr_ints(c, n, "axes", axes, OX_MAXR);
    ox_val *a = fv_ox_in(c, n, 1);
    if (!a)
        return 0;
    if (a->kind != OX_CONST || !a->t.isint || a->t.numel > OX_MAXR) {
        fv_ox_err(c, n, FV_ERR_INVALID, "axes must be a constant of at most %d integers",
                  OX_MAXR);
        return -1;
    }
    for (int64_t k = 0; k < a->t.numel; k++)
        axes[k] = a->t.i[k];
    return (int)a->t.numel;
}

/* The shape Squeeze (unsqueeze 0) or Unsqueeze (1) makes of a rank-r shape. */
static fv_status squeeze_shape(ox_ctx *c, const ox_node *n, int unsq, int r, const int64_t *in,
                               int *outr, int64_t *out)
{
    int64_t axes[OX_MAXR];
    int na = axes_of(c, n, axes);
    if (na < 0)
        return fv_last_status();
    int rank = unsq ? r + na : r;
    if (rank > OX_MAXR)
        return fv_ox_err(c, n, FV_ERR_INVALID, "a result of rank %d (at most %d)", rank, OX_MAXR);
    bool mark[OX_MAXR] = {0};
    for (int k = 0; k < na; k++) {
        int a;
        FV_TRY(axis_of(c, n, axes[k], rank, &a));
        if (mark[a])
            return fv_ox_err(c, n, FV_ERR_INVALID, "axis %lld given twice", (long long)axes[k]);
        mark[a] = true;
    }
    *outr = 0;
    for (int k = 0, j = 0; k < rank; k++) {
        if (unsq) {
            out[(*outr)++] = mark[k] ? 1 : in[j++];
        } else if (na ? !mark[k] : in[k] != 1) {
            out[(*outr)++] = in[k];
        } else if (in[k] != 1) {
            return fv_ox_err(c, n, FV_ERR_INVALID, "squeezing axis %d of size %lld", k,
                             (long long)in[k]);
        }
    }
    return FV_OK;
}

fv_status fv_ox_squeeze_dims(ox_ctx *c, const ox_node *n, int r, const int64_t *in, int *outr,
                             int64_t *out)
{
    return squeeze_shape(c, n, strcmp(n->op, "Unsqueeze") == 0, r, in, outr, out);
}

/* The same values under another shape. */
static fv_status with_shape(ox_ctx *c, const ox_node *n, const ox_tensor *x, int r,
                            const int64_t *dims)
{
    ox_tensor t = *x;
    int64_t numel = 1;
    for (int k = 0; k < r; k++)
        numel *= dims[k], t.dims[k] = dims[k];
    if (numel != x->numel)
        return fv_ox_err(c, n, FV_ERR_SHAPE, "%lld values cannot take a shape of %lld",
                         (long long)x->numel, (long long)numel);
    t.ndim = r;
    return set_const(c, n, 0, &t);
}

/* The target of Reshape (0 copies, -1 infers) for a constant of shape in. */
static fv_status reshape_target(ox_ctx *c, const ox_node *n, const ox_tensor *x,
                                const ox_tensor *s, int64_t *dims)
{
    if (!s->isint || s->ndim != 1 || s->numel > OX_MAXR || has_batch(s))
        return fv_ox_err(c, n, FV_ERR_INVALID, "the shape must be at most %d integers",
                         OX_MAXR);
    int64_t known = 1, infer = -1;
    bool allowzero = fv_ox_attr_i(n, "allowzero", 0) != 0;
    for (int k = 0; k < s->numel; k++) {
        int64_t v = s->i[k];
        if (v == 0 && !allowzero) {
            if (k >= x->ndim)
                return fv_ox_err(c, n, FV_ERR_INVALID, "shape copies axis %d of a rank-%d "
                                 "tensor", k, x->ndim);
            v = x->dims[k];
        }
        if (v == -1 && infer < 0)
            infer = k;
        else if (v < 0)
            return fv_ox_err(c, n, FV_ERR_INVALID, "shape entry %lld", (long long)s->i[k]);
        else
            known *= v;
        dims[k] = v;
    }
    if (infer >= 0)
        dims[infer] = known ? x->numel / known : 0;
    return FV_OK;
}

static fv_status fold_concat(ox_ctx *c, const ox_node *n)
{
    ox_tensor *t0;
    FV_TRY(fv_ox_in_const(c, n, 0, "input", &t0));
    int ax;
    FV_TRY(axis_of(c, n, fv_ox_attr_i(n, "axis", 0), t0->ndim, &ax));
    int64_t dims[OX_MAXR];
    memcpy(dims, t0->dims, sizeof dims);
    dims[ax] = 0;
    int isint = 1;
    for (int k = 0; k < n->nin; k++) {
        ox_tensor *t;
        FV_TRY(fv_ox_in_const(c, n, k, "input", &t));
        for (int a = 0; a < t0->ndim; a++)
            if (t->ndim != t0->ndim || (a != ax && t->dims[a] != t0->dims[a]))
                return fv_ox_err(c, n, FV_ERR_SHAPE, "inputs of different shapes");
        dims[ax] += t->dims[ax];
        isint &= t->isint;
    }
    ox_tensor r;
    FV_TRY(fv_ox_new_tensor(c, &r, t0->ndim, dims, isint));
    int64_t outer = 1, inner = 1, q = 0;
    for (int a = 0; a < ax; a++)
        outer *= dims[a];
    for (int a = ax + 1; a < t0->ndim; a++)
        inner *= dims[a];
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n->nin; k++) {
            ox_tensor *t;
            FV_TRY(fv_ox_in_const(c, n, k, "input", &t));
            int64_t len = t->dims[ax] * inner;
            for (int64_t j = 0; j < len; j++, q++) {
                if (isint)
                    r.i[q] = t->i[o * len + j];
                else
                    r.f[q] = (float)num_at(t, o * len + j);
            }
        }
    return set_const(c, n, 0, &r);
}

static fv_status fold_cast(ox_ctx *c, const ox_node *n, const ox_tensor *x)
{
    int64_t to = fv_ox_attr_i(n, "to", 0);
    bool to_float = to == 1 || to == 10 || to == 11 || to == 16;
    bool to_int = to == 2 || to == 3 || to == 4 || to == 5 || to == 6 || to == 7 || to == 9 ||
                  to == 12 || to == 13;
    if (!to_float && !to_int)
        return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'to': type %lld is not supported",
                         (long long)to);
    if (to_float && has_batch(x))
        return fv_ox_err(c, n, FV_ERR_INVALID, "the batch size cast to a number (a computation "
                         "on the batch axis)");
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, x->ndim, x->dims, to_int));
    for (int64_t k = 0; k < x->numel; k++) {
        if (to_float)
            t.f[k] = (float)num_at(x, k);
        else if (to == 9)
            t.i[k] = num_at(x, k) != 0;
        else
            t.i[k] = x->isint ? x->i[k] : (int64_t)x->f[k];
    }
    return set_const(c, n, 0, &t);
}

/* starts / ends / axes / steps of Slice: attributes before opset 10, inputs from 10. */
static int slice_arg(ox_ctx *c, const ox_node *n, int input, const char *attr, int64_t *v)
{
    if (n->opset < 10)
        return fv_ox_attr_ints(c, n, attr, v, OX_MAXR);
    ox_val *a = fv_ox_in(c, n, input);
    if (!a)
        return 0;
    if (a->kind != OX_CONST || !a->t.isint || a->t.numel > OX_MAXR || has_batch(&a->t)) {
        fv_ox_err(c, n, FV_ERR_INVALID, "%s must be a constant of at most %d integers", attr,
                  OX_MAXR);
        return -1;
    }
    memcpy(v, a->t.i, sizeof(int64_t) * (size_t)a->t.numel);
    return (int)a->t.numel;
}

static fv_status fold_slice(ox_ctx *c, const ox_node *n, const ox_tensor *x)
{
    int64_t st[OX_MAXR], en[OX_MAXR], ax[OX_MAXR], sp[OX_MAXR];
    int ns = slice_arg(c, n, 1, "starts", st), ne = slice_arg(c, n, 2, "ends", en);
    int na = slice_arg(c, n, 3, "axes", ax), np = slice_arg(c, n, 4, "steps", sp);
    if (ns < 0 || ne < 0 || na < 0 || np < 0)
        return fv_last_status();
    if (ns != ne || (na && na != ns) || (np && np != ns))
        return fv_ox_err(c, n, FV_ERR_INVALID, "starts, ends, axes and steps of different "
                         "lengths");
    int64_t from[OX_MAXR], step[OX_MAXR], dims[OX_MAXR];
    for (int a = 0; a < x->ndim; a++)
        from[a] = 0, step[a] = 1, dims[a] = x->dims[a];
    for (int k = 0; k < ns; k++) {
        int a;
        FV_TRY(axis_of(c, n, na ? ax[k] : k, x->ndim, &a));
        int64_t d = x->dims[a], s = st[k], e = en[k], p = np ? sp[k] : 1;
        if (p == 0)
            return fv_ox_err(c, n, FV_ERR_INVALID, "a step of 0");
        s = s < 0 ? (s < -d ? 0 : s + d) : s;
        e = e < 0 ? (e < -d ? -1 : e + d) : e;
        if (p > 0) {
            s = s > d ? d : s, e = e > d ? d : e < 0 ? 0 : e;
        } else {
            s = s > d - 1 ? d - 1 : s, e = e > d - 1 ? d - 1 : e;
        }
        int64_t cnt = p > 0 ? (e - s + p - 1) / p : (s - e + (-p) - 1) / (-p);
        from[a] = s, step[a] = p, dims[a] = cnt > 0 ? cnt : 0;
    }
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, x->ndim, dims, x->isint));
    int64_t xs[OX_MAXR];
    strides_of(x->ndim, x->dims, xs);
    for (int64_t q = 0; q < t.numel; q++) {
        int64_t rem = q, src = 0;
        for (int a = x->ndim - 1; a >= 0; a--) {
            int64_t i = rem % dims[a];
            rem /= dims[a];
            src += (from[a] + i * step[a]) * xs[a];
        }
        put(&t, q, x, src);
    }
    return set_const(c, n, 0, &t);
}

static fv_status fold_transpose(ox_ctx *c, const ox_node *n, const ox_tensor *x)
{
    int64_t perm[OX_MAXR], dims[OX_MAXR], xs[OX_MAXR], ps[OX_MAXR];
    int np = fv_ox_attr_ints(c, n, "perm", perm, OX_MAXR);
    if (np < 0)
        return fv_last_status();
    for (int a = 0; !np && a < x->ndim; a++)
        perm[a] = x->ndim - 1 - a;
    if (np && np != x->ndim)
        return fv_ox_err(c, n, FV_ERR_INVALID, "perm has %d axes for a rank-%d tensor", np,
                         x->ndim);
    strides_of(x->ndim, x->dims, xs);
    unsigned seen = 0;
    for (int a = 0; a < x->ndim; a++) {
        if (perm[a] < 0 || perm[a] >= x->ndim || (seen >> perm[a] & 1))
            return fv_ox_err(c, n, FV_ERR_INVALID, "perm is not a permutation");
        seen |= 1u << perm[a];
        dims[a] = x->dims[perm[a]], ps[a] = xs[perm[a]];
    }
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, x->ndim, dims, x->isint));
    for (int64_t q = 0; q < t.numel; q++) {
        int64_t rem = q, src = 0;
        for (int a = x->ndim - 1; a >= 0; a--)
            src += (rem % dims[a]) * ps[a], rem /= dims[a];
        put(&t, q, x, src);
    }
    return set_const(c, n, 0, &t);
}

/* Add, Sub, Mul, Div of constants with NumPy broadcasting. */
static fv_status fold_arith(ox_ctx *c, const ox_node *n, const ox_tensor *a, const ox_tensor *b)
{
    if (has_batch(a) || has_batch(b))
        return fv_ox_err(c, n, FV_ERR_INVALID, "arithmetic on the batch size (a computation on "
                         "the batch axis)");
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t dims[OX_MAXR], sa[OX_MAXR], sb[OX_MAXR], as[OX_MAXR], bs[OX_MAXR];
    strides_of(a->ndim, a->dims, as);
    strides_of(b->ndim, b->dims, bs);
    for (int k = 0; k < r; k++) {
        int ka = k - (r - a->ndim), kb = k - (r - b->ndim);
        int64_t da = ka >= 0 ? a->dims[ka] : 1, db = kb >= 0 ? b->dims[kb] : 1;
        if (da != db && da != 1 && db != 1)
            return fv_ox_err(c, n, FV_ERR_SHAPE, "operands do not broadcast");
        dims[k] = da > db ? da : db;
        if (da == 0 || db == 0)
            dims[k] = 0;
        sa[k] = ka >= 0 && da != 1 ? as[ka] : 0;
        sb[k] = kb >= 0 && db != 1 ? bs[kb] : 0;
    }
    bool isint = a->isint && b->isint;
    ox_tensor t;
    FV_TRY(fv_ox_new_tensor(c, &t, r, dims, isint));
    char op = n->op[0];
    for (int64_t q = 0; q < t.numel; q++) {
        int64_t rem = q, ia = 0, ib = 0;
        for (int k = r - 1; k >= 0; k--) {
            int64_t i = rem % dims[k];
            rem /= dims[k];
            ia += i * sa[k], ib += i * sb[k];
        }
        if (isint) {
            int64_t x = a->i[ia], y = b->i[ib];
            if (op == 'D' && y == 0)
                return fv_ox_err(c, n, FV_ERR_INVALID, "integer division by zero");
            t.i[q] = op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y;
        } else {
            double x = num_at(a, ia), y = num_at(b, ib);
            t.f[q] = (float)(op == 'A' ? x + y : op == 'S' ? x - y : op == 'M' ? x * y : x / y);
        }
    }
    return set_const(c, n, 0, &t);
}

static fv_status fold_const_of_shape(ox_ctx *c, const ox_node *n, const ox_tensor *s)
{
    if (!s->isint || s->ndim != 1 || s->numel > OX_MAXR)
        return fv_ox_err(c, n, FV_ERR_INVALID, "the shape must be at most %d integers", OX_MAXR);
    if (has_batch(s))
        return fv_ox_err(c, n, FV_ERR_INVALID, "a constant as large as the batch (a tensor "
                         "with a batch axis that is no layer's output)");
    ox_tensor v = {.numel = 1}, t;
    float zero = 0;
    v.f = &zero;
    const FvOnnx__AttributeProto *a = fv_ox_attr(n, "value");
    if (a && a->t) {
        FV_TRY(fv_ox_tensor(c, a->t, "value", &v));
        if (v.numel != 1)
            return fv_ox_err(c, n, FV_ERR_INVALID, "attribute 'value' must hold one value");
    }
    FV_TRY(fv_ox_new_tensor(c, &t, (int)s->numel, s->i, v.isint));
    for (int64_t k = 0; k < t.numel; k++)
        put(&t, k, &v, 0);
    return set_const(c, n, 0, &t);
}

/* ---------------------------------------------------------------- dispatch */

static bool all_const(ox_ctx *c, const ox_node *n)
{
    for (int k = 0; k < n->nin; k++) {
        ox_val *v = fv_ox_in(c, n, k);
        if (v && v->kind != OX_CONST)
            return false;
    }
    return n->nin > 0;
}

fv_status fv_ox_fold(ox_ctx *c, const ox_node *n, bool *done)
{
    const char *op = n->op;
    *done = true;
    if (strcmp(op, "Constant") == 0)
        return fold_constant(c, n);
    ox_val *x = fv_ox_in(c, n, 0);
    if (strcmp(op, "Shape") == 0 && x && x->kind != OX_GONE)
        return fold_shape(c, n, x);
    if (!all_const(c, n) || !x) {
        *done = false;
        return FV_OK;
    }
    const ox_tensor *t = &x->t;
    ox_val *y = fv_ox_in(c, n, 1);
    int64_t dims[OX_MAXR];
    int r;
    if (strcmp(op, "Identity") == 0 || strcmp(op, "Dropout") == 0)
        return set_const(c, n, 0, t);
    if (strcmp(op, "Gather") == 0 && y)
        return fold_gather(c, n, t, &y->t);
    if (strcmp(op, "Squeeze") == 0 || strcmp(op, "Unsqueeze") == 0) {
        FV_TRY(fv_ox_squeeze_dims(c, n, t->ndim, t->dims, &r, dims));
        return with_shape(c, n, t, r, dims);
    }
    if (strcmp(op, "Concat") == 0)
        return fold_concat(c, n);
    if (strcmp(op, "ConstantOfShape") == 0)
        return fold_const_of_shape(c, n, t);
    if (strcmp(op, "Cast") == 0)
        return fold_cast(c, n, t);
    if (strcmp(op, "Slice") == 0)
        return fold_slice(c, n, t);
    if (strcmp(op, "Transpose") == 0)
        return fold_transpose(c, n, t);
    if (strcmp(op, "Reshape") == 0 && y) {
        FV_TRY(reshape_target(c, n, t, &y->t, dims));
        return with_shape(c, n, t, (int)y->t.numel, dims);
    }
    if (strcmp(op, "Flatten") == 0) {
        int ax;
        FV_TRY(axis_of(c, n, fv_ox_attr_i(n, "axis", 1), t->ndim + 1, &ax));
        dims[0] = dims[1] = 1;
        for (int k = 0; k < t->ndim; k++)
            dims[k >= ax] *= t->dims[k];
        return with_shape(c, n, t, 2, dims);
    }
    if ((strcmp(op, "Add") == 0 || strcmp(op, "Sub") == 0 || strcmp(op, "Mul") == 0 ||
         strcmp(op, "Div") == 0) && y)
        return fold_arith(c, n, t, &y->t);
    *done = false;
    return FV_OK;
}
