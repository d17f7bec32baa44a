/* make_corpus.c - writes the fuzz targets' seed corpus (tests/fuzz/corpus/<target>/): small valid
 * files of every kind the readers accept and near-valid ones (truncated, a field off by one, an
 * unsupported variant), from the library's writers, libpng, libjpeg and zlib, plus a few model
 * and image files copied from the source tree. Deterministic, so regenerating gives the committed
 * files: fv_fuzz_corpus SOURCE_DIR OUT_DIR (tests/fuzz/README.md). */
#include "fuzz_checkpoint_model.h"
#include "io/io.h"

#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static const char *src_dir, *out_dir;
static int failures;

static void fail(const char *what)
{
    fprintf(stderr, "fv_fuzz_corpus: %s\n", what);
    failures++;
}

static const char *out(const char *target, const char *file)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, file);
    return path;
}

static void put(const char *target, const char *file, const void *data, size_t len)
{
    const char *path = out(target, file);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        fail(path);
}

/* A whole file's bytes (malloc'd), or NULL. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n)
        free(buf), buf = NULL;
    if (f)
        fclose(f);
    if (!buf)
        fail(path);
    *len = buf ? (size_t)n : 0;
    return buf;
}

/* A file of the source tree, as is and (when cut > 0) its first cut bytes under "trunc_". */
static void copy(const char *target, const char *rel, size_t cut)
{
    char path[1024], name[256];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", src_dir, rel);
    unsigned char *buf = slurp(path, &len);
    if (!buf)
        return;
    const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
    put(target, base, buf, len);
    if (cut && cut < len) {
        snprintf(name, sizeof name, "trunc_%s", base);
        put(target, name, buf, cut);
    }
    free(buf);
}

/* Writes a library-written file's first cut bytes under "trunc_" + file. */
static void truncated(const char *target, const char *file, size_t cut)
{
    char name[256];
    size_t len;
    unsigned char *buf = slurp(out(target, file), &len);
    snprintf(name, sizeof name, "trunc_%s", file);
    if (buf)
        put(target, name, buf, cut && cut < len ? cut : len / 2);
    free(buf);
}

/* ---------------------------------------------------------------- IDX */

/* An IDX file of unsigned bytes: magic 00 00 type ndim, big-endian dims, values i * 37. */
static size_t idx_bytes(unsigned char *b, int type, int ndim, const uint32_t *dims, size_t keep)
{
    size_t n = 4, count = 1;
    b[0] = 0, b[1] = 0, b[2] = (unsigned char)type, b[3] = (unsigned char)ndim;
    for (int d = 0; d < ndim; d++, n += 4) {
        b[n] = (unsigned char)(dims[d] >> 24), b[n + 1] = (unsigned char)(dims[d] >> 16);
        b[n + 2] = (unsigned char)(dims[d] >> 8), b[n + 3] = (unsigned char)dims[d];
        count *= dims[d];
    }
    for (size_t i = 0; i < count && i < keep; i++)
        b[n++] = (unsigned char)(i * 37);
    return n;
}

/* b as one gzip member (or two, split in the middle). */
static void put_gz(const char *file, const unsigned char *b, size_t len, int members)
{
    unsigned char z[4096];
    size_t zn = 0;
    for (int m = 0; m < members; m++) {
        size_t from = len * (size_t)m / (size_t)members;
        size_t to = len * (size_t)(m + 1) / (size_t)members;
        z_stream s = {0};
        if (deflateInit2(&s, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            fail(file);
            return;
        }
        s.next_in = (unsigned char *)b + from, s.avail_in = (uInt)(to - from);
        s.next_out = z + zn, s.avail_out = (uInt)(sizeof z - zn);
        if (deflate(&s, Z_FINISH) != Z_STREAM_END)
            fail(file);
        zn = sizeof z - s.avail_out;
        deflateEnd(&s);
    }
    put("fuzz_idx", file, z, zn);
}

static void idx_corpus(void)
{
    unsigned char b[2048];
    uint32_t img[3] = {3, 5, 4}, lab[1] = {3}, one[1] = {7}, four[4] = {2, 1, 3, 3};
    size_t n = idx_bytes(b, 0x08, 3, img, 1000);
    put("fuzz_idx", "images_3x5x4.idx3", b, n);
    put_gz("images_3x5x4.idx3.gz", b, n, 1);
    put_gz("images_two_members.idx3.gz", b, n, 2);
    put("fuzz_idx", "images_short.idx3", b, n - 7);
    put("fuzz_idx", "header_only.idx3", b, 6);
    put_gz("images_short.idx3.gz", b, n - 7, 1);
    n = idx_bytes(b, 0x08, 1, lab, 1000);
    put("fuzz_idx", "labels_3.idx1", b, n);
    put_gz("labels_3.idx1.gz", b, n, 1);
    n = idx_bytes(b, 0x08, 1, one, 1000);
    put("fuzz_idx", "vector_7.idx1", b, n);
    n = idx_bytes(b, 0x08, 4, four, 1000);
    put("fuzz_idx", "four_dims.idx4", b, n);
    uint32_t zero[3] = {0, 28, 28};
    n = idx_bytes(b, 0x08, 3, zero, 1000);
    put("fuzz_idx", "no_images.idx3", b, n);
    n = idx_bytes(b, 0x0d, 1, lab, 0); /* float data: refused */
    put("fuzz_idx", "float_type.idx1", b, n + 12);
}

/* ---------------------------------------------------------------- PNG */

/* A w x h image through libpng (pixel bytes i * 29 + row), any colour type, depth, interlace. */
static void png_file(const char *file, int w, int h, int color, int depth, int interlace,
                     int trns)
{
    FILE *f = fopen(out("fuzz_png", file), "wb");
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int ch = color == PNG_COLOR_TYPE_RGB ? 3 : color == PNG_COLOR_TYPE_RGBA ? 4
             : color == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : 1;
    size_t stride = (size_t)((w * ch * depth + 7) / 8);
    unsigned char *rows = calloc((size_t)h, stride);
    if (!f || !info || !rows || setjmp(png_jmpbuf(p))) {
        fail(file);
    } else {
        png_init_io(p, f);
        png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        if (color == PNG_COLOR_TYPE_PALETTE) {
            png_color pal[4] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {9, 9, 255}};
            png_set_PLTE(p, info, pal, 4);
        }
        if (trns) {
            png_byte alpha[4] = {0, 128, 255, 255};
            png_color_16 key = {0, 1, 2, 3, 4};
            png_set_tRNS(p, info, alpha, color == PNG_COLOR_TYPE_PALETTE ? 4 : 0, &key);
        }
        png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment",
                         .text = "fovea fuzz seed"};
        png_set_text(p, info, &text, 1);
        png_write_info(p, info);
        for (int y = 0; y < h; y++)
            for (size_t i = 0; i < stride; i++)
                rows[(size_t)y * stride + i] = (unsigned char)(
                    color == PNG_COLOR_TYPE_PALETTE ? (depth == 8 ? (i + y) % 4 : 0x1b)
                                                    : i * 29 + (size_t)y);
        for (int pass = png_set_interlace_handling(p); pass > 0; pass--)
            for (int y = 0; y < h; y++)
                png_write_row(p, rows + (size_t)y * stride);
        png_write_end(p, info);
    }
    png_destroy_write_struct(&p, &info);
    free(rows);
    if (f && fclose(f) != 0)
        fail(file);
}

static void png_corpus(void)
{
    png_file("gray8_5x4.png", 5, 4, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, 0);
    png_file("gray1_9x3.png", 9, 3, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, 0);
    png_file("gray16_3x3_trns.png", 3, 3, PNG_COLOR_TYPE_GRAY, 16, PNG_INTERLACE_NONE, 1);
    png_file("gray_alpha_4x4.png", 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8, PNG_INTERLACE_NONE, 0);
    png_file("rgb8_6x5_interlaced.png", 6, 5, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, 0);
    png_file("rgb16_2x3.png", 2, 3, PNG_COLOR_TYPE_RGB, 16, PNG_INTERLACE_NONE, 0);
    png_file("rgba8_4x3.png", 4, 3, PNG_COLOR_TYPE_RGBA, 8, PNG_INTERLACE_NONE, 0);
    png_file("palette8_4x4_trns.png", 4, 4, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_NONE, 1);
    png_file("palette2_7x2.png", 7, 2, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, 0);
    truncated("fuzz_png", "rgb8_6x5_interlaced.png", 0);
    copy("fuzz_png", "tests/data/fashion_trouser.png", 200);
}

/* ---------------------------------------------------------------- JPEG */

/* A w x h JPEG through libjpeg: gray, RGB or CMYK (refused by fovea), baseline or progressive. */
static void jpeg_file(const char *file, int w, int h, J_COLOR_SPACE cs, int progressive,
                      int restart)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    FILE *f = fopen(out("fuzz_jpeg", file), "wb");
    int ch = cs == JCS_GRAYSCALE ? 1 : cs == JCS_RGB ? 3 : 4;
    unsigned char *row = malloc((size_t)w * (size_t)ch);
    if (!f || !row) {
        fail(file);
        free(row);
        if (f)
            fclose(f);
        return;
    }
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = ch, c.in_color_space = cs;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 75, TRUE);
    if (progressive)
        jpeg_simple_progression(&c);
    c.restart_interval = (unsigned)restart;
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        for (int i = 0; i < w * ch; i++)
            row[i] = (unsigned char)(i * 23 + (int)c.next_scanline * 11);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    if (fclose(f) != 0)
        fail(file);
}

static void jpeg_corpus(void)
{
    jpeg_file("gray_8x8.jpg", 8, 8, JCS_GRAYSCALE, 0, 0);
    jpeg_file("rgb_17x9.jpg", 17, 9, JCS_RGB, 0, 0);
    jpeg_file("rgb_16x16_progressive.jpg", 16, 16, JCS_RGB, 1, 0);
    jpeg_file("gray_24x8_restarts.jpg", 24, 8, JCS_GRAYSCALE, 0, 1);
    jpeg_file("cmyk_8x8.jpg", 8, 8, JCS_CMYK, 0, 0);
    truncated("fuzz_jpeg", "rgb_16x16_progressive.jpg", 0);
    copy("fuzz_jpeg", "tests/data/fashion_bag.jpg", 0);
}

/* ---------------------------------------------------------------- model text */

static const char kitchen_sink[] =
    "# every layer kind the format has, on small shapes\n"
    "model sink\n"
    "input shape=2,12,12 name=img\n"
    "conv2d filters=4 kernel_size=3 padding=same activation=relu l2=1e-4 name=c1\n"
    "depthwise_conv2d kernel_size=3 padding=1 depth_multiplier=2 name=dw\n"
    "separable_conv2d filters=4 kernel_size=3 padding=1 activation=relu6 name=sep\n"
    "conv2d filters=4 kernel_size=1 groups=2 dilation_rate=1 use_bias=false name=g\n"
    "add inputs=c1,g name=res\n"
    "batchnorm momentum=0.1 epsilon=1e-3 name=bn\n"
    "maxpool2d pool_size=2 name=mp\n"
    "maxunpool2d inputs=mp,mp name=unpool\n"
    "avgpool2d pool_size=3 strides=1 padding=1 count_include_pad=false inputs=bn name=ap\n"
    "lppool2d power=2 pool_size=2 ceil_mode=true name=lp\n"
    "conv2d_transpose filters=4 kernel_size=2 strides=2 output_padding=0 name=up\n"
    "concat axis=0 inputs=up,ap name=cat\n"
    "group_norm groups=2 name=gn\n"
    "instance_norm name=in\n"
    "prelu name=pr\n"
    "maxout pieces=2 name=mo\n"
    "lrn size=3 alpha=1e-4 beta=0.75 k=2 name=lrn\n"
    "upsample2d size=2 interpolation=bilinear name=us\n"
    "zero_padding2d padding=1,2 name=zp\n"
    "cropping2d cropping=1,2,1,2 name=cr\n"
    "fractional_maxpool2d kernel_size=2 output_ratio=0.7 name=fmp\n"
    "adaptive_avgpool2d output_size=3,3 name=aap\n"
    "spatial_dropout2d rate=0.1 name=sd\n"
    "layer_norm epsilon=1e-5 name=ln\n"
    "leaky_relu alpha=0.2 name=lk\n"
    "activation activation=elu alpha=0.5 name=el\n"
    "gelu\n"
    "global_avgpool2d inputs=ln name=gap\n"
    "global_maxpool2d inputs=ln name=gmp\n"
    "add inputs=gap,gmp name=both\n"
    "reshape target_shape=2,-1 name=rs\n"
    "flatten\n"
    "dropout rate=0.25\n"
    "dense units=3 activation=softmax max_norm=2 name=out\n";

static const char broken[] =
    "model broken\r\n"
    "input shape=(1,8,8)\r\n"
    "Conv2D filters=2 kernel_size=[3,3] strides=1 padding=valid activation=tanh\r\n"
    "dense units=0\r\n";

/* the initializer arguments, with one unknown name near the end */
static const char inits[] =
    "model inits\n"
    "input shape=3,8,8\n"
    "conv2d filters=4 kernel_size=3 init=he_normal init_mode=fan_out bias_init=constant "
    "bias_value=-0.25 name=c\n"
    "separable_conv2d filters=4 kernel_size=3 init=orthogonal init_gain=2 name=s\n"
    "conv2d_transpose filters=2 kernel_size=2 kernel_initializer=kaiming_uniform "
    "bias_initializer=ones\n"
    "flatten\n"
    "dense units=5 init=constant init_value=-2 use_bias=false\n"
    "dense units=3 init=lecun_nrmal\n";

static void model_corpus(void)
{
    fv_model *m = fv_model_parse(kitchen_sink, "sink.fv");
    if (!m)
        fail(fv_last_error());
    fv_model_free(m);
    put("fuzz_modelfile", "sink.fv", kitchen_sink, sizeof kitchen_sink - 1);
    put("fuzz_modelfile", "broken_crlf.fv", broken, sizeof broken - 1);
    put("fuzz_modelfile", "inits.fv", inits, sizeof inits - 1);
    copy("fuzz_modelfile", "models/lenet5.fv", 0);
    copy("fuzz_modelfile", "models/keras_cnn.fv", 0);
    copy("fuzz_modelfile", "models/zoo/resnet20.fv", 0);
    copy("fuzz_modelfile", "models/zoo/alexnet_bn.fv", 0);
    copy("fuzz_modelfile", "models/zoo/vgg_a_lrn.fv", 0);
}

/* ---------------------------------------------------------------- safetensors, checkpoints */

/* A safetensors file by hand: an 8-byte little-endian header length, the JSON, the data. */
static void st_by_hand(const char *target, const char *file, const char *json, const void *data,
                       size_t len)
{
    unsigned char b[1024];
    size_t h = strlen(json);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b + 8, json, h);
    memcpy(b + 8 + h, data, len);
    put(target, file, b, 8 + h + len);
}

/* A weights file with metadata (fv_model_save_weights of a described model) and hand-made
 * near-valid and hostile metadata: bad JSON, wrong types, class names that do not fit. */
static void metadata_corpus(void)
{
    fv_model *m = fv_model_new("tiny");
    fv_input(m, .ndim = 1, .dims = {2});
    fv_dense(m, FV_LAST, .units = 3, .activation = FV_ACT_RELU, .name = "fc");
    static const char *const names[3] = {"cat", "dog", "h\xc3\xa9"};
    if (fv_model_compile(m, .seed = 1) != FV_OK ||
        fv_model_set_meta(m, .class_names = names, .num_classes = 3, .mean = 0.5f, .std = 0.5f,
                          .dataset = "pets") != FV_OK ||
        fv_model_save_weights(m, out("fuzz_safetensors", "described.safetensors")) != FV_OK)
        fail(fv_last_error());
    fv_model_free(m);
    float w[9] = {1, 2, 3, 4, 5, 6, 0, 0, 0};
    const char *arch = "\"architecture\":\"model tiny\\ninput shape=2\\n"
                       "dense units=3 name=fc\\n\"";
    const char *tensors = "\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],"
                          "\"data_offsets\":[0,24]},\"fc.bias\":{\"dtype\":\"F32\","
                          "\"shape\":[3],\"data_offsets\":[24,36]}}";
    static const struct {
        const char *file, *meta;
    } cases[] = {
        {"meta_two_names.safetensors", "\"class_names\":\"[\\\"a\\\",\\\"b\\\"]\""},
        {"meta_bad_json.safetensors", "\"class_names\":\"[\\\"a\\\",\""},
        {"meta_not_array.safetensors", "\"class_names\":\"{\\\"a\\\":1}\""},
        {"meta_bad_shape.safetensors", "\"input_shape\":\"[2,-1]\""},
        {"meta_other_shape.safetensors", "\"input_shape\":\"[3]\""},
        {"meta_bad_norm.safetensors", "\"normalization\":\"{\\\"mean\\\":0,\\\"std\\\":0}\""},
        {"meta_number.safetensors", "\"dataset\":3"},
        {"meta_no_arch.safetensors", "\"dataset\":\"pets\""},
    };
    char json[1024];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int no_arch = strcmp(cases[i].file, "meta_no_arch.safetensors") == 0;
        snprintf(json, sizeof json, "{\"__metadata__\":{%s%s%s},%s", no_arch ? "" : arch,
                 no_arch ? "" : ",", cases[i].meta, tensors);
        st_by_hand("fuzz_safetensors", cases[i].file, json, w, sizeof w);
    }
}

static void safetensors_corpus(void)
{
    float a[6] = {1, -2, 3.5f, 0, 1e-3f, 7}, s[1] = {42};
    fv_tensor ta = {.ndim = 2, .dims = {2, 3}, .strides = {3, 1}, .data = a};
    fv_tensor ts = {.ndim = 1, .dims = {1}, .strides = {1}, .data = s};
    const fv_tensor *ts_[2] = {&ta, &ts};
    const char *names[2] = {"conv1.weight", "conv1.bias"};
    if (fv_st_save(out("fuzz_safetensors", "two_f32.safetensors"), 2, names, ts_) != FV_OK)
        fail(fv_last_error());
    truncated("fuzz_safetensors", "two_f32.safetensors", 0);
    double d[2] = {0.5, -4};
    st_by_hand("fuzz_safetensors", "f64_metadata.safetensors",
               "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F64\",\"shape\":[2],"
               "\"data_offsets\":[0,16]}}", d, sizeof d);
    st_by_hand("fuzz_safetensors", "scalar_and_empty.safetensors",
               "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
               "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]}}", s, 4);
    st_by_hand("fuzz_safetensors", "bad_offsets.safetensors",
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", a, 12);
    st_by_hand("fuzz_safetensors", "i64_dtype.safetensors",
               "{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", d, 8);
    metadata_corpus();
}

static void checkpoint_corpus(void)
{
    fv_model *m = fuzz_checkpoint_model();
    if (!m) {
        fail(fv_last_error());
        return;
    }
    float *best = calloc((size_t)m->param_total, sizeof *best);
    fv_epoch_metrics hist[FUZZ_CKPT_EPOCHS + 1];
    for (int e = 0; e <= FUZZ_CKPT_EPOCHS; e++)
        hist[e] = (fv_epoch_metrics){e + 1, 0.9 - 0.1 * e, 0.5 + 0.05 * e, 1.0 - 0.1 * e,
                                     0.4 + 0.05 * e, 0.1, 100, 0.01};
    fv_train_state t = {.epoch = 0, .base_lr = 0.01, .history = hist};
    if (fv_checkpoint_write(m, out("fuzz_checkpoint", "epoch0.safetensors"), &t) != FV_OK)
        fail(fv_last_error());
    t.epoch = 2, t.step = 20, t.stop_best = 0.8, t.stop_best_epoch = 2, t.best_weights = best;
    m->opt_steps = 20;
    if (fv_checkpoint_write(m, out("fuzz_checkpoint", "epoch2_best.safetensors"), &t) != FV_OK)
        fail(fv_last_error());
    t.epoch = FUZZ_CKPT_EPOCHS + 1; /* more epochs than the run has */
    if (fv_checkpoint_write(m, out("fuzz_checkpoint", "too_many_epochs.safetensors"), &t) != FV_OK)
        fail(fv_last_error());
    if (fv_model_save_weights(m, out("fuzz_checkpoint", "weights_only.safetensors")) != FV_OK)
        fail(fv_last_error());
    truncated("fuzz_checkpoint", "epoch2_best.safetensors", 0);
    free(best);
    fv_model_free(m);
}

/* ---------------------------------------------------------------- CIFAR */

static void cifar_corpus(void)
{
    static unsigned char b[3 * 3074];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (unsigned char)(i * 7 + i / 3072);
    b[0] = 3, b[3073] = 9, b[2 * 3073] = 0; /* CIFAR-10 labels of records 0..2 */
    put("fuzz_cifar", "cifar10_three.bin", b, 3 * 3073);
    put("fuzz_cifar", "cifar10_short.bin", b, 3073 + 100);
    b[3073] = 10; /* out of range */
    put("fuzz_cifar", "cifar10_bad_label.bin", b, 2 * 3073);
    b[0] = 4, b[1] = 57, b[3074] = 1, b[3075] = 99; /* CIFAR-100: coarse, fine */
    put("fuzz_cifar", "cifar100_two.bin", b, 2 * 3074);
    b[3075] = 100;
    put("fuzz_cifar", "cifar100_bad_label.bin", b, 2 * 3074);
}

/* ---------------------------------------------------------------- CSV and NPY */

static void put_text(const char *target, const char *file, const char *text)
{
    put(target, file, text, strlen(text));
}

static void csv_corpus(void)
{
    put_text("fuzz_csv", "header_names.csv",
             "\xEF\xBB\xBF" "f1,f2,species\r\n1.5,-2e-3,\"virginica\"\r\n\r\n"
             " 3 , .5 ,setosa\r\n0,1,\"a, \"\"b\"\"\"\r\n");
    put_text("fuzz_csv", "numbers.csv", "1,2,3\n4,5,0\n7,8,1.0\n-1e5,+6.25,2\n");
    put_text("fuzz_csv", "regression.csv", "x1,x2,y\n0.5,1,2.25\n-1,2,-3.5\n3,4,1e3\n");
    put_text("fuzz_csv", "index_column.csv", ",a,y\n0,1,cat\n1,2,dog\n");
    put_text("fuzz_csv", "quoted_newline.csv", "a,label\n1,\"two\nlines\"\n2,x\n");
    put_text("fuzz_csv", "ragged.csv", "a,b,y\n1,2,3\n1,2\n");
    put_text("fuzz_csv", "bad_cells.csv", "a,b,y\n1,nan,3\n1,,3\n1,1e39,0x1\n");
    put_text("fuzz_csv", "open_quote.csv", "a,y\n1,\"never closed\n");
}

/* A format-1.0 .npy file: the dict padded with blanks to 64 bytes, then len bytes of data. */
static void npy_file(const char *file, int major, const char *dict, const void *data,
                     size_t len)
{
    unsigned char b[512];
    size_t pre = major == 1 ? 10 : 12, h = 64 - pre;
    memset(b, 0, sizeof b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major, b[8] = (unsigned char)h;
    memset(b + pre, ' ', h);
    memcpy(b + pre, dict, strlen(dict));
    b[63] = '\n';
    memcpy(b + 64, data, len);
    put("fuzz_npy", file, b, 64 + len);
}

static void npy_corpus(void)
{
    static const char *const numpy[] = {"f4_v1.npy", "f8_v2.npy", "u1.npy", "i4.npy",
                                        "labels_i8.npy", "fortran.npy", "big_endian.npy"};
    char rel[128];
    for (size_t i = 0; i < sizeof numpy / sizeof numpy[0]; i++) {
        snprintf(rel, sizeof rel, "tests/data/npy/%s", numpy[i]);
        copy("fuzz_npy", rel, i == 0 ? 100 : 0);
    }
    const float f[6] = {0, 1, 2, 2.5f, -1, 1e30f};
    const unsigned char u[6] = {0, 1, 2, 255, 7, 9};
    npy_file("scalar.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", f, 4);
    npy_file("f4_2x3_v3.npy", 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}",
             f, 24);
    npy_file("u1_6.npy", 1, "{\"descr\": \"|u1\", \"fortran_order\": False, \"shape\": (6L,)}",
             u, 6);
    npy_file("short_data.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }",
             f, 24);
}

/* Probabilities CSV (fovea eval's): one from the writer, and near-valid ones by hand. */
static void probs_corpus(void)
{
    static const float p[12] = {0.25f, 0.5f, 0.25f, 1, 0, 0, 1e-30f, 0.7f, 0.3f, 0.1f, 0.2f, 0.7f};
    static const int lab[4] = {1, 0, 2, 2};
    if (fv_probs_write(out("fuzz_probs", "eval4x3.csv"), p, lab, 4, 3) != FV_OK)
        fail(fv_last_error());
    static const struct {
        const char *file, *text;
    } t[] = {{"crlf.csv", "index,label,p_0,p_1\r\n0,1,0.5,0.5\r\n1,0,1e-3,0.999"},
             {"ragged.csv", "index,label,p_0,p_1\n0,1,0.5,0.5\n1,0,1\n"},
             {"nan.csv", "index,label,p_0,p_1\n0,1,nan,0.5\n"},
             {"sum.csv", "index,label,p_0,p_1,p_2\n0,2,0.5,0.5,0.5\n"},
             {"header.csv", "index,label,p_0,p_2\n0,0,1,0\n"},
             {"index.csv", "index,label,p_0\n0,0,1\n0,0,1\n"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        put("fuzz_probs", t[i].file, t[i].text, strlen(t[i].text));
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fv_fuzz_corpus SOURCE_DIR OUT_DIR\n");
        return 2;
    }
    src_dir = argv[1], out_dir = argv[2];
    mkdir(out_dir, 0755);
    idx_corpus();
    png_corpus();
    jpeg_corpus();
    model_corpus();
    safetensors_corpus();
    checkpoint_corpus();
    cifar_corpus();
    csv_corpus();
    npy_corpus();
    probs_corpus();
    return failures ? 1 : 0;
}
