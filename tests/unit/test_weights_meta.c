/* test_weights_meta.c - self-describing weights files: __metadata__ written with the weights and
 * the checkpoints (architecture text, class names, input shape, normalization, data set) and
 * read back; a model rebuilt from the weights file alone predicts as the original; hostile
 * metadata (not a string map, bad JSON, wrong types, too large, class names that do not match
 * the outputs) is a one-line error naming the file; fv_model_set_meta's checks. */
#include "core/internal.h"
#include "io/io.h"
#include "nn/checkpoint.h"
#include "test.h"
#include "testfs.h"

static const char *const digits[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static fv_model *lenet(void)
{
    fv_model *m = fv_model_load_file(t_src_path("../models/lenet5.fv"));
    if (!m || fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(),
                               .seed = 3) != FV_OK)
        fprintf(stderr, "lenet: %s\n", fv_last_error());
    return m;
}

/* One line naming the file: the form every error here must have. */
static void check_one_line(const char *file)
{
    CHECK(strncmp(fv_last_error(), file, strlen(file)) == 0);
    CHECK(!strchr(fv_last_error(), '\n'));
}

TEST(metadata_round_trip)
{
    fv_model *m = lenet();
    CHECK_STATUS(fv_model_set_meta(m, .class_names = digits, .num_classes = 10, .mean = 0.5f,
                                   .std = 0.25f, .dataset = "mnist"),
                 FV_OK);
    const char *w = t_path("meta.safetensors");
    CHECK_STATUS(fv_model_save_weights(m, w), FV_OK);
    fv_weights_info *info = fv_weights_info_read(w);
    CHECK(info != NULL);
    if (!info) {
        fprintf(stderr, "%s\n", fv_last_error());
        fv_model_free(m);
        return;
    }
    char *text = fv_model_to_text(m);
    CHECK(text && info->architecture && strcmp(text, info->architecture) == 0);
    free(text);
    CHECK(info->num_classes == 10 && strcmp(info->class_names[7], "7") == 0);
    CHECK(info->input_ndim == 3 && info->input_dims[0] == 1 && info->input_dims[1] == 28 &&
          info->input_dims[2] == 28);
    CHECK(info->has_normalization && info->mean == 0.5f && info->std == 0.25f);
    CHECK(info->dataset && strcmp(info->dataset, "mnist") == 0);
    fv_st_file *f = fv_st_open(w);
    CHECK(f && fv_st_meta(f, "fovea_version") && strcmp(fv_st_meta(f, "fovea_version"),
                                                        FV_VERSION) == 0);
    CHECK(f && fv_st_count(f) == 10); /* the tensors are as before */
    fv_st_close(f);
    fv_weights_info_free(info);
    /* the model from the weights file alone predicts as the original */
    fv_model *r = fv_model_from_weights(w, .loss = FV_LOSS_SOFTMAX_CE);
    CHECK(r != NULL);
    fv_tensor *x = fv_tensor_new4(2, 1, 28, 28), *a = NULL, *b = NULL;
    for (int64_t i = 0; i < fv_tensor_numel(x); i++)
        x->data[i] = (float)((i * 31) % 17) / 8.0f - 1.0f;
    CHECK_STATUS(fv_model_predict(m, x, &a), FV_OK);
    if (r) {
        CHECK_STATUS(fv_model_predict(r, x, &b), FV_OK);
        CHECK(b && memcmp(a->data, b->data, sizeof(float) * 20) == 0);
        CHECK(strcmp(fv_model_name(r), "lenet5") == 0 && r->meta_classes == 10 &&
              r->norm_std == 0.25f && strcmp(r->class_names[3], "3") == 0);
    }
    fv_tensor_free(x), fv_tensor_free(a), fv_tensor_free(b);
    fv_model_free(r);
    fv_model_free(m);
}

TEST(checkpoints_carry_the_metadata)
{
    fv_model *m = lenet();
    fv_model_set_meta(m, .class_names = digits, .num_classes = 10, .dataset = "mnist");
    fv_epoch_metrics hist[1] = {{0}};
    fv_train_state t = {.history = hist};
    const char *c = t_path("ckpt.safetensors");
    CHECK_STATUS(fv_checkpoint_write(m, c, &t), FV_OK);
    fv_weights_info *info = fv_weights_info_read(c);
    CHECK(info && info->architecture && info->num_classes == 10 && !info->has_normalization);
    fv_weights_info_free(info);
    fv_model *r = fv_model_from_weights(c); /* a checkpoint is a weights file too */
    CHECK(r != NULL);
    fv_model_free(r);
    fv_model_free(m);
}

TEST(weights_without_metadata)
{
    const char *w = t_path("bare.safetensors");
    float v[2] = {1, 2};
    fv_tensor t = {.ndim = 1, .dims = {2}, .strides = {1}, .data = v};
    const fv_tensor *ts[1] = {&t};
    const char *names[1] = {"x.weight"};
    CHECK_STATUS(fv_st_save(w, 1, names, ts), FV_OK);
    fv_weights_info *info = fv_weights_info_read(w);
    CHECK(info && !info->architecture && !info->class_names && !info->input_ndim &&
          !info->has_normalization && !info->dataset);
    fv_weights_info_free(info);
    CHECK(fv_model_from_weights(w) == NULL);
    CHECK_ERR_HAS("no architecture in its metadata");
    check_one_line(w);
}

/* A weights file of one tensor with metadata meta (key, value, ..., NULL). */
static const char *with_meta(const char *file, const char *const *meta)
{
    const char *w = t_path(file);
    float v[2] = {1, 2};
    fv_tensor t = {.ndim = 1, .dims = {2}, .strides = {1}, .data = v};
    const fv_tensor *ts[1] = {&t};
    const char *names[1] = {"x.weight"};
    CHECK_STATUS(fv_st_save_meta(w, 1, names, ts, meta), FV_OK);
    return w;
}

/* The info of a file with one metadata entry key = value is an error mentioning needle. */
static void hostile(const char *key, const char *value, const char *needle)
{
    const char *meta[] = {key, value, NULL};
    const char *w = with_meta("hostile.safetensors", meta);
    fv_weights_info *info = fv_weights_info_read(w);
    CHECK(info == NULL);
    if (info || !strstr(fv_last_error(), needle))
        fprintf(stderr, "%s=%.40s: got \"%s\"\n", key, value, info ? "" : fv_last_error());
    CHECK_ERR_HAS(needle);
    check_one_line(w);
    fv_weights_info_free(info);
}

TEST(hostile_metadata)
{
    hostile("class_names", "[\"a\", \"b\"", "'class_names' is not valid JSON");
    hostile("class_names", "[\"a\"] trailing", "'class_names' is not valid JSON");
    hostile("class_names", "{\"a\": 1}", "'class_names' must be a JSON array");
    hostile("class_names", "[]", "'class_names' must be a JSON array of 1 to 65536");
    hostile("class_names", "[\"a\", 3]", "class names of 1 to 255 bytes");
    hostile("class_names", "[\"a\", \"\"]", "class names of 1 to 255 bytes");
    hostile("class_names", "[\"a\\u0007\"]", "class names of 1 to 255 bytes");
    hostile("input_shape", "[1, -28, 28]", "'input_shape' must be a JSON array of 1 to 4");
    hostile("input_shape", "[1, 2, 3, 4, 5]", "'input_shape' must be a JSON array of 1 to 4");
    hostile("input_shape", "\"1,28,28\"", "'input_shape' must be");
    hostile("normalization", "{\"mean\": 0.5, \"std\": 0}", "'normalization' must be");
    hostile("normalization", "{\"mean\": \"x\", \"std\": 1}", "'normalization' must be");
    hostile("dataset", "a\nb", "'dataset' must be 1 to 255 bytes");
    /* huge: over the limits, refused before any parsing */
    size_t big = (1u << 20) + 10;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[0] = '[', huge[1] = '"', huge[big - 2] = '"', huge[big - 1] = ']', huge[big] = 0;
    hostile("class_names", huge, "'class_names' is 1048586 bytes (at most 1048576)");
    hostile("architecture", huge, "'architecture' is 1048586 bytes (at most 1048576)");
    huge[5000] = 0;
    hostile("dataset", huge, "'dataset' is 5000 bytes (at most 4096)");
    free(huge);
    /* more class names than allowed, each short */
    size_t n = 70000, at = 0;
    char *many = malloc(n * 4 + 3);
    many[at++] = '[';
    for (size_t i = 0; i < n; i++)
        at += (size_t)sprintf(many + at, "%s\"a\"", i ? "," : "");
    many[at++] = ']', many[at] = 0;
    hostile("class_names", many, "a JSON array of 1 to 65536 strings");
    free(many);
}

TEST(not_a_string_map)
{
    /* a metadata value that is a number: the safetensors reader refuses the header */
    const char *json = "{\"__metadata__\":{\"class_names\":3},\"x\":{\"dtype\":\"F32\","
                       "\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char buf[256] = {0};
    size_t n = strlen(json);
    buf[0] = (unsigned char)n;
    memcpy(buf + 8, json, n);
    const char *w = t_path("numbers.safetensors");
    t_write(w, buf, 8 + n + 4);
    CHECK(fv_weights_info_read(w) == NULL);
    CHECK_ERR_HAS("__metadata__ must map strings to strings");
    check_one_line(w);
    CHECK(fv_model_from_weights(w) == NULL);
    CHECK_ERR_HAS("__metadata__ must map strings to strings");
}

TEST(class_names_that_do_not_fit)
{
    fv_model *m = lenet();
    const char *three[3] = {"a", "b", "c"};
    CHECK(fv_model_set_meta(m, .class_names = three, .num_classes = 3) == FV_ERR_INVALID);
    CHECK_ERR_HAS("model 'lenet5': 3 class names for 10 outputs");
    const char *bad[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "\x01"};
    CHECK(fv_model_set_meta(m, .class_names = bad, .num_classes = 10) == FV_ERR_INVALID);
    CHECK_ERR_HAS("class name '\\x01' must be 1 to 255 bytes");
    CHECK(fv_model_set_meta(m, .mean = 0.5f, .std = -1) == FV_ERR_INVALID);
    /* a file whose class names do not match its architecture's outputs */
    char *arch = fv_model_to_text(m);
    const char *meta[] = {"architecture", arch, "class_names", "[\"a\",\"b\",\"c\"]", NULL};
    const char *w = t_path("three.safetensors");
    const char *names[10];
    fv_tensor views[10];
    const fv_tensor *ts[10];
    for (int i = 0; i < m->nparams; i++) {
        const fv_param *p = &m->params[i];
        views[i] = (fv_tensor){.ndim = p->ndim, .data = m->data_slab + p->offset};
        for (int d = p->ndim - 1, s = 1; d >= 0; s *= (int)p->dims[d], d--)
            views[i].dims[d] = p->dims[d], views[i].strides[d] = s;
        names[i] = p->name, ts[i] = &views[i];
    }
    CHECK_STATUS(fv_st_save_meta(w, m->nparams, names, ts, meta), FV_OK);
    CHECK(fv_model_from_weights(w) == NULL);
    CHECK_ERR_HAS("3 class names for a model with 10 outputs");
    check_one_line(w);
    /* and one whose architecture is not a model */
    const char *junk[] = {"architecture", "input shape=1,28,28\nconv2d filters=-3\n", NULL};
    with_meta("junk.safetensors", junk);
    CHECK(fv_model_from_weights(t_path("junk.safetensors")) == NULL);
    CHECK(!strchr(fv_last_error(), '\n'));
    free(arch);
    fv_model_free(m);
}

T_MAIN_SCRATCH("/tmp/fovea_wmeta_XXXXXX", T_TEST(metadata_round_trip),
               T_TEST(checkpoints_carry_the_metadata), T_TEST(weights_without_metadata),
               T_TEST(hostile_metadata), T_TEST(not_a_string_map),
               T_TEST(class_names_that_do_not_fit))
