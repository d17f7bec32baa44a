/* node.h - adding graph nodes through the op table's shape inference (ops/node.c), and a check
 * the ops' shape inference shares. */
#ifndef FV_OPS_NODE_H
#define FV_OPS_NODE_H

#include "core/internal.h"

/* Adds a node of op `op` reading ins[0..nin) with attributes a: names it (name or "<stem><k>"),
 * runs infer, and rolls back on error. Returns the node id or -1. */
int fv_graph_add(fv_model *m, fv_op op, int nin, const int *ins, const fv_attr *a,
                 const char *name);
/* Adds an input node of one sample's shape dims[0..ndim). */
int fv_graph_add_input(fv_model *m, int ndim, const int64_t *dims, const char *name);
/* Runs node id's shape inference again after its attributes or its inputs' shapes changed (a
 * replaced head): its shape is recomputed and its parameters declared anew into the same slots of
 * the parameter table (names, shapes, initialisers; offsets are left to the caller). The op must
 * declare as many parameters as before. On error the node and its parameters are as before. */
fv_status fv_graph_reinfer(fv_model *m, int id);
/* Resolves FV_LAST and checks an input id; returns the id or -1 with an error. */
int fv_graph_resolve(fv_model *m, int in, const char *layer);
/* For an op's infer: FV_OK when input x is an image (channels, height, width), else an error
 * "layer 'N': <what> needs a (channels, height, width) input, got ..." (what NULL: none). */
fv_status fv_need_chw(const fv_node *n, const fv_node *x, const char *what);

/* A copy of v[0..n) kept by the model until it is freed (for attributes too long for fv_attr:
 * nodes hold the pointer); NULL with an error when out of memory. */
const int *fv_model_keep_ints(fv_model *m, const int *v, int n);

#endif /* FV_OPS_NODE_H */
