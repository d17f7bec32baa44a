/* test_safetensors.c - the safetensors reader against hostile files (issue 16): a file far larger
 * than the tensors needed (2 GiB) loads as weights and as a checkpoint without reading it whole
 * (every library allocation over 64 MiB is refused here); the tensors' byte ranges must tile the
 * data buffer exactly (overlaps, holes and trailing bytes are errors naming the file and the
 * tensor); a dtype fovea cannot read is named as such, not as a missing tensor; names from the
 * file appear in messages with control characters and invalid UTF-8 escaped; a file cut short
 * after it was opened is an error. */
#include "core/internal.h"
#include "io/io.h"
#include "nn/checkpoint.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>
#include <unistd.h>

#define CAP ((size_t)64 << 20)
#define BIG ((uint64_t)1 << 31) /* bytes of the tensor that makes a file 2 GiB */

/* ---------------------------------------------------------------- a capped allocator */

static size_t largest; /* the largest allocation asked for while the cap was on */

static void *capped_alloc(size_t size, void *ctx)
{
    (void)ctx;
    largest = size > largest ? size : largest;
    return size > CAP ? NULL : malloc(size);
}

static void plain_free(void *p, void *ctx)
{
    (void)ctx;
    free(p);
}

static void cap_on(void)
{
    largest = 0;
    fv_set_allocator(&(fv_allocator){capped_alloc, plain_free, NULL});
}

static void cap_off(void) { fv_set_allocator(NULL); }

/* ---------------------------------------------------------------- files */

/* A safetensors file in memory: the header json, then `data` zero bytes; *n gets its size. */
static unsigned char *st_bytes(const char *json, size_t data, size_t *n)
{
    size_t h = strlen(json);
    unsigned char *b = calloc(8 + h + data + 1, 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    *n = 8 + h + data;
    return b;
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = malloc(1 << 20);
    *n = f && b ? fread(b, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return b;
}

/* Appends a tensor "zz.big" of BIG bytes (a hole in the file: nothing is written) to the
 * safetensors file at path, which thereby grows past 2 GiB and stays valid. */
static int add_big_tensor(const char *path)
{
    size_t n;
    unsigned char *b = read_all(path, &n);
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = h << 8 | b[i];
    char *json = malloc(h + 256);
    memcpy(json, b + 8, h);
    size_t end = h;
    while (end && json[end - 1] != '}')
        end--;
    uint64_t data = n - 8 - h;
    int k = snprintf(json + end - 1, 256, ",\"zz.big\":{\"dtype\":\"F32\",\"shape\":[%llu],"
                     "\"data_offsets\":[%llu,%llu]}}", (unsigned long long)(BIG / 4),
                     (unsigned long long)data, (unsigned long long)(data + BIG));
    size_t nh = end - 1 + (size_t)k;
    while (nh % 8)
        json[nh++] = ' ';
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)((uint64_t)nh >> (8 * i));
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(len8, 1, 8, f) == 8 && fwrite(json, 1, nh, f) == nh &&
             fwrite(b + 8 + h, 1, data, f) == data && fflush(f) == 0 &&
             ftruncate(fileno(f), (off_t)(8 + nh + data + BIG)) == 0;
    if (f)
        fclose(f);
    free(json);
    free(b);
    return ok;
}

static fv_model *tiny(uint64_t seed)
{
    fv_model *m = fv_model_new("tiny");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    fv_dense(m, x, .units = 3);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(), .seed = seed))
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

/* ---------------------------------------------------------------- tests */

/* The finding: a 2 GiB --weights file was read whole ("out of memory allocating 2147483650
 * bytes for file contents"). Only the tensors the model needs are read now. */
TEST(large_file_read_by_tensor)
{
    fv_model *m = tiny(1), *m2 = tiny(2);
    fv_epoch_metrics hist[3] = {{.epoch = 1, .loss = 0.5}};
    fv_train_state t = {.epoch = 1, .history = hist};
    const char *ck = t_path("ck.safetensors"), *w = t_path("w.safetensors");
    CHECK_STATUS(fv_checkpoint_write(m, ck, &t), FV_OK);
    CHECK_STATUS(fv_model_save_weights(m, w), FV_OK);
    CHECK(add_big_tensor(ck) && add_big_tensor(w));
    struct stat sb;
    CHECK(stat(w, &sb) == 0 && (uint64_t)sb.st_size > BIG);

    cap_on();
    CHECK_STATUS(fv_model_load_weights(m2, w), FV_OK);
    CHECK(memcmp(m->data_slab, m2->data_slab, sizeof(float) * (size_t)m->param_total) == 0);
    fv_epoch_metrics hist2[3] = {{0}};
    fv_train_state t2 = {.history = hist2};
    fv_model *m3 = tiny(3);
    CHECK_STATUS(fv_checkpoint_read(m3, ck, &t2, 3), FV_OK);
    CHECK(t2.epoch == 1 && hist2[0].loss == 0.5);
    CHECK(memcmp(m->data_slab, m3->data_slab, sizeof(float) * (size_t)m->param_total) == 0);
    fv_st_file *f = fv_st_open(w);
    CHECK(f && fv_st_count(f) == 3);
    fv_tensor *b = f ? fv_st_get(f, fv_st_name(f, 1)) : NULL;
    CHECK(b && fv_tensor_numel(b) > 0);
    fv_tensor_free(b);
    fv_st_close(f);
    cap_off();
    if (largest > CAP)
        fprintf(stderr, "  an allocation of %zu bytes was asked for\n", largest);
    CHECK(largest <= CAP);
    fv_model_free(m), fv_model_free(m2), fv_model_free(m3);
    remove(ck), remove(w);
}

/* opens json + data bytes; must fail with an error holding each needle (NULL: must open). */
static void expect_open(const char *json, size_t data, const char *n1, const char *n2)
{
    size_t n;
    unsigned char *b = st_bytes(json, data, &n);
    fv_clear_error();
    fv_st_file *f = fv_st_open_mem("m.safetensors", b, n);
    if (!n1) {
        if (!f)
            fprintf(stderr, "  %s: %s\n", json, fv_last_error());
        CHECK(f != NULL);
    } else {
        if (f)
            fprintf(stderr, "  accepted: %s\n", json);
        CHECK(f == NULL);
        CHECK_ERR_HAS("m.safetensors: ");
        CHECK_ERR_HAS(n1);
        CHECK_ERR_HAS(n2);
        CHECK(t_one_line(fv_last_error()));
    }
    fv_st_close(f);
    free(b);
}

/* A JSON header entry: an F32 tensor. */
#define T(name, off, shape)                                                                      \
    "\"" name "\":{\"dtype\":\"F32\",\"shape\":" shape ",\"data_offsets\":" off "}"

/* The format requires the buffer to be entirely indexed, without holes or overlaps: otherwise
 * the same bytes can be two tensors, or hide data (polyglot files). */
TEST(offsets_tile_the_buffer)
{
    expect_open("{" T("a", "[0,8]", "[2]") "," T("b", "[4,12]", "[2]") "}", 12, "tensor 'b'",
                "overlap");
    expect_open("{" T("a", "[0,8]", "[2]") "," T("b", "[0,8]", "[2]") "}", 8, "tensor 'b'",
                "overlap");
    expect_open("{" T("a", "[0,8]", "[2]") "," T("b", "[4,8]", "[1]") "}", 8, "tensor 'a'",
                "overlap");
    expect_open("{" T("a", "[0,4]", "[1]") "," T("b", "[8,12]", "[1]") "}", 12, "tensor 'b'",
                "unused");
    expect_open("{" T("a", "[4,8]", "[1]") "}", 8, "tensor 'a'", "unused");
    expect_open("{" T("a", "[0,4]", "[1]") "}", 8, "tensor 'a'", "4 bytes after");
    expect_open("{}", 4, "4 data bytes", "no tensors");
    /* valid: out of header order, empty tensors at the ends, metadata */
    expect_open("{\"__metadata__\":{\"k\":\"v\"}," T("b", "[4,8]", "[1]") "," T("e", "[8,8]", "[0]")
                "," T("a", "[0,4]", "[1]") "," T("z", "[0,0]", "[0]") "}", 8, NULL, NULL);
    expect_open("{}", 0, NULL, NULL);
}

/* The message found by the suite: an F16 tensor was reported as a "missing tensor". */
TEST(unreadable_dtype_named)
{
    fv_model *m = tiny(1);
    fv_param_info w, b;
    CHECK_STATUS(fv_model_param(m, 0, &w), FV_OK);
    CHECK_STATUS(fv_model_param(m, 1, &b), FV_OK);
    char json[512];
    snprintf(json, sizeof json,
             "{\"%s\":{\"dtype\":\"F16\",\"shape\":[3,4],\"data_offsets\":[0,24]},"
             "\"%s\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}}",
             w.name, b.name);
    size_t n;
    unsigned char *bytes = st_bytes(json, 36, &n);
    const char *path = t_path("f16.safetensors");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(bytes, 1, n, f) == n);
    if (f)
        fclose(f);
    CHECK(fv_model_load_weights(m, path) != FV_OK);
    char want[128];
    snprintf(want, sizeof want, "f16.safetensors: tensor '%s' has dtype F16; fovea reads F32 "
             "and F64", w.name);
    CHECK_ERR_HAS(want);
    CHECK(!strstr(fv_last_error(), "missing"));
    free(bytes);

    /* a checkpoint whose history has another dtype of the same size */
    fv_epoch_metrics hist[3] = {{.epoch = 1}};
    fv_train_state t = {.epoch = 1, .history = hist};
    const char *ck = t_path("ck_i32.safetensors");
    CHECK_STATUS(fv_checkpoint_write(m, ck, &t), FV_OK);
    unsigned char *c = read_all(ck, &n);
    static const char key[] = "\"__history\":{\"dtype\":\"F32\"";
    size_t at = 0;
    while (at + sizeof key <= n && memcmp(c + at, key, sizeof key - 1) != 0)
        at++;
    CHECK(at + sizeof key <= n);
    if (at + sizeof key <= n)
        memcpy(c + at + sizeof key - 5, "I32", 3);
    f = fopen(ck, "wb");
    CHECK(f && fwrite(c, 1, n, f) == n);
    if (f)
        fclose(f);
    free(c);
    fv_train_state t2 = {.history = hist};
    CHECK(fv_checkpoint_read(m, ck, &t2, 3) != FV_OK);
    CHECK_ERR_HAS("ck_i32.safetensors: tensor '__history' has dtype I32; fovea reads F32 and F64");
    fv_model_free(m);
}

/* Names come from the file: terminal escapes and bytes that are not UTF-8 are shown escaped, so
 * a message cannot drive the terminal it is printed on. */
TEST(names_in_messages_printable)
{
    expect_open("{\"a\\u001b[2J\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                "tensor 'a\\x1b[2J'", "unknown dtype");
    expect_open("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                "tensor 'a\\xff'", "non-negative");
    expect_open("{" T("a\\u009b", "[0,4]", "[1]") "," T("b", "[2,6]", "[1]") "}", 6,
                "overlap", "'a\\xc2\\x9b'");
}

/* A file cut short after it was opened (by another process) is an error when a tensor is read,
 * not garbage. */
TEST(file_shrinks_after_open)
{
    size_t n;
    unsigned char *b = st_bytes("{" T("a", "[0,4]", "[1]") "," T("b", "[4,4100]", "[1024]") "}",
                                4100, &n);
    const char *path = t_path("shrinks.safetensors");
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(b, 1, n, f) == n);
    if (f)
        fclose(f);
    fv_st_file *st = fv_st_open(path);
    CHECK(st != NULL);
    CHECK(truncate(path, (off_t)(n - 100)) == 0);
    fv_tensor *a = st ? fv_st_get(st, "a") : NULL, *big = st ? fv_st_get(st, "b") : NULL;
    CHECK(a && a->data[0] == 0.0f);
    CHECK(big == NULL);
    CHECK_ERR_HAS("shrinks.safetensors: the file ends at byte");
    CHECK(t_one_line(fv_last_error()));
    fv_tensor_free(a);
    fv_st_close(st);
    free(b);
}

T_MAIN_SCRATCH("/tmp/fovea_st_XXXXXX", T_TEST(large_file_read_by_tensor),
               T_TEST(offsets_tile_the_buffer), T_TEST(unreadable_dtype_named),
               T_TEST(names_in_messages_printable), T_TEST(file_shrinks_after_open))
