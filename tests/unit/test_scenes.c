/* test_scenes.c - the MNIST detection scene generator on synthetic digits (blobs with blank
 * margins, drawn from a fixed stream): the same seed gives byte-identical files, any scene can
 * be made alone, every pair of boxes of a scene has IoU below the bound, boxes are tight, every
 * lit pixel lies in a box, and the set written in VOC layout reads back through the VOC reader
 * with the same boxes and pixels; plus the drawing of boxes. */
#include "data/det.h"
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>

#define GOLDEN_BOXES 121
#define GOLDEN_HASH 0x2fba288cbf41511cull

/* n 28x28 "digits": a random rectangle of lit pixels (values in (0, 1]) in a blank margin,
 * labels k % 10. */
static fv_dataset *digits(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28);
    int64_t dy = n;
    fv_tensor *y = fv_tensor_new(1, &dy);
    fv_rng r;
    fv_rng_seed(&r, 7);
    for (int k = 0; k < n; k++) {
        int r0 = 3 + (int)fv_rng_below(&r, 8), c0 = 3 + (int)fv_rng_below(&r, 8);
        int r1 = r0 + 4 + (int)fv_rng_below(&r, 10), c1 = c0 + 4 + (int)fv_rng_below(&r, 10);
        for (int i = r0; i <= r1; i++)
            for (int j = c0; j <= c1; j++)
                x->data[k * 784 + i * 28 + j] = 0.2f + 0.8f * (float)fv_rng_uniform(&r);
        y->data[k] = (float)(k % 10);
    }
    fv_dataset *d = fv_dataset_new(x, y, 10, "digits");
    return d;
}

TEST(determinism)
{
    fv_dataset *d = digits(50);
    float *a = malloc(300 * 300 * sizeof *a), *b = malloc(300 * 300 * sizeof *b);
    fv_det_annotation ia, ib;
    CHECK_STATUS(fv_scene_make(d, 5, a, &ia, .seed = 11), FV_OK);
    CHECK_STATUS(fv_scene_make(d, 5, b, &ib, .seed = 11), FV_OK);
    CHECK(memcmp(a, b, 300 * 300 * sizeof *a) == 0 && ia.nobjects == ib.nobjects &&
          memcmp(ia.objects, ib.objects, (size_t)ia.nobjects * sizeof *ia.objects) == 0);
    fv_det_annotation_clear(&ib);
    /* another seed, another scene (in 5 scenes some differ) */
    int differ = 0;
    for (int i = 0; i < 5; i++) {
        fv_det_annotation ic, id;
        CHECK_STATUS(fv_scene_make(d, i, a, &ic, .seed = 11), FV_OK);
        CHECK_STATUS(fv_scene_make(d, i, b, &id, .seed = 12), FV_OK);
        differ += ic.nobjects != id.nobjects || memcmp(a, b, 300 * 300 * sizeof *a) != 0;
        fv_det_annotation_clear(&ic);
        fv_det_annotation_clear(&id);
    }
    CHECK(differ >= 4);
    /* two writes of a seed: byte-identical files */
    CHECK_STATUS(fv_scenes_write_voc(t_path("s1"), "train", d, 12, .seed = 11), FV_OK);
    CHECK_STATUS(fv_scenes_write_voc(t_path("s2"), "train", d, 12, .seed = 11), FV_OK);
    const char *files[] = {"Annotations/train_000005.xml", "JPEGImages/train_000005.png",
                           "Annotations/train_000011.xml", "ImageSets/Main/train.txt",
                           "class_names.txt"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char p1[256], p2[256];
        snprintf(p1, sizeof p1, "s1/%s", files[f]);
        snprintf(p2, sizeof p2, "s2/%s", files[f]);
        long n1 = -1, n2 = -2;
        unsigned char *c1 = t_slurp(t_path(p1), &n1), *c2 = t_slurp(t_path(p2), &n2);
        CHECK(c1 && c2 && n1 == n2 && memcmp(c1, c2, (size_t)n1) == 0);
        free(c1);
        free(c2);
    }
    /* scene 5 of the set is scene 5 made alone */
    fv_detset *s = fv_detset_load_voc(t_path("s1"), .split = "train");
    CHECK(s && s->nimages == 12 && s->images[5].nobjects == ia.nobjects);
    for (int k = 0; s && k < ia.nobjects && k < s->images[5].nobjects; k++)
        CHECK(memcmp(&s->images[5].objects[k].box, &ia.objects[k].box, sizeof(fv_box)) == 0);
    fv_detset_free(s);
    fv_det_annotation_clear(&ia);
    free(a);
    free(b);
    fv_dataset_free(d);
}

/* The rules on 300 scenes: digit counts 0..19, IoU < 0.25 for every pair, sides within
 * 15..100, tight boxes (every edge row and column of a box has a lit pixel), every lit pixel in
 * some box, classes the digits' labels. */
TEST(rules)
{
    fv_dataset *d = digits(40);
    float *p = malloc(300 * 300 * sizeof *p);
    int most = 0, total = 0;
    for (int i = 0; i < 300; i++) {
        fv_det_annotation m;
        CHECK_STATUS(fv_scene_make(d, i, p, &m, .seed = 3), FV_OK);
        CHECK(m.nobjects >= 0 && m.nobjects <= 19 && m.width == 300 && m.height == 300);
        most = m.nobjects > most ? m.nobjects : most, total += m.nobjects;
        for (int a = 0; a < m.nobjects; a++) {
            fv_box b = m.objects[a].box;
            for (int c = 0; c < a; c++)
                CHECK(fv_box_iou(b, m.objects[c].box) < 0.25);
            CHECK(b.x1 >= 0 && b.y1 >= 0 && b.x2 <= 300 && b.y2 <= 300 && b.x2 - b.x1 <= 100 &&
                  b.y2 - b.y1 <= 100 && b.x2 > b.x1 && b.y2 > b.y1);
            CHECK(m.objects[a].cls >= 0 && m.objects[a].cls < 10);
            int x1 = (int)b.x1, y1 = (int)b.y1, x2 = (int)b.x2 - 1, y2 = (int)b.y2 - 1;
            int top = 0, bottom = 0, left = 0, right = 0;
            for (int x = x1; x <= x2; x++)
                top |= p[y1 * 300 + x] > 0, bottom |= p[y2 * 300 + x] > 0;
            for (int y = y1; y <= y2; y++)
                left |= p[y * 300 + x1] > 0, right |= p[y * 300 + x2] > 0;
            CHECK(top && bottom && left && right);
        }
        for (int y = 0; y < 300; y++)
            for (int x = 0; x < 300; x++) {
                if (!(p[y * 300 + x] > 0))
                    continue;
                int in = 0;
                for (int a = 0; a < m.nobjects && !in; a++) {
                    fv_box b = m.objects[a].box;
                    in = x >= b.x1 && x < b.x2 && y >= b.y1 && y < b.y2;
                }
                if (!in) {
                    CHECK(in);
                    y = 300;
                    break;
                }
            }
        fv_det_annotation_clear(&m);
    }
    CHECK(most >= 15);                     /* up to 19 digits happen */
    CHECK(total > 300 * 7 && total < 300 * 10.5); /* about 9.5 a scene on average */
    /* one digit alone on the canvas: its box is the lit pixels' extent exactly */
    fv_det_annotation m;
    for (int i = 0; i < 100; i++) {
        CHECK_STATUS(fv_scene_make(d, i, p, &m, .seed = 3, .max_digits = 1), FV_OK);
        if (m.nobjects == 1)
            break;
        fv_det_annotation_clear(&m);
    }
    CHECK(m.nobjects == 1);
    int r0 = 300, r1 = -1, c0 = 300, c1 = -1;
    for (int y = 0; y < 300; y++)
        for (int x = 0; x < 300; x++)
            if (p[y * 300 + x] > 0)
                r0 = y < r0 ? y : r0, r1 = y, c0 = x < c0 ? x : c0, c1 = x > c1 ? x : c1;
    CHECK(m.nobjects == 1 && m.objects[0].box.x1 == c0 && m.objects[0].box.y1 == r0 &&
          m.objects[0].box.x2 == c1 + 1 && m.objects[0].box.y2 == r1 + 1);
    fv_det_annotation_clear(&m);
    free(p);
    fv_dataset_free(d);
}

/* The set written in VOC layout and read back: boxes, classes and pixels (PNG: 1/255 steps). */
TEST(voc_round_trip)
{
    fv_dataset *d = digits(30);
    CHECK_STATUS(fv_scenes_write_voc(t_path("rt"), "test", d, 6, .seed = 5, .size = 120,
                                     .min_side = 10, .max_side = 40, .max_digits = 6),
                 FV_OK);
    fv_detset *s = fv_detset_load_voc(t_path("rt"), .split = "test");
    CHECK(s && s->nimages == 6 && s->num_classes == 10 && strcmp(s->class_names[3], "3") == 0);
    float *p = malloc(120 * 120 * sizeof *p);
    for (int i = 0; s && i < 6; i++) {
        fv_det_annotation m;
        CHECK_STATUS(fv_scene_make(d, i, p, &m, .seed = 5, .size = 120, .min_side = 10,
                                   .max_side = 40, .max_digits = 6),
                     FV_OK);
        fv_det_annotation *r = &s->images[i];
        CHECK(r->nobjects == m.nobjects && r->width == 120 && r->height == 120);
        for (int k = 0; k < m.nobjects && k < r->nobjects; k++)
            CHECK(memcmp(&r->objects[k].box, &m.objects[k].box, sizeof(fv_box)) == 0 &&
                  r->objects[k].cls == m.objects[k].cls && !r->objects[k].difficult);
        fv_tensor *t = fv_detset_image(s, i);
        CHECK(t && t->dims[1] == 1 && t->dims[2] == 120);
        long w = 0;
        if (t)
            CHECK(t_max_violation(t->data, p, 120 * 120, 0.5 / 255 + 1e-6, 0, &w) <= 1);
        fv_tensor_free(t);
        fv_det_annotation_clear(&m);
    }
    free(p);
    fv_detset_free(s);
    fv_dataset_free(d);
}

/* The boxes of scenes 0..9 of seed 11, hashed (FNV-1a over the corners and classes): fixed
 * numbers, so a machine (or compiler) that drew another set fails here. */
TEST(golden)
{
    fv_dataset *d = digits(50);
    float *p = malloc(300 * 300 * sizeof *p);
    uint64_t h = 1469598103934665603ull;
    int n = 0;
    for (int i = 0; i < 10; i++) {
        fv_det_annotation m;
        CHECK_STATUS(fv_scene_make(d, i, p, &m, .seed = 11), FV_OK);
        for (int k = 0; k < m.nobjects; k++) {
            int v[5] = {(int)m.objects[k].box.x1, (int)m.objects[k].box.y1,
                        (int)m.objects[k].box.x2, (int)m.objects[k].box.y2, m.objects[k].cls};
            for (int j = 0; j < 5; j++)
                h = (h ^ (uint64_t)v[j]) * 1099511628211ull;
        }
        n += m.nobjects;
        fv_det_annotation_clear(&m);
    }
    printf("golden: %d boxes, hash %016llx\n", n, (unsigned long long)h);
    CHECK(n == GOLDEN_BOXES && h == GOLDEN_HASH);
    free(p);
    fv_dataset_free(d);
}

TEST(bad_args)
{
    fv_dataset *d = digits(3);
    float p[50 * 50];
    fv_det_annotation m;
    CHECK_STATUS(fv_scene_make(d, 0, p, &m, .size = 50), FV_ERR_INVALID); /* sides up to 100 */
    CHECK_ERR_HAS("scenes: digit sides 15..100 on a 50 canvas");
    CHECK_STATUS(fv_scene_make(d, 0, p, &m, .size = 50, .min_side = 20, .max_side = 10),
                 FV_ERR_INVALID);
    CHECK_STATUS(fv_scene_make(d, 0, p, &m, .size = 50, .max_side = 40, .max_iou = 2),
                 FV_ERR_INVALID);
    CHECK_STATUS(fv_scenes_write_voc(t_path("bad"), "a/b", d, 1), FV_ERR_INVALID);
    d->y->data[0] = 12; /* a label beyond the classes */
    CHECK_STATUS(fv_scenes_write_voc(t_path("bad"), "x", d, 3, .max_digits = 19), FV_ERR_INVALID);
    CHECK_ERR_HAS("label 12 is not a class of 10");
    fv_dataset_free(d);
}

TEST(draw)
{
    fv_dataset *d = digits(10);
    fv_tensor *img = fv_tensor_new4(1, 1, 100, 100);
    fv_det_annotation m;
    CHECK_STATUS(fv_scene_make(d, 1, img->data, &m, .size = 100, .max_side = 50), FV_OK);
    const char *names[] = {"zero", "one", "two", "three", "four",
                           "five", "six", "seven", "eight", "nine"};
    float scores[19];
    for (int k = 0; k < 19; k++)
        scores[k] = 0.5f;
    CHECK_STATUS(fv_draw_boxes(t_path("b.png"), img, m.objects, m.nobjects, names, scores, 2),
                 FV_OK);
    fv_tensor *back = fv_png_load(t_path("b.png"));
    CHECK(back && back->dims[1] == 3 && back->dims[2] == 200 && back->dims[3] == 200);
    int colored = 0; /* the boxes are in colour on a gray image */
    for (int64_t i = 0; back && i < 200 * 200; i++)
        colored += fabsf(back->data[i] - back->data[i + 2 * 200 * 200]) > 0.2f;
    CHECK(m.nobjects == 0 || colored > 50);
    fv_tensor_free(back);
    const fv_tensor *imgs[2] = {img, img};
    fv_det_annotation anns[2] = {m, m};
    CHECK_STATUS(fv_draw_boxes_grid(t_path("g.svg"), imgs, anns, 2, names, 0, 1), FV_OK);
    struct stat st;
    CHECK(stat(t_path("g.svg"), &st) == 0 && st.st_size > 100);
    CHECK_STATUS(fv_draw_boxes(t_path("c.png"), d->x, m.objects, m.nobjects, NULL, NULL, 1),
                 FV_ERR_SHAPE); /* 10 images: not one */
    fv_det_annotation_clear(&m);
    fv_tensor_free(img);
    fv_dataset_free(d);
}

int main(void)
{
    static const t_test tests[] = {T_TEST(determinism), T_TEST(rules), T_TEST(voc_round_trip),
                                   T_TEST(golden), T_TEST(bad_args), T_TEST(draw)};
    return t_main_scratch("/tmp/fovea_scenes_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
