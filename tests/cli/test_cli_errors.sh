#!/bin/bash
# test_cli_errors.sh - bad input to the CLI: one line naming the problem, exit status 1, no crash,
# no partial output file. Usage: test_cli_errors.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"

# model files
expect_fail missing-model "No such file" "$FV" summary "$TMP/none.fv"
printf 'input shape=1,28,28\nconv3d filters=4\n' >"$TMP/unknown.fv"
expect_fail unknown-layer "unknown.fv:2: .*conv3d" "$FV" summary "$TMP/unknown.fv"
printf 'input shape=1,28,28\nconv2d filters=-3 kernel_size=3\n' >"$TMP/badarg.fv"
expect_fail bad-argument "badarg.fv:2: .*filters" "$FV" summary "$TMP/badarg.fv"
printf 'input shape=1,28,28\nconv2d filters=4 kernel_size=3 name=a\nconv2d filters=4 kernel_size=3 padding=1 inputs=input1 name=b\nadd inputs=a,b\n' >"$TMP/shape.fv"
expect_fail shape-mismatch "shape.fv:4: .*4, 26, 26).*4, 28, 28)" "$FV" summary "$TMP/shape.fv"

# data: missing folder, wrong magic, truncated
expect_fail missing-data "No such file" "$FV" train --data "$TMP/nodata" --out "$TMP/run"
mkdir -p "$TMP/magic" "$TMP/trunc"
printf 'GIF89a-not-an-idx-file' >"$TMP/magic/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x01\x00' >"$TMP/magic/train-labels-idx1-ubyte"
expect_fail wrong-magic "magic" "$FV" train --data "$TMP/magic" --out "$TMP/run"
printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1cabc' \
    >"$TMP/trunc/train-images-idx3-ubyte"
printf '\x00\x00\x08\x01\x00\x00\x00\x0a0123456789' >"$TMP/trunc/train-labels-idx1-ubyte"
expect_fail truncated-idx "truncated" "$FV" train --data "$TMP/trunc" --out "$TMP/run"
check no-run-dir-files test ! -e "$TMP/run/weights.safetensors"

# weights: missing tensor and mis-shaped tensor
printf 'input shape=1,28,28\nflatten\ndense units=10 name=other\n' >"$TMP/other.fv"
printf 'input shape=1,28,28\nconv2d filters=8 kernel_size=5 padding=2 name=conv1\nflatten\ndense units=10 name=fc3\n' \
    >"$TMP/wide.fv"
if [ -d "${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}" ]; then
    expect_ok tiny-train "$FV" train "$TMP/other.fv" --epochs 1 --limit 256 --out "$TMP/w" --quiet
    expect_fail missing-tensor "missing tensor 'conv1.weight'" \
        "$FV" eval models/lenet5.fv --weights "$TMP/w/weights.safetensors" --limit 100
    expect_ok tiny-train-2 "$FV" train "$TMP/wide.fv" --epochs 1 --limit 64 --out "$TMP/w2" --quiet
    expect_fail misshaped-tensor "conv1.weight' has shape (8, 1, 5, 5)" \
        "$FV" eval models/lenet5.fv --weights "$TMP/w2/weights.safetensors" --limit 100
    # corrupt PNG (valid signature, garbage after it), and a missing one
    printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDRgarbage-garbage' >"$TMP/bad.png"
    expect_fail corrupt-png "bad.png: .*PNG" \
        "$FV" predict "$TMP/other.fv" --weights "$TMP/w/weights.safetensors" "$TMP/bad.png"
    expect_fail missing-png "nothere.png" \
        "$FV" predict "$TMP/other.fv" --weights "$TMP/w/weights.safetensors" "$TMP/nothere.png"
else
    echo "skipped: no Fashion-MNIST data for the weight and PNG cases"
fi

# options
expect_fail bad-option "unknown option" "$FV" train --epoch 3
expect_fail bad-value "bad value" "$FV" train --epochs -2
# every command's --help: its usage on stdout, exit 0
for c in train eval predict summary visualize knn bench zoo; do
    expect_ok help-$c "$FV" $c --help
    check help-$c-usage grep -q "^usage: fovea $c" "$TMP/out"
done
check no-temp-files sh -c "! ls '$TMP'/*/*.tmp.* >/dev/null 2>&1"
finish
