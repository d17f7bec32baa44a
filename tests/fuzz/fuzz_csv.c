/* fuzz_csv.c - libFuzzer target for the CSV reader (fv_csv_read, through fmemopen): the input is
 * read as a classification set, as a test split labelled with that set's classes, as regression
 * with the first column the target and no header, and with its first two rows only. Each gives a
 * data set whose labels are class indices of its classes and whose values are finite, or a
 * one-line error naming "fuzz.csv"; never a crash, a leak or undefined behaviour. Seeds:
 * corpus/fuzz_csv (make_corpus.c). */
#include "data/data.h"
#include "fuzz.h"

#include <math.h>

/* The set read from the bytes with args a (NULL: refused, with a proper error). */
static fv_dataset *read_as(const uint8_t *data, size_t size, const fv_vec_args *a)
{
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!f)
        abort();
    fv_clear_error();
    fv_dataset *d = fv_csv_read(f, "fuzz.csv", a);
    fclose(f);
    if (!d) {
        fuzz_expect_error("fuzz.csv");
        return NULL;
    }
    int64_t n = d->x->dims[0];
    if (n < 1 || d->x->ndim != 2 || d->x->dims[1] < 1 || d->y->dims[0] != n ||
        (a->limit > 0 && n > a->limit))
        abort();
    for (int64_t i = 0; i < fv_tensor_numel(d->x); i++)
        if (!isfinite(d->x->data[i]))
            abort();
    for (int64_t i = 0; i < n; i++) {
        float y = d->y->data[i];
        if (!isfinite(y) || (!a->regression && !(y >= 0 && y < (float)d->num_classes)))
            abort();
    }
    for (int k = 0; !a->regression && k < d->num_classes; k++)
        if (!fv_dataset_class_name(d, k))
            abort();
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_vec_args cls = {0}, reg = {.regression = 1, .target = "0", .header = -1},
                two = {.limit = 2};
    fv_dataset *d = read_as(data, size, &cls);
    fv_vec_args test = {.classes = d};
    fv_dataset_free(d ? read_as(data, size, &test) : NULL);
    fv_dataset_free(d);
    fv_dataset_free(read_as(data, size, &reg));
    fv_dataset_free(read_as(data, size, &two));
    return 0;
}
