/* darknet.c - `fovea darknet`: Darknet networks from the command line. `table CFG` prints the
 * layer table as Darknet prints it when it loads the cfg; `predict DATA CFG WEIGHTS IMAGE...`
 * the top classes as `darknet classifier predict DATA CFG WEIGHTS IMAGE` prints them
 * ("%5.2f%%: name"; names= and top= of the Darknet .data file), the image letterboxed as Darknet
 * does (a word tree's probabilities multiplied down the tree, only leaves kept, as Darknet's
 * hierarchy_predictions); `probs CFG WEIGHTS IMAGE...` every class probability the network
 * gives, one "k p" line each (%.9g), for comparisons. `fovea predict X.cfg --weights X.weights IMAGE...` prints the top 5 as
 * "class k". */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

int is_darknet_weights(const char *path) { return path && ends_with(path, ".weights"); }

/* The cfg's model, compiled, with its weights. */
static fv_model *load(const char *cfg, const char *weights)
{
    fv_model *m = fv_model_load_darknet(cfg);
    if (!m || fv_model_compile(m) != FV_OK || fv_model_load_darknet_weights(m, weights) != FV_OK) {
        fv_model_free(m);
        fail_lib();
        return NULL;
    }
    return m;
}

/* The value of `key` in a Darknet .data file (key = value lines), copied into buf, or NULL. */
static const char *data_value(const char *data, const char *key, char *buf, size_t cap)
{
    FILE *f = data ? fopen(data, "r") : NULL;
    char line[1024];
    const char *found = NULL;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *o = line;
        for (char *p = line; *p; p++) /* Darknet strips every blank */
            if (!strchr(" \t\r\n", *p))
                *o++ = *p;
        *o = '\0';
        size_t k = strlen(key);
        if (strncmp(line, key, k) == 0 && line[k] == '=') {
            snprintf(buf, cap, "%s", line + k + 1);
            found = buf;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* Up to n class names from a file of one name a line (NULL entries where it has fewer). */
static char **read_names(const char *path, int n)
{
    char **names = calloc((size_t)n, sizeof *names);
    FILE *f = path ? fopen(path, "r") : NULL;
    if (path && !f) {
        free(names);
        return NULL;
    }
    char line[1024];
    for (int k = 0; names && f && k < n && fgets(line, sizeof line, f); k++) {
        line[strcspn(line, "\r\n")] = '\0';
        names[k] = strdup(line);
    }
    if (f)
        fclose(f);
    return names;
}

/* The probabilities (1, K) of one image, letterboxed to the network's input. */
static fv_tensor *probs_of(fv_model *m, const char *image)
{
    int64_t d[4];
    if (fv_node_shape(m, 0, d) != 3) {
        fail("darknet: the network's input is not an image");
        return NULL;
    }
    fv_tensor *img = fv_image_load(image), *x = NULL, *out = NULL;
    if (img && img->dims[1] != d[0]) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%.1000s: %lld channels, the network takes %lld", image,
                 (long long)img->dims[1], (long long)d[0]);
        fail(msg);
    } else if (!img || !(x = fv_image_darknet_letterbox(img, (int)d[2], (int)d[1])) ||
               fv_model_predict(m, x, &out) != FV_OK)
        fail_lib();
    fv_tensor_free(img);
    fv_tensor_free(x);
    return out;
}

static int predict(const char *cfg, const char *weights, const char *const *images, int n,
                   const char *labels, int top, int all)
{
    fv_model *m = load(cfg, weights);
    if (!m)
        return 1;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        fv_tensor *p = probs_of(m, images[i]);
        if (!p) {
            rc = 1;
            break;
        }
        int k = (int)fv_tensor_numel(p);
        /* a word tree's classes as `classifier predict` ranks them (probs: the network's) */
        if (!all && fv_model_darknet_hierarchy(m, p->data, k) != FV_OK) {
            rc = fail_lib();
            fv_tensor_free(p);
            break;
        }
        char **names = all ? NULL : read_names(labels, k);
        if (!all && !names)
            rc = fail(labels ? "darknet: cannot read the class names file" : "out of memory");
        if (all)
            for (int j = 0; j < k; j++)
                printf("%d %.9g\n", j, (double)p->data[j]);
        for (int r = 0; names && r < top && r < k; r++) { /* Darknet's top_k: the first of ties */
            int best = 0;
            for (int j = 1; j < k; j++)
                if (p->data[j] > p->data[best])
                    best = j;
            if (names[best])
                printf("%5.2f%%: %s\n", (double)p->data[best] * 100, names[best]);
            else
                printf("%5.2f%%: class %d\n", (double)p->data[best] * 100, best);
            p->data[best] = -1;
        }
        for (int j = 0; names && j < k; j++)
            free(names[j]);
        free(names);
        fv_tensor_free(p);
    }
    fv_model_free(m);
    return rc;
}

int darknet_predict(const opts *o)
{
    if (o->npos < 2 || !o->weights)
        return fail("predict: a Darknet network needs X.cfg --weights X.weights IMAGE...");
    return predict(o->pos[0], o->weights, o->pos + 1, o->npos - 1, NULL, 5, 0);
}

int cmd_darknet(const opts *o)
{
    const char *sub = o->npos ? o->pos[0] : "";
    if (strcmp(sub, "table") == 0 && o->npos == 2) {
        fv_model *m = fv_model_load_darknet(o->pos[1]);
        int rc = !m || fv_model_darknet_table(m, stdout) != FV_OK ? fail_lib() : 0;
        fv_model_free(m);
        return rc;
    }
    if (strcmp(sub, "probs") == 0 && o->npos >= 4)
        return predict(o->pos[1], o->pos[2], o->pos + 3, o->npos - 3, NULL, 0, 1);
    if (strcmp(sub, "predict") == 0 && o->npos >= 5) { /* as `darknet classifier predict` */
        char names[1024], top[32];
        const char *nf = data_value(o->pos[1], "names", names, sizeof names);
        if (!nf)
            nf = data_value(o->pos[1], "labels", names, sizeof names);
        int k = data_value(o->pos[1], "top", top, sizeof top) ? atoi(top) : 1;
        if (!nf)
            return fail("darknet predict: the .data file has no names= (or labels=) line");
        return predict(o->pos[2], o->pos[3], o->pos + 4, o->npos - 4, nf, k > 0 ? k : 1, 0);
    }
    return fail("darknet: expected 'table CFG', 'predict DATA CFG WEIGHTS IMAGE...' or 'probs "
                "CFG WEIGHTS IMAGE...'");
}
