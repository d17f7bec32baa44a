/* hostile.h - the hostile-input suite's shared declarations: a case (the files it generates, the
 * fovea command it runs and the outcome it expects), the generators' file helpers and the case
 * tables of each format (README.md in this folder says how the suite works and how to run it). */
#ifndef FV_HOSTILE_H
#define FV_HOSTILE_H

#include <stddef.h>
#include <stdint.h>

/* What a run must end with. */
typedef enum {
    EXPECT_ERR,   /* exit status 1 and stderr exactly one line "fovea: ..." */
    EXPECT_OK,    /* exit status 0 */
    EXPECT_CLEAN, /* either of the two (inputs a reader may accept or refuse) */
} h_expect;

enum {
    F_NOOOM = 1,  /* an "out of memory" error is a failure: the input must be refused before a
                     large allocation (a file that cannot hold the data, a documented cap) */
    F_FIFO = 2,   /* a FIFO is among the inputs: short time limit (opening it must not block) */
    F_TRAIN = 4,  /* trains: longer time limit */
    F_NOTHREADS = 8, /* do not append "--threads 2" */
    F_SMALLMEM = 16, /* a few kilobytes claiming a huge image: peak RSS at most 256 MiB (the claim
                        must not be paid for before the data is seen) */
};

#define H_MAX_ARGS 80
#define H_MAX_OUTS 4

/* One case. Generators run with the case's working folder as the current directory and fill
 * this in through h_run and friends; the runner owns the rest. */
typedef struct h_case {
    char name[96];
    int rep;          /* the repetition, for generators registered with several */
    h_expect expect;
    int flags;
    int argc;
    char *argv[H_MAX_ARGS]; /* fovea's arguments (after the program name) */
    char *outs[H_MAX_OUTS]; /* folders (relative to the working folder) the run may write in */
    int nouts;
    char *stdout_needle;    /* on exit 0, stdout must contain it */
    char *file_path, *file_needle; /* on exit 0, this file must contain that */
    char *skip;             /* why the case was not run (set by a generator) */
} h_case;

typedef void (*h_gen)(h_case *c);

typedef struct h_entry {
    const char *name;
    h_gen gen;
    int reps; /* 0: one case; -1: the mutation count (--mutations) */
} h_entry;

/* The case tables (cases_*.c), each ending with a {NULL} entry. */
extern const h_entry h_cases_idx[], h_cases_images[], h_cases_folders[], h_cases_model[],
    h_cases_weights[], h_cases_cli[], h_cases_mutate[];

/* ---------------------------------------------------------------- declaring the run */

/* The command: fovea ARGS... (NULL-terminated); outputs allowed under "out" and "runs". */
void h_run(h_case *c, h_expect e, int flags, ...);
/* Replaces the folders the run may write in (relative to the working folder). */
void h_outs(h_case *c, const char *a, const char *b);
void h_stdout(h_case *c, const char *needle);
void h_file_has(h_case *c, const char *path, const char *needle);
void h_skip(h_case *c, const char *why);

/* ---------------------------------------------------------------- files (gen.c) */

/* The suite's seed (--seed) and its generator; every case reseeds from (seed, name, rep). */
extern uint64_t h_seed;
extern int h_mutations, h_long;
extern char h_fix[]; /* absolute path of the shared fixtures folder */
void h_rng_seed(uint64_t s);
uint64_t h_rand(void);
uint32_t h_below(uint32_t n);

void h_die(const char *fmt, ...); /* generator bugs only: the suite itself cannot go on */
void mk_dirs(const char *path);   /* mkdir -p */
void w_file(const char *path, const void *data, size_t len); /* creates parent folders */
void w_text(const char *path, const char *fmt, ...);
unsigned char *r_file(const char *path, size_t *len);
void w_sparse(const char *path, uint64_t size); /* a file of `size` zero bytes, no blocks */
void mk_fifo(const char *path);
void mk_loop(const char *path); /* a symbolic link to itself */
void copy_file(const char *from, const char *to);
void fix_copy(const char *name, const char *to); /* h_fix/name -> to */
const char *fix_path(const char *name);          /* h_fix/name (static buffer) */

/* a growing byte buffer */
typedef struct h_buf {
    unsigned char *p;
    size_t n, cap;
} h_buf;
void hb_put(h_buf *b, const void *data, size_t len);
void hb_u32be(h_buf *b, uint32_t v);
void hb_free(h_buf *b);

/* gzip of data (one member); level 9. */
void gz_bytes(const unsigned char *data, size_t len, h_buf *out);
/* A gzip member of `head` followed by `zeros` zero bytes, built from one compressed block
 * repeated (fast for gigabytes); the trailer's CRC and size are right. */
void gz_zeros(const unsigned char *head, size_t hlen, uint64_t zeros, h_buf *out);
/* A zlib stream (RFC 1950) of `zeros` zero bytes, appended to out. */
void zlib_zeros(uint64_t zeros, h_buf *out);

/* IDX: magic 0x0000TTNN and dims big-endian, then data. */
void idx_header(h_buf *b, int type, int ndim, const uint32_t *dims);
/* An 8x8 data set of `classes` learnable classes: DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte
 * with n_train and n_test images; labels cycle through max_label+1 values (test: test_classes). */
void idx_dataset(const char *dir, int n_train, int n_test, int classes, int test_classes);
/* One 8x8 pattern of class k (0..255 bytes), with noise. */
void class_pattern(int k, unsigned char *px);

/* PNG (gen_image.c): chunks by hand and whole images through libpng. */
void png_chunk(h_buf *b, const char *type, const void *data, uint32_t len);
void png_ihdr(h_buf *b, uint32_t w, uint32_t h, int depth, int color, int interlace);
/* A PNG whose IHDR claims w x h (8-bit, color 0 or 2) over the first 4 rows of data only. */
void png_claim(h_buf *b, uint32_t w, uint32_t h, int color);
/* A PNG written by libpng: depth 1..16, color type, palette (for type 3) and interlace. */
void png_lib(const char *path, int w, int h, int depth, int color, int interlace, int pattern);
/* A gray 8-bit PNG of a class pattern (size w x h) or one shade. */
void png_class(const char *path, int k, int w, int h);
/* JPEG through libjpeg: components 1, 3 or 4 (CMYK), progressive or not. */
void jpeg_lib(h_buf *out, int w, int h, int comps, int progressive);

/* safetensors (gen_st.c): a header and data, written as they are (no checks). */
void st_raw(const char *path, uint64_t hlen, const char *header, const void *data, size_t dlen);
/* The tiny model's weights (fc.weight 3x64, fc.bias 3) with one value everywhere. */
void st_tiny(const char *path, float value);
/* Random weights for the fixture's conv.fv (c1 4x1x3x3, fc 3x256). */
void st_conv(const char *path);
/* Copies checkpoint `from` to `to`, setting word `word` of tensor `name` (or, with word < 0,
 * every value) to the bits of v. */
void st_patch(const char *from, const char *to, const char *name, int word, uint32_t v);
/* Copies `from` to `to` with the JSON header edited: tensor `name`'s key `key` set to the JSON
 * text `json` (or the tensor removed when key is NULL); the data unchanged. */
void st_edit(const char *from, const char *to, const char *name, const char *key,
             const char *json);

/* Mutations (gen.c): flips, truncation, duplicated and inserted ranges; seeded by h_rand. */
void mutate(unsigned char **p, size_t *n);

/* ---------------------------------------------------------------- the runner's checks (check.c) */

/* Every entry under a folder (not following links): path relative to it, type, size, mtime. */
typedef struct h_entry_st {
    char *path;
    unsigned mode;
    long long size, mtime_ns, ino;
} h_entry_st;

typedef struct h_snap {
    h_entry_st *e;
    int n, cap;
} h_snap;

void snap_take(const char *root, h_snap *s);
void snap_free(h_snap *s);
/* Appends to `why` (a "; "-separated list) every change from `before` to the folder now: files
 * written outside the allowed folders (`outs`, relative to root), temporary files left, half-written
 * or invalid outputs, removed inputs. */
void snap_check(const char *root, const h_snap *before, char *const *outs, int nouts, char *why,
                size_t len);
/* rm -rf (not following links; makes unreadable folders readable first). */
void rm_tree(const char *path);
/* Appends "; "-separated text to a reason list. */
void why_add(char *why, size_t len, const char *fmt, ...);

#endif /* FV_HOSTILE_H */
