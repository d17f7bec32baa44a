#!/bin/bash
# test_cli_distort.sh - --data mnist-rts (and mnist-r, -p, -e): the spatial transformer paper's
# distorted MNIST made on the fly from data/mnist's digits (here Fashion-MNIST's images linked
# as data/mnist), a short ST-CNN run on it (its report showing digits beside the transformer's
# output), evaluation of its weights finding the set again by
# the name in their metadata, and the error when data/mnist is missing.
# Usage: test_cli_distort.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
need_fashion_mnist
DATA=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}
mkdir -p "$TMP/cwd/data" "$TMP/bare"
ln -s "$DATA" "$TMP/cwd/data/mnist"
cd "$TMP/cwd"

expect_ok train-rts "$FV" train "$SRC/models/stcnn_rts.fv" --data mnist-rts --epochs 1 \
    --limit 96 --batch 32 --out run
check trained-on grep -q "Training on mnist-rts" "$TMP/out"
check weights test -f run/weights.safetensors
check st-figure test -s run/transformer.png
check st-figure-in-report grep -q "beside the transformer's output" run/report.html
expect_ok eval-rts "$FV" eval "$SRC/models/stcnn_rts.fv" --weights run/weights.safetensors \
    --limit 40 --out ev
check eval-no-note sh -c "! grep -q 'not found here' '$TMP/err'"
check eval-count grep -q "40 images" "$TMP/out"
expect_ok train-e "$FV" train "$SRC/models/cnn_mnist28.fv" --data mnist-e --epochs 1 \
    --limit 64 --batch 32 --out run-e
check trained-on-e grep -q "Training on mnist-e" "$TMP/out"
check no-st-figure test ! -e run-e/transformer.png

cd "$TMP/bare"
expect_fail no-digits "data/mnist" "$FV" train "$SRC/models/cnn_mnist28.fv" --data mnist-p \
    --epochs 1 --limit 10
finish
