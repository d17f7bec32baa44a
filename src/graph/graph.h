/* graph.h - running the graph through the op table: planning buffers for a batch size, and the
 * forward and backward passes (adding nodes is ops/node.h's). Sits above ops/ (it calls
 * fv_op_table); core/ keeps the node and parameter records it works on. */
#ifndef FV_GRAPH_H
#define FV_GRAPH_H

#include "core/internal.h"
#include "ops/node.h"

/* Sizes node buffers for up to `batch` samples (no-op if already large enough). The dy buffers
 * share memory by liveness: a node's dy holds its gradient only from its first writer's backward
 * to its own, and only the input node's survives the pass. */
fv_status fv_graph_plan(fv_model *m, int batch);
/* The same with share_grads = 0: every node keeps its own dy after the backward pass (for
 * inspecting intermediate gradients: Grad-CAM, deconvnet). */
fv_status fv_graph_plan_ex(fv_model *m, int batch, int share_grads);
/* Frees the planned buffers, so the next plan sizes them anew (after node shapes changed). */
void fv_graph_drop_plan(fv_model *m);
/* Runs nodes [0, upto] forward (upto = -1: all). */
void fv_graph_forward(fv_model *m, int batch, int upto);
/* After a forward over nodes [0, upto]: the first error their input values caused (an
 * embedding's token outside the vocabulary: fv_op_def.check), else FV_OK. */
fv_status fv_graph_check(const fv_model *m, int upto);
/* Zeroes the gradient slab and every node's dy (with shared buffers: those of nodes without
 * consumers; the others are zeroed by fv_graph_run_backward before their first writer). */
void fv_graph_zero_grads(fv_model *m, int batch);
/* Runs backward over nodes in reverse order from the dy values already set. */
void fv_graph_run_backward(fv_model *m, int batch);
/* The custom-loop backward (nn/loop.c) over nodes [0, end]: adds to the parameter gradients
 * (they are not cleared) and to node nodes[j]'s dy the given dy[j] (batch x size values). With
 * shared buffers a seed is added when its buffer becomes live, after its last consumer's backward
 * wrote it, so an inner node gets the sum of its seed and what later layers send. */
void fv_graph_backward_seeded(fv_model *m, int batch, int end, int k, const int *nodes,
                              const float *const *dy);
/* Recomputes which nodes need gradients (after m->input_grad changed) without replanning. */
void fv_graph_mark_grads(fv_model *m);
/* zero_grads, dy of the loss node = 1, run_backward. */
void fv_graph_backward(fv_model *m, int batch);

#endif /* FV_GRAPH_H */
