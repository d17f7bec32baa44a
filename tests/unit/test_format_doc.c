/* test_format_doc.c - the argument tables of docs/model-format.md are generated from the ops'
 * schemas (ops/schema.h) and must not drift: every block between "<!-- schema: WORD -->" and
 * "<!-- /schema -->" equals the table generated for layer keyword WORD ("activations": the table
 * of activation kinds, "initializers": the weight initializers), and every keyword of the text
 * format has a block. Regenerate the blocks
 * with `build/test_format_doc --write docs/model-format.md`. */
#include "ops/schema.h"
#include "test.h"

#include <stdarg.h>

#define DOC "../docs/model-format.md"
#define BEGIN "<!-- schema: "
#define END "<!-- /schema -->"

/* ---------------------------------------------------------------- generating */

typedef struct text {
    char *s;
    size_t n, cap;
} text;

static void __attribute__((format(printf, 2, 3))) put(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (t->n + (size_t)k + 1 > t->cap) {
        t->cap = 2 * (t->n + (size_t)k + 1);
        t->s = realloc(t->s, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

/* The default column of field f. */
static void put_default(text *t, const fv_field *f)
{
    if (f->flags & FV_F_REQUIRED)
        put(t, "required");
    else if (f->def_doc)
        put(t, "%s", f->def_doc);
    else if (f->flags & FV_F_OPTIONAL)
        put(t, "none");
    else if (f->type == FV_FT_BOOL)
        put(t, "`%s`", (f->flags & FV_F_TEXT_NOT) ? "true" : "false");
    else if (f->type == FV_FT_CHOICE)
        put(t, "`%s`", f->words[(int)f->def]);
    else if (f->type == FV_FT_PADDING && f->def == 0)
        put(t, "`valid`");
    else if (f->type == FV_FT_ACT)
        put(t, "`linear`");
    else
        put(t, "%g", f->def);
}

/* The table of form k of sc: one row per argument the text takes. */
static void put_form(text *t, const fv_schema *sc, int k)
{
    int rows = 0;
    for (int i = 0; i < sc->nfields; i++) {
        const fv_field *f = &sc->fields[i];
        if (!fv_field_in_form(f, k) || (f->flags & FV_F_C_ONLY))
            continue;
        if (rows++ == 0)
            put(t, "| argument | alias | value | default |\n|---|---|---|---|\n");
        put(t, "| `%s` | ", f->key);
        if (f->alias)
            put(t, "`%s`", f->alias);
        put(t, " | %s | ", f->doc);
        put_default(t, f);
        put(t, " |\n");
    }
    if (!rows)
        put(t, "No arguments besides `name=`%s.\n", sc->max_in < 0 ? "" : " and `inputs=`");
}

/* The activation kinds: keyword (other spellings), definition, the kind's own arguments. */
static void put_activations(text *t)
{
    put(t, "| name (also) | definition (PyTorch's) | arguments |\n|---|---|---|\n");
    for (int k = 0; k < fv_act_schema.nforms; k++) {
        const fv_form *f = &fv_act_schema.forms[k];
        if (!f->doc)
            continue;
        put(t, "| `%s`", f->names[0]);
        for (int j = 1; j < 3 && f->names[j]; j++)
            put(t, "%s%s", j == 1 ? " (" : ", ", f->names[j]);
        put(t, "%s | %s | ", f->names[1] ? ")" : "", f->doc);
        for (int i = 0, n = 0; i < fv_act_schema.nfields; i++) {
            const fv_field *a = &fv_act_schema.fields[i];
            if (a->forms != FV_FORM(k))
                continue;
            put(t, "%s`%s` ", n++ ? ", " : "", a->key);
            put_default(t, a);
        }
        put(t, " |\n");
    }
}

/* The initializers: name (other name), definition. */
static void put_initializers(text *t)
{
    put(t, "| name (also) | definition |\n|---|---|\n");
    for (int k = FV_INIT_DEFAULT + 1; k < FV_INIT__COUNT; k++) {
        const char *alias, *doc = fv_init_doc((fv_init)k, &alias);
        put(t, "| `%s`", fv_init_name((fv_init)k));
        if (alias)
            put(t, " (%s)", alias);
        put(t, " | %s |\n", doc);
    }
}

/* The block for WORD into t; 0, or -1 when no layer has that keyword. */
static int generate(const char *word, text *t)
{
    if (strcmp(word, "activations") == 0) {
        put_activations(t);
        return 0;
    }
    if (strcmp(word, "initializers") == 0) {
        put_initializers(t);
        return 0;
    }
    int k;
    const fv_schema *sc = fv_schema_find(word, &k);
    if (!sc || strcmp(sc->forms[k].names[0], word) != 0)
        return -1;
    put_form(t, sc, k);
    return 0;
}

/* ---------------------------------------------------------------- the document */

static char *read_doc(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    text t = {0};
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;)
        put(&t, "%.*s", (int)n, buf);
    fclose(f);
    return t.s;
}

/* The document with every block regenerated into *out; counts the blocks that differed and
 * the markers with an unknown word. */
static void regenerate(const char *doc, text *out, int *changed, int *unknown)
{
    const char *p = doc;
    *changed = *unknown = 0;
    for (const char *b; (b = strstr(p, BEGIN));) {
        const char *eol = strchr(b, '\n'), *e = eol ? strstr(eol, END) : NULL;
        if (!e) {
            fprintf(stderr, "%s: a block without its end marker\n", DOC);
            (*unknown)++;
            break;
        }
        char word[64];
        snprintf(word, sizeof word, "%.*s", (int)strcspn(b + strlen(BEGIN), " -\n"),
                 b + strlen(BEGIN));
        put(out, "%.*s", (int)(eol + 1 - p), p);
        text g = {0};
        if (generate(word, &g) < 0) {
            fprintf(stderr, "%s: no layer has the keyword '%s'\n", DOC, word);
            (*unknown)++;
            put(out, "%.*s", (int)(e - eol - 1), eol + 1);
        } else {
            size_t len = (size_t)(e - eol - 1);
            if (strlen(g.s) != len || strncmp(g.s, eol + 1, len))
                fprintf(stderr, "%s: the table of '%s' differs from its schema\n", DOC, word),
                    (*changed)++;
            put(out, "%s", g.s);
        }
        free(g.s);
        p = e;
    }
    put(out, "%s", p);
}

/* Every keyword of the text format has its block ("activations" for the kinds), and the
 * initializers theirs. */
static int undocumented(const char *doc)
{
    int missing = !strstr(doc, BEGIN "initializers -->");
    if (missing)
        fprintf(stderr, "%s: no table of initializers (add %sinitializers -->)\n", DOC, BEGIN);
    const fv_schema *sc;
    for (int i = 0; (sc = fv_schema_at(i)); i++)
        for (int k = 0; k < sc->nforms; k++) {
            char marker[128];
            const char *word = sc->forms[k].doc ? "activations" : sc->forms[k].names[0];
            snprintf(marker, sizeof marker, BEGIN "%s -->", word);
            if (!strstr(doc, marker)) {
                fprintf(stderr, "%s: no table for layer '%s' (add %s)\n", DOC,
                        sc->forms[k].names[0], marker);
                missing++;
            }
        }
    return missing;
}

TEST(doc_tables_match_schemas)
{
    char *doc = read_doc(t_src_path(DOC));
    CHECK(doc != NULL);
    if (!doc)
        return;
    text out = {0};
    int changed, unknown;
    regenerate(doc, &out, &changed, &unknown);
    if (changed)
        fprintf(stderr, "regenerate: build/test_format_doc --write docs/model-format.md\n");
    CHECK(changed == 0 && unknown == 0);
    CHECK(undocumented(doc) == 0);
    free(out.s), free(doc);
}

/* The generator itself: a changed default shows in its row. */
TEST(rows_follow_the_schema)
{
    text t = {0};
    CHECK(generate("batchnorm", &t) == 0);
    CHECK(t.s && strstr(t.s, "| `momentum` |  | PyTorch convention") && strstr(t.s, "| 0.1 |") &&
          strstr(t.s, "| `epsilon` | `eps` |") && strstr(t.s, "| 1e-05 |"));
    free(t.s);
    t = (text){0};
    CHECK(generate("flatten", &t) == 0 && strstr(t.s, "No arguments"));
    free(t.s);
    CHECK(generate("no_such_layer", &t) < 0);
    t = (text){0};
    CHECK(generate("dense", &t) == 0 && strstr(t.s, "| `init` | `kernel_initializer` |") &&
          strstr(t.s, "| `glorot_uniform` |") && strstr(t.s, "| `bias_init` |"));
    free(t.s);
    t = (text){0};
    CHECK(generate("initializers", &t) == 0 &&
          strstr(t.s, "| `he_uniform` (kaiming_uniform) | U(-a, a), a = sqrt(6 / fan) |"));
    free(t.s);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write") == 0) {
        char *doc = read_doc(argv[2]);
        if (!doc)
            return fprintf(stderr, "%s: cannot read\n", argv[2]), 1;
        text out = {0};
        int changed, unknown;
        regenerate(doc, &out, &changed, &unknown);
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
        FILE *f = fopen(tmp, "wb");
        if (!f || fwrite(out.s, 1, out.n, f) != out.n || fclose(f) != 0 || rename(tmp, argv[2]))
            return fprintf(stderr, "%s: cannot write\n", argv[2]), 1;
        printf("%s: %d tables regenerated\n", argv[2], changed);
        return unknown || undocumented(out.s) ? 1 : 0;
    }
    RUN(doc_tables_match_schemas);
    RUN(rows_follow_the_schema);
    TEST_MAIN_END();
}
