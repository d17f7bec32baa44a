/* test_segdata.c - segmentation data: the VOC palette, indexed-PNG masks read from Debian's
 * labelme-examples (its VOC SegmentationClassPNG files, when installed: label counts fixed from
 * PIL) and written and read back, the malformed cases (a non-indexed PNG, not a PNG, a truncated
 * file, a mask whose size differs from its image, a label outside the classes other than the
 * ignore label, values the writer cannot store), the mask overlay, and the M2NIST-style scene
 * generator on synthetic digits (deterministic, any scene alone, at most 3 non-overlapping digits, the mask
 * consistent with the pixels). */
#include "core/internal.h"
#include "data/data.h"
#include "test.h"
#include "testfs.h"

#include <math.h>

#define LABELME "/usr/share/doc/labelme-examples/examples/semantic_segmentation/data_dataset_voc"

TEST(voc_palette)
{
    static const unsigned char want[][4] = {{0, 0, 0, 0},     {1, 128, 0, 0},
                                            {2, 0, 128, 0},   {3, 128, 128, 0},
                                            {15, 192, 128, 128}, {20, 0, 64, 128},
                                            {255, 224, 224, 192}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned char rgb[3];
        fv_voc_color(want[i][0], rgb);
        CHECK(rgb[0] == want[i][1] && rgb[1] == want[i][2] && rgb[2] == want[i][3]);
    }
}

static int64_t count_of(const fv_tensor *m, float v)
{
    int64_t c = 0;
    for (int64_t i = 0; i < fv_tensor_numel(m); i++)
        c += m->data[i] == v;
    return c;
}

TEST(labelme_masks)
{
    FILE *f = fopen(LABELME "/SegmentationClassPNG/2011_000003.png", "rb");
    if (!f) {
        printf("labelme-examples not installed: skipped\n");
        return;
    }
    fclose(f);
    fv_tensor *m = fv_mask_load(LABELME "/SegmentationClassPNG/2011_000003.png");
    CHECK(m && m->ndim == 2 && m->dims[0] == 338 && m->dims[1] == 500);
    if (!m)
        return;
    /* PIL: np.unique(np.array(Image.open(...)), return_counts=True) */
    CHECK(count_of(m, 0) == 125767 && count_of(m, 5) == 873 && count_of(m, 15) == 32900 &&
          count_of(m, 255) == 9460);
    fv_tensor *img = fv_image_load(LABELME "/JPEGImages/2011_000003.jpg");
    CHECK(img && img->dims[2] == 338 && img->dims[3] == 500);
    CHECK_STATUS(fv_mask_check("2011_000003", m, 338, 500, 21, 1, 255), FV_OK);
    /* the ignore label is a label only when asked for */
    CHECK(fv_mask_check("2011_000003", m, 338, 500, 21, 0, 0) == FV_ERR_INVALID);
    CHECK_ERR_HAS("2011_000003: label 255 at pixel");
    /* person (15) is not a class of a 10-class set */
    CHECK(fv_mask_check("2011_000003", m, 338, 500, 10, 1, 255) == FV_ERR_INVALID);
    CHECK_ERR_HAS("is not a class in [0, 10) nor the ignore label");
    /* a mask whose size differs from its image (2011_000006 is 500x375) */
    fv_tensor *other = fv_image_load(LABELME "/JPEGImages/2011_000006.jpg");
    CHECK(other && other->dims[2] == 375);
    if (other)
        CHECK(fv_mask_check("2011_000003.png", m, other->dims[2], other->dims[3], 21, 1, 255) ==
              FV_ERR_SHAPE);
    CHECK_ERR_HAS("2011_000003.png: the mask is 500x338 pixels, its image 500x375");
    /* round trip through the writer */
    CHECK_STATUS(fv_mask_save(t_path("rt.png"), m), FV_OK);
    fv_tensor *back = fv_mask_load(t_path("rt.png"));
    CHECK(back && back->dims[0] == 338 && back->dims[1] == 500 &&
          memcmp(back->data, m->data, sizeof(float) * 338 * 500) == 0);
    fv_tensor_free(back), fv_tensor_free(other), fv_tensor_free(img), fv_tensor_free(m);
    /* every fixture reads and fits its photo */
    const char *names[3] = {"2011_000003", "2011_000006", "2011_000025"};
    for (int i = 0; i < 3; i++) {
        char mp[256], ip[256];
        snprintf(mp, sizeof mp, LABELME "/SegmentationClassPNG/%s.png", names[i]);
        snprintf(ip, sizeof ip, LABELME "/JPEGImages/%s.jpg", names[i]);
        fv_tensor *a = fv_mask_load(mp), *b = fv_image_load(ip);
        CHECK(a && b);
        if (a && b)
            CHECK_STATUS(fv_mask_check(names[i], a, b->dims[2], b->dims[3], 21, 1, 255), FV_OK);
        fv_tensor_free(a), fv_tensor_free(b);
    }
}

TEST(round_trip_small)
{
    fv_tensor *m = fv_tensor_new(3, (int64_t[]){1, 3, 4});
    for (int i = 0; i < 12; i++)
        m->data[i] = (float)((i * 37) % 256);
    m->data[5] = 255;
    CHECK_STATUS(fv_mask_save(t_path("small.png"), m), FV_OK);
    fv_tensor *b = fv_mask_load(t_path("small.png"));
    CHECK(b && b->ndim == 2 && b->dims[0] == 3 && b->dims[1] == 4 &&
          memcmp(b->data, m->data, sizeof(float) * 12) == 0);
    fv_tensor_free(b), fv_tensor_free(m);
}

TEST(malformed)
{
    /* PNGs that are not indexed: grey and RGB */
    CHECK(!fv_mask_load(t_src_path("data/mnist_7.png")));
    CHECK_ERR_HAS("a mask must be an indexed PNG (colour type palette), this one is grey");
    CHECK(!fv_mask_load(t_src_path("fuzz/corpus/fuzz_png/rgb16_2x3.png")));
    CHECK_ERR_HAS("this one is RGB");
    CHECK(!fv_mask_load(t_src_path("data/fashion_bag.jpg")));
    CHECK_ERR_HAS("not a PNG file (bad signature)");
    CHECK(!fv_mask_load(t_path("missing.png")));
    /* truncated: half of a valid mask */
    fv_tensor *m = fv_tensor_new(2, (int64_t[]){40, 50});
    for (int i = 0; i < 2000; i++)
        m->data[i] = (float)((i * 7919) % 21);
    CHECK_STATUS(fv_mask_save(t_path("full.png"), m), FV_OK);
    unsigned char *buf;
    size_t len;
    CHECK_STATUS(fv_read_file(t_path("full.png"), 1 << 20, &buf, &len), FV_OK);
    CHECK(!fv_mask_decode("half.png", buf, len / 2));
    CHECK_ERR_HAS("half.png: corrupt PNG");
    fv_free(buf);
    /* what the writer cannot store */
    m->data[3] = 256;
    CHECK(fv_mask_save(t_path("bad.png"), m) == FV_ERR_INVALID);
    CHECK_ERR_HAS("mask value 256 at pixel 3 is not an index 0..255");
    m->data[3] = 2.5f;
    CHECK(fv_mask_save(t_path("bad.png"), m) == FV_ERR_INVALID);
    fv_tensor_free(m);
    m = fv_tensor_new(3, (int64_t[]){2, 3, 4});
    CHECK(fv_mask_save(t_path("bad.png"), m) == FV_ERR_SHAPE);
    CHECK_ERR_HAS("a mask must be (H, W) or (1, H, W), got (2, 3, 4)");
    fv_tensor_free(m);
}

/* The overlay: background pixels keep the image (grey to RGB), others blend with the VOC
 * colour; shapes that differ are errors. */
TEST(overlay)
{
    fv_tensor *img = fv_tensor_new4(1, 1, 2, 3), *mask = fv_tensor_new(2, (int64_t[]){2, 3});
    for (int i = 0; i < 6; i++)
        img->data[i] = 0.5f, mask->data[i] = i < 3 ? 0.0f : 15.0f;
    fv_tensor *o = fv_mask_overlay(img, mask, 0, 0.25f);
    CHECK(o && o->ndim == 4 && o->dims[1] == 3 && o->dims[2] == 2 && o->dims[3] == 3);
    if (o) {
        CHECK(o->data[0] == 0.5f && o->data[6 + 1] == 0.5f && o->data[12 + 2] == 0.5f);
        /* class 15 (192, 128, 128): 0.75 * 0.5 + 0.25 * c / 255 */
        CHECK_NEAR(o->data[3], 0.375 + 0.25 * 192 / 255.0, 1e-6, 0);
        CHECK_NEAR(o->data[6 + 4], 0.375 + 0.25 * 128 / 255.0, 1e-6, 0);
    }
    fv_tensor_free(o);
    fv_tensor *small = fv_tensor_new(2, (int64_t[]){2, 2});
    CHECK(!fv_mask_overlay(img, small, 0, 0.5f));
    CHECK_ERR_HAS("mask overlay: the mask is 2x2 pixels, its image 3x2");
    fv_tensor_free(small), fv_tensor_free(mask), fv_tensor_free(img);
}

/* n 28x28 "digits": a lit rectangle (values in (0, 1]) in a blank margin, labels k % 10. */
static fv_dataset *digits(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28), *y = fv_tensor_new(1, (int64_t[]){n});
    fv_rng r;
    fv_rng_seed(&r, 7);
    for (int k = 0; k < n; k++) {
        int r0 = 3 + (int)fv_rng_below(&r, 8), c0 = 3 + (int)fv_rng_below(&r, 8);
        for (int i = r0; i <= r0 + 10; i++)
            for (int j = c0; j <= c0 + 8; j++)
                x->data[k * 784 + i * 28 + j] = 0.1f + 0.9f * (float)fv_rng_uniform(&r);
        y->data[k] = (float)(k % 10);
    }
    return fv_dataset_new(x, y, 10, "digits");
}

TEST(m2nist_scenes)
{
    fv_dataset *d = digits(40);
    enum { HW = 64 * 84 };
    float *a = malloc(HW * sizeof *a), *ma = malloc(HW * sizeof *ma);
    float *b = malloc(HW * sizeof *b), *mb = malloc(HW * sizeof *mb);
    fv_dataset *s = fv_m2nist_dataset(d, 0, 30, .seed = 5);
    CHECK(s && s->num_classes == 11 && s->x->dims[2] == 64 && s->x->dims[3] == 84 &&
          s->y->ndim == 3 && strcmp(s->class_names[10], "background") == 0);
    int seen[11] = {0};
    for (int i = 0; s && i < 30; i++) {
        /* scene i alone equals the set's scene i, and again the same */
        CHECK_STATUS(fv_m2nist_make(d, i, a, ma, .seed = 5), FV_OK);
        CHECK_STATUS(fv_m2nist_make(d, i, b, mb, .seed = 5), FV_OK);
        CHECK(memcmp(a, s->x->data + (int64_t)i * HW, sizeof(float) * HW) == 0 &&
              memcmp(ma, s->y->data + (int64_t)i * HW, sizeof(float) * HW) == 0 &&
              memcmp(a, b, sizeof(float) * HW) == 0 && memcmp(ma, mb, sizeof(float) * HW) == 0);
        int digits_here[10] = {0}, kinds = 0, bad = 0;
        for (int p = 0; p < HW; p++) {
            int lab = (int)ma[p];
            bad += lab < 0 || lab > 10 || (lab < 10) != (a[p] > 0.5f);
            seen[lab]++;
            if (lab < 10 && !digits_here[lab]++)
                kinds++;
        }
        CHECK(bad == 0 && kinds >= 1 && kinds <= 3);
    }
    for (int k = 0; k < 11; k++) /* 30 scenes of 1-3 digits show every class */
        CHECK(seen[k] > 0);
    /* another seed, other scenes */
    CHECK_STATUS(fv_m2nist_make(d, 0, b, mb, .seed = 6), FV_OK);
    CHECK(s && memcmp(b, s->x->data, sizeof(float) * HW) != 0);
    /* errors */
    CHECK(fv_m2nist_make(d, 0, a, ma, .height = 20) == FV_ERR_INVALID);
    CHECK_ERR_HAS("m2nist: 28x28 digits on a 84x20 canvas");
    CHECK(!fv_m2nist_dataset(d, 0, 0));
    d->y->data[3] = 12;
    fv_dataset *bad = fv_m2nist_dataset(d, 0, 30, .seed = 5);
    CHECK(!bad);
    CHECK_ERR_HAS("m2nist: digit 3's label 12 is not a digit 0..9");
    fv_dataset_free(s), fv_dataset_free(d);
    free(a), free(b), free(ma), free(mb);
}

T_MAIN_SCRATCH("/tmp/fovea_segdata_XXXXXX", T_TEST(voc_palette), T_TEST(labelme_masks),
               T_TEST(round_trip_small), T_TEST(malformed), T_TEST(overlay),
               T_TEST(m2nist_scenes))
