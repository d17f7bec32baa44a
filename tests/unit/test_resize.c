/* test_resize.c - data of any image size for a model's input: fv_dataset_resize (bilinear as
 * PyTorch's align_corners=False, gray <-> RGB, bounded by the data limit) and
 * fv_model_resize_inputs (fit, evaluate and predict convert each batch as it is gathered, to the
 * same numbers as a resized copy, so training on either gives the same weights bit for bit). */
#include "bilinear.h"
#include "core/internal.h"
#include "test.h"

/* n images of (c, h, w), labels i % k, values from a seeded stream. */
static fv_dataset *images(int64_t n, int c, int h, int w, int k, uint64_t seed)
{
    fv_dataset *d = fv_calloc(1, sizeof *d, "dataset");
    d->x = fv_tensor_new4(n, c, h, w);
    d->y = fv_tensor_new(1, (int64_t[]){n});
    d->num_classes = k;
    snprintf(d->name, sizeof d->name, "toy");
    fv_rng r;
    fv_rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        d->y->data[i] = (float)(i % k);
        for (int64_t j = 0; j < (int64_t)c * h * w; j++) /* a class-dependent bright band */
            d->x->data[i * c * h * w + j] =
                (float)fv_rng_uniform(&r) * 0.5f + ((j % w) * k / w == i % k ? 0.5f : 0.0f);
    }
    return d;
}

/* A 2x2 gradient resized to 4x4: PyTorch's weights per axis (1, 0), (3/4, 1/4), (1/4, 3/4),
 * (0, 1); then to RGB (the plane repeated) and back to gray (luma of equal planes: the same). */
TEST(dataset_resize_bilinear_and_channels)
{
    fv_dataset *d = images(1, 1, 2, 2, 1, 1);
    const float px[4] = {0, 1, 0.2f, 0.6f};
    memcpy(d->x->data, px, sizeof px);
    CHECK_STATUS(fv_dataset_resize(d, 3, 4, 4), FV_OK);
    CHECK(d->x->ndim == 4 && d->x->dims[1] == 3 && d->x->dims[2] == 4 && d->x->dims[3] == 4);
    float want[16];
    t_bilinear_2x2_to_4x4(px, want);
    for (int k = 0; k < 3; k++)
        CHECK_ARRAY_NEAR(d->x->data + 16 * k, want, 16, 1e-6, 0);
    CHECK_STATUS(fv_dataset_resize(d, 1, 4, 4), FV_OK); /* 0.299 + 0.587 + 0.114 = 1 */
    CHECK(d->x->dims[1] == 1);
    CHECK_ARRAY_NEAR(d->x->data, want, 16, 1e-6, 1e-6);
    fv_dataset_free(d);
    /* RGB -> gray is ITU-R 601 luma */
    d = images(1, 3, 1, 1, 1, 1);
    d->x->data[0] = 1, d->x->data[1] = 0.5f, d->x->data[2] = 0;
    CHECK_STATUS(fv_dataset_resize(d, 1, 1, 1), FV_OK);
    CHECK_NEAR(d->x->data[0], 0.299 + 0.5 * 0.587, 1e-6, 0);
    fv_dataset_free(d);
}

TEST(dataset_resize_errors_and_limit)
{
    fv_dataset *d = images(100, 1, 28, 28, 10, 2);
    fv_set_data_limit((size_t)1 << 20); /* 1 MiB: 100 x 3 x 64 x 64 floats are 4.7 MiB */
    CHECK_STATUS(fv_dataset_resize(d, 3, 64, 64), FV_ERR_NOMEM);
    CHECK_ERR_HAS("data set 'toy': 100 images resized to 3x64x64: 4.7 MiB");
    CHECK_ERR_HAS("limit of 1.0 MiB");
    CHECK(d->x->dims[1] == 1 && d->x->dims[2] == 28); /* unchanged */
    fv_set_data_limit(0);
    CHECK_STATUS(fv_dataset_resize(d, 2, 28, 28), FV_ERR_SHAPE); /* gray -> 2 channels */
    CHECK_ERR_HAS("images of 1x28x28 cannot be converted to 2x28x28");
    CHECK_STATUS(fv_dataset_resize(d, 1, 0, 28), FV_ERR_SHAPE);
    fv_tensor_free(d->x);
    d->x = fv_tensor_new(2, (int64_t[]){100, 784});
    CHECK_STATUS(fv_dataset_resize(d, 1, 32, 32), FV_ERR_SHAPE);
    CHECK_ERR_HAS("resizing needs images (N, C, H, W)");
    fv_dataset_free(d);
}

/* A small convolutional network for (c, 12, 12) images, k classes. */
static fv_model *net(int c, int k)
{
    fv_model *m = fv_model_new("net");
    fv_input(m, .ndim = 3, .dims = {c, 12, 12});
    fv_conv2d(m, FV_LAST, .filters = 4, .kernel = 3, .activation = FV_ACT_RELU);
    fv_maxpool2d(m, FV_LAST, .size = 2);
    fv_flatten(m, FV_LAST);
    fv_dense(m, FV_LAST, .units = k);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(.lr = 1e-2f),
                         .seed = 5) != FV_OK) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static void param_slab(const fv_model *m, float **data, int64_t *n)
{
    fv_param_info p;
    *n = 0, *data = NULL;
    for (int i = 0; i < fv_model_num_params(m); i++)
        if (fv_model_param(m, i, &p) == FV_OK && p.data)
            *data = i == 0 ? p.data : *data, *n += p.numel;
}

/* Gray 7x9 data for an RGB 12x12 network: refused without resizing; with it, fit, evaluate and
 * predict equal those of a copy resized beforehand, bit for bit. */
TEST(model_resizes_each_batch_like_a_resized_copy)
{
    fv_dataset *lazy = images(40, 1, 7, 9, 3, 3), *eager = images(40, 1, 7, 9, 3, 3);
    fv_dataset *val = images(10, 1, 7, 9, 3, 4);
    fv_model *a = net(3, 3), *b = net(3, 3);
    CHECK(a && b);
    if (!a || !b)
        goto done;
    CHECK_STATUS(fv_model_fit(a, lazy), FV_ERR_SHAPE);
    CHECK_ERR_HAS("(40, 1, 7, 9) does not fit input");
    CHECK_STATUS(fv_model_resize_inputs(a, 1), FV_OK);
    CHECK_STATUS(fv_dataset_resize(eager, 3, 12, 12), FV_OK);
    CHECK_STATUS(fv_model_fit(a, lazy, .epochs = 2, .batch_size = 8, .validation = val, .seed = 1),
                 FV_OK);
    CHECK_STATUS(fv_dataset_resize(val, 3, 12, 12), FV_OK);
    CHECK_STATUS(fv_model_fit(b, eager, .epochs = 2, .batch_size = 8, .validation = val,
                              .seed = 1), FV_OK);
    float *pa, *pb;
    int64_t na, nb;
    param_slab(a, &pa, &na), param_slab(b, &pb, &nb);
    CHECK(na == nb && na > 0 && memcmp(pa, pb, sizeof(float) * (size_t)na) == 0);
    double la, lb, acca, accb;
    CHECK_STATUS(fv_model_evaluate(a, lazy, 0, &la, &acca), FV_OK);
    CHECK_STATUS(fv_model_evaluate(b, eager, 0, &lb, &accb), FV_OK);
    CHECK(la == lb && acca == accb);
    fv_tensor *oa = NULL, *ob = NULL;
    CHECK_STATUS(fv_model_predict(a, lazy->x, &oa), FV_OK);
    CHECK_STATUS(fv_model_predict(b, eager->x, &ob), FV_OK);
    CHECK(oa && ob && memcmp(oa->data, ob->data, sizeof(float) * 40 * 3) == 0);
    fv_tensor_free(oa), fv_tensor_free(ob);
    /* 2-channel data do not convert to RGB */
    fv_dataset *two = images(4, 2, 7, 9, 3, 5);
    CHECK_STATUS(fv_model_evaluate(a, two, 0, &la, NULL), FV_ERR_SHAPE);
    CHECK_ERR_HAS("evaluate: images of 2x7x9 cannot be converted to 3x12x12");
    fv_dataset_free(two);
done:
    fv_model_free(a), fv_model_free(b);
    fv_dataset_free(lazy), fv_dataset_free(eager), fv_dataset_free(val);
}

TEST(resize_inputs_needs_an_image_input)
{
    fv_model *m = fv_model_new("mlp");
    fv_input(m, .ndim = 1, .dims = {16});
    fv_dense(m, FV_LAST, .units = 2);
    CHECK_STATUS(fv_model_resize_inputs(m, 1), FV_ERR_SHAPE);
    CHECK_ERR_HAS("resizing inputs needs an image input (C, H, W)");
    CHECK_STATUS(fv_model_resize_inputs(m, 0), FV_OK);
    fv_model_free(m);
}

int main(void)
{
    RUN(dataset_resize_bilinear_and_channels);
    RUN(dataset_resize_errors_and_limit);
    RUN(model_resizes_each_batch_like_a_resized_copy);
    RUN(resize_inputs_needs_an_image_input);
    TEST_MAIN_END();
}
