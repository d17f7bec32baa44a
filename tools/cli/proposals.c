/* proposals.c - `fovea proposals IMAGE`: selective search's region proposals of one image as
 * DIR/boxes.csv and DIR/boxes.json (best first, --max N of them) and DIR/overlay.png (the top
 * boxes drawn on the image); the grouping runs' progress on stderr. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The overlay shows at most this many boxes: more hide the image. */
#define OVERLAY_BOXES 50

static void progress(void *ctx, int done, int total)
{
    (void)ctx;
    fprintf(stderr, "\rselective search: grouping run %d/%d", done, total);
    if (done == total)
        fputc('\n', stderr);
    fflush(stderr);
}

static int mode_of(const char *s, fv_proposal_mode *m)
{
    static const struct {
        const char *name;
        fv_proposal_mode mode;
    } t[] = {{"fast", FV_PROPOSALS_FAST}, {"quality", FV_PROPOSALS_QUALITY},
             {"single", FV_PROPOSALS_SINGLE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(s, t[i].name) == 0) {
            *m = t[i].mode;
            return 0;
        }
    return -1;
}

int cmd_proposals(const opts *o)
{
    fv_proposal_mode mode = FV_PROPOSALS_FAST;
    char msg[300], path[1100];
    if (o->npos != 1)
        return fail("proposals: give one IMAGE (PNG or JPEG)");
    if (o->mode && mode_of(o->mode, &mode) != 0) {
        snprintf(msg, sizeof msg, "proposals: unknown --mode '%.100s' (fast, quality or single)",
                 o->mode);
        return fail(msg);
    }
    const char *dir = o->out ? o->out : "runs/proposals";
    fv_tensor *img = fv_image_load(o->pos[0]);
    if (!img)
        return fail_lib();
    fv_box *boxes = NULL;
    int64_t n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fv_status st = fv_selective_search(img, &boxes, &n, .mode = mode, .seed = (uint64_t)o->seed,
                                       .progress = o->quiet ? NULL : progress);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int rc = st != FV_OK ? fail_lib() : make_dir(dir) != 0 ? fail("proposals: cannot create --out")
                                                             : 0;
    int64_t keep = o->max_boxes && o->max_boxes < n ? o->max_boxes : n;
    static const char *const names[] = {"boxes.csv", "boxes.json"};
    for (int i = 0; rc == 0 && i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (fv_proposals_save(path, boxes, keep) != FV_OK)
            rc = fail_lib();
    }
    snprintf(path, sizeof path, "%s/overlay.png", dir);
    if (rc == 0 && fv_draw_proposals(path, img, boxes,
                                     keep < OVERLAY_BOXES ? keep : OVERLAY_BOXES) != FV_OK)
        rc = fail_lib();
    if (rc == 0)
        printf("%lld proposals (%lld written) of %s in %.2f s (%s mode); %s/boxes.{csv,json}, "
               "%s/overlay.png\n",
               (long long)n, (long long)keep, o->pos[0],
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
               o->mode ? o->mode : "fast", dir, dir);
    free(boxes);
    fv_tensor_free(img);
    return rc;
}
