#!/bin/bash
# test_detect_frcnn.sh - `fovea detect` with Fast and Faster R-CNN: a tiny training run of each
# (a few scenes of Fashion-MNIST's images as the digits, one epoch) writes the detector (its
# backbone and head models), metrics and report; eval reads it back and predict draws boxes.
# No timing or accuracy is checked. Usage: test_detect_frcnn.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/scene_lib.sh"

make_scene
for arch in faster_rcnn fast_rcnn; do
    expect_ok "$arch-train" "$FV" detect train --arch $arch --input 64 --train 8 --test 4 \
        --epochs 1 --batch 4 --data "$DATA" -o "$TMP/$arch" --quiet
    check "$arch-files" test -f "$TMP/$arch/detector/backbone.fv" \
        -a -f "$TMP/$arch/detector/head.safetensors"
    check "$arch-arch" grep -q "\"$arch\"" "$TMP/$arch/detector/detector.json"
    check "$arch-metrics" grep -q '"AP50"' "$TMP/$arch/metrics.json"
    check "$arch-report" grep -q "AP50" "$TMP/$arch/report.html"
    eval_ok "$arch-eval" "$TMP/$arch.json" "$FV" detect eval "$TMP/$arch" --test 3 --data "$DATA"
    expect_ok "$arch-predict" "$FV" detect predict "$TMP/$arch" "$SCENE" -o "$TMP/$arch.png" \
        --json "$TMP/$arch-boxes.json"
    check_png "$arch-predict-png" 120 120 "$TMP/$arch.png"
    check "$arch-predict-json" json_ok "$TMP/$arch-boxes.json"
done
expect_fail bad-input "input 60x60" "$FV" detect train --arch faster_rcnn --input 60 --train 4 \
    --test 2 --epochs 1 --data "$DATA" -o "$TMP/bad"
finish
