/* test_npy.c - NumPy .npy data sets (fv_dataset_load_npy): files written by numpy itself
 * (tests/data/npy/, tests/golden/gen_vecdata.py) in every supported dtype and formats 1.0 and 2.0,
 * classification and regression targets, --limit, and every malformed header or body an error of
 * one line naming the file: bad signatures and versions, huge or truncated headers, dicts with
 * missing, extra or repeated keys, Fortran order, big-endian and other dtypes, shapes that
 * overflow or promise more data than the file holds, NaN and Inf, the data limit. */
#include "fovea.h"
#include "test.h"
#include "testfs.h"

#include <stdint.h>

/* tests/data/npy/name (two may be live at once). */
static const char *npy(const char *name)
{
    static char buf[2][1024];
    static int k;
    k = !k;
    snprintf(buf[k], sizeof buf[k], "%s/tests/data/npy/%s", FV_SOURCE_DIR, name);
    return buf[k];
}

/* The last n little-endian floats of a file (its data, whatever its header). */
static void tail_floats(const char *path, float *out, int n)
{
    long len;
    unsigned char *b = t_slurp(path, &len);
    CHECK(b && len >= 4 * n);
    if (b && len >= 4 * n)
        memcpy(out, b + len - 4 * n, 4 * (size_t)n); /* the tests run little-endian */
    free(b);
}

TEST(numpy_files)
{
    /* (6, 2, 2) <f4 format 1.0 with <i8 labels [0, 2, 1, 2, 0, 1] */
    fv_dataset *d = fv_dataset_load_npy(npy("f4_v1.npy"), npy("labels_i8.npy"));
    float want[24];
    tail_floats(npy("f4_v1.npy"), want, 24);
    CHECK(d && d->x->ndim == 3 && d->x->dims[0] == 6 && d->x->dims[1] == 2 &&
          d->x->dims[2] == 2 && memcmp(d->x->data, want, sizeof want) == 0);
    CHECK(d && d->y->ndim == 1 && d->num_classes == 3 && d->y->data[1] == 2 &&
          d->y->data[5] == 1 && fv_dataset_class_name(d, 2) &&
          strcmp(fv_dataset_class_name(d, 2), "2") == 0 && strcmp(d->name, "f4_v1.npy") == 0);
    fv_dataset_free(d);
    /* (6, 3) <f8 format 2.0, regression targets (6, 2) */
    d = fv_dataset_load_npy(npy("f8_v2.npy"), npy("targets_f4.npy"), .regression = 1);
    long len = 0;
    unsigned char *b = t_slurp(npy("f8_v2.npy"), &len);
    double first, last;
    memcpy(&first, b + len - 18 * 8, 8), memcpy(&last, b + len - 8, 8);
    free(b);
    tail_floats(npy("targets_f4.npy"), want, 12);
    CHECK(d && d->x->dims[1] == 3 && d->x->data[0] == (float)first &&
          d->x->data[17] == (float)last);
    CHECK(d && d->y->ndim == 2 && d->y->dims[1] == 2 && d->num_classes == 0 &&
          memcmp(d->y->data, want, 12 * sizeof(float)) == 0);
    fv_dataset_free(d);
    /* |u1 samples are pixels, scaled to [0, 1]; <i4 samples are kept; (6) targets -> (6, 1) */
    b = t_slurp(npy("u1.npy"), &len);
    d = fv_dataset_load_npy(npy("u1.npy"), npy("labels_i8.npy"));
    CHECK(d && fabsf(d->x->data[23] - b[len - 1] / 255.0f) < 1e-7f &&
          fabsf(d->x->data[0] - b[len - 24] / 255.0f) < 1e-7f);
    free(b);
    fv_dataset_free(d);
    d = fv_dataset_load_npy(npy("i4.npy"), npy("labels_i8.npy"), .regression = 1);
    int32_t iw[12];
    tail_floats(npy("i4.npy"), (float *)(void *)iw, 12);
    CHECK(d && d->x->data[0] == (float)iw[0] && d->x->data[11] == (float)iw[11]);
    CHECK(d && d->y->ndim == 2 && d->y->dims[1] == 1 && d->y->data[1] == 2.0f);
    fv_dataset_free(d);
    /* the first rows only */
    d = fv_dataset_load_npy(npy("f4_v1.npy"), npy("labels_i8.npy"), .limit = 4);
    CHECK(d && d->x->dims[0] == 4 && d->y->dims[0] == 4 && d->num_classes == 3);
    fv_dataset_free(d);
}

TEST(numpy_refusals)
{
    CHECK(fv_dataset_load_npy(npy("fortran.npy"), npy("labels_i8.npy")) == NULL);
    CHECK_ERR_HAS("fortran.npy: Fortran-order (column-major) arrays are not supported");
    CHECK(fv_dataset_load_npy(npy("big_endian.npy"), npy("labels_i8.npy")) == NULL);
    CHECK_ERR_HAS("big_endian.npy: big-endian dtype '>f4' is not supported");
    /* labels that are not class indices; rows that differ */
    CHECK(fv_dataset_load_npy(npy("f4_v1.npy"), npy("targets_f4.npy")) == NULL);
    CHECK_ERR_HAS("targets_f4.npy: class labels must be (N) or (N, 1), got (6, 2)");
    CHECK(fv_dataset_load_npy(npy("f4_v1.npy"), npy("f4_v1.npy"), .regression = 1) == NULL);
    CHECK_ERR_HAS("f4_v1.npy: regression targets must be (N) or (N, k), got (6, 2, 2)");
    CHECK(fv_dataset_load_npy(npy("f4_v1.npy"), NULL) == NULL);
    CHECK_ERR_HAS("need a file of labels");
}

/* An .npy file: signature, version, the header dict padded with blanks to a multiple of 64 and
 * ended by '\n', then len bytes of data. */
static void write_npy(const char *name, int major, const char *dict, const void *data,
                      size_t len)
{
    size_t pre = major == 1 ? 10 : 12, h = strlen(dict) + 1;
    h += (64 - (pre + h) % 64) % 64;
    unsigned char *b = calloc(1, pre + h + len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    for (int i = 0; i < (major == 1 ? 2 : 4); i++)
        b[8 + i] = (unsigned char)(h >> (8 * i));
    memset(b + pre, ' ', h);
    memcpy(b + pre, dict, strlen(dict));
    b[pre + h - 1] = '\n';
    if (len)
        memcpy(b + pre + h, data, len);
    t_write_at(name, b, pre + h + len);
    free(b);
}

static const float four[4] = {1, 2, 3, 4};
static const float labels2[2] = {0, 1};

/* y.npy: labels 0, 1. */
static void y_two(void)
{
    write_npy("y.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", labels2,
              8);
}

/* x.npy is refused with one line naming it and holding needle (y.npy: labels 0, 1). */
static void x_fails(const char *needle)
{
    y_two();
    fv_clear_error();
    fv_dataset *d = fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy"));
    CHECK(d == NULL);
    CHECK(strncmp(fv_last_error(), t_path("x.npy"), strlen(t_path("x.npy"))) == 0);
    CHECK(!strchr(fv_last_error(), '\n'));
    CHECK_ERR_HAS(needle);
    fv_dataset_free(d);
}

/* x.npy: a format-1.0 file of the given dict and data. */
static void x_is(const char *dict, const void *data, size_t len)
{
    write_npy("x.npy", 1, dict, data, len);
}

TEST(malformed_headers)
{
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    x_is(ok, four, 16);
    y_two();
    fv_dataset *d = fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy"));
    CHECK(d && d->x->data[3] == 4); /* the writer itself is right */
    fv_dataset_free(d);
    t_write_at("x.npy", "\x93NUMPX\x01\x00\x00\x00", 10);
    x_fails("not a NumPy .npy file");
    t_write_at("x.npy", "\x93NUMPY\x01", 7);
    x_fails("not a NumPy .npy file");
    t_write_at("x.npy", "\x93NUMPY\x04\x00\x10\x00", 10);
    x_fails(".npy format version 4.0 is not supported");
    t_write_at("x.npy", "\x93NUMPY\x02\x00\x00\x00\x00\x01", 12); /* a header of 16 MiB */
    x_fails("a .npy header of 16777216 bytes (at most 65536 are read)");
    t_write_at("x.npy", "\x93NUMPY\x01\x00\x00\x01{'descr'", 18); /* claims 256 bytes */
    x_fails("truncated: the header claims 256 bytes, the file holds 8 after the signature");
    x_is("{'descr': '<f4', 'fortran_order': False}", four, 16);
    x_fails("malformed .npy header: no 'shape'");
    x_is("{'descr': '<f4', 'shape': (4,), 'fortran_order': False, 'shape': (4,)}", four, 16);
    x_fails("'shape' given twice");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), 'x': 1}", four, 16);
    x_fails("unknown key 'x'");
    x_is("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (4,)}", four, 16);
    x_fails("structured dtypes are not supported");
    x_is("{'descr': '<f2', 'fortran_order': False, 'shape': (4,)}", four, 8);
    x_fails("dtype '<f2' is not supported (<f4, <f8, |u1, <i4 and <i8 are)");
    x_is("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2)}", four, 16);
    x_fails("Fortran-order");
    x_is("{'descr': '<f4', 'fortran_order': false, 'shape': (4,)}", four, 16);
    x_fails("'fortran_order' is not True or False");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2)}", four, 16);
    x_fails("a shape entry that is not a whole number");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': [4]}", four, 16);
    x_fails("'shape' is not a tuple");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (4,)} x", four, 16);
    x_fails("text after the dict");
    x_is("{'descr': '<f4 , 'fortran_order': False, 'shape': (4,)}", four, 16);
    x_fails("malformed .npy header");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1)}", four, 4);
    x_fails("more than 6 dimensions");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", four, 4);
    x_fails("a dimension of the shape is too large");
    /* dims whose product overflows, or that promise more than the file holds */
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, "
         "4611686018427387904)}", four, 16);
    x_fails("needs more than 2^64 bytes of data, the file holds 16 (truncated)");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000, 1000)}", four, 16);
    x_fails("shape (1000000000, 1000) of 4-byte values needs 4000000000000 bytes of data, the "
            "file holds 16 (truncated)");
    x_is(ok, four, 12);
    x_fails("needs 16 bytes of data, the file holds 12 (truncated)");
    x_is(ok, four, 16);
    t_write_at("x.npy", "", 0);
    x_fails("not a NumPy .npy file");
    t_write_at("x.npy", "\x93NUMPY\x01\x00\x04\x00{\0}\n", 14);
    x_fails("malformed .npy header: a NUL byte");
    write_npy("x.npy", 1, "", four, 16); /* a header of blanks only */
    x_fails("malformed .npy header: not a dict");
}

TEST(malformed_data)
{
    const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
    float v[4] = {1, NAN, 3, 4};
    x_is(dict, v, 16);
    x_fails("value 1 is NaN");
    v[1] = 2, v[3] = -INFINITY;
    x_is(dict, v, 16);
    x_fails("value 3 is infinite");
    double big[4] = {1, 2, 1e300, 4};
    x_is("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", big, 32);
    x_fails("value 2 is beyond the range of float");
    const float five[5] = {1, 2, 3, 4, 5};
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", five, 20);
    x_fails("needs 16 bytes of data, the file holds 20");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", four, 4);
    x_fails("a scalar (shape ()); data must be an array");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 1), }", four, 12);
    x_fails("x.npy has 3 samples but");
    x_is("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 0), }", four, 0);
    x_fails("hold no values");
    /* labels: whole numbers in range, else an error naming the labels file */
    x_is(dict, four, 16);
    float bad[2] = {0, 1.5f};
    write_npy("y.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", bad, 8);
    CHECK(fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy")) == NULL);
    CHECK_ERR_HAS("y.npy: label 1 is 1.5, not a class index (a whole number in 0 .. 65535); "
                  "real targets need regression");
    fv_dataset *d = fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy"), .regression = 1);
    CHECK(d && d->y->data[1] == 1.5f);
    fv_dataset *t = NULL;
    int64_t lab[2] = {1, 70000};
    write_npy("y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", lab, 16);
    CHECK(fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy")) == NULL);
    CHECK_ERR_HAS("label 1 is 70000, not a class index");
    /* a test split's labels must be among the training classes */
    lab[1] = 0;
    write_npy("y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", lab, 16);
    fv_dataset *tr = fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy"));
    CHECK(tr && tr->num_classes == 2);
    lab[0] = 2;
    write_npy("y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", lab, 16);
    CHECK((t = fv_dataset_load_npy(t_path("x.npy"), t_path("y.npy"), .classes = tr)) == NULL);
    CHECK_ERR_HAS("label 0 is 2, not a class index (a whole number in 0 .. 1: the classes of "
                  "x.npy)");
    fv_dataset_free(t), fv_dataset_free(tr), fv_dataset_free(d);
    /* the data limit, checked from the header before allocating */
    x_is(dict, four, 16);
    fv_set_data_limit(8);
    x_fails("more than the limit");
    fv_set_data_limit(0);
    CHECK(fv_dataset_load_npy(t_path("missing.npy"), t_path("y.npy")) == NULL);
    CHECK_ERR_HAS("missing.npy: No such file");
}

int main(void)
{
    unsetenv("FOVEA_MAX_DATA_MB");
    static const t_test tests[] = {T_TEST(numpy_files), T_TEST(numpy_refusals),
                                   T_TEST(malformed_headers), T_TEST(malformed_data)};
    return t_main_scratch("/tmp/fovea_npy_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
