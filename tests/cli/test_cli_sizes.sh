#!/bin/bash
# test_cli_sizes.sh - data of another image size than the model's input on real Fashion-MNIST
# (1x28x28): --resize and a zoo network's --input convert the images (the training set batch by
# batch, the test set at once), a mismatch without them says how to ask, an input too small for
# a zoo network names the smallest it accepts, and short runs of AlexNet, VGG-11 and GoogLeNet
# at sizes they accept (release builds only: each has millions of parameters).
# Usage: test_cli_sizes.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
printf '%s\n' 'input shape=1,32,32' 'conv2d filters=4 kernel_size=5 activation=relu' maxpool2d \
    flatten 'dense units=10' >"$TMP/m32.fv"
expect_fail no-resize \
    "the data's images are 1x28x28 but the model's input is 1x32x32: --resize 32,32 converts them" \
    "$FV" train "$TMP/m32.fv" --limit 64 --epochs 1 --out "$TMP/r0" --quiet
expect_fail wrong-resize "--resize 40,40, but the model's input is 1x32x32" \
    "$FV" train "$TMP/m32.fv" --limit 64 --epochs 1 --out "$TMP/r0" --quiet --resize 40
expect_fail bad-resize "option --resize: bad value '0,5'" "$FV" train "$TMP/m32.fv" --resize 0,5
expect_ok train-resize "$FV" train "$TMP/m32.fv" --limit 500 --epochs 2 --out "$TMP/r32" \
    --quiet --resize 32,32 --seed 1
check train-resize-learns grep -q "^Test accuracy: 0\.[5-9]" "$TMP/out"
line=$(grep "^Test accuracy" "$TMP/out" | cut -d';' -f1)
# eval resizes batch by batch what train resized at once: the same accuracy and loss
expect_ok eval-resize "$FV" eval "$TMP/m32.fv" --weights "$TMP/r32/weights.safetensors" \
    --limit 500 --resize 32 --out "$TMP/ev"
check eval-same-numbers grep -qF "$line" "$TMP/out"
expect_ok visualize-resize "$FV" visualize "$TMP/m32.fv" \
    --weights "$TMP/r32/weights.safetensors" --limit 50 --resize 32 --out "$TMP/viz"
check visualize-saliency test -s "$TMP/viz/saliency.png"
# a zoo network: --input of another size (and channels) converts; too small names the minimum
expect_ok lenet-input "$FV" train lenet5 --input 3,40,36 --limit 64 --epochs 1 --out "$TMP/l" --quiet
check lenet-input-summary grep -q "^Test accuracy" "$TMP/out"
expect_fail alexnet-28 "the smallest input alexnet accepts is 1x63x63" \
    "$FV" train alexnet --limit 64 --epochs 1 --out "$TMP/a0" --quiet
if [ -z "${FV_SANITIZED:-}" ]; then
    for run in "alexnet --input 1,64,64" "alexnet --input 3,224,224" "vgg11 --resize 32" \
        "googlenet --resize 32"; do
        set -- $run
        expect_ok "$1-$3" "$FV" train $run --limit 64 --epochs 1 --batch 32 --out "$TMP/z" --quiet
        check "$1-$3-tested" grep -q "^Test accuracy: .*64 images" "$TMP/out"
        rm -rf "$TMP/z"
    done
fi
finish
