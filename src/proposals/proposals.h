/* proposals.h - what the region-proposal files share (internal): images as float planes, the
 * Felzenszwalb-Huttenlocher segmentation on planes, colour spaces, per-region histograms and the
 * selective-search similarity measures (exposed for the tests' hand-computed cases). */
#ifndef FV_PROPOSALS_H
#define FV_PROPOSALS_H

#include "core/internal.h"

#include <stdint.h>

/* Channel-major planes: v[c * h * w + y * w + x]. */
typedef struct fv_ss_image {
    int c, h, w;
    float *v;
} fv_ss_image;

/* One pass of a 1-D kernel k[0 .. 2r] along rows (dx 1) or columns (dx 0), edges clamped. */
void fv_ss_convolve(float *dst, const float *src, int h, int w, const float *k, int r, int dx);
/* Separable Gaussian smoothing of every plane in place (radius ceil(4 sigma) + 1, edges
 * clamped, the kernel normalized); sigma <= 0 leaves the planes as they are. */
fv_status fv_ss_smooth(fv_ss_image *im, double sigma);
/* FH segmentation of planes already in their colour space (see fv_segment_graph). */
fv_status fv_ss_segment(const fv_ss_image *im, double sigma, double k, int min_size,
                        int32_t *labels, int *n);

/* Checks an image for the proposal functions ("what: ..." errors): (C, H, W) or (1, C, H, W),
 * not empty, finite, not too large; its geometry out. */
fv_status fv_ss_check_image(const fv_tensor *img, const char *what, int *c, int *h, int *w);

/* The colour spaces of Uijlings et al. on 8-bit scales as OpenCV converts 8-bit images: RGB;
 * HSV (H in [0, 180), S and V in [0, 255]); Lab (L * 255 / 100, a + 128, b + 128, sRGB D65);
 * rgI (r, g normalized by R + G + B, times 255; I the mean); H (hue alone); I (gray, BT.601). */
typedef enum fv_ss_space {
    FV_SS_RGB, FV_SS_HSV, FV_SS_LAB, FV_SS_RGI, FV_SS_HUE, FV_SS_GRAY
} fv_ss_space;
/* rgb: 3 planes in [0, 1]; out: planes allocated here (fv_free out->v). */
fv_status fv_ss_convert(const fv_ss_image *rgb, fv_ss_space s, fv_ss_image *out);
/* The top of a channel's value range in space s (180 for hue, else 255). */
float fv_ss_channel_max(fv_ss_space s, int ch);

#define FV_SS_COLOUR_BINS 25
#define FV_SS_TEX_ORIENT 8
#define FV_SS_TEX_BINS 10

/* What hierarchical grouping knows of a region. */
typedef struct fv_ss_region {
    int64_t size;
    int x1, y1, x2, y2; /* inclusive pixel bounds */
    float *col, *tex;   /* L1-normalized histograms: c * 25 colour, c * 8 * 10 texture bins */
} fv_ss_region;

/* Per-pixel bin indices, so histograms are counts: colour (c planes) and texture (c * 8 planes). */
typedef struct fv_ss_bins {
    int c, h, w;
    uint8_t *col, *tex;
} fv_ss_bins;
/* Colour bins of im's values in space s, and texture bins of the positive parts of Gaussian
 * derivatives (sigma 1) in 8 orientations, binned on [0, the channel's largest]. */
fv_status fv_ss_bins_make(const fv_ss_image *im, fv_ss_space s, fv_ss_bins *b);
void fv_ss_bins_free(fv_ss_bins *b);

/* The similarities, each in [0, 1]; im_size is the image's pixel count. */
double fv_ss_sim_hist(const float *a, const float *b, int len); /* histogram intersection */
double fv_ss_sim_size(const fv_ss_region *a, const fv_ss_region *b, int64_t im_size);
double fv_ss_sim_fill(const fv_ss_region *a, const fv_ss_region *b, int64_t im_size);

#endif
