#!/bin/bash
# test_detect.sh - `fovea detect`: a tiny training run (a few scenes of Fashion-MNIST's images
# as the digits, one epoch) writes the detector, valid metrics JSON and the report with its
# figures; --init trains a saved one further; eval reads the detector back; predict draws boxes and writes JSON; bad options and
# paths fail with one line. No timing is checked. Usage: test_detect.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
DATA=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}
json_ok() { python3 -c "import json, sys; json.load(open(sys.argv[1]))" "$1"; }

expect_ok train "$FV" detect train --arch ssd --input 64 --train 8 --test 4 --epochs 1 --batch 4 \
    --data "$DATA" -o "$TMP/run" --quiet
check detector-files test -f "$TMP/run/detector/detector.json" -a -f "$TMP/run/detector/ssd.fv" \
    -a -f "$TMP/run/detector/ssd.safetensors"
check settings-json json_ok "$TMP/run/detector/detector.json"
check metrics-json json_ok "$TMP/run/metrics.json"
check metrics-ap50 grep -q '"AP50"' "$TMP/run/metrics.json"
check_png figures 200 150 "$TMP/run/detections.png" "$TMP/run/pr_curves.png" "$TMP/run/loss.png"
check report-figures grep -q "data:image/png;base64" "$TMP/run/report.html"
check report-metrics grep -q "AP50" "$TMP/run/report.html"
check report-times grep -q "test time per image" "$TMP/run/report.html"

# --init: the saved detector trained further (its input, not --input's default)
expect_ok init "$FV" detect train --init "$TMP/run" --train 4 --test 2 --batch 4 --data "$DATA" \
    -o "$TMP/run2" --quiet
check init-report grep -q "started from" "$TMP/run2/report.html"
check init-input grep -q '"height":[[:space:]]*64' "$TMP/run2/detector/detector.json"

expect_ok eval "$FV" detect eval "$TMP/run" --test 3 --data "$DATA" -o "$TMP/eval.json"
check eval-json json_ok "$TMP/eval.json"
check eval-print grep -q "^3 test scenes, .* ms/image" "$TMP/out"

expect_ok scenes "$FV" scenes --out "$TMP/sc" --train 1 --test 0 --size 120 --data "$DATA" --quiet
expect_ok predict "$FV" detect predict "$TMP/run" "$TMP/sc/JPEGImages/train_000000.png" \
    -o "$TMP/boxes.png" --json "$TMP/boxes.json"
check_png predict-png 120 120 "$TMP/boxes.png"
check predict-json json_ok "$TMP/boxes.json"

expect_fail unknown-arch "unknown architecture 'yolo' (known: ssd" "$FV" detect train --arch yolo \
    --data "$DATA" -o "$TMP/x"
expect_fail no-out "detect train: -o DIR is required" "$FV" detect train --data "$DATA"
expect_fail no-detector "detector.json" "$FV" detect eval "$TMP/none" --data "$DATA"
expect_fail no-image "nothing.png" "$FV" detect predict "$TMP/run" "$TMP/nothing.png"
expect_fail no-data "none/train-images-idx3-ubyte" "$FV" detect train -o "$TMP/y" --data "$TMP/none"
"$FV" detect train --input 5 -o "$TMP/z" >/dev/null 2>&1
check bad-input test $? -eq 2
finish
