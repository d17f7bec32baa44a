/* fuzz.h - what the fuzz targets share: the libFuzzer entry point's prototype, the check that a
 * refused input left one line of error naming it (for the decoders, with their result), and a private temporary folder for the targets
 * whose readers take a path (checkpoints, CIFAR), removed at exit. */
#ifndef FV_FUZZ_H
#define FV_FUZZ_H

#include "fovea.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts (a finding) unless fv_last_error() is one line starting with name. */
static inline void fuzz_expect_error(const char *name)
{
    const char *e = fv_last_error();
    if (strncmp(e, name, strlen(name)) != 0 || strchr(e, '\n')) {
        fprintf(stderr, "fuzz: bad error message for %s: '%s'\n", name, e);
        abort();
    }
}

/* A decoder's result: freed when there is one, else the error must be one line naming name. */
static inline void fuzz_expect_tensor(fv_tensor *t, const char *name)
{
    if (t)
        fv_tensor_free(t);
    else
        fuzz_expect_error(name);
}

/* The folder (made once, "fovea_fuzz.XXXXXX" in $FV_FUZZ_TMPDIR if set, else in /dev/shm where
 * there is one, else in /tmp; removed at exit with the files named by fuzz_tmp_file, except after
 * a crash, hence run.sh's own FV_FUZZ_TMPDIR) and path = dir/file. In memory because ext4 writes
 * a file truncated and rewritten back to disk at each close, which made every execution a disk
 * write. Aborts if no folder can be made: no input could be tried. */
static char fuzz_dir[64];
static char fuzz_files[4][128];
static int fuzz_nfiles;

static inline void fuzz_tmp_cleanup(void)
{
    for (int i = 0; i < fuzz_nfiles; i++)
        unlink(fuzz_files[i]);
    rmdir(fuzz_dir);
}

static inline int fuzz_mkdtemp(const char *parent)
{
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/fovea_fuzz.XXXXXX", parent);
    return mkdtemp(fuzz_dir) != NULL;
}

static inline const char *fuzz_tmp_file(const char *file)
{
    if (!fuzz_dir[0]) {
        const char *own = getenv("FV_FUZZ_TMPDIR");
        if ((!(own && fuzz_mkdtemp(own)) && !fuzz_mkdtemp("/dev/shm") && !fuzz_mkdtemp("/tmp")) ||
            atexit(fuzz_tmp_cleanup) != 0)
            abort();
    }
    for (int i = 0; i < fuzz_nfiles; i++)
        if (strcmp(strrchr(fuzz_files[i], '/') + 1, file) == 0)
            return fuzz_files[i];
    if (fuzz_nfiles == 4)
        abort();
    snprintf(fuzz_files[fuzz_nfiles], sizeof fuzz_files[0], "%s/%s", fuzz_dir, file);
    return fuzz_files[fuzz_nfiles++];
}

/* Writes the input to path (replacing it); aborts on failure (a full /tmp is not a finding but
 * would make every later input meaningless). */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif /* FV_FUZZ_H */
