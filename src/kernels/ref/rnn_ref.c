/* rnn_ref.c - instantiates the recurrent kernel template rnn_ref.inc for float (_f32, with
 * fv_sgemm) and double (_f64, with the reference GEMM); the sizes of the saved buffer. */
#include "kernels/ref/rnn_ref.h"
#include "kernels/kernels.h"
#include "kernels/ref/gemm_ref.h"

#include <math.h>
#include <string.h>

int fv_rnn_gates(int cell)
{
    return cell == FV_RNN_LSTM ? 4 : cell == FV_RNN_GRU ? 3 : 1;
}

int fv_rnn_len(const fv_rnn_geom *g, int i)
{
    if (!g->len)
        return g->t;
    float v = g->len[i];
    return v >= (float)g->t ? g->t : v >= 1 ? (int)v : 0;
}

/* Per direction: the gates (n t G h), the hidden states and the cell states (LSTM) or the
 * GRU's hidden part of its new gate (n t h each); then scratch shared by the directions: the
 * gates' gradients (n t G h), one step's recurrent products (n G h), the running gradients of
 * h and c, a zero state and one step's previous hidden states (n h each). */
int64_t fv_rnn_saved_count(const fv_rnn_geom *g)
{
    int64_t nt = (int64_t)g->n * g->t, gh = (int64_t)fv_rnn_gates(g->cell) * g->h;
    int64_t per_dir = nt * (gh + 2 * (int64_t)g->h);
    return g->dirs * per_dir + nt * gh + (int64_t)g->n * (gh + 4 * (int64_t)g->h);
}

#define FV_REF_TEMPLATE "kernels/ref/rnn_ref.inc"
#include "kernels/ref/instantiate.h"
