/* ensemble.c - `fovea ensemble`: the mean of several models' per-image probabilities (each the
 * OUT/probabilities.csv of a `fovea eval` on the same test images), scored with eval's metrics and
 * figures; and the writer of such a file, which eval shares. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

int write_probabilities(const fv_dataset *d, const fv_tensor *probs, const char *dir)
{
    int64_t n = probs->dims[0];
    int *lab = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!lab)
        return fail("out of memory");
    for (int64_t i = 0; i < n; i++)
        lab[i] = (int)d->y->data[i];
    char path[1100];
    snprintf(path, sizeof path, "%s/probabilities.csv", dir);
    int rc = fv_probs_write(path, probs->data, lab, n, (int)probs->dims[1]) == FV_OK ? 0
                                                                                   : fail_lib();
    free(lab);
    return rc;
}

/* A member against the first and the test split: as many rows and classes, the same labels. */
static int check_member(const fv_probs *p, const fv_probs *first, const char *first_path,
                        const fv_dataset *test, const char *path)
{
    char msg[2400];
    int64_t n = test->x->dims[0];
    if (p->n != n)
        snprintf(msg, sizeof msg, "%s: %lld rows, but the test split has %lld images (give "
                 "ensemble the --data and --limit of the evals)", path, (long long)p->n,
                 (long long)n);
    else if (p->k != first->k)
        snprintf(msg, sizeof msg, "%s: %d classes, but %s has %d", path, p->k, first_path,
                 first->k);
    else
        msg[0] = '\0';
    for (int64_t i = 0; !msg[0] && i < n; i++)
        if (p->labels[i] != (int)test->y->data[i])
            snprintf(msg, sizeof msg, "%s: image %lld has label %d, but %d in the test split "
                     "(the evals must share --data and --limit)", path, (long long)i,
                     p->labels[i], (int)test->y->data[i]);
    return msg[0] ? fail(msg) : 0;
}

/* The fraction of rows of p (n x k) whose first maximum is the label. */
static double accuracy(const float *p, const int *lab, int64_t n, int k)
{
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++) {
        int best = 0;
        for (int c = 1; c < k; c++)
            best = p[i * k + c] > p[i * k + best] ? c : best;
        right += best == lab[i];
    }
    return n ? (double)right / (double)n : 0;
}

/* The members' mean, as the (n, k) tensor eval's metrics take; NULL when out of memory. */
static fv_tensor *mean_of(const fv_probs *m, int count)
{
    int64_t n = m[0].n, k = m[0].k;
    fv_tensor *t = fv_tensor_new(2, (int64_t[]){n, k});
    for (int64_t j = 0; t && j < n * k; j++) {
        double s = 0;
        for (int i = 0; i < count; i++)
            s += m[i].p[j];
        t->data[j] = (float)(s / count);
    }
    return t;
}

/* Reads and checks every member; each one's accuracy printed. */
static int read_members(const opts *o, const fv_dataset *test, fv_probs *m)
{
    for (int i = 0; i < o->npos; i++) {
        if (fv_probs_read(o->pos[i], &m[i]) != FV_OK)
            return fail_lib();
        if (check_member(&m[i], &m[0], o->pos[0], test, o->pos[i]) != 0)
            return 1;
        printf("Member %d, %s: accuracy %.4f\n", i + 1, o->pos[i],
               accuracy(m[i].p, m[i].labels, m[i].n, m[i].k));
    }
    return 0;
}

int cmd_ensemble(const opts *o)
{
    if (o->npos < 2)
        return fail("ensemble needs two or more probabilities.csv files (fovea eval writes "
                    "OUT/probabilities.csv)");
    fv_dataset *test = load_data(o, 0);
    if (!test)
        return fail_lib();
    const char *dir = o->out ? o->out : "runs/ensemble";
    fv_probs *m = calloc((size_t)o->npos, sizeof *m);
    fv_tensor *mean = NULL;
    int rc = m ? read_members(o, test, m) : fail("out of memory");
    if (rc == 0 && !(mean = mean_of(m, o->npos)))
        rc = fail("out of memory");
    if (rc == 0 && make_dir(dir) != 0)
        rc = fail("ensemble: cannot create the output directory");
    if (rc == 0) {
        printf("Test accuracy: %.4f (%lld images, the mean of %d models' probabilities)\n",
               accuracy(mean->data, m[0].labels, m[0].n, m[0].k), (long long)m[0].n, o->npos);
        rc = report_metrics(test, mean, dir);
    }
    if (rc == 0)
        rc = write_probabilities(test, mean, dir);
    for (int i = 0; m && i < o->npos; i++)
        fv_probs_free(&m[i]);
    free(m);
    fv_tensor_free(mean);
    fv_dataset_free(test);
    return rc;
}
