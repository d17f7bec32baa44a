/* write.c - proposal boxes saved as CSV (rank,x1,y1,x2,y2) or JSON ({"count": N, "boxes":
 * [[x1, y1, x2, y2], ...]}), best first, written to a temporary name and renamed. */
#include "io/io.h"
#include "proposals/proposals.h"

#include <string.h>

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n > m && strcmp(s + n - m, tail) == 0;
}

fv_status fv_proposals_save(const char *path, const fv_box *boxes, int64_t n)
{
    int csv = ends_with(path, ".csv"), json = ends_with(path, ".json");
    if (!csv && !json)
        return fv_err(FV_ERR_INVALID, "%s: proposals are saved as .csv or .json", path);
    if (n < 0 || (n > 0 && !boxes))
        return fv_err(FV_ERR_INVALID, "%s: no boxes to save", path);
    fv_atomic_file af;
    FV_TRY(fv_atomic_open(&af, path));
    FILE *f = af.f;
    if (csv)
        fputs("rank,x1,y1,x2,y2\n", f);
    else
        fprintf(f, "{\"count\": %lld, \"boxes\": [", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        const fv_box *b = &boxes[i];
        if (csv)
            fprintf(f, "%lld,%.9g,%.9g,%.9g,%.9g\n", (long long)i + 1, b->x1, b->y1, b->x2, b->y2);
        else
            fprintf(f, "%s[%.9g, %.9g, %.9g, %.9g]", i ? ",\n  " : "\n  ", b->x1, b->y1, b->x2,
                    b->y2);
    }
    if (json)
        fputs(n ? "\n]}\n" : "]}\n", f);
    return fv_atomic_commit(&af);
}
