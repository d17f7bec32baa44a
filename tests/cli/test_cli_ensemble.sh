#!/bin/bash
# test_cli_ensemble.sh - `fovea eval` writes each image's probabilities (OUT/probabilities.csv)
# and `fovea ensemble` averages several: the ensemble of one model twice gives exactly that
# model's metrics and probabilities, that of two models the mean of theirs; mismatched,
# ragged, NaN and wrong-class-count files are one-line errors. Usage: test_cli_ensemble.sh FOVEA SRC
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist

for s in 1 2; do
    expect_ok "train-$s" "$FV" train models/lenet5.fv --epochs 1 --limit 1000 --seed $s \
        --out "$TMP/m$s" --quiet
    expect_ok "eval-$s" "$FV" eval models/lenet5.fv --weights "$TMP/m$s/weights.safetensors" \
        --limit 500 --out "$TMP/e$s"
    cp "$TMP/out" "$TMP/eval$s.out"
done
A=$TMP/e1/probabilities.csv B=$TMP/e2/probabilities.csv
check probs-header grep -qx "index,label,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9" "$A"
check probs-rows test "$(wc -l <"$A")" -eq 501
check probs-first-row grep -q "^0,9,[0-9.e-]*,[0-9.e-]*," "$A" # Fashion-MNIST's first test image: class 9
check probs-no-temp sh -c "! ls '$TMP'/e1/*.tmp.* >/dev/null 2>&1"

# one model twice: exactly its own metrics, figures' data and probabilities
expect_ok twice "$FV" ensemble "$A" "$A" --limit 500 --out "$TMP/aa"
acc=$(grep "^Test accuracy" "$TMP/eval1.out" | cut -d' ' -f3)
check twice-accuracy grep -q "^Test accuracy: $acc (500 images, the mean of 2 models' probabilities)" "$TMP/out"
check twice-members grep -q "^Member 2, $A: accuracy $acc" "$TMP/out"
grep "^top-5" "$TMP/out" >"$TMP/top5"
check twice-metrics-line sh -c "grep '^top-5' '$TMP/eval1.out' | cmp -s - '$TMP/top5'"
for f in metrics.json per_class.csv probabilities.csv; do
    check "twice-same-$f" cmp -s "$TMP/e1/$f" "$TMP/aa/$f"
done
check_png twice-figures 400 300 "$TMP/aa/"{confusion,roc,pr,reliability}.png

# two models: every probability is the mean of theirs (to the 9 digits written)
expect_ok mean "$FV" ensemble "$A" "$B" --limit 500 --out "$TMP/ab"
check mean-rows test "$(wc -l <"$TMP/ab/probabilities.csv")" -eq 501
check mean-is-mean sh -c "paste -d, '$A' '$B' '$TMP/ab/probabilities.csv' | awk -F, '
    NR > 1 { for (j = 3; j <= 12; j++) { d = \$(j + 24) - (\$j + \$(j + 12)) / 2
             if (d > 1e-6 || d < -1e-6) bad = 1 }; rows++ }
    END { exit bad || rows != 500 }'"
check mean-differs sh -c "! cmp -s '$A' '$TMP/ab/probabilities.csv'"

# errors, one line each, naming the file
expect_fail one-member "needs two or more probabilities.csv files" "$FV" ensemble "$A"
expect_fail other-limit "$A: 500 rows, but the test split has 400 images" \
    "$FV" ensemble "$A" "$B" --limit 400 --out "$TMP/x"
sed '1s/$/,p_10/; 2,$s/$/,0/' "$B" >"$TMP/k11.csv"
expect_fail wrong-k "$TMP/k11.csv: 11 classes, but $A has 10" \
    "$FV" ensemble "$A" "$TMP/k11.csv" --limit 500 --out "$TMP/x"
sed '5s/,[^,]*$//' "$B" >"$TMP/ragged.csv"
expect_fail ragged "$TMP/ragged.csv: line 5: 9 probabilities, expected 10" \
    "$FV" ensemble "$A" "$TMP/ragged.csv" --limit 500 --out "$TMP/x"
sed '3s/^\([0-9]*,[0-9]*\),[^,]*/\1,nan/' "$B" >"$TMP/nan.csv"
expect_fail nan "$TMP/nan.csv: line 3: p_0 is not a number" \
    "$FV" ensemble "$A" "$TMP/nan.csv" --limit 500 --out "$TMP/x"
sed '2s/^0,9,/0,3,/' "$B" >"$TMP/label.csv"
expect_fail label "$TMP/label.csv: image 0 has label 3, but 9 in the test split" \
    "$FV" ensemble "$A" "$TMP/label.csv" --limit 500 --out "$TMP/x"
expect_fail missing "$TMP/none.csv" "$FV" ensemble "$A" "$TMP/none.csv" --limit 500
check errors-no-output test ! -e "$TMP/x"
finish
