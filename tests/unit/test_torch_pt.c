/* test_torch_pt.c - PyTorch checkpoints (torch.save's zip format) as weights (tests/golden/
 * gen_torch_pt.py): a tiny CNN's state dict in float32, float16, bfloat16 and float64, nested in a
 * checkpoint dict with optimizer state, with DataParallel's 'module.' prefix, and stored as views
 * (non-contiguous, shared storage at offsets, stride 0), and models/lenet5.fv's parameters, each
 * loaded by name and giving PyTorch's outputs within 1e-4 relative; the partial loader and the
 * header reader take a .pt too; hostile files (a forbidden global, short storages, views past
 * their storage, huge lengths, unknown storage classes, integer tensors, truncated archives, the
 * legacy format, big-endian) are one-line errors, and mutated files never crash the reader.
 * With --resnet DIR: torchvision's ResNet-18 saved by torch.save loads into fv_zoo("resnet18")
 * and gives its logits (tests/cli/test_cli_torch_pt.sh). */
#include "core/internal.h"
#include "io/io.h"
#include "io/pickle.h"
#include "io/torch_pt.h"
#include "test.h"
#include "testfs.h"
#include "zoo_formula.h"

static const char *const TINY = "model tiny\n"
                                "input shape=3,8,8\n"
                                "conv2d filters=4 kernel_size=3 padding=1 name=conv1\n"
                                "batchnorm epsilon=0.00001 name=bn1\n"
                                "relu\n"
                                "maxpool2d pool_size=2\n"
                                "flatten\n"
                                "dense units=5 name=fc\n";

static const char *pt(const char *name)
{
    static char rel[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(rel[k], sizeof rel[k], "data/torch_pt/%s", name);
    return t_src_path(rel[k]);
}

static fv_model *compiled(fv_model *m)
{
    if (m && fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_sgd()) != FV_OK) {
        fv_model_free(m);
        return NULL;
    }
    return m;
}

static fv_model *tiny(void) { return compiled(fv_model_parse(TINY, "tiny")); }

/* The golden tensor `name` (float32). */
static fv_tensor *golden(const char *name)
{
    fv_st_file *f = fv_st_open(t_src_path("data/golden/torch_pt.safetensors"));
    fv_tensor *t = f ? fv_st_get(f, name) : NULL;
    fv_st_close(f);
    return t;
}

/* m's output on golden `x` against golden `y`: the relative error (max |diff| / max |y|). */
static double rel_error(fv_model *m, const char *x, const char *y)
{
    fv_tensor *in = golden(x), *want = golden(y), *got = NULL;
    double e = 1;
    if (in && want && fv_model_predict(m, in, &got) == FV_OK)
        e = zf_rel_error(got, want);
    fv_tensor_free(in), fv_tensor_free(want), fv_tensor_free(got);
    return e;
}

/* Python's own pickles of plain values (protocols 2 and 4: frames, memoize, stack globals). */
static void check_plain(const char *file)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    fv_pk *pk = NULL;
    fv_pk_obj *root = NULL;
    CHECK_STATUS(fv_read_file(pt(file), 1 << 20, &buf, &len), FV_OK);
    CHECK_STATUS(fv_pk_run(file, buf, len, &pk, &root), FV_OK);
    const fv_pk_obj *a = fv_pk_dict_get(root, "a"), *b = fv_pk_dict_get(root, "b");
    const fv_pk_obj *c = fv_pk_dict_get(root, "c"), *d = fv_pk_dict_get(root, "d");
    const fv_pk_obj *e = fv_pk_dict_get(root, "e");
    CHECK(a && a->kind == FV_PK_LIST && a->n == 9);
    if (a && a->n == 9) {
        fv_pk_obj **it = a->items;
        CHECK(it[0]->kind == FV_PK_FLOAT && it[0]->f == 1.5);
        CHECK(it[1]->kind == FV_PK_BOOL && it[1]->i == 1 && it[2]->kind == FV_PK_NONE);
        CHECK(it[3]->kind == FV_PK_INT && it[3]->i == ((int64_t)1 << 40));
        CHECK(it[4]->i == -5 && it[6]->i == 300 && it[7]->i == 70000);
        CHECK(it[8]->i == -((int64_t)1 << 40));
        CHECK(it[5]->kind == FV_PK_TUPLE && it[5]->n == 3 && it[5]->items[2]->i == 3);
    }
    CHECK(b && b->kind == FV_PK_STR && b->len == 3 && strcmp(b->s, "x\xc3\xa9") == 0);
    CHECK(c && c->kind == FV_PK_DICT && c->n == 4 && fv_pk_dict_get(c, "l")->n == 2);
    CHECK(d && d->kind == FV_PK_LIST && d->n == 0 && e && e->kind == FV_PK_DICT && e->n == 0);
    fv_pk_free(pk);
    fv_free(buf);
}

/* A pickle from a C string (len bytes) is refused with an error containing needle. */
static void pk_refused(const char *bytes, size_t len, const char *needle)
{
    fv_pk *pk = NULL;
    fv_pk_obj *root = NULL;
    fv_status st = fv_pk_run("p.pkl", (const unsigned char *)bytes, len, &pk, &root);
    if (st == FV_OK || !strstr(fv_last_error(), needle) || !t_one_line(fv_last_error())) {
        fprintf(stderr, "pickle: status %d, error \"%s\", wanted \"%s\"\n", st, fv_last_error(),
                needle);
        t_cur_failed = 1;
    }
    fv_pk_free(pk);
}
#define PK_REFUSED(lit, needle) pk_refused(lit, sizeof lit - 1, needle)

TEST(pickle_interpreter)
{
    check_plain("plain_p2.pkl");
    check_plain("plain_p4.pkl");
    PK_REFUSED("\x80\x02N0.", "opcode 0x30 at byte 3 is not allowed");
    PK_REFUSED("\x80\x02" "cbuiltins\neval\n", "GLOBAL 'builtins.eval' at byte 2");
    PK_REFUSED("\x80\x04\x8c\x02os\x8c\x06system\x93.", "GLOBAL 'os.system' at byte 14");
    PK_REFUSED("\x80\x02N)R.", "byte 4: REDUCE of something not an allowed global");
    PK_REFUSED("\x80\x02Nr\xff\xff\xff\x7f.", "memo index too large");
    PK_REFUSED("\x80\x02h\x05.", "memo index not set");
    PK_REFUSED("\x80\x02t.", "no MARK to pop to");
    PK_REFUSED("\x80\x02NN.", "STOP with other than one value");
    PK_REFUSED("\x80\x02N", "ends at byte 3 without STOP");
    PK_REFUSED("\x80\x05N.", "protocol");
    PK_REFUSED("\x80\x02J\x01\x02", "needs 4 bytes, 2 are left");
    PK_REFUSED("\x80\x02\x8a\x09", "LONG1 of more than 8 bytes");
    PK_REFUSED("\x80\x02(N(s.", "SETITEM(S) without a dict");
    char deep[2100];
    memset(deep, '(', sizeof deep);
    pk_refused(deep, sizeof deep, "MARKs nested too deep");
    /* a dict that holds itself is a value, not a hang */
    fv_pk *pk = NULL;
    fv_pk_obj *root = NULL;
    CHECK_STATUS(fv_pk_run("p", (const unsigned char *)"}q\x00h\x00h\x00s.", 9, &pk, &root),
                 FV_OK);
    CHECK(root && root->kind == FV_PK_DICT && root->n == 2 && root->items[1] == root);
    fv_pk_free(pk);
}

/* Loads file (strictly) into the tiny CNN; its output's relative error against golden y. */
static double tiny_error(const char *file, const char *y)
{
    fv_model *m = tiny();
    CHECK(m != NULL);
    if (!m)
        return 1;
    fv_status st = fv_model_load_weights(m, pt(file));
    CHECK_STATUS(st, FV_OK);
    double e = st == FV_OK ? rel_error(m, "tiny_x", y) : 1;
    if (e > 1e-4)
        fprintf(stderr, "%s: output differs from PyTorch's by %g (relative)\n", file, e);
    fv_model_free(m);
    return e;
}

TEST(dtypes_give_pytorch_outputs)
{
    CHECK(tiny_error("tiny_f32.pt", "tiny_f32") <= 1e-4);
    CHECK(tiny_error("tiny_f16.pt", "tiny_f16") <= 1e-4);
    CHECK(tiny_error("tiny_bf16.pt", "tiny_bf16") <= 1e-4);
    CHECK(tiny_error("tiny_f64.pt", "tiny_f64") <= 1e-4);
    /* the golden of float16 is not float32's: the values really are rounded */
    fv_tensor *a = golden("tiny_f32"), *b = golden("tiny_f16");
    CHECK(a && b && zf_rel_error(a, b) > 1e-5);
    fv_tensor_free(a), fv_tensor_free(b);
}

TEST(nested_prefixed_and_views)
{
    CHECK(tiny_error("tiny_nested.pt", "tiny_f32") <= 1e-4);
    CHECK(tiny_error("tiny_dp.pt", "tiny_f32") <= 1e-4);
    CHECK(tiny_error("tiny_views.pt", "tiny_views") <= 1e-4);
}

TEST(lenet5_from_its_fv_file)
{
    fv_model *m = compiled(fv_model_load_file(FV_SOURCE_DIR "/models/lenet5.fv"));
    CHECK(m != NULL);
    if (!m)
        return;
    CHECK_STATUS(fv_model_load_weights(m, pt("lenet5.pt")), FV_OK);
    double e = rel_error(m, "lenet5_x", "lenet5_y");
    CHECK(e <= 1e-4);
    fv_model_free(m);
}

TEST(what_the_reader_keeps)
{
    /* the nested checkpoint: the model's 8 tensors (num_batches_tracked and the optimizer's
     * state left out), converted to F32 */
    fv_st_file *f = fv_pt_open(pt("tiny_nested.pt"));
    CHECK(f != NULL);
    CHECK(fv_st_count(f) == 8);
    CHECK(fv_st_find(f, "bn1.num_batches_tracked") < 0);
    int i = fv_st_find(f, "fc.weight");
    int64_t dims[FV_MAX_DIMS];
    CHECK(i >= 0 && fv_st_shape(f, i, dims) == 2 && dims[0] == 5 && dims[1] == 64);
    CHECK(i >= 0 && fv_st_check_dtype(f, i) == FV_OK);
    fv_st_close(f);
    /* 'module.' dropped */
    f = fv_pt_open(pt("tiny_dp.pt"));
    CHECK(f && fv_st_find(f, "conv1.weight") >= 0 && fv_st_find(f, "module.conv1.weight") < 0);
    fv_st_close(f);
    /* a stride-0 view: every element is the one stored */
    f = fv_pt_open(pt("tiny_views.pt"));
    fv_tensor *w = f ? fv_st_get(f, "bn1.weight") : NULL;
    CHECK(w && w->dims[0] == 4);
    for (int k = 0; w && k < 4; k++)
        CHECK(w->data[k] == 1.25f);
    fv_tensor_free(w);
    fv_st_close(f);
}

TEST(partial_load_and_header)
{
    fv_model *m = tiny();
    fv_load_report r;
    CHECK_STATUS(fv_model_load_weights_partial(m, pt("tiny_nested.pt"), .report = &r), FV_OK);
    CHECK(r.loaded == 8 && r.fresh == 0 && r.unused == 0);
    /* an integer tensor where a parameter is: the dtype is named */
    CHECK_STATUS(fv_model_load_weights_partial(m, pt("int_param.pt")), FV_ERR_FORMAT);
    CHECK_ERR_HAS("fc.bias' has dtype I64");
    fv_model_free(m);
    /* the header reader takes a .pt (no metadata); a model needs its architecture */
    fv_weights_info *info = fv_weights_info_read(pt("tiny_f32.pt"));
    CHECK(info != NULL);
    fv_weights_info_free(info);
    CHECK(fv_model_from_weights(pt("tiny_f32.pt")) == NULL);
    CHECK(t_one_line(fv_last_error()));
}

/* Loading file into the tiny CNN fails with a one-line error containing needle, and leaves the
 * weights as they were. */
static void refused(const char *file, const char *needle)
{
    fv_model *m = tiny();
    fv_tensor *before = NULL, *after = NULL;
    CHECK(m && fv_layer_weights(m, "fc", &before) == FV_OK);
    fv_status st = m ? fv_model_load_weights(m, pt(file)) : FV_OK;
    if (st == FV_OK || !strstr(fv_last_error(), needle) || !t_one_line(fv_last_error())) {
        fprintf(stderr, "%s: status %d, error \"%s\", wanted \"%s\"\n", file, st, fv_last_error(),
                needle);
        t_cur_failed = 1;
    }
    CHECK(m && fv_layer_weights(m, "fc", &after) == FV_OK);
    CHECK(before && after && memcmp(before->data, after->data, 64 * 5 * sizeof(float)) == 0);
    fv_tensor_free(before), fv_tensor_free(after);
    fv_model_free(m);
}

TEST(hostile_files_are_one_line_errors)
{
    refused("bad_global.pt", "pickle GLOBAL 'os.system' at byte 2 is not allowed");
    refused("short_storage.pt", "storage 'data/0' holds 16 bytes; the checkpoint says 10 "
                                "elements of FloatStorage");
    refused("view_oob.pt", "tensor 'fc.bias' (offset 2) reaches element 5 of storage '0', "
                           "which holds 4");
    refused("huge_len.pt", "claims 4294967280 bytes, 3 are left");
    refused("bad_dtype.pt", "GLOBAL 'torch.ComplexFloatStorage'");
    refused("truncated.pt", "not a readable zip archive");
    refused("legacy.pt", "legacy torch.save format: re-save with torch.save(..., "
                         "_use_new_zipfile_serialization=True)");
    refused("big_endian.pt", "big-endian");
    refused("int_param.pt", "missing tensor 'conv1.weight'");
}

/* The kind of file is told by its content, not its name: a .pt named .safetensors loads, and a
 * safetensors file whose header length begins with the bytes of a pickle (0x80 0x02) is not
 * mistaken for the legacy format. */
/* fv_weights_file: a .pt opened once serves its metadata and the weights; the copy is removed
 * after opening, so a second read of the file would fail. */
TEST(weights_file_opened_once)
{
    t_copy_in(pt("lenet5.pt"), "once.pt");
    fv_weights_file *f = fv_weights_file_open(t_path("once.pt"));
    CHECK(f != NULL);
    CHECK(remove(t_path("once.pt")) == 0);
    fv_weights_info *info = fv_weights_file_info(f);
    CHECK(info && !info->architecture && info->num_classes == 0);
    fv_weights_info_free(info);
    fv_model *m = compiled(fv_model_load_file(FV_SOURCE_DIR "/models/lenet5.fv"));
    CHECK(m && f && fv_model_load_weights_file(m, f) == FV_OK);
    CHECK(m && rel_error(m, "lenet5_x", "lenet5_y") <= 1e-4);
    CHECK(fv_model_load_weights(m, t_path("once.pt")) != FV_OK); /* the file is gone */
    /* without an architecture in its metadata, no model comes from it alone */
    CHECK(f && !fv_model_from_weights_file(f));
    CHECK_ERR_HAS("no architecture in its metadata");
    fv_model_free(m);
    fv_weights_file_close(f);
    CHECK(!fv_weights_file_open(t_path("once.pt")));
    CHECK_ERR_HAS("once.pt");
}

TEST(dispatch_by_content)
{
    t_copy_in(pt("tiny_f32.pt"), "renamed.safetensors");
    fv_st_file *f = fv_weights_open(t_path("renamed.safetensors"));
    CHECK(f && fv_st_count(f) == 8);
    fv_st_close(f);
    char file[8 + 640 + 20] = {(char)0x80, 0x02};
    char *hdr = file + 8;
    memset(hdr, ' ', 640);
    const char *json = "{\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[5],\"data_offsets\":[0,20]}}";
    memcpy(hdr, json, strlen(json));
    memset(file + 8 + 640, 0, 20);
    t_write_at("x.safetensors", file, sizeof file);
    f = fv_weights_open(t_path("x.safetensors"));
    CHECK(f && fv_st_count(f) == 1);
    fv_st_close(f);
}

/* Random bit flips of a valid file (often in its pickle): each opens or is a one-line error. */
TEST(mutations_never_crash)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK_STATUS(fv_read_file(pt("tiny_f32.pt"), 1 << 20, &buf, &len), FV_OK);
    fv_st_file *f = buf ? fv_pt_open_mem("tiny", buf, len) : NULL;
    CHECK(f && fv_st_count(f) == 8);
    fv_st_close(f);
    uint32_t s = 12345;
    int opened = 0;
    for (int k = 0; buf && k < 3000; k++) {
        unsigned char *c = fv_malloc(len, "copy");
        memcpy(c, buf, len);
        for (int j = 0; j < 1 + k % 4; j++) {
            s = s * 1664525u + 1013904223u;
            c[(s >> 8) % (k % 2 ? 700 : len)] ^= (unsigned char)(1u << (s & 7)); /* the pickle
                                                                                   often */
        }
        fv_st_file *g = fv_pt_open_mem("mutant", c, len);
        opened += g != NULL;
        CHECK(g || t_one_line(fv_last_error()));
        fv_st_close(g);
        fv_free(c);
    }
    printf("mutations: %d of 3000 still opened\n", opened);
    fv_free(buf);
}

/* --resnet DIR: DIR/resnet18.pt (torchvision's state dict) into fv_zoo("resnet18"), against the
 * float64 logits of DIR/resnet18_io.safetensors. */
static int resnet(const char *dir)
{
    char w[1024], io[1024];
    snprintf(w, sizeof w, "%s/resnet18.pt", dir);
    snprintf(io, sizeof io, "%s/resnet18_io.safetensors", dir);
    fv_model *m = compiled(fv_zoo("resnet18"));
    fv_st_file *f = fv_st_open(io);
    fv_tensor *x = f ? fv_st_get(f, "x") : NULL, *want = f ? fv_st_get(f, "y") : NULL, *y = NULL;
    fv_status st = m && x && want ? fv_model_load_weights(m, w) : fv_last_status();
    if (st == FV_OK)
        st = fv_model_predict(m, x, &y);
    double e = st == FV_OK ? zf_rel_error(y, want) : NAN;
    printf("resnet18.pt: %s, max relative error of the logits %.3g\n",
           st != FV_OK ? fv_last_error() : e <= 1e-4 ? "ok" : "BAD", e);
    fv_tensor_free(x), fv_tensor_free(y), fv_tensor_free(want);
    fv_model_free(m);
    fv_st_close(f);
    return !(e <= 1e-4);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--resnet") == 0)
        return resnet(argv[2]);
    if (t_mkdtemp("/tmp/fovea_torch_pt_XXXXXX"))
        return 1;
    RUN(dtypes_give_pytorch_outputs);
    RUN(nested_prefixed_and_views);
    RUN(lenet5_from_its_fv_file);
    RUN(what_the_reader_keeps);
    RUN(partial_load_and_header);
    RUN(hostile_files_are_one_line_errors);
    RUN(pickle_interpreter);
    RUN(dispatch_by_content);
    RUN(weights_file_opened_once);
    RUN(mutations_never_crash);
    t_rmtree();
    TEST_MAIN_END();
}
