/* zoo.c - `fovea summary` (one model's layer table) and `fovea zoo` (every network, or one as
 * a model file). */
#include "cli.h"

#include <stdlib.h>

int cmd_summary(const opts *o)
{
    fv_model *m = open_model(o, o->npos ? o->pos[0] : DEFAULT_MODEL, 0, 0, 0, 0);
    if (!m)
        return fail_lib();
    int rc = fv_model_summary(m, stdout) == FV_OK ? 0 : fail_lib();
    fv_model_free(m);
    return rc;
}

/* The zoo: every network at its default input with its parameters and multiply-adds. */
int cmd_zoo(const opts *o)
{
    if (o->npos) { /* one network as a model file (stdout, or --out FILE.fv) */
        fv_model *m = open_model(o, o->pos[0], 0, 0, 0, 0);
        char *text = m ? fv_model_to_text(m) : NULL;
        int rc = !text                               ? fail_lib()
                 : o->out                            ? (fv_model_save_file(m, o->out) == FV_OK ? 0 : fail_lib())
                 : fputs(text, stdout) == EOF ? fail("zoo: cannot write") : 0;
        free(text);
        fv_model_free(m);
        return rc;
    }
    printf("%-18s %-12s %14s %16s\n", "network", "input", "parameters", "mult-adds");
    for (int i = 0; fv_zoo_name(i); i++) {
        fv_model *m = open_model(o, fv_zoo_name(i), 0, 0, 0, 0);
        if (!m)
            return fail_lib();
        int64_t d[4], total, tr, nt;
        fv_node_shape(m, 0, d);
        fv_model_count_params(m, &total, &tr, &nt);
        char in[32];
        snprintf(in, sizeof in, "%lldx%lldx%lld", (long long)d[0], (long long)d[1],
                 (long long)d[2]);
        printf("%-18s %-12s %14lld %16lld\n", fv_zoo_name(i), in, (long long)tr,
               (long long)fv_model_macs(m));
        fv_model_free(m);
    }
    printf("(parameters: trainable, PyTorch's count; `fovea summary NAME` shows one network)\n");
    return 0;
}
