/* qrun.c - running a quantized conv2d or dense chain (ops/quant.h): the input quantized to uint8
 * with the layer's calibrated scale and zero point (for a convolution, im2col writes the packed
 * GEMM operand directly, padding with the zero point, which stands for 0.0), the int8 GEMM tiles
 * of the level in force, and the epilogue on each tile while it is hot: y = act((acc - zp *
 * rowsum) * in_scale * wscale * bn_scale + shift + residual). Samples (convolution) or column
 * panels (dense) are split among the workers; each has its slice of q->scratch. */
#include "ops/quant.h"

#include "kernels/qgemm.h"
#include "kernels/ref/conv_ref.h"

#include <math.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

typedef struct qjob {
    fv_model *m;
    const fv_qlayer *l;
    fv_conv_geom g; /* convolution: one sample's geometry */
    int conv, batch, width, act, has_res;
    int64_t in_sz, out_sz; /* one sample's input and output values */
    const float *x;
    float *out;
    const float *mult, *add; /* per output channel */
    ptrdiff_t res_delta;
    size_t per_worker; /* scratch bytes of one worker */
    fv_qg_tile_fn fn;
} qjob;

/* x / scale rounded to nearest (ties to even) plus zp, clamped to [0, 255]; NaN gives 0. The
 * clamp comes first so that adding and subtracting 1.5 * 2^23 rounds exactly (|v| < 2^22) without
 * a libm call; SSE2's cvtps2dq rounds the same way (to nearest even), so both paths agree. */
static inline uint8_t quant_u8(float x, float inv, float zp)
{
    float v = x * inv + zp;
    v = v > 0.0f ? v : 0.0f; /* NaN: 0 */
    v = v < 255.0f ? v : 255.0f;
    v = (v + 12582912.0f) - 12582912.0f;
    return (uint8_t)(int32_t)v;
}

static void quantize(const float *x, int64_t n, float scale, int zp, uint8_t *q)
{
    float inv = 1.0f / scale, z = (float)zp;
    int64_t i = 0;
#ifdef __SSE2__
    __m128 vi = _mm_set1_ps(inv), vz = _mm_set1_ps(z), lo = _mm_setzero_ps();
    __m128 hi = _mm_set1_ps(255.0f);
    for (; i + 16 <= n; i += 16) {
        __m128i r[4];
        for (int k = 0; k < 4; k++) {
            __m128 v = _mm_add_ps(_mm_mul_ps(_mm_loadu_ps(x + i + 4 * k), vi), vz);
            v = _mm_min_ps(_mm_max_ps(v, lo), hi); /* maxps(NaN, 0) is 0 */
            r[k] = _mm_cvtps_epi32(v);
        }
        __m128i w = _mm_packus_epi16(_mm_packs_epi32(r[0], r[1]), _mm_packs_epi32(r[2], r[3]));
        _mm_storeu_si128((__m128i *)(void *)(q + i), w);
    }
#endif
    for (; i < n; i++)
        q[i] = quant_u8(x[i], inv, z);
}

/* xq (c, h + 2 ph, w + 2 pw): x (c, h, w) quantized inside a border of the zero point, which
 * stands for 0.0, so that im2col reads every patch without bounds checks. */
static void quantize_padded(const float *x, const fv_conv_geom *g, float scale, int zp,
                            uint8_t *xq)
{
    int hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    if (g->ph == 0 && g->pw == 0) {
        quantize(x, (int64_t)g->c * g->h * g->w, scale, zp, xq);
        return;
    }
    memset(xq, zp, (size_t)g->c * (size_t)hp * (size_t)wp);
    for (int c = 0; c < g->c; c++)
        for (int y = 0; y < g->h; y++)
            quantize(x + ((size_t)c * (size_t)g->h + (size_t)y) * (size_t)g->w, g->w, scale, zp,
                     xq + ((size_t)c * (size_t)hp + (size_t)(y + g->ph)) * (size_t)wp +
                         (size_t)g->pw);
}

/* n bytes from src to dst (not overlapping), short runs without a call: 16-byte moves, the last
 * one overlapping the one before. */
static inline void copy_bytes(uint8_t *dst, const uint8_t *src, int n)
{
#ifdef __SSE2__
    if (n >= 16) {
        for (int i = 0; i + 16 < n; i += 16)
            _mm_storeu_si128((__m128i *)(void *)(dst + i),
                             _mm_loadu_si128((const __m128i *)(const void *)(src + i)));
        _mm_storeu_si128((__m128i *)(void *)(dst + n - 16),
                         _mm_loadu_si128((const __m128i *)(const void *)(src + n - 16)));
        return;
    }
#endif
    for (int i = 0; i < n; i++)
        dst[i] = src[i];
}

/* Row r of one sample's im2col matrix of the padded xq: oh ow bytes. */
static void im2col_row(const uint8_t *xq, const fv_conv_geom *g, int r, uint8_t *dst)
{
    int c = r / (g->kh * g->kw), ky = r / g->kw % g->kh, kx = r % g->kw;
    int hp = g->h + 2 * g->ph, wp = g->w + 2 * g->pw;
    const uint8_t *plane = xq + (size_t)c * (size_t)hp * (size_t)wp + (size_t)(kx * g->dw);
    for (int oy = 0; oy < g->oh; oy++, dst += g->ow) {
        const uint8_t *src = plane + (size_t)(oy * g->sh + ky * g->dh) * (size_t)wp;
        if (g->sw == 1)
            copy_bytes(dst, src, g->ow);
        else
            for (int ox = 0; ox < g->ow; ox++)
                dst[ox] = src[(size_t)ox * (size_t)g->sw];
    }
}

/* The whole panels of 4 rows of n bytes (at rows, n apart) interleaved into packed B's layout:
 * column j's 4 bytes together; returns the columns done (a multiple of FV_QG_NR). The same bytes
 * as the scalar loop of im2col_packed; SSE2's unpacks (x86-64's baseline) where there are. */
static int interleave16(const uint8_t *rows, int n, uint8_t *panel, size_t pstride)
{
#if defined(__SSE2__) && FV_QG_NR == 16
    int j0 = 0;
    for (; j0 + 16 <= n; j0 += 16, panel += pstride) {
        __m128i a = _mm_loadu_si128((const __m128i *)(const void *)(rows + j0));
        __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(rows + n + j0));
        __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(rows + 2 * (size_t)n + j0));
        __m128i d = _mm_loadu_si128((const __m128i *)(const void *)(rows + 3 * (size_t)n + j0));
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i cd0 = _mm_unpacklo_epi8(c, d), cd1 = _mm_unpackhi_epi8(c, d);
        __m128i *out = (__m128i *)(void *)panel;
        _mm_storeu_si128(out, _mm_unpacklo_epi16(ab0, cd0));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi16(ab0, cd0));
        _mm_storeu_si128(out + 2, _mm_unpacklo_epi16(ab1, cd1));
        _mm_storeu_si128(out + 3, _mm_unpackhi_epi16(ab1, cd1));
    }
    return j0;
#else
    (void)rows, (void)n, (void)panel, (void)pstride;
    return 0;
#endif
}

/* One sample's patches of xq into packed B (k = c kh kw rows, n = oh ow columns), four rows at a
 * time: each built whole in rows (4 n bytes), then interleaved so that a column's 4 bytes sit
 * together, panels of FV_QG_NR columns k4 FV_QG_NR bytes apart; padding is 0. */
static void im2col_packed(const uint8_t *xq, const fv_conv_geom *g, uint8_t *rows, uint8_t *pb)
{
    int k = g->c * g->kh * g->kw, n = g->oh * g->ow;
    size_t pstride = (size_t)fv_qg_k4(k) * FV_QG_NR;
    for (int r0 = 0; r0 < k; r0 += 4) {
        for (int t = 0; t < 4; t++) {
            if (r0 + t < k)
                im2col_row(xq, g, r0 + t, rows + (size_t)t * (size_t)n);
            else
                memset(rows + (size_t)t * (size_t)n, 0, (size_t)n);
        }
        uint8_t *panel = pb + (size_t)r0 * FV_QG_NR;
        int j0 = interleave16(rows, n, panel, pstride);
        for (panel += (size_t)(j0 / FV_QG_NR) * pstride; j0 < n; j0 += FV_QG_NR, panel += pstride)
            for (int jj = 0; jj < FV_QG_NR; jj++) {
                int j = j0 + jj, in = j < n;
                for (int t = 0; t < 4; t++)
                    panel[jj * 4 + t] = in ? rows[(size_t)t * (size_t)n + (size_t)j] : 0;
            }
    }
}

/* Columns [c0, c1) of one output row y (t: the row's tile values, indexed by column) four at a
 * time with SSE2: the scalar loop's operations in its order (mul, then add: no FMA), so the bits
 * agree; returns the first column left to the scalar loop. */
static int epilogue_row4(const qjob *j, const int32_t *t, int c0, int c1, int32_t corr,
                         float mult, float add, float *y)
{
    int c = c0;
#ifdef __SSE2__
    __m128i vc = _mm_set1_epi32(corr);
    __m128 vm = _mm_set1_ps(mult), va = _mm_set1_ps(add), zero = _mm_setzero_ps();
    __m128 six = _mm_set1_ps(6.0f);
    for (; c + 4 <= c1; c += 4) {
        __m128i acc = _mm_sub_epi32(_mm_loadu_si128((const __m128i *)(const void *)(t + c)), vc);
        __m128 v = _mm_add_ps(_mm_mul_ps(_mm_cvtepi32_ps(acc), vm), va);
        if (j->has_res)
            v = _mm_add_ps(v, _mm_loadu_ps(y + c + j->res_delta));
        if (j->act == FV_CONV_ACT_RELU)
            v = _mm_max_ps(v, zero); /* NaN: 0, as v > 0 ? v : 0 */
        else if (j->act == FV_CONV_ACT_RELU6)
            v = _mm_min_ps(_mm_max_ps(v, zero), six);
        _mm_storeu_ps(y + c, v);
    }
#else
    (void)j, (void)t, (void)c1, (void)corr, (void)mult, (void)add, (void)y;
#endif
    return c;
}

/* The epilogue of one tile at (i0, j0) of an m x n result; element (i, j) goes to
 * out[i si + j sj]. */
static void epilogue(const qjob *j, const int32_t *tile, int i0, int j0, int n, float *out,
                     int64_t si, int64_t sj)
{
    const fv_qlayer *l = j->l;
    int i1 = i0 + FV_QG_MR < l->m ? i0 + FV_QG_MR : l->m;
    int c1 = j0 + FV_QG_NR < n ? j0 + FV_QG_NR : n;
    for (int i = i0; i < i1; i++) {
        int32_t corr = (int32_t)((uint32_t)l->in_zp * (uint32_t)l->wsum[i]);
        float mult = j->mult[i], add = j->add[i];
        const int32_t *t = tile + (i - i0) * FV_QG_NR - j0;
        int c = j0;
        if (sj == 1) /* contiguous outputs: four at a time, the same arithmetic */
            c = epilogue_row4(j, t, j0, c1, corr, mult, add, out + i * si);
        for (; c < c1; c++) {
            float *y = out + i * si + c * sj;
            float v = (float)(int32_t)((uint32_t)t[c] - (uint32_t)corr) * mult + add;
            if (j->has_res)
                v += y[j->res_delta];
            if (j->act == FV_CONV_ACT_RELU)
                v = v > 0 ? v : 0;
            else if (j->act == FV_CONV_ACT_RELU6)
                v = v > 0 ? (v < 6 ? v : 6) : 0;
            *y = v;
        }
    }
}

/* GEMM of the layer's packed rows with packed B (n columns), through the epilogue. */
static void tiles(const qjob *j, const uint8_t *pb, int n, float *out, int64_t si, int64_t sj)
{
    const fv_qlayer *l = j->l;
    int k4 = fv_qg_k4(l->k);
    int32_t tile[FV_QG_MR * FV_QG_NR];
    for (int j0 = 0; j0 < n; j0 += FV_QG_NR)
        for (int i0 = 0; i0 < l->m; i0 += FV_QG_MR) {
            j->fn(l->packed + (size_t)i0 * (size_t)k4, pb + (size_t)j0 * (size_t)k4, k4, tile);
            epilogue(j, tile, i0, j0, n, out, si, sj);
        }
}

/* Bytes of one sample's padded quantized input. */
static size_t padded_bytes(const fv_conv_geom *g)
{
    return (size_t)g->c * (size_t)(g->h + 2 * g->ph) * (size_t)(g->w + 2 * g->pw);
}

static void conv_task(void *ctx, int t)
{
    const qjob *j = ctx;
    int64_t a, b;
    fv_split(j->batch, j->width, t, &a, &b);
    uint8_t *xq = j->m->quant->scratch + (size_t)t * j->per_worker;
    int n = j->g.oh * j->g.ow;
    uint8_t *rows = xq + (padded_bytes(&j->g) + 63) / 64 * 64;
    uint8_t *pb = rows + (4 * (size_t)n + 63) / 64 * 64;
    for (int64_t s = a; s < b; s++) {
        quantize_padded(j->x + s * j->in_sz, &j->g, j->l->in_scale, j->l->in_zp, xq);
        im2col_packed(xq, &j->g, rows, pb);
        tiles(j, pb, n, j->out + s * j->out_sz, n, 1);
    }
}

static void dense_task(void *ctx, int t)
{
    const qjob *j = ctx;
    int64_t a, b;
    fv_split(j->batch, j->width, t, &a, &b);
    if (a == b)
        return;
    int k = j->l->k, n = (int)(b - a);
    uint8_t *xq = j->m->quant->scratch + (size_t)t * j->per_worker;
    uint8_t *pb = xq + ((size_t)n * (size_t)k + 63) / 64 * 64;
    quantize(j->x + a * k, (int64_t)n * k, j->l->in_scale, j->l->in_zp, xq);
    fv_qg_pack_b(xq, k, n, 1, k, pb);
    tiles(j, pb, n, j->out + a * j->l->m, 1, j->l->m);
}

/* Grows q's scratch to `bytes`; 0 when out of memory. */
static int reserve(fv_quant *q, size_t bytes)
{
    if (bytes <= q->scratch_bytes)
        return 1;
    unsigned char *s = fv_malloc(bytes, "int8 scratch");
    if (!s)
        return 0;
    fv_free(q->scratch);
    q->scratch = s, q->scratch_bytes = bytes;
    return 1;
}

/* The per-channel multiplier and addend of the epilogue into mult / add (l->m each). */
static void fold(const fv_model *m, const fv_qlayer *l, const fv_conv_epilogue *e, float *mult,
                 float *add)
{
    (void)m;
    for (int i = 0; i < l->m; i++) {
        float s = e->scale ? e->scale[i] : 1.0f;
        mult[i] = l->in_scale * l->wscale[i] * s;
        add[i] = e->shift ? e->shift[i] : 0.0f; /* with the bias (fuse.c folds it in) */
    }
}

static void geom_of(const fv_model *m, const fv_node *n, fv_conv_geom *g)
{
    const fv_node *x = fv_input_node(m, n, 0);
    const fv_conv_attr *a = &n->a.conv;
    *g = (fv_conv_geom){.c = (int)x->dims[0], .h = (int)x->dims[1], .w = (int)x->dims[2],
                        .f = a->filters, .kh = a->kh, .kw = a->kw, .sh = a->sh, .sw = a->sw,
                        .ph = a->ph, .pw = a->pw, .dh = a->dh, .dw = a->dw, .groups = 1};
    fv_conv_geom_init(g);
}

int fv_quant_run(fv_model *m, int i, int batch, const fv_conv_epilogue *e, float *out)
{
    const fv_qlayer *l = fv_quant_layer(m, i);
    if (!l || !fv_quant_active())
        return 0;
    fv_node *n = &m->nodes[i];
    const fv_node *x = fv_input_node(m, n, 0);
    qjob j = {.m = m, .l = l, .conv = n->op == FV_OP_CONV2D, .batch = batch, .act = e->act,
              .has_res = e->has_res, .in_sz = x->size, .out_sz = n->size, .x = x->y,
              .out = out, .res_delta = e->res_delta, .fn = fv_qg_kernel()};
    j.width = fv_parallel_width(batch);
    size_t head = (sizeof(float) * 2 * (size_t)l->m + 63) / 64 * 64;
    if (j.conv) {
        geom_of(m, n, &j.g);
        size_t n = (size_t)j.g.oh * (size_t)j.g.ow;
        j.per_worker = (padded_bytes(&j.g) + 63) / 64 * 64 + (4 * n + 63) / 64 * 64 +
                       fv_qg_b_bytes(l->k, (int)n);
    } else {
        size_t cols = (size_t)((batch + j.width - 1) / j.width);
        j.per_worker = (cols * (size_t)l->k + 63) / 64 * 64 + fv_qg_b_bytes(l->k, (int)cols);
    }
    j.per_worker = (j.per_worker + 63) / 64 * 64;
    if (!reserve(m->quant, j.per_worker * (size_t)j.width + head))
        return 0;
    float *mult = (float *)(void *)(m->quant->scratch + j.per_worker * (size_t)j.width);
    fold(m, l, e, mult, mult + l->m);
    j.mult = mult, j.add = mult + l->m;
    fv_parallel(j.width, j.conv ? conv_task : dense_task, &j);
    return 1;
}
