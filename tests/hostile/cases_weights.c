/* cases_weights.c - hostile safetensors files given to `fovea predict` and `eval` as --weights
 * (header lengths that overflow or pass the end, bad JSON, wrong dtypes, offsets out of range or
 * overlapping, shapes that do not match, NaN and infinite weights, names that are not UTF-8), and
 * hostile training checkpoints given to `train --resume` (the same corruptions, wrong epoch
 * counts, missing state, NaN parameters and optimizer state, special files, stale temporaries). */
#include "hostile.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define HDR(w, b)                                                                                \
    "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":" w "},\"fc.bias\":{"   \
    "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":" b "}}"

static void predict_with(h_case *c, h_expect e, int flags)
{
    fix_copy("tiny.fv", "tiny.fv");
    png_class("img.png", 1, 8, 8);
    h_run(c, e, flags, "predict", "tiny.fv", "--weights", "w.safetensors", "img.png", NULL);
}

/* w.safetensors with this header (its length hlen, or the real one when 0) and the first `bytes`
 * of the tiny model's 780 data bytes. */
static void st_case_n(h_case *c, h_expect e, uint64_t hlen, const char *header, size_t bytes)
{
    float v[195];
    for (int i = 0; i < 195; i++)
        v[i] = 0.01f * (float)(i % 7);
    st_raw("w.safetensors", hlen ? hlen : strlen(header), header, v, bytes);
    predict_with(c, e, F_NOOOM);
}

static void st_case(h_case *c, h_expect e, uint64_t hlen, const char *header)
{
    st_case_n(c, e, hlen, header, 780);
}

#define ST(fn, expect, hlen, header)                                                             \
    static void fn(h_case *c) { st_case(c, expect, hlen, header); }
/* The same with only the bytes the header's tensors hold (the buffer must be entirely indexed). */
#define ST_N(fn, expect, bytes, header)                                                          \
    static void fn(h_case *c) { st_case_n(c, expect, 0, header, bytes); }

ST(st_valid, EXPECT_OK, 0, HDR("[0,768]", "[768,780]"))
ST(hlen_max, EXPECT_ERR, ~0ull, HDR("[0,768]", "[768,780]"))
ST(hlen_past_end, EXPECT_ERR, 2000, HDR("[0,768]", "[768,780]"))
ST(hlen_100mb, EXPECT_ERR, 100000001, HDR("[0,768]", "[768,780]"))
ST(hlen_zero, EXPECT_ERR, 0, "")
ST(bad_json, EXPECT_ERR, 0, "{\"fc.weight\":{\"dtype\":\"F32\",")
ST(json_array, EXPECT_ERR, 0, "[1,2,3]")
ST(json_string, EXPECT_ERR, 0, "\"fc.weight\"")
ST_N(dtype_f16, EXPECT_ERR, 390,
   "{\"fc.weight\":{\"dtype\":\"F16\",\"shape\":[3,64],\"data_offsets\":[0,384]},\"fc.bias\":{"
   "\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[384,390]}}")
ST(dtype_unknown, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"Q7\",\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(dtype_number, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":5,\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(off_out_of_range, EXPECT_ERR, 0, HDR("[0,99999]", "[768,780]"))
ST(off_reversed, EXPECT_ERR, 0, HDR("[768,0]", "[768,780]"))
ST(off_overlap, EXPECT_ERR, 0, HDR("[0,768]", "[0,12]"))
ST(off_negative, EXPECT_ERR, 0, HDR("[-4,764]", "[768,780]"))
ST(off_fraction, EXPECT_ERR, 0, HDR("[0.5,768.5]", "[768,780]"))
ST(off_2p64, EXPECT_ERR, 0, HDR("[18446744073709551615,18446744073709552383]", "[768,780]"))
ST(off_one_value, EXPECT_ERR, 0, HDR("[768]", "[768,780]"))
ST(off_gap, EXPECT_CLEAN, 0, HDR("[0,768]", "[772,780]"))
ST(trailing_data, EXPECT_CLEAN, 0, HDR("[0,760]", "[760,772]"))
ST(shape_bytes, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,65],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(shape_transposed, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[64,3],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(shape_negative, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[-3,-64],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(shape_overflow, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
   "\"data_offsets\":[0,768]},\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
   "\"data_offsets\":[768,780]}}")
ST(shape_20_dims, EXPECT_ERR, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,3,64],"
   "\"data_offsets\":[0,768]},\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
   "\"data_offsets\":[768,780]}}")
ST_N(missing_tensor, EXPECT_ERR, 768,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":[0,768]}}")
ST(extra_tensor, EXPECT_CLEAN, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]},\"other\":{\"dtype\":\"F32\","
   "\"shape\":[0],\"data_offsets\":[780,780]}}")
ST(name_not_utf8, EXPECT_CLEAN, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.bias\":{"
   "\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[768,780]},\"\xff\xfe\":{\"dtype\":\"F32\","
   "\"shape\":[0],\"data_offsets\":[780,780]}}")
ST(duplicate_name, EXPECT_CLEAN, 0,
   "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.weight\":{"
   "\"dtype\":\"F32\",\"shape\":[3,64],\"data_offsets\":[0,768]},\"fc.bias\":{\"dtype\":\"F32\","
   "\"shape\":[3],\"data_offsets\":[768,780]}}")
ST(metadata_number, EXPECT_CLEAN, 0,
   "{\"__metadata__\":{\"a\":5,\"b\":[1]},\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,64],"
   "\"data_offsets\":[0,768]},\"fc.bias\":{\"dtype\":\"F32\",\"shape\":[3],"
   "\"data_offsets\":[768,780]}}")

static void dtype_f64(h_case *c)
{
    static const char *hdr = "{\"fc.weight\":{\"dtype\":\"F64\",\"shape\":[3,64],\"data_offsets\":"
                             "[0,1536]},\"fc.bias\":{\"dtype\":\"F64\",\"shape\":[3],"
                             "\"data_offsets\":[1536,1560]}}";
    double v[195];
    for (int i = 0; i < 195; i++)
        v[i] = 0.01 * (i % 5);
    st_raw("w.safetensors", strlen(hdr), hdr, v, sizeof v);
    predict_with(c, EXPECT_OK, 0);
}

static void deep_json(h_case *c)
{
    h_buf b = {0};
    for (int i = 0; i < 100000; i++)
        hb_put(&b, "[", 1);
    for (int i = 0; i < 100000; i++)
        hb_put(&b, "]", 1);
    hb_put(&b, "", 1);
    st_case(c, EXPECT_ERR, 0, (const char *)b.p);
    hb_free(&b);
}

static void tiny_file(h_case *c, size_t n)
{
    w_file("w.safetensors", "\x10\0\0\0\0\0\0\0{}", n);
    predict_with(c, EXPECT_ERR, 0);
}
static void empty_file(h_case *c) { tiny_file(c, 0); }
static void seven_bytes(h_case *c) { tiny_file(c, 7); }

/* The tiny model's weights all one value: predict (and eval) must not corrupt memory. */
static void value_predict(h_case *c, float v)
{
    st_tiny("w.safetensors", v);
    predict_with(c, EXPECT_CLEAN, 0);
}
static void nan_predict(h_case *c) { value_predict(c, NAN); }
static void inf_predict(h_case *c) { value_predict(c, INFINITY); }
static void huge_predict(h_case *c) { value_predict(c, 3e38f); }

static void nan_eval(h_case *c)
{
    st_tiny("w.safetensors", NAN);
    fix_copy("tiny.fv", "tiny.fv");
    h_run(c, EXPECT_CLEAN, 0, "eval", "tiny.fv", "--weights", "w.safetensors", "--data",
          fix_path("idx"), "--out", "out", NULL);
}

static void weights_special(h_case *c, int kind)
{
    if (kind == 0)
        mk_fifo("w.safetensors");
    else if (kind == 1)
        mk_dirs("w.safetensors");
    else
        w_sparse("w.safetensors", kind == 2 ? (17ull << 30) : (2ull << 30));
    if (kind == 3) { /* a valid header, the data at the start of 2 GiB of zeros */
        FILE *f = fopen("w.safetensors", "r+b");
        static const char *hdr = HDR("[0,768]", "[768,780]");
        unsigned char n[8] = {(unsigned char)strlen(hdr)};
        if (!f || fwrite(n, 1, 8, f) != 8 || fwrite(hdr, 1, strlen(hdr), f) != strlen(hdr) ||
            fclose(f) != 0)
            h_die("weights_special");
    }
    predict_with(c, kind == 3 ? EXPECT_CLEAN : EXPECT_ERR, kind == 0 ? F_FIFO : F_NOOOM);
}
static void weights_fifo(h_case *c) { weights_special(c, 0); }
static void weights_dir(h_case *c) { weights_special(c, 1); }
static void weights_17g(h_case *c) { weights_special(c, 2); }
static void weights_2g(h_case *c) { weights_special(c, 3); }

/* ---------------------------------------------------------------- checkpoints */

/* out/ with the fixture run's metrics and this last.safetensors; then train --resume. */
static void resume(h_case *c, h_expect e, int flags, const char *epochs)
{
    fix_copy("tiny.fv", "tiny.fv");
    fix_copy("run/metrics.csv", "out/metrics.csv");
    h_run(c, e, flags | F_TRAIN, "train", "tiny.fv", "--data", fix_path("idx"), "--epochs",
          epochs, "--out", "out", "--resume", "--quiet", NULL);
}

static void ck_valid(h_case *c)
{
    fix_copy("run/last.safetensors", "out/last.safetensors");
    resume(c, EXPECT_OK, 0, "3");
}

/* __state word `w` (0 version, 1 epochs done) set to v. */
static void ck_word(h_case *c, int w, uint32_t v, h_expect e, const char *epochs)
{
    st_patch(fix_path("run/last.safetensors"), "out/last.safetensors", "__state", w, v);
    resume(c, e, 0, epochs);
}
static void ck_epoch_beyond(h_case *c) { ck_word(c, 1, 5, EXPECT_ERR, "3"); }
static void ck_epoch_negative(h_case *c) { ck_word(c, 1, ~0u, EXPECT_ERR, "3"); }
static void ck_epoch_max(h_case *c) { ck_word(c, 1, 0x7fffffff, EXPECT_ERR, "3"); }
static void ck_epoch_done(h_case *c) { ck_word(c, 1, 3, EXPECT_ERR, "3"); }
static void ck_version(h_case *c) { ck_word(c, 0, 2, EXPECT_ERR, "3"); }
static void ck_fewer_epochs(h_case *c)
{
    fix_copy("run/last.safetensors", "out/last.safetensors");
    resume(c, EXPECT_ERR, 0, "1");
}

/* Every value of tensor `name` set to the bits of v. */
static void ck_fill(h_case *c, const char *name, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    st_patch(fix_path("run/last.safetensors"), "out/last.safetensors", name, -1, bits);
    resume(c, EXPECT_ERR, 0, "3");
}
static void ck_nan_weights(h_case *c) { ck_fill(c, "fc.weight", NAN); }
static void ck_inf_bias(h_case *c) { ck_fill(c, "fc.bias", INFINITY); }
static void ck_nan_opt(h_case *c) { ck_fill(c, "__opt.state", NAN); }

/* The header edited: tensor `name`'s `key` set to json (NULL key: the tensor removed). */
static void ck_edit(h_case *c, const char *name, const char *key, const char *json, h_expect e)
{
    st_edit(fix_path("run/last.safetensors"), "out/last.safetensors", name, key, json);
    resume(c, e, F_NOOOM, "3");
}
static void ck_no_state(h_case *c) { ck_edit(c, "__state", NULL, NULL, EXPECT_ERR); }
static void ck_no_opt(h_case *c) { ck_edit(c, "__opt.state", NULL, NULL, EXPECT_ERR); }
static void ck_no_history(h_case *c) { ck_edit(c, "__history", NULL, NULL, EXPECT_ERR); }
static void ck_no_weight(h_case *c) { ck_edit(c, "fc.weight", NULL, NULL, EXPECT_ERR); }
static void ck_state_i32(h_case *c) { ck_edit(c, "__state", "dtype", "\"I32\"", EXPECT_ERR); }
static void ck_state_long(h_case *c) { ck_edit(c, "__state", "shape", "[200]", EXPECT_ERR); }
static void ck_history_short(h_case *c)
{
    ck_edit(c, "__history", "shape", "[16]", EXPECT_ERR);
}
static void ck_opt_offsets(h_case *c)
{
    ck_edit(c, "__opt.state", "data_offsets", "[936,99999999]", EXPECT_ERR);
}
static void ck_weight_shape(h_case *c) { ck_edit(c, "fc.weight", "shape", "[64,3]", EXPECT_ERR); }

/* last.safetensors cut, its header length or JSON broken. */
static void ck_bytes(h_case *c, int how)
{
    size_t n;
    unsigned char *p = r_file(fix_path("run/last.safetensors"), &n);
    if (how == 0)
        n /= 2;
    else if (how == 1)
        memset(p, 0xff, 8);
    else if (how == 2)
        p[8 + 3] = '}';
    else
        n = 0;
    w_file("out/last.safetensors", p, n);
    free(p);
    resume(c, EXPECT_ERR, F_NOOOM, "3");
}
static void ck_truncated(h_case *c) { ck_bytes(c, 0); }
static void ck_hlen(h_case *c) { ck_bytes(c, 1); }
static void ck_json(h_case *c) { ck_bytes(c, 2); }
static void ck_empty(h_case *c) { ck_bytes(c, 3); }

static void ck_special(h_case *c, int fifo)
{
    if (fifo)
        mk_fifo("out/last.safetensors");
    else
        mk_dirs("out/last.safetensors");
    resume(c, EXPECT_ERR, fifo ? F_FIFO : 0, "3");
}
static void ck_fifo(h_case *c) { ck_special(c, 1); }
static void ck_dir(h_case *c) { ck_special(c, 0); }

/* --lr on a resumed run: used (the CSV records each epoch's rate) or refused, never ignored. */
static void ck_new_lr(h_case *c)
{
    fix_copy("run/last.safetensors", "out/last.safetensors");
    fix_copy("tiny.fv", "tiny.fv");
    fix_copy("run/metrics.csv", "out/metrics.csv");
    h_run(c, EXPECT_CLEAN, F_TRAIN, "train", "tiny.fv", "--data", fix_path("idx"), "--epochs",
          "3", "--lr", "0.0123", "--out", "out", "--resume", "--quiet", NULL);
    h_file_has(c, "out/metrics.csv", ",0.0123");
}

/* A pid that no process has now (a child that has exited). */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

/* Temporaries of a killed run (`<file>.tmp.<dead pid>`): the next run must remove them. */
static void stale_tmp(h_case *c)
{
    long pid = dead_pid();
    static const char *const files[] = {"last.safetensors", "weights.safetensors", "report.html",
                                        "metrics.csv"};
    char p[128];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "out/%s.tmp.%ld", files[i], pid);
        w_text(p, "half-written by a process killed with SIGKILL");
    }
    fix_copy("run/last.safetensors", "out/last.safetensors");
    resume(c, EXPECT_OK, 0, "3");
}

const h_entry h_cases_weights[] = {
    {"st/valid", st_valid, 0},
    {"st/header-length-2^64-1", hlen_max, 0},
    {"st/header-length-past-end", hlen_past_end, 0},
    {"st/header-length-100MB", hlen_100mb, 0},
    {"st/header-length-0", hlen_zero, 0},
    {"st/bad-json", bad_json, 0},
    {"st/json-array", json_array, 0},
    {"st/json-string", json_string, 0},
    {"st/json-nested-100000", deep_json, 0},
    {"st/dtype-F16", dtype_f16, 0},
    {"st/dtype-F64", dtype_f64, 0},
    {"st/dtype-unknown", dtype_unknown, 0},
    {"st/dtype-number", dtype_number, 0},
    {"st/offsets-out-of-range", off_out_of_range, 0},
    {"st/offsets-reversed", off_reversed, 0},
    {"st/offsets-overlapping", off_overlap, 0},
    {"st/offsets-negative", off_negative, 0},
    {"st/offsets-fraction", off_fraction, 0},
    {"st/offsets-2^64", off_2p64, 0},
    {"st/offsets-one-value", off_one_value, 0},
    {"st/offsets-gap", off_gap, 0},
    {"st/trailing-data", trailing_data, 0},
    {"st/shape-not-bytes", shape_bytes, 0},
    {"st/shape-transposed", shape_transposed, 0},
    {"st/shape-negative", shape_negative, 0},
    {"st/shape-overflow", shape_overflow, 0},
    {"st/shape-20-dims", shape_20_dims, 0},
    {"st/missing-tensor", missing_tensor, 0},
    {"st/extra-tensor", extra_tensor, 0},
    {"st/name-not-utf8", name_not_utf8, 0},
    {"st/duplicate-name", duplicate_name, 0},
    {"st/metadata-not-strings", metadata_number, 0},
    {"st/empty-file", empty_file, 0},
    {"st/7-bytes", seven_bytes, 0},
    {"st/nan-weights-predict", nan_predict, 0},
    {"st/inf-weights-predict", inf_predict, 0},
    {"st/3e38-weights-predict", huge_predict, 0},
    {"st/nan-weights-eval", nan_eval, 0},
    {"st/weights-fifo", weights_fifo, 0},
    {"st/weights-is-dir", weights_dir, 0},
    {"st/weights-sparse-17GiB", weights_17g, 0},
    {"st/weights-sparse-2GiB", weights_2g, 0},
    {"ckpt/valid-resume", ck_valid, 0},
    {"ckpt/epoch-beyond-run", ck_epoch_beyond, 0},
    {"ckpt/epoch-negative", ck_epoch_negative, 0},
    {"ckpt/epoch-2^31-1", ck_epoch_max, 0},
    {"ckpt/epoch-3-with-history-of-2", ck_epoch_done, 0},
    {"ckpt/run-shorter-than-checkpoint", ck_fewer_epochs, 0},
    {"ckpt/version-2", ck_version, 0},
    {"ckpt/nan-weights", ck_nan_weights, 0},
    {"ckpt/inf-bias", ck_inf_bias, 0},
    {"ckpt/nan-optimizer-state", ck_nan_opt, 0},
    {"ckpt/no-state", ck_no_state, 0},
    {"ckpt/no-optimizer-state", ck_no_opt, 0},
    {"ckpt/no-history", ck_no_history, 0},
    {"ckpt/no-weight", ck_no_weight, 0},
    {"ckpt/state-dtype-I32", ck_state_i32, 0},
    {"ckpt/state-200-words", ck_state_long, 0},
    {"ckpt/history-short", ck_history_short, 0},
    {"ckpt/optimizer-offsets-out-of-range", ck_opt_offsets, 0},
    {"ckpt/weight-shape-transposed", ck_weight_shape, 0},
    {"ckpt/truncated", ck_truncated, 0},
    {"ckpt/header-length-2^64-1", ck_hlen, 0},
    {"ckpt/bad-json", ck_json, 0},
    {"ckpt/empty", ck_empty, 0},
    {"ckpt/fifo", ck_fifo, 0},
    {"ckpt/is-dir", ck_dir, 0},
    {"ckpt/stale-temporaries-of-killed-run", stale_tmp, 0},
    {"ckpt/resume-with-new-lr", ck_new_lr, 0},
    {NULL, NULL, 0},
};
