/* darknet_weights.c - Darknet .weights files into a model built from a .cfg (darknet_cfg.c):
 * owns fv_model_load_darknet_weights(_mem). The file is a header (int32 major, minor, revision,
 * then `seen`: 8 bytes where major * 10 + minor >= 2 and both are below 1000, else 4) and the
 * float32 parameters of each layer in order, as Darknet's load_weights reads them:
 * convolutional: biases, [batch norm scales, rolling means, rolling variances], weights
 * (filters x channels/groups x size x size); connected: biases, weights (outputs x inputs;
 * transposed in files of major or minor above 1000), [scales, means, variances]. The file's size
 * must be exactly what the layers need: a short file is an error naming the first layer it does
 * not cover, extra bytes an error too; nothing changes on an error. */
#include "formats/darknet.h"
#include "io/io.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define DN_WEIGHTS_MAX ((size_t)4 << 30)

/* Floats layer L reads from the file. */
static int64_t layer_floats(const fv_model *m, const dn_layer *L)
{
    if (L->wnode < 0)
        return 0;
    const fv_node *w = &m->nodes[L->wnode];
    int64_t n = m->params[w->param[0]].numel; /* the weight */
    int64_t units = w->dims[0];
    return n + units * (L->bn ? 4 : 1);
}

static const char *kind_word(dn_kind k) { return k == DN_CONV ? "convolutional" : "connected"; }

/* Darknet divides by sqrt(var) + 1e-6; fovea's batch norm by sqrt(var' + eps) with
 * eps = 1e-12: var' = (sqrt(var) + 1e-6)^2 - 1e-12 = var + 2e-6 sqrt(var) gives the same divisor
 * (check_bn has refused negative variances). */
static void load_bn(const fv_model *m, const dn_layer *L, const float *scales, const float *bias,
                    const float *mean, const float *var, int64_t n)
{
    const fv_node *bn = &m->nodes[L->bnnode];
    /* batch norm's parameters: gamma, beta, then the running mean and variance */
    memcpy(fv_pdata(m, bn, 0), scales, sizeof(float) * (size_t)n);
    memcpy(fv_pdata(m, bn, 1), bias, sizeof(float) * (size_t)n);
    memcpy(fv_pdata(m, bn, 2), mean, sizeof(float) * (size_t)n);
    float *v = fv_pdata(m, bn, 3);
    for (int64_t i = 0; i < n; i++)
        v[i] = (float)((double)var[i] + 2e-6 * sqrt((double)var[i]));
}

/* A negative (or NaN) rolling variance: Darknet would take its square root. */
static fv_status check_bn(const dn_layer *L, const float *var, int64_t n, const char *file, int idx)
{
    for (int64_t i = 0; i < n; i++)
        if (!(var[i] >= 0))
            return fv_err(FV_ERR_FORMAT, "%s: layer %d (%s): rolling variance %lld is %g (must "
                          "be >= 0)", file, idx, kind_word(L->kind), (long long)i, (double)var[i]);
    return FV_OK;
}

/* Layer L's floats at p into the model (check_only: only what could fail). */
static fv_status load_layer(const fv_model *m, const dn_layer *L, const float *p, int transpose,
                            const char *file, int idx, int check_only)
{
    const fv_node *w = &m->nodes[L->wnode];
    int64_t units = w->dims[0], nw = m->params[w->param[0]].numel;
    const float *bias = p, *wts, *bnp;
    if (L->kind == DN_CONV) {
        bnp = p + units;
        wts = p + units * (L->bn ? 4 : 1);
    } else {
        wts = p + units;
        bnp = wts + nw;
    }
    if (L->bn && check_only)
        return check_bn(L, bnp + 2 * units, units, file, idx);
    if (check_only)
        return FV_OK;
    float *dst = fv_pdata(m, w, 0);
    if (L->kind == DN_CONNECTED && transpose) { /* stored inputs x outputs */
        int64_t k = nw / units;
        for (int64_t u = 0; u < units; u++)
            for (int64_t j = 0; j < k; j++)
                dst[u * k + j] = wts[j * units + u];
    } else
        memcpy(dst, wts, sizeof(float) * (size_t)nw);
    if (L->bn)
        load_bn(m, L, bnp, bias, bnp + units, bnp + 2 * units, units);
    else
        memcpy(fv_pdata(m, w, 1), bias, sizeof(float) * (size_t)units);
    return FV_OK;
}

/* The header's size and whether connected weights are transposed; errors name the file. */
static fv_status header(const unsigned char *buf, size_t len, const char *file, size_t *hdr,
                        int *transpose)
{
    int32_t v[3];
    if (len < 12)
        return fv_err(FV_ERR_FORMAT, "%s: %zu bytes, shorter than a Darknet weights header (20 "
                      "or 16 bytes)", file, len);
    memcpy(v, buf, sizeof v);
    if (v[0] < 0 || v[1] < 0 || v[2] < 0)
        return fv_err(FV_ERR_FORMAT, "%s: version %d.%d.%d is not a Darknet weights file", file,
                      v[0], v[1], v[2]);
    int64_t ver = (int64_t)v[0] * 10 + v[1];
    *hdr = ver >= 2 && v[0] < 1000 && v[1] < 1000 ? 20 : 16; /* `seen`: size_t or int */
    *transpose = v[0] > 1000 || v[1] > 1000;
    if (len < *hdr)
        return fv_err(FV_ERR_FORMAT, "%s: %zu bytes, shorter than its header (%zu bytes for "
                      "version %d.%d)", file, len, *hdr, v[0], v[1]);
    return FV_OK;
}

fv_status fv_model_load_darknet_weights_mem(fv_model *m, const void *data, size_t len,
                                            const char *name)
{
    const char *file = name ? name : "<weights>";
    const dn_net *net = fv_darknet_net(m);
    if (!net)
        return fv_err(FV_ERR_INVALID, "%s: the model was not built from a Darknet .cfg (Darknet "
                      "weights follow its layers)", file);
    if (!m->compiled || !m->data_slab)
        return fv_err(FV_ERR_INVALID, "%s: compile the model before loading Darknet weights", file);
    if (!data && len)
        return fv_err(FV_ERR_INVALID, "%s: no data (NULL)", file);
    const unsigned char *buf = data;
    size_t hdr = 0;
    int transpose = 0;
    FV_TRY(header(buf, len, file, &hdr, &transpose));
    size_t need = hdr;
    for (int i = 0; i < net->n; i++) {
        const dn_layer *L = &net->l[i];
        size_t bytes = (size_t)layer_floats(m, L) * sizeof(float);
        if (bytes && len < need + bytes)
            return fv_err(FV_ERR_FORMAT, "%s: truncated: layer %d (%s, %lld floats) needs bytes "
                          "%zu..%zu, the file has %zu", file, i, kind_word(L->kind),
                          (long long)(bytes / 4), need, need + bytes, len);
        need += bytes;
    }
    if (len != need)
        return fv_err(FV_ERR_FORMAT, "%s: %zu bytes after the last layer's weights (the file "
                      "has %zu, the network needs %zu: another cfg's weights?)", file, len - need,
                      len, need);
    for (int pass = 1; pass >= 0; pass--) { /* check everything, then copy */
        size_t at = hdr;
        for (int i = 0; i < net->n; i++) {
            const dn_layer *L = &net->l[i];
            int64_t n = layer_floats(m, L);
            if (!n)
                continue;
            float *tmp = fv_malloc(sizeof(float) * (size_t)n, "Darknet"); /* the file's bytes are unaligned */
            if (!tmp)
                return fv_err(FV_ERR_NOMEM, "%s: out of memory", file);
            memcpy(tmp, buf + at, sizeof(float) * (size_t)n);
            fv_status s = load_layer(m, L, tmp, transpose, file, i, pass);
            fv_free(tmp);
            FV_TRY(s);
            at += sizeof(float) * (size_t)n;
        }
    }
    return FV_OK;
}

fv_status fv_model_load_darknet_weights(fv_model *m, const char *path)
{
    if (!path)
        return fv_err(FV_ERR_INVALID, "fv_model_load_darknet_weights: path is NULL");
    if (!fv_darknet_net(m))
        return fv_err(FV_ERR_INVALID, "%s: the model was not built from a Darknet .cfg (Darknet "
                      "weights follow its layers)", path);
    unsigned char *buf = NULL;
    size_t len = 0;
    FV_TRY(fv_read_file(path, DN_WEIGHTS_MAX, &buf, &len));
    fv_status s = fv_model_load_darknet_weights_mem(m, buf, len, path);
    fv_free(buf);
    return s;
}
