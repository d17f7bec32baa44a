/* darknet.h - what the Darknet files share (formats/darknet_cfg.c builds, darknet_weights.c
 * loads, darknet_table.c prints): Darknet's layer table of a model built from a .cfg, kept in
 * the model's ext slot. Each Darknet layer (every section after [net]) has one row, numbered as
 * Darknet numbers them. */
#ifndef FV_FORMATS_DARKNET_H
#define FV_FORMATS_DARKNET_H
#include "core/internal.h"

typedef enum dn_kind {
    DN_CONV,
    DN_MAX,
    DN_AVG,
    DN_CONNECTED,
    DN_DROPOUT,
    DN_SOFTMAX,
    DN_ROUTE,
    DN_SHORTCUT,
    DN_UPSAMPLE,
    DN_CROP,
    DN_COST,
    DN_REORG,
} dn_kind;

#define DN_MAX_ROUTE 16 /* layers one [route] joins */

typedef struct dn_layer {
    dn_kind kind;
    int in_c, in_h, in_w;    /* the input as Darknet sees it (a vector: c = its length, h = w = 1) */
    int out_c, out_h, out_w; /* the output, read from fovea's node */
    int filters, size, stride, groups, bn; /* conv (connected: filters = outputs, bn) */
    float prob;              /* dropout */
    int extra;               /* reorg: zeros after the flattened input */
    int nroute, route[DN_MAX_ROUTE]; /* route: absolute layer indices; shortcut: route[0] */
    int node;                /* fovea's node holding the layer's output */
    int wnode, bnnode;       /* conv / connected node with the weights, its batch norm (or -1) */
} dn_layer;

typedef struct dn_net {
    int n;
    dn_layer *l;
    /* Darknet's net->hierarchy: the last [softmax]'s word tree (NULL: none), each class's
     * parent (-1: a root), tree_n classes; fv_model_darknet_hierarchy applies it. */
    int *tree_parent;
    int tree_n;
} dn_net;

/* Darknet's read_tree of a word-tree file's text (lines "name parent"; a missing parent is -1,
 * as its sscanf leaves it): each class's parent into *parent (fv_malloc'd, *n classes) and the
 * lengths of its groups (runs of consecutive lines with one parent; the softmax runs over each)
 * into *seg (fv_malloc'd, *nseg). Errors name `file` and the line. */
fv_status fv_darknet_tree_parse(const char *text, size_t len, const char *file, int **parent,
                                int *n, int **seg, int *nseg);

/* The model's Darknet table, or NULL (not built from a .cfg). */
const dn_net *fv_darknet_net(const fv_model *m);

/* Whether text (a file's bytes) is a Darknet cfg: its first section, after blank and comment
 * lines, is [net] or [network]. fv_model_load_file dispatches on it. */
int fv_darknet_text(const char *text, size_t len);

#endif
