/* gemm.c - fv_sgemm: single-precision GEMM, cache-blocked around register-tiled micro-kernels.
 * Variants: generic plain C (4 x 8 tile, auto-vectorized), AVX2+FMA (6 x 16) and AVX-512 (8 x 48,
 * 12 x 32 and 6 x 64 tiles of zmm accumulators, chosen per call so that MR divides M when it can;
 * narrower kernels for the last columns, tail kernels for the last rows), intrinsics behind
 * target attributes, picked per call by the gemm family's level (kernels/isa.h).
 * Blocking: a KC x NC block of op(B) stays in L2 while each A panel (MR x KC, in L1) meets its
 * panels, one kernel call per strip of tiles. Operands are packed into panels only where that
 * pays: A is read in place when its rows are contiguous along K; a transposed A, and B when A has
 * many panels, are packed by the kernels themselves as they first read them (AVX-512), or up
 * front (transposing 16 x 16 / 8 x 8 blocks in registers when the operand is transposed). Small
 * products read B in place. A B^T with a short side and a long K goes to inner-product kernels
 * instead (AVX-512), which need no packing at all, and so do the last columns of a product whose
 * width leaves a vector at most half used (N % 16 in 1..8: 14 x 14 and 7 x 7 maps). A^T op(B)
 * of such a width is computed transposed instead, C's rows along the vectors (AVX-512).
 * This file is the driver (variant and tile choice, blocking, threads' buffers); the micro-kernels
 * and packing routines of each variant are in gemm_generic.c, gemm_avx2.c and gemm_avx512.c. */
#include "kernels/kernels.h"
#include "kernels/gemm_tile.h"
#include "kernels/isa.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Blocking (Zen 5: 48 KiB L1d, 1 MiB L2 per core): at most KC steps per pass and NC columns of
 * B per block (rounded down to a multiple of the tile's NR): a KC x NC block of B stays in L2
 * while an A panel (MR x KC) in L1 meets each of its panels. A packed up front goes in blocks of
 * MC rows. Products of at most SMALL_M rows read B in place; B_IN_L2 floats of it in place
 * stay in L2. */
enum { KC = 512, MC = 96, NC = 336, SMALL_M = 192, B_IN_L2 = 64 * 1024 };

/* Per-thread packing buffers (static storage: no allocation on the compute path); the panels'
 * padding needs at most PAD floats per row. */
static _Thread_local _Alignas(64) float pack_a[MC * (KC + PAD)];
static _Thread_local _Alignas(64) float pack_b[NC * (KC + PAD)];

/* ---- variant selection ---------------------------------------------------------------------- */

/* A forced tile: its index (blocked tiles, then inner-product ones) in the variant g_tile_v, the
 * one in use when it was forced; -1: none. */
static int g_tile = -1;
static const variant *g_tile_v;
static fv_gemm_operands g_operands = FV_GEMM_OPERANDS_AUTO;

/* The variant of the gemm family's level (kernels/isa.h). */
static const variant *current_variant(void)
{
    return FV_ISA_PICK(FV_KF_GEMM, &fv_gemm_generic, &fv_gemm_avx2, &fv_gemm_avx512);
}

/* The tile forced for v, -1 when none is (or it was forced for another variant). */
static int forced_tile(const variant *v) { return v == g_tile_v ? g_tile : -1; }

const char *fv_sgemm_tile_name(int index)
{
    const variant *v = current_variant();
    if (index >= 0 && index < v->ntiles)
        return v->tiles[index].name;
    index -= v->ntiles;
    return index >= 0 && index < v->ndots ? v->dots[index].name : NULL;
}

int fv_sgemm_force_tile(int index)
{
    if (index != -1 && !fv_sgemm_tile_name(index))
        return 0;
    g_tile = index;
    g_tile_v = current_variant();
    return 1;
}

void fv_sgemm_force_operands(fv_gemm_operands mode) { g_operands = mode; }

/* The blocked tile whose MR divides M best (the fewest rows left to a tail kernel, which is
 * less efficient); ties go to the earlier tile. */
static const tile *pick_tile(const variant *v, int M)
{
    int t = forced_tile(v);
    if (t >= 0 && t < v->ntiles)
        return &v->tiles[t];
    const tile *best = &v->tiles[0];
    int waste = (M + best->mr - 1) / best->mr * best->mr - M;
    for (int i = 1; i < v->ntiles; i++) {
        const tile *t = &v->tiles[i];
        int w = (M + t->mr - 1) / t->mr * t->mr - M;
        if (w < waste)
            best = t, waste = w;
    }
    return best;
}

/* The inner-product tile with the least estimated time (ties: the earlier one): its tiles (a
 * partial one costs a whole one) times the larger of its loads per step (mr + nr vectors) and
 * its FMA cycles (mr nr / 2). Measured, the loads rank the tiles where the padded area did not
 * (6 x 25 by 6 x 1 tiles ran at 0.45x of 6 x 4 ones). */
static const dot_tile *cheapest_dot(const variant *v, int M, int N)
{
    const dot_tile *best = NULL;
    long cost = 0;
    for (int i = 0; i < v->ndots; i++) {
        const dot_tile *t = &v->dots[i];
        long c = (long)((M + t->mr - 1) / t->mr) * ((N + t->nr - 1) / t->nr) *
                 max_int(t->mr + t->nr, t->mr * t->nr / 2);
        if (!best || c < cost)
            best = t, cost = c;
    }
    return best;
}

/* A B^T (both contiguous along K) by inner products when packing B^T would cost about as much as
 * it saves: few rows of A or columns of B to reuse a packed element for, and K long enough for
 * the sums; cheapest_dot's tile. NULL: the blocked product. */
static const dot_tile *pick_dot(const variant *v, int transA, int transB, int M, int N, int K)
{
    if (transA || !transB || !v->ndots)
        return NULL;
    int t = forced_tile(v);
    if (t >= 0)
        return t >= v->ntiles ? &v->dots[t - v->ntiles] : NULL;
    int mn = min_int(M, N);
    if (K < 64 || mn > 32 || (mn > 8 && K < 256))
        return NULL;
    return cheapest_dot(v, M, N);
}

/* ---- blocked product ------------------------------------------------------------------------ */

/* Packs the rows x kc block of a matrix whose element (r, p) is src[r * rs + p * ps] into panels
 * of w rows (panel k: rows [k w, k w + w) for each p; missing rows are 0); the last panel is only
 * as wide as it needs to be, rounded up to `step`. */
static void pack(const variant *v, const float *src, ptrdiff_t rs, ptrdiff_t ps, int rows,
                 int kc, int w, int step, float *dst)
{
    if (rs == 1) {
        v->pack_rows(src, ps, rows, kc, w, step, dst);
        return;
    }
    for (int r0 = 0; r0 < rows; r0 += w, dst += panel_stride(w, kc)) /* ps == 1 */
        v->pack_cols(src + r0 * rs, rs, min_int(w, rows - r0), kc,
                     r0 + w < rows ? w : last_width(rows, w, step), dst);
}

/* C = beta * C (beta == 0: zeros, C not read). */
static void scale_c(int M, int N, float beta, float *C, int ldc)
{
    for (int i = 0; i < M; i++) {
        float *c = C + (ptrdiff_t)i * ldc;
        for (int j = 0; j < N; j++)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
    }
}

/* How a block of an operand reaches the kernels: packed up front; read in place (a partial last
 * panel still packed unless the edge kernels read only its rows or columns); or (rows contiguous along K, AVX-512)
 * read in place by the first kernel call that meets each panel, which packs it for the others:
 * A's panel in the first tile of its strip, all of B's in the first strip. */
enum { PACKED, IN_PLACE, FUSED };

/* One block of op(A) (rows: M, panels MR wide) or op(B) (rows: N, panels NR wide), kc steps, as
 * the kernels read it. Panels [0, nfull) are read in place (element (r, p) at src[r rs + p ps]);
 * the rest come packed from buf, pstride apart: w rows wide, the partial last one only last_w
 * wide. */
typedef struct operand {
    const float *src;
    float *buf;
    ptrdiff_t rs, ps, pstride;
    int rows, kc, w, nfull, last_w, fused;
    int whole; /* fused A: each panel packed at its own place in buf (else all at buf) */
} operand;

/* Packed panel q lies at buf + (q - pbase(o)) pstride: fused, the first strip packs panel q at
 * its own place. */
static int pbase(const operand *o) { return o->fused ? 0 : o->nfull; }

static void prepare(operand *o, const variant *v, const float *src, ptrdiff_t rs, ptrdiff_t ps,
                    int rows, int kc, int w, int step, int mode, int tail_in_place, float *buf)
{
    int tail = rows % w, np = (rows + w - 1) / w;
    int nfull = mode == PACKED ? 0 : tail_in_place || !tail ? np : np - 1;
    *o = (operand){src, buf, rs, ps, panel_stride(w, kc), rows, kc, w, nfull,
                   tail ? min_int(w, (tail + step - 1) / step * step) : w, mode == FUSED, 0};
    if (nfull < np)
        pack(v, src + (ptrdiff_t)nfull * w * rs, rs, ps, rows - nfull * w, kc, w, step,
             buf + (nfull - pbase(o)) * o->pstride);
}

/* Panel q (rows [q w, q w + w)) of o as the kernels read it: its start, rs and ss. */
static const float *panel(const operand *o, int q, ptrdiff_t *rs, ptrdiff_t *ss)
{
    if (q < o->nfull) {
        *rs = o->rs, *ss = o->ps;
        return o->src + (ptrdiff_t)q * o->w * o->rs;
    }
    *rs = 1, *ss = o->rows - q * o->w >= o->w ? o->w : o->last_w;
    return o->buf + (q - pbase(o)) * o->pstride;
}

/* The mc x kc block of op(A) times the kc x nc block of op(B) into C, in strips. With B packed
 * (its block in L2), each A panel (in L1) meets every B panel in turn; with B read in place,
 * each B panel meets every A panel right away (read from memory once). A partial last panel of B
 * goes to the tile's narrowest kernel that covers it (an edge kernel when read in place and not
 * whole vectors), that of A to a tail (edge) kernel. */
static void macro_kernel(const tile *t, const operand *a, const operand *b, float alpha,
                         float beta, float *C, ptrdiff_t ldc)
{
    int na = (a->rows + t->mr - 1) / t->mr, nb = (b->rows + t->nr - 1) / t->nr;
    int naf = a->rows / t->mr, nbf = b->rows / t->nr;
    /* B in place small enough to stay in L2: either order, whichever makes fewer calls */
    int calls_a = na * ((nbf > 0) + (nbf < nb)), calls_b = nb * ((naf > 0) + (naf < na));
    int a_outer = b->nfull == 0 || b->fused || /* (fused A implies B packed or fused) */
                  ((long)b->rows * b->kc <= B_IN_L2 && calls_a <= calls_b);
    kargs k = {.kc = a->kc, .ldc = ldc, .alpha = alpha, .beta = beta};
    ptrdiff_t rs;
    for (int o = 0; o < (a_outer ? na : nb); o++) {
        if (a_outer) { /* strip: A panel o against the whole B panels, then the partial one */
            k.a = panel(a, o, &k.ars, &k.aps), k.mr = min_int(t->mr, a->rows - o * t->mr);
            const kernel_fn *fns = k.mr == t->mr ? t->fn : t->tail;
            float *a_to = a->buf + (a->whole ? o * a->pstride : 0);
            k.c = C + (ptrdiff_t)o * t->mr * ldc, k.pack_to = a->fused ? a_to : NULL;
            if (nbf > 0) {
                k.b = panel(b, 0, &rs, &k.ldb), k.nr = t->nr, k.n = nbf;
                k.anext = 0, k.cnext = t->nr;
                k.bnext = b->nfull > 0 ? t->nr * b->rs : b->pstride;
                k.bpack_to = NULL, k.bpnext = b->pstride;
                if (b->fused && o == 0 && na > 1) /* the first strip packs B for the others */
                    k.bpack_to = b->buf;
                else if (b->fused && o > 0)
                    k.b = b->buf, k.ldb = t->nr, k.bnext = b->pstride;
                fns[(t->nr - 1) / t->step](&k);
                k.bpack_to = NULL;
                if (a->fused) /* packed now */
                    k.a = a_to, k.ars = 1, k.aps = t->mr, k.pack_to = NULL;
            }
            if (nbf < nb) {
                k.b = panel(b, nbf, &rs, &k.ldb), k.nr = b->rows - nbf * t->nr, k.n = 1;
                k.c += nbf * t->nr, k.pack_to = NULL;
                (nbf < b->nfull && k.nr % t->step ? t->tail : fns)[(k.nr - 1) / t->step](&k);
            }
        } else { /* strip: B panel o against the whole A panels, then the partial one */
            k.b = panel(b, o, &rs, &k.ldb), k.nr = min_int(t->nr, b->rows - o * t->nr);
            int nv = (k.nr - 1) / t->step;
            k.c = C + (ptrdiff_t)o * t->nr, k.pack_to = NULL;
            if (naf > 0) {
                k.a = panel(a, 0, &k.ars, &k.aps), k.mr = t->mr, k.n = naf;
                k.anext = a->nfull > 0 ? t->mr * a->rs : a->pstride, k.bnext = 0;
                k.cnext = t->mr * ldc;
                (k.nr < t->nr && o < b->nfull && k.nr % t->step ? t->tail : t->fn)[nv](&k);
            }
            if (naf < na) {
                k.a = panel(a, naf, &k.ars, &k.aps), k.mr = a->rows - naf * t->mr, k.n = 1;
                k.c += (ptrdiff_t)naf * t->mr * ldc;
                t->tail[nv](&k);
            }
        }
    }
}

/* The first of the fewest blocks of at most max that n splits into, in units of `mult` (the
 * last may be partial), as even as possible: a short last block would waste a pass. Called again
 * on what is left, it gives the next. */
static int even_block(int n, int max, int mult)
{
    int units = (n + mult - 1) / mult, most = max_int(1, max / mult);
    int parts = (units + most - 1) / most;
    return min_int(n, (units + parts - 1) / parts * mult);
}

/* How the blocked product reads op(B) (forced modes aside): in place when A has one panel (no
 * reuse), or when A is small and B stays in cache; else packed by the first strip (B's rows
 * contiguous, AVX-512) or up front. */
static int b_mode(const variant *v, const tile *t, int transB, int M, int N, int kcb)
{
    int fuse = (v->a_modes & FUSED_PACK) != 0;
    if (transB || g_operands == FV_GEMM_OPERANDS_PACKED)
        return PACKED;
    if (g_operands == FV_GEMM_OPERANDS_IN_PLACE)
        return IN_PLACE;
    if (M <= t->mr || (M <= SMALL_M && (!fuse || (long)kcb * N <= B_IN_L2)))
        return IN_PLACE;
    return fuse ? FUSED : PACKED;
}

/* How it reads op(A): in place when its rows are contiguous along K (a panel then stays in L1
 * across the B panels), when there are few B panels, or when all of it fits in L1 (A_IN_L1
 * floats: LeNet-5's 25 x 6 data gradient spent 5 % of its time packing); a transposed A (each
 * step of a panel a new line, lda apart: a power of two would put them all in one L1 set)
 * packed, by the kernels as they first read it when B is packed (its strips run along B). */
enum { A_IN_L1 = 8 * 1024 };
static int a_mode(const variant *v, const tile *t, int transA, int N, int K, int lda, int mode_b)
{
    int in_place = v->a_modes & A_IN_PLACE ? IN_PLACE : PACKED;
    if (g_operands != FV_GEMM_OPERANDS_AUTO)
        return g_operands == FV_GEMM_OPERANDS_IN_PLACE ? in_place : PACKED;
    if (!transA || N <= 2 * t->nr || (long)K * lda <= A_IN_L1)
        return in_place;
    return mode_b != IN_PLACE && (v->a_modes & FUSED_PACK) ? FUSED : PACKED;
}

/* Per-thread buffers grown on demand and freed when their thread ends: the whole of a packed
 * op(A) (M x KC, at most WHOLE_A floats: 16 MiB) and a transposed product's output (T_FLOATS).
 * NULL when one cannot grow: the caller then takes a path that needs none. */
enum { BUF_WHOLE_A, BUF_T, NBUFS };
enum { WHOLE_A = 4 << 20, T_FLOATS = 256 * 1024 };
static const size_t buf_max[NBUFS] = {WHOLE_A, T_FLOATS};
/* Whole only for more than this many blocks of B: with two (4608 x 392 x 512 products), writing
 * the packed A out to memory and reading it back cost more than packing it again. */
enum { WHOLE_A_BLOCKS = 3 };
static pthread_key_t buf_key[NBUFS];
static pthread_once_t buf_once = PTHREAD_ONCE_INIT;
static _Thread_local float *buf_ptr[NBUFS];
static _Thread_local size_t buf_cap[NBUFS];
static int buf_keys_ok;

static void buf_keys_init(void)
{
    buf_keys_ok = 1;
    for (int i = 0; i < NBUFS; i++)
        buf_keys_ok = buf_keys_ok && pthread_key_create(&buf_key[i], free) == 0;
}

static float *thread_buf(int which, size_t floats)
{
    if (floats > buf_max[which])
        return NULL;
    if (floats <= buf_cap[which])
        return buf_ptr[which];
    pthread_once(&buf_once, buf_keys_init);
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    float *p = buf_keys_ok ? aligned_alloc(64, bytes) : NULL;
    if (!p || pthread_setspecific(buf_key[which], p) != 0) {
        free(p);
        return NULL;
    }
    free(buf_ptr[which]);
    buf_ptr[which] = p, buf_cap[which] = bytes / sizeof(float);
    return p;
}

/* One KC x NC block of op(B) (at B0) against every block of op(A) (at A0: MC rows at a time when
 * packed up front), the macro-kernel on each pair. */
static void gemm_block(const variant *v, const tile *t, int mode_a, int mode_b, int mcmax, int M,
                       int nc, int kc, float alpha, const float *A0, ptrdiff_t rs_a,
                       ptrdiff_t ps_a, const float *B0, ptrdiff_t rs_b, ptrdiff_t ps_b,
                       float beta, float *C, int ldc)
{
    int edges = (v->a_modes & EDGES_IN_PLACE) != 0;
    operand a, b;
    prepare(&b, v, B0, rs_b, ps_b, nc, kc, t->nr, t->step, mode_b, edges, pack_b);
    for (int ic = 0, mc; ic < M; ic += mc) {
        mc = even_block(M - ic, mcmax, t->mr);
        prepare(&a, v, A0 + ic * rs_a, rs_a, ps_a, mc, kc, t->mr, t->mr, mode_a, edges, pack_a);
        macro_kernel(t, &a, &b, alpha, beta, C + (ptrdiff_t)ic * ldc, ldc);
    }
}

/* The product with op(A) packed whole once per K block into wbuf (the K blocks outermost): by the
 * kernels of the first block of B when it is fused, else up front; every later block of B reads
 * each panel from there. */
static void gemm_whole_a(const variant *v, const tile *t, int mode_a, int mode_b, int ncmax,
                         int M, int N, int K, float alpha, const float *A, ptrdiff_t rs_a,
                         ptrdiff_t ps_a, const float *B, ptrdiff_t rs_b, ptrdiff_t ps_b,
                         float beta, float *C, int ldc, float *wbuf)
{
    int edges = (v->a_modes & EDGES_IN_PLACE) != 0;
    for (int pc = 0, kc; pc < K; pc += kc) {
        kc = even_block(K - pc, KC, 4);
        operand a, b;
        prepare(&a, v, A + pc * ps_a, rs_a, ps_a, M, kc, t->mr, t->mr, mode_a, 0, wbuf);
        a.whole = 1;
        for (int jc = 0, nc; jc < N; jc += nc) {
            nc = even_block(N - jc, ncmax, t->nr);
            prepare(&b, v, B + jc * rs_b + pc * ps_b, rs_b, ps_b, nc, kc, t->nr, t->step, mode_b,
                    edges, pack_b);
            macro_kernel(t, &a, &b, alpha, pc == 0 ? beta : 1.0f, C + jc, ldc);
            a.fused = 0, a.nfull = 0; /* packed now: every panel from the buffer */
        }
    }
}

/* The blocked product: KC x NC blocks of op(B) against blocks of op(A). A packed op(A) that
 * meets several blocks of B is packed once per K block, whole (OpenBLAS packs it once too);
 * else the N blocks go outermost, so that a block of C stays in cache across the K blocks. */
static void gemm_blocked(const variant *v, const tile *t, int transA, int transB, int M, int N,
                         int K, float alpha, const float *A, int lda, const float *B, int ldb,
                         float beta, float *C, int ldc)
{
    /* op(A)(i, p) = A[i * rs_a + p * ps_a], op(B)(p, j) = B[j * rs_b + p * ps_b] */
    ptrdiff_t rs_a = transA ? 1 : lda, ps_a = transA ? lda : 1;
    ptrdiff_t rs_b = transB ? ldb : 1, ps_b = transB ? 1 : ldb;
    int kcb = even_block(K, KC, 4);
    int mode_b = b_mode(v, t, transB, M, N, kcb), mode_a = a_mode(v, t, transA, N, K, lda, mode_b);
    /* blocks of A matter only to its buffer */
    int mcmax = mode_a == PACKED ? MC / t->mr * t->mr : M;
    int ncmax = mode_b == IN_PLACE ? N : NC / t->nr * t->nr;
    float *wbuf = NULL;
    if (mode_a != IN_PLACE && N > WHOLE_A_BLOCKS * ncmax)
        wbuf = thread_buf(BUF_WHOLE_A,
                          (size_t)((M + t->mr - 1) / t->mr) * panel_stride(t->mr, kcb));
    if (wbuf) {
        gemm_whole_a(v, t, mode_a, mode_b, ncmax, M, N, K, alpha, A, rs_a, ps_a, B, rs_b, ps_b,
                     beta, C, ldc, wbuf);
        return;
    }
    for (int jc = 0, nc; jc < N; jc += nc) {
        nc = even_block(N - jc, ncmax, t->nr);
        for (int pc = 0, kc; pc < K; pc += kc) {
            kc = even_block(K - pc, KC, 4);
            gemm_block(v, t, mode_a, mode_b, mcmax, M, nc, kc, alpha, A + pc * ps_a, rs_a, ps_a,
                       B + jc * rs_b + pc * ps_b, rs_b, ps_b, pc == 0 ? beta : 1.0f, C + jc,
                       ldc);
        }
    }
}

/* A B^T by inner products: K blocks short enough for an A tile's rows to stay in L1, N blocks for
 * a K block of B's rows to stay in L2; every B tile against one A tile in turn. */
static void gemm_dot(const dot_tile *t, int M, int N, int K, float alpha, const float *A,
                     int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    enum { L1_STEPS = 1024, L2_FLOATS = 128 * 1024 };
    int kcb = even_block(K, L1_STEPS, 16);
    int ncb = max_int(t->nr, L2_FLOATS / kcb / t->nr * t->nr);
    for (int jc = 0; jc < N; jc += ncb) {
        int nc = min_int(ncb, N - jc);
        for (int pc = 0; pc < K; pc += kcb) {
            int kc = min_int(kcb, K - pc);
            float bt = pc == 0 ? beta : 1.0f;
            for (int i = 0; i < M; i += t->mr)
                for (int j = jc; j < jc + nc; j += t->nr)
                    t->fn(kc, A + (ptrdiff_t)i * lda + pc, lda, B + (ptrdiff_t)j * ldb + pc, ldb,
                          C + (ptrdiff_t)i * ldc + j, ldc, min_int(t->mr, M - i),
                          min_int(t->nr, jc + nc - j), alpha, bt);
        }
    }
}

/* The columns of C past the last full vector that the blocked product would compute in a vector
 * at most half used (N % 16 in 1..8: a 14 x 14 map has 196 = 12 x 16 + 4 positions, 7 x 7 has
 * 49 = 3 x 16 + 1), when A's rows are contiguous along K: inner products compute them instead,
 * every lane useful. 0: none. */
static int edge_columns(const variant *v, int transA, int N, int K)
{
    int step = v->tiles[0].step, r = N % step;
    if (transA || !v->ndots || forced_tile(v) >= 0 || N < step || K < 64 || step != 16)
        return 0;
    return r <= step / 2 ? r : 0;
}

/* C(:, 0..e) = alpha A op(B)(:, 0..e) + beta C by inner products, B pointing at op(B)'s first edge
 * column: rows of B when transposed, else its e columns gathered into rows, K_EDGE steps at a
 * time. */
static void gemm_edge(const variant *v, int transB, int M, int e, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    enum { K_EDGE = 2048 };
    static _Thread_local _Alignas(64) float rows[8 * K_EDGE];
    const dot_tile *d = cheapest_dot(v, M, e);
    if (transB) {
        gemm_dot(d, M, e, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    for (int pc = 0; pc < K; pc += K_EDGE) {
        int kc = min_int(K_EDGE, K - pc);
        for (int p = 0; p < kc; p++)
            for (int j = 0; j < e; j++)
                rows[j * K_EDGE + p] = B[(ptrdiff_t)(pc + p) * ldb + j];
        gemm_dot(d, M, e, kc, alpha, A + pc, lda, rows, K_EDGE, pc == 0 ? beta : 1.0f, C, ldc);
    }
}

/* Whether C = A^T op(B) runs faster as its transpose C^T = op(B)^T A when B's width fills its
 * last vector badly (N = 49, a 7 x 7 map: four vectors for 49 columns): C's rows then lie along
 * the vectors, every lane useful, for the price of transposing the result, about T_COST / K of
 * the product (measured: 576 x 100 x 64 gained, 150 x 100 x 16 lost 40 %). The vectors' padding
 * is ceil16(N) / N - 1 computed as is, ceil16(M) / M - 1 + T_COST / K transposed. */
enum { T_COST = 4 };
static int transposed_pays(const variant *v, int transA, int M, int N, int K)
{
    if (!transA || !v->store_t || forced_tile(v) >= 0 || g_operands != FV_GEMM_OPERANDS_AUTO ||
        N % 16 == 0 || M < 64 || K < 16 * T_COST)
        return 0;
    double now = (double)((N + 15) / 16 * 16) / N, tr = (double)((M + 15) / 16 * 16) / M;
    return tr + (double)T_COST / K < now - 0.01;
}

/* C = alpha A^T op(B) + beta C as its transpose, a block of C's rows [i0, i0 + mb) at a time:
 * T = op(B)^T A(:, i0..) by the blocked product (op(B)^T is B read transposed), then stored
 * into C transposed, alpha and beta applied there. 0: no buffer for T (nothing done). */
static int gemm_transposed(const variant *v, int transB, int M, int N, int K, float alpha,
                           const float *A, int lda, const float *B, int ldb, float beta, float *C,
                           int ldc)
{
    int mbmax = max_int(64, T_FLOATS / N / 64 * 64);
    float *t = thread_buf(BUF_T, (size_t)N * min_int(M, mbmax));
    if (!t)
        return 0;
    const tile *tt = pick_tile(v, N);
    for (int i0 = 0, mb; i0 < M; i0 += mb) {
        mb = even_block(M - i0, mbmax, 16);
        gemm_blocked(v, tt, !transB, 0, N, mb, K, 1.0f, B, ldb, A + i0, lda, 0.0f, t, mb);
        v->store_t(t, mb, N, mb, alpha, beta, C + (ptrdiff_t)i0 * ldc, ldc);
    }
    return 1;
}

void fv_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const variant *v = current_variant();
    const dot_tile *d = pick_dot(v, transA, transB, M, N, K);
    if (d) {
        gemm_dot(d, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    if (transposed_pays(v, transA, M, N, K) &&
        gemm_transposed(v, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
        return;
    int e = edge_columns(v, transA, N, K), n = N - e;
    gemm_blocked(v, pick_tile(v, M), transA, transB, M, n, K, alpha, A, lda, B, ldb, beta, C,
                 ldc);
    if (e)
        gemm_edge(v, transB, M, e, K, alpha, A, lda, B + (ptrdiff_t)n * (transB ? ldb : 1), ldb,
                  beta, C + n, ldc);
}
