/* grid.h - what the grid ops (grid.c: affine_grid, tps_grid, grid_sample) share with the spatial
 * transformer layer (stn.c): their attributes, the text spellings of the shared arguments and
 * the TPS matrix kept in a node's saved buffer. */
#ifndef FV_OPS_GRID_H
#define FV_OPS_GRID_H

#include "kernels/ref/grid_ref.h"
#include "ops/schema.h"

typedef struct fv_grid_attr {
    int oh, ow;   /* the grid's size (0: the spatial transformer's input size) */
    int mode;     /* FV_GRID_MODE_* */
    int padding;  /* FV_GRID_PAD_* */
    int align;    /* align_corners */
    int points;   /* TPS control points per side (0: affine) */
} fv_grid_attr;
_Static_assert(sizeof(fv_grid_attr) <= sizeof(((fv_attr *)0)->raw), "fv_grid_attr fits fv_attr");

#define FV_AT_GRID(member) (FV_AT(raw) + (int)offsetof(fv_grid_attr, member))
#define FV_GRID_POINTS_MAX 8 /* 64 control points: the TPS system stays small */

static inline const fv_grid_attr *fv_grid_attr_of(const fv_attr *a)
{
    return (const fv_grid_attr *)a->raw;
}

extern const char *const fv_grid_mode_words[];
extern const char *const fv_grid_padding_words[];

/* The TPS matrix's size: at most 2^24 values (128 MiB), so that a hostile model file cannot
 * make a plan allocate more; an error naming the layer otherwise. */
fv_status fv_tps_check_size(const char *layer, int p, int64_t oh, int64_t ow);
/* Bytes of the TPS matrix and its solver's work for points p over an oh x ow grid. */
size_t fv_tps_saved_bytes(int p, int oh, int ow);
/* Solves the TPS system into saved (fv_tps_saved_bytes of it); returns the matrix. */
const double *fv_tps_prepare(void *saved, int p, int oh, int ow, int align);

/* The text arguments every grid layer shares (mode, padding_mode, align_corners, points). */
#define FV_GRID_FIELD_MODE                                                                     \
    {.key = "mode", .type = FV_FT_CHOICE, .words = fv_grid_mode_words,                         \
     .arg = FV_ARG(a.grid.mode), .attr = FV_AT_GRID(mode),                                     \
     .doc = "`bilinear` or `nearest` (round half to even)"}
#define FV_GRID_FIELD_PADDING                                                                  \
    {.key = "padding_mode", .type = FV_FT_CHOICE, .words = fv_grid_padding_words,              \
     .arg = FV_ARG(a.grid.padding), .attr = FV_AT_GRID(padding),                               \
     .doc = "`zeros`, `border` or `reflection`: what points outside the input read"}
#define FV_GRID_FIELD_ALIGN                                                                    \
    {.key = "align_corners", .type = FV_FT_BOOL, .arg = FV_ARG(a.grid.align_corners),          \
     .attr = FV_AT_GRID(align),                                                                \
     .doc = "-1 and 1 are the corner cells' centres (true) or outer edges (false, PyTorch's "  \
            "default)"}
#define FV_GRID_FIELD_SIZE(flags_)                                                             \
    {.key = "size", .type = FV_FT_PAIR, .flags = (flags_), .lo = 1, .hi = 4096,                \
     .arg = FV_ARG(a.grid.size), .arg_h = FV_ARG(a.grid.out_h), .arg_w = FV_ARG(a.grid.out_w), \
     .attr = FV_AT_GRID(oh), .attr_w = FV_AT_GRID(ow), .doc = "`N` or `H,W`: the grid's size"}

#endif
