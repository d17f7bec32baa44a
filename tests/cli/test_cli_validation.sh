#!/bin/bash
# test_cli_validation.sh - `fovea train` watches a validation set, never the test split. The test
# split is poisoned (every label moved to the next class), so figures from it are near 0: the
# per-epoch val_* figures, and so early stopping and the best checkpoint, must stay those of clean
# held-out training images (--val-split, the default) or of --val DIR; the test split is scored
# once, at the end. Also: --val-split 0, a --val folder lacking a class, the one-line errors.
# Usage: test_cli_validation.sh FOVEA SRC_DIR
FV=$1 SRC=$2
. "$SRC/tests/cli/lib.sh"
cd "$SRC"
need_fashion_mnist
D=${FOVEA_DATA:-/usr/share/datasets/fashion-mnist}
file_of() { if [ -e "$D/$1" ]; then echo "$D/$1"; else echo "$D/$1.gz"; fi; }
tr_img=$(file_of train-images-idx3-ubyte) tr_lab=$(file_of train-labels-idx1-ubyte)
te_img=$(file_of t10k-images-idx3-ubyte) te_lab=$(file_of t10k-labels-idx1-ubyte)

# P: Fashion-MNIST with the test labels y made (y + 1) % 10; V: the clean test split alone
P=$TMP/poisoned V=$TMP/clean
mkdir -p "$P" "$V"
ln -s "$tr_img" "$P/$(basename "$tr_img")"
ln -s "$tr_lab" "$P/$(basename "$tr_lab")"
ln -s "$te_img" "$P/$(basename "$te_img")"
zcat -f "$te_lab" >"$TMP/labels"
{ head -c 8 "$TMP/labels"; tail -c +9 "$TMP/labels" | tr '\000-\011' '\001-\011\000'; } \
    >"$P/t10k-labels-idx1-ubyte"
ln -s "$te_img" "$V/$(basename "$te_img")"
ln -s "$te_lab" "$V/$(basename "$te_lab")"

# val_accuracy of every epoch in a metrics CSV is at least $2
val_acc_above() { awk -F, -v lo="$2" 'NR > 1 && !($5 >= lo) {bad = 1} END {exit bad}' "$1"; }
RUN="train models/lenet5.fv --data $P --limit 2000 --epochs 3 --early-stopping 1 --seed 1"

# 1. the default: 0.1 of the training images held out per class
expect_ok held-out "$FV" $RUN --out "$TMP/a"
check held-out-line grep -q "^Training on train: 1799 images; validating on 201 held out (0.1 of the training data per class, seed 1); testing on 2000 after training" "$TMP/out"
check poisoned-test grep -q "^Test accuracy: 0\.[01]" "$TMP/out"
check held-out-val-clean val_acc_above "$TMP/a/metrics.csv" 0.45
check held-out-csv-header grep -q "^epoch,loss,accuracy,val_loss,val_accuracy," "$TMP/a/metrics.csv"
check held-out-best test -s "$TMP/a/best.safetensors"
check held-out-report grep -q "<th>validation split</th><td>201 images held out (0.1 of the training data per class, seed 1)" "$TMP/a/report.html"
# the clean validation loss keeps improving: no early stop (on the poisoned test split, whose
# loss grows as the model learns, it stopped after epoch 2 and restored epoch 1)
check held-out-all-epochs test "$(wc -l <"$TMP/a/metrics.csv")" -eq 4

# 2. --val DIR: a validation set of its own (read as --data's test split)
expect_ok val-dir "$FV" $RUN --val "$V" --out "$TMP/b"
check val-dir-line grep -q "^Training on train: 2000 images; validating on 2000 images of $V;" "$TMP/out"
check val-dir-poisoned-test grep -q "^Test accuracy: 0\.[01]" "$TMP/out"
check val-dir-val-clean val_acc_above "$TMP/b/metrics.csv" 0.45
check val-dir-report grep -q "<th>validation split</th><td>2000 images of $V<" "$TMP/b/report.html"

# 3. --val-split F and --val-split 0 (no validation: the val_* columns are NaN)
expect_ok val-split "$FV" train models/lenet5.fv --limit 1000 --epochs 1 --val-split 0.5 \
    --out "$TMP/c" --quiet
expect_ok val-split-line "$FV" train models/lenet5.fv --limit 1000 --epochs 1 --val-split 0.5 \
    --out "$TMP/c"
check val-split-sizes sh -c "grep -q '^Training on train: 49[0-9] images; validating on 50[0-9] held out (0.5 of' '$TMP/out'"
expect_ok no-val "$FV" train models/lenet5.fv --limit 500 --epochs 1 --val-split 0 --out "$TMP/d"
check no-val-line grep -q "^Training on train: 500 images; no validation set (--val-split 0" "$TMP/out"
check no-val-nan sh -c "tail -1 '$TMP/d/metrics.csv' | cut -d, -f4,5 | grep -qi '^-\?nan,-\?nan$'"

# 4. a --val folder lacking a class: its labels follow the training classes by name (here
# boot is class 1 of bag, boot, trouser; it is class 0 of the validation folder's boot, trouser)
F=$TMP/folders
for c in bag:fashion_bag boot:fashion_ankle_boot trouser:fashion_trouser; do
    mkdir -p "$F/train/${c%%:*}"
    for i in 1 2 3 4; do cp "tests/data/${c#*:}.png" "$F/train/${c%%:*}/$i.png"; done
    [ "${c%%:*}" = bag ] || { mkdir -p "$F/val/${c%%:*}" && cp "tests/data/${c#*:}.png" "$F/val/${c%%:*}/1.png"; }
done
expect_ok val-missing-class "$FV" train models/lenet5.fv --data "$F/train" --val "$F/val" \
    --epochs 30 --batch 4 --seed 2 --out "$TMP/e" --quiet
check val-missing-class-right sh -c "tail -1 '$TMP/e/metrics.csv' | cut -d, -f5 | grep -q '^1.000000$'"
mv "$F/val/trouser" "$F/val/cat" # an unknown name (as many classes would pass by index)
expect_fail val-unknown-class "class 'cat' is not one of the 3 classes of the training data" \
    "$FV" train models/lenet5.fv --data "$F/train" --val "$F/val" --epochs 1 --out "$TMP/f"

# 5. the one-line errors
for bad in 1 1.5 -0.1 x nan; do
    expect_fail "val-split-$bad" "option --val-split: bad value '$bad'" \
        "$FV" train --val-split "$bad" --out "$TMP/g"
done
expect_fail val-and-split "options --val and --val-split exclude each other" \
    "$FV" train --val "$V" --val-split 0.2 --out "$TMP/g"
expect_fail val-is-data "is the --data folder, whose test split would be the validation set" \
    "$FV" train --data "$P" --val "$P/" --out "$TMP/g"
expect_fail val-missing "$TMP/none" "$FV" train --data "$P" --val "$TMP/none" --limit 100 \
    --out "$TMP/g"
expect_fail val-split-empty "a validation fraction of 0.001 of its 100 samples leaves the validation part empty" \
    "$FV" train --data "$P" --limit 100 --val-split 0.001 --out "$TMP/g"
expect_ok help "$FV" train --help
check help-val-split grep -q "\[--val-split F\] the validation set" "$TMP/out"
finish
