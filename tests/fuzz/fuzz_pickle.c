/* fuzz_pickle.c - libFuzzer target for the restricted pickle interpreter of PyTorch checkpoints
 * (data.pkl, src/io/pickle.c) on raw bytes: any input gives a value or a one-line error naming
 * "fuzz.pkl"; opcodes and globals outside the allow-list are refused, never executed; never a
 * crash, a leak, undefined behaviour or a hang. The value found is walked (a bounded number of
 * visits: memo references make DAGs and even cycles). Seeds: corpus/fuzz_pickle (torch.save's
 * data.pkl of tests/data/torch_pt/, and the hostile pickles there). */
#include "fuzz.h"
#include "io/pickle.h"

/* Visits o and what it holds, at most *budget objects in all; returns a checksum. */
static int64_t walk(const fv_pk_obj *o, int depth, long *budget)
{
    if (!o || depth > 64 || --*budget < 0)
        return 0;
    int64_t sum = o->kind + o->n;
    if (o->kind == FV_PK_TENSOR) {
        if (o->ndim > FV_PK_MAX_DIMS || o->dtype < 0 || fv_pk_dtype_size(o->dtype) < 1)
            abort();
        sum += o->offset + walk(o->storage, depth + 1, budget);
    }
    if (o->kind == FV_PK_STR && (!o->s || o->s[o->len] != 0))
        abort();
    for (int i = 0; i < o->n; i++)
        sum += walk(o->items[i], depth + 1, budget);
    return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_pk *pk = NULL;
    fv_pk_obj *root = NULL;
    if (fv_pk_run("fuzz.pkl", data, size, &pk, &root) != FV_OK) {
        fuzz_expect_error("fuzz.pkl");
    } else {
        long budget = 100000;
        volatile int64_t sum = walk(root, 0, &budget);
        (void)sum;
        (void)fv_pk_dict_get(root, "state_dict");
    }
    fv_pk_free(pk);
    return 0;
}
