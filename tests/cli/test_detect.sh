#!/bin/bash
# test_detect.sh - `fovea detect`: a tiny training run (a few scenes of Fashion-MNIST's images
# as the digits, one epoch) writes the detector, valid metrics JSON and the report with its
# figures; --init trains a saved one further; eval reads the detector back; predict draws boxes
# and writes JSON; --nms, --score-thresh and --max-dets change the post-processing; bad options and
# paths fail with one line. No timing is checked. Usage: test_detect.sh FOVEA SRC_DIR [PNGCHECK]
FV=$1 SRC=$2 PNGCHECK=${3:-}
. "$SRC/tests/cli/scene_lib.sh"

expect_ok train "$FV" detect train --arch ssd --input 64 --train 8 --test 4 --epochs 1 --batch 4 \
    --data "$DATA" -o "$TMP/run" --quiet
check detector-files test -f "$TMP/run/detector/detector.json" -a -f "$TMP/run/detector/ssd.fv" \
    -a -f "$TMP/run/detector/ssd.safetensors"
check settings-json json_ok "$TMP/run/detector/detector.json"
check metrics-json json_ok "$TMP/run/metrics.json"
check metrics-ap50 grep -q '"AP50"' "$TMP/run/metrics.json"
check_png figures 200 150 "$TMP/run/detections.png" "$TMP/run/pr_curves.png" "$TMP/run/loss.png"
check_report "$TMP/run" "AP50" "test time per image"

# --init: the saved detector trained further (its input, not --input's default)
expect_ok init "$FV" detect train --init "$TMP/run" --train 4 --test 2 --batch 4 --data "$DATA" \
    -o "$TMP/run2" --quiet
check init-report grep -q "started from" "$TMP/run2/report.html"
check init-input grep -q '"height":[[:space:]]*64' "$TMP/run2/detector/detector.json"

eval_predict detect "^3 test scenes, .* ms/image" "$TMP/boxes.png" --json "$TMP/boxes.json"
check predict-json json_ok "$TMP/boxes.json"

# post-processing: --score-thresh 0 keeps every scored box (an untrained detector has many),
# --max-dets caps them, --nms 0.1 keeps fewer than 0.9 does; eval takes them too
ndets() { python3 -c "import json, sys; print(len(json.load(open(sys.argv[1]))['detections']))" "$1"; }
for opts in "3 0.9" "100000 0.9" "100000 0.1"; do
    set -- $opts
    expect_ok "predict-$1-$2" "$FV" detect predict "$TMP/run" "$SCENE" --score-thresh 0 \
        --max-dets "$1" --nms "$2" --json "$TMP/n-$1-$2.json"
done
check max-dets test "$(ndets "$TMP/n-3-0.9.json")" -eq 3
check nms-fewer test "$(ndets "$TMP/n-100000-0.1.json")" -lt "$(ndets "$TMP/n-100000-0.9.json")"
eval_ok eval-nms "$TMP/eval-nms.json" "$FV" detect eval "$TMP/run" --test 3 --data "$DATA" \
    --nms 0.3 --score-thresh 0.2 --max-dets 5
for bad in "--nms 0" "--nms 1.5" "--score-thresh 1" "--score-thresh -0.1" "--max-dets 0"; do
    "$FV" detect eval "$TMP/run" --test 3 --data "$DATA" $bad >/dev/null 2>&1
    check "bad ${bad}" test $? -eq 2
done

expect_fail unknown-arch "unknown architecture 'yolo' (known: ssd" "$FV" detect train --arch yolo \
    --data "$DATA" -o "$TMP/x"
expect_fail no-out "detect train: -o DIR is required" "$FV" detect train --data "$DATA"
expect_fail no-detector "detector.json" "$FV" detect eval "$TMP/none" --data "$DATA"
expect_fail no-image "nothing.png" "$FV" detect predict "$TMP/run" "$TMP/nothing.png"
expect_fail no-data "none/train-images-idx3-ubyte" "$FV" detect train -o "$TMP/y" --data "$TMP/none"
"$FV" detect train --input 5 -o "$TMP/z" >/dev/null 2>&1
check bad-input test $? -eq 2
finish
