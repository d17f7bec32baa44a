/* test_metrics.c - the classification metrics against scikit-learn's (tests/golden/
 * gen_metrics.py, float64 goldens read here directly so nothing passes through float32): every
 * figure and every curve within 1e-6; scikit-learn's documented curve examples; the errors; the
 * JSON and CSV files read back; and every allocation failing in turn. */
#include "io/io.h"
#include "failalloc.h"
#include "test.h"

#include <cjson/cJSON.h>
#include <unistd.h>

#define TOL 1e-6

/* ---------------------------------------------------------------- float64 goldens */

typedef struct golden {
    const char *name;
    unsigned char *buf;
    size_t len, base;
    cJSON *hdr;
    double *arrays[128];
    int narrays;
} golden;

static void golden_close(golden *g)
{
    for (int i = 0; i < g->narrays; i++)
        free(g->arrays[i]);
    cJSON_Delete(g->hdr);
    fv_free(g->buf);
}

static int golden_open(golden *g, const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "data/golden/metrics_%s.safetensors", name);
    memset(g, 0, sizeof *g);
    g->name = name;
    if (fv_read_file(t_src_path(rel), 1 << 24, &g->buf, &g->len) != FV_OK || g->len < 8)
        return 0;
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--)
        h = h << 8 | g->buf[i];
    if (h > g->len - 8)
        return 0;
    g->hdr = cJSON_ParseWithLength((const char *)g->buf + 8, (size_t)h);
    g->base = 8 + (size_t)h;
    return g->hdr != NULL;
}

/* Tensor `key` (F64) as an array of *count values owned by g; NULL (and a failure) if absent. */
static double *want(golden *g, const char *key, int64_t *count)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(g->hdr, key);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    size_t a = off ? (size_t)cJSON_GetArrayItem(off, 0)->valuedouble : 0;
    size_t b = off ? (size_t)cJSON_GetArrayItem(off, 1)->valuedouble : 0;
    if (!cJSON_IsString(dt) || strcmp(dt->valuestring, "F64") || b < a || (b - a) % 8 ||
        g->base + b > g->len || g->narrays == 128) {
        fprintf(stderr, "  %s: golden tensor %s missing or not F64\n", g->name, key);
        t_cur_failed = 1;
        return NULL;
    }
    double *v = malloc(b - a + 8);
    memcpy(v, g->buf + g->base + a, b - a);
    g->arrays[g->narrays++] = v;
    *count = (int64_t)((b - a) / 8);
    return v;
}

/* ---------------------------------------------------------------- comparisons */

static int same(double got, double exp)
{
    return (isnan(got) && isnan(exp)) || fabs(got - exp) <= TOL;
}

/* got[0..n) against the golden `key`, the same length and each within TOL (NaN matching NaN). */
static void expect_reals(golden *g, const char *key, const double *got, int64_t n)
{
    int64_t wn = 0;
    const double *w = want(g, key, &wn);
    if (!w)
        return;
    if (wn != n) {
        fprintf(stderr, "  %s: %s has %lld values, expected %lld\n", g->name, key,
                (long long)n, (long long)wn);
        t_cur_failed = 1;
        return;
    }
    for (int64_t i = 0; i < n; i++)
        if (!same(got[i], w[i])) {
            fprintf(stderr, "  %s: %s[%lld] = %.12g, expected %.12g\n", g->name, key,
                    (long long)i, got[i], w[i]);
            t_cur_failed = 1;
            return;
        }
}

static void expect_counts(golden *g, const char *key, const int64_t *got, int64_t n)
{
    double *d = malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++)
        d[i] = (double)got[i];
    expect_reals(g, key, d, n);
    free(d);
}

static void expect_curve(golden *g, const char *kind, const char *cls, const fv_curve *c)
{
    char kx[64], ky[64], kt[64];
    int roc = !strcmp(kind, "roc");
    snprintf(kx, sizeof kx, "%s_%s_%s", kind, cls, roc ? "fpr" : "recall");
    snprintf(ky, sizeof ky, "%s_%s_%s", kind, cls, roc ? "tpr" : "precision");
    snprintf(kt, sizeof kt, "%s_%s_thr", kind, cls);
    CHECK(c->nthresholds == (roc ? c->n : c->n - 1));
    expect_reals(g, kx, c->x, c->n);
    expect_reals(g, ky, c->y, c->n);
    expect_reals(g, kt, c->thresholds, c->nthresholds);
}

/* ---------------------------------------------------------------- the cases */

typedef struct inputs {
    double *scores;
    int *labels;
    int64_t n;
    int k, bins;
} inputs;

static int inputs_of(golden *g, inputs *in)
{
    int64_t ns = 0, nl = 0, nb = 0;
    double *s = want(g, "scores", &ns), *l = want(g, "labels", &nl), *b = want(g, "bins", &nb);
    if (!s || !l || !b || nl < 1 || ns % nl)
        return 0;
    *in = (inputs){s, malloc((size_t)nl * sizeof(int)), nl, (int)(ns / nl), (int)b[0]};
    for (int64_t i = 0; i < nl; i++)
        in->labels[i] = (int)l[i];
    return 1;
}

static void expect_metrics(golden *g, const fv_metrics *m)
{
    int64_t k = m->k;
    expect_reals(g, "accuracy", &m->accuracy, 1);
    expect_reals(g, "top_k", m->top_k, k);
    expect_counts(g, "confusion", m->confusion, k * k);
    expect_reals(g, "precision", m->precision, k);
    expect_reals(g, "recall", m->recall, k);
    expect_reals(g, "f1", m->f1, k);
    expect_counts(g, "support", m->support, k);
    expect_reals(g, "prf_macro", &m->macro.precision, 3);
    expect_reals(g, "prf_micro", &m->micro.precision, 3);
    expect_reals(g, "prf_weighted", &m->weighted.precision, 3);
    expect_reals(g, "auc", m->auc, k);
    expect_reals(g, "auc_macro", &m->auc_macro, 1);
    expect_reals(g, "auc_micro", &m->auc_micro, 1);
    expect_reals(g, "ap", m->ap, k);
    expect_reals(g, "ap_macro", &m->ap_macro, 1);
    expect_reals(g, "ap_micro", &m->ap_micro, 1);
    expect_reals(g, "log_loss", &m->log_loss, 1);
    expect_reals(g, "ece", &m->ece, 1);
    expect_counts(g, "bin_count", m->bin_count, m->bins);
    expect_reals(g, "bin_confidence", m->bin_confidence, m->bins);
    expect_reals(g, "bin_accuracy", m->bin_accuracy, m->bins);
}

static void expect_curves(golden *g, const inputs *in)
{
    for (int c = -1; c < in->k; c++) {
        char cls[16];
        snprintf(cls, sizeof cls, c < 0 ? "micro" : "%d", c);
        fv_curve roc, pr;
        CHECK_STATUS(fv_roc_curve(in->scores, in->labels, in->n, in->k, c, &roc), FV_OK);
        CHECK_STATUS(fv_pr_curve(in->scores, in->labels, in->n, in->k, c, &pr), FV_OK);
        expect_curve(g, "roc", cls, &roc);
        expect_curve(g, "pr", cls, &pr);
        fv_curve_free(&roc);
        fv_curve_free(&pr);
    }
}

static void check_case(const char *name)
{
    golden g;
    inputs in = {0};
    int before = t_cur_failed;
    if (golden_open(&g, name) && inputs_of(&g, &in)) {
        fv_metrics *m = fv_metrics_compute(in.scores, in.labels, in.n, in.k, .bins = in.bins);
        CHECK(m != NULL);
        if (m) {
            CHECK(m->n == in.n && m->k == in.k && m->bins == in.bins);
            expect_metrics(&g, m);
        }
        fv_metrics_free(m);
        expect_curves(&g, &in);
    } else {
        CHECK(!"golden file readable");
    }
    if (t_cur_failed && !before)
        fprintf(stderr, "  case %s\n", name);
    free(in.labels);
    golden_close(&g);
}

TEST(metrics_match_sklearn)
{
    check_case("multi");  /* k 4, ties, a class never predicted, zero probabilities */
    check_case("binary"); /* k 2: p1 > 0.5 rule, 0.5 ties, clipping both ways, 10 bins */
    check_case("absent"); /* a class never a label: NaN AUC, AP 0, recall 0 */
}

/* The examples of scikit-learn's roc_curve and precision_recall_curve docstrings. */
TEST(metrics_sklearn_doc_examples)
{
    const double p1[4] = {0.1, 0.4, 0.35, 0.8};
    double s[8];
    int y[4] = {0, 0, 1, 1};
    for (int i = 0; i < 4; i++)
        s[2 * i] = 1 - p1[i], s[2 * i + 1] = p1[i];
    fv_curve roc, pr;
    CHECK_STATUS(fv_roc_curve(s, y, 4, 2, 1, &roc), FV_OK);
    const double fpr[5] = {0, 0, 0.5, 0.5, 1}, tpr[5] = {0, 0.5, 0.5, 1, 1};
    const double thr[5] = {1.8, 0.8, 0.4, 0.35, 0.1};
    CHECK(roc.n == 5 && roc.nthresholds == 5);
    for (int i = 0; roc.n == 5 && i < 5; i++)
        CHECK(same(roc.x[i], fpr[i]) && same(roc.y[i], tpr[i]) &&
              same(roc.thresholds[i], thr[i]));
    CHECK_STATUS(fv_pr_curve(s, y, 4, 2, 1, &pr), FV_OK);
    const double prec[5] = {0.5, 2.0 / 3, 0.5, 1, 1}, rec[5] = {1, 1, 0.5, 0.5, 0};
    const double pthr[4] = {0.1, 0.35, 0.4, 0.8};
    CHECK(pr.n == 5 && pr.nthresholds == 4);
    for (int i = 0; pr.n == 5 && i < 5; i++)
        CHECK(same(pr.y[i], prec[i]) && same(pr.x[i], rec[i]) &&
              (i == 4 || same(pr.thresholds[i], pthr[i])));
    fv_curve_free(&roc);
    fv_curve_free(&pr);
    fv_curve_free(&roc); /* twice, and NULL: harmless */
    fv_curve_free(NULL);
    fv_metrics *m = fv_metrics_compute(s, y, 4, 2);
    CHECK(m && same(m->auc[1], 0.75) && same(m->auc[0], 0.75) && m->bins == 15);
    CHECK(m && same(m->ap[1], 0.5 * 1 + 0.5 * 2.0 / 3)); /* sklearn's docstring: 0.83 */
    fv_metrics_free(m);
    fv_metrics_free(NULL);
}

/* ---------------------------------------------------------------- errors */

static void expect_error(fv_metrics *m, const char *needle)
{
    CHECK(m == NULL);
    fv_metrics_free(m);
    CHECK_ERR_HAS(needle);
}

TEST(metrics_errors)
{
    double s[6] = {0.2, 0.8, 0.6, 0.4, 0.5, 0.5};
    int y[3] = {1, 0, 1};
    expect_error(fv_metrics_compute(s, y, 0, 2), "n = 0 samples");
    expect_error(fv_metrics_compute(s, y, 3, 1), "k = 1 classes");
    expect_error(fv_metrics_compute(NULL, y, 3, 2), "scores is NULL");
    expect_error(fv_metrics_compute(s, NULL, 3, 2), "labels is NULL");
    expect_error(fv_metrics_compute(s, y, 3, 2, .bins = -1), "bins = -1");
    y[2] = 2;
    expect_error(fv_metrics_compute(s, y, 3, 2),
                 "label 2 of sample 2 is outside 0..1");
    y[2] = -1;
    expect_error(fv_metrics_compute(s, y, 3, 2), "label -1 of sample 2");
    y[2] = 1;
    s[3] = NAN;
    expect_error(fv_metrics_compute(s, y, 3, 2),
                 "score of sample 1, class 1 is NaN");
    s[3] = INFINITY;
    expect_error(fv_metrics_compute(s, y, 3, 2), "is infinite");
    s[3] = 1.5;
    expect_error(fv_metrics_compute(s, y, 3, 2), "probabilities in [0, 1]");
    s[3] = 0.4;
    fv_curve c = {.n = 7};
    CHECK_STATUS(fv_roc_curve(s, y, 3, 2, 2, &c), FV_ERR_INVALID);
    CHECK_ERR_HAS("roc curve: class 2 is outside -1..1");
    CHECK(c.n == 0 && c.x == NULL);
    CHECK_STATUS(fv_pr_curve(s, y, 3, 2, -2, &c), FV_ERR_INVALID);
    CHECK_ERR_HAS("precision-recall curve: class -2");
    CHECK_STATUS(fv_pr_curve(s, y, 3, 2, 0, NULL), FV_ERR_INVALID);
    s[0] = NAN;
    CHECK_STATUS(fv_roc_curve(s, y, 3, 2, 0, &c), FV_ERR_NUMERIC);
    CHECK_ERR_HAS("sample 0, class 0 is NaN");
    CHECK(!strchr(fv_last_error(), '\n'));
    CHECK_STATUS(fv_metrics_write_json(NULL, NULL, "x.json"), FV_ERR_INVALID);
    CHECK_STATUS(fv_metrics_write_csv(NULL, NULL, "x.csv"), FV_ERR_INVALID);
}

/* ---------------------------------------------------------------- files */

static cJSON *read_json(const char *path)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    if (fv_read_file(path, 1 << 20, &buf, &len) != FV_OK)
        return NULL;
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    fv_free(buf);
    return j;
}

static double jnum(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsNull(v) ? NAN : -12345;
}

static void expect_json_class(const cJSON *cls, const fv_metrics *m, int c, const char *name)
{
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cls, "name");
    CHECK(cJSON_IsString(nm) && !strcmp(nm->valuestring, name));
    CHECK(same(jnum(cls, "precision"), m->precision[c]) && same(jnum(cls, "f1"), m->f1[c]));
    CHECK(same(jnum(cls, "recall"), m->recall[c]));
    CHECK(jnum(cls, "support") == (double)m->support[c]);
    CHECK(same(jnum(cls, "auc"), m->auc[c]) && same(jnum(cls, "average_precision"), m->ap[c]));
}

static void expect_json(const char *path, const fv_metrics *m, const char *const *names)
{
    cJSON *j = read_json(path);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK(jnum(j, "samples") == (double)m->n && jnum(j, "classes") == m->k);
    CHECK(same(jnum(j, "accuracy"), m->accuracy) && same(jnum(j, "log_loss"), m->log_loss));
    CHECK(same(jnum(j, "ece"), m->ece));
    const cJSON *mac = cJSON_GetObjectItemCaseSensitive(j, "macro");
    const cJSON *mic = cJSON_GetObjectItemCaseSensitive(j, "micro");
    CHECK(same(jnum(mac, "f1"), m->macro.f1) && same(jnum(mac, "auc"), m->auc_macro));
    CHECK(same(jnum(mic, "average_precision"), m->ap_micro));
    CHECK(same(jnum(cJSON_GetObjectItemCaseSensitive(j, "weighted"), "recall"),
               m->weighted.recall));
    const cJSON *per = cJSON_GetObjectItemCaseSensitive(j, "per_class");
    const cJSON *conf = cJSON_GetObjectItemCaseSensitive(j, "confusion_matrix");
    const cJSON *topk = cJSON_GetObjectItemCaseSensitive(j, "top_k_accuracy");
    CHECK(cJSON_GetArraySize(per) == m->k && cJSON_GetArraySize(conf) == m->k);
    CHECK(cJSON_GetArraySize(topk) == m->k);
    for (int c = 0; c < m->k && cJSON_GetArraySize(per) == m->k; c++) {
        char idx[16];
        snprintf(idx, sizeof idx, "%d", c);
        expect_json_class(cJSON_GetArrayItem(per, c), m, c, names ? names[c] : idx);
        const cJSON *row = cJSON_GetArrayItem(conf, c);
        for (int p = 0; p < m->k; p++)
            CHECK(cJSON_GetArrayItem(row, p)->valuedouble == (double)m->confusion[c * m->k + p]);
        CHECK(same(cJSON_GetArrayItem(topk, c)->valuedouble, m->top_k[c]));
    }
    const cJSON *cal = cJSON_GetObjectItemCaseSensitive(j, "calibration");
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(cal, "count");
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(cal, "accuracy");
    CHECK(jnum(cal, "bins") == m->bins && cJSON_GetArraySize(cnt) == m->bins);
    for (int b = 0; b < m->bins && cJSON_GetArraySize(cnt) == m->bins; b++)
        CHECK(cJSON_GetArrayItem(cnt, b)->valuedouble == (double)m->bin_count[b] &&
              same(cJSON_GetArrayItem(acc, b)->valuedouble, m->bin_accuracy[b]));
    cJSON_Delete(j);
}

/* Splits one CSV line into fields (quoted fields unquoted in place); returns the count. */
static int csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        f[n++] = p;
        int quoted = *p == '"';
        for (p += quoted; *p && (quoted || *p != ','); p++) {
            if (quoted && *p == '"' && p[1] != '"') {
                quoted = 0;
                continue;
            }
            *out++ = *p;
            p += *p == '"';
        }
        int end = !*p;
        *out = 0;
        if (end)
            break;
        p++;
    }
    return n;
}

static void expect_csv_row(char *line, const char *name, fv_prf p, int64_t sup, double auc,
                           double ap)
{
    char *f[8];
    int n = csv_split(line, f, 8);
    CHECK(n == 7);
    if (n != 7)
        return;
    CHECK(!strcmp(f[0], name));
    CHECK(same(strtod(f[1], NULL), p.precision) && same(strtod(f[2], NULL), p.recall));
    CHECK(same(strtod(f[3], NULL), p.f1) && strtoll(f[4], NULL, 10) == sup);
    CHECK(*f[5] ? same(strtod(f[5], NULL), auc) : isnan(auc));
    CHECK(*f[6] ? same(strtod(f[6], NULL), ap) : isnan(ap));
}

static void expect_csv(const char *path, const fv_metrics *m, const char *const *names)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK_STATUS(fv_read_file(path, 1 << 20, &buf, &len), FV_OK);
    char *lines[64], *save = NULL;
    int n = 0;
    for (char *l = strtok_r((char *)buf, "\n", &save); l && n < 64; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    CHECK(n == m->k + 4);
    if (buf && n == m->k + 4) {
        CHECK(!strcmp(lines[0], "class,precision,recall,f1,support,auc,average_precision"));
        for (int c = 0; c < m->k; c++)
            expect_csv_row(lines[1 + c], names[c], (fv_prf){m->precision[c], m->recall[c],
                           m->f1[c]}, m->support[c], m->auc[c], m->ap[c]);
        expect_csv_row(lines[m->k + 1], "macro avg", m->macro, m->n, m->auc_macro, m->ap_macro);
        expect_csv_row(lines[m->k + 2], "micro avg", m->micro, m->n, m->auc_micro, m->ap_micro);
        expect_csv_row(lines[m->k + 3], "weighted avg", m->weighted, m->n, NAN, NAN);
    }
    fv_free(buf);
}

static fv_metrics *golden_metrics(const char *name, inputs *in, golden *g)
{
    if (!golden_open(g, name) || !inputs_of(g, in))
        return NULL;
    return fv_metrics_compute(in->scores, in->labels, in->n, in->k, .bins = in->bins);
}

TEST(metrics_files)
{
    static const char *const names[4] = {"T-shirt/top", "a,b", "say \"hi\"", "\xc3\xa9t\xc3\xa9"};
    const char *jpath = "metrics_test.json", *cpath = "metrics_test.csv";
    golden g;
    inputs in = {0};
    fv_metrics *m = golden_metrics("absent", &in, &g); /* NaN AUCs: null in JSON, nan in CSV */
    CHECK(m && m->k == 4 && isnan(m->auc_macro));
    if (m) {
        CHECK_STATUS(fv_metrics_write_json(m, names, jpath), FV_OK);
        expect_json(jpath, m, names);
        CHECK_STATUS(fv_metrics_write_json(m, NULL, jpath), FV_OK);
        expect_json(jpath, m, NULL);
        CHECK_STATUS(fv_metrics_write_csv(m, names, cpath), FV_OK);
        expect_csv(cpath, m, names);
        CHECK_STATUS(fv_metrics_write_json(m, names, "no/such/dir/m.json"), FV_ERR_IO);
        CHECK_ERR_HAS("no/such/dir/m.json");
        CHECK_STATUS(fv_metrics_write_csv(m, names, "no/such/dir/m.csv"), FV_ERR_IO);
        char tmp[128];
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld", jpath, (long)getpid());
        CHECK(access(tmp, F_OK) != 0); /* no temporary left behind */
    }
    remove(jpath);
    remove(cpath);
    fv_metrics_free(m);
    free(in.labels);
    golden_close(&g);
}

/* ---------------------------------------------------------------- allocation failures */


/* Runs one entry point under an allocator failing after `budget` allocations. */
static int run_failing(const inputs *in, int which, int budget)
{
    fv_allocator al = {failing_alloc, plain_free, NULL};
    fv_curve c;
    fail_after = budget;
    fv_set_allocator(&al);
    fv_metrics *m = which == 0 ? fv_metrics_compute(in->scores, in->labels, in->n, in->k) : NULL;
    fv_status st = which == 0   ? (m ? FV_OK : FV_ERR_NOMEM)
                   : which == 1 ? fv_roc_curve(in->scores, in->labels, in->n, in->k, -1, &c)
                                : fv_pr_curve(in->scores, in->labels, in->n, in->k, 1, &c);
    fv_set_allocator(NULL);
    if (st == FV_OK && which)
        fv_curve_free(&c);
    fv_metrics_free(m);
    if (st != FV_OK)
        CHECK_ERR_HAS("out of memory");
    return st == FV_OK;
}

TEST(metrics_out_of_memory)
{
    golden g;
    inputs in = {0};
    CHECK(golden_open(&g, "multi") && inputs_of(&g, &in));
    for (int which = 0; in.labels && which < 3; which++) {
        int budget = 0;
        while (!run_failing(&in, which, budget) && budget < 200)
            budget++;
        CHECK(budget > 0 && budget < 200);
    }
    free(in.labels);
    golden_close(&g);
}

int main(void)
{
    RUN(metrics_match_sklearn);
    RUN(metrics_sklearn_doc_examples);
    RUN(metrics_errors);
    RUN(metrics_files);
    RUN(metrics_out_of_memory);
    TEST_MAIN_END();
}
