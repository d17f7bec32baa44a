/* fuzz_onnx.c - libFuzzer target for the ONNX importer (fv_model_load_onnx_mem): any bytes are
 * imported or refused with one line naming "fuzz.onnx"; an imported model is compiled and run
 * on one zero sample when its activations are at most 2^22 values (a 900-byte file can describe
 * a network of gigabytes, which is no bug). Never a crash, a leak or undefined behaviour.
 * Seeds: corpus/fuzz_onnx (the committed test models of tests/golden/onnx). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_model *m = fv_model_load_onnx_mem(data, size, "fuzz.onnx");
    if (!m) {
        fuzz_expect_error("fuzz.onnx");
        return 0;
    }
    int64_t dims[FV_MAX_DIMS];
    int nd = fv_node_shape(m, 0, dims + 1);
    dims[0] = 1;
    int64_t numel = 1, total = 0; /* a small file may describe a large network: run small ones */
    for (int k = 1; k <= nd; k++)
        numel *= dims[k];
    for (int i = 0; i < fv_model_num_nodes(m) && total <= (1 << 22); i++) {
        int64_t d[FV_MAX_DIMS], e = 1;
        for (int k = 0, r = fv_node_shape(m, i, d); k < r; k++)
            e = e > (1 << 22) ? e : e * d[k];
        total += e;
    }
    if (numel <= (1 << 20) && total <= (1 << 22) && fv_model_compile(m) == FV_OK) {
        fv_tensor *x = fv_tensor_new(nd + 1, dims), *y = NULL;
        if (x && fv_model_predict(m, x, &y) == FV_OK)
            fv_tensor_free(y);
        fv_tensor_free(x);
    }
    fv_model_free(m);
    return 0;
}
