/* rnn_ref.h - the recurrent layers' kernels (simple RNN with tanh or ReLU, LSTM, GRU), one or
 * two directions, batch first, with PyTorch's gate order and parameters: forward over a whole
 * sequence and backpropagation through time. Instantiated for float (_f32: fv_sgemm for the
 * matrix products, the op's path, ops/rnn.c) and double (_f64: the reference GEMM, the gradient
 * checks' oracle) from rnn_ref.inc. */
#ifndef FV_KERNELS_REF_RNN_REF_H
#define FV_KERNELS_REF_RNN_REF_H

#include "fovea.h"

#include <stddef.h>
#include <stdint.h>

/* The shape of one call: n samples of t steps of f features; h hidden units per direction;
 * dirs 1 or 2 (the second runs from the last step to the first); sequences: the output is every
 * step's hidden state (n, t, dirs h), else the last state (n, dirs h): the forward direction's
 * at step t - 1 and the reverse one's at step 0 (PyTorch's h_n). */
typedef struct fv_rnn_geom {
    int cell; /* an fv_rnn_cell */
    int n, t, f, h, dirs, sequences;
    /* NULL, or each sample's length (PyTorch's pack_padded_sequence): only its steps < len
     * run; the forward direction stops at len - 1 (the last state is its state there), the
     * reverse one starts there; the padded steps' outputs are zero and take no gradient.
     * Values are clamped to [0, t] (0: every output zero). */
    const float *len;
} fv_rnn_geom;

/* Gates per cell: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n). */
int fv_rnn_gates(int cell);
/* Sample i's length: g->len[i] clamped to [0, t] (NaN: 0), or t without lengths. */
int fv_rnn_len(const fv_rnn_geom *g, int i);
/* Values of the `saved` buffer a forward fills and its backward reads (and uses as scratch). */
int64_t fv_rnn_saved_count(const fv_rnn_geom *g);

/* The parameters, direction d's at w[4 d .. 4 d + 3]: weight_ih (G h, f), weight_hh (G h, h),
 * bias_ih (G h), bias_hh (G h), G = fv_rnn_gates. h0, c0 (LSTM): the initial states (n, dirs,
 * h), NULL for zeros. y: the output (geometry above). */
void fv_ref_rnn_fwd_f32(const fv_rnn_geom *g, const float *const *w, const float *x,
                        const float *h0, const float *c0, float *y, float *saved);
void fv_ref_rnn_fwd_f64(const fv_rnn_geom *g, const double *const *w, const double *x,
                        const double *h0, const double *c0, double *y, double *saved);
/* Backward from dy (the output's gradient) and the forward's saved values: accumulates (+=)
 * into dx (n, t, f), dh0 and dc0 (n, dirs, h) and the parameters' gradients dw (the layout of
 * w); any of them may be NULL (not wanted). */
void fv_ref_rnn_bwd_f32(const fv_rnn_geom *g, const float *const *w, const float *x,
                        const float *h0, const float *c0, const float *dy, float *saved,
                        float *dx, float *dh0, float *dc0, float *const *dw);
void fv_ref_rnn_bwd_f64(const fv_rnn_geom *g, const double *const *w, const double *x,
                        const double *h0, const double *c0, const double *dy, double *saved,
                        double *dx, double *dh0, double *dc0, double *const *dw);

#endif
