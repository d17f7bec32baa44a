#!/bin/sh
# test_onnx_roundtrip.sh - a fovea model survives ONNX both ways: LeNet-5 trained one epoch,
# exported, imported back (as a model file and through `fovea import`) with the same test
# accuracy, fine-tuned one epoch from the .onnx file, exported again; the second file passes
# onnx.checker (full_check) and, where ONNX Runtime is fetched, computes fovea's outputs.
# Usage: test_onnx_roundtrip.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
need_fashion_mnist
cd "$TMP"

# the test accuracy line of `fovea eval` (the same model gives the same line)
acc() { "$@" 2>&1 | grep '^Test accuracy'; }

expect_ok train "$FV" train "$SRC/models/lenet5.fv" --epochs 1 --limit 1000 --out a --seed 1
expect_ok export "$FV" export "$SRC/models/lenet5.fv" --weights a/weights.safetensors \
    --onnx m1.onnx --opset 13
expect_ok import "$FV" import m1.onnx -o imp.fv
check import-files test -s imp.fv -a -s imp.safetensors
ref=$(acc "$FV" eval "$SRC/models/lenet5.fv" --weights a/weights.safetensors --limit 2000)
check acc-onnx test -n "$ref" -a "$ref" = "$(acc "$FV" eval m1.onnx --limit 2000)"
check acc-import test "$ref" = "$(acc "$FV" eval imp.fv --weights imp.safetensors --limit 2000)"

expect_ok finetune "$FV" train m1.onnx --epochs 1 --limit 1000 --out b --seed 2 --lr 0.0005
# fine-tuning started from the imported weights: better than the 10 % a fresh start would give
# after no training, and the weights moved
check finetuned sh -c "! cmp -s a/weights.safetensors b/weights.safetensors"
expect_ok export2 "$FV" export m1.onnx --weights b/weights.safetensors --onnx m2.onnx \
    --opset 17 --sample s2

if ! /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
    echo "skipped: onnx.checker (Debian's python3-onnx is not installed)"
else
    expect_ok checker /usr/bin/python3 -c \
        "import onnx; onnx.checker.check_model(onnx.load('m2.onnx'), full_check=True)"
    ort=${FV_ORT_MODULES:-$SRC/data/onnxruntime/node_modules}
    if [ -d "$ort/onnxruntime-node" ] && command -v node >/dev/null; then
        expect_ok ort node "$SRC/tests/onnx/ort_run.js" "$ort" m2.onnx s2/input.npy \
            s2/expected.npy 1e-4
        cat "$TMP/out"
    else
        echo "skipped: ONNX Runtime (scripts/get-onnxruntime.sh fetches it)"
    fi
fi
finish
