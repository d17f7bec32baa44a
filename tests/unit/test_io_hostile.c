/* test_io_hostile.c - file handling against hostile paths and leftovers (issue 16): a FIFO given
 * as a model, weights, safetensors or checkpoint path is refused at once (a blocking open would
 * hang here forever), stale "<path>.tmp.<pid>" files of dead processes are removed when the path
 * is written again while live writers' are kept, and the safetensors writer refuses tensor names
 * that are not UTF-8 instead of writing a header strict readers reject. */
#include "core/internal.h"
#include "io/io.h"
#include "test.h"
#include "testfs.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static fv_model *tiny(void)
{
    fv_model *m = fv_model_new("tiny");
    int x = fv_input(m, .ndim = 1, .dims = {4});
    fv_dense(m, x, .units = 3);
    if (fv_model_compile(m, .loss = FV_LOSS_SOFTMAX_CE, .optimizer = fv_adam(), .seed = 1))
        fprintf(stderr, "%s\n", fv_last_error());
    return m;
}

static fv_dataset *data(int n)
{
    fv_dataset *d = calloc(1, sizeof *d);
    int64_t xd[2] = {n, 4}, yd[1] = {n};
    d->x = fv_tensor_new(2, xd);
    d->y = fv_tensor_new(1, yd);
    for (int64_t i = 0; i < 4 * n; i++)
        d->x->data[i] = (float)(i % 7) - 3.0f;
    for (int i = 0; i < n; i++)
        d->y->data[i] = (float)(i % 3);
    d->num_classes = 3;
    return d;
}

/* Every reader refuses a FIFO at once (without a writer, a blocking open never returns). */
TEST(fifo_refused)
{
    const char *fifo = t_path("pipe.fv");
    CHECK(mkfifo(fifo, 0600) == 0);
    unsigned char *buf = NULL;
    size_t len = 0;
    CHECK(fv_read_file(fifo, 1 << 20, &buf, &len) == FV_ERR_IO);
    CHECK_ERR_HAS("pipe.fv: not a regular file");
    CHECK(buf == NULL);
    CHECK(fv_model_load_file(fifo) == NULL);
    CHECK_ERR_HAS("pipe.fv: not a regular file");
    CHECK(fv_st_open(fifo) == NULL);
    CHECK_ERR_HAS("pipe.fv: not a regular file");
    fv_model *m = tiny();
    CHECK(fv_model_load_weights(m, fifo) != FV_OK);
    CHECK_ERR_HAS("pipe.fv: not a regular file");
    /* resume probes DIR/last.safetensors: a FIFO there is an error, not a hang or a fresh start */
    mkdir(t_path("ck"), 0700);
    CHECK(mkfifo(t_path("ck/last.safetensors"), 0600) == 0);
    fv_dataset *d = data(8);
    CHECK(fv_model_fit(m, d, .epochs = 1, .batch_size = 4, .checkpoint_dir = t_path("ck"),
                       .resume = 1) == FV_ERR_IO);
    CHECK_ERR_HAS("last.safetensors: not a regular file");
    /* a folder is refused the same way */
    CHECK(fv_model_load_file(t_dir) == NULL);
    CHECK_ERR_HAS(": not a regular file");
    fv_dataset_free(d);
    fv_model_free(m);
    remove(t_path("ck/last.safetensors"));
    rmdir(t_path("ck"));
    remove(fifo);
}

static void touch(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f) {
        fputs("partial", f);
        fclose(f);
    }
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The pid of a process that has exited (and been reaped). */
static pid_t dead_pid(void)
{
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return pid;
}

TEST(stale_temporaries_removed)
{
    char dead[160], live[160], other[160], foreign[160];
    const char *path = t_path("w.safetensors");
    snprintf(dead, sizeof dead, "%s.tmp.%ld", path, (long)dead_pid());
    snprintf(live, sizeof live, "%s.tmp.%ld", path, (long)getpid());
    snprintf(other, sizeof other, "%s.tmp.%ld", t_path("other.csv"), (long)dead_pid());
    snprintf(foreign, sizeof foreign, "%s.tmp.x12", path);
    touch(dead), touch(live), touch(other), touch(foreign);
    /* a child writes the path: this process (alive) owns `live`, the dead one `dead` */
    pid_t child = fork();
    if (child == 0) {
        fv_atomic_file af;
        if (fv_atomic_open(&af, path) != FV_OK)
            _exit(2);
        fputs("data", af.f);
        _exit(fv_atomic_commit(&af) == FV_OK ? 0 : 3);
    }
    int status = -1;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(exists(path));
    CHECK(!exists(dead));   /* a dead process's temporary is gone */
    CHECK(exists(live));    /* a live process's is kept */
    CHECK(exists(other));   /* another path's is not ours to judge */
    CHECK(exists(foreign)); /* nor a name that is not "<path>.tmp.<pid>" */
    remove(path), remove(live), remove(other), remove(foreign);
}

TEST(safetensors_names_utf8)
{
    float v[2] = {1, 2};
    fv_tensor t = {.ndim = 1, .dims = {2}, .strides = {1}, .data = v};
    const fv_tensor *ts[1] = {&t};
    const char *path = t_path("n.safetensors");
    const char *bad[] = {"w\xff", "a\xc3", "\xed\xa0\x80", "\xc0\xae"};
    for (int i = 0; i < 4; i++) {
        const char *names[1] = {bad[i]};
        CHECK(fv_st_save(path, 1, names, ts) == FV_ERR_INVALID);
        CHECK_ERR_HAS("is not valid UTF-8");
        CHECK(!exists(path));
    }
    CHECK_ERR_HAS("'\\xc0\\xae'"); /* shown escaped, not raw */
    /* UTF-8 and control characters (escaped in the JSON) round-trip */
    const char *names[1] = {"\xc3\xa9t\x01\"\\"};
    CHECK_STATUS(fv_st_save(path, 1, names, ts), FV_OK);
    fv_st_file *f = fv_st_open(path);
    CHECK(f && fv_st_count(f) == 1 && strcmp(fv_st_name(f, 0), names[0]) == 0);
    fv_st_close(f);
    remove(path);
}

TEST(utf8_checks)
{
    CHECK(fv_utf8_valid("", false));
    CHECK(fv_utf8_valid("abc \xc3\xa9 \xe2\x82\xac \xf0\x9f\x99\x82", false));
    CHECK(!fv_utf8_valid("\x80", true));             /* a lone continuation byte */
    CHECK(!fv_utf8_valid("\xe2\x82", true));         /* cut short */
    CHECK(!fv_utf8_valid("\xf4\x90\x80\x80", true)); /* above U+10FFFF */
    CHECK(!fv_utf8_valid("\xe0\x80\xaf", true));     /* overlong */
    CHECK(!fv_utf8_valid("\xf8\x88\x80\x80\x80", true));
    CHECK(fv_utf8_valid("a\tb", true) && !fv_utf8_valid("a\tb", false));
    CHECK(!fv_utf8_valid("\xc2\x9b", false) && fv_utf8_valid("\xc2\x9b", true)); /* C1 */
    char out[16];
    CHECK(strcmp(fv_printable("a\x1b\xff\xc3\xa9", out, sizeof out), "a\\x1b\\xff\xc3\xa9") == 0);
    CHECK(strcmp(fv_printable("abcdefghijklmnopqrstuvwxyz", out, 8), "abcdefg") == 0);
}

int main(void)
{
    static const t_test tests[] = {
        T_TEST(fifo_refused), T_TEST(stale_temporaries_removed), T_TEST(safetensors_names_utf8),
        T_TEST(utf8_checks)
    };
    return t_main_scratch("/tmp/fovea_io_XXXXXX", tests, sizeof tests / sizeof tests[0]);
}
