/* selective.c - selective search (Uijlings et al., IJCV 2013): FH regions at several k in several
 * colour spaces, greedy hierarchical grouping by combined similarities, the paper's Single, Fast
 * and Quality strategies (OpenCV ximgproc's k, sigma and min_size), boxes ranked by hierarchy
 * position times a seeded random number and deduplicated. */
#include "proposals/proposals.h"

#include <stdlib.h>
#include <string.h>

enum { SIM_COLOUR = 1, SIM_TEXTURE = 2, SIM_SIZE = 4, SIM_FILL = 8 };

/* A box from one grouping run with its rank value (smaller first). */
typedef struct cand {
    double rank;
    int x1, y1, x2, y2;
} cand;

typedef struct pair {
    int a, b; /* a < 0: removed */
    double sim;
} pair;

/* One grouping run's state: regions (2n - 1 at most) with their histograms, adjacent pairs. */
typedef struct grouping {
    fv_ss_region *r;
    int nr, ncol, ntex, sims;
    float *hist;
    pair *p;
    int64_t np, cap;
    int *mark;
    int64_t im;
} grouping;

static double similarity(const grouping *g, int i, int j)
{
    const fv_ss_region *a = &g->r[i], *b = &g->r[j];
    double s = 0;
    if (g->sims & SIM_COLOUR)
        s += fv_ss_sim_hist(a->col, b->col, g->ncol);
    if (g->sims & SIM_TEXTURE)
        s += fv_ss_sim_hist(a->tex, b->tex, g->ntex);
    if (g->sims & SIM_SIZE)
        s += fv_ss_sim_size(a, b, g->im);
    if (g->sims & SIM_FILL)
        s += fv_ss_sim_fill(a, b, g->im);
    return s;
}

static int pair_cmp(const void *pa, const void *pb)
{
    const pair *a = pa, *b = pb;
    return a->a != b->a ? (a->a > b->a) - (a->a < b->a) : (a->b > b->b) - (a->b < b->b);
}

/* The initial regions' sizes, bounds and normalized histograms from the labels. */
static void init_regions(grouping *g, const fv_ss_bins *b, const int32_t *labels, int n)
{
    int w = b->w, h = b->h, c = b->c;
    size_t np = (size_t)h * w;
    for (int i = 0; i < n; i++)
        g->r[i] = (fv_ss_region){0, w, h, -1, -1, g->hist + (size_t)i * (g->ncol + g->ntex),
                                 g->hist + (size_t)i * (g->ncol + g->ntex) + g->ncol};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t q = (size_t)y * w + x;
            fv_ss_region *r = &g->r[labels[q]];
            r->size++;
            r->x1 = x < r->x1 ? x : r->x1, r->x2 = x > r->x2 ? x : r->x2;
            r->y1 = y < r->y1 ? y : r->y1, r->y2 = y > r->y2 ? y : r->y2;
            for (int k = 0; k < c; k++)
                r->col[k * FV_SS_COLOUR_BINS + b->col[k * np + q]] += 1;
            for (int k = 0; k < c * FV_SS_TEX_ORIENT; k++)
                r->tex[k * FV_SS_TEX_BINS + b->tex[k * np + q]] += 1;
        }
    for (int i = 0; i < n; i++) {
        fv_ss_region *r = &g->r[i];
        for (int k = 0; k < g->ncol; k++)
            r->col[k] /= (float)(r->size * c);
        for (int k = 0; k < g->ntex; k++)
            r->tex[k] /= (float)(r->size * c * FV_SS_TEX_ORIENT);
    }
    g->nr = n;
}

/* The pairs of 8-adjacent regions, once each (a < b), with their similarities. */
static fv_status init_pairs(grouping *g, const int32_t *labels, int h, int w)
{
    int64_t n = 0, cap = (int64_t)h * w * 4;
    pair *p = fv_malloc(sizeof(pair) * (size_t)cap, "region pairs");
    if (!p)
        return FV_ERR_NOMEM;
    static const int off[4][2] = {{1, 0}, {0, 1}, {1, 1}, {-1, 1}};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int d = 0; d < 4; d++) {
                int xx = x + off[d][0], yy = y + off[d][1];
                if (xx < 0 || xx >= w || yy >= h)
                    continue;
                int a = labels[(size_t)y * w + x], b = labels[(size_t)yy * w + xx];
                if (a != b)
                    p[n++] = (pair){a < b ? a : b, a < b ? b : a, 0};
            }
    qsort(p, (size_t)n, sizeof(pair), pair_cmp);
    int64_t u = 0;
    for (int64_t i = 0; i < n; i++)
        if (u == 0 || p[i].a != p[u - 1].a || p[i].b != p[u - 1].b)
            p[u++] = p[i];
    for (int64_t i = 0; i < u; i++)
        p[i].sim = similarity(g, p[i].a, p[i].b);
    g->p = p, g->np = u, g->cap = cap;
    return FV_OK;
}

/* Region t = i + j: size, bounds, size-weighted histograms. */
static void merge_regions(grouping *g, int i, int j, int t)
{
    fv_ss_region *a = &g->r[i], *b = &g->r[j], *r = &g->r[t];
    size_t off = (size_t)t * (g->ncol + g->ntex);
    *r = (fv_ss_region){a->size + b->size, a->x1 < b->x1 ? a->x1 : b->x1,
                        a->y1 < b->y1 ? a->y1 : b->y1, a->x2 > b->x2 ? a->x2 : b->x2,
                        a->y2 > b->y2 ? a->y2 : b->y2, g->hist + off, g->hist + off + g->ncol};
    double wa = (double)a->size / r->size, wb = (double)b->size / r->size;
    for (int k = 0; k < g->ncol; k++)
        r->col[k] = (float)(wa * a->col[k] + wb * b->col[k]);
    for (int k = 0; k < g->ntex; k++)
        r->tex[k] = (float)(wa * a->tex[k] + wb * b->tex[k]);
}

/* Drops the removed pairs. */
static void compact(grouping *g)
{
    int64_t u = 0;
    for (int64_t k = 0; k < g->np; k++)
        if (g->p[k].a >= 0)
            g->p[u++] = g->p[k];
    g->np = u;
}

/* Merges the most similar pair until none is left (first of equals wins); the regions, initial
 * and merged, end in g->r[0 .. nr). A merge removes the pairs of i and j and adds at most one
 * fewer, so live pairs never grow and cap = 2 x the initial count holds one round's additions. */
static void group(grouping *g)
{
    for (;;) {
        int64_t best = -1, live = 0;
        for (int64_t i = 0; i < g->np; i++)
            if (g->p[i].a >= 0) {
                live++;
                if (best < 0 || g->p[i].sim > g->p[best].sim)
                    best = i;
            }
        if (best < 0)
            return;
        if (g->np + live > g->cap || g->np > 2 * live + 1024) {
            pair keep = g->p[best];
            compact(g);
            for (best = 0; g->p[best].a != keep.a || g->p[best].b != keep.b; best++)
                ;
        }
        int i = g->p[best].a, j = g->p[best].b, t = g->nr++;
        merge_regions(g, i, j, t);
        int64_t old = g->np;
        g->mark[i] = g->mark[j] = t;
        for (int64_t q = 0; q < old; q++) {
            pair *p = &g->p[q];
            if (p->a < 0 || (p->a != i && p->a != j && p->b != i && p->b != j))
                continue;
            int nb = p->a == i || p->a == j ? p->b : p->a;
            p->a = -1;
            if (g->mark[nb] == t)
                continue;
            g->mark[nb] = t;
            g->p[g->np++] = (pair){nb, t, similarity(g, nb, t)};
        }
    }
}

typedef struct cands {
    cand *v;
    int64_t n, cap;
} cands;

/* One grouping run on a segmentation: every region of its hierarchy becomes a candidate ranked
 * (position from the top, 1 for the whole image) x U(0, 1). */
static fv_status run_grouping(const fv_ss_bins *b, const int32_t *labels, int n, int sims,
                              fv_rng *rng, cands *out)
{
    grouping g = {.ncol = b->c * FV_SS_COLOUR_BINS,
                  .ntex = b->c * FV_SS_TEX_ORIENT * FV_SS_TEX_BINS,
                  .sims = sims,
                  .im = (int64_t)b->h * b->w};
    int cap = 2 * n;
    g.r = fv_malloc(sizeof(fv_ss_region) * (size_t)cap, "regions");
    g.hist = fv_calloc((size_t)cap * (g.ncol + g.ntex), sizeof(float), "region histograms");
    g.mark = fv_malloc(sizeof(int) * (size_t)cap, "region marks");
    fv_status st = g.r && g.hist && g.mark ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK) {
        init_regions(&g, b, labels, n);
        st = init_pairs(&g, labels, b->h, b->w);
    }
    if (st == FV_OK) {
        int64_t want = 2 * g.np + 16;
        pair *p = fv_realloc(g.p, sizeof(pair) * (size_t)g.cap, sizeof(pair) * (size_t)want,
                             "region pairs");
        st = p ? FV_OK : FV_ERR_NOMEM;
        if (p)
            g.p = p, g.cap = want;
    }
    if (st == FV_OK && out->n + g.nr + n > out->cap) {
        int64_t want = (out->n + g.nr + n) * 2;
        cand *v = fv_realloc(out->v, sizeof(cand) * (size_t)out->cap, sizeof(cand) * (size_t)want,
                             "proposal boxes");
        st = v ? FV_OK : FV_ERR_NOMEM;
        if (v)
            out->v = v, out->cap = want;
    }
    if (st == FV_OK) {
        for (int i = 0; i < cap; i++)
            g.mark[i] = -1;
        group(&g);
        for (int i = 0; i < g.nr; i++) {
            const fv_ss_region *r = &g.r[i];
            out->v[out->n++] = (cand){(double)(g.nr - i) * fv_rng_uniform(rng), r->x1, r->y1,
                                      r->x2, r->y2};
        }
    }
    fv_free(g.r), fv_free(g.hist), fv_free(g.mark), fv_free(g.p);
    return st;
}

static int cand_box_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    int d[5] = {a->x1 - b->x1, a->y1 - b->y1, a->x2 - b->x2, a->y2 - b->y2,
                (a->rank > b->rank) - (a->rank < b->rank)};
    for (int i = 0; i < 5; i++)
        if (d[i])
            return d[i] < 0 ? -1 : 1;
    return 0;
}

static int cand_rank_cmp(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return cand_box_cmp(pa, pb);
}

/* Each box once (its best rank), best first, as continuous corners (x2 = last column + 1). */
static fv_status finish(cands *c, fv_box **boxes, int64_t *n)
{
    qsort(c->v, (size_t)c->n, sizeof(cand), cand_box_cmp);
    int64_t u = 0;
    for (int64_t i = 0; i < c->n; i++)
        if (u == 0 || c->v[i].x1 != c->v[u - 1].x1 || c->v[i].y1 != c->v[u - 1].y1 ||
            c->v[i].x2 != c->v[u - 1].x2 || c->v[i].y2 != c->v[u - 1].y2)
            c->v[u++] = c->v[i];
    qsort(c->v, (size_t)u, sizeof(cand), cand_rank_cmp);
    fv_box *b = malloc(sizeof(fv_box) * (size_t)(u ? u : 1)); /* the caller's: free() */
    if (!b)
        return fv_err(FV_ERR_NOMEM, "selective search: out of memory for %lld boxes", (long long)u);
    for (int64_t i = 0; i < u; i++)
        b[i] = (fv_box){(float)c->v[i].x1, (float)c->v[i].y1, (float)c->v[i].x2 + 1,
                        (float)c->v[i].y2 + 1};
    *boxes = b, *n = u;
    return FV_OK;
}

/* The strategy's colour spaces, k values and similarity combinations: the paper's, with
 * OpenCV's k = base_k + i inc_k, three of them (OpenCV's Fast gives exactly the box count of
 * three, and its Quality is nearest that of three; docs/DESIGN.md). */
typedef struct strategy {
    int nspace, nk, nsim;
    fv_ss_space space[5];
    int sims[4];
} strategy;

static strategy strategy_of(fv_proposal_mode m)
{
    int all = SIM_COLOUR | SIM_TEXTURE | SIM_SIZE | SIM_FILL, tsf = all & ~SIM_COLOUR;
    if (m == FV_PROPOSALS_SINGLE)
        return (strategy){1, 1, 1, {FV_SS_HSV}, {all}};
    if (m == FV_PROPOSALS_FAST)
        return (strategy){2, 3, 2, {FV_SS_HSV, FV_SS_LAB}, {all, tsf}};
    return (strategy){5, 3, 4, {FV_SS_HSV, FV_SS_LAB, FV_SS_GRAY, FV_SS_HUE, FV_SS_RGI},
                      {all, tsf, SIM_FILL, SIM_SIZE}};
}

/* The image as 3 RGB planes clamped to [0, 1] (one channel replicated). */
static fv_status rgb_planes(const fv_tensor *img, int c, int h, int w, fv_ss_image *rgb)
{
    size_t np = (size_t)h * w;
    *rgb = (fv_ss_image){3, h, w, fv_malloc(sizeof(float) * np * 3, "an RGB image")};
    if (!rgb->v)
        return FV_ERR_NOMEM;
    for (int k = 0; k < 3; k++)
        for (size_t q = 0; q < np; q++) {
            float v = img->data[(size_t)(c == 3 ? k : 0) * np + q];
            rgb->v[k * np + q] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
    return FV_OK;
}

/* All runs of one colour space: its bins, then each k's segmentation and each combination. */
static fv_status space_runs(const fv_ss_image *rgb, fv_ss_space sp, const strategy *s,
                            const fv_ss_args *a, int32_t *labels, fv_rng *rng, cands *out,
                            int *done)
{
    fv_ss_image im = {0};
    fv_ss_bins b = {0};
    fv_status st = fv_ss_convert(rgb, sp, &im);
    if (st == FV_OK)
        st = fv_ss_bins_make(&im, sp, &b);
    for (int ki = 0; st == FV_OK && ki < s->nk; ki++) {
        int n = 0;
        st = fv_ss_segment(&im, a->sigma, a->base_k + ki * a->inc_k, a->min_size, labels, &n);
        for (int si = 0; st == FV_OK && si < s->nsim; si++) {
            st = run_grouping(&b, labels, n, s->sims[si], rng, out);
            ++*done;
            if (st == FV_OK && a->progress)
                a->progress(a->ctx, *done, s->nspace * s->nk * s->nsim);
        }
    }
    fv_free(im.v);
    fv_ss_bins_free(&b);
    return st;
}

fv_status fv_selective_search_(const fv_tensor *img, fv_box **boxes, int64_t *n, fv_ss_args a)
{
    int c = 0, h = 0, w = 0;
    *boxes = NULL, *n = 0;
    FV_TRY(fv_ss_check_image(img, "selective search", &c, &h, &w));
    if (c != 1 && c != 3)
        return fv_err(FV_ERR_SHAPE, "selective search: the image needs 1 or 3 channels, not %d",
                      c);
    if ((int)a.mode < 0 || a.mode > FV_PROPOSALS_SINGLE)
        return fv_err(FV_ERR_INVALID, "selective search: unknown mode %d", (int)a.mode);
    a.base_k = a.base_k ? a.base_k : 150, a.inc_k = a.inc_k ? a.inc_k : 150;
    a.sigma = a.sigma ? a.sigma : 0.8, a.min_size = a.min_size ? a.min_size : 100;
    if (!(a.base_k > 0 && a.base_k < 1e9) || !(a.inc_k > 0 && a.inc_k < 1e9) ||
        !(a.sigma > 0 && a.sigma <= 100) || a.min_size < 0)
        return fv_err(FV_ERR_INVALID,
                      "selective search: base_k %g, inc_k %g, sigma %g or min_size %d out of range",
                      a.base_k, a.inc_k, a.sigma, a.min_size);
    strategy s = strategy_of(a.mode);
    fv_rng rng;
    fv_rng_seed(&rng, a.seed);
    fv_ss_image rgb = {0};
    cands out = {0};
    int32_t *labels = fv_malloc(sizeof(int32_t) * (size_t)h * w, "segment labels");
    fv_status st = labels ? rgb_planes(img, c, h, w, &rgb) : FV_ERR_NOMEM;
    int done = 0;
    for (int i = 0; st == FV_OK && i < s.nspace; i++)
        st = space_runs(&rgb, s.space[i], &s, &a, labels, &rng, &out, &done);
    if (st == FV_OK)
        st = finish(&out, boxes, n);
    fv_free(labels), fv_free(rgb.v), fv_free(out.v);
    return st;
}
