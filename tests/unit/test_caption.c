/* test_caption.c - image captioning: the captioned scene generator (determinism, captions that
 * state the digits), the vocabulary and captions files (round trips, malformed input), corpus
 * BLEU-4 against hand-computed values, beam search of width 1 equal to greedy decoding, and a
 * captioner that learns a handful of scenes exactly. */
#include "data/data.h"
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* n 28x28 "digits": label k % 10 drawn as a bar pattern of k % 10 + 1 lit rows. */
static fv_dataset *digits(int n)
{
    fv_tensor *x = fv_tensor_new4(n, 1, 28, 28);
    int64_t dy = n;
    fv_tensor *y = fv_tensor_new(1, &dy);
    for (int k = 0; k < n; k++) {
        for (int r = 0; r <= k % 10; r++)
            for (int j = 4; j < 24; j++)
                x->data[k * 784 + (2 + 2 * r) * 28 + j] = 1.0f;
        y->data[k] = (float)(k % 10);
    }
    return fv_dataset_new(x, y, 10, "digits");
}

/* The number of digit words of a caption. */
static int digit_words(const char *c)
{
    int n = 0;
    for (const char *p = c; *p; p++)
        n += *p >= '0' && *p <= '9' && (p == c || p[-1] == ' ') && (p[1] == ' ' || !p[1]);
    return n;
}

TEST(test_scenes_deterministic)
{
    fv_dataset *d = digits(20);
    fv_caption_set *a = fv_caption_scenes(d, 0, 40, .seed = 5);
    fv_caption_set *b = fv_caption_scenes(d, 10, 5, .seed = 5);
    fv_caption_set *c = fv_caption_scenes(d, 0, 40, .seed = 6);
    CHECK(a && b && c);
    CHECK(a->images->dims[2] == 64 && a->images->dims[3] == 64);
    for (int i = 0; i < 5; i++) { /* scene 10 + i alone is the same scene */
        CHECK(strcmp(a->captions[10 + i], b->captions[i]) == 0);
        CHECK(memcmp(a->images->data + (10 + i) * 4096, b->images->data + i * 4096,
                     4096 * sizeof(float)) == 0);
    }
    int differ = 0, counts[5] = {0};
    const char *words[] = {"", "one digit :", "two digits :", "three digits :", "four digits :"};
    for (int i = 0; i < 40; i++) {
        differ += strcmp(a->captions[i], c->captions[i]) != 0;
        int k = digit_words(a->captions[i]);
        CHECK(k >= 1 && k <= 4 && strncmp(a->captions[i], words[k], strlen(words[k])) == 0);
        counts[k]++;
        float tok[14];
        int len;
        fv_vocab *v = fv_vocab_default();
        CHECK_STATUS(fv_caption_encode(v, a->captions[i], 14, tok, &len), FV_OK);
        fv_vocab_free(v);
    }
    CHECK(differ > 10);
    CHECK(counts[1] && counts[2] && counts[3] && counts[4]);
    fv_caption_set_free(a), fv_caption_set_free(b), fv_caption_set_free(c), fv_dataset_free(d);
}

/* The relations: a scene of one digit a cell reads as its grid says. */
TEST(test_scene_relations)
{
    fv_dataset *d = digits(20);
    fv_caption_set *s = fv_caption_scenes(d, 0, 400, .seed = 1);
    CHECK(s != NULL);
    int seen[4] = {0};
    const char *shapes[] = {"four digits : %*d left of %*d , then %*d left of %*d%n",
                            "two digits : %*d above %*d%n", "two digits : %*d left of %*d%n",
                            "three digits : %*d , then %*d left of %*d%n"};
    for (int i = 0; s && i < 400; i++)
        for (int k = 0; k < 4; k++) {
            int end = -1;
            sscanf(s->captions[i], shapes[k], &end);
            seen[k] += end == (int)strlen(s->captions[i]);
        }
    for (int k = 0; k < 4; k++)
        CHECK(seen[k] > 0);
    /* four digits always fill the grid: never "above" or a second ", then" */
    for (int i = 0; s && i < 400; i++)
        if (strncmp(s->captions[i], "four", 4) == 0)
            CHECK(!strstr(s->captions[i], "above"));
    fv_caption_set_free(s), fv_dataset_free(d);
}

TEST(test_vocab_roundtrip_and_errors)
{
    fv_vocab *v = fv_vocab_default();
    CHECK_STATUS(fv_vocab_write(v, t_path("vocab.txt")), FV_OK);
    fv_vocab *r = fv_vocab_read(t_path("vocab.txt"));
    CHECK(r && r->size == v->size);
    for (int i = 0; r && i < r->size; i++)
        CHECK(strcmp(r->words[i], v->words[i]) == 0);
    CHECK(fv_vocab_index(v, "left", 4) > 2 && fv_vocab_index(v, "cat", 3) == -1);
    const char *bad[][2] = {{"<pad>\n<start>\n<end>\nx\nx\n", "listed twice"},
                            {"<start>\n<pad>\n<end>\n", "starts with <pad>"},
                            {"<pad>\n<start>\n<end>\na b\n", "line 4"},
                            {"", "starts with"},
                            {"<pad>\n<start>\n<end>\n\nz\n", "line 4"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK(fv_vocab_parse(bad[i][0], strlen(bad[i][0]), "v.txt") == NULL);
        CHECK_ERR_HAS(bad[i][1]);
    }
    fv_vocab *crlf = fv_vocab_parse("<pad>\r\n<start>\r\n<end>\r\ncat\r\n", 28, "v.txt");
    CHECK(crlf && crlf->size == 4 && strcmp(crlf->words[3], "cat") == 0);
    float tok[6];
    int len;
    CHECK_STATUS(fv_caption_encode(v, "two digits : 7 cat 2", 14, tok, &len), FV_ERR_INVALID);
    CHECK_ERR_HAS("token 'cat' is not in the vocabulary");
    CHECK_STATUS(fv_caption_encode(v, "one digit : 1 left of 2", 6, tok, &len), FV_ERR_INVALID);
    CHECK_ERR_HAS("longer than the model's 6 steps");
    CHECK_STATUS(fv_caption_encode(v, "one <end>", 6, tok, &len), FV_ERR_INVALID);
    CHECK_ERR_HAS("special token");
    CHECK_STATUS(fv_caption_encode(v, "  one   digit ", 6, tok, &len), FV_OK);
    CHECK(len == 3 && tok[2] == 2 && tok[3] == 0 && tok[5] == 0);
    int back[3] = {(int)tok[0], (int)tok[1], 2};
    char text[64];
    fv_caption_decode(v, back, 3, text, sizeof text);
    CHECK(strcmp(text, "one digit") == 0);
    fv_vocab_free(v), fv_vocab_free(r), fv_vocab_free(crlf);
}

TEST(test_caption_files)
{
    fv_dataset *d = digits(10);
    fv_caption_set *s = fv_caption_scenes(d, 0, 3, .seed = 2);
    fv_vocab *v = fv_vocab_default();
    mkdir(t_path("set"), 0755);
    CHECK_STATUS(fv_caption_set_write(s, v, t_path("set")), FV_OK);
    fv_caption_set *r = fv_caption_set_read(t_path("set"), v);
    CHECK(r && r->n == 3);
    for (int i = 0; r && i < 3; i++) {
        CHECK(strcmp(r->captions[i], s->captions[i]) == 0);
        CHECK_ARRAY_NEAR(r->images->data + i * 4096, s->images->data + i * 4096, 4096,
                         0.5 / 255, 0);
    }
    const char *bad[][2] = {{"000000.png two digits : 7 cat 2\n", "line 1 (000000.png): caption"},
                            {"../x.png one digit : 1\n", "no image file name"},
                            {"000000.png one digit : 1\n000001.png\n", "line 2 (000001.png)"},
                            {"\na.png one digit : 1\n", "line 1: '' is no image file name"},
                            {"", "no captions"}};
    char **files, **caps;
    int64_t n;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_STATUS(fv_captions_parse(bad[i][0], strlen(bad[i][0]), "c.txt", v, &files, &caps,
                                       &n), FV_ERR_FORMAT);
        CHECK_ERR_HAS(bad[i][1]);
    }
    /* a captions file that does not match its images: one missing */
    remove(t_path("set/000002.png"));
    CHECK(fv_caption_set_read(t_path("set"), v) == NULL);
    CHECK_ERR_HAS("image 3 '000002.png' does not match");
    fv_caption_set_free(r), fv_caption_set_free(s), fv_vocab_free(v), fv_dataset_free(d);
}

TEST(test_bleu_hand_cases)
{
    const char *same[] = {"the cat sat on the mat"};
    CHECK_NEAR(fv_bleu4(same, same, 1), 1.0, 1e-12, 0);
    /* p1..p4 = 4/5, 3/4, 2/3, 1/2; brevity exp(1 - 6/5) */
    const char *h1[] = {"a b c d e"}, *r1[] = {"a b c d f g"};
    CHECK_NEAR(fv_bleu4(h1, r1, 1), exp(1 - 6.0 / 5) * pow(0.8 * 0.75 * (2.0 / 3) * 0.5, 0.25),
               1e-12, 0);
    CHECK_NEAR(fv_bleu4(h1, r1, 1), 0.547518, 1e-6, 0);
    /* clipping: "the" counts once; no 2-gram matches: 0 without smoothing */
    const char *h2[] = {"the the the the"}, *r2[] = {"the cat"};
    CHECK(fv_bleu4(h2, r2, 1) == 0);
    /* the corpus pools the counts: p = 8/9, 5/7, 2/5, 1/3, lengths 9 and 9 */
    const char *h3[] = {"a b c d", "a b c d e"}, *r3[] = {"a b c d", "a b x d e"};
    CHECK_NEAR(fv_bleu4(h3, r3, 2), pow((8.0 / 9) * (5.0 / 7) * (2.0 / 5) * (1.0 / 3), 0.25),
               1e-12, 0);
    /* longer hypotheses have no brevity penalty */
    const char *h4[] = {"a b c d e f"}, *r4[] = {"a b c d e"};
    CHECK_NEAR(fv_bleu4(h4, r4, 1), pow((5.0 / 6) * (4.0 / 5) * (3.0 / 4) * (2.0 / 3), 0.25),
               1e-12, 0);
}

/* A small compiled captioner. */
static fv_model *small_captioner(int units, float lr)
{
    fv_vocab *v = fv_vocab_default();
    fv_model *m = fv_captioner_new(64, 64, v->size, .units = units, .embed = 16);
    fv_vocab_free(v);
    CHECK(m != NULL);
    CHECK_STATUS(fv_model_compile(m, .loss = FV_LOSS_SEQUENCE_CE, .use_ignore_label = 1,
                                  .ignore_label = 0, .optimizer = fv_adam(.lr = lr), .seed = 3),
                 FV_OK);
    return m;
}

TEST(test_beam1_is_greedy)
{
    fv_dataset *d = digits(10);
    fv_caption_set *s = fv_caption_scenes(d, 0, 4, .seed = 9);
    fv_model *m = small_captioner(32, 1e-3f);
    int steps = fv_captioner_steps(m), g[4 * 14], b[14];
    CHECK(steps == 14);
    CHECK_STATUS(fv_captioner_greedy(m, s->images->data, 4, g), FV_OK);
    for (int i = 0; i < 4; i++) {
        double score = 1;
        CHECK_STATUS(fv_captioner_beam(m, s->images->data + i * 4096, 1, b, &score), FV_OK);
        CHECK(memcmp(b, g + i * steps, sizeof b) == 0);
        CHECK(score < 0);
        double wide;
        CHECK_STATUS(fv_captioner_beam(m, s->images->data + i * 4096, 4, b, &wide), FV_OK);
        CHECK(wide >= score - 1e-9); /* a wider beam keeps the greedy caption in view */
    }
    CHECK_STATUS(fv_captioner_beam(m, s->images->data, 0, b, &(double){0}), FV_ERR_INVALID);
    fv_model_free(m), fv_caption_set_free(s), fv_dataset_free(d);
}

TEST(test_overfit_handful)
{
    fv_dataset *d = digits(10);
    fv_caption_set *s = fv_caption_scenes(d, 0, 4, .seed = 4);
    fv_vocab *v = fv_vocab_default();
    fv_model *m = small_captioner(64, 3e-3f);
    float *x = malloc(sizeof(float) * 4 * 65 * 64), y[4 * 14];
    CHECK_STATUS(fv_captioner_pack(m, v, s->images->data, s->captions, 4, x, y), FV_OK);
    double loss = 0;
    int correct;
    for (int it = 0; it < 150; it++)
        CHECK_STATUS(fv_model_train_batch(m, x, y, 4, &loss, &correct), FV_OK);
    CHECK(loss < 0.05);
    int tok[4 * 14];
    CHECK_STATUS(fv_captioner_greedy(m, s->images->data, 4, tok), FV_OK);
    for (int i = 0; i < 4; i++) {
        char text[256];
        fv_caption_decode(v, tok + i * 14, 14, text, sizeof text);
        CHECK(strcmp(text, s->captions[i]) == 0);
        if (strcmp(text, s->captions[i]) != 0)
            fprintf(stderr, "  got '%s', want '%s'\n", text, s->captions[i]);
        int b[14], one[14];
        double score;
        CHECK_STATUS(fv_captioner_beam(m, s->images->data + i * 4096, 1, b, &score), FV_OK);
        CHECK(memcmp(b, tok + i * 14, sizeof b) == 0); /* captions of other lengths in the batch */
        CHECK_STATUS(fv_captioner_greedy(m, s->images->data + i * 4096, 1, one), FV_OK);
        CHECK(memcmp(one, tok + i * 14, sizeof one) == 0);
    }
    int lengths = 0; /* the batch held captions ending at different steps */
    for (int i = 1; i < 4; i++)
        lengths += strlen(s->captions[i]) != strlen(s->captions[0]);
    CHECK(lengths > 0);
    char *bad[1] = {"two digits : 7 cat 2"};
    CHECK_STATUS(fv_captioner_pack(m, v, s->images->data, bad, 1, x, y), FV_ERR_INVALID);
    CHECK_ERR_HAS("'cat' is not in the vocabulary");
    x[64 * 64 + 3] = 99; /* a token outside the vocabulary in the packed row */
    CHECK_STATUS(fv_model_forward(m, x, 1), FV_ERR_INVALID);
    CHECK_ERR_HAS("outside the vocabulary");
    free(x), fv_model_free(m), fv_vocab_free(v), fv_caption_set_free(s), fv_dataset_free(d);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(test_scenes_deterministic), T_TEST(test_scene_relations),
        T_TEST(test_vocab_roundtrip_and_errors), T_TEST(test_caption_files),
        T_TEST(test_bleu_hand_cases), T_TEST(test_beam1_is_greedy),
        T_TEST(test_overfit_handful),
    };
    return t_main_scratch("/tmp/fovea_caption_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
