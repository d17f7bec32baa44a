/* test_cifar.c - CIFAR-10/100 binary batches written by the test in the real format: shapes,
 * pixel layout (channel planes), labels, concatenation of the five training batches, the folder
 * loader's choice of format, and malformed files (partial records, labels out of range, missing
 * files) giving one-line errors. */
#include "core/internal.h"
#include "test.h"
#include "testfs.h"

#include <unistd.h>

/* n records: label bytes (label_bytes of them: coarse = label / 5, then label), pixels
 * (record r, byte k) = (r * 7 + k) % 256. */
static void write_batch(const char *name, int n, int label_bytes, int first_label, int extra)
{
    FILE *f = fopen(t_path(name), "wb");
    for (int r = 0; r < n; r++) {
        int label = first_label + r;
        if (label_bytes == 2)
            fputc(label / 5, f);
        fputc(label, f);
        for (int k = 0; k < 3072; k++)
            fputc((r * 7 + k) % 256, f);
    }
    for (int i = 0; i < extra; i++)
        fputc(0, f);
    fclose(f);
}

TEST(cifar10)
{
    char name[32];
    for (int b = 1; b <= 5; b++) {
        snprintf(name, sizeof name, "data_batch_%d.bin", b);
        write_batch(name, 2, 1, b, 0);
    }
    write_batch("test_batch.bin", 3, 1, 0, 0);
    fv_dataset *tr = fv_dataset_load_cifar10(t_dir, 1), *te = fv_dataset_load_dir(t_dir, 0);
    CHECK(tr && tr->x->dims[0] == 10 && tr->x->dims[1] == 3 && tr->x->dims[2] == 32 &&
          tr->x->dims[3] == 32 && tr->num_classes == 10);
    CHECK(tr && tr->y->data[0] == 1 && tr->y->data[1] == 2 && tr->y->data[9] == 6);
    /* record 1 of batch 1, green plane (bytes 1024..), first pixel: (7 + 1024) % 256 */
    CHECK(tr && tr->x->data[3072 + 1024] == (float)((7 + 1024) % 256) / 255.0f);
    CHECK(te && te->x->dims[0] == 3 && te->y->data[2] == 2);
    fv_dataset_free(tr), fv_dataset_free(te);
}

TEST(cifar100)
{
    write_batch("train.bin", 4, 2, 96, 0);
    fv_dataset *d = fv_dataset_load_cifar100(t_dir, 1);
    CHECK(d && d->x->dims[0] == 4 && d->num_classes == 100 && d->y->data[3] == 99);
    fv_dataset_free(d);
    write_batch("train.bin", 5, 2, 96, 0); /* labels 96..100: 100 is out of range */
    CHECK(fv_dataset_load_cifar100(t_dir, 1) == NULL);
    CHECK_ERR_HAS("train.bin: record 4 has label 100 (expected < 100)");
}

TEST(cifar_malformed)
{
    write_batch("data_batch_3.bin", 2, 1, 0, 17); /* a partial record at the end */
    CHECK(fv_dataset_load_cifar10(t_dir, 1) == NULL);
    CHECK_ERR_HAS("data_batch_3.bin: 6163 bytes is not a whole number of 3073-byte CIFAR records");
    write_batch("data_batch_3.bin", 2, 1, 9, 0); /* labels 9, 10 */
    CHECK(fv_dataset_load_cifar10(t_dir, 1) == NULL);
    CHECK_ERR_HAS("record 1 has label 10 (expected < 10)");
    unlink(t_path("data_batch_3.bin"));
    CHECK(fv_dataset_load_cifar10(t_dir, 1) == NULL);
    CHECK_ERR_HAS("data_batch_3.bin: No such file or directory");
    CHECK(strchr(fv_last_error(), '\n') == NULL);
}

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(t_path(name), "wb");
    fputs(text, f);
    fclose(f);
}

static int has_name(const fv_dataset *d, int k, const char *want)
{
    const char *name = fv_dataset_class_name(d, k);
    return name && !strcmp(name, want);
}

/* CIFAR-10: the standard names, or batches.meta.txt's; CIFAR-100: fine_label_names.txt's, or
 * "class k". */
TEST(cifar_class_names)
{
    write_batch("test_batch.bin", 3, 1, 0, 0);
    fv_dataset *d = fv_dataset_load_dir(t_dir, 0);
    CHECK(d && d->num_classes == 10 && has_name(d, 0, "airplane") && has_name(d, 9, "truck"));
    CHECK(d && fv_dataset_class_name(d, 10) == NULL);
    fv_dataset_free(d);
    write_text("batches.meta.txt", "a0\na1\na2\na3\na4\na5\na6\na7\na8\na9\n\n");
    d = fv_dataset_load_cifar10(t_dir, 0);
    CHECK(d && has_name(d, 0, "a0") && has_name(d, 9, "a9"));
    fv_dataset_free(d);
    /* names made valid UTF-8: invalid bytes and control characters become '?' */
    write_text("batches.meta.txt", "a\xff" "0\na\x1b" "1\n\xc3\xa9" "2\na3\na4\na5\na6\na7\na8\n"
                                   "a\xe2\x82" "9\n");
    d = fv_dataset_load_cifar10(t_dir, 0);
    CHECK(d && has_name(d, 0, "a?0") && has_name(d, 1, "a?1") && has_name(d, 2, "\xc3\xa9" "2") &&
          has_name(d, 9, "a??9"));
    fv_dataset_free(d);
    write_text("batches.meta.txt", "a0\na1\na2\n");
    CHECK(fv_dataset_load_cifar10(t_dir, 0) == NULL);
    CHECK_ERR_HAS("batches.meta.txt: 3 class names, expected 10");
    unlink(t_path("batches.meta.txt"));
    write_batch("test.bin", 2, 2, 7, 0);
    d = fv_dataset_load_cifar100(t_dir, 0);
    CHECK(d && d->num_classes == 100 && has_name(d, 7, "class 7") && has_name(d, 99, "class 99"));
    fv_dataset_free(d);
    char names[1024] = "";
    for (int k = 0; k < 100; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "fine%d\n", k);
    write_text("fine_label_names.txt", names);
    d = fv_dataset_load_cifar100(t_dir, 0);
    CHECK(d && has_name(d, 7, "fine7") && has_name(d, 99, "fine99"));
    fv_dataset_free(d);
    unlink(t_path("test.bin")), unlink(t_path("fine_label_names.txt"));
}

/* An empty batch file is reported as such. */
TEST(cifar_empty)
{
    write_batch("test_batch.bin", 0, 1, 0, 0);
    CHECK(fv_dataset_load_dir(t_dir, 0) == NULL);
    CHECK_ERR_HAS("test_batch.bin: no images");
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(cifar10), T_TEST(cifar100), T_TEST(cifar_malformed), T_TEST(cifar_class_names),
        T_TEST(cifar_empty)
    };
    return t_main_scratch("/tmp/fovea_cifar_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
