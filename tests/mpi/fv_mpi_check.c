/* fv_mpi_check.c - the data-parallel runs that tests/mpi/test_mpi.sh compares, one process or one
 * rank of `mpirun -np N`:
 *   fv_mpi_check train NET BATCH N OUT [--sync-bn] [--epochs E] [--ckpt DIR] [--resume]
 *                [--die-after K] [--bucket-kib K] [--lr X] [--momentum X] [--act NAME] [--verbose]
 * trains NET (lenet5: 1x28x28; resnet20: 3x16x16) on N seeded random samples with per-rank batch
 * BATCH (SGD with momentum, shuffled), checks that every rank ends with the same parameters, bit
 * for bit, and has rank 0 write them (the whole slab, running statistics included) to OUT as
 * raw floats (--lr X: SGD's rate, default 0.01; --act: resnet20's activation, default relu).
 * --die-after K: the last rank kills itself (SIGKILL) before global step K + 1.
 *   fv_mpi_check compare A B TOL
 * exits 1 unless ||A - B|| <= TOL ||B|| (printing the relative difference). */
#include "core/dist.h"
#include "core/internal.h"
#include "fovea.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct args {
    const char *net, *out, *ckpt;
    int batch, n, epochs, sync_bn, resume, die_after, bucket_kib, verbose;
    fv_act act;
    float lr, momentum;
} args;

static fv_dataset *random_set(const char *net, int n)
{
    int lenet = strcmp(net, "lenet5") == 0, c = lenet ? 1 : 3, side = lenet ? 28 : 16;
    fv_dataset *d = calloc(1, sizeof *d);
    int64_t xd[4] = {n, c, side, side}, yd[1] = {n};
    d->x = fv_tensor_new(4, xd), d->y = fv_tensor_new(1, yd), d->num_classes = 10;
    /* a learnable task (class k: pattern k plus noise): a network fitting noise is chaotic, so
     * rounding-level differences (another ISA's kernels too) would grow to percents in 100 steps */
    int64_t per = (int64_t)c * side * side;
    float *pattern = malloc(sizeof(float) * (size_t)(10 * per));
    uint64_t s = 12345;
    for (int64_t i = 0; i < 10 * per + fv_tensor_numel(d->x); i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        float u = (float)((double)(s >> 40) / (double)(1ULL << 24) * 2 - 1);
        if (i < 10 * per)
            pattern[i] = u;
        else {
            int64_t j = i - 10 * per, k = (j / per) * 7 % 10;
            d->x->data[j] = pattern[k * per + j % per] + 0.5f * u;
        }
    }
    for (int i = 0; i < n; i++)
        d->y->data[i] = (float)(i * 7 % 10);
    free(pattern);
    return d;
}

/* Every rank's parameters equal rank 0's. */
static int same_on_all_ranks(const fv_model *m)
{
    if (!fv_comm)
        return 1;
    size_t bytes = sizeof(float) * (size_t)m->param_total;
    float *r0 = malloc(bytes);
    memcpy(r0, m->data_slab, bytes);
    int ok = fv_comm->bcast(r0, bytes, 0) == 0 && memcmp(r0, m->data_slab, bytes) == 0;
    double flag = ok ? 0 : 1;
    fv_dist_sum(&flag, 1);
    free(r0);
    if (flag != 0 && fv_dist_rank() == 0)
        fprintf(stderr, "FAIL: the ranks' parameters differ after training\n");
    return flag == 0;
}

static int train(const args *a)
{
    fv_dataset *d = random_set(a->net, a->n);
    int lenet = strcmp(a->net, "lenet5") == 0;
    fv_model *m = fv_zoo(a->net, .num_classes = 10, .channels = lenet ? 1 : 3,
                         .height = lenet ? 28 : 16, .activation = a->act);
    if (!m || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .seed = 7,
                               .optimizer = fv_sgd(.lr = a->lr, .momentum = a->momentum)) != FV_OK)
        return fprintf(stderr, "build: %s\n", fv_last_error()), 1;
    int rank = fv_dist_rank(), last = fv_dist_size() - 1;
    int ran = 0;
    fv_dist_stats ds = {0};
    fv_status st = fv_model_fit(m, d, .epochs = a->epochs, .batch_size = a->batch, .seed = 3,
                                .sync_bn = a->sync_bn, .checkpoint_dir = a->ckpt,
                                .resume = a->resume, .bucket_kib = a->bucket_kib,
                                .verbose = a->verbose, .log = stdout, .epochs_run = &ran,
                                .interrupt_after = rank == last ? a->die_after : 0,
                                .dist_stats = &ds);
    if (st != FV_OK && a->die_after && rank == last && last > 0) {
        fflush(NULL);
        raise(SIGKILL); /* a rank dying mid-epoch */
    }
    if (st != FV_OK)
        return fprintf(stderr, "rank %d: fit: %s\n", rank, fv_last_error()), 1;
    int rc = same_on_all_ranks(m) ? 0 : 1;
    if (!rc && rank == 0) {
        FILE *f = fopen(a->out, "wb");
        rc = !f || fwrite(m->data_slab, sizeof(float), (size_t)m->param_total, f) !=
                       (size_t)m->param_total;
        rc |= f && fclose(f) != 0;
        printf("rank 0 of %d: %d epochs, %lld parameters written to %s\n", last + 1, ran,
               (long long)m->param_total, a->out);
        printf("steps %lld, %.2f ms a step, %.2f ms of it waiting, %d buckets of %lld bytes\n",
               (long long)ds.steps, 1e3 * ds.step_s / (double)(ds.steps ? ds.steps : 1),
               1e3 * ds.wait_s / (double)(ds.steps ? ds.steps : 1), ds.buckets,
               (long long)ds.grad_bytes);
    }
    fv_model_free(m);
    fv_dataset_free(d);
    return rc;
}

static float *slurp_floats(const char *path, long *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = ftell(f) / (long)sizeof(float);
    rewind(f);
    float *v = malloc(sizeof(float) * (size_t)(*n + 1));
    if (v && fread(v, sizeof(float), (size_t)*n, f) != (size_t)*n)
        free(v), v = NULL;
    fclose(f);
    return v;
}

static int compare(const char *pa, const char *pb, double tol)
{
    long na = 0, nb = 0;
    float *a = slurp_floats(pa, &na), *b = slurp_floats(pb, &nb);
    if (!a || !b || na != nb || na == 0)
        return fprintf(stderr, "FAIL: cannot read %s and %s as equal float arrays\n", pa, pb), 1;
    double dd = 0, bb = 0, worst = 0;
    for (long i = 0; i < na; i++) {
        double e = (double)a[i] - (double)b[i];
        dd += e * e, bb += (double)b[i] * b[i];
        worst = fabs(e) > worst ? fabs(e) : worst;
    }
    double rel = sqrt(dd / (bb > 0 ? bb : 1));
    printf("%s vs %s: relative difference %.3g (largest %.3g) over %ld values\n", pa, pb, rel,
           worst, na);
    free(a);
    free(b);
    return !(rel <= tol);
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "compare") == 0)
        return compare(argv[2], argv[3], atof(argv[4]));
    if (argc < 6 || strcmp(argv[1], "train") != 0)
        return fprintf(stderr, "usage: see the header of fv_mpi_check.c\n"), 2;
    args a = {.net = argv[2], .batch = atoi(argv[3]), .n = atoi(argv[4]), .out = argv[5],
              .epochs = 1, .lr = 0.01f, .momentum = 0.9f};
    for (int i = 6; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : "0";
        if (strcmp(s, "--sync-bn") == 0)
            a.sync_bn = 1;
        else if (strcmp(s, "--resume") == 0)
            a.resume = 1;
        else if (strcmp(s, "--verbose") == 0)
            a.verbose = 1;
        else if (strcmp(s, "--epochs") == 0)
            a.epochs = atoi(v), i++;
        else if (strcmp(s, "--momentum") == 0)
            a.momentum = (float)atof(v), i++;
        else if (strcmp(s, "--lr") == 0)
            a.lr = (float)atof(v), i++;
        else if (strcmp(s, "--act") == 0 && fv_act_from_name(v) >= 0)
            a.act = (fv_act)fv_act_from_name(v), i++;
        else if (strcmp(s, "--ckpt") == 0)
            a.ckpt = v, i++;
        else if (strcmp(s, "--die-after") == 0)
            a.die_after = atoi(v), i++;
        else if (strcmp(s, "--bucket-kib") == 0)
            a.bucket_kib = atoi(v), i++;
        else
            return fprintf(stderr, "unknown option %s\n", s), 2;
    }
    if (fv_dist_init(&argc, &argv) != FV_OK)
        return fprintf(stderr, "%s\n", fv_last_error()), 1;
    int rc = train(&a);
    if (rc && fv_dist_size() > 1)
        fv_dist_abort(rc);
    fv_dist_finalize();
    return rc;
}
