/* bench_gemm.c - SGEMM throughput: fovea's fv_sgemm against OpenBLAS's cblas_sgemm (loaded at run
 * time with dlopen, so the build never depends on it), one thread each, and the machine's measured
 * fp32 peak (an FMA-throughput loop). Each repetition times both libraries back to back, which
 * one first alternating (small products looped to a few milliseconds), in process CPU time so
 * that time the machine gives to other processes is not counted; the table shows medians over the repetitions and the median of
 * the per-repetition speed ratios (fovea / OpenBLAS: above 1, fovea is faster).
 * Usage: bench_gemm [--trans] [--conv] [--reps N] [--tile NAME] [SIZE... | OPxMxNxK...]
 *   SIZE...  square products, row-major NN (default 256 512 768 1024 1536 2048)
 *   OPxMxNxK one product of that shape, OP one of NN, TN, NT, TT (TNx25x784x6)
 *   --trans  the square sizes also as TN, NT and TT
 *   --conv   convolution shapes instead: per layer (filters M, column rows K = C R S, positions
 *            N) the forward C = W col (NN), the data gradient W^T dY (TN: M and K swapped) and
 *            the weight gradient dY col^T (NT: K = positions), one sample and a chunk of 8
 *   --tile   force fv_sgemm's micro-kernel tile NAME (8x48, 12x32, ...; default: picked by shape)
 * FOVEA_ISA=LEVEL in the environment (generic, avx2, avx512, ...) picks fv_sgemm's variant. */
#include "../src/kernels/kernels.h"
#include "bench.h"
#include "fovea.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);

enum { MAX_REPS = 101 };

static double cpu_s(void) { return bench_seconds(CLOCK_PROCESS_CPUTIME_ID); }

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#if defined(__x86_64__)
/* Peak: 24 independent FMA chains on zmm registers, no memory traffic. */
__attribute__((target("avx512f,fma"))) static double fma_peak_gflops(void)
{
    __m512 c[24], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 24; i++)
        c[i] = _mm512_set1_ps((float)i);
    long iters = 20000000;
    double t0 = cpu_s();
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            c[i] = _mm512_fmadd_ps(a, c[i], b);
    }
    double dt = cpu_s() - t0;
    __m512 s = c[0];
    for (int i = 1; i < 24; i++)
        s = _mm512_add_ps(s, c[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 32 / dt / 1e9;
}
#endif

typedef struct shape {
    int ta, tb, m, n, k;
} shape;

typedef struct bench {
    cblas_sgemm_fn ob;
    int reps;
    double peak;
} bench;

/* One library's product, `loops` times: C (m x n, beta 0) = op(A) op(B). */
static void run(const bench *b, int lib, const shape *s, int loops, const float *A,
                const float *B, float *C)
{
    int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;
    for (int i = 0; i < loops; i++) {
        if (lib == 0)
            fv_sgemm(s->ta, s->tb, s->m, s->n, s->k, 1, A, lda, B, ldb, 0, C, s->n);
        else /* row-major (101), no transpose 111, transpose 112 */
            b->ob(101, s->ta ? 112 : 111, s->tb ? 112 : 111, s->m, s->n, s->k, 1, A, lda, B, ldb,
                  0, C, s->n);
    }
}

static void fill(float *v, size_t n, int period)
{
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(i % (size_t)period) / (float)period - 0.5f;
}

/* Times one shape and prints its row. */
static void bench_shape(const bench *b, const shape *s)
{
    size_t na = (size_t)s->m * (size_t)s->k, nb = (size_t)s->k * (size_t)s->n;
    size_t nc = (size_t)s->m * (size_t)s->n;
    float *A = malloc(4 * na), *B = malloc(4 * nb), *c1 = malloc(4 * nc), *c2 = malloc(4 * nc);
    if (!A || !B || !c1 || !c2) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    fill(A, na, 13), fill(B, nb, 7);
    double flops = 2.0 * s->m * s->n * s->k;
    /* loops per sample: about 3 ms of work at 100 GFLOP/s */
    int loops = (int)fmin(10000, fmax(1, 3e-3 * 100e9 / flops));
    double tf[MAX_REPS], to[MAX_REPS], ratio[MAX_REPS];
    for (int r = -2; r < b->reps; r++) { /* r < 0: warm-up */
        double t[2] = {0, 0};
        for (int i = 0; i < 2; i++) { /* who goes first alternates: each starts after the other */
            int lib = (r & 1) ^ i;
            if (lib == 1 && !b->ob)
                continue;
            double t0 = cpu_s();
            run(b, lib, s, loops, A, B, lib ? c2 : c1);
            t[lib] = (cpu_s() - t0) / loops;
        }
        if (r >= 0)
            tf[r] = t[0], to[r] = t[1], ratio[r] = to[r] / tf[r];
    }
    double gf = flops / median(tf, b->reps) / 1e9;
    double go = b->ob ? flops / median(to, b->reps) / 1e9 : NAN;
    double rr = b->ob ? median(ratio, b->reps) : NAN, worst = 0;
    for (size_t i = 0; b->ob && i < nc; i++)
        worst = fmax(worst, fabs(c1[i] - c2[i]) / fmax(1e-3, fabs(c2[i])));
    printf("%s%s %5d %5d %5d %10.1f %10.1f %7.2f %8.0f%% %9.1e\n", s->ta ? "T" : "N",
           s->tb ? "T" : "N", s->m, s->n, s->k, gf, go, rr,
           b->peak > 0 ? 100 * gf / b->peak : NAN, b->ob ? worst : NAN);
    fflush(stdout);
    free(A), free(B), free(c1), free(c2);
}

/* Convolution layers: filters, C R S, output positions (LeNet-5, small CNNs, VGG / ResNet, the
 * 1x1 layers of ResNet-50/101's bottlenecks at 14x14 and 7x7). */
static const int conv_layers[][3] = {
    {6, 25, 784},   {16, 150, 100},  {32, 27, 900},    {32, 288, 784},  {64, 288, 144},
    {64, 576, 100}, {64, 576, 3136}, {512, 4608, 49}, {256, 2304, 196}, {256, 1024, 196},
    {1024, 256, 196}, {512, 2048, 49}, {2048, 512, 49},
};

static void bench_conv(const bench *b)
{
    static const int chunks[] = {1, 8};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
        for (size_t l = 0; l < sizeof conv_layers / sizeof conv_layers[0]; l++) {
            int m = conv_layers[l][0], k = conv_layers[l][1], n = conv_layers[l][2] * chunks[c];
            const shape fwd = {0, 0, m, n, k}, dx = {1, 0, k, n, m}, dw = {0, 1, m, k, n};
            bench_shape(b, &fwd);
            bench_shape(b, &dx);
            bench_shape(b, &dw);
        }
}

/* Forces the micro-kernel tile called `name` ("8x48", "dot4x6", ...); 0 when there is none. */
static int force_tile(const char *name)
{
    for (int i = 0; fv_sgemm_tile_name(i); i++)
        if (!strcmp(fv_sgemm_tile_name(i), name))
            return fv_sgemm_force_tile(i);
    fprintf(stderr, "bench_gemm: no tile %s in the %s variant\n", name, fv_isa_name("gemm"));
    return 0;
}

/* "TNx25x784x6" -> {1, 0, 25, 784, 6}; 0 if s is not such a shape. */
static int parse_shape(const char *s, shape *out)
{
    char op[3] = {0};
    int m, n, k, end = 0;
    if (sscanf(s, "%2[NT]x%dx%dx%d%n", op, &m, &n, &k, &end) != 4 || s[end] || strlen(op) != 2 ||
        m < 1 || n < 1 || k < 1)
        return 0;
    *out = (shape){op[0] == 'T', op[1] == 'T', m, n, k};
    return 1;
}

int main(int argc, char **argv)
{
    static const int defaults[] = {256, 512, 768, 1024, 1536, 2048};
    int sizes[64], nsizes = 0, trans = 0, conv = 0, nshapes = 0;
    shape shapes[64];
    const char *tile = NULL;
    bench b = {NULL, 9, 0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--trans"))
            trans = 1;
        else if (!strcmp(argv[i], "--conv"))
            conv = 1;
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            b.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tile") && i + 1 < argc)
            tile = argv[++i];
        else if (nshapes < 64 && parse_shape(argv[i], &shapes[nshapes]))
            nshapes++;
        else if (atoi(argv[i]) > 0 && nsizes < 64)
            sizes[nsizes++] = atoi(argv[i]);
        else {
            fprintf(stderr, "usage: bench_gemm [--trans] [--conv] [--reps N] [--tile NAME] "
                            "[SIZE... | OPxMxNxK...]\n");
            return 2;
        }
    }
    if (b.reps < 1 || b.reps > MAX_REPS)
        b.reps = 9;
    if (nsizes == 0 && nshapes == 0 && !conv) {
        memcpy(sizes, defaults, sizeof defaults);
        nsizes = 6;
    }
    if (tile && !force_tile(tile))
        return 2;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    b.ob = h ? (cblas_sgemm_fn)dlsym(h, "cblas_sgemm") : NULL;
    char *(*corename)(void) = h ? (char *(*)(void))dlsym(h, "openblas_get_corename") : NULL;
#if defined(__x86_64__)
    if (strncmp(fv_isa_name("cpu"), "avx512", 6) == 0)
        b.peak = fma_peak_gflops();
#endif
    printf("fv_sgemm variant: %s; OpenBLAS: %s (kernels: %s); measured fp32 FMA peak (one core): "
           "%.1f GFLOP/s\n",
           fv_isa_name("gemm"), b.ob ? "libopenblas.so.0" : "absent (skipped)",
           corename ? corename() : "?", b.peak);
    printf("medians of %d repetitions, process CPU time; ratio: median of per-repetition "
           "fovea / OpenBLAS speed\n",
           b.reps);
    printf("op %5s %5s %5s %10s %10s %7s %9s %9s\n", "M", "N", "K", "fovea GF/s", "OpenBLAS",
           "ratio", "of peak", "max rel");
    if (conv) {
        bench_conv(&b);
        return 0;
    }
    for (int i = 0; i < nshapes; i++)
        bench_shape(&b, &shapes[i]);
    for (int t = 0; t < (trans ? 4 : 1); t++)
        for (int s = 0; s < nsizes; s++) {
            const shape sh = {t & 1, t >> 1, sizes[s], sizes[s], sizes[s]};
            bench_shape(&b, &sh);
        }
    return 0;
}
