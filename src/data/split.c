/* split.c - a validation split carved from a data set: a seeded random share of its samples,
 * stratified by class when asked (each class gives the same share), both parts keeping the
 * samples' order and the class names. What early stopping, plateau schedules and best checkpoints
 * watch, so that the test split is left for the end. */
#include "data/data.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* round(fraction * n), halves up: the share of n samples that goes to validation. */
static int64_t share(double fraction, int64_t n)
{
    return (int64_t)floor(fraction * (double)n + 0.5);
}

/* The stratified split needs one class index in [0, num_classes) per sample. */
static fv_status check_labels(const fv_dataset *d, int64_t n)
{
    if (!d->y || d->num_classes < 1 || fv_tensor_numel(d->y) != n)
        return fv_err(FV_ERR_INVALID, "data set '%s': a stratified split needs one class index "
                      "per sample (it has %d classes, %lld target values for %lld samples)",
                      d->name, d->num_classes, d->y ? (long long)fv_tensor_numel(d->y) : 0LL,
                      (long long)n);
    for (int64_t i = 0; i < n; i++) {
        float t = d->y->data[i];
        if (!(t >= 0 && t < (float)d->num_classes && t == floorf(t)))
            return fv_err(FV_ERR_INVALID, "data set '%s': sample %lld has label %g, not a class "
                          "index in [0, %d)", d->name, (long long)i, (double)t, d->num_classes);
    }
    return FV_OK;
}

/* Shuffles idx[0..n) with r (Fisher-Yates) and marks its first k entries in `val`. */
static void pick(fv_rng *r, int64_t *idx, int64_t n, int64_t k, unsigned char *val)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)fv_rng_below(r, (uint64_t)i + 1), t = idx[i];
        idx[i] = idx[j], idx[j] = t;
    }
    for (int64_t i = 0; i < k; i++)
        val[idx[i]] = 1;
}

/* Marks the validation samples: per class (samples grouped by class, in order) or over all. */
static fv_status mark(const fv_dataset *d, int64_t n, double fraction, uint64_t seed,
                      int stratified, unsigned char *val)
{
    int nc = stratified ? d->num_classes : 1;
    int64_t *idx = fv_malloc(sizeof(int64_t) * (size_t)n, "split order");
    int64_t *start = fv_calloc((size_t)nc + 1, sizeof(int64_t), "split classes");
    fv_status st = idx && start ? FV_OK : FV_ERR_NOMEM;
    for (int64_t i = 0; st == FV_OK && stratified && i < n; i++)
        start[(int)d->y->data[i] + 1]++;
    for (int c = 0; st == FV_OK && c < nc; c++)
        start[c + 1] += start[c];
    if (!stratified && st == FV_OK)
        start[1] = n;
    for (int64_t i = 0; st == FV_OK && i < n; i++) /* counting sort by class: stable */
        idx[start[stratified ? (int)d->y->data[i] : 0]++] = i;
    fv_rng r;
    fv_rng_seed(&r, seed);
    int64_t from = 0;
    for (int c = 0; st == FV_OK && c < nc; c++) { /* start[c] is now class c's end */
        int64_t cn = start[c] - from;
        pick(&r, idx + from, cn, share(fraction, cn), val);
        from = start[c];
    }
    fv_free(idx);
    fv_free(start);
    return st;
}

/* Copies of the rows of t whose val flag is `which`, in order (rows: count of them). */
static fv_tensor *gather(const fv_tensor *t, const unsigned char *val, int which, int64_t rows)
{
    int64_t dims[FV_MAX_DIMS], n = t->dims[0], per = n ? fv_tensor_numel(t) / n : 0;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->ndim);
    dims[0] = rows;
    fv_tensor *o = fv_tensor_new(t->ndim, dims);
    for (int64_t i = 0, r = 0; o && i < n; i++)
        if (val[i] == which)
            memcpy(o->data + per * r++, t->data + per * i, sizeof(float) * (size_t)per);
    return o;
}

/* One part: the chosen rows, d's classes and names, the given name. */
static fv_dataset *part(const fv_dataset *d, const unsigned char *val, int which, int64_t rows,
                        const char *name)
{
    fv_dataset *p = fv_calloc(1, sizeof *p, "data set");
    if (!p)
        return NULL;
    p->num_classes = d->num_classes;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->x = gather(d->x, val, which, rows);
    p->y = d->y ? gather(d->y, val, which, rows) : NULL;
    int ok = p->x && (!d->y || p->y);
    if (ok && d->class_names) {
        int nc = d->num_classes > 0 ? d->num_classes : 0;
        p->class_names = fv_calloc((size_t)(nc ? nc : 1), sizeof(char *), "class names");
        ok = p->class_names != NULL;
        for (int k = 0; ok && k < nc; k++)
            ok = (p->class_names[k] = fv_strdup(d->class_names[k] ? d->class_names[k] : "",
                                                "class name")) != NULL;
    }
    if (!ok) {
        fv_dataset_free(p);
        return NULL;
    }
    return p;
}

static fv_status check_split(const fv_dataset *d, double fraction, int stratified)
{
    if (!d || !d->x || d->x->ndim < 1)
        return fv_err(FV_ERR_INVALID, "split: no data set");
    int64_t n = d->x->dims[0];
    if (!(fraction > 0 && fraction < 1))
        return fv_err(FV_ERR_INVALID, "data set '%s': validation fraction %g is not between 0 "
                      "and 1 (both excluded)", d->name, fraction);
    if (!fv_tensor_is_contiguous(d->x) || (d->y && !fv_tensor_is_contiguous(d->y)))
        return fv_err(FV_ERR_INVALID, "data set '%s': a split needs contiguous tensors",
                      d->name);
    if (d->y && (d->y->ndim < 1 || d->y->dims[0] != n))
        return fv_err(FV_ERR_SHAPE, "data set '%s': %lld targets for %lld samples", d->name,
                      (long long)d->y->dims[0], (long long)n);
    return stratified ? check_labels(d, n) : FV_OK;
}

fv_status fv_dataset_split(const fv_dataset *d, double fraction, uint64_t seed, int stratified,
                           fv_dataset **train, fv_dataset **val)
{
    *train = *val = NULL;
    FV_TRY(check_split(d, fraction, stratified));
    int64_t n = d->x->dims[0], nv = 0;
    unsigned char *isval = fv_calloc((size_t)(n ? n : 1), 1, "split flags");
    if (!isval)
        return FV_ERR_NOMEM;
    fv_status st = mark(d, n, fraction, seed, stratified, isval);
    for (int64_t i = 0; i < n; i++)
        nv += isval[i];
    if (st == FV_OK && (nv == 0 || nv == n))
        st = fv_err(FV_ERR_INVALID, "data set '%s': a validation fraction of %g of its %lld "
                    "samples leaves the %s part empty", d->name, fraction, (long long)n,
                    nv ? "training" : "validation");
    char name[sizeof d->name];
    snprintf(name, sizeof name, "%.40s (validation)", d->name);
    if (st == FV_OK && (!(*train = part(d, isval, 0, n - nv, d->name)) ||
                        !(*val = part(d, isval, 1, nv, name)))) {
        fv_dataset_free(*train);
        *train = NULL;
        st = FV_ERR_NOMEM;
    }
    fv_free(isval);
    return st;
}
