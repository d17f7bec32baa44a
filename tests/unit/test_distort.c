/* test_distort.c - the distorted MNIST generators (R, RTS, P, E): shapes, labels and names;
 * deterministic for a seed and a sample index (the same alone or in a set), different across
 * seeds; bounded by the digits' range and 0; R turns about the centre (the distance of the
 * centroid from it kept); RTS keeps a small digit on its 42x42 canvas at varying places; P and E
 * move pixels without losing the digit; errors for bad digits and kinds. Synthetic digits: no
 * data set is needed. */
#include "core/internal.h"
#include "data/data.h"
#include "test.h"

#define N 12

/* N digits 28x28: an off-centre bar and blob, different per sample, values in [0, 0.9]. */
static fv_dataset *digits(void)
{
    fv_tensor *x = fv_tensor_new(4, (int64_t[]){N, 1, 28, 28});
    fv_tensor *y = fv_tensor_new(1, (int64_t[]){N});
    for (int i = 0; x && y && i < N; i++) {
        y->data[i] = (float)(i % 10);
        for (int r = 0; r < 28; r++)
            for (int c = 0; c < 28; c++) {
                bool bar = r >= 6 && r < 22 && c >= 9 + i % 3 && c < 12 + i % 3;
                bool blob = (r - 18) * (r - 18) + (c - 17) * (c - 17) < 12;
                x->data[(i * 28 + r) * 28 + c] = bar ? 0.9f : blob ? 0.6f : 0.0f;
            }
    }
    return fv_dataset_adopt(x, y, 10, "synthetic");
}

static double mass(const float *p, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

/* The distance of the intensity centroid from the image centre, in pixels. */
static double centroid_radius(const float *p, int side)
{
    double s = 0, sx = 0, sy = 0;
    for (int r = 0; r < side; r++)
        for (int c = 0; c < side; c++) {
            double v = p[r * side + c];
            s += v, sx += v * (c + 0.5 - side / 2.0), sy += v * (r + 0.5 - side / 2.0);
        }
    return s > 0 ? sqrt(sx * sx + sy * sy) / s : -1;
}

TEST(distort_shapes_names_bounds)
{
    fv_dataset *d = digits();
    for (int k = 0; d && k < FV_DISTORT__COUNT; k++) {
        fv_dataset *t = fv_dataset_distort(d, (fv_distortion)k, 7);
        CHECK(t != NULL);
        if (!t)
            continue;
        int side = k == FV_DISTORT_RTS ? 42 : 28;
        CHECK(fv_distortion_side((fv_distortion)k, 28) == side);
        CHECK(t->x->ndim == 4 && t->x->dims[0] == N && t->x->dims[1] == 1 &&
              t->x->dims[2] == side && t->x->dims[3] == side);
        char want[32];
        snprintf(want, sizeof want, "mnist-%s", fv_distortion_name((fv_distortion)k));
        CHECK(strcmp(t->name, want) == 0);
        CHECK(fv_distortion_from_name(want) == k);
        CHECK(fv_distortion_from_name(fv_distortion_name((fv_distortion)k)) == k);
        char **names = fv_class_names(d, 10); /* the digits' names, or the default ones */
        CHECK(t->num_classes == 10 && t->class_names && names &&
              strcmp(t->class_names[3], names[3]) == 0);
        fv_class_names_free(names, 10);
        for (int i = 0; i < N; i++)
            CHECK(t->y->data[i] == d->y->data[i]);
        int64_t n = fv_tensor_numel(t->x);
        float lo = 1, hi = 0;
        for (int64_t i = 0; i < n; i++)
            lo = fminf(lo, t->x->data[i]), hi = fmaxf(hi, t->x->data[i]);
        CHECK(lo >= 0.0f && hi <= 0.9f + 1e-6f && hi > 0.3f);
        /* the digit is moved, not lost: its mass within 45% (RTS scales by 0.7..1.2) */
        for (int i = 0; i < N; i++) {
            double m0 = mass(d->x->data + i * 784, 784), m1 = mass(t->x->data + i * side * side,
                                                                   side * side);
            CHECK(m1 > 0.45 * m0 && m1 < 1.55 * m0);
        }
        fv_dataset_free(t);
    }
    CHECK(fv_distortion_from_name("mnist-x") == -1 && fv_distortion_from_name(NULL) == -1);
    fv_dataset_free(d);
}

TEST(distort_deterministic)
{
    fv_dataset *d = digits();
    double *scratch = fv_malloc(fv_distort_scratch_bytes(28, 28), "scratch");
    for (int k = 0; d && scratch && k < FV_DISTORT__COUNT; k++) {
        fv_dataset *a = fv_dataset_distort(d, (fv_distortion)k, 3);
        fv_dataset *b = fv_dataset_distort(d, (fv_distortion)k, 3);
        fv_dataset *c = fv_dataset_distort(d, (fv_distortion)k, 4);
        CHECK(a && b && c);
        if (a && b && c) {
            int64_t n = fv_tensor_numel(a->x), per = n / N;
            CHECK(memcmp(a->x->data, b->x->data, sizeof(float) * (size_t)n) == 0);
            CHECK(memcmp(a->x->data, c->x->data, sizeof(float) * (size_t)n) != 0);
            /* sample 5 alone is sample 5 of the set */
            float one[42 * 42];
            CHECK_STATUS(fv_distort_sample((fv_distortion)k, 3, 5, d->x->data + 5 * 784, 28, 28,
                                           one, scratch), FV_OK);
            CHECK(memcmp(one, a->x->data + 5 * per, sizeof(float) * (size_t)per) == 0);
            /* the samples differ from one another (own streams) and from the digit */
            CHECK(memcmp(a->x->data, a->x->data + per, sizeof(float) * (size_t)per) != 0);
            if (k != FV_DISTORT_RTS)
                CHECK(memcmp(a->x->data, d->x->data, sizeof(float) * 784) != 0);
        }
        fv_dataset_free(a), fv_dataset_free(b), fv_dataset_free(c);
    }
    fv_free(scratch);
    fv_dataset_free(d);
}

/* R rotates about the centre: the centroid's distance from it stays (within a pixel), while
 * the angle varies across samples. */
TEST(distort_rotation_about_centre)
{
    fv_dataset *d = digits();
    fv_dataset *t = d ? fv_dataset_distort(d, FV_DISTORT_R, 11) : NULL;
    CHECK(t != NULL);
    for (int i = 0; t && i < N; i++) {
        double r0 = centroid_radius(d->x->data + i * 784, 28);
        double r1 = centroid_radius(t->x->data + i * 784, 28);
        CHECK(fabs(r0 - r1) < 1.0);
    }
    fv_dataset_free(t), fv_dataset_free(d);
}

/* RTS: a digit's content stays on the canvas (every sample keeps most of its mass) and its
 * position varies: centroids spread over more than 6 pixels. */
TEST(distort_rts_placement)
{
    fv_dataset *d = digits();
    fv_dataset *t = d ? fv_dataset_distort(d, FV_DISTORT_RTS, 5) : NULL;
    CHECK(t != NULL);
    double lo = 1e9, hi = -1e9;
    for (int i = 0; t && i < N; i++) {
        const float *p = t->x->data + i * 42 * 42;
        double s = 0, sx = 0;
        for (int r = 0; r < 42; r++)
            for (int c = 0; c < 42; c++)
                s += p[r * 42 + c], sx += p[r * 42 + c] * c;
        CHECK(s > 0);
        lo = fmin(lo, sx / s), hi = fmax(hi, sx / s);
    }
    CHECK(hi - lo > 6);
    fv_dataset_free(t), fv_dataset_free(d);
}

TEST(distort_errors)
{
    fv_dataset *d = digits();
    CHECK(fv_dataset_distort(NULL, FV_DISTORT_R, 1) == NULL);
    CHECK_ERR_HAS("distort: the digits must be (N, 1, H, W) images with labels");
    CHECK(d && fv_dataset_distort(d, FV_DISTORT__COUNT, 1) == NULL);
    CHECK_ERR_HAS("distort: kind 4 of 28x28 digits");
    CHECK(d && fv_dataset_distort(d, (fv_distortion)-1, 1) == NULL);
    fv_tensor *x3 = fv_tensor_new(4, (int64_t[]){2, 3, 28, 28});
    fv_tensor *y3 = fv_tensor_new(1, (int64_t[]){2});
    fv_dataset *rgb = fv_dataset_adopt(x3, y3, 10, "rgb");
    CHECK(fv_dataset_distort(rgb, FV_DISTORT_E, 1) == NULL);
    CHECK_ERR_HAS("(N, 1, H, W)");
    CHECK(t_one_line(fv_last_error()));
    float in[4] = {0}, out[4];
    CHECK_STATUS(fv_distort_sample(FV_DISTORT_P, 1, 0, in, 1, 4, out, NULL), FV_ERR_INVALID);
    fv_dataset_free(rgb), fv_dataset_free(d);
}

int main(void)
{
    RUN(distort_shapes_names_bounds);
    RUN(distort_deterministic);
    RUN(distort_rotation_about_centre);
    RUN(distort_rts_placement);
    RUN(distort_errors);
    TEST_MAIN_END();
}
