/* fuzz_torch_pt.c - libFuzzer target for PyTorch checkpoints as weights (src/io/torch_pt.c: the zip
 * archive through libzip, data.pkl, the state dict, its tensors gathered from their storages), in
 * memory: any bytes give a safetensors view of the tensors, each of which then reads, or a
 * one-line error naming "fuzz.pt"; never a crash, a leak, undefined behaviour or an allocation
 * out of proportion to the input. Seeds: corpus/fuzz_torch_pt (the small files of
 * tests/data/torch_pt/: every dtype, nested, views, and the hostile ones). */
#include "fuzz.h"
#include "io/torch_pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_st_file *f = fv_pt_open_mem("fuzz.pt", data, size);
    if (!f) {
        fuzz_expect_error("fuzz.pt");
        return 0;
    }
    for (int i = 0; i < fv_st_count(f); i++) {
        const char *name = fv_st_name(f, i);
        if (fv_st_check_dtype(f, i) == FV_OK)
            fuzz_expect_tensor(fv_st_get(f, name), "fuzz.pt");
    }
    fv_st_close(f);
    return 0;
}
