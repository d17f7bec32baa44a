/* test_csv.c - CSV data sets (fv_dataset_load_csv): headers found or not, targets by name and
 * index, class labels as whole numbers or names, regression targets, RFC 4180 quoting, CRLF,
 * byte-order marks, blank lines, --limit, a test split labelled with the training classes, and
 * every malformed input an error of one line naming the file, line and column; memory bounded
 * by the data limit; fv_dataset_split. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>

/* The set of a CSV file holding text (written to in.csv). */
static fv_dataset *load(const char *text, fv_vec_args a)
{
    t_write_at("in.csv", text, strlen(text));
    return fv_dataset_load_csv_(t_path("in.csv"), a);
}

/* The file is refused with one line naming it and holding needle. */
static void fails(const char *text, fv_vec_args a, const char *needle)
{
    fv_clear_error();
    fv_dataset *d = load(text, a);
    CHECK(d == NULL);
    CHECK(strncmp(fv_last_error(), t_path("in.csv"), strlen(t_path("in.csv"))) == 0);
    CHECK(!strchr(fv_last_error(), '\n'));
    CHECK_ERR_HAS(needle);
    fv_dataset_free(d);
}

static int name_is(const fv_dataset *d, int k, const char *s)
{
    const char *n = fv_dataset_class_name(d, k);
    return n && strcmp(n, s) == 0;
}

TEST(header_and_string_labels)
{
    /* a header, quoted labels (one with a comma and a quote), CRLF, a BOM, blank lines */
    fv_dataset *d = load("\xEF\xBB\xBF" "f1, f2 ,species\r\n"
                         "1.5,2,\"virginica\"\r\n\r\n"
                         " -3 , 4e-1 ,setosa\r\n"
                         "0,.5,\"a, \"\"b\"\"\"\r\n\n",
                         (fv_vec_args){0});
    CHECK(d != NULL);
    if (!d)
        return;
    CHECK(d->x->ndim == 2 && d->x->dims[0] == 3 && d->x->dims[1] == 2);
    CHECK(d->y->ndim == 1 && d->y->dims[0] == 3 && d->num_classes == 3);
    CHECK(d->x->data[0] == 1.5f && d->x->data[1] == 2.0f && d->x->data[2] == -3.0f &&
          d->x->data[3] == 0.4f && d->x->data[5] == 0.5f);
    /* classes in strcmp order: "a, \"b\"" < "setosa" < "virginica" */
    CHECK(name_is(d, 0, "a, \"b\"") && name_is(d, 1, "setosa") && name_is(d, 2, "virginica"));
    CHECK(d->y->data[0] == 2.0f && d->y->data[1] == 1.0f && d->y->data[2] == 0.0f);
    CHECK(strcmp(d->name, "in.csv") == 0);
    fv_dataset_free(d);
}

TEST(whole_number_labels_and_targets)
{
    /* no header (every cell a number); whole-number labels are the class indices */
    fv_dataset *d = load("1,2,3\n4,5,0\n7,8,1.0\n", (fv_vec_args){0});
    CHECK(d && d->num_classes == 4 && d->y->data[0] == 3 && d->y->data[2] == 1);
    CHECK(d && name_is(d, 0, "0") && name_is(d, 3, "3"));
    fv_dataset_free(d);
    /* the target by index (0 and -3 are the same column) and by name */
    d = load("1,2,3\n0,5,6\n", (fv_vec_args){.target = "0"});
    CHECK(d && d->num_classes == 2 && d->y->data[0] == 1 && d->x->data[0] == 2 &&
          d->x->data[1] == 3);
    fv_dataset_free(d);
    d = load("1,2,3\n0,5,6\n", (fv_vec_args){.target = "-3"});
    CHECK(d && d->y->data[1] == 0 && d->x->data[2] == 5);
    fv_dataset_free(d);
    d = load("y,a\n2.5,1\n-1,2\n", (fv_vec_args){.target = "y", .regression = 1});
    CHECK(d && d->y->ndim == 2 && d->y->dims[1] == 1 && d->y->data[0] == 2.5f &&
          d->y->data[1] == -1.0f && d->num_classes == 0 && d->x->data[1] == 2.0f);
    fv_dataset_free(d);
    /* a header named by number is still found by name; .header -1 reads row 1 as data */
    d = load("3,x,1\n0,5,6\n", (fv_vec_args){.target = "3", .regression = 1});
    CHECK(d && d->x->dims[0] == 1 && d->y->data[0] == 0);
    fv_dataset_free(d);
    d = load("1,2,3\n4,5,6\n", (fv_vec_args){.header = -1, .regression = 1});
    CHECK(d && d->x->dims[0] == 2);
    fv_dataset_free(d);
    d = load("1,2,3\n4,5,6\n", (fv_vec_args){.header = 1, .regression = 1});
    CHECK(d && d->x->dims[0] == 1 && d->y->data[0] == 6);
    fv_dataset_free(d);
    /* an empty header cell (pandas' index column) still makes a header */
    d = load(",a,y\n1,2,3\n", (fv_vec_args){.regression = 1});
    CHECK(d && d->x->dims[0] == 1 && d->x->dims[1] == 2);
    fv_dataset_free(d);
    /* the first `limit` rows only: a later bad row is not read */
    d = load("a,y\n1,0\n2,1\n3,x\n", (fv_vec_args){.limit = 2});
    CHECK(d && d->x->dims[0] == 2 && d->num_classes == 2);
    fv_dataset_free(d);
}

TEST(test_split_takes_training_classes)
{
    fv_dataset *tr = load("a,y\n1,cat\n2,dog\n3,emu\n", (fv_vec_args){0});
    CHECK(tr && tr->num_classes == 3);
    if (!tr)
        return;
    fv_dataset *te = load("a,y\n1,emu\n2,cat\n", (fv_vec_args){.classes = tr});
    CHECK(te && te->num_classes == 3 && te->y->data[0] == 2 && te->y->data[1] == 0);
    CHECK(te && name_is(te, 1, "dog"));
    fv_dataset_free(te);
    fails("a,y\n1,emu\n2,gnu\n", (fv_vec_args){.classes = tr},
          "line 3, column 2: label 'gnu' is not one of the 3 classes of 'in.csv'");
    fv_dataset_free(tr);
    /* whole-number classes: a test label below the count */
    tr = load("a,y\n1,0\n2,4\n", (fv_vec_args){0});
    te = load("a,y\n1,3\n", (fv_vec_args){.classes = tr});
    CHECK(tr && te && te->num_classes == 5 && te->y->data[0] == 3);
    fv_dataset_free(te);
    fails("a,y\n1,5\n", (fv_vec_args){.classes = tr}, "label '5' is not one of the 5 classes");
    fv_dataset_free(tr);
}

TEST(malformed_cells)
{
    fv_vec_args cls = {0}, reg = {.regression = 1};
    fails("a,b,y\n1,2,3\n1,2\n", cls, "line 3 has 2 fields, expected 3 (as on line 1)");
    fails("a,b,y\n1,2,3\n1,2,3,4\n", cls, "line 3 has 4 fields, expected 3");
    fails("a,b,y\n1,x,3\n", cls, "line 2, column 2 (b): 'x' is not a number");
    fails("a,b,y\n1,NaN,3\n", cls, "column 2 (b): 'NaN' is not finite");
    fails("a,b,y\n1,-inf,3\n", cls, "'-inf' is not finite");
    fails("a,b,y\n1,2,Infinity\n", reg, "column 3 (y): 'Infinity' is not finite");
    fails("a,b,y\n1,1e39,3\n", cls, "'1e39' is beyond the range of float");
    fails("a,b,y\n1,0x10,3\n", cls, "'0x10' is not a number");
    fails("a,b,y\n1,1e,3\n", cls, "'1e' is not a number");
    fails("a,b,y\n1,,3\n", cls, "line 2, column 2 (b): an empty cell");
    fails("1,2,3\n4,5,\n", reg, "line 2, column 3: an empty cell");
    fails("a,y\n1,\n", cls, "an empty label");
    fails("a,y\n1,2.5\n2,0\n", cls, "line 2, column 2: label '2.5' is not a class index");
    fails("a,y\n1,-1\n", cls, "label '-1' is not a class index");
    fails("a,y\n1,70000\n", cls, "label '70000' is not a class index");
    fails("a,b,y\n1,\"2,3\n4,5,6\n", cls, ": the quote opened on line 2 is never closed");
    fails("a,b,y\n1,\"2\" x,3\n", cls, "line 2, column 2: text after a closing quote");
    fails("", cls, "empty file");
    fails("\n\n  \n", cls, "empty file");
    fails("a,b,y\n", cls, "no data rows");
    fails("a\n1\n", cls, "line 1 has 1 column");
    fails("a,b,y\n1,2,3\n", (fv_vec_args){.target = "z"}, "no column named 'z' on line 1");
    fails("a,b,y\n1,2,3\n", (fv_vec_args){.target = "3"}, "target column 3 is out of range");
    fails("a,b,y\n1,2,3\n", (fv_vec_args){.target = "-4"}, "target column -4 is out of range");
    fails("1,2,3\n", (fv_vec_args){.target = "y", .header = -1}, "give the target as an index");
    /* a NUL byte in the raw text (t_write_at takes a length) */
    t_write_at("in.csv", "a,y\n1,\0\n", 8);
    CHECK(fv_dataset_load_csv(t_path("in.csv")) == NULL);
    CHECK_ERR_HAS("line 2: a NUL byte");
    char big[300] = "a,y\n1,";
    memset(big + 6, 'q', 260);
    strcpy(big + 266, "\n");
    fails(big, cls, "a label longer than 255 bytes");
}

/* A file of n copies of unit (after head), written in pieces. */
static void write_repeated(const char *head, const char *unit, long n, const char *tail)
{
    FILE *f = fopen(t_path("in.csv"), "wb");
    fputs(head, f);
    for (long i = 0; i < n; i++)
        fputs(unit, f);
    fputs(tail, f);
    fclose(f);
}

TEST(hostile_sizes)
{
    /* a header line of 17 MiB: refused at 16 MiB */
    write_repeated("", "abcdefghijklmnopqrstuvwxyz0123456789,", (17L << 20) / 37, "y\n1,2\n");
    CHECK(fv_dataset_load_csv(t_path("in.csv")) == NULL);
    CHECK_ERR_HAS("line 1: a record longer than 16 MiB");
    /* more than 2^20 columns */
    write_repeated("", "1,", (1L << 20) + 5, "1\n");
    CHECK(fv_dataset_load_csv(t_path("in.csv")) == NULL);
    CHECK_ERR_HAS("line 1: more than 1048576 columns");
    /* 40,000 distinct labels are fine; past 65,536 they are refused */
    FILE *f = fopen(t_path("in.csv"), "wb");
    fputs("a,y\n", f);
    for (int i = 0; i < 70000; i++)
        fprintf(f, "1,L%d\n", i);
    fclose(f);
    CHECK(fv_dataset_load_csv(t_path("in.csv")) == NULL);
    CHECK_ERR_HAS("line 65538, column 2 (y): 'L65536' is a label beyond the 65536 classes");
    fv_dataset *d = fv_dataset_load_csv(t_path("in.csv"), .limit = 40000);
    CHECK(d && d->num_classes == 40000 && name_is(d, 0, "L0") && name_is(d, 1, "L1") &&
          name_is(d, 2, "L10"));
    fv_dataset_free(d);
    /* the data limit: 3000 rows of 10 values (120 KB of floats) against a 64 KiB limit */
    f = fopen(t_path("in.csv"), "wb");
    for (int i = 0; i < 3000; i++)
        fputs("1,2,3,4,5,6,7,8,9,0\n", f);
    fclose(f);
    fv_set_data_limit(64 << 10);
    CHECK(fv_dataset_load_csv(t_path("in.csv")) == NULL);
    CHECK_ERR_HAS("in.csv: ");
    CHECK_ERR_HAS("more than the limit of 0.1 MiB");
    d = fv_dataset_load_csv(t_path("in.csv"), .limit = 1000); /* 40 KB: fits */
    CHECK(d && d->x->dims[0] == 1000);
    fv_dataset_free(d);
    fv_set_data_limit(0);
    /* not a regular file */
    mkfifo(t_path("fifo.csv"), 0600);
    CHECK(fv_dataset_load_csv(t_path("fifo.csv")) == NULL);
    CHECK_ERR_HAS("fifo.csv: not a regular file");
    CHECK(fv_dataset_load_csv(t_path("missing.csv")) == NULL);
    CHECK_ERR_HAS("missing.csv: No such file");
}

TEST(split)
{
    FILE *f = fopen(t_path("in.csv"), "wb");
    fputs("a,y\n", f);
    for (int i = 0; i < 100; i++)
        fprintf(f, "%d,%s\n", i, i % 2 ? "odd" : "even");
    fclose(f);
    fv_dataset *d = fv_dataset_load_csv(t_path("in.csv")), *tr = NULL, *te = NULL, *t2, *e2;
    CHECK_STATUS(fv_dataset_split(d, 0.2, 7, 0, &tr, &te), FV_OK);
    CHECK(tr && te && tr->x->dims[0] == 80 && te->x->dims[0] == 20);
    if (!tr || !te)
        return;
    /* disjoint, all samples, each part in the original order, classes and names kept */
    double sum = 0;
    int ordered = 1;
    for (int i = 0; i < 80; i++)
        sum += tr->x->data[i], ordered &= i == 0 || tr->x->data[i] > tr->x->data[i - 1];
    for (int i = 0; i < 20; i++)
        sum += te->x->data[i], ordered &= i == 0 || te->x->data[i] > te->x->data[i - 1];
    CHECK(sum == 4950 && ordered);
    CHECK(te->num_classes == 2 && name_is(te, 1, "odd"));
    for (int i = 0; i < 20; i++)
        CHECK(te->y->data[i] == (float)((int)te->x->data[i] % 2));
    /* the same seed, the same split; another seed, another */
    CHECK_STATUS(fv_dataset_split(d, 0.2, 7, 0, &t2, &e2), FV_OK);
    CHECK(e2 && memcmp(e2->x->data, te->x->data, 20 * sizeof(float)) == 0);
    fv_dataset_free(t2), fv_dataset_free(e2);
    CHECK_STATUS(fv_dataset_split(d, 0.2, 8, 0, &t2, &e2), FV_OK);
    CHECK(e2 && memcmp(e2->x->data, te->x->data, 20 * sizeof(float)) != 0);
    fv_dataset_free(t2), fv_dataset_free(e2);
    CHECK_STATUS(fv_dataset_split(d, 1.0, 7, 0, &t2, &e2), FV_ERR_INVALID);
    CHECK(t2 == NULL && e2 == NULL);
    CHECK_STATUS(fv_dataset_split(d, 0.001, 7, 0, &t2, &e2), FV_ERR_INVALID);
    CHECK_ERR_HAS("part empty");
    fv_dataset_free(tr), fv_dataset_free(te), fv_dataset_free(d);
}

int main(void)
{
    unsetenv("FOVEA_MAX_DATA_MB");
    static const t_test tests[] = {T_TEST(header_and_string_labels),
                                   T_TEST(whole_number_labels_and_targets),
                                   T_TEST(test_split_takes_training_classes),
                                   T_TEST(malformed_cells), T_TEST(hostile_sizes), T_TEST(split)};
    return t_main_scratch("/tmp/fovea_csv_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
