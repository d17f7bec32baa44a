/* fuzz_probs.c - libFuzzer target for the probabilities CSV that `fovea ensemble` reads
 * (fv_probs_decode, as fv_probs_read calls it): any bytes give rows that hold what the reader
 * promises (an index per row, labels in [0, k), probabilities in [0, 1] summing to 1) or a
 * one-line error naming "fuzz.csv"; never a crash, a leak, undefined behaviour or an allocation
 * out of proportion. Seeds: corpus/fuzz_probs (make_corpus.c). */
#include "fuzz.h"
#include "nn/metrics.h"

#include <math.h>

static void check(const fv_probs *p)
{
    if (p->n < 1 || p->k < 1 || !p->labels || !p->p)
        abort();
    for (int64_t i = 0; i < p->n; i++) {
        double sum = 0;
        if (p->labels[i] < 0 || p->labels[i] >= p->k)
            abort();
        for (int c = 0; c < p->k; c++) {
            float v = p->p[i * p->k + c];
            if (!(v >= 0 && v <= 1))
                abort();
            sum += v;
        }
        if (!(fabs(sum - 1) <= 1e-3))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1); /* the reader's text ends with a NUL, as fv_read_file's */
    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    text[size] = '\0';
    fv_probs p;
    fv_clear_error();
    if (fv_probs_decode("fuzz.csv", text, size, &p) == FV_OK)
        check(&p);
    else
        fuzz_expect_error("fuzz.csv");
    fv_probs_free(&p);
    free(text);
    return 0;
}
