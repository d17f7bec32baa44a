#!/bin/bash
# test_segment.sh - `fovea segment`: a tiny training run (a narrow U-Net, a few M2NIST-style
# scenes of Fashion-MNIST's images as the digits, one epoch) writes the model, the weights, valid
# metrics JSON (mean IoU, per-class IoU, an 11 x 11 confusion matrix) and the report with its
# figures; eval reads the run back; predict writes the overlay and an indexed mask; a model file
# of the zoo trains too (Dice loss, one-cycle schedule); bad options, data and paths fail with one line. No timing is checked.
# Usage: test_segment.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/scene_lib.sh"
confusion_11() {
    python3 -c "import json, sys; m = json.load(open(sys.argv[1]))['confusion']
assert len(m) == 11 and all(len(r) == 11 for r in m)" "$1"
}

expect_ok train "$FV" segment train --arch unet --width 0.125 --train 8 --test 4 --epochs 1 \
    --batch 4 --data "$DATA" -o "$TMP/run" --quiet
check run-files test -f "$TMP/run/model.fv" -a -f "$TMP/run/weights.safetensors"
check metrics-json json_ok "$TMP/run/metrics.json"
check metrics-miou grep -q '"mean_iou"' "$TMP/run/metrics.json"
check metrics-confusion confusion_11 "$TMP/run/metrics.json"
check_png figures 200 150 "$TMP/run/examples.png" "$TMP/run/loss.png"
check_report "$TMP/run" "mean IoU" "test time per scene"

eval_predict segment "over 3 test scenes" "$TMP/overlay.png" --mask "$TMP/mask.png"
check predict-counts grep -q "^class pixels:" "$TMP/out"
check predict-mask-indexed python3 -c "import sys
b = open(sys.argv[1], 'rb').read(); assert b[16:24] == bytes([0, 0, 0, 120, 0, 0, 0, 120])
assert b[24:26] == bytes([8, 3])  # 8 bits, colour type 3: indexed" "$TMP/mask.png"

expect_ok model-file "$FV" segment train --arch models/zoo/fcn8s.fv --train 4 --test 2 \
    --epochs 1 --batch 4 --loss dice --schedule onecycle --data "$DATA" -o "$TMP/fcn" --quiet
check report-schedule grep -q "(onecycle schedule)" "$TMP/fcn/report.html"

expect_fail unknown-arch "unknown architecture 'segnet'" "$FV" segment train --arch segnet \
    --train 4 --test 2 --data "$DATA" -o "$TMP/x"
expect_fail no-out "segment train: -o DIR is required" "$FV" segment train --data "$DATA"
expect_fail no-run "model.fv" "$FV" segment eval "$TMP/none" --data "$DATA"
expect_fail no-image "nothing.png" "$FV" segment predict "$TMP/run" "$TMP/nothing.png"
expect_fail no-data "none/train-images-idx3-ubyte" "$FV" segment train -o "$TMP/y" \
    --data "$TMP/none"
expect_fail not-a-map "a per-pixel loss needs logits (classes, H, W)" "$FV" segment train \
    --arch models/lenet5.fv --train 4 --test 2 --data "$DATA" -o "$TMP/w"
printf 'model five\ninput shape=1,64,84\nconv2d filters=5 kernel_size=3 padding=1\n' >"$TMP/five.fv"
expect_fail few-classes "mask has label .* not a class in \[0, 5)" "$FV" segment train \
    --arch "$TMP/five.fv" --train 4 --test 2 --data "$DATA" -o "$TMP/w"
expect_fail bad-schedule "schedule 'cyclic' is unknown" "$FV" segment train --schedule cyclic \
    --train 4 --test 2 --data "$DATA" -o "$TMP/v"
"$FV" segment train --loss focal -o "$TMP/z" >/dev/null 2>&1
check bad-loss test $? -eq 2
finish
