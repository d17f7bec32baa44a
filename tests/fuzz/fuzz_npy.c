/* fuzz_npy.c - libFuzzer target for the .npy reader (fv_npy_read, through fmemopen): the input
 * is read whole and with a limit of one row; a result must hold exactly the values its header
 * promises, all finite. It is then made a data set with a copy of itself as the targets, for
 * regression and for classification (fv_npy_dataset); or a one-line error naming "fuzz.npy".
 * Never a crash, a leak or undefined behaviour. Seeds: corpus/fuzz_npy (make_corpus.c). */
#include "data/data.h"
#include "fuzz.h"

#include <math.h>

static fv_tensor *read_npy(const uint8_t *data, size_t size, int64_t limit, fv_npy_info *in)
{
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!f)
        abort();
    fv_clear_error();
    fv_tensor *t = fv_npy_read(f, size, "fuzz.npy", limit, in);
    fclose(f);
    if (!t) {
        fuzz_expect_error("fuzz.npy");
        return NULL;
    }
    uint64_t numel = 1;
    for (int i = 0; i < in->ndim; i++)
        numel *= (uint64_t)(i == 0 && limit > 0 && limit < in->dims[0] ? limit : in->dims[i]);
    if (t->ndim != in->ndim || (uint64_t)fv_tensor_numel(t) != numel ||
        numel * (uint64_t)in->itemsize > size)
        abort();
    for (uint64_t i = 0; i < numel; i++)
        if (!isfinite(t->data[i]))
            abort();
    return t;
}

/* The tensor as samples and (a copy) as targets. */
static void as_set(fv_tensor *x, const fv_npy_info *in, int regression)
{
    fv_vec_args a = {.regression = regression};
    fv_tensor *y = fv_tensor_clone(x);
    if (!y)
        abort();
    fv_clear_error();
    fv_dataset *d = fv_npy_dataset(x, in, "fuzz.npy", y, in, "fuzz.npy", &a);
    if (!d) {
        fuzz_expect_error("fuzz.npy");
        return;
    }
    int64_t n = d->x->dims[0];
    if (n < 1 || d->y->dims[0] != n || (!regression && d->y->ndim != 1) ||
        (regression && d->y->ndim != 2))
        abort();
    for (int64_t i = 0; !regression && i < n; i++)
        if (!(d->y->data[i] >= 0 && d->y->data[i] < (float)d->num_classes))
            abort();
    fv_dataset_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_npy_info in;
    fv_tensor *t = read_npy(data, size, 0, &in);
    if (t) {
        fv_tensor *c = fv_tensor_clone(t);
        if (!c)
            abort();
        as_set(t, &in, 1);
        as_set(c, &in, 0);
    }
    fv_tensor_free(read_npy(data, size, 1, &in));
    return 0;
}
