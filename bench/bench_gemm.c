/* bench_gemm.c - SGEMM throughput: fovea's fv_sgemm against OpenBLAS's cblas_sgemm (loaded at run
 * time with dlopen, so the build never depends on it), alternating, median of timed repetitions
 * after a warm-up, one thread each; and the machine's measured fp32 peak (an FMA-throughput loop).
 * Usage: bench_gemm [SIZE...]   (default 256 512 768 1024 1536 2048) */
#include "../src/kernels/kernels.h"

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int,
                               const float *, int, float, float *, int);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#if defined(__x86_64__)
/* Peak: 24 independent FMA chains on zmm registers, no memory traffic. */
__attribute__((target("avx512f,fma"))) static double fma_peak_gflops(void)
{
    __m512 c[24], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < 24; i++)
        c[i] = _mm512_set1_ps((float)i);
    long iters = 20000000;
    double t0 = now_s();
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 24
        for (int i = 0; i < 24; i++)
            c[i] = _mm512_fmadd_ps(a, c[i], b);
    }
    double dt = now_s() - t0;
    __m512 s = c[0];
    for (int i = 1; i < 24; i++)
        s = _mm512_add_ps(s, c[i]);
    volatile float sink = _mm512_reduce_add_ps(s);
    (void)sink;
    return (double)iters * 24 * 32 / dt / 1e9;
}
#endif

int main(int argc, char **argv)
{
    static const int defaults[] = {256, 512, 768, 1024, 1536, 2048};
    int nsizes = argc > 1 ? argc - 1 : 6;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    void *h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    cblas_sgemm_fn ob = h ? (cblas_sgemm_fn)dlsym(h, "cblas_sgemm") : NULL;
    double peak = 0;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f"))
        peak = fma_peak_gflops();
#endif
    printf("fv_sgemm variant: %s; OpenBLAS: %s; measured fp32 FMA peak (one core): %.1f GFLOP/s\n",
           fv_sgemm_isa_name(), ob ? "libopenblas.so.0" : "absent (skipped)", peak);
    printf("%6s %12s %12s %8s %10s %10s\n", "size", "fovea GF/s", "OpenBLAS", "ratio",
           "of peak", "max rel");
    for (int s = 0; s < nsizes; s++) {
        int n = argc > 1 ? atoi(argv[s + 1]) : defaults[s];
        if (n < 1)
            continue;
        size_t nn = (size_t)n * (size_t)n;
        float *a = malloc(4 * nn), *b = malloc(4 * nn), *c1 = malloc(4 * nn), *c2 = malloc(4 * nn);
        for (size_t i = 0; i < nn; i++)
            a[i] = (float)(i % 13) / 13.0f - 0.5f, b[i] = (float)(i % 7) / 7.0f - 0.5f;
        enum { REPS = 7 };
        double tf[REPS], to[REPS];
        for (int r = -1; r < REPS; r++) { /* r = -1: warm-up */
            double t0 = now_s();
            fv_sgemm(0, 0, n, n, n, 1, a, n, b, n, 0, c1, n);
            double t1 = now_s();
            if (ob)
                ob(101, 111, 111, n, n, n, 1, a, n, b, n, 0, c2, n); /* row-major, NN */
            double t2 = now_s();
            if (r >= 0)
                tf[r] = t1 - t0, to[r] = t2 - t1;
        }
        qsort(tf, REPS, sizeof(double), cmp_double);
        qsort(to, REPS, sizeof(double), cmp_double);
        double flops = 2.0 * n * n * n, gf = flops / tf[REPS / 2] / 1e9;
        double go = ob ? flops / to[REPS / 2] / 1e9 : NAN, worst = 0;
        for (size_t i = 0; ob && i < nn; i++)
            worst = fmax(worst, fabs(c1[i] - c2[i]) / fmax(1e-3, fabs(c2[i])));
        printf("%6d %12.1f %12.1f %8.2f %9.0f%% %10.1e\n", n, gf, go, gf / go,
               peak > 0 ? 100 * gf / peak : NAN, ob ? worst : NAN);
        free(a), free(b), free(c1), free(c2);
    }
    return 0;
}
