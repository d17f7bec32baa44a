/* darknet_tree.c - Darknet's word trees ([softmax] tree=FILE, darknet9000.cfg's 9k.tree): owns
 * fv_darknet_tree_parse (the file's lines into parents and sibling groups, as Darknet's
 * read_tree forms them) and fv_model_darknet_hierarchy (hierarchy_predictions with only the
 * leaves kept, as `classifier predict` calls it). The softmax itself is a segment softmax
 * (ops/segsoftmax.c) built by darknet_cfg.c. */
#include "formats/darknet.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DN_TREE_MAX 1000000 /* classes in one tree */

/* Line `no` (from 1) of `file`: "name parent" or "name". Darknet's sscanf("%s %d") reads the
 * first word and, after blanks, an integer if one is there (else the parent stays -1). */
static fv_status tree_line(const char *s, const char *end, const char *file, int no, int *parent)
{
    const char *p = s;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    while (p < end && *p != ' ' && *p != '\t' && *p != '\r')
        p++; /* the name */
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
        p++;
    *parent = -1;
    if (p == end)
        return FV_OK;
    char num[24];
    size_t k = 0;
    while (p < end && k < sizeof num - 1 && *p != ' ' && *p != '\t' && *p != '\r')
        num[k++] = *p++;
    num[k] = '\0';
    char *e;
    errno = 0;
    long v = strtol(num, &e, 10);
    if (e == num || *e || errno == ERANGE || v < -1 || v >= DN_TREE_MAX)
        return fv_err(FV_ERR_FORMAT, "%s:%d: expected 'name parent' with the parent a class "
                      "number or -1, got '%.40s'", file, no, num);
    *parent = (int)v;
    return FV_OK;
}

fv_status fv_darknet_tree_parse(const char *text, size_t len, const char *file, int **parent,
                                int *n, int **seg, int *nseg)
{
    *parent = *seg = NULL;
    *n = *nseg = 0;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    lines += len && text[len - 1] != '\n'; /* a last line without its newline counts */
    if (!lines)
        return fv_err(FV_ERR_FORMAT, "%s: an empty word tree", file);
    if (lines > DN_TREE_MAX)
        return fv_err(FV_ERR_FORMAT, "%s: more than %d classes", file, DN_TREE_MAX);
    *parent = fv_malloc(sizeof(int) * lines, "Darknet tree");
    *seg = fv_malloc(sizeof(int) * lines, "Darknet tree");
    if (!*parent || !*seg)
        return fv_err(FV_ERR_NOMEM, "%s: out of memory", file);
    const char *s = text, *end = text + len;
    int last = -1, run = 0;
    for (int no = 1; s < end; no++) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl : end;
        int par;
        FV_TRY(tree_line(s, e, file, no, &par));
        if (par != last && run) { /* a new group; Darknet's empty first one (a root's line */
            (*seg)[(*nseg)++] = run; /* not first) softmaxes nothing, so it is left out */
            run = 0;
        }
        last = par;
        run++;
        (*parent)[(*n)++] = par;
        s = nl ? nl + 1 : end;
    }
    (*seg)[(*nseg)++] = run;
    for (int i = 0; i < *n; i++)
        if ((*parent)[i] >= *n)
            return fv_err(FV_ERR_FORMAT, "%s:%d: parent %d is not a class (the tree has %d)",
                          file, i + 1, (*parent)[i], *n);
    return FV_OK;
}

fv_status fv_model_darknet_hierarchy(const fv_model *m, float *probs, int64_t n)
{
    const dn_net *net = fv_darknet_net(m);
    if (!net)
        return fv_err(FV_ERR_INVALID, "model '%s' was not built from a Darknet .cfg",
                      m ? m->name : "(null)");
    if (!net->tree_parent)
        return FV_OK;
    if (!probs || n != net->tree_n)
        return fv_err(FV_ERR_INVALID, "Darknet hierarchy: %lld values for a word tree of %d "
                      "classes", (long long)n, net->tree_n);
    const int *parent = net->tree_parent;
    for (int j = 0; j < net->tree_n; j++) /* in class order, in place: Darknet's */
        if (parent[j] >= 0)
            probs[j] *= probs[parent[j]];
    for (int j = 0; j < net->tree_n; j++)
        if (parent[j] >= 0)
            probs[parent[j]] = 0; /* an inner class: only the leaves are kept */
    return FV_OK;
}
