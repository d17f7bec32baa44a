/* test_gan_score.c - the GAN quality measure (nn/gan_score.c): the symmetric eigen
 * decomposition (A v = lambda v, orthonormal v); the Frechet distance on Gaussians computed by
 * hand (1-D, diagonal, a singular covariance whose product with the other does not commute,
 * rotation invariance, identical ones); feature moments by hand; the Inception Score on hand
 * cases (all alike 1, sure and balanced k, a two-row case); a classifier's penultimate features
 * and probabilities; misuse is a one-line error. */
#include "core/internal.h"
#include "nn/gan_score.h"
#include "test.h"

#include <math.h>

TEST(eigen_decomposes_symmetric_matrices)
{
    double a[4] = {2, 1, 1, 2}, w[2], v[4];
    CHECK_STATUS(fv_sym_eigen(a, 2, w, v), FV_OK);
    double lo = fmin(w[0], w[1]), hi = fmax(w[0], w[1]);
    CHECK_NEAR(lo, 1, 1e-12, 0);
    CHECK_NEAR(hi, 3, 1e-12, 0);
    enum { N = 6 };
    double m[N * N], c[N * N], e[N], q[N * N];
    fv_rng r;
    fv_rng_seed(&r, 3);
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++)
            m[i * N + j] = m[j * N + i] = fv_rng_normal(&r);
    memcpy(c, m, sizeof c);
    CHECK_STATUS(fv_sym_eigen(c, N, e, q), FV_OK);
    for (int k = 0; k < N; k++)
        for (int i = 0; i < N; i++) {
            double mv = 0, dot = 0;
            for (int j = 0; j < N; j++)
                mv += m[i * N + j] * q[j * N + k], dot += q[j * N + i] * q[j * N + k];
            CHECK_NEAR(mv, e[k] * q[i * N + k], 1e-10, 0);
            CHECK_NEAR(dot, i == k, 1e-12, 0);
        }
}

static double fd(const double *m1, const double *c1, const double *m2, const double *c2, int n)
{
    double v = NAN;
    CHECK_STATUS(fv_frechet_distance(m1, c1, m2, c2, n, &v), FV_OK);
    return v;
}

TEST(frechet_distance_of_hand_computed_gaussians)
{
    /* 1-D: (3 - 0)^2 + (2 - 1)^2 for variances 4 and 1 */
    CHECK_NEAR(fd((double[]){3}, (double[]){4}, (double[]){0}, (double[]){1}, 1), 10, 1e-12, 0);
    /* diagonal: |(0,0) - (1,2)|^2 = 5; (1 + 4 - 2*2) + (4 + 9 - 2*6) = 2 */
    double c1[4] = {1, 0, 0, 4}, c2[4] = {4, 0, 0, 9};
    CHECK_NEAR(fd((double[]){0, 0}, c1, (double[]){1, 2}, c2, 2), 7, 1e-12, 0);
    /* c1 = [[2,1],[1,2]], c2 = diag(1, 0) (singular): c1 c2 = [[2,0],[1,0]], eigenvalues 2 and
     * 0, so tr (c1 c2)^(1/2) = sqrt 2 and the distance 4 + 1 - 2 sqrt 2 */
    double c3[4] = {2, 1, 1, 2}, c4[4] = {1, 0, 0, 0};
    CHECK_NEAR(fd((double[]){0, 0}, c3, (double[]){0, 0}, c4, 2), 5 - 2 * sqrt(2.0), 1e-12, 0);
    CHECK_NEAR(fd((double[]){0, 0}, c4, (double[]){0, 0}, c3, 2), 5 - 2 * sqrt(2.0), 1e-12, 0);
    /* identical: 0; both rotated by 30 degrees: unchanged */
    CHECK_NEAR(fd((double[]){1, 1}, c3, (double[]){1, 1}, c3, 2), 0, 1e-12, 0);
    double cs = sqrt(3.0) / 2, sn = 0.5, rot[4] = {cs, -sn, sn, cs}, r1[4], r2[4];
    for (int i = 0; i < 2; i++) /* r = R c R^T for diagonal c */
        for (int j = 0; j < 2; j++) {
            double a = rot[i * 2] * rot[j * 2], b = rot[i * 2 + 1] * rot[j * 2 + 1];
            r1[i * 2 + j] = a * c1[0] + b * c1[3];
            r2[i * 2 + j] = a * c2[0] + b * c2[3];
        }
    double m2[2] = {rot[0] * 1 + rot[1] * 2, rot[2] * 1 + rot[3] * 2};
    CHECK_NEAR(fd((double[]){0, 0}, r1, m2, r2, 2), 7, 1e-12, 0);
}

TEST(moments_by_hand)
{
    float x[6] = {1, 2, 3, 6, 5, 10}; /* rows (1,2), (3,6), (5,10) */
    double mean[2], cov[4];
    CHECK_STATUS(fv_feature_moments(x, 3, 2, mean, cov), FV_OK);
    CHECK_NEAR(mean[0], 3, 1e-12, 0);
    CHECK_NEAR(mean[1], 6, 1e-12, 0);
    CHECK_NEAR(cov[0], 4, 1e-12, 0); /* (4 + 0 + 4) / 2 */
    CHECK_NEAR(cov[1], 8, 1e-12, 0);
    CHECK_NEAR(cov[2], 8, 1e-12, 0);
    CHECK_NEAR(cov[3], 16, 1e-12, 0);
    CHECK_STATUS(fv_feature_moments(x, 1, 2, mean, cov), FV_ERR_INVALID);
}

TEST(inception_score_by_hand)
{
    double is;
    float alike[6] = {0.2f, 0.3f, 0.5f, 0.2f, 0.3f, 0.5f};
    CHECK_STATUS(fv_inception_score(alike, 2, 3, &is), FV_OK);
    CHECK_NEAR(is, 1, 1e-12, 0);
    float sure[12] = {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1};
    float balanced[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK_STATUS(fv_inception_score(balanced, 3, 3, &is), FV_OK);
    CHECK_NEAR(is, 3, 1e-12, 0);
    /* sure rows of classes 0, 1, 2, 2: p(y) = (1/4, 1/4, 1/2); KL: log 4, log 4, log 2, log 2,
     * their mean 1.5 log 2 */
    CHECK_STATUS(fv_inception_score(sure, 4, 3, &is), FV_OK);
    CHECK_NEAR(is, pow(2.0, 1.5), 1e-12, 1e-7);
    /* (1, 0) and (1/2, 1/2): p(y) = (3/4, 1/4); KL log(4/3) and log(4/3) / 2 */
    float two[4] = {1, 0, 0.5f, 0.5f};
    CHECK_STATUS(fv_inception_score(two, 2, 2, &is), FV_OK);
    CHECK_NEAR(is, pow(4.0 / 3.0, 0.75), 1e-12, 1e-7);
    two[1] = -0.5f;
    CHECK_STATUS(fv_inception_score(two, 2, 2, &is), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("probability -0.5 of row 0");
}

/* x (3) -> dense 4 relu "features" -> dense 2: the features are relu(W x + b) of the first
 * layer, the probabilities the softmax of the logits. */
TEST(classifier_features_and_probabilities)
{
    fv_model *m = fv_model_new("cls");
    int x = fv_input(m, .ndim = 1, .dims = {3});
    x = fv_dense(m, x, .units = 4, .activation = FV_ACT_RELU, .name = "features");
    fv_dense(m, x, .units = 2, .name = "logits");
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .seed = 4), FV_OK);
    enum { N = 300 }; /* more than one batch of 256 */
    float *in = malloc(sizeof(float) * N * 3), *f = NULL, *p = NULL;
    fv_rng r;
    fv_rng_seed(&r, 5);
    for (int i = 0; i < N * 3; i++)
        in[i] = (float)fv_rng_normal(&r);
    int dim = 0, k = 0;
    CHECK_STATUS(fv_gan_features(m, in, N, &f, &dim, &p, &k), FV_OK);
    CHECK(dim == 4 && k == 2);
    const float *w = m->data_slab, *b = w + 12, *w2 = b + 4, *b2 = w2 + 8;
    for (int i = 0; i < N && f; i += 37) {
        double h[4], l[2];
        for (int u = 0; u < 4; u++) {
            h[u] = b[u];
            for (int j = 0; j < 3; j++)
                h[u] += (double)w[u * 3 + j] * in[i * 3 + j];
            h[u] = fmax(h[u], 0);
            CHECK_NEAR(f[i * 4 + u], h[u], 1e-5, 1e-5);
        }
        for (int c = 0; c < 2; c++) {
            l[c] = b2[c];
            for (int u = 0; u < 4; u++)
                l[c] += (double)w2[c * 4 + u] * h[u];
        }
        CHECK_NEAR(p[i * 2 + 1], 1 / (1 + exp(l[0] - l[1])), 1e-5, 1e-5);
    }
    free(f), free(p), free(in);
    fv_model *flat = fv_model_new("no_dense");
    fv_activation(flat, fv_input(flat, .ndim = 1, .dims = {3}), FV_ACT_TANH);
    CHECK_STATUS(fv_model_compile(flat, .loss = FV_LOSS_NONE), FV_OK);
    CHECK_STATUS(fv_gan_features(flat, (float[]){1, 2, 3}, 1, &f, &dim, &p, &k), FV_ERR_INVALID);
    CHECK_ERR_HAS("does not end in a dense layer");
    fv_model_free(m), fv_model_free(flat);
}

TEST(frechet_misuse_is_an_error)
{
    double v, m[2] = {0, 0}, asym[4] = {1, 2, 0, 1}, ok[4] = {1, 0, 0, 1};
    CHECK_STATUS(fv_frechet_distance(m, asym, m, ok, 2, &v), FV_ERR_INVALID);
    CHECK_ERR_HAS("the first covariance is not symmetric");
    ok[3] = NAN;
    CHECK_STATUS(fv_frechet_distance(m, asym, m, ok, 0, &v), FV_ERR_INVALID);
    CHECK_STATUS(fv_frechet_distance(m, (double[]){1, 0, 0, 1}, m, ok, 2, &v), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("not finite");
}

int main(void)
{
    RUN(eigen_decomposes_symmetric_matrices);
    RUN(frechet_distance_of_hand_computed_gaussians);
    RUN(moments_by_hand);
    RUN(inception_score_by_hand);
    RUN(classifier_features_and_probabilities);
    RUN(frechet_misuse_is_an_error);
    TEST_MAIN_END();
}
