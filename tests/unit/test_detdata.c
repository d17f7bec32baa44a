/* test_detdata.c - the detection readers: Pascal VOC (libxml2) and COCO (cJSON) on the committed
 * fixtures (tests/data/det) and on Debian's labelme-examples (when installed), and bad input:
 * malformed XML / JSON, DOCTYPEs and entities, boxes outside the image or of negative size, a
 * class not in the list, an image missing for an annotation; each a one-line error naming the
 * file and the thing. */
#include "data/det.h"
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>

#define FIX FV_SOURCE_DIR "/tests/data/det"
#define LABELME "/usr/share/doc/labelme-examples/examples"

static int box_is(fv_box b, float x1, float y1, float x2, float y2)
{
    return fabsf(b.x1 - x1) < 1e-4f && fabsf(b.y1 - y1) < 1e-4f && fabsf(b.x2 - x2) < 1e-4f &&
           fabsf(b.y2 - y2) < 1e-4f;
}

/* The last error is one line starting with name and containing needle. */
static int err_is(const char *name, const char *needle)
{
    const char *e = fv_last_error();
    int ok = strncmp(e, name, strlen(name)) == 0 && !strchr(e, '\n') && strstr(e, needle);
    if (!ok)
        fprintf(stderr, "  error: '%s' (expected '%s...%s')\n", e, name, needle);
    return ok;
}

TEST(voc_folder)
{
    fv_detset *d = fv_detset_load_voc(FIX "/voc");
    CHECK(d && d->nimages == 2);
    if (!d)
        return;
    CHECK(d->num_classes == 2 && strcmp(d->class_names[0], "cat") == 0 &&
          strcmp(d->class_names[1], "dog") == 0); /* labelme's _background_ dropped */
    fv_det_annotation *m = &d->images[0];
    CHECK(strstr(m->file, "JPEGImages/img1.png") && m->width == 28 && m->height == 28 &&
          m->depth == 1 && m->nobjects == 2);
    CHECK(m->nobjects == 2 && box_is(m->objects[0].box, 1, 2, 10, 12) &&
          m->objects[0].cls == 0 && !m->objects[0].difficult &&
          m->objects[0].area == 90.0f); /* 1-based xmin 2 -> x1 1 */
    CHECK(m->nobjects == 2 && box_is(m->objects[1].box, 0, 0, 28, 28) &&
          m->objects[1].cls == 1 && m->objects[1].difficult);
    CHECK(d->images[1].nobjects == 0 && d->images[1].depth == 0 && d->images[1].id == 1);
    fv_det_truth tr[2];
    CHECK(fv_detset_truths(d, 0, NULL, 0) == 2 && fv_detset_truths(d, 2, NULL, 0) == -1);
    CHECK(fv_detset_truths(d, 0, tr, 2) == 2 && tr[1].difficult && tr[1].cls == 1 &&
          box_is(tr[1].box, 0, 0, 28, 28) && tr[0].area == 90.0 && !tr[0].crowd);
    CHECK(fv_detset_count(d) == 2);
    fv_tensor *t = fv_detset_image(d, 0);
    CHECK(t && t->dims[1] == 1 && t->dims[2] == 28 && t->dims[3] == 28);
    fv_tensor_free(t);
    CHECK(!fv_detset_image(d, 2));
    fv_detset_free(d);
}

TEST(voc_split_and_file)
{
    fv_detset *d = fv_detset_load_voc(FIX "/voc", .split = "val");
    CHECK(d && d->nimages == 1 && strstr(d->images[0].file, "img2.png"));
    fv_detset_free(d);
    d = fv_detset_load_voc(FIX "/voc", .limit = 1);
    CHECK(d && d->nimages == 1 && d->images[0].nobjects == 2);
    fv_detset_free(d);
    /* one file: the image in ../JPEGImages, the classes from ../class_names.txt */
    d = fv_detset_load_voc(FIX "/voc/Annotations/img1.xml");
    CHECK(d && d->nimages == 1 && d->num_classes == 2 && d->images[0].nobjects == 2 &&
          strstr(d->images[0].file, "img1.png"));
    fv_detset_free(d);
    /* a class list of the caller's: "cat" is not in it */
    const char *only[] = {"dog"};
    CHECK(!fv_detset_load_voc(FIX "/voc", .classes = only, .num_classes = 1));
    CHECK(err_is(FIX "/voc/Annotations/img1.xml",
                 "object 1: class 'cat' is not in the class list"));
    CHECK(!fv_detset_load_voc(FIX "/voc", .split = "nosuch"));
    CHECK(err_is(FIX "/voc/ImageSets/Main/nosuch.txt", "No such file"));
}

TEST(coco_fixture)
{
    fv_detset *d = fv_detset_load_coco(FIX "/coco/instances_val.json");
    CHECK(d && d->nimages == 2 && d->num_classes == 2);
    if (!d)
        return;
    /* categories in id order: 3 cat -> 0, 9 dog -> 1 */
    CHECK(strcmp(d->class_names[0], "cat") == 0 && strcmp(d->class_names[1], "dog") == 0);
    fv_det_annotation *b = &d->images[0], *a = &d->images[1];
    CHECK(b->id == 42 && strstr(b->file, "images/b.png") && b->nobjects == 1);
    CHECK(b->nobjects == 1 && box_is(b->objects[0].box, 0, 0, 28, 28) && b->objects[0].iscrowd &&
          b->objects[0].cls == 0 && b->objects[0].area == 784.0f); /* area from the box */
    CHECK(a->id == 7 && a->nobjects == 2);
    CHECK(a->nobjects == 2 && box_is(a->objects[0].box, 1.5f, 2, 11.5f, 6) &&
          a->objects[0].cls == 1 && a->objects[0].area == 30.5f && !a->objects[0].iscrowd);
    CHECK(a->nobjects == 2 && box_is(a->objects[1].box, 20, 20, 28, 20)); /* zero height */
    fv_tensor *t = fv_detset_image(d, 1);
    CHECK(t != NULL);
    fv_tensor_free(t);
    fv_detset_free(d);
    d = fv_detset_load_coco(FIX "/coco/instances_val.json", .limit = 1);
    CHECK(d && d->nimages == 1 && fv_detset_count(d) == 1);
    fv_detset_free(d);
    const char *cls[] = {"dog", "bird", "cat"};
    d = fv_detset_load_coco(FIX "/coco/instances_val.json", .classes = cls, .num_classes = 3);
    CHECK(d && d->num_classes == 3 && d->images[0].objects[0].cls == 2 &&
          d->images[1].objects[0].cls == 0);
    fv_detset_free(d);
    CHECK(!fv_detset_load_coco(FIX "/coco/instances_val.json", .classes = cls, .num_classes = 1));
    CHECK(err_is(FIX "/coco/instances_val.json", "category 'cat' (id 3) is not in the class list"));
}

/* labelme's examples (Debian labelme-examples): the same three VOC photos as VOC XML and COCO. */
TEST(labelme_examples)
{
    struct stat st;
    if (stat(LABELME "/bbox_detection/data_dataset_voc/Annotations", &st) != 0) {
        printf("labelme-examples not installed: skipped\n");
        return;
    }
    fv_detset *d = fv_detset_load_voc(LABELME "/bbox_detection/data_dataset_voc");
    CHECK(d && d->nimages == 3 && d->num_classes == 20);
    if (d) {
        CHECK(strcmp(d->class_names[14], "person") == 0);
        fv_det_annotation *m = &d->images[0]; /* 2011_000003: two people */
        CHECK(strstr(m->file, "2011_000003.jpg") && m->width == 500 && m->height == 338);
        CHECK(m->nobjects == 2 && m->objects[0].cls == 14 &&
              box_is(m->objects[0].box, 190, 106.369003690f, 313, 329.369003690f));
        CHECK(m->nobjects == 2 && box_is(m->objects[1].box, 364, 82, 500, 333));
        CHECK(fv_detset_count(d) >= 3);
        fv_tensor *t = fv_detset_image(d, 0);
        CHECK(t && t->dims[1] == 3 && t->dims[2] == 338 && t->dims[3] == 500);
        fv_tensor_free(t);
    }
    fv_detset_free(d);
    d = fv_detset_load_coco(LABELME "/instance_segmentation/data_dataset_coco/annotations.json");
    CHECK(d && d->nimages == 3 && d->num_classes == 20);
    if (d) {
        fv_det_annotation *m = &d->images[0];
        CHECK(m->id == 0 && strstr(m->file, "JPEGImages/2011_000003.jpg") && m->nobjects >= 1);
        CHECK(m->nobjects >= 1 && m->objects[0].cls == 14 &&
              box_is(m->objects[0].box, 191, 107, 314, 328) && m->objects[0].area == 15689.0f);
        fv_tensor *t = fv_detset_image(d, 2);
        CHECK(t != NULL);
        fv_tensor_free(t);
    }
    fv_detset_free(d);
}

/* An annotation from text through fv_voc_parse with classes cat, dog; its status. */
static fv_status voc(const char *xml)
{
    char *names[] = {"cat", "dog"}, *fn = NULL;
    fv_det_annotation img;
    fv_status s = fv_voc_parse("t.xml", (const unsigned char *)xml, strlen(xml), names, 2, &img,
                               &fn);
    fv_det_annotation_clear(&img);
    free(fn);
    return s;
}

#define HEAD "<annotation><filename>a.png</filename><size><width>20</width><height>10</height>" \
             "</size>"
#define OBJ(name, x1, y1, x2, y2)                                                         \
    "<object><name>" name "</name><bndbox><xmin>" x1 "</xmin><ymin>" y1 "</ymin><xmax>" x2 \
    "</xmax><ymax>" y2 "</ymax></bndbox></object>"

TEST(voc_malformed)
{
    CHECK(voc(HEAD OBJ("cat", "1", "1", "20", "10") "</annotation>") == FV_OK);
    CHECK(voc(HEAD OBJ("cat", "0", "0", "20", "10") "</annotation>") == FV_OK); /* labelme's 0 */
    CHECK(voc(HEAD "<object><name>cat</name>") != FV_OK);
    CHECK(err_is("t.xml", "malformed XML (line 1)"));
    CHECK(voc("not xml at all") != FV_OK && err_is("t.xml", "malformed XML"));
    CHECK(voc("") != FV_OK && err_is("t.xml", "malformed XML"));
    CHECK(voc(HEAD OBJ("cat", "5", "1", "3", "4") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 1: box (5, 1, 3, 4) has a negative size"));
    CHECK(voc(HEAD OBJ("cat", "1", "1", "21", "4") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 1: box (1, 1, 21, 4) is outside the 20x10 image"));
    CHECK(voc(HEAD OBJ("cat", "-1", "1", "2", "4") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "is outside"));
    CHECK(voc(HEAD OBJ("dog", "1", "1", "2", "2") OBJ("bird", "1", "1", "2", "2")
              "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 2: class 'bird' is not in the class list"));
    CHECK(voc(HEAD OBJ("cat", "1", "x", "2", "2") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 1: <ymin> is not a number"));
    CHECK(voc(HEAD OBJ("cat", "1", "nan", "2", "2") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "<ymin> is not a number"));
    CHECK(voc(HEAD "<object><name>cat</name></object></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 1 has no <bndbox>"));
    CHECK(voc(HEAD "<object><bndbox/></object></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 1 has no <name>"));
    CHECK(voc("<annotation><filename>a.png</filename></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "no <size>"));
    CHECK(voc("<annotation><filename>a.png</filename><size><width>0</width><height>3</height>"
              "</size></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "is not an image size"));
    CHECK(voc("<annotation><size><width>2</width><height>3</height></size></annotation>") !=
          FV_OK);
    CHECK(err_is("t.xml", "no <filename>"));
    CHECK(voc("<annotation><filename>../../etc/x</filename></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "no <filename>"));
    CHECK(voc("<other/>") != FV_OK && err_is("t.xml", "the root element is not <annotation>"));
    CHECK(voc(HEAD OBJ("cat", "1", "1", "2", "2")
              "<object><name>cat</name><difficult>2</difficult></object></annotation>") != FV_OK);
    CHECK(err_is("t.xml", "object 2: <difficult> is not 0 or 1"));
    /* entities: a DOCTYPE is refused (no expansion, no external file, no network) */
    CHECK(voc("<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x \"cat\">]>" HEAD
              OBJ("&x;", "1", "1", "2", "2") "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "a DOCTYPE is not accepted"));
    CHECK(voc("<?xml version=\"1.0\"?><!DOCTYPE annotation SYSTEM \"/etc/passwd\">" HEAD
              "</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "a DOCTYPE is not accepted"));
    CHECK(voc("<!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">"
              "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;\"><!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;\">]>"
              "<annotation>&d;&d;&d;&d;</annotation>") != FV_OK);
    CHECK(err_is("t.xml", "")); /* libxml2 may stop it first (an entity loop) */
    /* the predefined entities are text, as XML says */
    char *names[] = {"a&b"}, *fn = NULL;
    const char *x = HEAD OBJ("a&amp;b", "1", "1", "2", "2") "</annotation>";
    fv_det_annotation img;
    CHECK(fv_voc_parse("t.xml", (const unsigned char *)x, strlen(x), names, 1, &img, &fn) ==
          FV_OK);
    CHECK(img.nobjects == 1 && fn && strcmp(fn, "a.png") == 0);
    fv_det_annotation_clear(&img);
    free(fn);
}

/* A COCO file from text through fv_coco_parse (no image lookups); whether it was read. */
static int coco(const char *json)
{
    fv_det_args a = {0};
    fv_detset *d = fv_coco_parse("c.json", json, strlen(json), &a, NULL);
    fv_detset_free(d);
    return d != NULL;
}

#define IMGS "\"images\":[{\"id\":1,\"file_name\":\"a.jpg\",\"width\":20,\"height\":10}],"
#define CATS "\"categories\":[{\"id\":5,\"name\":\"cat\"}]"
#define ANN(bbox) "\"annotations\":[{\"image_id\":1,\"category_id\":5,\"bbox\":" bbox "}],"

TEST(coco_malformed)
{
    CHECK(coco("{" IMGS ANN("[0,0,20,10]") CATS "}"));
    CHECK(!coco("{" IMGS ANN("[0,0,20,10]") CATS) && err_is("c.json", "malformed JSON"));
    CHECK(!coco("[]") && err_is("c.json", "not a JSON object"));
    CHECK(!coco("{" IMGS ANN("[0,0,-1,10]") CATS "}"));
    CHECK(err_is("c.json", "annotation 0 (image 1): box [0, 0, -1, 10] has a negative size"));
    CHECK(!coco("{" IMGS ANN("[5,0,16,10]") CATS "}"));
    CHECK(err_is("c.json", "annotation 0 (image 1): object 1: box (5, 0, 21, 10) is outside the "
                 "20x10 image"));
    CHECK(!coco("{" IMGS ANN("[0,0,1]") CATS "}") && err_is("c.json", "is not [x, y, w, h]"));
    CHECK(!coco("{" IMGS ANN("[0,0,1,\"2\"]") CATS "}") && err_is("c.json", "[x, y, w, h]"));
    CHECK(!coco("{" IMGS
                "\"annotations\":[{\"image_id\":1,\"category_id\":6,\"bbox\":[0,0,1,1]}]," CATS
                "}"));
    CHECK(err_is("c.json", "annotation 0: category_id 6 is not in the class list"));
    CHECK(!coco("{" IMGS
                "\"annotations\":[{\"image_id\":2,\"category_id\":5,\"bbox\":[0,0,1,1]}]," CATS
                "}"));
    CHECK(err_is("c.json", "annotation 0: image_id 2 is not among the images"));
    CHECK(!coco("{\"images\":[{\"id\":1,\"file_name\":\"a\",\"width\":2,\"height\":2},{\"id\":1,"
                "\"file_name\":\"b\",\"width\":2,\"height\":2}],\"annotations\":[]," CATS "}"));
    CHECK(err_is("c.json", "image id 1 appears twice"));
    CHECK(!coco("{\"images\":[{\"id\":1.5,\"file_name\":\"a\",\"width\":2,\"height\":2}],"
                "\"annotations\":[]," CATS "}"));
    CHECK(err_is("c.json", "image 0: \"id\" is not a whole number"));
    CHECK(!coco("{" IMGS ANN("[0,0,1,1]") "\"x\":0}"));
    CHECK(err_is("c.json", "no \"categories\" array"));
    CHECK(!coco("{" IMGS CATS "}") && err_is("c.json", "no \"annotations\" array"));
    CHECK(!coco("{\"images\":[{\"id\":1,\"width\":2,\"height\":2}],\"annotations\":[]," CATS
                "}"));
    CHECK(err_is("c.json", "image 0 has no \"file_name\""));
    CHECK(!coco("{" IMGS
                "\"annotations\":[{\"image_id\":1,\"category_id\":5,\"bbox\":[0,0,1,1],"
                "\"iscrowd\":3}]," CATS "}"));
    CHECK(err_is("c.json", "\"iscrowd\" is not 0 or 1"));
}

/* Files that are not there: an image missing for an annotation. */
TEST(missing_images)
{
    mkdir(t_path("voc"), 0777);
    mkdir(t_path("voc/Annotations"), 0777);
    const char *x = HEAD OBJ("cat", "1", "1", "2", "2") "</annotation>";
    t_write_at("voc/Annotations/a.xml", x, strlen(x));
    t_write_at("voc/class_names.txt", "cat\n", 4);
    CHECK(!fv_detset_load_voc(t_path("voc")));
    CHECK(err_is(t_path("voc/Annotations/a.xml"), "image 'a.png' of the annotation not found"));
    const char *j = "{" IMGS ANN("[0,0,1,1]") CATS "}";
    t_write_at("c.json", j, strlen(j));
    CHECK(!fv_detset_load_coco(t_path("c.json")));
    CHECK(err_is(t_path("c.json"), "image 0: 'a.jpg' not found"));
    CHECK(!fv_detset_load_voc(t_path("nothing")) && err_is(t_path("nothing"), "No such file"));
    mkdir(t_path("empty"), 0777);
    CHECK(!fv_detset_load_voc(t_path("empty")) && err_is(t_path("empty/Annotations"), "No such"));
}

int main(void)
{
    static const t_test tests[] = {T_TEST(voc_folder),     T_TEST(voc_split_and_file),
                                   T_TEST(coco_fixture),   T_TEST(labelme_examples),
                                   T_TEST(voc_malformed),  T_TEST(coco_malformed),
                                   T_TEST(missing_images)};
    return t_main_scratch("/tmp/fovea_det_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
