/* darknet_table.c - a Darknet-built model's layer table in the words and columns Darknet prints
 * when it loads a cfg (its parse_network_cfg), so the two compare line for line: owns
 * fv_model_darknet_table. Shapes are read from fovea's nodes; BFLOPs are Darknet's
 * 2 filters size^2 (channels / groups) out_h out_w / 1e9. */
#include "formats/darknet.h"

static void row(FILE *out, const dn_net *net, int i)
{
    const dn_layer *L = &net->l[i];
    fprintf(out, "%5d ", i);
    switch (L->kind) {
    case DN_CONV: {
        double bflops = 2.0 * L->filters * L->size * L->size * L->in_c / L->groups * L->out_h *
                        L->out_w / 1e9;
        fprintf(out, "conv  %5d %2d x%2d /%2d  %4d x%4d x%4d   ->  %4d x%4d x%4d  %5.3f BFLOPs\n",
                L->filters, L->size, L->size, L->stride, L->in_w, L->in_h, L->in_c, L->out_w,
                L->out_h, L->out_c, bflops);
        break;
    }
    case DN_MAX:
        fprintf(out, "max          %d x %d / %d  %4d x%4d x%4d   ->  %4d x%4d x%4d\n", L->size,
                L->size, L->stride, L->in_w, L->in_h, L->in_c, L->out_w, L->out_h, L->out_c);
        break;
    case DN_AVG:
        fprintf(out, "avg                     %4d x%4d x%4d   ->  %4d\n", L->in_w, L->in_h,
                L->in_c, L->out_c);
        break;
    case DN_CONNECTED:
        fprintf(out, "connected                            %4d  ->  %4d\n",
                L->in_c * L->in_h * L->in_w, L->out_c);
        break;
    case DN_DROPOUT:
        fprintf(out, "dropout       p = %.2f               %4d  ->  %4d\n", (double)L->prob,
                L->in_c * L->in_h * L->in_w, L->out_c * L->out_h * L->out_w);
        break;
    case DN_SOFTMAX:
        fprintf(out, "softmax                                        %4d\n",
                L->in_c * L->in_h * L->in_w);
        break;
    case DN_COST:
        fprintf(out, "cost                                           %4d\n",
                L->in_c * L->in_h * L->in_w);
        break;
    case DN_ROUTE:
        fprintf(out, "route ");
        for (int k = 0; k < L->nroute; k++)
            fprintf(out, " %d", L->route[k]);
        fprintf(out, "\n");
        break;
    case DN_SHORTCUT: { /* the added layer's map, then the output */
        const dn_layer *f = &net->l[L->route[0]];
        fprintf(out, "res  %3d                %4d x%4d x%4d   ->  %4d x%4d x%4d\n", L->route[0],
                f->out_w, f->out_h, f->out_c, L->out_w, L->out_h, L->out_c);
        break;
    }
    case DN_UPSAMPLE:
        fprintf(out, "upsample           %2dx  %4d x%4d x%4d   ->  %4d x%4d x%4d\n", L->stride,
                L->in_w, L->in_h, L->in_c, L->out_w, L->out_h, L->out_c);
        break;
    case DN_REORG: /* with extra: the flattened input's length, then the output's */
        fprintf(out, "reorg              %4d   ->  %4d\n", L->in_c * L->in_h * L->in_w,
                L->out_c);
        break;
    case DN_CROP:
        fprintf(out, "Crop Layer: %d x %d -> %d x %d x %d image\n", L->in_h, L->in_w, L->out_h,
                L->out_w, L->out_c);
        break;
    }
}

fv_status fv_model_darknet_table(const fv_model *m, FILE *out)
{
    const dn_net *net = fv_darknet_net(m);
    if (!net)
        return fv_err(FV_ERR_INVALID, "model '%s' was not built from a Darknet .cfg",
                      m ? m->name : "(null)");
    if (!out)
        return fv_err(FV_ERR_INVALID, "fv_model_darknet_table: no output stream");
    fprintf(out, "layer     filters    size              input                output\n");
    for (int i = 0; i < net->n; i++)
        row(out, net, i);
    return ferror(out) ? fv_err(FV_ERR_IO, "writing the Darknet table failed") : FV_OK;
}
