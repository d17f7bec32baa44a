/* quantize.c - `fovea quantize [MODEL.fv] WEIGHTS --calibrate N [--method minmax|percentile]
 * [--percentile P] -o OUT` (--method entropy too): a trained model's int8 form (fv_model_quantize), calibrated on the
 * first N images of its data set's training split, written as an int8 model file that eval and
 * predict run like any weights file. */
#include "cli.h"

#include <string.h>

/* The first n images of d (a copy). */
static fv_tensor *first_images(const fv_dataset *d, int n)
{
    int64_t dims[5];
    memcpy(dims, d->x->dims, sizeof(int64_t) * (size_t)d->x->ndim);
    dims[0] = n < d->x->dims[0] ? n : d->x->dims[0];
    fv_tensor *x = fv_tensor_new(d->x->ndim, dims);
    if (x)
        memcpy(x->data, d->x->data, sizeof(float) * (size_t)fv_tensor_numel(x));
    return x;
}

/* The calibration method of --method (minmax by default), or -1. */
static int method_of(const opts *o)
{
    if (!o->qmethod || strcmp(o->qmethod, "minmax") == 0)
        return FV_CALIB_MINMAX;
    if (strcmp(o->qmethod, "entropy") == 0)
        return FV_CALIB_ENTROPY;
    return strcmp(o->qmethod, "percentile") == 0 ? FV_CALIB_PERCENTILE : -1;
}

static int quantize_with(const opts *o, fv_model *m, const data_src *src)
{
    fv_dataset *train = load_data_src(o, src, 1);
    if (!train)
        return fail_lib();
    fv_tensor *x = first_images(train, o->calibrate);
    int rc = 0;
    if (!x || fv_model_quantize(m, x, method_of(o), o->percentile > 0 ? o->percentile : 99.99) !=
                  FV_OK ||
        fv_model_save_quantized(m, o->out) != FV_OK)
        rc = fail_lib();
    else if (!o->quiet)
        printf("wrote %s: %d layers int8, calibrated on %lld images (%s)\n", o->out,
               fv_model_int8_layers(m), (long long)x->dims[0],
               o->qmethod ? o->qmethod : "minmax");
    fv_tensor_free(x);
    fv_dataset_free(train);
    return rc;
}

int cmd_quantize(const opts *o)
{
    opts q = *o; /* a lone WEIGHTS argument is --weights */
    if (q.npos == 1 && !q.weights && !is_model_arg(q.pos[0]))
        q.weights = q.pos[0], q.npos = 0;
    if (!q.weights || q.npos > 1)
        return fail("quantize needs the trained weights (WEIGHTS, or MODEL.fv --weights FILE)");
    if (q.calibrate < 1 || !q.out)
        return fail("quantize needs --calibrate N (images) and -o OUT");
    if (method_of(&q) < 0)
        return fail("quantize: --method is minmax, percentile or entropy");
    fv_weights_info *info = weights_info(&q);
    if (!info)
        return fail_lib();
    data_src src;
    data_source(&q, info, &src);
    fv_model *m = load_trained(&q, q.npos ? q.pos[0] : NULL, info, 0, 0, 0, 0);
    int rc = m ? quantize_with(&q, m, &src) : 1;
    fv_model_free(m);
    fv_weights_info_free(info);
    return rc;
}
