/* test_frcnn_rpn.c - Faster R-CNN's pieces against torchvision 0.14 (tests/golden/gen_frcnn.py):
 * the RPN's proposals (decode, clip, remove small, NMS 0.7, top-N), the anchor labels (Matcher
 * with low-quality matches), the RPN's loss and Fast R-CNN's loss (fastrcnn_loss) with autograd's
 * gradients; and both losses against double-precision finite differences. */
#include "core/internal.h"
#include "detect/roi_head.h"
#include "gradcheck.h"
#include "io/io.h"
#include "test.h"

#include <string.h>

static fv_st_file *golden(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "data/golden/frcnn_%s.safetensors", name);
    fv_st_file *f = fv_st_open(t_src_path(rel));
    CHECK(f != NULL);
    return f;
}

static double *to_double(const fv_tensor *t)
{
    int64_t n = fv_tensor_numel(t);
    double *d = malloc(sizeof(double) * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        d[i] = t->data[i];
    return d;
}

TEST(proposals_golden)
{
    fv_st_file *f = golden("proposals");
    if (!f)
        return;
    fv_tensor *an = fv_st_get(f, "anchors"), *obj = fv_st_get(f, "obj");
    fv_tensor *dl = fv_st_get(f, "deltas"), *bx = fv_st_get(f, "boxes");
    fv_tensor *sc = fv_st_get(f, "scores");
    fv_st_close(f);
    CHECK(an && obj && dl && bx && sc);
    if (an && obj && dl && bx && sc) {
        int na = (int)an->dims[0], want = (int)bx->dims[0], n = 0;
        fv_box out[100];
        float s[100];
        CHECK(want > 20 && want <= 100);
        CHECK_STATUS(fv_rpn_proposals((const fv_box *)an->data, na, obj->data, dl->data, 64, 64,
                                      300, 100, 0.7, out, s, &n),
                     FV_OK);
        CHECK(n == want);
        for (int i = 0; i < n && n == want; i++) {
            CHECK_NEAR(out[i].x1, bx->data[4 * i], 1e-4, 1e-5);
            CHECK_NEAR(out[i].y1, bx->data[4 * i + 1], 1e-4, 1e-5);
            CHECK_NEAR(out[i].x2, bx->data[4 * i + 2], 1e-4, 1e-5);
            CHECK_NEAR(out[i].y2, bx->data[4 * i + 3], 1e-4, 1e-5);
            CHECK_NEAR(s[i], sc->data[i], 1e-6, 1e-6);
        }
    }
    fv_tensor_free(an), fv_tensor_free(obj), fv_tensor_free(dl), fv_tensor_free(bx);
    fv_tensor_free(sc);
}

TEST(matcher_golden)
{
    fv_st_file *f = golden("matcher");
    if (!f)
        return;
    fv_tensor *an = fv_st_get(f, "anchors"), *tr = fv_st_get(f, "truth");
    fv_tensor *lb = fv_st_get(f, "labels"), *mt = fv_st_get(f, "matched");
    fv_st_close(f);
    CHECK(an && tr && lb && mt);
    if (an && tr && lb && mt) {
        int na = (int)an->dims[0], ngt = (int)tr->dims[0];
        fv_det_object gt[8];
        for (int j = 0; j < ngt; j++)
            gt[j] = (fv_det_object){.box = ((const fv_box *)tr->data)[j], .cls = j};
        int *labels = malloc(sizeof(int) * (size_t)na), *match = malloc(sizeof(int) * (size_t)na);
        CHECK_STATUS(fv_rpn_label((const fv_box *)an->data, na, gt, ngt, 0.7f, 0.3f, labels, match),
                     FV_OK);
        int pos = 0, bad = 0;
        for (int i = 0; i < na; i++) {
            pos += labels[i] == 1;
            bad += labels[i] != (int)lb->data[i];
            bad += labels[i] == 1 && match[i] != (int)mt->data[i];
        }
        CHECK(pos >= ngt); /* each truth has its best anchors */
        CHECK(bad == 0);
        free(labels), free(match);
    }
    fv_tensor_free(an), fv_tensor_free(tr), fv_tensor_free(lb), fv_tensor_free(mt);
}

TEST(rpn_loss_golden)
{
    fv_st_file *f = golden("rpn_loss");
    if (!f)
        return;
    fv_tensor *o = fv_st_get(f, "obj"), *d = fv_st_get(f, "deltas"), *t = fv_st_get(f, "targets");
    fv_tensor *l = fv_st_get(f, "labels"), *ls = fv_st_get(f, "loss");
    fv_tensor *go = fv_st_get(f, "dobj"), *gd = fv_st_get(f, "ddeltas");
    fv_st_close(f);
    CHECK(o && d && t && l && ls && go && gd);
    if (o && d && t && l && ls && go && gd) {
        int n = (int)o->dims[0];
        double *od = to_double(o), *dd = to_double(d), *td = to_double(t);
        double *g1 = malloc(sizeof(double) * (size_t)n), *g2 = malloc(sizeof(double) * 4 * (size_t)n);
        int *lab = malloc(sizeof(int) * (size_t)n);
        for (int i = 0; i < n; i++)
            lab[i] = (int)l->data[i];
        double cls, box;
        double tot = fv_rpn_loss(od, dd, n, lab, td, g1, g2, &cls, &box);
        CHECK_NEAR(cls, ls->data[0], 1e-6, 1e-5);
        CHECK_NEAR(box, ls->data[1], 1e-6, 1e-5);
        CHECK_NEAR(tot, cls + box, 1e-12, 0);
        for (int i = 0; i < n; i++)
            CHECK_NEAR(g1[i], go->data[i], 1e-7, 1e-5);
        for (int i = 0; i < 4 * n; i++)
            CHECK_NEAR(g2[i], gd->data[i], 1e-7, 1e-5);
        free(od), free(dd), free(td), free(g1), free(g2), free(lab);
    }
    fv_tensor_free(o), fv_tensor_free(d), fv_tensor_free(t), fv_tensor_free(l);
    fv_tensor_free(ls), fv_tensor_free(go), fv_tensor_free(gd);
}

TEST(head_loss_golden)
{
    fv_st_file *f = golden("head_loss");
    if (!f)
        return;
    fv_tensor *lg = fv_st_get(f, "logits"), *d = fv_st_get(f, "deltas");
    fv_tensor *l = fv_st_get(f, "labels"), *t = fv_st_get(f, "targets");
    fv_tensor *ls = fv_st_get(f, "loss"), *gl = fv_st_get(f, "dlogits");
    fv_tensor *gd = fv_st_get(f, "ddeltas");
    fv_st_close(f);
    CHECK(lg && d && l && t && ls && gl && gd);
    if (lg && d && l && t && ls && gl && gd) {
        int k = (int)lg->dims[0], k1 = (int)lg->dims[1];
        double *ld = to_double(lg), *dd = to_double(d), *td = to_double(t);
        double *g1 = malloc(sizeof(double) * (size_t)(k * k1));
        double *g2 = malloc(sizeof(double) * 4 * (size_t)(k * k1));
        int *lab = malloc(sizeof(int) * (size_t)k);
        for (int i = 0; i < k; i++)
            lab[i] = (int)l->data[i];
        double cls, box;
        fv_rh_loss(ld, dd, k, k1, lab, td, g1, g2, &cls, &box);
        CHECK_NEAR(cls, ls->data[0], 1e-6, 1e-5);
        CHECK_NEAR(box, ls->data[1], 1e-6, 1e-5);
        for (int i = 0; i < k * k1; i++)
            CHECK_NEAR(g1[i], gl->data[i], 1e-7, 1e-5);
        for (int i = 0; i < 4 * k * k1; i++)
            CHECK_NEAR(g2[i], gd->data[i], 1e-7, 1e-5);
        free(ld), free(dd), free(td), free(g1), free(g2), free(lab);
    }
    fv_tensor_free(lg), fv_tensor_free(d), fv_tensor_free(l), fv_tensor_free(t);
    fv_tensor_free(ls), fv_tensor_free(gl), fv_tensor_free(gd);
}

/* ---------------------------------------------------------------- finite differences */

enum { K = 6, K1 = 4, NA = 9 };
static const int head_labels[K] = {0, 2, 0, 3, 1, 0};
static const int anchor_labels[NA] = {1, 0, -1, 1, 0, 0, -1, 1, 0};
static double targets[4 * NA];

/* x = logits (K K1) then deltas (4 K K1); y = the loss */
static void head_fwd(void *ctx, double *y)
{
    double *x = ctx;
    y[0] = fv_rh_loss(x, x + K * K1, K, K1, head_labels, targets, NULL, NULL, NULL, NULL);
}

static void rpn_fwd(void *ctx, double *y)
{
    double *x = ctx;
    y[0] = fv_rpn_loss(x, x + NA, NA, anchor_labels, targets, NULL, NULL, NULL, NULL);
}

TEST(losses_finite_differences)
{
    unsigned seed = 3;
    gc_fill(targets, 4 * NA, -0.5, 0.5, &seed);
    double x[K * K1 * 5], g[K * K1 * 5], r = 1;
    gc_fill(x, K * K1 * 5, -1, 1, &seed);
    /* deltas away from the smooth L1's kinks at target +- 1/9 */
    for (int i = 0; i < K; i++)
        for (int j = 0; j < 4; j++) {
            double *v = &x[K * K1 + (i * K1 + head_labels[i]) * 4 + j];
            if (fabs(*v - targets[4 * i + j] - 1.0 / 9) < 0.02 ||
                fabs(*v - targets[4 * i + j] + 1.0 / 9) < 0.02)
                *v += 0.05;
        }
    fv_rh_loss(x, x + K * K1, K, K1, head_labels, targets, g, g + K * K1, NULL, NULL);
    CHECK(gc_compare(x, head_fwd, x, K * K1 * 5, 1, &r, g, GC_H) < GC_TOL);
    double a[NA * 5], ga[NA * 5];
    gc_fill(a, NA * 5, -1, 1, &seed);
    a[NA] = targets[0] + 0.05; /* one delta in the quadratic part */
    fv_rpn_loss(a, a + NA, NA, anchor_labels, targets, ga, ga + NA, NULL, NULL);
    CHECK(gc_compare(a, rpn_fwd, a, NA * 5, 1, &r, ga, GC_H) < GC_TOL);
}

int main(void)
{
    RUN(proposals_golden);
    RUN(matcher_golden);
    RUN(rpn_loss_golden);
    RUN(head_loss_golden);
    RUN(losses_finite_differences);
    TEST_MAIN_END();
}
