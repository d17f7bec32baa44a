/* import.c - `fovea import MODEL.onnx [-o OUT.fv]`: an ONNX model imported (fv_model_load_onnx),
 * its summary printed, and written as fovea's text format (OUT.fv, default the ONNX file's name
 * with .fv) with its weights beside it (OUT.safetensors), which train, eval and predict then
 * take as MODEL.fv --weights OUT.safetensors. */
#include "cli.h"

#include <string.h>

/* OUT with its extension replaced by ext (".fv", ".safetensors") into buf. */
static int with_ext(const char *path, const char *ext, char *buf, size_t cap)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - path) : strlen(path);
    return snprintf(buf, cap, "%.*s%s", (int)stem, path, ext) >= (int)cap;
}

int cmd_import(const opts *o)
{
    if (o->npos != 1)
        return fail("import: give one MODEL.onnx (fovea import MODEL.onnx [-o OUT.fv])");
    const char *in = o->pos[0];
    char fv[1100], st[1100];
    if (with_ext(o->out ? o->out : in, ".fv", fv, sizeof fv) ||
        with_ext(o->out ? o->out : in, ".safetensors", st, sizeof st))
        return fail("import: the output path is too long");
    fv_model *m = fv_model_load_onnx(in);
    if (!m)
        return fail_lib();
    int rc = fv_model_summary(m, stdout) != FV_OK || fv_model_compile(m) != FV_OK ||
             fv_model_save_file(m, fv) != FV_OK || fv_model_save_weights(m, st) != FV_OK;
    if (rc)
        rc = fail_lib();
    else
        printf("wrote %s and %s\n", fv, st);
    fv_model_free(m);
    return rc;
}
