#!/bin/bash
# test_cli_hardening.sh - the CLI's own findings of the hostile-input campaign (issue 16): a test
# set missing a class reaches the report without a crash, NaN weights make predict fail cleanly,
# a model named ../../x writes under runs/, a long --out is refused, not truncated, a run without
# mistakes writes its report. Usage: test_cli_hardening.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"

# idx_set DIR SPLIT N LABEL_MOD: N random 28 x 28 images, labels i % LABEL_MOD, as MNIST files.
idx_set() {
    dir=$1 split=$2 n=$3 mod=$4
    mkdir -p "$dir"
    { printf '\x00\x00\x08\x03\x00\x00\x00'; printf "\\x$(printf %02x "$n")"
      printf '\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c $((n * 784)) /dev/urandom; } \
        >"$dir/$split-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01\x00\x00\x00'; printf "\\x$(printf %02x "$n")"
      for i in $(seq 0 $((n - 1))); do printf "\\x$(printf %02x $((i % mod)))"; done; } \
        >"$dir/$split-labels-idx1-ubyte"
}

# 1. the test labels miss class 9 (10 in training): the report names 10 classes, no crash
idx_set "$TMP/miss" train 100 10
idx_set "$TMP/miss" t10k 90 9
expect_ok missing-class-report "$FV" train models/lenet5.fv --data "$TMP/miss" --epochs 1 \
    --out "$TMP/r1" --quiet
check missing-class-html test -s "$TMP/r1/report.html"
check missing-class-json grep -q '"support"' "$TMP/r1/metrics.json"

# 2. a model with more outputs than the data has classes (2 of 10): trains and reports
idx_set "$TMP/two" train 64 2
idx_set "$TMP/two" t10k 32 2
expect_ok two-class-report "$FV" train models/lenet5.fv --data "$TMP/two" --epochs 1 \
    --out "$TMP/r2" --quiet
check two-class-html test -s "$TMP/r2/report.html"

# 3. NaN weights: predict fails with one line, no heap corruption
w="$TMP/r2/weights.safetensors"
hl=$(od -An -tu4 -N4 "$w" | tr -d ' ')
size=$(stat -c %s "$w")
{ head -c $((8 + hl)) "$w"; head -c $((size - 8 - hl)) /dev/zero | tr '\0' '\377'; } \
    >"$TMP/nan.safetensors"
expect_fail nan-predict "not a finite number" "$FV" predict models/lenet5.fv \
    --weights "$TMP/nan.safetensors" tests/data/fashion_trouser.png

# 4. a model named ../../x: the default output folder stays under runs/
mkdir -p "$TMP/cwd"
printf 'model ../../escape\ninput shape=1,28,28\nflatten\ndense units=10\n' >"$TMP/esc.fv"
(cd "$TMP/cwd" && "$FV" train "$TMP/esc.fv" --data "$TMP/two" --epochs 1 --quiet \
    >/dev/null 2>"$TMP/esc.err")
check traversal-no-escape test ! -e "$TMP/escape"
check traversal-not-outside sh -c "! ls '$TMP'/cwd/../escape >/dev/null 2>&1"
if [ -s "$TMP/esc.err" ]; then # a parser that refuses the name is as good
    check traversal-refused grep -q "^fovea: .*name" "$TMP/esc.err"
else
    check traversal-under-runs sh -c "ls '$TMP'/cwd/runs/*escape/weights.safetensors >/dev/null"
fi

# 5. an --out over the limit is refused, not silently truncated
long=$TMP/$(printf 'd%.0s' $(seq 1 990))
expect_fail long-out "path longer than" "$FV" train --data "$TMP/two" --out "$long" --epochs 1
check long-out-nothing test ! -e "$long"

# 6. a run with no test mistakes still writes its report (no misclassified.png)
idx_set "$TMP/one" train 32 1
idx_set "$TMP/one" t10k 16 1
expect_ok no-mistakes "$FV" train models/lenet5.fv --data "$TMP/one" --epochs 2 --out "$TMP/r6" \
    --quiet
check no-mistakes-report test -s "$TMP/r6/report.html"
check no-mistakes-no-figure test ! -e "$TMP/r6/misclassified.png"

# 7. a model with 300 outputs: the report has 300 classes (was "more than 256 classes" after
# training)
printf 'input shape=1,28,28\nflatten\ndense units=300\n' >"$TMP/k300.fv"
expect_ok many-classes "$FV" train "$TMP/k300.fv" --data "$TMP/two" --epochs 1 --out "$TMP/r7" \
    --quiet
check many-classes-csv test "$(wc -l <"$TMP/r7/per_class.csv")" -ge 300
# 8. --limit reads only the first N samples: a training file truncated after them still trains
idx_set "$TMP/cut" train 200 10
idx_set "$TMP/cut" t10k 40 10
head -c $((16 + 50 * 784)) "$TMP/cut/train-images-idx3-ubyte" >"$TMP/cut/x" &&
    mv "$TMP/cut/x" "$TMP/cut/train-images-idx3-ubyte"
expect_fail truncated-without-limit "truncated\|size" "$FV" train models/lenet5.fv \
    --data "$TMP/cut" --epochs 1 --out "$TMP/r8" --quiet
expect_ok truncated-after-limit "$FV" train models/lenet5.fv --data "$TMP/cut" --limit 40 \
    --epochs 1 --out "$TMP/r8" --quiet

check no-temp-files sh -c "! ls '$TMP'/*/*.tmp.* >/dev/null 2>&1"
finish
