/* segloss_ref.h - reference kernels of the per-pixel losses (segmentation): softmax
 * cross-entropy over the channel axis with class weights and an ignore label, soft Dice, and
 * binary cross-entropy from logits per value, and the per-step cross-entropy of sequences,
 * in float and double (the double versions serve
 * the gradient checks). Defined by segloss_ref.inc via segloss_ref.c; arithmetic is double
 * inside both. Definitions: fv_loss in fovea.h. */
#ifndef FV_SEGLOSS_REF_H
#define FV_SEGLOSS_REF_H

#include <stdint.h>

typedef struct fv_segloss_geom {
    int kind;             /* FV_LOSS_PIXEL_CE, FV_LOSS_DICE, FV_LOSS_PIXEL_BCE or
                           * FV_LOSS_SEQUENCE_CE (the per-step CE of sequences: logits
                           * (n, hw, c) with the classes last, hw the steps; no weights) */
    int n;                /* samples */
    int c;                /* channels (classes), at most FV_SEG_MAX_CLASSES */
    int64_t hw;           /* pixels per channel */
    int use_ignore;       /* targets equal to `ignore` are left out */
    int ignore;
    const float *weights; /* PIXEL_CE's class weights, or NULL */
} fv_segloss_geom;

/* The batch loss of logits x (n, c, hw) against targets t: (n, hw) class indices (CE, Dice; an
 * index outside [0, c) counts as ignored: the caller validates), or (n, c, hw) values (BCE).
 * With nothing kept, 0. */
double fv_ref_segloss_fwd_f32(const fv_segloss_geom *g, const float *x, const float *t);
double fv_ref_segloss_fwd_f64(const fv_segloss_geom *g, const double *x, const double *t);
/* dx += seed * d loss / dx. */
void fv_ref_segloss_bwd_f32(const fv_segloss_geom *g, const float *x, const float *t, float seed,
                            float *dx);
void fv_ref_segloss_bwd_f64(const fv_segloss_geom *g, const double *x, const double *t,
                            double seed, double *dx);

#endif
