/* fuzz_captions.c - libFuzzer target for the captioning text files: the input parsed as a
 * vocabulary (fv_vocab_parse) and as a captions file against the scenes' vocabulary and, when it
 * parsed, against itself (fv_captions_parse). A vocabulary starts with the three special tokens
 * and holds no token twice; every caption line's words encode; or a one-line error naming the
 * file; never a crash, a leak or undefined behaviour. Seeds: corpus/fuzz_captions. */
#include "fuzz.h"

/* Each parsed caption must encode with its vocabulary. */
static void captions(const uint8_t *data, size_t size, const fv_vocab *v)
{
    char **files, **caps;
    int64_t n;
    fv_clear_error();
    if (fv_captions_parse((const char *)data, size, "fuzz_captions.txt", v, &files, &caps, &n) !=
        FV_OK) {
        fuzz_expect_error("fuzz_captions.txt");
        return;
    }
    float tok[1024];
    for (int64_t i = 0; i < n; i++) {
        int len;
        if (!files[i][0] || fv_caption_encode(v, caps[i], 1024, tok, &len) != FV_OK)
            abort();
    }
    fv_captions_free(files, caps, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fv_clear_error();
    fv_vocab *own = fv_vocab_parse((const char *)data, size, "fuzz_vocab.txt");
    if (!own)
        fuzz_expect_error("fuzz_vocab.txt");
    for (int i = 0; own && i < own->size; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(own->words[i], own->words[j]) == 0 || (i < 3 && own->words[i][0] != '<'))
                abort();
    fv_vocab *v = fv_vocab_default();
    if (!v)
        abort();
    captions(data, size, v);
    if (own)
        captions(data, size, own);
    fv_vocab_free(own), fv_vocab_free(v);
    return 0;
}
