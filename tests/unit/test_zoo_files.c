/* test_zoo_files.c - the model files of the zoo (models/zoo/NAME.fv) are what the builders make:
 * each file's text equals fv_model_to_text(fv_zoo(NAME)) at the network's defaults, and parses
 * to the same parameter count. Regenerate one with `fovea zoo NAME --out models/zoo/NAME.fv`. */
#include "core/internal.h"
#include "io/io.h"
#include "optest.h"
#include "test.h"

TEST(files_match_builders)
{
    for (int i = 0; fv_zoo_name(i); i++) {
        const char *name = fv_zoo_name(i);
        char rel[128];
        snprintf(rel, sizeof rel, "../models/zoo/%s.fv", name);
        unsigned char *file = NULL;
        size_t len = 0;
        fv_read_file(t_src_path(rel), (size_t)1 << 20, &file, &len);
        fv_model *m = fv_zoo(name), *p = fv_model_load_file(t_src_path(rel));
        char *text = m ? fv_model_to_text(m) : NULL;
        int same = file && text && len == strlen(text) && memcmp(file, text, len) == 0;
        if (!same)
            fprintf(stderr, "models/zoo/%s.fv differs from the builder: fovea zoo %s --out "
                            "models/zoo/%s.fv\n", name, name, name);
        CHECK(same);
        int64_t a = -1, b = -2;
        if (m && p)
            fv_model_count_params(m, &a, NULL, NULL), fv_model_count_params(p, &b, NULL, NULL);
        CHECK(a == b);
        fv_free(file), free(text);
        fv_model_free(m), fv_model_free(p);
    }
}

int main(void)
{
    RUN(files_match_builders);
    TEST_MAIN_END();
}
