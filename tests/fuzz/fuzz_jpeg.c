/* fuzz_jpeg.c - libFuzzer target for the JPEG decoder: any bytes give a result or NULL with
 * a one-line error naming "fuzz.jpg", never a crash, an exit, a leak or undefined behaviour.
 * Built with -DFV_FUZZ=ON (clang): ./fuzz_jpeg -max_total_time=60 CORPUS_DIR
 * (tests/data/fashion_bag.jpg is a seed). */
#include "data/data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int ok;
    fv_clear_error();
    fv_tensor *t = fv_jpeg_decode("fuzz.jpg", data, size, 0); /* the CLI's default pixel limit */
    ok = t != NULL;
    fv_tensor_free(t);
    const char *e = fv_last_error();
    if (!ok && (strncmp(e, "fuzz.jpg", strlen("fuzz.jpg")) != 0 || strchr(e, '\n')))
        abort();
    return 0;
}
