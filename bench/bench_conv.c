/* bench_conv.c - 3x3 stride-1 convolution on one thread: the lowered path (im2col + fv_sgemm:
 * fv_conv2d_fwd_f32, fv_conv2d_bwd_f32 with only dx, then only dw and db wanted) against Winograd
 * F(4x4, 3x3) (fv_winograd_*) on the layers of the course's networks. The variants are timed in
 * turn, repeatedly (thread CPU time: the machine is shared), and the medians printed with the
 * speed-ups: Winograd with its weight transform in the call, and with the weights transformed
 * beforehand (the transform is also timed alone). The differences are the largest |winograd -
 * lowered| relative to the largest |lowered| (a sanity check; accuracy is tested in
 * tests/unit/test_winograd.c). The last column is fv_winograd_wins for the forward pass (weights
 * transformed in the call, cached) / the input gradient (the same) / the weight gradient.
 * Usage: bench_conv [REPS [FILTER]]   (REPS default 7; FILTER: run the layers whose name contains
 * it), or bench_conv REPS N C F H PAD   (one layer: N samples, C -> F channels, H x H, padding).
 * FOVEA_ISA=LEVEL (generic, avx2, avx512, ...) in the environment runs both paths at that level. */
#include "../src/kernels/kernels.h"
#include "fovea.h"
#include "../src/kernels/ref/conv_ref.h"
#include "../src/kernels/winograd.h"
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct layer {
    const char *name;
    int n, c, f, h, w, p;
} layer;

static const layer layers[] = {
    {"keras 3->32 32x32", 32, 3, 32, 32, 32, 0},
    {"keras 32->32 30x30", 32, 32, 32, 30, 30, 0},
    {"keras 32->64 14x14", 32, 32, 64, 14, 14, 0},
    {"keras 64->64 12x12", 32, 64, 64, 12, 12, 0},
    {"r18 64@56 b1", 1, 64, 64, 56, 56, 1},
    {"r18 128@28 b1", 1, 128, 128, 28, 28, 1},
    {"r18 256@14 b1", 1, 256, 256, 14, 14, 1},
    {"r18 512@7 b1", 1, 512, 512, 7, 7, 1},
    {"r18 64@56 b16", 16, 64, 64, 56, 56, 1},
    {"r18 128@28 b16", 16, 128, 128, 28, 28, 1},
    {"r18 256@14 b16", 16, 256, 256, 14, 14, 1},
    {"r18 512@7 b16", 16, 512, 512, 7, 7, 1},
    {"cifar 64@32 b64", 64, 64, 64, 32, 32, 1},
    {"cifar 128@16 b64", 64, 128, 128, 16, 16, 1},
    {"cifar 256@8 b64", 64, 256, 256, 8, 8, 1},
    {"cifar 512@4 b64", 64, 512, 512, 4, 4, 1},
};

/* CPU time: the machine is shared */
static double now_s(void) { return bench_seconds(CLOCK_THREAD_CPUTIME_ID); }

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

static float *falloc(size_t n) { return malloc(sizeof(float) * (n ? n : 1)); }

/* Everything one layer's runs need. */
typedef struct bufs {
    fv_conv_geom g;
    int n;
    size_t nx, ny, nw;
    float *x, *w, *b, *y, *dy, *dx, *dw, *db, *col, *scratch, *uf, *ub, *work;
} bufs;

/* The timed variants: lowered, Winograd (weights transformed in the call), Winograd with the
 * weights transformed beforehand; forward, input gradient, weight gradient; the weight transform
 * alone. */
enum {
    FWD_LOWERED,
    FWD_WINO,
    FWD_WINO_U,
    BWD_LOWERED,
    BWD_WINO,
    BWD_WINO_U,
    DW_LOWERED,
    DW_WINO,
    WEIGHTS,
    NVARIANTS
};

/* One timed run of variant v. */
static double run(bufs *B, int v)
{
    double t0 = now_s();
    switch (v) {
    case FWD_LOWERED:
        fv_conv2d_fwd_f32(B->x, B->w, B->b, B->y, B->n, &B->g, B->col);
        break;
    case FWD_WINO:
        fv_winograd_fwd_f32(B->x, B->w, B->b, B->y, B->n, &B->g, B->scratch);
        break;
    case FWD_WINO_U:
        fv_winograd_fwd_u_f32(B->x, B->uf, B->b, B->y, B->n, &B->g, B->work);
        break;
    case BWD_LOWERED:
        fv_conv2d_bwd_f32(B->x, B->w, B->dy, B->dx, NULL, NULL, B->n, &B->g, B->col);
        break;
    case BWD_WINO:
        fv_winograd_bwd_data_f32(B->w, B->dy, B->dx, B->n, &B->g, B->scratch);
        break;
    case BWD_WINO_U:
        fv_winograd_bwd_data_u_f32(B->ub, B->dy, B->dx, B->n, &B->g, 1, B->work);
        break;
    case DW_LOWERED:
        fv_conv2d_bwd_f32(B->x, B->w, B->dy, NULL, B->dw, B->db, B->n, &B->g, B->col);
        break;
    case DW_WINO:
        fv_winograd_bwd_weights_f32(B->x, B->dy, B->dw, B->db, B->n, &B->g, B->scratch);
        break;
    default:
        fv_winograd_weights_f32(B->w, &B->g, 0, B->uf);
    }
    return now_s() - t0;
}

/* max |a - b| / max |b| */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++)
        d = fmax(d, fabs((double)a[i] - b[i])), m = fmax(m, fabs((double)b[i]));
    return m > 0 ? d / m : d;
}

/* Forward, input- and weight-gradient differences between the two paths. */
static void check_agree(bufs *B, double *fwd, double *bwd, double *dw)
{
    size_t most = B->ny > B->nx ? B->ny : B->nx;
    float *ref = falloc(most > B->nw ? most : B->nw);
    run(B, FWD_LOWERED);
    memcpy(ref, B->y, sizeof(float) * B->ny);
    run(B, FWD_WINO);
    *fwd = rel_diff(B->y, ref, B->ny);
    memset(B->dx, 0, sizeof(float) * B->nx);
    run(B, BWD_LOWERED);
    memcpy(ref, B->dx, sizeof(float) * B->nx);
    memset(B->dx, 0, sizeof(float) * B->nx);
    run(B, BWD_WINO);
    *bwd = rel_diff(B->dx, ref, B->nx);
    memset(B->dw, 0, sizeof(float) * B->nw);
    run(B, DW_LOWERED);
    memcpy(ref, B->dw, sizeof(float) * B->nw);
    memset(B->dw, 0, sizeof(float) * B->nw);
    run(B, DW_WINO);
    *dw = rel_diff(B->dw, ref, B->nw);
    free(ref);
}

static void bench_layer(const layer *L, int reps)
{
    bufs B = {.n = L->n};
    B.g = (fv_conv_geom){.c = L->c, .h = L->h, .w = L->w, .f = L->f, .kh = 3, .kw = 3, .sh = 1,
                         .sw = 1, .ph = L->p, .pw = L->p, .dh = 1, .dw = 1, .groups = 1};
    fv_conv_geom_init(&B.g);
    B.nx = (size_t)L->n * L->c * L->h * L->w;
    B.ny = (size_t)L->n * L->f * B.g.oh * B.g.ow;
    B.nw = (size_t)L->f * L->c * 9;
    B.x = falloc(B.nx), B.w = falloc(B.nw), B.b = falloc((size_t)L->f), B.y = falloc(B.ny);
    B.dy = falloc(B.ny), B.dx = falloc(B.nx), B.col = falloc((size_t)fv_conv_scratch_size(&B.g));
    B.dw = falloc(B.nw), B.db = falloc((size_t)L->f);
    B.scratch = falloc(fv_winograd_scratch_floats(&B.g, L->n));
    B.uf = falloc(fv_winograd_weight_floats(&B.g)), B.ub = falloc(fv_winograd_weight_floats(&B.g));
    B.work = falloc(fv_winograd_work_floats(&B.g, L->n));
    fill(B.x, B.nx, 1), fill(B.w, B.nw, 2), fill(B.b, (size_t)L->f, 3), fill(B.dy, B.ny, 4);
    fv_winograd_weights_f32(B.w, &B.g, 0, B.uf), fv_winograd_weights_f32(B.w, &B.g, 1, B.ub);
    memset(B.dx, 0, sizeof(float) * B.nx);
    memset(B.db, 0, sizeof(float) * (size_t)L->f);
    double fdiff, bdiff, wdiff;
    check_agree(&B, &fdiff, &bdiff, &wdiff);
    double *t = malloc(sizeof(double) * (size_t)reps * NVARIANTS);
    for (int r = 0; r < reps; r++) /* alternate the variants within each repetition */
        for (int v = 0; v < NVARIANTS; v++)
            t[v * reps + r] = run(&B, v);
    double med[NVARIANTS];
    for (int v = 0; v < NVARIANTS; v++) {
        qsort(t + v * reps, (size_t)reps, sizeof(double), bench_cmp_double);
        med[v] = 1e3 * t[v * reps + reps / 2];
    }
    /* fv_winograd_wins: forward (in the call, cached) / dx (in the call, cached) / dw */
    char rule[8];
    for (int k = 0; k < 4; k++)
        rule[k + k / 2] = fv_winograd_wins(&B.g, L->n, k / 2, k % 2) ? '+' : '-';
    rule[6] = fv_winograd_wins(&B.g, L->n, 2, 0) ? '+' : '-';
    rule[2] = rule[5] = '/', rule[7] = 0;
    printf("%-19s %6.2f %6.2f %4.2fx %4.2fx | %6.2f %6.2f %4.2fx %4.2fx | %6.2f %6.2f %4.2fx | "
           "%5.2f %7.1e %7.1e %7.1e %4.1f %s\n",
           L->name, med[FWD_LOWERED], med[FWD_WINO], med[FWD_LOWERED] / med[FWD_WINO],
           med[FWD_LOWERED] / med[FWD_WINO_U], med[BWD_LOWERED], med[BWD_WINO],
           med[BWD_LOWERED] / med[BWD_WINO], med[BWD_LOWERED] / med[BWD_WINO_U],
           med[DW_LOWERED], med[DW_WINO], med[DW_LOWERED] / med[DW_WINO], med[WEIGHTS], fdiff,
           bdiff, wdiff, 4e-6 * (double)fv_winograd_scratch_floats(&B.g, L->n), rule);
    fflush(stdout);
    free(t), free(B.x), free(B.w), free(B.b), free(B.y), free(B.dy), free(B.dx), free(B.col);
    free(B.dw), free(B.db);
    free(B.scratch), free(B.uf), free(B.ub), free(B.work);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 7;
    const char *filter = argc > 2 ? argv[2] : "";
    if (reps < 1)
        reps = 1;
    if (getenv("FOVEA_ISA") && fv_isa_set(getenv("FOVEA_ISA")) != FV_OK) {
        fprintf(stderr, "bench_conv: %s\n", fv_last_error());
        return 1;
    }
    layer custom = {"custom", 0, 0, 0, 0, 0, 0};
    if (argc == 7) {
        custom = (layer){"custom", atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                         atoi(argv[5]), atoi(argv[6])};
        if (custom.n < 1 || custom.c < 1 || custom.f < 1 || custom.h < 1 || custom.p < 0 ||
            custom.h + 2 * custom.p < 3) {
            fprintf(stderr, "bench_conv: bad layer\n");
            return 1;
        }
    }
    printf("one thread; fv_sgemm %s, transforms %s; medians of %d alternated runs, ms\n",
           fv_isa_name("gemm"), fv_isa_name("winograd"), reps);
    printf("ms per call: forward: lowered, Winograd, speed-up, speed-up with cached weights | the "
           "same for dx | dw and db: lowered, Winograd, speed-up | weight transform | differences "
           "fwd, dx, dw | scratch MB | fv_winograd_wins fwd (call, cached) / dx / dw\n");
    printf("%-19s %6s %6s %5s %5s | %6s %6s %5s %5s | %6s %6s %5s | %5s %7s %7s %7s %4s %s\n",
           "layer", "i2c", "wino", "x", "x U", "i2c", "wino", "x", "x U", "i2c", "wino", "x", "U",
           "fwd", "dx", "dw", "MB", "rule");
    if (custom.n) {
        char name[64];
        snprintf(name, sizeof name, "%d->%d %dx%d p%d b%d", custom.c, custom.f, custom.h,
                 custom.w, custom.p, custom.n);
        custom.name = name;
        bench_layer(&custom, reps);
        return 0;
    }
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        if (strstr(layers[i].name, filter))
            bench_layer(&layers[i], reps);
    return 0;
}
