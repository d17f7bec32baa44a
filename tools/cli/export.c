/* export.c - `fovea export MODEL --onnx OUT.onnx [--opset N]`: a model (zoo network or .fv, with
 * --weights, else its initial weights drawn by --seed) written as ONNX by fv_model_save_onnx.
 * --sample DIR also writes a fixed input batch (DIR/input.npy) and fovea's outputs for it
 * (DIR/expected.npy), so another runtime can be checked against fovea on the same values. */
#include "cli.h"

#include <stdint.h>
#include <string.h>

#define SAMPLE_BATCH 2

/* An .npy file (format 1.0, little-endian float32, C order) of t's values. */
static int write_npy(const char *path, const fv_tensor *t)
{
    char dict[256];
    int k = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < t->ndim; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld, ", (long long)t->dims[i]);
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    int hlen = k + 1; /* and a newline */
    hlen += (64 - (10 + hlen) % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 0xff, f);
    fputc(hlen >> 8, f);
    fprintf(f, "%s%*s\n", dict, hlen - k - 1, "");
    int64_t n = fv_tensor_numel(t);
    size_t wrote = fwrite(t->data, sizeof(float), (size_t)n, f);
    return fclose(f) != 0 || wrote != (size_t)n ? -1 : 0;
}

/* A fixed batch of SAMPLE_BATCH inputs of the model's sample shape, uniform in [-1, 1) from
 * seed (a 64-bit LCG: the values depend on the seed only). */
static fv_tensor *sample_input(const fv_model *m, int seed)
{
    int64_t dims[5] = {SAMPLE_BATCH};
    int nd = fv_node_shape(m, 0, dims + 1);
    fv_tensor *x = nd > 0 ? fv_tensor_new(nd + 1, dims) : NULL;
    uint64_t s = 0x9e3779b97f4a7c15u ^ (uint64_t)seed;
    for (int64_t i = 0; x && i < fv_tensor_numel(x); i++) {
        s = s * 6364136223846793005u + 1442695040888963407u;
        x->data[i] = (float)((double)(s >> 11) / 9007199254740992.0 * 2 - 1);
    }
    return x;
}

/* DIR/input.npy and DIR/expected.npy (fv_model_predict's outputs). */
static int write_sample(const opts *o, fv_model *m)
{
    char in_path[1100], out_path[1100], msg[1200];
    if (make_dir(o->sample) != 0) {
        snprintf(msg, sizeof msg, "%.1000s: cannot create the folder", o->sample);
        return fail(msg);
    }
    snprintf(in_path, sizeof in_path, "%s/input.npy", o->sample);
    snprintf(out_path, sizeof out_path, "%s/expected.npy", o->sample);
    fv_tensor *x = sample_input(m, o->seed), *y = NULL;
    int rc = !x || fv_model_predict(m, x, &y) != FV_OK ? fail_lib() : 0;
    if (rc == 0 && (write_npy(in_path, x) != 0 || write_npy(out_path, y) != 0)) {
        snprintf(msg, sizeof msg, "%.1000s: cannot write the sample", o->sample);
        rc = fail(msg);
    }
    fv_tensor_free(x);
    fv_tensor_free(y);
    return rc;
}

/* The model: MODEL (with --weights loaded when given), or the one --weights describes. */
static fv_model *export_model(const opts *o)
{
    const char *path = o->npos > 0 ? o->pos[0] : NULL;
    if (!o->weights) { /* compiled for inference only: no optimizer state */
        fv_model *m = open_model(o, path, 0, 0, 0, 0);
        if (!m || fv_model_compile(m, .loss = FV_LOSS_NONE, .seed = (uint64_t)o->seed) != FV_OK) {
            fail_lib();
            fv_model_free(m);
            return NULL;
        }
        return m;
    }
    fv_weights_info *info = weights_info(o);
    if (!info) {
        fail_lib();
        return NULL;
    }
    fv_model *m = load_trained(o, path, info, 0, 0, 0, 0);
    fv_weights_info_free(info);
    return m;
}

int cmd_export(const opts *o)
{
    if (!o->onnx)
        return fail("export needs --onnx OUT.onnx");
    if (o->npos > 1 || (o->npos == 0 && !o->weights))
        return fail("export takes one MODEL (a .fv file or a zoo network; it may be left out "
                    "when --weights describes its model)");
    fv_model *m = export_model(o);
    if (!m)
        return 1;
    int rc = fv_model_save_onnx(m, o->onnx, o->opset) != FV_OK ? fail_lib() : 0;
    if (rc == 0 && o->sample)
        rc = write_sample(o, m);
    if (rc == 0 && !o->quiet)
        printf("wrote %s (ONNX opset %d)\n", o->onnx, o->opset ? o->opset : 13);
    fv_model_free(m);
    return rc;
}
