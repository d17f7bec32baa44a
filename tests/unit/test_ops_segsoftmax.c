/* test_ops_segsoftmax.c - the segment softmax (Darknet's word-tree softmax): gradient checks of
 * the double kernels, PyTorch goldens (tests/golden/gen_segsoftmax.py), each segment summing to
 * 1 on its own, the text format (reading, writing with its long list, summary) and its errors. */
#include "core/internal.h"
#include "gradcheck.h"
#include "kernels/ref/segsoftmax_ref.h"
#include "optest.h"
#include "test.h"

#include <stdlib.h>

typedef struct ss_ctx {
    const int *seg;
    int nseg;
    long size;
    double *x;
} ss_ctx;

static void ss_fwd(void *ctx, double *y)
{
    ss_ctx *c = ctx;
    fv_ref_segsoftmax_fwd_f64(c->seg, c->nseg, c->size, 2, c->x, y);
}

TEST(segsoftmax_gradcheck)
{
    static const int s1[] = {3, 1, 4, 2}, s2[] = {10}, s3[] = {2, 2, 2, 2, 2};
    static const struct {
        const int *seg;
        int n;
    } cases[] = {{s1, 4}, {s2, 1}, {s3, 5}};
    unsigned seed = 23;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double x[20], r[20], y[20], dx[20], base[20], acc[20], ow[20];
        gc_fill(x, 20, -3, 3, &seed);
        gc_fill(r, 20, -1, 1, &seed);
        gc_fill(base, 20, -1, 1, &seed);
        ss_ctx c = {.seg = cases[i].seg, .nseg = cases[i].n, .size = 10, .x = x};
        ss_fwd(&c, y);
        memset(dx, 0, sizeof dx);
        fv_ref_segsoftmax_bwd_f64(c.seg, c.nseg, 10, 2, y, r, dx, 0);
        CHECK(gc_compare(&c, ss_fwd, x, 20, 20, r, dx, GC_H) <= GC_TOL);
        /* overwrite writes every value; accumulate adds to what is there */
        memcpy(acc, base, sizeof base);
        memcpy(ow, base, sizeof base);
        fv_ref_segsoftmax_bwd_f64(c.seg, c.nseg, 10, 2, y, r, ow, 1);
        fv_ref_segsoftmax_bwd_f64(c.seg, c.nseg, 10, 2, y, r, acc, 0);
        for (int k = 0; k < 20; k++) {
            CHECK_NEAR(ow[k], dx[k], 0, 0);
            CHECK_NEAR(acc[k], base[k] + dx[k], 1e-15, 0);
        }
        /* each segment of each sample sums to 1 */
        for (int nb = 0, at = 0; nb < 2; nb++)
            for (int s = 0; s < c.nseg; s++) {
                double sum = 0;
                for (int k = 0; k < c.seg[s]; k++)
                    sum += y[at++];
                CHECK_NEAR(sum, 1.0, 1e-12, 0);
            }
    }
}

TEST(segsoftmax_matches_pytorch)
{
    static const ot_text_case cases[] = {
        {"segsoftmax_vec", "segment_softmax segments=3,1,4,2", 1, {10}},
        {"segsoftmax_map", "SegmentSoftmax segments=(5,7,12)", 3, {2, 3, 4}},
        {"segsoftmax_one", "segment_softmax segments=6", 1, {6}},
    };
    ot_golden_text_cases(cases, sizeof cases / sizeof cases[0], 1e-6, 1e-5);
    /* the C call copies the lengths: the caller's array may change afterwards */
    fv_model *m = fv_model_new("ss");
    int segs[] = {3, 1, 4, 2};
    int in = fv_input(m, .ndim = 1, .dims = {10});
    int out = fv_segment_softmax(m, in, .nsegments = 4, .segments = segs);
    segs[0] = 99;
    ot_golden_layer(m, in, out, "segsoftmax_vec", 1e-6, 1e-5);
}

/* A list longer than the old 1024-character line: written and read back the same. */
TEST(segsoftmax_text_format)
{
    enum { N = 1500 };
    int *segs = malloc(sizeof(int) * N);
    int64_t total = 0;
    for (int k = 0; k < N; k++)
        total += segs[k] = 1 + k % 7;
    fv_model *m = fv_model_new("ss");
    int in = fv_input(m, .ndim = 1, .dims = {total});
    int out = fv_segment_softmax(m, in, .nsegments = N, .segments = segs, .name = "tree");
    CHECK(out > 0);
    char *t = out > 0 ? fv_model_to_text(m) : NULL;
    CHECK(t && strstr(t, "\nsegment_softmax segments=1,2,3,4,5,6,7,1,2,"));
    fv_model *m2 = t ? fv_model_parse(t, "ss2.fv") : NULL;
    if (!m2)
        fprintf(stderr, "%s\n", fv_last_error());
    char *t2 = m2 ? fv_model_to_text(m2) : NULL;
    CHECK(t && t2 && strcmp(t, t2) == 0);
    char *buf = m2 ? ot_summary(m2) : NULL;
    CHECK(buf && strstr(buf, "tree (SegmentSoftmax)"));
    free(buf), free(t), free(t2), free(segs);
    fv_model_free(m2);
    fv_model_free(m);
}

TEST(segsoftmax_errors)
{
    static const ot_refusal bad[] = {
        {"segment_softmax segments=3,4", "layer 'segment_softmax1': its 2 segments cover 7 "
                                         "values, but input 'input1'"},
        {"segment_softmax segments=3,0,7", "ss.fv:2: segments=3,0,7: expected comma-separated "
                                           "integers in 1.."},
        {"segment_softmax segments=3,,7", "expected comma-separated integers"},
        {"segment_softmax segments=x", "expected comma-separated integers"},
        {"segment_softmax", "ss.fv:2: segment_softmax: missing required argument 'segments'"},
        {"segment_softmax segments=10 segments=10", "given twice"},
    };
    OT_PARSE_REFUSED("input shape=10\n", "ss.fv", NULL, bad);
    fv_model *m = fv_model_new("e");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    CHECK(fv_segment_softmax(m, x, .nsegments = 0) < 0);
    CHECK_ERR_HAS("segments: 0 values (expected 1..16384)");
    int neg[] = {5, -1};
    CHECK(fv_segment_softmax(m, x, .nsegments = 2, .segments = neg, .name = "n") < 0);
    CHECK_ERR_HAS("layer 'n': segments=-1 must be");
    fv_model_free(m);
    ot_zero_attr_refused(FV_OP_SEGMENT_SOFTMAX, 1, (const int64_t[]){4}, "layer 'raw': 0 segments");
}

int main(void)
{
    RUN(segsoftmax_gradcheck);
    RUN(segsoftmax_matches_pytorch);
    RUN(segsoftmax_text_format);
    RUN(segsoftmax_errors);
    TEST_MAIN_END();
}
