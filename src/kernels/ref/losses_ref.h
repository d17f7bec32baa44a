/* losses_ref.h - reference kernels of the loss catalogue beyond softmax-CE and MSE (loss_ref.h):
 * sparse/categorical cross-entropy from logits or probabilities with label smoothing and class
 * weights, binary cross-entropy (probabilities, logits), MAE, Huber, multi-class hinge and KL
 * divergence, in float and double (the double versions serve the gradient checks). Defined by
 * losses_ref.inc via losses_ref.c. Arithmetic is double inside both. */
#ifndef FV_LOSSES_REF_H
#define FV_LOSSES_REF_H

#include <stdint.h>

typedef struct fv_loss_geom {
    int kind;             /* an fv_loss */
    int n;                /* samples */
    int64_t k;            /* values per sample (classes) */
    double smoothing;     /* label smoothing */
    double delta;         /* Huber */
    const float *weights; /* class weights, or NULL */
} fv_loss_geom;

/* The clip of probabilities before a log (Keras' epsilon). */
#define FV_PROB_EPS 1e-7

/* The batch loss (PyTorch's reduction: mean, weighted mean for class weights, batchmean for KL).
 * Sparse kinds read t as n class indices (validated by the caller). */
double fv_ref_loss_fwd_f32(const fv_loss_geom *g, const float *x, const float *t);
double fv_ref_loss_fwd_f64(const fv_loss_geom *g, const double *x, const double *t);
/* dx += seed * d loss / dx. */
void fv_ref_loss_bwd_f32(const fv_loss_geom *g, const float *x, const float *t, float seed,
                         float *dx);
void fv_ref_loss_bwd_f64(const fv_loss_geom *g, const double *x, const double *t, double seed,
                         double *dx);
/* Whether kind takes one class index per sample. */
int fv_loss_is_sparse(int kind);
/* Whether kind is a per-pixel loss (FV_OP_PIXEL_LOSS: PIXEL_CE, DICE, PIXEL_BCE; and the
 * per-step SEQUENCE_CE of sequences). */
int fv_loss_is_pixel(int kind);

#endif
