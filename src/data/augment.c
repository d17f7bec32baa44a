/* augment.c - on-the-fly augmentation of training images in a batch buffer, each sample drawn
 * independently from a seeded stream: random crop after padding (integer translation), a random
 * affine warp (rotation, scale, aspect, translation; bilinear), horizontal and vertical flips,
 * brightness/contrast/saturation/hue jitter, random grayscale, cutout and random erasing; and the
 * batch-level mixes (mixup, cutmix) that blend images and their soft targets. Every color transform
 * commutes with a per-dataset affine normalization (x - mean) / std, so they work on normalized
 * images as on [0, 1] ones. */
#include "core/internal.h"
#include "data/augment.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_SIDE 4096
#define PI 3.14159265358979323846

static int coin(fv_rng *r)
{
    return (int)(fv_rng_next(r) >> 63);
}

static double uniform(fv_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * fv_rng_uniform(r);
}

/* ---------------------------------------------------------------- geometry */

/* Shifts plane p (h x w) by (dy, dx): out(i, j) = in(i - dy, j - dx), `fill` where that falls
 * outside (a crop of the padded image). Rows are moved in the order that reads each before it is
 * overwritten. */
static void shift_plane(float *p, int h, int w, int dy, int dx, float fill)
{
    float row[MAX_SIDE];
    for (int k = 0; k < h; k++) {
        int i = dy > 0 ? h - 1 - k : k, src = i - dy;
        float *q = p + (int64_t)i * w;
        if (src < 0 || src >= h) {
            for (int j = 0; j < w; j++)
                q[j] = fill;
            continue;
        }
        const float *from = p + (int64_t)src * w;
        for (int j = 0; j < w; j++)
            row[j] = j - dx >= 0 && j - dx < w ? from[j - dx] : fill;
        memcpy(q, row, sizeof(float) * (size_t)w);
    }
}

/* The inverse of an affine warp about the image centre: src = M (dst - c - t) + c. */
typedef struct affine {
    double m00, m01, m10, m11, tx, ty;
} affine;

static int draw_affine(const fv_augment *a, fv_rng *r, int h, int w, affine *A)
{
    if (a->rotate == 0 && a->scale == 0 && a->aspect == 0 && a->translate == 0)
        return 0;
    double th = a->rotate != 0 ? uniform(r, -a->rotate, a->rotate) * PI / 180 : 0;
    double s = a->scale != 0 ? uniform(r, 1 - a->scale, 1 + a->scale) : 1;
    double la = a->aspect != 0 ? uniform(r, -log1p(a->aspect), log1p(a->aspect)) : 0;
    double sx = s * exp(la / 2), sy = s * exp(-la / 2), c = cos(th), sn = sin(th);
    A->m00 = c / sx, A->m01 = sn / sx, A->m10 = -sn / sy, A->m11 = c / sy;
    A->tx = a->translate != 0 ? uniform(r, -a->translate, a->translate) * w : 0;
    A->ty = a->translate != 0 ? uniform(r, -a->translate, a->translate) * h : 0;
    return 1;
}

static float tap(const float *p, int h, int w, int i, int j, float fill)
{
    return i >= 0 && i < h && j >= 0 && j < w ? p[(int64_t)i * w + j] : fill;
}

/* dst = src warped by A, sampled bilinearly; taps outside the image read `fill`. */
static void warp_plane(const float *src, float *dst, int h, int w, const affine *A, float fill)
{
    double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double u = j - cx - A->tx, v = i - cy - A->ty;
            double x = A->m00 * u + A->m01 * v + cx, y = A->m10 * u + A->m11 * v + cy;
            double fx = floor(x), fy = floor(y), ax = x - fx, ay = y - fy;
            if (fx < -2 || fx > w + 1 || fy < -2 || fy > h + 1) {
                dst[(int64_t)i * w + j] = fill;
                continue;
            }
            int x0 = (int)fx, y0 = (int)fy;
            double top = (1 - ax) * tap(src, h, w, y0, x0, fill) + ax * tap(src, h, w, y0, x0 + 1, fill);
            double bot = (1 - ax) * tap(src, h, w, y0 + 1, x0, fill) +
                         ax * tap(src, h, w, y0 + 1, x0 + 1, fill);
            dst[(int64_t)i * w + j] = (float)((1 - ay) * top + ay * bot);
        }
}

static void flip_h(float *p, int h, int w)
{
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w / 2; j++) {
            float t = p[(int64_t)i * w + j];
            p[(int64_t)i * w + j] = p[(int64_t)i * w + w - 1 - j];
            p[(int64_t)i * w + w - 1 - j] = t;
        }
}

static void flip_v(float *p, int h, int w)
{
    float row[MAX_SIDE];
    for (int i = 0; i < h / 2; i++) {
        float *a = p + (int64_t)i * w, *b = p + (int64_t)(h - 1 - i) * w;
        memcpy(row, a, sizeof(float) * (size_t)w);
        memcpy(a, b, sizeof(float) * (size_t)w);
        memcpy(b, row, sizeof(float) * (size_t)w);
    }
}

/* Fills rows [y0, y1) x columns [x0, x1) of every channel (clipped to the image). */
static void fill_box(float *img, int c, int h, int w, int y0, int x0, int y1, int x1, float fill)
{
    for (int ch = 0; ch < c; ch++)
        for (int i = y0 < 0 ? 0 : y0; i < y1 && i < h; i++)
            for (int j = x0 < 0 ? 0 : x0; j < x1 && j < w; j++)
                img[((int64_t)ch * h + i) * w + j] = fill;
}

/* Random erasing (Zhong et al. 2017): a box of U[0.02, 0.33] of the area and log-uniform aspect
 * in [0.3, 3.3] at a uniform place, tried up to 10 times until it fits. */
static void erase(fv_rng *r, float *img, int c, int h, int w, float fill)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        double area = uniform(r, 0.02, 0.33) * h * w;
        double ar = exp(uniform(r, log(0.3), log(3.3)));
        int eh = (int)lround(sqrt(area * ar)), ew = (int)lround(sqrt(area / ar));
        if (eh < 1 || ew < 1 || eh >= h || ew >= w)
            continue;
        int y0 = (int)fv_rng_below(r, (uint64_t)(h - eh + 1));
        int x0 = (int)fv_rng_below(r, (uint64_t)(w - ew + 1));
        fill_box(img, c, h, w, y0, x0, y0 + eh, x0 + ew, fill);
        return;
    }
}

/* ---------------------------------------------------------------- color */

/* x = (x - mean) * mul + mean + add over one plane. */
static void brightness_contrast(float *p, int64_t hw, double add, double mul)
{
    double mean = 0;
    for (int64_t i = 0; i < hw; i++)
        mean += p[i];
    mean /= (double)hw;
    for (int64_t i = 0; i < hw; i++)
        p[i] = (float)((p[i] - mean) * mul + mean + add);
}

/* Applies the 3x3 color matrix M to every RGB pixel of img (three planes of hw). */
static void color_matrix(float *img, int64_t hw, const double M[3][3])
{
    float *r = img, *g = img + hw, *b = img + 2 * hw;
    for (int64_t i = 0; i < hw; i++) {
        double v[3] = {r[i], g[i], b[i]};
        r[i] = (float)(M[0][0] * v[0] + M[0][1] * v[1] + M[0][2] * v[2]);
        g[i] = (float)(M[1][0] * v[0] + M[1][1] * v[1] + M[1][2] * v[2]);
        b[i] = (float)(M[2][0] * v[0] + M[2][1] * v[1] + M[2][2] * v[2]);
    }
}

/* Saturation factor f (blend with the ITU-R 601 luma: f = 0 is gray), then a hue rotation by
 * angle th about the gray axis (1, 1, 1) (Rodrigues' formula). Both keep gray pixels gray and
 * commute with x -> a x + b, so they act the same on normalized images. */
static void saturation_hue(float *img, int64_t hw, double f, double th)
{
    static const double luma[3] = {0.299, 0.587, 0.114};
    double S[3][3], R[3][3], M[3][3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            S[i][j] = (1 - f) * luma[j] + (i == j ? f : 0);
    double c = cos(th), s = sin(th) / sqrt(3.0), o = (1 - c) / 3;
    double K[3][3] = {{c + o, o - s, o + s}, {o + s, c + o, o - s}, {o - s, o + s, c + o}};
    memcpy(R, K, sizeof R);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            M[i][j] = R[i][0] * S[0][j] + R[i][1] * S[1][j] + R[i][2] * S[2][j];
    color_matrix(img, hw, M);
}

/* ---------------------------------------------------------------- checks */

static int bad_frac(float v, float hi)
{
    return !(v >= 0 && v <= hi);
}

fv_status fv_augment_check(const fv_augment *a, int c, int h, int w)
{
    if (h < 1 || w < 1 || c < 1 || h > MAX_SIDE || w > MAX_SIDE)
        return fv_err(FV_ERR_SHAPE, "augment: images of %dx%dx%d (up to %d pixels a side)", c, h,
                      w, MAX_SIDE);
    if (a->crop_pad < 0 || a->cutout < 0 || bad_frac(a->brightness, 1e30f) ||
        bad_frac(a->contrast, 1) || a->contrast >= 1)
        return fv_err(FV_ERR_INVALID, "augment: crop_pad=%d, cutout=%d, brightness=%g, "
                      "contrast=%g out of range (contrast < 1)", a->crop_pad, a->cutout,
                      (double)a->brightness, (double)a->contrast);
    if (bad_frac(a->rotate, 180) || bad_frac(a->scale, 0.99f) || bad_frac(a->aspect, 10) ||
        bad_frac(a->translate, 1))
        return fv_err(FV_ERR_INVALID, "augment: rotate=%g (0..180 degrees), scale=%g (< 1), "
                      "aspect=%g (0..10), translate=%g (0..1) out of range", (double)a->rotate,
                      (double)a->scale, (double)a->aspect, (double)a->translate);
    if (bad_frac(a->saturation, 1) || bad_frac(a->hue, 0.5f) || bad_frac(a->grayscale, 1) ||
        bad_frac(a->erase, 1) || bad_frac(a->mixup, 1e6f) || bad_frac(a->cutmix, 1e6f))
        return fv_err(FV_ERR_INVALID, "augment: saturation=%g (0..1), hue=%g (0..0.5), "
                      "grayscale=%g, erase=%g (probabilities), mixup=%g, cutmix=%g (>= 0) out "
                      "of range", (double)a->saturation, (double)a->hue, (double)a->grayscale,
                      (double)a->erase, (double)a->mixup, (double)a->cutmix);
    if ((a->saturation > 0 || a->hue > 0 || a->grayscale > 0) && c != 3)
        return fv_err(FV_ERR_SHAPE, "augment: saturation, hue and grayscale need RGB images "
                      "(3 channels), not %d", c);
    return FV_OK;
}

int fv_augment_active(const fv_augment *a)
{
    return a->hflip || a->vflip || a->crop_pad || a->cutout || a->brightness != 0 ||
           a->contrast != 0 || a->rotate != 0 || a->scale != 0 || a->aspect != 0 ||
           a->translate != 0 || a->saturation != 0 || a->hue != 0 || a->grayscale != 0 ||
           a->erase != 0 || a->mixup != 0 || a->cutmix != 0;
}

/* ---------------------------------------------------------------- one image */

static void geometry(const fv_augment *a, fv_rng *r, float *img, int c, int h, int w,
                     float *scratch)
{
    int64_t hw = (int64_t)h * w;
    int dy = 0, dx = 0;
    if (a->crop_pad > 0) {
        dy = (int)fv_rng_below(r, 2 * (uint64_t)a->crop_pad + 1) - a->crop_pad;
        dx = (int)fv_rng_below(r, 2 * (uint64_t)a->crop_pad + 1) - a->crop_pad;
    }
    affine A;
    int warp = draw_affine(a, r, h, w, &A);
    int fh = a->hflip && coin(r), fvv = a->vflip && coin(r);
    for (int ch = 0; ch < c; ch++) {
        float *p = img + ch * hw;
        if (dy || dx)
            shift_plane(p, h, w, dy, dx, a->fill);
        if (warp) {
            warp_plane(p, scratch, h, w, &A, a->fill);
            memcpy(p, scratch, sizeof(float) * (size_t)hw);
        }
        if (fh)
            flip_h(p, h, w);
        if (fvv)
            flip_v(p, h, w);
    }
}

static void color(const fv_augment *a, fv_rng *r, float *img, int c, int h, int w)
{
    int64_t hw = (int64_t)h * w;
    double add = a->brightness > 0 ? uniform(r, -a->brightness, a->brightness) : 0;
    double mul = a->contrast > 0 ? uniform(r, 1 - a->contrast, 1 + a->contrast) : 1;
    if (add != 0 || mul != 1)
        for (int ch = 0; ch < c; ch++)
            brightness_contrast(img + ch * hw, hw, add, mul);
    double f = a->saturation > 0 ? uniform(r, 1 - a->saturation, 1 + a->saturation) : 1;
    double th = a->hue > 0 ? uniform(r, -a->hue, a->hue) * 2 * PI : 0;
    if (a->grayscale > 0 && fv_rng_uniform(r) < a->grayscale)
        f = 0;
    if (f != 1 || th != 0)
        saturation_hue(img, hw, f, th);
}

static void occlusion(const fv_augment *a, fv_rng *r, float *img, int c, int h, int w)
{
    if (a->cutout > 0) { /* the square centred at a uniform pixel, clipped to the image */
        int cy = (int)fv_rng_below(r, (uint64_t)h), cx = (int)fv_rng_below(r, (uint64_t)w);
        int y0 = cy - a->cutout / 2, x0 = cx - a->cutout / 2;
        fill_box(img, c, h, w, y0, x0, y0 + a->cutout, x0 + a->cutout, a->fill);
    }
    if (a->erase > 0 && fv_rng_uniform(r) < a->erase)
        erase(r, img, c, h, w, a->fill);
}

fv_status fv_augment_batch(const fv_augment *a, fv_rng *r, float *x, int n, int c, int h, int w)
{
    FV_TRY(fv_augment_check(a, c, h, w));
    int64_t hw = (int64_t)h * w;
    float *scratch = NULL;
    if (a->rotate != 0 || a->scale != 0 || a->aspect != 0 || a->translate != 0) {
        scratch = fv_malloc(sizeof(float) * (size_t)hw, "augment scratch");
        if (!scratch)
            return FV_ERR_NOMEM;
    }
    for (int s = 0; s < n; s++) {
        float *img = x + (int64_t)s * c * hw;
        geometry(a, r, img, c, h, w, scratch);
        color(a, r, img, c, h, w);
        occlusion(a, r, img, c, h, w);
    }
    fv_free(scratch);
    return FV_OK;
}

/* ---------------------------------------------------------------- mixup / cutmix */

/* Gamma(k, 1) by Marsaglia and Tsang (2000); k < 1 through Gamma(k + 1) U^(1/k). */
static double gamma_draw(fv_rng *r, double k)
{
    if (k < 1)
        return gamma_draw(r, k + 1) * pow(1 - fv_rng_uniform(r), 1 / k);
    double d = k - 1.0 / 3, c = 1 / sqrt(9 * d);
    for (;;) {
        double z = fv_rng_normal(r), v = 1 + c * z;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = 1 - fv_rng_uniform(r);
        if (log(u) < 0.5 * z * z + d - d * v + d * log(v))
            return d * v;
    }
}

double fv_beta_draw(fv_rng *r, double alpha)
{
    double x = gamma_draw(r, alpha), y = gamma_draw(r, alpha);
    return x + y > 0 ? x / (x + y) : 0.5;
}

/* The cutmix box for mixing weight lam: side ratio sqrt(1 - lam), uniform centre, clipped.
 * Returns the weight of the kept image, 1 - box area / image area. */
static double cutmix_box(fv_rng *r, double lam, int h, int w, int box[4])
{
    double cut = sqrt(1 - lam);
    int bh = (int)(h * cut), bw = (int)(w * cut);
    int cy = (int)fv_rng_below(r, (uint64_t)h), cx = (int)fv_rng_below(r, (uint64_t)w);
    box[0] = cy - bh / 2 < 0 ? 0 : cy - bh / 2;
    box[1] = cx - bw / 2 < 0 ? 0 : cx - bw / 2;
    box[2] = cy + bh / 2 > h ? h : cy + bh / 2;
    box[3] = cx + bw / 2 > w ? w : cx + bw / 2;
    return 1 - (double)(box[2] - box[0]) * (box[3] - box[1]) / ((double)h * w);
}

static void mix_images(float *x, const float *orig, const int64_t *pair, int n, int c, int h,
                       int w, double lam, const int *box)
{
    int64_t size = (int64_t)c * h * w, hw = (int64_t)h * w;
    for (int s = 0; s < n; s++) {
        float *d = x + s * size;
        const float *o = orig + pair[s] * size;
        if (!box) {
            for (int64_t i = 0; i < size; i++)
                d[i] = (float)(lam * d[i] + (1 - lam) * o[i]);
            continue;
        }
        for (int ch = 0; ch < c; ch++)
            for (int i = box[0]; i < box[2]; i++)
                memcpy(d + ch * hw + (int64_t)i * w + box[1], o + ch * hw + (int64_t)i * w + box[1],
                       sizeof(float) * (size_t)(box[3] - box[1]));
    }
}

fv_status fv_augment_mix(const fv_augment *a, fv_rng *r, float *x, float *t, int n, int c, int h,
                         int w, int k)
{
    FV_TRY(fv_augment_check(a, c, h, w));
    if (k < 1)
        return fv_err(FV_ERR_SHAPE, "augment: mixing needs soft targets, got %d per sample", k);
    if ((a->mixup <= 0 && a->cutmix <= 0) || n < 2)
        return FV_OK;
    /* with both asked for, each batch uses one of them, chosen by a fair coin (as timm does) */
    int use_cutmix = a->cutmix > 0 && (a->mixup <= 0 || coin(r));
    double lam = fv_beta_draw(r, use_cutmix ? a->cutmix : a->mixup);
    int box[4];
    if (use_cutmix)
        lam = cutmix_box(r, lam, h, w, box);
    int64_t size = (int64_t)c * h * w;
    int64_t *pair = fv_malloc(sizeof(int64_t) * (size_t)n, "mix pairing");
    float *ox = fv_malloc(sizeof(float) * (size_t)(n * size), "mix images");
    float *ot = fv_malloc(sizeof(float) * (size_t)n * (size_t)k, "mix targets");
    fv_status st = pair && ox && ot ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK) {
        fv_rng_permutation(r, pair, n);
        memcpy(ox, x, sizeof(float) * (size_t)(n * size));
        memcpy(ot, t, sizeof(float) * (size_t)n * (size_t)k);
        mix_images(x, ox, pair, n, c, h, w, lam, use_cutmix ? box : NULL);
        for (int s = 0; s < n; s++)
            for (int j = 0; j < k; j++)
                t[s * k + j] = (float)(lam * ot[s * k + j] + (1 - lam) * ot[pair[s] * k + j]);
    }
    fv_free(pair), fv_free(ox), fv_free(ot);
    return st;
}

/* Appends ", " (after the first) and one setting to buf, within len. */
static void add_setting(char *buf, size_t len, const char *fmt, double v)
{
    size_t n = strlen(buf);
    if (n + 2 >= len)
        return;
    if (n)
        buf[n++] = ',', buf[n++] = ' ', buf[n] = '\0';
    snprintf(buf + n, len - n, fmt, v);
}

void fv_augment_describe(const fv_augment *a, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    static const char *const names[] = {"rotate %g deg", "scale %g",       "aspect %g",
                                        "translate %g",  "brightness %g",  "contrast %g",
                                        "saturation %g", "hue %g",         "grayscale p %g",
                                        "erase p %g",    "mixup alpha %g", "cutmix alpha %g"};
    const float v[] = {a->rotate,     a->scale, a->aspect,    a->translate,
                       a->brightness, a->contrast, a->saturation, a->hue,
                       a->grayscale,  a->erase, a->mixup,     a->cutmix};
    if (a->hflip)
        add_setting(buf, len, "horizontal flip", 0.0);
    if (a->vflip)
        add_setting(buf, len, "vertical flip", 0.0);
    if (a->crop_pad)
        add_setting(buf, len, "random crop, padding %g", (double)a->crop_pad);
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        if (v[i] > 0)
            add_setting(buf, len, names[i], (double)v[i]);
    if (a->cutout)
        add_setting(buf, len, "cutout %g", (double)a->cutout);
    if (!buf[0])
        snprintf(buf, len, "none");
}
