/* fuzz_cifar.c - libFuzzer target for the CIFAR-10 and CIFAR-100 binary batches: the input is
 * read as a CIFAR-10 test batch and as a CIFAR-100 one (the loaders take a folder, so it is
 * written to a private temporary one first). Each gives a data set of exactly the records the
 * bytes hold, labels as stored, or a one-line error naming the file; never a crash, a leak or
 * undefined behaviour. Seeds: corpus/fuzz_cifar (make_corpus.c). */
#include "fuzz.h"

#include <math.h>

/* The loader's result against the bytes: record count, labels, first and last pixel. */
static void check(fv_dataset *d, const uint8_t *data, size_t size, int label_bytes, int classes,
                  const char *path)
{
    size_t rec = (size_t)label_bytes + 3072;
    if (!d) {
        fuzz_expect_error(path);
        return;
    }
    int64_t n = d->x->dims[0];
    if (size == 0 || (size_t)n * rec != size || d->y->dims[0] != n || d->num_classes != classes)
        abort();
    for (int64_t i = 0; i < n; i++) {
        const uint8_t *r = data + (size_t)i * rec;
        if (d->y->data[i] != (float)r[label_bytes - 1] || r[label_bytes - 1] >= classes ||
            fabsf(d->x->data[i * 3072] - r[label_bytes] / 255.0f) > 1e-6f ||
            fabsf(d->x->data[i * 3072 + 3071] - r[label_bytes + 3071] / 255.0f) > 1e-6f)
            abort();
    }
    fv_dataset_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *c10 = fuzz_tmp_file("test_batch.bin"), *c100 = fuzz_tmp_file("test.bin");
    fuzz_write(c10, data, size);
    fuzz_write(c100, data, size);
    fv_clear_error();
    check(fv_dataset_load_cifar10(fuzz_dir, 0), data, size, 1, 10, c10);
    fv_clear_error();
    check(fv_dataset_load_cifar100(fuzz_dir, 0), data, size, 2, 100, c100);
    return 0;
}
