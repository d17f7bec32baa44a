#!/bin/bash
# test_cli_quantize.sh - `fovea quantize`: a briefly trained LeNet-5 quantized to int8 on 200
# calibration images (min-max and percentile) gives an int8 model file about 4x smaller than the
# float weights, which eval runs (FOVEA_INT8=on: the int8 path also without VNNI) within a point
# of the float accuracy and predict reads (the same
# top class as the float model on a test image); bad options and a damaged int8 file are one-line
# errors. Usage: test_cli_quantize.sh FOVEA SRC
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist

W=$TMP/m/weights.safetensors
expect_ok train "$FV" train models/lenet5.fv --epochs 1 --limit 2000 --out "$TMP/m" --quiet
expect_ok quantize "$FV" quantize "$W" --calibrate 200 -o "$TMP/q.safetensors"
check quantize-says grep -q "5 layers int8, calibrated on 200 images (minmax)" "$TMP/out"
expect_ok quantize-pct "$FV" quantize models/lenet5.fv --weights "$W" --calibrate 200 \
    --method percentile --percentile 99.9 -o "$TMP/p.safetensors"
expect_ok quantize-kl "$FV" quantize "$W" --calibrate 200 --method entropy -o "$TMP/k.safetensors"
fsize=$(stat -c %s "$W") qsize=$(stat -c %s "$TMP/q.safetensors")
check smaller test $((qsize * 3)) -lt "$fsize"

expect_ok eval-float "$FV" eval --weights "$W" --limit 1000 --out "$TMP/ef"
fa=$(grep "^Test accuracy" "$TMP/out" | cut -d' ' -f3)
for q in q p k; do
    FOVEA_INT8=on expect_ok "eval-$q" "$FV" eval --weights "$TMP/$q.safetensors" --limit 1000 \
        --out "$TMP/e$q"
    qa=$(grep "^Test accuracy" "$TMP/out" | cut -d' ' -f3)
    check "accuracy-$q" awk -v a="$fa" -v b="$qa" 'BEGIN { d = a - b; exit !(d < 0.01 && d > -0.01) }'
done
expect_ok predict-float "$FV" predict --weights "$W" tests/data/fashion_trouser.png
top=$(cut -d' ' -f2 "$TMP/out")
FOVEA_INT8=on expect_ok predict-int8 "$FV" predict --weights "$TMP/q.safetensors" tests/data/fashion_trouser.png
check predict-same-top test "$(cut -d' ' -f2 "$TMP/out")" = "$top"

expect_fail no-calibrate "--calibrate N" "$FV" quantize "$W" -o "$TMP/x.safetensors"
expect_fail bad-method "minmax, percentile or entropy" "$FV" quantize "$W" --calibrate 10 --method kl \
    -o "$TMP/x.safetensors"
expect_fail bad-percentile "--percentile" "$FV" quantize "$W" --calibrate 10 --percentile 20 \
    -o "$TMP/x.safetensors"
head -c $(($(stat -c %s "$TMP/q.safetensors") - 3)) "$TMP/q.safetensors" >"$TMP/cut.safetensors"
expect_fail truncated "cut.safetensors" "$FV" eval --weights "$TMP/cut.safetensors" --limit 10
check no-output test ! -e "$TMP/x.safetensors"
finish
