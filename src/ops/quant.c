/* quant.c - the int8 record of a model (ops/quant.h): attaching it, quantizing one layer (checked
 * scales, packed weights, row sums; the float weight replaced by its dequantized values), and the
 * weight and range quantizers calibration uses. Running the layers is qrun.c's. */
#include "ops/quant.h"

#include "kernels/isa.h"
#include "kernels/qgemm.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int g_policy = -1; /* 1 on, 0 off, -1 auto */
static pthread_once_t g_policy_once = PTHREAD_ONCE_INIT;

static void read_policy(void)
{
    const char *e = getenv("FOVEA_INT8");
    if (e && strcmp(e, "on") == 0)
        g_policy = 1;
    else if (e && strcmp(e, "off") == 0)
        g_policy = 0;
}

void fv_quant_policy(int policy)
{
    pthread_once(&g_policy_once, read_policy);
    g_policy = policy > 0 ? 1 : policy == 0 ? 0 : -1;
}

int fv_quant_active(void)
{
    pthread_once(&g_policy_once, read_policy);
    if (g_policy >= 0)
        return g_policy;
    fv_isa l = fv_kernel_isa(FV_KF_QGEMM);
    return l == FV_ISA_AVX512_VNNI || l == FV_ISA_AVX_VNNI;
}

static void layer_free(fv_qlayer *l)
{
    fv_free(l->w);
    fv_free(l->wscale);
    fv_free(l->packed);
    fv_free(l->wsum);
}

static void quant_free(fv_quant *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n; i++)
        layer_free(&q->layers[i]);
    fv_free(q->layers);
    fv_free(q->layer_of);
    fv_free(q->scratch);
    fv_free(q);
}

fv_quant *fv_quant_attach(fv_model *m)
{
    if (m->quant)
        return m->quant;
    fv_quant *q = fv_calloc(1, sizeof *q, "int8 record");
    if (q)
        q->layer_of = fv_malloc(sizeof(int) * (size_t)(m->nnodes + 1), "int8 layer table");
    if (!q || !q->layer_of) {
        quant_free(q);
        return NULL;
    }
    q->nnodes = m->nnodes;
    for (int i = 0; i < m->nnodes; i++)
        q->layer_of[i] = -1;
    m->quant = q;
    m->quant_free = quant_free;
    return q;
}

int fv_quant_supported(const fv_model *m, int node)
{
    if (node < 0 || node >= m->nnodes)
        return 0;
    const fv_node *n = &m->nodes[node];
    return (n->op == FV_OP_CONV2D && n->a.conv.groups == 1) || n->op == FV_OP_DENSE;
}

const fv_qlayer *fv_quant_layer(const fv_model *m, int node)
{
    const fv_quant *q = m->quant;
    if (!q || node < 0 || node >= q->nnodes || q->layer_of[node] < 0)
        return NULL;
    return &q->layers[q->layer_of[node]];
}

static int good_scale(float s) { return isfinite(s) && s > 0; }

static fv_status check_layer(const fv_model *m, int node, const float *wscale, int rows,
                             float in_scale, int in_zp)
{
    if (!fv_quant_supported(m, node))
        return fv_err(FV_ERR_INVALID, "node %d: only conv2d (one group) and dense layers run in "
                      "int8", node);
    const char *name = m->nodes[node].name;
    for (int i = 0; i < rows; i++)
        if (!good_scale(wscale[i]))
            return fv_err(FV_ERR_FORMAT, "layer '%s': weight scale %d is %g (must be finite and "
                          "> 0)", name, i, (double)wscale[i]);
    if (!good_scale(in_scale))
        return fv_err(FV_ERR_FORMAT, "layer '%s': input scale is %g (must be finite and > 0)",
                      name, (double)in_scale);
    if (in_zp < 0 || in_zp > 255)
        return fv_err(FV_ERR_FORMAT, "layer '%s': input zero point %d is outside 0 to 255", name,
                      in_zp);
    return FV_OK;
}

/* Fills l's derived arrays from l->w: packed rows and row sums. */
static void derive(fv_qlayer *l)
{
    fv_qg_pack_a(l->w, l->m, l->k, l->k, l->packed);
    for (int i = 0; i < l->m; i++) {
        int32_t s = 0;
        for (int r = 0; r < l->k; r++)
            s += l->w[(size_t)i * (size_t)l->k + (size_t)r];
        l->wsum[i] = s;
    }
}

/* A free slot of q's layer table for node `node` (its old one when it had one). */
static fv_qlayer *slot(fv_quant *q, int node)
{
    if (q->layer_of[node] >= 0) {
        fv_qlayer *l = &q->layers[q->layer_of[node]];
        layer_free(l);
        return l;
    }
    if (q->n == q->cap) {
        int cap = q->cap ? 2 * q->cap : 8;
        fv_qlayer *g = fv_realloc(q->layers, sizeof *g * (size_t)q->cap, sizeof *g * (size_t)cap,
                                  "int8 layers");
        if (!g)
            return NULL;
        q->layers = g, q->cap = cap;
    }
    q->layer_of[node] = q->n;
    return &q->layers[q->n++];
}

fv_status fv_quant_set(fv_model *m, int node, const int8_t *w, const float *wscale,
                       float in_scale, int in_zp)
{
    if (!fv_quant_supported(m, node))
        return check_layer(m, node, wscale, 0, in_scale, in_zp);
    const fv_param *p = &m->params[m->nodes[node].param[0]];
    int rows = (int)p->dims[0], k = (int)(p->numel / p->dims[0]);
    FV_TRY(check_layer(m, node, wscale, rows, in_scale, in_zp));
    fv_quant *q = fv_quant_attach(m);
    if (q && node >= q->nnodes)
        return fv_err(FV_ERR_STATE, "layer '%s': added after the model was quantized",
                      m->nodes[node].name);
    fv_qlayer *l = q ? slot(q, node) : NULL;
    if (!l)
        return FV_ERR_NOMEM;
    *l = (fv_qlayer){.node = node, .m = rows, .k = k, .in_scale = in_scale, .in_zp = in_zp};
    l->w = fv_malloc((size_t)p->numel, "int8 weights");
    l->wscale = fv_malloc(sizeof(float) * (size_t)rows, "int8 weight scales");
    l->packed = fv_malloc(fv_qg_a_bytes(rows, k), "packed int8 weights");
    l->wsum = fv_malloc(sizeof(int32_t) * (size_t)rows, "int8 row sums");
    if (!l->w || !l->wscale || !l->packed || !l->wsum) {
        layer_free(l);
        *l = (fv_qlayer){.node = node};
        q->layer_of[node] = -1; /* the slot stays, unused */
        return FV_ERR_NOMEM;
    }
    memcpy(l->w, w, (size_t)p->numel);
    memcpy(l->wscale, wscale, sizeof(float) * (size_t)rows);
    derive(l);
    float *wf = m->data_slab + p->offset;
    for (int64_t i = 0; i < p->numel; i++)
        wf[i] = (float)w[i] * wscale[i / k];
    return FV_OK;
}

void fv_quant_weights(const float *w, int m, int k, int8_t *q, float *scale)
{
    for (int i = 0; i < m; i++) {
        const float *row = w + (size_t)i * (size_t)k;
        float mx = 0;
        for (int r = 0; r < k; r++)
            mx = fabsf(row[r]) > mx ? fabsf(row[r]) : mx;
        float s = mx > 0 && isfinite(mx) ? mx / 127.0f : 1.0f;
        scale[i] = s;
        for (int r = 0; r < k; r++) {
            float v = nearbyintf(row[r] / s);
            v = v > 127 ? 127 : v < -127 ? -127 : v; /* NaN: 0 below */
            q[(size_t)i * (size_t)k + (size_t)r] = (int8_t)(v == v ? v : 0);
        }
    }
}

void fv_quant_range(float lo, float hi, float *scale, int *zp)
{
    lo = lo < 0 ? lo : 0;
    hi = hi > 0 ? hi : 0;
    float s = (hi - lo) / 255.0f;
    if (!(s > 0) || !isfinite(s) || !isfinite(lo)) {
        *scale = 1.0f, *zp = 0;
        return;
    }
    float z = nearbyintf(-lo / s);
    *scale = s;
    *zp = z < 0 ? 0 : z > 255 ? 255 : (int)z;
}
