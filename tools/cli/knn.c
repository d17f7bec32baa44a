/* knn.c - `fovea knn`: the k-nearest-neighbour baseline with eval's metrics and figures. */
#include "cli.h"

#include <stdlib.h>
#include <time.h>

/* The course's first classifier on the same data: k nearest training images by L1 or L2
 * distance, with every metric and figure eval gives (OUT default runs/knn). */
int cmd_knn(const opts *o)
{
    int k = o->knn_k ? o->knn_k : 5, rc = 1;
    fv_dataset *train = load_data(o, 1), *test = train ? load_data(o, 0) : NULL;
    const char *dir = o->out ? o->out : "runs/knn";
    fv_tensor *sc = NULL;
    double *scores = NULL;
    int *pred = NULL;
    if (!train || !test) {
        rc = fail_lib();
        goto done;
    }
    int64_t n = test->x->dims[0], c = train->num_classes;
    scores = malloc(sizeof(double) * (size_t)(n * c));
    pred = malloc(sizeof(int) * (size_t)n);
    sc = fv_tensor_new(2, (int64_t[]){n, c});
    if (!scores || !pred || !sc || make_dir(dir) != 0) {
        rc = fail(!scores || !pred || !sc ? "out of memory" : "knn: cannot create the output dir");
        goto done;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (fv_knn_predict(train, test->x, k, o->knn_l1 ? FV_KNN_L1 : FV_KNN_L2, scores, pred) !=
        FV_OK) {
        rc = fail_lib();
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t right = 0;
    for (int64_t i = 0; i < n; i++)
        right += pred[i] == (int)test->y->data[i];
    for (int64_t i = 0; i < n * c; i++)
        sc->data[i] = (float)scores[i];
    printf("k-NN (k = %d, %s) test accuracy: %.4f (%lld training, %lld test images); %.1f s\n",
           k, o->knn_l1 ? "L1" : "L2", (double)right / (double)n,
           (long long)train->x->dims[0], (long long)n,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    rc = report_metrics(test, sc, dir);
done:
    free(scores), free(pred);
    fv_tensor_free(sc);
    fv_dataset_free(train), fv_dataset_free(test);
    return rc;
}
