/* gan_score.h - the eigen decomposition behind the Frechet distance (gan_score.c), for tests. */
#ifndef FV_GAN_SCORE_H
#define FV_GAN_SCORE_H

#include "fovea.h"

/* Eigenvalues w (n) and eigenvectors v (n x n, column k for w[k]) of the symmetric n x n matrix
 * a (destroyed), by cyclic Jacobi rotations. FV_ERR_NUMERIC without convergence. */
fv_status fv_sym_eigen(double *a, int n, double *w, double *v);

#endif /* FV_GAN_SCORE_H */
