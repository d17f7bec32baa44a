/* m2nist.c - M2NIST-style segmentation scenes (fv_m2nist_make, fovea.h): 1 to max_digits digits
 * of a digit set pasted at their own size on a black canvas (64 x 84 by default) where their
 * boxes do not overlap, with a mask of 11 classes (digits 0..9, background 10). As the
 * detection scenes (scenes.c), every scene is drawn from its own stream (seed, index), so it is
 * the same on every machine and any scene can be made alone; the digits' tight boxes come from
 * their non-zero pixels as there. */
#include "data/det.h"

#include <math.h>
#include <string.h>

#define BACKGROUND 10

static fv_m2nist_args defaults(fv_m2nist_args a)
{
    a.height = a.height ? a.height : 64;
    a.width = a.width ? a.width : 84;
    a.max_digits = a.max_digits ? a.max_digits : 3;
    a.threshold = a.threshold > 0 ? a.threshold : 0.5f;
    a.max_tries = a.max_tries ? a.max_tries : 50;
    return a;
}

static fv_status check(const fv_dataset *d, const fv_m2nist_args *a)
{
    if (fv_digits_check(d, "m2nist") != FV_OK)
        return FV_ERR_SHAPE;
    if (d->x->dims[2] > a->height || d->x->dims[3] > a->width || a->height > 4096 ||
        a->width > 4096 || a->height < 1 || a->width < 1 || a->max_digits < 1 ||
        a->max_digits > 100 || !(a->threshold < 1) || a->max_tries < 1)
        return fv_err(FV_ERR_INVALID, "m2nist: %lldx%lld digits on a %dx%d canvas, up to %d "
                      "digits, threshold %g, %d tries: the digits must fit a canvas of at most "
                      "4096, digits 1..100, threshold in (0, 1), tries >= 1",
                      (long long)d->x->dims[3], (long long)d->x->dims[2], a->width, a->height,
                      a->max_digits, (double)a->threshold, a->max_tries);
    return FV_OK;
}

/* The tight box (x1, y1, x2, y2 exclusive) of a digit's pixels above 0 at (x0, y0). */
static fv_box digit_box(const float *p, int64_t h, int64_t w, int x0, int y0)
{
    int64_t r0 = h, r1 = -1, c0 = w, c1 = -1;
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++)
            if (p[i * w + j] > 0) {
                r0 = i < r0 ? i : r0, r1 = i;
                c0 = j < c0 ? j : c0, c1 = j > c1 ? j : c1;
            }
    if (r1 < 0)
        return (fv_box){0, 0, 0, 0};
    return (fv_box){(float)(x0 + c0), (float)(y0 + r0), (float)(x0 + c1 + 1),
                    (float)(y0 + r1 + 1)};
}

static int overlaps(fv_box a, fv_box b)
{
    return a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
}

/* Pastes digit p (label lab) at (x0, y0): per-pixel max, and the mask takes the label where the
 * digit is above the threshold and the brighter one. */
static void paste(const fv_m2nist_args *a, const float *p, int64_t h, int64_t w, int x0, int y0,
                  int lab, float *pixels, float *mask)
{
    for (int64_t i = 0; i < h; i++)
        for (int64_t j = 0; j < w; j++) {
            int64_t q = (y0 + i) * a->width + x0 + j;
            float v = p[i * w + j];
            if (v > pixels[q]) {
                pixels[q] = v;
                if (v > a->threshold)
                    mask[q] = (float)lab;
            }
        }
}

static fv_status make(const fv_dataset *d, int64_t index, float *pixels, float *mask,
                      const fv_m2nist_args *a)
{
    fv_rng r;
    fv_rng_seed(&r, a->seed);
    fv_rng_seed(&r, fv_rng_next(&r) + (uint64_t)index * 0x9E3779B97F4A7C15ull);
    int64_t n = d->x->dims[0], h = d->x->dims[2], w = d->x->dims[3], hw = a->height * a->width;
    memset(pixels, 0, sizeof(float) * (size_t)hw);
    for (int64_t q = 0; q < hw; q++)
        mask[q] = BACKGROUND;
    fv_box boxes[100];
    int placed = 0, count = 1 + (int)fv_rng_below(&r, (uint64_t)a->max_digits);
    for (int k = 0; k < count; k++) {
        int64_t j = (int64_t)fv_rng_below(&r, (uint64_t)n);
        float lab = d->y->data[j];
        if (!(lab >= 0 && lab < BACKGROUND && lab == floorf(lab)))
            return fv_err(FV_ERR_INVALID, "m2nist: digit %lld's label %g is not a digit 0..9",
                          (long long)j, (double)lab);
        const float *p = d->x->data + j * h * w;
        for (int t = 0; t < a->max_tries; t++) {
            int x0 = (int)fv_rng_below(&r, (uint64_t)(a->width - w + 1));
            int y0 = (int)fv_rng_below(&r, (uint64_t)(a->height - h + 1));
            fv_box b = digit_box(p, h, w, x0, y0);
            int ok = 1;
            for (int e = 0; e < placed && ok; e++)
                ok = !overlaps(b, boxes[e]);
            if (ok) {
                paste(a, p, h, w, x0, y0, (int)lab, pixels, mask);
                boxes[placed++] = b;
                break;
            }
        }
    }
    return FV_OK;
}

fv_status fv_m2nist_make_(const fv_dataset *digits, int64_t index, float *pixels, float *mask,
                          fv_m2nist_args a)
{
    a = defaults(a);
    FV_TRY(check(digits, &a));
    return make(digits, index, pixels, mask, &a);
}

static fv_status name_classes(fv_dataset *s)
{
    s->class_names = fv_calloc(FV_M2NIST_CLASSES, sizeof(char *), "class names");
    if (!s->class_names)
        return FV_ERR_NOMEM;
    s->num_classes = FV_M2NIST_CLASSES;
    for (int k = 0; k < FV_M2NIST_CLASSES; k++) {
        char b[16];
        snprintf(b, sizeof b, "%d", k);
        s->class_names[k] = fv_strdup(k == BACKGROUND ? "background" : b, "class name");
        if (!s->class_names[k])
            return FV_ERR_NOMEM;
    }
    return FV_OK;
}

fv_dataset *fv_m2nist_dataset_(const fv_dataset *digits, int64_t first, int64_t n,
                               fv_m2nist_args a)
{
    a = defaults(a);
    if (check(digits, &a) != FV_OK)
        return NULL;
    if (first < 0 || n < 1 || n > 10000000) {
        fv_err(FV_ERR_INVALID, "m2nist: scenes %lld + %lld (first >= 0, 1..10^7 scenes)",
               (long long)first, (long long)n);
        return NULL;
    }
    int64_t hw = (int64_t)a.height * a.width, xd[4] = {n, 1, a.height, a.width};
    int64_t yd[3] = {n, a.height, a.width};
    if (fv_data_check("m2nist: the scenes", (uint64_t)n * (uint64_t)hw * 2 * sizeof(float)) !=
        FV_OK)
        return NULL;
    fv_dataset *s = fv_calloc(1, sizeof *s, "m2nist data set");
    fv_status st = s ? FV_OK : FV_ERR_NOMEM;
    if (st == FV_OK && (!(s->x = fv_tensor_new(4, xd)) || !(s->y = fv_tensor_new(3, yd))))
        st = FV_ERR_NOMEM;
    if (st == FV_OK)
        st = name_classes(s);
    for (int64_t i = 0; st == FV_OK && i < n; i++)
        st = make(digits, first + i, s->x->data + i * hw, s->y->data + i * hw, &a);
    if (st != FV_OK) {
        fv_dataset_free(s);
        return NULL;
    }
    snprintf(s->name, sizeof s->name, "m2nist");
    return s;
}
