/* winograd.c - Winograd F(4x4, 3x3) convolution (Lavin and Gray 2016): every 4x4 output tile is
 * A^T [(G g G^T) . (B^T d B)] A over its 6x6 input patch d, so a 3x3 layer costs 36 products per
 * 16 outputs instead of 144. The tiles of all samples are numbered and processed in chunks of up
 * to 256; for a chunk, the input transform writes V[xi] (cin x tiles) for the 36 transform
 * positions xi, 36 fv_sgemm calls form M[xi] (cout x tiles) = U[xi]^T V[xi] with the transformed
 * weights U[xi] (cin x cout), and the output transform turns M into the 4x4 tiles of y.
 * The transforms are vectorized across tiles: B^T's vertical pass runs along the input rows of
 * each run of tiles in a tile row (a segment), its rows are split into the six columns of every
 * tile (a stride-4 deinterleave), and the horizontal pass, both passes of A^T and the interleave
 * of the output columns run over arrays indexed by tile. They are plain C, compiled three times
 * (baseline, AVX2, AVX-512: inlined into functions with target attributes) and chosen at run time
 * by the winograd family's level (kernels/isa.h). The input gradient is the same correlation run
 * on dy, padded by 2 - p (a crop when negative), with the rotated, channel-transposed weights,
 * adding into dx; the weight gradient multiplies V by dy's tiles taken to the transform domain
 * and transforms the sum back (see "weight gradient"). F(2x2, 3x3) is not provided: F(4x4) needs
 * fewer products for every output size of 3 and more, and its error stays over 35x below 1e-4
 * (test_winograd.c). */
#include "kernels/winograd.h"
#include "kernels/eltwise.h"
#include "kernels/inline.h"
#include "kernels/isa.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>


enum { NXI = 36 }; /* transform positions: 6 x 6 */

/* Tiles per chunk: fv_sgemm packs U[xi] (cin x cout) on every call, so the GEMMs need a few
 * hundred columns to amortize it (measured: 256 tiles run the products 1.3-1.8x faster than 64).
 * Chunks hold at most CHUNK_TILES tiles, halved (down to CHUNK_MIN) while their V and M would
 * exceed CHUNK_BYTES; the tiles of a call are split into equal chunks (multiples of 16). A 64 MB
 * cap (256 tiles for 256 channels) ran those layers 10 % faster for twice the memory. */
#ifndef FV_WINO_CHUNK_TILES
#define FV_WINO_CHUNK_TILES 256
#endif
#ifndef FV_WINO_CHUNK_MB
#define FV_WINO_CHUNK_MB 16
#endif
enum { CHUNK_TILES = FV_WINO_CHUNK_TILES, CHUNK_MIN = 64, CHUNK_BYTES = FV_WINO_CHUNK_MB << 20 };

static int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }
static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

/* The largest chunk of a correlation from cin to cout channels. */
static int chunk_max(int cin, int cout)
{
    int c = CHUNK_TILES;
    while (c > CHUNK_MIN && (int64_t)NXI * (cin + cout) * c * (int64_t)sizeof(float) > CHUNK_BYTES)
        c /= 2;
    return c;
}

/* The chunk of `tiles` tiles: equal parts of at most chunk_max. */
static int chunk_tiles(int cin, int cout, int64_t tiles)
{
    int64_t cmax = chunk_max(cin, cout), parts = (tiles + cmax - 1) / cmax;
    int64_t c = parts ? round16((tiles + parts - 1) / parts) : 0;
    return (int)(c < cmax ? c : cmax);
}

/* One stride-1 3x3 correlation: input (cin, ih, iw) padded by (ph, pw) (negative: cropped),
 * output (cout, oh, ow), covered by th x tw tiles per sample; tiles of all n samples are numbered
 * (sample, tile row, tile column) and processed `chunk` at a time. Only input rows below rows and
 * columns left of cols feed an output; the others are read as zeros, so that a partial tile's
 * rounding never carries values that no output of the layer sees (a cropped gradient). */
typedef struct plan {
    int cin, cout, ih, iw, oh, ow, ph, pw;
    int th, tw, chunk, rows, cols;
    int64_t tiles, xlen; /* xlen: floats of the input, n cin ih iw */
} plan;

/* A run of consecutive tiles of one tile row: sample s, tile row i, columns [j0, j0 + nj), at
 * offset off in its chunk. */
typedef struct seg {
    int s, i, j0, nj, off;
} seg;

static int min_int(int a, int b) { return a < b ? a : b; }
static int max_int(int a, int b) { return a > b ? a : b; }
static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }
/* The stride of the 36 planes of U, V and M: rows x cols floats, padded so that the planes of
 * power-of-two sizes do not all fall into the same cache sets. */
static size_t xi_plane(int rows, int cols) { return align16((size_t)rows * cols) + 16; }

/* The forward plan (x -> y) or the input-gradient plan (dy -> dx) of g for n samples. */
static plan make_plan(const fv_conv_geom *g, int n, int backward)
{
    plan p;
    if (backward)
        p = (plan){g->f, g->c, g->oh, g->ow, g->h, g->w, 2 - g->ph, 2 - g->pw, 0, 0, 0, 0, 0, 0, 0};
    else
        p = (plan){g->c, g->f, g->h, g->w, g->oh, g->ow, g->ph, g->pw, 0, 0, 0, 0, 0, 0, 0};
    p.rows = min_int(p.ih, p.oh - p.ph + 2);
    p.cols = min_int(p.iw, p.ow - p.pw + 2);
    p.th = (p.oh + 3) / 4;
    p.tw = (p.ow + 3) / 4;
    p.tiles = (int64_t)n * p.th * p.tw;
    p.xlen = (int64_t)n * p.cin * p.ih * p.iw;
    p.chunk = chunk_tiles(p.cin, p.cout, p.tiles);
    return p;
}

/* The work space of a plan: V (36 planes of cin x chunk), M (36 of cout x chunk) and the
 * transforms' arrays (input_bufs; the output's take less). */
static size_t tmp_floats(const plan *p);

static size_t plan_work(const plan *p)
{
    return NXI * (xi_plane(p->cin, p->chunk) + xi_plane(p->cout, p->chunk)) + tmp_floats(p);
}

/* The first segment of the nt tiles from t0; seg_next steps to the next one, and sets nj to 0
 * past the last. */
static seg seg_first(const plan *p, int64_t t0, int nt)
{
    seg sg;
    int64_t row = t0 / p->tw;
    sg.j0 = (int)(t0 - row * p->tw);
    sg.i = (int)(row % p->th);
    sg.s = (int)(row / p->th);
    sg.nj = min_int(p->tw - sg.j0, nt);
    sg.off = 0;
    return sg;
}

static void seg_next(const plan *p, int nt, seg *sg)
{
    sg->off += sg->nj;
    sg->j0 = 0;
    if (++sg->i == p->th)
        sg->i = 0, sg->s++;
    sg->nj = min_int(p->tw, nt - sg->off);
}

/* ---------------------------------------------------------------- transforms (vectorized) */

/* o_l[k] = (B^T d)_l for d_r = i_r[k], k < n: the input transform along one direction. */
FV_INLINE void bt_rows(const float *restrict i0, const float *restrict i1,
                       const float *restrict i2, const float *restrict i3,
                       const float *restrict i4, const float *restrict i5, int n,
                       float *restrict o0, float *restrict o1, float *restrict o2,
                       float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (int k = 0; k < n; k++) {
        float d0 = i0[k], d1 = i1[k], d2 = i2[k], d3 = i3[k], d4 = i4[k], d5 = i5[k];
        float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, c = d4 - d2, d = 2.0f * (d3 - d1);
        o0[k] = 4.0f * (d0 - d2) + c;
        o1[k] = a + b;
        o2[k] = a - b;
        o3[k] = c + d;
        o4[k] = c - d;
        o5[k] = 4.0f * (d1 - d3) + (d5 - d3);
    }
}

/* o_l[k] = (A^T m)_l for m_r = i_r[k], k < n: the output transform along one direction. */
FV_INLINE void at_rows(const float *restrict i0, const float *restrict i1,
                       const float *restrict i2, const float *restrict i3,
                       const float *restrict i4, const float *restrict i5, int n,
                       float *restrict o0, float *restrict o1, float *restrict o2,
                       float *restrict o3)
{
    for (int k = 0; k < n; k++) {
        float m0 = i0[k], m5 = i5[k];
        float s12 = i1[k] + i2[k], d12 = i1[k] - i2[k];
        float s34 = i3[k] + i4[k], d34 = i3[k] - i4[k];
        o0[k] = m0 + s12 + s34;
        o1[k] = d12 + 2.0f * d34;
        o2[k] = s12 + 4.0f * s34;
        o3[k] = d12 + 8.0f * d34 + m5;
    }
}

/* p_c[j] = s[4 j + c], j < n: the six columns of n consecutive tiles (stride 4, overlap 2). */
FV_INLINE void deinterleave6(const float *restrict s, int n, float *restrict p0,
                             float *restrict p1, float *restrict p2, float *restrict p3,
                             float *restrict p4, float *restrict p5)
{
    for (int j = 0; j < n; j++) {
        p0[j] = s[4 * j];
        p1[j] = s[4 * j + 1];
        p2[j] = s[4 * j + 2];
        p3[j] = s[4 * j + 3];
        p4[j] = s[4 * j + 4];
        p5[j] = s[4 * j + 5];
    }
}

/* s[4 j + c] = o_c[j], j < n: the four columns of n consecutive tiles side by side. */
FV_INLINE void interleave4(const float *restrict o0, const float *restrict o1,
                           const float *restrict o2, const float *restrict o3, int n,
                           float *restrict s)
{
    for (int j = 0; j < n; j++) {
        s[4 * j] = o0[j];
        s[4 * j + 1] = o1[j];
        s[4 * j + 2] = o2[j];
        s[4 * j + 3] = o3[j];
    }
}

/* Loops over tiles run over ntp = nt rounded up to 16 (rows of V, M and the phase arrays are ntp
 * long; the extra columns carry finite garbage that no output reads), and the vertical pass of a
 * segment is rounded up to 16 columns where the rows have them to read: the compilers leave
 * shorter tails scalar, which cost more than the rest. */

/* Where the input transform of a chunk keeps its arrays (tmp): the vertical pass of the patches'
 * own columns (tile t's columns 0-3 of row k at qg + k ld + 4 t, with slack past the last tile),
 * the 36 phase arrays (ld ntp), the vertical pass of the two columns past each segment's last
 * tile (eq + 2 k ntp + 2 segment + 0/1), a row of zeros (read for rows outside the input), six
 * staging rows (lds apart) for segments at the borders, and the end of the input and of the zero
 * row (the rounded reads stay short of them). */
typedef struct in_bufs {
    float *qg, *ph, *eq, *zero, *stage;
    const float *xend, *zend;
    size_t ld, lds;
} in_bufs;

static size_t qg_ld(int chunk) { return align16((size_t)4 * chunk + 32); }
/* The zero row is read at columns [-pw, 4 tw - pw + 18) from zero + max(pw, 0). */
static size_t zero_floats(const plan *p) { return (size_t)abs(p->pw) + 4 * (size_t)p->tw + 40; }

static size_t stage_ld(const plan *p) { return align16(4 * (size_t)p->tw + 24); }

static size_t tmp_floats(const plan *p)
{
    return 6 * qg_ld(p->chunk) + (size_t)48 * p->chunk + zero_floats(p) + 6 * stage_ld(p);
}

static in_bufs input_bufs(const plan *p, const float *xend, float *tmp)
{
    in_bufs bf;
    bf.ld = qg_ld(p->chunk);
    bf.qg = tmp;
    bf.ph = tmp + 6 * bf.ld;
    bf.eq = bf.ph + (size_t)36 * p->chunk;
    bf.zero = bf.eq + (size_t)12 * p->chunk;
    bf.stage = bf.zero + zero_floats(p);
    bf.lds = stage_ld(p);
    bf.xend = xend;
    bf.zend = bf.zero + zero_floats(p);
    return bf;
}

/* The vertical pass of n columns of the six rows into q (rows ld apart). */
FV_INLINE void vertical_cols(const float *const src[6], int n, float *q, size_t ld)
{
    bt_rows(src[0], src[1], src[2], src[3], src[4], src[5], n, q, q + ld, q + 2 * ld,
            q + 3 * ld, q + 4 * ld, q + 5 * ld);
}

/* n rounded up to 16 when each of the rows has that many columns to read (ends[r]: the end of
 * the array row r lies in). */
FV_INLINE int rounded_run(const float *const *src, const float *const *ends, int rows, int n)
{
    int n16 = (int)round16(n);
    for (int r = 0; r < rows; r++)
        if (ends[r] - src[r] < n16)
            return n;
    return n16;
}

/* d[c] = row[col + c] for c < n, zero where col + c lies outside [0, cols). */
FV_INLINE void stage_row(const float *row, int col, int n, int cols, float *restrict d)
{
    int lo = min_int(max_int(-col, 0), n), hi = max_int(min_int(cols - col, n), lo);
    for (int c = 0; c < lo; c++)
        d[c] = 0.0f;
    for (int c = lo; c < hi; c++)
        d[c] = row[col + c];
    for (int c = hi; c < n; c++)
        d[c] = 0.0f;
}

/* The vertical pass of segment sg of channel plane xc: its 4 nj + 2 columns (each tile's own
 * four, then the two past its last tile) into qg from the first tile's place on, the last two
 * then copied to eq (pair index si). Rows outside the input read the zero row; a segment that
 * touches the left or right border is first copied, zero-padded, into the staging rows. The pass
 * is rounded up to 16 columns where the rows have them (the staging rows always do): the spill
 * lands in the places of the next segment's tiles (written later) or in the slack past the
 * chunk's last tile. */
FV_INLINE void vertical_seg(const plan *p, const float *xc, const seg *sg, int si, int ntp,
                            const in_bufs *bf)
{
    const float *src[6], *ends[6]; /* each row from the segment's first column on */
    int n = 4 * sg->nj + 2, col = 4 * sg->j0 - p->pw; /* input column of the first tile */
    int staged = col < 0 || col + n > p->cols;
    for (int r = 0; r < 6; r++) {
        int y = 4 * sg->i - p->ph + r;
        if (y < 0 || y >= p->rows) {
            src[r] = bf->zero + max_int(p->pw, 0) + col;
            ends[r] = bf->zend;
        } else if (staged) {
            float *d = bf->stage + r * bf->lds;
            stage_row(xc + (int64_t)y * p->iw, col, n, p->cols, d);
            src[r] = d;
            ends[r] = d + bf->lds;
        } else {
            src[r] = xc + (int64_t)y * p->iw + col;
            ends[r] = bf->xend;
        }
    }
    float *q = bf->qg + 4 * sg->off;
    size_t ld = bf->ld;
    vertical_cols(src, rounded_run(src, ends, 6, n), q, ld);
    for (int k = 0; k < 6; k++) {
        bf->eq[(size_t)2 * k * ntp + 2 * si] = q[k * ld + n - 2];
        bf->eq[(size_t)2 * k * ntp + 2 * si + 1] = q[k * ld + n - 1];
    }
}

/* V[xi][ch][t] (ld ntp, planes xi_plane(cin, ntp) apart) for the nt tiles from t0 of input x
 * (n, cin, ih, iw): per channel, the vertical pass of every tile's own columns, the split into
 * the six columns of every tile (the last two are the next tile's first two, or the segment's
 * edge pair), the horizontal pass. */
FV_INLINE void input_chunk_body(const plan *p, const float *x, int64_t t0, int nt, float *v,
                                float *tmp)
{
    in_bufs bf = input_bufs(p, x + p->xlen, tmp);
    int ntp = (int)round16(nt);
    size_t vplane = xi_plane(p->cin, ntp), ld = bf.ld, np = (size_t)ntp;
    memset(bf.zero, 0, sizeof(float) * zero_floats(p));
    for (int k = 0; k < 6; k++) /* past the last tile: read by the padding columns */
        memset(bf.qg + k * ld + 4 * nt, 0, sizeof(float) * (ld - 4 * (size_t)nt));
    for (int ch = 0; ch < p->cin; ch++) {
        int si = 0;
        for (seg sg = seg_first(p, t0, nt); sg.nj; seg_next(p, nt, &sg), si++)
            vertical_seg(p, x + ((int64_t)sg.s * p->cin + ch) * p->ih * p->iw, &sg, si, ntp, &bf);
        for (int k = 0; k < 6; k++) {
            float *pk = bf.ph + 6 * k * np;
            deinterleave6(bf.qg + k * ld, ntp, pk, pk + np, pk + 2 * np, pk + 3 * np,
                          pk + 4 * np, pk + 5 * np);
            si = 0;
            for (seg sg = seg_first(p, t0, nt); sg.nj; seg_next(p, nt, &sg), si++) {
                int last = sg.off + sg.nj - 1;
                pk[4 * np + last] = bf.eq[2 * k * np + 2 * si];
                pk[5 * np + last] = bf.eq[2 * k * np + 2 * si + 1];
            }
            float *vk = v + 6 * k * vplane + ch * np;
            bt_rows(pk, pk + np, pk + 2 * np, pk + 3 * np, pk + 4 * np, pk + 5 * np, ntp, vk,
                    vk + vplane, vk + 2 * vplane, vk + 3 * vplane, vk + 4 * vplane,
                    vk + 5 * vplane);
        }
    }
}

/* y[k] = s[k] + bias (acc: y[k] += s[k]), k < n. */
FV_INLINE void store_span(const float *restrict s, int n, float bias, int acc, float *restrict y)
{
    if (acc)
        for (int k = 0; k < n; k++)
            y[k] += s[k];
    else
        for (int k = 0; k < n; k++)
            y[k] = s[k] + bias;
}

/* y (n, cout, oh, ow) = (acc: +=) the output transform of M[xi][co][t] (ld ntp, planes
 * xi_plane(cout, ntp) apart) for the nt tiles from t0, plus b (may be NULL) unless acc: per
 * output channel, the horizontal and vertical passes of A^T over all tiles, the four columns of
 * every tile side by side in each of the four rows (og), then each segment's rows, clipped, into
 * y. */
FV_INLINE void output_chunk_body(const plan *p, const float *m, int64_t t0, int nt,
                                 const float *b, float *y, int acc, float *tmp)
{
    int ntp = (int)round16(nt);
    size_t np = (size_t)ntp, mplane = xi_plane(p->cout, ntp), ld = qg_ld(p->chunk), s4 = 4 * np;
    float *rr = tmp, *o = rr + 24 * np, *og = o + 16 * np;
    for (int co = 0; co < p->cout; co++) {
        for (int k = 0; k < 6; k++) { /* rr[k][c] = (m_k A)_c */
            const float *mk = m + 6 * k * mplane + co * np;
            float *rk = rr + 4 * k * np;
            at_rows(mk, mk + mplane, mk + 2 * mplane, mk + 3 * mplane, mk + 4 * mplane,
                    mk + 5 * mplane, ntp, rk, rk + np, rk + 2 * np, rk + 3 * np);
        }
        for (int c = 0; c < 4; c++) { /* o[r][c] = (A^T rr)_r */
            const float *rc = rr + c * np;
            float *oc = o + c * np;
            at_rows(rc, rc + s4, rc + 2 * s4, rc + 3 * s4, rc + 4 * s4, rc + 5 * s4, ntp, oc,
                    oc + s4, oc + 2 * s4, oc + 3 * s4);
        }
        for (int r = 0; r < 4; r++) {
            const float *orow = o + r * s4;
            interleave4(orow, orow + np, orow + 2 * np, orow + 3 * np, ntp, og + r * ld);
        }
        float bias = b && !acc ? b[co] : 0.0f;
        for (seg sg = seg_first(p, t0, nt); sg.nj; seg_next(p, nt, &sg)) {
            float *yc = y + ((int64_t)sg.s * p->cout + co) * p->oh * p->ow;
            int ncols = min_int(4 * sg.nj, p->ow - 4 * sg.j0);
            for (int r = 0; r < 4 && 4 * sg.i + r < p->oh; r++)
                store_span(og + r * ld + 4 * sg.off, ncols, bias, acc,
                           yc + (int64_t)(4 * sg.i + r) * p->ow + 4 * sg.j0);
        }
    }
}

/* ---------------------------------------------------------------- weight gradient */

/* The weight gradient goes through the transform domain too: with y = A^T (sum_c U_c . V_c) A
 * per tile, dL/dU_c = (A dY A^T) . V_c summed over tiles, so dU[xi] (cin x cout) accumulates
 * V[xi] Mb[xi]^T over the chunks, Mb being dy's 4x4 tiles taken to 6x6 by A; then dw = G^T dU G
 * (the adjoint of the weight transform). V is the forward pass's input transform. */

/* o_l[k] = (A m)_l for m_r = i_r[k], k < n: four values to six (the adjoint of at_rows). */
FV_INLINE void a_rows(const float *restrict i0, const float *restrict i1,
                      const float *restrict i2, const float *restrict i3, int n,
                      float *restrict o0, float *restrict o1, float *restrict o2,
                      float *restrict o3, float *restrict o4, float *restrict o5)
{
    for (int k = 0; k < n; k++) {
        float g0 = i0[k], g1 = i1[k], g2 = i2[k], g3 = i3[k];
        float e = g0 + g2, o = g1 + g3, e4 = g0 + 4.0f * g2, o8 = 2.0f * g1 + 8.0f * g3;
        o0[k] = g0;
        o1[k] = e + o;
        o2[k] = e - o;
        o3[k] = e4 + o8;
        o4[k] = e4 - o8;
        o5[k] = g3;
    }
}

/* p_c[j] = s[4 j + c], j < n: the four columns of n consecutive (disjoint) tiles. */
FV_INLINE void deinterleave4(const float *restrict s, int n, float *restrict p0,
                             float *restrict p1, float *restrict p2, float *restrict p3)
{
    for (int j = 0; j < n; j++) {
        p0[j] = s[4 * j];
        p1[j] = s[4 * j + 1];
        p2[j] = s[4 * j + 2];
        p3[j] = s[4 * j + 3];
    }
}

/* The vertical pass of A over the four dy rows of segment sg of output plane dyc: its 4 nj
 * columns into qg (rows ld apart) from the first tile's place on. Rows and columns past (oh, ow)
 * are zeros (the zero row; a segment ending past ow is staged); rounded up to 16 columns as the
 * input's vertical pass is. */
FV_INLINE void grad_seg(const plan *p, const float *dyc, const seg *sg, const in_bufs *bf)
{
    const float *src[4], *ends[4];
    int n = 4 * sg->nj, col = 4 * sg->j0, staged = col + n > p->ow;
    for (int r = 0; r < 4; r++) {
        int y = 4 * sg->i + r;
        if (y >= p->oh) {
            src[r] = bf->zero;
            ends[r] = bf->zend;
        } else if (staged) {
            float *d = bf->stage + r * bf->lds;
            stage_row(dyc + (int64_t)y * p->ow, col, n, p->ow, d);
            src[r] = d;
            ends[r] = d + bf->lds;
        } else {
            src[r] = dyc + (int64_t)y * p->ow + col;
            ends[r] = bf->xend;
        }
    }
    float *q = bf->qg + 4 * sg->off;
    size_t ld = bf->ld;
    a_rows(src[0], src[1], src[2], src[3], rounded_run(src, ends, 4, n), q, q + ld, q + 2 * ld,
           q + 3 * ld, q + 4 * ld, q + 5 * ld);
}

/* Mb[xi][co][t] (ld ntp, planes xi_plane(cout, ntp) apart) = (A dY_t A^T)_xi for the nt tiles
 * from t0 of dy (n, cout, oh, ow), dy ending at dyend: per output channel, the vertical pass,
 * the split into the four columns of every tile, the horizontal pass. */
FV_INLINE void grad_chunk_body(const plan *p, const float *dy, const float *dyend, int64_t t0,
                               int nt, float *mb, float *tmp)
{
    in_bufs bf = input_bufs(p, dyend, tmp);
    int ntp = (int)round16(nt);
    size_t mplane = xi_plane(p->cout, ntp), ld = bf.ld, np = (size_t)ntp;
    memset(bf.zero, 0, sizeof(float) * zero_floats(p));
    for (int k = 0; k < 6; k++) /* past the last tile: read by the padding columns */
        memset(bf.qg + k * ld + 4 * nt, 0, sizeof(float) * (ld - 4 * (size_t)nt));
    for (int co = 0; co < p->cout; co++) {
        for (seg sg = seg_first(p, t0, nt); sg.nj; seg_next(p, nt, &sg))
            grad_seg(p, dy + ((int64_t)sg.s * p->cout + co) * p->oh * p->ow, &sg, &bf);
        for (int k = 0; k < 6; k++) {
            float *pk = bf.ph + 4 * k * np, *mk = mb + 6 * k * mplane + co * np;
            deinterleave4(bf.qg + k * ld, ntp, pk, pk + np, pk + 2 * np, pk + 3 * np);
            a_rows(pk, pk + np, pk + 2 * np, pk + 3 * np, ntp, mk, mk + mplane, mk + 2 * mplane,
                   mk + 3 * mplane, mk + 4 * mplane, mk + 5 * mplane);
        }
    }
}

/* ---------------------------------------------------------------- weights */

enum { WB = 16 }; /* output channels transformed together (the vectorized lanes) */

/* t_i = (G k)_i for k = (k0, k1, k2), over WB lanes: the weight transform along one direction,
 * in double (1/6, 1/12, 1/24 are inexact; one rounding to float at the end). */
FV_INLINE void g_rows(const double *restrict k0, const double *restrict k1,
                      const double *restrict k2, double *restrict t0, double *restrict t1,
                      double *restrict t2, double *restrict t3, double *restrict t4,
                      double *restrict t5)
{
    for (int l = 0; l < WB; l++) {
        double e = k0[l] + k2[l], a = e * (1.0 / 24) + k2[l] * 0.125, b = k1[l] * (1.0 / 12);
        t0[l] = k0[l] * 0.25;
        t1[l] = -(e + k1[l]) * (1.0 / 6);
        t2[l] = -(e - k1[l]) * (1.0 / 6);
        t3[l] = a + b;
        t4[l] = a - b;
        t5[l] = k2[l];
    }
}

/* u[xi][ci][co0 + l] for output channels co0 + l, l < nb <= WB, of input channel ci: the 3x3
 * kernels at w + l * lstride (backward: rotated by 180 degrees) transformed to G k G^T. */
FV_INLINE void weights_block(const float *w, size_t lstride, int nb, int backward, float *u,
                             size_t plane)
{
    double k[9][WB], t[18][WB], r[NXI][WB]; /* k (3 x 3), t = G k (6 x 3), r = t G^T (6 x 6) */
    for (int l = 0; l < WB; l++)
        for (int i = 0; i < 9; i++)
            k[i][l] = 0.0;
    for (int l = 0; l < nb; l++)
        for (int i = 0; i < 9; i++)
            k[i][l] = w[l * lstride + (backward ? 8 - i : i)];
    for (int j = 0; j < 3; j++) /* column j of t from column j of k */
        g_rows(k[j], k[3 + j], k[6 + j], t[j], t[3 + j], t[6 + j], t[9 + j], t[12 + j],
               t[15 + j]);
    for (int i = 0; i < 6; i++) /* row i of r from row i of t */
        g_rows(t[3 * i], t[3 * i + 1], t[3 * i + 2], r[6 * i], r[6 * i + 1], r[6 * i + 2],
               r[6 * i + 3], r[6 * i + 4], r[6 * i + 5]);
    if (nb == WB) /* a fixed count: vectorized */
        for (int xi = 0; xi < NXI; xi++)
            for (int l = 0; l < WB; l++)
                u[xi * plane + l] = (float)r[xi][l];
    else
        for (int xi = 0; xi < NXI; xi++)
            for (int l = 0; l < nb; l++)
                u[xi * plane + l] = (float)r[xi][l];
}

/* u[xi][ci][co] = (G k G^T)_xi for the kernel k from input channel ci to output channel co, for
 * ci in [ci0, ci1): forward w[co][ci]; backward (ci = f, co = c) w[f][c] rotated by 180 degrees. */
FV_INLINE void weights_body(const float *w, const fv_conv_geom *g, int backward, int ci0, int ci1,
                            float *u)
{
    int cin = backward ? g->f : g->c, cout = backward ? g->c : g->f;
    size_t plane = xi_plane(cin, cout);
    ci1 = min_int(ci1, cin);
    /* forward: lanes are filters (C 9 apart); backward: channels (9 apart) */
    size_t lstride = backward ? 9 : (size_t)g->c * 9;
    for (int co0 = 0; co0 < cout; co0 += WB)
        for (int ci = ci0; ci < ci1; ci++) {
            size_t first = backward ? ((size_t)ci * g->c + co0) * 9 : ((size_t)co0 * g->c + ci) * 9;
            weights_block(w + first, lstride, min_int(WB, cout - co0), backward,
                          u + (size_t)ci * cout + co0, plane);
        }
}

/* k_j = (G^T t)_j for t = (t0 .. t5), over WB lanes: the adjoint of g_rows, in double. */
FV_INLINE void g_adj_rows(const double *restrict t0, const double *restrict t1,
                          const double *restrict t2, const double *restrict t3,
                          const double *restrict t4, const double *restrict t5,
                          double *restrict k0, double *restrict k1, double *restrict k2)
{
    for (int l = 0; l < WB; l++) {
        double s12 = t1[l] + t2[l], d12 = t1[l] - t2[l], s34 = t3[l] + t4[l], d34 = t3[l] - t4[l];
        k0[l] = t0[l] * 0.25 - s12 * (1.0 / 6) + s34 * (1.0 / 24);
        k1[l] = -d12 * (1.0 / 6) + d34 * (1.0 / 12);
        k2[l] = (s34 - s12) * (1.0 / 6) + t5[l];
    }
}

/* dw[f0 + l][c] += G^T dU G for output channels f0 + l, l < nb <= WB, of input channel c, dU
 * read at du + xi plane + l and dw written at dw + l * lstride. */
FV_INLINE void weights_adj_block(const float *du, size_t plane, int nb, float *dw, size_t lstride)
{
    double r[NXI][WB], t[18][WB], k[9][WB]; /* r (6 x 6), t = r G (6 x 3), k = G^T t (3 x 3) */
    for (int xi = 0; xi < NXI; xi++)
        for (int l = 0; l < WB; l++)
            r[xi][l] = l < nb ? (double)du[xi * plane + l] : 0.0;
    for (int i = 0; i < 6; i++) /* row i of t from row i of r */
        g_adj_rows(r[6 * i], r[6 * i + 1], r[6 * i + 2], r[6 * i + 3], r[6 * i + 4],
                   r[6 * i + 5], t[3 * i], t[3 * i + 1], t[3 * i + 2]);
    for (int j = 0; j < 3; j++) /* column j of k from column j of t */
        g_adj_rows(t[j], t[3 + j], t[6 + j], t[9 + j], t[12 + j], t[15 + j], k[j], k[3 + j],
                   k[6 + j]);
    for (int l = 0; l < nb; l++)
        for (int i = 0; i < 9; i++)
            dw[l * lstride + i] += (float)k[i][l];
}

/* dw (f, c, 3, 3) += G^T dU[.][c][f] G for the accumulated dU (planes of c x f). */
FV_INLINE void weights_adj_body(const float *du, const fv_conv_geom *g, float *dw)
{
    size_t plane = xi_plane(g->c, g->f);
    for (int f0 = 0; f0 < g->f; f0 += WB)
        for (int c = 0; c < g->c; c++)
            weights_adj_block(du + (size_t)c * g->f + f0, plane, min_int(WB, g->f - f0),
                              dw + ((size_t)f0 * g->c + c) * 9, (size_t)g->c * 9);
}

/* ---------------------------------------------------------------- instruction-set variants */

typedef void (*input_fn)(const plan *, const float *, int64_t, int, float *, float *);
typedef void (*output_fn)(const plan *, const float *, int64_t, int, const float *, float *, int,
                          float *);
typedef void (*weights_fn)(const float *, const fv_conv_geom *, int, int, int, float *);
typedef void (*grad_fn)(const plan *, const float *, const float *, int64_t, int, float *,
                        float *);
typedef void (*weights_adj_fn)(const float *, const fv_conv_geom *, float *);
typedef struct variant {
    input_fn input;
    output_fn output;
    weights_fn weights;
    grad_fn grad;
    weights_adj_fn weights_adj;
} variant;

#define FV_WINO_VARIANT(SFX, ATTR)                                                            \
    ATTR static void input_chunk_##SFX(const plan *p, const float *x, int64_t t0, int nt,      \
                                       float *v, float *tmp)                                   \
    {                                                                                          \
        input_chunk_body(p, x, t0, nt, v, tmp);                                                \
    }                                                                                          \
    ATTR static void output_chunk_##SFX(const plan *p, const float *m, int64_t t0, int nt,     \
                                        const float *b, float *y, int acc, float *tmp)         \
    {                                                                                          \
        output_chunk_body(p, m, t0, nt, b, y, acc, tmp);                                       \
    }                                                                                          \
    ATTR static void weights_##SFX(const float *w, const fv_conv_geom *g, int backward,        \
                                   int ci0, int ci1, float *u)                                 \
    {                                                                                          \
        weights_body(w, g, backward, ci0, ci1, u);                                             \
    }                                                                                          \
    ATTR static void grad_chunk_##SFX(const plan *p, const float *dy, const float *dyend,      \
                                      int64_t t0, int nt, float *mb, float *tmp)               \
    {                                                                                          \
        grad_chunk_body(p, dy, dyend, t0, nt, mb, tmp);                                        \
    }                                                                                          \
    ATTR static void weights_adj_##SFX(const float *du, const fv_conv_geom *g, float *dw)      \
    {                                                                                          \
        weights_adj_body(du, g, dw);                                                           \
    }                                                                                          \
    static const variant v_##SFX = {input_chunk_##SFX, output_chunk_##SFX, weights_##SFX,      \
                                    grad_chunk_##SFX, weights_adj_##SFX};

FV_WINO_VARIANT(generic, )

#ifdef FV_ISA_X86
FV_WINO_VARIANT(avx2, FV_TARGET_AVX2)
FV_WINO_VARIANT(avx512, FV_TARGET_AVX512)
#endif

/* The variant of the winograd family's level (kernels/isa.h). */
static const variant *current_variant(void)
{
    return FV_ISA_PICK(FV_KF_WINOGRAD, &v_generic, &v_avx2, &v_avx512);
}

/* ---------------------------------------------------------------- driver */

size_t fv_winograd_weight_floats(const fv_conv_geom *g)
{
    return NXI * xi_plane(g->c, g->f);
}

void fv_winograd_weights_f32(const float *w, const fv_conv_geom *g, int backward, float *u)
{
    current_variant()->weights(w, g, backward, 0, fv_winograd_in_channels(g, backward), u);
}

void fv_winograd_weights_part_f32(const float *w, const fv_conv_geom *g, int backward, int ci0,
                                  int ci1, float *u)
{
    current_variant()->weights(w, g, backward, ci0, ci1, u);
}

int fv_winograd_applies(const fv_conv_geom *g)
{
    return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
           g->groups == 1 && g->oh >= 1 && g->ow >= 1;
}

/* Measured with bench/bench_conv.c (one thread, AVX-512): Winograd ran 1.3-2.2x faster than
 * the lowered path once a call had at least 48 tiles (weights transformed in the call) or 16
 * (weights transformed beforehand) and 16 channels on either side. Below that the weight
 * transform (about 10-35 ns per (c, f) pair) and the re-reading of U for every chunk outweigh the
 * products saved (ResNet-18's 256- and 512-channel layers at batch 1: 0.15-0.8x in the call,
 * 0.5-1.4x cached), and with few channels the tile transforms do (3 -> 32: 0.4-0.6x). The input
 * gradient of a layer of at most 64 channels whose tiles cover its input poorly (under 80 %,
 * e.g. 14x14 or 10x10 from an unpadded layer) ran 0.8-1.1x and is left to the lowered path. The
 * weight gradient always transforms back (G^T dU G) and adds dU up chunk by chunk: with tiles
 * covering under 80 % of the output it needed 128 tiles (7x7 and 14x14 maps at 64 tiles:
 * 0.7-1.1x). */
int fv_winograd_wins(const fv_conv_geom *g, int n, int pass, int weights_cached)
{
    if (!fv_winograd_applies(g) || n < 1 || g->c < 16 || g->f < 16)
        return 0;
    plan p = make_plan(g, n, pass == 1);
    double cover = (double)p.oh * p.ow / (16.0 * p.th * p.tw); /* outputs per tile slot */
    if (pass == 2)
        return p.tiles >= 48 && (cover >= 0.8 || p.tiles >= 128);
    if (p.tiles < (weights_cached ? 16 : 48))
        return 0;
    return !(pass == 1 && cover < 0.8 && g->c <= 64 && g->f <= 64);
}

size_t fv_winograd_work_floats(const fv_conv_geom *g, int n)
{
    /* sized for the largest chunk any call with at most n samples can use */
    plan f = make_plan(g, n, 0), b = make_plan(g, n, 1);
    f.chunk = (int)min_i64(chunk_max(f.cin, f.cout), round16(f.tiles));
    b.chunk = (int)min_i64(chunk_max(b.cin, b.cout), round16(b.tiles));
    size_t wf = plan_work(&f), wb = plan_work(&b);
    return wf > wb ? wf : wb;
}

size_t fv_winograd_scratch_floats(const fv_conv_geom *g, int n)
{
    return align16(fv_winograd_weight_floats(g)) + fv_winograd_work_floats(g, n);
}

/* y = (acc: +=) the correlation of plan p of x with the transformed weights u (+ b unless acc)
 * over the tiles [t_begin, t_end), chunk by chunk: input transform, 36 GEMMs, output transform. */
static void run_plan(const plan *pl, const float *x, const float *u, const float *b, float *y,
                     int acc, int64_t t_begin, int64_t t_end, float *work)
{
    const variant *var = current_variant();
    plan range = *pl, *p = &range; /* chunks sized for the range (no larger than for all tiles) */
    range.chunk = chunk_tiles(p->cin, p->cout, t_end - t_begin);
    float *v = work, *m = v + NXI * xi_plane(p->cin, p->chunk);
    float *tmp = m + NXI * xi_plane(p->cout, p->chunk);
    size_t uplane = xi_plane(p->cin, p->cout);
    for (int64_t t0 = t_begin; t0 < t_end; t0 += p->chunk) {
        int nt = (int)(t_end - t0 < p->chunk ? t_end - t0 : p->chunk);
        var->input(p, x, t0, nt, v, tmp);
        int ntp = (int)round16(nt);
        size_t vplane = xi_plane(p->cin, ntp), mplane = xi_plane(p->cout, ntp);
        for (int xi = 0; xi < NXI; xi++)
            fv_sgemm(1, 0, p->cout, ntp, p->cin, 1.0f, u + xi * uplane, p->cout,
                     v + xi * vplane, ntp, 0.0f, m + xi * mplane, ntp);
        var->output(p, m, t0, nt, b, y, acc, tmp);
    }
}

void fv_winograd_fwd_u_f32(const float *x, const float *u, const float *b, float *y, int n,
                           const fv_conv_geom *g, float *work)
{
    plan p = make_plan(g, n, 0);
    run_plan(&p, x, u, b, y, 0, 0, p.tiles, work);
}

int fv_winograd_in_channels(const fv_conv_geom *g, int backward)
{
    return backward ? g->f : g->c;
}

int fv_winograd_tile_rows(const fv_conv_geom *g) { return (g->oh + 3) / 4; }

void fv_winograd_fwd_rows_u_f32(const float *x, const float *u, const float *b, float *y,
                                const fv_conv_geom *g, int r0, int r1, float *work)
{
    plan p = make_plan(g, 1, 0);
    run_plan(&p, x, u, b, y, 0, (int64_t)r0 * p.tw, (int64_t)r1 * p.tw, work);
}

void fv_winograd_bwd_data_u_f32(const float *u, const float *dy, float *dx, int n,
                                const fv_conv_geom *g, int acc, float *work)
{
    plan p = make_plan(g, n, 1);
    run_plan(&p, dy, u, NULL, dx, acc, 0, p.tiles, work);
}

void fv_winograd_fwd_f32(const float *x, const float *w, const float *b, float *y, int n,
                         const fv_conv_geom *g, float *scratch)
{
    fv_winograd_weights_f32(w, g, 0, scratch);
    fv_winograd_fwd_u_f32(x, scratch, b, y, n, g, scratch + align16(fv_winograd_weight_floats(g)));
}

void fv_winograd_bwd_data_f32(const float *w, const float *dy, float *dx, int n,
                              const fv_conv_geom *g, float *scratch)
{
    fv_winograd_weights_f32(w, g, 1, scratch);
    fv_winograd_bwd_data_u_f32(scratch, dy, dx, n, g, 1,
                               scratch + align16(fv_winograd_weight_floats(g)));
}

/* dU[xi] (cin x cout, planes xi_plane(c, f) apart) = sum over the tiles of V[xi] Mb[xi]^T,
 * chunk by chunk; then dw += G^T dU G. */
void fv_winograd_bwd_weights_f32(const float *x, const float *dy, float *dw, float *db, int n,
                                 const fv_conv_geom *g, float *scratch)
{
    const variant *var = current_variant();
    plan p = make_plan(g, n, 0);
    float *du = scratch, *v = scratch + align16(fv_winograd_weight_floats(g));
    float *mb = v + NXI * xi_plane(p.cin, p.chunk), *tmp = mb + NXI * xi_plane(p.cout, p.chunk);
    const float *dyend = dy + (int64_t)n * g->f * g->oh * g->ow;
    size_t uplane = xi_plane(p.cin, p.cout);
    for (int64_t t0 = 0; t0 < p.tiles; t0 += p.chunk) {
        int nt = (int)(p.tiles - t0 < p.chunk ? p.tiles - t0 : p.chunk);
        var->input(&p, x, t0, nt, v, tmp);
        var->grad(&p, dy, dyend, t0, nt, mb, tmp);
        int ntp = (int)round16(nt);
        size_t vplane = xi_plane(p.cin, ntp), mplane = xi_plane(p.cout, ntp);
        for (int xi = 0; xi < NXI; xi++) /* the K = nt real tiles: the padding is garbage */
            fv_sgemm(0, 1, p.cin, p.cout, nt, 1.0f, v + xi * vplane, ntp, mb + xi * mplane, ntp,
                     t0 ? 1.0f : 0.0f, du + xi * uplane, p.cout);
    }
    if (p.tiles)
        var->weights_adj(du, g, dw);
    int64_t ohw = (int64_t)g->oh * g->ow;
    for (int64_t sf = 0; db && sf < (int64_t)n * g->f; sf++) {
        db[sf % g->f] += (float)fv_sum_f64(dy + sf * ohw, ohw);
    }
}
