/* summary.c - the Keras-style summary table (layer, output shape, parameters, multiply-adds,
 * connections) and the cost counts behind it: multiply-adds per layer as the papers count them
 * (convolutions and fully connected layers; normalization, pooling and activations are
 * negligible and not counted, as in He et al. and Howard et al.). */
#include "ops/schema.h"

#include <string.h>

/* ---------------------------------------------------------------- multiply-adds */

int64_t fv_node_macs(const fv_model *m, int node)
{
    if (node < 0 || node >= m->nnodes)
        return 0;
    const fv_node *n = &m->nodes[node];
    if (n->nparam < 1)
        return 0;
    int64_t w = m->params[n->param[0]].numel; /* the weight: every output position uses it all */
    switch (n->op) {
    case FV_OP_CONV2D:
        return w * n->dims[1] * n->dims[2];
    case FV_OP_CONV2D_TRANSPOSE: {
        const fv_node *x = &m->nodes[n->in[0]];
        return w * x->dims[1] * x->dims[2];
    }
    case FV_OP_DENSE:
        return w * (n->size / n->dims[n->ndim - 1]);
    case FV_OP_RNN: { /* every step multiplies by each direction's W_ih and W_hh */
        int64_t mats = 0;
        for (int k = 0; k < n->nparam; k++)
            mats += m->params[n->param[k]].ndim == 2 ? m->params[n->param[k]].numel : 0;
        return mats * m->nodes[n->in[0]].dims[0];
    }
    default:
        return 0;
    }
}

int64_t fv_model_macs(const fv_model *m)
{
    int64_t t = 0;
    for (int i = 0; i < m->nnodes; i++)
        t += fv_node_macs(m, i);
    return t;
}

/* "1.82 G", "569.4 M", "12.5 K" */
static void fmt_si(int64_t v, char *buf, size_t len)
{
    if (v >= 1000000000)
        snprintf(buf, len, "%.2f G", (double)v / 1e9);
    else if (v >= 1000000)
        snprintf(buf, len, "%.1f M", (double)v / 1e6);
    else if (v >= 1000)
        snprintf(buf, len, "%.1f K", (double)v / 1e3);
    else
        snprintf(buf, len, "%lld", (long long)v);
}

static void fmt_count(int64_t v, char *buf, size_t len)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
}

static int64_t node_params(const fv_model *m, const fv_node *n)
{
    int64_t c = 0;
    for (int k = 0; k < n->nparam; k++)
        c += m->params[n->param[k]].numel;
    return c;
}

/* The node whose output a layer row shows: a folded activation's producer shows its own shape. */
static int visible(const fv_model *m, int i)
{
    return !m->nodes[i].hidden && i != m->target_node && i != m->loss_node;
}

/* Sequential: every visible layer reads the previous visible layer (through folded nodes). */
static int is_sequential(const fv_model *m)
{
    int prev = -1;
    for (int i = 0; i < m->nnodes; i++) {
        const fv_node *n = &m->nodes[i];
        if (!visible(m, i))
            continue;
        if (n->op == FV_OP_INPUT ? prev >= 0 : n->nin != 1)
            return 0;
        if (prev >= 0) {
            int src = n->in[0];
            while (m->nodes[src].hidden)
                src = m->nodes[src].in[0];
            if (src != prev)
                return 0;
        }
        prev = i;
    }
    return 1;
}

static void connected_to(const fv_model *m, const fv_node *n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int k = 0; k < n->nin && o < len; k++) {
        int src = n->in[k];
        if (m->nodes[src].hidden)
            src = m->nodes[src].in[0];
        o += (size_t)snprintf(buf + o, len - o, "%s%s", k ? ", " : "", m->nodes[src].name);
    }
}

/* "name (Type)"; returns its length. */
static int label_of(const fv_node *n, char *buf, size_t len)
{
    int k = snprintf(buf, len, "%s (%s)", n->name, fv_node_kind(n));
    return k < (int)len ? k : (int)len - 1;
}

fv_status fv_model_summary(const fv_model *m, FILE *out)
{
    int seq = is_sequential(m);
    const char *line = seq ? "_________________________________________________________________"
                             "____________"
                           : "______________________________________________________________"
                             "__________________________________________";
    const char *dline = seq ? "================================================================="
                              "============"
                            : "=============================================================="
                              "==========================================";
    fprintf(out, "Model: \"%s\"\n%s\n", m->name, line);
    int width = 28; /* the layer column widens for long names, as Keras' does */
    for (int i = 0; i < m->nnodes; i++)
        if (visible(m, i)) {
            char label[128];
            int w = label_of(&m->nodes[i], label, sizeof label) + 1;
            width = w > width ? w : width;
        }
    fprintf(out, " %-*s%-26s%-11s%-12s%s\n%s\n", width, "Layer (type)", "Output Shape", "Param #",
            "Mult-Adds",
            seq ? "" : "Connected to", dline);
    for (int i = 0; i < m->nnodes; i++) {
        const fv_node *n = &m->nodes[i];
        if (!visible(m, i))
            continue;
        char label[128], shape[96], count[32], macs[32], conn[160] = "";
        label_of(n, label, sizeof label);
        fv_node_shape_str(n, shape, sizeof shape);
        fmt_count(node_params(m, n), count, sizeof count);
        if (!seq)
            connected_to(m, n, conn, sizeof conn);
        fmt_si(fv_node_macs(m, i), macs, sizeof macs);
        fprintf(out, " %-*s%-26s%-11s%-12s%s\n", width, label, shape, count, macs, conn);
    }
    int64_t total, tr, nt;
    fv_model_count_params(m, &total, &tr, &nt);
    char a[32], b[32], c[32];
    fmt_count(total, a, sizeof a);
    fmt_count(tr, b, sizeof b);
    fmt_count(nt, c, sizeof c);
    int64_t macs = fv_model_macs(m);
    char d[32], e[32];
    fmt_count(macs, d, sizeof d);
    fmt_si(macs, e, sizeof e);
    fprintf(out, "%s\nTotal params: %s\nTrainable params: %s\nNon-trainable params: %s\n"
                 "Mult-adds per sample: %s (%s; convolutions, dense and recurrent layers)\n%s\n",
            dline, a, b, c, d, e, line);
    fprintf(out, "(Keras convention: batch-norm moving mean and variance are counted as "
                 "non-trainable; PyTorch counts only the trainable ones: %s.)\n", b);
    return ferror(out) ? fv_err(FV_ERR_IO, "summary: write failed") : FV_OK;
}

