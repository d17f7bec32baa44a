/* segment.c - Felzenszwalb-Huttenlocher graph-based segmentation (IJCV 2004): Gaussian smoothing,
 * the 8-connected grid graph weighted by colour distance, Kruskal-order merging with the
 * threshold Int(C) + k / |C|, and the min_size post-merge; fv_segment_graph is its public face. */
#include "proposals/proposals.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void fv_ss_convolve(float *dst, const float *src, int h, int w, const float *k, int r, int dx)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double s = 0;
            for (int i = -r; i <= r; i++) {
                int xx = dx ? x + i : x, yy = dx ? y : y + i;
                xx = xx < 0 ? 0 : xx >= w ? w - 1 : xx;
                yy = yy < 0 ? 0 : yy >= h ? h - 1 : yy;
                s += k[i + r] * src[(size_t)yy * w + xx];
            }
            dst[(size_t)y * w + x] = (float)s;
        }
}

fv_status fv_ss_smooth(fv_ss_image *im, double sigma)
{
    if (!(sigma > 0))
        return FV_OK;
    int r = (int)ceil(4 * sigma) + 1;
    size_t np = (size_t)im->h * im->w;
    float *k = fv_malloc(sizeof(float) * (size_t)(2 * r + 1), "a Gaussian kernel");
    float *tmp = fv_malloc(sizeof(float) * np, "a smoothing buffer");
    if (!k || !tmp) {
        fv_free(k), fv_free(tmp);
        return FV_ERR_NOMEM;
    }
    double sum = 0;
    for (int i = -r; i <= r; i++)
        sum += k[i + r] = (float)exp(-0.5 * i * i / (sigma * sigma));
    for (int i = 0; i <= 2 * r; i++)
        k[i] = (float)(k[i] / sum);
    for (int c = 0; c < im->c; c++) {
        float *p = im->v + (size_t)c * np;
        fv_ss_convolve(tmp, p, im->h, im->w, k, r, 1);
        fv_ss_convolve(p, tmp, im->h, im->w, k, r, 0);
    }
    fv_free(k), fv_free(tmp);
    return FV_OK;
}

typedef struct edge {
    float w;
    int32_t a, b;
} edge;

/* Increasing weight; ties by endpoints, so the order (and the result) is the same everywhere. */
static int edge_cmp(const void *pa, const void *pb)
{
    const edge *a = pa, *b = pb;
    if (a->w != b->w)
        return a->w < b->w ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return (a->b > b->b) - (a->b < b->b);
}

static int32_t find(int32_t *parent, int32_t x)
{
    while (parent[x] != x)
        x = parent[x] = parent[parent[x]];
    return x;
}

/* Joins the sets of roots a and b (by size); returns the new root. */
static int32_t join(int32_t *parent, int32_t *size, int32_t a, int32_t b)
{
    if (size[a] < size[b]) {
        int32_t t = a;
        a = b, b = t;
    }
    parent[b] = a;
    size[a] += size[b];
    return a;
}

/* The grid graph's edges: right, down, down-right and up-right of each pixel. */
static int64_t grid_edges(const fv_ss_image *im, edge *e)
{
    int h = im->h, w = im->w;
    size_t np = (size_t)h * w;
    static const int off[4][2] = {{1, 0}, {0, 1}, {1, 1}, {1, -1}};
    int64_t n = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int d = 0; d < 4; d++) {
                int xx = x + off[d][0], yy = y + off[d][1];
                if (xx >= w || yy < 0 || yy >= h)
                    continue;
                size_t p = (size_t)y * w + x, q = (size_t)yy * w + xx;
                double s = 0;
                for (int c = 0; c < im->c; c++) {
                    double t = (double)im->v[c * np + p] - im->v[c * np + q];
                    s += t * t;
                }
                e[n++] = (edge){(float)sqrt(s), (int32_t)p, (int32_t)q};
            }
    return n;
}

/* Kruskal-order merging with the adaptive threshold, then components under min_size merged
 * along the remaining edges in the same order; labels numbered in raster order. */
static void merge(edge *e, int64_t ne, int32_t np, double k, int min_size, int32_t *parent,
                  int32_t *size, float *thr, int32_t *labels, int *n)
{
    for (int32_t i = 0; i < np; i++)
        parent[i] = i, size[i] = 1, thr[i] = (float)k;
    for (int64_t i = 0; i < ne; i++) {
        int32_t a = find(parent, e[i].a), b = find(parent, e[i].b);
        if (a != b && e[i].w <= thr[a] && e[i].w <= thr[b]) {
            a = join(parent, size, a, b);
            thr[a] = (float)(e[i].w + k / size[a]);
        }
    }
    for (int64_t i = 0; i < ne; i++) {
        int32_t a = find(parent, e[i].a), b = find(parent, e[i].b);
        if (a != b && (size[a] < min_size || size[b] < min_size))
            join(parent, size, a, b);
    }
    for (int32_t i = 0; i < np; i++)
        labels[i] = -1;
    int next = 0;
    for (int32_t i = 0; i < np; i++) {
        int32_t r = find(parent, i);
        if (labels[r] < 0)
            labels[r] = next++;
        labels[i] = labels[r];
    }
    *n = next;
}

fv_status fv_ss_segment(const fv_ss_image *im, double sigma, double k, int min_size,
                        int32_t *labels, int *n)
{
    size_t np = (size_t)im->h * im->w;
    fv_ss_image s = *im;
    s.v = fv_malloc(sizeof(float) * np * (size_t)im->c, "a segmentation image");
    edge *e = fv_malloc(sizeof(edge) * np * 4, "segmentation edges");
    int32_t *parent = fv_malloc(sizeof(int32_t) * np, "segmentation sets");
    int32_t *size = fv_malloc(sizeof(int32_t) * np, "segmentation sizes");
    float *thr = fv_malloc(sizeof(float) * np, "segmentation thresholds");
    fv_status st = FV_ERR_NOMEM;
    if (s.v && e && parent && size && thr) {
        memcpy(s.v, im->v, sizeof(float) * np * (size_t)im->c);
        st = fv_ss_smooth(&s, sigma);
    }
    if (st == FV_OK) {
        int64_t ne = grid_edges(&s, e);
        qsort(e, (size_t)ne, sizeof(edge), edge_cmp);
        merge(e, ne, (int32_t)np, k, min_size, parent, size, thr, labels, n);
    }
    fv_free(s.v), fv_free(e), fv_free(parent), fv_free(size), fv_free(thr);
    return st;
}

/* Checks an image tensor for the proposal functions: (C, H, W) or (1, C, H, W), not empty,
 * finite, at most 2^31 / 4 pixels (edge indices are 32-bit). */
fv_status fv_ss_check_image(const fv_tensor *img, const char *what, int *c, int *h, int *w)
{
    if (!img)
        return fv_err(FV_ERR_INVALID, "%s: no image", what);
    int nd = img->ndim;
    char sh[96];
    fv_shape_str(img->ndim, img->dims, sh, sizeof sh);
    if (!(nd == 3 || (nd == 4 && img->dims[0] == 1)))
        return fv_err(FV_ERR_SHAPE, "%s: the image must be (C, H, W) or (1, C, H, W), got %s",
                      what, sh);
    int64_t cc = img->dims[nd - 3], hh = img->dims[nd - 2], ww = img->dims[nd - 1];
    if (cc < 1 || hh < 1 || ww < 1)
        return fv_err(FV_ERR_SHAPE, "%s: the image is empty (%s)", what, sh);
    if (cc > 64 || hh * ww > (1 << 29))
        return fv_err(FV_ERR_SHAPE, "%s: the image is too large (%s)", what, sh);
    for (int64_t i = 0; i < cc * hh * ww; i++)
        if (!isfinite(img->data[i]))
            return fv_err(FV_ERR_NUMERIC, "%s: the image has a non-finite value", what);
    *c = (int)cc, *h = (int)hh, *w = (int)ww;
    return FV_OK;
}

fv_status fv_segment_graph(const fv_tensor *img, double sigma, double k, int min_size,
                           int32_t **labels, int *n)
{
    int c = 0, h = 0, w = 0;
    *labels = NULL, *n = 0;
    FV_TRY(fv_ss_check_image(img, "graph segmentation", &c, &h, &w));
    if (!(sigma >= 0 && sigma <= 100) || !(k >= 0 && isfinite(k)) || min_size < 0)
        return fv_err(FV_ERR_INVALID,
                      "graph segmentation: sigma %g, k %g or min_size %d out of range", sigma,
                      k, min_size);
    int32_t *l = malloc(sizeof(int32_t) * (size_t)h * w); /* the caller's: free() */
    if (!l)
        return fv_err(FV_ERR_NOMEM, "graph segmentation: out of memory for %dx%d labels", h, w);
    fv_ss_image im = {c, h, w, img->data};
    fv_status st = fv_ss_segment(&im, sigma, k, min_size, l, n);
    if (st != FV_OK) {
        free(l);
        return st;
    }
    *labels = l;
    return FV_OK;
}
