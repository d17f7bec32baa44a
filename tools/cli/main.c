/* main.c - the command-line tool's front door: the usage of each command, the options, and the
 * dispatch to one file per command. The CLI is the only place that exits: every library error is
 * printed as one line ("fovea: <message>") and turns into a non-zero exit status. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* The commands: name, function, and usage lines (printed by `fovea --help` and `fovea CMD --help`). */
static const struct command {
    const char *name;
    int (*run)(const opts *o);
    const char *usage;
} commands[] = {
    {"train", cmd_train,
     "  train   [MODEL.fv] [--data DIR] [--epochs N] [--batch N] [--optimizer NAME]\n"
     "          NAME: adam (default), sgd, adamw, adamax, nadam, adagrad, rmsprop, adadelta\n"
     "          [--schedule constant|step|exponential|cosine|onecycle|plateau] [--warmup N]\n"
     "          [--early-stopping PATIENCE] (restores the best epoch) [--clip-norm X]\n"
     "          [--resume]  continue from OUT/last.safetensors (checkpoints: OUT/last,\n"
     "          OUT/best, after every epoch)\n"
     "          [--val-split F] the validation set: F of the training data held out (per class,\n"
     "          drawn by --seed; default 0.1; 0: none); [--val DIR] one of its own instead, read\n"
     "          as --data's test split. Early stopping, plateau and OUT/best watch its loss\n"
     "          (without one, the training loss); the test split is used once, at the end\n"
     "          augmentation: [--hflip] [--vflip] [--crop-pad N] [--rotate DEG] [--scale X]\n"
     "          [--aspect X] [--translate X] [--brightness X] [--contrast X] [--saturation X]\n"
     "          [--hue X] [--grayscale P] [--cutout N] [--erase P] [--mixup A] [--cutmix A]\n"
     "          [--lr X] [--momentum X] [--seed N] [--limit N] [--per-class N] [--out DIR]\n"
     "          [--quiet]  --per-class N: N training images of each class (seeded by --seed)\n"
     "          [--loss ce|mse|mae|huber]  mse, mae, huber: regression on real targets\n"
     "          trains on DIR (default: Fashion-MNIST) and writes OUT/weights.safetensors\n"
     "          (with the architecture, class names, input shape, normalization and data\n"
     "          set in its metadata) and OUT/metrics.csv (default out: runs/<model>)\n"
     "          [--resize H[,W]]  images converted to the model's input of that size\n"
     "          (bilinear; gray <-> RGB; also a zoo network's --input C,H,W): the training\n"
     "          set batch by batch, the test set at once\n"
     "          data-parallel: mpirun -np N fovea train ... (--batch per rank; rank 0 writes;\n"
     "          [--sync-bn] batch norm over all ranks' samples)\n"
     "          vector data: --data FILE.csv [--target COLUMN] (a header name or an index,\n"
     "          default the last), or --data X.npy --labels Y.npy; tested on --test FILE\n"
     "          [--test-labels Y.npy], else on a fixed fifth of the rows held out\n"
     "          transfer learning:\n"
     "          [--weights FILE]  start from these weights, matched by name (a report says\n"
     "          what loaded, what is new, what was skipped; epoch 0's test accuracy is shown)\n"
     "          [--skip-mismatched]  keep tensors whose shape differs at their initial values\n"
     "          (else an error)  [--new-head]  replace the last dense layer by a new one for\n"
     "          the data's classes (or --classes K)  [--freeze NAMES]  freeze layers: names\n"
     "          or patterns, comma-separated ('conv1,conv2', 'conv*')  [--freeze-to LAYER]\n"
     "          freeze LAYER and every layer before it  [--finetune-epochs N]  then unfreeze\n"
     "          everything and train N more epochs at [--finetune-lr X] (default: a tenth of\n"
     "          the first phase's rate; checkpoints and metrics.csv of it in OUT/finetune)\n"
     "          [--compare-scratch]  also train the same network from its initial weights\n"
     "          on the same data for as many epochs (OUT/scratch); the report shows both\n"
     "          test accuracies\n"},
    {"eval", cmd_eval,
     "  eval    [MODEL.fv] --weights FILE [--data DIR] [--limit N] [--out DIR] [--resize H[,W]]\n"
     "          accuracy, top-k, P/R/F1, ROC AUC, AP, log-loss, ECE; JSON, CSV, figures;\n"
     "          each image's class probabilities: OUT/probabilities.csv (for ensemble);\n"
     "          with --loss mse|mae|huber: MAE, RMSE, R^2 (vector data as for train)\n"},
    {"ensemble", cmd_ensemble,
     "  ensemble PROBS.csv PROBS.csv... [--data DIR] [--limit N] [--out DIR]\n"
     "          the mean of several models' probabilities (each the probabilities.csv of a\n"
     "          fovea eval with this --data and --limit), with eval's metrics and figures and\n"
     "          its own OUT/probabilities.csv (default out: runs/ensemble), e.g.\n"
     "          fovea eval M.fv --weights A.safetensors --out ev/a   (and ev/b, ev/c), then\n"
     "          fovea ensemble ev/{a,b,c}/probabilities.csv\n"},
    {"predict", cmd_predict,
     "  predict [MODEL.fv] --weights FILE IMAGE...  (PNG or JPEG) the top 3 classes, named\n"
     "          as the weights file's metadata names them\n"},
    {"darknet", cmd_darknet,
     "  darknet table CFG | predict DATA CFG WEIGHTS IMAGE... | probs CFG WEIGHTS IMAGE...\n"
     "          a Darknet .cfg's layer table as Darknet prints it; the top classes as\n"
     "          `darknet classifier predict DATA CFG WEIGHTS IMAGE` prints them; every\n"
     "          class probability. predict X.cfg --weights X.weights IMAGE also works\n"},
    {"summary", cmd_summary,
     "  summary MODEL.fv|NETWORK  layers, output shapes, parameters, mult-adds\n"},
    {"visualize", cmd_visualize,
     "  visualize [MODEL.fv] --weights FILE [--image IMG] [--class K] [--layer L] [--out DIR]\n"
     "          [--resize H[,W]]\n"
     "          filters, feature maps, saliency and Grad-CAM, class models, mistakes,\n"
     "          deconvnet projections (PNG); saliency explains class K, default the class\n"
     "          predicted for the image (--image, else the first test image)\n"},
    {"knn", cmd_knn,
     "  knn     [--k K] [--metric l1|l2] [--data DIR] [--limit N] [--out DIR]\n"
     "          the k-nearest-neighbour baseline with eval's metrics (default k 5, L2)\n"},
    {"bench", cmd_bench,
     "  bench   MODEL.fv|NETWORK [--batch N] [--steps N] [--input C,H,W] [--classes K]\n"
     "          training and prediction images/s on random data, and peak memory\n"},
    {"export", cmd_export,
     "  export  MODEL.fv|NETWORK --onnx OUT.onnx [--opset N] [--weights FILE] [--sample DIR]\n"
     "          the model as ONNX (opset 13 to 17, default 13; zoo options as for zoo) with\n"
     "          --weights' values, else its initial ones (--seed); input \"input\" (N, C, H, W),\n"
     "          output \"output\"; --sample DIR: a fixed input batch DIR/input.npy and fovea's\n"
     "          outputs for it DIR/expected.npy, to check another runtime against\n"},
    {"quantize", cmd_quantize,
     "  quantize [MODEL.fv] WEIGHTS --calibrate N -o OUT [--method minmax|percentile|\n"
     "          entropy] [--percentile P]  int8 post-training quantization: conv2d and dense\n"
     "          layers as int8 (per-channel weights, uint8 inputs calibrated on the first N\n"
     "          training images: their range, its P-th percentile (default 99.99) or the\n"
     "          least-KL threshold), written as an int8 model file that eval and predict take\n"
     "          as --weights (about 4x smaller)\n"},
    {"zoo", cmd_zoo,
     "  zoo     [NETWORK [--out FILE.fv]]  the zoo's networks, or one as a model file\n"
     "          (NETWORK works wherever MODEL.fv does; for zoo\n"
     "          networks: [--classes K] [--input C,H,W] [--alpha X] [--aux] [--stride-first]\n"
     "          [--no-top] (the features up to global average pooling, no classifier);\n"
     "          train and eval build them for the data's image size and classes, or for\n"
     "          --input or --resize with the data converted to it)\n"},
    {"proposals", cmd_proposals,
     "  proposals IMAGE [--mode fast|quality|single] [--max N] [--seed S] [--out DIR]\n"
     "          selective search's region proposals (Uijlings et al. 2013), best first, the\n"
     "          first N (default all) as DIR/boxes.csv and DIR/boxes.json, the top 50 drawn on\n"
     "          the image as DIR/overlay.png (DIR default runs/proposals)\n"},
    {"import", cmd_import,
     "  import  MODEL.onnx [-o OUT.fv]  an ONNX model (opsets 7-17) as OUT.fv and\n"
     "          OUT.safetensors (its weights), with its summary; MODEL.onnx also works\n"
     "          wherever MODEL.fv does (docs/onnx.md: the ops)\n"},
    {"scenes", cmd_scenes,
     "  scenes  --out DIR [--train N] [--test N] [--size S] [--seed K] [--data DIR]\n"
     "          the MNIST detection set (TDT4265's): N digits' scenes (default 10000 train,\n"
     "          1000 test) on an SxS canvas (default 300), digits at 15-100 px, 0-19 a scene,\n"
     "          boxes overlapping at IoU < 0.25; in VOC layout (Annotations/, JPEGImages/,\n"
     "          ImageSets/Main/{train,test}.txt) with OUT/preview.png; digits from --data, else\n"
     "          data/mnist (scripts/get-mnist.sh), else Fashion-MNIST (with a note)\n"},
    /* detect parses its own options (run NULL: main hands it argv) */
    {"detect", NULL,
     "  detect  train --arch ssd [--input 160] [--train 10000] [--test 1000] [--epochs N]\n"
     "          [--batch B] [--lr X] [--optimizer NAME] [--schedule NAME] [--seed S]\n"
     "          [--data DIR] [--init DIR0] -o DIR\n"
     "          a detector trained on the MNIST detection scenes (TDT4265's, made on the\n"
     "          fly: train seed 1, test seed 2, digits from data/mnist or --data), scenes\n"
     "          resized to --input; DIR/detector/, DIR/metrics.json, DIR/report.html;\n"
     "          --init DIR0: train DIR0's detector further (its architecture and input)\n"
     "          detect eval DIR [--test N] [-o METRICS.json]   the metrics on the test scenes\n"
     "          detect predict DIR IMAGE [-o OUT.png] [--json OUT.json]   boxes drawn, JSON\n"
     "          train, eval, predict: [--nms IOU] [--score-thresh S] [--max-dets N]: the\n"
     "          per-class NMS IoU (default 0.5; R-CNN 0.3, the paper's), the lowest score\n"
     "          kept (0.05) and the detections kept an image (100)\n"},
    /* segment parses its own options too */
    {"segment", NULL,
     "  segment train [--arch unet|fcn8s|fcn16s|fcn32s|MODEL.fv] [--width X] [--train 10000]\n"
     "          [--test 1000] [--epochs N] [--batch N] [--lr X] [--schedule constant|onecycle|...]\n"
     "          [--loss ce|dice] [--seed N]\n"
     "          [--data MNIST_DIR] -o DIR   a segmentation network trained on M2NIST-style\n"
     "          scenes (64x84, up to 3 MNIST digits, 11 classes) made on the fly; DIR/model.fv,\n"
     "          DIR/weights.safetensors, DIR/metrics.json (pixel accuracy, per-class and mean\n"
     "          IoU, confusion matrix), DIR/report.html (scenes with true and predicted masks)\n"
     "          segment eval DIR [--test N] [-o METRICS.json]   the metrics on the test scenes\n"
     "          segment predict DIR IMAGE [-o OVERLAY.png] [--mask MASK.png]   the predicted\n"
     "          mask drawn over the image (VOC colours) and as an indexed PNG\n"},
    /* caption parses its own options too */
    {"caption", NULL,
     "  caption train [--train 20000] [--test 1000] [--epochs 5] [--batch 32] [--lr X]\n"
     "          [--units 256] [--beam 3] [--seed N] [--data MNIST_DIR] -o DIR   a captioner\n"
     "          (CNN encoder, LSTM decoder) trained with teacher forcing on captioned scenes of\n"
     "          1-4 MNIST digits made on the fly (\"three digits : 7 left of 2 , then 9\");\n"
     "          DIR/model.fv, weights.safetensors, vocab.txt, metrics.json (exact-caption\n"
     "          accuracy and BLEU-4, greedy and beam), report.html (scenes with captions)\n"
     "          caption eval DIR [--test N] [--beam K] [--captions SET] [-o METRICS.json]\n"
     "          caption write -o DIR [--train N] [--test N]   the scenes on disk: DIR/train,\n"
     "          DIR/test (PNGs, captions.txt, vocab.txt), e.g. for bench/torch_caption.py\n"
     "          caption IMAGE --weights DIR [--beam K]   (or caption predict DIR IMAGE)\n"
     "          prints the image's caption\n"},
    /* gan parses its own options too (main hands it argv) */
    {"gan", NULL,
     "  gan     --out DIR [--data mnist|fashion|DIR] [--epochs N] [--batch B] [--loss\n"
     "          ns|lsgan|hinge] [--latent N] [--limit N] [--steps N] [--seed S] [--quiet]\n"
     "          [--conditional] (one-hot labels into G and as planes into D; grid rows are\n"
     "          classes) [--resume] (continue from DIR's checkpoint, bit-identical) [--threads N]\n"
     "          a DCGAN (28x28, Adam 2e-4, beta1 0.5) trained on Fashion-MNIST (default) or\n"
     "          MNIST (data/mnist); per epoch DIR/samples_eNNN.png (fixed noise) and\n"
     "          DIR/history.csv (both losses, D(x), D(G(z))); DIR/losses.png, DIR/scores.png,\n"
     "          DIR/interpolation.png, DIR/G.safetensors, DIR/D.safetensors, DIR/report.html\n"
     "          DIR/G.ckpt.safetensors, DIR/D.ckpt.safetensors (after every epoch)\n"},
    {"gan-score", NULL,
     "  gan-score --classifier W (--generator G.safetensors [--latent N] | --samples X.npy\n"
     "          --labels Y.npy) [--conditional] [--data mnist|fashion|DIR] [-n N] [--seed S]\n"
     "          [-o FILE.json]   the GAN quality measure through a classifier of the same data\n"
     "          (W: fovea train models/gan_metric28.fv): Frechet distance of its penultimate\n"
     "          features of N (10,000) generated and N real test images, Inception Score, the\n"
     "          class histogram, agreement with the class asked for; real train vs test: the floor\n"},
};
enum { NCOMMANDS = sizeof commands / sizeof commands[0] };

static const char *const usage_tail =
    "every command: [--threads N] (default 0 = all cores)\n"
    "  [--isa LEVEL] (or FOVEA_ISA=LEVEL): the instruction sets the kernels may use: generic,\n"
    "  avx2, avx_vnni, avx512, avx512_vnni (default: the best this CPU has; fovea --version\n"
    "  shows it and each kernel family's)\n"
    "MODEL.fv defaults to " DEFAULT_MODEL " (train); eval, predict and visualize take the model\n"
    "  from the weights file when it is left out. Data: FOVEA_DATA or Debian's\n"
    "  dataset-fashion-mnist; --data NAME also finds data/NAME (scripts/get-mnist.sh: data/mnist);\n"
    "  eval and visualize default to the data set the weights were trained on when found so.\n";

/* Every command's usage (c NULL), or one command's. */
static void usage(FILE *f, const struct command *c)
{
    fprintf(f, "usage: fovea %s [options]\n", c ? c->name : "<command>");
    for (int i = 0; i < NCOMMANDS; i++)
        if (!c || c == &commands[i])
            fputs(commands[i].usage, f);
    fputs(usage_tail, f);
}

static int wants_help(int argc, char **argv)
{
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    return 0;
}

/* The augmentation settings that take a number: --NAME X sets the field. */
static float *aug_field(fv_augment *g, const char *name)
{
    static const struct {
        const char *name;
        size_t off;
    } t[] = {{"--rotate", offsetof(fv_augment, rotate)},
             {"--scale", offsetof(fv_augment, scale)},
             {"--aspect", offsetof(fv_augment, aspect)},
             {"--translate", offsetof(fv_augment, translate)},
             {"--brightness", offsetof(fv_augment, brightness)},
             {"--contrast", offsetof(fv_augment, contrast)},
             {"--saturation", offsetof(fv_augment, saturation)},
             {"--hue", offsetof(fv_augment, hue)},
             {"--grayscale", offsetof(fv_augment, grayscale)},
             {"--erase", offsetof(fv_augment, erase)},
             {"--mixup", offsetof(fv_augment, mixup)},
             {"--cutmix", offsetof(fv_augment, cutmix)}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(name, t[i].name) == 0)
            return (float *)((char *)g + t[i].off);
    return NULL;
}

/* --loss NAME; -1 for an unknown name. */
static int loss_option(const char *v, fv_loss *loss)
{
    static const struct {
        const char *name;
        fv_loss loss;
    } t[] = {{"ce", FV_LOSS_SOFTMAX_CE}, {"mse", FV_LOSS_MSE}, {"mae", FV_LOSS_MAE},
             {"huber", FV_LOSS_HUBER}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(v, t[i].name) == 0) {
            *loss = t[i].loss;
            return 0;
        }
    return -1;
}

/* The vector-data files --labels, --test, --test-labels: whether a is one (*bad: too long). */
static int path_option(const char *a, const char *v, opts *o, int *bad)
{
    const char **dst = strcmp(a, "--labels") == 0        ? &o->labels
                       : strcmp(a, "--test") == 0        ? &o->test
                       : strcmp(a, "--test-labels") == 0 ? &o->test_labels
                                                         : NULL;
    if (dst)
        *dst = v, *bad = strlen(v) > PATH_OPT_MAX;
    return dst != NULL;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.epochs = 10, .batch = 64, .optimizer = "adam", .lr = 0, .momentum = 0.9,
                .cls = -1, .loss = FV_LOSS_SOFTMAX_CE, .val_split = -1};
    char msg[256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0, takes = 1;
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            takes = 0;
        } else if (strcmp(a, "--resume") == 0) {
            o->resume = 1;
            takes = 0;
        } else if (strcmp(a, "--compare-scratch") == 0) {
            o->compare_scratch = 1;
            takes = 0;
        } else if (strcmp(a, "--sync-bn") == 0) {
            o->sync_bn = 1;
            takes = 0;
        } else if (strcmp(a, "--aux") == 0 || strcmp(a, "--stride-first") == 0) {
            *(a[2] == 'a' ? &o->aux : &o->stride_first) = 1;
            takes = 0;
        } else if (strcmp(a, "--skip-mismatched") == 0 || strcmp(a, "--new-head") == 0 ||
                   strcmp(a, "--no-top") == 0) {
            *(a[2] == 's' ? &o->skip_mismatched : a[4] == 'w' ? &o->new_head : &o->no_top) = 1;
            takes = 0;
        } else if (strcmp(a, "--hflip") == 0 || strcmp(a, "--vflip") == 0) {
            *(a[2] == 'h' ? &o->aug.hflip : &o->aug.vflip) = 1;
            takes = 0;
        } else if (strcmp(a, "--crop-pad") == 0 && v) {
            bad = cli_parse_int(v, 1, 64, &o->aug.crop_pad);
        } else if (strcmp(a, "--cutout") == 0 && v) {
            bad = cli_parse_int(v, 1, 4096, &o->aug.cutout);
        } else if (aug_field(&o->aug, a) && v) {
            double x;
            bad = cli_parse_double(v, &x) || !(x >= 0);
            *aug_field(&o->aug, a) = (float)x;
        } else if (strncmp(a, "--", 2) != 0 && strcmp(a, "-o") != 0) {
            if (o->npos == 64)
                return fail("too many arguments");
            o->pos[o->npos++] = a;
            takes = 0;
        } else if (!v) {
            snprintf(msg, sizeof msg, "option %s needs a value", a);
            return fail(msg);
        } else if (strcmp(a, "--classes") == 0) {
            bad = cli_parse_int(v, 1, 1 << 20, &o->classes);
        } else if (strcmp(a, "--alpha") == 0) {
            bad = cli_parse_double(v, &o->alpha) || !(o->alpha > 0);
        } else if (strcmp(a, "--resize") == 0) {
            int k = sscanf(v, "%d,%d", &o->rs_h, &o->rs_w);
            o->rs_w = k == 1 ? o->rs_h : o->rs_w;
            bad = k < 1 || o->rs_h < 1 || o->rs_w < 1 || o->rs_h > 8192 || o->rs_w > 8192;
        } else if (strcmp(a, "--input") == 0) {
            bad = sscanf(v, "%d,%d,%d", &o->in_c, &o->in_h, &o->in_w) != 3 || o->in_c < 1 ||
                  o->in_h < 1 || o->in_w < 1;
        } else if (strcmp(a, "--k") == 0) {
            bad = cli_parse_int(v, 1, 1000, &o->knn_k);
        } else if (strcmp(a, "--metric") == 0) {
            bad = strcmp(v, "l1") != 0 && strcmp(v, "l2") != 0;
            o->knn_l1 = strcmp(v, "l1") == 0;
        } else if (strcmp(a, "--image") == 0) {
            o->image = v;
        } else if (strcmp(a, "--layer") == 0) {
            o->layer = v;
        } else if (strcmp(a, "--class") == 0) {
            bad = cli_parse_int(v, 0, 1 << 20, &o->cls);
        } else if (strcmp(a, "--data") == 0) {
            o->data = v;
            bad = strlen(v) > PATH_OPT_MAX;
        } else if (strcmp(a, "--loss") == 0) {
            bad = loss_option(v, &o->loss);
        } else if (strcmp(a, "--target") == 0) {
            o->target = v;
        } else if (path_option(a, v, o, &bad)) {
            /* --labels, --test, --test-labels: set */
        } else if (strcmp(a, "--val") == 0) {
            o->val_dir = v;
            bad = strlen(v) > PATH_OPT_MAX;
        } else if (strcmp(a, "--val-split") == 0) {
            bad = cli_parse_double(v, &o->val_split) || !(o->val_split >= 0 && o->val_split < 1);
        } else if (strcmp(a, "--out") == 0 || strcmp(a, "-o") == 0) {
            o->out = v;
            bad = strlen(v) > PATH_OPT_MAX;
        } else if (strcmp(a, "--onnx") == 0 || strcmp(a, "--sample") == 0) {
            *(a[2] == 'o' ? &o->onnx : &o->sample) = v;
            bad = strlen(v) > PATH_OPT_MAX;
        } else if (strcmp(a, "--train") == 0) {
            o->scene_train = v;
        } else if (strcmp(a, "--size") == 0) {
            bad = cli_parse_int(v, 1, 8192, &o->scene_size);
        } else if (strcmp(a, "--calibrate") == 0) {
            bad = cli_parse_int(v, 1, 1 << 20, &o->calibrate);
        } else if (strcmp(a, "--method") == 0) {
            o->qmethod = v;
        } else if (strcmp(a, "--percentile") == 0) {
            bad = cli_parse_double(v, &o->percentile) || !(o->percentile > 50 &&
                                                            o->percentile <= 100);
        } else if (strcmp(a, "--opset") == 0) {
            bad = cli_parse_int(v, 13, 17, &o->opset);
        } else if (strcmp(a, "--weights") == 0) {
            o->weights = v;
            bad = strlen(v) > PATH_OPT_MAX;
        } else if (strcmp(a, "--optimizer") == 0) {
            o->optimizer = v;
            bad = fv_optim_from_name(v) < 0;
        } else if (strcmp(a, "--epochs") == 0) {
            bad = cli_parse_int(v, 1, 100000, &o->epochs);
        } else if (strcmp(a, "--batch") == 0) {
            bad = cli_parse_int(v, 1, 65536, &o->batch);
        } else if (strcmp(a, "--steps") == 0) {
            bad = cli_parse_int(v, 1, 1000000, &o->steps);
        } else if (strcmp(a, "--limit") == 0) {
            bad = cli_parse_int(v, 1, 1 << 30, &o->limit);
        } else if (strcmp(a, "--seed") == 0) {
            bad = cli_parse_int(v, 0, 1 << 30, &o->seed);
        } else if (strcmp(a, "--schedule") == 0) {
            o->schedule = v;
            bad = strcmp(v, "constant") && strcmp(v, "step") && strcmp(v, "exponential") &&
                  strcmp(v, "cosine") && strcmp(v, "onecycle") && strcmp(v, "plateau");
        } else if (strcmp(a, "--freeze") == 0) {
            o->freeze = v;
        } else if (strcmp(a, "--freeze-to") == 0) {
            o->freeze_to = v;
        } else if (strcmp(a, "--finetune-epochs") == 0) {
            bad = cli_parse_int(v, 1, 100000, &o->finetune_epochs);
        } else if (strcmp(a, "--finetune-lr") == 0) {
            bad = cli_parse_double(v, &o->finetune_lr) || !(o->finetune_lr > 0);
        } else if (strcmp(a, "--per-class") == 0) {
            bad = cli_parse_int(v, 1, 1 << 30, &o->per_class);
        } else if (strcmp(a, "--early-stopping") == 0) {
            bad = cli_parse_int(v, 1, 100000, &o->patience);
        } else if (strcmp(a, "--clip-norm") == 0) {
            bad = cli_parse_double(v, &o->clip_norm) || !(o->clip_norm > 0);
        } else if (strcmp(a, "--warmup") == 0) {
            bad = cli_parse_int(v, 0, 100000, &o->warmup);
        } else if (strcmp(a, "--threads") == 0) {
            bad = cli_parse_int(v, 0, 64, &o->threads);
        } else if (strcmp(a, "--lr") == 0) {
            bad = cli_parse_double(v, &o->lr) || !(o->lr > 0);
        } else if (strcmp(a, "--momentum") == 0) {
            bad = cli_parse_double(v, &o->momentum) || o->momentum < 0 || o->momentum >= 1;
        } else if (strcmp(a, "--mode") == 0) { /* proposals */
            o->mode = v;
        } else if (strcmp(a, "--max") == 0) { /* proposals */
            bad = cli_parse_int(v, 1, 1 << 30, &o->max_boxes);
        } else {
            snprintf(msg, sizeof msg, "unknown option '%s' (see fovea --help)", a);
            return fail(msg);
        }
        if (bad) {
            if (strlen(v) > PATH_OPT_MAX)
                snprintf(msg, sizeof msg, "option %s: path longer than %d characters", a,
                         PATH_OPT_MAX);
            else
                snprintf(msg, sizeof msg, "option %.40s: bad value '%.160s'", a, v);
            return fail(msg);
        }
        i += takes;
    }
    if (o->val_dir && o->val_split >= 0)
        return fail("options --val and --val-split exclude each other (a validation set of its "
                    "own, or one held out of the training data)");
    return 0;
}

int main(int argc, char **argv)
{
    if (apply_isa(&argc, argv) != 0)
        return 1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout, NULL);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("fovea %s\n", FV_VERSION);
        print_isa();
        return 0;
    }
    const struct command *c = NULL;
    for (int i = 0; i < NCOMMANDS && !c; i++)
        c = strcmp(argv[1], commands[i].name) == 0 ? &commands[i] : NULL;
    if (!c) {
        fprintf(stderr, "fovea: unknown command '%s'\n", argv[1]);
        usage(stderr, NULL);
        return 2;
    }
    if (wants_help(argc, argv)) {
        usage(stdout, c);
        return 0;
    }
    if (!c->run) { /* the commands that parse their own options */
        if (strcmp(c->name, "segment") == 0)
            return cmd_segment(argc, argv);
        if (strcmp(c->name, "gan") == 0)
            return cmd_gan(argc, argv);
        if (strcmp(c->name, "gan-score") == 0)
            return cmd_gan_score(argc, argv);
        if (strcmp(c->name, "caption") == 0)
            return cmd_caption(argc, argv);
        return cmd_detect(argc, argv);
    }
    opts o;
    /* scenes' --test is a count, not a vector-data file */
    if (parse_opts(argc, argv, &o) != 0 || (c->run != cmd_scenes && check_vector_opts(&o) != 0))
        return 1;
    if (fv_set_num_threads(o.threads) != FV_OK)
        return fail_lib();
    return c->run(&o);
}
