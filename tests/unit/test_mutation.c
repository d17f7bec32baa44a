/* test_mutation.c - seeded mutation testing of every parser, run on each test pass (the libFuzzer
 * targets in tests/fuzz/ explore further): valid IDX, safetensors, PNG, JPEG and model-file bytes
 * get bit flips, byte overwrites, insertions, deletions and truncations; each parser must either
 * succeed or fail with a non-empty one-line error, never crash (ASan/UBSan watch) or leak. */
#include "core/internal.h"
#include "data/data.h"
#include "io/io.h"
#include "test.h"

#define MUTATIONS 2000

typedef int (*parse_fn)(const unsigned char *buf, size_t len); /* 1: parsed, 0: error */

static int parse_idx(const unsigned char *b, size_t n)
{
    fv_tensor *t = fv_idx_decode("m.idx", b, n);
    fv_tensor_free(t);
    return t != NULL;
}

static int parse_st(const unsigned char *b, size_t n)
{
    fv_st_file *f = fv_st_open_mem("m.safetensors", b, n);
    for (int i = 0; f && i < fv_st_count(f); i++)
        fv_tensor_free(fv_st_get(f, fv_st_name(f, i)));
    fv_st_close(f);
    return f != NULL;
}

static int parse_png(const unsigned char *b, size_t n)
{
    fv_tensor *t = fv_png_decode("m.png", b, n, 1 << 16);
    fv_tensor_free(t);
    return t != NULL;
}

static int parse_jpeg(const unsigned char *b, size_t n)
{
    fv_tensor *t = fv_jpeg_decode("m.jpg", b, n, 1 << 16);
    fv_tensor_free(t);
    return t != NULL;
}

static int parse_model(const unsigned char *b, size_t n)
{
    char *text = malloc(n + 1);
    memcpy(text, b, n);
    text[n] = '\0';
    fv_model *m = fv_model_parse(text, "m.fv");
    free(text);
    fv_model_free(m);
    return m != NULL;
}

static uint32_t next(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

/* One random edit of buf (len bytes, capacity cap); returns the new length. */
static size_t mutate(unsigned char *buf, size_t len, size_t cap, uint32_t *s)
{
    size_t at = len ? next(s) % len : 0;
    switch (next(s) % 5) {
    case 0: /* flip a bit */
        if (len)
            buf[at] ^= (unsigned char)(1u << (next(s) % 8));
        return len;
    case 1: /* an interesting byte */
        if (len) {
            static const unsigned char v[] = {0, 0xff, 0x7f, 0x80, '"', '{', ',', '-', '9', '\n'};
            buf[at] = v[next(s) % sizeof v];
        }
        return len;
    case 2: /* insert */
        if (len < cap) {
            memmove(buf + at + 1, buf + at, len - at);
            buf[at] = (unsigned char)next(s);
            return len + 1;
        }
        return len;
    case 3: /* delete */
        if (len) {
            memmove(buf + at, buf + at + 1, len - at - 1);
            return len - 1;
        }
        return len;
    default: /* truncate */
        return at;
    }
}

static void mutation_run(const char *what, parse_fn parse, const unsigned char *seed, size_t len)
{
    size_t cap = len + 64;
    unsigned char *buf = malloc(cap);
    uint32_t s = 0x9e3779b9u;
    int parsed = 0, bad_errors = 0;
    CHECK(parse(seed, len) == 1); /* the seed itself is valid */
    for (int i = 0; i < MUTATIONS; i++) {
        memcpy(buf, seed, len);
        size_t n = len;
        for (int k = 1 + (int)(next(&s) % 4); k > 0; k--)
            n = mutate(buf, n, cap, &s);
        fv_clear_error();
        if (parse(buf, n)) {
            parsed++;
        } else {
            const char *e = fv_last_error();
            if (!e[0] || strchr(e, '\n')) {
                bad_errors++;
                fprintf(stderr, "  %s mutation %d: bad error \"%s\"\n", what, i, e);
            }
        }
    }
    CHECK(bad_errors == 0);
    printf("%s: %d mutations, %d still parsed\n", what, MUTATIONS, parsed);
    free(buf);
}

/* mutation_run from a committed test file (tests/<rel>). */
static void mutation_run_file(const char *what, parse_fn parse, const char *rel)
{
    unsigned char *b;
    size_t n;
    CHECK_STATUS(fv_read_file(t_src_path(rel), 1 << 20, &b, &n), FV_OK);
    mutation_run(what, parse, b, n);
    free(b);
}

TEST(mutate_idx)
{
    unsigned char b[16 + 36] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 6, 0, 0, 0, 6};
    for (int i = 0; i < 36; i++)
        b[16 + i] = (unsigned char)(i * 7);
    mutation_run("idx", parse_idx, b, sizeof b);
}

TEST(mutate_safetensors)
{
    const char *json = "{\"__metadata__\":{\"format\":\"pt\"},"
                       "\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,1,2],"
                       "\"data_offsets\":[0,16]},"
                       "\"conv.bias\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[16,32]}}";
    size_t n = strlen(json);
    unsigned char *b = calloc(8 + n + 32, 1);
    b[0] = (unsigned char)n;
    memcpy(b + 8, json, n);
    mutation_run("safetensors", parse_st, b, 8 + n + 32);
    free(b);
}

TEST(mutate_png) { mutation_run_file("png", parse_png, "data/fashion_bag.png"); }

TEST(mutate_jpeg) { mutation_run_file("jpeg", parse_jpeg, "data/fashion_bag.jpg"); }

TEST(mutate_model_file)
{
    const char *text = "model tiny\ninput shape=1,12,12\n"
                       "conv2d filters=4 kernel_size=3 padding=1 activation=relu name=c1\n"
                       "batchnorm\ndropout rate=0.25\n"
                       "conv2d filters=4 kernel_size=3 padding=1 name=c2\n"
                       "add inputs=c1,c2\nmaxpool2d pool_size=2\nflatten\n"
                       "dense units=10 activation=softmax\n";
    mutation_run("model file", parse_model, (const unsigned char *)text, strlen(text));
}

int main(void)
{
    RUN(mutate_idx);
    RUN(mutate_safetensors);
    RUN(mutate_png);
    RUN(mutate_jpeg);
    RUN(mutate_model_file);
    TEST_MAIN_END();
}
