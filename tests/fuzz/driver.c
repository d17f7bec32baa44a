/* driver.c - a main() for the fuzz targets where libFuzzer is not available (gcc): feeds every
 * file named on the command line, and every file in every folder named (not recursing, in name
 * order), to LLVMFuzzerTestOneInput once, so a gcc + ASan/UBSan build replays a corpus or a
 * crash's reproducer. Arguments starting with '-' (libFuzzer's options) are ignored, so the same
 * command line works with either build. Exits 1 if nothing was read. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Runs the target on one file's bytes; 0 if it could not be read. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 0;
    }
    size_t cap = 4096, len = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    int ok = buf && !ferror(f);
    fclose(f);
    /* shrunk to exactly len bytes, so ASan sees a read past the input's end */
    uint8_t *in = ok ? realloc(buf, len ? len : 1) : NULL;
    if (!in) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(buf);
        return 0;
    }
    LLVMFuzzerTestOneInput(in, len);
    free(in);
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir; returns how many. */
static int run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        perror(dir);
        return 0;
    }
    char **names = NULL;
    int n = 0, cap = 0, done = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn = realloc(names, sizeof *names * (size_t)(cap = cap ? 2 * cap : 64));
            if (!nn)
                break;
            names = nn;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if ((names[n] = malloc(len)) == NULL)
            break;
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof *names, by_name);
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            done += run_file(names[i]);
        free(names[i]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    int done = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (argv[i][0] == '-')
            continue;
        if (stat(argv[i], &st) != 0)
            perror(argv[i]);
        else
            done += S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
    }
    fprintf(stderr, "%s: %d inputs run\n", argv[0], done);
    return done ? 0 : 1;
}
